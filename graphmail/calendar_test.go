package graphmail_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/graphmail"
	"github.com/exmigrate/exmigrate/graphmail/graphtest"
	"github.com/exmigrate/exmigrate/mailbox"
	"github.com/exmigrate/exmigrate/mailbox/mailboxtest"
)

// defaultFolder is the id of the well-known folder of a mailbox.
func defaultFolder(t *testing.T, mb *graphmail.Mailbox, wk mailbox.WellKnown) string {
	t.Helper()
	fs, err := mb.Folders(ctxT(t), mailbox.ScopePrimary)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		if f.WellKnown == wk {
			return f.ID
		}
	}
	t.Fatalf("no %s folder in %+v", wk, fs)
	return ""
}

type observed struct {
	mu     sync.Mutex
	losses []mailbox.Loss
	sides  []mailbox.SideWrite
}

func (o *observed) ctx(ctx context.Context) context.Context {
	ctx = mailbox.WithLosses(ctx, func(l mailbox.Loss) { o.mu.Lock(); o.losses = append(o.losses, l); o.mu.Unlock() })
	return mailbox.WithSideWrites(ctx, func(w mailbox.SideWrite) { o.mu.Lock(); o.sides = append(o.sides, w); o.mu.Unlock() })
}

// readBack opens an item in the typed format and decodes it with decode,
// as the engine would read it; a failure ends the test.
func readBack[T any](t *testing.T, mb *graphmail.Mailbox, id string, decode func(io.Reader) (T, error)) T {
	t.Helper()
	rc, err := mb.OpenItem(ctxT(t), id, mailbox.FormatTyped)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	v, err := decode(rc)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func typedPayload(class, src string, body []byte) mailbox.Payload {
	return mailbox.Payload{Item: mailbox.Item{Class: class}, SourceID: src, Format: mailbox.FormatTyped, Body: bytes.NewReader(body), Size: int64(len(body))}
}

// The fake is as Graph: an event created with attendees (here through
// msgraph-sdk-go's own builders) mails each of them a meeting request.
// Without this a zero count below would prove nothing.
func TestFakeSendsInvitations(t *testing.T) {
	l := newLab(t)
	l.srv.AddMailbox(alice, mailbox.TypeUser)
	bob := l.srv.AddMailbox("bob@contoso.example", mailbox.TypeUser)
	mb := l.c.Mailbox(alice)
	id, err := graphmail.PostEventWithSDK(ctxT(t), mb, "Planning", time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC),
		[]string{"bob@contoso.example", "someone@fabrikam.example"})
	if err != nil {
		t.Fatal(err)
	}
	if got := l.srv.MeetingMessagesSent(); got != 2 {
		t.Errorf("MeetingMessagesSent = %d after an event with 2 attendees was created, want 2", got)
	}
	if in := bob.Messages("Inbox"); len(in) != 1 || in[0].Subject != "Planning" {
		t.Errorf("bob's Inbox holds %+v, want the meeting request", in)
	}
	// graphmail sees it as Graph serves it: an eventMessage.
	var classes []string
	err = l.c.Mailbox("bob@contoso.example").Items(ctxT(t), bob.FolderID("Inbox"), func(it mailbox.Item) error {
		classes = append(classes, it.Class)
		return nil
	})
	if err != nil || len(classes) != 1 || classes[0] != mailbox.ClassMeeting {
		t.Errorf("bob's Inbox lists classes %v (%v), want [%s]", classes, err, mailbox.ClassMeeting)
	}
	if sent := l.srv.Mailbox(alice).SentItems(); len(sent) != 1 {
		t.Errorf("alice's Sent Items hold %d messages, want the request's copy", len(sent))
	}
	if evs := l.srv.Mailbox(alice).Events(""); len(evs) != 1 || evs[0].ID != id || len(evs[0].Event.Attendees) != 2 {
		t.Errorf("the fake holds %+v", evs)
	}
}

