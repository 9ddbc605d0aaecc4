package ewstest

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"

	"github.com/exmigrate/exmigrate/mailbox"
)

// The fake checks each request against the shape the EWS schema demands
// (child order, cardinality, enumerations) and answers ErrorSchemaValidation
// like Exchange when it does not match. It is not a full XSD validator: it
// covers the operations the fake serves and the structures exmigrate sends.

type cs struct {
	ns, name string
	min, max int // max < 0: unbounded
}

var (
	mm = func(name string, min, max int) cs { return cs{nsMessages, name, min, max} }
	tt = func(name string, min, max int) cs { return cs{nsTypes, name, min, max} }
)

type opSpec struct {
	children []cs
	attrs    map[string][]string // allowed attributes; nil slice = any value
	required []string
}

var traversalFolder = []string{"Shallow", "Deep", "SoftDeleted"}

var opSpecs = map[string]opSpec{
	"GetFolder":  {children: []cs{mm("FolderShape", 1, 1), mm("FolderIds", 1, 1)}},
	"FindFolder": {children: []cs{mm("FolderShape", 1, 1), mm("IndexedPageFolderView", 0, 1), mm("Restriction", 0, 1), mm("ParentFolderIds", 1, 1)}, attrs: map[string][]string{"Traversal": traversalFolder}, required: []string{"Traversal"}},
	"FindItem": {children: []cs{mm("ItemShape", 1, 1), mm("IndexedPageItemView", 0, 1), mm("GroupBy", 0, 1), mm("Restriction", 0, 1), mm("SortOrder", 0, 1), mm("ParentFolderIds", 1, 1), mm("QueryString", 0, 1)},
		attrs: map[string][]string{"Traversal": {"Shallow", "SoftDeleted", "Associated"}}, required: []string{"Traversal"}},
	"GetItem":      {children: []cs{mm("ItemShape", 1, 1), mm("ItemIds", 1, 1)}},
	"CreateFolder": {children: []cs{mm("ParentFolderId", 1, 1), mm("Folders", 1, 1)}},
	"CreateItem": {children: []cs{mm("SavedItemFolderId", 0, 1), mm("Items", 1, 1)},
		attrs: map[string][]string{"MessageDisposition": {"SaveOnly", "SendOnly", "SendAndSaveCopy"}, "SendMeetingInvitations": calendarSendValues[:3]}},
	"DeleteItem": {children: []cs{mm("ItemIds", 1, 1)},
		attrs: map[string][]string{"DeleteType": {"HardDelete", "SoftDelete", "MoveToDeletedItems"}, "SendMeetingCancellations": calendarSendValues[:3],
			"AffectedTaskOccurrences": {"AllOccurrences", "SpecifiedOccurrenceOnly"}, "SuppressReadReceipts": xsBooleans},
		required: []string{"DeleteType"}},
	"UpdateItem": {children: []cs{mm("SavedItemFolderId", 0, 1), mm("ItemChanges", 1, 1)},
		attrs:    map[string][]string{"MessageDisposition": {"SaveOnly", "SendOnly", "SendAndSaveCopy"}, "ConflictResolution": {"NeverOverwrite", "AutoResolve", "AlwaysOverwrite"}, "SendMeetingInvitationsOrCancellations": calendarSendValues, "SuppressReadReceipts": nil},
		required: []string{"ConflictResolution"}},
	"SyncFolderItems":     {children: []cs{mm("ItemShape", 1, 1), mm("SyncFolderId", 1, 1), mm("SyncState", 0, 1), mm("Ignore", 0, 1), mm("MaxChangesReturned", 1, 1), mm("SyncScope", 0, 1)}},
	"SyncFolderHierarchy": {children: []cs{mm("FolderShape", 1, 1), mm("SyncFolderId", 0, 1), mm("SyncState", 0, 1)}},
	"ResolveNames": {children: []cs{mm("ParentFolderIds", 0, 1), mm("UnresolvedEntry", 1, 1)},
		attrs:    map[string][]string{"ReturnFullContactData": {"true", "false", "1", "0"}, "SearchScope": {"ActiveDirectory", "ActiveDirectoryContacts", "Contacts", "ContactsActiveDirectory"}, "ContactDataShape": nil},
		required: []string{"ReturnFullContactData"}},
	"GetInboxRules":                   {children: []cs{mm("MailboxSmtpAddress", 0, 1), mm("RemoveOutlookRuleBlob", 0, 1)}},
	"GetDelegate":                     {children: []cs{mm("Mailbox", 1, 1), mm("UserIds", 0, 1)}, attrs: map[string][]string{"IncludePermissions": {"true", "false", "1", "0"}}, required: []string{"IncludePermissions"}},
	"GetSearchableMailboxes":          {children: []cs{mm("SearchFilter", 0, 1), mm("ExpandGroupMembership", 0, 1)}},
	"GetDiscoverySearchConfiguration": {children: []cs{mm("SearchId", 0, 1), mm("ExpandGroupMembership", 0, 1), mm("InPlaceHoldConfigurationOnly", 0, 1)}},
	"GetHoldOnMailboxes":              {children: []cs{mm("HoldId", 1, 1)}},
	"GetAttachment":                   {children: []cs{mm("AttachmentShape", 0, 1), mm("AttachmentIds", 1, 1)}},
	"CreateAttachment":                {children: []cs{mm("ParentItemId", 1, 1), mm("Attachments", 1, 1)}},
	"DeleteAttachment":                {children: []cs{mm("AttachmentIds", 1, 1)}},
	"ExportItems":                     {children: []cs{mm("ItemIds", 1, 1)}},
	"UploadItems":                     {children: []cs{mm("Items", 1, 1)}},
	"MoveItem":                        {children: []cs{mm("ToFolderId", 1, 1), mm("ItemIds", 1, 1), mm("ReturnNewItemIds", 0, 1)}},
	"GetRoomLists":                    {},
	"GetRooms":                        {children: []cs{mm("RoomList", 1, 1)}},
}

