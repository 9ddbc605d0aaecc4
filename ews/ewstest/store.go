package ewstest

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"mime"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/exmigrate/exmigrate/mailbox"
)

type account struct {
	domain, user, password string
	impersonation          bool
	mailbox                string // the account's own mailbox, if any
	fullAccess             map[string]bool
	ediscovery             bool
}

type mbox struct {
	address, display string
	typ              string // EWS MailboxType
	roots            map[string]*folder
	archive          bool
	rules            []mailbox.Rule
	ruleBlob         bool // OutlookRuleBlobExists: Outlook keeps client-only rules
	delegates        []mailbox.Delegate
	deliverMeetings  string
	syncEpoch        int
	moving           bool
	quota            int64 // bytes; 0 = unlimited
	used             int64
}

type folder struct {
	id            string
	mb            *mbox // nil for public folders
	parent        *folder
	name, class   string
	distinguished string
	hidden        bool
	children      []*folder
	items         []*item
	tombs         []tomb
	created       int64
	updated       int64
	perms         []Permission // nil: Default and Anonymous at None
	permErr       string       // FailPermissions
	// replica is a public folder's content mailbox GUID, answered as
	// PR_REPLICA_LIST (0x6698); "" answers none (SetContentMailbox).
	replica string
}

type tomb struct {
	id      string
	seq     int64
	created int64
}

type item struct {
	id              string
	f               *folder
	class           string
	subject         string
	msgID           string
	size            int64
	received, sent  time.Time
	isRead, isDraft bool
	importance      string
	categories      []string
	mime            []byte
	open            func() (io.ReadCloser, error)
	streamKey       string                // names open for snapshots
	derived         *mimeProps            // what Exchange derives from the MIME; computed on first use
	contact         *contactData          // a contact CreateItem wrote from its properties
	event           *mailbox.Event        // a calendar item written from its properties (replaced, never changed in place)
	task            *mailbox.Task         // a task written from its properties (replaced, never changed in place)
	group           *mailbox.ContactGroup // a contact group written from its properties (replaced, never changed in place)
	master          *item                 // for the stand-in of an occurrence: its series
	originalStart   time.Time             // for the stand-in of an occurrence: its original start
	ext             map[string]string     // "0x0e07" or "setid|name" -> value
	created         int64
	updated         int64
	readChanged     int64
}

func (it *item) changeKey() string {
	return base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "CQAAABYAAA%d", it.updated))
}

// Item is an item to seed into a folder. MIME holds small content; Open
// (with Size) serves big content without the fake holding it.
type Item struct {
	MIME              []byte
	Open              func() (io.ReadCloser, error)
	Size              int64
	Class             string // default IPM.Note
	Subject           string
	InternetMessageID string
	Received, Sent    time.Time
	IsRead            bool
	IsDraft           bool
	SourceID          string
	Importance        string   // Low, Normal (default), High
	Categories        []string // t:Categories
	// Flag is the follow-up flag: "" or NotFlagged, Flagged, Complete
	// (stored as PR_FLAG_STATUS 0x1090, as Exchange does).
	Flag string
	// StreamKey names the content of Open for Snapshot, which keeps the
	// key instead of the bytes; Restore asks its stream resolver for it.
	StreamKey string
	// SearchKey is the item's PR_SEARCH_KEY in hex, for a test that pins
	// it; empty (or not hex) gives the item 16 random bytes, as Exchange
	// gives every new item its own.
	SearchKey string
}

// StoredItem is what inspection helpers report about an item.
type StoredItem struct {
	ID                string
	Class             string
	Subject           string
	InternetMessageID string
	Size              int64
	Received, Sent    time.Time
	IsRead            bool
	IsDraft           bool
	SourceID          string
	MessageFlags      string // PR_MESSAGE_FLAGS as written, "" when never set
	Importance        string
	Categories        []string
	Flag              string // NotFlagged, Flagged or Complete, from PR_FLAG_STATUS
	MIME              []byte
}

func (x *item) stored() StoredItem {
	flag := "NotFlagged"
	switch x.ext["0x1090"] {
	case "1":
		flag = "Complete"
	case "2":
		flag = "Flagged"
	}
	return StoredItem{ID: x.id, Class: x.class, Subject: x.subject, InternetMessageID: x.msgID,
		Size: x.size, Received: x.received, Sent: x.sent, IsRead: x.isRead, IsDraft: x.isDraft,
		SourceID: x.ext[sourceKey], MessageFlags: x.ext["0x0e07"], Importance: x.importance,
		Categories: slices.Clone(x.categories), Flag: flag, MIME: x.mime}
}

