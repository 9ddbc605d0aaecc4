package ewstest

import (
	"bytes"
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/exmigrate/exmigrate/mailbox"
)

// restriction evaluates the IsEqualTo restrictions the fake supports.
func restriction(r *node) (func(*item) bool, error) {
	if r == nil {
		return nil, nil
	}
	if len(r.children) != 1 || !r.children[0].is(nsTypes, "IsEqualTo") {
		return nil, errf("ErrorUnsupportedPathForQuery", "The fake supports IsEqualTo restrictions only.")
	}
	eq := r.children[0]
	if len(eq.children) != 2 {
		return nil, errf("ErrorSchemaValidation", "IsEqualTo needs a path and FieldURIOrConstant.")
	}
	path, c := eq.children[0], eq.children[1].child(nsTypes, "Constant")
	if c == nil {
		return nil, errf("ErrorUnsupportedPathForQuery", "Only constants are supported.")
	}
	want := c.attr("Value")
	switch {
	case path.is(nsTypes, "ExtendedFieldURI"):
		e := parseExt(path)
		return func(it *item) bool { v, ok := it.extValue(e); return ok && v == want }, nil
	case path.is(nsTypes, "FieldURI") && path.attr("FieldURI") == "message:InternetMessageId":
		return func(it *item) bool { return it.msgID == want }, nil
	case path.is(nsTypes, "FieldURI") && path.attr("FieldURI") == "item:Subject":
		return func(it *item) bool { return it.subject == want }, nil
	}
	return nil, errf("ErrorUnsupportedPathForQuery", "The property path is not supported in a restriction.")
}

func (rc *reqCtx) findItem(op *node, x *xw) error {
	shapeNode := op.child(nsMessages, "ItemShape")
	sh := parseShape(shapeNode, true)
	shapeErr := sh.invalidErr()
	if shapeErr == nil {
		shapeErr = findErr(shapeNode)
	}
	match, rerr := restriction(op.child(nsMessages, "Restriction"))
	limit := rc.s.pageLimit
	if match != nil {
		limit = min(limit, RestrictedPageLimit)
	}
	x.start(nsMessages, "FindItemResponse")
	x.start(nsMessages, "ResponseMessages")
	for _, ref := range op.child(nsMessages, "ParentFolderIds").children {
		f, err := rc.folderByRef(ref)
		if err == nil {
			err = shapeErr
		}
		if err == nil {
			err = rerr
		}
		if err == nil && op.attr("Traversal") != "Shallow" {
			err = errf("ErrorInvalidOperation", "The fake holds no soft-deleted or associated items.")
		}
		if rc.msgStart(x, "FindItemResponseMessage", err) {
			list := f.items
			if match != nil {
				list = nil
				for _, it := range f.items {
					if match(it) {
						list = append(list, it)
					}
				}
			}
			offset, n := rc.page(op.child(nsMessages, "IndexedPageItemView"), len(list), limit)
			x.start(nsMessages, "RootFolder", writeRootAttrs(offset, n, len(list))...)
			x.start(nsTypes, "Items")
			for _, it := range list[offset : offset+n] {
				rc.writeItem(x, it, sh, nil)
			}
			x.end()
			x.end()
		}
		x.end()
	}
	x.end()
	x.end()
	return nil
}

// MaxMessageSize is the largest MIME CreateItem accepts (decoded), like
// the organisation's message size limit; over it, ErrorMessageSizeExceeded.
const MaxMessageSize = 35 << 20

// messageElements are the items MessageDisposition applies to
// (responsecode.md, ErrorMessageDispositionRequired: "when the item being
// created or updated is a Message").
var messageElements = map[string]bool{"Message": true, "MeetingMessage": true, "MeetingRequest": true,
	"MeetingResponse": true, "MeetingCancellation": true, "SharingMessage": true}

// defaultClass is the ItemClass an item created without one gets.
var defaultClass = map[string]string{"Item": "IPM.Note", "Message": "IPM.Note", "CalendarItem": "IPM.Appointment",
	"Contact": "IPM.Contact", "DistributionList": "IPM.DistList", "Task": "IPM.Task", "PostItem": "IPM.Post",
	"MeetingMessage": "IPM.Schedule.Meeting", "MeetingRequest": "IPM.Schedule.Meeting.Request",
	"MeetingResponse": "IPM.Schedule.Meeting.Resp.Pos", "MeetingCancellation": "IPM.Schedule.Meeting.Canceled",
	"SharingMessage": "IPM.Sharing"}

