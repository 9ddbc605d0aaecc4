package ews_test

import (
	"context"
	"testing"

	"github.com/exmigrate/exmigrate/mailbox"
)

// TestFoldersAsksWellKnownOnce: a later listing of the same mailbox marks
// the well-known folders as the first did without asking for them again
// (a copy lists each mailbox's folders three times: plan, copy and
// reconciliation).
func TestFoldersAsksWellKnownOnce(t *testing.T) {
	e := newEnv(t)
	m := e.c.Mailbox(testMailbox)
	wellKnown := func(fs []mailbox.Folder) map[string]mailbox.WellKnown {
		out := map[string]mailbox.WellKnown{}
		for _, f := range fs {
			if f.WellKnown != "" {
				out[f.Path] = f.WellKnown
			}
		}
		return out
	}
	first, err := m.Folders(context.Background(), mailbox.ScopePrimary)
	if err != nil {
		t.Fatal(err)
	}
	want := wellKnown(first)
	if want["Inbox"] != mailbox.Inbox || len(want) < 5 {
		t.Fatalf("well-known folders of the first listing: %v", want)
	}
	before := e.srv.Requests("GetFolder")
	second, err := m.Folders(context.Background(), mailbox.ScopePrimary)
	if err != nil {
		t.Fatal(err)
	}
	if got := e.srv.Requests("GetFolder") - before; got != 1 {
		t.Errorf("the second listing made %d GetFolder requests, want 1 (the root)", got)
	}
	got := wellKnown(second)
	if len(got) != len(want) {
		t.Fatalf("second listing's well-known folders %v, want %v", got, want)
	}
	for p, w := range want {
		if got[p] != w {
			t.Errorf("%s: %q, want %q", p, got[p], w)
		}
	}
}
