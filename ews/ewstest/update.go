package ewstest

import (
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/exmigrate/exmigrate/mailbox"
)

// UpdateItem and DeleteItem on the items the fake holds as models, and
// the meeting mail Exchange sends when a Send* attribute asks it to.

// calendarSendValues are CalendarItemUpdateOperationType's values;
// creates and deletes take the first three.
var calendarSendValues = []string{"SendToNone", "SendOnlyToAll", "SendToAllAndSaveCopy", "SendOnlyToChanged", "SendToChangedAndSaveCopy"}

// updateField is one SetItemField, AppendToItemField or DeleteItemField.
type updateField struct {
	op   string // SetItemField, AppendToItemField, DeleteItemField
	uri  string // FieldURI, or IndexedFieldURI's FieldURI
	idx  string // FieldIndex
	ext  *extSpec
	val  *node // the partial item of a Set or Append
	path *node
}

func parseUpdate(u *node) updateField {
	f := updateField{op: u.name.Local}
	for _, c := range u.children {
		switch {
		case c.is(nsTypes, "FieldURI"):
			f.uri, f.path = c.attr("FieldURI"), c
		case c.is(nsTypes, "IndexedFieldURI"):
			f.uri, f.idx, f.path = c.attr("FieldURI"), c.attr("FieldIndex"), c
		case c.is(nsTypes, "ExtendedFieldURI"):
			e := parseExt(c)
			f.ext, f.path = &e, c
		default:
			f.val = c
		}
	}
	return f
}

func (f updateField) set() bool { return f.op == "SetItemField" }

// partial is the new value of a typed item's property: the partial item
// (el, parsed) of a Set, the zero value for a Delete; an Append is
// refused. kind and prop name the item in the errors.
func partial[T any](f updateField, el, kind, prop string, parse func(*node) (T, error)) (T, error) {
	var zero T
	if f.set() {
		if f.val == nil || !f.val.is(nsTypes, el) {
			return zero, errf("ErrorInvalidPropertySet", "A %s is set with a %s.", kind, el)
		}
		return parse(f.val)
	}
	if f.op != "DeleteItemField" {
		return zero, errf("ErrorInvalidPropertyAppend", "The fake appends to no %s property.", prop)
	}
	return zero, nil
}

// extValue is the value an extended property is set to ("" for a
// Delete).
func extValue(f updateField) string {
	v := ""
	if f.set() && f.val != nil {
		for _, ep := range f.val.all(nsTypes, "ExtendedProperty") {
			v = ep.child(nsTypes, "Value").value()
		}
	}
	return v
}

