// Package memory is an in-memory mailbox service: the reference backend of
// the conformance suite (mailbox/mailboxtest) and the fast backend of the
// copy engine's tests. It keeps every contract the engine relies on the way
// the real services do (parents before children, idempotent folder creation,
// stamps, paged incremental sync with expiring states, size limits, errors
// mapped to the mailbox sentinels), holds large bodies in temporary files
// rather than in memory, and lets a test inject the failures a network
// produces: a request refused, throttled, or carried out with its answer
// lost.
package memory

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/exmigrate/exmigrate/mailbox"
)

// Op names an operation for fault injection.
type Op string

// Operations a fault can be attached to.
const (
	OpFolders        Op = "Folders"
	OpChanges        Op = "Changes"
	OpOpenItem       Op = "OpenItem"
	OpCreateFolder   Op = "CreateFolder"
	OpCreateItem     Op = "CreateItem"
	OpFindBySourceID Op = "FindBySourceID"
	OpSetRead        Op = "SetRead"
	OpStamps         Op = "Stamps"
	OpItems          Op = "Items"
	OpUpdateItem     Op = "UpdateItem"
	OpDeleteItem     Op = "DeleteItem"
	OpFingerprints   Op = "Fingerprints"
	OpReadBatch      Op = "ReadBatch"
	OpCreateBatch    Op = "CreateBatch"
)

// Fault is a failure injected into the next calls of one operation.
type Fault struct {
	Op  Op
	Err error // returned to the caller
	// AfterWrite carries the write out before returning Err: the answer of
	// a request that succeeded is lost (a timeout, a dropped connection).
	AfterWrite bool
	// Incomplete leaves a write half done (a crash between the requests of
	// one write): the item exists but FindBySourceID does not report it.
	Incomplete bool
	Times      int // how many calls fail; 0 means 1
}

// Service holds mailboxes by address, like one Exchange organisation.
type Service struct {
	mu        sync.Mutex
	mailboxes map[string]*store
	caps      mailbox.Capabilities
	pageSize  int
	spool     string // directory for large bodies; "" keeps them in memory
	seq       int64
	gen       int64 // sync-state generation; ExpireSyncStates bumps it
	faults    []*Fault
	calls     map[Op]int
	writes    int
}

// Option configures a Service.
type Option func(*Service)

// WithCapabilities replaces what the service declares (by default it
// reads and writes every kind of every store as MIME).
func WithCapabilities(c mailbox.Capabilities) Option {
	return func(s *Service) { s.caps = c }
}

// WithPageSize sets how many changes one Changes call returns (default 100).
func WithPageSize(n int) Option { return func(s *Service) { s.pageSize = n } }

// WithSpool keeps bodies over SpoolThreshold in files under dir, so a large
// item is never held in memory.
func WithSpool(dir string) Option { return func(s *Service) { s.spool = dir } }

// SpoolThreshold is the body size above which a spooling service keeps the
// body in a file.
const SpoolThreshold = 1 << 20

// DefaultCapabilities: every kind of every store, read and written as MIME,
// calendar items, contacts and tasks also as typed, with true item counts
// and read-state changes reported alone.
func DefaultCapabilities() mailbox.Capabilities {
	c := mailbox.Capabilities{Backend: "memory", ItemCounts: true, FolderSizes: true, ReadFlagChanges: true}
	for _, st := range mailbox.Stores() {
		for _, k := range mailbox.Kinds() {
			formats := []mailbox.Format{mailbox.FormatMIME}
			if k == mailbox.KindCalendar || k == mailbox.KindContacts || k == mailbox.KindTasks {
				formats = append(formats, mailbox.FormatTyped)
			}
			for _, f := range formats {
				p := mailbox.Path{Store: st, Kind: k, Format: f}
				c.Reads = append(c.Reads, p)
				c.Writes = append(c.Writes, p)
			}
		}
	}
	return c
}

// checkTyped refuses a typed body that does not decode as the item's
// class, as a service refuses a malformed item.
func checkTyped(class string, body []byte) error {
	var err error
	r := bytes.NewReader(body)
	switch kind := mailbox.KindOf(class); {
	case kind == mailbox.KindCalendar:
		_, err = mailbox.DecodeEvent(r)
	case kind == mailbox.KindTasks:
		_, err = mailbox.DecodeTask(r)
	case strings.HasPrefix(strings.ToUpper(class), strings.ToUpper(mailbox.ClassContactGroup)):
		_, err = mailbox.DecodeContactGroup(r)
	case kind == mailbox.KindContacts:
		_, err = mailbox.DecodeContact(r)
	default:
		err = fmt.Errorf("%w: no typed form for class %q", mailbox.ErrUnsupported, class)
	}
	if err != nil {
		return mailbox.Permanent(fmt.Errorf("memory: the typed %s item: %w: %w", class, mailbox.ErrItemRejected, err))
	}
	return nil
}

