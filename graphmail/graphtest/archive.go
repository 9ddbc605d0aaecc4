package graphtest

import (
	"net/http"
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
//   - auxiliary archives (308 redirects, ErrorArchiveFolderMovedPermanently,
//     409 on import) are NOT modelled: the fake's archive is one main
//     archive holding everything.
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
