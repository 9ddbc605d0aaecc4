package ews

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"github.com/exmigrate/exmigrate/mailbox"
)

// --- Public folders ---
//
// Exchange 2013 and later keep public folders in public folder mailboxes:
// one holds the hierarchy, and each folder's content lives in one of them
// (its PR_REPLICA_LIST names which). Every request about public folders
// carries X-AnchorMailbox and X-PublicFolderMailbox (items.md E9):
//   - hierarchy requests (FindFolder, CreateFolder ...) name the hierarchy
//     mailbox, onprem.public_folder_mailbox;
//   - content requests (FindItem, GetItem, CreateItem, UpdateItem ...)
//     name the folder's content mailbox. Microsoft's procedure turns the
//     GUID in PR_REPLICA_LIST into GUID@domain and asks Autodiscover for
//     the mailbox's AutoDiscoverSMTPAddress. exmigrate never calls
//     Autodiscover (the URL is pinned), so it sends GUID@domain itself,
//     with the domain of onprem.public_folder_mailbox. That Exchange
//     routes a content request by GUID@domain as it does by the
//     AutoDiscoverSMTPAddress is an ASSUMPTION, not documented (Exchange
//     resolves a mailbox GUID in X-AnchorMailbox for its own clients).
//     A folder without a readable PR_REPLICA_LIST routes to the hierarchy
//     mailbox, which on a one-mailbox deployment holds the content too.
//
// Public folder ids and item ids handed out by a *Mailbox carry the
// content mailbox GUID they route to ("pf:" GUID ":" EWS id, see pfID;
// an empty GUID for the hierarchy mailbox), so that any later call on
// them (an item read, a write into the folder, the next run's lookups
// from recorded ids) routes without a lookup. They carry the GUID, not
// the address, so that a change of onprem.public_folder_mailbox does not
// change them (the engine derives its stamps from source ids); moving a
// folder's content to another mailbox (Move-PublicFolder) does.

// PublicFolders walks the public folder tree with recursive Shallow
// FindFolder from publicfoldersroot (Deep traversal is not supported there),
// sending X-AnchorMailbox and X-PublicFolderMailbox from the config. The ids
// are EWS ids, as the assessment reports them.
func (c *Client) PublicFolders(ctx context.Context) ([]mailbox.Folder, error) {
	tree, err := c.publicTree(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]mailbox.Folder, len(tree))
	for i, f := range tree {
		out[i] = f.Folder
	}
	return out, nil
}

// publicFolder is a public folder with EWS ids and the route of its
// content requests: its content mailbox GUID, "" for the hierarchy
// mailbox.
type publicFolder struct {
	mailbox.Folder
	route string
}

// errNoPublicFolderMailbox is what every public folder operation answers
// without onprem.public_folder_mailbox.
var errNoPublicFolderMailbox = mailbox.Permanent(fmt.Errorf("ews: public folders need onprem.public_folder_mailbox (the public folder hierarchy mailbox, sent as X-AnchorMailbox and X-PublicFolderMailbox), because Autodiscover is not used: %w", mailbox.ErrUnsupported))

// publicTree lists the tree root first, parents before children.
func (c *Client) publicTree(ctx context.Context) ([]publicFolder, error) {
	if c.cfg.PublicFolderMailbox == "" {
		return nil, errNoPublicFolderMailbox
	}
	root, err := c.publicRoot(ctx)
	if err != nil {
		return nil, fmt.Errorf("public folders: %w", err)
	}
	out := []publicFolder{root}
	for i := 0; i < len(out); i++ {
		if i > 0 && out[i].ChildCount == 0 {
			continue
		}
		kids, err := c.publicChildren(ctx, out[i].ID)
		if err != nil {
			return nil, fmt.Errorf("public folders under %q: %w", out[i].Path, err)
		}
		for _, k := range kids {
			k.Path = mailbox.JoinPath(out[i].Path, k.DisplayName)
			out = append(out, k)
		}
	}
	return out, nil
}

// publicChildren lists the folders directly under a public folder, with
// the hierarchy mailbox's routing (FindFolder is a hierarchy request).
func (c *Client) publicChildren(ctx context.Context, parentID string) ([]publicFolder, error) {
	var out []publicFolder
	err := c.findFolderXML(withPublicRoute(ctx, ""), "", parentID, false, true, func(x *folderXML) {
		out = append(out, publicFolder{Folder: x.folder(), route: c.contentRoute(x)})
	})
	return out, err
}