// New returns an empty service.
func New(opts ...Option) *Service {
	s := &Service{mailboxes: map[string]*store{}, caps: DefaultCapabilities(), pageSize: 100, calls: map[Op]int{}}
	for _, o := range opts {
		o(s)
	}
	return s
}

// AddMailbox creates a mailbox with a primary root and the well-known
// folders Inbox, Sent Items, Deleted Items, Drafts, Calendar, Contacts and
// Tasks, plus the roots of the other stores.
func (s *Service) AddMailbox(address string) *Mailbox {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := strings.ToLower(address)
	st := s.mailboxes[key]
	if st == nil {
		st = &store{folders: map[string]*folder{}, items: map[string]*item{}, roots: map[mailbox.Scope]string{}}
		s.mailboxes[key] = st
		for _, sc := range mailbox.Stores() {
			st.roots[sc] = s.newFolderLocked(st, "", "", mailbox.ClassMailFolder, sc, mailbox.NotWellKnown).id
		}
		st.folders[st.roots[mailbox.ScopePrimary]].wk = mailbox.RootFolder
		for _, w := range []struct {
			name  string
			class string
			wk    mailbox.WellKnown
		}{
			{"Inbox", mailbox.ClassMailFolder, mailbox.Inbox},
			{"Sent Items", mailbox.ClassMailFolder, mailbox.SentItems},
			{"Deleted Items", mailbox.ClassMailFolder, mailbox.DeletedItems},
			{"Drafts", mailbox.ClassMailFolder, mailbox.Drafts},
			{"Calendar", mailbox.ClassCalendarFolder, mailbox.CalendarFolder},
			{"Contacts", mailbox.ClassContactsFolder, mailbox.ContactsFolder},
			{"Tasks", mailbox.ClassTasksFolder, mailbox.TasksFolder},
		} {
			s.newFolderLocked(st, st.roots[mailbox.ScopePrimary], w.name, w.class, mailbox.ScopePrimary, w.wk)
		}
	}
	return &Mailbox{s: s, address: address}
}

// Open returns the mailbox at address; it does no I/O and the mailbox need
// not exist (calls then fail with ErrMailboxNotFound).
func (s *Service) Open(address string) *Mailbox { return &Mailbox{s: s, address: address} }

// Inject adds a fault; faults fire in the order they were added.
func (s *Service) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Times <= 0 {
		f.Times = 1
	}
	s.faults = append(s.faults, &f)
}

// ExpireSyncStates makes every sync state handed out so far invalid, as a
// mailbox move does.
func (s *Service) ExpireSyncStates() {
	s.mu.Lock()
	s.gen++
	s.mu.Unlock()
}

// Calls is how often an operation was called (faults included).
func (s *Service) Calls(op Op) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

// Writes is how many creates and updates were carried out.
func (s *Service) Writes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writes
}

type store struct {
	folders map[string]*folder
	items   map[string]*item
	roots   map[mailbox.Scope]string
	// log is the change log every sync state points into.
	log []event
}

type folder struct {
	id, parent, name, class string
	scope                   mailbox.Scope
	wk                      mailbox.WellKnown
	items                   []string // ids, in creation order
	deleted                 bool
}

type item struct {
	meta       mailbox.Item
	format     mailbox.Format
	body       []byte // small bodies
	file       string // spooled bodies
	size       int64
	digest     [32]byte
	incomplete bool
}

type event struct {
	seq    int64
	folder string
	kind   mailbox.ChangeKind
	item   string
}

func (s *Service) nextID(prefix string) string {
	s.seq++
	return prefix + strconv.FormatInt(s.seq, 36)
}

func (s *Service) newFolderLocked(st *store, parent, name, class string, scope mailbox.Scope, wk mailbox.WellKnown) *folder {
	f := &folder{id: s.nextID("f"), parent: parent, name: name, class: class, scope: scope, wk: wk}
	st.folders[f.id] = f
	return f
}

// call takes the service lock, counts the call and fires a fault if one is
// due: before the operation (fault returned) or after it (afterWrite).
func (s *Service) call(op Op) (f *Fault) {
	s.calls[op]++
	for i, ff := range s.faults {
		if ff.Op != op {
			continue
		}
		ff.Times--
		if ff.Times <= 0 {
			s.faults = slices.Delete(s.faults, i, i+1)
		}
		return ff
	}
	return nil
}

// Mailbox is one mailbox of the service: a mailbox.Source and Target.
type Mailbox struct {
	s       *Service
	address string
}

