package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/exmigrate/exmigrate/internal/lab"
)

// TestCheckMailbox: check --mailbox says where the mailbox is, which
// mailbox a copy of it would write to and whether that one exists; a
// mailbox found on no endpoint, or a target that does not exist, fails the
// check (exit 1).
func TestCheckMailbox(t *testing.T) {
	l, dir := startSmallLab(t, lab.Options{})
	noAlex := filepath.Join(dir, "others.csv")
	if err := os.WriteFile(noAlex, []byte("EmailAddress\nmegan@fabrikam.com\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wrongPlace := filepath.Join(dir, "wrong-place.csv")
	if err := os.WriteFile(wrongPlace, []byte("EmailAddress,TargetAddress,Location\nalex@fabrikam.com,alex@fabrikam.onmicrosoft.com,cloud\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		args  []string
		code  int
		want  []string // regular expressions, each matching a line of the output
		never []string
	}{
		{
			name: "found on no endpoint",
			args: []string{"--mailbox", "nobody@contoso.com"},
			code: ExitFailed,
			want: []string{
				`^onprem +no +nobody@contoso.com: ResolveNames found no such recipient$`,
				`^cloud +no +nobody@contoso.com: no such user in Entra ID$`,
				`^ +FAIL +nobody@contoso.com: found on no endpoint \(onprem, cloud\): check the address \(the primary SMTP address, not an alias\), ` +
					`that the mailbox list has it as EmailAddress, and that each endpoint's account may see it \(EWS: ApplicationImpersonation ` +
					`or Full Access to the mailbox; Graph: User.Read.All and Mail.ReadWrite, within the app's RBAC scope or application access policy\)$`,
			},
			never: []string{`ok +nobody@contoso.com`},
		},
		{
			name: "the target from the list exists",
			args: []string{"--mailbox", "alex@fabrikam.com", "--mailboxes", l.CopyCSV},
			code: ExitOK,
			want: []string{
				`^onprem +ok +alex@fabrikam.com: on-prem mailbox \(Alex Wilber\)$`,
				`^cloud +no +alex@fabrikam.com: user exists, mailbox not in Exchange Online$`,
				`^cloud +ok +target alex@fabrikam.onmicrosoft.com \(TargetAddress in the list\): Exchange Online user mailbox$`,
			},
		},
		{
			name: "the same address is not a mailbox on the other side",
			args: []string{"--mailbox", "alex@fabrikam.com"},
			code: ExitFailed,
			want: []string{
				`^onprem +ok +alex@fabrikam.com: on-prem mailbox \(Alex Wilber\)$`,
				`^cloud +FAIL +target alex@fabrikam.com \(the same address: no --mailboxes list names another\): user exists, mailbox not in Exchange Online: ` +
					`a copy from onprem would have no mailbox to write to; create it, or set TargetAddress in the list$`,
			},
		},
		{
			name: "a cloud mailbox's target is on-prem",
			args: []string{"--mailbox", "megan@fabrikam.com"},
			code: ExitFailed,
			want: []string{
				`^cloud +ok +megan@fabrikam.com: Exchange Online user mailbox$`,
				`^onprem +FAIL +target megan@fabrikam.com \(the same address: no --mailboxes list names another\): `,
			},
		},
		{
			name: "not in the list",
			args: []string{"--mailbox", "alex@fabrikam.com", "--mailboxes", noAlex},
			code: ExitFailed,
			want: []string{
				`^ +FAIL +alex@fabrikam.com: not in ` + regexp.QuoteMeta(noAlex) + `: copy --mailboxes ` + regexp.QuoteMeta(noAlex) + ` would not copy it$`,
			},
		},
		{
			name: "the list places it where it is not",
			args: []string{"--mailbox", "alex@fabrikam.com", "--mailboxes", wrongPlace},
			code: ExitFailed,
			want: []string{
				`^cloud +FAIL +alex@fabrikam.com: the list says Location cloud, but the mailbox is not there \(user exists, mailbox not in Exchange Online\); ` +
					`fix Location in the list, or set it to auto$`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, stderr := run(t, append([]string{"check", "--config", l.ConfigPath}, tt.args...)...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\n%s%s", code, tt.code, out, stderr)
			}
			for _, w := range tt.want {
				if !regexp.MustCompile(`(?m)` + w).MatchString(out) {
					t.Errorf("no line matches %s in:\n%s", w, out)
				}
			}
			for _, n := range tt.never {
				if regexp.MustCompile(n).MatchString(out) {
					t.Errorf("a line matches %s in:\n%s", n, out)
				}
			}
			if tt.code != ExitOK && !strings.Contains(stderr, "check(s) failed") {
				t.Errorf("stderr %q", stderr)
			}
		})
	}
}
