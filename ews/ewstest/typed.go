package ewstest

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/exmigrate/exmigrate/mailbox"
)

// Calendar items, tasks and contact groups written from their properties
// are held as the contract's models (mailbox.Event, mailbox.Task,
// mailbox.ContactGroup): the fake parses the request's t:CalendarItem,
// t:Task or t:DistributionList with its own reader (not the client's) and
// answers GetItem, FindItem and SyncFolderItems from what it holds. A
// series' occurrences come from mailbox.Expand, which the client uses too,
// so that both agree on which occurrence an InstanceIndex names.

// onlineMeetingLinkSet and onlineMeetingLinkName name the named property
// Lync and Teams keep a meeting's join link in (PS_PUBLIC_STRINGS,
// "OnlineMeetingExternalLink"); the fake answers calendar:JoinOnlineMeetingUrl
// from it. Inferred, not seen on a server.
const (
	onlineMeetingLinkSet  = "00020329-0000-0000-c000-000000000046"
	onlineMeetingLinkName = "OnlineMeetingExternalLink"
)

// exceptionClass is the message class Exchange gives a changed
// occurrence (an exception) of a series.
const exceptionClass = "IPM.OLE.CLASS.{00061055-0000-0000-C000-000000000046}"

// readOnlyCalendar are CalendarItemType properties Exchange computes: a
// CreateItem or SetItemField that sets one is refused
// (ErrorInvalidPropertySet). exchangelib marks the same fields
// is_read_only (exchangelib/items/calendar_item.py).
var readOnlyCalendar = []string{"Organizer", "MyResponseType", "IsMeeting", "IsCancelled", "IsRecurring",
	"CalendarItemType", "ModifiedOccurrences", "DeletedOccurrences", "FirstOccurrence", "LastOccurrence",
	"MeetingRequestWasSent", "AppointmentState", "ConflictingMeetingCount", "AdjacentMeetingCount", "OriginalStart",
	"JoinOnlineMeetingUrl"}

// readOnlyTask are TaskType properties Exchange computes (exchangelib's
// items/task.py marks them read-only): Owner, Delegator and the rest.
var readOnlyTask = []string{"Owner", "Delegator", "DelegationState", "IsComplete", "IsRecurring", "IsTeamTask",
	"ChangeCount", "AssignedTime", "IsAssignmentEditable"}

func invalidSet(n *node, what string) error {
	return &ewsError{code: "ErrorInvalidPropertySet", text: "Set action is invalid for property: " + what + ".", path: n}
}

var monthNames = []string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// parseRecurrenceNode reads RecurrenceType (or TaskRecurrenceType); a
// regenerating task pattern has no model and is refused.
func parseRecurrenceNode(n *node) (*mailbox.Recurrence, error) {
	kids := n.kids()
	if len(kids) != 2 {
		return nil, errf("ErrorSchemaValidation", "A recurrence holds one pattern and one range.")
	}
	p, rg := kids[0], kids[1]
	r := &mailbox.Recurrence{}
	r.Interval, _ = strconv.Atoi(p.child(nsTypes, "Interval").value())
	days := func() {
		for _, d := range strings.Fields(p.child(nsTypes, "DaysOfWeek").value()) {
			r.DaysOfWeek = append(r.DaysOfWeek, strings.ToLower(d))
		}
	}
	month := func() { r.Month = slices.Index(monthNames, p.child(nsTypes, "Month").value()) + 1 }
	switch p.name.Local {
	case "DailyRecurrence":
		r.Pattern = "daily"
	case "WeeklyRecurrence":
		r.Pattern = "weekly"
		days()
		r.FirstDayOfWeek = strings.ToLower(p.child(nsTypes, "FirstDayOfWeek").value())
	case "AbsoluteMonthlyRecurrence":
		r.Pattern = "absoluteMonthly"
		r.DayOfMonth, _ = strconv.Atoi(p.child(nsTypes, "DayOfMonth").value())
	case "RelativeMonthlyRecurrence":
		r.Pattern = "relativeMonthly"
		days()
		r.Index = strings.ToLower(p.child(nsTypes, "DayOfWeekIndex").value())
	case "AbsoluteYearlyRecurrence":
		r.Pattern = "absoluteYearly"
		r.DayOfMonth, _ = strconv.Atoi(p.child(nsTypes, "DayOfMonth").value())
		month()
		r.Interval = 1
	case "RelativeYearlyRecurrence":
		r.Pattern = "relativeYearly"
		days()
		r.Index = strings.ToLower(p.child(nsTypes, "DayOfWeekIndex").value())
		month()
		r.Interval = 1
	default:
		return nil, errf("ErrorUnsupportedRecurrence", "The fake holds no %s recurrence.", p.name.Local)
	}
	r.StartDate = strings.TrimSuffix(rg.child(nsTypes, "StartDate").value(), "Z")
	switch rg.name.Local {
	case "NoEndRecurrence":
		r.Range = "noEnd"
	case "EndDateRecurrence":
		r.Range = "endDate"
		r.EndDate = strings.TrimSuffix(rg.child(nsTypes, "EndDate").value(), "Z")
	case "NumberedRecurrence":
		r.Range = "numbered"
		r.Occurrences, _ = strconv.Atoi(rg.child(nsTypes, "NumberOfOccurrences").value())
	default:
		return nil, errf("ErrorSchemaValidation", "The recurrence has no range.")
	}
	if err := r.Validate(); err != nil {
		return nil, errf("ErrorCalendarInvalidRecurrence", "%v", err)
	}
	return r, nil
}

