package ewstest

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

type reqCtx struct {
	s            *Server
	acct         *account
	w            http.ResponseWriter
	r            *http.Request
	style        PrefixStyle
	op           string
	injectedCode string
	imp          *mbox // impersonated mailbox
}

// ewsError is an error answered in a ResponseMessage.
type ewsError struct{ code, text string }

func (e *ewsError) Error() string { return e.code + ": " + e.text }

func errf(code, format string, args ...any) *ewsError {
	return &ewsError{code: code, text: fmt.Sprintf(format, args...)}
}

// begin writes the envelope up to the open Body.
func (rc *reqCtx) begin(w io.Writer, status int) *xw {
	if status != 0 {
		rc.header(status)
	}
	x := newXW(w, rc.style)
	x.start(nsSOAP, "Envelope")
	x.start(nsSOAP, "Header")
	x.empty(nsTypes, "ServerVersionInfo", "MajorVersion", "15", "MinorVersion", "2", "MajorBuildNumber", "1544", "MinorBuildNumber", "4", "Version", "V2017_07_11")
	x.end()
	x.start(nsSOAP, "Body")
	return x
}

func (rc *reqCtx) header(status int) {
	h := rc.w.Header()
	h.Set("Content-Type", "text/xml; charset=utf-8")
	h.Set("X-BEServer", "EXCH01")
	rc.w.WriteHeader(status)
}

func (rc *reqCtx) finish(x *xw) {
	x.end() // Body
	x.end() // Envelope
	x.flush()
}

// fault answers a SOAP fault with HTTP 500, as Exchange does for
// ErrorServerBusy, ErrorSchemaValidation and header-level errors.
func (rc *reqCtx) fault(code, text string, values [][2]string, detail ...[2]string) {
	x := rc.begin(rc.w, http.StatusInternalServerError)
	x.start(nsSOAP, "Fault")
	x.leaf("", "faultcode", "a:"+code, "xmlns:a", nsTypes)
	x.leaf("", "faultstring", text, "xml:lang", "en-US")
	x.start("", "detail")
	x.leaf(nsErrors, "ResponseCode", code)
	x.leaf(nsErrors, "Message", text)
	for _, d := range detail {
		x.leaf(nsErrors, d[0], d[1])
	}
	if len(values) > 0 {
		x.start(nsTypes, "MessageXml")
		for _, v := range values {
			x.leaf(nsTypes, "Value", v[1], "Name", v[0])
		}
		x.end()
	}
	x.end()
	x.end()
	rc.finish(x)
}

func (rc *reqCtx) schemaFault(line int, msg string) {
	rc.fault("ErrorSchemaValidation", "The request failed schema validation: "+msg, nil,
		[2]string{"LineNumber", strconv.Itoa(line)}, [2]string{"LinePosition", "1"}, [2]string{"Violation", msg})
}

type handler func(rc *reqCtx, op *node, x *xw) error

var handlers map[string]handler

func init() {
	handlers = map[string]handler{
		"GetFolder": (*reqCtx).getFolder, "FindFolder": (*reqCtx).findFolder, "FindItem": (*reqCtx).findItem,
		"CreateFolder": (*reqCtx).createFolder, "CreateItem": (*reqCtx).createItem, "UpdateItem": (*reqCtx).updateItem,
		"SyncFolderItems": (*reqCtx).syncFolderItems, "SyncFolderHierarchy": (*reqCtx).syncFolderHierarchy,
		"ResolveNames": (*reqCtx).resolveNames, "GetInboxRules": (*reqCtx).getInboxRules, "GetDelegate": (*reqCtx).getDelegate,
		"GetSearchableMailboxes": (*reqCtx).getSearchableMailboxes, "GetDiscoverySearchConfiguration": (*reqCtx).getDiscoverySearchConfiguration,
		"GetHoldOnMailboxes": (*reqCtx).getHoldOnMailboxes,
	}
}