// MailboxFixture seeds and inspects one mailbox.
type MailboxFixture struct {
	s  *Server
	mb *mbox
}

// FolderFixture seeds and inspects one folder.
type FolderFixture struct {
	s *Server
	f *folder
}

func (s *Server) nextSeq() int64 { s.seq++; return s.seq }

func (s *Server) newID(kind string, owner string) string {
	s.idn++
	raw := fmt.Sprintf("AAMkAD%s|%s|%08d|%s", kind, owner, s.idn, strings.Repeat("A", 24))
	return base64.StdEncoding.EncodeToString([]byte(raw))
}

func (s *Server) newFolder(mb *mbox, parent *folder, name, class, dist string) *folder {
	owner := "public"
	if mb != nil {
		owner = mb.address
	}
	seq := s.nextSeq()
	f := &folder{id: s.newID("F", owner), mb: mb, parent: parent, name: name, class: class, distinguished: dist, created: seq, updated: seq}
	if parent != nil {
		parent.children = append(parent.children, f)
		parent.updated = seq
	}
	s.folders[f.id] = f
	if dist != "" && mb != nil {
		mb.roots[dist] = f
	}
	return f
}

// well-known folders of a new mailbox: distinguished id, display name, class.
var standardFolders = [][3]string{
	{"inbox", "Inbox", "IPF.Note"}, {"sentitems", "Sent Items", "IPF.Note"},
	{"deleteditems", "Deleted Items", "IPF.Note"}, {"drafts", "Drafts", "IPF.Note"},
	{"junkemail", "Junk Email", "IPF.Note"}, {"outbox", "Outbox", "IPF.Note"},
	{"calendar", "Calendar", "IPF.Appointment"}, {"contacts", "Contacts", "IPF.Contact"},
	{"tasks", "Tasks", "IPF.Task"}, {"notes", "Notes", "IPF.StickyNote"},
	{"journal", "Journal", "IPF.Journal"},
}

// AddMailbox creates a user mailbox with the standard folders and its
// recoverable items folders.
func (s *Server) AddMailbox(address string) *MailboxFixture {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := strings.ToLower(address)
	if mb, ok := s.mailboxes[key]; ok {
		return &MailboxFixture{s: s, mb: mb}
	}
	local, _, _ := strings.Cut(address, "@")
	mb := &mbox{address: address, display: local, typ: "Mailbox", roots: map[string]*folder{}, deliverMeetings: "DelegatesAndSendInformationToMe"}
	s.mailboxes[key] = mb
	root := s.newFolder(mb, nil, "Root", "", "root")
	top := s.newFolder(mb, root, "Top of Information Store", "IPF.Note", "msgfolderroot")
	for _, sf := range standardFolders {
		s.newFolder(mb, top, sf[1], sf[2], sf[0])
	}
	rec := s.newFolder(mb, root, "Recoverable Items", "", "recoverableitemsroot")
	for _, r := range [][2]string{{"recoverableitemsdeletions", "Deletions"}, {"recoverableitemspurges", "Purges"},
		{"recoverableitemsversions", "Versions"}, {"recoverableitemsdiscoveryholds", "DiscoveryHolds"}} {
		s.newFolder(mb, rec, r[1], "", r[0])
	}
	return &MailboxFixture{s: s, mb: mb}
}

// SetDisplayName sets the name ResolveNames returns.
func (m *MailboxFixture) SetDisplayName(name string) {
	m.s.mu.Lock()
	m.mb.display = name
	m.s.mu.Unlock()
}

// SetType sets the EWS MailboxType ResolveNames reports (Mailbox, GroupMailbox ...).
func (m *MailboxFixture) SetType(t string) { m.s.mu.Lock(); m.mb.typ = t; m.s.mu.Unlock() }

// EnableArchive gives the mailbox an online archive.
func (m *MailboxFixture) EnableArchive() {
	m.s.mu.Lock()
	defer m.s.mu.Unlock()
	m.enableArchiveLocked()
}

