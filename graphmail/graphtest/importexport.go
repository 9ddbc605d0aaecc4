package graphtest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/exmigrate/exmigrate/internal/fakestream"
	"github.com/exmigrate/exmigrate/mailbox"
)

// The mailbox import/export API (Graph v1.0, global cloud; reference
// items.md D):
//
//	GET  /users/{id}/settings/exchange                       {"primaryMailboxId":"MBX:..."}
//	GET  /admin/exchange/mailboxes/{mbx}/folders              mailboxFolder list
//	GET  /admin/exchange/mailboxes/{mbx}/folders/{id}/items   mailboxItem list
//	GET  /admin/exchange/mailboxes/{mbx}/folders/{id}/items/delta
//	POST /admin/exchange/mailboxes/{mbx}/exportItems          {"itemIds":[...]} (<= 20)
//	POST /admin/exchange/mailboxes/{mbx}/createImportSession  {"importUrl","expirationDateTime"}
//	POST {importUrl}                                          {"FolderId","Mode","Data"[,"ItemId","ChangeKey"]}
//
// The folders and items of this API are the fake's mail folders, contact
// folders, calendars and To Do lists with their messages, contacts,
// events and tasks, under ids of their own: Microsoft says not to use the
// mail, calendar and contacts API ids with these endpoints (D3), so the
// fake's ids of the two APIs never name each other's items.
//
// Exported data is an internal/fakestream stream of dialect "graph". An
// import recreates the item in the store the folder belongs to. Whether
// the real import sends meeting mail is not documented (D5): the fake
// sends none unless ImportSendsMeetingMessages(true). Whether Graph takes
// EWS ExportItems data is not documented either (D9): the fake refuses a
// stream of dialect "ews" unless AcceptEWSStreams(true).

// Roles of the import/export API (D6), application and delegated names.
var (
	ieExportRoles     = []string{"MailboxItem.Export.All", "MailboxItem.Export", "MailboxItem.ImportExport.All", "MailboxItem.ImportExport"}
	ieImportRoles     = []string{"MailboxItem.ImportExport.All", "MailboxItem.ImportExport"}
	ieFolderReadRoles = []string{"MailboxFolder.Read.All", "MailboxFolder.Read", "MailboxFolder.ReadWrite.All", "MailboxFolder.ReadWrite"}
	ieItemReadRoles   = []string{"MailboxItem.Read.All", "MailboxItem.Read"}
	ieDiscoveryRoles  = []string{"User.Read.All", "User.ReadBasic.All", "Directory.Read.All"}
)

// maxExportItems is the most ids one exportItems takes (D4, D7).
const maxExportItems = 20

// DefaultImportSessionLifetime is how long an import URL of the fake
// stays valid; the real lifetime is not documented (expirationDateTime
// is answered).
const DefaultImportSessionLifetime = time.Hour

// WithImportSessionLifetime sets how long import URLs stay valid.
func WithImportSessionLifetime(d time.Duration) Option {
	return func(s *Server) { s.importLifetime = d }
}

// AcceptEWSStreams is the lab's switch for the unverified question of
// whether Graph's import takes EWS ExportItems data (items.md D9): false
// (the default) refuses a stream the EWS fake exported, true imports it
// as a Graph one.
func (s *Server) AcceptEWSStreams(accept bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.acceptEWS = accept
}

// ImportSendsMeetingMessages makes an import of a meeting send its
// attendees requests as /events does. Whether the real import does is not
// documented (D5); the default, false, sends nothing and keeps the
// attendees silently.
func (s *Server) ImportSendsMeetingMessages(send bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.importSends = send
}

// ImportTokens lists the authtokens of every import session issued:
// secrets a client must never log or return.
func (s *Server) ImportTokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []string{}
	for _, is := range s.importOrder {
		out = append(out, is.token)
	}
	return out
}

// Imports counts the items the import URLs took.
func (s *Server) Imports() int64 { return s.imports.Load() }

// ExpireImportSessions makes every import URL issued so far expired.
func (s *Server) ExpireImportSessions() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, is := range s.importOrder {
		is.expires = time.Now().Add(-time.Second)
	}
}

// MailboxID is the import/export id of the mailbox (primaryMailboxId).
func (f *MailboxFixture) MailboxID() string { return mbxID(f.mb) }

// ImportExportFolderID is the import/export API's id of a folder given
// by its id in the mail, contacts, calendar or To Do API ("" when the
// mailbox has no such folder).
func (f *MailboxFixture) ImportExportFolderID(apiID string) string {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	for _, fo := range f.mb.ieFolders() {
		if fo.apiID == apiID {
			return fo.id
		}
	}
	return ""
}

// ImportExportItemID is the import/export API's id of an item given by
// its id in the mail, contacts, calendar or To Do API.
func (f *MailboxFixture) ImportExportItemID(apiID string) string {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	for _, k := range []byte{ieMessage, ieContact, ieEvent, ieTask} {
		if f.mb.ieLookup(k, apiID) != nil {
			return ieID(f.mb, k, apiID)
		}
	}
	return ""
}

// APIItemID is the mail, contacts, calendar or To Do API id of an item
// given by its import/export id ("" when it names nothing here).
func (f *MailboxFixture) APIItemID(ieItemID string) string {
	mbx, k, api, ok := parseIEID(ieItemID)
	if !ok || mbx != mbxID(f.mb) || k < 'a' {
		return ""
	}
	return api
}

type importSession struct {
	token   string
	host    string
	appID   string
	mb      *mbox
	expires time.Time
}

// mbxID is the mailbox's id in the import/export API, shaped as Graph's
// "MBX:e0643f21@a7809c93" (D2): a mailbox part and a tenant part.
func mbxID(mb *mbox) string {
	key := strings.ToLower(mb.address)
	if mb.archive {
		key = "archive:" + key
	}
	if mb.auxOf != nil {
		key = fmt.Sprintf("aux%d:%s", mb.auxN, key)
	}
	a := sha256.Sum256([]byte(key))
	domain := mb.address[strings.LastIndex(mb.address, "@")+1:]
	t := sha256.Sum256([]byte(strings.ToLower(domain)))
	return "MBX:" + hex.EncodeToString(a[:4]) + "@" + hex.EncodeToString(t[:4])
}

func (s *Server) mailboxByMBX(id string) *mbox {
	for _, mb := range s.mailboxes {
		if strings.EqualFold(mbxID(mb), id) {
			return mb
		}
		if a := mb.archiveBox; a != nil {
			if strings.EqualFold(mbxID(a), id) {
				return a
			}
			for _, x := range a.aux {
				if strings.EqualFold(mbxID(x), id) {
					return x
				}
			}
		}
	}
	return nil
}

// Kinds of import/export ids: folders upper case, items lower case.
const (
	ieMailFolder    = 'F'
	ieContactFolder = 'C'
	ieCalendar      = 'A'
	ieTaskList      = 'T'
	ieMessage       = 'm'
	ieContact       = 'c'
	ieEvent         = 'e'
	ieTask          = 't'
)

