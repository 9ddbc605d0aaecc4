package graphmail_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/graphmail"
	"github.com/exmigrate/exmigrate/graphmail/graphtest"
	"github.com/exmigrate/exmigrate/internal/fakestream"
	"github.com/exmigrate/exmigrate/mailbox"
)

const bob = "bob@contoso.example"

// ieRoles are the application permissions of the import/export API.
var ieRoles = []string{"User.Read.All", "MailboxFolder.Read.All", "MailboxItem.Read.All", "MailboxItem.ImportExport.All"}

func newIELab(t *testing.T, log *slog.Logger, edit func(*graphmail.Config)) *lab {
	t.Helper()
	srv := graphtest.NewServer()
	srv.AddApp(tenantID, clientID, secret, append(ieRoles, allRoles...)...)
	l := &lab{srv: srv, ep: srv.StartTLS(t)}
	l.c = l.client(t, func(c *graphmail.Config) {
		c.FullFidelity = true
		if log != nil {
			c.Logger = log
		}
		if edit != nil {
			edit(c)
		}
	})
	return l
}

func ffPayload(r io.Reader) mailbox.Payload {
	return mailbox.Payload{Item: mailbox.Item{Subject: "ff"}, Format: mailbox.FormatFullFidelity, Body: r, Size: -1}
}

// ffFolder is the import/export folder of a path.
func ffFolder(t *testing.T, mb *graphmail.Mailbox, path string) string {
	t.Helper()
	fs, err := mb.FullFidelityFolders(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		if f.Path == path {
			return f.ID
		}
	}
	t.Fatalf("no import/export folder %q", path)
	return ""
}