// updateEvent applies one change to a copy of a series or single item.
func updateEvent(ev *mailbox.Event, f updateField) error {
	src, err := partial(f, "CalendarItem", "calendar item", "calendar", parseEventNode)
	if err != nil {
		return err
	}
	if f.ext != nil {
		if f.ext.key() == onlineMeetingLinkSet+"|"+onlineMeetingLinkName {
			ev.OnlineMeetingURL = src.OnlineMeetingURL
		}
		return nil
	}
	seriesChanged := false
	switch f.uri {
	case "item:Subject":
		ev.Subject = src.Subject
	case "item:Body":
		ev.Body, ev.BodyHTML = src.Body, src.BodyHTML
	case "item:Sensitivity":
		ev.Sensitivity = src.Sensitivity
	case "item:Importance":
		ev.Importance = src.Importance
	case "item:Categories":
		ev.Categories = src.Categories
	case "item:ReminderIsSet":
		ev.ReminderOn = src.ReminderOn
	case "item:ReminderMinutesBeforeStart":
		ev.ReminderMinutes = src.ReminderMinutes
	case "calendar:Start":
		seriesChanged = !ev.Start.Equal(src.Start)
		ev.Start = src.Start
	case "calendar:End":
		ev.End = src.End
	case "calendar:IsAllDayEvent":
		ev.IsAllDay = src.IsAllDay
	case "calendar:LegacyFreeBusyStatus":
		ev.ShowAs = src.ShowAs
	case "calendar:Location":
		ev.Location = src.Location
	case "calendar:UID":
		ev.UID = src.UID
	case "calendar:StartTimeZone", "calendar:EndTimeZone", "calendar:StartTimeZoneId", "calendar:EndTimeZoneId":
		if f.uri == "calendar:StartTimeZone" || f.uri == "calendar:StartTimeZoneId" {
			ev.TimeZone = src.TimeZone
		}
	case "calendar:RequiredAttendees", "calendar:OptionalAttendees", "calendar:Resources":
		typ := map[string]string{"calendar:RequiredAttendees": "Required", "calendar:OptionalAttendees": "Optional", "calendar:Resources": "Resource"}[f.uri]
		ev.Attendees = slices.DeleteFunc(ev.Attendees, func(a mailbox.Attendee) bool { return a.Type == typ })
		ev.Attendees = append(ev.Attendees, src.Attendees...)
	case "calendar:Recurrence":
		seriesChanged = true
		ev.Recurrence = src.Recurrence
	default:
		return &ewsError{code: "ErrorInvalidPropertySet", text: "The fake does not update " + f.uri + " of a calendar item.", path: f.path}
	}
	if seriesChanged {
		// A new pattern or series time drops the series' exceptions and
		// cancellations, as Outlook warns it does.
		ev.Exceptions, ev.Cancelled = nil, nil
	}
	return nil
}

// updateOccurrence applies one change to an occurrence: it becomes (or
// stays) an exception of its series.
func updateOccurrence(ev *mailbox.Event, orig time.Time, occ *mailbox.Event, f updateField) error {
	if !f.set() || f.val == nil || !f.val.is(nsTypes, "CalendarItem") {
		return errf("ErrorInvalidPropertySet", "The fake sets the start, end, subject, location and body of an occurrence only.")
	}
	src, err := parseEventNode(f.val)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(ev.Exceptions, func(x mailbox.Occurrence) bool { return x.OriginalStart.Equal(orig) })
	if i < 0 {
		ev.Exceptions = append(ev.Exceptions, mailbox.Occurrence{OriginalStart: orig, Start: occ.Start, End: occ.End})
		i = len(ev.Exceptions) - 1
	}
	x := &ev.Exceptions[i]
	differ := func(v, series string) string {
		if v == series {
			return ""
		}
		return v
	}
	switch f.uri {
	case "calendar:Start":
		x.Start = src.Start
	case "calendar:End":
		x.End = src.End
	case "item:Subject":
		x.Subject = differ(src.Subject, ev.Subject)
	case "calendar:Location":
		x.Location = differ(src.Location, ev.Location)
	case "item:Body":
		x.Body = differ(src.Body, ev.Body)
	default:
		return &ewsError{code: "ErrorInvalidPropertySet", text: "The fake does not update " + f.uri + " of an occurrence.", path: f.path}
	}
	slices.SortFunc(ev.Exceptions, func(a, b mailbox.Occurrence) int { return a.OriginalStart.Compare(b.OriginalStart) })
	return nil
}

func updateTask(t *mailbox.Task, f updateField) error {
	src, err := partial(f, "Task", "task", "task", parseTaskNode)
	if err != nil {
		return err
	}
	switch f.uri {
	case "item:Subject":
		t.Subject = src.Subject
	case "item:Body":
		t.Body, t.BodyHTML = src.Body, src.BodyHTML
	case "item:Sensitivity":
		t.Sensitivity = src.Sensitivity
	case "item:Importance":
		t.Importance = src.Importance
	case "item:Categories":
		t.Categories = src.Categories
	case "item:ReminderIsSet":
		t.ReminderOn = src.ReminderOn
	case "item:ReminderDueBy":
		t.ReminderTime = src.ReminderTime
	case "task:StartDate":
		t.StartDate = src.StartDate
	case "task:DueDate":
		t.DueDate = src.DueDate
	case "task:CompleteDate":
		// Ignored, as on create (finishTask sets it).
	case "task:PercentComplete":
		t.PercentComplete = src.PercentComplete
	case "task:Status":
		t.Status = src.Status
	case "task:Recurrence":
		t.Recurrence = src.Recurrence
	default:
		return &ewsError{code: "ErrorInvalidPropertySet", text: "The fake does not update " + f.uri + " of a task.", path: f.path}
	}
	return nil
}