// ieID is an import/export id: unpadded URL-safe base64 (the mail API's
// are padded) of a marker, the kind, the mailbox and the store's own id.
// Neither API resolves the other's ids.
func ieID(mb *mbox, kind byte, apiID string) string {
	return base64.RawURLEncoding.EncodeToString([]byte("IEX1|" + string(kind) + "|" + mbxID(mb) + "|" + apiID))
}

func parseIEID(id string) (mbx string, kind byte, apiID string, ok bool) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(id)
	if err != nil {
		return "", 0, "", false
	}
	parts := strings.SplitN(string(b), "|", 4)
	if len(parts) != 4 || parts[0] != "IEX1" || len(parts[1]) != 1 || parts[3] == "" {
		return "", 0, "", false
	}
	return parts[2], parts[1][0], parts[3], true
}

// ieFolder is one folder as the import/export API lists it.
type ieFolder struct {
	id, apiID, parentID, name, class string
	kind                             byte
	children                         int
}

// ieFolders lists every folder of the mailbox: the mail tree (root and
// hidden folders included, as the API lists all folders), then the
// contact folders, calendars and To Do lists, under the root.
func (mb *mbox) ieFolders() []ieFolder {
	var out []ieFolder
	root := ieID(mb, ieMailFolder, mb.rootID)
	var walk func(id string)
	walk = func(id string) {
		f := mb.folders[id]
		if f == nil {
			return
		}
		parent := ""
		if f.parentID != "" {
			parent = ieID(mb, ieMailFolder, f.parentID)
		}
		n := len(f.children)
		if id == mb.rootID {
			// The default Contacts folder, the calendars and the lists.
			n += 1 + len(mb.calendars) + len(mb.todoLists)
		}
		out = append(out, ieFolder{id: ieID(mb, ieMailFolder, id), apiID: id, parentID: parent, name: f.name, class: f.class, kind: ieMailFolder, children: n})
		for _, c := range inOrder(f.children, mb.folders) {
			walk(c.id)
		}
	}
	walk(mb.rootID)
	var cwalk func(id, parent string)
	cwalk = func(id, parent string) {
		cf := mb.cfolders[id]
		if cf == nil {
			return
		}
		out = append(out, ieFolder{id: ieID(mb, ieContactFolder, id), apiID: id, parentID: parent, name: cf.name, class: mailbox.ClassContactsFolder, kind: ieContactFolder, children: len(cf.children)})
		for _, c := range cf.children {
			cwalk(c, ieID(mb, ieContactFolder, id))
		}
	}
	cwalk(mb.contactsRootID, root)
	for _, id := range mb.calOrder {
		if c := mb.calendars[id]; c != nil {
			out = append(out, ieFolder{id: ieID(mb, ieCalendar, id), apiID: id, parentID: root, name: c.Name, class: mailbox.ClassCalendarFolder, kind: ieCalendar})
		}
	}
	for _, id := range mb.todoOrder {
		if l := mb.todoLists[id]; l != nil {
			out = append(out, ieFolder{id: ieID(mb, ieTaskList, id), apiID: id, parentID: root, name: l.Name, class: mailbox.ClassTasksFolder, kind: ieTaskList})
		}
	}
	return out
}

func (mb *mbox) ieFolder(id string) *ieFolder {
	if own := mb.expandedFrom[id]; own != "" {
		// The main archive's id of a folder this auxiliary holds.
		id = own
	}
	mbx, _, _, ok := parseIEID(id)
	if !ok || mbx != mbxID(mb) {
		return nil
	}
	for _, f := range mb.ieFolders() {
		if f.id == id {
			return &f
		}
	}
	return nil
}

// ieWellKnown resolves a well-known folder name in a primary mailbox (the
// create-folder page's example posts to folders/inbox/childFolders):
// the mail API's names, and calendar, contacts and tasks for the default
// calendar, Contacts folder and To Do list. Archives take none
// (refuseWellKnownInArchive answers first).
func (mb *mbox) ieWellKnown(name string) *ieFolder {
	if mb.archive {
		return nil
	}
	var kind byte
	var api string
	switch n := strings.ToLower(name); {
	case n == "calendar":
		kind, api = ieCalendar, mb.defCalendar
	case n == "contacts":
		kind, api = ieContactFolder, mb.contactsRootID
	case n == "tasks":
		kind, api = ieTaskList, mb.defTodo
	case graphWellKnown[n]:
		f := mb.resolveFolder(n)
		if f == nil {
			return nil
		}
		kind, api = ieMailFolder, f.id
	default:
		return nil
	}
	for _, f := range mb.ieFolders() {
		if f.kind == kind && f.apiID == api {
			return &f
		}
	}
	return nil
}

// ieItem is one item as the import/export API lists it.
type ieItem struct {
	id, apiID, class  string
	kind              byte
	created, modified time.Time
	received          time.Time
	categories        []string
	changeKey, seq    int64
}

func changeKeyOf(n int64) string {
	return base64.StdEncoding.EncodeToString([]byte("CK" + strconv.FormatInt(n, 10)))
}

// messageClass is a message's PR_MESSAGE_CLASS as the fake records it.
func messageClass(m *Message) string {
	for k, v := range m.ExtendedProperties {
		if normPropID(k) == normPropID("String 0x001A") && v != "" {
			return v
		}
	}
	return mailbox.ClassMessage
}

func (mb *mbox) ieItems(f *ieFolder) []ieItem {
	var out []ieItem
	switch f.kind {
	case ieMailFolder:
		for _, m := range mb.folderMessages(f.apiID) {
			out = append(out, ieItem{id: ieID(mb, ieMessage, m.ID), apiID: m.ID, class: messageClass(m), kind: ieMessage,
				created: m.Created, modified: m.Modified, received: m.Received, categories: m.Categories, changeKey: m.changeKey, seq: m.seq})
		}
	case ieContactFolder:
		for _, c := range mb.folderContacts(f.apiID) {
			cats, _ := c.Props["categories"].([]any)
			var cs []string
			for _, x := range cats {
				if s, ok := x.(string); ok {
					cs = append(cs, s)
				}
			}
			out = append(out, ieItem{id: ieID(mb, ieContact, c.ID), apiID: c.ID, class: mailbox.ClassContact, kind: ieContact,
				created: c.Created, modified: c.Modified, received: c.Created, categories: cs, changeKey: c.changeKey, seq: c.seq})
		}
	case ieCalendar:
		evs := mb.calendarEvents(f.apiID)
		slices.SortFunc(evs, func(a, b *calEvent) int { return int(a.Seq - b.Seq) })
		for _, e := range evs {
			out = append(out, ieItem{id: ieID(mb, ieEvent, e.ID), apiID: e.ID, class: eventClass(e.Event), kind: ieEvent,
				created: e.Created, modified: e.Modified, received: e.Created, categories: e.Event.Categories, changeKey: e.ChangeKey, seq: e.Seq})
		}
	case ieTaskList:
		for _, t := range mb.listTasks(f.apiID) {
			out = append(out, ieItem{id: ieID(mb, ieTask, t.ID), apiID: t.ID, class: mailbox.ClassTask, kind: ieTask,
				created: t.Created, modified: t.Modified, received: t.Created, categories: t.Task.Categories, changeKey: t.ChangeKey, seq: t.Seq})
		}
	}
	return out
}

