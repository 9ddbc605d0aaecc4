package graphtest

import (
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/exmigrate/exmigrate/mailbox"
)

// Snapshot format: gzip of one JSON document. The version changes whenever
// a field changes meaning, so an old file is refused rather than misread.
const (
	snapshotFormat  = "exmigrate/graphtest-snapshot"
	SnapshotVersion = 1
)

// ErrSnapshot is wrapped by every error Restore returns for data it cannot
// use (corrupt, unknown version, inconsistent, unresolvable attachment).
var ErrSnapshot = errors.New("graphtest: unusable snapshot")

// AttachmentResolver returns the bytes of an attachment a snapshot left
// out (see ExternalAttachments), by its SHA-256 and size.
type AttachmentResolver func(sum [32]byte, size int64) ([]byte, error)

// SnapshotOption configures Snapshot and Restore.
type SnapshotOption func(*snapConfig)

type snapConfig struct {
	externalMin int64
	external    func(sum [32]byte, size int64) bool
	resolve     AttachmentResolver
	base        *Server
	baseMIME    map[[32]byte][]byte // base's messages' MIME by SHA-256
}

// SnapshotBase makes Snapshot leave out the MIME of messages that base
// holds too (any message with the same MIME; ids are random), keeping its
// SHA-256, and makes Restore take it back from base. A base is a server
// seeded the same way, so that a snapshot holds only what changed since
// seeding.
func SnapshotBase(base *Server) SnapshotOption {
	return func(c *snapConfig) { c.base = base }
}

func (c *snapConfig) loadBase(s *Server) {
	if c.base == nil || c.base == s {
		return
	}
	c.base.mu.Lock()
	defer c.base.mu.Unlock()
	c.baseMIME = map[[32]byte][]byte{}
	for _, mb := range c.base.mailboxes {
		for _, m := range mb.messages {
			if m.MIME != nil {
				c.baseMIME[sha256.Sum256(m.MIME)] = m.MIME
			}
		}
	}
}

// ExternalAttachments makes Snapshot leave out the bytes of attachments of
// minSize bytes or more, keeping their size and SHA-256, so a snapshot of
// a mailbox with large attachments stays small. Restore then needs
// ResolveAttachments.
func ExternalAttachments(minSize int64) SnapshotOption {
	return func(c *snapConfig) { c.externalMin = minSize }
}

// ExternalAttachmentsFunc makes Snapshot leave out the bytes of the
// attachments for which external reports true (those the caller can give
// back to Restore), keeping their size and SHA-256. It combines with
// ExternalAttachments.
func ExternalAttachmentsFunc(external func(sum [32]byte, size int64) bool) SnapshotOption {
	return func(c *snapConfig) { c.external = external }
}

// ResolveAttachments gives Restore the bytes of attachments the snapshot
// left out.
func ResolveAttachments(r AttachmentResolver) SnapshotOption {
	return func(c *snapConfig) { c.resolve = r }
}

type snapDoc struct {
	Format    string         `json:"format"`
	Version   int            `json:"version"`
	Seq       int64          `json:"seq"`
	DeltaGen  int64          `json:"deltaGen"`
	Apps      []snapApp      `json:"apps"`
	OnPrem    []string       `json:"onPrem"`
	Mailboxes []snapMailbox  `json:"mailboxes"`
	Extra     map[string]any `json:"extra,omitempty"` // reserved
}

type snapApp struct {
	Tenant, ClientID, Secret string
	Certs                    [][]byte
	Roles                    []string
}

type snapMailbox struct {
	Address  string
	Type     mailbox.MailboxType
	RootID   string
	Folders  []snapFolder // parents before children
	Messages []snapMessage
	Removed  map[string][]snapTomb
	Rules    []Rule
	// MaxSendSize and MaxReceiveSize; 0 (older snapshots) is the default.
	MaxSendSize, MaxReceiveSize int64 `json:",omitempty"`
	// Contacts is the contacts tree; nil (older snapshots) restores an
	// empty default Contacts folder.
	Contacts *snapContacts `json:",omitempty"`
	// Calendars and Todo are the calendars with their events and the To
	// Do lists with their tasks; nil (older snapshots) restores the
	// default calendar and list, empty.
	Calendars *snapCalendars `json:",omitempty"`
	Todo      *snapTodo      `json:",omitempty"`
	// Archive is the mailbox's online archive (AddArchive), nil without.
	Archive *snapMailbox `json:",omitempty"`
}

