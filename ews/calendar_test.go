package ews_test

import (
	"bytes"
	"context"
	"reflect"
	"slices"
	"sync"
	"testing"

	"github.com/exmigrate/exmigrate/ews"
	"github.com/exmigrate/exmigrate/ews/ewstest"
	"github.com/exmigrate/exmigrate/mailbox"
	"github.com/exmigrate/exmigrate/mailbox/mailboxtest"
)

func typedPayload(t *testing.T, class, sid string, body []byte, err error) mailbox.Payload {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	return mailbox.Payload{Item: mailbox.Item{Class: class}, SourceID: sid, Format: mailbox.FormatTyped, Body: bytes.NewReader(body), Size: int64(len(body))}
}

// TestMeetingWrittenSilently writes a meeting series the mailbox
// organizes, with attendees, a moved and a cancelled occurrence, updates
// it, and checks the fake's own store: attendees, exception and
// cancellation are there, and not one meeting message was sent (the fake
// sends for anything but SendToNone: TestMeetingMessagesSent in ewstest).
func TestMeetingWrittenSilently(t *testing.T) {
	e := newEnv(t)
	box := e.c.Mailbox(testMailbox)
	e.srv.AddMailbox("ana.lima@fabrikam.example") // an attendee the fake would deliver to
	ctx := context.Background()
	var losses []mailbox.Loss
	ctx = mailbox.WithLosses(ctx, func(l mailbox.Loss) { losses = append(losses, l) })
	want := mailboxtest.SampleMeeting(testMailbox)
	body, err := mailbox.EncodeEvent(want)
	id, err := box.CreateItem(ctx, "calendar", typedPayload(t, mailbox.ClassAppointment, "src-m", body, err))
	if err != nil {
		t.Fatal(err)
	}
	check := func(when string, want mailbox.Event) {
		t.Helper()
		var got *ewstest.StoredEvent
		for _, s := range e.mb.Root("calendar").Events() {
			if s.ID == id {
				got = &s
			}
		}
		if got == nil || got.SourceID != "src-m" {
			t.Fatalf("%s: the fake holds %+v", when, got)
		}
		g := got.Event
		addrs := func(l []mailbox.Attendee) (out []string) {
			for _, a := range l {
				out = append(out, a.Type+":"+a.Address)
			}
			return out
		}
		if !reflect.DeepEqual(addrs(g.Attendees), addrs(want.Attendees)) || !g.IsMeeting || g.Organizer == nil || g.Organizer.Address != testMailbox {
			t.Errorf("%s: attendees %v organizer %+v, want %v organized by %s", when, addrs(g.Attendees), g.Organizer, addrs(want.Attendees), testMailbox)
		}
		if !reflect.DeepEqual(g.Exceptions, want.Exceptions) || !reflect.DeepEqual(g.Cancelled, want.Cancelled) || !reflect.DeepEqual(g.Recurrence, want.Recurrence) {
			t.Errorf("%s: series %+v exceptions %+v cancelled %v, want %+v %+v %v", when, g.Recurrence, g.Exceptions, g.Cancelled, want.Recurrence, want.Exceptions, want.Cancelled)
		}
		if g.Subject != want.Subject || g.Location != want.Location || g.TimeZone != want.TimeZone || g.OnlineMeetingURL != want.OnlineMeetingURL {
			t.Errorf("%s: %q at %q in %q link %q", when, g.Subject, g.Location, g.TimeZone, g.OnlineMeetingURL)
		}
		if n := e.srv.MeetingMessagesSent(); n != 0 {
			t.Errorf("%s: %d meeting messages sent", when, n)
		}
		if n := e.srv.SendAttempts(); n != 0 {
			t.Errorf("%s: %d send attempts", when, n)
		}
	}
	check("after the create", want)
	if !slices.ContainsFunc(losses, func(l mailbox.Loss) bool { return l.Code == ews.LossResponses }) {
		t.Errorf("the attendees' responses were not carried and no loss said so: %+v", losses)
	}
	// The update moves another occurrence and renames the series.
	changed := want
	changed.Subject = "Weekly migration stand-up (new)"
	changed.Exceptions = append(slices.Clone(want.Exceptions), mailbox.Occurrence{OriginalStart: want.Start.AddDate(0, 0, 35),
		Start: want.Start.AddDate(0, 0, 36), End: want.End.AddDate(0, 0, 36), Subject: "Tuesday this time"})
	body, err = mailbox.EncodeEvent(changed)
	if err := box.UpdateItem(ctx, id, typedPayload(t, mailbox.ClassAppointment, "src-m", body, err)); err != nil {
		t.Fatal(err)
	}
	check("after the update", changed)
	// Read back through the client: the series and its exceptions.
	got := readEvent(t, box, id)
	if !reflect.DeepEqual(got.Exceptions, changed.Exceptions) || !reflect.DeepEqual(got.Cancelled, changed.Cancelled) {
		t.Errorf("read back: exceptions %+v cancelled %v", got.Exceptions, got.Cancelled)
	}
}

