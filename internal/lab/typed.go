package lab

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"strings"
	"time"

	"github.com/exmigrate/exmigrate/mailbox"
)

// The lab's calendars, contacts and tasks: typed items as a user makes
// them, a deterministic mix for a seed, with one of everything a copy must
// carry (a weekly series with a moved and a cancelled occurrence, an
// all-day event, meetings as organizer and as attendee, zones other than
// UTC, a contact with a photo, a contact group, recurring and finished
// tasks).

// labZones are the zones the lab's items are made in.
var labZones = []string{"W. Europe Standard Time", "Pacific Standard Time", "GMT Standard Time", "Tokyo Standard Time", ""}

// labEvent makes the i-th calendar item of a mailbox's calendar.
func labEvent(g *generator, owner string, i int) mailbox.Event {
	zone := labZones[i%len(labZones)]
	loc, _ := mailbox.ZoneLocation(zone)
	// Spread over 2025-2027: long-past and far-future items both.
	day := time.Date(2025, 1, 6, 0, 0, 0, 0, loc).AddDate(0, 0, g.rng.IntN(3*365))
	at := func(d time.Time, h, m int) time.Time {
		return time.Date(d.Year(), d.Month(), d.Day(), h, m, 0, 0, loc).UTC()
	}
	name, addr := g.person()
	other, otherAddr := g.person()
	ev := mailbox.Event{Subject: fmt.Sprintf("%s with %s", []string{"Review", "Planning", "1:1", "Workshop", "Sync"}[i%5], name),
		Body: g.sentence(12), Location: []string{"Room 4.12", "Paris office", "Teams", "Café Müller", ""}[i%5],
		Start: at(day, 9+i%8, 0), End: at(day, 10+i%8, 0), TimeZone: zone, ShowAs: "Busy", Sensitivity: "Normal",
		Importance: mailbox.ImportanceNormal, ReminderOn: i%3 != 2, ReminderMinutes: 15}
	if !ev.ReminderOn {
		ev.ReminderMinutes = 0
	}
	switch i % 6 {
	case 0: // a weekly series the owner organizes, one occurrence moved, one cancelled
		first := day.AddDate(0, 0, (int(time.Monday)-int(day.Weekday())+7)%7)
		ev.Subject = "Weekly team meeting"
		ev.Start, ev.End = at(first, 9, 0), at(first, 9, 30)
		ev.Recurrence = &mailbox.Recurrence{Pattern: "weekly", Interval: 1, DaysOfWeek: []string{"monday"}, FirstDayOfWeek: "monday",
			Range: "numbered", StartDate: first.Format(time.DateOnly), Occurrences: 12}
		ev.Exceptions = []mailbox.Occurrence{{OriginalStart: at(first.AddDate(0, 0, 14), 9, 0),
			Start: at(first.AddDate(0, 0, 15), 14, 0), End: at(first.AddDate(0, 0, 15), 14, 30)}}
		ev.Cancelled = []time.Time{at(first.AddDate(0, 0, 28), 9, 0)}
		meeting(&ev, owner, owner, "Organizer", name, addr, other, otherAddr)
	case 1: // all-day
		ev.Subject = []string{"Public holiday", "Offsite", "Conference day"}[g.rng.IntN(3)]
		ev.Start, ev.End = time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, loc).UTC(), time.Date(day.Year(), day.Month(), day.Day()+1, 0, 0, 0, 0, loc).UTC()
		ev.IsAllDay, ev.ShowAs, ev.Location = true, "Free", ""
	case 2: // a meeting someone else organizes, accepted
		meeting(&ev, owner, addr, "Accept", name, addr, other, otherAddr)
		ev.Organizer.Name = name
	case 3: // private, with an online meeting and a small attachment
		ev.Sensitivity, ev.Categories = "Private", []string{"Personal"}
		ev.OnlineMeetingURL = fmt.Sprintf("https://teams.example/l/meetup-join/%x", g.rng.Uint32())
		ev.Body += "\nJoin: " + ev.OnlineMeetingURL
		ev.Attachments = []mailbox.Attachment{{Name: "agenda.txt", ContentType: "text/plain", Data: []byte(g.sentence(30))}}
	case 4: // a monthly series without attendees
		ev.Subject = "Monthly report"
		ev.Recurrence = &mailbox.Recurrence{Pattern: "relativeMonthly", Interval: 1, DaysOfWeek: []string{strings.ToLower(day.Weekday().String())},
			Index: "first", Range: "noEnd", StartDate: day.Format(time.DateOnly)}
		first := firstWeekdayOfMonth(day)
		ev.Start, ev.End = at(first, 11, 0), at(first, 11, 45)
		ev.Recurrence.StartDate = first.Format(time.DateOnly)
	default: // a meeting the owner organizes, one answer tentative
		meeting(&ev, owner, owner, "Organizer", name, addr, other, otherAddr)
		ev.Attendees[1].Response = "Tentative"
	}
	return ev
}

