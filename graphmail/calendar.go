package graphmail

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/exmigrate/exmigrate/mailbox"
)

// Calendars live apart from mail in Graph: /calendars (the default one
// flagged isDefaultCalendar), /calendars/{id}/events (single instances and
// series masters), /events/{id}/instances in a window, /events/{id}
// (learn.microsoft.com/graph/api/resources/calendar, resources/event,
// user-post-events, event-list-instances, event-update, event-delete).
//
// Writing never sends mail: Graph mails every attendee of an event written
// with attendees, and sends updates and cancellations when such an event
// is changed or deleted (reference/items.md A1-A3). So no event is ever
// written with attendees: a meeting becomes an appointment in the owner's
// calendar whose body names the organizer, every attendee with its type
// and response, and the owner's own response, and the write reports
// mailbox.LossMeetingAsAppointment. Exceptions and cancelled occurrences
// are then applied to the instances (PATCH, DELETE) of an event without
// attendees, which sends nothing.
//
// A series is several requests: the master, then one PATCH or DELETE per
// exception and cancellation, then its attachments. Until all of them
// are done the master carries the stamp with pendingSuffix, which
// FindBySourceID (eq) and Stamps ignore; the stamp is set (a PATCH of the
// extended property) last. A write that fails half-way removes the master
// (an appointment: no cancellation is sent), and one a crash interrupted
// is removed by the next write of the same stamp before it writes again
// (removeIncompleteEvents), each reported with mailbox.ReportSideWrite.
// The stamp written last was chosen over deleting on failure alone
// because a crash cannot delete anything.

// The named properties an event carries besides the stamp: Graph v1.0
// keeps no writable online-meeting URL (onlineMeeting is read-only,
// resources/event) and gives every copy its own iCalUId, so the source's
// values ride in properties of exmigrate's own set.
var (
	onlineURLProp = "String {" + mailbox.SourceIDPropertySet + "} Name ExmigrateOnlineMeetingUrl"
	eventUIDProp  = "String {" + mailbox.SourceIDPropertySet + "} Name ExmigrateEventUid"
	// bodyTypeProp keeps the body's type as written: Graph answers an
	// event's body as HTML unless Prefer: outlook.body-content-type="text"
	// asks otherwise (learn.microsoft.com/graph/api/event-get documents
	// the header; that a body written as text comes back as HTML is
	// reported by users, not documented), so a body written as text is
	// read as text.
	bodyTypeProp = "String {" + mailbox.SourceIDPropertySet + "} Name ExmigrateBodyType"
)

// calendarLosses is what an event loses through Graph /events.
const calendarLosses = "meeting attendees and responses (written into the body), organizer; attachments of 3 MB or more; properties outside mailbox.Event"

// graphDateTime is a dateTimeTimeZone's dateTime.
const graphDateTime = "2006-01-02T15:04:05.0000000"

type graphDTZ struct {
	DateTime string `json:"dateTime"`
	TimeZone string `json:"timeZone"`
}

type graphBody struct {
	ContentType string `json:"contentType"`
	Content     string `json:"content"`
}

type graphRecurrence struct {
	Pattern struct {
		Type           string   `json:"type"`
		Interval       int      `json:"interval"`
		DaysOfWeek     []string `json:"daysOfWeek,omitempty"`
		DayOfMonth     int      `json:"dayOfMonth,omitempty"`
		Month          int      `json:"month,omitempty"`
		Index          string   `json:"index,omitempty"`
		FirstDayOfWeek string   `json:"firstDayOfWeek,omitempty"`
	} `json:"pattern"`
	Range struct {
		Type                string `json:"type"`
		StartDate           string `json:"startDate"`
		EndDate             string `json:"endDate,omitempty"`
		NumberOfOccurrences int    `json:"numberOfOccurrences,omitempty"`
		RecurrenceTimeZone  string `json:"recurrenceTimeZone,omitempty"`
	} `json:"range"`
}

type graphAttendee struct {
	Type   string `json:"type"`
	Status struct {
		Response string `json:"response"`
	} `json:"status"`
	EmailAddress struct {
		Name    string `json:"name"`
		Address string `json:"address"`
	} `json:"emailAddress"`
}

// graphEvent is the wire shape of an event as graphmail reads it.
type graphEvent struct {
	ID                         string                        `json:"id"`
	ChangeKey                  string                        `json:"changeKey"`
	Type                       string                        `json:"type"`
	Subject                    string                        `json:"subject"`
	Body                       *graphBody                    `json:"body"`
	Start                      *graphDTZ                     `json:"start"`
	End                        *graphDTZ                     `json:"end"`
	OriginalStart              string                        `json:"originalStart"`
	OriginalStartTimeZone      string                        `json:"originalStartTimeZone"`
	Location                   *struct{ DisplayName string } `json:"location"`
	IsAllDay                   bool                          `json:"isAllDay"`
	ShowAs                     string                        `json:"showAs"`
	Sensitivity                string                        `json:"sensitivity"`
	Importance                 string                        `json:"importance"`
	Categories                 []string                      `json:"categories"`
	IsReminderOn               bool                          `json:"isReminderOn"`
	ReminderMinutesBeforeStart int                           `json:"reminderMinutesBeforeStart"`
	IsCancelled                bool                          `json:"isCancelled"`
	Organizer                  *struct {
		EmailAddress struct{ Name, Address string } `json:"emailAddress"`
	} `json:"organizer"`
	ResponseStatus *struct {
		Response string `json:"response"`
	} `json:"responseStatus"`
	OnlineMeeting *struct {
		JoinURL string `json:"joinUrl"`
	} `json:"onlineMeeting"`
	OnlineMeetingURL              *string            `json:"onlineMeetingUrl"`
	Attendees                     []graphAttendee    `json:"attendees"`
	Recurrence                    *graphRecurrence   `json:"recurrence"`
	HasAttachments                bool               `json:"hasAttachments"`
	CreatedDateTime               *time.Time         `json:"createdDateTime"`
	SingleValueExtendedProperties []extendedProperty `json:"singleValueExtendedProperties"`
}