func writeRecurrence(x *xw, r *mailbox.Recurrence) {
	x.start(nsTypes, "Recurrence")
	days := func() {
		var ds []string
		for _, d := range r.DaysOfWeek {
			ds = append(ds, upperFirst(d))
		}
		x.leaf(nsTypes, "DaysOfWeek", strings.Join(ds, " "))
	}
	interval := strconv.Itoa(max(r.Interval, 1))
	month := func() {
		if r.Month > 0 {
			x.leaf(nsTypes, "Month", monthNames[r.Month-1])
		}
	}
	switch r.Pattern {
	case "daily":
		x.start(nsTypes, "DailyRecurrence")
		x.leaf(nsTypes, "Interval", interval)
	case "weekly":
		x.start(nsTypes, "WeeklyRecurrence")
		x.leaf(nsTypes, "Interval", interval)
		days()
		if r.FirstDayOfWeek != "" {
			x.leaf(nsTypes, "FirstDayOfWeek", upperFirst(r.FirstDayOfWeek))
		}
	case "absoluteMonthly":
		x.start(nsTypes, "AbsoluteMonthlyRecurrence")
		x.leaf(nsTypes, "Interval", interval)
		x.leaf(nsTypes, "DayOfMonth", strconv.Itoa(r.DayOfMonth))
	case "relativeMonthly":
		x.start(nsTypes, "RelativeMonthlyRecurrence")
		x.leaf(nsTypes, "Interval", interval)
		days()
		x.leaf(nsTypes, "DayOfWeekIndex", upperFirst(r.Index))
	case "absoluteYearly":
		x.start(nsTypes, "AbsoluteYearlyRecurrence")
		x.leaf(nsTypes, "DayOfMonth", strconv.Itoa(r.DayOfMonth))
		month()
	case "relativeYearly":
		x.start(nsTypes, "RelativeYearlyRecurrence")
		days()
		x.leaf(nsTypes, "DayOfWeekIndex", upperFirst(r.Index))
		month()
	}
	x.end()
	switch r.Range {
	case "noEnd":
		x.start(nsTypes, "NoEndRecurrence")
		x.leaf(nsTypes, "StartDate", r.StartDate)
	case "endDate":
		x.start(nsTypes, "EndDateRecurrence")
		x.leaf(nsTypes, "StartDate", r.StartDate)
		x.leaf(nsTypes, "EndDate", r.EndDate)
	default:
		x.start(nsTypes, "NumberedRecurrence")
		x.leaf(nsTypes, "StartDate", r.StartDate)
		x.leaf(nsTypes, "NumberOfOccurrences", strconv.Itoa(r.Occurrences))
	}
	x.end()
	x.end()
}

// parseFileAttachments reads the t:FileAttachment elements of an item to
// create; an ItemAttachment is refused (the fake holds none written so).
func parseFileAttachments(n *node) ([]mailbox.Attachment, []byte, error) {
	var out []mailbox.Attachment
	var photo []byte
	for _, a := range n.kids() {
		if !a.is(nsTypes, "FileAttachment") {
			return nil, nil, errf("ErrorInvalidRequest", "The fake creates file attachments only.")
		}
		data, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(a.child(nsTypes, "Content").value()), ""))
		if err != nil {
			return nil, nil, errf("ErrorSchemaValidation", "The attachment's Content is not base64.")
		}
		if v := a.child(nsTypes, "IsContactPhoto").value(); v == "true" || v == "1" {
			photo = data
			continue
		}
		inline := a.child(nsTypes, "IsInline").value()
		out = append(out, mailbox.Attachment{Name: a.child(nsTypes, "Name").value(), ContentType: a.child(nsTypes, "ContentType").value(),
			ContentID: a.child(nsTypes, "ContentId").value(), IsInline: inline == "true" || inline == "1", Data: data})
	}
	return out, photo, nil
}

