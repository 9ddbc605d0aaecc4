package ewstest

import (
	"encoding/base64"
	"fmt"
	"html"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// --- shapes ---

type extSpec struct {
	tag         string // normalised "0x0e07"
	setID, name string
	id          string // PropertyId (a numeric named property)
	distSet     string // DistinguishedPropertySetId as sent
	typ         string
	rawTag      string
}

// distinguishedSets are the GUIDs of DistinguishedPropertySetType's sets
// (MS-OXPROPS 1.3.2): a named property is the same whether a request names
// its set by GUID or by this name.
var distinguishedSets = map[string]string{
	"Meeting":           "6ed8da90-450b-101b-98da-00aa003f1305",
	"Appointment":       "00062002-0000-0000-c000-000000000046",
	"Common":            "00062008-0000-0000-c000-000000000046",
	"PublicStrings":     "00020329-0000-0000-c000-000000000046",
	"Address":           "00062004-0000-0000-c000-000000000046",
	"InternetHeaders":   "00020386-0000-0000-c000-000000000046",
	"CalendarAssistant": "11000e07-b51b-40d6-af21-caa85edab1d0",
	"UnifiedMessaging":  "4442858e-a9e3-4e80-b900-317a210cc15b",
	"Task":              "00062003-0000-0000-c000-000000000046",
	"Sharing":           "00062040-0000-0000-c000-000000000046",
}

func (e extSpec) key() string {
	if e.tag != "" {
		return e.tag
	}
	set := strings.ToLower(e.setID)
	if set == "" {
		set = distinguishedSets[e.distSet]
	}
	if e.name == "" && e.id != "" {
		return set + "|#" + e.id
	}
	return set + "|" + e.name
}

func parseExt(n *node) extSpec {
	e := extSpec{setID: n.attr("PropertySetId"), name: n.attr("PropertyName"), typ: n.attr("PropertyType"), rawTag: n.attr("PropertyTag"),
		id: n.attr("PropertyId"), distSet: n.attr("DistinguishedPropertySetId")}
	if t := n.attr("PropertyTag"); t != "" {
		v, err := strconv.ParseInt(strings.TrimPrefix(strings.ToLower(t), "0x"), 16, 32)
		if !strings.HasPrefix(strings.ToLower(t), "0x") {
			v, err = strconv.ParseInt(t, 10, 32)
		}
		if err == nil {
			e.tag = fmt.Sprintf("0x%04x", v)
		}
	}
	return e
}

// shape is an ItemShape or FolderShape as the fake applies it.
type shape struct {
	base     string          // IdOnly, Default or AllProperties
	fields   map[string]bool // FieldURI values asked for
	names    map[string][]string
	indexed  map[string][]string // IndexedFieldURI: FieldURI -> FieldIndex values
	ext      []extSpec
	mime     bool   // IncludeMimeContent, or item:MimeContent asked for
	bodyType string // Best, HTML or Text
	// invalid is the first path this kind of shape cannot take (a folder
	// property in an ItemShape ...): Exchange answers each response
	// message ErrorInvalidPropertyRequest naming it.
	invalid *node
}

// nonItemPrefixes name properties of conversations (FindConversation),
// personas (FindPeople, GetPersona) and Exchange Online features: no item
// or folder type has them, so an item or folder shape asking for one is
// answered ErrorInvalidPropertyRequest ("not available for the item type",
// responsecode.md), not a schema fault: the schema allows them. Inferred
// from the documentation, not seen on a server.
var nonItemPrefixes = []string{"conversation", "persona", "person", "booking", "insight"}

func parseShape(n *node, item bool) shape {
	sh := shape{fields: map[string]bool{}, names: map[string][]string{}, indexed: map[string][]string{}, bodyType: "Best"}
	switch b := n.child(nsTypes, "BaseShape").value(); b {
	case "Default", "AllProperties":
		sh.base = b
	default:
		sh.base = "IdOnly" // PcxPeopleSearch has no meaning for items and folders
	}
	if v := n.child(nsTypes, "IncludeMimeContent").value(); v == "true" || v == "1" {
		sh.mime = true
	}
	if v := n.child(nsTypes, "BodyType").value(); v != "" {
		sh.bodyType = v
	}
	for _, p := range n.child(nsTypes, "AdditionalProperties").kids() {
		switch {
		case p.is(nsTypes, "FieldURI"):
			uri := p.attr("FieldURI")
			prefix, name, _ := strings.Cut(uri, ":")
			if item == (prefix == "folder") || slices.Contains(nonItemPrefixes, prefix) {
				sh.setInvalid(p)
				continue
			}
			sh.fields[uri] = true
			sh.names[name] = append(sh.names[name], prefix)
			if uri == "item:MimeContent" {
				sh.mime = true
			}
		case p.is(nsTypes, "IndexedFieldURI"):
			if !item {
				sh.setInvalid(p)
				continue
			}
			sh.indexed[p.attr("FieldURI")] = append(sh.indexed[p.attr("FieldURI")], p.attr("FieldIndex"))
		case p.is(nsTypes, "ExtendedFieldURI"):
			sh.ext = append(sh.ext, parseExt(p))
		default: // ExceptionFieldURI names parts of an error, not properties
			sh.setInvalid(p)
		}
	}
	return sh
}

// needsProps reports whether answering the shape may read the MIME.
func (sh shape) needsProps() bool {
	return sh.base != "IdOnly" || len(sh.names) > 0 || len(sh.indexed) > 0 || len(sh.ext) > 0
}

func (sh *shape) setInvalid(p *node) {
	if sh.invalid == nil {
		sh.invalid = p
	}
}

// invalidErr is the ErrorInvalidPropertyRequest Exchange answers for a
// path the shape's kind cannot take, with the path in MessageXml, as in
// the documented GetItem error (getitem-operation-email-message.md).
func (sh shape) invalidErr() error {
	if sh.invalid == nil {
		return nil
	}
	return &ewsError{code: "ErrorInvalidPropertyRequest", text: "Property is not valid for this object type.", path: sh.invalid}
}

// typePrefixes are the FieldURI prefixes, besides item:, that each item
// type takes; a property applies to a type when the type's schema
// sequence has its element.
var typePrefixes = map[string][]string{
	"MessageType":                    {"message"},
	"SharingMessageType":             {"message", "sharingMessage"},
	"MeetingMessageType":             {"message", "meeting"},
	"MeetingRequestMessageType":      {"message", "meeting", "meetingRequest", "calendar"},
	"MeetingResponseMessageType":     {"message", "meeting", "calendar"},
	"MeetingCancellationMessageType": {"message", "meeting", "calendar"},
	"CalendarItemType":               {"calendar"},
	"ContactItemType":                {"contacts"},
	"DistributionListType":           {"contacts", "distributionlist"},
	"TaskType":                       {"task"},
	"PostItemType":                   {"message", "postitem"},
	"RoleMemberItemType":             {"rolemember"},
	"NetworkItemType":                {"network"},
	"AbchPersonItemType":             {"abchperson"},
}

// firstClass is the AllProperties shape of items: the first-class
// properties of "Property sets and response shapes in EWS in Exchange"
// (Table 4), of those the fake holds.
var firstClass = map[string]bool{
	"ItemId": true, "ParentFolderId": true, "ItemClass": true, "Subject": true, "Sensitivity": true, "Body": true,
	"Attachments": true, "DateTimeReceived": true, "Size": true, "Categories": true, "Importance": true, "InReplyTo": true,
	"IsSubmitted": true, "IsDraft": true, "IsFromMe": true, "IsResend": true, "IsUnmodified": true,
	"InternetMessageHeaders": true, "DateTimeSent": true, "DateTimeCreated": true, "ReminderIsSet": true,
	"DisplayCc": true, "DisplayTo": true, "HasAttachments": true, "EffectiveRights": true, "LastModifiedTime": true,
	"IsAssociated": true, "Sender": true, "ToRecipients": true, "CcRecipients": true, "BccRecipients": true,
	"IsReadReceiptRequested": true, "IsDeliveryReceiptRequested": true, "ConversationIndex": true,
	"ConversationTopic": true, "From": true, "InternetMessageId": true, "IsRead": true, "References": true,
	"ReplyTo": true, "ReceivedBy": true, "ReceivedRepresenting": true, "Start": true, "End": true,
	"IsAllDayEvent": true, "Location": true, "Organizer": true, "RequiredAttendees": true, "OptionalAttendees": true,
	"Resources": true, "DisplayName": true, "GivenName": true,
	"Surname": true, "CompanyName": true, "EmailAddresses": true, "JobTitle": true, "Status": true,
	"PercentComplete": true, "IsComplete": true, "PostedTime": true,
}

// defaultShape is the Default shape per item type (Table 3 of the same
// page), of the properties the fake holds.
var defaultShape = map[string]map[string]bool{
	"MessageType": {"ItemId": true, "Subject": true, "Sensitivity": true, "Size": true, "Body": true, "DateTimeCreated": true,
		"DateTimeSent": true, "From": true, "HasAttachments": true, "IsAssociated": true, "IsDeliveryReceiptRequested": true},
	"CalendarItemType": {"ItemId": true, "Subject": true, "End": true, "HasAttachments": true, "IsAssociated": true,
		"Location": true, "Organizer": true, "Start": true},
	"ContactItemType": {"ItemId": true, "CompanyName": true, "EmailAddresses": true, "HasAttachments": true, "JobTitle": true},
	"TaskType":        {"ItemId": true, "Subject": true, "HasAttachments": true, "PercentComplete": true, "Status": true},
}

// notInFind are the properties FindItem does not return: the body
// formats, recipient lists and other streams (finditem-operation.md:
// "does not return any of the message body formats or the recipient
// lists"; the EWS Managed API schemas leave PropertyDefinitionFlags.CanFind
// off exactly these). SyncFolderItems "is similar to the FindItem
// operation in that it cannot return properties like Body or
// Attachments" (syncfolderitems-operation.md).
var notInFind = map[string]bool{
	"MimeContent": true, "Body": true, "UniqueBody": true, "NormalizedBody": true, "TextBody": true, "Attachments": true,
	"InternetMessageHeaders": true, "ResponseObjects": true, "ToRecipients": true, "CcRecipients": true,
	"BccRecipients": true, "ReplyTo": true, "RequiredAttendees": true, "OptionalAttendees": true, "Resources": true,
	"EmailAddresses": true, "PhysicalAddresses": true, "PhoneNumbers": true, "ImAddresses": true, "Members": true,
	"Recurrence": true, "ModifiedOccurrences": true, "DeletedOccurrences": true, "FirstOccurrence": true,
	"LastOccurrence": true, "MeetingTimeZone": true, "OriginalStart": true, "AssociatedCalendarItemId": true,
	"ChangeHighlights": true, "ApprovalRequestData": true, "VotingInformation": true, "Likers": true,
	"EntityExtractionResult": true, "Hashtags": true, "Mentions": true,
}

// refusedInFind are the FieldURIs FindItem answers with
// ErrorInvalidPropertyForOperation instead of leaving them out. Reported,
// not documented: item:TextBody (exchangelib issue 214) and item:MimeContent
// or IncludeMimeContent (WinRb/Viewpoint issue 191) are refused so; the
// other body formats are taken to be refused alike.
var refusedInFind = []string{"item:MimeContent", "item:Body", "item:UniqueBody", "item:NormalizedBody", "item:TextBody"}

// findErr is FindItem's answer to an ItemShape asking for what it never
// returns.
func findErr(shapeNode *node) error {
	if v := shapeNode.child(nsTypes, "IncludeMimeContent").value(); v == "true" || v == "1" {
		return errf("ErrorInvalidPropertyForOperation", "This property can't be used in FindItem requests.")
	}
	for _, p := range shapeNode.child(nsTypes, "AdditionalProperties").kids() {
		if p.is(nsTypes, "FieldURI") && slices.Contains(refusedInFind, p.attr("FieldURI")) {
			return &ewsError{code: "ErrorInvalidPropertyForOperation", text: "This property can't be used in FindItem requests.", path: p}
		}
	}
	return nil
}

// wants reports whether the item shape asks for element e of type typ.
// A property of another item type (calendar:Start of a message) is left
// out: responsecode.md documents ErrorInvalidPropertyRequest for it and
// getitem-operation-email-message.md shows one, from an Exchange 2007
// server; Exchange 2010 and later answer such shapes with what each item
// has, since exchangelib asks GetItem for every field of every item type
// at once and is used against Exchange 2013 to Online (reported, not
// documented).
func (rc *reqCtx) wants(sh shape, typ, e string) bool {
	if rc.findLike() && notInFind[e] {
		return false
	}
	for _, p := range sh.names[e] {
		if p == "item" || slices.Contains(typePrefixes[typ], p) {
			return true
		}
	}
	switch e {
	case "InternetMessageHeaders":
		if len(sh.indexed["item:InternetMessageHeader"]) > 0 {
			return true
		}
	case "EmailAddresses", "ImAddresses", "PhoneNumbers", "PhysicalAddresses":
		if typ == "ContactItemType" && indexedWants(sh, e) {
			return true
		}
	}
	switch sh.base {
	case "AllProperties":
		return firstClass[e]
	case "Default":
		return defaultShape[typ][e]
	}
	return false
}

// findLike: FindItem and SyncFolderItems return the findable properties only.
func (rc *reqCtx) findLike() bool { return rc.op == "FindItem" || rc.op == "SyncFolderItems" }

func tagAttr(tag string) string {
	v, _ := strconv.ParseInt(strings.TrimPrefix(tag, "0x"), 16, 32)
	return fmt.Sprintf("0x%x", v) // Exchange answers lower-case and unpadded
}

// writeExt answers an extended property with the path as it was asked.
func writeExt(x *xw, e extSpec, val string) {
	x.start(nsTypes, "ExtendedProperty")
	switch {
	case e.tag != "":
		x.empty(nsTypes, "ExtendedFieldURI", "PropertyTag", tagAttr(e.tag), "PropertyType", e.typ)
	default:
		attrs := []string{}
		if e.distSet != "" {
			attrs = append(attrs, "DistinguishedPropertySetId", e.distSet)
		}
		if e.setID != "" {
			attrs = append(attrs, "PropertySetId", e.setID)
		}
		if e.name != "" {
			attrs = append(attrs, "PropertyName", e.name)
		} else {
			attrs = append(attrs, "PropertyId", e.id)
		}
		x.empty(nsTypes, "ExtendedFieldURI", append(attrs, "PropertyType", e.typ)...)
	}
	if strings.HasSuffix(e.typ, "Array") {
		x.start(nsTypes, "Values")
		x.leaf(nsTypes, "Value", val)
		x.end()
	} else {
		x.leaf(nsTypes, "Value", val)
	}
	x.end()
}

func folderElement(class string) string {
	switch {
	case strings.HasPrefix(class, "IPF.Appointment"):
		return "CalendarFolder"
	case strings.HasPrefix(class, "IPF.Contact"):
		return "ContactsFolder"
	case strings.HasPrefix(class, "IPF.Task"):
		return "TasksFolder"
	}
	return "Folder"
}

// folderAll and folderDefault are the AllProperties and Default shapes of
// folders ("Property sets and response shapes in EWS in Exchange", Table 2
// for Default; calendar folders have no TotalCount or UnreadCount in it).
var (
	folderAll     = map[string]bool{"ParentFolderId": true, "FolderClass": true, "DisplayName": true, "TotalCount": true, "ChildFolderCount": true, "EffectiveRights": true, "UnreadCount": true}
	folderDefault = map[string]bool{"DisplayName": true, "TotalCount": true, "ChildFolderCount": true, "UnreadCount": true}
)

func (rc *reqCtx) writeFolder(x *xw, f *folder, sh shape) {
	el := folderElement(f.class)
	x.start(nsTypes, el)
	for _, e := range schemaSequences[schemaFolderElements[el]] {
		want := sh.fields["folder:"+e] || (sh.base == "AllProperties" && folderAll[e]) ||
			(sh.base == "Default" && folderDefault[e] && !(el == "CalendarFolder" && e == "TotalCount"))
		switch e {
		case "FolderId":
			x.empty(nsTypes, "FolderId", "Id", f.id, "ChangeKey", "AQAAABYAAA"+strconv.FormatInt(f.updated, 10))
		case "ParentFolderId":
			if want && f.parent != nil {
				x.empty(nsTypes, "ParentFolderId", "Id", f.parent.id, "ChangeKey", "AQAAAA==")
			}
		case "FolderClass":
			if want && f.class != "" {
				x.leaf(nsTypes, "FolderClass", f.class)
			}
		case "DisplayName":
			if want {
				x.leaf(nsTypes, "DisplayName", f.name)
			}
		case "TotalCount":
			if want {
				x.leaf(nsTypes, "TotalCount", strconv.Itoa(len(f.items)))
			}
		case "ChildFolderCount":
			if want {
				x.leaf(nsTypes, "ChildFolderCount", strconv.Itoa(len(f.children)))
			}
		case "ExtendedProperty":
			for _, e := range sh.ext {
				if v, ok := f.extValue(e); ok {
					writeExt(x, e, v)
				}
			}
		case "EffectiveRights":
			if want {
				rc.writeRights(x, rc.folderRights(f))
			}
		case "DistinguishedFolderId":
			if want && f.distinguished != "" {
				x.leaf(nsTypes, "DistinguishedFolderId", f.distinguished)
			}
		case "PermissionSet":
			// Only when asked for by name, as the IdOnly shapes that
			// read permissions do.
			if sh.fields["folder:PermissionSet"] {
				rc.writePermissionSet(x, f)
			}
		case "UnreadCount":
			if want {
				n := 0
				for _, it := range f.items {
					if !it.isRead {
						n++
					}
				}
				x.leaf(nsTypes, "UnreadCount", strconv.Itoa(n))
			}
		}
	}
	x.end()
}

func (f *folder) extValue(e extSpec) (string, bool) {
	switch e.tag {
	case "0x0e08":
		return strconv.FormatInt(f.size(), 10), true
	case "0x10f4":
		return strconv.FormatBool(f.hidden), true
	case "0x6638":
		return strconv.Itoa(len(f.children)), true
	case "0x3602":
		return strconv.Itoa(len(f.items)), true
	case "0x3001":
		return f.name, true
	case "0x3613":
		if f.class != "" {
			return f.class, true
		}
	case "0x6698":
		// PR_REPLICA_LIST: the content mailbox GUID in ASCII, NUL-ended,
		// as how-to-route-public-folder-content-requests shows it.
		if f.mb == nil && f.replica != "" {
			return base64.StdEncoding.EncodeToString(append([]byte(f.replica), 0)), true
		}
	}
	return "", false
}

// rightsSet is EffectiveRightsType in schema order.
type rightsSet [7]bool

func (rc *reqCtx) writeRights(x *xw, r rightsSet) {
	x.start(nsTypes, "EffectiveRights")
	for i, name := range schemaSequences["EffectiveRightsType"] {
		if i < len(r) {
			x.leaf(nsTypes, name, strconv.FormatBool(r[i]))
		}
	}
	x.end()
}

// folderRights: the mailbox's owner, its impersonator and accounts with
// Full Access hold every right on its folders; on a public folder the
// account has what the folder's Default permission grants.
func (rc *reqCtx) folderRights(f *folder) rightsSet {
	if f.mb != nil {
		return rightsSet{true, true, true, true, true, true, true}
	}
	level := "None"
	for _, p := range f.permissionSet() {
		if strings.EqualFold(p.User, DefaultUser) {
			level = p.Level
		}
	}
	r := levelRights[level]
	return rightsSet{r.owner, r.create, r.subfolders, r.del != "None", r.owner, r.read != "None", false}
}

// itemElement is the element Exchange answers an item of a class in.
func itemElement(class string) string {
	c := strings.ToLower(class)
	switch {
	case strings.HasPrefix(c, "ipm.schedule.meeting.request"):
		return "MeetingRequest"
	case strings.HasPrefix(c, "ipm.schedule.meeting.resp"):
		return "MeetingResponse"
	case strings.HasPrefix(c, "ipm.schedule.meeting.canceled"):
		return "MeetingCancellation"
	case strings.HasPrefix(c, "ipm.schedule.meeting"):
		return "MeetingMessage"
	case strings.HasPrefix(c, "ipm.note"), strings.HasPrefix(c, "report"):
		return "Message"
	case c == "ipm.post" || strings.HasPrefix(c, "ipm.post."):
		return "PostItem"
	case strings.HasPrefix(c, "ipm.appointment"), c == strings.ToLower(exceptionClass):
		return "CalendarItem"
	case strings.HasPrefix(c, "ipm.contact"):
		return "Contact"
	case strings.HasPrefix(c, "ipm.distlist"):
		return "DistributionList"
	case strings.HasPrefix(c, "ipm.task"):
		return "Task"
	}
	return "Item"
}

func xsTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

func (it *item) flags() string {
	if v, ok := it.ext["0x0e07"]; ok {
		return v
	}
	f := 0
	if it.isRead {
		f |= 1
	}
	if it.isDraft {
		f |= 8
	}
	return strconv.Itoa(f)
}

// createdAt and modifiedAt are PR_CREATION_TIME and
// PR_LAST_MODIFICATION_TIME: set by CreateItem and UpdateItem; a seeded
// item stands for mail delivered when it was received.
func (it *item) createdAt() time.Time  { return it.timeExt("0x3007") }
func (it *item) modifiedAt() time.Time { return it.timeExt("0x3008") }

func (it *item) timeExt(tag string) time.Time {
	if v, ok := it.ext[tag]; ok {
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			return t
		}
	}
	return it.received
}

