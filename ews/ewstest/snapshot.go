package ewstest

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"sort"
	"strings"
	"time"

	"github.com/exmigrate/exmigrate/mailbox"
)

// Snapshot format: gzip of one JSON document. The version changes whenever
// a field changes meaning, so an old file is refused rather than misread.
const (
	snapshotFormat  = "exmigrate/ewstest-snapshot"
	SnapshotVersion = 1
)

// ErrSnapshot is wrapped by every error Restore returns for a file it
// cannot use (corrupt, unknown version, inconsistent, unresolvable stream).
var ErrSnapshot = errors.New("ewstest: unusable snapshot")

// StreamResolver returns the content opener for a streamed item's
// StreamKey when a snapshot is restored.
type StreamResolver func(key string) (open func() (io.ReadCloser, error), err error)

// SnapshotOption configures Snapshot and Restore.
type SnapshotOption func(*snapConfig)

// RestoreOption is the former name of SnapshotOption.
type RestoreOption = SnapshotOption

type snapConfig struct {
	resolve  StreamResolver
	base     *Server
	baseMIME map[string][]byte // base's items' MIME by id, for Restore
}

// ResolveStreams gives Restore the openers of streamed items (those seeded
// with Open and a StreamKey).
func ResolveStreams(r StreamResolver) SnapshotOption {
	return func(c *snapConfig) { c.resolve = r }
}

// SnapshotBase makes Snapshot leave out the MIME of items that base holds
// under the same id with the same content, keeping its SHA-256, and makes
// Restore take it back from base. A base is a server seeded the same way
// (ids are given in seeding order), so that a snapshot holds only what
// changed since seeding.
func SnapshotBase(base *Server) SnapshotOption {
	return func(c *snapConfig) { c.base = base }
}

type snapDoc struct {
	Format     string         `json:"format"`
	Version    int            `json:"version"`
	Seq        int64          `json:"seq"`
	IDN        int64          `json:"idn"`
	PublicRoot string         `json:"publicRoot"`
	Accounts   []snapAccount  `json:"accounts"`
	Mailboxes  []snapMailbox  `json:"mailboxes"`
	Folders    []snapFolder   `json:"folders"` // parents before children
	Items      []snapItem     `json:"items"`
	Holds      []snapHold     `json:"holds"`
	Extra      map[string]any `json:"extra,omitempty"` // reserved
}

type snapAccount struct {
	Domain, User, Password string
	Impersonation          bool
	Mailbox                string
	FullAccess             []string
	EDiscovery             bool
}

type snapMailbox struct {
	Address, Display, Type string
	Archive                bool
	Rules                  []mailbox.Rule
	RuleBlob               bool `json:",omitempty"`
	Delegates              []mailbox.Delegate
	DeliverMeetings        string
	SyncEpoch              int
	Moving                 bool
	Quota, Used            int64
}

type snapFolder struct {
	ID, Mailbox, Parent        string
	Name, Class, Distinguished string
	Hidden                     bool
	Perms                      []Permission `json:",omitempty"` // nil: the default set
	PermErr                    string       `json:",omitempty"`
	Replica                    string       `json:",omitempty"` // a public folder's content mailbox GUID
	Tombs                      []snapTomb
	Created, Updated           int64
}

type snapTomb struct {
	ID           string
	Seq, Created int64
}

type snapItem struct {
	ID, Folder                   string
	Class, Subject, MsgID        string
	Size                         int64
	Received, Sent               time.Time
	IsRead, IsDraft              bool
	Importance                   string
	Categories                   []string `json:",omitempty"`
	MIME                         []byte   `json:",omitempty"`
	BaseSHA256                   string   `json:",omitempty"` // MIME left out: base's item of this id has it
	StreamKey                    string   `json:",omitempty"`
	Ext                          map[string]string
	Created, Updated, ReadChange int64
	Contact                      *contactData          `json:",omitempty"` // a contact written from its properties
	Event                        *mailbox.Event        `json:",omitempty"` // a calendar item written from its properties
	Task                         *mailbox.Task         `json:",omitempty"` // a task written from its properties
	Group                        *mailbox.ContactGroup `json:",omitempty"` // a contact group written from its properties
}

type snapHold struct {
	Hold      mailbox.Hold
	Mailboxes []string
}