var (
	_ mailbox.Source     = (*Mailbox)(nil)
	_ mailbox.Target     = (*Mailbox)(nil)
	_ mailbox.ItemLister = (*Mailbox)(nil)
)

// Address is the mailbox's address.
func (m *Mailbox) Address() string { return m.address }

func (m *Mailbox) String() string { return "memory.Mailbox{" + m.address + "}" }

// Capabilities declares what the service does.
func (m *Mailbox) Capabilities() mailbox.Capabilities { return m.s.caps }

// lock takes the service lock and returns the mailbox's store, counting
// the call and returning an injected fault.
func (m *Mailbox) lock(ctx context.Context, op Op) (*store, *Fault, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	m.s.mu.Lock()
	f := m.s.call(op)
	st := m.s.mailboxes[strings.ToLower(m.address)]
	if f != nil && !f.AfterWrite && !f.Incomplete {
		m.s.mu.Unlock()
		return nil, nil, f.Err
	}
	if st == nil {
		m.s.mu.Unlock()
		return nil, nil, fmt.Errorf("memory: %s: %w", m.address, mailbox.ErrMailboxNotFound)
	}
	return st, f, nil
}

func (m *Mailbox) unlock() { m.s.mu.Unlock() }

func (m *Mailbox) notFound(what, id string) error {
	return fmt.Errorf("memory: %s %q in %s: %w", what, id, m.address, mailbox.ErrNotFound)
}

// Folders lists a store's tree, root first, parents before children,
// siblings by name.
func (m *Mailbox) Folders(ctx context.Context, scope mailbox.Scope) ([]mailbox.Folder, error) {
	st, _, err := m.lock(ctx, OpFolders)
	if err != nil {
		return nil, err
	}
	defer m.unlock()
	rootID, ok := st.roots[scope]
	if !ok {
		return nil, fmt.Errorf("memory: unknown store %q", scope)
	}
	children := map[string][]*folder{}
	for _, f := range st.folders {
		if f.scope == scope && f.id != rootID && !f.deleted {
			children[f.parent] = append(children[f.parent], f)
		}
	}
	out := []mailbox.Folder{m.folderLocked(st, st.folders[rootID], "")}
	for i := 0; i < len(out); i++ {
		kids := children[out[i].ID]
		slices.SortFunc(kids, func(a, b *folder) int { return strings.Compare(a.name, b.name) })
		for _, k := range kids {
			out = append(out, m.folderLocked(st, k, mailbox.JoinPath(out[i].Path, k.name)))
		}
	}
	return out, nil
}

func (m *Mailbox) folderLocked(st *store, f *folder, path string) mailbox.Folder {
	out := mailbox.Folder{ID: f.id, ParentID: f.parent, Path: path, DisplayName: f.name, WellKnown: f.wk, Class: f.class}
	for _, id := range f.items {
		if it := st.items[id]; it != nil {
			out.ItemCount++
			out.SizeBytes += it.size
		}
	}
	for _, c := range st.folders {
		if c.parent == f.id && !c.deleted {
			out.ChildCount++
		}
	}
	return out
}

func (st *store) pathOf(id string) string {
	f := st.folders[id]
	if f == nil || f.parent == "" {
		return ""
	}
	return mailbox.JoinPath(st.pathOf(f.parent), f.name)
}

// CreateFolder returns the child of parentID named displayName (case
// insensitive, as Exchange compares), creating it when absent. An empty
// parentID is the primary root.
func (m *Mailbox) CreateFolder(ctx context.Context, parentID, displayName, class string) (mailbox.Folder, error) {
	if strings.TrimSpace(displayName) == "" {
		return mailbox.Folder{}, mailbox.Permanent(fmt.Errorf("memory: create folder in %s: the folder display name is missing", m.address))
	}
	st, fault, err := m.lock(ctx, OpCreateFolder)
	if err != nil {
		return mailbox.Folder{}, err
	}
	defer m.unlock()
	if parentID == "" {
		parentID = st.roots[mailbox.ScopePrimary]
	}
	parent := st.folders[parentID]
	if parent == nil || parent.deleted {
		return mailbox.Folder{}, m.notFound("parent folder", parentID)
	}
	var f *folder
	for _, c := range st.folders {
		if c.parent == parentID && !c.deleted && strings.EqualFold(c.name, displayName) {
			f = c
		}
	}
	if f == nil {
		if class == "" {
			class = mailbox.ClassMailFolder
		}
		f = m.s.newFolderLocked(st, parentID, displayName, class, parent.scope, mailbox.NotWellKnown)
		m.s.writes++
	}
	if fault != nil {
		return mailbox.Folder{}, fault.Err
	}
	return m.folderLocked(st, f, st.pathOf(f.id)), nil
}