// graphmail writes a meeting series, updates it and applies its
// exceptions and cancellations without one meeting message: the fake,
// which sends them for any event with attendees, counts none, and holds
// an appointment without attendees whose body names them.
func TestMeetingWrittenWithoutSending(t *testing.T) {
	l := newLab(t)
	l.srv.AddMailbox(alice, mailbox.TypeUser)
	want := mailboxtest.SampleMeeting(alice)
	var people []*graphtest.MailboxFixture
	for _, a := range want.Attendees {
		people = append(people, l.srv.AddMailbox(a.Address, mailbox.TypeUser))
	}
	mb := l.c.Mailbox(alice)
	cal := defaultFolder(t, mb, mailbox.CalendarFolder)
	var obs observed
	body, err := mailbox.EncodeEvent(want)
	if err != nil {
		t.Fatal(err)
	}
	id, err := mb.CreateItem(obs.ctx(ctxT(t)), cal, typedPayload(mailbox.ClassAppointment, "src-meeting-1", body))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(obs.losses, func(x mailbox.Loss) bool { return x.Code == mailbox.LossMeetingAsAppointment }) {
		t.Errorf("losses %+v, want %s", obs.losses, mailbox.LossMeetingAsAppointment)
	}
	// An update: another moved occurrence and another cancelled one.
	upd := want
	upd.Subject = "Weekly migration stand-up (new time)"
	upd.Exceptions = append(slices.Clone(want.Exceptions), mailbox.Occurrence{OriginalStart: want.Start.AddDate(0, 0, 35),
		Start: want.Start.AddDate(0, 0, 35).Add(time.Hour), End: want.End.AddDate(0, 0, 35).Add(time.Hour), Subject: "Stand-up (late)"})
	upd.Cancelled = append(slices.Clone(want.Cancelled), want.Start.AddDate(0, 0, 42))
	body2, err := mailbox.EncodeEvent(upd)
	if err != nil {
		t.Fatal(err)
	}
	if err := mb.UpdateItem(ctxT(t), id, typedPayload(mailbox.ClassAppointment, "src-meeting-1", body2)); err != nil {
		t.Fatal(err)
	}
	if n := l.srv.MeetingMessagesSent(); n != 0 {
		t.Errorf("graphmail's writes made the fake send %d meeting messages, want 0", n)
	}
	for _, p := range people {
		if in := p.Messages("Inbox"); len(in) != 0 {
			t.Errorf("%s received %d messages", p.Address(), len(in))
		}
	}
	evs := l.srv.Mailbox(alice).Events("")
	if len(evs) != 1 {
		t.Fatalf("the calendar holds %d events, want 1", len(evs))
	}
	got := evs[0]
	if got.ID != id || got.SourceID != "src-meeting-1" || len(got.Event.Attendees) != 0 || got.Event.IsMeeting {
		t.Errorf("stored event %s stamp %q with %d attendees (meeting %v); want %s stamped, no attendees", got.ID, got.SourceID, len(got.Event.Attendees), got.Event.IsMeeting, id)
	}
	for _, a := range want.Attendees {
		if !strings.Contains(got.Event.Body, a.Address) || !strings.Contains(got.Event.Body, a.Response) {
			t.Errorf("the body does not name %s (%s):\n%s", a.Address, a.Response, got.Event.Body)
		}
	}
	if got.Event.Subject != upd.Subject || len(got.Event.Exceptions) != 2 || len(got.Event.Cancelled) != 2 {
		t.Errorf("stored series %q with exceptions %+v and cancelled %v, want the update's 2 and 2", got.Event.Subject, got.Event.Exceptions, got.Event.Cancelled)
	}
	if len(got.Event.Exceptions) == 2 && got.Event.Exceptions[1].Subject != "Stand-up (late)" {
		t.Errorf("the second exception's subject is %q", got.Event.Exceptions[1].Subject)
	}
	// What graphmail reads back is the update.
	back := readBack(t, mb, id, mailbox.DecodeEvent)
	if len(back.Exceptions) != 2 || len(back.Cancelled) != 2 || !back.Cancelled[1].Equal(upd.Cancelled[1]) || back.Exceptions[1].Subject != "Stand-up (late)" {
		t.Errorf("read back exceptions %+v cancelled %v", back.Exceptions, back.Cancelled)
	}
}