var (
	showAsToGraph   = map[string]string{"Free": "free", "Tentative": "tentative", "Busy": "busy", "OOF": "oof", "WorkingElsewhere": "workingElsewhere", "Unknown": "unknown"}
	responseToModel = map[string]string{"none": "Unknown", "organizer": "Organizer", "tentativelyaccepted": "Tentative", "accepted": "Accept", "declined": "Decline", "notresponded": "NoResponseReceived"}
)

func fromGraphEnum(v string, values []string) string {
	for _, x := range values {
		if strings.EqualFold(x, v) {
			return x
		}
	}
	return ""
}

// zoneOf is the Windows zone id a Graph zone names, "" for UTC or one
// exmigrate does not know (the event keeps its instant, in UTC).
func zoneOf(tz string) string {
	if tz == "" || strings.EqualFold(tz, "UTC") || strings.HasPrefix(strings.ToLower(tz), "tzone://microsoft/utc") || !mailbox.KnownZone(tz) {
		return ""
	}
	return tz
}

// parseGraphDTZ reads a dateTimeTimeZone as an instant.
func parseGraphDTZ(d *graphDTZ) (time.Time, error) {
	if d == nil {
		return time.Time{}, fmt.Errorf("%w: an event without a start or end", mailbox.ErrBadTyped)
	}
	loc, err := mailbox.ZoneLocation(zoneOf(d.TimeZone))
	if err != nil {
		return time.Time{}, err
	}
	if zoneOf(d.TimeZone) == "" && d.TimeZone != "" && !strings.EqualFold(d.TimeZone, "UTC") {
		return time.Time{}, fmt.Errorf("%w: Graph answered in zone %q; graphmail reads UTC answers only", mailbox.ErrBadTyped, d.TimeZone)
	}
	t, err := time.ParseInLocation("2006-01-02T15:04:05.9999999", d.DateTime, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: dateTime %q: %v", mailbox.ErrBadTyped, d.DateTime, err)
	}
	return t.UTC(), nil
}

// dtzFor is t as a dateTimeTimeZone in a Windows zone ("" is UTC).
func dtzFor(t time.Time, zone string) graphDTZ {
	loc, err := mailbox.ZoneLocation(zone)
	if err != nil || zone == "" {
		return graphDTZ{DateTime: t.UTC().Format(graphDateTime), TimeZone: "UTC"}
	}
	return graphDTZ{DateTime: t.In(loc).Format(graphDateTime), TimeZone: zone}
}

func recurrenceToGraph(r *mailbox.Recurrence, zone string) *graphRecurrence {
	if r == nil {
		return nil
	}
	g := &graphRecurrence{}
	g.Pattern.Type, g.Pattern.Interval, g.Pattern.DaysOfWeek = r.Pattern, max(r.Interval, 1), r.DaysOfWeek
	g.Pattern.DayOfMonth, g.Pattern.Month, g.Pattern.Index, g.Pattern.FirstDayOfWeek = r.DayOfMonth, r.Month, r.Index, r.FirstDayOfWeek
	g.Range.Type, g.Range.StartDate, g.Range.EndDate, g.Range.NumberOfOccurrences = r.Range, r.StartDate, r.EndDate, r.Occurrences
	if zone != "" {
		g.Range.RecurrenceTimeZone = zone
	}
	return g
}

// recurrenceFromGraph keeps what the pattern type uses: Graph answers
// every member (index "first", firstDayOfWeek "sunday", endDate
// "0001-01-01") whatever the type.
func recurrenceFromGraph(g *graphRecurrence) *mailbox.Recurrence {
	if g == nil || g.Pattern.Type == "" {
		return nil
	}
	r := &mailbox.Recurrence{Pattern: g.Pattern.Type, Interval: g.Pattern.Interval, Range: g.Range.Type, StartDate: g.Range.StartDate}
	switch r.Pattern {
	case "weekly":
		r.DaysOfWeek, r.FirstDayOfWeek = g.Pattern.DaysOfWeek, g.Pattern.FirstDayOfWeek
	case "absoluteMonthly":
		r.DayOfMonth = g.Pattern.DayOfMonth
	case "relativeMonthly":
		r.DaysOfWeek, r.Index = g.Pattern.DaysOfWeek, g.Pattern.Index
	case "absoluteYearly":
		r.DayOfMonth, r.Month = g.Pattern.DayOfMonth, g.Pattern.Month
	case "relativeYearly":
		r.DaysOfWeek, r.Index, r.Month = g.Pattern.DaysOfWeek, g.Pattern.Index, g.Pattern.Month
	}
	if len(r.DaysOfWeek) == 0 {
		r.DaysOfWeek = nil
	}
	switch r.Range {
	case "endDate":
		r.EndDate = g.Range.EndDate
	case "numbered":
		r.Occurrences = g.Range.NumberOfOccurrences
	}
	return r
}

// meetingNote is what a meeting written as an appointment says of its
// people, appended to its body (as text, or as HTML for an HTML body).
func meetingNote(e mailbox.Event) []string {
	lines := []string{"This meeting was copied by exmigrate as an appointment without attendees: Graph would have invited them."}
	if e.Organizer != nil {
		lines = append(lines, "Organizer: "+person(*e.Organizer))
	}
	if len(e.Attendees) > 0 {
		lines = append(lines, "Attendees:")
		for _, a := range e.Attendees {
			typ, resp := a.Type, a.Response
			if typ == "" {
				typ = "Required"
			}
			if resp == "" {
				resp = "Unknown"
			}
			lines = append(lines, fmt.Sprintf("- %s (%s): %s", person(a), typ, resp))
		}
	}
	if e.MyResponse != "" {
		lines = append(lines, "Response of this mailbox: "+e.MyResponse)
	}
	return lines
}

func person(a mailbox.Attendee) string {
	if a.Name == "" || a.Name == a.Address {
		return "<" + a.Address + ">"
	}
	return a.Name + " <" + a.Address + ">"
}

