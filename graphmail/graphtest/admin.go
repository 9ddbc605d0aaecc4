package graphtest

// MoveMessage moves a message to the folder at path (created if missing),
// as a user's Outlook does: the next delta of its folder reports it
// @removed, that of the other folder a new message with a new id (Graph
// ids change on a move unless immutable ids are asked for). It returns
// the new id; ok is false for an id the mailbox does not hold.
func (f *MailboxFixture) MoveMessage(id, path string) (newID string, ok bool) {
	m, ok := f.Message(id)
	if !ok || !f.DeleteMessage(id) {
		return "", false
	}
	m.ID, m.FolderID = "", ""
	return f.AddMessage(path, m), true
}

// RenameFolder gives the mail folder at path another display name, as a
// user renaming it in Outlook; its id stays. ok is false for a path the
// mailbox does not hold, and, as Graph (409 ErrorFolderExists), for a name
// a sibling has.
func (f *MailboxFixture) RenameFolder(path, name string) (ok bool) {
	id := f.FolderID(path)
	if id == "" || path == "" {
		return false
	}
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	fo := f.mb.folders[id]
	if parent := f.mb.folders[fo.parentID]; parent != nil && f.mb.childByName(parent, name) != nil {
		return false
	}
	fo.name = name
	return true
}
