package graphtest

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/exmigrate/exmigrate/mailbox"
)

// Message is a message as the fake stores it. Fixtures seed it and tests
// inspect it.
type Message struct {
	ID                string
	FolderID          string
	Subject           string
	BodyType          string // text or html
	Body              string
	From              string
	To, Cc, Bcc       []string
	Importance        string // low, normal, high
	Categories        []string
	FlagStatus        string // notFlagged, flagged, complete
	InternetMessageID string
	Headers           map[string]string // internetMessageHeaders (x- headers set at creation)
	IsRead            bool
	IsDraft           bool
	Received, Sent    time.Time
	Created, Modified time.Time
	// ExtendedProperties are the singleValueExtendedProperties by id, as the
	// client wrote them (e.g. "Integer 0x0E07" -> "1").
	ExtendedProperties map[string]string
	// MultiValueExtendedProperties are the multiValueExtendedProperties
	// by id (e.g. "StringArray {guid} Name Tags" -> ["a", "b"]).
	MultiValueExtendedProperties map[string][]string `json:",omitempty"`
	Attachments                  []Attachment
	// MIME is returned by $value when set; otherwise a MIME rendering of
	// the fields is.
	MIME []byte
	// MeetingMessageType marks a meeting message the fake sent
	// (meetingRequest, meetingCancelled): it is served as an eventMessage.
	MeetingMessageType string `json:",omitempty"`
	// SearchKey is PR_SEARCH_KEY (searchkey.go); a fixture may set it,
	// else the fake makes one.
	SearchKey []byte `json:",omitempty"`

	changeKey  int64
	seq        int64 // change sequence for delta
	createdSeq int64 // the sequence at which it came into its folder: delta's created or updated
}

// Attachment is a file attachment as the fake stores it.
type Attachment struct {
	ID          string
	Name        string
	ContentType string
	Size        int64
	IsInline    bool
	ContentID   string
	Data        []byte   // nil for uploads when the server keeps digests only
	SHA256      [32]byte // of the content
}

// Rule is a messageRule as JSON (the wire shape), as the fake stores it.
type Rule map[string]any

type folder struct {
	id, parentID, name string
	wellKnown          string
	hidden             bool
	class              string
	children           []string
	created            int64
}

type tombstone struct {
	id  string
	seq int64
}

type mbox struct {
	address  string
	typ      mailbox.MailboxType
	rootID   string
	folders  map[string]*folder
	messages map[string]*Message
	removed  map[string][]tombstone // by folder id
	rules    []Rule
	// The contacts tree: the default Contacts folder and the folders and
	// contacts under it, apart from the mail folders as in Graph.
	contactsRootID string
	cfolders       map[string]*contactFolder
	contacts       map[string]*Contact
	cremoved       map[string][]tombstone // by contact folder id
	// Calendars and their events (calendar.go).
	calendars   map[string]*calendarFolder
	calOrder    []string
	defCalendar string
	events      map[string]*calEvent
	evRemoved   map[string][]tombstone // by calendar id
	// To Do lists and tasks (todo.go).
	todoLists   map[string]*todoList
	todoOrder   []string
	defTodo     string
	tasks       map[string]*todoTask
	taskRemoved map[string][]tombstone // by list id
	maxInFlight int
	inFlight    int
	// archive marks the archive of a user (archive.go); archiveBox is a
	// user's archive, nil without one.
	archive    bool
	archiveBox *mbox
	// Auxiliary archives (archive.go): aux are a main archive's, auxOf
	// and auxN an auxiliary's main and number; expanded maps a main
	// archive's folder (import/export id) to the auxiliary holding its
	// content, expandedFrom an auxiliary's view of that folder id to its
	// own folder.
	aux          []*mbox
	auxOf        *mbox
	auxN         int
	expanded     map[string]*mbox
	expandedFrom map[string]string
	// MaxSendSize and MaxReceiveSize of the mailbox; 0 is Exchange
	// Online's default.
	maxSend, maxReceive int64
}

// Exchange Online's message size limits: 35 MB to send and 36 MB to receive
// by default, at most 150 MB (learn.microsoft.com/graph/api/
// attachment-createuploadsession: "By default, this message size limit is
// 35 MB"; learn.microsoft.com/office365/servicedescriptions/
// exchange-online-service-description/exchange-online-limits#message-limits).
const (
	DefaultMaxSendSize    int64 = 35 << 20
	DefaultMaxReceiveSize int64 = 36 << 20
	MaxMessageSizeLimit   int64 = 150 << 20
)