func (it *item) extValue(e extSpec) (string, bool) {
	switch e.tag {
	case "0x0e07":
		return it.flags(), true
	case "0x0e06":
		return xsTime(it.received), true
	case "0x0039":
		if it.sent.IsZero() {
			return "", false
		}
		return xsTime(it.sent), true
	case "0x0e08":
		return strconv.FormatInt(it.size, 10), true
	case "0x3007", "0x3008":
		return xsTime(it.timeExt(e.tag)), true
	case "0x001a":
		return it.class, true
	case "0x0037":
		return it.subject, true
	case "0x1035":
		if it.msgID != "" {
			return it.msgID, true
		}
	}
	v, ok := it.ext[e.key()]
	return v, ok
}

// writeItem writes an item's properties in the schema order of its type,
// those the shape asked for and the fake holds. mime, when set, writes
// MimeContent, which comes first.
func (rc *reqCtx) writeItem(x *xw, it *item, sh shape, mime func()) {
	el := itemElement(it.class)
	typ := schemaItemElements[el]
	var p *mimeProps
	props := func() *mimeProps {
		if p == nil {
			p = rc.s.propsOf(it)
		}
		return p
	}
	x.start(nsTypes, el)
	done := map[string]bool{}
	for _, e := range schemaSequences[typ] {
		if done[e] {
			continue
		}
		done[e] = true
		switch e {
		case "MimeContent":
			if mime != nil {
				mime()
			}
		case "ItemId":
			x.empty(nsTypes, "ItemId", "Id", it.id, "ChangeKey", it.changeKey())
		case "ExtendedProperty":
			for _, e := range sh.ext {
				if v, ok := rc.itemExt(it, e, props); ok {
					writeExt(x, e, v)
				}
			}
		default:
			if rc.wants(sh, typ, e) {
				rc.writeItemProp(x, it, sh, typ, e, props)
			}
		}
	}
	x.end()
}

