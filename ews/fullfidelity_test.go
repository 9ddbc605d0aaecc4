package ews_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/ews"
	"github.com/exmigrate/exmigrate/ews/ewstest"
	"github.com/exmigrate/exmigrate/internal/fakestream"
	"github.com/exmigrate/exmigrate/mailbox"
	"github.com/exmigrate/exmigrate/mailbox/mailboxtest"
)

const ffTarget = "bob@contoso.com"

// ffSource seeds one item of every kind into the test mailbox and returns
// them by name with the folder each lives in.
func ffSource(t *testing.T, e *env) map[string]struct{ folder, id, class string } {
	t.Helper()
	recv := time.Date(2025, 4, 1, 9, 0, 0, 0, time.UTC)
	withAttachment := "From: Bob <bob@contoso.com>\r\nTo: Alice <alice@contoso.com>\r\nSubject: Contract\r\nMessage-ID: <c1@contoso.com>\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n" +
		"--b\r\nContent-Type: application/pdf; name=\"c.pdf\"\r\nContent-Disposition: attachment; filename=\"c.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b--\r\n"
	contact := fullContact()
	contact.Photo = []byte("\xff\xd8\xff\xe0 a photo")
	return map[string]struct{ folder, id, class string }{
		"mail": {"inbox", e.mb.Root("inbox").AddItem(ewstest.Item{MIME: []byte(withAttachment), Received: recv, Sent: recv.Add(-time.Minute),
			IsRead: true, Categories: []string{"Legal"}, Importance: "High", Flag: "Flagged"}), mailbox.ClassMessage},
		"series":  {"calendar", e.mb.Root("calendar").AddEvent(mailboxtest.SampleMeeting(testMailbox)), mailbox.ClassAppointment},
		"task":    {"tasks", e.mb.Root("tasks").AddTask(mailboxtest.SampleTask()), mailbox.ClassTask},
		"contact": {"contacts", e.mb.Root("contacts").AddContact(contact), mailbox.ClassContact},
		"group":   {"contacts", e.mb.Root("contacts").AddContactGroup(mailboxtest.SampleContactGroup()), mailbox.ClassContactGroup},
		"note": {"notes", e.mb.Root("notes").AddItem(ewstest.Item{MIME: []byte("Subject: Call Ann\r\n\r\nCall Ann about the lease"),
			Class: mailbox.ClassStickyNote, Received: recv}), mailbox.ClassStickyNote},
	}
}