func parseBody(n *node) (string, bool) {
	if n == nil {
		return "", false
	}
	return n.text.String(), strings.EqualFold(n.attr("BodyType"), "HTML")
}

func parseStrings(n *node) []string {
	var out []string
	for _, s := range n.all(nsTypes, "String") {
		out = append(out, s.value())
	}
	return out
}

func boolOf(n *node) bool { v := n.value(); return v == "true" || v == "1" }

// commonProps are the ItemType properties calendar items and tasks share.
type commonProps struct {
	subject, body, sensitivity string
	html, reminderOn           bool
	importance                 mailbox.Importance
	categories                 []string
	attachments                []mailbox.Attachment
}

// parseCommon refuses the read-only properties of an item to write (the
// type's FieldURI prefix names them in the error) and reads the shared
// ones.
func parseCommon(in *node, readOnly []string, prefix string) (commonProps, error) {
	var c commonProps
	for _, k := range in.kids() {
		if slices.Contains(readOnly, k.name.Local) {
			return c, invalidSet(k, prefix+k.name.Local)
		}
	}
	c.subject = in.child(nsTypes, "Subject").value()
	c.body, c.html = parseBody(in.child(nsTypes, "Body"))
	c.sensitivity = in.child(nsTypes, "Sensitivity").value()
	c.importance = mailbox.Importance(in.child(nsTypes, "Importance").value())
	c.categories = parseStrings(in.child(nsTypes, "Categories"))
	c.reminderOn = boolOf(in.child(nsTypes, "ReminderIsSet"))
	if a := in.child(nsTypes, "Attachments"); a != nil {
		atts, _, err := parseFileAttachments(a)
		if err != nil {
			return c, err
		}
		c.attachments = atts
	}
	return c, nil
}

// parseEventNode reads a t:CalendarItem to create (or the partial one of
// a SetItemField). The attendees' ResponseType is not taken: a response
// is what an attendee answers, and Exchange keeps what their replies say
// (inferred from the EWS Managed API, whose Attendee.ResponseType has no
// public setter; not seen on a server).
func parseEventNode(in *node) (mailbox.Event, error) {
	var e mailbox.Event
	c, err := parseCommon(in, readOnlyCalendar, "calendar:")
	if err != nil {
		return e, err
	}
	e.Subject, e.Body, e.BodyHTML, e.Sensitivity, e.Importance, e.Categories, e.ReminderOn, e.Attachments =
		c.subject, c.body, c.html, c.sensitivity, c.importance, c.categories, c.reminderOn, c.attachments
	e.ReminderMinutes, _ = strconv.Atoi(in.child(nsTypes, "ReminderMinutesBeforeStart").value())
	for _, ep := range in.all(nsTypes, "ExtendedProperty") {
		if x := parseExt(ep.child(nsTypes, "ExtendedFieldURI")); x.key() == onlineMeetingLinkSet+"|"+onlineMeetingLinkName {
			e.OnlineMeetingURL = ep.child(nsTypes, "Value").value()
		}
	}
	e.UID = in.child(nsTypes, "UID").value()
	if n := in.child(nsTypes, "Start"); n != nil {
		e.Start, _ = requestTime(n)
	}
	if n := in.child(nsTypes, "End"); n != nil {
		e.End, _ = requestTime(n)
	}
	e.IsAllDay = boolOf(in.child(nsTypes, "IsAllDayEvent"))
	e.ShowAs = in.child(nsTypes, "LegacyFreeBusyStatus").value()
	if e.ShowAs == "NoData" {
		e.ShowAs = ""
	}
	e.Location = in.child(nsTypes, "Location").value()
	for _, k := range []string{"RequiredAttendees", "OptionalAttendees", "Resources"} {
		typ := map[string]string{"RequiredAttendees": "Required", "OptionalAttendees": "Optional", "Resources": "Resource"}[k]
		for _, a := range in.child(nsTypes, k).all(nsTypes, "Attendee") {
			m := a.child(nsTypes, "Mailbox")
			e.Attendees = append(e.Attendees, mailbox.Attendee{Name: m.child(nsTypes, "Name").value(),
				Address: m.child(nsTypes, "EmailAddress").value(), Type: typ, Response: "Unknown"})
		}
	}
	if n := in.child(nsTypes, "Recurrence"); n != nil {
		r, err := parseRecurrenceNode(n)
		if err != nil {
			return e, err
		}
		e.Recurrence = r
	}
	if tz := in.child(nsTypes, "StartTimeZone"); tz != nil {
		e.TimeZone = tz.attr("Id")
	}
	if e.TimeZone == "" {
		e.TimeZone = in.child(nsTypes, "StartTimeZoneId").value()
	}
	if e.TimeZone != "" && !mailbox.KnownZone(e.TimeZone) {
		return e, errf("ErrorCalendarInvalidTimeZone", "The time zone %q is not valid.", e.TimeZone)
	}
	return e, nil
}

