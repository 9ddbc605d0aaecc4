package ews

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/beevik/etree"

	"github.com/exmigrate/exmigrate/mailbox"
)

// Calendar items travel as mailbox.Event (FormatTyped): GetItem with the
// t:CalendarItem properties to read, CreateItem with
// SendMeetingInvitations="SendToNone" to write (createitem.md: SendToNone
// saves without sending), then each changed occurrence with UpdateItem on
// its OccurrenceItemId and each cancelled one with DeleteItem, both with
// their Send* attribute at SendToNone. Nothing this file sends asks
// Exchange to mail anyone.
//
// What EWS cannot write:
//   - the organizer: whoever creates an item is its organizer (the
//     Organizer element is read-only; exchangelib marks it so, and
//     Microsoft documents that organizer and attendee state are not
//     carried by export/import, items.md E5). A meeting the target
//     mailbox does not organize (an attendee's copy, or another
//     organizer's) is written as an appointment whose body names the
//     organizer, the attendees and their responses, with the loss
//     reported as mailbox.LossMeetingAsAppointment. Its UID is not
//     written, so the copy does not link itself to the real meeting.
//   - attendees' responses: they are what attendees answered (the EWS
//     Managed API's Attendee.ResponseType has no setter; whether Exchange
//     honours a ResponseType sent in CreateItem is not documented); a
//     meeting the mailbox organizes is written with its attendees
//     (nothing is sent) and their responses, when any is known, go into
//     the body, reported as LossResponses. "The mailbox organizes" is an
//     exact match of the organizer's SMTP address with the mailbox's.
//
// Occurrences are named by OccurrenceItemId: the series' id and the
// occurrence's InstanceIndex, its position among the pattern's regular
// occurrences as mailbox.Expand lists them (cancelled ones keep their
// place: Exchange answers ErrorCalendarOccurrenceIsDeletedFromRecurrence
// for them). A cancelled occurrence is removed with DeleteType
// HardDelete, so that nothing lands in Deleted Items (unverified which
// DeleteType Exchange prefers for occurrences; all three are valid).
//
// A series with changed or cancelled occurrences takes several requests.
// It is created with a pending stamp (pendingURI), its occurrences are
// changed, and a last UpdateItem moves the pending stamp to the real one;
// a write that fails half-way deletes the series (a reported side write),
// and one interrupted for good is found and removed by the next write of
// its stamp. Until then FindBySourceID and Stamps do not see it.

// LossResponses: a meeting was written with its attendees but without
// their responses, which EWS cannot set; they are in the body.
const LossResponses = mailbox.LossResponsesInBody

// Online meeting links are kept by Lync and Teams in the named property
// OnlineMeetingExternalLink of PS_PUBLIC_STRINGS; Exchange 2013 and later
// answer it as calendar:JoinOnlineMeetingUrl, which is read-only, so the
// link is written as that property. Inferred, not seen on a server.
const (
	publicStringsSet      = "00020329-0000-0000-C000-000000000046"
	onlineMeetingLinkName = "OnlineMeetingExternalLink"
)

func onlineLinkURI(parent *etree.Element) *etree.Element {
	e := parent.CreateElement("t:ExtendedFieldURI")
	e.CreateAttr("PropertySetId", publicStringsSet)
	e.CreateAttr("PropertyName", onlineMeetingLinkName)
	e.CreateAttr("PropertyType", "String")
	return e
}

// calendarFields are the FieldURIs a read asks for.
var calendarFields = []string{"item:ItemClass", "item:Subject", "item:Sensitivity", "item:Body", "item:Attachments", "item:Categories",
	"item:Importance", "item:ReminderIsSet", "item:ReminderMinutesBeforeStart", "calendar:UID", "calendar:Start", "calendar:End",
	"calendar:IsAllDayEvent", "calendar:LegacyFreeBusyStatus", "calendar:Location", "calendar:IsMeeting", "calendar:IsCancelled",
	"calendar:MyResponseType", "calendar:Organizer", "calendar:RequiredAttendees", "calendar:OptionalAttendees", "calendar:Resources",
	"calendar:Recurrence", "calendar:ModifiedOccurrences", "calendar:DeletedOccurrences", "calendar:StartTimeZone",
	"calendar:JoinOnlineMeetingUrl"}