func updateGroup(g *mailbox.ContactGroup, f updateField) error {
	src, err := partial(f, "DistributionList", "contact group", "contact group", func(n *node) (mailbox.ContactGroup, error) { return parseGroupNode(n), nil })
	if err != nil {
		return err
	}
	switch f.uri {
	case "item:Subject":
		// A group's subject is its display name (syncTyped).
	case "contacts:DisplayName":
		g.DisplayName = src.DisplayName
	case "contacts:FileAs":
		g.FileAs = src.FileAs
	case "item:Categories":
		g.Categories = src.Categories
	case "item:Body":
		g.Body = src.Body
	case "distributionlist:Members":
		g.Members = src.Members
	default:
		return &ewsError{code: "ErrorInvalidPropertySet", text: "The fake does not update " + f.uri + " of a contact group.", path: f.path}
	}
	return nil
}

// indexedContactURIs maps the contact dictionaries' IndexedFieldURIs.
var indexedContactURIs = map[string]bool{"contacts:EmailAddress": true, "contacts:ImAddress": true, "contacts:PhoneNumber": true}

// updateContact applies one change to a copy of a contact's data.
func updateContact(cd *contactData, f updateField) error {
	src, err := partial(f, "Contact", "contact", "contact", func(n *node) (*contactData, error) {
		cd, err := parseContact(n)
		if err == nil {
			if b := n.child(nsTypes, "Body"); b != nil {
				v := b.text.String()
				cd.Notes = &v
			}
		}
		return cd, err
	})
	if err != nil {
		return err
	}
	if !f.set() {
		src = &contactData{Fields: map[string]string{}}
	}
	prefix, name, _ := strings.Cut(f.uri, ":")
	switch {
	case f.uri == "item:Body":
		v := ""
		if src.Notes != nil {
			v = *src.Notes
		}
		cd.Notes = &v // set, even empty: the notes no longer come from the MIME
	case f.idx != "" && indexedContactURIs[f.uri]:
		switch f.uri {
		case "contacts:EmailAddress":
			if v, ok := src.Emails[f.idx]; ok {
				if cd.Emails == nil {
					cd.Emails = map[string]contactEmail{}
				}
				cd.Emails[f.idx] = v
			} else {
				delete(cd.Emails, f.idx)
			}
		case "contacts:ImAddress":
			setKey(&cd.IMs, f.idx, src.IMs[f.idx])
		case "contacts:PhoneNumber":
			setKey(&cd.Phones, f.idx, src.Phones[f.idx])
		}
	case f.idx != "" && strings.HasPrefix(f.uri, "contacts:PhysicalAddress:"):
		field := strings.TrimPrefix(f.uri, "contacts:PhysicalAddress:")
		v := src.Addresses[f.idx][field]
		a := cd.Addresses[f.idx]
		if a == nil {
			a = map[string]string{}
		}
		if v == "" {
			delete(a, field)
		} else {
			a[field] = v
		}
		if cd.Addresses == nil {
			cd.Addresses = map[string]map[string]string{}
		}
		if len(a) == 0 {
			delete(cd.Addresses, f.idx)
		} else {
			cd.Addresses[f.idx] = a
		}
	case prefix == "contacts" && name == "Children":
		cd.Children = src.Children
	case prefix == "contacts" && slices.Contains(contactStrings, name):
		if v := src.Fields[name]; v != "" {
			cd.Fields[name] = v
		} else {
			delete(cd.Fields, name)
		}
	default:
		return &ewsError{code: "ErrorInvalidPropertySet", text: "The fake does not update " + f.uri + " of a contact.", path: f.path}
	}
	return nil
}