// A series whose exception fails is not left looking complete: its
// stamp is pending, FindBySourceID and Stamps do not report it, and the
// next write removes it before writing the series again.
func TestIncompleteSeriesNotReported(t *testing.T) {
	l := newLab(t)
	l.srv.AddMailbox(alice, mailbox.TypeUser)
	c := l.client(t, func(c *graphmail.Config) { c.Limits.MaxBackoff = 5 * time.Millisecond })
	mb := c.Mailbox(alice)
	cal := defaultFolder(t, mb, mailbox.CalendarFolder)
	body, _ := mailbox.EncodeEvent(mailboxtest.SampleMeeting(alice))
	// Every PATCH of an event drops its connection: the exception is
	// never made, and Graph stays unreachable for the clean-up.
	l.srv.Inject(graphtest.Fault{Kind: graphtest.FaultDrop, Count: 1000, Method: "PATCH", Path: "/events/"})
	var obs observed
	_, err := mb.CreateItem(obs.ctx(ctxT(t)), cal, typedPayload(mailbox.ClassAppointment, "src-series", body))
	if err == nil {
		t.Fatal("CreateItem succeeded while every PATCH failed")
	}
	l.srv.ClearFaults()
	if evs := l.srv.Mailbox(alice).Events(""); len(evs) != 1 || evs[0].SourceID != "src-series#pending" {
		t.Fatalf("after the failure the calendar holds %+v, want the one master stamped pending", evs)
	}
	if _, found, err := mb.FindBySourceID(ctxT(t), cal, "src-series"); err != nil || found {
		t.Errorf("FindBySourceID reports the incomplete series: %v %v", found, err)
	}
	err = mb.Stamps(ctxT(t), cal, func(it mailbox.Item) error {
		return errors.New("Stamps lists " + it.SourceID)
	})
	if err != nil {
		t.Error(err)
	}
	id, err := mb.CreateItem(obs.ctx(ctxT(t)), cal, typedPayload(mailbox.ClassAppointment, "src-series", body))
	if err != nil {
		t.Fatal(err)
	}
	evs := l.srv.Mailbox(alice).Events("")
	if len(evs) != 1 || evs[0].ID != id || evs[0].SourceID != "src-series" || len(evs[0].Event.Exceptions) != 1 || len(evs[0].Event.Cancelled) != 1 {
		t.Fatalf("after the rerun the calendar holds %+v, want one complete series", evs)
	}
	if !slices.ContainsFunc(obs.sides, func(w mailbox.SideWrite) bool {
		return w.Action == mailbox.SideWriteDeleteIncomplete && !w.Started && w.Err == nil
	}) {
		t.Errorf("side writes %+v, want the removal of the incomplete series", obs.sides)
	}
	if found, ok, err := mb.FindBySourceID(ctxT(t), cal, "src-series"); err != nil || !ok || found != id {
		t.Errorf("FindBySourceID = %q %v %v, want %s", found, ok, err, id)
	}
	if n := l.srv.MeetingMessagesSent(); n != 0 {
		t.Errorf("%d meeting messages sent", n)
	}
}