// copyFolder exports every item of a folder of src and imports it into
// dstFolder of dst, through graphmail's OpenItem and CreateItem.
func copyFolder(t *testing.T, src, dst *graphmail.Mailbox, path, dstFolder string) int {
	t.Helper()
	n := 0
	err := src.FullFidelityItems(ctxT(t), ffFolder(t, src, path), func(it graphmail.FullFidelityItem) error {
		rc, err := src.OpenItem(ctxT(t), it.ID, mailbox.FormatFullFidelity)
		if err != nil {
			return err
		}
		defer rc.Close()
		if _, err := dst.CreateItem(ctxT(t), dstFolder, ffPayload(rc)); err != nil {
			return err
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatalf("copy %s: %v", path, err)
	}
	return n
}

// stored is v's JSON without the fields a copy does not keep (ids,
// creation and change times).
func stored(t *testing.T, v any, drop ...string) string {
	t.Helper()
	b, _ := json.Marshal(v)
	var m any
	_ = json.Unmarshal(b, &m)
	var strip func(any)
	strip = func(x any) {
		switch x := x.(type) {
		case map[string]any:
			for _, d := range drop {
				delete(x, d)
			}
			for _, v := range x {
				strip(v)
			}
		case []any:
			for _, e := range x {
				strip(e)
			}
		}
	}
	strip(m)
	out, _ := json.Marshal(m)
	return string(out)
}

// Every kind goes from one mailbox to another through exportItems and an
// import session, and the fake's own stores hold the same items after,
// with no meeting message sent.
func TestFullFidelityCopyEveryKind(t *testing.T) {
	l := newIELab(t, nil, nil)
	a := l.srv.AddMailbox(alice, mailbox.TypeUser)
	b := l.srv.AddMailbox(bob, mailbox.TypeUser)
	day := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	a.AddMessage("Inbox", graphtest.Message{Subject: "report", Body: "<p>hi</p>", BodyType: "html", From: "carol@fabrikam.example", To: []string{alice},
		Importance: "high", Categories: []string{"Blue"}, FlagStatus: "flagged", IsRead: true, Received: day, Sent: day.Add(-time.Minute),
		ExtendedProperties: map[string]string{"String {00020329-0000-0000-c000-000000000046} Name Custom": "kept"},
		Attachments:        []graphtest.Attachment{{Name: "a.txt", ContentType: "text/plain", Size: 3, Data: []byte("abc")}}})
	a.AddEvent("", mailbox.Event{Subject: "review", Start: day, End: day.Add(time.Hour), IsMeeting: true, Organizer: &mailbox.Attendee{Address: alice},
		Attendees:  []mailbox.Attendee{{Address: bob, Type: "Required"}, {Address: "dan@fabrikam.example", Type: "Optional"}},
		Recurrence: &mailbox.Recurrence{Pattern: "weekly", Interval: 1, DaysOfWeek: []string{"monday"}, Range: "numbered", StartDate: "2026-03-02", Occurrences: 4}})
	a.AddContact("", mailbox.Contact{DisplayName: "Eve Example", GivenName: "Eve", Surname: "Example", CompanyName: "Fabrikam"})
	a.AddTask("", mailbox.Task{Subject: "file it", Status: "InProgress", Importance: mailbox.ImportanceHigh})
	a.AddMessage("Notes", graphtest.Message{Subject: "sticky", Body: "remember", ExtendedProperties: map[string]string{"String 0x001A": mailbox.ClassStickyNote}})
	b.Folder("Notes")

	src, dst := l.c.Mailbox(alice), l.c.Mailbox(bob)
	caps := dst.Capabilities()
	for _, k := range []mailbox.Kind{mailbox.KindMail, mailbox.KindCalendar, mailbox.KindContacts, mailbox.KindTasks, mailbox.KindNotes} {
		var r, w bool
		for _, p := range caps.Reader(mailbox.ScopePrimary, k) {
			r = r || p.Format == mailbox.FormatFullFidelity && p.Dialect == mailbox.DialectGraph
		}
		for _, p := range caps.Writer(mailbox.ScopePrimary, k) {
			w = w || p.Format == mailbox.FormatFullFidelity && p.Dialect == mailbox.DialectGraph
			if p.Format == mailbox.FormatFullFidelity && p.Dialect == mailbox.DialectEWS {
				t.Errorf("%s: EWS dialect declared without AcceptEWSStreams", k)
			}
		}
		if !r || !w {
			t.Errorf("%s: full-fidelity read %v, write %v", k, r, w)
		}
	}
	if route, gap := mailbox.PlanRoute(caps, caps, mailbox.ScopePrimary, mailbox.ScopePrimary, mailbox.KindCalendar); gap != nil || route.Format != mailbox.FormatFullFidelity {
		t.Errorf("graph to graph calendar: %+v %v", route, gap)
	}

	// Mail goes into the folder Folders named (its id of the mail API,
	// mapped by path); the others into import/export folder ids.
	folders, err := dst.Folders(ctxT(t), mailbox.ScopePrimary)
	if err != nil {
		t.Fatal(err)
	}
	var inbox string
	for _, f := range folders {
		if f.Path == "Inbox" {
			inbox = f.ID
		}
	}
	if n := copyFolder(t, src, dst, "Inbox", inbox); n != 1 {
		t.Fatalf("copied %d messages", n)
	}
	for _, path := range []string{"Calendar", "Contacts", "Tasks", "Notes"} {
		if n := copyFolder(t, src, dst, path, ffFolder(t, dst, path)); n != 1 {
			t.Fatalf("copied %d items of %s", n, path)
		}
	}

	if got, want := stored(t, b.Messages("Inbox"), "ID", "FolderID", "Created", "Modified"), stored(t, a.Messages("Inbox"), "ID", "FolderID", "Created", "Modified"); got != want {
		t.Errorf("messages differ:\n got %s\nwant %s", got, want)
	}
	if got, want := stored(t, b.Messages("Notes"), "ID", "FolderID", "Created", "Modified"), stored(t, a.Messages("Notes"), "ID", "FolderID", "Created", "Modified"); got != want || !strings.Contains(got, mailbox.ClassStickyNote) {
		t.Errorf("notes differ:\n got %s\nwant %s", got, want)
	}
	if got, want := stored(t, b.Events(""), "ID"), stored(t, a.Events(""), "ID"); got != want {
		t.Errorf("events differ:\n got %s\nwant %s", got, want)
	}
	if evs := b.Events(""); len(evs) != 1 || len(evs[0].Event.Attendees) != 2 {
		t.Errorf("the meeting lost its attendees: %+v", evs)
	}
	if got, want := stored(t, b.Contacts(b.ContactsFolderID()), "ID", "FolderID", "Created", "Modified"), stored(t, a.Contacts(a.ContactsFolderID()), "ID", "FolderID", "Created", "Modified"); got != want {
		t.Errorf("contacts differ:\n got %s\nwant %s", got, want)
	}
	if got, want := stored(t, b.Tasks(""), "ID"), stored(t, a.Tasks(""), "ID"); got != want {
		t.Errorf("tasks differ:\n got %s\nwant %s", got, want)
	}
	if n := l.srv.MeetingMessagesSent(); n != 0 {
		t.Errorf("%d meeting messages sent", n)
	}
	if l.srv.Imports() != 5 {
		t.Errorf("%d imports", l.srv.Imports())
	}
	// An imported item carries no stamp: FindBySourceID does not find it.
	if _, found, err := dst.FindBySourceID(ctxT(t), inbox, "src-1"); err != nil || found {
		t.Errorf("FindBySourceID after an import: %v %v", found, err)
	}
}

// Off by default: no full-fidelity path, and a full-fidelity read or
// write is refused without a request.
func TestFullFidelityOffByDefault(t *testing.T) {
	l := newLab(t)
	l.srv.AddMailbox(alice, mailbox.TypeUser)
	mb := l.c.Mailbox(alice)
	for _, p := range append(mb.Capabilities().Reads, mb.Capabilities().Writes...) {
		if p.Format == mailbox.FormatFullFidelity {
			t.Errorf("full fidelity declared without the option: %+v", p)
		}
	}
	before := l.srv.Requests()
	if _, err := mb.OpenItem(ctxT(t), "x", mailbox.FormatFullFidelity); !errors.Is(err, mailbox.ErrUnsupported) {
		t.Errorf("OpenItem: %v", err)
	}
	if _, err := mb.CreateItem(ctxT(t), "x", ffPayload(strings.NewReader("x"))); !errors.Is(err, mailbox.ErrUnsupported) {
		t.Errorf("CreateItem: %v", err)
	}
	if l.srv.Requests() != before {
		t.Errorf("requests sent with full fidelity off")
	}
	if _, err := graphmail.NewClient(ctxT(t), graphmail.Config{Auth: graphmail.AuthClientSecret, TenantID: "t", ClientID: "c", ClientSecret: "s", Cloud: graphmail.CloudUSGov, FullFidelity: true}); err == nil {
		t.Errorf("FullFidelity accepted in usgov")
	}
}

// The lab's switch: an EWS-dialect stream is refused by default with a
// clear error, and imported once the fake accepts EWS streams.
func TestFullFidelityEWSStreams(t *testing.T) {
	l := newIELab(t, nil, func(c *graphmail.Config) { c.AcceptEWSStreams = true })
	b := l.srv.AddMailbox(bob, mailbox.TypeUser)
	dst := l.c.Mailbox(bob)
	var ews bool
	for _, p := range dst.Capabilities().Writer(mailbox.ScopePrimary, mailbox.KindMail) {
		ews = ews || p.Format == mailbox.FormatFullFidelity && p.Dialect == mailbox.DialectEWS
	}
	if !ews {
		t.Errorf("AcceptEWSStreams declares no EWS-dialect write")
	}
	stream := graphtest.EWSStream(mailbox.ClassMessage, "from exchange 2016", []byte("Subject: from exchange 2016\r\n\r\nhi\r\n"))
	inbox := ffFolder(t, dst, "Inbox")
	ewsPayload := func() mailbox.Payload {
		p := ffPayload(bytes.NewReader(stream))
		p.Dialect = mailbox.DialectEWS
		return p
	}
	// A client without AcceptEWSStreams refuses an EWS-dialect payload
	// before any request.
	plain := l.client(t, func(c *graphmail.Config) { c.FullFidelity = true }).Mailbox(bob)
	before := l.srv.Requests()
	if _, err := plain.CreateItem(ctxT(t), inbox, ewsPayload()); !errors.Is(err, mailbox.ErrUnsupported) || !mailbox.IsPermanent(err) || l.srv.Requests() != before {
		t.Errorf("EWS dialect without AcceptEWSStreams: %v (%d requests)", err, l.srv.Requests()-before)
	}
	_, err := dst.CreateItem(ctxT(t), inbox, ewsPayload())
	if err == nil || !errors.Is(err, mailbox.ErrItemRejected) || !mailbox.IsPermanent(err) || !strings.Contains(err.Error(), "not exported by Microsoft Graph") {
		t.Fatalf("EWS stream into a fake that refuses them: %v", err)
	}
	if n := len(b.Messages("Inbox")); n != 0 {
		t.Fatalf("%d messages after a refused import", n)
	}
	l.srv.AcceptEWSStreams(true)
	if _, err := dst.CreateItem(ctxT(t), inbox, ewsPayload()); err != nil {
		t.Fatalf("EWS stream accepted: %v", err)
	}
	if ms := b.Messages("Inbox"); len(ms) != 1 || ms[0].Subject != "from exchange 2016" {
		t.Errorf("imported: %+v", ms)
	}
}

// An expired import session is renewed, and the import URL's secret is
// in no log line and no error.
func TestImportSessionRenewedAndSecret(t *testing.T) {
	var logged bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelDebug}))
	l := newIELab(t, log, nil)
	a := l.srv.AddMailbox(alice, mailbox.TypeUser)
	l.srv.AddMailbox(bob, mailbox.TypeUser)
	id := a.AddMessage("Inbox", graphtest.Message{Subject: "one"})
	src, dst := l.c.Mailbox(alice), l.c.Mailbox(bob)
	ieID := a.ImportExportItemID(id)
	open := func() io.Reader {
		rc, err := src.OpenItem(ctxT(t), ieID, mailbox.FormatFullFidelity)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(rc)
		return bytes.NewReader(data)
	}
	inbox := ffFolder(t, dst, "Inbox")
	var errs []error
	if _, err := dst.CreateItem(ctxT(t), inbox, ffPayload(open())); err != nil {
		t.Fatal(err)
	}
	l.srv.ExpireImportSessions()
	if _, err := dst.CreateItem(ctxT(t), inbox, ffPayload(open())); err != nil {
		t.Fatalf("import after the session expired: %v", err)
	}
	if n := len(l.srv.ImportTokens()); n != 2 {
		t.Errorf("%d import sessions, want a renewal", n)
	}
	// One session serves many imports.
	if _, err := dst.CreateItem(ctxT(t), inbox, ffPayload(open())); err != nil {
		t.Fatal(err)
	}
	if n := len(l.srv.ImportTokens()); n != 2 {
		t.Errorf("%d import sessions after a third import", n)
	}
	// Errors from the import URL: a message into a calendar, a stream
	// that is none.
	_, err := dst.CreateItem(ctxT(t), ffFolder(t, dst, "Calendar"), ffPayload(open()))
	errs = append(errs, err)
	_, err = dst.CreateItem(ctxT(t), inbox, ffPayload(strings.NewReader("not a stream")))
	errs = append(errs, err)
	for _, err := range errs[:2] {
		if err == nil {
			t.Fatalf("a refused import succeeded")
		}
	}
	// An answer that echoes the URL, and dropped connections to it.
	l.srv.Inject(graphtest.Fault{Kind: graphtest.FaultAnswer, Count: 1, Path: "/import/", Status: 400, Body: `{"error":{"code":"BadRequest","message":"bad request to ` + graphtest.EchoURL + `"}}`})
	_, err = dst.CreateItem(ctxT(t), inbox, ffPayload(open()))
	errs = append(errs, err)
	// A 200 that is no JSON answer and echoes the URL.
	l.srv.Inject(graphtest.Fault{Kind: graphtest.FaultAnswer, Count: 1, Path: "/import/", Status: 200, ContentType: "text/html", Body: "<html>proxy page for " + graphtest.EchoURL + "</html>"})
	_, err = dst.CreateItem(ctxT(t), inbox, ffPayload(open()))
	errs = append(errs, err)
	l.srv.Inject(graphtest.Fault{Kind: graphtest.FaultDrop, Count: 100, Path: "/import/"})
	_, err = dst.CreateItem(ctxT(t), inbox, ffPayload(open()))
	errs = append(errs, err)
	for i, err := range errs {
		if err == nil {
			t.Errorf("failure %d: no error", i)
		}
	}
	if len(l.srv.ImportTokens()) == 0 {
		t.Fatal("no import tokens")
	}
	for _, tok := range l.srv.ImportTokens() {
		if strings.Contains(logged.String(), tok) {
			t.Errorf("the log holds an import token")
		}
		for _, err := range errs {
			if err != nil && strings.Contains(err.Error(), tok) {
				t.Errorf("an error holds an import token: %v", err)
			}
		}
	}
	if l.srv.MeetingMessagesSent() != 0 {
		t.Errorf("meeting messages sent")
	}
}

