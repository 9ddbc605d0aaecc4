package ews

import (
	"strings"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/mailbox"
)

func TestWithNotes(t *testing.T) {
	for _, c := range []struct {
		body string
		html bool
		want string
	}{
		{"", false, "a\nb"},
		{"Body", false, "Body\n\na\nb"},
		{"Body\n", false, "Body\n\na\nb"},
		{"<html><body><p>x</p></body></html>", true, "<html><body><p>x</p><pre>a\nb</pre></body></html>"},
		{"<p>x &amp; y</p>", true, "<p>x &amp; y</p><pre>a\nb</pre>"},
	} {
		if got := withNotes(c.body, c.html, []string{"a", "b"}); got != c.want {
			t.Errorf("withNotes(%q) = %q, want %q", c.body, got, c.want)
		}
	}
	if got := withNotes("x", true, []string{"<a@b>"}); !strings.Contains(got, "&lt;a@b&gt;") {
		t.Errorf("notes not escaped in HTML: %q", got)
	}
}

// TestPlanEvent: a meeting the mailbox organizes keeps its attendees
// (responses into the body when known); another organizer's becomes an
// appointment without its UID, everything named in the body.
func TestPlanEvent(t *testing.T) {
	start := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	m := mailbox.Event{UID: "u", Subject: "s", Body: "b", Start: start, End: start.Add(time.Hour), IsMeeting: true,
		Organizer: &mailbox.Attendee{Address: "Me@x.example"},
		Attendees: []mailbox.Attendee{{Name: "A", Address: "a@x.example", Type: "Required", Response: "Accept"}}}
	w, att, losses := planEvent(m, "me@x.example")
	if !att || w.UID != "u" || len(losses) != 1 || losses[0].Code != LossResponses || !strings.Contains(w.Body, "A <a@x.example> (Required): Accept") {
		t.Errorf("own meeting: attendees %v uid %q losses %+v body %q", att, w.UID, losses, w.Body)
	}
	m.Attendees[0].Response = "NoResponseReceived"
	if w, att, losses := planEvent(m, "me@x.example"); !att || len(losses) != 0 || w.Body != "b" {
		t.Errorf("own meeting without answers: attendees %v losses %+v body %q", att, losses, w.Body)
	}
	w, att, losses = planEvent(m, "other@x.example")
	if att || w.UID != "" || len(losses) != 1 || losses[0].Code != mailbox.LossMeetingAsAppointment ||
		!strings.Contains(w.Body, "Meeting organized by Me@x.example") || !strings.Contains(w.Body, "a@x.example") {
		t.Errorf("another's meeting: attendees %v uid %q losses %+v body %q", att, w.UID, losses, w.Body)
	}
	m.IsCancelled = true
	if w, _, _ := planEvent(m, "other@x.example"); !strings.Contains(w.Body, "cancelled") {
		t.Errorf("a cancelled meeting's appointment does not say so: %q", w.Body)
	}
	a := mailbox.Event{Subject: "s", Start: start, End: start.Add(time.Hour)}
	if w, att, losses := planEvent(a, "me@x.example"); att || len(losses) != 0 || w.Body != "" {
		t.Errorf("appointment: attendees %v losses %+v", att, losses)
	}
}

// TestInstanceIndex: the index of an occurrence counts every regular
// occurrence of the pattern, the cancelled ones too.
func TestInstanceIndex(t *testing.T) {
	loc, _ := mailbox.ZoneLocation("W. Europe Standard Time")
	start := time.Date(2026, 10, 19, 9, 0, 0, 0, loc).UTC() // summer time; the series crosses into winter
	e := mailbox.Event{Start: start, End: start.Add(time.Hour), TimeZone: "W. Europe Standard Time",
		Recurrence: &mailbox.Recurrence{Pattern: "weekly", Interval: 1, DaysOfWeek: []string{"monday"}, Range: "noEnd", StartDate: "2026-10-19"}}
	third := time.Date(2026, 11, 2, 9, 0, 0, 0, loc).UTC()
	if i, err := instanceIndex(e, third); err != nil || i != 3 {
		t.Errorf("instanceIndex(3rd Monday) = %d, %v", i, err)
	}
	if _, err := instanceIndex(e, third.Add(time.Hour)); err == nil {
		t.Error("an original start off the pattern has an index")
	}
}

// TestUnknownZone: an item in a zone the model does not know keeps its
// instants in UTC; an all-day one becomes a timed one, said in its body.
func TestUnknownZone(t *testing.T) {
	x := calendarItemXML{itemHeadXML: itemHeadXML{Subject: "Holiday"}, Start: "2026-12-24T05:00:00Z", End: "2026-12-25T05:00:00Z", IsAllDayEvent: true}
	x.StartTimeZone.ID = "tzone://Microsoft/Custom"
	e, err := x.event()
	if err != nil || e.TimeZone != "" || e.IsAllDay || !strings.Contains(e.Body, "tzone://Microsoft/Custom") {
		t.Fatalf("event() = %+v, %v", e, err)
	}
	if err := e.Validate(); err != nil {
		t.Errorf("the item read is not valid: %v", err)
	}
}