// appointmentBody is the body of a meeting written as an appointment: the
// original body, then the note, in the body's own type.
func appointmentBody(e mailbox.Event) string {
	note := meetingNote(e)
	if !e.BodyHTML {
		return e.Body + "\n\n-- \n" + strings.Join(note, "\n")
	}
	var b strings.Builder
	b.WriteString("<hr><div>")
	for _, l := range note {
		b.WriteString(html.EscapeString(l))
		b.WriteString("<br>")
	}
	b.WriteString("</div>")
	if i := strings.LastIndex(strings.ToLower(e.Body), "</body>"); i >= 0 {
		return e.Body[:i] + b.String() + e.Body[i:]
	}
	return e.Body + b.String()
}

// eventToGraph is the create (or update) body of an event: never any
// attendees. stamp is the value of the stamp property ("" for none).
func eventToGraph(ctx context.Context, e mailbox.Event, stamp string, create bool) (map[string]any, error) {
	body := e.Body
	if e.IsMeeting || len(e.Attendees) > 0 {
		body = appointmentBody(e)
		mailbox.ReportLoss(ctx, mailbox.Loss{Code: mailbox.LossMeetingAsAppointment,
			What: fmt.Sprintf("meeting %q written as an appointment; its organizer, %d attendees and their responses are in its body", e.Subject, len(e.Attendees))})
	}
	ct := "text"
	if e.BodyHTML {
		ct = "html"
	}
	showAs := showAsToGraph[e.ShowAs]
	if showAs == "" {
		showAs = "busy"
	}
	g := map[string]any{
		"subject":                    e.Subject,
		"body":                       graphBody{ContentType: ct, Content: body},
		"start":                      dtzFor(e.Start, e.TimeZone),
		"end":                        dtzFor(e.End, e.TimeZone),
		"location":                   map[string]string{"displayName": e.Location},
		"isAllDay":                   e.IsAllDay,
		"showAs":                     showAs,
		"isReminderOn":               e.ReminderOn,
		"reminderMinutesBeforeStart": e.ReminderMinutes,
		"categories":                 nonNil(e.Categories),
		"recurrence":                 recurrenceToGraph(e.Recurrence, e.TimeZone),
	}
	if r, ok := g["recurrence"].(*graphRecurrence); ok && r != nil {
		// Graph takes a range only from the date of the start
		// (outlook-schedule-recurring-events).
		loc, _ := mailbox.ZoneLocation(e.TimeZone)
		r.Range.StartDate = e.Start.In(loc).Format(time.DateOnly)
	}
	if e.Sensitivity != "" {
		g["sensitivity"] = strings.ToLower(e.Sensitivity)
	}
	if e.Importance != "" {
		g["importance"] = strings.ToLower(string(e.Importance))
	}
	props := []extendedProperty{{ID: onlineURLProp, Value: e.OnlineMeetingURL}, {ID: eventUIDProp, Value: e.UID}, {ID: bodyTypeProp, Value: ct}}
	if stamp != "" {
		props = append(props, extendedProperty{ID: sourceIDProp, Value: stamp})
	}
	g["singleValueExtendedProperties"] = props
	if create {
		g["transactionId"] = newTransactionID()
	}
	return g, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// newTransactionID is a create's transactionId, new for each CreateItem:
// the server drops a second POST of it (the scheduler's resend after a
// lost answer) and returns the event the first made (resources/event). A
// later CreateItem of the same item takes a new one: it removes the
// pending copy first (removeIncompleteEvents), and a deleted event's
// transactionId answering with that event is a risk not taken.
func newTransactionID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("exm-%x", b)
}

func (m *Mailbox) isCalendarFolder(id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.calFolders[id]
}

type calendarJSON struct {
	ID                string `json:"id"`
	Name              string `json:"name"`
	IsDefaultCalendar bool   `json:"isDefaultCalendar"`
}

func (m *Mailbox) calendarKind() flatKind {
	return flatKind{class: mailbox.ClassCalendarFolder, wellKnown: mailbox.CalendarFolder, known: m.calFolders}
}

// calendarFolders lists the calendars as folders of class IPF.Appointment
// under the root, the default one first as the well-known Calendar folder.
func (m *Mailbox) calendarFolders(ctx context.Context, rootID string) ([]mailbox.Folder, error) {
	u := m.c.graphURL(userPath(m.address)+"/calendars", url.Values{"$select": {"id,name,isDefaultCalendar"}, "$top": {fmt.Sprint(pageSize)}})
	return listFlat(ctx, m, m.calendarKind(), "list calendars of "+m.address, u, rootID, func(c calendarJSON) (string, string, bool) {
		return c.ID, c.Name, c.IsDefaultCalendar
	})
}

// createCalendar creates a calendar (user-post-calendars) or returns the
// existing one of that name; calendars do not nest.
func (m *Mailbox) createCalendar(ctx context.Context, parentID, displayName string) (mailbox.Folder, error) {
	return m.createFlat(ctx, m.calendarKind(), parentID, displayName, "calendar", "Graph calendars do not nest", m.calendarFolders, func() (string, string, error) {
		op := fmt.Sprintf("create calendar %q in %s", displayName, m.address)
		body, _ := json.Marshal(map[string]string{"name": displayName})
		resp, err := m.c.do(ctx, op, http.MethodPost, m.c.graphURL(userPath(m.address)+"/calendars", nil), bytes.NewReader(body), int64(len(body)), http.Header{"Content-Type": {"application/json"}})
		if err != nil {
			return "", "", err
		}
		var c calendarJSON
		err = decodeAnswer(resp, 1<<20, &c)
		resp.Body.Close()
		if err != nil {
			return "", "", wrapErr(op, err)
		}
		return c.ID, c.Name, nil
	})
}

// eventSelect is what a listing asks of each event.
const eventSelect = "id,changeKey,subject,type,createdDateTime,categories,importance,hasAttachments"

func eventsExpand(props ...string) string {
	var f []string
	for _, p := range props {
		f = append(f, "id eq '"+p+"'")
	}
	return "singleValueExtendedProperties($filter=" + strings.Join(f, " or ") + ")"
}

