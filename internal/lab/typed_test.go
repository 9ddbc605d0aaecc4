package lab

import (
	"testing"

	"github.com/exmigrate/exmigrate/mailbox"
)

// TestLabTypedItemsValid: every calendar item, contact, group and task the
// lab makes is valid as both services check it, and the mix holds what
// the scenario promises (a series with a moved and a cancelled
// occurrence, an all-day event, meetings as organizer and as attendee, a
// zone other than UTC, a photo, a recurring task).
func TestLabTypedItemsValid(t *testing.T) {
	g := newGenerator(42, "contoso.com")
	var series, allDay, organizer, attendee, zoned bool
	for i := range 30 {
		ev := labEvent(g, "ann@contoso.com", i)
		if _, err := mailbox.EncodeEvent(ev); err != nil {
			t.Fatalf("event %d: %v\n%+v", i, err, ev)
		}
		if ev.Recurrence != nil {
			if _, err := ev.Occurrences(ev.Start.AddDate(3, 0, 0), 100); err != nil {
				t.Fatalf("event %d: %v", i, err)
			}
		}
		series = series || (ev.Recurrence != nil && len(ev.Exceptions) > 0 && len(ev.Cancelled) > 0)
		allDay = allDay || ev.IsAllDay
		organizer = organizer || ev.MyResponse == "Organizer"
		attendee = attendee || (ev.IsMeeting && ev.MyResponse == "Accept")
		zoned = zoned || (ev.TimeZone != "" && ev.TimeZone != "UTC")
	}
	if !series || !allDay || !organizer || !attendee || !zoned {
		t.Errorf("the mix lacks something: series %v all-day %v organizer %v attendee %v zone %v", series, allDay, organizer, attendee, zoned)
	}
	var contacts []mailbox.Contact
	for i := range 5 {
		c := labContact(g, i)
		if _, err := mailbox.EncodeContact(c); err != nil {
			t.Fatalf("contact %d: %v", i, err)
		}
		contacts = append(contacts, c)
	}
	if len(contacts[0].Photo) == 0 {
		t.Error("the first contact has no photo")
	}
	if _, err := mailbox.EncodeContactGroup(labGroup(contacts)); err != nil {
		t.Fatal(err)
	}
	recurring := false
	for i := range 8 {
		k := labTask(g, i)
		if _, err := mailbox.EncodeTask(k); err != nil {
			t.Fatalf("task %d: %v", i, err)
		}
		recurring = recurring || k.Recurrence != nil
	}
	if !recurring {
		t.Error("no recurring task")
	}
}
