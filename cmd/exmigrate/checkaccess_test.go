package main

import (
	"encoding/pem"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/exmigrate/exmigrate/internal/lab"
)

// TestCheckAccess: check proves EWS impersonation by acting as a mailbox,
// and reports each Graph application role the features need. A missing
// right copy needs fails the check (exit 1); a role only an optional
// feature needs is a warning naming the feature (exit 0), unless check is
// told the feature will be used (--rules).
func TestCheckAccess(t *testing.T) {
	l, dir := startSmallLab(t, lab.Options{})
	base, err := os.ReadFile(l.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	// An EWS account without the ApplicationImpersonation role.
	if err := os.WriteFile(filepath.Join(dir, "noimp-password"), []byte("NoImp-pw1!\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	l.EWS.AddAccount(lab.ServiceDomain, "svc-noimp", "NoImp-pw1!", false)
	noImp := writeConfig(t, dir, "noimp.yaml", string(base),
		"username: "+lab.ServiceUser, "username: svc-noimp",
		"password_file: ews-password", "password_file: noimp-password")

	// Apps signing in with the lab's certificate, each granted other roles.
	bundle, err := os.ReadFile(filepath.Join(dir, "app.pem"))
	if err != nil {
		t.Fatal(err)
	}
	var certPEM []byte
	for rest := bundle; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if b.Type == "CERTIFICATE" {
			certPEM = pem.EncodeToMemory(b)
		}
	}
	app := func(name, clientID string, roles ...string) string {
		if err := l.Graph.AddAppCertificate(lab.TenantID, clientID, certPEM, roles...); err != nil {
			t.Fatal(err)
		}
		return writeConfig(t, dir, name, string(base), lab.ClientID, clientID)
	}
	noMailRW := app("no-mail-rw.yaml", "11111111-1111-4111-8111-111111111111", "MailboxSettings.ReadWrite", "User.Read.All", "Mail.Send")
	noSettingsRW := app("no-settings-rw.yaml", "22222222-2222-4222-8222-222222222222", "Mail.ReadWrite", "MailboxSettings.Read", "User.Read.All", "Mail.Send")
	noSend := app("no-send.yaml", "33333333-3333-4333-8333-333333333333", "Mail.ReadWrite", "MailboxSettings.ReadWrite", "User.Read.All")

	const grant = `grant it to app \S+ in Entra ID > App registrations > API permissions \(Microsoft Graph, application permission\) and give admin consent`
	tests := []struct {
		name   string
		config string
		args   []string
		code   int
		want   []string // regular expressions, each matching a line of the output
		never  []string
	}{
		{
			name:   "everything granted",
			config: l.ConfigPath,
			args:   []string{"--mailbox", "alex@fabrikam.com", "--mailboxes", l.CopyCSV},
			code:   ExitOK,
			want: []string{
				`^onprem +ok +impersonation ok \(acting as alex@fabrikam.com\)$`,
				`^cloud +ok +role Mail.ReadWrite: present \(copy\)$`,
				`^cloud +ok +role MailboxSettings.Read: present as MailboxSettings.ReadWrite \(copy, assess\)$`,
				`^cloud +ok +role MailboxSettings.ReadWrite: present \(copy --rules\)$`,
				`^cloud +ok +role Mail.Send: present \(report --mail-to\)$`,
			},
			never: []string{`FAIL`, `warn`},
		},
		{
			name:   "no mailbox to act as",
			config: l.ConfigPath,
			code:   ExitOK,
			want:   []string{`^onprem +- +impersonation not checked: give --mailbox \(an on-prem mailbox\) to act as it$`},
		},
		{
			name:   "the account lacks ApplicationImpersonation",
			config: noImp,
			args:   []string{"--mailbox", "alex@fabrikam.com", "--mailboxes", l.CopyCSV},
			code:   ExitFailed,
			want: []string{
				`^onprem +ok +EWS at .* as CONTOSO\\svc-noimp$`,
				`^onprem +FAIL +impersonation \(acting as alex@fabrikam.com\): .*ErrorImpersonateUserDenied.*: ` +
					`CONTOSO\\svc-noimp may not act as the mailboxes: grant it the ApplicationImpersonation role: ` +
					regexp.QuoteMeta(`New-ManagementRoleAssignment -Role ApplicationImpersonation -User svc-noimp`) + `$`,
			},
			never: []string{`impersonation ok`},
		},
		{
			name:   "the app lacks Mail.ReadWrite",
			config: noMailRW,
			code:   ExitFailed,
			want: []string{
				`^cloud +ok +Microsoft Graph `,
				`^cloud +FAIL +role Mail.ReadWrite: missing: copy cannot read or write mail without it; ` + grant + `$`,
			},
		},
		{
			name:   "the app lacks MailboxSettings.ReadWrite",
			config: noSettingsRW,
			code:   ExitOK,
			want: []string{
				`^cloud +ok +role Mail.ReadWrite: present \(copy\)$`,
				`^cloud +ok +role MailboxSettings.Read: present \(copy, assess\)$`,
				`^cloud +warn +role MailboxSettings.ReadWrite: missing: copy --rules cannot create inbox rules without it ` +
					`\(a copy without --rules does not need it\); ` + grant + `$`,
			},
			never: []string{`FAIL`},
		},
		{
			name:   "check --rules: the app lacks MailboxSettings.ReadWrite",
			config: noSettingsRW,
			args:   []string{"--rules"},
			code:   ExitFailed,
			want: []string{
				`^cloud +FAIL +role MailboxSettings.ReadWrite: missing: copy --rules cannot create inbox rules without it; ` + grant + `$`,
			},
		},
		{
			name:   "the app lacks Mail.Send",
			config: noSend,
			code:   ExitOK,
			want: []string{
				`^cloud +warn +role Mail.Send: missing: report --mail-to cannot mail the report without it; ` + grant + `$`,
			},
			never: []string{`FAIL`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, stderr := run(t, append([]string{"check", "--config", tt.config}, tt.args...)...)
			t.Logf("check %s:\n%s", strings.Join(tt.args, " "), out)
			if code != tt.code {
				t.Errorf("exit %d, want %d\n%s%s", code, tt.code, out, stderr)
			}
			for _, w := range tt.want {
				if !regexp.MustCompile(`(?m)` + w).MatchString(out) {
					t.Errorf("no line matches %s in:\n%s", w, out)
				}
			}
			for _, n := range tt.never {
				if regexp.MustCompile(`(?m)` + n).MatchString(out) {
					t.Errorf("a line matches %s in:\n%s", n, out)
				}
			}
		})
	}
}

// writeConfig writes base with each old string replaced by the new one
// that follows it, beside the lab's files (its relative paths still hold).
func writeConfig(t *testing.T, dir, name, base string, oldNew ...string) string {
	t.Helper()
	text := base
	for i := 0; i+1 < len(oldNew); i += 2 {
		if !strings.Contains(text, oldNew[i]) {
			t.Fatalf("the lab's config has no %q", oldNew[i])
		}
		text = strings.ReplaceAll(text, oldNew[i], oldNew[i+1])
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