func readEvent(t *testing.T, box *ews.Mailbox, id string) mailbox.Event {
	t.Helper()
	rc, err := box.OpenItem(context.Background(), id, mailbox.FormatTyped)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	ev, err := mailbox.DecodeEvent(rc)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// TestSeriesHalfWritten: a series whose exception fails is removed (a
// reported side write) and not found by its stamp; one whose removal
// fails too keeps only a pending stamp, and the next write of the stamp
// removes it and leaves one complete copy.
func TestSeriesHalfWritten(t *testing.T) {
	e := newEnv(t)
	box := e.c.Mailbox(testMailbox)
	var mu sync.Mutex
	var side []mailbox.SideWrite
	ctx := mailbox.WithSideWrites(context.Background(), func(w mailbox.SideWrite) { mu.Lock(); side = append(side, w); mu.Unlock() })
	meeting := mailboxtest.SampleMeeting(testMailbox)
	body, err := mailbox.EncodeEvent(meeting)
	if err != nil {
		t.Fatal(err)
	}
	write := func() (string, error) {
		return box.CreateItem(ctx, "calendar", typedPayload(t, mailbox.ClassAppointment, "src-half", body, nil))
	}
	e.srv.Inject(ewstest.Fault{Op: "UpdateItem", Kind: ewstest.FaultCode, Code: "ErrorInvalidPropertySet"})
	if _, err := write(); err == nil {
		t.Fatal("the write with a failing exception succeeded")
	}
	if n := len(e.mb.Root("calendar").Events()); n != 0 || len(side) != 2 || side[1].Action != mailbox.SideWriteDeleteIncomplete || side[1].Err != nil {
		t.Fatalf("after a failed exception: %d series left, side writes %+v", n, side)
	}
	side = nil
	e.srv.Inject(ewstest.Fault{Op: "UpdateItem", Kind: ewstest.FaultCode, Code: "ErrorInvalidPropertySet"})
	e.srv.Inject(ewstest.Fault{Op: "DeleteItem", Kind: ewstest.FaultCode, Code: "ErrorInternalServerError"})
	if _, err := write(); err == nil {
		t.Fatal("the write with a failing exception succeeded")
	}
	if _, found, err := box.FindBySourceID(context.Background(), "calendar", "src-half"); err != nil || found {
		t.Fatalf("a half-written series is found by its stamp: %v %v", found, err)
	}
	if n := len(e.mb.Root("calendar").Events()); n != 1 {
		t.Fatalf("%d series left after a failed removal, want the half-written one", n)
	}
	side = nil
	id, err := write()
	if err != nil {
		t.Fatal(err)
	}
	evs := e.mb.Root("calendar").Events()
	if len(evs) != 1 || evs[0].ID != id || evs[0].SourceID != "src-half" || len(side) != 2 || !side[0].Started || side[1].Err != nil {
		t.Fatalf("after the write again: %d series (%+v), side writes %+v", len(evs), evs, side)
	}
	if found, ok, err := box.FindBySourceID(context.Background(), "calendar", "src-half"); err != nil || !ok || found != id {
		t.Errorf("FindBySourceID = %q %v %v, want %s", found, ok, err, id)
	}
}

// TestUpdateReplacesAttachments: an update leaves the item with the new
// content's attachments (and a contact with its new photo), not the old.
func TestUpdateReplacesAttachments(t *testing.T) {
	e := newEnv(t)
	box := e.c.Mailbox(testMailbox)
	ctx := context.Background()
	ev := mailboxtest.SampleAppointment()
	body, err := mailbox.EncodeEvent(ev)
	id, err := box.CreateItem(ctx, "calendar", typedPayload(t, mailbox.ClassAppointment, "src-a", body, err))
	if err != nil {
		t.Fatal(err)
	}
	ev.Attachments = []mailbox.Attachment{{Name: "map.txt", ContentType: "text/plain", Data: []byte("new map")},
		{Name: "card.txt", ContentType: "text/plain", Data: []byte("card")}}
	body, err = mailbox.EncodeEvent(ev)
	if err := box.UpdateItem(ctx, id, typedPayload(t, mailbox.ClassAppointment, "src-a", body, err)); err != nil {
		t.Fatal(err)
	}
	if got := readEvent(t, box, id); !reflect.DeepEqual(got.Attachments, ev.Attachments) {
		t.Errorf("attachments after the update: %+v, want %+v", got.Attachments, ev.Attachments)
	}
	if stored := e.mb.Root("calendar").Events(); len(stored) != 1 || len(stored[0].Event.Attachments) != 2 {
		t.Errorf("the fake holds %+v", stored)
	}

	c := mailbox.Contact{DisplayName: "Ana", Photo: []byte{1, 2, 3}}
	body, err = mailbox.EncodeContact(c)
	cid, err := box.CreateItem(ctx, "contacts", typedPayload(t, mailbox.ClassContact, "src-c", body, err))
	if err != nil {
		t.Fatal(err)
	}
	c.Photo = []byte{4, 5, 6, 7}
	body, err = mailbox.EncodeContact(c)
	if err := box.UpdateItem(ctx, cid, typedPayload(t, mailbox.ClassContact, "src-c", body, err)); err != nil {
		t.Fatal(err)
	}
	for _, s := range e.mb.Root("contacts").Contacts() {
		if s.ID == cid && !reflect.DeepEqual(s.Photo, c.Photo) {
			t.Errorf("the photo after the update: %v, want %v", s.Photo, c.Photo)
		}
	}
}