// finishEvent sets what Exchange computes for a calendar item written by
// the mailbox itself: the organizer is the mailbox, a meeting is an item
// with attendees.
func finishEvent(e *mailbox.Event, mb *mbox) error {
	if e.Start.IsZero() || e.End.IsZero() {
		return errf("ErrorCalendarInvalidPropertyValue", "A calendar item needs a start and an end.")
	}
	if e.End.Before(e.Start) {
		return errf("ErrorCalendarEndDateIsEarlierThanStartDate", "EndDate is earlier than StartDate.")
	}
	if e.UID == "" {
		e.UID = fmt.Sprintf("040000008200E00074C5B7101A82E00800000000%016X", time.Now().UnixNano())
	}
	e.IsMeeting = len(e.Attendees) > 0
	if e.IsMeeting && mb != nil {
		e.Organizer = &mailbox.Attendee{Name: mb.display, Address: mb.address}
		e.MyResponse = "Organizer"
	}
	return nil
}

// occurrenceID names an occurrence of a series by its master and original start.
func occurrenceID(masterID string, orig time.Time) string {
	return base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "AAMkADO|%s|%d", masterID, orig.Unix()))
}

func parseOccurrenceID(id string) (masterID string, orig time.Time, ok bool) {
	raw, err := base64.StdEncoding.DecodeString(id)
	if err != nil || !strings.HasPrefix(string(raw), "AAMkADO|") {
		return "", time.Time{}, false
	}
	rest := string(raw[len("AAMkADO|"):])
	i := strings.LastIndex(rest, "|")
	if i < 0 {
		return "", time.Time{}, false
	}
	n, err := strconv.ParseInt(rest[i+1:], 10, 64)
	if err != nil {
		return "", time.Time{}, false
	}
	return rest[:i], time.Unix(n, 0).UTC(), true
}

// expansionLimit bounds the occurrences of a series the fake expands.
const expansionLimit = 5000

var expansionEnd = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)

// regularStarts lists a series' regular occurrence starts.
func regularStarts(e *mailbox.Event) []time.Time {
	if e.Recurrence == nil {
		return nil
	}
	starts, _ := mailbox.Expand(*e.Recurrence, e.Start, e.TimeZone, expansionEnd, expansionLimit)
	return starts
}

// occurrenceItem makes the stand-in item of one occurrence of a master,
// as GetItem, UpdateItem and DeleteItem see it.
func (rc *reqCtx) occurrenceItem(master *item, orig time.Time) (*item, error) {
	if master.event == nil || master.event.Recurrence == nil {
		return nil, errf("ErrorCalendarCannotUseIdForOccurrenceId", "The item is not a recurring master.")
	}
	ev := master.event
	if !slices.ContainsFunc(regularStarts(ev), orig.Equal) {
		return nil, errf("ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange", "The occurrence index is out of the recurrence range.")
	}
	if slices.ContainsFunc(ev.Cancelled, orig.Equal) {
		return nil, errf("ErrorCalendarOccurrenceIsDeletedFromRecurrence", "The occurrence was deleted from the recurrence.")
	}
	o := *ev
	o.Recurrence, o.Exceptions, o.Cancelled = nil, nil, nil
	o.Start, o.End = orig, orig.Add(ev.End.Sub(ev.Start))
	class := master.class
	if i := slices.IndexFunc(ev.Exceptions, func(x mailbox.Occurrence) bool { return x.OriginalStart.Equal(orig) }); i >= 0 {
		x := ev.Exceptions[i]
		o.Start, o.End = x.Start, x.End
		if x.Subject != "" {
			o.Subject = x.Subject
		}
		if x.Location != "" {
			o.Location = x.Location
		}
		if x.Body != "" {
			o.Body = x.Body
		}
		class = exceptionClass
	}
	it := &item{id: occurrenceID(master.id, orig), f: master.f, class: class, subject: o.Subject, importance: master.importance,
		categories: master.categories, ext: map[string]string{}, created: master.created, updated: master.updated,
		received: master.received, event: &o, master: master, originalStart: orig}
	return it, nil
}

