package ews_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/ews/ewstest"
	"github.com/exmigrate/exmigrate/internal/fakestream"
	"github.com/exmigrate/exmigrate/mailbox"
	"github.com/exmigrate/exmigrate/mailbox/mailboxtest"
)

// TestFingerprint: the listings that feed the engine (Changes, Items,
// Stamps) fill Item.Fingerprint with the item's PR_SEARCH_KEY in hex, in
// the same one request per page; it equals the search key the item's
// ExportItems stream carries, and an UploadItems import into another
// mailbox keeps it, while a MIME write gets a new one.
func TestFingerprint(t *testing.T) {
	e := newEnv(t)
	e.srv.AddMailbox(ffTarget)
	ctx := context.Background()
	src, dst := e.c.Mailbox(testMailbox), e.c.Mailbox(ffTarget)
	recv := time.Date(2025, 4, 1, 9, 0, 0, 0, time.UTC)
	seeded := map[string]struct{ folder, id string }{
		"mail":  {"inbox", e.mb.Root("inbox").AddItem(ewstest.Item{MIME: mime("Fingerprinted", 200), Received: recv})},
		"event": {"calendar", e.mb.Root("calendar").AddEvent(mailboxtest.SampleMeeting(testMailbox))},
		"task":  {"tasks", e.mb.Root("tasks").AddTask(mailboxtest.SampleTask())},
	}
	for name, s := range seeded {
		t.Run(name, func(t *testing.T) {
			before := e.srv.Requests("SyncFolderItems")
			page, err := src.Changes(ctx, s.folder, "")
			if err != nil {
				t.Fatal(err)
			}
			if n := e.srv.Requests("SyncFolderItems") - before; n != 1 || e.srv.Requests("GetItem") != 0 {
				t.Errorf("Changes took %d SyncFolderItems and %d GetItem, want 1 and 0", n, e.srv.Requests("GetItem"))
			}
			var listed mailbox.Item
			for _, ch := range page.Changes {
				if ch.Item.ID == s.id {
					listed = ch.Item
				}
			}
			if want := e.srv.SearchKey(s.id); listed.Fingerprint != want || len(want) != 32 {
				t.Fatalf("Changes: Fingerprint %q, want the search key %q", listed.Fingerprint, want)
			}
			var fromItems string
			if err := src.Items(ctx, s.folder, func(it mailbox.Item) error {
				if it.ID == s.id {
					fromItems = it.Fingerprint
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if fromItems != listed.Fingerprint {
				t.Errorf("Items: Fingerprint %q, want %q", fromItems, listed.Fingerprint)
			}

			data := readAll(t, src, s.id, mailbox.FormatFullFidelity)
			fi, err := fakestream.Decode(data)
			if err != nil {
				t.Fatal(err)
			}
			if fi.SearchKey != listed.Fingerprint {
				t.Errorf("the ExportItems stream carries search key %q, the listing %q", fi.SearchKey, listed.Fingerprint)
			}
			nid, err := dst.CreateItem(ctx, s.folder, mailbox.Payload{Item: listed, SourceID: "fp-" + name,
				Format: mailbox.FormatFullFidelity, Body: bytes.NewReader(data), Size: int64(len(data))})
			if err != nil {
				t.Fatalf("UploadItems: %v", err)
			}
			var imported mailbox.Item
			if err := dst.Stamps(ctx, s.folder, func(it mailbox.Item) error {
				if it.ID == nid {
					imported = it
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if imported.Fingerprint != listed.Fingerprint {
				t.Errorf("the import in %s: Fingerprint %q, want the source's %q", ffTarget, imported.Fingerprint, listed.Fingerprint)
			}
		})
	}

	// A MIME write is a new item: its own search key.
	m := mime("Fingerprinted", 200)
	nid, err := dst.CreateItem(ctx, "inbox", mailbox.Payload{Item: mailbox.Item{Class: mailbox.ClassMessage}, SourceID: "fp-mime",
		Format: mailbox.FormatMIME, Body: bytes.NewReader(m), Size: int64(len(m))})
	if err != nil {
		t.Fatal(err)
	}
	if k := e.srv.SearchKey(nid); len(k) != 32 || k == e.srv.SearchKey(seeded["mail"].id) {
		t.Errorf("a MIME copy has search key %q: want its own", k)
	}
}