var (
	propertyTypes = []string{"ApplicationTime", "ApplicationTimeArray", "Binary", "BinaryArray", "Boolean", "CLSID",
		"CLSIDArray", "Currency", "CurrencyArray", "Double", "DoubleArray", "Error", "Float", "FloatArray", "Integer",
		"IntegerArray", "Long", "LongArray", "Null", "Object", "ObjectArray", "Short", "ShortArray", "SystemTime",
		"SystemTimeArray", "String", "StringArray"}
	baseShapes = []string{"IdOnly", "Default", "AllProperties", "PcxPeopleSearch"}
	xsBooleans = []string{"true", "false", "1", "0"}
	// mailboxTypes is the schema's MailboxTypeType.
	mailboxTypes = []string{"Unknown", "OneOff", "Mailbox", "PublicDL", "PrivateDL", "Contact", "PublicFolder", "GroupMailbox", "ImplicitContact", "User"}
	propTagRE    = regexp.MustCompile(`^(0x|0X)[0-9A-Fa-f]{1,4}$|^[0-9]{1,5}$`)
	guidRE       = regexp.MustCompile(`^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$`)
)

type violation struct {
	line, col int
	msg       string
}

func (v *violation) Error() string { return v.msg }

func violationf(n *node, format string, args ...any) error {
	v := &violation{msg: fmt.Sprintf(format, args...)}
	if n != nil {
		v.line, v.col = n.line, n.col
	}
	return v
}

// checkSeq checks n's element children against a sequence.
func checkSeq(n *node, spec []cs) error {
	i := 0
	for _, c := range n.children {
		for i < len(spec) && !(c.name.Space == spec[i].ns && c.name.Local == spec[i].name) {
			i++
		}
		if i == len(spec) {
			return violationf(c, "The element '%s' in namespace '%s' has invalid child element '%s' in namespace '%s'.",
				n.name.Local, n.name.Space, c.name.Local, c.name.Space)
		}
	}
	for _, s := range spec {
		cnt := len(n.all(s.ns, s.name))
		if cnt < s.min {
			return violationf(n, "The element '%s' in namespace '%s' has incomplete content. List of possible elements expected: '%s' in namespace '%s'.",
				n.name.Local, n.name.Space, s.name, s.ns)
		}
		if s.max >= 0 && cnt > s.max {
			return violationf(n, "The element '%s' has too many '%s' children.", n.name.Local, s.name)
		}
	}
	return nil
}