// messageSizeLimit is the largest message the mailbox takes. A message
// written into it through Graph is both sent by the app and received by
// the mailbox, so the smaller limit applies (which one Exchange applies
// is not documented).
func (mb *mbox) messageSizeLimit() int64 {
	send, recv := mb.maxSend, mb.maxReceive
	if send <= 0 {
		send = DefaultMaxSendSize
	}
	if recv <= 0 {
		recv = DefaultMaxReceiveSize
	}
	return min(send, recv)
}

var defaultFolders = []struct{ name, wk string }{
	{"Inbox", "inbox"},
	{"Drafts", "drafts"},
	{"Sent Items", "sentitems"},
	{"Deleted Items", "deleteditems"},
	{"Junk Email", "junkemail"},
	{"Outbox", "outbox"},
	{"Archive", "archive"},
	{"Conversation History", "conversationhistory"},
}

func newMbox(s *Server, address string, typ mailbox.MailboxType) *mbox {
	mb := &mbox{address: address, typ: typ, folders: map[string]*folder{}, messages: map[string]*Message{}, removed: map[string][]tombstone{}}
	root := &folder{id: s.nextID("AAMkF"), name: "Top of Information Store", wellKnown: "msgfolderroot"}
	mb.rootID = root.id
	mb.folders[root.id] = root
	for _, d := range defaultFolders {
		f := &folder{id: s.nextID("AAMkF"), parentID: root.id, name: d.name, wellKnown: d.wk, class: mailbox.ClassMailFolder}
		mb.folders[f.id] = f
		root.children = append(root.children, f.id)
	}
	// A hidden system folder, as every real mailbox has a few.
	h := &folder{id: s.nextID("AAMkF"), parentID: root.id, name: "Sync Issues", wellKnown: "syncissues", hidden: true, class: mailbox.ClassMailFolder}
	mb.folders[h.id] = h
	root.children = append(root.children, h.id)
	mb.initRecoverable(s)
	mb.initContacts(s)
	mb.initCalendar(s)
	mb.initTodo(s)
	return mb
}

// initContacts gives the mailbox its default Contacts folder, empty.
func (mb *mbox) initContacts(s *Server) {
	root := &contactFolder{id: s.nextID("AAMkCF"), name: "Contacts"}
	mb.contactsRootID = root.id
	mb.cfolders = map[string]*contactFolder{root.id: root}
	mb.contacts = map[string]*Contact{}
	mb.cremoved = map[string][]tombstone{}
}

// resolveFolder accepts a folder id or a well-known name.
func (mb *mbox) resolveFolder(idOrName string) *folder {
	if f := mb.folders[idOrName]; f != nil {
		return f
	}
	wk := strings.ToLower(idOrName)
	if wk == recoverableRootName {
		return nil // the fake's marker, no Graph name (recoverable.go)
	}
	for _, f := range mb.folders {
		if f.wellKnown == wk {
			return f
		}
	}
	return nil
}

func (mb *mbox) childByName(parent *folder, name string) *folder {
	for _, id := range parent.children {
		if c := mb.folders[id]; c != nil && strings.EqualFold(c.name, name) {
			return c
		}
	}
	return nil
}

func (mb *mbox) folderCounts(f *folder) (total, unread int) {
	for _, m := range mb.messages {
		if m.FolderID == f.id {
			total++
			if !m.IsRead {
				unread++
			}
		}
	}
	return
}

func (mb *mbox) folderMessages(fid string) []*Message {
	return bySeq(mb.messages, func(m *Message) bool { return m.FolderID == fid }, func(m *Message) int64 { return m.seq })
}

// ---------------------------------------------------------------- fixture

// MailboxFixture seeds and inspects one mailbox of the fake.
type MailboxFixture struct {
	s  *Server
	mb *mbox
}

// Address is the mailbox's SMTP address.
func (f *MailboxFixture) Address() string { return f.mb.address }

// RootID is the id of msgfolderroot.
func (f *MailboxFixture) RootID() string { return f.mb.rootID }

// Folder returns the id of the folder at path ("Inbox/Projects/2024"),
// creating missing folders. Top-level names match the default folders'
// display names.
func (f *MailboxFixture) Folder(path string) string {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	return f.folderLocked(path, false)
}

// HiddenFolder is Folder, but the last folder created is hidden.
func (f *MailboxFixture) HiddenFolder(path string) string {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	return f.folderLocked(path, true)
}

func (f *MailboxFixture) folderLocked(path string, hidden bool) string {
	cur := f.mb.folders[f.mb.rootID]
	if path == "" {
		return cur.id
	}
	for _, name := range strings.Split(path, "/") {
		c := f.mb.childByName(cur, name)
		if c == nil {
			c = &folder{id: f.s.nextID("AAMkF"), parentID: cur.id, name: name, class: mailbox.ClassMailFolder, hidden: hidden}
			f.mb.folders[c.id] = c
			cur.children = append(cur.children, c.id)
		}
		cur = c
	}
	return cur.id
}

