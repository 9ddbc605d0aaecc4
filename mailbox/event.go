package mailbox

import (
	"fmt"
	"io"
	"slices"
	"time"
)

// Event is what FormatTyped carries for an item of KindCalendar: an
// appointment or a meeting, with its series, as EWS's t:CalendarItem and
// Graph's event both describe it. Times are instants (UTC); TimeZone names
// the zone the item was made in (a Windows zone id, as both services
// spell it), which gives all-day items and series their wall-clock times.
type Event struct {
	// UID is the iCalendar UID that ties the copies of one meeting in
	// several mailboxes together.
	UID         string     `json:"uid,omitempty"`
	Subject     string     `json:"subject,omitempty"`
	Body        string     `json:"body,omitempty"`
	BodyHTML    bool       `json:"bodyHtml,omitempty"`
	Location    string     `json:"location,omitempty"`
	Start       time.Time  `json:"start"`
	End         time.Time  `json:"end"`
	TimeZone    string     `json:"timeZone,omitempty"` // Windows zone id; empty is UTC
	IsAllDay    bool       `json:"isAllDay,omitempty"`
	ShowAs      string     `json:"showAs,omitempty"`      // Free, Tentative, Busy, OOF, WorkingElsewhere
	Sensitivity string     `json:"sensitivity,omitempty"` // Normal, Personal, Private, Confidential
	Importance  Importance `json:"importance,omitempty"`
	Categories  []string   `json:"categories,omitempty"`
	ReminderOn  bool       `json:"reminderOn,omitempty"`
	// ReminderMinutes is how long before the start the reminder fires.
	ReminderMinutes int `json:"reminderMinutes,omitempty"`
	// IsMeeting: the item has attendees (or had them); the organizer and
	// the responses below belong to it.
	IsMeeting   bool      `json:"isMeeting,omitempty"`
	IsCancelled bool      `json:"isCancelled,omitempty"`
	Organizer   *Attendee `json:"organizer,omitempty"`
	// MyResponse is the mailbox owner's own answer: Organizer, Accept,
	// Tentative, Decline, NoResponseReceived or Unknown.
	MyResponse       string      `json:"myResponse,omitempty"`
	Attendees        []Attendee  `json:"attendees,omitempty"`
	OnlineMeetingURL string      `json:"onlineMeetingUrl,omitempty"`
	Recurrence       *Recurrence `json:"recurrence,omitempty"`
	// Exceptions are the occurrences of a series changed on their own.
	Exceptions []Occurrence `json:"exceptions,omitempty"`
	// Cancelled are the original starts of the occurrences deleted from
	// a series.
	Cancelled   []time.Time  `json:"cancelled,omitempty"`
	Attachments []Attachment `json:"attachments,omitempty"`
}

// Attendee is a meeting's organizer or one of its attendees.
type Attendee struct {
	Name    string `json:"name,omitempty"`
	Address string `json:"address"`
	// Type is Required, Optional or Resource (attendees only).
	Type string `json:"type,omitempty"`
	// Response is the attendee's answer as the organizer's copy knows it:
	// Accept, Tentative, Decline, NoResponseReceived or Unknown.
	Response string `json:"response,omitempty"`
}

// Recurrence is a series' pattern and range, in Graph's spelling (which
// maps one to one onto EWS's recurrence elements).
type Recurrence struct {
	// Pattern is daily, weekly, absoluteMonthly, relativeMonthly,
	// absoluteYearly or relativeYearly.
	Pattern        string   `json:"pattern"`
	Interval       int      `json:"interval,omitempty"`
	DaysOfWeek     []string `json:"daysOfWeek,omitempty"` // monday ... sunday
	DayOfMonth     int      `json:"dayOfMonth,omitempty"`
	Month          int      `json:"month,omitempty"`
	Index          string   `json:"index,omitempty"` // first, second, third, fourth, last
	FirstDayOfWeek string   `json:"firstDayOfWeek,omitempty"`
	// Range is endDate, noEnd or numbered.
	Range       string `json:"range"`
	StartDate   string `json:"startDate"` // 2006-01-02, the date of the first start
	EndDate     string `json:"endDate,omitempty"`
	Occurrences int    `json:"occurrences,omitempty"`
}