// checkOrder checks that n's children are in the given order (each may repeat).
func checkOrder(n *node, ns string, order []string) error {
	pos := 0
	for _, c := range n.children {
		if c.name.Space != ns {
			return violationf(c, "The element '%s' has invalid child element '%s' in namespace '%s'.", n.name.Local, c.name.Local, c.name.Space)
		}
		j := slices.Index(order[pos:], c.name.Local)
		if j < 0 {
			return violationf(c, "The element '%s' in namespace '%s' has invalid child element '%s' in namespace '%s'.",
				n.name.Local, n.name.Space, c.name.Local, c.name.Space)
		}
		pos += j
	}
	return nil
}

func checkAttrs(n *node, allowed map[string][]string, required []string) error {
	for _, a := range n.attrs {
		vals, ok := allowed[a.Name.Local]
		if !ok || a.Name.Space != "" {
			return violationf(n, "The '%s' attribute is not declared.", a.Name.Local)
		}
		if vals != nil && !slices.Contains(vals, a.Value) {
			return violationf(n, "The '%s' attribute is invalid - The value '%s' is invalid according to its datatype.", a.Name.Local, a.Value)
		}
	}
	for _, r := range required {
		if !n.hasAttr(r) {
			return violationf(n, "The required attribute '%s' is missing.", r)
		}
	}
	return nil
}

func checkInt(n *node, attr string, min, max int64) error {
	v, err := strconv.ParseInt(n.attr(attr), 10, 64)
	if err != nil || v < min || v > max {
		return violationf(n, "The '%s' attribute is invalid - The value '%s' is invalid according to its datatype.", attr, n.attr(attr))
	}
	return nil
}

// checkPath checks a property path against the schema (the Path
// substitution group: FieldURI, IndexedFieldURI, ExtendedFieldURI,
// ExceptionFieldURI), the enumerations taken from types.xsd.
func checkPath(p *node) error {
	enum := func(attr string, vals []string) error {
		if err := checkAttrs(p, map[string][]string{attr: nil, "FieldIndex": nil}, []string{attr}); err != nil {
			return err
		}
		if !slices.Contains(vals, p.attr(attr)) {
			return violationf(p, "The '%s' attribute is invalid - The value '%s' is invalid according to its datatype - The Enumeration constraint failed.", attr, p.attr(attr))
		}
		return nil
	}
	switch {
	case p.is(nsTypes, "FieldURI"):
		if p.hasAttr("FieldIndex") {
			return violationf(p, "The 'FieldIndex' attribute is not declared.")
		}
		return enum("FieldURI", schemaFieldURIs)
	case p.is(nsTypes, "IndexedFieldURI"):
		if err := enum("FieldURI", schemaIndexedFieldURIs); err != nil {
			return err
		}
		if !p.hasAttr("FieldIndex") {
			return violationf(p, "The required attribute 'FieldIndex' is missing.")
		}
	case p.is(nsTypes, "ExceptionFieldURI"):
		if p.hasAttr("FieldIndex") {
			return violationf(p, "The 'FieldIndex' attribute is not declared.")
		}
		return enum("FieldURI", schemaExceptionFieldURIs)
	case p.is(nsTypes, "ExtendedFieldURI"):
		if err := checkAttrs(p, map[string][]string{"PropertyTag": nil, "PropertyType": propertyTypes, "PropertySetId": nil,
			"DistinguishedPropertySetId": schemaPropertySets, "PropertyName": nil, "PropertyId": nil}, []string{"PropertyType"}); err != nil {
			return err
		}
		if p.hasAttr("PropertyTag") && !propTagRE.MatchString(p.attr("PropertyTag")) {
			return violationf(p, "The 'PropertyTag' attribute is invalid - The value '%s' is invalid according to its datatype.", p.attr("PropertyTag"))
		}
		if p.hasAttr("PropertySetId") && !guidRE.MatchString(p.attr("PropertySetId")) {
			return violationf(p, "The 'PropertySetId' attribute is invalid - The value '%s' is invalid according to its datatype 'GuidType'.", p.attr("PropertySetId"))
		}
		if p.hasAttr("PropertyId") {
			if err := checkInt(p, "PropertyId", -1<<31, 1<<31-1); err != nil {
				return err
			}
		}
	default:
		return violationf(p, "The element '%s' is not a property path.", p.name.Local)
	}
	return nil
}