// itemOrOccurrence resolves an ItemId (of an item or an occurrence) or
// an OccurrenceItemId.
func (rc *reqCtx) itemOrOccurrence(ref *node) (*item, error) {
	if ref.is(nsTypes, "OccurrenceItemId") {
		master, err := rc.itemByID(ref.attr("RecurringMasterId"))
		if err != nil {
			return nil, err
		}
		if master.event == nil || master.event.Recurrence == nil {
			return nil, errf("ErrorCalendarCannotUseIdForRecurringMasterId", "The id is not that of a recurring master.")
		}
		idx, err := strconv.Atoi(ref.attr("InstanceIndex"))
		starts := regularStarts(master.event)
		if err != nil || idx < 1 || idx > len(starts) {
			return nil, errf("ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange", "The occurrence index is out of the recurrence range.")
		}
		return rc.occurrenceItem(master, starts[idx-1])
	}
	id := ref.attr("Id")
	if mid, orig, ok := parseOccurrenceID(id); ok {
		master, err := rc.itemByID(mid)
		if err != nil {
			return nil, err
		}
		return rc.occurrenceItem(master, orig)
	}
	return rc.itemByID(id)
}

// parseTaskNode reads a t:Task to create (or a SetItemField's partial one).
func parseTaskNode(in *node) (mailbox.Task, error) {
	var t mailbox.Task
	c, err := parseCommon(in, readOnlyTask, "task:")
	if err != nil {
		return t, err
	}
	t.Subject, t.Body, t.BodyHTML, t.Sensitivity, t.Importance, t.Categories, t.ReminderOn, t.Attachments =
		c.subject, c.body, c.html, c.sensitivity, c.importance, c.categories, c.reminderOn, c.attachments
	if n := in.child(nsTypes, "ReminderDueBy"); n != nil {
		t.ReminderTime, _ = requestTime(n)
	}
	date := func(name string) string {
		n := in.child(nsTypes, name)
		if n == nil {
			return ""
		}
		tm, _ := requestTime(n)
		return tm.Format(time.DateOnly)
	}
	// CompleteDate is taken and ignored: Exchange sets it itself when the
	// task is completed (exchangelib's items/task.py: "'complete_date' can
	// be set, but is ignored by the server, which sets it to now()").
	t.StartDate, t.DueDate = date("StartDate"), date("DueDate")
	if v := in.child(nsTypes, "PercentComplete").value(); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 || f > 100 {
			return t, errf("ErrorInvalidValueForProperty", "PercentComplete must be between 0 and 100.")
		}
		t.PercentComplete = int(f)
	}
	t.Status = in.child(nsTypes, "Status").value()
	if n := in.child(nsTypes, "Recurrence"); n != nil {
		r, err := parseRecurrenceNode(n)
		if err != nil {
			return t, err
		}
		t.Recurrence = r
	}
	return t, nil
}

// parseGroupNode reads a t:DistributionList to create.
func parseGroupNode(in *node) mailbox.ContactGroup {
	g := mailbox.ContactGroup{DisplayName: in.child(nsTypes, "DisplayName").value(), FileAs: in.child(nsTypes, "FileAs").value(),
		Categories: parseStrings(in.child(nsTypes, "Categories"))}
	g.Body, _ = parseBody(in.child(nsTypes, "Body"))
	for _, m := range in.child(nsTypes, "Members").all(nsTypes, "Member") {
		mb := m.child(nsTypes, "Mailbox")
		g.Members = append(g.Members, mailbox.ContactEmail{Name: mb.child(nsTypes, "Name").value(), Address: mb.child(nsTypes, "EmailAddress").value()})
	}
	return g
}

// typedBody answers item:Body of a typed item; an empty body is none.
func typedBody(x *xw, sh shape, e, body string, isHTML bool) {
	if body != "" {
		writeBodyAs(x, sh, e, body, isHTML)
	}
}

func (rc *reqCtx) writeAttendees(x *xw, e string, list []mailbox.Attendee) {
	if len(list) == 0 {
		return
	}
	x.start(nsTypes, e)
	for _, a := range list {
		x.start(nsTypes, "Attendee")
		rc.writeMailbox(x, addr{name: a.Name, email: a.Address}, false)
		if a.Response != "" {
			x.leaf(nsTypes, "ResponseType", a.Response)
		}
		x.end()
	}
	x.end()
}

func (it *item) typedAttachments() []mailbox.Attachment {
	switch {
	case it.event != nil:
		return it.event.Attachments
	case it.task != nil:
		return it.task.Attachments
	}
	return nil
}