// FolderID returns the id of the folder at path, or "" when it is missing.
func (f *MailboxFixture) FolderID(path string) string {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	cur := f.mb.folders[f.mb.rootID]
	if path == "" {
		return cur.id
	}
	for _, name := range strings.Split(path, "/") {
		if cur = f.mb.childByName(cur, name); cur == nil {
			return ""
		}
	}
	return cur.id
}

// FolderClass returns the container class recorded for a folder id.
func (f *MailboxFixture) FolderClass(id string) string {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	if fo := f.mb.folders[id]; fo != nil {
		return fo.class
	}
	return ""
}

// AddMessage stores m in the folder at path (created if missing) and
// returns its id. Zero dates become now; an empty BodyType is text.
func (f *MailboxFixture) AddMessage(path string, m Message) string {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	return f.addMessageLocked(f.folderLocked(path, false), m)
}

// addMessageLocked stores a copy of m in the folder fid, with the defaults
// AddMessage gives; the server's lock is held.
func (f *MailboxFixture) addMessageLocked(fid string, m Message) string {
	mm := m
	mm.ID = f.s.nextID("AAMkM")
	mm.FolderID = fid
	now := time.Now().UTC()
	for _, t := range []*time.Time{&mm.Received, &mm.Sent, &mm.Created, &mm.Modified} {
		if t.IsZero() {
			*t = now
		}
	}
	if mm.BodyType == "" {
		mm.BodyType = "text"
	}
	if mm.Importance == "" {
		mm.Importance = "normal"
	}
	if mm.FlagStatus == "" {
		mm.FlagStatus = "notFlagged"
	}
	mm.ExtendedProperties = maps.Clone(m.ExtendedProperties)
	mm.Attachments = slices.Clone(m.Attachments)
	mm.MultiValueExtendedProperties = cloneMulti(m.MultiValueExtendedProperties)
	mm.SearchKey = slices.Clone(m.SearchKey)
	ensureSearchKey(&mm.SearchKey)
	f.s.seq++
	mm.seq, mm.createdSeq = f.s.seq, f.s.seq
	mm.changeKey = 1
	f.mb.messages[mm.ID] = &mm
	return mm.ID
}

// SetMessageSizeLimits sets the mailbox's MaxSendSize and MaxReceiveSize
// in bytes, as Set-Mailbox does: each from 1 byte to 150 MB. Messages
// created, attachments added and upload sessions begun that take a message
// over the smaller of the two are refused with 400 ErrorMessageSizeExceeded.
func (f *MailboxFixture) SetMessageSizeLimits(maxSend, maxReceive int64) error {
	for _, l := range []struct {
		name string
		n    int64
	}{{"MaxSendSize", maxSend}, {"MaxReceiveSize", maxReceive}} {
		if l.n < 1 || l.n > MaxMessageSizeLimit {
			return fmt.Errorf("graphtest: %s %d of %s is out of range: use 1 byte to 150 MB (%d bytes)", l.name, l.n, f.mb.address, MaxMessageSizeLimit)
		}
	}
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	f.mb.maxSend, f.mb.maxReceive = maxSend, maxReceive
	return nil
}

// MessageSizeLimits returns the mailbox's MaxSendSize and MaxReceiveSize.
func (f *MailboxFixture) MessageSizeLimits() (maxSend, maxReceive int64) {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	send, recv := f.mb.maxSend, f.mb.maxReceive
	if send <= 0 {
		send = DefaultMaxSendSize
	}
	if recv <= 0 {
		recv = DefaultMaxReceiveSize
	}
	return send, recv
}

func cloneMulti(m map[string][]string) map[string][]string {
	if m == nil {
		return nil
	}
	out := make(map[string][]string, len(m))
	for k, v := range m {
		out[k] = slices.Clone(v)
	}
	return out
}

// UpdateMessage changes a stored message (a change the next delta reports).
func (f *MailboxFixture) UpdateMessage(id string, change func(*Message)) bool {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	m := f.mb.messages[id]
	if m == nil {
		return false
	}
	change(m)
	f.s.touch(m)
	return true
}

// DeleteMessage removes a message (the next delta reports it as @removed).
func (f *MailboxFixture) DeleteMessage(id string) bool {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	return f.s.deleteLocked(f.mb, id)
}

// Message returns a copy of one stored message.
func (f *MailboxFixture) Message(id string) (Message, bool) {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	m := f.mb.messages[id]
	if m == nil {
		return Message{}, false
	}
	return cloneMessage(m), true
}