// itemExt answers an extended property: the fake's own, or an Internet
// header asked for in the InternetHeaders set, as Exchange maps them.
func (rc *reqCtx) itemExt(it *item, e extSpec, props func() *mimeProps) (string, bool) {
	if v, ok := it.extValue(e); ok {
		return v, true
	}
	if e.name != "" && strings.EqualFold(e.key(), distinguishedSets["InternetHeaders"]+"|"+e.name) {
		for _, h := range props().headers {
			if strings.EqualFold(h[0], e.name) {
				return h[1], true
			}
		}
	}
	return "", false
}

var (
	tagRE   = regexp.MustCompile(`(?s)<[^>]*>`)
	blockRE = regexp.MustCompile(`(?is)<(br|/?p|/?div|/?tr|/?li|/?h[1-6]|/?table|/?blockquote)\b[^>]*>`)
)

// writeBodyAs answers item:Body (or TextBody, always text) in the
// shape's body type, converting between text and HTML.
func writeBodyAs(x *xw, sh shape, e, body string, isHTML bool) {
	want := sh.bodyType
	if e == "TextBody" {
		want = "Text"
	}
	switch {
	case want == "Text" && isHTML:
		body, isHTML = htmlToText(body), false
	case want == "HTML" && !isHTML:
		body, isHTML = "<html><body><pre>"+html.EscapeString(body)+"</pre></body></html>", true
	}
	bt := "Text"
	if isHTML {
		bt = "HTML"
	}
	x.leaf(nsTypes, e, body, "BodyType", bt)
}

