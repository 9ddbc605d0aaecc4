package ews

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/beevik/etree"

	"github.com/exmigrate/exmigrate/mailbox"
)

// UpdateItem rewrites a typed item written earlier (a contact, a contact
// group, a calendar item, a task) in place: one UpdateItem that sets
// every property the new content has (SetItemField) and deletes every
// one it no longer has (DeleteItemField), ConflictResolution
// AlwaysOverwrite. Calendar items are updated with
// SendMeetingInvitationsOrCancellations="SendToNone": nothing is sent.
// The item keeps its id and its stamp. A full-fidelity payload replaces
// the item with UploadItems CreateAction Update (fullfidelity.go).
//
// A series is rewritten with its recurrence set again, which drops its
// exceptions and cancellations (Outlook warns that changing a series
// does; the fake does the same, unverified on a server), and then its
// exceptions and cancellations are applied again. File attachments (and
// a contact's photo) are replaced: the old ones deleted with
// DeleteAttachment, the new ones added with CreateAttachment.
func (m *Mailbox) UpdateItem(ctx context.Context, itemID string, p mailbox.Payload) error {
	if pctx, pm, raw, _, ok := m.public(ctx, itemID); ok {
		if p.Format == mailbox.FormatFullFidelity {
			return errPublicFullFidelity("update " + itemID)
		}
		return pm.UpdateItem(pctx, raw, p)
	}
	if p.Format == mailbox.FormatFullFidelity {
		return m.updateFullFidelity(ctx, itemID, p)
	}
	if p.Format != mailbox.FormatTyped {
		return mailbox.Permanent(fmt.Errorf("ews: update %s as %s: %w", itemID, p.Format, mailbox.ErrUnsupported))
	}
	data, err := io.ReadAll(io.LimitReader(p.Body, 32<<20))
	if err != nil {
		return err
	}
	kind, err := mailbox.TypedKindOf(data)
	if err != nil {
		return mailbox.Permanent(fmt.Errorf("ews: update %s in %s: %w", itemID, m.address, err))
	}
	body := strings.NewReader(string(data))
	switch kind {
	case "calendar":
		e, err := mailbox.DecodeEvent(body)
		if err != nil {
			return mailbox.Permanent(fmt.Errorf("ews: update calendar item %s in %s: %w", itemID, m.address, err))
		}
		err = m.updateEvent(ctx, itemID, e)
		if err != nil {
			return fmt.Errorf("update calendar item %s in %s: %w", itemID, m.address, err)
		}
		return nil
	case "tasks":
		t, err := mailbox.DecodeTask(body)
		if err != nil {
			return mailbox.Permanent(fmt.Errorf("ews: update task %s in %s: %w", itemID, m.address, err))
		}
		for _, l := range taskLosses(t) {
			mailbox.ReportLoss(ctx, l)
		}
		tmp := etree.NewElement("x")
		atts := t.Attachments
		t.Attachments = nil
		taskItem(tmp, t, nil)
		err = m.c.updateFields(ctx, m.address, itemID, tmp.ChildElements()[0], taskURIs, false)
		if err == nil {
			err = m.c.replaceAttachments(ctx, m.address, itemID, atts, nil, false)
		}
		return m.wrapUpdate("task", itemID, err)
	case "contactgroup":
		g, err := mailbox.DecodeContactGroup(body)
		if err != nil {
			return mailbox.Permanent(fmt.Errorf("ews: update contact group %s in %s: %w", itemID, m.address, err))
		}
		tmp := etree.NewElement("x")
		groupItem(tmp, g, nil)
		return m.wrapUpdate("contact group", itemID, m.c.updateFields(ctx, m.address, itemID, tmp.ChildElements()[0], groupURIs, false))
	case "contacts":
		c, err := mailbox.DecodeContact(body)
		if err != nil {
			return mailbox.Permanent(fmt.Errorf("ews: update contact %s in %s: %w", itemID, m.address, err))
		}
		tmp := etree.NewElement("x")
		contactItem(tmp, c, p.Item, "")
		err = m.c.updateFields(ctx, m.address, itemID, tmp.ChildElements()[0], contactURIs(), false)
		if err == nil {
			if perr := m.c.replaceAttachments(ctx, m.address, itemID, nil, c.Photo, true); perr != nil {
				// As on create: the contact is complete without its picture.
				mailbox.ReportLoss(ctx, mailbox.Loss{Code: mailbox.LossContactPhoto, What: fmt.Sprintf("the photo of contact %q: %v", c.DisplayName, perr)})
			}
		}
		return m.wrapUpdate("contact", itemID, err)
	}
	return mailbox.Permanent(fmt.Errorf("ews: update %s: a typed %s item: %w", itemID, kind, mailbox.ErrUnsupported))
}