type snapCalendars struct {
	DefaultID string
	Calendars []calendarFolder // in order
	Events    []calEvent
	Removed   map[string][]snapTomb
}

type snapTodo struct {
	DefaultID string
	Lists     []todoList // in order
	Tasks     []todoTask
	Removed   map[string][]snapTomb
}

type snapContacts struct {
	RootID   string
	Folders  []snapFolder // parents before children; ID, ParentID, Name
	Contacts []snapContact
	Removed  map[string][]snapTomb
}

type snapContact struct {
	Contact
	ChangeKey, Seq int64
}

type snapFolder struct {
	ID, ParentID, Name, WellKnown, Class string
	Hidden                               bool
	Created                              int64
}

type snapTomb struct {
	ID  string
	Seq int64
}

type snapMessage struct {
	Message
	// External lists the attachments (by index) whose bytes were left out.
	External []int `json:",omitempty"`
	// BaseMIMESHA256 is set when the MIME was left out: the base's
	// message of this id has it.
	BaseMIMESHA256 string `json:",omitempty"`
	ChangeKey      int64
	Seq            int64
	// CreatedSeq tells delta's created from updated; 0 (older snapshots)
	// takes the message for one there before any delta round.
	CreatedSeq int64 `json:",omitempty"`
}

// Snapshot writes the whole store (apps, on-premises users, mailboxes,
// folders and messages with their ids, change keys, read state, dates,
// extended properties and attachments, rules, and the delta bookkeeping)
// to w, so that Restore brings back a server whose ids and delta links
// still hold. Upload sessions in progress, tokens issued, faults, limits'
// windows and counters are not part of a snapshot.
func (s *Server) Snapshot(w io.Writer, opts ...SnapshotOption) error {
	var cfg snapConfig
	for _, o := range opts {
		o(&cfg)
	}
	cfg.loadBase(s)
	s.mu.Lock()
	doc, err := s.snapDocLocked(cfg)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	// Encoded under the lock: the document shares maps with the store.
	zw := gzip.NewWriter(w)
	err = json.NewEncoder(zw).Encode(doc)
	s.mu.Unlock()
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		return fmt.Errorf("graphtest: write snapshot: %w", err)
	}
	return nil
}

func (s *Server) snapDocLocked(cfg snapConfig) (*snapDoc, error) {
	doc := &snapDoc{Format: snapshotFormat, Version: SnapshotVersion, Seq: s.seq, DeltaGen: s.deltaGen}
	for _, k := range sortedKeys(s.apps) {
		a := s.apps[k]
		doc.Apps = append(doc.Apps, snapApp{Tenant: a.tenant, ClientID: a.clientID, Secret: a.secret, Certs: a.certs, Roles: a.roles})
	}
	doc.OnPrem = sortedKeys(s.onPrem)
	for _, k := range sortedKeys(s.mailboxes) {
		mb := s.mailboxes[k]
		sm, err := snapMailboxOf(mb, cfg)
		if err != nil {
			return nil, err
		}
		if a := mb.archiveBox; a != nil {
			if len(a.aux) > 0 {
				return nil, fmt.Errorf("graphtest: snapshot: the archive of %s has auxiliary archives (ExpandFolder), which snapshots do not keep", mb.address)
			}
			as, err := snapMailboxOf(a, cfg)
			if err != nil {
				return nil, err
			}
			sm.Archive = &as
		}
		doc.Mailboxes = append(doc.Mailboxes, sm)
	}
	return doc, nil
}