// writeItemProp writes one property when the fake holds a value for it.
func (rc *reqCtx) writeItemProp(x *xw, it *item, sh shape, typ, e string, props func() *mimeProps) {
	if rc.writeTypedProp(x, it, sh, typ, e) {
		return
	}
	leaf := func(v string) { x.leaf(nsTypes, e, v) }
	boolean := func(b bool) { leaf(strconv.FormatBool(b)) }
	switch e {
	case "ParentFolderId":
		x.empty(nsTypes, "ParentFolderId", "Id", it.f.id, "ChangeKey", "AQAAAA==")
	case "ItemClass":
		leaf(it.class)
	case "Subject":
		leaf(it.subject)
	case "Sensitivity":
		s := props().sensitivity
		if s == "" {
			s = "Normal"
		}
		leaf(s)
	case "Body", "TextBody":
		p := props()
		if !p.hasBody {
			return
		}
		writeBodyAs(x, sh, e, p.body, p.html)
	case "Preview":
		p := props()
		if !p.hasBody {
			return
		}
		text := p.body
		if p.html {
			text = htmlToText(text)
		}
		text = strings.Join(strings.Fields(text), " ")
		if r := []rune(text); len(r) > 255 {
			text = string(r[:255])
		}
		leaf(text)
	case "Attachments":
		rc.writeAttachments(x, it, props())
	case "DateTimeReceived":
		leaf(xsTime(it.received))
	case "Size":
		leaf(strconv.FormatInt(min(it.size, 1<<31-1), 10)) // xs:int on the wire
	case "Categories":
		if len(it.categories) > 0 {
			x.start(nsTypes, "Categories")
			for _, c := range it.categories {
				x.leaf(nsTypes, "String", c)
			}
			x.end()
		}
	case "Importance":
		leaf(it.importance)
	case "InReplyTo":
		if v := props().inReplyTo; v != "" {
			leaf(v)
		}
	case "IsSubmitted", "IsResend", "IsAssociated", "ReminderIsSet":
		boolean(false) // the fake holds no outbox, resends, associated items or reminders
	case "IsDraft":
		boolean(it.isDraft)
	case "IsUnmodified":
		boolean(!it.isDraft)
	case "IsFromMe":
		from := props().from
		boolean(it.f.mb != nil && len(from) == 1 && strings.EqualFold(from[0].email, it.f.mb.address))
	case "InternetMessageHeaders":
		rc.writeHeaders(x, sh, props())
	case "DateTimeSent":
		if !it.sent.IsZero() {
			leaf(xsTime(it.sent))
		}
	case "DateTimeCreated":
		leaf(xsTime(it.createdAt()))
	case "LastModifiedTime":
		leaf(xsTime(it.modifiedAt()))
	case "DisplayTo", "DisplayCc", "DisplayBcc":
		p := props()
		list := map[string][]addr{"DisplayTo": p.to, "DisplayCc": p.cc, "DisplayBcc": p.bcc}[e]
		if len(list) > 0 {
			names := make([]string, len(list))
			for i, a := range list {
				names[i] = a.display()
			}
			leaf(strings.Join(names, "; "))
		}
	case "HasAttachments":
		boolean(props().hasAttachments())
	case "EffectiveRights":
		// The owner, its impersonator or a Full Access account may read,
		// change and delete an item; "create" rights are the folder's.
		rc.writeRights(x, rightsSet{false, false, false, true, true, true, true})
	case "Flag":
		status := "NotFlagged"
		switch it.ext["0x1090"] {
		case "1":
			status = "Complete"
		case "2":
			status = "Flagged"
		}
		x.start(nsTypes, "Flag")
		x.leaf(nsTypes, "FlagStatus", status)
		x.end()
	case "Sender":
		p := props()
		who := p.sender
		if len(who) == 0 {
			who = p.from
		}
		rc.writeSingle(x, e, who)
	case "From":
		rc.writeSingle(x, e, props().from)
	case "ToRecipients":
		rc.writeRecipients(x, e, props().to)
	case "CcRecipients":
		rc.writeRecipients(x, e, props().cc)
	case "BccRecipients":
		rc.writeRecipients(x, e, props().bcc)
	case "ReplyTo":
		rc.writeRecipients(x, e, props().replyTo)
	case "IsReadReceiptRequested":
		boolean(props().readReceipt)
	case "IsDeliveryReceiptRequested":
		boolean(false)
	case "ConversationIndex":
		if v := props().threadIndex; v != "" {
			if _, err := base64.StdEncoding.DecodeString(v); err == nil {
				leaf(v)
			}
		}
	case "ConversationTopic":
		if v := props().threadTopic; v != "" {
			leaf(v)
		} else {
			leaf(conversationTopic(it.subject))
		}
	case "InternetMessageId":
		if it.msgID != "" {
			leaf(it.msgID)
		}
	case "IsRead":
		boolean(it.isRead)
	case "References":
		if v := props().references; v != "" {
			leaf(v)
		}
	case "ReceivedBy", "ReceivedRepresenting":
		// Delivered mail names the mailbox it was delivered to; a draft
		// or an item written with CreateItem (which sets its creation
		// time) was never delivered.
		if _, written := it.ext["0x3007"]; written {
			return
		}
		if mb := it.f.mb; mb != nil && !it.isDraft {
			rc.writeSingle(x, e, []addr{{name: mb.display, email: mb.address}})
		}
	case "PostedTime":
		leaf(xsTime(it.received))
	case "RequiredAttendees", "OptionalAttendees", "Resources":
		c := props().cal
		if c == nil {
			return
		}
		list := map[string][]addr{"RequiredAttendees": c.required, "OptionalAttendees": c.optional, "Resources": c.resources}[e]
		if len(list) == 0 {
			return
		}
		x.start(nsTypes, e)
		for _, a := range list {
			x.start(nsTypes, "Attendee")
			rc.writeMailbox(x, a, false)
			x.end()
		}
		x.end()
	case "UID", "Start", "End", "IsAllDayEvent", "Location", "Organizer":
		c := props().cal
		if c == nil {
			return
		}
		switch e {
		case "UID":
			if c.uid != "" {
				leaf(c.uid)
			}
		case "Start", "End":
			t := c.start
			if e == "End" {
				t = c.end
			}
			if !t.IsZero() {
				leaf(xsTime(t))
			}
		case "IsAllDayEvent":
			boolean(c.allDay)
		case "Location":
			if c.location != "" {
				leaf(c.location)
			}
		case "Organizer":
			if c.organizer.email != "" {
				rc.writeSingle(x, e, []addr{c.organizer})
			}
		}
	case "Status", "PercentComplete", "IsComplete":
		if typ != "TaskType" {
			return
		}
		// The fake keeps no task state: every task is not started.
		leaf(map[string]string{"Status": "NotStarted", "PercentComplete": "0", "IsComplete": "false"}[e])
	default:
		if typ != "ContactItemType" || !slices.Contains(contactElements, e) {
			return
		}
		if cd := contactOf(it, props); cd != nil {
			rc.writeContactProp(x, cd, sh, typ, e)
		}
	}
}

