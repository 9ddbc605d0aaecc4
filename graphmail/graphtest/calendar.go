package graphtest

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"maps"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/exmigrate/exmigrate/mailbox"
)

// Calendars and events of Graph v1.0 (learn.microsoft.com/graph/api/
// resources/calendar, resources/event, user-post-events,
// event-list-instances, event-update, event-delete, user-list-calendarview,
// event-delta). The fake keeps an event as a mailbox.Event: a single
// instance, or a series master with its exceptions and cancelled
// occurrences; occurrences are expanded with mailbox.Expand, so that the
// fake and the adapters agree on which occurrence an original start names.
//
// Side effects as Graph has them (reference/items.md A1-A3): an event
// created with attendees sends each attendee a meeting request (an
// eventMessage delivered to every attendee mailbox of the fake, a copy in
// the organizer's Sent Items); a PATCH or DELETE of such an event or of one
// of its occurrences sends updates or cancellations. MeetingMessagesSent
// counts them all.

// calEvent is an event as the fake stores it.
type calEvent struct {
	ID         string
	CalendarID string
	Event      mailbox.Event
	// Ext are the singleValueExtendedProperties by id.
	Ext           map[string]string `json:",omitempty"`
	TransactionID string            `json:",omitempty"`
	// AttachmentIDs are the ids of Event.Attachments, in order.
	AttachmentIDs     []string `json:",omitempty"`
	Created, Modified time.Time
	ChangeKey, Seq    int64
	// Order is the sequence at creation: listings give events in the
	// order they were made.
	Order int64 `json:",omitempty"`
	// SearchKey is PR_SEARCH_KEY (searchkey.go).
	SearchKey []byte `json:",omitempty"`
}

type calendarFolder struct {
	ID, Name string
	Default  bool
}

// StoredEvent is the fake's own view of one event, for comparing item by
// item: its id, its exmigrate stamp ("" without), and the event as
// stored (attendees as written, exceptions and cancelled occurrences).
type StoredEvent struct {
	ID, SourceID string
	Event        mailbox.Event
}

// Calendars.Read(Write) (learn.microsoft.com/graph/permissions-reference).
var (
	calendarReadRoles  = []string{"Calendars.Read", "Calendars.ReadWrite", "Calendars.ReadBasic.All"}
	calendarWriteRoles = []string{"Calendars.ReadWrite"}
)

// graphDateTime is the dateTime of a dateTimeTimeZone.
const graphDateTime = "2006-01-02T15:04:05.0000000"

// maxEventAttendees is Graph's limit (resources/event: "maximum of 500").
const maxEventAttendees = 500

// maxEventAttachmentBytes: a larger attachment takes an upload session
// (learn.microsoft.com/graph/outlook-large-attachments).
const maxEventAttachmentBytes = 3 << 20

// maxExpand bounds an expansion in the fake.
const maxExpand = 5000

func (mb *mbox) initCalendar(s *Server) {
	c := &calendarFolder{ID: s.nextID("AAMkCAL"), Name: "Calendar", Default: true}
	mb.calendars = map[string]*calendarFolder{c.ID: c}
	mb.calOrder = []string{c.ID}
	mb.defCalendar = c.ID
	mb.events = map[string]*calEvent{}
	mb.evRemoved = map[string][]tombstone{}
}