// Messages returns copies of the messages of the folder at path, oldest first.
func (f *MailboxFixture) Messages(path string) []Message {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	cur := f.mb.folders[f.mb.rootID]
	if path != "" {
		for _, name := range strings.Split(path, "/") {
			if cur = f.mb.childByName(cur, name); cur == nil {
				return nil
			}
		}
	}
	var out []Message
	for _, m := range f.mb.folderMessages(cur.id) {
		out = append(out, cloneMessage(m))
	}
	return out
}

// SentItems returns the messages in Sent Items.
func (f *MailboxFixture) SentItems() []Message { return f.Messages("Sent Items") }

// AddRule stores an inbox rule given in Graph's messageRule JSON shape.
func (f *MailboxFixture) AddRule(r Rule) string {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	rr := maps.Clone(r)
	id := f.s.nextID("AQAAAJ")
	rr["id"] = id
	f.mb.rules = append(f.mb.rules, rr)
	return id
}

// Rules returns the inbox rules.
func (f *MailboxFixture) Rules() []Rule {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	out := make([]Rule, 0, len(f.mb.rules))
	for _, r := range f.mb.rules {
		out = append(out, maps.Clone(r))
	}
	return out
}

func cloneMessage(m *Message) Message {
	c := *m
	c.ExtendedProperties = maps.Clone(m.ExtendedProperties)
	c.MultiValueExtendedProperties = cloneMulti(m.MultiValueExtendedProperties)
	c.Attachments = slices.Clone(m.Attachments)
	c.Headers = maps.Clone(m.Headers)
	return c
}

// touch records a change of m for delta and change keys.
func (s *Server) touch(m *Message) {
	ensureSearchKey(&m.SearchKey)
	s.seq++
	m.seq = s.seq
	m.changeKey++
	m.Modified = time.Now().UTC()
}

func (s *Server) deleteLocked(mb *mbox, id string) bool {
	m := mb.messages[id]
	if m == nil {
		return false
	}
	removeLocked(s, mb.messages, mb.removed, m.FolderID, id)
	return true
}

// renderMIME builds an RFC 5322 rendering of a message created through JSON,
// which is what Exchange hands back from $value.
func renderMIME(m *Message) []byte {
	var b bytes.Buffer
	h := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	h("From", m.From)
	h("To", strings.Join(m.To, ", "))
	h("Cc", strings.Join(m.Cc, ", "))
	h("Subject", m.Subject)
	h("Date", m.Sent.Format(time.RFC1123Z))
	h("Message-ID", m.InternetMessageID)
	for k, v := range m.Headers {
		h(k, v)
	}
	b.WriteString("MIME-Version: 1.0\r\n")
	ct := "text/plain"
	if m.BodyType == "html" {
		ct = "text/html"
	}
	// Exchange renders the attachments into $value too; one kept only as
	// a digest (WithAttachmentDigestsOnly) cannot be rendered and is left out.
	var parts []Attachment
	for _, a := range m.Attachments {
		if a.Data != nil {
			parts = append(parts, a)
		}
	}
	if len(parts) == 0 {
		fmt.Fprintf(&b, "Content-Type: %s; charset=utf-8\r\n\r\n", ct)
		b.WriteString(m.Body)
		b.WriteString("\r\n")
		return b.Bytes()
	}
	const boundary = "----=_exmigrate_graphtest_part"
	fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n", boundary)
	fmt.Fprintf(&b, "--%s\r\nContent-Type: %s; charset=utf-8\r\n\r\n%s\r\n", boundary, ct, m.Body)
	for _, a := range parts {
		typ := a.ContentType
		if typ == "" {
			typ = "application/octet-stream"
		}
		disp := "attachment"
		if a.IsInline {
			disp = "inline"
		}
		fmt.Fprintf(&b, "--%s\r\nContent-Type: %s; name=\"%s\"\r\nContent-Disposition: %s; filename=\"%s\"\r\n", boundary, typ, a.Name, disp, a.Name)
		if a.ContentID != "" {
			fmt.Fprintf(&b, "Content-ID: <%s>\r\n", a.ContentID)
		}
		b.WriteString("Content-Transfer-Encoding: base64\r\n\r\n")
		enc := base64.StdEncoding.EncodeToString(a.Data)
		for len(enc) > 76 {
			b.WriteString(enc[:76])
			b.WriteString("\r\n")
			enc = enc[76:]
		}
		b.WriteString(enc)
		b.WriteString("\r\n")
	}
	fmt.Fprintf(&b, "--%s--\r\n", boundary)
	return b.Bytes()
}