func (m *MailboxFixture) enableArchiveLocked() {
	if m.mb.archive {
		return
	}
	m.mb.archive = true
	s := m.s
	root := s.newFolder(m.mb, nil, "Archive Root", "", "archiveroot")
	top := s.newFolder(m.mb, root, "Top of Information Store", "IPF.Note", "archivemsgfolderroot")
	s.newFolder(m.mb, top, "Inbox", "IPF.Note", "archiveinbox")
	s.newFolder(m.mb, top, "Deleted Items", "IPF.Note", "archivedeleteditems")
	rec := s.newFolder(m.mb, root, "Recoverable Items", "", "archiverecoverableitemsroot")
	s.newFolder(m.mb, rec, "Deletions", "", "archiverecoverableitemsdeletions")
}

// Folder returns the folder at path below the top of the primary tree
// (e.g. "Inbox/Projects/2024"), creating missing levels as mail folders.
func (m *MailboxFixture) Folder(path string) *FolderFixture {
	return m.folderUnder("msgfolderroot", path)
}

// ArchiveFolder is Folder for the archive (enabling it when needed).
func (m *MailboxFixture) ArchiveFolder(path string) *FolderFixture {
	m.s.mu.Lock()
	m.enableArchiveLocked()
	m.s.mu.Unlock()
	return m.folderUnder("archivemsgfolderroot", path)
}

// RecoverableFolder is Folder for the recoverable items tree ("Deletions", "Purges" ...).
func (m *MailboxFixture) RecoverableFolder(path string) *FolderFixture {
	return m.folderUnder("recoverableitemsroot", path)
}

func (m *MailboxFixture) folderUnder(root, path string) *FolderFixture {
	m.s.mu.Lock()
	defer m.s.mu.Unlock()
	f := m.mb.roots[root]
	return &FolderFixture{s: m.s, f: m.s.walk(m.mb, f, path)}
}

func (s *Server) walk(mb *mbox, f *folder, path string) *folder {
	return s.walkTo(mb, f, path, true)
}

// walkTo follows path below f; a missing level is created when create is
// set, else the answer is nil.
func (s *Server) walkTo(mb *mbox, f *folder, path string, create bool) *folder {
	if path == "" {
		return f
	}
	for _, name := range strings.Split(path, "/") {
		var next *folder
		for _, c := range f.children {
			if strings.EqualFold(c.name, name) {
				next = c
			}
		}
		if next == nil && !create {
			return nil
		}
		if next == nil {
			class := f.class
			if class == "" {
				class = "IPF.Note"
			}
			next = s.newFolder(mb, f, name, class, "")
		}
		f = next
	}
	return f
}

// PublicFolder returns the public folder at path, creating missing levels.
func (s *Server) PublicFolder(path string) *FolderFixture {
	s.mu.Lock()
	defer s.mu.Unlock()
	return &FolderFixture{s: s, f: s.walk(nil, s.publicRoot, path)}
}

// ID is the folder's EWS id.
func (f *FolderFixture) ID() string { return f.f.id }

// SetClass sets the folder class (IPF.Appointment ...).
func (f *FolderFixture) SetClass(class string) { f.s.mu.Lock(); f.f.class = class; f.s.mu.Unlock() }

// SetContentMailbox makes guid (a mailbox GUID, 8-4-4-4-12 hex) the
// public folder's content mailbox: PR_REPLICA_LIST answers it, folders
// created under the folder get it, and content requests about the folder
// whose routing headers name another mailbox count in
// PublicFolderRouteMisses. A folder without one answers no
// PR_REPLICA_LIST (the fake's default, as a lab's single-mailbox
// deployment is served).
func (f *FolderFixture) SetContentMailbox(guid string) {
	f.s.mu.Lock()
	f.f.replica = strings.ToLower(guid)
	f.s.mu.Unlock()
}

// SetHidden sets PR_ATTR_HIDDEN.
func (f *FolderFixture) SetHidden(h bool) { f.s.mu.Lock(); f.f.hidden = h; f.s.mu.Unlock() }

// AddItem seeds an item and returns its id.
func (f *FolderFixture) AddItem(it Item) string {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	return f.s.addItem(f.f, it).id
}