func (m *Mailbox) eventsPath(calendarID string) string {
	return userPath(m.address) + "/calendars/" + urlPathEscape(calendarID) + "/events"
}

func eventItem(g graphEvent, folderID string) mailbox.Item {
	it := mailbox.Item{ID: g.ID, ChangeKey: g.ChangeKey, FolderID: folderID, Class: mailbox.ClassAppointment, Subject: g.Subject,
		Categories: g.Categories, Flag: mailbox.NotFlagged, Importance: mailbox.ImportanceNormal, IsRead: true, HasAttachments: g.HasAttachments}
	if imp := fromGraphEnum(g.Importance, []string{"Low", "Normal", "High"}); imp != "" {
		it.Importance = mailbox.Importance(imp)
	}
	if len(it.Categories) == 0 {
		it.Categories = nil
	}
	if g.CreatedDateTime != nil {
		it.Received = g.CreatedDateTime.UTC()
	}
	it.SourceID = stampIn(g.SingleValueExtendedProperties)
	return it
}

// eventItems pages through the events (single instances and series
// masters) of a calendar with their stamps.
func (m *Mailbox) eventItems(ctx context.Context, folderID string, fn func(mailbox.Item) error) error {
	q := url.Values{"$select": {eventSelect}, "$expand": {eventsExpand(sourceIDProp)}, "$top": {fmt.Sprint(pageSize)}}
	return listPaged(ctx, m, "list events of calendar "+folderID+" in "+m.address, m.c.graphURL(m.eventsPath(folderID), q), func(g graphEvent) error {
		m.remember(g.ID, mailbox.KindCalendar, folderID)
		return fn(eventItem(g, folderID))
	})
}

// listingDone is the state of a listing round that has ended: the next
// round lists everything again.
const listingDone = "listing-complete"

// eventChanges is one page of a calendar's listing. Graph v1.0 tracks
// calendar changes only through /calendarView/delta, which needs a time
// window and returns occurrences, not series masters, and a removed
// event may come from outside the window (event-delta; reference/items.md
// A8): nothing that names every master of a calendar once. So every round
// lists the calendar whole (ChangePage.Listing): each event as
// ChangeCreated with its changeKey, which the engine compares with the
// version it copied, taking an event no longer listed as deleted.
func (m *Mailbox) eventChanges(ctx context.Context, folderID, state string) (mailbox.ChangePage, error) {
	op := "list events of calendar " + folderID + " in " + m.address
	u := state
	if state == "" || state == listingDone {
		q := url.Values{"$select": {eventSelect}, "$expand": {eventsExpand(sourceIDProp)}, "$top": {fmt.Sprint(pageSize)}}
		u = m.c.graphURL(m.eventsPath(folderID), q)
	} else if err := m.ownLink(op, state); err != nil {
		return mailbox.ChangePage{}, err
	}
	return listingPage(ctx, m, op, u, state != "" && state != listingDone, func(g graphEvent) mailbox.Item {
		m.remember(g.ID, mailbox.KindCalendar, folderID)
		return eventItem(g, folderID)
	})
}

// listingPage is one page of a listing round (ChangePage.Listing).
func listingPage[T any](ctx context.Context, m *Mailbox, op, u string, resumed bool, item func(T) mailbox.Item) (mailbox.ChangePage, error) {
	page, err := getPage[T](ctx, m, op, u, preferPageSize())
	if err != nil {
		return mailbox.ChangePage{}, err
	}
	out := mailbox.ChangePage{Listing: true, Resumed: resumed, State: listingDone}
	for _, v := range page.Value {
		out.Changes = append(out.Changes, mailbox.Change{Kind: mailbox.ChangeCreated, Item: item(v)})
	}
	if page.Next != "" {
		out.State, out.More = page.Next, true
	}
	return out, nil
}

// findEvent looks an event up in a calendar by the value of its stamp.
func (m *Mailbox) findEvent(ctx context.Context, folderID, stamp string) (string, bool, error) {
	return m.findStamped(ctx, "find source id in calendar "+folderID+" of "+m.address, m.eventsPath(folderID), stamp)
}

// getJSON GETs one Graph resource into v.
func (m *Mailbox) getJSON(ctx context.Context, op, u string, v any) error {
	resp, err := m.c.do(ctx, op, http.MethodGet, u, nil, -1, nil)
	if err != nil {
		return err
	}
	err = decodeAnswer(resp, 64<<20, v)
	resp.Body.Close()
	if err != nil {
		return wrapErr(op, err)
	}
	return nil
}

// sendJSON sends a JSON body (POST, PATCH) and decodes the answer into v
// (nil: discarded).
func (m *Mailbox) sendJSON(ctx context.Context, op, method, u string, body any, v any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	resp, err := m.c.do(ctx, op, method, u, bytes.NewReader(b), int64(len(b)), http.Header{"Content-Type": {"application/json"}})
	if err != nil {
		var ge *Error
		if errors.As(err, &ge) && ge.Status == http.StatusBadRequest && ge.kind == nil {
			ge.kind = mailbox.ErrItemRejected
		}
		return err
	}
	defer resp.Body.Close()
	if v == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<20))
		return nil
	}
	if err := decodeAnswer(resp, 64<<20, v); err != nil {
		return wrapErr(op, err)
	}
	return nil
}

