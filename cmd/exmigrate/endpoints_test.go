package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/exmigrate/exmigrate/graphmail/graphtest"
	"github.com/exmigrate/exmigrate/internal/lab"
	"github.com/exmigrate/exmigrate/mailbox"
)

// TestCopyBetweenTenants runs `check` and `copy --from cloud --to northwind`
// on the small lab's config (the legacy onprem: and cloud: blocks) with a
// second Exchange Online tenant added under endpoints:, its own app
// registration authenticating with a client secret.
func TestCopyBetweenTenants(t *testing.T) {
	l, dir := startSmallLab(t, lab.Options{})
	northwind := graphtest.NewServer()
	ep := northwind.StartTLS(t)
	const tenantID, clientID = "northwind.onmicrosoft.com", "7e6d5c4b-3a29-4180-9f7e-6d5c4b3a2918"
	northwind.AddApp(tenantID, clientID, "northwind-secret", "Mail.ReadWrite", "MailboxSettings.ReadWrite", "User.Read.All")
	t.Setenv("EXM_TEST_NORTHWIND_SECRET", "northwind-secret")
	const src, dst = "megan@fabrikam.com", "megan.bowen@northwind.com"
	northwind.AddMailbox(dst, mailbox.TypeUser)
	if err := os.WriteFile(filepath.Join(dir, "northwind-ca.pem"), ep.CAPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := os.ReadFile(l.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg = append(cfg, []byte("endpoints:\n  northwind:\n    type: graph\n    tenant_id: "+tenantID+"\n    client_id: "+clientID+
		"\n    auth: client-secret\n    client_secret_env: EXM_TEST_NORTHWIND_SECRET\n    graph_base_url: "+ep.BaseURL+
		"\n    authority_host: "+ep.AuthorityHost+"\n    ca_bundle: northwind-ca.pem\n")...)
	if err := os.WriteFile(l.ConfigPath, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	list := filepath.Join(dir, "northwind.csv")
	if err := os.WriteFile(list, []byte("EmailAddress,TargetAddress\n"+src+","+dst+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	// check names every endpoint, in the config's order.
	code, out, stderr := run(t, "check", "--config", l.ConfigPath)
	if code != ExitOK {
		t.Fatalf("check: exit %d\n%s\n%s", code, out, stderr)
	}
	// Each endpoint's line, then its impersonation or role lines.
	if !regexp.MustCompile(`^onprem +ok +EWS at https://\S+ as \S+\n(onprem .*\n)*cloud +ok +Microsoft Graph \(global cloud\), tenant \S+, auth certificate\n` +
		`(cloud .*\n)*northwind +ok +Microsoft Graph \(global cloud\), tenant northwind.onmicrosoft.com, auth client-secret\n(northwind .*\n)*$`).MatchString(out) {
		t.Errorf("check output:\n%s", out)
	}
	code, out, _ = run(t, "check", "--config", l.ConfigPath, "--mailbox", dst)
	if code != ExitOK || !strings.Contains(out, "northwind  ok    "+dst+": Exchange Online user mailbox") {
		t.Errorf("check --mailbox: exit %d\n%s", code, out)
	}

	// The lab's cloud mailbox into the other tenant: --from cloud still
	// detects where the mailbox is, --to names the tenant.
	code, out, stderr = run(t, "copy", "--config", l.ConfigPath, "--mailboxes", list, "--from", "cloud", "--to", "northwind")
	if code != ExitOK {
		t.Fatalf("copy: exit %d\n%s\n%s", code, out, stderr)
	}
	want := len(l.Graph.Mailbox(src).Messages("Inbox"))
	if got := len(northwind.Mailbox(dst).Messages("Inbox")); want == 0 || got != want {
		t.Errorf("northwind Inbox holds %d messages, want %d", got, want)
	}
	writes := northwind.Writes()
	if code, out, _ = run(t, "copy", "--config", l.ConfigPath, "--mailboxes", list, "--from", "cloud", "--to", "northwind"); code != ExitOK {
		t.Fatalf("second copy: exit %d\n%s", code, out)
	}
	if n := northwind.Writes() - writes; n != 0 {
		t.Errorf("second copy wrote %d times", n)
	}
	if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(src) + ` +` + regexp.QuoteMeta(dst) + ` +0 `).MatchString(out) {
		t.Errorf("second copy's summary:\n%s", out)
	}
}

func TestCopyWayFlags(t *testing.T) {
	dir := t.TempDir()
	list := filepath.Join(dir, "list.csv")
	if err := os.WriteFile(list, []byte("EmailAddress\nann@contoso.com\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tenants := filepath.Join("..", "..", "testdata", "config", "tenant-to-tenant.yaml")
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"--from without --to", []string{"--config", tenants, "--from", "contoso"}, "--from and --to go together"},
		{"--direction and --from", []string{"--config", tenants, "--direction", "offboarding", "--from", "contoso", "--to", "fabrikam"},
			"--direction and --from/--to both say which way to copy; use one (--direction offboarding is --from cloud --to onprem)"},
		{"unknown endpoint", []string{"--config", tenants, "--from", "contoso", "--to", "northwind"},
			`--from/--to: the config has no endpoint "northwind"; its endpoints are contoso, fabrikam`},
		{"a direction without onprem or cloud", []string{"--config", tenants},
			"--direction onboarding copies from the endpoint onprem to cloud, but this config's endpoints are contoso, fabrikam: name them with --from and --to"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := run(t, append([]string{"copy", "--mailboxes", list}, tt.args...)...)
			if code != ExitUsage || !strings.Contains(stderr, tt.wantErr) {
				t.Errorf("exit %d, stderr %q; want exit %d with %q", code, stderr, ExitUsage, tt.wantErr)
			}
		})
	}
}