func setKey(m *map[string]string, k, v string) {
	if v == "" {
		delete(*m, k)
		return
	}
	if *m == nil {
		*m = map[string]string{}
	}
	(*m)[k] = v
}

func cloneContact(cd *contactData) *contactData {
	c := &contactData{Fields: map[string]string{}, Children: slices.Clone(cd.Children), Photo: cd.Photo, Notes: cd.Notes}
	for k, v := range cd.Fields {
		c.Fields[k] = v
	}
	for k, v := range cd.Emails {
		if c.Emails == nil {
			c.Emails = map[string]contactEmail{}
		}
		c.Emails[k] = v
	}
	for k, v := range cd.IMs {
		setKey(&c.IMs, k, v)
	}
	for k, v := range cd.Phones {
		setKey(&c.Phones, k, v)
	}
	for k, a := range cd.Addresses {
		if c.Addresses == nil {
			c.Addresses = map[string]map[string]string{}
		}
		c.Addresses[k] = map[string]string{}
		for f, v := range a {
			c.Addresses[k][f] = v
		}
	}
	return c
}

// cloneTask and cloneGroup copy a model with the slices a change
// replaces or appends to.
func cloneTask(t *mailbox.Task) *mailbox.Task {
	c := *t
	c.Categories = slices.Clone(t.Categories)
	return &c
}

func cloneGroup(g *mailbox.ContactGroup) *mailbox.ContactGroup {
	c := *g
	c.Members = slices.Clone(g.Members)
	return &c
}

func cloneEvent(e *mailbox.Event) *mailbox.Event {
	c := *e
	c.Categories = slices.Clone(e.Categories)
	c.Attendees = slices.Clone(e.Attendees)
	c.Exceptions = slices.Clone(e.Exceptions)
	c.Cancelled = slices.Clone(e.Cancelled)
	c.Attachments = slices.Clone(e.Attachments)
	if e.Recurrence != nil {
		r := *e.Recurrence
		r.DaysOfWeek = slices.Clone(r.DaysOfWeek)
		c.Recurrence = &r
	}
	if e.Organizer != nil {
		o := *e.Organizer
		c.Organizer = &o
	}
	return &c
}

// applyUpdates applies an ItemChange's updates to a typed item (or an
// occurrence of one), all or nothing. It reports whether it handled the
// item (false: not a typed item; the caller's own rules apply).
func (rc *reqCtx) applyUpdates(it *item, updates []*node) (bool, error) {
	if it.master == nil && (it.event != nil || it.task != nil || it.group != nil || it.contact != nil) {
		// Extended properties (the stamp ...) are kept on the item, as
		// for any other; an event's online meeting link is its model's.
		ext := maps.Clone(it.ext)
		if ext == nil {
			ext = map[string]string{}
		}
		var rest []*node
		for _, u := range updates {
			f := parseUpdate(u)
			if f.ext == nil {
				rest = append(rest, u)
				continue
			}
			if it.event != nil && f.ext.key() == onlineMeetingLinkSet+"|"+onlineMeetingLinkName {
				rest = append(rest, u)
				continue
			}
			switch {
			case f.op == "DeleteItemField":
				delete(ext, f.ext.key())
			case f.set() && f.val != nil:
				ext[f.ext.key()] = extValue(f)
			default:
				return true, errf("ErrorInvalidPropertyAppend", "An extended property cannot be appended to.")
			}
		}
		if len(rest) == 0 {
			// Only extended properties change (a stamp): the item's
			// model, its organizer included, stays as it is.
			it.ext = ext
			rc.touch(it)
			return true, nil
		}
		handled, err := rc.applyTyped(it, rest)
		if err == nil {
			it.ext = ext
			it.ext["0x3008"] = xsTime(rc.s.now())
		}
		return handled, err
	}
	return rc.applyTyped(it, updates)
}