func (mb *mbox) calendarEvents(calID string) []*calEvent {
	var out []*calEvent
	for _, e := range mb.events {
		if e.CalendarID == calID {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b *calEvent) int {
		if a.Order != b.Order {
			return cmp.Compare(a.Order, b.Order)
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

var calendarDef = &entityDef{
	name:   "microsoft.graph.calendar",
	props:  []string{"id", "name", "color", "hexColor", "isDefaultCalendar", "changeKey", "canShare", "canViewPrivateItems", "canEdit", "owner", "allowedOnlineMeetingProviders", "defaultOnlineMeetingProvider", "isRemovable", "isTallyingResponses"},
	navs:   []string{"calendarPermissions", "calendarView", "events", "multiValueExtendedProperties", "singleValueExtendedProperties"},
	filter: calendarSchema,
}

var calendarSchema = newSchema("microsoft.graph.calendar",
	&propDef{name: "id", typ: edmString, get: func(v any) any { return v.(*calendarFolder).ID }},
	&propDef{name: "name", typ: edmString, get: func(v any) any { return v.(*calendarFolder).Name }},
)

// eventWritable are the properties a client may write on create
// (resources/event; event-update lists the updatable ones).
var eventWritable = []string{"subject", "body", "start", "end", "location", "locations", "isAllDay", "showAs", "sensitivity", "importance",
	"categories", "isReminderOn", "reminderMinutesBeforeStart", "attendees", "recurrence", "transactionId", "responseRequested",
	"allowNewTimeProposals", "hideAttendees", "isOnlineMeeting", "onlineMeetingProvider", "singleValueExtendedProperties",
	"multiValueExtendedProperties"}

var eventDef = &entityDef{
	name: "microsoft.graph.event",
	props: []string{"id", "changeKey", "createdDateTime", "lastModifiedDateTime", "categories", "subject", "body", "bodyPreview", "start", "end",
		"originalStart", "originalStartTimeZone", "originalEndTimeZone", "location", "locations", "isAllDay", "showAs", "sensitivity",
		"importance", "isReminderOn", "reminderMinutesBeforeStart", "isCancelled", "isOrganizer", "organizer", "responseStatus",
		"attendees", "type", "seriesMasterId", "recurrence", "iCalUId", "hasAttachments", "onlineMeetingUrl", "isOnlineMeeting",
		"onlineMeetingProvider", "onlineMeeting", "webLink", "transactionId", "responseRequested", "allowNewTimeProposals",
		"hideAttendees", "isDraft"},
	navs:   []string{"attachments", "calendar", "extensions", "instances", "multiValueExtendedProperties", "singleValueExtendedProperties"},
	filter: eventSchema,
}

var eventSchema = newSchema("microsoft.graph.event",
	&propDef{name: "id", typ: edmString, get: func(v any) any { return v.(*calEvent).ID }},
	&propDef{name: "subject", typ: edmString, get: func(v any) any { return v.(*calEvent).Event.Subject }},
	&propDef{name: "type", typ: edmString, get: func(v any) any { return eventType(v.(*calEvent)) }},
	&propDef{name: "singleValueExtendedProperties", typ: edmComplex, coll: true, sub: singleValuePropSchema, get: func(v any) any {
		e := v.(*calEvent)
		out := make([]any, 0, len(e.Ext))
		for id, val := range e.Ext {
			out = append(out, extProp{ID: id, Value: val})
		}
		return out
	}},
)

func eventType(e *calEvent) string {
	if e.Event.Recurrence != nil {
		return "seriesMaster"
	}
	return "singleInstance"
}

// ---------------------------------------------------------------- wire

type wireDTZ struct {
	DateTime string `json:"dateTime"`
	TimeZone string `json:"timeZone"`
}

type wireBody struct {
	ContentType string `json:"contentType"`
	Content     string `json:"content"`
}

// read is the body's content and whether it is HTML; false for a
// contentType Graph does not know.
func (b wireBody) read() (content string, isHTML, ok bool) {
	switch strings.ToLower(b.ContentType) {
	case "text", "":
		return b.Content, false, true
	case "html":
		return b.Content, true, true
	}
	return "", false, false
}

type wireRecurrence struct {
	Pattern struct {
		Type           string   `json:"type"`
		Interval       int      `json:"interval"`
		DaysOfWeek     []string `json:"daysOfWeek"`
		DayOfMonth     int      `json:"dayOfMonth"`
		Month          int      `json:"month"`
		Index          string   `json:"index"`
		FirstDayOfWeek string   `json:"firstDayOfWeek"`
	} `json:"pattern"`
	Range struct {
		Type                string `json:"type"`
		StartDate           string `json:"startDate"`
		EndDate             string `json:"endDate"`
		NumberOfOccurrences int    `json:"numberOfOccurrences"`
		RecurrenceTimeZone  string `json:"recurrenceTimeZone"`
	} `json:"range"`
}

// model is the recurrence as exmigrate holds it, not yet validated; an end
// date counts only for a range of type endDate.
func (r wireRecurrence) model() mailbox.Recurrence {
	rec := mailbox.Recurrence{Pattern: r.Pattern.Type, Interval: r.Pattern.Interval, DaysOfWeek: r.Pattern.DaysOfWeek,
		DayOfMonth: r.Pattern.DayOfMonth, Month: r.Pattern.Month, Index: r.Pattern.Index, FirstDayOfWeek: r.Pattern.FirstDayOfWeek,
		Range: r.Range.Type, StartDate: r.Range.StartDate, EndDate: r.Range.EndDate, Occurrences: r.Range.NumberOfOccurrences}
	if rec.Range != "endDate" {
		rec.EndDate = ""
	}
	return rec
}

// parseDTZ reads a Graph dateTimeTimeZone: a wall-clock
// time in a Windows zone id (or an IANA name Graph also takes, here only
// "UTC"). An unknown zone is Graph's TimeZoneNotSupportedException.
func parseDTZ(d wireDTZ) (time.Time, string, string) {
	zone := d.TimeZone
	if strings.EqualFold(zone, "UTC") || zone == "" {
		zone = ""
	}
	loc, err := mailbox.ZoneLocation(zone)
	if err != nil {
		return time.Time{}, "", fmt.Sprintf("A valid TimeZone value must be specified. The following TimeZone value is not supported: '%s'.", d.TimeZone)
	}
	t, err := time.ParseInLocation("2006-01-02T15:04:05.9999999", d.DateTime, loc)
	if err != nil {
		return time.Time{}, "", fmt.Sprintf("Cannot convert the literal '%s' to the expected type 'Edm.DateTime'.", truncate(d.DateTime, 40))
	}
	return t, zone, ""
}

var (
	wireShowAs      = map[string]string{"free": "Free", "tentative": "Tentative", "busy": "Busy", "oof": "OOF", "workingelsewhere": "WorkingElsewhere", "unknown": "Unknown"}
	wireSensitivity = map[string]string{"normal": "Normal", "personal": "Personal", "private": "Private", "confidential": "Confidential"}
	wireImportance  = map[string]mailbox.Importance{"low": mailbox.ImportanceLow, "normal": mailbox.ImportanceNormal, "high": mailbox.ImportanceHigh}
	wireAttType     = map[string]string{"required": "Required", "optional": "Optional", "resource": "Resource"}
)

func showAsWire(v string) string {
	for k, x := range wireShowAs {
		if x == v {
			if k == "workingelsewhere" {
				return "workingElsewhere"
			}
			return k
		}
	}
	return "busy"
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

func responseWire(r string) string {
	switch r {
	case "Organizer":
		return "organizer"
	case "Tentative":
		return "tentativelyAccepted"
	case "Accept":
		return "accepted"
	case "Decline":
		return "declined"
	case "NoResponseReceived":
		return "notResponded"
	}
	return "none"
}

// eventPatch is a parsed create or update body.
type eventPatch struct {
	set       map[string]bool
	ev        mailbox.Event
	startZone string
	ext       map[string]string
	txn       string
}

// parseEvent checks an event body as Graph does: unknown or read-only
// properties, wrong types, unknown zones and enumerations, more than 500
// attendees are 400. create allows transactionId.
func parseEvent(body []byte, create bool) (*eventPatch, string, string) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil || raw == nil {
		return nil, "BadRequest", "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format."
	}
	p := &eventPatch{set: map[string]bool{}, ext: map[string]string{}}
	bad := func(name string, v json.RawMessage) (*eventPatch, string, string) {
		return nil, "RequestBodyRead", fmt.Sprintf("Cannot convert the literal '%s' to the expected type of property '%s'.", truncate(string(v), 40), name)
	}
	for k, v := range raw {
		if strings.HasPrefix(k, "@odata.") {
			continue
		}
		i := slices.IndexFunc(eventWritable, func(a string) bool { return strings.EqualFold(a, k) })
		if i < 0 || (!create && eventWritable[i] == "transactionId") {
			return nil, "RequestBodyRead", fmt.Sprintf("The property '%s' does not exist on type 'microsoft.graph.event'. Make sure to only use property names that are defined by the type or mark the type as open type.", k)
		}
		name := eventWritable[i]
		p.set[name] = true
		var err error
		switch name {
		case "subject", "transactionId", "onlineMeetingProvider":
			var s *string
			if err = json.Unmarshal(v, &s); err == nil && s != nil {
				if name == "subject" {
					p.ev.Subject = *s
				} else if name == "transactionId" {
					p.txn = *s
				}
			}
		case "body":
			var b wireBody
			if err = json.Unmarshal(v, &b); err == nil {
				var ok bool
				if p.ev.Body, p.ev.BodyHTML, ok = b.read(); !ok {
					return bad(name, v)
				}
			}
		case "start", "end":
			var d wireDTZ
			if err = json.Unmarshal(v, &d); err != nil {
				return bad(name, v)
			}
			t, zone, zerr := parseDTZ(d)
			if zerr != "" {
				return nil, "TimeZoneNotSupportedException", zerr
			}
			if name == "start" {
				p.ev.Start, p.startZone = t.UTC(), zone
			} else {
				p.ev.End = t.UTC()
			}
		case "location":
			var l struct {
				DisplayName string `json:"displayName"`
			}
			if err = json.Unmarshal(v, &l); err == nil {
				p.ev.Location = l.DisplayName
			}
		case "locations", "multiValueExtendedProperties":
			var xs []map[string]any
			err = json.Unmarshal(v, &xs)
		case "isAllDay", "isReminderOn", "responseRequested", "allowNewTimeProposals", "hideAttendees", "isOnlineMeeting":
			var b bool
			if err = json.Unmarshal(v, &b); err == nil {
				switch name {
				case "isAllDay":
					p.ev.IsAllDay = b
				case "isReminderOn":
					p.ev.ReminderOn = b
				}
			}
		case "showAs", "sensitivity", "importance":
			var s string
			if err = json.Unmarshal(v, &s); err != nil {
				return bad(name, v)
			}
			ok := false
			switch name {
			case "showAs":
				p.ev.ShowAs, ok = wireShowAs[strings.ToLower(s)]
			case "sensitivity":
				p.ev.Sensitivity, ok = wireSensitivity[strings.ToLower(s)]
			case "importance":
				p.ev.Importance, ok = wireImportance[strings.ToLower(s)]
			}
			if !ok {
				return nil, "RequestBodyRead", fmt.Sprintf("The value '%s' is not valid for property '%s'.", truncate(s, 40), name)
			}
		case "categories":
			err = json.Unmarshal(v, &p.ev.Categories)
		case "reminderMinutesBeforeStart":
			err = json.Unmarshal(v, &p.ev.ReminderMinutes)
		case "attendees":
			var as []struct {
				Type         string `json:"type"`
				EmailAddress struct {
					Name    string `json:"name"`
					Address string `json:"address"`
				} `json:"emailAddress"`
			}
			if err = json.Unmarshal(v, &as); err != nil {
				return bad(name, v)
			}
			if len(as) > maxEventAttendees {
				return nil, "ErrorInvalidRequest", fmt.Sprintf("An event can have at most %d attendees.", maxEventAttendees)
			}
			for _, a := range as {
				typ, ok := wireAttType[strings.ToLower(a.Type)]
				if a.Type == "" {
					typ, ok = "Required", true
				}
				if !ok || a.EmailAddress.Address == "" {
					return bad(name, v)
				}
				p.ev.Attendees = append(p.ev.Attendees, mailbox.Attendee{Name: a.EmailAddress.Name, Address: a.EmailAddress.Address, Type: typ, Response: "NoResponseReceived"})
			}
		case "recurrence":
			if string(v) == "null" {
				continue
			}
			var r wireRecurrence
			if err = json.Unmarshal(v, &r); err != nil {
				return bad(name, v)
			}
			rec := r.model()
			if rec.Interval < 1 {
				return nil, "ErrorInvalidRequest", "The recurrence pattern's interval must be at least 1."
			}
			if verr := rec.Validate(); verr != nil {
				return nil, "ErrorInvalidRequest", "The recurrence is not valid: " + verr.Error()
			}
			p.ev.Recurrence = &rec
		case "singleValueExtendedProperties":
			var ps []extProp
			if err = json.Unmarshal(v, &ps); err != nil {
				return bad(name, v)
			}
			for _, x := range ps {
				if strings.TrimSpace(x.ID) == "" {
					return nil, "ErrorInvalidExtendedProperty", "The extended property has no id."
				}
				p.ext[x.ID] = x.Value
			}
		}
		if err != nil {
			return bad(name, v)
		}
	}
	return p, "", ""
}

// apply sets the patch's properties on e.
func (p *eventPatch) apply(e *mailbox.Event) {
	for name := range p.set {
		switch name {
		case "subject":
			e.Subject = p.ev.Subject
		case "body":
			e.Body, e.BodyHTML = p.ev.Body, p.ev.BodyHTML
		case "start":
			e.Start, e.TimeZone = p.ev.Start, p.startZone
		case "end":
			e.End = p.ev.End
		case "location":
			e.Location = p.ev.Location
		case "isAllDay":
			e.IsAllDay = p.ev.IsAllDay
		case "isReminderOn":
			e.ReminderOn = p.ev.ReminderOn
		case "reminderMinutesBeforeStart":
			e.ReminderMinutes = p.ev.ReminderMinutes
		case "showAs":
			e.ShowAs = p.ev.ShowAs
		case "sensitivity":
			e.Sensitivity = p.ev.Sensitivity
		case "importance":
			e.Importance = p.ev.Importance
		case "categories":
			e.Categories = p.ev.Categories
		case "attendees":
			e.Attendees = p.ev.Attendees
		case "recurrence":
			e.Recurrence = p.ev.Recurrence
		}
	}
}

// checkEvent is what Graph refuses of a whole event: an end before its
// start, an all-day event not from midnight to midnight, a recurrence
// whose start date is not the start's date.
func checkEvent(e mailbox.Event) (string, string) {
	if e.Start.IsZero() || e.End.IsZero() {
		return "ErrorInvalidRequest", "An event needs a start and an end."
	}
	if e.End.Before(e.Start) {
		return "ErrorInvalidRequest", "The end of the event is before its start."
	}
	loc, _ := mailbox.ZoneLocation(e.TimeZone)
	if e.IsAllDay {
		for _, t := range []time.Time{e.Start, e.End} {
			if l := t.In(loc); l.Hour() != 0 || l.Minute() != 0 || l.Second() != 0 {
				return "ErrorInvalidRequest", "An all-day event's start and end must be at midnight."
			}
		}
	}
	if e.Recurrence != nil && e.Recurrence.StartDate != e.Start.In(loc).Format(time.DateOnly) {
		return "ErrorInvalidRequest", "The recurrence range's startDate must be the date of the event's start."
	}
	return "", ""
}

// ---------------------------------------------------------------- JSON

func dtzJSON(t time.Time, allDay bool, zone string) map[string]any {
	// Graph answers in UTC unless Prefer: outlook.timezone asks otherwise;
	// an all-day event is floating: its midnight in the answer's zone.
	if allDay {
		loc, _ := mailbox.ZoneLocation(zone)
		l := t.In(loc)
		return map[string]any{"dateTime": time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, time.UTC).Format(graphDateTime), "timeZone": "UTC"}
	}
	return map[string]any{"dateTime": t.UTC().Format(graphDateTime), "timeZone": "UTC"}
}

func recurrenceJSON(r *mailbox.Recurrence, zone string) any {
	if r == nil {
		return nil
	}
	end := r.EndDate
	if end == "" {
		end = "0001-01-01"
	}
	fdw := r.FirstDayOfWeek
	if fdw == "" {
		fdw = "sunday"
	}
	idx := r.Index
	if idx == "" {
		idx = "first"
	}
	days := r.DaysOfWeek
	if days == nil {
		days = []string{}
	}
	tz := zone
	if tz == "" {
		tz = "UTC"
	}
	return map[string]any{
		"pattern": map[string]any{"type": r.Pattern, "interval": r.Interval, "month": r.Month, "dayOfMonth": r.DayOfMonth,
			"daysOfWeek": days, "firstDayOfWeek": fdw, "index": idx},
		"range": map[string]any{"type": r.Range, "startDate": r.StartDate, "endDate": end, "recurrenceTimeZone": tz,
			"numberOfOccurrences": r.Occurrences},
	}
}

// eventView is what a request asks of an event.
type eventView struct {
	sel []string
	sv  *compiledFilter
	// text: Prefer: outlook.body-content-type="text" asks for bodies as
	// text; without it Outlook answers a body written as text as HTML.
	text bool
}

// preferText reads Prefer: outlook.body-content-type="text".
func preferText(r *http.Request) bool {
	for _, p := range r.Header.Values("Prefer") {
		for _, part := range strings.Split(p, ",") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(part), "outlook.body-content-type="); ok {
				return strings.EqualFold(strings.Trim(v, `"`), "text")
			}
		}
	}
	return false
}

// bodyAs is a body as an answer gives it: a text body as Outlook's HTML
// unless text is asked for, an HTML body as text (its tags dropped) when
// it is.
func bodyAs(content string, isHTML, text bool) (string, string) {
	switch {
	case isHTML && text:
		var b strings.Builder
		in := false
		for _, r := range content {
			switch {
			case r == '<':
				in = true
			case r == '>':
				in = false
			case !in:
				b.WriteRune(r)
			}
		}
		return "text", html.UnescapeString(b.String())
	case !isHTML && !text:
		return "html", "<html><head>\r\n<meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\">\r\n</head>\r\n<body>\r\n<div>" +
			strings.ReplaceAll(html.EscapeString(content), "\n", "<br>\r\n") + "</div>\r\n</body>\r\n</html>\r\n"
	case isHTML:
		return "html", content
	}
	return "text", content
}

func eventViewOf(o *queryOptions, r *http.Request) (*eventView, *queryError) {
	sv, qe := extPropView(eventDef, o, "events")
	if qe != nil {
		return nil, qe
	}
	return &eventView{text: preferText(r), sel: o.sel, sv: sv}, nil
}

// occurrence is one instance of a series as /instances gives it.
type occurrence struct {
	master *calEvent
	occ    mailbox.Occurrence
	exc    bool
}

func instanceID(masterID string, originalStart time.Time) string {
	return base64.URLEncoding.EncodeToString([]byte("OCC|" + masterID + "|" + strconv.FormatInt(originalStart.Unix(), 10)))
}

func parseInstanceID(id string) (string, time.Time, bool) {
	b, err := base64.URLEncoding.DecodeString(id)
	if err != nil {
		return "", time.Time{}, false
	}
	parts := strings.Split(string(b), "|")
	if len(parts) != 3 || parts[0] != "OCC" {
		return "", time.Time{}, false
	}
	sec, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil {
		return "", time.Time{}, false
	}
	return parts[1], time.Unix(sec, 0).UTC(), true
}

func (s *Server) eventJSON(mb *mbox, e *calEvent, oc *occurrence, v *eventView) map[string]any {
	ev := e.Event
	typ := eventType(e)
	id := e.ID
	start, end := ev.Start, ev.End
	subject, location, body := ev.Subject, ev.Location, ev.Body
	if oc != nil {
		typ, id = "occurrence", instanceID(e.ID, oc.occ.OriginalStart)
		if oc.exc {
			typ = "exception"
		}
		start, end = oc.occ.Start, oc.occ.End
		if oc.occ.Subject != "" {
			subject = oc.occ.Subject
		}
		if oc.occ.Location != "" {
			location = oc.occ.Location
		}
		if oc.occ.Body != "" {
			body = oc.occ.Body
		}
	}
	ct, content := bodyAs(body, ev.BodyHTML, v != nil && v.text)
	zone := ev.TimeZone
	if zone == "" {
		zone = "UTC"
	}
	atts := []any{}
	for _, a := range ev.Attendees {
		resp := responseWire(a.Response)
		atts = append(atts, map[string]any{"type": strings.ToLower(a.Type), "status": map[string]any{"response": resp, "time": "0001-01-01T00:00:00Z"},
			"emailAddress": map[string]any{"name": a.Name, "address": a.Address}})
	}
	// The organizer is the owner for an event the owner made; a meeting
	// the owner was invited to keeps its organizer and the owner's answer.
	org := ev.Organizer
	orgName, orgAddr, myResponse := mb.address, mb.address, "organizer"
	if org != nil {
		orgName, orgAddr = org.Name, org.Address
	}
	if org != nil && !strings.EqualFold(org.Address, mb.address) {
		myResponse = responseWire(ev.MyResponse)
	}
	cats := ev.Categories
	if cats == nil {
		cats = []string{}
	}
	j := map[string]any{
		"@odata.etag":                fmt.Sprintf(`W/"DwAAABYAAAA%d"`, e.ChangeKey),
		"id":                         id,
		"changeKey":                  fmt.Sprintf("DwAAABYAAAA%d", e.ChangeKey),
		"createdDateTime":            e.Created.Format(graphTime),
		"lastModifiedDateTime":       e.Modified.Format(graphTime),
		"categories":                 cats,
		"transactionId":              optional(e.TransactionID),
		"originalStartTimeZone":      zone,
		"originalEndTimeZone":        zone,
		"iCalUId":                    "040000008200E00074C5B7101A82E008" + strings.ToUpper(fmt.Sprintf("%x", e.Seq)),
		"reminderMinutesBeforeStart": ev.ReminderMinutes,
		"isReminderOn":               ev.ReminderOn,
		"hasAttachments":             len(ev.Attachments) > 0,
		"subject":                    subject,
		"bodyPreview":                truncate(body, 255),
		"importance":                 strings.ToLower(string(ev.Importance)),
		"sensitivity":                strings.ToLower(ev.Sensitivity),
		"isAllDay":                   ev.IsAllDay,
		"isCancelled":                ev.IsCancelled,
		"isOrganizer":                org == nil || strings.EqualFold(org.Address, mb.address),
		"responseRequested":          true,
		"seriesMasterId":             nil,
		"showAs":                     showAsWire(ev.ShowAs),
		"type":                       typ,
		"webLink":                    "https://outlook.office365.com/owa/?itemid=" + url.QueryEscape(id),
		"onlineMeetingUrl":           nil,
		"isOnlineMeeting":            false,
		"onlineMeetingProvider":      "unknown",
		"onlineMeeting":              nil,
		"allowNewTimeProposals":      true,
		"hideAttendees":              false,
		"isDraft":                    false,
		"responseStatus":             map[string]any{"response": myResponse, "time": "0001-01-01T00:00:00Z"},
		"body":                       map[string]any{"contentType": ct, "content": content},
		"start":                      dtzJSON(start, ev.IsAllDay, ev.TimeZone),
		"end":                        dtzJSON(end, ev.IsAllDay, ev.TimeZone),
		"location":                   map[string]any{"displayName": location, "locationType": "default", "uniqueIdType": "unknown"},
		"locations":                  []any{},
		"recurrence":                 recurrenceJSON(ev.Recurrence, ev.TimeZone),
		"attendees":                  atts,
		"organizer":                  map[string]any{"emailAddress": map[string]any{"name": orgName, "address": orgAddr}},
	}
	if ev.OnlineMeetingURL != "" {
		// Only a meeting the user made has one (onlineMeeting is
		// read-only in Graph).
		j["isOnlineMeeting"], j["onlineMeetingProvider"] = true, "teamsForBusiness"
		j["onlineMeeting"] = map[string]any{"joinUrl": ev.OnlineMeetingURL}
	}
	if ev.Sensitivity == "" {
		j["sensitivity"] = "normal"
	}
	if ev.Importance == "" {
		j["importance"] = "normal"
	}
	if oc != nil {
		j["seriesMasterId"] = e.ID
		j["recurrence"] = nil
		j["originalStart"] = oc.occ.OriginalStart.UTC().Format(time.RFC3339)
		j["subject"], j["location"] = subject, map[string]any{"displayName": location, "locationType": "default", "uniqueIdType": "unknown"}
	}
	if v == nil {
		return j
	}
	j = selectJSON(v.sel, j)
	addExtProps(j, v.sv, withSearchKey(e.Ext, e.SearchKey))
	return j
}

// ---------------------------------------------------------------- routes

// routeCalendar serves /calendars..., /calendar/..., /events...,
// /calendarView...; it reports whether the path was one of them.
func (s *Server) routeCalendar(q *req) bool {
	seg, m := q.seg, q.method()
	n := len(seg)
	if n == 0 {
		return false
	}
	switch seg[0] {
	case "calendars":
		if n == 1 {
			s.calendars(q)
			return true
		}
		c := lookup(s, q, seg[1], func() *calendarFolder { return q.mb.calendars[seg[1]] })
		if c == nil {
			return true
		}
		s.calendarSub(q, c, seg[2:])
	case "calendar":
		s.mu.Lock()
		c := q.mb.calendars[q.mb.defCalendar]
		s.mu.Unlock()
		s.calendarSub(q, c, seg[1:])
	case "events":
		if n == 1 {
			s.mu.Lock()
			c := q.mb.calendars[q.mb.defCalendar]
			s.mu.Unlock()
			s.events(q, c)
			return true
		}
		s.event(q, seg[1], seg[2:])
	case "calendarView":
		switch {
		case n == 1 && m == http.MethodGet:
			s.calendarView(q, "")
		case n == 2 && isDelta(seg[1]) && m == http.MethodGet:
			s.calendarViewDelta(q)
		default:
			graphError(q.w, http.StatusBadRequest, "BadRequest", "Unsupported segment or method.")
		}
	default:
		return false
	}
	return true
}

func (s *Server) calendarSub(q *req, c *calendarFolder, rest []string) {
	m := q.method()
	switch {
	case len(rest) == 0 && m == http.MethodGet:
		s.getSelected(q, calendarReadRoles, calendarDef, func(sel []string) map[string]any { return calendarJSON(q.mb, c, sel) })
	case len(rest) == 0 && m == http.MethodDelete:
		if !s.need(q, calendarWriteRoles) {
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if c.Default {
			graphError(q.w, http.StatusBadRequest, "ErrorInvalidRequest", "The default calendar cannot be deleted.")
			return
		}
		for id, e := range q.mb.events {
			if e.CalendarID == c.ID {
				s.meetingMessagesLocked(q.mb, e.Event, "meetingCancelled")
				delete(q.mb.events, id)
			}
		}
		delete(q.mb.calendars, c.ID)
		q.mb.calOrder = slices.DeleteFunc(q.mb.calOrder, func(id string) bool { return id == c.ID })
		q.w.WriteHeader(http.StatusNoContent)
	case len(rest) == 1 && rest[0] == "events":
		s.events(q, c)
	case len(rest) >= 2 && rest[0] == "events":
		// An event named under its calendar: one of that calendar only.
		s.mu.Lock()
		e := q.mb.events[rest[1]]
		s.mu.Unlock()
		if e != nil && e.CalendarID != c.ID {
			graphError(q.w, http.StatusNotFound, "ErrorItemNotFound", "The specified object was not found in the store.")
			return
		}
		s.event(q, rest[1], rest[2:])
	case len(rest) == 1 && rest[0] == "calendarView" && m == http.MethodGet:
		s.calendarView(q, c.ID)
	default:
		graphError(q.w, http.StatusBadRequest, "BadRequest", "Unsupported segment or method.")
	}
}

func calendarJSON(mb *mbox, c *calendarFolder, sel []string) map[string]any {
	return selectJSON(sel, map[string]any{"id": c.ID, "name": c.Name, "color": "auto", "hexColor": "", "isDefaultCalendar": c.Default,
		"changeKey": "fJKVL07sbkmIfHqjbDnRgQAAAAACKQ==", "canShare": true, "canViewPrivateItems": true, "canEdit": true,
		"isRemovable": !c.Default, "isTallyingResponses": true, "allowedOnlineMeetingProviders": []string{"teamsForBusiness"},
		"defaultOnlineMeetingProvider": "teamsForBusiness", "owner": map[string]any{"name": mb.address, "address": mb.address}})
}

// calendars lists (GET) or creates (POST, learn.microsoft.com/graph/api/
// user-post-calendars) the mailbox's calendars; a name in use is 409
// ErrorFolderExists.
func (s *Server) calendars(q *req) {
	switch q.method() {
	case http.MethodGet:
		collection[*calendarFolder]{roles: calendarReadRoles, opts: optSelect | optFilter | optTop | optSkip | optCount | optFormat, schema: calendarSchema,
			view: func(o *queryOptions) (func(*calendarFolder) map[string]any, *queryError) {
				return func(c *calendarFolder) map[string]any { return calendarJSON(q.mb, c, o.sel) }, calendarDef.checkSelect(o.sel)
			},
			members: func(*queryOptions) []*calendarFolder { return inOrder(q.mb.calOrder, q.mb.calendars) },
		}.list(s, q)
	case http.MethodPost:
		if !s.need(q, calendarWriteRoles) {
			return
		}
		var in struct {
			Name string `json:"name"`
		}
		if !decodeStrict(q.w, q.body, "microsoft.graph.calendar", []string{"name", "color", "hexColor", "singleValueExtendedProperties", "multiValueExtendedProperties"}, &in) {
			return
		}
		if strings.TrimSpace(in.Name) == "" {
			graphError(q.w, http.StatusBadRequest, "ErrorInvalidRequest", "The calendar name is missing.")
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if nameInUse(q, in.Name, inOrder(q.mb.calOrder, q.mb.calendars), func(c *calendarFolder) string { return c.Name }) {
			return
		}
		c := &calendarFolder{ID: s.nextID("AAMkCAL"), Name: in.Name}
		q.mb.calendars[c.ID] = c
		q.mb.calOrder = append(q.mb.calOrder, c.ID)
		writeJSON(q.w, http.StatusCreated, calendarJSON(q.mb, c, nil))
	default:
		graphError(q.w, http.StatusMethodNotAllowed, "BadRequest", "Method not allowed.")
	}
}

// events lists the single instances and series masters of a calendar
// (GET, with $select, $filter, $top, $skip, $expand of extended
// properties) or creates one (POST).
func (s *Server) events(q *req, c *calendarFolder) {
	switch q.method() {
	case http.MethodGet:
		collection[*calEvent]{roles: calendarReadRoles, opts: listOpts, schema: eventSchema,
			view: func(o *queryOptions) (func(*calEvent) map[string]any, *queryError) {
				v, qe := eventViewOf(o, q.r)
				return func(e *calEvent) map[string]any { return s.eventJSON(q.mb, e, nil, v) }, qe
			},
			members: func(*queryOptions) []*calEvent { return q.mb.calendarEvents(c.ID) },
		}.list(s, q)
	case http.MethodPost:
		if !s.need(q, calendarWriteRoles) {
			return
		}
		p, code, msg := parseEvent(q.body, true)
		if code != "" {
			graphError(q.w, http.StatusBadRequest, code, msg)
			return
		}
		var ev mailbox.Event
		// Graph's defaults for what the body leaves out.
		ev.ShowAs, ev.Sensitivity, ev.Importance, ev.ReminderOn, ev.ReminderMinutes = "Busy", "Normal", mailbox.ImportanceNormal, true, 15
		p.apply(&ev)
		if code, msg := checkEvent(ev); code != "" {
			graphError(q.w, http.StatusBadRequest, code, msg)
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if p.txn != "" {
			// transactionId: a retried POST returns the event already made.
			for _, e := range q.mb.events {
				if e.TransactionID == p.txn {
					writeJSON(q.w, http.StatusCreated, s.eventJSON(q.mb, e, nil, nil))
					return
				}
			}
		}
		now := time.Now().UTC()
		e := &calEvent{ID: s.nextID("AAMkE"), CalendarID: c.ID, Event: ev, Ext: p.ext, TransactionID: p.txn, Created: now, Order: s.seq}
		if len(ev.Attendees) > 0 {
			e.Event.IsMeeting, e.Event.MyResponse = true, "Organizer"
			e.Event.Organizer = &mailbox.Attendee{Name: q.mb.address, Address: q.mb.address}
		}
		s.touchEvent(e)
		q.mb.events[e.ID] = e
		s.meetingMessagesLocked(q.mb, e.Event, "meetingRequest")
		writeJSON(q.w, http.StatusCreated, s.eventJSON(q.mb, e, nil, nil))
	default:
		graphError(q.w, http.StatusMethodNotAllowed, "BadRequest", "Method not allowed.")
	}
}

func (s *Server) touchEvent(e *calEvent) {
	ensureSearchKey(&e.SearchKey)
	s.seq++
	e.Seq = s.seq
	e.ChangeKey++
	e.Modified = time.Now().UTC()
}

// event serves /events/{id}: GET, PATCH, DELETE, and /instances and
// /attachments below it; an id may name an occurrence of a series.
func (s *Server) event(q *req, id string, rest []string) {
	s.mu.Lock()
	e := q.mb.events[id]
	var oc *occurrence
	if e == nil {
		if mid, os, ok := parseInstanceID(id); ok {
			if me := q.mb.events[mid]; me != nil {
				oc = findOccurrence(me, os, nil)
				if oc != nil {
					e = me
				}
			}
		}
	}
	s.mu.Unlock()
	if e == nil {
		notFoundOrMalformed(q.w, id)
		return
	}
	m := q.method()
	switch {
	case len(rest) == 1 && rest[0] == "instances" && m == http.MethodGet && oc == nil:
		s.instances(q, e)
		return
	case len(rest) >= 1 && rest[0] == "attachments" && oc == nil:
		s.eventAttachments(q, e, rest[1:])
		return
	case len(rest) > 0:
		graphError(q.w, http.StatusBadRequest, "BadRequest", "Unsupported segment or method.")
		return
	}
	switch m {
	case http.MethodGet:
		s.getOne(q, calendarReadRoles, entityOpts, func(o *queryOptions) (func() map[string]any, *queryError) {
			v, qe := eventViewOf(o, q.r)
			return func() map[string]any { return s.eventJSON(q.mb, e, oc, v) }, qe
		})
	case http.MethodPatch:
		if !s.need(q, calendarWriteRoles) {
			return
		}
		p, code, msg := parseEvent(q.body, false)
		if code != "" {
			graphError(q.w, http.StatusBadRequest, code, msg)
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if oc != nil {
			s.patchOccurrence(q, e, oc, p)
			return
		}
		ev := e.Event
		p.apply(&ev)
		if code, msg := checkEvent(ev); code != "" {
			graphError(q.w, http.StatusBadRequest, code, msg)
			return
		}
		if ev.Recurrence != nil && (!reflect.DeepEqual(ev.Recurrence, e.Event.Recurrence) || !ev.Start.Equal(e.Event.Start) || !ev.End.Equal(e.Event.End) || ev.TimeZone != e.Event.TimeZone) {
			// A series whose pattern or times change loses its
			// exceptions and deletions, as in Outlook; the same values
			// written again change nothing.
			ev.Exceptions, ev.Cancelled = nil, nil
		}
		if ev.Recurrence == nil {
			ev.Exceptions, ev.Cancelled = nil, nil
		}
		if len(ev.Attendees) > 0 {
			ev.IsMeeting, ev.MyResponse = true, "Organizer"
			ev.Organizer = &mailbox.Attendee{Name: q.mb.address, Address: q.mb.address}
		}
		old := e.Event
		e.Event = ev
		maps.Copy(e.Ext, p.ext)
		s.touchEvent(e)
		s.meetingMessagesLocked(q.mb, unionAttendees(old, ev), "meetingRequest")
		writeJSON(q.w, http.StatusOK, s.eventJSON(q.mb, e, nil, nil))
	case http.MethodDelete:
		if !s.need(q, calendarWriteRoles) {
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if oc != nil {
			e.Event.Cancelled = append(e.Event.Cancelled, oc.occ.OriginalStart)
			e.Event.Exceptions = slices.DeleteFunc(e.Event.Exceptions, func(x mailbox.Occurrence) bool { return x.OriginalStart.Equal(oc.occ.OriginalStart) })
			s.touchEvent(e)
			s.meetingMessagesLocked(q.mb, e.Event, "meetingCancelled")
			q.w.WriteHeader(http.StatusNoContent)
			return
		}
		removeLocked(s, q.mb.events, q.mb.evRemoved, e.CalendarID, e.ID)
		s.meetingMessagesLocked(q.mb, e.Event, "meetingCancelled")
		q.w.WriteHeader(http.StatusNoContent)
	default:
		graphError(q.w, http.StatusMethodNotAllowed, "BadRequest", "Method not allowed.")
	}
}

func unionAttendees(a, b mailbox.Event) mailbox.Event {
	out := b
	out.Attendees = slices.Clone(b.Attendees)
	for _, x := range a.Attendees {
		if !slices.ContainsFunc(out.Attendees, func(y mailbox.Attendee) bool { return strings.EqualFold(x.Address, y.Address) }) {
			out.Attendees = append(out.Attendees, x)
		}
	}
	return out
}

// regularStarts are a series' regular occurrence starts (before
// exceptions and cancellations).
func regularStarts(e *calEvent) []time.Time {
	if e.Event.Recurrence == nil {
		return nil
	}
	starts, _ := mailbox.Expand(*e.Event.Recurrence, e.Event.Start, e.Event.TimeZone, e.Event.Start.AddDate(100, 0, 0), maxExpand)
	return starts
}

// findOccurrence is the occurrence of a series at an original start, nil
// when the series has none there (or it was cancelled).
func findOccurrence(e *calEvent, os time.Time, starts []time.Time) *occurrence {
	if starts == nil {
		starts = regularStarts(e)
	}
	if _, ok := slices.BinarySearchFunc(starts, os, func(a, b time.Time) int { return a.Compare(b) }); !ok {
		return nil
	}
	if slices.ContainsFunc(e.Event.Cancelled, func(t time.Time) bool { return t.Equal(os) }) {
		return nil
	}
	if i := slices.IndexFunc(e.Event.Exceptions, func(x mailbox.Occurrence) bool { return x.OriginalStart.Equal(os) }); i >= 0 {
		return &occurrence{master: e, occ: e.Event.Exceptions[i], exc: true}
	}
	d := e.Event.End.Sub(e.Event.Start)
	return &occurrence{master: e, occ: mailbox.Occurrence{OriginalStart: os, Start: os, End: os.Add(d)}}
}

// patchOccurrence makes an occurrence an exception (event-update on an
// instance). Only the times, subject, location and body are modelled; a
// move onto or over a neighbouring occurrence's day is
// ErrorOccurrenceCrossingBoundary (event-update).
func (s *Server) patchOccurrence(q *req, e *calEvent, oc *occurrence, p *eventPatch) {
	for name := range p.set {
		if !slices.Contains([]string{"start", "end", "subject", "location", "body"}, name) {
			graphError(q.w, http.StatusBadRequest, "ErrorInvalidRequest", fmt.Sprintf("The fake does not update '%s' on an occurrence.", name))
			return
		}
	}
	o := oc.occ
	if p.set["start"] {
		o.Start = p.ev.Start
	}
	if p.set["end"] {
		o.End = p.ev.End
	}
	if o.End.Before(o.Start) {
		graphError(q.w, http.StatusBadRequest, "ErrorInvalidRequest", "The end of the occurrence is before its start.")
		return
	}
	loc, _ := mailbox.ZoneLocation(e.Event.TimeZone)
	starts := regularStarts(e)
	i := slices.IndexFunc(starts, func(t time.Time) bool { return t.Equal(o.OriginalStart) })
	day := func(t time.Time) string { return t.In(loc).Format(time.DateOnly) }
	if (i > 0 && day(o.Start) <= day(starts[i-1])) || (i+1 < len(starts) && day(o.End) >= day(starts[i+1])) {
		graphError(q.w, http.StatusBadRequest, "ErrorOccurrenceCrossingBoundary", "An occurrence cannot overlap with or cross over a neighboring occurrence.")
		return
	}
	if p.set["subject"] {
		o.Subject = p.ev.Subject
	}
	if p.set["location"] {
		o.Location = p.ev.Location
	}
	if p.set["body"] {
		o.Body = p.ev.Body
	}
	e.Event.Exceptions = slices.DeleteFunc(e.Event.Exceptions, func(x mailbox.Occurrence) bool { return x.OriginalStart.Equal(o.OriginalStart) })
	e.Event.Exceptions = append(e.Event.Exceptions, o)
	slices.SortFunc(e.Event.Exceptions, func(a, b mailbox.Occurrence) int { return a.OriginalStart.Compare(b.OriginalStart) })
	s.touchEvent(e)
	s.meetingMessagesLocked(q.mb, e.Event, "meetingRequest")
	writeJSON(q.w, http.StatusOK, s.eventJSON(q.mb, e, &occurrence{master: e, occ: o, exc: true}, nil))
}

// window reads the startDateTime and endDateTime every calendarView and
// instances request needs; without them Graph answers 400
// ErrorInvalidParameter (microsoft-graph-docs-contrib#8385).
func window(q *req) (time.Time, time.Time, bool) {
	vals := q.r.URL.Query()
	get := func(name string) string {
		for k, v := range vals {
			if strings.EqualFold(k, name) && len(v) > 0 {
				return v[0]
			}
		}
		return ""
	}
	sv, ev := get("startDateTime"), get("endDateTime")
	parse := func(s string) (time.Time, bool) {
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.9999999", "2006-01-02T15:04", time.DateOnly} {
			if t, err := time.Parse(layout, s); err == nil {
				return t.UTC(), true
			}
		}
		return time.Time{}, false
	}
	start, ok1 := parse(sv)
	end, ok2 := parse(ev)
	if sv == "" || ev == "" {
		graphError(q.w, http.StatusBadRequest, "ErrorInvalidParameter", "This request requires a time window specified by the query string parameters StartDateTime and EndDateTime.")
		return start, end, false
	}
	if !ok1 || !ok2 {
		graphError(q.w, http.StatusBadRequest, "ErrorInvalidParameter", "The value of the parameter 'StartDateTime' or 'EndDateTime' is not a valid date and time.")
		return start, end, false
	}
	if !end.After(start) {
		graphError(q.w, http.StatusBadRequest, "ErrorInvalidParameter", "The parameter 'EndDateTime' must be after 'StartDateTime'.")
		return start, end, false
	}
	return start, end, true
}

// instancesIn are the occurrences of e (or e itself) overlapping the window.
func instancesIn(e *calEvent, start, end time.Time) []*occurrence {
	if e.Event.Recurrence == nil {
		if e.Event.Start.Before(end) && (e.Event.End.After(start) || e.Event.End.Equal(e.Event.Start) && !e.Event.Start.Before(start)) {
			return []*occurrence{nil}
		}
		return nil
	}
	var out []*occurrence
	starts := regularStarts(e)
	for _, os := range starts {
		oc := findOccurrence(e, os, starts)
		if oc != nil && oc.occ.Start.Before(end) && oc.occ.End.After(start) {
			out = append(out, oc)
		}
	}
	slices.SortFunc(out, func(a, b *occurrence) int { return a.occ.Start.Compare(b.occ.Start) })
	return out
}

// instances serves /events/{id}/instances (event-list-instances): the
// occurrences and exceptions of a series in a window, not the cancelled
// ones.
func (s *Server) instances(q *req, e *calEvent) {
	w, ok := s.windowQuery(q, optSelect|optFilter|optTop|optSkip|optFormat|optOrderby)
	if !ok {
		return
	}
	s.mu.Lock()
	var all []map[string]any
	if e.Event.Recurrence != nil {
		for _, oc := range instancesIn(e, w.start, w.end) {
			all = append(all, s.eventJSON(q.mb, e, oc, w.v))
		}
	}
	s.mu.Unlock()
	s.writePage(q, all, w.o, w.size)
}

// windowQuery is a read of the instances in a window (/instances,
// /calendarView): its options, event view, page size and window.
type windowQuery struct {
	o          *queryOptions
	v          *eventView
	size       int
	start, end time.Time
}

// windowQuery reads a window request that takes opts; it reports false
// when it has answered with an error.
func (s *Server) windowQuery(q *req, opts queryOpt) (*windowQuery, bool) {
	w := &windowQuery{}
	var ok bool
	w.o, ok = s.readQuery(q, calendarReadRoles, opts, func(o *queryOptions) (qe *queryError) {
		if w.v, qe = eventViewOf(o, q.r); qe == nil {
			w.size, qe = s.pageSize(q, o)
		}
		return qe
	})
	if !ok {
		return nil, false
	}
	w.start, w.end, ok = window(q)
	return w, ok
}

// calendarView lists every instance (single instances, occurrences,
// exceptions) of a calendar, or of the default one, in a window.
func (s *Server) calendarView(q *req, calID string) {
	w, ok := s.windowQuery(q, optSelect|optFilter|optTop|optSkip|optFormat|optOrderby|optExpand)
	if !ok {
		return
	}
	s.mu.Lock()
	if calID == "" {
		calID = q.mb.defCalendar
	}
	all := s.viewLocked(q.mb, calID, w.start, w.end, w.v)
	s.mu.Unlock()
	s.writePage(q, all, w.o, w.size)
}

func (s *Server) viewLocked(mb *mbox, calID string, start, end time.Time, v *eventView) []map[string]any {
	var all []map[string]any
	for _, e := range mb.calendarEvents(calID) {
		for _, oc := range instancesIn(e, start, end) {
			all = append(all, s.eventJSON(mb, e, oc, v))
		}
	}
	return all
}

// calendarViewDelta serves /calendarView/delta (event-delta, v1.0): the
// window is required on the first round and kept in the token; no
// $select, $filter, $expand or $orderby; a later round gives the
// instances of the events changed since and @removed for deleted ones.
func (s *Server) calendarViewDelta(q *req) {
	o, ok := s.readQuery(q, calendarReadRoles, optTop|optSkiptoken|optDeltatoken, nil)
	if !ok {
		return
	}
	var tok deltaToken
	var start, end time.Time
	raw := o.deltatoken
	if raw == "" {
		raw = o.skiptoken
	}
	s.mu.Lock()
	gen := s.deltaGen
	s.mu.Unlock()
	if raw != "" {
		t, ok := decodeToken(raw)
		if !ok || t.Folder == "" {
			graphError(q.w, http.StatusBadRequest, "ErrorInvalidUrlQuery", "The delta or skip token is malformed.")
			return
		}
		if t.Gen != gen {
			graphError(q.w, http.StatusGone, "SyncStateNotFound", "The sync state generation is not found. Please restart the sync with an empty state.")
			return
		}
		tok = t
		w := strings.SplitN(t.Filter, "/", 2)
		if len(w) != 2 {
			graphError(q.w, http.StatusBadRequest, "ErrorInvalidUrlQuery", "The delta or skip token is malformed.")
			return
		}
		a, _ := strconv.ParseInt(w[0], 10, 64)
		b, _ := strconv.ParseInt(w[1], 10, 64)
		start, end = time.Unix(a, 0).UTC(), time.Unix(b, 0).UTC()
	} else {
		var ok bool
		if start, end, ok = window(q); !ok {
			return
		}
		tok = deltaToken{Gen: gen, Folder: "calendarView", Filter: fmt.Sprintf("%d/%d", start.Unix(), end.Unix())}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	vals := []any{}
	upto := s.seq
	for _, e := range q.mb.calendarEvents(q.mb.defCalendar) {
		if e.Seq > tok.Since {
			for _, oc := range instancesIn(e, start, end) {
				vals = append(vals, s.eventJSON(q.mb, e, oc, &eventView{sel: []string{"id", "type", "start", "end", "seriesMasterId", "subject"}}))
			}
		}
	}
	if tok.Since > 0 {
		for _, t := range q.mb.evRemoved[q.mb.defCalendar] {
			if t.seq > tok.Since {
				vals = append(vals, map[string]any{"@odata.type": "#microsoft.graph.event", "id": t.id, "@removed": map[string]any{"reason": "deleted"}})
			}
		}
	}
	nt := tok
	nt.Since = upto
	base := *q.r.URL
	base.RawQuery = url.Values{"$deltatoken": {encodeToken(nt)}}.Encode()
	writeJSON(q.w, http.StatusOK, map[string]any{"value": vals, "@odata.deltaLink": linkOf(q.r, &base)})
}

// eventAttachments serves /events/{id}/attachments: GET lists them (with
// their bytes), POST adds a file attachment under 3 MB.
func (s *Server) eventAttachments(q *req, e *calEvent, rest []string) {
	if len(rest) > 0 {
		graphError(q.w, http.StatusBadRequest, "BadRequest", "Unsupported segment or method.")
		return
	}
	switch q.method() {
	case http.MethodGet:
		// The attachments in their order, with their bytes; no $filter.
		collection[int]{roles: calendarReadRoles, opts: optSelect | optTop | optSkip | optFormat,
			view: func(o *queryOptions) (func(int) map[string]any, *queryError) {
				return func(i int) map[string]any {
					a := e.Event.Attachments[i]
					return selectJSON(o.sel, map[string]any{"@odata.type": "#microsoft.graph.fileAttachment", "id": e.AttachmentIDs[i],
						"name": a.Name, "contentType": a.ContentType, "size": len(a.Data), "isInline": a.IsInline, "contentId": optional(a.ContentID),
						"lastModifiedDateTime": e.Modified.Format(graphTime), "contentBytes": base64.StdEncoding.EncodeToString(a.Data)})
				}, nil
			},
			members: func(*queryOptions) []int {
				idx := make([]int, len(e.Event.Attachments))
				for i := range idx {
					idx[i] = i
				}
				return idx
			},
		}.list(s, q)
	case http.MethodPost:
		if !s.need(q, calendarWriteRoles) {
			return
		}
		in, data, ok := fileAttachment(q)
		if !ok {
			return
		}
		if len(data) >= maxEventAttachmentBytes {
			graphError(q.w, http.StatusRequestEntityTooLarge, "ErrorRequestEntityTooLarge", "An attachment of 3 MB or more needs an upload session.")
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		id := s.nextID("AAMkA")
		e.Event.Attachments = append(e.Event.Attachments, mailbox.Attachment{Name: in.Name, ContentType: in.ContentType, ContentID: in.ContentID, IsInline: in.IsInline, Data: data})
		e.AttachmentIDs = append(e.AttachmentIDs, id)
		s.touchEvent(e)
		writeJSON(q.w, http.StatusCreated, map[string]any{"@odata.type": "#microsoft.graph.fileAttachment", "id": id, "name": in.Name,
			"contentType": in.ContentType, "size": len(data), "isInline": in.IsInline})
	default:
		graphError(q.w, http.StatusMethodNotAllowed, "BadRequest", "Method not allowed.")
	}
}

// meetingMessagesLocked is Graph's side effect of writing a meeting: one
// message of the given meetingMessageType (meetingRequest,
// meetingCancelled) to every attendee, delivered to the Inbox of each
// attendee mailbox the fake holds, and a copy in the organizer's Sent
// Items. An event without attendees sends nothing.
func (s *Server) meetingMessagesLocked(org *mbox, ev mailbox.Event, kind string) {
	if len(ev.Attendees) == 0 {
		return
	}
	now := time.Now().UTC()
	subject := ev.Subject
	if kind == "meetingCancelled" {
		subject = "Canceled: " + subject
	}
	var to []string
	for _, a := range ev.Attendees {
		to = append(to, a.Address)
		s.meetingMsgs.Add(1)
		if dst := s.mailboxes[strings.ToLower(a.Address)]; dst != nil {
			if in := dst.resolveFolder("inbox"); in != nil {
				m := &Message{ID: s.nextID("AAMkM"), FolderID: in.id, Subject: subject, BodyType: "text", Body: ev.Body, From: org.address,
					To: []string{a.Address}, Importance: "normal", FlagStatus: "notFlagged", Received: now, Sent: now, Created: now,
					MeetingMessageType: kind, ExtendedProperties: map[string]string{}}
				s.touch(m)
				m.createdSeq = m.seq
				dst.messages[m.ID] = m
			}
		}
	}
	if sent := org.resolveFolder("sentitems"); sent != nil {
		m := &Message{ID: s.nextID("AAMkM"), FolderID: sent.id, Subject: subject, BodyType: "text", Body: ev.Body, From: org.address,
			To: to, Importance: "normal", FlagStatus: "notFlagged", IsRead: true, Received: now, Sent: now, Created: now,
			MeetingMessageType: kind, ExtendedProperties: map[string]string{}}
		s.touch(m)
		m.createdSeq = m.seq
		org.messages[m.ID] = m
	}
}

// MeetingMessagesSent counts the meeting messages (requests, updates,
// cancellations) the fake has sent, one per attendee each time: what a
// write of a meeting through /events costs people. exmigrate's writes
// must leave it at 0.
func (s *Server) MeetingMessagesSent() int64 { return s.meetingMsgs.Load() }

// ---------------------------------------------------------------- fixture

// CalendarID is the id of the mailbox's default calendar.
func (f *MailboxFixture) CalendarID() string {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	return f.mb.defCalendar
}

// AddEvent stores an event as the user made it (attendees as given,
// nothing sent) in a calendar ("" is the default one) and returns its id.
func (f *MailboxFixture) AddEvent(calendarID string, ev mailbox.Event) string {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	if calendarID == "" {
		calendarID = f.mb.defCalendar
	}
	if f.mb.calendars[calendarID] == nil {
		panic("graphtest: AddEvent into unknown calendar " + calendarID)
	}
	now := time.Now().UTC()
	e := &calEvent{ID: f.s.nextID("AAMkE"), CalendarID: calendarID, Event: cloneEvent(ev), Ext: map[string]string{}, Created: now, Order: f.s.seq}
	for range ev.Attachments {
		e.AttachmentIDs = append(e.AttachmentIDs, f.s.nextID("AAMkA"))
	}
	f.s.touchEvent(e)
	f.mb.events[e.ID] = e
	return e.ID
}

// Events are the events of a calendar ("" is the default one), as the
// fake holds them, in the order they were made.
func (f *MailboxFixture) Events(calendarID string) []StoredEvent {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	if calendarID == "" {
		calendarID = f.mb.defCalendar
	}
	var out []StoredEvent
	for _, e := range f.mb.calendarEvents(calendarID) {
		out = append(out, StoredEvent{ID: e.ID, SourceID: stampOf(e.Ext), Event: cloneEvent(e.Event)})
	}
	return out
}

// UpdateEvent changes a stored event as its owner would (nothing sent);
// false when there is none of that id.
func (f *MailboxFixture) UpdateEvent(id string, change func(*mailbox.Event)) bool {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	e := f.mb.events[id]
	if e == nil {
		return false
	}
	change(&e.Event)
	for len(e.AttachmentIDs) < len(e.Event.Attachments) {
		e.AttachmentIDs = append(e.AttachmentIDs, f.s.nextID("AAMkA"))
	}
	e.AttachmentIDs = e.AttachmentIDs[:len(e.Event.Attachments)]
	f.s.touchEvent(e)
	return true
}

// Calendars are the ids and names of the mailbox's calendars, the default
// first.
func (f *MailboxFixture) Calendars() map[string]string {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	out := map[string]string{}
	for id, c := range f.mb.calendars {
		out[id] = c.Name
	}
	return out
}

func stampOf(ext map[string]string) string {
	want := "String {" + mailbox.SourceIDPropertySet + "} Name " + mailbox.SourceIDPropertyName
	for k, v := range ext {
		if normPropID(k) == normPropID(want) {
			return v
		}
	}
	return ""
}

func cloneEvent(e mailbox.Event) mailbox.Event {
	c := e
	c.Categories = slices.Clone(e.Categories)
	c.Attendees = slices.Clone(e.Attendees)
	c.Exceptions = slices.Clone(e.Exceptions)
	c.Cancelled = slices.Clone(e.Cancelled)
	c.Attachments = slices.Clone(e.Attachments)
	if e.Organizer != nil {
		o := *e.Organizer
		c.Organizer = &o
	}
	if e.Recurrence != nil {
		r := *e.Recurrence
		r.DaysOfWeek = slices.Clone(r.DaysOfWeek)
		c.Recurrence = &r
	}
	return c
}