// sendErr refuses what would make the service mail someone. Exchange
// would send; the lab never does, so the request is refused whole and
// nothing is saved (the no-send rule: EXM-WRITE-WOULD-SEND).
func (rc *reqCtx) sendErr(what string) error {
	rc.s.sendAttempts.Add(1)
	return errf("ErrorInvalidOperation", "The lab never sends mail: %s would send it on Exchange, so the fake refuses it and saves nothing.", what)
}

func (rc *reqCtx) createItem(op *node, x *xw) error {
	var target *folder
	var ferr error
	if sf := op.child(nsMessages, "SavedItemFolderId"); sf != nil {
		target, ferr = rc.folderByRef(sf.children[0])
	} else {
		mb, err := rc.mailboxFor("")
		if err == nil {
			err = rc.access(mb, false)
		}
		if err == nil {
			target = mb.roots["drafts"]
		}
		ferr = err
	}
	disp := op.attr("MessageDisposition")
	x.start(nsMessages, "CreateItemResponse")
	x.start(nsMessages, "ResponseMessages")
	for _, in := range op.child(nsMessages, "Items").children {
		el := in.name.Local
		err := ferr
		if err == nil {
			err = rc.injected()
		}
		switch {
		case err != nil:
		case messageElements[el] && disp == "":
			err = errf("ErrorMessageDispositionRequired", "MessageDisposition is required for messages.")
		case messageElements[el] && disp != "SaveOnly":
			err = rc.sendErr("MessageDisposition " + disp)
		case el == "CalendarItem" && !op.hasAttr("SendMeetingInvitations"):
			// responsecode.md: ErrorSendMeetingInvitationsRequired.
			err = errf("ErrorSendMeetingInvitationsRequired", "SendMeetingInvitations is required for calendar items.")
		case defaultClass[el] == "":
			// Response objects (replies, forwards, meeting responses ...)
			// act on other items; the fake creates items only.
			err = errf("ErrorInvalidRequest", "The fake does not create %s response objects.", el)
		}
		var it *item
		if err == nil {
			it, err = rc.createOne(target, in)
		}
		if err == nil && it.event != nil && it.event.IsMeeting && op.attr("SendMeetingInvitations") != "SendToNone" {
			// Exchange invites the attendees (createitem.md).
			rc.sendMeetingMessages(target.mb, it.event, "IPM.Schedule.Meeting.Request", op.attr("SendMeetingInvitations") == "SendToAllAndSaveCopy")
		}
		if rc.msgStart(x, "CreateItemResponseMessage", err) {
			idItems(x, it, it.changeKey())
		} else {
			// ItemInfoResponseMessageType requires Items, empty on an
			// error (createitem-operation-email-message.md's example).
			x.empty(nsMessages, "Items")
		}
		x.end()
	}
	x.end()
	x.end()
	return nil
}

// idItems writes the Items of an ItemInfoResponseMessage naming one
// item by its id and change key (CreateItem, UpdateItem, MoveItem).
func idItems(x *xw, it *item, changeKey string) {
	x.start(nsMessages, "Items")
	x.start(nsTypes, itemElement(it.class))
	x.empty(nsTypes, "ItemId", "Id", it.id, "ChangeKey", changeKey)
	x.end()
	x.end()
}