func (m *Mailbox) wrapUpdate(what, itemID string, err error) error {
	if err != nil {
		return fmt.Errorf("update %s %s in %s: %w", what, itemID, m.address, err)
	}
	return nil
}

// fieldMap maps the child elements of a typed item to their FieldURIs;
// deletable lists the FieldURIs an update clears when the new content
// lacks them.
type fieldMap struct {
	uris      map[string]string
	deletable []string
}

var (
	eventURIs = fieldMap{uris: map[string]string{"Subject": "item:Subject", "Sensitivity": "item:Sensitivity", "Body": "item:Body",
		"Categories": "item:Categories", "Importance": "item:Importance", "ReminderIsSet": "item:ReminderIsSet",
		"ReminderMinutesBeforeStart": "item:ReminderMinutesBeforeStart", "Start": "calendar:Start", "End": "calendar:End",
		"IsAllDayEvent": "calendar:IsAllDayEvent", "LegacyFreeBusyStatus": "calendar:LegacyFreeBusyStatus", "Location": "calendar:Location",
		"RequiredAttendees": "calendar:RequiredAttendees", "OptionalAttendees": "calendar:OptionalAttendees", "Resources": "calendar:Resources",
		"Recurrence": "calendar:Recurrence", "StartTimeZone": "calendar:StartTimeZone", "EndTimeZone": "calendar:EndTimeZone"},
		deletable: []string{"item:Subject", "item:Sensitivity", "item:Body", "item:Categories", "calendar:Location",
			"calendar:RequiredAttendees", "calendar:OptionalAttendees", "calendar:Resources", "calendar:Recurrence"}}
	taskURIs = fieldMap{uris: map[string]string{"Subject": "item:Subject", "Sensitivity": "item:Sensitivity", "Body": "item:Body",
		"Categories": "item:Categories", "Importance": "item:Importance", "ReminderDueBy": "item:ReminderDueBy", "ReminderIsSet": "item:ReminderIsSet",
		"DueDate": "task:DueDate", "PercentComplete": "task:PercentComplete", "Recurrence": "task:Recurrence",
		"StartDate": "task:StartDate", "Status": "task:Status"},
		deletable: []string{"item:Subject", "item:Sensitivity", "item:Body", "item:Categories", "item:ReminderDueBy",
			"task:DueDate", "task:Recurrence", "task:StartDate"}}
	groupURIs = fieldMap{uris: map[string]string{"Subject": "item:Subject", "Body": "item:Body", "Categories": "item:Categories",
		"DisplayName": "contacts:DisplayName", "FileAs": "contacts:FileAs", "Members": "distributionlist:Members"},
		deletable: []string{"item:Body", "item:Categories", "contacts:FileAs", "distributionlist:Members"}}
)

// contactURIs are the contact's flat properties; the dictionaries go
// entry by entry (IndexedFieldURI).
func contactURIs() fieldMap {
	fm := fieldMap{uris: map[string]string{"Subject": "item:Subject", "Body": "item:Body", "Categories": "item:Categories",
		"Importance": "item:Importance", "Children": "contacts:Children"},
		deletable: []string{"item:Body", "item:Categories", "contacts:Children"}}
	for _, f := range contactFields {
		fm.uris[f] = "contacts:" + f
		fm.deletable = append(fm.deletable, "contacts:"+f)
	}
	return fm
}

// dictionaries of ContactItemType: element, IndexedFieldURI, keys.
var contactDicts = []struct {
	el, uri string
	keys    []string
}{
	{"EmailAddresses", "contacts:EmailAddress", emailKeys},
	{"ImAddresses", "contacts:ImAddress", imKeys},
	{"PhoneNumbers", "contacts:PhoneNumber", append(append(slices.Clone(businessKeys), homeKeys...), "MobilePhone")},
}

// extendedURIs are the extended properties an update sets or clears.
var extendedURIs = []struct {
	tag, typ string // a tag, or "" for the online meeting link
}{{"0x1090", "Integer"}, {tagDisplayNamePrefix, "String"}, {"", "String"}}

