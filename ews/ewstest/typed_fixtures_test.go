package ewstest

import (
	"bytes"
	"reflect"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/mailbox"
)

func sampleSeries(organizer string) mailbox.Event {
	loc, _ := mailbox.ZoneLocation("W. Europe Standard Time")
	at := func(d, h int) time.Time { return time.Date(2026, 11, d, h, 0, 0, 0, loc).UTC() }
	return mailbox.Event{UID: "uid-1", Subject: "Stand-up", Body: "Agenda", Location: "Room 1", Start: at(2, 9), End: at(2, 10),
		TimeZone: "W. Europe Standard Time", ShowAs: "Busy", IsMeeting: true, MyResponse: "Organizer",
		Organizer: &mailbox.Attendee{Name: "Alice", Address: organizer},
		Attendees: []mailbox.Attendee{{Name: "Bob", Address: "bob@contoso.com", Type: "Required", Response: "Accept"}},
		Recurrence: &mailbox.Recurrence{Pattern: "weekly", Interval: 1, DaysOfWeek: []string{"monday"}, Range: "numbered",
			StartDate: "2026-11-02", Occurrences: 5},
		Exceptions:  []mailbox.Occurrence{{OriginalStart: at(9, 9), Start: at(9, 11), End: at(9, 12), Subject: "Moved"}},
		Cancelled:   []time.Time{at(16, 9)},
		Attachments: []mailbox.Attachment{{Name: "a.txt", ContentType: "text/plain", Data: []byte("x")}}}
}

// TestTypedFixturesAndSnapshot: what the fixtures add is what the
// store lists, updates make new versions, and a snapshot carries events,
// tasks, contact groups and contacts with their photos to a restored
// server.
func TestTypedFixturesAndSnapshot(t *testing.T) {
	s := NewServer()
	mb := s.AddMailbox("alice@contoso.com")
	cal, tasks, contacts := mb.Root("calendar"), mb.Root("tasks"), mb.Root("contacts")
	ev := sampleSeries("alice@contoso.com")
	evID := cal.AddEvent(ev)
	task := mailbox.Task{Subject: "File it", Status: "InProgress", PercentComplete: 30, DueDate: "2026-12-01", Owner: "Alice"}
	taskID := tasks.AddTask(task)
	group := mailbox.ContactGroup{DisplayName: "Team", Members: []mailbox.ContactEmail{{Name: "Bob", Address: "bob@contoso.com"}}}
	groupID := contacts.AddContactGroup(group)
	contact := mailbox.Contact{DisplayName: "Ana Lima", GivenName: "Ana", Surname: "Lima", Title: "Dr.", Birthday: "1990-05-01",
		EmailAddresses: []mailbox.ContactEmail{{Name: "Ana", Address: "ana@fabrikam.example"}}, BusinessPhones: []string{"+49 30 1"},
		HomeAddress: &mailbox.PostalAddress{City: "Berlin"}, PersonalNotes: "met at the fair", Categories: []string{"Clients"}, Photo: []byte{1, 2, 3}}
	contactID := contacts.AddContact(contact)

	if got := cal.Events(); len(got) != 1 || got[0].ID != evID || !reflect.DeepEqual(got[0].Event, ev) {
		t.Fatalf("Events() = %+v, want %+v", got, ev)
	}
	if got := tasks.Tasks(); len(got) != 1 || got[0].ID != taskID || !reflect.DeepEqual(got[0].Task, task) {
		t.Fatalf("Tasks() = %+v", got)
	}
	if got := contacts.ContactGroups(); len(got) != 1 || got[0].ID != groupID || !reflect.DeepEqual(got[0].Group, group) {
		t.Fatalf("ContactGroups() = %+v", got)
	}
	before := cal.Items()[0]
	if !cal.UpdateEvent(evID, func(e *mailbox.Event) { e.Subject = "Stand-up (new)" }) || cal.UpdateEvent("nope", func(*mailbox.Event) {}) {
		t.Fatal("UpdateEvent answered wrong")
	}
	if after := cal.Items()[0]; after.Subject != "Stand-up (new)" {
		t.Errorf("the listing's subject after UpdateEvent: %q (before %q)", after.Subject, before.Subject)
	}
	if !tasks.UpdateTask(taskID, func(x *mailbox.Task) { x.Status = "Completed" }) || tasks.Tasks()[0].Task.Status != "Completed" {
		t.Error("UpdateTask did not change the task")
	}
	if !contacts.UpdateContact(contactID, func(c *mailbox.Contact) { c.JobTitle = "CTO" }) {
		t.Fatal("UpdateContact found no contact")
	}
	var stored StoredContact
	for _, c := range contacts.Contacts() {
		if c.ID == contactID {
			stored = c
		}
	}
	if stored.Fields["JobTitle"] != "CTO" || stored.Fields["Surname"] != "Lima" || stored.Ext["0x3a45"] != "Dr." || !bytes.Equal(stored.Photo, []byte{1, 2, 3}) {
		t.Errorf("the contact after UpdateContact: %+v", stored)
	}

	var buf bytes.Buffer
	if err := s.Snapshot(&buf); err != nil {
		t.Fatal(err)
	}
	r := NewServer()
	if err := r.Restore(&buf); err != nil {
		t.Fatal(err)
	}
	rmb := r.AddMailbox("alice@contoso.com")
	if a, b := rmb.Root("calendar").Events(), cal.Events(); !reflect.DeepEqual(a, b) {
		t.Errorf("events after a restore:\n%+v\nwant\n%+v", a, b)
	}
	if a, b := rmb.Root("tasks").Tasks(), tasks.Tasks(); !reflect.DeepEqual(a, b) {
		t.Errorf("tasks after a restore: %+v, want %+v", a, b)
	}
	if a, b := rmb.Root("contacts").ContactGroups(), contacts.ContactGroups(); !reflect.DeepEqual(a, b) {
		t.Errorf("groups after a restore: %+v, want %+v", a, b)
	}
	if a, b := rmb.Root("contacts").Contacts(), contacts.Contacts(); !reflect.DeepEqual(a, b) {
		t.Errorf("contacts after a restore: %+v, want %+v", a, b)
	}
}