// Items lists a folder's complete items.
func (m *Mailbox) Items(ctx context.Context, folderID string, fn func(mailbox.Item) error) error {
	st, _, err := m.lock(ctx, OpItems)
	if err != nil {
		return err
	}
	f := st.folders[folderID]
	if f == nil {
		m.unlock()
		return m.notFound("folder", folderID)
	}
	var list []mailbox.Item
	for _, id := range f.items {
		if it := st.items[id]; it != nil && !it.incomplete {
			list = append(list, it.meta)
		}
	}
	m.unlock()
	for _, it := range list {
		if err := fn(it); err != nil {
			return err
		}
	}
	return nil
}

// Changes pages through the folder's change log. The state is
// "generation:position"; a state of an older generation is expired. A
// first sync reports the folder's current items as created.
func (m *Mailbox) Changes(ctx context.Context, folderID, state string) (mailbox.ChangePage, error) {
	st, fault, err := m.lock(ctx, OpChanges)
	if err != nil {
		return mailbox.ChangePage{}, err
	}
	defer m.unlock()
	if fault != nil {
		return mailbox.ChangePage{}, fault.Err
	}
	f := st.folders[folderID]
	if f == nil || f.deleted {
		return mailbox.ChangePage{}, m.notFound("folder", folderID)
	}
	var pos int64 // position in the log: changes with seq > pos are new
	var snapshot []string
	if state == "" {
		// A full sync: the current items, then the log from now on.
		for _, id := range f.items {
			if it := st.items[id]; it != nil && !it.incomplete {
				snapshot = append(snapshot, id)
			}
		}
		pos = m.s.seq
	} else {
		gen, p, rest, ok := parseState(state)
		if !ok || gen != m.s.gen {
			return mailbox.ChangePage{}, fmt.Errorf("memory: sync state of folder %s: %w", f.name, mailbox.ErrSyncStateInvalid)
		}
		pos, snapshot = p, rest
	}
	var page mailbox.ChangePage
	for len(snapshot) > 0 && len(page.Changes) < m.s.pageSize {
		id := snapshot[0]
		snapshot = snapshot[1:]
		if it := st.items[id]; it != nil && !it.incomplete {
			page.Changes = append(page.Changes, mailbox.Change{Kind: mailbox.ChangeCreated, Item: it.meta})
		}
	}
	if len(snapshot) == 0 {
		for _, e := range st.log {
			if e.seq <= pos || e.folder != folderID {
				continue
			}
			if len(page.Changes) >= m.s.pageSize {
				page.More = true
				break
			}
			pos = e.seq
			ch := mailbox.Change{Kind: e.kind, Item: mailbox.Item{ID: e.item, FolderID: folderID}}
			if it := st.items[e.item]; it != nil {
				if it.incomplete {
					continue
				}
				ch.Item = it.meta
			} else if e.kind != mailbox.ChangeDeleted {
				continue // created and deleted since: nothing to report
			}
			page.Changes = append(page.Changes, ch)
		}
	} else {
		page.More = true
	}
	page.State = formatState(m.s.gen, pos, snapshot)
	return page, nil
}

func formatState(gen, pos int64, rest []string) string {
	return strconv.FormatInt(gen, 10) + ":" + strconv.FormatInt(pos, 10) + ":" + strings.Join(rest, ",")
}

func parseState(s string) (gen, pos int64, rest []string, ok bool) {
	parts := strings.SplitN(s, ":", 3)
	if len(parts) != 3 {
		return 0, 0, nil, false
	}
	g, err1 := strconv.ParseInt(parts[0], 10, 64)
	p, err2 := strconv.ParseInt(parts[1], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, nil, false
	}
	if parts[2] != "" {
		rest = strings.Split(parts[2], ",")
	}
	return g, p, rest, true
}

// OpenItem streams an item's body in the format it was written in.
func (m *Mailbox) OpenItem(ctx context.Context, itemID string, format mailbox.Format) (io.ReadCloser, error) {
	_, fault, err := m.lock(ctx, OpOpenItem)
	if err != nil {
		return nil, err
	}
	m.unlock()
	if fault != nil {
		return nil, fault.Err
	}
	return m.open(ctx, itemID, format)
}

// open is OpenItem without counting the call.
func (m *Mailbox) open(ctx context.Context, itemID string, format mailbox.Format) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.s.mu.Lock()
	defer m.s.mu.Unlock()
	st := m.s.mailboxes[strings.ToLower(m.address)]
	if st == nil {
		return nil, fmt.Errorf("memory: %s: %w", m.address, mailbox.ErrMailboxNotFound)
	}
	it := st.items[itemID]
	if it == nil || it.incomplete {
		return nil, m.notFound("item", itemID)
	}
	if format == mailbox.FormatFullFidelity {
		for _, p := range m.s.caps.Reader(m.storeOf(st, it), it.meta.Kind()) {
			if p.Format == mailbox.FormatFullFidelity {
				return wrapStream(p.Dialect, it)
			}
		}
	}
	if len(m.s.caps.Reader(m.storeOf(st, it), it.meta.Kind())) == 0 || format != it.format {
		return nil, fmt.Errorf("memory: read %s as %s: %w", itemID, format, mailbox.ErrUnsupported)
	}
	if it.file != "" {
		return os.Open(it.file)
	}
	return io.NopCloser(bytes.NewReader(it.body)), nil
}