// serve validates the envelope and runs the operation.
func (rc *reqCtx) serve(doc *node) {
	s := rc.s
	if !doc.is(nsSOAP, "Envelope") {
		rc.schemaFault(doc.line, "The root element must be the SOAP 1.1 Envelope.")
		return
	}
	if err := checkSeq(doc, []cs{{nsSOAP, "Header", 0, 1}, {nsSOAP, "Body", 1, 1}}); err != nil {
		rc.schemaFaultErr(err)
		return
	}
	hdr := doc.child(nsSOAP, "Header")
	if hdr != nil {
		if err := checkSeq(hdr, []cs{tt("ExchangeImpersonation", 0, 1), tt("SerializedSecurityContext", 0, 1), tt("MailboxCulture", 0, 1),
			tt("RequestServerVersion", 0, 1), tt("TimeZoneContext", 0, 1), tt("DateTimePrecision", 0, 1), tt("ManagementRole", 0, 1)}); err != nil {
			// The stub envelope schema allows any order of header elements.
			for _, c := range hdr.children {
				if c.name.Space != nsTypes {
					rc.schemaFaultErr(err)
					return
				}
			}
		}
		if v := hdr.child(nsTypes, "RequestServerVersion"); v != nil && !slices.Contains(requestServerVersions, v.attr("Version")) {
			rc.schemaFault(v.line, fmt.Sprintf("The 'Version' attribute is invalid - The value '%s' is invalid according to its datatype 'ExchangeVersionType'.", v.attr("Version")))
			return
		}
	}
	body := doc.child(nsSOAP, "Body")
	if len(body.children) != 1 {
		rc.schemaFault(body.line, "The Body must hold exactly one request element.")
		return
	}
	op := body.children[0]
	if err := validate(op); err != nil {
		rc.schemaFaultErr(err)
		return
	}
	if imp := hdr.child(nsTypes, "ExchangeImpersonation"); imp != nil {
		sid := imp.child(nsTypes, "ConnectingSID")
		addr := ""
		for _, k := range []string{"PrimarySmtpAddress", "SmtpAddress", "PrincipalName"} {
			if n := sid.child(nsTypes, k); n != nil {
				addr = n.value()
			}
		}
		if addr == "" {
			rc.schemaFault(imp.line, "The element 'ConnectingSID' has incomplete content.")
			return
		}
		if !rc.acct.impersonation {
			rc.fault("ErrorImpersonateUserDenied", "The account does not have permission to impersonate the requested user.", nil)
			return
		}
		s.mu.Lock()
		mb := s.mailboxes[strings.ToLower(addr)]
		s.mu.Unlock()
		if mb == nil {
			rc.fault("ErrorNonExistentMailbox", fmt.Sprintf("The SMTP address has no mailbox associated with it: %s", addr), nil)
			return
		}
		rc.imp = mb
		if !strings.EqualFold(rc.r.Header.Get("X-AnchorMailbox"), addr) {
			s.anchorMisses.Add(1)
		}
	}
	h := handlers[op.name.Local]
	if op.name.Local == "GetItem" {
		rc.getItem(op) // streams, manages its own locking
		return
	}
	var buf bytes.Buffer
	s.mu.Lock()
	x := rc.begin(&buf, 0)
	err := h(rc, op, x)
	s.mu.Unlock()
	if err != nil {
		var ee *ewsError
		if errors.As(err, &ee) {
			rc.fault(ee.code, ee.text, nil)
			return
		}
		rc.fault("ErrorInternalServerError", err.Error(), nil)
		return
	}
	rc.finish(x)
	rc.header(http.StatusOK)
	rc.w.Write(buf.Bytes())
}

func (rc *reqCtx) schemaFaultErr(err error) {
	var v *violation
	if errors.As(err, &v) {
		rc.schemaFault(v.line, v.msg)
		return
	}
	rc.schemaFault(0, err.Error())
}