// writeTypedProp answers one property of an item the fake holds as a
// model; it reports false for properties the generic writer answers.
func (rc *reqCtx) writeTypedProp(x *xw, it *item, sh shape, typ, e string) bool {
	leaf := func(v string) { x.leaf(nsTypes, e, v) }
	boolean := func(b bool) { leaf(strconv.FormatBool(b)) }
	if it.contact != nil && len(it.contact.Photo) > 0 {
		switch e {
		case "Attachments":
			x.start(nsTypes, "Attachments")
			rc.writeAttachment(x, it, 0, attachment{name: "ContactPicture.jpg", contentType: "image/jpeg", size: int64(len(it.contact.Photo)), photo: true}, false, false)
			x.end()
			return true
		case "HasAttachments", "HasPicture":
			boolean(true)
			return true
		}
	}
	if it.contact != nil && e == "HasPicture" {
		boolean(false)
		return true
	}
	if it.contact != nil && it.contact.Notes != nil && (e == "Body" || e == "TextBody") {
		typedBody(x, sh, e, *it.contact.Notes, false)
		return true
	}
	if it.group != nil {
		g := it.group
		switch e {
		case "Body", "TextBody":
			typedBody(x, sh, e, g.Body, false)
		case "DisplayName":
			leaf(g.DisplayName)
		case "FileAs":
			if g.FileAs != "" {
				leaf(g.FileAs)
			}
		case "Members":
			if len(g.Members) > 0 {
				x.start(nsTypes, "Members")
				for i, m := range g.Members {
					x.start(nsTypes, "Member", "Key", strconv.Itoa(i+1))
					rc.writeMailbox(x, addr{name: m.Name, email: m.Address}, false)
					x.leaf(nsTypes, "Status", "Normal")
					x.end()
				}
				x.end()
			}
		case "Sensitivity", "Attachments", "HasAttachments", "ReminderIsSet":
			if e == "HasAttachments" || e == "ReminderIsSet" {
				boolean(false)
			} else if e == "Sensitivity" {
				leaf("Normal")
			}
		default:
			return false
		}
		return true
	}
	atts := it.typedAttachments()
	if it.event != nil || it.task != nil {
		switch e {
		case "Attachments":
			if len(atts) > 0 {
				x.start(nsTypes, "Attachments")
				for i, a := range atts {
					rc.writeTypedAttachment(x, it, i, a, false)
				}
				x.end()
			}
			return true
		case "HasAttachments":
			boolean(len(atts) > 0)
			return true
		}
	}
	if t := it.task; t != nil {
		date := func(d string) {
			if d != "" {
				leaf(d + "T00:00:00Z")
			}
		}
		switch e {
		case "Body", "TextBody":
			typedBody(x, sh, e, t.Body, t.BodyHTML)
		case "Sensitivity":
			leaf(orDefault(t.Sensitivity, "Normal"))
		case "ReminderIsSet":
			boolean(t.ReminderOn)
		case "ReminderDueBy":
			if !t.ReminderTime.IsZero() {
				leaf(xsTime(t.ReminderTime))
			}
		case "CompleteDate":
			date(t.CompleteDate)
		case "DueDate":
			date(t.DueDate)
		case "StartDate":
			date(t.StartDate)
		case "Delegator":
			if t.Delegator != "" {
				leaf(t.Delegator)
			}
		case "Owner":
			if t.Owner != "" {
				leaf(t.Owner)
			}
		case "IsComplete":
			boolean(t.Status == "Completed")
		case "IsRecurring":
			boolean(t.Recurrence != nil)
		case "PercentComplete":
			leaf(strconv.Itoa(t.PercentComplete))
		case "Status":
			leaf(orDefault(t.Status, "NotStarted"))
		case "Recurrence":
			if t.Recurrence != nil {
				writeRecurrence(x, t.Recurrence)
			}
		default:
			return false
		}
		return true
	}
	ev := it.event
	if ev == nil {
		return false
	}
	switch e {
	case "Body", "TextBody":
		typedBody(x, sh, e, ev.Body, ev.BodyHTML)
	case "Sensitivity":
		leaf(orDefault(ev.Sensitivity, "Normal"))
	case "ReminderIsSet":
		boolean(ev.ReminderOn)
	case "ReminderMinutesBeforeStart":
		leaf(strconv.Itoa(ev.ReminderMinutes))
	case "UID":
		if ev.UID != "" {
			leaf(ev.UID)
		}
	case "Start":
		leaf(xsTime(ev.Start))
	case "End":
		leaf(xsTime(ev.End))
	case "OriginalStart":
		if it.master != nil {
			leaf(xsTime(it.originalStart))
		}
	case "IsAllDayEvent":
		boolean(ev.IsAllDay)
	case "LegacyFreeBusyStatus":
		leaf(orDefault(ev.ShowAs, "Busy"))
	case "Location":
		if ev.Location != "" {
			leaf(ev.Location)
		}
	case "IsMeeting":
		boolean(ev.IsMeeting)
	case "IsCancelled":
		boolean(ev.IsCancelled)
	case "IsRecurring":
		boolean(ev.Recurrence != nil || it.master != nil)
	case "CalendarItemType":
		switch {
		case ev.Recurrence != nil:
			leaf("RecurringMaster")
		case it.master != nil && it.class == exceptionClass:
			leaf("Exception")
		case it.master != nil:
			leaf("Occurrence")
		default:
			leaf("Single")
		}
	case "MyResponseType":
		leaf(orDefault(ev.MyResponse, "Organizer"))
	case "Organizer":
		if ev.Organizer != nil {
			rc.writeSingle(x, e, []addr{{name: ev.Organizer.Name, email: ev.Organizer.Address}})
		}
	case "RequiredAttendees", "OptionalAttendees", "Resources":
		typ := map[string]string{"RequiredAttendees": "Required", "OptionalAttendees": "Optional", "Resources": "Resource"}[e]
		var list []mailbox.Attendee
		for _, a := range ev.Attendees {
			if a.Type == typ || (typ == "Required" && a.Type == "") {
				list = append(list, a)
			}
		}
		rc.writeAttendees(x, e, list)
	case "Recurrence":
		if ev.Recurrence != nil {
			writeRecurrence(x, ev.Recurrence)
		}
	case "ModifiedOccurrences":
		if ev.Recurrence != nil && len(ev.Exceptions) > 0 {
			x.start(nsTypes, e)
			for _, o := range ev.Exceptions {
				x.start(nsTypes, "Occurrence")
				x.empty(nsTypes, "ItemId", "Id", occurrenceID(it.id, o.OriginalStart), "ChangeKey", it.changeKey())
				x.leaf(nsTypes, "Start", xsTime(o.Start))
				x.leaf(nsTypes, "End", xsTime(o.End))
				x.leaf(nsTypes, "OriginalStart", xsTime(o.OriginalStart))
				x.end()
			}
			x.end()
		}
	case "DeletedOccurrences":
		if ev.Recurrence != nil && len(ev.Cancelled) > 0 {
			x.start(nsTypes, e)
			for _, c := range ev.Cancelled {
				x.start(nsTypes, "DeletedOccurrence")
				x.leaf(nsTypes, "Start", xsTime(c))
				x.end()
			}
			x.end()
		}
	case "StartTimeZone", "EndTimeZone":
		if ev.TimeZone != "" {
			x.empty(nsTypes, e, "Id", ev.TimeZone, "Name", ev.TimeZone)
		}
	case "StartTimeZoneId", "EndTimeZoneId":
		if ev.TimeZone != "" {
			leaf(ev.TimeZone)
		}
	case "JoinOnlineMeetingUrl":
		if ev.OnlineMeetingURL != "" {
			leaf(ev.OnlineMeetingURL)
		}
	default:
		return false
	}
	return true
}