func (a addr) display() string {
	if a.name != "" {
		return a.name
	}
	return a.email
}

// writeMailbox writes EmailAddressType. On FindItem, From, Sender and
// Organizer carry the name only (finditem-operation.md).
func (rc *reqCtx) writeMailbox(x *xw, a addr, nameOnly bool) {
	x.start(nsTypes, "Mailbox")
	x.leaf(nsTypes, "Name", a.display())
	if !nameOnly {
		x.leaf(nsTypes, "EmailAddress", a.email)
		x.leaf(nsTypes, "RoutingType", "SMTP")
		kind := "OneOff"
		if rc.s.mailboxes[strings.ToLower(a.email)] != nil {
			kind = "Mailbox"
		}
		x.leaf(nsTypes, "MailboxType", kind)
	}
	x.end()
}

func (rc *reqCtx) writeSingle(x *xw, e string, list []addr) {
	if len(list) == 0 {
		return
	}
	x.start(nsTypes, e)
	rc.writeMailbox(x, list[0], rc.op == "FindItem" && e != "ReceivedBy" && e != "ReceivedRepresenting")
	x.end()
}

func (rc *reqCtx) writeRecipients(x *xw, e string, list []addr) {
	if len(list) == 0 {
		return
	}
	x.start(nsTypes, e)
	for _, a := range list {
		rc.writeMailbox(x, a, false)
	}
	x.end()
}