func (s *Server) addItem(f *folder, it Item) *item {
	seq := s.nextSeq()
	owner := "public"
	if f.mb != nil {
		owner = f.mb.address
	}
	x := &item{id: s.newID("I", owner), f: f, class: it.Class, subject: it.Subject, msgID: it.InternetMessageID,
		received: it.Received.UTC(), sent: it.Sent.UTC(), isRead: it.IsRead, isDraft: it.IsDraft, importance: "Normal",
		categories: it.Categories, mime: it.MIME, open: it.Open, streamKey: it.StreamKey, size: it.Size, ext: map[string]string{}, created: seq, updated: seq}
	if it.Importance != "" {
		x.importance = it.Importance
	}
	switch it.Flag {
	case "Flagged":
		x.ext["0x1090"] = "2"
	case "Complete":
		x.ext["0x1090"] = "1"
	}
	if x.class == "" {
		x.class = "IPM.Note"
	}
	if x.size == 0 {
		x.size = int64(len(it.MIME))
	}
	if x.received.IsZero() {
		x.received = time.Now().UTC().Truncate(time.Second)
	}
	if x.subject == "" || x.msgID == "" {
		subj, mid := headersOf(it.MIME)
		if x.subject == "" {
			x.subject = subj
		}
		if x.msgID == "" {
			x.msgID = mid
		}
	}
	if it.SourceID != "" {
		x.ext[sourceKey] = it.SourceID
	}
	x.ext[searchKeyTag] = newSearchKey()
	if raw, err := hex.DecodeString(it.SearchKey); err == nil && len(raw) > 0 {
		x.ext[searchKeyTag] = base64.StdEncoding.EncodeToString(raw)
	}
	f.items = append(f.items, x)
	s.items[x.id] = x
	if f.mb != nil {
		f.mb.used += x.size
	}
	return x
}

var sourceKey = strings.ToLower(mailbox.SourceIDPropertySet) + "|" + mailbox.SourceIDPropertyName

// searchKeyTag is PR_SEARCH_KEY (0x300B, Binary) in an item's ext, held as
// its wire form (base64). Exchange gives every new message one (16 bytes
// here) and keeps it when it copies an item whole, so a full-fidelity
// import keeps it and every other write gets a new one.
const searchKeyTag = "0x300b"

func newSearchKey() string {
	b := make([]byte, 16)
	rand.Read(b) // never fails (crypto/rand)
	return base64.StdEncoding.EncodeToString(b)
}

// SearchKey is the item's PR_SEARCH_KEY in lowercase hex, as
// Item.Fingerprint spells it; "" when the fake holds no item of that id.
func (s *Server) SearchKey(itemID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if x := s.items[itemID]; x != nil {
		return searchKeyHex(x.ext[searchKeyTag])
	}
	return ""
}

func searchKeyHex(b64 string) string {
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return ""
	}
	return hex.EncodeToString(raw)
}

// headersOf pulls Subject and Message-ID from the header block of MIME.
func headersOf(raw []byte) (subject, msgID string) {
	hdr, _, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
	// Unfold continuation lines, then decode RFC 2047 words in the subject
	// as Exchange does when it stores a message.
	var lines []string
	for _, line := range strings.Split(string(hdr), "\n") {
		line = strings.TrimRight(line, "\r")
		if len(lines) > 0 && (strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t")) {
			lines[len(lines)-1] += " " + strings.TrimSpace(line)
			continue
		}
		lines = append(lines, line)
	}
	for _, line := range lines {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch strings.ToLower(k) {
		case "subject":
			subject = strings.TrimSpace(v)
			if d, err := new(mime.WordDecoder).DecodeHeader(subject); err == nil {
				subject = d
			}
		case "message-id":
			msgID = strings.TrimSpace(v)
		}
	}
	return subject, msgID
}

// Items lists the folder's items in order, with their exmigrate stamps.
func (f *FolderFixture) Items() []StoredItem {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	out := make([]StoredItem, 0, len(f.f.items))
	for _, x := range f.f.items {
		out = append(out, x.stored())
	}
	return out
}

// Child returns the child folder with that display name, or nil.
func (f *FolderFixture) Child(name string) *FolderFixture {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	for _, c := range f.f.children {
		if strings.EqualFold(c.name, name) {
			return &FolderFixture{s: f.s, f: c}
		}
	}
	return nil
}

// DeleteItem removes an item, leaving a tombstone for sync.
func (f *FolderFixture) DeleteItem(id string) {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	for i, x := range f.f.items {
		if x.id == id {
			f.f.items = append(f.f.items[:i], f.f.items[i+1:]...)
			delete(f.s.items, id)
			if f.f.mb != nil {
				f.f.mb.used -= x.size
			}
			f.f.tombs = append(f.f.tombs, tomb{id: id, seq: f.s.nextSeq(), created: x.created})
			return
		}
	}
}

