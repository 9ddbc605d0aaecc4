package mailboxtest

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/mailbox"
)

// berlin is the zone of the sample series: not UTC, with summer time.
const berlin = "W. Europe Standard Time"

func at(t *testing.T, zone string, y int, m time.Month, d, h, min int) time.Time {
	loc, err := mailbox.ZoneLocation(zone)
	if err != nil {
		if t != nil {
			t.Fatal(err)
		}
		panic(err)
	}
	return time.Date(y, m, d, h, min, 0, 0, loc).UTC()
}

// SampleAppointment is a single appointment with no attendees, in a zone
// other than UTC, with a reminder, categories, a sensitivity and a small
// attachment: every side that declares calendar items keeps all of it.
func SampleAppointment() mailbox.Event {
	return mailbox.Event{
		Subject: "Zahnarzt · dentist", Body: "Bring the insurance card.", Location: "Praxis Dr. Weiß, Berlin",
		Start: at(nil, berlin, 2026, 12, 3, 8, 30), End: at(nil, berlin, 2026, 12, 3, 9, 15), TimeZone: berlin,
		ShowAs: "OOF", Sensitivity: "Private", Importance: mailbox.ImportanceHigh, Categories: []string{"Personal"},
		ReminderOn: true, ReminderMinutes: 60,
		Attachments: []mailbox.Attachment{{Name: "directions.txt", ContentType: "text/plain", Data: []byte("U2 to Eberswalder Str.\n")}},
	}
}

// SampleAllDay is an all-day appointment in the sample zone.
func SampleAllDay() mailbox.Event {
	return mailbox.Event{
		Subject: "Company holiday", Start: at(nil, berlin, 2026, 12, 24, 0, 0), End: at(nil, berlin, 2026, 12, 25, 0, 0),
		TimeZone: berlin, IsAllDay: true, ShowAs: "Free", Sensitivity: "Normal", Importance: mailbox.ImportanceNormal,
	}
}

// SampleMeeting is a weekly series the mailbox organizes, with attendees
// and their responses, one occurrence moved and one cancelled, and an
// online-meeting link: the hardest item to carry without sending mail.
func SampleMeeting(organizer string) mailbox.Event {
	return mailbox.Event{
		UID:     "040000008200E00074C5B7101A82E0080000000094C5D1C5A39EDB01000000000000000010000000",
		Subject: "Weekly migration stand-up", Body: "Agenda in the wiki.\nJoin: https://teams.example/l/meetup-join/abc",
		Location: "Room 4.12", Start: at(nil, berlin, 2026, 11, 2, 9, 0), End: at(nil, berlin, 2026, 11, 2, 9, 30), TimeZone: berlin,
		ShowAs: "Busy", Sensitivity: "Normal", Importance: mailbox.ImportanceNormal, Categories: []string{"Project"},
		ReminderOn: true, ReminderMinutes: 15, IsMeeting: true, MyResponse: "Organizer",
		Organizer: &mailbox.Attendee{Name: "Migration Lead", Address: organizer},
		Attendees: []mailbox.Attendee{
			{Name: "Ana Lima", Address: "ana.lima@fabrikam.example", Type: "Required", Response: "Accept"},
			{Name: "Jonas Weber", Address: "jonas.weber@contoso.example", Type: "Optional", Response: "Tentative"},
			{Name: "Room 4.12", Address: "room412@contoso.example", Type: "Resource", Response: "Accept"},
		},
		OnlineMeetingURL: "https://teams.example/l/meetup-join/abc",
		Recurrence: &mailbox.Recurrence{Pattern: "weekly", Interval: 1, DaysOfWeek: []string{"monday"}, FirstDayOfWeek: "monday",
			Range: "endDate", StartDate: "2026-11-02", EndDate: "2027-03-29"},
		Exceptions: []mailbox.Occurrence{{OriginalStart: at(nil, berlin, 2026, 11, 16, 9, 0),
			Start: at(nil, berlin, 2026, 11, 16, 11, 0), End: at(nil, berlin, 2026, 11, 16, 11, 30)}},
		Cancelled: []time.Time{at(nil, berlin, 2026, 11, 23, 9, 0)},
	}
}

