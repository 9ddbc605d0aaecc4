package lab

import (
	"context"
	"strings"
	"testing"

	"github.com/exmigrate/exmigrate/mailbox"
)

// non_mail_items Notes and Journal make sticky notes and journal entries
// in the standard Notes (IPF.StickyNote) and Journal (IPF.Journal)
// folders of an on-prem mailbox, each with its class, a subject that is
// the first line of its text, and a MIME body saying the same.
func TestSeedNotesAndJournal(t *testing.T) {
	sc, err := ParseScenario([]byte("domain: contoso.com\nmailboxes:\n  - address: nina@contoso.com\n    location: onprem\n    non_mail_items: {Notes: 3, Journal: 2}\n"))
	if err != nil {
		t.Fatal(err)
	}
	l, err := Start(context.Background(), Options{Dir: t.TempDir(), Scenario: sc, Ephemeral: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	mb, ok := l.EWS.LookupMailbox("nina@contoso.com")
	if !ok {
		t.Fatal("no mailbox")
	}
	for _, tc := range []struct {
		root, class string
		n           int
	}{{"notes", mailbox.ClassStickyNote, 3}, {"journal", classJournal, 2}} {
		items := mb.Root(tc.root).Items()
		if len(items) != tc.n {
			t.Fatalf("%s holds %d items, want %d", tc.root, len(items), tc.n)
		}
		seen := map[string]bool{}
		for _, it := range items {
			_, body, _ := strings.Cut(string(it.MIME), "\r\n\r\n")
			first, _, _ := strings.Cut(body, "\r\n")
			if it.Class != tc.class || it.Subject == "" || seen[it.Subject] || !strings.Contains(string(it.MIME), "Content-Type: text/plain") {
				t.Errorf("%s: %s %q (duplicate %v):\n%s", tc.root, it.Class, it.Subject, seen[it.Subject], it.MIME)
			}
			if tc.class == mailbox.ClassStickyNote && first != it.Subject {
				t.Errorf("note %q: its first line is %q", it.Subject, first)
			}
			seen[it.Subject] = true
		}
	}
}

// A cloud mailbox cannot hold notes or a journal: Graph has no API for
// them, and the scenario says so.
func TestSeedNotesInCloudRefused(t *testing.T) {
	for _, key := range []string{"Notes", "Journal"} {
		sc, err := ParseScenario([]byte("domain: contoso.com\nmailboxes:\n  - address: olga@contoso.com\n    location: cloud\n    non_mail_items: {" + key + ": 1}\n"))
		if err != nil {
			t.Fatal(err)
		}
		l, err := Start(context.Background(), Options{Dir: t.TempDir(), Scenario: sc, Ephemeral: true})
		if err == nil {
			l.Close()
			t.Fatalf("%s in a cloud mailbox: no error", key)
		}
		if !strings.Contains(err.Error(), "Graph has no API for notes or journal") || !strings.Contains(err.Error(), key) {
			t.Errorf("%s: %v", key, err)
		}
	}
}
