package main

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/exmigrate/exmigrate/engine"
	"github.com/exmigrate/exmigrate/graphmail/graphtest"
	"github.com/exmigrate/exmigrate/internal/lab"
	"github.com/exmigrate/exmigrate/mailbox"
)

func TestParseStores(t *testing.T) {
	rec := func(s mailbox.Scope) map[mailbox.Scope]engine.StoreTarget {
		return map[mailbox.Scope]engine.StoreTarget{mailbox.ScopeRecoverable: {Store: s, Folder: recoverableFolder}}
	}
	for _, tt := range []struct {
		name    string
		stores  []string
		into    string
		want    []mailbox.Scope
		wantTo  map[mailbox.Scope]engine.StoreTarget
		wantErr string
	}{
		{"default", nil, "primary", []mailbox.Scope{mailbox.ScopePrimary, mailbox.ScopeArchive}, nil, ""},
		{"primary only", []string{"primary"}, "primary", []mailbox.Scope{mailbox.ScopePrimary}, nil, ""},
		{"recoverable into the archive", []string{"primary", " Recoverable "}, "archive", []mailbox.Scope{mailbox.ScopePrimary, mailbox.ScopeRecoverable}, rec(mailbox.ScopeArchive), ""},
		{"recoverable into the primary, twice named", []string{"recoverable-items", "recoverable"}, "primary", []mailbox.Scope{mailbox.ScopeRecoverable}, rec(mailbox.ScopePrimary), ""},
		{"unknown store", []string{"primary", "arhcive"}, "primary", nil, nil, `unknown store "arhcive"`},
		{"public folders", []string{"publicfolders"}, "primary", nil, nil, "--public-folders"},
		{"bad place for Recoverable Items", []string{"recoverable"}, "inbox", nil, nil, `--recoverable-into: "inbox"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, into, err := parseStores(tt.stores, tt.into)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) || !reflect.DeepEqual(into, tt.wantTo) {
				t.Fatalf("got %v %v %v, want %v %v", got, into, err, tt.want, tt.wantTo)
			}
		})
	}
}

// TestCopyRecoverableItemsFromTheCloud: copy --stores primary,recoverable
// from an Exchange Online mailbox reads its Recoverable Items (Deletions,
// the one folder Graph names) and writes them into the folder
// "Recoverable Items (migrated)" of the target; an assessment does not read
// them.
func TestCopyRecoverableItemsFromTheCloud(t *testing.T) {
	l, dir := startSmallLab(t, lab.Options{})
	const src, dst = "megan@fabrikam.com", "megan.archive@fabrikam.onmicrosoft.com"
	for i := range 3 {
		l.Graph.Mailbox(src).AddRecoverableItem(graphtest.Message{Subject: fmt.Sprintf("deleted %d", i), From: "ann@fabrikam.com", To: []string{src}, Body: "gone"})
	}
	target := l.Graph.AddMailbox(dst, mailbox.TypeUser)
	list := filepath.Join(dir, "recoverable.csv")
	if err := os.WriteFile(list, []byte("EmailAddress,TargetAddress\n"+src+","+dst+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := run(t, "copy", "--config", l.ConfigPath, "--mailboxes", list, "--direction", "cloud-to-cloud", "--stores", "primary,recoverable")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, stderr)
	}
	if n := len(target.Messages(recoverableFolder + "/Deletions")); n != 3 {
		t.Errorf("the target's %s/Deletions holds %d of 3 items\n%s", recoverableFolder, n, out)
	}
	if !strings.Contains(out, "recoverable/mail=mime") {
		t.Errorf("the content paths do not say how Recoverable Items moved:\n%s", out)
	}
}