func extURI(parent *etree.Element, tag, typ string) *etree.Element {
	if tag == "" {
		return onlineLinkURI(parent)
	}
	return extTag(parent, tag, typ)
}

// updateFields sends one UpdateItem that sets each child of full (a
// t:CalendarItem, t:Task, t:Contact or t:DistributionList written by the
// create path) and deletes what it lacks.
func (c *Client) updateFields(ctx context.Context, mbx, itemID string, full *etree.Element, fm fieldMap, calendar bool) error {
	r, up := c.newUpdate(mbx, false, calendar, itemIDRef(itemID))
	itemEl := full.Tag
	set := map[string]bool{}
	extSet := map[string]bool{}
	for _, ch := range full.ChildElements() {
		switch {
		case ch.Tag == "ExtendedProperty":
			u := ch.FindElement("t:ExtendedFieldURI")
			if u == nil || u.SelectAttrValue("PropertySetId", "") == mailbox.SourceIDPropertySet {
				continue // the stamp stays as it is
			}
			key := u.SelectAttrValue("PropertyTag", "")
			extSet[key] = true
			s := up.CreateElement("t:SetItemField")
			s.AddChild(u.Copy())
			s.CreateElement("t:" + itemEl).AddChild(ch.Copy())
		case fm.uris[ch.Tag] != "":
			uri := fm.uris[ch.Tag]
			set[uri] = true
			s := up.CreateElement("t:SetItemField")
			fieldURI(s, uri)
			s.CreateElement("t:" + itemEl).AddChild(ch.Copy())
		case ch.Tag == "PhysicalAddresses":
			for _, en := range ch.ChildElements() {
				key := en.SelectAttrValue("Key", "")
				for _, f := range en.ChildElements() {
					uri := "contacts:PhysicalAddress:" + f.Tag
					set[uri+"|"+key] = true
					s := up.CreateElement("t:SetItemField")
					ix := s.CreateElement("t:IndexedFieldURI")
					ix.CreateAttr("FieldURI", uri)
					ix.CreateAttr("FieldIndex", key)
					one := s.CreateElement("t:Contact").CreateElement("t:PhysicalAddresses").CreateElement("t:Entry")
					one.CreateAttr("Key", key)
					one.AddChild(f.Copy())
				}
			}
		default:
			for _, d := range contactDicts {
				if ch.Tag != d.el {
					continue
				}
				for _, en := range ch.ChildElements() {
					key := en.SelectAttrValue("Key", "")
					set[d.uri+"|"+key] = true
					s := up.CreateElement("t:SetItemField")
					ix := s.CreateElement("t:IndexedFieldURI")
					ix.CreateAttr("FieldURI", d.uri)
					ix.CreateAttr("FieldIndex", key)
					s.CreateElement("t:Contact").CreateElement("t:" + d.el).AddChild(en.Copy())
				}
			}
		}
	}
	for _, uri := range fm.deletable {
		if !set[uri] {
			fieldURI(up.CreateElement("t:DeleteItemField"), uri)
		}
	}
	if itemEl == "Contact" {
		for _, d := range contactDicts {
			for _, k := range d.keys {
				if !set[d.uri+"|"+k] {
					ix := up.CreateElement("t:DeleteItemField").CreateElement("t:IndexedFieldURI")
					ix.CreateAttr("FieldURI", d.uri)
					ix.CreateAttr("FieldIndex", k)
				}
			}
		}
		for _, k := range addressKeys {
			for _, f := range addressFields {
				uri := "contacts:PhysicalAddress:" + f
				if !set[uri+"|"+k] {
					ix := up.CreateElement("t:DeleteItemField").CreateElement("t:IndexedFieldURI")
					ix.CreateAttr("FieldURI", uri)
					ix.CreateAttr("FieldIndex", k)
				}
			}
		}
	}
	for _, e := range extendedURIs {
		if (e.tag == "") != calendar || extSet[e.tag] {
			continue
		}
		if itemEl != "Contact" && e.tag != "" {
			continue
		}
		extURI(up.CreateElement("t:DeleteItemField"), e.tag, e.typ)
	}
	_, err := callOp[idOnlyXML](ctx, c, mbx, "UpdateItem", r, true, 1)
	return err
}