// writeHeaders answers InternetMessageHeaders: every header, or those
// the IndexedFieldURIs named.
func (rc *reqCtx) writeHeaders(x *xw, sh shape, p *mimeProps) {
	only := sh.indexed["item:InternetMessageHeader"]
	all := sh.names["InternetMessageHeaders"] != nil || sh.base == "AllProperties"
	var keep [][2]string
	for _, h := range p.headers {
		if all || slices.ContainsFunc(only, func(n string) bool { return strings.EqualFold(n, h[0]) }) {
			keep = append(keep, h)
		}
	}
	if len(keep) == 0 {
		return
	}
	x.start(nsTypes, "InternetMessageHeaders")
	for _, h := range keep {
		x.leaf(nsTypes, "InternetMessageHeader", h[1], "HeaderName", h[0])
	}
	x.end()
}

// attachmentID names an attachment by its item and position.
func attachmentID(itemID string, i int) string {
	return base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "%s|att|%d", itemID, i))
}

func (rc *reqCtx) writeAttachments(x *xw, it *item, p *mimeProps) {
	if len(p.attachments) == 0 {
		return
	}
	x.start(nsTypes, "Attachments")
	for i, a := range p.attachments {
		rc.writeAttachment(x, it, i, a, false, false)
	}
	x.end()
}