// A contact's photo is written with it and read back; a contact group
// is refused for good.
func TestContactPhotoAndGroup(t *testing.T) {
	l := newLab(t)
	fx := l.srv.AddMailbox(alice, mailbox.TypeUser)
	mb := l.c.Mailbox(alice)
	fd, err := mb.CreateFolder(ctxT(t), "", "People", mailbox.ClassContactsFolder)
	if err != nil {
		t.Fatal(err)
	}
	c := mailboxtest.SampleContact()
	c.Photo = append([]byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00"), bytes.Repeat([]byte{7}, 2000)...)
	body, _ := mailbox.EncodeContact(c)
	id, err := mb.CreateItem(ctxT(t), fd.ID, typedPayload(mailbox.ClassContact, "src-c1", body))
	if err != nil {
		t.Fatal(err)
	}
	stored := fx.Contacts(fd.ID)
	if len(stored) != 1 || !bytes.Equal(stored[0].Photo, c.Photo) || stored[0].PhotoType != "image/jpeg" {
		t.Fatalf("the fake holds %d contacts, photo %d bytes", len(stored), len(stored[0].Photo))
	}
	back := readBack(t, mb, id, mailbox.DecodeContact)
	if !bytes.Equal(back.Photo, c.Photo) {
		t.Errorf("read back photo of %d bytes, want %d", len(back.Photo), len(c.Photo))
	}
	// Without a photo, none is read.
	c2 := mailboxtest.SampleContact()
	c2.Photo = nil
	body2, _ := mailbox.EncodeContact(c2)
	id2, err := mb.CreateItem(ctxT(t), fd.ID, typedPayload(mailbox.ClassContact, "src-c2", body2))
	if err != nil {
		t.Fatal(err)
	}
	back2 := readBack(t, mb, id2, mailbox.DecodeContact)
	if back2.Photo != nil {
		t.Errorf("a contact without a photo reads back %d bytes", len(back2.Photo))
	}
	g, _ := mailbox.EncodeContactGroup(mailboxtest.SampleContactGroup())
	_, err = mb.CreateItem(ctxT(t), fd.ID, typedPayload(mailbox.ClassContactGroup, "src-g", g))
	if !errors.Is(err, mailbox.ErrUnsupported) || !mailbox.IsPermanent(err) || !strings.Contains(err.Error(), "no contact groups") {
		t.Errorf("contact group: %v, want a permanent ErrUnsupported saying Graph has no contact groups", err)
	}
}

// Tasks: the stamp is an open extension made with the task; the losses
// are reported; the delta names the task; an app without a Tasks role
// is told which to grant.
func TestTasks(t *testing.T) {
	l := newLab(t)
	fx := l.srv.AddMailbox(alice, mailbox.TypeUser)
	mb := l.c.Mailbox(alice)
	list := defaultFolder(t, mb, mailbox.TasksFolder)
	if list != fx.TaskListID() {
		t.Fatalf("the Tasks folder is %s, want the default list %s", list, fx.TaskListID())
	}
	var obs observed
	body, _ := mailbox.EncodeTask(mailboxtest.SampleTask())
	id, err := mb.CreateItem(obs.ctx(ctxT(t)), list, typedPayload(mailbox.ClassTask, "src-t1", body))
	if err != nil {
		t.Fatal(err)
	}
	if len(obs.losses) != 1 || obs.losses[0].Code != mailbox.LossTaskFields || !strings.Contains(obs.losses[0].What, "percent complete") || !strings.Contains(obs.losses[0].What, "owner") {
		t.Errorf("losses %+v", obs.losses)
	}
	fx.AddEvent("", mailboxtest.SampleAllDay())
	fs, err := mb.Folders(ctxT(t), mailbox.ScopePrimary)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		if (f.WellKnown == mailbox.TasksFolder || f.WellKnown == mailbox.CalendarFolder) && f.ItemCount != 1 {
			t.Errorf("folder %s (%s) counts %d items, want 1", f.Path, f.Class, f.ItemCount)
		}
	}
	st := fx.Tasks("")
	if len(st) != 1 || st[0].ID != id || st[0].SourceID != "src-t1" || st[0].Task.DueDate != "2026-12-04" {
		t.Errorf("the fake holds %+v", st)
	}
	page, err := mb.Changes(ctxT(t), list, "")
	if err != nil || len(page.Changes) != 1 || page.Changes[0].Item.ID != id || page.Changes[0].Item.ChangeKey == "" {
		t.Fatalf("Changes = %+v, %v", page, err)
	}
	fx.UpdateTask(id, func(t *mailbox.Task) { t.Status = "Completed" })
	next, err := mb.Changes(ctxT(t), list, page.State)
	if err != nil || len(next.Changes) != 1 || next.Changes[0].Item.ChangeKey == page.Changes[0].Item.ChangeKey {
		t.Errorf("the next round = %+v, %v; want the task at a new version", next, err)
	}
	// An app without Tasks roles declares the kind unsupported.
	const other = "77777777-bbbb-cccc-dddd-eeeeeeeeeeee"
	l.srv.AddApp(tenantID, other, secret, "Mail.ReadWrite", "Calendars.Read")
	caps := l.client(t, func(c *graphmail.Config) { c.ClientID = other }).Mailbox(alice).Capabilities()
	if len(caps.Writer(mailbox.ScopePrimary, mailbox.KindTasks)) != 0 || !strings.Contains(caps.Unsupported[mailbox.StoreKind{Store: mailbox.ScopePrimary, Kind: mailbox.KindTasks}], "Tasks.ReadWrite.All") {
		t.Errorf("without Tasks roles: %+v", caps)
	}
	if len(caps.Reader(mailbox.ScopePrimary, mailbox.KindCalendar)) != 1 || len(caps.Writer(mailbox.ScopePrimary, mailbox.KindCalendar)) != 0 ||
		!strings.Contains(caps.Unsupported[mailbox.StoreKind{Store: mailbox.ScopePrimary, Kind: mailbox.KindCalendar}], "Calendars.ReadWrite") {
		t.Errorf("with Calendars.Read only: %+v", caps)
	}
}