// snapMailboxOf is one mailbox (or archive) of a snapshot.
func snapMailboxOf(mb *mbox, cfg snapConfig) (snapMailbox, error) {
	sm := snapMailbox{Address: mb.address, Type: mb.typ, RootID: mb.rootID, Removed: snapTombs(mb.removed), Rules: mb.rules,
		MaxSendSize: mb.maxSend, MaxReceiveSize: mb.maxReceive}
	var walk func(id string)
	walk = func(id string) {
		f := mb.folders[id]
		if f == nil {
			return
		}
		sm.Folders = append(sm.Folders, snapFolder{ID: f.id, ParentID: f.parentID, Name: f.name, WellKnown: f.wellKnown,
			Class: f.class, Hidden: f.hidden, Created: f.created})
		for _, c := range f.children {
			walk(c)
		}
	}
	walk(mb.rootID)
	// The trees outside the IPM subtree (Recoverable Items), after it.
	for _, id := range sortedKeys(mb.folders) {
		if f := mb.folders[id]; f.parentID == "" && id != mb.rootID {
			walk(id)
		}
	}
	if len(sm.Folders) != len(mb.folders) {
		return snapMailbox{}, fmt.Errorf("graphtest: snapshot: %d folders of %s are not below its root", len(mb.folders)-len(sm.Folders), mb.address)
	}
	msgs := slices.Collect(maps.Values(mb.messages))
	slices.SortFunc(msgs, func(a, b *Message) int { return strings.Compare(a.ID, b.ID) })
	for _, m := range msgs {
		sm2 := snapMessage{Message: *m, ChangeKey: m.changeKey, Seq: m.seq, CreatedSeq: m.createdSeq}
		if cfg.baseMIME != nil && m.MIME != nil {
			if sum := sha256.Sum256(m.MIME); cfg.baseMIME[sum] != nil {
				sm2.MIME, sm2.BaseMIMESHA256 = nil, hex.EncodeToString(sum[:])
			}
		}
		if cfg.externalMin > 0 || cfg.external != nil {
			sm2.Attachments = slices.Clone(m.Attachments)
			for i := range sm2.Attachments {
				a := &sm2.Attachments[i]
				if a.Data == nil {
					continue
				}
				out := (cfg.externalMin > 0 && int64(len(a.Data)) >= cfg.externalMin) || (cfg.external != nil && cfg.external(a.SHA256, a.Size))
				// Restore checks the bytes it gets back against the
				// digest, so only a true digest may stand for them.
				if out && int64(len(a.Data)) == a.Size && sha256.Sum256(a.Data) == a.SHA256 {
					a.Data = nil
					sm2.External = append(sm2.External, i)
				}
			}
		}
		sm.Messages = append(sm.Messages, sm2)
	}
	sm.Contacts = snapContactsOf(mb)
	sm.Calendars, sm.Todo = snapCalendarsOf(mb), snapTodoOf(mb)
	return sm, nil
}

// Restore replaces the server's store with a snapshot written by Snapshot.
// Call it before the server answers requests. The server's options (limits,
// latency) and its token signing key are its own, so access tokens issued
// before are not valid any more; clients get new ones. It fails with an
// error wrapping ErrSnapshot, and leaves the server unchanged, when the data
// is not a snapshot, has another version, is inconsistent, or leaves out an
// attachment the resolver cannot give back.
func (s *Server) Restore(r io.Reader, opts ...SnapshotOption) error {
	var cfg snapConfig
	for _, o := range opts {
		o(&cfg)
	}
	zr, err := gzip.NewReader(r)
	if err != nil {
		return fmt.Errorf("%w: not a gzip stream (%v): is the file a graphtest snapshot?", ErrSnapshot, err)
	}
	defer zr.Close()
	doc, err := decodeSnapshot(zr)
	if err != nil {
		return err
	}
	cfg.loadBase(s)
	st, err := buildStore(doc, cfg)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apps, s.onPrem, s.mailboxes = st.apps, st.onPrem, st.mailboxes
	s.seq, s.deltaGen = doc.Seq, doc.DeltaGen
	// A snapshot written before contacts were kept restores an empty
	// default Contacts folder.
	for _, mb := range s.mailboxes {
		if mb.cfolders == nil {
			mb.initContacts(s)
		}
		if mb.calendars == nil {
			mb.initCalendar(s)
		}
		if mb.todoLists == nil {
			mb.initTodo(s)
		}
		if mb.resolveFolder(recoverableDeletions) == nil {
			mb.initRecoverable(s) // older snapshots have none
		}
		if a := mb.archiveBox; a != nil && a.resolveFolder(recoverableDeletions) == nil {
			a.initRecoverable(s)
		}
	}
	s.uploads = map[string]*uploadSession{}
	s.limiters = map[string]*limiter{}
	return nil
}

func decodeSnapshot(r io.Reader) (*snapDoc, error) {
	var doc snapDoc
	if err := json.NewDecoder(r).Decode(&doc); err != nil {
		return nil, fmt.Errorf("%w: corrupt: %v", ErrSnapshot, err)
	}
	if doc.Format != snapshotFormat {
		return nil, fmt.Errorf("%w: format %q, want %q", ErrSnapshot, doc.Format, snapshotFormat)
	}
	if doc.Version != SnapshotVersion {
		return nil, fmt.Errorf("%w: version %d, this build reads version %d only: seed the server afresh", ErrSnapshot, doc.Version, SnapshotVersion)
	}
	return &doc, nil
}