// injected is the error a FaultCode injection asks for, checked before a
// write so that a refused write changes nothing.
func (rc *reqCtx) injected() error {
	if rc.injectedCode != "" {
		return errf(rc.injectedCode, "Injected by the test.")
	}
	return nil
}

// msgStart writes the common head of a ResponseMessage.
func (rc *reqCtx) msgStart(x *xw, name string, err error) bool {
	if err == nil && rc.injectedCode != "" {
		err = errf(rc.injectedCode, "Injected by the test.")
	}
	if err == nil {
		x.start(nsMessages, name, "ResponseClass", "Success")
		x.leaf(nsMessages, "ResponseCode", "NoError")
		return true
	}
	ee := &ewsError{code: "ErrorInternalServerError", text: err.Error()}
	errors.As(err, &ee)
	class := "Error"
	if ee.code == "ErrorNameResolutionMultipleResults" {
		class = "Warning"
	}
	x.start(nsMessages, name, "ResponseClass", class)
	x.leaf(nsMessages, "MessageText", ee.text)
	x.leaf(nsMessages, "ResponseCode", ee.code)
	x.leaf(nsMessages, "DescriptiveLinkKey", "0")
	return false
}

// --- access and lookup ---

func (rc *reqCtx) access(mb *mbox, public bool) error {
	if mb == nil {
		if !public {
			return errf("ErrorFolderNotFound", "The specified folder could not be found in the store.")
		}
		if rc.r.Header.Get("X-PublicFolderMailbox") == "" || rc.r.Header.Get("X-AnchorMailbox") == "" {
			return errf("ErrorNoPublicFolderReplicaAvailable", "Public folder requests need the X-AnchorMailbox and X-PublicFolderMailbox headers.")
		}
		return nil
	}
	if rc.imp != nil {
		if rc.imp != mb {
			return errf("ErrorAccessDenied", "Access is denied. Check credentials and try again.")
		}
	} else if !rc.acct.fullAccess[strings.ToLower(mb.address)] && !strings.EqualFold(rc.acct.mailbox, mb.address) {
		return errf("ErrorAccessDenied", "Access is denied. Check credentials and try again.")
	}
	if mb.moving {
		return errf("ErrorMailboxMoveInProgress", "The mailbox is being moved.")
	}
	return nil
}

// mailboxFor resolves the mailbox a request addresses: an explicit one, the
// impersonated one, or the account's own.
func (rc *reqCtx) mailboxFor(explicit string) (*mbox, error) {
	addr := explicit
	if addr == "" && rc.imp != nil {
		return rc.imp, nil
	}
	if addr == "" {
		addr = rc.acct.mailbox
	}
	mb := rc.s.mailboxes[strings.ToLower(addr)]
	if mb == nil {
		return nil, errf("ErrorNonExistentMailbox", "The SMTP address has no mailbox associated with it: %s", addr)
	}
	return mb, nil
}

func (rc *reqCtx) folderByRef(ref *node) (*folder, error) {
	s := rc.s
	switch {
	case ref.is(nsTypes, "FolderId"):
		f := s.folders[ref.attr("Id")]
		if f == nil {
			return nil, errf("ErrorFolderNotFound", "The specified folder could not be found in the store.")
		}
		if err := rc.access(f.mb, f.mb == nil); err != nil {
			return nil, err
		}
		return f, nil
	case ref.is(nsTypes, "DistinguishedFolderId"):
		id := ref.attr("Id")
		if id == "publicfoldersroot" {
			if err := rc.access(nil, true); err != nil {
				return nil, err
			}
			return s.publicRoot, nil
		}
		mb, err := rc.mailboxFor(ref.child(nsTypes, "Mailbox").child(nsTypes, "EmailAddress").value())
		if err != nil {
			return nil, err
		}
		if err := rc.access(mb, false); err != nil {
			return nil, err
		}
		f := mb.roots[id]
		if f == nil {
			return nil, errf("ErrorFolderNotFound", "The specified folder could not be found in the store.")
		}
		return f, nil
	}
	return nil, errf("ErrorInvalidIdMalformed", "Id is malformed.")
}

