package ews_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/ews"
	"github.com/exmigrate/exmigrate/ews/ewstest"
	"github.com/exmigrate/exmigrate/mailbox"
)

func mimePayload(sid string, data []byte, read bool) mailbox.Payload {
	return mailbox.Payload{Item: mailbox.Item{Class: mailbox.ClassMessage, IsRead: read, Received: time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)},
		SourceID: sid, Format: mailbox.FormatMIME, Body: bytes.NewReader(data), Size: int64(len(data))}
}

// TestCreateBatch: CreateBatch writes MIME payloads several to a
// CreateItem (schema-valid), each stamped with its read state; the item
// the server refuses has its own error and the others are created; a
// body that fails to read fails alone and is not sent; a payload of
// unknown size goes alone; results come back in the caller's order.
func TestCreateBatch(t *testing.T) {
	rec := &recorder{}
	e := newEnv(t, ewstest.WithRequestRecorder(rec.record))
	ctx := context.Background()
	box := e.c.Mailbox(testMailbox)
	read := false
	ps := []mailbox.Payload{
		mimePayload("b0", mime("Batch 0", 300), true),
		mimePayload("b1", mime("Batch 1", 5000), false),
		mimePayload("b2", []byte("no headers at all"), false), // ErrorMimeContentConversionFailed
		{Item: mailbox.Item{Class: mailbox.ClassMessage}, SourceID: "b3", Format: mailbox.FormatMIME, Body: failingReader{&read}, Size: 10},
		mimePayload("b4", mime("Batch 4", 300), true),
		mimePayload("b5", mime("Batch 5", 300), false),
	}
	ps[4].Size = -1 // unknown: written alone
	res, err := box.CreateBatch(ctx, "inbox", ps)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != len(ps) {
		t.Fatalf("%d results for %d payloads", len(res), len(ps))
	}
	for i, r := range res {
		switch i {
		case 2:
			if !errors.Is(r.Err, mailbox.ErrItemRejected) || !mailbox.IsPermanent(r.Err) || r.ID != "" {
				t.Errorf("the refused item: %+v, want its own permanent ErrItemRejected", r)
			}
		case 3:
			if r.Err == nil || !read || r.ID != "" {
				t.Errorf("the unreadable item: %+v (read %v), want its read error", r, read)
			}
		default:
			if r.Err != nil || r.ID == "" {
				t.Errorf("item %d: %+v, want created", i, r)
				continue
			}
			id, found, err := box.FindBySourceID(ctx, "inbox", ps[i].SourceID)
			if err != nil || !found || id != r.ID {
				t.Errorf("item %d: stamp %s finds %q %v (%v), want %s", i, ps[i].SourceID, id, found, err, r.ID)
			}
		}
	}
	var items []mailbox.Item
	if err := box.Items(ctx, "inbox", func(it mailbox.Item) error { items = append(items, it); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(items) != 4 {
		t.Errorf("the inbox holds %d items, want 4", len(items))
	}
	for _, it := range items {
		if want := it.SourceID == "b0" || it.SourceID == "b4"; it.IsRead != want || it.IsDraft || !it.Received.Equal(ps[0].Item.Received) {
			t.Errorf("%s: read %v draft %v received %v; want read %v, not a draft, received as given", it.SourceID, it.IsRead, it.IsDraft, it.Received, want)
		}
	}
	// b0..b2 in one request, b4 alone, b5 in one.
	if n := e.srv.Requests("CreateItem"); n != 3 {
		t.Errorf("%d CreateItem requests, want 3", n)
	}
	if reqs := rec.reqs["CreateItem"]; len(reqs) == 0 || strings.Count(string(reqs[0]), "<t:MimeContent") != 3 {
		t.Errorf("the first CreateItem does not carry 3 items")
	}
	validateWithXmllint(t, "CreateBatch", map[string][][]byte{"CreateItem": rec.reqs["CreateItem"]})
}

// TestCreateBatchLimits: more than MaxCreateBatch payloads is refused
// before anything is read; declared sizes split requests at
// MaxCreateBatchBytes; a request whose answer is lost fails its items
// with a retryable error, the later ones are not attempted, and
// CreateBatch returns the error.
func TestCreateBatchLimits(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	box := e.c.Mailbox(testMailbox)
	read := false
	many := make([]mailbox.Payload, ews.MaxCreateBatch+1)
	for i := range many {
		many[i] = mailbox.Payload{Item: mailbox.Item{Class: mailbox.ClassMessage}, SourceID: fmt.Sprint(i), Format: mailbox.FormatMIME, Body: failingReader{&read}, Size: 10}
	}
	if _, err := box.CreateBatch(ctx, "inbox", many); !errors.Is(err, ews.ErrBatchTooLarge) || read || e.srv.Requests("") != 0 {
		t.Errorf("%d payloads: %v (read %v, %d requests), want ErrBatchTooLarge before anything", len(many), err, read, e.srv.Requests(""))
	}

	// Declared at 4 MB each: two fit MaxCreateBatchBytes, the third goes next.
	var ps []mailbox.Payload
	for i := range 3 {
		p := mimePayload(fmt.Sprintf("s%d", i), mime(fmt.Sprintf("Sized %d", i), 300), false)
		p.Size = 4 << 20
		ps = append(ps, p)
	}
	res, err := box.CreateBatch(ctx, "inbox", ps)
	if err != nil || res[0].ID == "" || res[1].ID == "" || res[2].ID == "" || e.srv.Requests("CreateItem") != 2 {
		t.Errorf("sizes: %+v, %v after %d CreateItem; want 3 items in 2 requests", res, err, e.srv.Requests("CreateItem"))
	}

	// 1.5 MB each: the batch is spooled and sent from temp files, and
	// each item's MIME arrives whole.
	ps = nil
	var datas [][]byte
	for i := range 3 {
		d := mime(fmt.Sprintf("Large %d", i), 3<<19)
		datas = append(datas, d)
		ps = append(ps, mimePayload(fmt.Sprintf("l%d", i), d, false))
	}
	before := e.srv.Requests("CreateItem")
	res, err = box.CreateBatch(ctx, "inbox", ps)
	if err != nil || e.srv.Requests("CreateItem")-before != 1 {
		t.Fatalf("large items: %v after %d CreateItem, want one request", err, e.srv.Requests("CreateItem")-before)
	}
	for i, r := range res {
		if r.Err != nil {
			t.Fatalf("large item %d: %v", i, r.Err)
		}
		if got := readAll(t, box, r.ID, mailbox.FormatMIME); !bytes.Contains(got, datas[i][len(datas[i])-1000:]) || len(got) < len(datas[i]) {
			t.Errorf("large item %d: %d bytes of MIME, want its %d bytes", i, len(got), len(datas[i]))
		}
	}

	ps = nil
	for i := range 4 {
		ps = append(ps, mimePayload(fmt.Sprintf("d%d", i), mime(fmt.Sprintf("Dropped %d", i), 300), false))
	}
	ps[2].Size = -1 // alone, after the dropped request
	e.srv.Inject(ewstest.Fault{Op: "CreateItem", Kind: ewstest.FaultDropAfter})
	before = e.srv.Requests("CreateItem")
	res, err = box.CreateBatch(ctx, "inbox", ps)
	retry := func(err error) bool { ok, _ := mailbox.ShouldRetry(err); return err != nil && ok }
	if !retry(err) {
		t.Errorf("a lost answer: %v, want a retryable error", err)
	}
	for i, r := range res {
		want := retry(r.Err)
		if i >= 2 {
			want = errors.Is(r.Err, ews.ErrNotAttempted)
		}
		if !want || r.ID != "" {
			t.Errorf("payload %d after a lost answer: %+v", i, r)
		}
	}
	if n := e.srv.Requests("CreateItem") - before; n != 1 {
		t.Errorf("%d CreateItem after a lost answer, want 1 (a write is not resent blindly)", n)
	}
	// The fake carried the request out: the stamps find what the answer lost.
	if _, found, _ := box.FindBySourceID(ctx, "inbox", "d1"); !found {
		t.Error("the lost answer's items are not found by their stamps")
	}
}

// TestCreateBatchRoutes: a typed payload among MIME ones is written alone
// (CreateItem's typed path) between the batched ones; a batch into a
// public folder writes each item with the folder's routing.
func TestCreateBatchRoutes(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	box := e.c.Mailbox(testMailbox)
	contact, err := mailbox.EncodeContact(fullContact())
	if err != nil {
		t.Fatal(err)
	}
	ps := []mailbox.Payload{
		mimePayload("r0", mime("Route 0", 300), false),
		{Item: mailbox.Item{Class: mailbox.ClassContact}, SourceID: "r1", Format: mailbox.FormatTyped, Body: bytes.NewReader(contact), Size: int64(len(contact))},
		mimePayload("r2", mime("Route 2", 300), false),
	}
	res, err := box.CreateBatch(ctx, "contacts", ps)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Err != nil || r.ID == "" {
			t.Errorf("payload %d: %+v", i, r)
		}
	}
	if got := readAll(t, box, res[1].ID, mailbox.FormatTyped); !bytes.Contains(got, []byte(fullContact().DisplayName)) {
		t.Errorf("the typed contact reads %s", got)
	}

	e.srv.PublicFolder("Board")
	fs, err := box.Folders(ctx, mailbox.ScopePublicFolders)
	if err != nil || len(fs) < 2 {
		t.Fatalf("public folders %v, %v", fs, err)
	}
	misses := e.srv.PublicFolderRouteMisses()
	res, err = box.CreateBatch(ctx, fs[1].ID, []mailbox.Payload{mimePayload("p0", mime("Post 0", 300), false), mimePayload("p1", mime("Post 1", 300), false)})
	if err != nil || res[0].Err != nil || res[1].Err != nil {
		t.Fatalf("into a public folder: %+v, %v", res, err)
	}
	for i, sid := range []string{"p0", "p1"} {
		if id, found, err := box.FindBySourceID(ctx, fs[1].ID, sid); err != nil || !found || id != res[i].ID {
			t.Errorf("public item %s: %q %v %v, want %s", sid, id, found, err, res[i].ID)
		}
	}
	if n := e.srv.PublicFolderRouteMisses() - misses; n != 0 {
		t.Errorf("%d public folder requests missed their route", n)
	}
}
