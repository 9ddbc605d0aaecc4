package graphmail

import (
	"context"
	"net/url"
	"strings"

	"github.com/exmigrate/exmigrate/mailbox"
)

// Recoverable Items (reference items.md E8): Graph v1.0's mail API reads
// the well-known folder recoverableitemsdeletions, the Deletions folder
// of the Recoverable Items tree, as any mail folder (delta, $value).
// Versions and Purges have no documented Graph name, and no write into
// Recoverable Items is documented: Folders(ScopeRecoverable) lists the
// tree's root and Deletions only, and Capabilities declares a mail read.

// recoverableDeletions is Deletions' well-known name in Graph.
const recoverableDeletions mailbox.WellKnown = "recoverableitemsdeletions"

// recoverableRootPrefix makes the root's id when Graph names no parent of
// Deletions: an id no Graph request is sent with.
const recoverableRootPrefix = "exmigrate-recoverable-root:"

// recoverableUnsupported says why Recoverable Items is not carried
// further than the Deletions folder's mail.
const recoverableUnsupported = "Graph reads only the mail of Recoverable Items\\Deletions (recoverableitemsdeletions) and documents no write into Recoverable Items; Versions and Purges have no documented Graph name"

// recoverableFolders is the Recoverable Items root (Path "") and its
// Deletions folder (Path "Deletions"), whatever its display language.
func (m *Mailbox) recoverableFolders(ctx context.Context) ([]mailbox.Folder, error) {
	ctx = m.ctx(ctx)
	var w struct {
		ID               string `json:"id"`
		DisplayName      string `json:"displayName"`
		ParentFolderID   string `json:"parentFolderId"`
		TotalItemCount   int64  `json:"totalItemCount"`
		ChildFolderCount int64  `json:"childFolderCount"`
	}
	q := url.Values{"$select": {"id,displayName,parentFolderId,totalItemCount,childFolderCount"}}
	op := "read Recoverable Items\\Deletions of " + m.address
	if err := m.getJSON(ctx, op, m.c.graphURL(userPath(m.address)+"/mailFolders/"+string(recoverableDeletions), q), &w); err != nil {
		return nil, err
	}
	root := w.ParentFolderID
	if root == "" {
		root = recoverableRootPrefix + w.ID
	}
	m.mu.Lock()
	m.recoverableRoot = root
	m.paths[w.ID] = "Deletions"
	m.mu.Unlock()
	return []mailbox.Folder{
		{ID: root, Class: mailbox.ClassMailFolder, ChildCount: 1},
		// Only Deletions is named: its subfolders, if any, are not
		// listed (ChildCount 0 says so to the planner).
		{ID: w.ID, ParentID: root, Path: "Deletions", DisplayName: w.DisplayName, WellKnown: recoverableDeletions,
			Class: mailbox.ClassMailFolder, ItemCount: w.TotalItemCount},
	}, nil
}

// isRecoverableRoot reports the root that recoverableFolders named: it
// has no Graph name and holds no item of its own, so its Changes are
// empty without a request.
func (m *Mailbox) isRecoverableRoot(id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return id != "" && (id == m.recoverableRoot || strings.HasPrefix(id, recoverableRootPrefix))
}
