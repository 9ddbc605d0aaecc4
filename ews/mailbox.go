package ews

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/beevik/etree"

	"github.com/exmigrate/exmigrate/mailbox"
)

// Mailbox is one mailbox reached through the client (by impersonation or
// delegate access). It is a mailbox.Source and a mailbox.Target.
type Mailbox struct {
	c       *Client
	address string

	mu sync.Mutex
	// ruleBlob is GetInboxRules' OutlookRuleBlobExists from the last
	// Rules call, so ClientOnlyRules costs no second round trip.
	ruleBlob *bool
	// primary is the tree of the last Folders(ScopePrimary) call, so
	// FolderPermissions does not list it a second time.
	primary []mailbox.Folder
	// known maps folder ids (and the distinguished names of tree roots and
	// well-known folders) to the real id and path of the folder: every
	// folder of the trees Folders listed, those CreateFolder placed and the
	// parents it looked up, so CreateFolder fills Path without a round trip.
	known map[string]knownFolder
	// wellKnown maps the ids of the well-known folders to their names,
	// from the first Folders(ScopePrimary) call: a well-known folder
	// cannot be deleted or renamed away, and asking again (a GetFolder of
	// every distinguished id) was a third of each later listing.
	wellKnown map[string]mailbox.WellKnown

	// stageMu guards stagingID, the staging folder of full-fidelity
	// writes once found and cleared (staging.go); it is held across the
	// recovery so that concurrent writers wait for it.
	stageMu   sync.Mutex
	stagingID string

	// pf is the adapter public folder requests go through (public): it
	// addresses no mailbox.
	pf *Mailbox
}

// knownFolder is a folder's real id and its path in its tree.
type knownFolder struct{ id, path string }

var (
	_ mailbox.Source         = (*Mailbox)(nil)
	_ mailbox.Target         = (*Mailbox)(nil)
	_ mailbox.ItemLister     = (*Mailbox)(nil)
	_ mailbox.RuleReader     = (*Mailbox)(nil)
	_ mailbox.DelegateReader = (*Mailbox)(nil)
	_ mailbox.HoldReader     = (*Mailbox)(nil)
)

// Mailbox returns the adapter for one SMTP address.
func (c *Client) Mailbox(address string) *Mailbox {
	return &Mailbox{c: c, address: address}
}

// Address is the mailbox's SMTP address.
func (m *Mailbox) Address() string { return m.address }

var scopeRoots = map[mailbox.Scope]string{
	mailbox.ScopePrimary:     "msgfolderroot",
	mailbox.ScopeArchive:     "archivemsgfolderroot",
	mailbox.ScopeRecoverable: "recoverableitemsroot",
}

// wellKnownNames are looked up in one batch GetFolder to tag folders.
var wellKnownNames = []mailbox.WellKnown{
	mailbox.Inbox, mailbox.SentItems, mailbox.DeletedItems, mailbox.Drafts, mailbox.JunkEmail,
	mailbox.Outbox, mailbox.ArchiveFolder, mailbox.ConversationHistory, mailbox.CalendarFolder,
	mailbox.ContactsFolder, mailbox.TasksFolder, mailbox.NotesFolder, mailbox.JournalFolder,
}

// Folders lists one folder tree (primary, archive or recoverable items),
// root first, parents before children, with paths built from display names.
func (m *Mailbox) Folders(ctx context.Context, scope mailbox.Scope) ([]mailbox.Folder, error) {
	if scope == mailbox.ScopePublicFolders {
		return m.publicFolders(ctx)
	}
	rootName, ok := scopeRoots[scope]
	if !ok {
		return nil, fmt.Errorf("ews: unknown folder scope %q", scope)
	}
	root, err := m.c.getFolder(ctx, m.address, rootName)
	if err != nil {
		return nil, fmt.Errorf("folders of %s (%s): %w", m.address, scope, err)
	}
	if scope == mailbox.ScopePrimary {
		root.WellKnown = mailbox.RootFolder
	}
	all, err := m.c.findFolders(ctx, m.address, root.ID, true, false)
	if err != nil {
		return nil, fmt.Errorf("folders of %s (%s): %w", m.address, scope, err)
	}
	m.mu.Lock()
	wk := m.wellKnown
	m.mu.Unlock()
	if wk == nil && scope == mailbox.ScopePrimary {
		wk = map[string]mailbox.WellKnown{}
		ids := make([]string, len(wellKnownNames))
		for i, n := range wellKnownNames {
			ids[i] = string(n)
		}
		res, err := m.c.getFolderIDs(ctx, m.address, ids)
		if err != nil {
			return nil, fmt.Errorf("well-known folders of %s: %w", m.address, err)
		}
		for i, r := range res {
			if r.Err == nil { // a missing well-known folder is not an error
				wk[r.Folder.ID] = wellKnownNames[i]
			}
		}
		m.mu.Lock()
		m.wellKnown = wk
		m.mu.Unlock()
	}
	if scope != mailbox.ScopePrimary {
		wk = nil
	}
	tree := buildTree(root, all, wk)
	m.mu.Lock()
	if scope == mailbox.ScopePrimary {
		m.primary = slices.Clone(tree) // the caller may reorder its copy
	}
	m.rememberLocked(rootName, tree[0].ID, "")
	for _, f := range tree {
		m.rememberLocked(f.ID, f.ID, f.Path)
		if f.WellKnown != "" {
			m.rememberLocked(string(f.WellKnown), f.ID, f.Path)
		}
	}
	m.mu.Unlock()
	return tree, nil
}