// createOne stores one item, from its MimeContent or, without it, from
// its properties (for which the fake writes the MIME Exchange would
// answer GetItem with).
func (rc *reqCtx) createOne(target *folder, in *node) (*item, error) {
	var mime []byte
	var err error
	now := rc.s.now()
	if mc := in.child(nsTypes, "MimeContent"); mc != nil {
		if mime, err = base64.StdEncoding.DecodeString(strings.Join(strings.Fields(mc.text.String()), "")); err != nil {
			return nil, errf("ErrorMimeContentConversionFailed", "The MIME content is not valid base64.")
		}
		if !bytes.Contains(mime, []byte(":")) {
			return nil, errf("ErrorMimeContentConversionFailed", "The MIME content has no headers.")
		}
	} else {
		mime = composeMIME(in, target.mb, now)
	}
	var contact *contactData
	var photo []byte
	var ev *mailbox.Event
	var task *mailbox.Task
	var group *mailbox.ContactGroup
	if in.child(nsTypes, "MimeContent") == nil {
		switch in.name.Local {
		case "Contact":
			if contact, err = parseContact(in); err != nil {
				return nil, err
			}
			if a := in.child(nsTypes, "Attachments"); a != nil {
				if _, photo, err = parseFileAttachments(a); err != nil {
					return nil, err
				}
				contact.Photo = photo
			}
		case "CalendarItem":
			e, err := parseEventNode(in)
			if err == nil {
				err = finishEvent(&e, target.mb)
			}
			if err != nil {
				return nil, err
			}
			ev = &e
		case "Task":
			t, err := parseTaskNode(in)
			if err != nil {
				return nil, err
			}
			if target.mb != nil {
				t.Owner = target.mb.display // Exchange makes the mailbox's owner the task's owner
			}
			finishTask(&t, now)
			task = &t
		case "DistributionList":
			g := parseGroupNode(in)
			group = &g
		}
	}
	if len(mime) > MaxMessageSize {
		return nil, errf("ErrorMessageSizeExceeded", "The message exceeds the maximum supported size.")
	}
	if target.mb != nil && target.mb.quota > 0 && target.mb.used+int64(len(mime)) > target.mb.quota {
		return nil, errf("ErrorQuotaExceeded", "The mailbox quota has been exceeded.")
	}
	class := defaultClass[in.name.Local]
	if ic := in.child(nsTypes, "ItemClass"); ic != nil {
		if why := invalidClass(ic.value()); why != "" {
			return nil, errf("ErrorInvalidPropertyRequest", "The ItemClass %q is not a valid message class: %s.", ic.value(), why)
		}
		if messageElements[in.name.Local] && !messageElements[itemElement(ic.value())] {
			// itemclass.md: a message needs a class consistent with a
			// message, and an inconsistent one is an error (the response
			// code is not documented; the fake answers this one). A note
			// or journal entry is a t:Item, which takes any class.
			return nil, errf("ErrorObjectTypeChanged", "The ItemClass %q is not consistent with a %s.", ic.value(), in.name.Local)
		}
		class = ic.value()
	}
	spec := Item{MIME: mime, Class: class, Importance: in.child(nsTypes, "Importance").value(), Received: now}
	if cats := in.child(nsTypes, "Categories"); cats != nil {
		for _, c := range cats.all(nsTypes, "String") {
			spec.Categories = append(spec.Categories, c.value())
		}
	}
	ext := map[string]string{}
	for _, ep := range in.all(nsTypes, "ExtendedProperty") {
		e := parseExt(ep.child(nsTypes, "ExtendedFieldURI"))
		ext[e.key()] = ep.child(nsTypes, "Value").value()
	}
	if v, ok := ext["0x0e07"]; ok {
		n, perr := strconv.Atoi(v)
		if perr != nil {
			return nil, errf("ErrorInvalidExtendedPropertyValue", "PR_MESSAGE_FLAGS must be an integer.")
		}
		spec.IsRead, spec.IsDraft = n&1 != 0, n&8 != 0
	} else {
		spec.IsDraft = messageElements[in.name.Local] // without PR_MESSAGE_FLAGS Exchange saves an unsent draft
	}
	if v := in.child(nsTypes, "IsRead"); v != nil {
		spec.IsRead = v.value() == "true" || v.value() == "1"
	}
	if v, ok := ext["0x0e06"]; ok {
		if spec.Received, err = time.Parse(time.RFC3339, v); err != nil {
			return nil, errf("ErrorInvalidExtendedPropertyValue", "PR_MESSAGE_DELIVERY_TIME is not a dateTime.")
		}
	}
	if v, ok := ext["0x0039"]; ok {
		if spec.Sent, err = time.Parse(time.RFC3339, v); err != nil {
			return nil, errf("ErrorInvalidExtendedPropertyValue", "PR_CLIENT_SUBMIT_TIME is not a dateTime.")
		}
	}
	it := rc.s.addItem(target, spec)
	it.contact, it.event, it.task, it.group = contact, ev, task, group
	it.syncTyped()
	it.ext["0x3007"], it.ext["0x3008"] = xsTime(now), xsTime(now)
	for k, v := range ext {
		if k == searchKeyTag {
			continue // a created item gets its own search key (addItem), whatever the request says
		}
		it.ext[k] = v
	}
	rc.s.writes.Add(1)
	return it, nil
}