// htmlToText is a crude HTML-to-text conversion: block elements end lines,
// other tags vanish, white space collapses. Exchange's keeps more layout;
// the words are the same.
func htmlToText(s string) string {
	s = blockRE.ReplaceAllString(s, "\n")
	s = html.UnescapeString(tagRE.ReplaceAllString(s, ""))
	lines := strings.Split(s, "\n")
	out := lines[:0]
	for _, l := range lines {
		if l = strings.Join(strings.Fields(l), " "); l != "" {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\r\n")
}

// conversationTopic is the subject without its reply and forward prefixes.
func conversationTopic(subject string) string {
	s := strings.TrimSpace(subject)
	for {
		low := strings.ToLower(s)
		cut := false
		for _, p := range []string{"re:", "fw:", "fwd:", "aw:", "wg:", "sv:", "vs:"} {
			if strings.HasPrefix(low, p) {
				s, cut = strings.TrimSpace(s[len(p):]), true
				break
			}
		}
		if !cut {
			return s
		}
	}
}

// propsOf returns an item's derived properties, computing them once;
// call with s.mu held.
func (s *Server) propsOf(it *item) *mimeProps {
	if it.derived != nil {
		return it.derived
	}
	switch {
	case it.mime != nil:
		it.derived = deriveProps(it.mime, false)
	case it.open != nil:
		it.derived = &mimeProps{}
		if rc, err := it.open(); err == nil {
			it.derived = deriveHead(rc)
			rc.Close()
		}
	default:
		it.derived = &mimeProps{}
	}
	return it.derived
}

// page applies an IndexedPage view and the server's cap.
func (rc *reqCtx) page(view *node, total, limit int) (offset, n int) {
	max := limit
	if view != nil {
		if v, err := strconv.Atoi(view.attr("MaxEntriesReturned")); err == nil && v < max {
			max = v
		}
		offset, _ = strconv.Atoi(view.attr("Offset"))
		if view.attr("BasePoint") == "End" {
			offset = total - offset - max
			if offset < 0 {
				offset = 0
			}
		}
	}
	if offset > total {
		offset = total
	}
	n = min(max, total-offset)
	return offset, n
}

func writeRootAttrs(offset, n, total int) []string {
	return []string{"IndexedPagingOffset", strconv.Itoa(offset + n), "TotalItemsInView", strconv.Itoa(total),
		"IncludesLastItemInRange", strconv.FormatBool(offset+n >= total)}
}
