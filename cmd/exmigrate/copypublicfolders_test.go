package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/exmigrate/exmigrate/ews/ewstest"
	"github.com/exmigrate/exmigrate/internal/lab"
)

// TestCopyPublicFoldersIntoExchangeOnline: Graph has no public folder API,
// so copy --public-folders into the cloud writes nothing there and says
// how the tree gets to Exchange Online instead; the mailboxes are copied
// as without the flag.
func TestCopyPublicFoldersIntoExchangeOnline(t *testing.T) {
	l, _ := startSmallLab(t, lab.Options{})
	writes := l.Graph.Writes()
	code, out, stderr := run(t, "copy", "--config", l.ConfigPath, "--mailboxes", l.CopyCSV, "--public-folders", "--stores", "primary")
	if code != 0 && code != ExitSkipped {
		t.Fatalf("exit %d\n%s\n%s", code, out, stderr)
	}
	if !strings.Contains(out, "public folders (onprem)") || !strings.Contains(out, "public folder migration batch") {
		t.Errorf("the summary does not report the public folders with their remedy:\n%s", out)
	}
	if l.Graph.Writes() == writes {
		t.Error("the mailboxes were not copied")
	}
}

// TestCopyPublicFoldersBetweenExchangeOrganisations: copy --public-folders
// --from onprem --to northwind copies the lab's public folder tree, items
// and all, into a second Exchange organisation through its public folder
// mailbox, once: the second pass writes nothing.
func TestCopyPublicFoldersBetweenExchangeOrganisations(t *testing.T) {
	l, dir := startEphemeralLab(t, lab.Options{})
	other := ewstest.NewServer()
	url, ca := other.StartTLS(t)
	other.AddAccount("NORTHWIND", "svc-migrate", "northwind-pass", true)
	other.AddMailbox("pf@northwind.com")
	if err := os.WriteFile(filepath.Join(dir, "northwind-ca.pem"), ca, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("EXM_TEST_NORTHWIND_PASSWORD", "northwind-pass")
	cfg, err := os.ReadFile(l.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg = append(cfg, []byte("endpoints:\n  northwind:\n    type: ews\n    ews_url: "+url+"\n    domain: NORTHWIND\n    username: svc-migrate\n"+
		"    password_env: EXM_TEST_NORTHWIND_PASSWORD\n    ca_bundle: northwind-ca.pem\n    impersonation: true\n    public_folder_mailbox: pf@northwind.com\n")...)
	if err := os.WriteFile(l.ConfigPath, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	// Part of the tree lives in a content mailbox of its own: its content
	// requests must name that mailbox (PR_REPLICA_LIST), on both sides.
	l.EWS.PublicFolder("Projects").SetContentMailbox("5c0f7e3a-1b2d-4e6f-8a9b-0c1d2e3f4a5b")
	other.PublicFolder("Projects").SetContentMailbox("9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d")
	args := []string{"copy", "--config", l.ConfigPath, "--from", "onprem", "--to", "northwind", "--public-folders"}
	code, out, stderr := run(t, args...)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, stderr)
	}
	want := 0
	for _, pf := range l.Scenario.PublicFolders {
		src := l.EWS.PublicFolder(pf.Path)
		dst := other.PublicFolder(pf.Path)
		if n, m := len(src.Items()), len(dst.Items()); n != m || n == 0 {
			t.Errorf("public folder %s: source %d items, target %d", pf.Path, n, m)
		}
		want += len(src.Items())
	}
	if !regexp.MustCompile(`(?m)^pf-hierarchy@contoso\.com +pf@northwind\.com +` + fmt.Sprint(want) + ` .* ok$`).MatchString(out) {
		t.Errorf("the summary's public folder row does not say %d copied, ok:\n%s", want, out)
	}
	if a, b := l.EWS.PublicFolderRouteMisses(), other.PublicFolderRouteMisses(); a != 0 || b != 0 {
		t.Errorf("content requests that named the wrong public folder mailbox: %d at the source, %d at the target", a, b)
	}
	writes := other.Writes()
	if code, out, _ := run(t, args...); code != 0 || other.Writes() != writes {
		t.Errorf("second pass: exit %d, %d writes\n%s", code, other.Writes()-writes, out)
	}
}
