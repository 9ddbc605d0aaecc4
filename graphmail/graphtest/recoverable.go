package graphtest

import (
	"github.com/exmigrate/exmigrate/mailbox"
)

// Recoverable Items (reference items.md E8): Graph v1.0's mail API reads
// the well-known folder recoverableitemsdeletions (learn.microsoft.com/
// graph/api/resources/mailfolder), the Deletions folder below the
// Recoverable Items root, which lives outside the IPM subtree: neither
// msgfolderroot's childFolders nor the import/export API's folder list
// name it. Versions and Purges have no Graph well-known name, so the fake
// does not hold them; the root has no Graph name either (it is named
// only as the Deletions folder's parentFolderId). Whether Graph writes
// into Deletions is not documented: the fake does not refuse it.

// Well-known names of the Recoverable Items folders the fake holds; only
// the second is one Graph takes (graphWellKnown).
const (
	recoverableRootName  = "recoverableitemsroot"
	recoverableDeletions = "recoverableitemsdeletions"
)

// initRecoverable gives the mailbox its Recoverable Items root and the
// Deletions folder below it, empty.
func (mb *mbox) initRecoverable(s *Server) {
	root := &folder{id: s.nextID("AAMkF"), name: "Recoverable Items", wellKnown: recoverableRootName, class: mailbox.ClassMailFolder}
	del := &folder{id: s.nextID("AAMkF"), parentID: root.id, name: "Deletions", wellKnown: recoverableDeletions, class: mailbox.ClassMailFolder}
	root.children = []string{del.id}
	mb.folders[root.id], mb.folders[del.id] = root, del
}

// AddRecoverableItem stores m in Recoverable Items\Deletions (what a
// user's hard delete leaves there) and returns its id. Zero dates become
// now.
func (f *MailboxFixture) AddRecoverableItem(m Message) string {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	return f.addMessageLocked(f.mb.resolveFolder(recoverableDeletions).id, m)
}

// RecoverableItems returns copies of the messages in Recoverable
// Items\Deletions, oldest first.
func (f *MailboxFixture) RecoverableItems() []Message {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	var out []Message
	for _, m := range f.mb.folderMessages(f.mb.resolveFolder(recoverableDeletions).id) {
		out = append(out, cloneMessage(m))
	}
	return out
}