// checkShape checks ItemShape/FolderShape.
func checkShape(s *node, item bool) error {
	spec := []cs{tt("BaseShape", 1, 1), tt("AdditionalProperties", 0, 1)}
	if item {
		spec = []cs{tt("BaseShape", 1, 1), tt("IncludeMimeContent", 0, 1), tt("BodyType", 0, 1), tt("UniqueBodyType", 0, 1),
			tt("NormalizedBodyType", 0, 1), tt("FilterHtmlContent", 0, 1), tt("ConvertHtmlCodePageToUTF8", 0, 1),
			tt("InlineImageUrlTemplate", 0, 1), tt("BlockExternalImages", 0, 1), tt("AddBlankTargetToLinks", 0, 1),
			tt("MaximumBodySize", 0, 1), tt("AdditionalProperties", 0, 1)}
	}
	if err := checkSeq(s, spec); err != nil {
		return err
	}
	if bs := s.child(nsTypes, "BaseShape"); !slices.Contains(baseShapes, bs.value()) {
		return violationf(bs, "The element 'BaseShape' has an invalid value '%s'.", bs.value())
	}
	if m := s.child(nsTypes, "IncludeMimeContent"); m != nil && !slices.Contains(xsBooleans, m.value()) {
		return violationf(m, "The element 'IncludeMimeContent' has an invalid value '%s'.", m.value())
	}
	for _, k := range []string{"BodyType", "UniqueBodyType", "NormalizedBodyType"} {
		if b := s.child(nsTypes, k); b != nil && !slices.Contains([]string{"Best", "HTML", "Text"}, b.value()) {
			return violationf(b, "The element '%s' has an invalid value '%s'.", k, b.value())
		}
	}
	for _, p := range s.child(nsTypes, "AdditionalProperties").kids() {
		if err := checkPath(p); err != nil {
			return err
		}
	}
	return nil
}

// checkFolderIDs checks a NonEmptyArrayOfBaseFolderIdsType or TargetFolderIdType.
func checkFolderIDs(n *node, min int) error {
	if len(n.children) < min {
		return violationf(n, "The element '%s' has incomplete content.", n.name.Local)
	}
	for _, c := range n.children {
		switch {
		case c.is(nsTypes, "FolderId"):
			if c.attr("Id") == "" {
				return violationf(c, "The required attribute 'Id' is missing.")
			}
		case c.is(nsTypes, "DistinguishedFolderId"):
			if c.attr("Id") == "" {
				return violationf(c, "The required attribute 'Id' is missing.")
			}
			if err := checkSeq(c, []cs{tt("Mailbox", 0, 1)}); err != nil {
				return err
			}
		default:
			return violationf(c, "The element '%s' has invalid child element '%s'.", n.name.Local, c.name.Local)
		}
	}
	return nil
}