// SetRead changes an item's read state as a user would.
func (f *FolderFixture) SetRead(id string, read bool) {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	if x := f.s.items[id]; x != nil {
		x.isRead = read
		x.readChanged = f.s.nextSeq()
	}
}

// SetSubject changes an item's subject (an update for sync).
func (f *FolderFixture) SetSubject(id, subject string) {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	if x := f.s.items[id]; x != nil {
		x.subject = subject
		x.updated = f.s.nextSeq()
	}
}

// SetRules sets the inbox rules GetInboxRules returns.
func (m *MailboxFixture) SetRules(rules []mailbox.Rule) {
	m.s.mu.Lock()
	m.mb.rules = rules
	m.s.mu.Unlock()
}

// SetClientOnlyRules makes GetInboxRules answer OutlookRuleBlobExists true:
// Outlook keeps rules in the mailbox that no API can read.
func (m *MailboxFixture) SetClientOnlyRules(exist bool) {
	m.s.mu.Lock()
	m.mb.ruleBlob = exist
	m.s.mu.Unlock()
}

// SetDelegates sets the delegates GetDelegate returns.
func (m *MailboxFixture) SetDelegates(d []mailbox.Delegate, deliverMeetingRequests string) {
	m.s.mu.Lock()
	defer m.s.mu.Unlock()
	m.mb.delegates = d
	if deliverMeetingRequests != "" {
		m.mb.deliverMeetings = deliverMeetingRequests
	}
}

// InvalidateSyncStates makes every sync state handed out so far invalid
// (ErrorInvalidSyncStateData), as after a mailbox move.
func (m *MailboxFixture) InvalidateSyncStates() { m.s.mu.Lock(); m.mb.syncEpoch++; m.s.mu.Unlock() }

// SetMoveInProgress makes every request on the mailbox fail with ErrorMailboxMoveInProgress.
func (m *MailboxFixture) SetMoveInProgress(b bool) { m.s.mu.Lock(); m.mb.moving = b; m.s.mu.Unlock() }

// SetQuota sets the mailbox size limit in bytes (0 = none); CreateItem over it fails with ErrorQuotaExceeded.
func (m *MailboxFixture) SetQuota(bytes int64) { m.s.mu.Lock(); m.mb.quota = bytes; m.s.mu.Unlock() }

// Root returns a fixture for a distinguished folder (inbox, msgfolderroot, archivemsgfolderroot ...).
func (m *MailboxFixture) Root(distinguished string) *FolderFixture {
	m.s.mu.Lock()
	defer m.s.mu.Unlock()
	f := m.mb.roots[distinguished]
	if f == nil {
		return nil
	}
	return &FolderFixture{s: m.s, f: f}
}

// hold is an In-Place hold.
type hold struct {
	h         mailbox.Hold
	mailboxes []string
}

// AddHold places an In-Place hold (a discovery search with a hold) on mailboxes.
func (s *Server) AddHold(h mailbox.Hold, mailboxes ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.holds = append(s.holds, hold{h: h, mailboxes: mailboxes})
}

// descendants lists f's subtree below f, depth first.
func descendants(f *folder) []*folder {
	var out []*folder
	var walk func(*folder)
	walk = func(p *folder) {
		kids := append([]*folder(nil), p.children...)
		sort.SliceStable(kids, func(i, j int) bool { return kids[i].created < kids[j].created })
		for _, c := range kids {
			out = append(out, c)
			walk(c)
		}
	}
	walk(f)
	return out
}

func (f *folder) size() int64 {
	var n int64
	for _, it := range f.items {
		n += it.size
	}
	return n
}

// EachItem calls fn with every item of the server (mailboxes and public
// folders), in the order they were created.
func (s *Server) EachItem(fn func(StoredItem)) {
	s.mu.Lock()
	all := make([]*item, 0, len(s.items))
	for _, x := range s.items {
		all = append(all, x)
	}
	s.mu.Unlock()
	sort.Slice(all, func(i, j int) bool { return all[i].created < all[j].created })
	for _, x := range all {
		s.mu.Lock()
		si := x.stored()
		s.mu.Unlock()
		fn(si)
	}
}