// Occurrence is one occurrence of a series changed on its own. Empty
// strings mean the series' value.
type Occurrence struct {
	OriginalStart time.Time `json:"originalStart"`
	Start         time.Time `json:"start"`
	End           time.Time `json:"end"`
	Subject       string    `json:"subject,omitempty"`
	Location      string    `json:"location,omitempty"`
	Body          string    `json:"body,omitempty"`
}

const eventVersion = 1

// Enumerations both services share.
var (
	RecurrencePatterns = []string{"daily", "weekly", "absoluteMonthly", "relativeMonthly", "absoluteYearly", "relativeYearly"}
	RecurrenceRanges   = []string{"endDate", "noEnd", "numbered"}
	DaysOfWeek         = []string{"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"}
	WeekIndexes        = []string{"first", "second", "third", "fourth", "last"}
	ShowAsValues       = []string{"Free", "Tentative", "Busy", "OOF", "WorkingElsewhere", "Unknown"}
	SensitivityValues  = []string{"Normal", "Personal", "Private", "Confidential"}
	ResponseValues     = []string{"Unknown", "Organizer", "Tentative", "Accept", "Decline", "NoResponseReceived"}
	AttendeeTypes      = []string{"Required", "Optional", "Resource"}
)

// maxAttendees is Graph's limit per event.
const maxAttendees = 500

// EncodeEvent is the typed body of a calendar item.
func EncodeEvent(e Event) ([]byte, error) { return encodeTyped(typedEvent, eventVersion, e) }

// DecodeEvent reads a typed body written by EncodeEvent.
func DecodeEvent(r io.Reader) (Event, error) {
	e, err := decodeTyped[Event](r, typedEvent, eventVersion)
	if err != nil {
		return Event{}, err
	}
	e.normalize()
	return e, nil
}

// normalize makes empty lists nil and times UTC, so that equal events
// compare equal whichever way they came.
func (e *Event) normalize() {
	e.Start, e.End = e.Start.UTC(), e.End.UTC()
	if e.TimeZone == "UTC" {
		e.TimeZone = "" // the empty zone is UTC
	}
	if len(e.Categories) == 0 {
		e.Categories = nil
	}
	if len(e.Attendees) == 0 {
		e.Attendees = nil
	}
	if len(e.Exceptions) == 0 {
		e.Exceptions = nil
	}
	for i := range e.Exceptions {
		o := &e.Exceptions[i]
		o.OriginalStart, o.Start, o.End = o.OriginalStart.UTC(), o.Start.UTC(), o.End.UTC()
	}
	if len(e.Cancelled) == 0 {
		e.Cancelled = nil
	}
	for i := range e.Cancelled {
		e.Cancelled[i] = e.Cancelled[i].UTC()
	}
	if len(e.Attachments) == 0 {
		e.Attachments = nil
	}
	if e.Recurrence != nil && len(e.Recurrence.DaysOfWeek) == 0 {
		e.Recurrence.DaysOfWeek = nil
	}
}

func oneOf(field, v string, allowed []string) error {
	if v == "" || slices.Contains(allowed, v) {
		return nil
	}
	return fmt.Errorf("%w: %s %q is not one of %v", ErrBadTyped, field, v, allowed)
}

