package ews_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/ews"
	"github.com/exmigrate/exmigrate/ews/ewstest"
	"github.com/exmigrate/exmigrate/mailbox"
)

// TestExportBatch: ExportBatch exports a folder's items with one
// ExportItems per MaxExportBatch ids, each item's data the bytes a single
// export reads, a missing item failing alone, in the caller's order, even
// when the caller leaves a stream unread; a throttled request is retried
// whole; an error of fn stops it; public folder items are refused.
func TestExportBatch(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	box := e.c.Mailbox(testMailbox)
	inbox := e.mb.Root("inbox")
	for i := 0; i < ews.MaxExportBatch*2+5; i++ {
		inbox.AddItem(ewstest.Item{MIME: mime(fmt.Sprintf("Batch %d", i), 100+i), Received: time.Date(2025, 1, 1, 0, i, 0, 0, time.UTC)})
	}
	var items []mailbox.Item
	if err := box.Items(ctx, "inbox", func(it mailbox.Item) error { items = append(items, it); return nil }); err != nil {
		t.Fatal(err)
	}
	want := map[string][]byte{}
	for _, it := range items {
		want[it.ID] = readAll(t, box, it.ID, mailbox.FormatFullFidelity)
	}
	missing := "QUFNa0FESXxub3RoZXJl"
	items = append(items[:7], append([]mailbox.Item{{ID: missing, SizeBytes: 10}}, items[7:]...)...)

	before := e.srv.Requests("ExportItems")
	e.srv.Inject(ewstest.Fault{Op: "ExportItems", Kind: ewstest.FaultServerBusy, BackOff: time.Millisecond})
	var order []string
	err := box.ExportBatch(ctx, items, func(id string, data io.Reader, err error) error {
		order = append(order, id)
		if id == missing {
			if !errors.Is(err, mailbox.ErrNotFound) || data != nil {
				t.Errorf("missing item: %v, reader %v; want ErrNotFound alone", err, data)
			}
			return nil
		}
		if err != nil {
			t.Errorf("%s: %v", id, err)
			return nil
		}
		if len(order)%10 == 3 {
			return nil // left unread: the next item's data must still be its own
		}
		got, err := io.ReadAll(data)
		if err != nil || !bytes.Equal(got, want[id]) {
			t.Errorf("%s: %d bytes, %v; want the %d bytes a single export reads", id, len(got), err, len(want[id]))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(order) != len(items) {
		t.Fatalf("fn saw %d items, want %d", len(order), len(items))
	}
	for i, it := range items {
		if order[i] != it.ID {
			t.Fatalf("item %d: fn saw %s, want %s (the caller's order)", i, order[i], it.ID)
		}
	}
	// 206 ids: 100 + 100 + 6, plus the throttled first attempt.
	if n := e.srv.Requests("ExportItems") - before; n != 4 {
		t.Errorf("%d ExportItems requests, want 3 and one retry", n)
	}

	stop := errors.New("enough")
	seen := 0
	err = box.ExportBatch(ctx, items[:20], func(string, io.Reader, error) error {
		seen++
		if seen == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || seen != 3 {
		t.Errorf("fn's error: ExportBatch returned %v after %d items, want it after 3", err, seen)
	}

	pfItem := e.srv.PublicFolder("Board").AddItem(ewstest.Item{MIME: mime("pf", 100)})
	fs, err := box.Folders(ctx, mailbox.ScopePublicFolders)
	if err != nil {
		t.Fatal(err)
	}
	var pub []mailbox.Item
	if err := box.Items(ctx, fs[1].ID, func(it mailbox.Item) error { pub = append(pub, it); return nil }); err != nil || len(pub) != 1 {
		t.Fatalf("public items %v (%s), %v", pub, pfItem, err)
	}
	if err := box.ExportBatch(ctx, pub, func(string, io.Reader, error) error { return nil }); !errors.Is(err, mailbox.ErrUnsupported) {
		t.Errorf("a public folder item: %v, want ErrUnsupported", err)
	}
}