type store struct {
	apps      map[string]*app
	onPrem    map[string]bool
	mailboxes map[string]*mbox
}

func buildStore(doc *snapDoc, cfg snapConfig) (*store, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: inconsistent: %s", ErrSnapshot, fmt.Sprintf(format, a...))
	}
	st := &store{apps: map[string]*app{}, onPrem: map[string]bool{}, mailboxes: map[string]*mbox{}}
	for _, a := range doc.Apps {
		for _, der := range a.Certs {
			if _, err := parseCert(der); err != nil {
				return nil, bad("certificate of app %s: %v", a.ClientID, err)
			}
		}
		st.apps[a.ClientID] = &app{tenant: a.Tenant, clientID: a.ClientID, secret: a.Secret, certs: a.Certs, roles: a.Roles}
	}
	for _, u := range doc.OnPrem {
		st.onPrem[strings.ToLower(u)] = true
	}
	for _, sm := range doc.Mailboxes {
		key := strings.ToLower(sm.Address)
		if sm.Address == "" || st.mailboxes[key] != nil {
			return nil, bad("mailbox %q is empty or listed twice", sm.Address)
		}
		mb, err := restoreMailbox(sm, cfg, bad)
		if err != nil {
			return nil, err
		}
		if sm.Archive != nil {
			a, err := restoreMailbox(*sm.Archive, cfg, bad)
			if err != nil {
				return nil, err
			}
			if !strings.EqualFold(a.address, sm.Address) {
				return nil, bad("the archive of %s is named %s", sm.Address, a.address)
			}
			a.archive, mb.archiveBox = true, a
		}
		st.mailboxes[key] = mb
	}
	return st, nil
}