// SampleTask fills every field of mailbox.Task.
func SampleTask() mailbox.Task {
	return mailbox.Task{
		Subject: "Prüfe the cut-over checklist", Body: "Step 4 needs the DNS change.", Status: "InProgress", PercentComplete: 40,
		Importance: mailbox.ImportanceHigh, Sensitivity: "Normal", StartDate: "2026-11-20", DueDate: "2026-12-04",
		Categories: []string{"Project"}, ReminderOn: true, ReminderTime: time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC),
		Recurrence: &mailbox.Recurrence{Pattern: "weekly", Interval: 2, DaysOfWeek: []string{"friday"}, FirstDayOfWeek: "monday",
			Range: "numbered", StartDate: "2026-12-04", Occurrences: 6},
		Owner: "Migration Lead",
	}
}

// SampleContactGroup is a personal contact group of three members.
func SampleContactGroup() mailbox.ContactGroup {
	return mailbox.ContactGroup{DisplayName: "Cut-over team", FileAs: "Cut-over team", Categories: []string{"Project"},
		Members: []mailbox.ContactEmail{{Name: "Ana Lima", Address: "ana.lima@fabrikam.example"},
			{Name: "Jonas Weber", Address: "jonas.weber@contoso.example"}, {Address: "ops@contoso.example"}}}
}

// declaresTyped reports whether the side reads and writes kind as typed.
func declaresTyped(caps mailbox.Capabilities, kind mailbox.Kind) bool {
	typed := func(paths []mailbox.Path) bool {
		return slices.ContainsFunc(paths, func(p mailbox.Path) bool { return p.Format == mailbox.FormatTyped })
	}
	return typed(caps.Writer(mailbox.ScopePrimary, kind)) && typed(caps.Reader(mailbox.ScopePrimary, kind))
}

// lossLog collects the losses a write reports.
type lossLog struct {
	mu sync.Mutex
	l  []mailbox.Loss
}

func (l *lossLog) ctx(ctx context.Context) context.Context {
	return mailbox.WithLosses(ctx, func(x mailbox.Loss) { l.mu.Lock(); l.l = append(l.l, x); l.mu.Unlock() })
}

func (l *lossLog) codes() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, x := range l.l {
		out = append(out, x.Code)
	}
	return out
}

// writeTyped writes one typed body into a new folder of the class and
// returns the folder, the item id and the stamp.
func writeTyped(t *testing.T, ctx context.Context, mb Mailbox, class, itemClass, subject string, body []byte) (mailbox.Folder, string, string) {
	t.Helper()
	fd, err := mb.CreateFolder(ctx, "", "Typed "+stamp()[10:18], class)
	if err != nil {
		t.Fatalf("CreateFolder(%s): %v", class, err)
	}
	sid := stamp()
	id, err := mb.CreateItem(ctx, fd.ID, mailbox.Payload{Item: mailbox.Item{Class: itemClass, Subject: subject},
		SourceID: sid, Format: mailbox.FormatTyped, Body: bytes.NewReader(body), Size: int64(len(body))})
	if err != nil {
		t.Fatalf("CreateItem(typed %s): %v", itemClass, err)
	}
	return fd, id, sid
}

func readTyped[T any](t *testing.T, ctx context.Context, mb Mailbox, id string, decode func(r *bytes.Reader) (T, error)) T {
	t.Helper()
	rc, err := mb.OpenItem(ctx, id, mailbox.FormatTyped)
	if err != nil {
		t.Fatalf("OpenItem(typed): %v", err)
	}
	defer rc.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(rc); err != nil {
		t.Fatalf("read the typed body: %v", err)
	}
	v, err := decode(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatalf("the typed body read back: %v", err)
	}
	return v
}

// diffFields reports each top-level field that differs.
func diffFields(t *testing.T, what string, got, want any) {
	t.Helper()
	if reflect.DeepEqual(got, want) {
		return
	}
	gv, wv := reflect.ValueOf(got), reflect.ValueOf(want)
	for i := range gv.NumField() {
		if !reflect.DeepEqual(gv.Field(i).Interface(), wv.Field(i).Interface()) {
			t.Errorf("%s %s: got %#v, want %#v", what, gv.Type().Field(i).Name, gv.Field(i).Interface(), wv.Field(i).Interface())
		}
	}
}

