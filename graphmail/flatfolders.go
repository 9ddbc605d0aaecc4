package graphmail

import (
	"context"
	"fmt"
	"strings"

	"github.com/exmigrate/exmigrate/mailbox"
)

// Calendars and To Do lists are flat in Graph: they do not nest and live
// beside the mail tree, so graphmail shows each as a folder of its class
// under the root, the default one first as its well-known folder.

// flatKind is one kind of flat folder: its class, the well-known name of
// its default one, and the set (calFolders, todoFolders) that remembers
// the ids of its folders.
type flatKind struct {
	class     string
	wellKnown mailbox.WellKnown
	known     map[string]bool
}

// folder is a flat folder as graphmail shows it.
func (k flatKind) folder(id, name, rootID string) mailbox.Folder {
	return mailbox.Folder{ID: id, ParentID: rootID, DisplayName: name, Path: mailbox.JoinPath("", name), Class: k.class}
}

// remember notes the folders as of this kind, with their paths.
func (k flatKind) remember(m *Mailbox, fs ...mailbox.Folder) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, f := range fs {
		k.known[f.ID] = true
		m.paths[f.ID] = f.Path
	}
}

// listFlat lists the flat folders at u (each decoded as a T that of
// reads), the default one first.
func listFlat[T any](ctx context.Context, m *Mailbox, k flatKind, op, u, rootID string, of func(T) (id, name string, isDefault bool)) ([]mailbox.Folder, error) {
	var out []mailbox.Folder
	err := listPaged(ctx, m, op, u, func(v T) error {
		id, name, isDefault := of(v)
		f := k.folder(id, name, rootID)
		if isDefault {
			f.WellKnown = k.wellKnown
			out = append([]mailbox.Folder{f}, out...)
		} else {
			out = append(out, f)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	k.remember(m, out...)
	return out, nil
}

// countedFolders lists folders with list and gives each its item count.
func countedFolders(ctx context.Context, rootID string, list func(context.Context, string) ([]mailbox.Folder, error), count func(context.Context, string) (int64, error)) ([]mailbox.Folder, error) {
	fs, err := list(ctx, rootID)
	if err != nil {
		return nil, err
	}
	for i := range fs {
		if fs[i].ItemCount, err = count(ctx, fs[i].ID); err != nil {
			return nil, err
		}
	}
	return fs, nil
}

// createFlat returns the flat folder of that name, listed by list, or
// makes one with create: Graph would take a second of one name, so
// graphmail looks first. what names the kind ("calendar") and why says
// that it does not nest, in the error of a parent other than the root.
func (m *Mailbox) createFlat(ctx context.Context, k flatKind, parentID, displayName, what, why string,
	list func(ctx context.Context, rootID string) ([]mailbox.Folder, error), create func() (id, name string, err error)) (mailbox.Folder, error) {
	if parentID != "" && parentID != string(mailbox.RootFolder) && parentID != m.knownRoot() {
		return mailbox.Folder{}, mailbox.Permanent(fmt.Errorf("graph: create %s %q under %s in %s: %w (%s)", what, displayName, parentID, m.address, mailbox.ErrUnsupported, why))
	}
	rootID, err := m.rootID(ctx)
	if err != nil {
		return mailbox.Folder{}, err
	}
	existing, err := list(ctx, rootID)
	if err != nil {
		return mailbox.Folder{}, err
	}
	for _, f := range existing {
		if strings.EqualFold(f.DisplayName, displayName) {
			return f, nil
		}
	}
	id, name, err := create()
	if err != nil {
		return mailbox.Folder{}, err
	}
	f := k.folder(id, name, rootID)
	k.remember(m, f)
	return f, nil
}