func (m *Mailbox) deleteReq(ctx context.Context, op, u string) error {
	resp, err := m.c.do(ctx, op, http.MethodDelete, u, nil, -1, nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

// seriesHorizon bounds the occurrences graphmail examines for exceptions
// and cancellations of a series without an end: five years from its
// start or two from now, whichever is later.
func seriesHorizon(e mailbox.Event) time.Time {
	return later(e.Start.AddDate(5, 0, 0), time.Now().AddDate(2, 0, 0))
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// maxSeriesOccurrences bounds an expansion.
const maxSeriesOccurrences = 2000

// instanceWindow is the span of one /instances request: Graph refuses
// calendar windows of more than 1825 days (reported,
// microsoft-graph-docs-contrib#6321); a year stays well inside.
const instanceWindow = 365 * 24 * time.Hour

// preferText asks for bodies as text.
const preferText = `outlook.body-content-type="text"`

// instances lists the instances of a series master between from and to,
// in windows of a year; text asks for their bodies as text.
func (m *Mailbox) instances(ctx context.Context, masterID string, from, to time.Time, text bool) ([]graphEvent, error) {
	var prefer []string
	if text {
		prefer = append(prefer, preferText)
	}
	var out []graphEvent
	seen := map[string]bool{}
	for w := from; w.Before(to); w = w.Add(instanceWindow) {
		end := w.Add(instanceWindow)
		if end.After(to) {
			end = to
		}
		q := url.Values{"startDateTime": {w.UTC().Format(time.RFC3339)}, "endDateTime": {end.UTC().Format(time.RFC3339)},
			"$select": {"id,type,subject,body,location,start,end,originalStart,isAllDay"}, "$top": {fmt.Sprint(pageSize)}}
		u := m.c.graphURL(userPath(m.address)+"/events/"+urlPathEscape(masterID)+"/instances", q)
		err := listPaged(ctx, m, "list instances of "+masterID+" in "+m.address, u, func(g graphEvent) error {
			if !seen[g.ID] {
				seen[g.ID] = true
				out = append(out, g)
			}
			return nil
		}, prefer...)
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// seriesSpan is the window that holds every occurrence of a series (a
// week of margin each side for moved exceptions).
func seriesSpan(e mailbox.Event) (time.Time, time.Time, []time.Time, error) {
	starts, err := mailbox.Expand(*e.Recurrence, e.Start, e.TimeZone, seriesHorizon(e), maxSeriesOccurrences)
	if err != nil {
		return time.Time{}, time.Time{}, nil, err
	}
	from, to := e.Start.Add(-7*24*time.Hour), e.End.Add(7*24*time.Hour)
	if len(starts) > 0 {
		to = starts[len(starts)-1].Add(e.End.Sub(e.Start)).Add(7 * 24 * time.Hour)
	}
	return from, to, starts, nil
}

// readEvent reads an event as the model holds it: for a series master,
// its exceptions (instances of type exception) and cancelled occurrences
// (regular occurrences /instances does not return); its attachments.
func (m *Mailbox) readEvent(ctx context.Context, itemID string) (mailbox.Event, error) {
	op := "read event " + itemID + " in " + m.address
	q := url.Values{"$expand": {eventsExpand(sourceIDProp, onlineURLProp, eventUIDProp, bodyTypeProp)}}
	u := m.c.graphURL(userPath(m.address)+"/events/"+urlPathEscape(itemID), q)
	var g graphEvent
	if err := m.getJSON(ctx, op, u, &g); err != nil {
		return mailbox.Event{}, err
	}
	text := g.Body != nil && strings.EqualFold(g.Body.ContentType, "html") && slices.ContainsFunc(g.SingleValueExtendedProperties, func(p extendedProperty) bool {
		return strings.EqualFold(p.ID, bodyTypeProp) && p.Value == "text"
	})
	if text {
		// Written as text, answered as HTML: ask for the text.
		var tb struct {
			Body *graphBody `json:"body"`
		}
		resp, err := m.c.do(ctx, op, http.MethodGet, m.c.graphURL(userPath(m.address)+"/events/"+urlPathEscape(itemID), url.Values{"$select": {"body"}}), nil, -1,
			http.Header{"Prefer": {preferText}})
		if err != nil {
			return mailbox.Event{}, err
		}
		err = decodeAnswer(resp, 64<<20, &tb)
		resp.Body.Close()
		if err != nil {
			return mailbox.Event{}, wrapErr(op, err)
		}
		if tb.Body != nil {
			g.Body = tb.Body
		}
	}
	e, err := eventFromGraph(g)
	if err != nil {
		return mailbox.Event{}, mailbox.Permanent(fmt.Errorf("graph: %s: %w", op, err))
	}
	if e.Recurrence != nil {
		from, to, starts, err := seriesSpan(e)
		if err != nil {
			return mailbox.Event{}, mailbox.Permanent(fmt.Errorf("graph: %s: %w", op, err))
		}
		// The instances' bodies in the master's form, so that an
		// exception's own body is told from the series' by comparison.
		insts, err := m.instances(ctx, itemID, from, to, text)
		if err != nil {
			return mailbox.Event{}, err
		}
		e.Exceptions, e.Cancelled, err = exceptionsOf(e, insts, starts)
		if err != nil {
			return mailbox.Event{}, mailbox.Permanent(fmt.Errorf("graph: %s: %w", op, err))
		}
	}
	if g.HasAttachments {
		if e.Attachments, err = m.eventAttachments(ctx, itemID); err != nil {
			return mailbox.Event{}, err
		}
	}
	return e, nil
}

// exceptionsOf splits a series' instances into its exceptions and its
// cancelled occurrences. An exception's subject, location and body are
// kept only where they differ from the series'.
func exceptionsOf(e mailbox.Event, insts []graphEvent, starts []time.Time) ([]mailbox.Occurrence, []time.Time, error) {
	var exc []mailbox.Occurrence
	present := map[int64]bool{}
	for _, g := range insts {
		if g.OriginalStart == "" {
			continue
		}
		os, err := time.Parse(time.RFC3339Nano, g.OriginalStart)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: originalStart %q", mailbox.ErrBadTyped, g.OriginalStart)
		}
		present[os.Unix()] = true
		if g.Type != "exception" {
			continue
		}
		o := mailbox.Occurrence{OriginalStart: os.UTC()}
		if o.Start, err = parseGraphDTZ(g.Start); err != nil {
			return nil, nil, err
		}
		if o.End, err = parseGraphDTZ(g.End); err != nil {
			return nil, nil, err
		}
		if g.Subject != e.Subject {
			o.Subject = g.Subject
		}
		if g.Location != nil && g.Location.DisplayName != e.Location {
			o.Location = g.Location.DisplayName
		}
		if g.Body != nil && g.Body.Content != e.Body {
			o.Body = g.Body.Content
		}
		if o.Start.Equal(o.OriginalStart) && o.End.Equal(o.OriginalStart.Add(e.End.Sub(e.Start))) && o.Subject == "" && o.Location == "" && o.Body == "" {
			continue // an exception that differs in nothing (one put back)
		}
		exc = append(exc, o)
	}
	var cancelled []time.Time
	for _, s := range starts {
		if !present[s.Unix()] {
			cancelled = append(cancelled, s)
		}
	}
	slices.SortFunc(exc, func(a, b mailbox.Occurrence) int { return a.OriginalStart.Compare(b.OriginalStart) })
	return exc, cancelled, nil
}

// eventFromGraph maps an event (without its exceptions and attachments)
// to the model. An all-day event is floating: Graph answers its midnight
// in the answer's zone, so its dates are placed at midnight in its own.
func eventFromGraph(g graphEvent) (mailbox.Event, error) {
	e := mailbox.Event{Subject: g.Subject, IsAllDay: g.IsAllDay, IsCancelled: g.IsCancelled, Categories: g.Categories,
		ReminderOn: g.IsReminderOn, ReminderMinutes: g.ReminderMinutesBeforeStart, TimeZone: zoneOf(g.OriginalStartTimeZone)}
	if g.Body != nil {
		e.Body, e.BodyHTML = g.Body.Content, strings.EqualFold(g.Body.ContentType, "html")
	}
	if g.Location != nil {
		e.Location = g.Location.DisplayName
	}
	var err error
	if e.Start, err = parseGraphDTZ(g.Start); err != nil {
		return e, err
	}
	if e.End, err = parseGraphDTZ(g.End); err != nil {
		return e, err
	}
	if e.IsAllDay {
		loc, _ := mailbox.ZoneLocation(e.TimeZone)
		mid := func(t time.Time) time.Time {
			return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc).UTC()
		}
		e.Start, e.End = mid(e.Start), mid(e.End)
	}
	for k, v := range map[string]string{"Free": "free", "Tentative": "tentative", "Busy": "busy", "OOF": "oof", "WorkingElsewhere": "workingelsewhere", "Unknown": "unknown"} {
		if strings.EqualFold(g.ShowAs, v) {
			e.ShowAs = k
		}
	}
	e.Sensitivity = fromGraphEnum(g.Sensitivity, mailbox.SensitivityValues)
	e.Importance = mailbox.Importance(fromGraphEnum(g.Importance, []string{"Low", "Normal", "High"}))
	if len(g.Attendees) > 0 {
		e.IsMeeting = true
		for _, a := range g.Attendees {
			x := mailbox.Attendee{Name: a.EmailAddress.Name, Address: a.EmailAddress.Address, Type: fromGraphEnum(a.Type, mailbox.AttendeeTypes),
				Response: responseToModel[strings.ToLower(a.Status.Response)]}
			e.Attendees = append(e.Attendees, x)
		}
		if g.Organizer != nil {
			e.Organizer = &mailbox.Attendee{Name: g.Organizer.EmailAddress.Name, Address: g.Organizer.EmailAddress.Address}
		}
		if g.ResponseStatus != nil {
			e.MyResponse = responseToModel[strings.ToLower(g.ResponseStatus.Response)]
		}
	}
	e.Recurrence = recurrenceFromGraph(g.Recurrence)
	for _, p := range g.SingleValueExtendedProperties {
		switch {
		case strings.EqualFold(p.ID, onlineURLProp):
			e.OnlineMeetingURL = p.Value
		case strings.EqualFold(p.ID, eventUIDProp):
			e.UID = p.Value
		}
	}
	if e.OnlineMeetingURL == "" {
		// A meeting made in Outlook: its own join link.
		switch {
		case g.OnlineMeeting != nil && g.OnlineMeeting.JoinURL != "":
			e.OnlineMeetingURL = g.OnlineMeeting.JoinURL
		case g.OnlineMeetingURL != nil:
			e.OnlineMeetingURL = *g.OnlineMeetingURL
		}
	}
	if len(e.Categories) == 0 {
		e.Categories = nil
	}
	return e, nil
}

type graphFileAttachment struct {
	ODataType    string  `json:"@odata.type"`
	Name         string  `json:"name"`
	ContentType  string  `json:"contentType"`
	ContentID    *string `json:"contentId"`
	IsInline     bool    `json:"isInline"`
	ContentBytes string  `json:"contentBytes"`
}

// eventAttachments reads the file attachments of an event.
func (m *Mailbox) eventAttachments(ctx context.Context, itemID string) ([]mailbox.Attachment, error) {
	var out []mailbox.Attachment
	op := "list attachments of event " + itemID + " in " + m.address
	err := listPaged(ctx, m, op, m.c.graphURL(userPath(m.address)+"/events/"+urlPathEscape(itemID)+"/attachments", nil), func(a graphFileAttachment) error {
		if a.ODataType != "#microsoft.graph.fileAttachment" {
			return nil // item and reference attachments are not carried
		}
		data, err := base64.StdEncoding.DecodeString(a.ContentBytes)
		if err != nil {
			return mailbox.Permanent(fmt.Errorf("graph: %s: attachment %q: %w: %v", op, a.Name, mailbox.ErrBadTyped, err))
		}
		x := mailbox.Attachment{Name: a.Name, ContentType: a.ContentType, IsInline: a.IsInline, Data: data}
		if a.ContentID != nil {
			x.ContentID = *a.ContentID
		}
		out = append(out, x)
		return nil
	})
	return out, err
}

// openEvent reads an event as the typed body.
func (m *Mailbox) openEvent(ctx context.Context, itemID string) (io.ReadCloser, error) {
	e, err := m.readEvent(ctx, itemID)
	if err != nil {
		return nil, err
	}
	body, err := mailbox.EncodeEvent(e)
	if err != nil {
		return nil, mailbox.Permanent(fmt.Errorf("graph: read event %s in %s: %w", itemID, m.address, err))
	}
	return io.NopCloser(bytes.NewReader(body)), nil
}

func decodePayloadEvent(p mailbox.Payload, what string) (mailbox.Event, error) {
	if p.Body == nil {
		return mailbox.Event{}, mailbox.Permanent(fmt.Errorf("graph: %s: %w: the payload has no body", what, mailbox.ErrItemRejected))
	}
	e, err := mailbox.DecodeEvent(p.Body)
	if err != nil {
		return mailbox.Event{}, mailbox.Permanent(fmt.Errorf("graph: %s: %w", what, err))
	}
	return e, nil
}

func payloadStamp(p mailbox.Payload) string {
	if p.SourceID != "" {
		return p.SourceID
	}
	return p.Item.SourceID
}

// createEvent writes a typed event into a calendar (see the top of this
// file for the order of its requests and how an incomplete one is kept
// from looking complete).
func (m *Mailbox) createEvent(ctx context.Context, folderID string, p mailbox.Payload) (string, error) {
	src := payloadStamp(p)
	e, err := decodePayloadEvent(p, fmt.Sprintf("create event %s in %s", src, m.address))
	if err != nil {
		return "", err
	}
	if src != "" {
		if err := m.removeIncompleteEvents(ctx, folderID, src); err != nil {
			return "", err
		}
	}
	pending := ""
	if src != "" {
		pending = src + pendingSuffix
	}
	body, err := eventToGraph(ctx, e, pending, true)
	if err != nil {
		return "", err
	}
	op := fmt.Sprintf("create event %s in calendar %s of %s", src, folderID, m.address)
	var created graphEvent
	// The transactionId makes the create safe to resend: a retry after a
	// lost answer gets the event the first POST made.
	if err := m.sendJSON(withResendable(ctx), op, http.MethodPost, m.c.graphURL(m.eventsPath(folderID), nil), body, &created); err != nil {
		return "", err
	}
	if created.ID == "" {
		return "", mailbox.Permanent(fmt.Errorf("graph: %s: the answer has no event id", op))
	}
	m.remember(created.ID, mailbox.KindCalendar, folderID)
	if err := m.completeEvent(ctx, created.ID, e, true); err != nil {
		m.abandonEvent(ctx, created.ID, src, err)
		return "", err
	}
	if src != "" {
		if err := m.setEventStamp(ctx, created.ID, src); err != nil {
			m.abandonEvent(ctx, created.ID, src, err)
			return "", err
		}
	}
	return created.ID, nil
}

// completeEvent applies a series' exceptions and cancellations and, when
// attachments is true, adds the event's attachments.
func (m *Mailbox) completeEvent(ctx context.Context, id string, e mailbox.Event, attachments bool) error {
	if e.Recurrence != nil && (len(e.Exceptions) > 0 || len(e.Cancelled) > 0) {
		if err := m.applyOccurrences(ctx, id, e); err != nil {
			return err
		}
	}
	if !attachments {
		return nil
	}
	for _, a := range e.Attachments {
		if len(a.Data) >= mailbox.MaxTypedAttachmentBytes {
			mailbox.ReportLoss(ctx, mailbox.Loss{Code: mailbox.LossAttachmentTooLarge, What: fmt.Sprintf("attachment %q of %d bytes left out of event %q", a.Name, len(a.Data), e.Subject)})
			continue
		}
		body := map[string]any{"@odata.type": "#microsoft.graph.fileAttachment", "name": a.Name, "contentType": a.ContentType,
			"isInline": a.IsInline, "contentBytes": base64.StdEncoding.EncodeToString(a.Data)}
		if a.ContentID != "" {
			body["contentId"] = a.ContentID
		}
		op := fmt.Sprintf("add attachment %q to event %s in %s", a.Name, id, m.address)
		if err := m.sendJSON(ctx, op, http.MethodPost, m.c.graphURL(userPath(m.address)+"/events/"+urlPathEscape(id)+"/attachments", nil), body, nil); err != nil {
			return err
		}
	}
	return nil
}

// applyOccurrences makes the series' exceptions (PATCH of the instance at
// each original start) and cancellations (DELETE of it). The event has
// no attendees, so neither sends anything.
func (m *Mailbox) applyOccurrences(ctx context.Context, id string, e mailbox.Event) error {
	find := func(os time.Time) (string, error) {
		insts, err := m.instances(ctx, id, os.Add(-24*time.Hour), os.Add(e.End.Sub(e.Start)+24*time.Hour), false)
		if err != nil {
			return "", err
		}
		for _, g := range insts {
			if t, err := time.Parse(time.RFC3339Nano, g.OriginalStart); err == nil && t.Equal(os) {
				return g.ID, nil
			}
		}
		return "", mailbox.Permanent(fmt.Errorf("graph: event %s in %s has no occurrence at %s: %w", id, m.address, os.Format(time.RFC3339), mailbox.ErrItemRejected))
	}
	for _, o := range e.Exceptions {
		iid, err := find(o.OriginalStart)
		if err != nil {
			return err
		}
		patch := map[string]any{"start": dtzFor(o.Start, e.TimeZone), "end": dtzFor(o.End, e.TimeZone)}
		if o.Subject != "" {
			patch["subject"] = o.Subject
		}
		if o.Location != "" {
			patch["location"] = map[string]string{"displayName": o.Location}
		}
		if o.Body != "" {
			ct := "text"
			if e.BodyHTML {
				ct = "html"
			}
			patch["body"] = graphBody{ContentType: ct, Content: o.Body}
		}
		op := fmt.Sprintf("change occurrence %s of event %s in %s", o.OriginalStart.Format(time.RFC3339), id, m.address)
		if err := m.sendJSON(ctx, op, http.MethodPatch, m.c.graphURL(userPath(m.address)+"/events/"+urlPathEscape(iid), nil), patch, nil); err != nil {
			return err
		}
	}
	for _, c := range e.Cancelled {
		iid, err := find(c)
		if err != nil {
			return err
		}
		op := fmt.Sprintf("delete occurrence %s of event %s in %s", c.Format(time.RFC3339), id, m.address)
		if err := m.deleteReq(ctx, op, m.c.graphURL(userPath(m.address)+"/events/"+urlPathEscape(iid), nil)); err != nil {
			return err
		}
	}
	return nil
}

// setEventStamp sets the stamp of an event written pending: the last
// request of a write.
func (m *Mailbox) setEventStamp(ctx context.Context, id, src string) error {
	op := fmt.Sprintf("stamp event %s with %s in %s", id, src, m.address)
	body := map[string]any{"singleValueExtendedProperties": []extendedProperty{{ID: sourceIDProp, Value: src}}}
	return m.sendJSON(ctx, op, http.MethodPatch, m.c.graphURL(userPath(m.address)+"/events/"+urlPathEscape(id), nil), body, nil)
}

// abandonEvent removes an event whose write failed half-way (an
// appointment: its removal sends nothing), unless Graph is unreachable:
// then its pending stamp hides it and the next write removes it.
func (m *Mailbox) abandonEvent(ctx context.Context, id, src string, cause error) {
	if errors.Is(cause, mailbox.ErrUnavailable) || ctx.Err() != nil {
		m.c.log.Warn("left an incomplete event for the next run to remove", "mailbox", m.address, "id", id, "source", src, "err", cause)
		return
	}
	u := m.c.graphURL(userPath(m.address)+"/events/"+urlPathEscape(id), nil)
	mailbox.ReportSideWrite(ctx, mailbox.SideWrite{Action: mailbox.SideWriteDeleteIncomplete, ItemID: id, SourceID: src, Started: true})
	err := m.deleteReq(ctx, "delete incomplete event "+id, u)
	if err != nil {
		err = fmt.Errorf("graph: remove the incomplete event %s of %s in %s: %w", id, src, m.address, err)
	}
	mailbox.ReportSideWrite(ctx, mailbox.SideWrite{Action: mailbox.SideWriteDeleteIncomplete, ItemID: id, SourceID: src, Err: err})
}

// removeIncompleteEvents deletes the events of a calendar stamped pending
// for src: what a crash left half-written.
func (m *Mailbox) removeIncompleteEvents(ctx context.Context, folderID, src string) error {
	for range 16 {
		id, found, err := m.findEvent(ctx, folderID, src+pendingSuffix)
		if err != nil || !found {
			return err
		}
		u := m.c.graphURL(userPath(m.address)+"/events/"+urlPathEscape(id), nil)
		mailbox.ReportSideWrite(ctx, mailbox.SideWrite{Action: mailbox.SideWriteDeleteIncomplete, ItemID: id, SourceID: src, Started: true})
		err = m.deleteReq(ctx, "delete incomplete event "+id, u)
		if err != nil && !errors.Is(err, mailbox.ErrNotFound) {
			err = fmt.Errorf("graph: remove the incomplete event %s of %s in %s: %w", id, src, m.address, err)
			mailbox.ReportSideWrite(ctx, mailbox.SideWrite{Action: mailbox.SideWriteDeleteIncomplete, ItemID: id, SourceID: src, Err: err})
			return err
		}
		mailbox.ReportSideWrite(ctx, mailbox.SideWrite{Action: mailbox.SideWriteDeleteIncomplete, ItemID: id, SourceID: src})
	}
	return fmt.Errorf("graph: more than 16 incomplete copies of event %s in %s; delete the events stamped %s by hand", src, m.address, src+pendingSuffix)
}

// updateEvent rewrites an event in place: a PATCH of its properties
// (never attendees) and the re-application of its exceptions and
// cancellations (a PATCH of a series' times or pattern drops them in
// Exchange). Attachments are not rewritten.
func (m *Mailbox) updateEvent(ctx context.Context, itemID string, p mailbox.Payload) error {
	src := payloadStamp(p)
	e, err := decodePayloadEvent(p, fmt.Sprintf("update event %s in %s", itemID, m.address))
	if err != nil {
		return err
	}
	body, err := eventToGraph(ctx, e, src, false)
	if err != nil {
		return err
	}
	op := fmt.Sprintf("update event %s in %s", itemID, m.address)
	if err := m.sendJSON(ctx, op, http.MethodPatch, m.c.graphURL(userPath(m.address)+"/events/"+urlPathEscape(itemID), nil), body, nil); err != nil {
		return err
	}
	if e.Recurrence == nil {
		return nil
	}
	// The instances as they stand now: exceptions the PATCH kept are
	// changed again, cancellations already made are skipped.
	cur, err := m.readEvent(ctx, itemID)
	if err != nil {
		return err
	}
	todo := e
	todo.Cancelled = slices.DeleteFunc(slices.Clone(e.Cancelled), func(t time.Time) bool {
		return slices.ContainsFunc(cur.Cancelled, func(c time.Time) bool { return c.Equal(t) })
	})
	// An exception the source no longer has goes back to the series'
	// times and details; an occurrence deleted at the target cannot come
	// back through Graph: reported.
	d := e.End.Sub(e.Start)
	for _, x := range cur.Exceptions {
		if !slices.ContainsFunc(e.Exceptions, func(o mailbox.Occurrence) bool { return o.OriginalStart.Equal(x.OriginalStart) }) {
			todo.Exceptions = append(todo.Exceptions, mailbox.Occurrence{OriginalStart: x.OriginalStart, Start: x.OriginalStart, End: x.OriginalStart.Add(d),
				Subject: e.Subject, Location: e.Location, Body: e.Body})
		}
	}
	for _, c := range cur.Cancelled {
		if !slices.ContainsFunc(e.Cancelled, func(t time.Time) bool { return t.Equal(c) }) {
			mailbox.ReportLoss(ctx, mailbox.Loss{Code: mailbox.LossOccurrenceDetails,
				What: fmt.Sprintf("the occurrence of %q at %s stays deleted in the copy: Graph cannot restore a deleted occurrence", e.Subject, c.Format(time.RFC3339))})
		}
	}
	return m.completeEvent(ctx, itemID, todo, false)
}
