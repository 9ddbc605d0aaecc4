package mailboxtest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/mailbox"
)

// Sandbox runs the suite inside one fresh folder of a real mailbox, for the
// live runs against an engineer's own Exchange server or tenant: it creates
// "exmigrate-conformance-<time>" under the primary root and returns a
// Mailbox that treats that folder as the root (an empty parent id creates
// under it, Folders lists only its subtree with paths relative to it).
// Nothing outside it is touched. The folder is left in place for the
// engineer to inspect and delete: the contract has no delete.
func Sandbox(t *testing.T, mb Mailbox) Mailbox {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	name := fmt.Sprintf("exmigrate-conformance-%s-%s", time.Now().UTC().Format("20060102T150405.000"), strings.ReplaceAll(t.Name(), "/", "-"))
	root, err := mb.CreateFolder(ctx, "", name, mailbox.ClassMailFolder)
	if err != nil {
		t.Fatalf("sandbox folder %q: %v", name, err)
	}
	t.Logf("conformance sandbox: folder %q of the test mailbox", root.Path)
	return &sandbox{Mailbox: mb, root: root}
}

type sandbox struct {
	Mailbox
	root mailbox.Folder
}

func (s *sandbox) rel(f mailbox.Folder) mailbox.Folder {
	switch {
	case f.ID == s.root.ID:
		f.Path, f.ParentID = "", ""
	case strings.HasPrefix(f.Path, s.root.Path+mailbox.PathSeparator):
		f.Path = strings.TrimPrefix(f.Path, s.root.Path+mailbox.PathSeparator)
	}
	return f
}

func (s *sandbox) Folders(ctx context.Context, scope mailbox.Scope) ([]mailbox.Folder, error) {
	all, err := s.Mailbox.Folders(ctx, scope)
	if err != nil || scope != mailbox.ScopePrimary {
		return all, err
	}
	in := map[string]bool{s.root.ID: true}
	var out []mailbox.Folder
	for _, f := range all {
		if f.ID == s.root.ID || in[f.ParentID] {
			in[f.ID] = true
			out = append(out, s.rel(f))
		}
	}
	return out, nil
}

func (s *sandbox) CreateFolder(ctx context.Context, parentID, displayName, class string) (mailbox.Folder, error) {
	if parentID == "" {
		parentID = s.root.ID
	}
	f, err := s.Mailbox.CreateFolder(ctx, parentID, displayName, class)
	if err != nil {
		return f, err
	}
	return s.rel(f), nil
}