// Validate checks what both services refuse.
func (e Event) Validate() error {
	if e.Start.IsZero() || e.End.IsZero() {
		return fmt.Errorf("%w: an event needs a start and an end", ErrBadTyped)
	}
	if e.End.Before(e.Start) {
		return fmt.Errorf("%w: the event ends (%s) before it starts (%s)", ErrBadTyped, e.End.Format(time.RFC3339), e.Start.Format(time.RFC3339))
	}
	if e.TimeZone != "" {
		if _, err := ZoneLocation(e.TimeZone); err != nil {
			return fmt.Errorf("%w: %v", ErrBadTyped, err)
		}
	}
	if e.IsAllDay {
		loc, _ := ZoneLocation(e.TimeZone)
		for _, t := range []time.Time{e.Start, e.End} {
			if l := t.In(loc); l.Hour() != 0 || l.Minute() != 0 || l.Second() != 0 {
				return fmt.Errorf("%w: an all-day event starts and ends at midnight in its zone (%s is %s there)", ErrBadTyped, t.Format(time.RFC3339), l.Format("15:04"))
			}
		}
	}
	if len(e.Attendees) > maxAttendees {
		return fmt.Errorf("%w: %d attendees, at most %d", ErrBadTyped, len(e.Attendees), maxAttendees)
	}
	for _, err := range []error{oneOf("showAs", e.ShowAs, ShowAsValues), oneOf("sensitivity", e.Sensitivity, SensitivityValues),
		oneOf("myResponse", e.MyResponse, ResponseValues), oneOf("importance", string(e.Importance), []string{"Low", "Normal", "High"})} {
		if err != nil {
			return err
		}
	}
	if e.ReminderMinutes < 0 {
		return fmt.Errorf("%w: a reminder %d minutes before the start", ErrBadTyped, e.ReminderMinutes)
	}
	for _, a := range append(slices.Clone(e.Attendees), ptrList(e.Organizer)...) {
		if a.Address == "" {
			return fmt.Errorf("%w: an attendee without an address", ErrBadTyped)
		}
		if err := oneOf("attendee type", a.Type, AttendeeTypes); err != nil {
			return err
		}
		if err := oneOf("attendee response", a.Response, ResponseValues); err != nil {
			return err
		}
	}
	if e.Recurrence != nil {
		if err := e.Recurrence.Validate(); err != nil {
			return err
		}
	} else if len(e.Exceptions) > 0 || len(e.Cancelled) > 0 {
		return fmt.Errorf("%w: exceptions or cancelled occurrences on an event that is no series", ErrBadTyped)
	}
	for _, o := range e.Exceptions {
		if o.OriginalStart.IsZero() || o.Start.IsZero() || o.End.Before(o.Start) {
			return fmt.Errorf("%w: an exception needs its original start and a start before its end", ErrBadTyped)
		}
	}
	return validateAttachments(e.Attachments)
}

func ptrList(a *Attendee) []Attendee {
	if a == nil {
		return nil
	}
	return []Attendee{*a}
}

// Validate checks a recurrence as both services do.
func (r Recurrence) Validate() error {
	if err := oneOf("recurrence pattern", r.Pattern, RecurrencePatterns); err != nil || r.Pattern == "" {
		if err == nil {
			err = fmt.Errorf("%w: a recurrence without a pattern", ErrBadTyped)
		}
		return err
	}
	if err := oneOf("recurrence range", r.Range, RecurrenceRanges); err != nil || r.Range == "" {
		if err == nil {
			err = fmt.Errorf("%w: a recurrence without a range", ErrBadTyped)
		}
		return err
	}
	if r.Interval < 0 || r.Interval > 999 {
		return fmt.Errorf("%w: recurrence interval %d", ErrBadTyped, r.Interval)
	}
	for _, d := range r.DaysOfWeek {
		if err := oneOf("day of week", d, DaysOfWeek); err != nil {
			return err
		}
	}
	if err := oneOf("first day of week", r.FirstDayOfWeek, DaysOfWeek); err != nil {
		return err
	}
	if err := oneOf("week index", r.Index, WeekIndexes); err != nil {
		return err
	}
	if r.Pattern == "weekly" && len(r.DaysOfWeek) == 0 {
		return fmt.Errorf("%w: a weekly recurrence without days of the week", ErrBadTyped)
	}
	if r.DayOfMonth < 0 || r.DayOfMonth > 31 || r.Month < 0 || r.Month > 12 {
		return fmt.Errorf("%w: recurrence day %d of month %d", ErrBadTyped, r.DayOfMonth, r.Month)
	}
	start, err := time.Parse(time.DateOnly, r.StartDate)
	if err != nil {
		return fmt.Errorf("%w: recurrence start date %q is not a date", ErrBadTyped, r.StartDate)
	}
	switch r.Range {
	case "endDate":
		end, err := time.Parse(time.DateOnly, r.EndDate)
		if err != nil || end.Before(start) {
			return fmt.Errorf("%w: recurrence end date %q is not a date on or after %s", ErrBadTyped, r.EndDate, r.StartDate)
		}
	case "numbered":
		if r.Occurrences < 1 || r.Occurrences > 999 {
			return fmt.Errorf("%w: a numbered recurrence of %d occurrences", ErrBadTyped, r.Occurrences)
		}
	}
	return nil
}