// updateEvent rewrites a calendar item, then its exceptions.
func (m *Mailbox) updateEvent(ctx context.Context, itemID string, e mailbox.Event) error {
	if err := e.Validate(); err != nil {
		return mailbox.Permanent(err)
	}
	w, attendees, losses := planEvent(e, m.address)
	for _, l := range losses {
		mailbox.ReportLoss(ctx, l)
	}
	atts := w.Attachments
	w.UID, w.Attachments = "", nil // the UID stays; attachments are replaced below
	tmp := etree.NewElement("x")
	calendarItem(tmp, w, attendees, nil)
	if err := m.c.updateFields(ctx, m.address, itemID, tmp.ChildElements()[0], eventURIs, true); err != nil {
		return err
	}
	if err := m.c.replaceAttachments(ctx, m.address, itemID, atts, nil, false); err != nil {
		return err
	}
	if w.Recurrence != nil {
		return m.c.updateOccurrences(ctx, m.address, itemID, w)
	}
	return nil
}

// replaceAttachments makes an item's file attachments (or, for a contact,
// its picture) those of the new content: the old ones are deleted with
// DeleteAttachment and the new ones attached with CreateAttachment.
// Attached items (ItemAttachment) are left alone: the typed model does
// not carry them.
func (c *Client) replaceAttachments(ctx context.Context, mbx, itemID string, atts []mailbox.Attachment, photo []byte, contact bool) error {
	r := c.newRequest(mbx)
	gi := r.body.CreateElement("m:GetItem")
	idOnlyShape(gi, "", []string{"item:Attachments"})
	gi.CreateElement("m:ItemIds").CreateElement("t:ItemId").CreateAttr("Id", itemID)
	type withAttachments struct {
		Attachments attachList `xml:"http://schemas.microsoft.com/exchange/services/2006/types Attachments"`
	}
	msgs, err := callOp[withAttachments](ctx, c, mbx, "GetItem", r, true, 1)
	if err != nil {
		return err
	}
	var old []string
	for _, it := range msgs[0].Items.Items {
		for _, a := range it.Attachments.Items {
			if a.XMLName.Local == "FileAttachment" && a.IsContactPhoto == contact {
				old = append(old, a.AttachmentID.ID)
			}
		}
	}
	if len(old) > 0 {
		r := c.newRequest(mbx)
		idList(r.body.CreateElement("m:DeleteAttachment"), "m:AttachmentIds", "t:AttachmentId", old)
		if _, err := callOp[idOnlyXML](ctx, c, mbx, "DeleteAttachment", r, false, len(old)); err != nil {
			return err
		}
	}
	if contact {
		if len(photo) == 0 {
			return nil
		}
		return c.setContactPhoto(ctx, mbx, itemID, photo)
	}
	if len(atts) == 0 {
		return nil
	}
	r = c.newRequest(mbx)
	ca := r.body.CreateElement("m:CreateAttachment")
	ca.CreateElement("m:ParentItemId").CreateAttr("Id", itemID)
	writeAttachments(ca, atts, nil)
	// writeAttachments names the list t:Attachments (an item's child);
	// CreateAttachment's is m:Attachments.
	ca.FindElement("t:Attachments").Space = "m"
	_, err = callOp[idOnlyXML](ctx, c, mbx, "CreateAttachment", r, false, 1)
	return err
}

// newUpdate starts an UpdateItem of one item, named by ref, that
// overwrites and sends nothing: SaveOnly for a message, SendToNone for a
// calendar item. It returns the request and its t:Updates.
func (c *Client) newUpdate(mbx string, message, calendar bool, ref func(ic *etree.Element)) (*request, *etree.Element) {
	r := c.newRequest(mbx)
	ui := r.body.CreateElement("m:UpdateItem")
	if message {
		ui.CreateAttr("MessageDisposition", "SaveOnly")
	}
	ui.CreateAttr("ConflictResolution", "AlwaysOverwrite")
	if calendar {
		ui.CreateAttr("SendMeetingInvitationsOrCancellations", "SendToNone")
	}
	ic := ui.CreateElement("m:ItemChanges").CreateElement("t:ItemChange")
	ref(ic)
	return r, ic.CreateElement("t:Updates")
}

// itemIDRef names an item by its t:ItemId.
func itemIDRef(itemID string) func(*etree.Element) {
	return func(ic *etree.Element) { ic.CreateElement("t:ItemId").CreateAttr("Id", itemID) }
}

// setStampField sets the source-id stamp through el, the item's type.
func setStampField(up *etree.Element, el, sourceID string) {
	s := up.CreateElement("t:SetItemField")
	sourceIDURI(s)
	stampWith(sourceIDURI, sourceID)(s.CreateElement(el))
}
