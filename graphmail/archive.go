package graphmail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/exmigrate/exmigrate/mailbox"
)

// ieBox names one mailbox of the import/export API: the primary (v1.0)
// or the main archive (beta, Config.ArchivePreview).
type ieBox int

const (
	primaryBox ieBox = iota
	archiveBox
)

// betaURL is a URL of Graph's beta endpoint, beside the configured v1.0
// root (resolve refuses ArchivePreview with a root that does not end in
// /v1.0).
func (c *Client) betaURL(path string, q url.Values) string {
	u := *c.base
	u.Path = strings.TrimSuffix(strings.TrimRight(u.Path, "/"), "/v1.0") + "/beta" + path
	u.RawPath = ""
	if q != nil {
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// ieURL is a URL below /admin/exchange/mailboxes/{mbx} of a box.
func (m *Mailbox) ieURL(ctx context.Context, box ieBox, rest string, q url.Values) (string, error) {
	if box == primaryBox {
		return m.adminURL(ctx, rest, q)
	}
	mbx, err := m.ArchiveMailboxID(ctx)
	if err != nil {
		return "", err
	}
	return m.c.betaURL("/admin/exchange/mailboxes/"+url.PathEscape(mbx)+rest, q), nil
}

// isArchiveFolder reports whether Folders or CreateFolder named the id
// as a folder of the archive.
func (m *Mailbox) isArchiveFolder(id string) bool {
	if id == "" {
		return false
	}
	m.ie.mu.Lock()
	defer m.ie.mu.Unlock()
	_, ok := m.ie.archiveFolders[id]
	return ok
}

// ieFolderOf is the box and import/export folder id of a folder that
// Folders or CreateFolder named.
func (m *Mailbox) ieFolderOf(ctx context.Context, folderID string) (ieBox, string, error) {
	if m.isArchiveFolder(folderID) {
		return archiveBox, folderID, nil
	}
	f, err := m.importFolder(ctx, folderID)
	return primaryBox, f, err
}

// archiveFingerprint reads an archive item's fingerprint through the
// import/export API (GET of the mailboxItem with the expand).
func (m *Mailbox) archiveFingerprint(ctx context.Context, folderID, itemID string) (string, error) {
	q := url.Values{"$select": {"id"}, "$expand": {ieItemExpand()}}
	u, err := m.ieURL(ctx, archiveBox, "/folders/"+urlPathEscape(folderID)+"/items/"+urlPathEscape(itemID), q)
	if err != nil {
		return "", err
	}
	op := "read the fingerprint of archive item " + itemID + " of " + m.address
	var w ieWireItem
	if err := m.getJSON(ctx, op, u, &w); err != nil {
		return "", err
	}
	fp, err := fingerprintOf(w.Props.get(searchKeyProp))
	if err != nil {
		return "", mailbox.Permanent(fmt.Errorf("graph: %s: %w", op, err))
	}
	return fp, nil
}

// ErrNoArchive: the mailbox has no archive (settings/exchange names no
// inPlaceArchiveMailboxId). It matches mailbox.ErrNotFound.
var ErrNoArchive = fmt.Errorf("the mailbox has no archive: %w", mailbox.ErrNotFound)

// errArchiveOff refuses the archive without Config.ArchivePreview.
var errArchiveOff = mailbox.Permanent(fmt.Errorf("graph: %w (Graph reaches an online archive only through the beta import/export API: set archive: preview on the graph endpoint (Config.ArchivePreview, with full_fidelity) to copy it)", ErrUnsupported))

func (m *Mailbox) archivePreview() error {
	if !m.c.cfg.ArchivePreview || !m.c.cfg.FullFidelity {
		return errArchiveOff
	}
	return nil
}

// ArchiveMailboxID is the id of the mailbox's main archive in the
// import/export API (GET /beta/users/{id}/settings/exchange,
// inPlaceArchiveMailboxId), read once. The archive guide says not to
// derive it: it is only read. A mailbox without an archive is
// ErrNoArchive.
func (m *Mailbox) ArchiveMailboxID(ctx context.Context) (string, error) {
	if err := m.archivePreview(); err != nil {
		return "", err
	}
	op := "read the archive mailbox id of " + m.address
	return m.exchangeSetting(ctx, op, m.c.betaURL(userPath(m.address)+"/settings/exchange", nil), "inPlaceArchiveMailboxId", &m.ie.archiveID,
		func() error {
			return mailbox.Permanent(fmt.Errorf("graph: %s: /beta/users/%s/settings/exchange names no inPlaceArchiveMailboxId: %w (enable the archive, Enable-Mailbox -Archive, or leave the archive store out of the job)", op, m.address, ErrNoArchive))
		})
}

// The archive through the beta import/export API (Config.ArchivePreview;
// items.md D2, D8): Folders(ScopeArchive) lists the main archive's
// folders with that API's ids, Changes lists an archive folder whole
// (ChangePage.Listing: the items delta takes no $expand, and the
// listing carries each item's fingerprint and stamp), OpenItem exports
// and CreateItem imports full-fidelity streams through it, CreateFolder
// creates archive folders. Auxiliary archives (auto-expanding
// archiving; learn.microsoft.com/graph/handle-archive-mailbox-redirects)
// are followed: a read's 308 by net/http (same host, so the token goes
// along; another host gets none), an export's
// ErrorArchiveFolderMovedPermanently by exporting again at the URL it
// names (checked to be this Graph host's import/export API), an import's
// 409 by a session of the mailbox it names, remembered for the folder.

// archiveLosses is what the archive write path does not carry.
const archiveLosses = fullFidelityLosses + "; the archive is reached through Graph's beta import/export API (a preview, subject to change)"

// archivePaths declares the archive's full-fidelity paths: the primary's
// (the same roles), in the archive store; writes also need to create
// the archive's folders through the import/export API
// (MailboxFolder.ReadWrite, D6).
func (m *Mailbox) archivePaths(caps *mailbox.Capabilities, roles *appRoles) {
	reads, writes := map[mailbox.Kind]bool{}, map[mailbox.Kind]bool{}
	canFolders := roles.has("MailboxFolder.ReadWrite.All", "MailboxFolder.ReadWrite")
	for _, p := range caps.Reads {
		if p.Store == mailbox.ScopePrimary && p.Format == mailbox.FormatFullFidelity {
			p.Store = mailbox.ScopeArchive
			caps.Reads = append(caps.Reads, p)
			reads[p.Kind] = true
		}
	}
	for _, p := range caps.Writes {
		if p.Store == mailbox.ScopePrimary && p.Format == mailbox.FormatFullFidelity && canFolders {
			p.Store, p.Loses = mailbox.ScopeArchive, archiveLosses
			caps.Writes = append(caps.Writes, p)
			writes[p.Kind] = true
		}
	}
	for _, k := range mailbox.Kinds() {
		sk := mailbox.StoreKind{Store: mailbox.ScopeArchive, Kind: k}
		switch {
		case reads[k] && writes[k]:
			delete(caps.Unsupported, sk)
		case reads[k] || writes[k]:
			caps.Unsupported[sk] = "the archive is read and written through the import/export API: grant the User.Read.All, MailboxFolder.ReadWrite.All, MailboxItem.Read.All and MailboxItem.ImportExport.All application permissions"
		case k == mailbox.KindOther:
			caps.Unsupported[sk] = "Graph's import/export API carries the archive's mail, calendar items, contacts, tasks and notes; other items are not copied"
		default:
			caps.Unsupported[sk] = "the archive is copied through Graph's import/export API: grant the User.Read.All, MailboxFolder.ReadWrite.All, MailboxItem.Read.All and MailboxItem.ImportExport.All application permissions"
		}
	}
}

// ieWireFolder is a mailboxFolder.
type ieWireFolder struct {
	ID               string `json:"id"`
	DisplayName      string `json:"displayName"`
	ParentFolderID   string `json:"parentFolderId"`
	Type             string `json:"type"`
	TotalItemCount   int64  `json:"totalItemCount"`
	ChildFolderCount int64  `json:"childFolderCount"`
}

// archiveFolders lists the main archive's folders, the root first (the
// folder whose parent is not listed) and every parent before its
// children. A second parentless folder is taken as a child of the root.
func (m *Mailbox) archiveFolders(ctx context.Context) ([]mailbox.Folder, error) {
	if err := m.archivePreview(); err != nil {
		return nil, fmt.Errorf("graph: folders of the archive of %s: %w", m.address, err)
	}
	ctx = m.ctx(ctx)
	u, err := m.ieURL(ctx, archiveBox, "/folders", url.Values{"$top": {fmt.Sprint(pageSize)}})
	if err != nil {
		return nil, err
	}
	var all []ieWireFolder
	err = listPaged(ctx, m, "list the archive folders of "+m.address, u, func(w ieWireFolder) error {
		all = append(all, w)
		return nil
	})
	if err != nil {
		return nil, err
	}
	out, err := archiveTree(all)
	if err != nil {
		return nil, mailbox.Permanent(fmt.Errorf("graph: list the archive folders of %s: %w", m.address, err))
	}
	m.ie.mu.Lock()
	if m.ie.archiveFolders == nil {
		m.ie.archiveFolders = map[string]FullFidelityFolder{}
	}
	for _, f := range out {
		m.ie.archiveFolders[f.ID] = FullFidelityFolder{ID: f.ID, ParentID: f.ParentID, Name: f.DisplayName, Class: f.Class, Path: f.Path, ItemCount: f.ItemCount, ChildCount: f.ChildCount}
	}
	m.ie.mu.Unlock()
	return out, nil
}

// archiveTree orders the archive's folders as Folders lists them: the
// root (the first folder whose parent is not listed; a second such
// folder is taken as its child) first and every parent before its
// children, with paths. A folder listed twice or not reachable from the
// root (a cycle) is left out, so that no answer makes it loop.
func archiveTree(all []ieWireFolder) ([]mailbox.Folder, error) {
	ids := map[string]bool{}
	for _, w := range all {
		ids[w.ID] = true
	}
	children := map[string][]ieWireFolder{}
	var roots []ieWireFolder
	for _, w := range all {
		if w.ParentFolderID == "" || !ids[w.ParentFolderID] {
			roots = append(roots, w)
			continue
		}
		children[w.ParentFolderID] = append(children[w.ParentFolderID], w)
	}
	if len(roots) == 0 || roots[0].ID == "" {
		return nil, errors.New("no root folder is listed")
	}
	root := roots[0]
	children[root.ID] = append(roots[1:], children[root.ID]...)
	class := func(w ieWireFolder) string {
		if w.Type == "" {
			return mailbox.ClassMailFolder
		}
		return w.Type
	}
	seen := map[string]bool{root.ID: true}
	out := []mailbox.Folder{{ID: root.ID, Class: class(root), DisplayName: root.DisplayName, ItemCount: root.TotalItemCount}}
	for i := 0; i < len(out); i++ {
		p := out[i]
		for _, c := range children[p.ID] {
			if c.ID == "" || seen[c.ID] {
				continue
			}
			seen[c.ID] = true
			out[i].ChildCount++
			out = append(out, mailbox.Folder{ID: c.ID, ParentID: p.ID, Path: mailbox.JoinPath(p.Path, c.DisplayName), DisplayName: c.DisplayName,
				Class: class(c), ItemCount: c.TotalItemCount})
		}
	}
	// A folder's own count, where the service gives one, beats the
	// children listed (some may be hidden from this listing).
	byID := map[string]ieWireFolder{}
	for _, w := range all {
		byID[w.ID] = w
	}
	for i := range out {
		if w := byID[out[i].ID]; i > 0 && w.ChildFolderCount > out[i].ChildCount {
			out[i].ChildCount = w.ChildFolderCount
		}
	}
	return out, nil
}

// archiveFolder is what Folders or CreateFolder named of an archive folder.
func (m *Mailbox) archiveFolder(id string) (FullFidelityFolder, bool) {
	m.ie.mu.Lock()
	defer m.ie.mu.Unlock()
	f, ok := m.ie.archiveFolders[id]
	return f, ok
}

// ieListItem is a mailboxItem of a listing with ieItemExpand.
type ieListItem struct {
	ID         string   `json:"id"`
	ChangeKey  string   `json:"changeKey"`
	Type       string   `json:"type"`
	Size       int64    `json:"size"`
	Categories []string `json:"categories"`
	Props      extProps `json:"singleValueExtendedProperties"`
}

// archiveItemsURL lists an archive folder's items with their stamp and
// fingerprint.
func (m *Mailbox) archiveItemsURL(ctx context.Context, folderID string) (string, error) {
	q := url.Values{"$top": {fmt.Sprint(pageSize)}, "$select": {"id,changeKey,type,size,categories"}, "$expand": {ieItemExpand()}}
	return m.ieURL(ctx, archiveBox, "/folders/"+urlPathEscape(folderID)+"/items", q)
}

// archiveItem is a listed archive item, remembered for OpenItem.
func (m *Mailbox) archiveItem(w ieListItem, folderID string) mailbox.Item {
	it := mailbox.Item{ID: w.ID, ChangeKey: w.ChangeKey, FolderID: folderID, Class: w.Type, SizeBytes: w.Size, Categories: w.Categories,
		SourceID: w.Props.get(sourceIDProp)}
	if fp, err := fingerprintOf(w.Props.get(searchKeyProp)); err == nil {
		it.Fingerprint = fp
	} else {
		m.c.log.Warn("archive item without a readable search key", "mailbox", m.address, "item", w.ID, "err", err)
	}
	m.remember(w.ID, it.Kind(), folderID)
	return it
}

// archiveChanges is one page of a listing round of an archive folder
// (ChangePage.Listing).
func (m *Mailbox) archiveChanges(ctx context.Context, folderID, state string) (mailbox.ChangePage, error) {
	op := "list archive folder " + folderID + " of " + m.address
	u := state
	if state == "" || state == listingDone {
		var err error
		if u, err = m.archiveItemsURL(ctx, folderID); err != nil {
			return mailbox.ChangePage{}, err
		}
	} else if err := m.ownLink(op, state); err != nil {
		return mailbox.ChangePage{}, err
	}
	return listingPage(ctx, m, op, u, state != "" && state != listingDone, func(w ieListItem) mailbox.Item { return m.archiveItem(w, folderID) })
}

// archiveItems pages through an archive folder's items.
func (m *Mailbox) archiveItems(ctx context.Context, folderID string, fn func(mailbox.Item) error) error {
	u, err := m.archiveItemsURL(ctx, folderID)
	if err != nil {
		return err
	}
	return listPaged(ctx, m, "list archive folder "+folderID+" of "+m.address, u, func(w ieListItem) error {
		return fn(m.archiveItem(w, folderID))
	})
}

// openArchiveItem exports one archive item; an item of an auxiliary
// archive is exported again at the URL the main archive named.
func (m *Mailbox) openArchiveItem(ctx context.Context, itemID string) (io.ReadCloser, error) {
	items, err := m.exportItemsIn(ctx, archiveBox, []string{itemID})
	for hop := 0; err == nil && hop < maxArchiveHops && len(items) == 1 && items[0].MovedTo != ""; hop++ {
		u, uerr := m.auxiliaryURL(items[0].MovedTo, "/exportItems")
		if uerr != nil {
			return nil, uerr
		}
		m.c.log.Debug("archive item in an auxiliary archive, exporting it there", "mailbox", m.address, "item", itemID)
		items, err = m.exportItemsAt(ctx, u, []string{itemID})
	}
	if err != nil {
		return nil, err
	}
	if len(items) != 1 || items[0].ItemID != itemID {
		return nil, mailbox.Permanent(fmt.Errorf("graph: export archive item %s of %s: the answer does not name it", itemID, m.address))
	}
	if items[0].Err != nil {
		return nil, items[0].Err
	}
	return io.NopCloser(bytes.NewReader(items[0].Data)), nil
}

// maxArchiveHops bounds the redirects one archive request follows.
const maxArchiveHops = 3

// auxiliaryURL checks a URL that the service named for an auxiliary
// archive before a token goes there: the configured Graph host and
// scheme, the beta import/export API's mailboxes, ending in suffix.
func (m *Mailbox) auxiliaryURL(raw, suffix string) (string, error) {
	u, err := url.Parse(raw)
	prefix := strings.TrimSuffix(strings.TrimRight(m.c.base.Path, "/"), "/v1.0") + "/beta/admin/exchange/mailboxes/"
	if err != nil || !strings.EqualFold(u.Scheme, m.c.base.Scheme) || !strings.EqualFold(u.Host, m.c.base.Host) ||
		!strings.HasPrefix(u.Path, prefix) || !strings.HasSuffix(u.Path, suffix) || u.User != nil {
		return "", mailbox.Permanent(fmt.Errorf("graph: the archive of %s named an auxiliary archive at %q, which is not an import/export URL of the configured Graph host: refused", m.address, raw))
	}
	return u.String(), nil
}

// auxiliaryOf is the auxiliary archive that imports into an archive
// folder go to, "" while none is known.
func (m *Mailbox) auxiliaryOf(box ieBox, folder string) string {
	if box != archiveBox {
		return ""
	}
	m.ie.mu.Lock()
	defer m.ie.mu.Unlock()
	return m.ie.auxiliary[folder]
}

func (m *Mailbox) setAuxiliary(folder, mbx string) {
	m.ie.mu.Lock()
	defer m.ie.mu.Unlock()
	if m.ie.auxiliary == nil {
		m.ie.auxiliary = map[string]string{}
	}
	m.ie.auxiliary[folder] = mbx
}

// auxiliaryMailbox finds the MBX id a 409 of an import names ("The
// target session is expected in mailbox MBX:....").
var auxiliaryMailbox = regexp.MustCompile(`MBX:[A-Za-z0-9-]+@[A-Za-z0-9-]+`)

// createArchiveFolder creates a folder under an archive folder, or
// returns the one of that name there (a 409, or ErrorFolderExists).
func (m *Mailbox) createArchiveFolder(ctx context.Context, parentID, displayName, class string) (mailbox.Folder, error) {
	ctx = m.ctx(ctx)
	parent, _ := m.archiveFolder(parentID)
	if class == "" {
		class = mailbox.ClassMailFolder
	}
	op := fmt.Sprintf("create folder %q under archive folder %s of %s", displayName, parentID, m.address)
	u, err := m.ieURL(ctx, archiveBox, "/folders/"+urlPathEscape(parentID)+"/childFolders", nil)
	if err != nil {
		return mailbox.Folder{}, err
	}
	var w ieWireFolder
	err = m.sendJSON(ctx, op, http.MethodPost, u, map[string]string{"displayName": displayName, "type": class}, &w)
	var ge *Error
	if err != nil && errors.As(err, &ge) && (ge.Code == "ErrorFolderExists" || ge.Status == http.StatusConflict) {
		// Idempotent: the folder of that name under that parent.
		q := url.Values{"$filter": {"displayName eq '" + odataQuote(displayName) + "'"}}
		lu, lerr := m.ieURL(ctx, archiveBox, "/folders", q)
		if lerr != nil {
			return mailbox.Folder{}, lerr
		}
		found := false
		lerr = listPaged(ctx, m, op, lu, func(x ieWireFolder) error {
			if !found && x.ParentFolderID == parentID && strings.EqualFold(x.DisplayName, displayName) {
				w, found = x, true
			}
			return nil
		})
		switch {
		case lerr != nil:
			return mailbox.Folder{}, lerr
		case !found:
			return mailbox.Folder{}, fmt.Errorf("%w (and no folder of that name is listed under it)", err)
		}
		err = nil
	}
	if err != nil {
		return mailbox.Folder{}, err
	}
	if w.Type == "" {
		w.Type = class
	}
	f := mailbox.Folder{ID: w.ID, ParentID: parentID, Path: mailbox.JoinPath(parent.Path, w.DisplayName), DisplayName: w.DisplayName,
		Class: w.Type, ItemCount: w.TotalItemCount, ChildCount: w.ChildFolderCount}
	m.ie.mu.Lock()
	m.ie.archiveFolders[f.ID] = FullFidelityFolder{ID: f.ID, ParentID: parentID, Name: f.DisplayName, Class: f.Class, Path: f.Path}
	m.ie.mu.Unlock()
	return f, nil
}

// errArchiveFullFidelityOnly refuses anything but a full-fidelity stream
// in the archive.
func (m *Mailbox) errArchiveFullFidelityOnly(what string) error {
	return mailbox.Permanent(fmt.Errorf("graph: %s in the archive of %s: the archive is reached through the import/export API, which carries full-fidelity streams only: %w", what, m.address, mailbox.ErrUnsupported))
}