func orDefault(v, d string) string {
	if v == "" {
		return d
	}
	return v
}

// writeTypedAttachment writes a FileAttachment of a typed item.
func (rc *reqCtx) writeTypedAttachment(x *xw, it *item, i int, a mailbox.Attachment, content bool) {
	x.start(nsTypes, "FileAttachment")
	x.empty(nsTypes, "AttachmentId", "Id", attachmentID(it.id, i))
	x.leaf(nsTypes, "Name", a.Name)
	x.leaf(nsTypes, "ContentType", orDefault(a.ContentType, "application/octet-stream"))
	if a.ContentID != "" {
		x.leaf(nsTypes, "ContentId", a.ContentID)
	}
	x.leaf(nsTypes, "Size", strconv.Itoa(len(a.Data)))
	x.leaf(nsTypes, "LastModifiedTime", it.modifiedAt().UTC().Format("2006-01-02T15:04:05"))
	x.leaf(nsTypes, "IsInline", strconv.FormatBool(a.IsInline))
	x.leaf(nsTypes, "IsContactPhoto", "false")
	if content {
		x.leaf(nsTypes, "Content", base64.StdEncoding.EncodeToString(a.Data))
	}
	x.end()
}

// syncTyped copies a model's listing properties onto the item.
func (it *item) syncTyped() {
	switch {
	case it.event != nil:
		it.subject, it.categories, it.importance = it.event.Subject, it.event.Categories, orDefault(string(it.event.Importance), "Normal")
	case it.task != nil:
		it.subject, it.categories, it.importance = it.task.Subject, it.task.Categories, orDefault(string(it.task.Importance), "Normal")
	case it.group != nil:
		it.subject, it.categories = it.group.DisplayName, it.group.Categories
	}
}