func decodeEvent(r *bytes.Reader) (mailbox.Event, error)        { return mailbox.DecodeEvent(r) }
func decodeTask(r *bytes.Reader) (mailbox.Task, error)          { return mailbox.DecodeTask(r) }
func decodeGroup(r *bytes.Reader) (mailbox.ContactGroup, error) { return mailbox.DecodeContactGroup(r) }
func decodeContactR(r *bytes.Reader) (mailbox.Contact, error)   { return mailbox.DecodeContact(r) }

// must is for encoding the samples, which are valid by construction.
func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// testEventsTyped: appointments keep every property; a meeting is kept
// whole or, where the side declares that writing attendees would send
// mail, becomes an appointment whose body names every attendee and its
// response, with the loss reported. Nothing is sent either way.
func testEventsTyped(t *testing.T, f Fixture) {
	mb := f.NewMailbox(t)
	if !declaresTyped(mb.Capabilities(), mailbox.KindCalendar) {
		t.Skip("the side does not declare calendar items in the typed format")
	}
	for _, want := range []mailbox.Event{SampleAppointment(), SampleAllDay()} {
		t.Run(want.Subject, func(t *testing.T) {
			ctx := ctxT(t)
			fd, id, sid := writeTyped(t, ctx, mb, mailbox.ClassCalendarFolder, mailbox.ClassAppointment, want.Subject,
				must(mailbox.EncodeEvent(want)))
			got := readTyped(t, ctx, mb, id, decodeEvent)
			got.UID = "" // a side may make one up
			diffFields(t, "event", got, want)
			if found, ok, err := mb.FindBySourceID(ctx, fd.ID, sid); err != nil || !ok || found != id {
				t.Errorf("FindBySourceID of the event = (%q, %v, %v), want (%q, true, nil)", found, ok, err, id)
			}
			if ids := stampsOf(t, mb, fd.ID)[sid]; len(ids) != 1 || ids[0] != id {
				t.Errorf("Stamps lists the event's stamp as %v, want [%s]", ids, id)
			}
			changes, _, _ := syncAll(t, mb, fd.ID, "")
			if len(changes) != 1 || changes[0].Item.ID != id || changes[0].Item.Kind() != mailbox.KindCalendar {
				t.Errorf("Changes of the calendar folder: %+v, want the one event", changes)
			}
		})
	}
	t.Run("meeting", func(t *testing.T) {
		ctx := ctxT(t)
		var losses lossLog
		want := SampleMeeting("lead@contoso.example")
		_, id, _ := writeTyped(t, losses.ctx(ctx), mb, mailbox.ClassCalendarFolder, mailbox.ClassAppointment, want.Subject,
			must(mailbox.EncodeEvent(want)))
		got := readTyped(t, ctx, mb, id, decodeEvent)
		if slices.Contains(losses.codes(), mailbox.LossMeetingAsAppointment) {
			if len(got.Attendees) != 0 {
				t.Errorf("a meeting reported as written without attendees has %d attendees", len(got.Attendees))
			}
			for _, a := range want.Attendees {
				if !strings.Contains(got.Body, a.Address) || !strings.Contains(got.Body, a.Response) {
					t.Errorf("the appointment's body does not name attendee %s and response %s:\n%s", a.Address, a.Response, got.Body)
				}
			}
			if !strings.Contains(got.Body, want.Body) {
				t.Errorf("the appointment's body lost the meeting's own body %q:\n%s", want.Body, got.Body)
			}
			want.Body, want.BodyHTML, want.Attendees, want.Organizer, want.IsMeeting, want.MyResponse = got.Body, got.BodyHTML, nil, got.Organizer, got.IsMeeting, got.MyResponse
		}
		if slices.Contains(losses.codes(), mailbox.LossResponsesInBody) {
			// Attendees kept, their responses not (EWS cannot set them):
			// each is in the body, and the owner still organizes it.
			for _, a := range want.Attendees {
				if !strings.Contains(got.Body, a.Address) || !strings.Contains(got.Body, a.Response) {
					t.Errorf("the body does not name attendee %s and response %s:\n%s", a.Address, a.Response, got.Body)
				}
			}
			if len(got.Attendees) != len(want.Attendees) || got.MyResponse != "Organizer" || got.Organizer == nil {
				t.Errorf("a meeting kept with its attendees: %d attendees (want %d), my response %q, organizer %v", len(got.Attendees), len(want.Attendees), got.MyResponse, got.Organizer)
			}
			for i := range min(len(got.Attendees), len(want.Attendees)) {
				want.Attendees[i].Response = got.Attendees[i].Response
			}
			want.Body, want.BodyHTML, want.Organizer = got.Body, got.BodyHTML, got.Organizer
		}
		got.UID, want.UID = "", ""
		diffFields(t, "meeting", got, want)
	})
}