// validate checks the operation element of the body.
func validate(op *node) error {
	spec, ok := opSpecs[op.name.Local]
	if !ok || op.name.Space != nsMessages {
		return violationf(op, "The element '%s' in namespace '%s' is not a known EWS request.", op.name.Local, op.name.Space)
	}
	if err := checkAttrs(op, spec.attrs, spec.required); err != nil {
		return err
	}
	if err := checkSeq(op, spec.children); err != nil {
		return err
	}
	for _, c := range op.children {
		var err error
		switch c.name.Local {
		case "AttachmentShape":
			if err = checkSeq(c, []cs{tt("IncludeMimeContent", 0, 1), tt("BodyType", 0, 1), tt("FilterHtmlContent", 0, 1), tt("AdditionalProperties", 0, 1)}); err == nil {
				for _, p := range c.child(nsTypes, "AdditionalProperties").kids() {
					if err = checkPath(p); err != nil {
						break
					}
				}
			}
		case "AttachmentIds":
			for _, id := range c.children {
				if !id.is(nsTypes, "AttachmentId") || id.attr("Id") == "" {
					err = violationf(id, "The element 'AttachmentIds' has invalid child element '%s'.", id.name.Local)
				}
			}
			if len(c.children) == 0 {
				err = violationf(c, "The element 'AttachmentIds' has incomplete content.")
			}
		case "ItemShape":
			err = checkShape(c, true)
		case "FolderShape":
			err = checkShape(c, false)
		case "FolderIds", "ParentFolderIds":
			err = checkFolderIDs(c, 1)
		case "ParentFolderId", "SavedItemFolderId", "SyncFolderId":
			if len(c.children) != 1 {
				return violationf(c, "The element '%s' must hold exactly one folder id.", c.name.Local)
			}
			err = checkFolderIDs(c, 1)
		case "IndexedPageItemView", "IndexedPageFolderView":
			if err = checkAttrs(c, map[string][]string{"MaxEntriesReturned": nil, "Offset": nil, "BasePoint": {"Beginning", "End"}}, []string{"Offset", "BasePoint"}); err == nil {
				if c.hasAttr("MaxEntriesReturned") {
					err = checkInt(c, "MaxEntriesReturned", 1, 1<<31-1)
				}
				if err == nil {
					err = checkInt(c, "Offset", 0, 1<<31-1)
				}
			}
		case "MaxChangesReturned":
			v, perr := strconv.Atoi(c.value())
			if perr != nil || v < 1 || v > MaxChangesReturned {
				err = violationf(c, "The element 'MaxChangesReturned' in namespace '%s' has an invalid value '%s' according to its data type (MaxSyncChangesReturnedType: 1 to 512).", nsMessages, c.value())
			}
		case "SyncScope":
			if !slices.Contains([]string{"NormalItems", "NormalAndAssociatedItems"}, c.value()) {
				err = violationf(c, "The element 'SyncScope' has an invalid value '%s'.", c.value())
			}
		case "RoomList":
			// EmailAddressType; Exchange needs the address to find the list.
			err = checkSeq(c, []cs{tt("Name", 0, 1), tt("EmailAddress", 1, 1), tt("RoutingType", 0, 1), tt("MailboxType", 0, 1), tt("ItemId", 0, 1), tt("OriginalDisplayName", 0, 1)})
			if mt := c.child(nsTypes, "MailboxType"); err == nil && mt != nil && !slices.Contains(mailboxTypes, mt.value()) {
				err = violationf(mt, "The element 'MailboxType' has an invalid value '%s'.", mt.value())
			}
		case "ItemIds":
			if len(c.children) == 0 {
				err = violationf(c, "The element 'ItemIds' has incomplete content.")
			}
			for _, id := range c.children {
				switch {
				case id.is(nsTypes, "ItemId") && id.attr("Id") != "":
				case id.is(nsTypes, "OccurrenceItemId"):
					if err = checkAttrs(id, map[string][]string{"RecurringMasterId": nil, "ChangeKey": nil, "InstanceIndex": nil}, []string{"RecurringMasterId", "InstanceIndex"}); err == nil {
						err = checkInt(id, "InstanceIndex", -1<<31, 1<<31-1)
					}
				default:
					err = violationf(id, "The element 'ItemIds' has invalid child element '%s'.", id.name.Local)
				}
			}
		case "Items":
			if op.name.Local == "UploadItems" {
				if err = checkUploadItems(c); err != nil {
					return err
				}
				continue
			}
			for _, it := range c.children {
				if err = checkItem(it); err != nil {
					return err
				}
			}
		case "ItemChanges":
			// The partial items of SetItemField and AppendToItemField
			// are items of their type, in its schema order.
			for _, ch := range c.children {
				for _, u := range ch.child(nsTypes, "Updates").kids() {
					for _, v := range u.kids() {
						if v.is(nsTypes, "FieldURI") || v.is(nsTypes, "IndexedFieldURI") || v.is(nsTypes, "ExtendedFieldURI") {
							if err = checkPath(v); err != nil {
								return err
							}
							continue
						}
						if err = checkItem(v); err != nil {
							return err
						}
					}
				}
			}
		case "Folders":
			for _, f := range c.children {
				typ, ok := schemaFolderElements[f.name.Local]
				if f.name.Space != nsTypes || !ok {
					return violationf(f, "The element 'Folders' has invalid child element '%s'.", f.name.Local)
				}
				if err = checkOrder(f, nsTypes, schemaSequences[typ]); err != nil {
					return err
				}
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// checkItem checks an item to create: its element is one of
// NonEmptyArrayOfAllItemsType, its children in its type's schema order,
// and the values the fake reads of the types the schema gives them.
func checkItem(it *node) error {
	typ, ok := schemaItemElements[it.name.Local]
	if it.name.Space != nsTypes || !ok {
		return violationf(it, "The element 'Items' has invalid child element '%s'.", it.name.Local)
	}
	if err := checkOrder(it, nsTypes, schemaSequences[typ]); err != nil {
		return err
	}
	for _, c := range it.children {
		var vals []string
		switch c.name.Local {
		case "Importance":
			vals = []string{"Low", "Normal", "High"}
		case "Sensitivity":
			vals = []string{"Normal", "Personal", "Private", "Confidential"}
		case "IsRead", "IsReadReceiptRequested", "IsDeliveryReceiptRequested", "IsAllDayEvent", "IsResponseRequested", "ReminderIsSet":
			vals = xsBooleans
		case "LegacyFreeBusyStatus":
			vals = []string{"Free", "Tentative", "Busy", "OOF", "WorkingElsewhere", "NoData"}
		case "Status":
			if it.name.Local == "Task" {
				vals = mailbox.TaskStatuses
			}
		case "ReminderMinutesBeforeStart", "PercentComplete":
			if _, err := strconv.ParseFloat(c.value(), 64); err != nil {
				return violationf(c, "The '%s' element is invalid - The value '%s' is invalid according to its datatype.", c.name.Local, c.value())
			}
		case "Start", "End", "DateTimeSent", "DateTimeReceived", "DueDate", "StartDate", "CompleteDate", "ReminderDueBy":
			if _, ok := requestTime(c); !ok {
				return violationf(c, "The '%s' element is invalid - The value '%s' is invalid according to its datatype 'http://www.w3.org/2001/XMLSchema:dateTime'.", c.name.Local, c.value())
			}
		case "Body":
			if err := checkAttrs(c, map[string][]string{"BodyType": {"HTML", "Text"}, "IsTruncated": xsBooleans}, []string{"BodyType"}); err != nil {
				return err
			}
		case "ExtendedProperty":
			if err := checkSeq(c, []cs{tt("ExtendedFieldURI", 1, 1), tt("Value", 0, 1), tt("Values", 0, 1)}); err != nil {
				return err
			}
			if err := checkPath(c.child(nsTypes, "ExtendedFieldURI")); err != nil {
				return err
			}
		}
		if vals != nil && !slices.Contains(vals, c.value()) {
			return violationf(c, "The '%s' element is invalid - The value '%s' is invalid according to its datatype - The Enumeration constraint failed.", c.name.Local, c.value())
		}
	}
	return nil
}

// checkUploadItems checks UploadItems' t:Item elements against
// UploadItemType: ParentFolderId (a FolderId, not a distinguished one),
// an optional ItemId, Data; CreateAction required, IsAssociated optional.
func checkUploadItems(items *node) error {
	if len(items.children) == 0 {
		return violationf(items, "The element 'Items' has incomplete content.")
	}
	for _, it := range items.children {
		if !it.is(nsTypes, "Item") {
			return violationf(it, "The element 'Items' has invalid child element '%s'.", it.name.Local)
		}
		if err := checkAttrs(it, map[string][]string{"CreateAction": {"CreateNew", "Update", "UpdateOrCreate"}, "IsAssociated": xsBooleans}, []string{"CreateAction"}); err != nil {
			return err
		}
		if err := checkSeq(it, []cs{tt("ParentFolderId", 1, 1), tt("ItemId", 0, 1), tt("Data", 1, 1)}); err != nil {
			return err
		}
		if p := it.child(nsTypes, "ParentFolderId"); p.attr("Id") == "" || len(p.children) != 0 {
			return violationf(p, "The element 'ParentFolderId' is a FolderIdType: an Id attribute and no children.")
		}
		if id := it.child(nsTypes, "ItemId"); id != nil && id.attr("Id") == "" {
			return violationf(id, "The required attribute 'Id' is missing.")
		}
	}
	return nil
}