// ReadBatch reads several items' content in one call (mailbox.BatchReader),
// each as OpenItem would (and counted as one), with an item's own error.
func (m *Mailbox) ReadBatch(ctx context.Context, items []mailbox.Item, format mailbox.Format, fn func(mailbox.Item, io.Reader, error) error) error {
	_, fault, err := m.lock(ctx, OpReadBatch)
	if err != nil {
		return err
	}
	m.unlock()
	if fault != nil {
		return fault.Err
	}
	for _, it := range items {
		// Each item of the batch is one read: a fault on OpOpenItem is
		// that item's error in the batch's answer.
		m.s.mu.Lock()
		f := m.s.call(OpOpenItem)
		m.s.mu.Unlock()
		var rc io.ReadCloser
		var err error
		if f != nil && f.Err != nil {
			err = f.Err
		} else {
			rc, err = m.open(ctx, it.ID, format)
		}
		if err != nil {
			if err := fn(it, nil, err); err != nil {
				return err
			}
			continue
		}
		err = fn(it, rc, nil)
		rc.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

func (m *Mailbox) storeOf(st *store, it *item) mailbox.Scope {
	if f := st.folders[it.meta.FolderID]; f != nil {
		return f.scope
	}
	return mailbox.ScopePrimary
}

// CreateItem stores the payload stamped with its source id. The body is
// read outside the service lock and spooled to a file when large. An item
// of the same stamp left incomplete by an earlier write is removed first.
func (m *Mailbox) CreateItem(ctx context.Context, folderID string, p mailbox.Payload) (string, error) {
	caps := m.s.caps
	if caps.MaxItemBytes > 0 && p.Size > caps.MaxItemBytes {
		return "", &mailbox.ItemTooLargeError{Size: p.Size, Limit: caps.MaxItemBytes}
	}
	// Check the folder and the path before reading a byte.
	m.s.mu.Lock()
	st := m.s.mailboxes[strings.ToLower(m.address)]
	var f *folder
	if st != nil {
		f = st.folders[folderID]
	}
	var scope mailbox.Scope
	if f != nil {
		scope = f.scope
	}
	m.s.mu.Unlock()
	if st == nil {
		return "", fmt.Errorf("memory: %s: %w", m.address, mailbox.ErrMailboxNotFound)
	}
	if f == nil || f.deleted {
		return "", m.notFound("folder", folderID)
	}
	kind := p.Item.Kind()
	ok := false
	for _, w := range caps.Writer(scope, kind) {
		ok = ok || (w.Format == p.Format && (p.Format != mailbox.FormatFullFidelity || w.Dialect == p.Dialect))
	}
	if !ok {
		return "", mailbox.Permanent(fmt.Errorf("memory: write a %s item as %s %s to the %s store: %w", kind, p.Format, p.Dialect, scope, mailbox.ErrUnsupported))
	}
	// Every write gets a new fingerprint, but an import keeps the one
	// its stream carries, as Exchange keeps an item's search key.
	print := ""
	imported := p.Format == mailbox.FormatFullFidelity
	if imported {
		// The stream carries the item as it was stored: store it so.
		inner, fp, err := unwrapStream(p)
		if err != nil {
			return "", err
		}
		p, print = inner, fp
	}
	it := &item{format: p.Format}
	h := sha256.New()
	var body bytes.Buffer
	var file *os.File
	var err error
	buf := make([]byte, 32<<10)
	for {
		n, rerr := p.Body.Read(buf)
		if n > 0 {
			h.Write(buf[:n])
			it.size += int64(n)
			switch {
			case file != nil:
				if _, err := file.Write(buf[:n]); err != nil {
					return "", err
				}
			case m.s.spool != "" && body.Len()+n > SpoolThreshold:
				if file, err = os.CreateTemp(m.s.spool, "item-*"); err != nil {
					return "", err
				}
				defer file.Close()
				if _, err := file.Write(body.Bytes()); err != nil {
					return "", err
				}
				body.Reset()
				if _, err := file.Write(buf[:n]); err != nil {
					return "", err
				}
			default:
				body.Write(buf[:n])
			}
			if caps.MaxItemBytes > 0 && it.size > caps.MaxItemBytes {
				return "", &mailbox.ItemTooLargeError{Size: it.size, Limit: caps.MaxItemBytes}
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return "", fmt.Errorf("memory: read the body of %s: %w", p.SourceID, rerr)
		}
		if err := ctx.Err(); err != nil {
			return "", err
		}
	}
	copy(it.digest[:], h.Sum(nil))
	it.body = body.Bytes()
	if file != nil {
		it.file = file.Name()
	}
	if p.Format == mailbox.FormatTyped && file == nil {
		if err := checkTyped(p.Item.Class, it.body); err != nil {
			return "", err
		}
	}

	st, fault, err := m.lock(ctx, OpCreateItem)
	if err != nil {
		if file != nil {
			os.Remove(file.Name())
		}
		return "", err
	}
	defer m.unlock()
	f = st.folders[folderID]
	if f == nil || f.deleted {
		return "", m.notFound("folder", folderID)
	}
	// A half-written copy of the same stamp is removed before the new one,
	// so a stamp never names two items.
	for _, id := range slices.Clone(f.items) {
		if old := st.items[id]; old != nil && old.incomplete && old.meta.SourceID == p.SourceID {
			mailbox.ReportSideWrite(ctx, mailbox.SideWrite{Action: mailbox.SideWriteDeleteIncomplete, ItemID: id, SourceID: p.SourceID, Started: true})
			m.deleteLocked(st, f, id)
			m.s.writes++
			mailbox.ReportSideWrite(ctx, mailbox.SideWrite{Action: mailbox.SideWriteDeleteIncomplete, ItemID: id, SourceID: p.SourceID})
		}
	}
	meta := p.Item
	meta.ID = m.s.nextID("i")
	meta.FolderID = folderID
	meta.ChangeKey = "ck" + strconv.FormatInt(m.s.seq, 36)
	meta.SourceID = p.SourceID
	if imported && caps.UnstampedImports {
		meta.SourceID = "" // as Graph's import: no stamp
	}
	meta.Fingerprint = print
	if meta.Fingerprint == "" {
		meta.Fingerprint = fmt.Sprintf("%x", sha256.Sum256([]byte(m.address+meta.ID)))[:32]
	}
	meta.SizeBytes = it.size
	meta.IsDraft = false
	meta.Categories = slices.Clone(meta.Categories)
	it.meta = meta
	it.incomplete = fault != nil && fault.Incomplete
	st.items[meta.ID] = it
	f.items = append(f.items, meta.ID)
	m.s.writes++
	st.log = append(st.log, event{seq: m.s.seq, folder: folderID, kind: mailbox.ChangeCreated, item: meta.ID})
	if fault != nil {
		return "", fault.Err
	}
	return meta.ID, nil
}

// CreateBatch writes several payloads into one folder in one call
// (mailbox.BatchWriter), each as CreateItem would (and counted as one, its
// faults its own). A fault on OpCreateBatch fails the whole request: before
// any write, or, with AfterWrite, after all of them (a lost answer).
func (m *Mailbox) CreateBatch(ctx context.Context, folderID string, ps []mailbox.Payload) ([]mailbox.BatchResult, error) {
	_, fault, err := m.lock(ctx, OpCreateBatch)
	if err != nil {
		out := make([]mailbox.BatchResult, len(ps))
		for i := range out {
			out[i].Err = err
		}
		return out, err
	}
	m.unlock()
	out := make([]mailbox.BatchResult, len(ps))
	for i, p := range ps {
		out[i].ID, out[i].Err = m.CreateItem(ctx, folderID, p)
	}
	if fault != nil && fault.Err != nil {
		for i := range out {
			out[i] = mailbox.BatchResult{Err: fault.Err}
		}
		return out, fault.Err
	}
	return out, nil
}

func (m *Mailbox) deleteLocked(st *store, f *folder, id string) {
	if it := st.items[id]; it != nil && it.file != "" {
		os.Remove(it.file)
	}
	delete(st.items, id)
	f.items = slices.DeleteFunc(f.items, func(x string) bool { return x == id })
	m.s.seq++
	st.log = append(st.log, event{seq: m.s.seq, folder: f.id, kind: mailbox.ChangeDeleted, item: id})
}

// FindBySourceID finds a complete item carrying the stamp in a folder.
func (m *Mailbox) FindBySourceID(ctx context.Context, folderID, sourceID string) (string, bool, error) {
	st, fault, err := m.lock(ctx, OpFindBySourceID)
	if err != nil {
		return "", false, err
	}
	defer m.unlock()
	if fault != nil {
		return "", false, fault.Err
	}
	f := st.folders[folderID]
	if f == nil || f.deleted {
		return "", false, m.notFound("folder", folderID)
	}
	for _, id := range f.items {
		if it := st.items[id]; it != nil && !it.incomplete && it.meta.SourceID == sourceID {
			return id, true, nil
		}
	}
	return "", false, nil
}

// Stamps lists a folder's complete stamped items.
func (m *Mailbox) Stamps(ctx context.Context, folderID string, fn func(mailbox.Item) error) error {
	st, _, err := m.lock(ctx, OpStamps)
	if err != nil {
		return err
	}
	f := st.folders[folderID]
	if f == nil || f.deleted {
		m.unlock()
		return m.notFound("folder", folderID)
	}
	var list []mailbox.Item
	for _, id := range f.items {
		if it := st.items[id]; it != nil && !it.incomplete && it.meta.SourceID != "" {
			list = append(list, it.meta)
		}
	}
	m.unlock()
	for _, it := range list {
		if err := fn(it); err != nil {
			return err
		}
	}
	return nil
}

// Fingerprints lists a folder's complete unstamped items that have a
// fingerprint (mailbox.Fingerprinter).
func (m *Mailbox) Fingerprints(ctx context.Context, folderID string, fn func(itemID, fingerprint string) error) error {
	st, fault, err := m.lock(ctx, OpFingerprints)
	if err != nil {
		return err
	}
	if fault != nil {
		m.unlock()
		return fault.Err
	}
	f := st.folders[folderID]
	if f == nil || f.deleted {
		m.unlock()
		return m.notFound("folder", folderID)
	}
	type print struct{ id, fp string }
	var list []print
	for _, id := range f.items {
		if it := st.items[id]; it != nil && !it.incomplete && it.meta.SourceID == "" && it.meta.Fingerprint != "" {
			list = append(list, print{id, it.meta.Fingerprint})
		}
	}
	m.unlock()
	for _, p := range list {
		if err := fn(p.id, p.fp); err != nil {
			return err
		}
	}
	return nil
}

// SetRead changes an item's read state and logs the change.
func (m *Mailbox) SetRead(ctx context.Context, itemID string, read bool) error {
	st, fault, err := m.lock(ctx, OpSetRead)
	if err != nil {
		return err
	}
	defer m.unlock()
	it := st.items[itemID]
	if it == nil || it.incomplete {
		return m.notFound("item", itemID)
	}
	if it.meta.IsRead != read {
		it.meta.IsRead = read
		m.s.seq++
		it.meta.ChangeKey = "ck" + strconv.FormatInt(m.s.seq, 36)
		kind := mailbox.ChangeUpdated
		if m.s.caps.ReadFlagChanges {
			kind = mailbox.ChangeReadFlag
		}
		st.log = append(st.log, event{seq: m.s.seq, folder: it.meta.FolderID, kind: kind, item: itemID})
		m.s.writes++
	}
	if fault != nil {
		return fault.Err
	}
	return nil
}

// UpdateItem replaces the typed body of an item written earlier, in
// place: same id, a new version, the stamp kept, one change logged.
func (m *Mailbox) UpdateItem(ctx context.Context, itemID string, p mailbox.Payload) error {
	if p.Format != mailbox.FormatTyped {
		return mailbox.Permanent(fmt.Errorf("memory: update %s as %s: %w", itemID, p.Format, mailbox.ErrUnsupported))
	}
	body, err := io.ReadAll(io.LimitReader(p.Body, SpoolThreshold+1))
	if err != nil {
		return fmt.Errorf("memory: read the update of %s: %w", itemID, err)
	}
	st, fault, err := m.lock(ctx, OpUpdateItem)
	if err != nil {
		return err
	}
	defer m.unlock()
	it := st.items[itemID]
	if it == nil || it.incomplete {
		return m.notFound("item", itemID)
	}
	if it.format != mailbox.FormatTyped {
		return mailbox.Permanent(fmt.Errorf("memory: update %s, written as %s, with a typed body: %w", itemID, it.format, mailbox.ErrUnsupported))
	}
	if err := checkTyped(it.meta.Class, body); err != nil {
		return err
	}
	if fault != nil {
		return fault.Err
	}
	it.body, it.size, it.digest = body, int64(len(body)), sha256.Sum256(body)
	it.meta.SizeBytes = it.size
	it.meta.Subject = p.Item.Subject
	m.s.seq++
	it.meta.ChangeKey = "ck" + strconv.FormatInt(m.s.seq, 36)
	st.log = append(st.log, event{seq: m.s.seq, folder: it.meta.FolderID, kind: mailbox.ChangeUpdated, item: itemID})
	m.s.writes++
	return nil
}

// DeleteItem removes an item through the contract (mailbox.Deleter), as
// a client would: a write, counted, logged as a deletion.
func (m *Mailbox) DeleteItem(ctx context.Context, itemID string) error {
	st, fault, err := m.lock(ctx, OpDeleteItem)
	if err != nil {
		return err
	}
	defer m.unlock()
	if fault != nil {
		return fault.Err
	}
	it := st.items[itemID]
	if it == nil {
		return m.notFound("item", itemID)
	}
	m.deleteLocked(st, st.folders[it.meta.FolderID], itemID)
	m.s.writes++
	return nil
}

// Delete removes an item, as its user would.
func (m *Mailbox) Delete(itemID string) error {
	m.s.mu.Lock()
	defer m.s.mu.Unlock()
	st := m.s.mailboxes[strings.ToLower(m.address)]
	if st == nil {
		return fmt.Errorf("memory: %s: %w", m.address, mailbox.ErrMailboxNotFound)
	}
	it := st.items[itemID]
	if it == nil {
		return m.notFound("item", itemID)
	}
	m.deleteLocked(st, st.folders[it.meta.FolderID], itemID)
	return nil
}

// Digest is the SHA-256 and size of an item's body, for comparisons.
func (m *Mailbox) Digest(itemID string) (sum [32]byte, size int64, ok bool) {
	m.s.mu.Lock()
	defer m.s.mu.Unlock()
	st := m.s.mailboxes[strings.ToLower(m.address)]
	if st == nil || st.items[itemID] == nil {
		return sum, 0, false
	}
	it := st.items[itemID]
	return it.digest, it.size, true
}

// FolderByPath returns the id of a folder of a store by path; "" is the root.
func (m *Mailbox) FolderByPath(scope mailbox.Scope, path string) (string, bool) {
	m.s.mu.Lock()
	defer m.s.mu.Unlock()
	st := m.s.mailboxes[strings.ToLower(m.address)]
	if st == nil {
		return "", false
	}
	for id, f := range st.folders {
		if f.scope == scope && !f.deleted && st.pathOf(id) == path {
			return id, true
		}
	}
	return "", false
}

// Seed writes an item straight into a folder, bypassing faults and
// capability checks, with the metadata as given (a source's content).
func (m *Mailbox) Seed(folderID string, meta mailbox.Item, body []byte) string {
	m.s.mu.Lock()
	defer m.s.mu.Unlock()
	st := m.s.mailboxes[strings.ToLower(m.address)]
	f := st.folders[folderID]
	meta.ID = m.s.nextID("i")
	meta.FolderID = folderID
	meta.SizeBytes = int64(len(body))
	if meta.Fingerprint == "" {
		meta.Fingerprint = fmt.Sprintf("%x", sha256.Sum256([]byte(m.address+meta.ID)))[:32]
	}
	it := &item{meta: meta, format: mailbox.FormatMIME, body: slices.Clone(body), size: int64(len(body)), digest: sha256.Sum256(body)}
	st.items[meta.ID] = it
	f.items = append(f.items, meta.ID)
	st.log = append(st.log, event{seq: m.s.seq, folder: folderID, kind: mailbox.ChangeCreated, item: meta.ID})
	return meta.ID
}

// stream is the memory backend's full-fidelity stream: the item's stored
// format and body, and the dialect of the side that exported it.
type stream struct {
	Dialect     string         `json:"dialect"`
	Format      mailbox.Format `json:"format"`
	Body        []byte         `json:"body"`
	Fingerprint string         `json:"fingerprint,omitempty"`
}

func wrapStream(dialect string, it *item) (io.ReadCloser, error) {
	body := it.body
	if it.file != "" {
		var err error
		if body, err = os.ReadFile(it.file); err != nil {
			return nil, err
		}
	}
	data, err := json.Marshal(stream{Dialect: dialect, Format: it.format, Body: body, Fingerprint: it.meta.Fingerprint})
	if err != nil {
		return nil, err
	}
	return io.NopCloser(bytes.NewReader(data)), nil
}

// unwrapStream reads a stream written by wrapStream, and the fingerprint
// it carries; a stream of another dialect than the payload says, or no
// stream at all, is refused.
func unwrapStream(p mailbox.Payload) (mailbox.Payload, string, error) {
	data, err := io.ReadAll(p.Body)
	if err != nil {
		return p, "", fmt.Errorf("memory: read the stream of %s: %w", p.SourceID, err)
	}
	var s stream
	if err := json.Unmarshal(data, &s); err != nil || s.Dialect != p.Dialect || s.Format == "" || s.Format == mailbox.FormatFullFidelity {
		return p, "", mailbox.Permanent(fmt.Errorf("memory: not a %s stream: %w", p.Dialect, mailbox.ErrItemRejected))
	}
	p.Format, p.Body, p.Size = s.Format, bytes.NewReader(s.Body), int64(len(s.Body))
	return p, s.Fingerprint, nil
}
