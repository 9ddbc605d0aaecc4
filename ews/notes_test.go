package ews_test

import (
	"bytes"
	"context"
	"io"
	"slices"
	"testing"

	"github.com/exmigrate/exmigrate/ews"
	"github.com/exmigrate/exmigrate/mailbox"
)

// The adapter reads and writes notes and other items (journal entries,
// documents ...) as MIME in the primary and archive stores, names what
// MIME leaves behind, and does not write them into Recoverable Items.
// (Public folders: TestPublicFolderCapabilities.)
func TestNotesAndOtherCapabilities(t *testing.T) {
	e := newEnv(t)
	caps := e.c.Mailbox(testMailbox).Capabilities()
	for _, k := range []mailbox.Kind{mailbox.KindNotes, mailbox.KindOther} {
		for _, s := range []mailbox.Scope{mailbox.ScopePrimary, mailbox.ScopeArchive} {
			r, w := caps.Reader(s, k), caps.Writer(s, k)
			if len(r) != 2 || r[0].Format != mailbox.FormatMIME || len(w) != 2 || w[0].Format != mailbox.FormatMIME || w[0].Loses == "" ||
				r[1].Format != mailbox.FormatFullFidelity || w[1].Format != mailbox.FormatFullFidelity || w[1].Dialect != mailbox.DialectEWS {
				t.Errorf("%s/%s: reads %v, writes %v; want MIME both ways with what it loses, and full fidelity", s, k, r, w)
			}
			if why := caps.Unsupported[mailbox.StoreKind{Store: s, Kind: k}]; why != "" {
				t.Errorf("%s/%s still declared unsupported: %s", s, k, why)
			}
			route, gap := mailbox.PlanRoute(caps, caps, s, s, k)
			if gap != nil || route.Format != mailbox.FormatFullFidelity || route.Loses != "" {
				t.Errorf("%s/%s EWS to EWS: route %+v, gap %v; want full fidelity, losing nothing", s, k, route, gap)
			}
		}
		for _, s := range []mailbox.Scope{mailbox.ScopeRecoverable} {
			if w := caps.Writer(s, k); len(w) != 0 {
				t.Errorf("%s/%s: writes %v, want none", s, k, w)
			}
			if caps.Unsupported[mailbox.StoreKind{Store: s, Kind: k}] == "" {
				t.Errorf("%s/%s: no reason given for not carrying it", s, k)
			}
		}
	}
}

// A note and a journal entry written as MIME keep their class, as the
// fake's store, FindItem and SyncFolderItems all say, and their MIME reads
// back; a message written the same way stays a message.
func TestCreateNoteAndJournalKeepClass(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	box := e.c.Mailbox(testMailbox)
	write := func(folder, class, text string) string {
		t.Helper()
		m := []byte("Subject: " + text + "\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + text + "\r\nsecond line\r\n")
		id, err := box.CreateItem(ctx, folder, mailbox.Payload{Item: mailbox.Item{Class: class, Subject: text},
			SourceID: "src-" + text, Format: mailbox.FormatMIME, Body: bytes.NewReader(m), Size: int64(len(m))})
		if err != nil {
			t.Fatalf("%s: %v", class, err)
		}
		rc, err := box.OpenItem(ctx, id, mailbox.FormatMIME)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		got, _ := io.ReadAll(rc)
		if !bytes.Contains(got, []byte(text+"\r\nsecond line")) {
			t.Errorf("%s: MIME read back %q", class, got)
		}
		return id
	}
	write("notes", mailbox.ClassStickyNote, "Call Ann")
	write("journal", "IPM.Activity", "Phone call")
	write("notes", mailbox.ClassMessage, "A message")
	want := map[string]string{"Call Ann": "IPM.StickyNote", "A message": "IPM.Note"}
	for _, it := range e.mb.Folder("Notes").Items() {
		if want[it.Subject] != it.Class || it.SourceID != "src-"+it.Subject {
			t.Errorf("stored %q as %s stamped %q", it.Subject, it.Class, it.SourceID)
		}
	}
	if got := e.mb.Folder("Journal").Items(); len(got) != 1 || got[0].Class != "IPM.Activity" {
		t.Errorf("journal holds %+v", got)
	}
	listed := map[string]string{}
	if err := box.Items(ctx, "notes", func(it mailbox.Item) error { listed[it.Subject] = it.Class; return nil }); err != nil {
		t.Fatal(err)
	}
	page, err := box.Changes(ctx, "journal", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, ch := range page.Changes {
		listed[ch.Item.Subject] = ch.Item.Class
	}
	want["Phone call"] = "IPM.Activity"
	for s, c := range want {
		if listed[s] != c {
			t.Errorf("%q listed as %q, want %s (all: %v)", s, listed[s], c, listed)
		}
	}
}

// TestFullFidelityWritesOffByDefault: without Config.FullFidelity the
// adapter reads full fidelity (for the probe and other targets) but
// declares no full-fidelity write, so EWS to EWS plans the typed and MIME
// paths, whose writes carry their stamp in the same request.
func TestFullFidelityWritesOffByDefault(t *testing.T) {
	e := newEnv(t)
	caps := e.client(t, func(c *ews.Config) { c.FullFidelity = false }).Mailbox(testMailbox).Capabilities()
	for _, k := range mailbox.Kinds() {
		for _, w := range caps.Writer(mailbox.ScopePrimary, k) {
			if w.Format == mailbox.FormatFullFidelity {
				t.Errorf("%s: a full-fidelity write is declared by default", k)
			}
		}
		if !slices.ContainsFunc(caps.Reader(mailbox.ScopePrimary, k), func(p mailbox.Path) bool { return p.Format == mailbox.FormatFullFidelity }) {
			t.Errorf("%s: no full-fidelity read", k)
		}
		if route, gap := mailbox.PlanRoute(caps, caps, mailbox.ScopePrimary, mailbox.ScopePrimary, k); gap != nil || route.Format == mailbox.FormatFullFidelity {
			t.Errorf("%s: EWS to EWS plans %+v (gap %v) by default", k, route, gap)
		}
	}
}