// buildTree orders folders parents first and fills Path and WellKnown.
func buildTree(root mailbox.Folder, all []mailbox.Folder, wk map[string]mailbox.WellKnown) []mailbox.Folder {
	children := map[string][]mailbox.Folder{}
	for _, f := range all {
		children[f.ParentID] = append(children[f.ParentID], f)
	}
	root.Path = ""
	out := []mailbox.Folder{root}
	for i := 0; i < len(out); i++ {
		kids := children[out[i].ID]
		sort.SliceStable(kids, func(a, b int) bool { return kids[a].DisplayName < kids[b].DisplayName })
		for _, k := range kids {
			k.Path = mailbox.JoinPath(out[i].Path, k.DisplayName)
			if w, ok := wk[k.ID]; ok {
				k.WellKnown = w
			}
			out = append(out, k)
		}
	}
	return out
}

// Items pages through the items of a folder.
func (m *Mailbox) Items(ctx context.Context, folderID string, fn func(mailbox.Item) error) error {
	if pctx, _, raw, route, ok := m.public(ctx, folderID); ok {
		return m.c.findItems(pctx, "", raw, nil, publicItems(fn, folderID, route))
	}
	return m.c.findItems(ctx, m.address, folderID, nil, fn)
}

// Changes is one round of SyncFolderItems (up to 512 changes). An expired
// state returns an error matching mailbox.ErrSyncStateInvalid: the caller
// starts again from the empty state (a full resync).
func (m *Mailbox) Changes(ctx context.Context, folderID, state string) (mailbox.ChangePage, error) {
	if pctx, pm, raw, route, ok := m.public(ctx, folderID); ok {
		return m.publicChanges(pctx, pm, folderID, raw, route, state)
	}
	return m.c.syncItems(ctx, m.address, folderID, state, MaxSyncChanges)
}

// SyncItems runs SyncFolderItems rounds from state until the folder is in
// sync, calling fn for each change, and returns the new state. When Exchange
// no longer accepts the state (ErrorInvalidSyncStateData, e.g. after a
// mailbox move) it starts again from the empty state, a full resync that
// reports every item as created, and says so with resynced.
func (m *Mailbox) SyncItems(ctx context.Context, folderID, state string, fn func(mailbox.Change) error) (newState string, resynced bool, err error) {
	for {
		page, err := m.Changes(ctx, folderID, state)
		if errors.Is(err, mailbox.ErrSyncStateInvalid) && state != "" && !resynced {
			m.c.log.WarnContext(ctx, "ews: sync state no longer valid, resynchronising the folder", "mailbox", m.address, "folder", folderID)
			state, resynced = "", true
			continue
		}
		if err != nil {
			return state, resynced, err
		}
		for _, ch := range page.Changes {
			if err := fn(ch); err != nil {
				return state, resynced, err
			}
		}
		state = page.State
		if !page.More {
			return state, resynced, nil
		}
	}
}

// FolderChanges is one round of SyncFolderHierarchy for the primary tree.
func (m *Mailbox) FolderChanges(ctx context.Context, state string) (HierarchyPage, error) {
	return m.c.syncHierarchy(ctx, m.address, "msgfolderroot", state)
}

// OpenMIME streams an item's MIME content.
func (m *Mailbox) OpenMIME(ctx context.Context, itemID string) (io.ReadCloser, error) {
	if pctx, pm, raw, _, ok := m.public(ctx, itemID); ok {
		return pm.OpenMIME(pctx, raw)
	}
	return m.c.openMIME(ctx, m.address, itemID)
}