// invalidClass says why a string cannot be a message class, after
// MS-OXCMSG 2.2.1.3 (PidTagMessageClass): ASCII 0x20 to 0x7F only, not
// ending with a period, 1 to 255 characters. The response code Exchange
// answers with is not documented; the fake uses ErrorInvalidPropertyRequest.
func invalidClass(c string) string {
	switch {
	case c == "":
		return "it is empty"
	case len(c) > 255:
		return "it is longer than 255 characters"
	case strings.HasSuffix(c, "."):
		return "it ends with a period"
	}
	for _, r := range c {
		if r < 0x20 || r > 0x7f {
			return "it holds a character outside ASCII 0x20-0x7F"
		}
	}
	return ""
}

func (rc *reqCtx) updateItem(op *node, x *xw) error {
	send := op.attr("SendMeetingInvitationsOrCancellations")
	x.start(nsMessages, "UpdateItemResponse")
	x.start(nsMessages, "ResponseMessages")
	for _, ch := range op.child(nsMessages, "ItemChanges").children {
		var ref *node
		for _, c := range ch.children {
			if c.is(nsTypes, "ItemId") || c.is(nsTypes, "OccurrenceItemId") {
				ref = c
			}
		}
		var it *item
		var err error = errf("ErrorInvalidIdMalformed", "The fake resolves ItemId and OccurrenceItemId only.")
		if ref != nil {
			it, err = rc.itemOrOccurrence(ref)
		}
		if err == nil {
			err = rc.injected()
		}
		if err == nil && itemElement(it.class) == "CalendarItem" && send == "" {
			// responsecode.md: ErrorSendMeetingInvitationsOrCancellationsRequired.
			err = errf("ErrorSendMeetingInvitationsOrCancellationsRequired", "SendMeetingInvitationsOrCancellations is required for calendar items.")
		}
		updates := ch.child(nsTypes, "Updates").kids()
		if err == nil {
			var handled bool
			handled, err = rc.applyUpdates(it, updates)
			if !handled {
				err = rc.updateMessage(it, updates)
			}
			if err == nil && it.event != nil && send != "SendToNone" {
				ev := it.event
				if it.master != nil {
					ev = it.master.event
				}
				if ev.IsMeeting {
					rc.sendMeetingMessages(it.f.mb, ev, "IPM.Schedule.Meeting.Request", strings.HasSuffix(send, "AndSaveCopy"))
				}
			}
		}
		if err == nil {
			rc.s.writes.Add(1)
		}
		if rc.msgStart(x, "UpdateItemResponseMessage", err) {
			key := it.changeKey()
			if it.master != nil {
				key = it.master.changeKey()
			}
			idItems(x, it, key)
			x.start(nsMessages, "ConflictResults")
			x.leaf(nsTypes, "Count", "0")
			x.end()
		} else {
			x.empty(nsMessages, "Items") // required by ItemInfoResponseMessageType
		}
		x.end()
	}
	x.end()
	x.end()
	return nil
}

// updateMessage applies the changes the fake makes to items it holds as
// MIME: the read state, the subject and extended properties (the stamp an
// upload gets after UploadItems).
func (rc *reqCtx) updateMessage(it *item, updates []*node) error {
	for _, u := range updates {
		if f := parseUpdate(u); f.ext != nil {
			switch {
			case f.op == "DeleteItemField":
				rc.touch(it)
				delete(it.ext, f.ext.key())
			case f.set() && f.val != nil:
				v := ""
				for _, ep := range f.val.all(nsTypes, "ExtendedProperty") {
					v = ep.child(nsTypes, "Value").value()
				}
				rc.touch(it)
				it.ext[f.ext.key()] = v
			default:
				return errf("ErrorInvalidPropertyAppend", "An extended property cannot be appended to.")
			}
			continue
		}
		uri := u.child(nsTypes, "FieldURI").attr("FieldURI")
		var val *node
		for _, c := range u.children {
			if !c.is(nsTypes, "FieldURI") {
				val = c
			}
		}
		switch {
		case u.is(nsTypes, "SetItemField") && uri == "message:IsRead" && val != nil:
			it.isRead = val.child(nsTypes, "IsRead").value() == "true"
			it.readChanged = rc.s.nextSeq()
		case u.is(nsTypes, "SetItemField") && uri == "item:Subject" && val != nil:
			it.subject = val.child(nsTypes, "Subject").value()
			it.updated = rc.s.nextSeq()
			it.ext["0x3008"] = xsTime(rc.s.now())
		default:
			return errf("ErrorInvalidPropertySet", "The fake updates message:IsRead and item:Subject only.")
		}
	}
	return nil
}