func readAll(t *testing.T, box *ews.Mailbox, id string, f mailbox.Format) []byte {
	t.Helper()
	rc, err := box.OpenItem(context.Background(), id, f)
	if err != nil {
		t.Fatalf("OpenItem(%s, %s): %v", id, f, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestFullFidelityCopy exports every kind through the client, uploads
// each stream into another mailbox, and checks what the contract asks of
// a write: the stamp finds it (FindBySourceID, Stamps), the sync lists
// it, and its typed or MIME read equals the source's. Nothing is sent.
func TestFullFidelityCopy(t *testing.T) {
	e := newEnv(t)
	e.srv.AddMailbox(ffTarget)
	ctx := context.Background()
	src, dst := e.c.Mailbox(testMailbox), e.c.Mailbox(ffTarget)
	for name, it := range ffSource(t, e) {
		t.Run(name, func(t *testing.T) {
			data := readAll(t, src, it.id, mailbox.FormatFullFidelity)
			sid := "ff-" + name
			id, err := dst.CreateItem(ctx, it.folder, mailbox.Payload{Item: mailbox.Item{Class: it.class}, SourceID: sid,
				Format: mailbox.FormatFullFidelity, Body: bytes.NewReader(data), Size: int64(len(data))})
			if err != nil {
				t.Fatalf("CreateItem: %v", err)
			}
			fs, err := dst.Folders(ctx, mailbox.ScopePrimary)
			if err != nil {
				t.Fatal(err)
			}
			var folderID string
			for _, f := range fs {
				if strings.EqualFold(f.Path, map[string]string{"inbox": "Inbox", "calendar": "Calendar", "tasks": "Tasks", "contacts": "Contacts", "notes": "Notes"}[it.folder]) {
					folderID = f.ID
				}
			}
			if got, found, err := dst.FindBySourceID(ctx, folderID, sid); err != nil || !found || got != id {
				t.Errorf("FindBySourceID: %s %v %v, want %s", got, found, err, id)
			}
			var stamped []string
			dst.Stamps(ctx, folderID, func(x mailbox.Item) error {
				if x.SourceID == sid {
					stamped = append(stamped, x.ID)
				}
				return nil
			})
			if !slices.Equal(stamped, []string{id}) {
				t.Errorf("Stamps listed %v for the stamp, want [%s]", stamped, id)
			}
			page, err := dst.Changes(ctx, folderID, "")
			if err != nil {
				t.Fatal(err)
			}
			if !slices.ContainsFunc(page.Changes, func(c mailbox.Change) bool { return c.Item.ID == id && c.Kind == mailbox.ChangeCreated }) {
				t.Errorf("Changes does not list the upload %s: %+v", id, page.Changes)
			}
			format := mailbox.FormatTyped
			if it.class == mailbox.ClassMessage || it.class == mailbox.ClassStickyNote {
				format = mailbox.FormatMIME
			}
			if a, b := readAll(t, src, it.id, format), readAll(t, dst, id, format); !bytes.Equal(a, b) {
				t.Errorf("%s read of the copy differs:\n got %s\nwant %s", format, b, a)
			}
			if a, b := data, readAll(t, dst, id, mailbox.FormatFullFidelity); bytes.Equal(a, b) {
				// The copy's stream holds its stamp, the source's none.
				t.Errorf("the copy's export is the source's: no stamp on it")
			}
		})
	}
	if n := e.srv.MeetingMessagesSent(); n != 0 {
		t.Errorf("the copy sent %d meeting messages", n)
	}
	if n := e.srv.SendAttempts(); n != 0 {
		t.Errorf("the copy made %d send attempts", n)
	}
}

// sideWrites collects the side writes of a call.
type sideWrites struct {
	mu sync.Mutex
	l  []mailbox.SideWrite
}

func (s *sideWrites) ctx() context.Context {
	return mailbox.WithSideWrites(context.Background(), func(w mailbox.SideWrite) { s.mu.Lock(); s.l = append(s.l, w); s.mu.Unlock() })
}

// TestFullFidelityHalfWrittenHidden: an upload whose stamp fails is
// deleted (a reported side write) and never found; an upload whose answer
// is lost leaves an unstamped item that FindBySourceID does not report.
func TestFullFidelityHalfWrittenHidden(t *testing.T) {
	e := newEnv(t)
	e.srv.AddMailbox(ffTarget)
	src, dst := e.c.Mailbox(testMailbox), e.c.Mailbox(ffTarget)
	items := ffSource(t, e)
	data := readAll(t, src, items["series"].id, mailbox.FormatFullFidelity)
	cal := e.srv.AddMailbox(ffTarget).Root("calendar")
	payload := func() mailbox.Payload {
		return mailbox.Payload{Item: mailbox.Item{Class: mailbox.ClassAppointment}, SourceID: "ff-half", Format: mailbox.FormatFullFidelity,
			Body: bytes.NewReader(data), Size: int64(len(data))}
	}

	e.srv.Inject(ewstest.Fault{Op: "UpdateItem", Kind: ewstest.FaultCode, Code: "ErrorAccessDenied"})
	var sw sideWrites
	if _, err := dst.CreateItem(sw.ctx(), "calendar", payload()); !errors.Is(err, mailbox.ErrAccessDenied) {
		t.Fatalf("a failed stamp: %v, want ErrAccessDenied", err)
	}
	if n := len(cal.Items()); n != 0 {
		t.Errorf("after a failed stamp the calendar holds %d items, want the upload deleted", n)
	}
	if len(sw.l) != 2 || !sw.l[0].Started || sw.l[1].Err != nil || sw.l[0].Action != mailbox.SideWriteDeleteIncomplete || sw.l[1].SourceID != "ff-half" {
		t.Errorf("side writes %+v, want the delete reported before and after", sw.l)
	}

	// The answer of the upload is lost: the item is there, unstamped, in
	// staging, not in the calendar, and not reported.
	e.srv.Inject(ewstest.Fault{Op: "UploadItems", Kind: ewstest.FaultDropAfter})
	if _, err := dst.CreateItem(context.Background(), "calendar", payload()); err == nil {
		t.Fatal("an upload whose answer was lost succeeded")
	}
	if n := len(cal.Items()); n != 0 {
		t.Fatalf("the calendar holds %d items after a lost answer, want the upload left in staging", n)
	}
	if st := ffStaging(t, e.srv, ffTarget); st == nil || len(st.Items()) != 1 || st.Items()[0].SourceID != "" {
		t.Fatalf("staging after a lost answer: want one unstamped upload")
	}
	if _, found, err := dst.FindBySourceID(context.Background(), cal.ID(), "ff-half"); found || err != nil {
		t.Errorf("FindBySourceID reports a half-written item: %v %v", found, err)
	}
	// The retry writes a complete, stamped copy.
	id, err := dst.CreateItem(context.Background(), "calendar", payload())
	if err != nil {
		t.Fatal(err)
	}
	if got, found, _ := dst.FindBySourceID(context.Background(), cal.ID(), "ff-half"); !found || got != id {
		t.Errorf("after the retry FindBySourceID: %s %v, want %s", got, found, id)
	}
	if n := e.srv.MeetingMessagesSent(); n != 0 {
		t.Errorf("%d meeting messages sent", n)
	}
}

type failingReader struct{ read *bool }

func (f failingReader) Read([]byte) (int, error) { *f.read = true; return 0, errors.New("read") }

// TestFullFidelityLimitsAndErrors: an item over the upload limit is
// refused before its body is read (or, of unknown size, before anything
// is sent); errors map to the mailbox sentinels.
func TestFullFidelityLimitsAndErrors(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	box := e.c.Mailbox(testMailbox)
	read := false
	_, err := box.CreateItem(ctx, "inbox", mailbox.Payload{Item: mailbox.Item{Class: mailbox.ClassMessage}, SourceID: "big",
		Format: mailbox.FormatFullFidelity, Body: failingReader{&read}, Size: 30 << 20})
	var tl *mailbox.ItemTooLargeError
	if !errors.As(err, &tl) || read || !mailbox.IsPermanent(err) {
		t.Errorf("an item of 30 MB: %v (body read %v), want ItemTooLargeError before reading", err, read)
	}
	_, err = box.CreateItem(ctx, "inbox", mailbox.Payload{Item: mailbox.Item{Class: mailbox.ClassMessage}, SourceID: "big",
		Format: mailbox.FormatFullFidelity, Body: io.LimitReader(zeros{}, 20<<20), Size: -1})
	if !errors.As(err, &tl) || e.srv.Requests("UploadItems") != 0 {
		t.Errorf("an item of unknown size over the limit: %v, %d uploads; want ItemTooLargeError and none sent", err, e.srv.Requests("UploadItems"))
	}
	if _, err := box.OpenItem(ctx, "QUFNa0FESXxub3RoZXJl", mailbox.FormatFullFidelity); !errors.Is(err, mailbox.ErrNotFound) {
		t.Errorf("export of an unknown id: %v, want ErrNotFound", err)
	}
	m := []byte("Subject: not a stream\r\n\r\nx")
	if _, err := box.CreateItem(ctx, "inbox", mailbox.Payload{Item: mailbox.Item{Class: mailbox.ClassMessage}, SourceID: "mime",
		Format: mailbox.FormatFullFidelity, Body: bytes.NewReader(m), Size: int64(len(m))}); err == nil || !mailbox.IsPermanent(err) {
		t.Errorf("MIME uploaded as full fidelity: %v, want a permanent refusal", err)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// TestFullFidelityUpdate: a changed source item replaces its copy in
// place (UploadItems CreateAction Update): same id, new content, still
// found by its stamp, nothing sent.
func TestFullFidelityUpdate(t *testing.T) {
	e := newEnv(t)
	e.srv.AddMailbox(ffTarget)
	ctx := context.Background()
	src, dst := e.c.Mailbox(testMailbox), e.c.Mailbox(ffTarget)
	items := ffSource(t, e)
	series := items["series"].id
	payload := func() mailbox.Payload {
		data := readAll(t, src, series, mailbox.FormatFullFidelity)
		return mailbox.Payload{Item: mailbox.Item{Class: mailbox.ClassAppointment}, SourceID: "ff-upd", Format: mailbox.FormatFullFidelity,
			Body: bytes.NewReader(data), Size: int64(len(data))}
	}
	id, err := dst.CreateItem(ctx, "calendar", payload())
	if err != nil {
		t.Fatal(err)
	}
	if !e.mb.Root("calendar").UpdateEvent(series, func(ev *mailbox.Event) { ev.Location = "Room 5.01" }) {
		t.Fatal("the fixture did not change the series")
	}
	if err := dst.UpdateItem(ctx, id, payload()); err != nil {
		t.Fatalf("UpdateItem: %v", err)
	}
	cal := e.srv.AddMailbox(ffTarget).Root("calendar")
	evs := cal.Events()
	if len(evs) != 1 || evs[0].ID != id || evs[0].Event.Location != "Room 5.01" || evs[0].SourceID != "ff-upd" {
		t.Fatalf("after the update the target holds %+v, want %s at Room 5.01 stamped ff-upd", evs, id)
	}
	if a, b := readAll(t, src, series, mailbox.FormatTyped), readAll(t, dst, id, mailbox.FormatTyped); !bytes.Equal(a, b) {
		t.Errorf("the updated copy reads\n%s\nwant\n%s", b, a)
	}
	// The stamp fails after the upload: the copy keeps its new content and
	// the error says so; nothing is deleted.
	e.srv.Inject(ewstest.Fault{Op: "UpdateItem", Kind: ewstest.FaultCode, Code: "ErrorAccessDenied"})
	if err := dst.UpdateItem(ctx, id, payload()); !errors.Is(err, mailbox.ErrAccessDenied) {
		t.Errorf("a failed stamp after an update: %v", err)
	}
	if n := len(cal.Items()); n != 1 {
		t.Errorf("after a failed stamp the calendar holds %d items, want the copy kept", n)
	}
	if n := e.srv.MeetingMessagesSent(); n != 0 {
		t.Errorf("%d meeting messages sent", n)
	}
}

// TestFullFidelityStreams: a large item goes through both ways as a
// stream (the upload of unknown size through a temp file), and an item in
// Recoverable Items is read.
func TestFullFidelityStreams(t *testing.T) {
	e := newEnv(t)
	e.srv.AddMailbox(ffTarget)
	ctx := context.Background()
	src, dst := e.c.Mailbox(testMailbox), e.c.Mailbox(ffTarget)
	big := append([]byte("Subject: scan\r\nContent-Type: text/plain\r\n\r\n"), bytes.Repeat([]byte("0123456789abcdef\r\n"), 6<<20/18)...)
	id := e.mb.Root("inbox").AddItem(ewstest.Item{MIME: big, Received: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)})
	rc, err := src.OpenItem(ctx, id, mailbox.FormatFullFidelity)
	if err != nil {
		t.Fatal(err)
	}
	nid, err := dst.CreateItem(ctx, "inbox", mailbox.Payload{Item: mailbox.Item{Class: mailbox.ClassMessage}, SourceID: "ff-big",
		Format: mailbox.FormatFullFidelity, Body: rc, Size: -1})
	rc.Close()
	if err != nil {
		t.Fatalf("upload of a large stream: %v", err)
	}
	if got := readAll(t, dst, nid, mailbox.FormatMIME); !bytes.Equal(got, big) {
		t.Errorf("the large item's MIME after the round trip: %d bytes, want %d", len(got), len(big))
	}
	// A stream closed before its end releases the connection.
	rc, err = src.OpenItem(ctx, id, mailbox.FormatFullFidelity)
	if err != nil {
		t.Fatal(err)
	}
	io.CopyN(io.Discard, rc, 100)
	rc.Close()
	del := e.mb.RecoverableFolder("Deletions").AddItem(ewstest.Item{MIME: []byte("Subject: deleted\r\n\r\nx")})
	if b := readAll(t, src, del, mailbox.FormatFullFidelity); len(b) == 0 {
		t.Error("an item in Recoverable Items exported nothing")
	}
}

// TestFullFidelityThrottled: ErrorServerBusy on ExportItems and on
// UploadItems is waited out and retried; the retried upload writes one
// item.
func TestFullFidelityThrottled(t *testing.T) {
	e := newEnv(t)
	e.srv.AddMailbox(ffTarget)
	ctx := context.Background()
	src, dst := e.c.Mailbox(testMailbox), e.c.Mailbox(ffTarget)
	id := e.mb.Root("inbox").AddItem(ewstest.Item{MIME: mime("Busy", 300)})
	e.srv.Inject(ewstest.Fault{Op: "ExportItems", Kind: ewstest.FaultServerBusy, BackOff: time.Millisecond})
	data := readAll(t, src, id, mailbox.FormatFullFidelity)
	e.srv.Inject(ewstest.Fault{Op: "UploadItems", Kind: ewstest.FaultServerBusy, BackOff: time.Millisecond})
	if _, err := dst.CreateItem(ctx, "inbox", mailbox.Payload{Item: mailbox.Item{Class: mailbox.ClassMessage}, SourceID: "ff-busy",
		Format: mailbox.FormatFullFidelity, Body: bytes.NewReader(data), Size: int64(len(data))}); err != nil {
		t.Fatalf("an upload answered ErrorServerBusy once: %v", err)
	}
	if n := len(e.srv.AddMailbox(ffTarget).Root("inbox").Items()); n != 1 {
		t.Errorf("the target inbox holds %d items, want 1", n)
	}
	if e.srv.Requests("ExportItems") != 2 || e.srv.Requests("UploadItems") != 2 {
		t.Errorf("%d exports and %d uploads, want each retried once", e.srv.Requests("ExportItems"), e.srv.Requests("UploadItems"))
	}
}

// TestFullFidelityDialectAndDelete: a stream of another dialect is
// refused before anything is read or sent; DeleteItem removes a meeting
// the tool wrote without a cancellation.
func TestFullFidelityDialectAndDelete(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	box := e.c.Mailbox(testMailbox)
	read := false
	_, err := box.CreateItem(ctx, "inbox", mailbox.Payload{Item: mailbox.Item{Class: mailbox.ClassMessage}, SourceID: "g",
		Format: mailbox.FormatFullFidelity, Dialect: mailbox.DialectGraph, Body: failingReader{&read}, Size: 10})
	if !errors.Is(err, mailbox.ErrUnsupported) || !mailbox.IsPermanent(err) || read || e.srv.Requests("") != 0 {
		t.Errorf("a Graph stream: %v (read %v, %d requests), want a permanent ErrUnsupported before anything", err, read, e.srv.Requests(""))
	}
	var _ mailbox.Deleter = box
	id := e.mb.Root("calendar").AddEvent(mailboxtest.SampleMeeting(testMailbox))
	if err := box.DeleteItem(ctx, id); err != nil {
		t.Fatal(err)
	}
	if n := len(e.mb.Root("calendar").Items()); n != 0 || e.srv.MeetingMessagesSent() != 0 {
		t.Errorf("after DeleteItem the calendar holds %d items, %d meeting messages sent", n, e.srv.MeetingMessagesSent())
	}
	if n := len(e.mb.Root("deleteditems").Items()); n != 0 {
		t.Errorf("DeleteItem moved %d items to Deleted Items, want a hard delete", n)
	}
	if err := box.DeleteItem(ctx, id); !errors.Is(err, mailbox.ErrNotFound) {
		t.Errorf("deleting it again: %v, want ErrNotFound", err)
	}
}

// graphStream is the stream of an item as the Graph fake's exportItems
// would write it: the EWS export of id relabelled with Graph's dialect.
func graphStream(t *testing.T, box *ews.Mailbox, id string) []byte {
	t.Helper()
	fi, err := fakestream.Decode(readAll(t, box, id, mailbox.FormatFullFidelity))
	if err != nil {
		t.Fatal(err)
	}
	fi.Dialect = fakestream.DialectGraph
	data, err := fakestream.Encode(fi)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// declares reports whether caps declare a full-fidelity write of dialect
// into the primary store for kind.
func declares(caps mailbox.Capabilities, kind mailbox.Kind, dialect string) bool {
	return slices.ContainsFunc(caps.Writes, func(p mailbox.Path) bool {
		return p.Store == mailbox.ScopePrimary && p.Kind == kind && p.Format == mailbox.FormatFullFidelity && p.Dialect == dialect
	})
}

// TestFullFidelityForeignDialect: a Graph-dialect stream is refused before
// anything is read or sent, except within the fidelity probe, where the
// server's answer decides (the fake taking or refusing foreign streams);
// after AcceptDialect, every Mailbox of the client declares and takes it,
// and another client does not.
func TestFullFidelityForeignDialect(t *testing.T) {
	e := newEnv(t)
	e.srv.AddMailbox(ffTarget)
	ctx := context.Background()
	src, dst := e.c.Mailbox(testMailbox), e.c.Mailbox(ffTarget)
	id := e.mb.Root("inbox").AddItem(ewstest.Item{MIME: mime("Foreign", 300)})
	data := graphStream(t, src, id)
	payload := func(sid string) mailbox.Payload {
		return mailbox.Payload{Item: mailbox.Item{Class: mailbox.ClassMessage}, SourceID: sid, Format: mailbox.FormatFullFidelity,
			Dialect: mailbox.DialectGraph, Body: bytes.NewReader(data), Size: int64(len(data))}
	}
	inbox := func() int { return len(e.srv.AddMailbox(ffTarget).Root("inbox").Items()) }

	// Outside a probe, before AcceptDialect: refused, nothing read or sent.
	e.srv.AcceptForeignStreams(true)
	before := e.srv.Requests("")
	read := false
	_, err := dst.CreateItem(ctx, "inbox", mailbox.Payload{Item: mailbox.Item{Class: mailbox.ClassMessage}, SourceID: "g0",
		Format: mailbox.FormatFullFidelity, Dialect: mailbox.DialectGraph, Body: failingReader{&read}, Size: 10})
	if !errors.Is(err, mailbox.ErrUnsupported) || !mailbox.IsPermanent(err) || read || e.srv.Requests("") != before {
		t.Fatalf("outside a probe: %v (read %v, %d requests), want a permanent ErrUnsupported before anything", err, read, e.srv.Requests("")-before)
	}
	if declares(dst.Capabilities(), mailbox.KindMail, mailbox.DialectGraph) {
		t.Fatal("Capabilities declare Graph data before AcceptDialect")
	}

	// Within a probe, the server decides: refused by a server that
	// takes ExportItems data only, taken by one that takes foreign data.
	e.srv.AcceptForeignStreams(false)
	pctx := mailbox.WithProbe(ctx)
	if _, err := dst.CreateItem(pctx, "inbox", payload("g1")); err == nil || errors.Is(err, mailbox.ErrUnsupported) || e.srv.Requests("UploadItems") != 1 {
		t.Fatalf("probe, server refusing: %v after %d uploads, want the server's refusal", err, e.srv.Requests("UploadItems"))
	}
	e.srv.AcceptForeignStreams(true)
	pid, err := dst.CreateItem(pctx, "inbox", payload("g2"))
	if err != nil {
		t.Fatalf("probe, server accepting: %v", err)
	}
	if got, ok, err := dst.FindBySourceID(ctx, "inbox", "g2"); err != nil || !ok || got != pid || inbox() != 1 {
		t.Fatalf("the probe's upload: found %v %s (%v), inbox holds %d; want it stamped alone", ok, got, err, inbox())
	}

	// AcceptDialect on one Mailbox switches the client, concurrently
	// with readers of its capabilities.
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() { defer wg.Done(); src.Capabilities(); src.AcceptDialect(mailbox.DialectGraph) }()
	}
	wg.Wait()
	for _, k := range mailbox.Kinds() {
		if !declares(dst.Capabilities(), k, mailbox.DialectGraph) || !declares(dst.Capabilities(), k, mailbox.DialectEWS) {
			t.Errorf("after AcceptDialect, %s: full-fidelity writes of both dialects not declared", k)
		}
	}
	if r, err := mailbox.PlanRoute(mailbox.Capabilities{Reads: []mailbox.Path{{Store: mailbox.ScopePrimary, Kind: mailbox.KindMail,
		Format: mailbox.FormatFullFidelity, Dialect: mailbox.DialectGraph}}}, dst.Capabilities(), mailbox.ScopePrimary, mailbox.ScopePrimary, mailbox.KindMail); err != nil || r.Format != mailbox.FormatFullFidelity {
		t.Errorf("a Graph source's mail plans as %+v (%v), want full fidelity", r, err)
	}
	nid, err := dst.CreateItem(ctx, "inbox", payload("g3"))
	if err != nil {
		t.Fatalf("after AcceptDialect: %v", err)
	}
	if err := dst.UpdateItem(ctx, nid, payload("g3")); err != nil {
		t.Fatalf("update after AcceptDialect: %v", err)
	}
	if inbox() != 2 {
		t.Errorf("the inbox holds %d items, want 2", inbox())
	}
	other := e.client(t, nil).Mailbox(ffTarget)
	if declares(other.Capabilities(), mailbox.KindMail, mailbox.DialectGraph) {
		t.Error("another client declares Graph data")
	}
	if _, err := other.CreateItem(ctx, "inbox", payload("g4")); !errors.Is(err, mailbox.ErrUnsupported) {
		t.Errorf("another client: %v, want ErrUnsupported", err)
	}
}