// restoreMailbox rebuilds one mailbox (or archive) of a snapshot.
func restoreMailbox(sm snapMailbox, cfg snapConfig, bad func(format string, a ...any) error) (*mbox, error) {
	mb := &mbox{address: sm.Address, typ: sm.Type, rootID: sm.RootID, folders: map[string]*folder{},
		messages: map[string]*Message{}, removed: map[string][]tombstone{}, rules: sm.Rules,
		maxSend: sm.MaxSendSize, maxReceive: sm.MaxReceiveSize}
	if mb.maxSend < 0 || mb.maxSend > MaxMessageSizeLimit || mb.maxReceive < 0 || mb.maxReceive > MaxMessageSizeLimit {
		return nil, bad("message size limits %d/%d of %s are out of range", mb.maxSend, mb.maxReceive, sm.Address)
	}
	for _, sf := range sm.Folders {
		if sf.ID == "" || mb.folders[sf.ID] != nil {
			return nil, bad("folder %q of %s is empty or listed twice", sf.ID, sm.Address)
		}
		f := &folder{id: sf.ID, parentID: sf.ParentID, name: sf.Name, wellKnown: sf.WellKnown, hidden: sf.Hidden, class: sf.Class, created: sf.Created}
		if sf.ParentID == "" {
			if sf.ID != sm.RootID && sf.WellKnown != recoverableRootName {
				return nil, bad("folder %q of %s has no parent", sf.Name, sm.Address)
			}
		} else {
			p := mb.folders[sf.ParentID]
			if p == nil {
				return nil, bad("folder %q of %s comes before its parent", sf.Name, sm.Address)
			}
			p.children = append(p.children, f.id)
		}
		mb.folders[f.id] = f
	}
	if mb.folders[mb.rootID] == nil {
		return nil, bad("mailbox %s has no root folder", sm.Address)
	}
	for _, sm2 := range sm.Messages {
		m := sm2.Message
		if m.ID == "" || mb.messages[m.ID] != nil || mb.folders[m.FolderID] == nil {
			return nil, bad("message %q of %s is empty, listed twice or in an unknown folder", m.ID, sm.Address)
		}
		m.changeKey, m.seq, m.createdSeq = sm2.ChangeKey, sm2.Seq, sm2.CreatedSeq
		if sm2.BaseMIMESHA256 != "" {
			var sum [32]byte
			if len(sm2.BaseMIMESHA256) != 2*len(sum) {
				return nil, bad("message %q: BaseMIMESHA256 %q is not a SHA-256", m.ID, sm2.BaseMIMESHA256)
			}
			if n, err := hex.Decode(sum[:], []byte(sm2.BaseMIMESHA256)); err != nil || n != len(sum) {
				return nil, bad("message %q: BaseMIMESHA256 %q is not a SHA-256", m.ID, sm2.BaseMIMESHA256)
			}
			b, ok := cfg.baseMIME[sum]
			if !ok {
				return nil, fmt.Errorf("%w: the MIME of message %q (%s) was left out for the base server, and no base holding it was given (SnapshotBase)", ErrSnapshot, m.ID, m.Subject)
			}
			m.MIME = b
		}
		m.Attachments = slices.Clone(m.Attachments)
		for _, i := range sm2.External {
			if i < 0 || i >= len(m.Attachments) {
				return nil, bad("message %q names attachment %d of %d", m.ID, i, len(m.Attachments))
			}
			a := &m.Attachments[i]
			if cfg.resolve == nil {
				return nil, fmt.Errorf("%w: attachment %q of message %q (%s) was left out of the snapshot and no resolver was given (ResolveAttachments)", ErrSnapshot, a.Name, m.ID, m.Subject)
			}
			data, err := cfg.resolve(a.SHA256, a.Size)
			if err == nil && (int64(len(data)) != a.Size || sha256.Sum256(data) != a.SHA256) {
				err = errors.New("the resolver gave other bytes")
			}
			if err != nil {
				return nil, fmt.Errorf("%w: attachment %q (%d bytes, SHA-256 %s) of message %q: %v", ErrSnapshot, a.Name, a.Size, hex.EncodeToString(a.SHA256[:]), m.ID, err)
			}
			a.Data = data
		}
		ensureSearchKey(&m.SearchKey) // older snapshots have none
		mb.messages[m.ID] = &m
	}
	mb.removed = restoreTombs(sm.Removed)
	if sm.Contacts != nil {
		if err := restoreContacts(mb, sm.Contacts); err != nil {
			return nil, bad("contacts of %s: %v", sm.Address, err)
		}
	}
	if sm.Calendars != nil {
		if err := restoreCalendars(mb, sm.Calendars); err != nil {
			return nil, bad("calendars of %s: %v", sm.Address, err)
		}
	}
	if sm.Todo != nil {
		if err := restoreTodo(mb, sm.Todo); err != nil {
			return nil, bad("To Do lists of %s: %v", sm.Address, err)
		}
	}
	return mb, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func snapContactsOf(mb *mbox) *snapContacts {
	sc := &snapContacts{RootID: mb.contactsRootID, Removed: snapTombs(mb.cremoved)}
	var walk func(id string)
	walk = func(id string) {
		f := mb.cfolders[id]
		if f == nil {
			return
		}
		sc.Folders = append(sc.Folders, snapFolder{ID: f.id, ParentID: f.parentID, Name: f.name})
		for _, c := range f.children {
			walk(c)
		}
	}
	walk(mb.contactsRootID)
	cs := slices.Collect(maps.Values(mb.contacts))
	slices.SortFunc(cs, func(a, b *Contact) int { return strings.Compare(a.ID, b.ID) })
	for _, c := range cs {
		sc.Contacts = append(sc.Contacts, snapContact{Contact: *c, ChangeKey: c.changeKey, Seq: c.seq})
	}
	return sc
}

func restoreContacts(mb *mbox, sc *snapContacts) error {
	mb.contactsRootID = sc.RootID
	mb.cfolders, mb.contacts, mb.cremoved = map[string]*contactFolder{}, map[string]*Contact{}, map[string][]tombstone{}
	for _, sf := range sc.Folders {
		if sf.ID == "" || mb.cfolders[sf.ID] != nil {
			return fmt.Errorf("contact folder %q is empty or listed twice", sf.ID)
		}
		f := &contactFolder{id: sf.ID, parentID: sf.ParentID, name: sf.Name}
		if sf.ID != sc.RootID {
			p := mb.cfolders[sf.ParentID]
			if p == nil {
				return fmt.Errorf("contact folder %q comes before its parent", sf.Name)
			}
			p.children = append(p.children, f.id)
		}
		mb.cfolders[f.id] = f
	}
	if mb.cfolders[sc.RootID] == nil {
		return errors.New("no default Contacts folder")
	}
	for _, c := range sc.Contacts {
		if c.ID == "" || mb.contacts[c.ID] != nil || mb.cfolders[c.FolderID] == nil {
			return fmt.Errorf("contact %q is empty, listed twice or in an unknown folder", c.ID)
		}
		cc := c.Contact
		cc.changeKey, cc.seq = c.ChangeKey, c.Seq
		ensureSearchKey(&cc.SearchKey) // older snapshots have none
		mb.contacts[cc.ID] = &cc
	}
	mb.cremoved = restoreTombs(sc.Removed)
	return nil
}

func snapTombs(m map[string][]tombstone) map[string][]snapTomb {
	out := map[string][]snapTomb{}
	for k, ts := range m {
		for _, t := range ts {
			out[k] = append(out[k], snapTomb{ID: t.id, Seq: t.seq})
		}
	}
	return out
}

func restoreTombs(m map[string][]snapTomb) map[string][]tombstone {
	out := map[string][]tombstone{}
	for k, ts := range m {
		for _, t := range ts {
			out[k] = append(out[k], tombstone{id: t.ID, seq: t.Seq})
		}
	}
	return out
}

// restoreOrdered rebuilds flat folders (calendars, To Do lists) by id, in
// their order, one of them the default; what names the kind in errors.
func restoreOrdered[T any](items []T, idOf func(*T) string, defaultID, what string) (map[string]*T, []string, error) {
	byID, order := map[string]*T{}, []string(nil)
	for i := range items {
		it := items[i]
		id := idOf(&it)
		if id == "" || byID[id] != nil {
			return nil, nil, fmt.Errorf("%s %q is empty or listed twice", what, id)
		}
		byID[id] = &it
		order = append(order, id)
	}
	if byID[defaultID] == nil {
		return nil, nil, fmt.Errorf("no default %s", what)
	}
	return byID, order, nil
}

func snapCalendarsOf(mb *mbox) *snapCalendars {
	sc := &snapCalendars{DefaultID: mb.defCalendar, Removed: snapTombs(mb.evRemoved)}
	for _, id := range mb.calOrder {
		sc.Calendars = append(sc.Calendars, *mb.calendars[id])
	}
	for _, k := range sortedKeys(mb.events) {
		sc.Events = append(sc.Events, *mb.events[k])
	}
	return sc
}

func restoreCalendars(mb *mbox, sc *snapCalendars) error {
	var err error
	if mb.calendars, mb.calOrder, err = restoreOrdered(sc.Calendars, func(c *calendarFolder) string { return c.ID }, sc.DefaultID, "calendar"); err != nil {
		return err
	}
	mb.defCalendar, mb.events = sc.DefaultID, map[string]*calEvent{}
	for _, e := range sc.Events {
		if e.ID == "" || mb.events[e.ID] != nil || mb.calendars[e.CalendarID] == nil || len(e.AttachmentIDs) != len(e.Event.Attachments) {
			return fmt.Errorf("event %q is empty, listed twice, in an unknown calendar or inconsistent", e.ID)
		}
		ee := e
		if ee.Ext == nil {
			ee.Ext = map[string]string{}
		}
		ensureSearchKey(&ee.SearchKey) // older snapshots have none
		mb.events[e.ID] = &ee
	}
	mb.evRemoved = restoreTombs(sc.Removed)
	return nil
}

func snapTodoOf(mb *mbox) *snapTodo {
	st := &snapTodo{DefaultID: mb.defTodo, Removed: snapTombs(mb.taskRemoved)}
	for _, id := range mb.todoOrder {
		st.Lists = append(st.Lists, *mb.todoLists[id])
	}
	for _, k := range sortedKeys(mb.tasks) {
		st.Tasks = append(st.Tasks, *mb.tasks[k])
	}
	return st
}

func restoreTodo(mb *mbox, st *snapTodo) error {
	var err error
	if mb.todoLists, mb.todoOrder, err = restoreOrdered(st.Lists, func(l *todoList) string { return l.ID }, st.DefaultID, "list"); err != nil {
		return err
	}
	mb.defTodo, mb.tasks = st.DefaultID, map[string]*todoTask{}
	for _, t := range st.Tasks {
		if t.ID == "" || mb.tasks[t.ID] != nil || mb.todoLists[t.ListID] == nil {
			return fmt.Errorf("task %q is empty, listed twice or in an unknown list", t.ID)
		}
		tt := t
		ensureSearchKey(&tt.SearchKey) // older snapshots have none
		mb.tasks[t.ID] = &tt
	}
	mb.taskRemoved = restoreTombs(st.Removed)
	return nil
}