// eventClass is the message class of a calendar item: the fake keeps
// appointments and meetings alike as IPM.Appointment.
func eventClass(mailbox.Event) string { return mailbox.ClassAppointment }

// ieLookup finds an item of a kind by its store id.
func (mb *mbox) ieLookup(kind byte, apiID string) any {
	switch kind {
	case ieMessage:
		if m := mb.messages[apiID]; m != nil {
			return m
		}
	case ieContact:
		if c := mb.contacts[apiID]; c != nil {
			return c
		}
	case ieEvent:
		if e := mb.events[apiID]; e != nil {
			return e
		}
	case ieTask:
		if t := mb.tasks[apiID]; t != nil {
			return t
		}
	}
	return nil
}

// ---------------------------------------------------------------- routing

// serveSettingsExchange answers GET /users/{id}/settings/exchange (D2).
func (s *Server) serveSettingsExchange(q *req) {
	if !s.need(q, ieDiscoveryRoles) {
		return
	}
	if len(q.r.URL.Query()) > 0 {
		graphError(q.w, http.StatusBadRequest, "BadRequest", "Query options are not supported on this resource.")
		return
	}
	j := map[string]any{
		"@odata.context":   origin(q.r) + "/v1.0/$metadata#users('" + url.PathEscape(q.mb.address) + "')/settings/exchange/$entity",
		"primaryMailboxId": mbxID(q.mb),
	}
	if q.beta {
		// Only the beta archive guide documents the archive's id (D2);
		// a mailbox without an archive is answered without it (the
		// fake's choice: the guide shows only a mailbox with one).
		j["@odata.context"] = origin(q.r) + "/beta/$metadata#users('" + url.PathEscape(q.mb.address) + "')/settings/exchange/$entity"
		if q.mb.archiveBox != nil {
			j["inPlaceArchiveMailboxId"] = mbxID(q.mb.archiveBox)
		}
	}
	writeJSON(q.w, http.StatusOK, j)
}

// routeAdmin serves /admin/exchange/mailboxes/{mbx}/... (q.seg below it).
func (s *Server) routeAdmin(q *req) {
	seg, m := q.seg, q.method()
	n := len(seg)
	if s.redirectExpanded(q) {
		return
	}
	switch {
	case n == 1 && seg[0] == "folders" && m == http.MethodGet:
		s.ieListFolders(q)
	case n == 1 && seg[0] == "folders" && m == http.MethodPost:
		s.ieCreateFolder(q, "")
	case n == 3 && seg[0] == "folders" && seg[2] == "childFolders" && m == http.MethodPost:
		s.ieCreateFolder(q, seg[1])
	case n == 2 && seg[0] == "folders" && m == http.MethodGet:
		s.ieGetFolder(q, seg[1])
	case n == 3 && seg[0] == "folders" && seg[2] == "items" && m == http.MethodGet:
		s.ieListItems(q, seg[1])
	case n == 4 && seg[0] == "folders" && seg[2] == "items" && isDelta(seg[3]) && m == http.MethodGet:
		s.ieDelta(q, seg[1])
	case n == 4 && seg[0] == "folders" && seg[2] == "items" && m == http.MethodGet:
		s.ieGetItem(q, seg[1], seg[3])
	case n == 1 && seg[0] == "exportItems" && m == http.MethodPost:
		s.ieExport(q)
	case n == 1 && seg[0] == "createImportSession" && m == http.MethodPost:
		s.ieCreateImportSession(q)
	default:
		graphError(q.w, http.StatusBadRequest, "BadRequest", "Resource not found for the segment '"+strings.Join(seg, "/")+"'.")
	}
}

// ieQuery is what a list request of this API asks.
type ieQuery struct {
	sel []string
	// filter is a list's $filter, compiled against the folder or item
	// schema; expandSV the $filter of $expand=singleValueExtendedProperties.
	filter       *compiledFilter
	hasFilter    bool
	expandSV     *compiledFilter
	top, skip    int
	hasTop       bool
	count        bool
	receivedOp   string // ge or gt (delta)
	receivedFrom time.Time
	skiptoken    string
	deltatoken   string
}

var ieFolderProps = []string{"id", "displayName", "parentFolderId", "childFolderCount", "totalItemCount", "type"}
var ieItemProps = []string{"id", "changeKey", "categories", "createdDateTime", "lastModifiedDateTime", "size", "type"}

// parseIEQuery reads the query options of a folder list (delta false,
// props ieFolderProps), an item list or an item delta (delta true). It
// refuses what it does not serve, as Graph does with 400.
func parseIEQuery(v url.Values, props []string, delta bool) (ieQuery, error) {
	var q ieQuery
	for k, vals := range v {
		if len(vals) != 1 {
			return q, fmt.Errorf("the query option '%s' is given more than once", k)
		}
		val := vals[0]
		switch k {
		case "$select":
			if delta {
				return q, fmt.Errorf("the query option '$select' is not supported with delta")
			}
			for _, p := range strings.Split(val, ",") {
				p = strings.TrimSpace(p)
				i := slices.IndexFunc(props, func(x string) bool { return strings.EqualFold(x, p) })
				if i < 0 {
					return q, fmt.Errorf("could not find a property named '%s' on type 'microsoft.graph.mailbox%s'", p, map[bool]string{true: "Folder", false: "Item"}[len(props) == len(ieFolderProps)])
				}
				q.sel = append(q.sel, props[i])
			}
		case "$top", "$skip":
			if delta && k == "$skip" {
				return q, fmt.Errorf("the query option '$skip' is not supported with delta")
			}
			n, err := strconv.Atoi(val)
			if err != nil || n < 0 || (k == "$top" && (n < 1 || n > 1000)) {
				return q, fmt.Errorf("invalid value '%s' for the query option '%s'", val, k)
			}
			if k == "$top" {
				q.top, q.hasTop = n, true
			} else {
				q.skip = n
			}
		case "$count":
			if delta {
				return q, fmt.Errorf("the query option '$count' is not supported with delta")
			}
			switch strings.ToLower(val) {
			case "true":
				q.count = true
			case "false":
			default:
				return q, fmt.Errorf("invalid value '%s' for the query option '$count'", val)
			}
		case "$filter":
			if err := q.parseFilter(val, delta, props); err != nil {
				return q, err
			}
		case "$expand":
			if delta || len(props) == len(ieFolderProps) {
				return q, fmt.Errorf("the query option '$expand' is not supported here")
			}
			items, qe := parseExpand(val)
			if qe != nil {
				return q, fmt.Errorf("%s", qe.message)
			}
			for _, it := range items {
				if !strings.EqualFold(it.name, "singleValueExtendedProperties") || len(it.sel) > 0 {
					return q, fmt.Errorf("could not find a navigation property named '%s' on type 'microsoft.graph.mailboxItem'", it.name)
				}
				if strings.TrimSpace(it.filter) == "" {
					// As on the mail API (checkExpand): extended properties
					// are asked for by id, never enumerated.
					return q, fmt.Errorf("extended properties must be expanded with a $filter on their id")
				}
				sv, qe := parseFilter(it.filter, singleValuePropSchema)
				if qe != nil {
					return q, fmt.Errorf("%s", qe.message)
				}
				q.expandSV = sv
			}
		case "$skiptoken", "$deltatoken":
			if !delta && k == "$deltatoken" {
				return q, fmt.Errorf("the query option '%s' is not supported", k)
			}
			if k == "$skiptoken" {
				q.skiptoken = val
			} else {
				q.deltatoken = val
			}
		default:
			return q, fmt.Errorf("the query option '%s' is not supported", k)
		}
	}
	return q, nil
}