func (rc *reqCtx) itemByID(id string) (*item, error) {
	it := rc.s.items[id]
	if it == nil {
		return nil, errf("ErrorItemNotFound", "The specified object was not found in the store.")
	}
	if err := rc.access(it.f.mb, it.f.mb == nil); err != nil {
		return nil, err
	}
	return it, nil
}

// --- shapes ---

type extSpec struct {
	tag           string // normalised "0x0e07"
	setID, name   string
	typ           string
	rawTag        string
	distinguished string
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

// --- operations ---

func (rc *reqCtx) getFolder(op *node, x *xw) error {
	sh := parseShape(op.child(nsMessages, "FolderShape"))
	x.start(nsMessages, "GetFolderResponse")
	x.start(nsMessages, "ResponseMessages")
	for _, ref := range op.child(nsMessages, "FolderIds").children {
		f, err := rc.folderByRef(ref)
		if err == nil && f.permErr != "" && sh.fields["folder:PermissionSet"] {
			err = errf(f.permErr, "Injected by the test for the permission set of folder %q.", f.name)
		}
		if rc.msgStart(x, "GetFolderResponseMessage", err) {
			x.start(nsMessages, "Folders")
			rc.writeFolder(x, f, sh)
			x.end()
		}
		x.end()
	}
	x.end()
	x.end()
	return nil
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

func (rc *reqCtx) findFolder(op *node, x *xw) error {
	sh := parseShape(op.child(nsMessages, "FolderShape"))
	deep := op.attr("Traversal") == "Deep"
	x.start(nsMessages, "FindFolderResponse")
	x.start(nsMessages, "ResponseMessages")
	for _, ref := range op.child(nsMessages, "ParentFolderIds").children {
		f, err := rc.folderByRef(ref)
		if err == nil && deep && f.mb == nil {
			err = errf("ErrorInvalidOperation", "Deep traversal is not supported for public folders.")
		}
		if err == nil && op.child(nsMessages, "Restriction") != nil {
			err = errf("ErrorUnsupportedPathForQuery", "The fake does not evaluate folder restrictions.")
		}
		if rc.msgStart(x, "FindFolderResponseMessage", err) {
			var list []*folder
			if deep {
				list = descendants(f)
			} else {
				list = append(list, f.children...)
			}
			offset, n := rc.page(op.child(nsMessages, "IndexedPageFolderView"), len(list), rc.s.pageLimit)
			x.start(nsMessages, "RootFolder", writeRootAttrs(offset, n, len(list))...)
			x.start(nsTypes, "Folders")
			for _, c := range list[offset : offset+n] {
				rc.writeFolder(x, c, sh)
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
	sh := parseShape(op.child(nsMessages, "ItemShape"))
	if sh.mime {
		return errf("ErrorInvalidRequest", "FindItem cannot return MIME content.")
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

// getItem streams MIME: it snapshots the items under the lock and writes
// without it, encoding base64 on the fly.
func (rc *reqCtx) getItem(op *node) {
	s := rc.s
	sh := parseShape(op.child(nsMessages, "ItemShape"))
	type entry struct {
		it  item
		err error
	}
	var entries []entry
	s.mu.Lock()
	for _, id := range op.child(nsMessages, "ItemIds").children {
		it, err := rc.itemByID(id.attr("Id"))
		e := entry{err: err}
		if it != nil {
			e.it = *it
		}
		entries = append(entries, e)
	}
	s.mu.Unlock()
	x := rc.begin(rc.w, http.StatusOK)
	x.start(nsMessages, "GetItemResponse")
	x.start(nsMessages, "ResponseMessages")
	for _, e := range entries {
		it := e.it
		var body io.ReadCloser
		err := e.err
		if err == nil && sh.mime {
			if it.open != nil {
				body, err = it.open()
				if err != nil {
					err = errf("ErrorCorruptData", "The content of the item could not be read.")
				}
			} else {
				body = io.NopCloser(bytes.NewReader(it.mime))
			}
		}
		if rc.msgStart(x, "GetItemResponseMessage", err) {
			x.start(nsMessages, "Items")
			var mime func()
			if body != nil {
				mime = func() {
					x.start(nsTypes, "MimeContent", "CharacterSet", "UTF-8")
					enc := base64.NewEncoder(base64.StdEncoding, x.w)
					io.Copy(enc, body)
					enc.Close()
					body.Close()
					x.end()
				}
			}
			rc.writeItem(x, &it, sh, mime)
			x.end()
		} else {
			x.empty(nsMessages, "Items")
		}
		x.end()
	}
	x.end()
	x.end()
	rc.finish(x)
}

func (rc *reqCtx) createFolder(op *node, x *xw) error {
	parent, perr := rc.folderByRef(op.child(nsMessages, "ParentFolderId").children[0])
	x.start(nsMessages, "CreateFolderResponse")
	x.start(nsMessages, "ResponseMessages")
	for _, fn := range op.child(nsMessages, "Folders").children {
		err := perr
		if err == nil {
			err = rc.injected()
		}
		name := fn.child(nsTypes, "DisplayName").value()
		if err == nil && name == "" {
			err = errf("ErrorInvalidFolderId", "A folder needs a display name.")
		}
		if err == nil {
			for _, c := range parent.children {
				if strings.EqualFold(c.name, name) {
					err = errf("ErrorFolderExists", "A folder with the specified name already exists.")
				}
			}
		}
		var f *folder
		if err == nil {
			class := fn.child(nsTypes, "FolderClass").value()
			if class == "" {
				switch fn.name.Local {
				case "CalendarFolder":
					class = "IPF.Appointment"
				case "ContactsFolder":
					class = "IPF.Contact"
				case "TasksFolder":
					class = "IPF.Task"
				default:
					class = "IPF.Note"
				}
			}
			f = rc.s.newFolder(parent.mb, parent, name, class, "")
			rc.s.writes.Add(1)
		}
		if rc.msgStart(x, "CreateFolderResponseMessage", err) {
			x.start(nsMessages, "Folders")
			x.start(nsTypes, folderElement(f.class))
			x.empty(nsTypes, "FolderId", "Id", f.id, "ChangeKey", "AQAAABYAAA"+strconv.FormatInt(f.updated, 10))
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

func (rc *reqCtx) createItem(op *node, x *xw) error {
	var target *folder
	var ferr error
	if sf := op.child(nsMessages, "SavedItemFolderId"); sf != nil {
		target, ferr = rc.folderByRef(sf.children[0])
	} else {
		mb, err := rc.mailboxFor("")
		if err == nil {
			target = mb.roots["drafts"]
		}
		ferr = err
	}
	x.start(nsMessages, "CreateItemResponse")
	x.start(nsMessages, "ResponseMessages")
	for _, in := range op.child(nsMessages, "Items").children {
		err := ferr
		if err == nil {
			err = rc.injected()
		}
		if err == nil && in.name.Local == "Message" && !op.hasAttr("MessageDisposition") {
			err = errf("ErrorMessageDispositionRequired", "MessageDisposition is required for messages.")
		}
		if err == nil && op.attr("MessageDisposition") != "SaveOnly" {
			err = errf("ErrorInvalidOperation", "The fake does not send mail.")
		}
		var mime []byte
		if err == nil {
			mc := in.child(nsTypes, "MimeContent")
			if mc == nil {
				err = errf("ErrorInvalidRequest", "The fake creates items from MimeContent only.")
			} else if mime, err = base64.StdEncoding.DecodeString(strings.Join(strings.Fields(mc.text.String()), "")); err != nil {
				err = errf("ErrorMimeContentConversionFailed", "The MIME content is not valid base64.")
			} else if !bytes.Contains(mime, []byte(":")) {
				err = errf("ErrorMimeContentConversionFailed", "The MIME content has no headers.")
			}
		}
		if err == nil && len(mime) > MaxMessageSize {
			err = errf("ErrorMessageSizeExceeded", "The message exceeds the maximum supported size.")
		}
		if err == nil && target.mb != nil && target.mb.quota > 0 && target.mb.used+int64(len(mime)) > target.mb.quota {
			err = errf("ErrorQuotaExceeded", "The mailbox quota has been exceeded.")
		}
		var it *item
		if err == nil {
			spec := Item{MIME: mime, Class: in.child(nsTypes, "ItemClass").value(), Importance: in.child(nsTypes, "Importance").value()}
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
					err = errf("ErrorInvalidExtendedPropertyValue", "PR_MESSAGE_FLAGS must be an integer.")
				}
				spec.IsRead, spec.IsDraft = n&1 != 0, n&8 != 0
			} else {
				spec.IsDraft = true // without PR_MESSAGE_FLAGS Exchange saves an unsent draft
			}
			if v := in.child(nsTypes, "IsRead"); v != nil {
				spec.IsRead = v.value() == "true"
			}
			if v, ok := ext["0x0e06"]; ok {
				if spec.Received, err = time.Parse(time.RFC3339, v); err != nil {
					err = errf("ErrorInvalidExtendedPropertyValue", "PR_MESSAGE_DELIVERY_TIME is not a dateTime.")
				}
			}
			if v, ok := ext["0x0039"]; ok && err == nil {
				if spec.Sent, err = time.Parse(time.RFC3339, v); err != nil {
					err = errf("ErrorInvalidExtendedPropertyValue", "PR_CLIENT_SUBMIT_TIME is not a dateTime.")
				}
			}
			if err == nil {
				it = rc.s.addItem(target, spec)
				for k, v := range ext {
					it.ext[k] = v
				}
				rc.s.writes.Add(1)
			}
		}
		if rc.msgStart(x, "CreateItemResponseMessage", err) {
			x.start(nsMessages, "Items")
			x.start(nsTypes, itemElement(it.class))
			x.empty(nsTypes, "ItemId", "Id", it.id, "ChangeKey", it.changeKey())
			x.end()
			x.end()
		}
		x.end()
	}
	x.end()
	x.end()
	return nil
}

func (rc *reqCtx) updateItem(op *node, x *xw) error {
	x.start(nsMessages, "UpdateItemResponse")
	x.start(nsMessages, "ResponseMessages")
	for _, ch := range op.child(nsMessages, "ItemChanges").children {
		it, err := rc.itemByID(ch.child(nsTypes, "ItemId").attr("Id"))
		if err == nil {
			err = rc.injected()
		}
		if err == nil {
			for _, u := range ch.child(nsTypes, "Updates").kids() {
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
				default:
					err = errf("ErrorInvalidPropertySet", "The fake updates message:IsRead and item:Subject only.")
				}
			}
			if err == nil {
				rc.s.writes.Add(1)
			}
		}
		if rc.msgStart(x, "UpdateItemResponseMessage", err) {
			x.start(nsMessages, "Items")
			x.start(nsTypes, itemElement(it.class))
			x.empty(nsTypes, "ItemId", "Id", it.id, "ChangeKey", it.changeKey())
			x.end()
			x.end()
			x.start(nsMessages, "ConflictResults")
			x.leaf(nsTypes, "Count", "0")
			x.end()
		}
		x.end()
	}
	x.end()
	x.end()
	return nil
}

// Sync states are opaque to clients; the fake's carry the folder, the
// mailbox's epoch, the base of the current pass (changes after it are
// reported relative to it) and the cursor (last change reported).
func syncState(kind, folderID string, epoch int, base, cursor int64) string {
	return base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "EXMFAKE1|%s|%s|%d|%d|%d", kind, folderID, epoch, base, cursor))
}

func parseSyncState(state, kind, folderID string, epoch int) (base, cursor int64, ok bool) {
	if state == "" {
		return 0, 0, true
	}
	raw, err := base64.StdEncoding.DecodeString(state)
	if err != nil {
		return 0, 0, false
	}
	p := strings.Split(string(raw), "|")
	if len(p) != 6 || p[0] != "EXMFAKE1" || p[1] != kind || p[2] != folderID || p[3] != strconv.Itoa(epoch) {
		return 0, 0, false
	}
	base, err1 := strconv.ParseInt(p[4], 10, 64)
	cursor, err2 := strconv.ParseInt(p[5], 10, 64)
	return base, cursor, err1 == nil && err2 == nil && base <= cursor
}

func (rc *reqCtx) syncFolderItems(op *node, x *xw) error {
	sh := parseShape(op.child(nsMessages, "ItemShape"))
	f, err := rc.folderByRef(op.child(nsMessages, "SyncFolderId").children[0])
	if err == nil && f.mb == nil {
		err = errf("ErrorInvalidOperation", "Sync is not supported for public folders.")
	}
	max, _ := strconv.Atoi(op.child(nsMessages, "MaxChangesReturned").value())
	var base, cursor int64
	if err == nil {
		var ok bool
		if base, cursor, ok = parseSyncState(op.child(nsMessages, "SyncState").value(), "I", f.id, f.mb.syncEpoch); !ok {
			err = errf("ErrorInvalidSyncStateData", "Synchronization state data is corrupt or otherwise invalid.")
		}
	}
	x.start(nsMessages, "SyncFolderItemsResponse")
	x.start(nsMessages, "ResponseMessages")
	if rc.msgStart(x, "SyncFolderItemsResponseMessage", err) {
		type change struct {
			seq  int64
			kind string
			it   *item
			id   string
		}
		var changes []change
		for _, it := range f.items {
			key := max64(it.created, it.updated, it.readChanged)
			if key <= cursor {
				continue
			}
			switch {
			case it.created > base:
				changes = append(changes, change{key, "Create", it, it.id})
			case it.updated > base:
				changes = append(changes, change{key, "Update", it, it.id})
			case it.readChanged > base:
				changes = append(changes, change{key, "ReadFlagChange", it, it.id})
			}
		}
		for _, t := range f.tombs {
			if t.seq > cursor && t.created <= base {
				changes = append(changes, change{t.seq, "Delete", nil, t.id})
			}
		}
		sort.Slice(changes, func(i, j int) bool { return changes[i].seq < changes[j].seq })
		last := len(changes) <= max
		if !last {
			changes = changes[:max]
		}
		newBase, newCursor := base, cursor
		if len(changes) > 0 {
			newCursor = changes[len(changes)-1].seq
		}
		if last {
			newBase, newCursor = rc.s.seq, rc.s.seq
		}
		x.leaf(nsMessages, "SyncState", syncState("I", f.id, f.mb.syncEpoch, newBase, newCursor))
		x.leaf(nsMessages, "IncludesLastItemInRange", strconv.FormatBool(last))
		x.start(nsMessages, "Changes")
		for _, c := range changes {
			x.start(nsTypes, c.kind)
			switch c.kind {
			case "Create", "Update":
				rc.writeItem(x, c.it, sh, nil)
			case "Delete":
				x.empty(nsTypes, "ItemId", "Id", c.id)
			case "ReadFlagChange":
				x.empty(nsTypes, "ItemId", "Id", c.id, "ChangeKey", c.it.changeKey())
				x.leaf(nsTypes, "IsRead", strconv.FormatBool(c.it.isRead))
			}
			x.end()
		}
		x.end()
	}
	x.end()
	x.end()
	x.end()
	return nil
}

func max64(v ...int64) int64 {
	m := v[0]
	for _, x := range v[1:] {
		m = max(m, x)
	}
	return m
}

func (rc *reqCtx) syncFolderHierarchy(op *node, x *xw) error {
	sh := parseShape(op.child(nsMessages, "FolderShape"))
	var root *folder
	var err error
	if sf := op.child(nsMessages, "SyncFolderId"); sf != nil {
		root, err = rc.folderByRef(sf.children[0])
	} else {
		var mb *mbox
		if mb, err = rc.mailboxFor(""); err == nil {
			if err = rc.access(mb, false); err == nil {
				root = mb.roots["root"]
			}
		}
	}
	if err == nil && root.mb == nil {
		err = errf("ErrorInvalidOperation", "SyncFolderHierarchy is not supported for public folders.")
	}
	var since int64
	if err == nil {
		var ok bool
		if _, since, ok = parseSyncState(op.child(nsMessages, "SyncState").value(), "H", root.id, root.mb.syncEpoch); !ok {
			err = errf("ErrorInvalidSyncStateData", "Synchronization state data is corrupt or otherwise invalid.")
		}
	}
	x.start(nsMessages, "SyncFolderHierarchyResponse")
	x.start(nsMessages, "ResponseMessages")
	if rc.msgStart(x, "SyncFolderHierarchyResponseMessage", err) {
		x.leaf(nsMessages, "SyncState", syncState("H", root.id, root.mb.syncEpoch, rc.s.seq, rc.s.seq))
		x.leaf(nsMessages, "IncludesLastFolderInRange", "true")
		x.start(nsMessages, "Changes")
		for _, f := range descendants(root) {
			kind := ""
			switch {
			case f.created > since:
				kind = "Create"
			case f.updated > since:
				kind = "Update"
			}
			if kind != "" {
				x.start(nsTypes, kind)
				rc.writeFolder(x, f, sh)
				x.end()
			}
		}
		x.end()
	}
	x.end()
	x.end()
	x.end()
	return nil
}

func (rc *reqCtx) resolveNames(op *node, x *xw) error {
	q := strings.ToLower(op.child(nsMessages, "UnresolvedEntry").value())
	q = strings.TrimPrefix(q, "smtp:")
	var hits []*mbox
	for _, mb := range rc.s.mailboxes {
		a := strings.ToLower(mb.address)
		local, _, _ := strings.Cut(a, "@")
		if a == q || (q != "" && (strings.HasPrefix(local, q) || strings.HasPrefix(strings.ToLower(mb.display), q))) {
			hits = append(hits, mb)
		}
	}
	sort.Slice(hits, func(i, j int) bool { return hits[i].address < hits[j].address })
	var err error
	switch {
	case len(hits) == 0:
		err = errf("ErrorNameResolutionNoResults", "No results were found.")
	case len(hits) > 1:
		err = errf("ErrorNameResolutionMultipleResults", "Multiple results were found.")
	}
	x.start(nsMessages, "ResolveNamesResponse")
	x.start(nsMessages, "ResponseMessages")
	ok := rc.msgStart(x, "ResolveNamesResponseMessage", err)
	if ok || len(hits) > 1 {
		x.start(nsMessages, "ResolutionSet", "TotalItemsInView", strconv.Itoa(len(hits)), "IncludesLastItemInRange", "true")
		for _, mb := range hits {
			x.start(nsTypes, "Resolution")
			x.start(nsTypes, "Mailbox")
			x.leaf(nsTypes, "Name", mb.display)
			x.leaf(nsTypes, "EmailAddress", mb.address)
			x.leaf(nsTypes, "RoutingType", "SMTP")
			x.leaf(nsTypes, "MailboxType", mb.typ)
			x.end()
			x.end()
		}
		x.end()
	}
	x.end()
	x.end()
	x.end()
	return nil
}

// unwrapped responses (GetInboxRules, GetDelegate, eDiscovery) carry the
// ResponseClass on the response element itself.
func (rc *reqCtx) unwrapped(x *xw, name string, err error) bool {
	return rc.msgStart(x, name, err)
}