func (c *Client) publicRoot(ctx context.Context) (publicFolder, error) {
	r := c.newRequest("")
	gf := r.body.CreateElement("m:GetFolder")
	extTag(folderShape(gf), "0x6698", "Binary")
	c.folderRef(gf.CreateElement("m:FolderIds"), "publicfoldersroot", "")
	var resp getFolderResponse
	pf := c.cfg.PublicFolderMailbox
	err := c.do(ctx, call{op: "GetFolder", anchor: pf, publicMbx: pf, body: r.bytes(), idempotent: true}, func(rd io.Reader, st int) error {
		if err := decodeResponse(rd, "GetFolder", st, &resp); err != nil {
			return err
		}
		if len(resp.Messages) != 1 {
			return fmt.Errorf("EWS GetFolder: %d answers for one folder", len(resp.Messages))
		}
		return resp.Messages[0].err("GetFolder", -1)
	})
	if err != nil {
		return publicFolder{}, err
	}
	if len(resp.Messages[0].Folders.Folders) == 0 {
		return publicFolder{}, fmt.Errorf("EWS GetFolder: no public folder root in the answer")
	}
	x := &resp.Messages[0].Folders.Folders[0]
	f := publicFolder{Folder: x.folder(), route: c.contentRoute(x)}
	f.Path, f.ParentID = "", ""
	return f, nil
}

// guidRE is a mailbox GUID as PR_REPLICA_LIST spells it.
var guidRE = regexp.MustCompile(`^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$`)

// contentRoute is the route of a folder's content requests: the content
// mailbox GUID of its PR_REPLICA_LIST, or "" (the hierarchy mailbox)
// when the folder has no readable replica list.
func (c *Client) contentRoute(x *folderXML) string {
	for _, p := range x.ExtendedProperty {
		if p.tag() == 0x6698 {
			return replicaGUID(p.Value)
		}
	}
	return ""
}

// replicaGUID reads the content mailbox GUID from a PR_REPLICA_LIST
// value: base64 of the GUID's 36 ASCII characters, NUL-terminated (the
// how-to reads the first 36 bytes). Anything else is "".
func replicaGUID(b64 string) string {
	raw, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(b64), ""))
	if err != nil || len(raw) < 36 {
		return ""
	}
	guid := string(raw[:36])
	if !guidRE.MatchString(guid) || (len(raw) > 36 && raw[36] != 0) {
		return ""
	}
	return strings.ToLower(guid)
}

// routeKey is the context key of a public folder request's routing.
type routeKey struct{}

// withPublicRoute makes the requests made with ctx public folder requests
// routed to the content mailbox of that GUID ("" for the hierarchy
// mailbox): see Client.retry.
func withPublicRoute(ctx context.Context, guid string) context.Context {
	return context.WithValue(ctx, routeKey{}, publicRouteMark+guid)
}

// publicRouteMark tells a hierarchy route ("") from no route at all.
const publicRouteMark = "\x00"

// publicRouteOf is the mailbox a public folder request made with ctx
// names in its routing headers: GUID@domain of the hierarchy mailbox for
// a content mailbox, the hierarchy mailbox itself for "". It is "" for a
// request about a mailbox.
func (c *Client) publicRouteOf(ctx context.Context) string {
	v, _ := ctx.Value(routeKey{}).(string)
	guid, ok := strings.CutPrefix(v, publicRouteMark)
	if !ok {
		return ""
	}
	_, domain, _ := strings.Cut(c.cfg.PublicFolderMailbox, "@")
	if guid == "" || domain == "" {
		return c.cfg.PublicFolderMailbox
	}
	return guid + "@" + domain
}

// pfPrefix starts the ids of public folders and their items.
const pfPrefix = "pf:"

// pfID is the id a *Mailbox hands out for a public folder or item: the
// content mailbox GUID its content requests route to ("" for the
// hierarchy mailbox), then the EWS id. A GUID holds no ':', so the first
// ':' after the prefix ends the route.
func pfID(route, id string) string { return pfPrefix + route + ":" + id }

// splitPF undoes pfID; ok is false for an id that is not a public one.
func splitPF(id string) (route, raw string, ok bool) {
	rest, ok := strings.CutPrefix(id, pfPrefix)
	if !ok {
		return "", "", false
	}
	route, raw, ok = strings.Cut(rest, ":")
	if !ok || raw == "" || (route != "" && !guidRE.MatchString(route)) {
		return "", "", false
	}
	return route, raw, true
}