// parseFilter takes, on lists, a filter over the folder's or the item's
// properties (type, displayName; type, createdDateTime, categories and
// singleValueExtendedProperties), and on delta only
// "receivedDateTime ge|gt {time}" (D3).
func (q *ieQuery) parseFilter(f string, delta bool, props []string) error {
	f = strings.TrimSpace(f)
	if delta {
		rest, ok := strings.CutPrefix(f, "receivedDateTime ")
		if !ok {
			return fmt.Errorf("delta supports $filter only on receivedDateTime ge|gt")
		}
		op, val, ok := strings.Cut(strings.TrimSpace(rest), " ")
		if !ok || (op != "ge" && op != "gt") {
			return fmt.Errorf("delta supports $filter only on receivedDateTime ge|gt")
		}
		t, err := time.Parse(time.RFC3339, strings.TrimSpace(val))
		if err != nil {
			return fmt.Errorf("invalid dateTimeOffset literal '%s'", val)
		}
		q.receivedOp, q.receivedFrom = op, t
		return nil
	}
	root := ieItemSchema
	if len(props) == len(ieFolderProps) {
		root = ieFolderSchema
	}
	cf, qe := parseFilter(f, root)
	if qe != nil {
		return fmt.Errorf("%s", qe.message)
	}
	q.filter, q.hasFilter = cf, true
	return nil
}

// ieFilterItem is what an item $filter sees.
type ieFilterItem struct {
	it  ieItem
	ext map[string]string
}

var (
	ieFolderSchema = newSchema("microsoft.graph.mailboxFolder",
		&propDef{name: "type", typ: edmString, get: str(func(v any) string { return v.(ieFolder).class })},
		&propDef{name: "displayName", typ: edmString, get: str(func(v any) string { return v.(ieFolder).name })},
	)
	ieItemSchema = newSchema("microsoft.graph.mailboxItem",
		&propDef{name: "type", typ: edmString, get: str(func(v any) string { return v.(ieFilterItem).it.class })},
		&propDef{name: "createdDateTime", typ: edmDateTime, get: func(v any) any { return secs(v.(ieFilterItem).it.created) }},
		&propDef{name: "lastModifiedDateTime", typ: edmDateTime, get: func(v any) any { return secs(v.(ieFilterItem).it.modified) }},
		&propDef{name: "categories", typ: edmString, coll: true, get: func(v any) any { return strAny(v.(ieFilterItem).it.categories) }},
		&propDef{name: "singleValueExtendedProperties", typ: edmComplex, coll: true, sub: singleValuePropSchema, get: func(v any) any {
			ext := v.(ieFilterItem).ext
			out := make([]any, 0, len(ext))
			for id, val := range ext {
				out = append(out, extProp{ID: id, Value: val})
			}
			return out
		}},
	)
)

// ieExt are an item's extended properties, its search key among them.
func (mb *mbox) ieExt(it ieItem) map[string]string {
	switch x := mb.ieLookup(it.kind, it.apiID).(type) {
	case *Message:
		return withSearchKey(x.ExtendedProperties, x.SearchKey)
	case *Contact:
		return withSearchKey(x.ExtendedProperties, x.SearchKey)
	case *calEvent:
		return withSearchKey(x.Ext, x.SearchKey)
	case *todoTask:
		return withSearchKey(nil, x.SearchKey)
	}
	return nil
}

func (s *Server) ieQueryOf(q *req, props []string, delta bool) (ieQuery, bool) {
	o, err := parseIEQuery(q.r.URL.Query(), props, delta)
	if err != nil {
		graphError(q.w, http.StatusBadRequest, "BadRequest", err.Error())
		return o, false
	}
	return o, true
}

func pick(sel []string, j map[string]any) map[string]any {
	if len(sel) == 0 {
		return j
	}
	out := map[string]any{"id": j["id"]}
	for _, p := range sel {
		out[p] = j[p]
	}
	return out
}

// page writes one page of a list with its nextLink and @odata.count.
func (s *Server) page(q *req, o ieQuery, all []map[string]any, context string) {
	size := s.defaultPage
	if n, ok := preferPageSize(q.r); ok {
		size = n
	}
	if o.hasTop {
		size = o.top
	}
	start := min(o.skip, len(all))
	end := min(start+size, len(all))
	body := map[string]any{"@odata.context": context, "value": all[start:end]}
	if o.count {
		body["@odata.count"] = len(all)
	}
	if end < len(all) {
		params := q.r.URL.Query()
		params.Set("$skip", strconv.Itoa(end))
		params.Del("$top")
		if o.hasTop {
			params.Set("$top", strconv.Itoa(o.top))
		}
		body["@odata.nextLink"] = q.selfURL(params)
	}
	writeJSON(q.w, http.StatusOK, body)
}

func (s *Server) ieFolderJSON(mb *mbox, f ieFolder) map[string]any {
	total := 0
	switch f.kind {
	case ieMailFolder:
		total, _ = mb.folderCounts(mb.folders[f.apiID])
	default:
		total = len(mb.ieItems(&f))
	}
	return map[string]any{"id": f.id, "displayName": f.name, "parentFolderId": f.parentID, "childFolderCount": f.children, "totalItemCount": total, "type": f.class}
}

func (s *Server) ieListFolders(q *req) {
	if !s.need(q, ieFolderReadRoles) {
		return
	}
	o, ok := s.ieQueryOf(q, ieFolderProps, false)
	if !ok {
		return
	}
	s.mu.Lock()
	var all []map[string]any
	for _, f := range q.mb.ieFolders() {
		if o.hasFilter && !o.filter.match(f) {
			continue
		}
		all = append(all, pick(o.sel, s.ieFolderJSON(q.mb, f)))
	}
	s.mu.Unlock()
	if all == nil {
		all = []map[string]any{}
	}
	s.page(q, o, all, origin(q.r)+"/v1.0/$metadata#admin/exchange/mailboxes('"+mbxID(q.mb)+"')/folders")
}

