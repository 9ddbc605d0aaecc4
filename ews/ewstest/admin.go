package ewstest

import "strings"

// What an engineer does to a running lab to rehearse a delta pass: the
// changes a user's Outlook would make, applied as Exchange records them
// (a move is a removal from one folder and a new item, with a new id, in
// the other, as EWS ids change on a move).

// LookupMailbox returns the fixture of an existing mailbox; ok is false
// for an address the fake does not hold.
func (s *Server) LookupMailbox(address string) (m *MailboxFixture, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	mb, ok := s.mailboxes[strings.ToLower(address)]
	if !ok {
		return nil, false
	}
	return &MailboxFixture{s: s, mb: mb}, true
}

// FindFolder returns the folder at path below the top of the primary tree
// without creating it; ok is false when a level is missing.
func (m *MailboxFixture) FindFolder(path string) (f *FolderFixture, ok bool) {
	m.s.mu.Lock()
	defer m.s.mu.Unlock()
	cur := m.mb.roots["msgfolderroot"]
	if path == "" {
		return &FolderFixture{s: m.s, f: cur}, true
	}
	for _, name := range strings.Split(path, "/") {
		var next *folder
		for _, c := range cur.children {
			if strings.EqualFold(c.name, name) {
				next = c
			}
		}
		if next == nil {
			return nil, false
		}
		cur = next
	}
	return &FolderFixture{s: m.s, f: cur}, true
}

// MoveItem moves an item of this folder to dst: the next SyncFolderItems
// of this folder reports a Delete, that of dst a Create of the new id.
// It returns the new id; ok is false when the folder does not hold id.
func (f *FolderFixture) MoveItem(id string, dst *FolderFixture) (newID string, ok bool) {
	s := f.s
	s.mu.Lock()
	defer s.mu.Unlock()
	x := s.items[id]
	if x == nil || x.f != f.f {
		return "", false
	}
	for i, y := range f.f.items {
		if y == x {
			f.f.items = append(f.f.items[:i], f.f.items[i+1:]...)
			break
		}
	}
	delete(s.items, id)
	f.f.tombs = append(f.f.tombs, tomb{id: id, seq: s.nextSeq(), created: x.created})
	owner := "public"
	if dst.f.mb != nil {
		owner = dst.f.mb.address
	}
	if f.f.mb != nil {
		f.f.mb.used -= x.size
	}
	if dst.f.mb != nil {
		dst.f.mb.used += x.size
	}
	seq := s.nextSeq()
	x.id, x.f, x.created, x.updated = s.newID("I", owner), dst.f, seq, seq
	dst.f.items = append(dst.f.items, x)
	s.items[x.id] = x
	return x.id, true
}

// Rename gives the folder another display name, as a user renaming it in
// Outlook: the next SyncFolderHierarchy reports it updated; its id stays.
func (f *FolderFixture) Rename(name string) {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	f.f.name = name
	f.f.updated = f.s.nextSeq()
}