// public returns, for a public folder or item id, the context that routes
// its requests, the adapter that addresses no mailbox (no impersonation,
// no Mailbox element: the service account's own rights on public
// folders, as the hierarchy walk), the EWS id and the route.
func (m *Mailbox) public(ctx context.Context, id string) (context.Context, *Mailbox, string, string, bool) {
	route, raw, ok := splitPF(id)
	if !ok || m.address == "" {
		return ctx, m, id, "", false
	}
	m.mu.Lock()
	if m.pf == nil {
		m.pf = &Mailbox{c: m.c}
	}
	pm := m.pf
	m.mu.Unlock()
	return withPublicRoute(ctx, route), pm, raw, route, true
}

// publicFolders is Folders(ScopePublicFolders): the tree with ids that
// carry their routing, remembered for CreateFolder's paths.
func (m *Mailbox) publicFolders(ctx context.Context) ([]mailbox.Folder, error) {
	tree, err := m.c.publicTree(ctx)
	if err != nil {
		return nil, err
	}
	routes := map[string]string{}
	for _, f := range tree {
		routes[f.ID] = f.route
	}
	out := make([]mailbox.Folder, len(tree))
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, f := range tree {
		g := f.Folder
		g.ID = pfID(f.route, f.ID)
		if r, ok := routes[f.ParentID]; ok && i > 0 {
			g.ParentID = pfID(r, f.ParentID)
		} else {
			g.ParentID = ""
		}
		out[i] = g
		m.rememberLocked(g.ID, g.ID, g.Path)
	}
	return out, nil
}

// Listing states of a public folder (Changes): FindItem pages by offset.
const (
	pfListingAt   = "pf-listing:"
	pfListingDone = "pf-listing-complete"
)

// publicChanges is Changes on a public folder. SyncFolderItems is not
// supported for public folders (syncfolderitems-operation: "not supported
// for use against ... Public Folders"; the overview page that suggests it
// for public folder mailboxes is contradicted by the operation's own
// reference, and the fake follows the reference), so each round lists the
// folder whole with paged FindItem (ChangePage.Listing), with the item
// shape of SyncFolderItems: stamp, fingerprint, read state. One page a
// call; the state is the next page's offset. Items added or removed
// during a round can shift the pages: the next round lists them.
func (m *Mailbox) publicChanges(ctx context.Context, pm *Mailbox, folderID, raw, route, state string) (mailbox.ChangePage, error) {
	offset, err := listingOffset(state)
	if err != nil {
		return mailbox.ChangePage{}, fmt.Errorf("public folder %s: %w", folderID, err)
	}
	items, next, last, err := pm.c.findItemsPage(ctx, "", raw, nil, offset)
	if err != nil {
		return mailbox.ChangePage{}, fmt.Errorf("list public folder %s: %w", folderID, err)
	}
	page := mailbox.ChangePage{Listing: true, Resumed: offset > 0, State: pfListingDone}
	for _, it := range items {
		it.ID, it.FolderID = pfID(route, it.ID), folderID
		page.Changes = append(page.Changes, mailbox.Change{Kind: mailbox.ChangeCreated, Item: it})
	}
	if !last {
		page.State, page.More = pfListingAt+strconv.Itoa(next), true
	}
	return page, nil
}

// listingOffset is the FindItem offset a listing state resumes at: 0 for
// a new round, ErrSyncStateInvalid for a state no listing handed out (a
// SyncFolderItems state, say, after a folder's store changed).
func listingOffset(state string) (int, error) {
	switch {
	case state == "" || state == pfListingDone:
		return 0, nil
	case strings.HasPrefix(state, pfListingAt):
		n, err := strconv.Atoi(strings.TrimPrefix(state, pfListingAt))
		if err != nil || n < 0 {
			return 0, fmt.Errorf("listing state %q: %w", state, mailbox.ErrSyncStateInvalid)
		}
		return n, nil
	}
	return 0, fmt.Errorf("state %q is not a public folder listing's: %w", state, mailbox.ErrSyncStateInvalid)
}

// publicItems calls fn with each item of a public folder (Items, Stamps,
// FindBySourceID), with ids that carry the routing.
func publicItems(fn func(mailbox.Item) error, folderID, route string) func(mailbox.Item) error {
	return func(it mailbox.Item) error {
		it.ID, it.FolderID = pfID(route, it.ID), folderID
		return fn(it)
	}
}