func calendarShape(parent *etree.Element, fields []string) {
	onlineLinkURI(idOnlyShape(parent, "Best", fields))
}

type attendeeXML struct {
	Mailbox      mailboxXML `xml:"http://schemas.microsoft.com/exchange/services/2006/types Mailbox"`
	ResponseType string     `xml:"http://schemas.microsoft.com/exchange/services/2006/types ResponseType"`
}

// recurrenceXML is RecurrenceType (and TaskRecurrenceType): one pattern
// element, one range element.
type recurrenceXML struct {
	Parts []struct {
		XMLName             xml.Name
		Interval            int    `xml:"http://schemas.microsoft.com/exchange/services/2006/types Interval"`
		DaysOfWeek          string `xml:"http://schemas.microsoft.com/exchange/services/2006/types DaysOfWeek"`
		FirstDayOfWeek      string `xml:"http://schemas.microsoft.com/exchange/services/2006/types FirstDayOfWeek"`
		DayOfMonth          int    `xml:"http://schemas.microsoft.com/exchange/services/2006/types DayOfMonth"`
		DayOfWeekIndex      string `xml:"http://schemas.microsoft.com/exchange/services/2006/types DayOfWeekIndex"`
		Month               string `xml:"http://schemas.microsoft.com/exchange/services/2006/types Month"`
		StartDate           string `xml:"http://schemas.microsoft.com/exchange/services/2006/types StartDate"`
		EndDate             string `xml:"http://schemas.microsoft.com/exchange/services/2006/types EndDate"`
		NumberOfOccurrences int    `xml:"http://schemas.microsoft.com/exchange/services/2006/types NumberOfOccurrences"`
	} `xml:",any"`
}

var monthNames = []string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}

// xsDate is an xs:date as EWS answers it, perhaps with a zone suffix
// ("2026-11-02Z", "2026-11-02+01:00"): the date part.
func xsDate(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 10 {
		return s[:10]
	}
	return s
}

// recurrence maps RecurrenceType to the model; a pattern the model has no
// spelling for (a task's regeneration) is an error.
func (x *recurrenceXML) recurrence() (*mailbox.Recurrence, error) {
	if x == nil || len(x.Parts) == 0 {
		return nil, nil
	}
	if len(x.Parts) != 2 {
		return nil, fmt.Errorf("a recurrence of %d parts", len(x.Parts))
	}
	p, rg := x.Parts[0], x.Parts[1]
	r := &mailbox.Recurrence{Interval: p.Interval}
	for _, d := range strings.Fields(p.DaysOfWeek) {
		r.DaysOfWeek = append(r.DaysOfWeek, strings.ToLower(d))
	}
	month := slices.Index(monthNames, p.Month) + 1
	switch p.XMLName.Local {
	case "DailyRecurrence":
		r.Pattern = "daily"
	case "WeeklyRecurrence":
		r.Pattern = "weekly"
		r.FirstDayOfWeek = strings.ToLower(p.FirstDayOfWeek)
	case "AbsoluteMonthlyRecurrence":
		r.Pattern, r.DayOfMonth = "absoluteMonthly", p.DayOfMonth
	case "RelativeMonthlyRecurrence":
		r.Pattern, r.Index = "relativeMonthly", strings.ToLower(p.DayOfWeekIndex)
	case "AbsoluteYearlyRecurrence":
		r.Pattern, r.DayOfMonth, r.Month, r.Interval = "absoluteYearly", p.DayOfMonth, month, 1
	case "RelativeYearlyRecurrence":
		r.Pattern, r.Index, r.Month, r.Interval = "relativeYearly", strings.ToLower(p.DayOfWeekIndex), month, 1
	default:
		return nil, fmt.Errorf("the recurrence pattern %s has no equivalent in the model", p.XMLName.Local)
	}
	r.StartDate = xsDate(rg.StartDate)
	switch rg.XMLName.Local {
	case "NoEndRecurrence":
		r.Range = "noEnd"
	case "EndDateRecurrence":
		r.Range, r.EndDate = "endDate", xsDate(rg.EndDate)
	case "NumberedRecurrence":
		r.Range, r.Occurrences = "numbered", rg.NumberOfOccurrences
	default:
		return nil, fmt.Errorf("the recurrence range %s has no equivalent in the model", rg.XMLName.Local)
	}
	return r, nil
}