// applyEach applies updates to v in order; the first error stops it.
func applyEach[T any](v *T, updates []*node, apply func(*T, updateField) error) error {
	for _, u := range updates {
		if err := apply(v, parseUpdate(u)); err != nil {
			return err
		}
	}
	return nil
}

func (rc *reqCtx) applyTyped(it *item, updates []*node) (bool, error) {
	switch {
	case it.master != nil:
		master := it.master
		ev := cloneEvent(master.event)
		if err := applyEach(ev, updates, func(ev *mailbox.Event, f updateField) error {
			return updateOccurrence(ev, it.originalStart, it.event, f)
		}); err != nil {
			return true, err
		}
		// Exchange checks the change set as a whole.
		for _, x := range ev.Exceptions {
			if x.End.Before(x.Start) {
				return true, errf("ErrorCalendarEndDateIsEarlierThanStartDate", "EndDate is earlier than StartDate.")
			}
		}
		master.event = ev
		rc.touch(master)
	case it.event != nil:
		ev := cloneEvent(it.event)
		if err := applyEach(ev, updates, updateEvent); err != nil {
			return true, err
		}
		if err := finishEvent(ev, it.f.mb); err != nil {
			return true, err
		}
		if !ev.IsMeeting {
			ev.Organizer, ev.MyResponse = nil, ""
		}
		it.event = ev
		rc.touch(it)
	case it.task != nil:
		t := cloneTask(it.task)
		if err := applyEach(t, updates, updateTask); err != nil {
			return true, err
		}
		if t.Status != "Completed" || it.task.Status != "Completed" {
			t.CompleteDate = ""
		}
		finishTask(t, rc.s.now())
		it.task = t
		rc.touch(it)
	case it.group != nil:
		g := cloneGroup(it.group)
		if err := applyEach(g, updates, updateGroup); err != nil {
			return true, err
		}
		it.group = g
		rc.touch(it)
	case it.contact != nil:
		cd := cloneContact(it.contact)
		cats, subject, importance := it.categories, it.subject, it.importance
		for _, u := range updates {
			f := parseUpdate(u)
			switch {
			case f.uri == "item:Categories":
				cats = nil
				if f.set() && f.val != nil {
					cats = parseStrings(f.val.child(nsTypes, "Categories"))
				}
			case f.uri == "item:Importance":
				imp := "Normal"
				if f.set() && f.val != nil {
					imp = orDefault(f.val.child(nsTypes, "Importance").value(), "Normal")
				}
				importance = imp
			case f.uri == "item:Subject":
				subject = ""
				if f.set() && f.val != nil {
					subject = f.val.child(nsTypes, "Subject").value()
				}
			default:
				if err := updateContact(cd, f); err != nil {
					return true, err
				}
			}
		}
		it.contact, it.categories, it.subject, it.importance = cd, cats, subject, importance
		rc.touch(it)
		return true, nil
	default:
		return false, nil
	}
	it.syncTyped()
	if it.master != nil {
		it.master.syncTyped()
	}
	return true, nil
}

// touch marks an item changed: a new change key, a new modification time.
func (rc *reqCtx) touch(it *item) {
	it.updated = rc.s.nextSeq()
	// A new map: GetItem answers from a copy of the item made under the
	// lock and read after it.
	it.ext = maps.Clone(it.ext)
	it.ext["0x3008"] = xsTime(rc.s.now())
}