// createPublicFolder is CreateFolder under a public folder: FindFolder and
// CreateFolder are hierarchy requests (to the hierarchy mailbox). The new
// folder's content mailbox comes from its PR_REPLICA_LIST, read with one
// more FindFolder of the parent.
func (m *Mailbox) createPublicFolder(ctx context.Context, parentID, rawParent, displayName, class string) (mailbox.Folder, error) {
	m.mu.Lock()
	parent, known := m.known[parentID]
	m.mu.Unlock()
	if !known {
		// A Mailbox that has not listed the tree yet (the engine lists it
		// first): list it once, for the parent's path.
		if _, err := m.publicFolders(ctx); err != nil {
			return mailbox.Folder{}, fmt.Errorf("create public folder %q: the parent's path: %w", displayName, err)
		}
		m.mu.Lock()
		parent, known = m.known[parentID]
		m.mu.Unlock()
		if !known {
			return mailbox.Folder{}, mailbox.Permanent(fmt.Errorf("create public folder %q: the parent %s is not in the public folder tree: %w", displayName, parentID, mailbox.ErrNotFound))
		}
	}
	parentPath := parent.path
	find := func() (mailbox.Folder, bool, error) {
		kids, err := m.c.publicChildren(ctx, rawParent)
		if err != nil {
			return mailbox.Folder{}, false, err
		}
		for _, k := range kids {
			if strings.EqualFold(k.DisplayName, displayName) {
				f := k.Folder
				f.ID, f.ParentID, f.Path = pfID(k.route, k.ID), parentID, mailbox.JoinPath(parentPath, k.DisplayName)
				m.mu.Lock()
				m.rememberLocked(f.ID, f.ID, f.Path)
				m.mu.Unlock()
				return f, true, nil
			}
		}
		return mailbox.Folder{}, false, nil
	}
	if f, ok, err := find(); err != nil || ok {
		if err != nil {
			err = fmt.Errorf("create public folder %q: %w", displayName, err)
		}
		return f, err
	}
	_, err := m.c.createFolder(withPublicRoute(ctx, ""), "", rawParent, displayName, class)
	var re *ResponseError
	if err != nil && !(errors.As(err, &re) && re.Code == "ErrorFolderExists") {
		return mailbox.Folder{}, fmt.Errorf("create public folder %q: %w", displayName, err)
	}
	f, ok, ferr := find()
	if ferr == nil && !ok {
		ferr = fmt.Errorf("EWS CreateFolder created public folder %q, and FindFolder does not list it", displayName)
	}
	if ferr != nil {
		return mailbox.Folder{}, fmt.Errorf("create public folder %q: %w", displayName, ferr)
	}
	return f, nil
}

// readPublicMIME is ReadMIME over ids among which some are public: each
// run of ids with one route is read with that route's headers (a mailbox
// id's run with the mailbox's), in order, and fn sees the ids as given.
func (m *Mailbox) readPublicMIME(ctx context.Context, ids []string, fn func(id string, mime io.Reader, err error) error) error {
	for len(ids) > 0 {
		route, _, public := splitPF(ids[0])
		n := 1
		for n < len(ids) {
			r, _, p := splitPF(ids[n])
			if p != public || r != route {
				break
			}
			n++
		}
		run := ids[:n]
		ids = ids[n:]
		if !public {
			if err := m.ReadMIME(ctx, run, fn); err != nil {
				return err
			}
			continue
		}
		pctx, pm, _, _, _ := m.public(ctx, run[0])
		raws := make([]string, len(run))
		given := make(map[string]string, len(run))
		for i, id := range run {
			_, raws[i], _ = splitPF(id)
			given[raws[i]] = id
		}
		if err := pm.ReadMIME(pctx, raws, func(raw string, mime io.Reader, err error) error {
			return fn(given[raw], mime, err)
		}); err != nil {
			return err
		}
	}
	return nil
}

// errPublicFullFidelity refuses ExportItems and UploadItems in public
// folders: Microsoft's list of the EWS operations that support public
// folders (public-folder-access-with-ews-in-exchange) does not name them.
func errPublicFullFidelity(what string) error {
	return mailbox.Permanent(fmt.Errorf("ews: %s in a public folder: ExportItems and UploadItems are not documented for public folders (copy them as MIME or typed): %w", what, mailbox.ErrUnsupported))
}