// createAttachment serves CreateAttachment for the items the fake holds
// as properties: a contact's picture (IsContactPhoto), an appointment's
// or a task's files. Other items are refused: the fake keeps their
// attachments in their MIME.
func (rc *reqCtx) createAttachment(op *node, x *xw) error {
	it, err := rc.itemByID(op.child(nsMessages, "ParentItemId").attr("Id"))
	if err == nil {
		err = rc.injected()
	}
	var atts []mailbox.Attachment
	var photo []byte
	if err == nil {
		atts, photo, err = parseFileAttachments(op.child(nsMessages, "Attachments"))
	}
	if err == nil {
		switch {
		case it.contact != nil && len(atts) == 0 && photo != nil:
			cd := cloneContact(it.contact)
			cd.Photo = photo
			it.contact = cd
		case it.event != nil && photo == nil:
			e := cloneEvent(it.event)
			e.Attachments = append(e.Attachments, atts...)
			it.event = e
		case it.task != nil && photo == nil:
			t := *it.task
			t.Attachments = append(slices.Clone(t.Attachments), atts...)
			it.task = &t
		default:
			err = errf("ErrorInvalidOperation", "The fake attaches a contact's picture, or files to calendar items and tasks it holds as properties.")
		}
	}
	if err == nil {
		rc.touch(it)
		rc.s.writes.Add(1)
	}
	x.start(nsMessages, "CreateAttachmentResponse")
	x.start(nsMessages, "ResponseMessages")
	n := len(atts)
	if photo != nil {
		n = 1
	}
	if rc.msgStart(x, "CreateAttachmentResponseMessage", err) {
		x.start(nsMessages, "Attachments")
		first := len(it.typedAttachments()) - len(atts)
		for i := range n {
			x.start(nsTypes, "FileAttachment")
			x.empty(nsTypes, "AttachmentId", "Id", attachmentID(it.id, first+i), "RootItemId", it.id, "RootItemChangeKey", it.changeKey())
			x.end()
		}
		x.end()
	} else {
		x.empty(nsMessages, "Attachments")
	}
	x.end()
	x.end()
	x.end()
	return nil
}

// finishTask keeps what Exchange keeps consistent: a completed task is
// 100% done and has the day it was completed; a task not started is 0%.
func finishTask(t *mailbox.Task, now time.Time) {
	switch t.Status {
	case "Completed":
		t.PercentComplete = 100
		if t.CompleteDate == "" {
			t.CompleteDate = now.Format(time.DateOnly)
		}
	case "NotStarted", "":
		t.PercentComplete = 0
		t.CompleteDate = ""
	default:
		t.CompleteDate = ""
	}
}

// deleteAttachment serves DeleteAttachment for the attachments of items
// the fake holds as properties (a contact's picture, a calendar item's or
// a task's files). Ids name attachments by position, so the ones of one
// item are removed from the last.
func (rc *reqCtx) deleteAttachment(op *node, x *xw) error {
	type target struct {
		it  *item
		idx int
		err error
	}
	var list []target
	for _, ref := range op.child(nsMessages, "AttachmentIds").children {
		it, idx, _, err := rc.attachmentByID(ref.attr("Id"))
		if err == nil && it.event == nil && it.task == nil && (it.contact == nil || len(it.contact.Photo) == 0) {
			err = errf("ErrorInvalidOperation", "The fake deletes attachments of items it holds as properties only.")
		}
		if err == nil {
			err = rc.injected()
		}
		list = append(list, target{it, idx, err})
	}
	order := make([]int, len(list))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return list[b].idx - list[a].idx })
	for _, i := range order {
		t := list[i]
		if t.err != nil {
			continue
		}
		switch {
		case t.it.event != nil:
			e := cloneEvent(t.it.event)
			e.Attachments = slices.Delete(e.Attachments, t.idx, t.idx+1)
			t.it.event = e
		case t.it.task != nil:
			tk := *t.it.task
			tk.Attachments = slices.Delete(slices.Clone(tk.Attachments), t.idx, t.idx+1)
			t.it.task = &tk
		default:
			cd := cloneContact(t.it.contact)
			cd.Photo = nil
			t.it.contact = cd
		}
		rc.touch(t.it)
		rc.s.writes.Add(1)
	}
	x.start(nsMessages, "DeleteAttachmentResponse")
	x.start(nsMessages, "ResponseMessages")
	for _, t := range list {
		if rc.msgStart(x, "DeleteAttachmentResponseMessage", t.err) {
			x.empty(nsMessages, "RootItemId", "RootItemId", t.it.id, "RootItemChangeKey", t.it.changeKey())
		}
		x.end()
	}
	x.end()
	x.end()
	return nil
}