// MaxMIMEBatch is how many items ReadMIME asks for in one GetItem.
const MaxMIMEBatch = 50

// ReadMIME fetches the MIME of several items with one GetItem per batch of
// up to MaxMIMEBatch ids, streaming each item's content to fn in order.
// An item that failed (deleted meanwhile, corrupt) reaches fn with its own
// error and a nil reader; fn decides whether that stops the batch. fn must
// not keep the reader after it returns.
func (m *Mailbox) ReadMIME(ctx context.Context, ids []string, fn func(id string, mime io.Reader, err error) error) error {
	if m.address != "" && slices.ContainsFunc(ids, func(id string) bool { _, _, ok := splitPF(id); return ok }) {
		return m.readPublicMIME(ctx, ids, fn) // public folder items route by their folder's content mailbox
	}
	for len(ids) > 0 {
		n := min(len(ids), MaxMIMEBatch)
		if err := m.c.readMIMEBatch(ctx, m.address, ids[:n], fn); err != nil {
			var p *permanent
			if errors.As(err, &p) {
				return p.err
			}
			return err
		}
		ids = ids[n:]
	}
	return nil
}

// CreateFolder returns the child of parentID with that display name,
// creating it when absent. An empty parentID is the root of the primary
// tree (msgfolderroot). The folder comes back with ParentID (the parent's
// real id) and Path (the parent's path joined with its name) filled.
func (m *Mailbox) CreateFolder(ctx context.Context, parentID, displayName, class string) (mailbox.Folder, error) {
	if _, _, raw, _, ok := m.public(ctx, parentID); ok {
		return m.createPublicFolder(ctx, parentID, raw, displayName, class)
	}
	ref := parentID
	if ref == "" {
		ref = string(mailbox.RootFolder)
	}
	parent, err := m.folderPath(ctx, ref)
	if err != nil {
		return mailbox.Folder{}, fmt.Errorf("create folder %q in %s: parent %s: %w", displayName, m.address, ref, err)
	}
	placed := func(f mailbox.Folder) mailbox.Folder {
		if f.ParentID == "" {
			f.ParentID = parent.id
		}
		f.Path = mailbox.JoinPath(parent.path, f.DisplayName)
		m.mu.Lock()
		m.rememberLocked(f.ID, f.ID, f.Path)
		m.mu.Unlock()
		return f
	}
	find := func() (mailbox.Folder, bool, error) {
		kids, err := m.c.findFolders(ctx, m.address, ref, false, false)
		if err != nil {
			return mailbox.Folder{}, false, err
		}
		for _, k := range kids {
			if strings.EqualFold(k.DisplayName, displayName) {
				return placed(k), true, nil
			}
		}
		return mailbox.Folder{}, false, nil
	}
	if f, ok, err := find(); err != nil || ok {
		return f, err
	}
	id, err := m.c.createFolder(ctx, m.address, ref, displayName, class)
	var re *ResponseError
	if errors.As(err, &re) && re.Code == "ErrorFolderExists" {
		if f, ok, ferr := find(); ferr == nil && ok {
			return f, nil
		}
	}
	if err != nil {
		return mailbox.Folder{}, fmt.Errorf("create folder %q in %s: %w", displayName, m.address, err)
	}
	return placed(mailbox.Folder{ID: id, ParentID: parent.id, DisplayName: displayName, Class: class}), nil
}

// folderTreeRoots are the roots folderPath stops at: each is path "" of
// its tree, as in Folders.
var folderTreeRoots = []string{"msgfolderroot", "archivemsgfolderroot", "recoverableitemsroot"}

// maxFolderDepth bounds folderPath's walk; Exchange nests folders at most
// 300 deep.
const maxFolderDepth = 300