// writeRecurrence writes RecurrenceType in schema order: the pattern
// (Interval first, for the patterns that have one), then the range.
func writeRecurrence(parent *etree.Element, r *mailbox.Recurrence) {
	rec := parent.CreateElement("t:Recurrence")
	days := func(p *etree.Element) {
		var ds []string
		for _, d := range r.DaysOfWeek {
			ds = append(ds, strings.ToUpper(d[:1])+d[1:])
		}
		elem(p, "t:DaysOfWeek", strings.Join(ds, " "))
	}
	interval := strconv.Itoa(max(r.Interval, 1))
	month := func(p *etree.Element) {
		if r.Month > 0 {
			elem(p, "t:Month", monthNames[r.Month-1])
		}
	}
	index := func(p *etree.Element) {
		ix := r.Index
		if ix == "" {
			ix = "first"
		}
		elem(p, "t:DayOfWeekIndex", strings.ToUpper(ix[:1])+ix[1:])
	}
	switch r.Pattern {
	case "daily":
		elem(rec.CreateElement("t:DailyRecurrence"), "t:Interval", interval)
	case "weekly":
		p := rec.CreateElement("t:WeeklyRecurrence")
		elem(p, "t:Interval", interval)
		days(p)
		if r.FirstDayOfWeek != "" {
			elem(p, "t:FirstDayOfWeek", strings.ToUpper(r.FirstDayOfWeek[:1])+r.FirstDayOfWeek[1:])
		}
	case "absoluteMonthly":
		p := rec.CreateElement("t:AbsoluteMonthlyRecurrence")
		elem(p, "t:Interval", interval)
		elem(p, "t:DayOfMonth", strconv.Itoa(r.DayOfMonth))
	case "relativeMonthly":
		p := rec.CreateElement("t:RelativeMonthlyRecurrence")
		elem(p, "t:Interval", interval)
		days(p)
		index(p)
	case "absoluteYearly":
		p := rec.CreateElement("t:AbsoluteYearlyRecurrence")
		elem(p, "t:DayOfMonth", strconv.Itoa(r.DayOfMonth))
		month(p)
	case "relativeYearly":
		p := rec.CreateElement("t:RelativeYearlyRecurrence")
		days(p)
		index(p)
		month(p)
	}
	switch r.Range {
	case "noEnd":
		elem(rec.CreateElement("t:NoEndRecurrence"), "t:StartDate", r.StartDate)
	case "endDate":
		rg := rec.CreateElement("t:EndDateRecurrence")
		elem(rg, "t:StartDate", r.StartDate)
		elem(rg, "t:EndDate", r.EndDate)
	default:
		rg := rec.CreateElement("t:NumberedRecurrence")
		elem(rg, "t:StartDate", r.StartDate)
		elem(rg, "t:NumberOfOccurrences", strconv.Itoa(r.Occurrences))
	}
}

type occurrenceXML struct {
	ItemID        idXML  `xml:"http://schemas.microsoft.com/exchange/services/2006/types ItemId"`
	Start         string `xml:"http://schemas.microsoft.com/exchange/services/2006/types Start"`
	End           string `xml:"http://schemas.microsoft.com/exchange/services/2006/types End"`
	OriginalStart string `xml:"http://schemas.microsoft.com/exchange/services/2006/types OriginalStart"`
}

