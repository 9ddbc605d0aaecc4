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
	s.moveLocked(x, dst.f)
	return x.id, true
}

// moveLocked moves x into dst under s.mu, as Exchange does: x leaves its
// folder (a tombstone for sync) and lands in dst under a new id, every
// property (extended ones, the exmigrate stamp, included) kept. A move
// sends nothing, a meeting's included.
func (s *Server) moveLocked(x *item, dst *folder) {
	src := x.f
	for i, y := range src.items {
		if y == x {
			src.items = append(src.items[:i], src.items[i+1:]...)
			break
		}
	}
	delete(s.items, x.id)
	src.tombs = append(src.tombs, tomb{id: x.id, seq: s.nextSeq(), created: x.created})
	owner := "public"
	if dst.mb != nil {
		owner = dst.mb.address
	}
	if src.mb != nil {
		src.mb.used -= x.size
	}
	if dst.mb != nil {
		dst.mb.used += x.size
	}
	seq := s.nextSeq()
	x.id, x.f, x.created, x.updated = s.newID("I", owner), dst, seq, seq
	dst.items = append(dst.items, x)
	s.items[x.id] = x
}

// moveItem serves MoveItem (BaseMoveCopyItemType: ToFolderId, ItemIds,
// ReturnNewItemIds): each item moves to ToFolderId under a new id, its
// properties kept; nothing is sent. The new id is answered in Items
// unless ReturnNewItemIds is false (then Items is empty, as Exchange
// 2010 SP1 and later). Refused: an occurrence id (ErrorInvalidOperation;
// Exchange moves series, not occurrences) and a move into another
// mailbox (ErrorInvalidOperation in the fake; Exchange's cross-mailbox
// move is not modelled).
func (rc *reqCtx) moveItem(op *node, x *xw) error {
	to := op.child(nsMessages, "ToFolderId")
	var dst *folder
	var derr error
	if to == nil || len(to.children) != 1 {
		derr = errf("ErrorInvalidRequest", "ToFolderId needs one folder.")
	} else {
		dst, derr = rc.folderByRef(to.children[0])
	}
	ret := op.child(nsMessages, "ReturnNewItemIds")
	returnIDs := ret == nil || (ret.value() != "false" && ret.value() != "0")
	x.start(nsMessages, "MoveItemResponse")
	x.start(nsMessages, "ResponseMessages")
	for _, ref := range op.child(nsMessages, "ItemIds").children {
		err := derr
		var it *item
		if err == nil {
			if _, _, occ := parseOccurrenceID(ref.attr("Id")); occ || !ref.is(nsTypes, "ItemId") {
				err = errf("ErrorInvalidOperation", "The fake moves items, not occurrences.")
			} else {
				it, err = rc.itemByID(ref.attr("Id"))
			}
		}
		if err == nil {
			err = rc.injected()
		}
		if err == nil && it.f.mb != dst.mb {
			err = errf("ErrorInvalidOperation", "The fake moves items within one mailbox only.")
		}
		if err == nil && it.f != dst {
			rc.s.moveLocked(it, dst)
			rc.s.writes.Add(1)
		}
		if rc.msgStart(x, "MoveItemResponseMessage", err) && returnIDs {
			idItems(x, it, it.changeKey())
		} else {
			x.empty(nsMessages, "Items")
		}
		x.end()
	}
	x.end()
	x.end()
	return nil
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