// A meeting the owner was invited to, as the user made it in the fake,
// reads back with its organizer, attendees and responses.
func TestInvitedMeetingReads(t *testing.T) {
	l := newLab(t)
	fx := l.srv.AddMailbox(alice, mailbox.TypeUser)
	want := mailboxtest.SampleMeeting("lead@contoso.example")
	want.MyResponse = "Tentative"
	id := fx.AddEvent("", want)
	mb := l.c.Mailbox(alice)
	cal := defaultFolder(t, mb, mailbox.CalendarFolder)
	var ids []string
	if err := mb.Items(ctxT(t), cal, func(it mailbox.Item) error { ids = append(ids, it.ID); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(ids) != 1 || ids[0] != id {
		t.Fatalf("Items = %v, want [%s]", ids, id)
	}
	got := readBack(t, mb, id, mailbox.DecodeEvent)
	got.UID, want.UID = "", ""
	if got.Organizer == nil || got.Organizer.Address != "lead@contoso.example" || got.MyResponse != "Tentative" || !got.IsMeeting {
		t.Errorf("organizer %+v, my response %q, meeting %v", got.Organizer, got.MyResponse, got.IsMeeting)
	}
	if len(got.Attendees) != 3 || got.Attendees[1].Response != "Tentative" || got.Attendees[2].Type != "Resource" {
		t.Errorf("attendees %+v", got.Attendees)
	}
	if len(got.Exceptions) != 1 || !got.Exceptions[0].Start.Equal(want.Exceptions[0].Start) || len(got.Cancelled) != 1 || !got.Cancelled[0].Equal(want.Cancelled[0]) {
		t.Errorf("exceptions %+v cancelled %v", got.Exceptions, got.Cancelled)
	}
	if got.OnlineMeetingURL != want.OnlineMeetingURL {
		t.Errorf("online meeting URL %q, want the meeting's own join link %q", got.OnlineMeetingURL, want.OnlineMeetingURL)
	}
}

// Events round-trip through graphmail and the fake whole: an exception
// with its own subject, location and body; a daily series across a
// change of summer time with a cancelled occurrence; an HTML body with
// an inline attachment.
func TestEventRoundTrips(t *testing.T) {
	l := newLab(t)
	l.srv.AddMailbox(alice, mailbox.TypeUser)
	mb := l.c.Mailbox(alice)
	cal := defaultFolder(t, mb, mailbox.CalendarFolder)
	ny, _ := time.LoadLocation("America/New_York")
	at := func(y int, m time.Month, d, h int) time.Time { return time.Date(y, m, d, h, 0, 0, 0, ny).UTC() }
	own := mailboxtest.SampleAppointment()
	own.Attachments = nil
	own.Recurrence = &mailbox.Recurrence{Pattern: "absoluteMonthly", Interval: 1, DayOfMonth: 3, Range: "numbered", StartDate: "2026-12-03", Occurrences: 4}
	own.Exceptions = []mailbox.Occurrence{{OriginalStart: own.Start.AddDate(0, 1, 0), Start: own.Start.AddDate(0, 1, 1), End: own.End.AddDate(0, 1, 1),
		Subject: "Zahnarzt (verschoben)", Location: "Praxis am Park", Body: "Andere Praxis."}}
	daily := mailbox.Event{Subject: "Daily", Start: at(2027, 3, 12, 9), End: at(2027, 3, 12, 10), TimeZone: "Eastern Standard Time",
		ShowAs: "Tentative", Sensitivity: "Confidential", Importance: mailbox.ImportanceLow,
		Recurrence: &mailbox.Recurrence{Pattern: "daily", Interval: 1, Range: "endDate", StartDate: "2027-03-12", EndDate: "2027-03-17"},
		Cancelled:  []time.Time{at(2027, 3, 15, 9)}}
	page := mailbox.Event{Subject: "HTML", Body: "<html><body><p>Hi <b>there</b></p><img src=\"cid:logo\"></body></html>", BodyHTML: true,
		Start: time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC), End: time.Date(2026, 6, 1, 13, 0, 0, 0, time.UTC), ShowAs: "WorkingElsewhere",
		Sensitivity: "Normal", Importance: mailbox.ImportanceNormal, ReminderOn: true, ReminderMinutes: 5,
		Attachments: []mailbox.Attachment{{Name: "logo.png", ContentType: "image/png", ContentID: "logo", IsInline: true, Data: []byte("\x89PNG....")}}}
	for i, want := range []mailbox.Event{own, daily, page} {
		body, err := mailbox.EncodeEvent(want)
		if err != nil {
			t.Fatal(err)
		}
		id, err := mb.CreateItem(ctxT(t), cal, typedPayload(mailbox.ClassAppointment, "rt-"+want.Subject, body))
		if err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		got := readBack(t, mb, id, mailbox.DecodeEvent)
		want, _ = mailbox.DecodeEvent(bytes.NewReader(body)) // normalized as the reader's
		got.UID, want.UID = "", ""
		gj, _ := json.Marshal(got)
		wj, _ := json.Marshal(want)
		if string(gj) != string(wj) {
			t.Errorf("%s read back\n got %s\nwant %s", want.Subject, gj, wj)
		}
	}
	if n := l.srv.MeetingMessagesSent(); n != 0 {
		t.Errorf("%d meeting messages", n)
	}
}

// A contact whose photo cannot be set is removed, not left looking
// complete without it.
func TestContactPhotoFailureRemovesContact(t *testing.T) {
	l := newLab(t)
	fx := l.srv.AddMailbox(alice, mailbox.TypeUser)
	c := l.client(t, func(c *graphmail.Config) { c.Limits.MaxBackoff = 5 * time.Millisecond })
	mb := c.Mailbox(alice)
	fd, err := mb.CreateFolder(ctxT(t), "", "People", mailbox.ClassContactsFolder)
	if err != nil {
		t.Fatal(err)
	}
	ct := mailboxtest.SampleContact()
	ct.Photo = []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00photo")
	body, _ := mailbox.EncodeContact(ct)
	l.srv.Inject(graphtest.Fault{Kind: graphtest.FaultDrop, Count: 1000, Method: "PUT", Path: "/photo"})
	var obs observed
	if _, err := mb.CreateItem(obs.ctx(ctxT(t)), fd.ID, typedPayload(mailbox.ClassContact, "src-p", body)); err == nil {
		t.Fatal("CreateItem succeeded while the photo could not be set")
	}
	if cs := fx.Contacts(fd.ID); len(cs) != 0 {
		t.Errorf("the folder keeps %d contacts after the failed write", len(cs))
	}
	if len(obs.sides) != 2 || obs.sides[1].Err != nil || obs.sides[1].Action != mailbox.SideWriteDeleteIncomplete {
		t.Errorf("side writes %+v, want the removal started and done", obs.sides)
	}
}

// An update that takes a series' exception and cancellation away puts
// the occurrence back to the series and reports the deleted occurrence
// that Graph cannot restore.
func TestUpdateRevertsException(t *testing.T) {
	l := newLab(t)
	l.srv.AddMailbox(alice, mailbox.TypeUser)
	mb := l.c.Mailbox(alice)
	cal := defaultFolder(t, mb, mailbox.CalendarFolder)
	first := mailboxtest.SampleMeeting(alice)
	first.Attendees, first.IsMeeting, first.Organizer, first.MyResponse = nil, false, nil, ""
	body, _ := mailbox.EncodeEvent(first)
	id, err := mb.CreateItem(ctxT(t), cal, typedPayload(mailbox.ClassAppointment, "src-rev", body))
	if err != nil {
		t.Fatal(err)
	}
	second := first
	second.Exceptions, second.Cancelled = nil, nil
	body2, _ := mailbox.EncodeEvent(second)
	var obs observed
	if err := mb.UpdateItem(obs.ctx(ctxT(t)), id, typedPayload(mailbox.ClassAppointment, "src-rev", body2)); err != nil {
		t.Fatal(err)
	}
	got := readBack(t, mb, id, mailbox.DecodeEvent)
	if len(got.Exceptions) != 0 || len(got.Cancelled) != 1 {
		t.Errorf("after the update: exceptions %+v, cancelled %v; want none and the one Graph cannot restore", got.Exceptions, got.Cancelled)
	}
	if len(obs.losses) != 1 || obs.losses[0].Code != mailbox.LossOccurrenceDetails {
		t.Errorf("losses %+v, want the deleted occurrence reported", obs.losses)
	}
}

// An attachment of exactly 3 MB cannot be POSTed (Graph takes less than
// 3 MB that way): it is left out and reported, the event is written.
func TestEventAttachmentAtTheLimit(t *testing.T) {
	l := newLab(t)
	l.srv.AddMailbox(alice, mailbox.TypeUser)
	mb := l.c.Mailbox(alice)
	cal := defaultFolder(t, mb, mailbox.CalendarFolder)
	e := mailboxtest.SampleAppointment()
	e.Attachments = append(e.Attachments, mailbox.Attachment{Name: "big.bin", ContentType: "application/octet-stream", Data: make([]byte, mailbox.MaxTypedAttachmentBytes)})
	body, err := mailbox.EncodeEvent(e)
	if err != nil {
		t.Fatal(err)
	}
	var obs observed
	if _, err := mb.CreateItem(obs.ctx(ctxT(t)), cal, typedPayload(mailbox.ClassAppointment, "src-big", body)); err != nil {
		t.Fatal(err)
	}
	if len(obs.losses) != 1 || obs.losses[0].Code != mailbox.LossAttachmentTooLarge || !strings.Contains(obs.losses[0].What, "big.bin") {
		t.Errorf("losses %+v", obs.losses)
	}
	evs := l.srv.Mailbox(alice).Events("")
	if len(evs) != 1 || len(evs[0].Event.Attachments) != 1 || evs[0].Event.Attachments[0].Name != "directions.txt" || evs[0].SourceID != "src-big" {
		t.Errorf("stored %+v", evs)
	}
}

// A create whose answer is lost is resent with its transactionId: Graph
// (and the fake) answer with the event the first POST made, so one event
// is written, not two.
func TestEventCreateResentWithTransactionID(t *testing.T) {
	l := newLab(t)
	l.srv.AddMailbox(alice, mailbox.TypeUser)
	c := l.client(t, func(c *graphmail.Config) { c.Limits.MaxBackoff = 5 * time.Millisecond })
	mb := c.Mailbox(alice)
	cal := defaultFolder(t, mb, mailbox.CalendarFolder)
	body, _ := mailbox.EncodeEvent(mailboxtest.SampleAppointment())
	l.srv.Inject(graphtest.Fault{Kind: graphtest.FaultDropAfter, Count: 1, Method: "POST", Path: "/events"})
	id, err := mb.CreateItem(ctxT(t), cal, typedPayload(mailbox.ClassAppointment, "src-lost", body))
	if err != nil {
		t.Fatal(err)
	}
	if l.srv.PendingFaults() != 0 {
		t.Fatal("the fault was not hit")
	}
	evs := l.srv.Mailbox(alice).Events("")
	if len(evs) != 1 || evs[0].ID != id || evs[0].SourceID != "src-lost" {
		t.Errorf("the calendar holds %+v, want the one event %s", evs, id)
	}
	if st := c.Stats(alice); st.TransportErrors != 1 {
		t.Errorf("stats %+v, want the one dropped answer", st)
	}
}
