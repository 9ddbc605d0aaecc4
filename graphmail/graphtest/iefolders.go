package graphtest

import (
	"net/http"
	"strings"

	"github.com/exmigrate/exmigrate/mailbox"
)

// ieFolderWriteRoles may create folders of the import/export API (D6).
var ieFolderWriteRoles = []string{"MailboxFolder.ReadWrite.All", "MailboxFolder.ReadWrite"}

// ieCreateFolder serves POST .../folders (under the root) and POST
// .../folders/{id}/childFolders (learn.microsoft.com/graph/api/
// mailbox-post-folders): a body of displayName and type, both required,
// answered 201 with the mailboxFolder. A name the parent already has
// answers 409 ErrorFolderExists, as the mail API does (what this API
// answers is not documented). The fake keeps calendars and To Do lists
// flat under the root and contact folders under the Contacts tree, so a
// folder of those types elsewhere is refused (a fake limitation).
func (s *Server) ieCreateFolder(q *req, parentID string) {
	if !s.need(q, ieFolderWriteRoles) {
		return
	}
	var in struct {
		DisplayName string    `json:"displayName"`
		Type        string    `json:"type"`
		SV          []extProp `json:"singleValueExtendedProperties"`
	}
	if !decodeStrict(q.w, q.body, "microsoft.graph.mailboxFolder", []string{"displayName", "type", "singleValueExtendedProperties"}, &in) {
		return
	}
	if strings.TrimSpace(in.DisplayName) == "" || strings.TrimSpace(in.Type) == "" {
		graphError(q.w, http.StatusBadRequest, "ErrorInvalidRequest", "displayName and type are required.")
		return
	}
	var parent *ieFolder
	if parentID != "" {
		if parent = s.ieResolveFolder(q, parentID); parent == nil {
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	mb := q.mb
	if parent == nil {
		for _, f := range mb.ieFolders() {
			if f.apiID == mb.rootID {
				parent = &f
			}
		}
	}
	for _, f := range mb.ieFolders() {
		if f.parentID == parent.id && strings.EqualFold(f.name, in.DisplayName) {
			graphError(q.w, http.StatusConflict, "ErrorFolderExists", "A folder with the specified name already exists.")
			return
		}
	}
	underRoot := parent.apiID == mb.rootID
	var kind byte
	var apiID string
	switch k := mailbox.KindOfFolder(in.Type); {
	case k == mailbox.KindCalendar && underRoot:
		c := &calendarFolder{ID: s.nextID("AAMkCAL"), Name: in.DisplayName}
		mb.calendars[c.ID], mb.calOrder = c, append(mb.calOrder, c.ID)
		kind, apiID = ieCalendar, c.ID
	case k == mailbox.KindTasks && underRoot:
		l := &todoList{ID: s.nextID("AAMkTL"), Name: in.DisplayName}
		mb.todoLists[l.ID], mb.todoOrder = l, append(mb.todoOrder, l.ID)
		kind, apiID = ieTaskList, l.ID
	case k == mailbox.KindContacts && parent.kind == ieContactFolder:
		cf := &contactFolder{id: s.nextID("AAMkCF"), parentID: parent.apiID, name: in.DisplayName}
		mb.cfolders[cf.id] = cf
		p := mb.cfolders[parent.apiID]
		p.children = append(p.children, cf.id)
		kind, apiID = ieContactFolder, cf.id
	case k != mailbox.KindCalendar && k != mailbox.KindTasks && k != mailbox.KindContacts && parent.kind == ieMailFolder:
		f := &folder{id: s.nextID("AAMkF"), parentID: parent.apiID, name: in.DisplayName, class: in.Type}
		mb.folders[f.id] = f
		p := mb.folders[parent.apiID]
		p.children = append(p.children, f.id)
		kind, apiID = ieMailFolder, f.id
	default:
		graphError(q.w, http.StatusBadRequest, "ErrorInvalidRequest", "The fake keeps calendars and task folders under the root and contact folders under Contacts only; it cannot create a folder of type "+in.Type+" under "+parent.name+".")
		return
	}
	for _, f := range mb.ieFolders() {
		if f.kind == kind && f.apiID == apiID {
			writeJSON(q.w, http.StatusCreated, s.ieFolderJSON(mb, f))
			return
		}
	}
	graphError(q.w, http.StatusInternalServerError, "ErrorInternalServerError", "The folder was created but is not listed.")
}