// testTasksTyped: a task keeps every property the side does not declare
// it loses, and reports the ones it does.
func testTasksTyped(t *testing.T, f Fixture) {
	mb := f.NewMailbox(t)
	if !declaresTyped(mb.Capabilities(), mailbox.KindTasks) {
		t.Skip("the side does not declare tasks in the typed format")
	}
	ctx := ctxT(t)
	var losses lossLog
	want := SampleTask()
	fd, id, sid := writeTyped(t, losses.ctx(ctx), mb, mailbox.ClassTasksFolder, mailbox.ClassTask, want.Subject, must(mailbox.EncodeTask(want)))
	got := readTyped(t, ctx, mb, id, decodeTask)
	if slices.Contains(losses.codes(), mailbox.LossTaskFields) {
		want.PercentComplete, want.Owner, want.Delegator, want.Sensitivity = got.PercentComplete, got.Owner, got.Delegator, got.Sensitivity
	}
	diffFields(t, "task", got, want)
	if found, ok, err := mb.FindBySourceID(ctx, fd.ID, sid); err != nil || !ok || found != id {
		t.Errorf("FindBySourceID of the task = (%q, %v, %v), want (%q, true, nil)", found, ok, err, id)
	}
	changes, _, _ := syncAll(t, mb, fd.ID, "")
	if len(changes) != 1 || changes[0].Item.ID != id || changes[0].Item.Kind() != mailbox.KindTasks {
		t.Errorf("Changes of the tasks folder: %+v, want the one task", changes)
	}
}

// testContactGroupTyped: a side that writes contact groups keeps their
// members; one that cannot refuses them with ErrUnsupported, permanently.
func testContactGroupTyped(t *testing.T, f Fixture) {
	mb := f.NewMailbox(t)
	if !declaresTyped(mb.Capabilities(), mailbox.KindContacts) {
		t.Skip("the side does not declare contacts in the typed format")
	}
	ctx := ctxT(t)
	want := SampleContactGroup()
	body := must(mailbox.EncodeContactGroup(want))
	fd, err := mb.CreateFolder(ctx, "", "Groups "+stamp()[10:18], mailbox.ClassContactsFolder)
	if err != nil {
		t.Fatal(err)
	}
	id, err := mb.CreateItem(ctx, fd.ID, mailbox.Payload{Item: mailbox.Item{Class: mailbox.ClassContactGroup, Subject: want.DisplayName},
		SourceID: stamp(), Format: mailbox.FormatTyped, Body: bytes.NewReader(body), Size: int64(len(body))})
	if err != nil {
		if !mailbox.IsPermanent(err) || !errors.Is(err, mailbox.ErrUnsupported) {
			t.Fatalf("CreateItem(contact group) = %v, want success or a permanent ErrUnsupported", err)
		}
		return
	}
	got := readTyped(t, ctx, mb, id, decodeGroup)
	diffFields(t, "contact group", got, want)
	changes, _, _ := syncAll(t, mb, fd.ID, "")
	if len(changes) != 1 || changes[0].Item.Class != mailbox.ClassContactGroup {
		t.Errorf("Changes of the folder: %+v, want the one group of class %s", changes, mailbox.ClassContactGroup)
	}
}