// ExportItems asks 20 ids a request at most.
func TestExportItemsBatches(t *testing.T) {
	l := newIELab(t, nil, nil)
	a := l.srv.AddMailbox(alice, mailbox.TypeUser)
	var ids []string
	for i := range 25 {
		ids = append(ids, a.ImportExportItemID(a.AddMessage("Inbox", graphtest.Message{Subject: "m" + string(rune('a'+i))})))
	}
	mb := l.c.Mailbox(alice)
	if _, err := mb.MailboxID(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	before := l.srv.Requests()
	got, err := mb.ExportItems(ctxT(t), append(ids, a.FolderID("Inbox")))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 26 || l.srv.Requests()-before != 2 {
		t.Fatalf("%d items in %d requests", len(got), l.srv.Requests()-before)
	}
	for i, it := range got[:25] {
		if it.Err != nil || it.ItemID != ids[i] || len(it.Data) == 0 {
			t.Errorf("item %d: %+v", i, it)
		}
	}
	// A mail API id is no import/export id.
	if !errors.Is(got[25].Err, mailbox.ErrUnsupported) {
		t.Errorf("mail API id: %v", got[25].Err)
	}
}

// The stopgap: items listed through the mail, calendar and contacts APIs
// are exported by their ids, mapped by folder path and creation time; an
// ambiguous match is refused, never guessed.
func TestFullFidelityReadByMailAPIIDs(t *testing.T) {
	l := newIELab(t, nil, nil)
	a := l.srv.AddMailbox(alice, mailbox.TypeUser)
	b := l.srv.AddMailbox(bob, mailbox.TypeUser)
	t0 := time.Date(2025, 5, 1, 8, 0, 0, 0, time.UTC)
	for i, s := range []string{"first", "second", "third"} {
		a.AddMessage("Inbox/Projects", graphtest.Message{Subject: s, Created: t0.Add(time.Duration(i) * time.Second), Received: t0})
	}
	a.AddContact("", mailbox.Contact{DisplayName: "Zed"})
	a.AddEvent("", mailbox.Event{Subject: "standup", Start: t0, End: t0.Add(15 * time.Minute), IsMeeting: true, Organizer: &mailbox.Attendee{Address: alice},
		Attendees: []mailbox.Attendee{{Address: bob, Type: "Required"}}})
	a.AddTask("", mailbox.Task{Subject: "todo"})
	src, dst := l.c.Mailbox(alice), l.c.Mailbox(bob)
	folders, err := src.Folders(ctxT(t), mailbox.ScopePrimary)
	if err != nil {
		t.Fatal(err)
	}
	dstFolders := func(path string) string {
		fs, err := dst.Folders(ctxT(t), mailbox.ScopePrimary)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fs {
			if f.Path == path {
				return f.ID
			}
		}
		return ""
	}
	if _, err := dst.CreateFolder(ctxT(t), dstFolders("Inbox"), "Projects", mailbox.ClassMailFolder); err != nil {
		t.Fatal(err)
	}
	for _, f := range folders {
		if f.Path != "Inbox/Projects" && f.Path != "Contacts" && f.Path != "Calendar" && f.Path != "Tasks" {
			continue
		}
		target := dstFolders(f.Path)
		err := src.Items(ctxT(t), f.ID, func(it mailbox.Item) error {
			rc, err := src.OpenItem(ctxT(t), it.ID, mailbox.FormatFullFidelity)
			if err != nil {
				return err
			}
			defer rc.Close()
			_, err = dst.CreateItem(ctxT(t), target, ffPayload(rc))
			return err
		})
		if err != nil {
			t.Fatalf("%s: %v", f.Path, err)
		}
	}
	drop := []string{"ID", "FolderID", "Created", "Modified"}
	if got, want := stored(t, b.Messages("Inbox/Projects"), drop...), stored(t, a.Messages("Inbox/Projects"), drop...); got != want || len(b.Messages("Inbox/Projects")) != 3 {
		t.Errorf("messages differ:\n got %s\nwant %s", got, want)
	}
	if got, want := stored(t, b.Contacts(b.ContactsFolderID()), drop...), stored(t, a.Contacts(a.ContactsFolderID()), drop...); got != want {
		t.Errorf("contacts differ:\n got %s\nwant %s", got, want)
	}
	if got, want := stored(t, b.Events(""), "ID"), stored(t, a.Events(""), "ID"); got != want || len(b.Events("")) != 1 {
		t.Errorf("events differ:\n got %s\nwant %s", got, want)
	}
	if got, want := stored(t, b.Tasks(""), "ID"), stored(t, a.Tasks(""), "ID"); got != want || len(b.Tasks("")) != 1 {
		t.Errorf("tasks differ:\n got %s\nwant %s", got, want)
	}
	if l.srv.MeetingMessagesSent() != 0 {
		t.Errorf("%d meeting messages sent", l.srv.MeetingMessagesSent())
	}
	// Two items created in the same second are told apart by their search
	// keys, which both APIs read.
	twins := map[string]string{
		a.AddMessage("Inbox", graphtest.Message{Subject: "twin 1", Created: t0}):                             "twin 1",
		a.AddMessage("Inbox", graphtest.Message{Subject: "twin 2", Created: t0.Add(100 * time.Millisecond)}): "twin 2",
	}
	if _, err := src.Folders(ctxT(t), mailbox.ScopePrimary); err != nil {
		t.Fatal(err)
	}
	for id, subject := range twins {
		rc, err := src.OpenItem(ctxT(t), id, mailbox.FormatFullFidelity)
		if err != nil {
			t.Fatalf("%s created in the same second as its twin: %v", subject, err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if it, err := fakestream.Decode(data); err != nil || it.Subject != subject {
			t.Errorf("%s exported as %q (%v)", subject, it.Subject, err)
		}
	}
}

// exportOne adds alice and bob, exports one message of alice's full
// fidelity and answers bob's Mailbox, his Inbox and the exported data.
func exportOne(t *testing.T, l *lab) (dst *graphmail.Mailbox, inbox string, data []byte) {
	t.Helper()
	a := l.srv.AddMailbox(alice, mailbox.TypeUser)
	l.srv.AddMailbox(bob, mailbox.TypeUser)
	id := a.ImportExportItemID(a.AddMessage("Inbox", graphtest.Message{Subject: "one"}))
	src, dst := l.c.Mailbox(alice), l.c.Mailbox(bob)
	rc, err := src.OpenItem(ctxT(t), id, mailbox.FormatFullFidelity)
	if err != nil {
		t.Fatal(err)
	}
	data, _ = io.ReadAll(rc)
	return dst, ffFolder(t, dst, "Inbox"), data
}

// The import URL is under the mailbox's scheduler: a 429 there is waited
// out and retried, and the requests count against the fake's budget.
func TestImportThrottledAndCounted(t *testing.T) {
	l := newIELab(t, nil, nil)
	dst, inbox, data := exportOne(t, l)
	if _, err := dst.MailboxID(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	before, _ := l.srv.UsedBudget(clientID, bob)
	l.srv.Inject(graphtest.Fault{Kind: graphtest.FaultThrottle, Count: 1, Path: "/import/", RetryAfter: "0.3"})
	start := time.Now()
	if _, err := dst.CreateItem(ctxT(t), inbox, ffPayload(bytes.NewReader(data))); err != nil {
		t.Fatalf("import after a 429: %v", err)
	}
	if time.Since(start) < 300*time.Millisecond || l.srv.Throttled() != 1 || l.srv.EarlyRetries() != 0 {
		t.Errorf("429 on the import URL: took %v, throttled %d, early retries %d", time.Since(start), l.srv.Throttled(), l.srv.EarlyRetries())
	}
	// createImportSession and the import count; so does the 429'd try.
	if after, _ := l.srv.UsedBudget(clientID, bob); after-before < 2 {
		t.Errorf("budget %d -> %d", before, after)
	}
	if dst.Capabilities().Backend != "graph" || len(l.srv.Mailbox(bob).Messages("Inbox")) != 1 {
		t.Errorf("not imported")
	}
}

// The import/export delta: a first round names every item, a later one
// what changed and what went, and a forgotten state is ErrSyncStateInvalid.
func TestFullFidelityChanges(t *testing.T) {
	l := newIELab(t, nil, nil)
	a := l.srv.AddMailbox(alice, mailbox.TypeUser)
	var ids []string
	for i := range 3 {
		ids = append(ids, a.AddMessage("Inbox", graphtest.Message{Subject: "m" + string(rune('0'+i))}))
	}
	mb := l.c.Mailbox(alice)
	inbox := ffFolder(t, mb, "Inbox")
	round := func(state string) (map[mailbox.ChangeKind][]string, string) {
		got := map[mailbox.ChangeKind][]string{}
		for {
			p, err := mb.FullFidelityChanges(ctxT(t), inbox, state)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range p.Changes {
				got[c.Kind] = append(got[c.Kind], c.Item.ID)
			}
			state = p.State
			if !p.More {
				return got, state
			}
		}
	}
	got, state := round("")
	if len(got[mailbox.ChangeCreated]) != 3 || got[mailbox.ChangeCreated][0] != a.ImportExportItemID(ids[0]) {
		t.Fatalf("first round: %v", got)
	}
	a.DeleteMessage(ids[1])
	added := a.AddMessage("Inbox", graphtest.Message{Subject: "new"})
	got, state = round(state)
	if len(got[mailbox.ChangeCreated]) != 1 || got[mailbox.ChangeCreated][0] != a.ImportExportItemID(added) ||
		len(got[mailbox.ChangeDeleted]) != 1 || a.APIItemID(got[mailbox.ChangeDeleted][0]) != ids[1] {
		t.Errorf("second round: %v", got)
	}
	l.srv.ExpireDeltaTokens()
	if _, err := mb.FullFidelityChanges(ctxT(t), inbox, state); !errors.Is(err, mailbox.ErrSyncStateInvalid) {
		t.Errorf("forgotten state: %v", err)
	}
}

// Workers importing into one mailbox at once share one import session.
func TestImportSessionShared(t *testing.T) {
	l := newIELab(t, nil, nil)
	dst, inbox, data := exportOne(t, l)
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			_, err := dst.CreateItem(ctxT(t), inbox, ffPayload(bytes.NewReader(data)))
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if n := len(l.srv.ImportTokens()); n != 1 {
		t.Errorf("%d import sessions for 8 imports at once", n)
	}
	if n := len(l.srv.Mailbox(bob).Messages("Inbox")); n != 8 {
		t.Errorf("%d messages imported", n)
	}
}

// Full fidelity is declared only with the import/export API's roles.
func TestFullFidelityNeedsItsRoles(t *testing.T) {
	srv := graphtest.NewServer()
	srv.AddApp(tenantID, clientID, secret, append([]string{"User.Read.All", "MailboxItem.ImportExport.All"}, allRoles...)...)
	l := &lab{srv: srv, ep: srv.StartTLS(t)}
	c := l.client(t, func(c *graphmail.Config) { c.FullFidelity = true })
	srv.AddMailbox(alice, mailbox.TypeUser)
	mb := c.Mailbox(alice)
	if _, _, err := c.Roles(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	caps := mb.Capabilities()
	for _, p := range append(caps.Reads, caps.Writes...) {
		if p.Format == mailbox.FormatFullFidelity {
			t.Errorf("full fidelity declared without MailboxFolder.Read.All: %+v", p)
		}
	}
	if why := caps.Unsupported[mailbox.StoreKind{Store: mailbox.ScopePrimary, Kind: mailbox.KindNotes}]; !strings.Contains(why, "MailboxFolder.Read.All") {
		t.Errorf("notes: %q", why)
	}
}

// A fidelity probe's verdict (mailbox.DialectAccepter) turns EWS streams
// on for every mailbox of the client, as AcceptEWSStreams does.
func TestAcceptDialectAfterProbe(t *testing.T) {
	l := newIELab(t, nil, nil)
	l.srv.AddMailbox(alice, mailbox.TypeUser)
	b := l.srv.AddMailbox(bob, mailbox.TypeUser)
	l.srv.AcceptEWSStreams(true)
	declares := func(mb *graphmail.Mailbox) bool {
		for _, p := range mb.Capabilities().Writer(mailbox.ScopePrimary, mailbox.KindMail) {
			if p.Format == mailbox.FormatFullFidelity && p.Dialect == mailbox.DialectEWS {
				return true
			}
		}
		return false
	}
	dst := l.c.Mailbox(bob)
	p := ffPayload(bytes.NewReader(graphtest.EWSStream(mailbox.ClassMessage, "probed", []byte("Subject: probed\r\n\r\nhi\r\n"))))
	p.Dialect = mailbox.DialectEWS
	inbox := ffFolder(t, dst, "Inbox")
	if _, err := dst.CreateItem(ctxT(t), inbox, p); !errors.Is(err, mailbox.ErrUnsupported) || declares(dst) {
		t.Fatalf("before the verdict: %v, declares %v", err, declares(dst))
	}
	l.c.Mailbox(alice).AcceptDialect(mailbox.DialectGraph) // not another service's: nothing changes
	if declares(dst) {
		t.Fatal("AcceptDialect of Graph's own dialect turned EWS streams on")
	}
	l.c.Mailbox(alice).AcceptDialect(mailbox.DialectEWS)
	p.Body = bytes.NewReader(graphtest.EWSStream(mailbox.ClassMessage, "probed", []byte("Subject: probed\r\n\r\nhi\r\n")))
	if _, err := dst.CreateItem(ctxT(t), inbox, p); err != nil || !declares(dst) || len(b.Messages("Inbox")) != 1 {
		t.Errorf("after the verdict: %v, declares %v, %d imported", err, declares(dst), len(b.Messages("Inbox")))
	}
	// Without FullFidelity there is no import to take it.
	plain := l.client(t, nil).Mailbox(bob)
	plain.AcceptDialect(mailbox.DialectEWS)
	if declares(plain) {
		t.Error("a client without FullFidelity declares EWS imports")
	}
}