// folderPath returns the real id and the path of a folder given by id or
// distinguished name: from the folders this Mailbox knows (the trees
// Folders listed, the folders CreateFolder placed), else with one
// GetFolder of the folder and the tree roots, then one GetFolder per
// level up the ParentFolderId chain to a root or a known folder.
func (m *Mailbox) folderPath(ctx context.Context, ref string) (knownFolder, error) {
	m.mu.Lock()
	k, ok := m.known[ref]
	m.mu.Unlock()
	if ok {
		return k, nil
	}
	ids := []string{ref}
	for _, r := range folderTreeRoots {
		if r != ref {
			ids = append(ids, r)
		}
	}
	res, err := m.c.getFolders(ctx, m.address, ids)
	if err != nil {
		return knownFolder{}, err
	}
	if res[0].Err != nil {
		return knownFolder{}, res[0].Err
	}
	roots := map[string]bool{}
	m.mu.Lock()
	for i, r := range res {
		// ids[0] is ref, a root only when named as one; a root that is
		// not there (no archive, no access to it) is skipped.
		if r.Err == nil && (i > 0 || slices.Contains(folderTreeRoots, ref)) {
			roots[r.Folder.ID] = true
			m.rememberLocked(ids[i], r.Folder.ID, "")
			m.rememberLocked(r.Folder.ID, r.Folder.ID, "")
		}
	}
	m.mu.Unlock()
	var names []string // from the folder up
	cur, path := res[0].Folder, ""
	for {
		if roots[cur.ID] {
			break
		}
		m.mu.Lock()
		k, ok := m.known[cur.ID]
		m.mu.Unlock()
		if ok {
			path = k.path
			break
		}
		if cur.ParentID == "" || cur.ParentID == cur.ID || len(names) >= maxFolderDepth {
			return knownFolder{}, fmt.Errorf("folder %s is in none of the folder trees of %s", ref, m.address)
		}
		names = append(names, cur.DisplayName)
		if cur, err = m.c.getFolder(ctx, m.address, cur.ParentID); err != nil {
			return knownFolder{}, err
		}
	}
	for i := len(names) - 1; i >= 0; i-- {
		path = mailbox.JoinPath(path, names[i])
	}
	k = knownFolder{id: res[0].Folder.ID, path: path}
	m.mu.Lock()
	m.rememberLocked(ref, k.id, k.path)
	m.rememberLocked(k.id, k.id, k.path)
	m.mu.Unlock()
	return k, nil
}

// rememberLocked records a folder's id and path under key; m.mu is held.
func (m *Mailbox) rememberLocked(key, id, path string) {
	if m.known == nil {
		m.known = map[string]knownFolder{}
	}
	m.known[key] = knownFolder{id: id, path: path}
}

// CreateMessage writes msg with CreateItem: MimeContent plus PR_MESSAGE_FLAGS
// (read bit only, so never a draft), the delivery and submit times, and the
// source-id stamp.
func (m *Mailbox) CreateMessage(ctx context.Context, folderID string, msg mailbox.Message) (string, error) {
	id, err := m.c.createItem(ctx, m.address, folderID, msg)
	if err != nil {
		return "", fmt.Errorf("create message %s in %s: %w", msg.SourceID, m.address, err)
	}
	return id, nil
}

// FindBySourceID finds an item by the exmigrate stamp with a FindItem restriction.
func (m *Mailbox) FindBySourceID(ctx context.Context, folderID, sourceID string) (string, bool, error) {
	if pctx, pm, raw, route, ok := m.public(ctx, folderID); ok {
		id, found, err := pm.FindBySourceID(pctx, raw, sourceID)
		if found {
			id = pfID(route, id)
		}
		return id, found, err
	}
	var found string
	errStop := errors.New("stop")
	err := m.c.findItems(ctx, m.address, folderID, func(r *etree.Element) {
		eq := r.CreateElement("t:IsEqualTo")
		sourceIDURI(eq)
		eq.CreateElement("t:FieldURIOrConstant").CreateElement("t:Constant").CreateAttr("Value", sourceID)
	}, func(it mailbox.Item) error {
		found = it.ID
		return errStop
	})
	if err != nil && !errors.Is(err, errStop) {
		return "", false, err
	}
	return found, found != "", nil
}

// SetRead changes the read state of an item.
func (m *Mailbox) SetRead(ctx context.Context, itemID string, read bool) error {
	if pctx, pm, raw, _, ok := m.public(ctx, itemID); ok {
		return pm.SetRead(pctx, raw, read)
	}
	return m.c.setRead(ctx, m.address, itemID, read)
}

// String names the mailbox and the server, never the credentials.
func (m *Mailbox) String() string {
	return fmt.Sprintf("ews.Mailbox{%s via %s}", m.address, m.c.cfg.URL)
}

// Exists reports whether the address has a mailbox on this server that the
// account can open, with one GetFolder of its root: the dispatcher's probe
// for "is this mailbox on-premises". No mailbox is (false, nil); a mailbox
// that exists but is not accessible is an error matching ErrAccessDenied.
func (m *Mailbox) Exists(ctx context.Context) (bool, error) {
	_, err := m.c.getFolder(ctx, m.address, "msgfolderroot")
	if errors.Is(err, mailbox.ErrMailboxNotFound) {
		return false, nil
	}
	return err == nil, err
}