// calendarItemXML is a t:CalendarItem as GetItem answers it (or another
// item element, told apart by XMLName).
type calendarItemXML struct {
	XMLName xml.Name
	itemHeadXML
	ItemClass        string       `xml:"http://schemas.microsoft.com/exchange/services/2006/types ItemClass"`
	ReminderMinutes  int          `xml:"http://schemas.microsoft.com/exchange/services/2006/types ReminderMinutesBeforeStart"`
	ExtendedProperty []extPropXML `xml:"http://schemas.microsoft.com/exchange/services/2006/types ExtendedProperty"`
	UID              string       `xml:"http://schemas.microsoft.com/exchange/services/2006/types UID"`
	Start            string       `xml:"http://schemas.microsoft.com/exchange/services/2006/types Start"`
	End              string       `xml:"http://schemas.microsoft.com/exchange/services/2006/types End"`
	IsAllDayEvent    bool         `xml:"http://schemas.microsoft.com/exchange/services/2006/types IsAllDayEvent"`
	FreeBusy         string       `xml:"http://schemas.microsoft.com/exchange/services/2006/types LegacyFreeBusyStatus"`
	Location         string       `xml:"http://schemas.microsoft.com/exchange/services/2006/types Location"`
	IsMeeting        bool         `xml:"http://schemas.microsoft.com/exchange/services/2006/types IsMeeting"`
	IsCancelled      bool         `xml:"http://schemas.microsoft.com/exchange/services/2006/types IsCancelled"`
	MyResponseType   string       `xml:"http://schemas.microsoft.com/exchange/services/2006/types MyResponseType"`
	Organizer        *struct {
		Mailbox mailboxXML `xml:"http://schemas.microsoft.com/exchange/services/2006/types Mailbox"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/types Organizer"`
	Required            []attendeeXML   `xml:"http://schemas.microsoft.com/exchange/services/2006/types RequiredAttendees>Attendee"`
	Optional            []attendeeXML   `xml:"http://schemas.microsoft.com/exchange/services/2006/types OptionalAttendees>Attendee"`
	Resources           []attendeeXML   `xml:"http://schemas.microsoft.com/exchange/services/2006/types Resources>Attendee"`
	Recurrence          *recurrenceXML  `xml:"http://schemas.microsoft.com/exchange/services/2006/types Recurrence"`
	ModifiedOccurrences []occurrenceXML `xml:"http://schemas.microsoft.com/exchange/services/2006/types ModifiedOccurrences>Occurrence"`
	DeletedOccurrences  []string        `xml:"http://schemas.microsoft.com/exchange/services/2006/types DeletedOccurrences>DeletedOccurrence>Start"`
	StartTimeZone       struct {
		ID string `xml:"Id,attr"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/types StartTimeZone"`
	JoinOnlineMeetingURL string `xml:"http://schemas.microsoft.com/exchange/services/2006/types JoinOnlineMeetingUrl"`
}

type attachList struct {
	Items []attachmentXML `xml:",any"`
}

var freeBusy = map[string]string{"Free": "Free", "Tentative": "Tentative", "Busy": "Busy", "OOF": "OOF", "WorkingElsewhere": "WorkingElsewhere"}

// event maps a CalendarItem to the model (without its attachments and
// exceptions, which take more requests).
func (x *calendarItemXML) event() (mailbox.Event, error) {
	e := mailbox.Event{Subject: x.Subject, Location: x.Location, Start: parseTime(x.Start), End: parseTime(x.End),
		IsAllDay: x.IsAllDayEvent, ShowAs: freeBusy[x.FreeBusy], Sensitivity: x.sensitivity(), Importance: x.importance(), Categories: x.Categories,
		ReminderOn: x.ReminderIsSet, IsCancelled: x.IsCancelled, UID: x.UID, OnlineMeetingURL: x.JoinOnlineMeetingURL}
	if e.ReminderOn {
		// Exchange keeps 15 minutes on items whose reminder is off.
		e.ReminderMinutes = max(x.ReminderMinutes, 0)
	}
	e.Body, e.BodyHTML = x.Body.text()
	if tz := x.StartTimeZone.ID; tz != "" && tz != "UTC" {
		if mailbox.KnownZone(tz) {
			e.TimeZone = tz
		} else if e.IsAllDay {
			// An unknown zone (a custom one, tzone://Microsoft/Custom) is
			// left empty: the instants are kept, in UTC. An all-day item
			// is then midnight to midnight nowhere the model can say: it
			// is kept as a timed item at the same instants, and its body
			// says so (a reader reports no losses; the body is where a
			// person sees it).
			e.IsAllDay = false
			e.Body = withNotes(e.Body, e.BodyHTML, []string{fmt.Sprintf("[an all-day item in time zone %q, kept at the same times]", tz)})
		}
	}
	for _, p := range x.ExtendedProperty {
		if strings.EqualFold(p.URI.SetID, publicStringsSet) && p.URI.Name == onlineMeetingLinkName && e.OnlineMeetingURL == "" {
			e.OnlineMeetingURL = p.Value
		}
	}
	if x.IsMeeting {
		e.IsMeeting = true
		if slices.Contains(mailbox.ResponseValues, x.MyResponseType) {
			e.MyResponse = x.MyResponseType
		}
		if x.Organizer != nil && x.Organizer.Mailbox.EmailAddress != "" {
			e.Organizer = &mailbox.Attendee{Name: nameOf(x.Organizer.Mailbox), Address: x.Organizer.Mailbox.EmailAddress}
		}
		for _, g := range []struct {
			typ  string
			list []attendeeXML
		}{{"Required", x.Required}, {"Optional", x.Optional}, {"Resource", x.Resources}} {
			for _, a := range g.list {
				if a.Mailbox.EmailAddress == "" {
					continue
				}
				at := mailbox.Attendee{Name: nameOf(a.Mailbox), Address: a.Mailbox.EmailAddress, Type: g.typ}
				if slices.Contains(mailbox.ResponseValues, a.ResponseType) {
					at.Response = a.ResponseType
				}
				e.Attendees = append(e.Attendees, at)
			}
		}
	}
	r, err := x.Recurrence.recurrence()
	if err != nil {
		return e, err
	}
	e.Recurrence = r
	if r != nil {
		for _, d := range x.DeletedOccurrences {
			if t := parseTime(d); !t.IsZero() {
				e.Cancelled = append(e.Cancelled, t)
			}
		}
	}
	return e, nil
}

// getCalendarItems reads calendar items (or occurrences) by id.
func (c *Client) getCalendarItems(ctx context.Context, mbx string, ids []string, fields []string) ([]calendarItemXML, error) {
	return getItems[calendarItemXML](ctx, c, mbx, ids, func(gi *etree.Element) { calendarShape(gi, fields) })
}

// occurrenceFields are what an exception holds on its own.
var occurrenceFields = []string{"item:Subject", "item:Body", "calendar:Start", "calendar:End", "calendar:Location"}

// getEvent reads a calendar item with its exceptions and attachments.
func (c *Client) getEvent(ctx context.Context, mbx, itemID string) (mailbox.Event, error) {
	items, err := c.getCalendarItems(ctx, mbx, []string{itemID}, calendarFields)
	if err != nil {
		return mailbox.Event{}, err
	}
	return c.finishEvent(ctx, mbx, itemID, &items[0])
}

// finishEvent makes an event of GetItem's answer, reading its exceptions
// and attachments.
func (c *Client) finishEvent(ctx context.Context, mbx, itemID string, x *calendarItemXML) (mailbox.Event, error) {
	if err := readAs(itemID, x.XMLName, "CalendarItem", "calendar item"); err != nil {
		return mailbox.Event{}, err
	}
	e, err := x.event()
	if err != nil {
		return mailbox.Event{}, mailbox.Permanent(fmt.Errorf("ews: read calendar item %s: %w", itemID, err))
	}
	if e.Recurrence != nil && len(x.ModifiedOccurrences) > 0 {
		var ids []string
		for _, o := range x.ModifiedOccurrences {
			ids = append(ids, o.ItemID.ID)
		}
		occs, err := c.getCalendarItems(ctx, mbx, ids, occurrenceFields)
		if err != nil {
			return mailbox.Event{}, err
		}
		for i, o := range x.ModifiedOccurrences {
			oc := &occs[i]
			ex := mailbox.Occurrence{OriginalStart: parseTime(o.OriginalStart), Start: parseTime(oc.Start), End: parseTime(oc.End)}
			if ex.Start.IsZero() {
				ex.Start, ex.End = parseTime(o.Start), parseTime(o.End)
			}
			// Empty means the series' value.
			if oc.Subject != e.Subject {
				ex.Subject = oc.Subject
			}
			if oc.Location != e.Location {
				ex.Location = oc.Location
			}
			if body, _ := oc.Body.text(); body != e.Body {
				ex.Body = body
			}
			e.Exceptions = append(e.Exceptions, ex)
		}
	}
	e.Attachments, e.Body, err = c.readAttachments(ctx, mbx, x.Attachments.Items, e.Body, e.BodyHTML)
	if err != nil {
		return mailbox.Event{}, err
	}
	return e, nil
}

// OpenEvent reads a calendar item as EncodeEvent's JSON.
func (m *Mailbox) OpenEvent(ctx context.Context, itemID string) (io.ReadCloser, error) {
	return openEncoded(ctx, m, itemID, "calendar item", m.c.getEvent, mailbox.EncodeEvent)
}

// attendeeNotes lists a meeting's organizer, attendees and responses for
// a body.
func attendeeNotes(e mailbox.Event, withOrganizer bool) []string {
	var notes []string
	if withOrganizer && e.Organizer != nil {
		notes = append(notes, "Meeting organized by "+person(*e.Organizer))
	}
	if withOrganizer && e.IsCancelled {
		notes = append(notes, "The organizer cancelled this meeting.")
	}
	if len(e.Attendees) > 0 {
		notes = append(notes, "Attendees and their responses:")
		for _, a := range e.Attendees {
			resp := a.Response
			if resp == "" {
				resp = "Unknown"
			}
			typ := a.Type
			if typ == "" {
				typ = "Required"
			}
			notes = append(notes, fmt.Sprintf("- %s (%s): %s", person(a), typ, resp))
		}
	}
	return notes
}

func person(a mailbox.Attendee) string {
	if a.Name == "" || a.Name == a.Address {
		return a.Address
	}
	return a.Name + " <" + a.Address + ">"
}

// knownResponses: some attendee's answer is known (not Unknown or none).
func knownResponses(e mailbox.Event) bool {
	return slices.ContainsFunc(e.Attendees, func(a mailbox.Attendee) bool {
		return a.Response != "" && a.Response != "Unknown" && a.Response != "NoResponseReceived"
	})
}

// planEvent decides what of e is written: a meeting the mailbox
// organizes keeps its attendees; any other meeting becomes an
// appointment. It returns the event to write, whether attendees are
// written, and the losses to report.
func planEvent(e mailbox.Event, mbx string) (mailbox.Event, bool, []mailbox.Loss) {
	if !e.IsMeeting && len(e.Attendees) == 0 {
		return e, false, nil
	}
	// The mailbox's own meeting: it organized it at the source (its
	// answer is Organizer), whatever address the target has, or the
	// organizer is the target itself.
	own := e.Organizer == nil || e.MyResponse == "Organizer" || strings.EqualFold(e.Organizer.Address, mbx)
	if own && len(e.Attendees) > 0 {
		var losses []mailbox.Loss
		if knownResponses(e) {
			e.Body = withNotes(e.Body, e.BodyHTML, attendeeNotes(e, false))
			losses = append(losses, mailbox.Loss{Code: LossResponses,
				What: fmt.Sprintf("the responses of %d attendees of %q (EWS cannot set them); they are listed in the body", len(e.Attendees), e.Subject)})
		}
		return e, true, losses
	}
	org := "another organizer"
	if e.Organizer != nil {
		org = e.Organizer.Address
	}
	e.Body = withNotes(e.Body, e.BodyHTML, attendeeNotes(e, true))
	e.UID = ""
	return e, false, []mailbox.Loss{{Code: mailbox.LossMeetingAsAppointment,
		What: fmt.Sprintf("meeting %q organized by %s written as an appointment of %s (EWS makes the writer the organizer); organizer, %d attendees and responses are in the body",
			e.Subject, org, mbx, len(e.Attendees))}}
}

// calendarItem writes e as a t:CalendarItem in CalendarItemType order.
func calendarItem(parent *etree.Element, e mailbox.Event, attendees bool, stamp func(*etree.Element)) {
	ci := parent.CreateElement("t:CalendarItem")
	writeItemHead(ci, e.Subject, e.Sensitivity, e.Body, e.BodyHTML, e.Attachments, e.Categories, e.Importance)
	elem(ci, "t:ReminderIsSet", strconv.FormatBool(e.ReminderOn))
	if e.ReminderOn {
		elem(ci, "t:ReminderMinutesBeforeStart", strconv.Itoa(e.ReminderMinutes))
	}
	if e.OnlineMeetingURL != "" {
		ep := ci.CreateElement("t:ExtendedProperty")
		onlineLinkURI(ep)
		elem(ep, "t:Value", e.OnlineMeetingURL)
	}
	if stamp != nil {
		stamp(ci)
	}
	if e.UID != "" {
		elem(ci, "t:UID", e.UID)
	}
	elem(ci, "t:Start", e.Start.UTC().Format(time.RFC3339))
	elem(ci, "t:End", e.End.UTC().Format(time.RFC3339))
	elem(ci, "t:IsAllDayEvent", strconv.FormatBool(e.IsAllDay))
	if e.ShowAs != "" && e.ShowAs != "Unknown" {
		elem(ci, "t:LegacyFreeBusyStatus", e.ShowAs)
	}
	if e.Location != "" {
		elem(ci, "t:Location", e.Location)
	}
	if attendees {
		for _, g := range []struct{ el, typ string }{{"t:RequiredAttendees", "Required"}, {"t:OptionalAttendees", "Optional"}, {"t:Resources", "Resource"}} {
			var list *etree.Element
			for _, a := range e.Attendees {
				if a.Type != g.typ && !(g.typ == "Required" && a.Type == "") {
					continue
				}
				if list == nil {
					list = ci.CreateElement(g.el)
				}
				mb := list.CreateElement("t:Attendee").CreateElement("t:Mailbox")
				if a.Name != "" {
					elem(mb, "t:Name", a.Name)
				}
				elem(mb, "t:EmailAddress", a.Address)
			}
		}
	}
	if e.Recurrence != nil {
		writeRecurrence(ci, e.Recurrence)
	}
	zone := e.TimeZone
	if zone == "" {
		zone = "UTC"
	}
	ci.CreateElement("t:StartTimeZone").CreateAttr("Id", zone)
	ci.CreateElement("t:EndTimeZone").CreateAttr("Id", zone)
}

func stampWith(uri func(*etree.Element) *etree.Element, v string) func(*etree.Element) {
	return func(ci *etree.Element) {
		ep := ci.CreateElement("t:ExtendedProperty")
		uri(ep)
		elem(ep, "t:Value", v)
	}
}

// instanceIndex is the InstanceIndex of the occurrence that starts at
// orig: its position (from 1) among the series' regular occurrences, as
// mailbox.Expand lists them.
func instanceIndex(e mailbox.Event, orig time.Time) (int, error) {
	starts, err := mailbox.Expand(*e.Recurrence, e.Start, e.TimeZone, orig, 100000)
	if err != nil {
		return 0, err
	}
	i := slices.IndexFunc(starts, orig.Equal)
	if i < 0 {
		return 0, fmt.Errorf("no occurrence of the series starts at %s", orig.Format(time.RFC3339))
	}
	return i + 1, nil
}

func occurrenceRef(parent *etree.Element, masterID string, index int) {
	o := parent.CreateElement("t:OccurrenceItemId")
	o.CreateAttr("RecurringMasterId", masterID)
	o.CreateAttr("InstanceIndex", strconv.Itoa(index))
}

// setField appends a SetItemField of one property of a CalendarItem (or
// Task ...) to updates.
func setField(updates *etree.Element, uri, itemEl string, fill func(*etree.Element)) {
	s := updates.CreateElement("t:SetItemField")
	fieldURI(s, uri)
	fill(s.CreateElement(itemEl))
}

// updateOccurrences makes the exceptions and cancellations of a series
// written as masterID.
func (c *Client) updateOccurrences(ctx context.Context, mbx, masterID string, e mailbox.Event) error {
	for _, x := range e.Exceptions {
		idx, err := instanceIndex(e, x.OriginalStart)
		if err != nil {
			// The source holds an exception its own pattern does not
			// produce: the occurrence cannot be named on the target.
			mailbox.ReportLoss(ctx, mailbox.Loss{Code: mailbox.LossOccurrenceDetails, What: fmt.Sprintf("a changed occurrence of %q: %v", e.Subject, err)})
			continue
		}
		r, up := c.newUpdate(mbx, false, true, func(ic *etree.Element) { occurrenceRef(ic, masterID, idx) })
		if x.Subject != "" {
			setField(up, "item:Subject", "t:CalendarItem", func(ci *etree.Element) { elem(ci, "t:Subject", x.Subject) })
		}
		if x.Body != "" {
			setField(up, "item:Body", "t:CalendarItem", func(ci *etree.Element) { writeBody(ci, x.Body, e.BodyHTML) })
		}
		setField(up, "calendar:Start", "t:CalendarItem", func(ci *etree.Element) { elem(ci, "t:Start", x.Start.UTC().Format(time.RFC3339)) })
		setField(up, "calendar:End", "t:CalendarItem", func(ci *etree.Element) { elem(ci, "t:End", x.End.UTC().Format(time.RFC3339)) })
		if x.Location != "" {
			setField(up, "calendar:Location", "t:CalendarItem", func(ci *etree.Element) { elem(ci, "t:Location", x.Location) })
		}
		if _, err := callOp[idOnlyXML](ctx, c, mbx, "UpdateItem", r, true, 1); err != nil {
			return err
		}
	}
	for _, orig := range e.Cancelled {
		idx, err := instanceIndex(e, orig)
		if err != nil {
			mailbox.ReportLoss(ctx, mailbox.Loss{Code: mailbox.LossOccurrenceDetails, What: fmt.Sprintf("a cancelled occurrence of %q: %v", e.Subject, err)})
			continue
		}
		r := c.newRequest(mbx)
		di := r.body.CreateElement("m:DeleteItem")
		di.CreateAttr("DeleteType", "HardDelete")
		di.CreateAttr("SendMeetingCancellations", "SendToNone")
		occurrenceRef(di.CreateElement("m:ItemIds"), masterID, idx)
		if _, err := callOp[idOnlyXML](ctx, c, mbx, "DeleteItem", r, false, 1); err != nil {
			var re *ResponseError
			if errors.As(err, &re) && re.Code == "ErrorCalendarOccurrenceIsDeletedFromRecurrence" {
				continue // a retry after a lost answer: already cancelled
			}
			return err
		}
	}
	return nil
}

// setStamp moves a series' pending stamp to the real one: the last
// request of a series write.
func (c *Client) setStamp(ctx context.Context, mbx, itemID, itemEl, sourceID string, calendar bool) error {
	r, up := c.newUpdate(mbx, false, calendar, itemIDRef(itemID))
	setStampField(up, itemEl, sourceID)
	pendingURI(up.CreateElement("t:DeleteItemField"))
	_, err := callOp[idOnlyXML](ctx, c, mbx, "UpdateItem", r, true, 1)
	return err
}

// createEvent writes e into folderID and returns the item's id.
func (m *Mailbox) createEvent(ctx context.Context, folderID string, e mailbox.Event, sourceID string) (string, error) {
	if err := e.Validate(); err != nil {
		return "", mailbox.Permanent(err)
	}
	w, attendees, losses := planEvent(e, m.address)
	for _, l := range losses {
		mailbox.ReportLoss(ctx, l)
	}
	series := w.Recurrence != nil && (len(w.Exceptions) > 0 || len(w.Cancelled) > 0)
	var stamp func(*etree.Element)
	if sourceID != "" {
		if series {
			if err := m.removePending(ctx, folderID, sourceID); err != nil {
				return "", err
			}
			stamp = stampWith(pendingURI, sourceID)
		} else {
			stamp = stampWith(sourceIDURI, sourceID)
		}
	}
	id, err := m.c.createTyped(ctx, m.address, folderID, true, func(items *etree.Element) { calendarItem(items, w, attendees, stamp) })
	if err != nil {
		return "", err
	}
	if !series {
		return id, nil
	}
	err = m.c.updateOccurrences(ctx, m.address, id, w)
	if err == nil && sourceID != "" {
		err = m.c.setStamp(ctx, m.address, id, "t:CalendarItem", sourceID, true)
	}
	if err != nil {
		m.dropIncomplete(ctx, id, sourceID)
		return "", err
	}
	return id, nil
}

// dropIncomplete deletes a series whose write failed half-way, reported
// as a side write; if that fails too, the pending stamp lets the next
// write find it.
func (m *Mailbox) dropIncomplete(ctx context.Context, id, sourceID string) {
	_ = m.deleteIncomplete(ctx, context.WithoutCancel(ctx), id, sourceID)
}

// CreateEvent writes a typed calendar item payload.
func (m *Mailbox) CreateEvent(ctx context.Context, folderID string, p mailbox.Payload) (string, error) {
	e, err := mailbox.DecodeEvent(p.Body)
	if err != nil {
		return "", mailbox.Permanent(fmt.Errorf("create calendar item %s in %s: %w", p.SourceID, m.address, err))
	}
	id, err := m.createEvent(ctx, folderID, e, p.SourceID)
	if err != nil {
		return "", fmt.Errorf("create calendar item %s in %s: %w", p.SourceID, m.address, err)
	}
	return id, nil
}
