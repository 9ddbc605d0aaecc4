package ewstest

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// --- shapes ---

type extSpec struct {
	tag         string // normalised "0x0e07"
	setID, name string
	typ         string
	rawTag      string
}

func (e extSpec) key() string {
	if e.tag != "" {
		return e.tag
	}
	return strings.ToLower(e.setID) + "|" + e.name
}

func parseExt(n *node) extSpec {
	e := extSpec{setID: n.attr("PropertySetId"), name: n.attr("PropertyName"), typ: n.attr("PropertyType"), rawTag: n.attr("PropertyTag")}
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

type shape struct {
	fields map[string]bool
	ext    []extSpec
	mime   bool
	all    bool
}

func parseShape(n *node) shape {
	sh := shape{fields: map[string]bool{}}
	switch n.child(nsTypes, "BaseShape").value() {
	case "Default", "AllProperties":
		sh.all = true
	}
	sh.mime = n.child(nsTypes, "IncludeMimeContent").value() == "true"
	for _, p := range n.child(nsTypes, "AdditionalProperties").kids() {
		if p.is(nsTypes, "FieldURI") {
			sh.fields[p.attr("FieldURI")] = true
		} else if p.is(nsTypes, "ExtendedFieldURI") {
			sh.ext = append(sh.ext, parseExt(p))
		}
	}
	return sh
}

func (sh shape) has(f string) bool { return sh.all || sh.fields[f] }

func tagAttr(tag string) string {
	v, _ := strconv.ParseInt(strings.TrimPrefix(tag, "0x"), 16, 32)
	return fmt.Sprintf("0x%x", v) // Exchange answers lower-case and unpadded
}

func writeExt(x *xw, e extSpec, val string) {
	x.start(nsTypes, "ExtendedProperty")
	if e.tag != "" {
		x.empty(nsTypes, "ExtendedFieldURI", "PropertyTag", tagAttr(e.tag), "PropertyType", e.typ)
	} else {
		x.empty(nsTypes, "ExtendedFieldURI", "PropertySetId", e.setID, "PropertyName", e.name, "PropertyType", e.typ)
	}
	x.leaf(nsTypes, "Value", val)
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

func (rc *reqCtx) writeFolder(x *xw, f *folder, sh shape) {
	x.start(nsTypes, folderElement(f.class))
	x.empty(nsTypes, "FolderId", "Id", f.id, "ChangeKey", "AQAAABYAAA"+strconv.FormatInt(f.updated, 10))
	if sh.has("folder:ParentFolderId") && f.parent != nil {
		x.empty(nsTypes, "ParentFolderId", "Id", f.parent.id, "ChangeKey", "AQAAAA==")
	}
	if sh.has("folder:FolderClass") && f.class != "" {
		x.leaf(nsTypes, "FolderClass", f.class)
	}
	if sh.has("folder:DisplayName") {
		x.leaf(nsTypes, "DisplayName", f.name)
	}
	if sh.has("folder:TotalCount") {
		x.leaf(nsTypes, "TotalCount", strconv.Itoa(len(f.items)))
	}
	if sh.has("folder:ChildFolderCount") {
		x.leaf(nsTypes, "ChildFolderCount", strconv.Itoa(len(f.children)))
	}
	for _, e := range sh.ext {
		switch e.tag {
		case "0x0e08":
			writeExt(x, e, strconv.FormatInt(f.size(), 10))
		case "0x10f4":
			writeExt(x, e, strconv.FormatBool(f.hidden))
		case "0x6638":
			writeExt(x, e, strconv.Itoa(len(f.children)))
		}
	}
	// PermissionSet comes after the BaseFolderType elements in every
	// folder type; only when asked for by name, as IdOnly shapes do.
	if sh.fields["folder:PermissionSet"] {
		rc.writePermissionSet(x, f)
	}
	x.end()
}

func itemElement(class string) string {
	switch {
	case strings.HasPrefix(class, "IPM.Note"), strings.HasPrefix(class, "IPM.Schedule.Meeting"), strings.HasPrefix(class, "REPORT"), class == "IPM.Post":
		return "Message"
	case strings.HasPrefix(class, "IPM.Appointment"):
		return "CalendarItem"
	case strings.HasPrefix(class, "IPM.Contact"):
		return "Contact"
	case strings.HasPrefix(class, "IPM.Task"):
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
	}
	v, ok := it.ext[e.key()]
	return v, ok
}

// writeItem writes an item's properties (after MimeContent, which GetItem
// writes itself) in schema order, only those the shape asked for.
func (rc *reqCtx) writeItem(x *xw, it *item, sh shape, mime func()) {
	el := itemElement(it.class)
	x.start(nsTypes, el)
	if mime != nil {
		mime()
	}
	x.empty(nsTypes, "ItemId", "Id", it.id, "ChangeKey", it.changeKey())
	if sh.has("item:ParentFolderId") {
		x.empty(nsTypes, "ParentFolderId", "Id", it.f.id, "ChangeKey", "AQAAAA==")
	}
	if sh.has("item:ItemClass") {
		x.leaf(nsTypes, "ItemClass", it.class)
	}
	if sh.has("item:Subject") {
		x.leaf(nsTypes, "Subject", it.subject)
	}
	if sh.has("item:DateTimeReceived") {
		x.leaf(nsTypes, "DateTimeReceived", xsTime(it.received))
	}
	if sh.has("item:Size") {
		x.leaf(nsTypes, "Size", strconv.FormatInt(min(it.size, 1<<31-1), 10)) // xs:int on the wire
	}
	if sh.has("item:Categories") && len(it.categories) > 0 {
		x.start(nsTypes, "Categories")
		for _, c := range it.categories {
			x.leaf(nsTypes, "String", c)
		}
		x.end()
	}
	if sh.has("item:Importance") {
		x.leaf(nsTypes, "Importance", it.importance)
	}
	if sh.has("item:IsDraft") {
		x.leaf(nsTypes, "IsDraft", strconv.FormatBool(it.isDraft))
	}
	if sh.has("item:DateTimeSent") && !it.sent.IsZero() {
		x.leaf(nsTypes, "DateTimeSent", xsTime(it.sent))
	}
	if sh.has("item:HasAttachments") {
		x.leaf(nsTypes, "HasAttachments", "false")
	}
	for _, e := range sh.ext {
		if v, ok := it.extValue(e); ok {
			writeExt(x, e, v)
		}
	}
	if el == "Message" {
		if sh.has("message:InternetMessageId") && it.msgID != "" {
			x.leaf(nsTypes, "InternetMessageId", it.msgID)
		}
		if sh.has("message:IsRead") {
			x.leaf(nsTypes, "IsRead", strconv.FormatBool(it.isRead))
		}
	}
	x.end()
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