// testUpdateTyped: a side that updates items rewrites a contact, an event
// and a task in place: same id, new content, a new version in Changes,
// one item in the folder, its stamp kept.
func testUpdateTyped(t *testing.T, f Fixture) {
	mb := f.NewMailbox(t)
	up, ok := mb.(mailbox.Updater)
	if !ok {
		t.Skip("the side does not update items")
	}
	type kase struct {
		kind          mailbox.Kind
		folder, class string
		first, second []byte
		check         func(t *testing.T, ctx context.Context, id string)
	}
	c1, c2 := SampleContact(), SampleContact()
	c2.JobTitle, c2.MobilePhone = "Head of Engineering", "+49 170 0000 1111"
	e1, e2 := SampleAppointment(), SampleAppointment()
	e2.Subject, e2.Location, e2.Start, e2.End = "Zahnarzt (moved)", "Praxis am Park", e1.Start.Add(48*time.Hour), e1.End.Add(48*time.Hour)
	t1, t2 := SampleTask(), SampleTask()
	t2.Status, t2.DueDate, t2.CompleteDate = "Completed", "2026-12-05", "2026-12-05"
	cases := []kase{
		{mailbox.KindContacts, mailbox.ClassContactsFolder, mailbox.ClassContact, must(mailbox.EncodeContact(c1)), must(mailbox.EncodeContact(c2)),
			func(t *testing.T, ctx context.Context, id string) {
				got := readTyped(t, ctx, mb, id, decodeContactR)
				if got.JobTitle != c2.JobTitle || got.MobilePhone != c2.MobilePhone {
					t.Errorf("updated contact: job %q mobile %q, want %q %q", got.JobTitle, got.MobilePhone, c2.JobTitle, c2.MobilePhone)
				}
			}},
		{mailbox.KindCalendar, mailbox.ClassCalendarFolder, mailbox.ClassAppointment, must(mailbox.EncodeEvent(e1)), must(mailbox.EncodeEvent(e2)),
			func(t *testing.T, ctx context.Context, id string) {
				got := readTyped(t, ctx, mb, id, decodeEvent)
				if got.Subject != e2.Subject || got.Location != e2.Location || !got.Start.Equal(e2.Start) || !got.End.Equal(e2.End) {
					t.Errorf("updated event: %q at %q %s-%s, want %q at %q %s-%s", got.Subject, got.Location, got.Start, got.End, e2.Subject, e2.Location, e2.Start, e2.End)
				}
			}},
		{mailbox.KindTasks, mailbox.ClassTasksFolder, mailbox.ClassTask, must(mailbox.EncodeTask(t1)), must(mailbox.EncodeTask(t2)),
			func(t *testing.T, ctx context.Context, id string) {
				got := readTyped(t, ctx, mb, id, decodeTask)
				if got.Status != t2.Status || got.DueDate != t2.DueDate {
					t.Errorf("updated task: status %q due %q, want %q %q", got.Status, got.DueDate, t2.Status, t2.DueDate)
				}
			}},
	}
	for _, c := range cases {
		t.Run(string(c.kind), func(t *testing.T) {
			if !declaresTyped(mb.Capabilities(), c.kind) {
				t.Skipf("the side does not declare %s as typed", c.kind)
			}
			ctx := ctxT(t)
			fd, id, sid := writeTyped(t, ctx, mb, c.folder, c.class, "update "+string(c.kind), c.first)
			before, _, _ := syncAll(t, mb, fd.ID, "")
			if len(before) != 1 {
				t.Fatalf("the folder holds %d items after one write", len(before))
			}
			err := up.UpdateItem(ctx, id, mailbox.Payload{Item: mailbox.Item{Class: c.class, Subject: "update " + string(c.kind)},
				SourceID: sid, Format: mailbox.FormatTyped, Body: bytes.NewReader(c.second), Size: int64(len(c.second))})
			if err != nil {
				t.Fatalf("UpdateItem: %v", err)
			}
			c.check(t, ctx, id)
			after, _, _ := syncAll(t, mb, fd.ID, "")
			if len(after) != 1 || after[0].Item.ID != id {
				t.Fatalf("after the update the folder holds %+v, want the one item %s", after, id)
			}
			if after[0].Item.ChangeKey == "" || after[0].Item.ChangeKey == before[0].Item.ChangeKey {
				t.Errorf("the version did not change with the update: %q then %q", before[0].Item.ChangeKey, after[0].Item.ChangeKey)
			}
			if found, ok, err := mb.FindBySourceID(ctx, fd.ID, sid); err != nil || !ok || found != id {
				t.Errorf("after the update FindBySourceID = (%q, %v, %v), want (%q, true, nil)", found, ok, err, id)
			}
		})
	}
}
