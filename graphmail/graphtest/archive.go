package graphtest

import (
	"net/http"
	"net/url"
	"strings"
)

// The online archive (reference items.md D2, D8; learn.microsoft.com/
// graph/work-with-archive-mailboxes): a user's main archive is a mailbox
// of its own in the import/export API, named by inPlaceArchiveMailboxId
// in GET /beta/users/{id}/settings/exchange, and served by the BETA
// import/export API only:
//
//   - its MBX id on /v1.0/admin/exchange/mailboxes/... answers 404
//     ErrorMailboxNotFound, as an unknown mailbox does (what the service
//     answers is not documented: the least surprising answer);
//   - well-known folder names are refused in it (400; the guide says
//     they "aren't supported for archive mailboxes", the answer's code
//     is not documented);
//   - auxiliary archives are modelled by ExpandFolder: 308 redirects,
//     ErrorArchiveFolderMovedPermanently on export, 409 on import.
//
// The fake's archive holds the folders a new mailbox does (mail folders,
// Contacts, Calendar, Tasks) so that items of every kind can be
// imported into it; a real archive holds the folders archiving made.

// AddArchive gives the mailbox an online archive (once; a second call
// returns the same) and returns a fixture of the archive, whose
// Folder, AddMessage, AddEvent ... seed it and whose MailboxID is its
// inPlaceArchiveMailboxId.
func (f *MailboxFixture) AddArchive() *MailboxFixture {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	if f.mb.archive {
		panic("graphtest: AddArchive on an archive")
	}
	if f.mb.archiveBox == nil {
		a := newMbox(f.s, f.mb.address, f.mb.typ)
		a.archive = true
		f.mb.archiveBox = a
	}
	return &MailboxFixture{s: f.s, mb: f.mb.archiveBox}
}

// Archive is the fixture of the mailbox's archive, nil without one.
func (f *MailboxFixture) Archive() *MailboxFixture {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	if f.mb.archiveBox == nil {
		return nil
	}
	return &MailboxFixture{s: f.s, mb: f.mb.archiveBox}
}

// betaServed are the /beta paths the fake serves (below the version):
// settings/exchange of a user; the import/export API is routed apart.
func betaServed(parts []string) bool {
	return len(parts) == 4 && parts[0] == "users" && parts[2] == "settings" && parts[3] == "exchange"
}

// refuseWellKnownInArchive answers 400 for a well-known folder name in an
// archive (the guide: reference folders by id there), true when it did.
func refuseWellKnownInArchive(q *req, id string) bool {
	if !q.mb.archive || !graphWellKnown[strings.ToLower(id)] && !isWellKnownIE(id) {
		return false
	}
	graphError(q.w, http.StatusBadRequest, "ErrorInvalidRequest", "Well-known folder names aren't supported for archive mailboxes. Reference the folder by its id.")
	return true
}

// isWellKnownIE names the well-known folders Graph knows beyond the mail
// API's list (calendar, contacts, tasks ...).
func isWellKnownIE(id string) bool {
	switch strings.ToLower(id) {
	case "calendar", "contacts", "tasks", "notes", "journal", "archivemsgfolderroot", "archiveroot", "archiveinbox", "archivedeleteditems":
		return true
	}
	return false
}

// ExpandFolder makes the mail folder at path of a main archive an
// expanded folder (auto-expanding archiving): its content moves to a new
// auxiliary archive, while the main archive keeps listing the folder.
// As the redirect guide (learn.microsoft.com/graph/handle-archive-
// mailbox-redirects) describes, requests of the main archive for that
// folder (GET of the folder, its items, an item, the delta) then answer
// 308 with the same path under the auxiliary's MBX id; exportItems of
// the main archive answers an item of the auxiliary with
// ErrorArchiveFolderMovedPermanently and the auxiliary's exportItems URL
// as the message; an import into the folder through a session of the
// main archive answers 409 naming the auxiliary. The folder keeps its id
// in both. It returns a fixture of the auxiliary archive.
func (f *MailboxFixture) ExpandFolder(path string) *MailboxFixture {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	main := f.mb
	if !main.archive || main.auxOf != nil {
		panic("graphtest: ExpandFolder on a mailbox that is not a main archive")
	}
	fid := f.folderLocked(path, false)
	mainIE := ieID(main, ieMailFolder, fid)
	if main.expanded[mainIE] != nil {
		panic("graphtest: ExpandFolder: " + path + " is expanded already")
	}
	aux := newMbox(f.s, main.address, main.typ)
	aux.archive, aux.auxOf, aux.auxN = true, main, len(main.aux)+1
	af := (&MailboxFixture{s: f.s, mb: aux}).folderLocked(path, false)
	for id, m := range main.messages {
		if m.FolderID == fid {
			m.FolderID = af
			aux.messages[id] = m
			delete(main.messages, id)
		}
	}
	main.aux = append(main.aux, aux)
	if main.expanded == nil {
		main.expanded = map[string]*mbox{}
	}
	main.expanded[mainIE] = aux
	aux.expandedFrom = map[string]string{mainIE: ieID(aux, ieMailFolder, af)}
	return &MailboxFixture{s: f.s, mb: aux}
}

// auxByMBX is the auxiliary archive of this main archive with that id.
func (mb *mbox) auxByMBX(id string) *mbox {
	for _, a := range mb.aux {
		if strings.EqualFold(mbxID(a), id) {
			return a
		}
	}
	return nil
}

// redirectExpanded answers 308 for a GET of a main archive's expanded
// folder (or below it): Location is the same path and query under the
// auxiliary's MBX id. True when it answered.
func (s *Server) redirectExpanded(q *req) bool {
	if q.method() != http.MethodGet || len(q.seg) < 2 || q.seg[0] != "folders" {
		return false
	}
	s.mu.Lock()
	aux := q.mb.expanded[q.seg[1]]
	s.mu.Unlock()
	if aux == nil {
		return false
	}
	// ["", "beta", "admin", "exchange", "mailboxes", "{mbx}", ...]
	parts := strings.Split(q.r.URL.EscapedPath(), "/")
	if len(parts) < 6 {
		return false
	}
	parts[5] = url.PathEscape(mbxID(aux))
	loc := origin(q.r) + strings.Join(parts, "/")
	if q.r.URL.RawQuery != "" {
		loc += "?" + q.r.URL.RawQuery
	}
	q.w.Header().Set("Location", loc)
	q.w.Header().Set("Content-Length", "0")
	q.w.WriteHeader(http.StatusPermanentRedirect)
	return true
}