// ieResolveFolder finds a folder of this API for a request; it answers
// 400 for an id that is none of this API's (a mail API id, say) and 404
// for one that names no folder of this mailbox.
func (s *Server) ieResolveFolder(q *req, id string) *ieFolder {
	if refuseWellKnownInArchive(q, id) {
		return nil
	}
	s.mu.Lock()
	f := q.mb.ieFolder(id)
	if f == nil {
		f = q.mb.ieWellKnown(id)
	}
	s.mu.Unlock()
	if f != nil {
		return f
	}
	if graphWellKnown[strings.ToLower(id)] || isWellKnownIE(id) {
		graphError(q.w, http.StatusNotFound, "ErrorItemNotFound", "The specified object was not found in the store.")
		return nil
	}
	if _, _, _, ok := parseIEID(id); !ok {
		graphError(q.w, http.StatusBadRequest, "ErrorInvalidIdMalformed", "Id is malformed.")
		return nil
	}
	graphError(q.w, http.StatusNotFound, "ErrorItemNotFound", "The specified object was not found in the store.")
	return nil
}

// ieFolderQuery checks the caller's roles, parses the query and resolves
// the folder a request names, answering the first failure itself.
func (s *Server) ieFolderQuery(q *req, roles, props []string, delta bool, folderID string) (ieQuery, *ieFolder, bool) {
	if !s.need(q, roles) {
		return ieQuery{}, nil, false
	}
	o, ok := s.ieQueryOf(q, props, delta)
	if !ok {
		return ieQuery{}, nil, false
	}
	f := s.ieResolveFolder(q, folderID)
	return o, f, f != nil
}

func (s *Server) ieGetFolder(q *req, id string) {
	o, f, ok := s.ieFolderQuery(q, ieFolderReadRoles, ieFolderProps, false, id)
	if !ok {
		return
	}
	s.mu.Lock()
	j := pick(o.sel, s.ieFolderJSON(q.mb, *f))
	s.mu.Unlock()
	writeJSON(q.w, http.StatusOK, j)
}

func (s *Server) ieItemJSON(mb *mbox, it ieItem) map[string]any {
	data, _ := s.exportStream(mb, it.kind, it.apiID)
	cats := it.categories
	if cats == nil {
		cats = []string{}
	}
	return map[string]any{"id": it.id, "changeKey": changeKeyOf(it.changeKey), "categories": cats,
		"createdDateTime": it.created.UTC().Format(graphTime), "lastModifiedDateTime": it.modified.UTC().Format(graphTime),
		"size": len(data), "type": it.class}
}

func (s *Server) ieListItems(q *req, folderID string) {
	o, f, ok := s.ieFolderQuery(q, ieItemReadRoles, ieItemProps, false, folderID)
	if !ok {
		return
	}
	s.mu.Lock()
	all := []map[string]any{}
	for _, it := range q.mb.ieItems(f) {
		if o.hasFilter && !o.filter.match(ieFilterItem{it, q.mb.ieExt(it)}) {
			continue
		}
		j := pick(o.sel, s.ieItemJSON(q.mb, it))
		addExtProps(j, o.expandSV, q.mb.ieExt(it))
		all = append(all, j)
	}
	s.mu.Unlock()
	s.page(q, o, all, origin(q.r)+"/v1.0/$metadata#admin/exchange/mailboxes('"+mbxID(q.mb)+"')/folders('"+f.id+"')/items")
}

func (s *Server) ieGetItem(q *req, folderID, itemID string) {
	o, f, ok := s.ieFolderQuery(q, ieItemReadRoles, ieItemProps, false, folderID)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, it := range q.mb.ieItems(f) {
		if it.id == itemID {
			j := pick(o.sel, s.ieItemJSON(q.mb, it))
			addExtProps(j, o.expandSV, q.mb.ieExt(it))
			writeJSON(q.w, http.StatusOK, j)
			return
		}
	}
	if _, _, _, ok := parseIEID(itemID); !ok {
		graphError(q.w, http.StatusBadRequest, "ErrorInvalidIdMalformed", "Id is malformed.")
		return
	}
	graphError(q.w, http.StatusNotFound, "ErrorItemNotFound", "The specified object was not found in the store.")
}

// ieDeltaToken is the state of a delta round: the folder, the change
// sequence it covers, the filter, and (skip tokens) the offset reached.
type ieDeltaToken struct {
	Folder string    `json:"f"`
	Seq    int64     `json:"s"`
	Gen    int64     `json:"g"`
	Op     string    `json:"o,omitempty"`
	From   time.Time `json:"t,omitzero"`
	Offset int       `json:"n,omitempty"`
	Upto   int64     `json:"u,omitempty"`
}

