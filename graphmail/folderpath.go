package graphmail

import (
	"context"
	"fmt"

	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/exmigrate/exmigrate/mailbox"
)

// maxFolderDepth bounds the walk up a folder's parents; Exchange allows
// 300 levels.
const maxFolderDepth = 300

// folderPath is the path of a folder of the primary tree, from the cache
// the last Folders call filled, or by walking its parents up to
// msgfolderroot (one GET per level not yet known). CreateFolder uses it so
// that a folder it returns always carries its Path, whether or not the
// caller listed the tree first.
func (m *Mailbox) folderPath(ctx context.Context, id string) (string, error) {
	if id == "" || id == string(mailbox.RootFolder) {
		return "", nil
	}
	var names []string // from id upwards
	var ids []string
	cur := id
	for range maxFolderDepth {
		m.mu.Lock()
		p, ok := m.paths[cur]
		m.mu.Unlock()
		if ok {
			return m.cachePaths(p, ids, names), nil
		}
		f, err := m.user.MailFolders().ByMailFolderId(cur).Get(ctx, &users.ItemMailFoldersMailFolderItemRequestBuilderGetRequestConfiguration{
			QueryParameters: &users.ItemMailFoldersMailFolderItemRequestBuilderGetQueryParameters{Select: []string{"id", "displayName", "parentFolderId"}},
		})
		if err != nil {
			return "", wrapErr("path of folder "+id+" in "+m.address, err)
		}
		root, err := m.rootID(ctx)
		if err != nil {
			return "", err
		}
		if deref(f.GetId()) == root {
			return m.cachePaths("", ids, names), nil
		}
		ids = append(ids, deref(f.GetId()))
		names = append(names, deref(f.GetDisplayName()))
		cur = deref(f.GetParentFolderId())
		if cur == "" {
			break
		}
	}
	return "", fmt.Errorf("graph: folder %s of %s is not under msgfolderroot within %d levels", id, m.address, maxFolderDepth)
}

// cachePaths records the paths of a walked chain (ids[0] the deepest)
// below a known path and returns the deepest one's path.
func (m *Mailbox) cachePaths(top string, ids, names []string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := top
	for i := len(ids) - 1; i >= 0; i-- {
		p = mailbox.JoinPath(p, names[i])
		m.paths[ids[i]] = p
	}
	return p
}

// rootID is msgfolderroot's id, asked once per Mailbox.
func (m *Mailbox) rootID(ctx context.Context) (string, error) {
	m.mu.Lock()
	root := m.root
	m.mu.Unlock()
	if root != "" {
		return root, nil
	}
	f, err := m.user.MailFolders().ByMailFolderId(string(mailbox.RootFolder)).Get(ctx, &users.ItemMailFoldersMailFolderItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.ItemMailFoldersMailFolderItemRequestBuilderGetQueryParameters{Select: []string{"id"}},
	})
	if err != nil {
		return "", wrapErr("root folder of "+m.address, err)
	}
	id := deref(f.GetId())
	m.mu.Lock()
	m.root = id
	m.paths[id] = ""
	m.paths[string(mailbox.RootFolder)] = ""
	m.mu.Unlock()
	return id, nil
}
