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
	"github.com/exmigrate/exmigrate/mailbox/mailboxtest"
)

// Compile-time: the adapter is a batch reader and a dialect accepter.
var (
	_ mailbox.BatchReader     = (*ews.Mailbox)(nil)
	_ mailbox.DialectAccepter = (*ews.Mailbox)(nil)
)

const missingID = "QUFNa0FESXxub3RoZXJl"

// TestReadBatch: ReadBatch reads a batch with one request (GetItem for
// MIME, ExportItems for full fidelity), calling fn in the caller's order
// with each item's content (the bytes OpenItem reads, a 3 MB item among
// small ones included, even after the caller left an item unread) or
// with its own error (a missing item is its ErrNotFound alone); typed
// items read one by one, still in order.
func TestReadBatch(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	box := e.c.Mailbox(testMailbox)
	inbox := e.mb.Root("inbox")
	for i := range 12 {
		size := 200 + i*50
		if i == 5 {
			size = 3 << 20 // far over the decoder's 32 KB buffers
		}
		inbox.AddItem(ewstest.Item{MIME: mime(fmt.Sprintf("Batch %d", i), size), Received: time.Date(2025, 1, 1, 0, i, 0, 0, time.UTC)})
	}
	contacts := e.mb.Root("contacts")
	contacts.AddContact(fullContact())
	contacts.AddContactGroup(mailboxtest.SampleContactGroup())
	list := func(folder string) []mailbox.Item {
		var items []mailbox.Item
		if err := box.Items(ctx, folder, func(it mailbox.Item) error { items = append(items, it); return nil }); err != nil {
			t.Fatal(err)
		}
		// A missing item inside and at the end of the batch.
		items = append(items[:2], append([]mailbox.Item{{ID: missingID, SizeBytes: 10}}, items[2:]...)...)
		return append(items, mailbox.Item{ID: missingID + "Zz", SizeBytes: 10})
	}
	for _, c := range []struct {
		format   mailbox.Format
		folder   string
		op       string
		requests int64 // for the batch, where it is one request
	}{
		{mailbox.FormatMIME, "inbox", "GetItem", 1},
		{mailbox.FormatFullFidelity, "inbox", "ExportItems", 1},
		{mailbox.FormatTyped, "contacts", "GetItem", 3}, // the elements, the contacts, the groups
	} {
		t.Run(string(c.format), func(t *testing.T) {
			items := list(c.folder)
			want := map[string][]byte{}
			for _, it := range items {
				if it.ID[:len(missingID)] != missingID {
					want[it.ID] = readAll(t, box, it.ID, c.format)
				}
			}
			before := e.srv.Requests(c.op)
			var order []string
			err := box.ReadBatch(ctx, items, c.format, func(it mailbox.Item, body io.Reader, err error) error {
				order = append(order, it.ID)
				if _, ok := want[it.ID]; !ok {
					if !errors.Is(err, mailbox.ErrNotFound) || body != nil {
						t.Errorf("missing item %s: %v, reader %v; want its own ErrNotFound", it.ID, err, body)
					}
					return nil
				}
				if err != nil {
					t.Errorf("%s: %v", it.ID, err)
					return nil
				}
				if len(order) == 2 {
					return nil // left unread: the next item must still be its own
				}
				got, err := io.ReadAll(body)
				if err != nil || !bytes.Equal(got, want[it.ID]) {
					t.Errorf("%s: %d bytes, %v; want the %d bytes OpenItem reads", it.ID, len(got), err, len(want[it.ID]))
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
			if n := e.srv.Requests(c.op) - before; c.requests > 0 && n != c.requests {
				t.Errorf("%d %s requests for a batch of %d, want %d", n, c.op, len(items), c.requests)
			}
		})
	}
}

// TestReadBatchLimits: more than MaxReadBatch items is refused before any
// request; known sizes over MaxExportBatchBytes split the batch; a
// throttled batch is retried whole; fn's error stops the batch; an
// unknown format is ErrUnsupported.
func TestReadBatchLimits(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	box := e.c.Mailbox(testMailbox)
	inbox := e.mb.Root("inbox")
	for i := range ews.MaxReadBatch + 1 {
		inbox.AddItem(ewstest.Item{MIME: mime(fmt.Sprintf("Limit %d", i), 100)})
	}
	var items []mailbox.Item
	if err := box.Items(ctx, "inbox", func(it mailbox.Item) error { items = append(items, it); return nil }); err != nil {
		t.Fatal(err)
	}
	nop := func(mailbox.Item, io.Reader, error) error { return nil }
	listed := e.srv.Requests("")
	for _, f := range []mailbox.Format{mailbox.FormatMIME, mailbox.FormatFullFidelity, mailbox.FormatTyped} {
		err := box.ReadBatch(ctx, items, f, nop)
		if !errors.Is(err, ews.ErrBatchTooLarge) || !mailbox.IsPermanent(err) || e.srv.Requests("") != listed {
			t.Errorf("%s: %d items: %v after %d requests, want a permanent ErrBatchTooLarge before any", f, len(items), err, e.srv.Requests("")-listed)
		}
	}
	items = items[:ews.MaxReadBatch]
	if err := box.ReadBatch(ctx, items, mailbox.FormatMIME, nop); err != nil || e.srv.Requests("GetItem") != 1 {
		t.Errorf("MaxReadBatch items: %v after %d GetItem, want one", err, e.srv.Requests("GetItem"))
	}

	// The listing says the first three are 30 MB each: three requests.
	sized := append([]mailbox.Item(nil), items[:6]...)
	for i := range 3 {
		sized[i].SizeBytes = 30 << 20
	}
	before := e.srv.Requests("GetItem")
	if err := box.ReadBatch(ctx, sized, mailbox.FormatMIME, nop); err != nil || e.srv.Requests("GetItem")-before != 3 {
		t.Errorf("sizes over MaxExportBatchBytes: %v after %d GetItem, want 3", err, e.srv.Requests("GetItem")-before)
	}

	before = e.srv.Requests("GetItem")
	e.srv.Inject(ewstest.Fault{Op: "GetItem", Kind: ewstest.FaultServerBusy, BackOff: time.Millisecond})
	seen := 0
	if err := box.ReadBatch(ctx, items[:10], mailbox.FormatMIME, func(_ mailbox.Item, r io.Reader, err error) error {
		seen++
		return err
	}); err != nil || seen != 10 || e.srv.Requests("GetItem")-before != 2 {
		t.Errorf("throttled once: %v, fn saw %d items after %d GetItem; want 10 after a retry", err, seen, e.srv.Requests("GetItem")-before)
	}

	stop := errors.New("enough")
	seen = 0
	err := box.ReadBatch(ctx, items[:10], mailbox.FormatMIME, func(mailbox.Item, io.Reader, error) error {
		if seen++; seen == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || seen != 3 {
		t.Errorf("fn's error: %v after %d items, want it after 3", err, seen)
	}
	if err := box.ReadBatch(ctx, items[:1], mailbox.Format("pst"), nop); !errors.Is(err, mailbox.ErrUnsupported) {
		t.Errorf("an unknown format: %v, want ErrUnsupported", err)
	}
}

// TestBatchProcessingStopped: when Exchange stops a batch midway (the
// items after the stop answered Warning ErrorBatchProcessingStopped, not
// processed), or answers items busy after others, ReadBatch asks again
// for the rest and every item reaches fn in order without error; CreateBatch sends its unprocessed payloads (and
// those answered busy alone) again.
func TestBatchProcessingStopped(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	box := e.c.Mailbox(testMailbox)
	for i := range 8 {
		e.mb.Root("inbox").AddItem(ewstest.Item{MIME: mime(fmt.Sprintf("Stopped %d", i), 300), Received: time.Date(2025, 1, 1, 0, i, 0, 0, time.UTC)})
	}
	var items []mailbox.Item
	if err := box.Items(ctx, "inbox", func(it mailbox.Item) error { items = append(items, it); return nil }); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		format mailbox.Format
		op     string
		fault  ewstest.Fault
	}{
		{mailbox.FormatMIME, "GetItem", ewstest.Fault{Kind: ewstest.FaultBatchStopped, After: 3}},
		{mailbox.FormatFullFidelity, "ExportItems", ewstest.Fault{Kind: ewstest.FaultBatchStopped, After: 3}},
		{mailbox.FormatMIME, "GetItem", ewstest.Fault{Kind: ewstest.FaultCode, Code: "ErrorServerBusy", After: 3}},
		{mailbox.FormatFullFidelity, "ExportItems", ewstest.Fault{Kind: ewstest.FaultCode, Code: "ErrorServerBusy", After: 3}},
	} {
		want := map[string][]byte{}
		for _, it := range items {
			want[it.ID] = readAll(t, box, it.ID, c.format)
		}
		f := c.fault
		f.Op = c.op
		e.srv.Inject(f)
		before := e.srv.Requests(c.op)
		var order []string
		err := box.ReadBatch(ctx, items, c.format, func(it mailbox.Item, r io.Reader, err error) error {
			order = append(order, it.ID)
			if err != nil {
				t.Errorf("%s %s: %v, want it read again", c.format, it.ID, err)
				return nil
			}
			if got, _ := io.ReadAll(r); !bytes.Equal(got, want[it.ID]) {
				t.Errorf("%s %s: %d bytes, want %d", c.format, it.ID, len(got), len(want[it.ID]))
			}
			return nil
		})
		if err != nil || len(order) != len(items) {
			t.Fatalf("%s: %v after %d items", c.format, err, len(order))
		}
		for i := range items {
			if order[i] != items[i].ID {
				t.Fatalf("%s: item %d is %s, want %s", c.format, i, order[i], items[i].ID)
			}
		}
		if n := e.srv.Requests(c.op) - before; n != 2 {
			t.Errorf("%s: %d requests, want the stopped one and one for the rest", c.format, n)
		}
	}

	// CreateBatch sends the unprocessed items again, from its spool: a
	// stop after 2 items, twice, takes three requests; a stop at the first
	// item leaves that one retryable (sending it again would stop again)
	// and sends the others again; items answered busy alone are sent again
	// after the back-off.
	for _, c := range []struct {
		name     string
		fault    ewstest.Fault
		requests int64
		failed   int // the payload left with a retryable error, or -1
	}{
		{"stopped twice", ewstest.Fault{Kind: ewstest.FaultBatchStopped, After: 2, Times: 2}, 3, -1},
		{"stopped at the first", ewstest.Fault{Kind: ewstest.FaultBatchStopped, After: 0}, 2, 0},
		{"busy", ewstest.Fault{Kind: ewstest.FaultCode, Code: "ErrorServerBusy"}, 2, -1},
	} {
		folder := e.mb.Folder("Stopped/" + c.name)
		var ps []mailbox.Payload
		for i := range 5 {
			ps = append(ps, mimePayload(fmt.Sprintf("%s %d", c.name, i), mime(fmt.Sprintf("Stop %d", i), 300), false))
		}
		f := c.fault
		f.Op = "CreateItem"
		e.srv.Inject(f)
		before := e.srv.Requests("CreateItem")
		res, err := box.CreateBatch(ctx, folder.ID(), ps)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		for i, r := range res {
			retry, _ := mailbox.ShouldRetry(r.Err)
			if i != c.failed && (r.Err != nil || r.ID == "") || i == c.failed && (r.ID != "" || !retry) {
				t.Errorf("%s: payload %d: %+v (retry %v)", c.name, i, r, retry)
			}
		}
		created := 5
		if c.failed >= 0 {
			created--
		}
		if n := len(folder.Items()); n != created {
			t.Errorf("%s: the folder holds %d items, want %d", c.name, n, created)
		}
		if n := e.srv.Requests("CreateItem") - before; n != c.requests {
			t.Errorf("%s: %d CreateItem, want %d", c.name, n, c.requests)
		}
	}
}

// TestReadBatchTyped: a typed batch of every kind (a meeting with its
// exceptions, an appointment, a task, a contact with its photo, a group),
// a message (no typed form: its own ErrUnsupported) and a missing item
// reads with one GetItem for the elements and one per type, instead of
// two per item, each item's JSON the bytes OpenItem reads, in order.
func TestReadBatchTyped(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	box := e.c.Mailbox(testMailbox)
	contact := fullContact()
	contact.Photo = []byte("\xff\xd8\xff\xe0 a photo")
	items := []mailbox.Item{
		{ID: e.mb.Root("calendar").AddEvent(mailboxtest.SampleMeeting(testMailbox))},
		{ID: e.mb.Root("tasks").AddTask(mailboxtest.SampleTask())},
		{ID: e.mb.Root("inbox").AddItem(ewstest.Item{MIME: mime("not typed", 200)})},
		{ID: e.mb.Root("contacts").AddContact(contact)},
		{ID: missingID},
		{ID: e.mb.Root("calendar").AddEvent(mailboxtest.SampleAppointment())},
		{ID: e.mb.Root("contacts").AddContactGroup(mailboxtest.SampleContactGroup())},
	}
	const typed, others, kinds = 5, 2, 4
	want := map[string][]byte{}
	p := e.srv.Requests("GetItem")
	for _, it := range items {
		rc, err := box.OpenItem(ctx, it.ID, mailbox.FormatTyped)
		if err != nil {
			continue
		}
		want[it.ID], _ = io.ReadAll(rc)
		rc.Close()
	}
	p = e.srv.Requests("GetItem") - p
	b := e.srv.Requests("GetItem")
	var order []string
	err := box.ReadBatch(ctx, items, mailbox.FormatTyped, func(it mailbox.Item, r io.Reader, err error) error {
		order = append(order, it.ID)
		switch it.ID {
		case missingID:
			if !errors.Is(err, mailbox.ErrNotFound) {
				t.Errorf("the missing item: %v, want ErrNotFound", err)
			}
		case items[2].ID:
			if !errors.Is(err, mailbox.ErrUnsupported) || !mailbox.IsPermanent(err) {
				t.Errorf("a message read as typed: %v, want its own permanent ErrUnsupported", err)
			}
		default:
			got, rerr := io.ReadAll(r)
			if err != nil || rerr != nil || !bytes.Equal(got, want[it.ID]) {
				t.Errorf("%s: %v %v, %d bytes; want the %d bytes OpenItem reads", it.ID, err, rerr, len(got), len(want[it.ID]))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range items {
		if i >= len(order) || order[i] != items[i].ID {
			t.Fatalf("fn saw %v, want the caller's order", order)
		}
	}
	// What one item needs beyond (exceptions) costs the same both ways;
	// the elements and properties take 1+kinds instead of 2 a typed item
	// and 1 any other.
	if b = e.srv.Requests("GetItem") - b; b != p-(2*typed+others)+1+kinds {
		t.Errorf("%d GetItem for the batch, %d one by one; want %d", b, p, p-(2*typed+others)+1+kinds)
	}
}

// TestReadBatchPublic: public folder items read in a batch with their
// folder's routing, as MIME and as typed, in order; full fidelity is
// refused there, as ExportItems is not documented for public folders.
func TestReadBatchPublic(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	box := e.c.Mailbox(testMailbox)
	board := e.srv.PublicFolder("Board")
	board.AddItem(ewstest.Item{MIME: mime("pf 1", 300), Received: time.Date(2025, 1, 1, 0, 1, 0, 0, time.UTC)})
	board.AddItem(ewstest.Item{MIME: mime("pf 2", 300), Received: time.Date(2025, 1, 1, 0, 2, 0, 0, time.UTC)})
	fs, err := box.Folders(ctx, mailbox.ScopePublicFolders)
	if err != nil || len(fs) < 2 {
		t.Fatalf("public folders %v, %v", fs, err)
	}
	var items []mailbox.Item
	if err := box.Items(ctx, fs[1].ID, func(it mailbox.Item) error { items = append(items, it); return nil }); err != nil || len(items) != 2 {
		t.Fatalf("public items %v, %v", items, err)
	}
	misses := e.srv.PublicFolderRouteMisses()
	var got []string
	err = box.ReadBatch(ctx, items, mailbox.FormatMIME, func(it mailbox.Item, r io.Reader, err error) error {
		if err != nil {
			return err
		}
		b, err := io.ReadAll(r)
		if want := readAll(t, box, it.ID, mailbox.FormatMIME); !bytes.Equal(b, want) {
			t.Errorf("%s: %d bytes, want %d", it.ID, len(b), len(want))
		}
		got = append(got, it.ID)
		return err
	})
	if err != nil || len(got) != 2 || got[0] != items[0].ID || got[1] != items[1].ID {
		t.Errorf("MIME: %v, read %v; want both in order", err, got)
	}
	if n := e.srv.PublicFolderRouteMisses() - misses; n != 0 {
		t.Errorf("%d requests missed the public folder's route", n)
	}
	if err := box.ReadBatch(ctx, items, mailbox.FormatFullFidelity, func(mailbox.Item, io.Reader, error) error { return nil }); !errors.Is(err, mailbox.ErrUnsupported) {
		t.Errorf("full fidelity in a public folder: %v, want ErrUnsupported", err)
	}
}
