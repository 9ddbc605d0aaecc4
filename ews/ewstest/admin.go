package ewstest

import (
	"maps"
	"slices"
	"strings"
)

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
	found := m.s.walkTo(m.mb, m.mb.roots["msgfolderroot"], path, false)
	if found == nil {
		return nil, false
	}
	return &FolderFixture{s: m.s, f: found}, true
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
// As Exchange (ErrorFolderExists), it refuses a name a sibling has: ok is
// false and nothing changes.
func (f *FolderFixture) Rename(name string) (ok bool) {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	if p := f.f.parent; p != nil {
		for _, c := range p.children {
			if c != f.f && strings.EqualFold(c.name, name) {
				return false
			}
		}
	}
	f.f.name = name
	f.f.updated = f.s.nextSeq()
	return true
}

// StoredContact is what the fake holds of a contact a client wrote from
// its properties (CreateItem t:Contact), by the EWS names: for tests that
// compare a copy with the fake's own store rather than with what a client
// reads back.
type StoredContact struct {
	ID         string
	Fields     map[string]string            // unindexed elements (DisplayName, Birthday ...)
	Emails     map[string][2]string         // EmailAddress1-3 -> name, address
	IMs        map[string]string            // ImAddress1-3
	Phones     map[string]string            // BusinessPhone, HomePhone2 ...
	Addresses  map[string]map[string]string // Home, Business, Other -> Street, City ...
	Children   []string
	Categories []string
	Ext        map[string]string // extended properties ("0x3a45" ...), stamps included
	MIME       []byte            // what the fake answers as MimeContent (the notes are its body)
	Photo      []byte            // the contact picture (a FileAttachment with IsContactPhoto)
}

// Contacts lists the folder's contacts written from their properties.
func (f *FolderFixture) Contacts() []StoredContact {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	var out []StoredContact
	for _, x := range f.f.items {
		if x.contact == nil {
			continue
		}
		c := StoredContact{ID: x.id, Fields: maps.Clone(x.contact.Fields), IMs: maps.Clone(x.contact.IMs),
			Phones: maps.Clone(x.contact.Phones), Children: slices.Clone(x.contact.Children),
			Categories: slices.Clone(x.categories), Ext: maps.Clone(x.ext), MIME: x.mime, Photo: x.contact.Photo,
			Emails: map[string][2]string{}, Addresses: map[string]map[string]string{}}
		for k, e := range x.contact.Emails {
			c.Emails[k] = [2]string{e.Name, e.Address}
		}
		for k, a := range x.contact.Addresses {
			c.Addresses[k] = maps.Clone(a)
		}
		out = append(out, c)
	}
	return out
}