// deleteItem serves DeleteItem: an item is removed (HardDelete,
// SoftDelete) or moved to Deleted Items; an occurrence is cancelled from
// its series. A meeting deleted with cancellations sends them.
func (rc *reqCtx) deleteItem(op *node, x *xw) error {
	send := op.attr("SendMeetingCancellations")
	x.start(nsMessages, "DeleteItemResponse")
	x.start(nsMessages, "ResponseMessages")
	for _, ref := range op.child(nsMessages, "ItemIds").children {
		it, err := rc.itemOrOccurrence(ref)
		if err == nil {
			err = rc.injected()
		}
		ev := (*mailbox.Event)(nil)
		if err == nil {
			ev = it.event
			if it.master != nil {
				ev = it.master.event
			}
		}
		if err == nil && itemElement(it.class) == "CalendarItem" && send == "" {
			// responsecode.md: ErrorSendMeetingCancellationsRequired.
			err = errf("ErrorSendMeetingCancellationsRequired", "SendMeetingCancellations is required for calendar items.")
		}
		if err == nil && itemElement(it.class) == "Task" && !op.hasAttr("AffectedTaskOccurrences") {
			// DeleteItemType.AffectedTaskOccurrences: "required when tasks
			// are deleted"; messages.xsd: ErrorAffectedTaskOccurrencesRequired.
			err = errf("ErrorAffectedTaskOccurrencesRequired", "AffectedTaskOccurrences is required for tasks.")
		}
		if err == nil {
			if it.master != nil {
				master := it.master
				e := cloneEvent(master.event)
				e.Exceptions = slices.DeleteFunc(e.Exceptions, func(o mailbox.Occurrence) bool { return o.OriginalStart.Equal(it.originalStart) })
				e.Cancelled = append(e.Cancelled, it.originalStart)
				slices.SortFunc(e.Cancelled, time.Time.Compare)
				master.event = e
				rc.touch(master)
			} else {
				rc.removeItem(it, op.attr("DeleteType"))
			}
			if ev != nil && ev.IsMeeting && send != "SendToNone" {
				occ := it.event
				rc.sendMeetingMessages(it.f.mb, occ, "IPM.Schedule.Meeting.Canceled", send == "SendToAllAndSaveCopy")
			}
			rc.s.writes.Add(1)
		}
		rc.msgStart(x, "DeleteItemResponseMessage", err)
		x.end()
	}
	x.end()
	x.end()
	return nil
}

// removeItem deletes an item: MoveToDeletedItems moves it into the
// mailbox's Deleted Items, the others leave a tombstone.
func (rc *reqCtx) removeItem(it *item, deleteType string) {
	f := it.f
	f.items = slices.DeleteFunc(f.items, func(x *item) bool { return x == it })
	f.tombs = append(f.tombs, tomb{id: it.id, seq: rc.s.nextSeq(), created: it.created})
	if deleteType == "MoveToDeletedItems" && f.mb != nil && f.mb.roots["deleteditems"] != nil && f != f.mb.roots["deleteditems"] {
		d := f.mb.roots["deleteditems"]
		it.f = d
		it.created = rc.s.nextSeq()
		d.items = append(d.items, it)
		return
	}
	delete(rc.s.items, it.id)
	if f.mb != nil {
		f.mb.used -= it.size
	}
}

// sendMeetingMessages does what Exchange does for a meeting written with
// a Send* value other than SendToNone: a meeting request (or
// cancellation) goes to every attendee, into the Inbox of those the fake
// holds, and with SaveCopy a copy lands in the organizer's Sent Items.
// Every message counts in MeetingMessagesSent.
func (rc *reqCtx) sendMeetingMessages(org *mbox, ev *mailbox.Event, class string, saveCopy bool) {
	if ev == nil {
		return
	}
	now := rc.s.now()
	from := ""
	if org != nil {
		from = org.address
	}
	mime := []byte("From: " + from + "\r\nSubject: " + ev.Subject + "\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + ev.Body + "\r\n")
	for _, a := range ev.Attendees {
		rc.s.meetingSent.Add(1)
		rc.s.sendAttempts.Add(1)
		if mb := rc.s.mailboxes[strings.ToLower(a.Address)]; mb != nil && mb.roots["inbox"] != nil {
			rc.s.addItem(mb.roots["inbox"], Item{MIME: mime, Class: class, Subject: ev.Subject, Received: now, Sent: now})
		}
	}
	if saveCopy && org != nil && org.roots["sentitems"] != nil && len(ev.Attendees) > 0 {
		rc.s.addItem(org.roots["sentitems"], Item{MIME: mime, Class: class, Subject: ev.Subject, Received: now, Sent: now, IsRead: true})
	}
}