// Snapshot writes the whole store (accounts, mailboxes, folders, items with
// their ids, change keys, read state and extended properties, rules,
// delegates, folder permission sets, holds, public folders and the sync bookkeeping) to w, so that
// Restore brings back a server whose ids and sync states still hold.
// Streamed items are written as their StreamKey, not their bytes; one
// without a key cannot be snapshotted. Connections, faults and counters
// are not part of a snapshot.
func (s *Server) Snapshot(w io.Writer, opts ...SnapshotOption) error {
	var cfg snapConfig
	for _, o := range opts {
		o(&cfg)
	}
	var baseMIME map[string][]byte
	if cfg.base != nil && cfg.base != s {
		baseMIME = cfg.base.mimeByID()
	}
	s.mu.Lock()
	doc, err := s.snapDocLocked()
	s.mu.Unlock()
	if err == nil && baseMIME != nil {
		for i := range doc.Items {
			it := &doc.Items[i]
			if b, ok := baseMIME[it.ID]; ok && it.MIME != nil && bytes.Equal(b, it.MIME) {
				sum := sha256.Sum256(it.MIME)
				it.MIME, it.BaseSHA256 = nil, hex.EncodeToString(sum[:])
			}
		}
	}
	if err != nil {
		return err
	}
	zw := gzip.NewWriter(w)
	if err := json.NewEncoder(zw).Encode(doc); err != nil {
		return fmt.Errorf("ewstest: write snapshot: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("ewstest: write snapshot: %w", err)
	}
	return nil
}

func (s *Server) snapDocLocked() (*snapDoc, error) {
	doc := &snapDoc{Format: snapshotFormat, Version: SnapshotVersion, Seq: s.seq, IDN: s.idn, PublicRoot: s.publicRoot.id}
	for _, k := range sortedKeys(s.accounts) {
		a := s.accounts[k]
		doc.Accounts = append(doc.Accounts, snapAccount{Domain: a.domain, User: a.user, Password: a.password,
			Impersonation: a.impersonation, Mailbox: a.mailbox, FullAccess: sortedKeys(a.fullAccess), EDiscovery: a.ediscovery})
	}
	var roots []*folder
	for _, k := range sortedKeys(s.mailboxes) {
		mb := s.mailboxes[k]
		doc.Mailboxes = append(doc.Mailboxes, snapMailbox{Address: mb.address, Display: mb.display, Type: mb.typ,
			Archive: mb.archive, Rules: mb.rules, RuleBlob: mb.ruleBlob, Delegates: mb.delegates, DeliverMeetings: mb.deliverMeetings,
			SyncEpoch: mb.syncEpoch, Moving: mb.moving, Quota: mb.quota, Used: mb.used})
		for _, dist := range []string{"root", "archiveroot"} {
			if f := mb.roots[dist]; f != nil {
				roots = append(roots, f)
			}
		}
	}
	roots = append(roots, s.publicRoot)
	for _, root := range roots {
		// Children keep their order, which is the order FindFolder answers in.
		var walk func(f *folder) error
		walk = func(f *folder) error {
			sf := snapFolder{ID: f.id, Name: f.name, Class: f.class, Distinguished: f.distinguished, Hidden: f.hidden,
				Perms: f.perms, PermErr: f.permErr, Replica: f.replica, Created: f.created, Updated: f.updated}
			if f.mb != nil {
				sf.Mailbox = f.mb.address
			}
			if f.parent != nil {
				sf.Parent = f.parent.id
			}
			for _, t := range f.tombs {
				sf.Tombs = append(sf.Tombs, snapTomb{ID: t.id, Seq: t.seq, Created: t.created})
			}
			doc.Folders = append(doc.Folders, sf)
			for _, it := range f.items {
				si := snapItem{ID: it.id, Folder: f.id, Class: it.class, Subject: it.subject, MsgID: it.msgID, Size: it.size,
					Received: it.received, Sent: it.sent, IsRead: it.isRead, IsDraft: it.isDraft, Importance: it.importance,
					Categories: it.categories, MIME: it.mime, StreamKey: it.streamKey, Ext: it.ext, Created: it.created, Updated: it.updated, ReadChange: it.readChanged, Contact: it.contact,
					Event: it.event, Task: it.task, Group: it.group}
				if it.open != nil {
					if it.streamKey == "" {
						return fmt.Errorf("ewstest: snapshot: item %q (%s) in folder %q streams its content and has no StreamKey; seed it with Item.StreamKey", it.id, it.subject, f.name)
					}
					si.MIME = nil
				}
				doc.Items = append(doc.Items, si)
			}
			for _, c := range f.children {
				if err := walk(c); err != nil {
					return err
				}
			}
			return nil
		}
		if err := walk(root); err != nil {
			return nil, err
		}
	}
	if len(doc.Folders) != len(s.folders) {
		return nil, fmt.Errorf("ewstest: snapshot: %d folders are not below a root folder", len(s.folders)-len(doc.Folders))
	}
	for _, h := range s.holds {
		doc.Holds = append(doc.Holds, snapHold{Hold: h.h, Mailboxes: h.mailboxes})
	}
	return doc, nil
}

// Restore replaces the server's store with a snapshot written by Snapshot.
// Call it before the server answers requests. Options (latency, limits) and
// accounts' connections are the receiving server's own. It fails with an
// error wrapping ErrSnapshot, and leaves the server unchanged, when the
// data is not a snapshot, has another version, is inconsistent, or names a
// stream the resolver cannot open.
func (s *Server) Restore(r io.Reader, opts ...SnapshotOption) error {
	var cfg snapConfig
	for _, o := range opts {
		o(&cfg)
	}
	zr, err := gzip.NewReader(r)
	if err != nil {
		return fmt.Errorf("%w: not a gzip stream (%v): is the file an ewstest snapshot?", ErrSnapshot, err)
	}
	defer zr.Close()
	doc, err := decodeSnapshot(zr)
	if err != nil {
		return err
	}
	if cfg.base != nil && cfg.base != s {
		cfg.baseMIME = cfg.base.mimeByID()
	}
	st, err := buildStore(doc, cfg)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accounts, s.mailboxes, s.folders, s.items = st.accounts, st.mailboxes, st.folders, st.items
	s.publicRoot, s.holds, s.seq, s.idn = st.publicRoot, st.holds, doc.Seq, doc.IDN
	return nil
}

// decodeSnapshot parses and checks the JSON document of a snapshot.
func decodeSnapshot(r io.Reader) (*snapDoc, error) {
	var doc snapDoc
	dec := json.NewDecoder(r)
	if err := dec.Decode(&doc); err != nil {
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
	accounts   map[string]*account
	mailboxes  map[string]*mbox
	folders    map[string]*folder
	items      map[string]*item
	publicRoot *folder
	holds      []hold
}

func buildStore(doc *snapDoc, cfg snapConfig) (*store, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: inconsistent: %s", ErrSnapshot, fmt.Sprintf(format, a...))
	}
	st := &store{accounts: map[string]*account{}, mailboxes: map[string]*mbox{}, folders: map[string]*folder{}, items: map[string]*item{}}
	for _, a := range doc.Accounts {
		acct := &account{domain: a.Domain, user: a.User, password: a.Password, impersonation: a.Impersonation,
			mailbox: a.Mailbox, fullAccess: map[string]bool{}, ediscovery: a.EDiscovery}
		for _, addr := range a.FullAccess {
			acct.fullAccess[strings.ToLower(addr)] = true
		}
		st.accounts[accountKey(a.Domain, a.User)] = acct
	}
	for _, m := range doc.Mailboxes {
		key := strings.ToLower(m.Address)
		if m.Address == "" || st.mailboxes[key] != nil {
			return nil, bad("mailbox %q is empty or listed twice", m.Address)
		}
		st.mailboxes[key] = &mbox{address: m.Address, display: m.Display, typ: m.Type, roots: map[string]*folder{}, archive: m.Archive,
			rules: m.Rules, ruleBlob: m.RuleBlob, delegates: m.Delegates, deliverMeetings: m.DeliverMeetings, syncEpoch: m.SyncEpoch,
			moving: m.Moving, quota: m.Quota, used: m.Used}
	}
	for _, sf := range doc.Folders {
		if sf.ID == "" || st.folders[sf.ID] != nil {
			return nil, bad("folder id %q is empty or listed twice", sf.ID)
		}
		f := &folder{id: sf.ID, name: sf.Name, class: sf.Class, distinguished: sf.Distinguished, hidden: sf.Hidden,
			perms: sf.Perms, permErr: sf.PermErr, replica: sf.Replica, created: sf.Created, updated: sf.Updated}
		for _, t := range sf.Tombs {
			f.tombs = append(f.tombs, tomb{id: t.ID, seq: t.Seq, created: t.Created})
		}
		for _, p := range sf.Perms {
			if _, ok := levelRights[p.Level]; !ok || (p.User == "" && p.SID == "") ||
				(calendarOnly(p.Level) && !strings.HasPrefix(sf.Class, "IPF.Appointment")) {
				return nil, bad("folder %q has a permission entry %+v with a level the folder does not take or no user", sf.Name, p)
			}
		}
		if sf.Mailbox != "" {
			if f.mb = st.mailboxes[strings.ToLower(sf.Mailbox)]; f.mb == nil {
				return nil, bad("folder %q belongs to unknown mailbox %q", sf.Name, sf.Mailbox)
			}
		}
		if sf.Parent != "" {
			p := st.folders[sf.Parent]
			if p == nil {
				return nil, bad("folder %q comes before its parent %q", sf.Name, sf.Parent)
			}
			if p.mb != f.mb {
				return nil, bad("folder %q is in another mailbox than its parent", sf.Name)
			}
			f.parent = p
			p.children = append(p.children, f)
		}
		if f.mb != nil && f.distinguished != "" {
			f.mb.roots[f.distinguished] = f
		}
		st.folders[f.id] = f
	}
	st.publicRoot = st.folders[doc.PublicRoot]
	if st.publicRoot == nil || st.publicRoot.mb != nil || st.publicRoot.parent != nil {
		return nil, bad("public folder root %q is missing", doc.PublicRoot)
	}
	for _, mb := range st.mailboxes {
		if mb.roots["root"] == nil || mb.roots["msgfolderroot"] == nil {
			return nil, bad("mailbox %q has no root folders", mb.address)
		}
		if mb.archive && mb.roots["archivemsgfolderroot"] == nil {
			return nil, bad("mailbox %q has an archive without its folders", mb.address)
		}
	}
	for _, si := range doc.Items {
		f := st.folders[si.Folder]
		if si.ID == "" || st.items[si.ID] != nil || f == nil {
			return nil, bad("item %q is empty, listed twice or in unknown folder %q", si.ID, si.Folder)
		}
		if si.Size < 0 {
			return nil, bad("item %q has a negative size", si.ID)
		}
		it := &item{id: si.ID, f: f, class: si.Class, subject: si.Subject, msgID: si.MsgID, size: si.Size,
			received: si.Received, sent: si.Sent, isRead: si.IsRead, isDraft: si.IsDraft, importance: si.Importance,
			categories: si.Categories, mime: si.MIME, streamKey: si.StreamKey, ext: maps.Clone(si.Ext), created: si.Created, updated: si.Updated, readChanged: si.ReadChange, contact: si.Contact,
			event: si.Event, task: si.Task, group: si.Group}
		if it.ext == nil {
			it.ext = map[string]string{}
		}
		if _, ok := it.ext[searchKeyTag]; !ok {
			// A snapshot written before the fake held search keys: one
			// derived from the id, so that every restore gives the same.
			sum := sha256.Sum256([]byte(si.ID))
			it.ext[searchKeyTag] = base64.StdEncoding.EncodeToString(sum[:16])
		}
		if si.BaseSHA256 != "" {
			b, ok := cfg.baseMIME[si.ID]
			if !ok {
				return nil, fmt.Errorf("%w: the content of item %q (%s) is in the base server, and no base holding it was given (SnapshotBase)", ErrSnapshot, si.ID, si.Subject)
			}
			if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != si.BaseSHA256 {
				return nil, fmt.Errorf("%w: item %q (%s): the base server holds other content than the snapshot was made with", ErrSnapshot, si.ID, si.Subject)
			}
			it.mime = b
		}
		if si.StreamKey != "" {
			if cfg.resolve == nil {
				return nil, fmt.Errorf("%w: item %q (%s) streams %q and no stream resolver was given (ResolveStreams)", ErrSnapshot, si.ID, si.Subject, si.StreamKey)
			}
			open, err := cfg.resolve(si.StreamKey)
			if err != nil || open == nil {
				return nil, fmt.Errorf("%w: item %q (%s): stream %q cannot be resolved: %v", ErrSnapshot, si.ID, si.Subject, si.StreamKey, err)
			}
			it.open = open
		}
		f.items = append(f.items, it)
		st.items[it.id] = it
	}
	for _, h := range doc.Holds {
		st.holds = append(st.holds, hold{h: h.Hold, mailboxes: h.Mailboxes})
	}
	return st, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// mimeByID lists the MIME of every item held in memory, by id.
func (s *Server) mimeByID() map[string][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string][]byte, len(s.items))
	for id, it := range s.items {
		if it.mime != nil {
			out[id] = it.mime
		}
	}
	return out
}
