package graphmail

import (
	"context"
	"fmt"
	"net/url"
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
	m.ie.mu.Lock()
	id := m.ie.archiveID
	m.ie.mu.Unlock()
	if id != "" {
		return id, nil
	}
	var out struct {
		Archive string `json:"inPlaceArchiveMailboxId"`
	}
	op := "read the archive mailbox id of " + m.address
	if err := m.getJSON(m.ctx(ctx), op, m.c.betaURL(userPath(m.address)+"/settings/exchange", nil), &out); err != nil {
		return "", err
	}
	if out.Archive == "" {
		return "", mailbox.Permanent(fmt.Errorf("graph: %s: /beta/users/%s/settings/exchange names no inPlaceArchiveMailboxId: %w (enable the archive, Enable-Mailbox -Archive, or leave the archive store out of the job)", op, m.address, ErrNoArchive))
	}
	m.ie.mu.Lock()
	m.ie.archiveID = out.Archive
	m.ie.mu.Unlock()
	return out.Archive, nil
}