func encodeIEToken(t ieDeltaToken) string {
	b, _ := json.Marshal(t)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeIEToken(s string) (ieDeltaToken, bool) {
	var t ieDeltaToken
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(b, &t) != nil {
		return t, false
	}
	return t, true
}

// ieDelta serves items/delta: every item of the folder changed after the
// token's sequence (all on a first round), then the deleted ones as
// @removed; pages follow Prefer: odata.maxpagesize.
func (s *Server) ieDelta(q *req, folderID string) {
	o, f, ok := s.ieFolderQuery(q, ieItemReadRoles, nil, true, folderID)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tok := ieDeltaToken{Folder: f.id, Gen: s.deltaGen, Op: o.receivedOp, From: o.receivedFrom}
	raw := o.skiptoken
	if raw == "" {
		raw = o.deltatoken
	}
	if raw != "" {
		t, ok := decodeIEToken(raw)
		if !ok || t.Folder != f.id {
			graphError(q.w, http.StatusBadRequest, "BadRequest", "The delta token is not valid.")
			return
		}
		if t.Gen != s.deltaGen {
			graphError(q.w, http.StatusGone, "SyncStateNotFound", "The sync state generation is not found. Please restart the sync process.")
			return
		}
		tok = t
		if o.deltatoken != "" {
			tok.Offset, tok.Upto = 0, 0
		}
	}
	if tok.Upto == 0 {
		tok.Upto = s.seq
	}
	var changes []map[string]any
	for _, it := range q.mb.ieItems(f) {
		if it.seq <= tok.Seq || it.seq > tok.Upto {
			continue
		}
		if tok.Op == "ge" && it.received.Before(tok.From) || tok.Op == "gt" && !it.received.After(tok.From) {
			continue
		}
		changes = append(changes, s.ieItemJSON(q.mb, it))
	}
	if tok.Seq > 0 {
		var removed []tombstone
		switch f.kind {
		case ieMailFolder:
			removed = q.mb.removed[f.apiID]
		case ieContactFolder:
			removed = q.mb.cremoved[f.apiID]
		case ieCalendar:
			removed = q.mb.evRemoved[f.apiID]
		case ieTaskList:
			removed = q.mb.taskRemoved[f.apiID]
		}
		kind := map[byte]byte{ieMailFolder: ieMessage, ieContactFolder: ieContact, ieCalendar: ieEvent, ieTaskList: ieTask}[f.kind]
		for _, t := range removed {
			if t.seq > tok.Seq && t.seq <= tok.Upto {
				changes = append(changes, map[string]any{"id": ieID(q.mb, kind, t.id), "@removed": map[string]any{"reason": "deleted"}})
			}
		}
	}
	size := s.defaultPage
	if n, ok := preferPageSize(q.r); ok {
		size = n
	}
	start := min(tok.Offset, len(changes))
	end := min(start+size, len(changes))
	if changes == nil {
		changes = []map[string]any{}
	}
	body := map[string]any{"@odata.context": origin(q.r) + "/v1.0/$metadata#Collection(mailboxItem)", "value": changes[start:end]}
	u := *q.r.URL
	u.Scheme, u.Host = "https", q.r.Host
	if q.r.TLS == nil {
		u.Scheme = "http"
	}
	params := url.Values{}
	if end < len(changes) {
		next := tok
		next.Offset = end
		params.Set("$skiptoken", encodeIEToken(next))
		u.RawQuery = params.Encode()
		body["@odata.nextLink"] = u.String()
	} else {
		next := ieDeltaToken{Folder: f.id, Seq: tok.Upto, Gen: s.deltaGen, Op: tok.Op, From: tok.From}
		params.Set("$deltatoken", encodeIEToken(next))
		u.RawQuery = params.Encode()
		body["@odata.deltaLink"] = u.String()
	}
	writeJSON(q.w, http.StatusOK, body)
}

// ---------------------------------------------------------------- export

func (s *Server) ieExport(q *req) {
	if !s.need(q, ieExportRoles) {
		return
	}
	var in struct {
		ItemIDs []string `json:"itemIds"`
	}
	if !decodeStrict(q.w, q.body, "microsoft.graph.exportItems", []string{"itemIds"}, &in) {
		return
	}
	if len(in.ItemIDs) == 0 || len(in.ItemIDs) > maxExportItems {
		graphError(q.w, http.StatusBadRequest, "ErrorInvalidRequest", fmt.Sprintf("itemIds must name 1 to %d items.", maxExportItems))
		return
	}
	mine := mbxID(q.mb)
	for _, id := range in.ItemIDs {
		if mbx, _, _, ok := parseIEID(id); ok && mbx != mine && q.mb.auxByMBX(mbx) == nil {
			graphError(q.w, http.StatusBadRequest, "ErrorInvalidRequest", "All items of one exportItems request must be in the mailbox of the request.")
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []map[string]any{}
	for _, id := range in.ItemIDs {
		mbx, kind, api, ok := parseIEID(id)
		if aux := q.mb.auxByMBX(mbx); ok && aux != nil {
			// An item of an auxiliary archive, asked of the main one.
			out = append(out, map[string]any{"itemId": id, "Error": map[string]any{"code": "ErrorArchiveFolderMovedPermanently",
				"message": origin(q.r) + "/beta/admin/exchange/mailboxes/" + mbxID(aux) + "/exportItems"}})
			continue
		}
		if !ok || kind < 'a' {
			out = append(out, map[string]any{"itemId": id, "error": map[string]any{"code": "ErrorInvalidIdMalformed", "message": "Id is malformed."}})
			continue
		}
		data, ck := s.exportStream(q.mb, kind, api)
		if data == nil {
			out = append(out, map[string]any{"itemId": id, "error": map[string]any{"code": "ErrorItemNotFound", "message": "The specified object was not found in the store."}})
			continue
		}
		out = append(out, map[string]any{"itemId": id, "changeKey": changeKeyOf(ck), "data": base64.StdEncoding.EncodeToString(data)})
	}
	writeJSON(q.w, http.StatusOK, map[string]any{"@odata.context": origin(q.r) + "/v1.0/$metadata#Collection(microsoft.graph.exportItemResponse)", "value": out})
}

// Ext keys under which a Graph-dialect stream carries what the fake holds
// beyond the typed fields of fakestream.Item, so that an export and an
// import through this API lose nothing.
const (
	extMessage    = "graphtest.message"
	extContact    = "graphtest.contactProps"
	extEvent      = "graphtest.eventExt"
	extExtensions = "graphtest.taskExtensions"
)

func titleCase(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// exportStream is the fakestream of one item with its change key; nil
// when the mailbox holds no such item.
func (s *Server) exportStream(mb *mbox, kind byte, apiID string) ([]byte, int64) {
	it := fakestream.Item{Dialect: fakestream.DialectGraph, Ext: map[string]string{}}
	var ck int64
	switch x := mb.ieLookup(kind, apiID).(type) {
	case *Message:
		c := cloneMessage(x)
		c.ID, c.FolderID, c.SearchKey = "", "", nil
		full, _ := json.Marshal(c)
		mime := x.MIME
		if mime == nil {
			mime = renderMIME(x)
		}
		it.Class, it.Subject, it.IsRead, it.IsDraft = messageClass(x), x.Subject, x.IsRead, x.IsDraft
		it.Received, it.Sent, it.Created = x.Received, x.Sent, x.Created
		it.Importance, it.Categories, it.Flag = mailbox.Importance(titleCase(x.Importance)), slices.Clone(x.Categories), mailbox.FlagStatus(titleCase(x.FlagStatus))
		it.MIME = mime
		maps.Copy(it.Ext, x.ExtendedProperties)
		it.Ext[extMessage] = string(full)
		ck = x.changeKey
	case *Contact:
		cm := contactModel(x)
		it.Class, it.Subject, it.Created, it.Contact = mailbox.ClassContact, cm.DisplayName, x.Created, &cm
		maps.Copy(it.Ext, x.ExtendedProperties)
		props, _ := json.Marshal(x.Props)
		it.Ext[extContact] = string(props)
		ck = x.changeKey
	case *calEvent:
		ev := cloneEvent(x.Event)
		it.Class, it.Subject, it.Created, it.Importance, it.Categories, it.Event = eventClass(ev), ev.Subject, x.Created, ev.Importance, slices.Clone(ev.Categories), &ev
		maps.Copy(it.Ext, x.Ext)
		ck = x.ChangeKey
	case *todoTask:
		t := cloneTask(x.Task)
		it.Class, it.Subject, it.Created, it.Categories, it.Task = mailbox.ClassTask, t.Subject, x.Created, slices.Clone(t.Categories), &t
		if len(x.Extensions) > 0 {
			ext, _ := json.Marshal(x.Extensions)
			it.Ext[extExtensions] = string(ext)
		}
		ck = x.ChangeKey
	default:
		return nil, 0
	}
	it.SearchKey = hex.EncodeToString(searchKeyOf(mb.ieLookup(kind, apiID)))
	if len(it.Ext) == 0 {
		it.Ext = nil
	}
	data, err := fakestream.Encode(it)
	if err != nil {
		return nil, 0
	}
	return data, ck
}

// ---------------------------------------------------------------- import

func (s *Server) ieCreateImportSession(q *req) {
	if !s.need(q, ieImportRoles) {
		return
	}
	if b := strings.TrimSpace(string(q.body)); b != "" {
		graphError(q.w, http.StatusBadRequest, "BadRequest", "createImportSession takes no request body.")
		return
	}
	host := uploadHost(q.r)
	s.mu.Lock()
	life := s.importLifetime
	if life <= 0 {
		life = DefaultImportSessionLifetime
	}
	is := &importSession{token: base64.RawURLEncoding.EncodeToString([]byte(s.nextID("T") + newUUID())), host: host, appID: q.claims.AppID, mb: q.mb, expires: time.Now().Add(life)}
	s.importOrder = append(s.importOrder, is)
	s.mu.Unlock()
	scheme := "https"
	if q.r.TLS == nil {
		scheme = "http"
	}
	u := scheme + "://" + host + "/import/api/gv1.0/Mailboxes('" + mbxID(q.mb) + "')/importItem?authtoken=" + url.QueryEscape(is.token)
	// The v1.0 page and the how-to disagree on 200 and 201 (items.md D5);
	// the fake answers 200, as the v1.0 reference page does.
	writeJSON(q.w, http.StatusOK, map[string]any{
		"@odata.context":     origin(q.r) + "/v1.0/$metadata#microsoft.graph.mailboxItemImportSession",
		"importUrl":          u,
		"expirationDateTime": is.expires.UTC().Format(graphTime),
	})
}

// serveImport takes POSTs to an import URL. The URL is pre-authenticated
// (D5: "no Authorization header"): a request with one is refused as the
// upload host refuses one (401 InvalidAudienceForResource), the fake's
// choice by analogy with upload sessions, since what the import host
// answers is not documented. An unknown or expired authtoken answers 401
// InvalidAuthenticationToken (the fake's choice; the real answer is not
// documented): the client takes a new session.
func (s *Server) serveImport(w http.ResponseWriter, r *http.Request) {
	tokenArg := r.URL.Query().Get("authtoken")
	s.mu.Lock()
	var is *importSession
	for _, x := range s.importOrder {
		if tokenArg != "" && x.token == tokenArg {
			is = x
		}
	}
	s.mu.Unlock()
	if is == nil || !strings.EqualFold(r.Host, is.host) || !strings.HasSuffix(r.URL.Path, "/Mailboxes('"+mbxID(is.mb)+"')/importItem") {
		graphError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "The import URL is not valid.")
		return
	}
	if authz := r.Header.Get("Authorization"); authz != "" {
		u := *r.URL
		u.RawQuery = ""
		graphError(w, http.StatusUnauthorized, "InvalidAudienceForResource", "The audience claim value is invalid for current resource. Request url is '"+origin(r)+u.EscapedPath()+"' and resource type is 'Exchange'.")
		return
	}
	s.mu.Lock()
	expired := !time.Now().Before(is.expires)
	s.mu.Unlock()
	if expired {
		graphError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "The import session has expired. Create a new import session.")
		return
	}
	if r.Method != http.MethodPost {
		graphError(w, http.StatusMethodNotAllowed, "BadRequest", "Method not allowed.")
		return
	}
	if s.applyFault(w, r, is.appID, is.mb) {
		return
	}
	release, th := s.admit(r, is.appID, is.mb)
	if th != nil {
		s.writeThrottle(w, th)
		return
	}
	defer release()
	s.requests.Add(1)
	body, ok := s.readBody(w, r)
	if !ok {
		return
	}
	if th := s.admitUpload(is.appID, is.mb, int64(len(body))); th != nil {
		s.writeThrottle(w, th)
		return
	}
	in, code, msg := parseImportRequest(body)
	if code != "" {
		graphError(w, http.StatusBadRequest, code, msg)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if aux := is.mb.expanded[in.FolderID]; aux != nil {
		// The folder's content is in an auxiliary archive: 409 with the
		// guide's body, naming the mailbox to take a session of.
		writeJSON(w, http.StatusConflict, map[string]any{"Message": "Invalid import session. The target session is expected in mailbox " + mbxID(aux) + "."})
		return
	}
	status, res := s.importLocked(is.mb, in)
	if status != http.StatusOK {
		graphError(w, status, res["code"], res["message"])
		return
	}
	s.imports.Add(1)
	writeJSON(w, http.StatusOK, map[string]any{"itemId": res["itemId"], "changeKey": res["changeKey"]})
}

// importRequest is the body of a POST to an import URL.
type importRequest struct {
	FolderID  string `json:"FolderId"`
	Mode      string `json:"Mode"`
	Data      string `json:"Data"`
	ItemID    string `json:"ItemId"`
	ChangeKey string `json:"ChangeKey"`
	data      []byte
}

// parseImportRequest checks an import body: known properties only, a
// mode of create (without ItemId and ChangeKey) or update (with both), a
// folder and base64 data. It returns an error code and message, or "".
func parseImportRequest(body []byte) (importRequest, string, string) {
	var in importRequest
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return in, "BadRequest", "Unable to read JSON request payload."
	}
	allowed := []string{"FolderId", "Mode", "Data", "ItemId", "ChangeKey"}
	for k := range raw {
		if !slices.Contains(allowed, k) {
			return in, "RequestBodyRead", fmt.Sprintf("The property '%s' does not exist on the import request.", k)
		}
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return in, "BadRequest", "Invalid request body."
	}
	switch in.Mode {
	case "create":
		if in.ItemID != "" || in.ChangeKey != "" {
			return in, "ErrorInvalidRequest", "ItemId and ChangeKey are not allowed in create mode."
		}
	case "update":
		if in.ItemID == "" || in.ChangeKey == "" {
			return in, "ErrorInvalidRequest", "ItemId and ChangeKey are required in update mode."
		}
	default:
		return in, "ErrorInvalidRequest", "Mode must be create or update."
	}
	if in.FolderID == "" || in.Data == "" {
		return in, "ErrorInvalidRequest", "FolderId and Data are required."
	}
	d, err := base64.StdEncoding.DecodeString(in.Data)
	if err != nil {
		return in, "ErrorInvalidRequest", "Data is not base64."
	}
	in.data = d
	return in, "", ""
}

func errRes(code, msg string) map[string]string {
	return map[string]string{"code": code, "message": msg}
}

// importLocked recreates the item of in.data in the folder in.FolderID.
func (s *Server) importLocked(mb *mbox, in importRequest) (int, map[string]string) {
	f := mb.ieFolder(in.FolderID)
	if f == nil {
		if _, _, _, ok := parseIEID(in.FolderID); !ok {
			return http.StatusBadRequest, errRes("ErrorInvalidIdMalformed", "FolderId is malformed.")
		}
		return http.StatusNotFound, errRes("ErrorItemNotFound", "The folder was not found in the mailbox of the import session.")
	}
	it, err := fakestream.Decode(in.data)
	if err != nil {
		return http.StatusBadRequest, errRes("ErrorCannotImportItem", "Data is not an item stream: "+err.Error())
	}
	// The fake's choice of answer: Microsoft documents import only of
	// data exportItems produced (items.md D9).
	if it.Dialect == fakestream.DialectEWS && !s.acceptEWS {
		return http.StatusBadRequest, errRes("ErrorCannotImportItem", "The data was not exported by Microsoft Graph exportItems and cannot be imported.")
	}
	wantKind := map[mailbox.Kind]byte{mailbox.KindCalendar: ieCalendar, mailbox.KindContacts: ieContactFolder, mailbox.KindTasks: ieTaskList}[mailbox.KindOf(it.Class)]
	if wantKind == 0 {
		wantKind = ieMailFolder
	}
	if wantKind != f.kind {
		// The fake keeps messages, events, contacts and tasks in stores of
		// their own; Exchange's folders take any item (a fake limitation).
		return http.StatusBadRequest, errRes("ErrorCannotImportItem", fmt.Sprintf("The fake cannot store an item of class %s in a folder of type %s.", it.Class, f.class))
	}
	var oldAPI string
	if in.Mode == "update" {
		mbx, k, api, ok := parseIEID(in.ItemID)
		if !ok {
			return http.StatusBadRequest, errRes("ErrorInvalidIdMalformed", "ItemId is malformed.")
		}
		var found *ieItem
		for _, x := range mb.ieItems(f) {
			if x.id == in.ItemID {
				found = &x
				break
			}
		}
		if mbx != mbxID(mb) || found == nil || k < 'a' {
			return http.StatusNotFound, errRes("ErrorItemNotFound", "The item was not found in the folder.")
		}
		if changeKeyOf(found.changeKey) != in.ChangeKey {
			return http.StatusConflict, errRes("ErrorIrresolvableConflict", "The change key passed in the request does not match the current change key for the item.")
		}
		oldAPI = api
	}
	// The copy keeps the stream's search key (a new one without).
	key, err := searchKeyFromStream(it.SearchKey)
	if err != nil {
		return http.StatusBadRequest, errRes("ErrorCannotImportItem", "Data is not an item stream: "+err.Error())
	}
	now := time.Now().UTC()
	var id string
	var ck int64
	switch f.kind {
	case ieMailFolder:
		m := &Message{}
		if full := it.Ext[extMessage]; full != "" && it.Dialect == fakestream.DialectGraph {
			_ = json.Unmarshal([]byte(full), m)
		} else {
			m.Subject, m.IsRead, m.IsDraft, m.Received, m.Sent = it.Subject, it.IsRead, it.IsDraft, it.Received, it.Sent
			m.Importance, m.Categories, m.FlagStatus = lowerFirst(string(it.Importance)), it.Categories, lowerFirst(string(it.Flag))
			m.MIME, m.BodyType = it.MIME, "text"
			m.ExtendedProperties = map[string]string{}
			for k, v := range it.Ext {
				if !strings.HasPrefix(k, "graphtest.") {
					m.ExtendedProperties[k] = v
				}
			}
			if it.Class != mailbox.ClassMessage {
				m.ExtendedProperties["String 0x001A"] = it.Class
			}
		}
		// Attachments are new objects of the new item.
		for i := range m.Attachments {
			m.Attachments[i].ID = s.nextID("AAMkA")
		}
		if m.Importance == "" {
			m.Importance = "normal"
		}
		if m.FlagStatus == "" {
			m.FlagStatus = "notFlagged"
		}
		m.FolderID, m.Created, m.SearchKey = f.apiID, now, key
		if oldAPI != "" {
			old := mb.messages[oldAPI]
			m.ID, m.Created, m.changeKey, m.createdSeq = old.ID, old.Created, old.changeKey, old.createdSeq
		} else {
			m.ID = s.nextID("AAMkM")
		}
		mb.messages[m.ID] = m
		s.touch(m)
		if oldAPI == "" {
			m.createdSeq = m.seq
		}
		id, ck = ieID(mb, ieMessage, m.ID), m.changeKey
	case ieContactFolder:
		if it.Contact == nil {
			return http.StatusBadRequest, errRes("ErrorCannotImportItem", "The fake keeps no contact groups (IPM.DistList) nor contacts without properties.")
		}
		c := &Contact{FolderID: f.apiID, Props: contactProps(*it.Contact), ExtendedProperties: map[string]string{}, Created: now, SearchKey: key}
		if p := it.Ext[extContact]; p != "" && it.Dialect == fakestream.DialectGraph {
			props := map[string]any{}
			if json.Unmarshal([]byte(p), &props) == nil {
				c.Props = props
			}
		}
		for k, v := range it.Ext {
			if !strings.HasPrefix(k, "graphtest.") {
				c.ExtendedProperties[k] = v
			}
		}
		if len(it.Contact.Photo) > 0 {
			c.Photo, c.PhotoType = slices.Clone(it.Contact.Photo), "image/jpeg"
		}
		if oldAPI != "" {
			old := mb.contacts[oldAPI]
			c.ID, c.Created, c.changeKey = old.ID, old.Created, old.changeKey
		} else {
			c.ID = s.nextID("AAMkC")
		}
		mb.contacts[c.ID] = c
		s.touchContact(c)
		id, ck = ieID(mb, ieContact, c.ID), c.changeKey
	case ieCalendar:
		if it.Event == nil {
			return http.StatusBadRequest, errRes("ErrorCannotImportItem", "The stream holds no calendar item.")
		}
		e := &calEvent{CalendarID: f.apiID, Event: cloneEvent(*it.Event), Ext: map[string]string{}, Created: now, Order: s.seq, SearchKey: key}
		for k, v := range it.Ext {
			if !strings.HasPrefix(k, "graphtest.") {
				e.Ext[k] = v
			}
		}
		for range e.Event.Attachments {
			e.AttachmentIDs = append(e.AttachmentIDs, s.nextID("AAMkA"))
		}
		if oldAPI != "" {
			old := mb.events[oldAPI]
			e.ID, e.Created, e.ChangeKey, e.Order = old.ID, old.Created, old.ChangeKey, old.Order
		} else {
			e.ID = s.nextID("AAMkE")
		}
		mb.events[e.ID] = e
		s.touchEvent(e)
		if s.importSends {
			s.meetingMessagesLocked(mb, e.Event, "meetingRequest")
		}
		id, ck = ieID(mb, ieEvent, e.ID), e.ChangeKey
	case ieTaskList:
		if it.Task == nil {
			return http.StatusBadRequest, errRes("ErrorCannotImportItem", "The stream holds no task.")
		}
		t := &todoTask{ListID: f.apiID, Task: cloneTask(*it.Task), Created: now, SearchKey: key}
		if x := it.Ext[extExtensions]; x != "" && it.Dialect == fakestream.DialectGraph {
			_ = json.Unmarshal([]byte(x), &t.Extensions)
		}
		if oldAPI != "" {
			old := mb.tasks[oldAPI]
			t.ID, t.Created, t.ChangeKey = old.ID, old.Created, old.ChangeKey
		} else {
			t.ID = s.nextID("AAMkT")
		}
		mb.tasks[t.ID] = t
		s.touchTask(t)
		id, ck = ieID(mb, ieTask, t.ID), t.ChangeKey
	}
	return http.StatusOK, map[string]string{"itemId": id, "changeKey": changeKeyOf(ck)}
}

// EWSStream is an item stream as the EWS fake's ExportItems makes it (of
// dialect "ews"), for tests of the lab's AcceptEWSStreams switch.
func EWSStream(class, subject string, mime []byte) []byte {
	b, err := fakestream.Encode(fakestream.Item{Dialect: fakestream.DialectEWS, Class: class, Subject: subject, MIME: mime})
	if err != nil {
		panic(err)
	}
	return b
}