// firstWeekdayOfMonth is the first day of d's month on d's weekday.
func firstWeekdayOfMonth(d time.Time) time.Time {
	f := time.Date(d.Year(), d.Month(), 1, 0, 0, 0, 0, d.Location())
	return f.AddDate(0, 0, (int(d.Weekday())-int(f.Weekday())+7)%7)
}

func meeting(ev *mailbox.Event, owner, organizer, myResponse, name, addr, other, otherAddr string) {
	ev.IsMeeting, ev.MyResponse = true, myResponse
	ev.Organizer = &mailbox.Attendee{Address: organizer}
	ev.UID = fmt.Sprintf("lab-%x", strings.ToLower(organizer+ev.Subject+ev.Start.String()))
	if len(ev.UID) > 60 {
		ev.UID = ev.UID[:60]
	}
	if organizer == owner {
		ev.Attendees = []mailbox.Attendee{{Name: name, Address: addr, Type: "Required", Response: "Accept"},
			{Name: other, Address: otherAddr, Type: "Optional", Response: "NoResponseReceived"}}
		return
	}
	// The owner's copy of someone else's meeting: the owner among the
	// attendees, the organizer not.
	ev.Attendees = []mailbox.Attendee{{Name: other, Address: otherAddr, Type: "Optional", Response: "NoResponseReceived"},
		{Address: owner, Type: "Required", Response: myResponse}}
}

// labContact makes the i-th contact; the first has a photo.
func labContact(g *generator, i int) mailbox.Contact {
	name, addr := g.person()
	given, sur, _ := strings.Cut(name, " ")
	c := mailbox.Contact{DisplayName: name, GivenName: given, Surname: sur, FileAs: sur + ", " + given,
		CompanyName: []string{"Fabrikam", "Northwind Traders", "Tailspin Toys"}[i%3], JobTitle: []string{"Buyer", "Engineer", "Director"}[i%3],
		EmailAddresses: []mailbox.ContactEmail{{Name: name, Address: addr}}, BusinessPhones: []string{fmt.Sprintf("+49 30 %04d", g.rng.IntN(10000))},
		MobilePhone: fmt.Sprintf("+49 170 %07d", g.rng.IntN(10000000)), Categories: []string{"Customers"},
		BusinessAddr:  &mailbox.PostalAddress{Street: fmt.Sprintf("Hauptstraße %d", 1+i), City: "Berlin", PostalCode: "10115", CountryOrRegion: "Germany"},
		PersonalNotes: g.sentence(8)}
	if i == 0 {
		c.Photo = labPhoto(g)
		c.Birthday = "1984-02-29"
	}
	return c
}

// labPhoto is a small PNG, different for each seed.
func labPhoto(g *generator) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 48, 48))
	base := color.RGBA{uint8(g.rng.IntN(256)), uint8(g.rng.IntN(256)), uint8(g.rng.IntN(256)), 255}
	for y := range 48 {
		for x := range 48 {
			c := base
			if (x/8+y/8)%2 == 0 {
				c.R, c.G = c.G, c.R
			}
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}

// labGroup is a contact group of the first contacts.
func labGroup(contacts []mailbox.Contact) mailbox.ContactGroup {
	g := mailbox.ContactGroup{DisplayName: "Key customers", FileAs: "Key customers", Categories: []string{"Customers"}}
	for _, c := range contacts[:min(3, len(contacts))] {
		if len(c.EmailAddresses) > 0 {
			g.Members = append(g.Members, c.EmailAddresses[0])
		}
	}
	return g
}

// labTask makes the i-th task: open, in progress, done, recurring.
func labTask(g *generator, i int) mailbox.Task {
	due := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, g.rng.IntN(240))
	t := mailbox.Task{Subject: []string{"Send the quarterly figures", "Renew the certificate", "Book the offsite", "Review the cut-over plan"}[i%4],
		Body: g.sentence(10), Importance: mailbox.ImportanceNormal, Sensitivity: "Normal",
		StartDate: due.AddDate(0, 0, -7).Format(time.DateOnly), DueDate: due.Format(time.DateOnly), Categories: []string{"Work"}}
	switch i % 4 {
	case 0:
		t.Status = "NotStarted"
	case 1:
		t.Status, t.PercentComplete, t.Importance = "InProgress", 50, mailbox.ImportanceHigh
		t.ReminderOn, t.ReminderTime = true, due.Add(-24*time.Hour+9*time.Hour)
	case 2:
		t.Status, t.PercentComplete, t.CompleteDate = "Completed", 100, due.AddDate(0, 0, -1).Format(time.DateOnly)
	case 3:
		t.Status = "NotStarted"
		due = due.AddDate(0, 0, (int(time.Friday)-int(due.Weekday())+7)%7)
		t.DueDate = due.Format(time.DateOnly)
		t.Recurrence = &mailbox.Recurrence{Pattern: "weekly", Interval: 1, DaysOfWeek: []string{"friday"}, FirstDayOfWeek: "monday",
			Range: "noEnd", StartDate: due.Format(time.DateOnly)}
		t.StartDate = ""
	}
	return t
}
