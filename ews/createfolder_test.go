package ews_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/exmigrate/exmigrate/ews"
	"github.com/exmigrate/exmigrate/ews/ewstest"
	"github.com/exmigrate/exmigrate/mailbox"
)

// TestCreateFolderEmptyParentIsRoot pins that an empty parent id creates
// under the root of the primary tree (DistinguishedFolderId msgfolderroot,
// never an empty FolderId), returns Path and ParentID, and is idempotent.
func TestCreateFolderEmptyParentIsRoot(t *testing.T) {
	for _, imp := range []bool{true, false} {
		t.Run(fmt.Sprintf("impersonation=%t", imp), func(t *testing.T) {
			rec := &recorder{}
			e := newEnv(t, ewstest.WithRequestRecorder(rec.record))
			c := e.client(t, func(cfg *ews.Config) { cfg.Impersonation = imp })
			if !imp {
				e.srv.GrantFullAccess(testDomain, testUser, testMailbox)
			}
			box := c.Mailbox(testMailbox)
			ctx := context.Background()
			f1, err := box.CreateFolder(ctx, "", "Imported", "IPF.Note")
			if err != nil {
				t.Fatal(err)
			}
			root := e.mb.Root("msgfolderroot")
			stored := root.Child("Imported")
			if stored == nil {
				t.Fatal("no folder Imported under the root of the primary tree")
			}
			if f1.ID != stored.ID() || f1.Path != "Imported" || f1.ParentID != root.ID() || f1.DisplayName != "Imported" {
				t.Errorf("CreateFolder = %+v; want id %s, path Imported, parent %s", f1, stored.ID(), root.ID())
			}
			for _, body := range rec.reqs["CreateFolder"] {
				if !bytes.Contains(body, []byte(`DistinguishedFolderId Id="msgfolderroot"`)) || bytes.Contains(body, []byte(`Id=""`)) {
					t.Errorf("CreateFolder request does not name msgfolderroot as the parent:\n%s", body)
				}
			}
			f2, err := box.CreateFolder(ctx, "", "imported", "IPF.Note")
			if err != nil {
				t.Fatal(err)
			}
			if f2.ID != f1.ID || f2.Path != f1.Path || f2.ParentID != f1.ParentID {
				t.Errorf("second CreateFolder = %+v; want the first %+v", f2, f1)
			}
			if n := e.srv.Writes(); n != 1 {
				t.Errorf("writes = %d, want 1", n)
			}
		})
	}
}

// TestCreateFolderPath pins that CreateFolder fills Path whether or not
// the tree was listed before, for nested folders and idempotent calls.
func TestCreateFolderPath(t *testing.T) {
	for _, listed := range []bool{false, true} {
		t.Run(fmt.Sprintf("listed=%t", listed), func(t *testing.T) {
			e := newEnv(t)
			ctx := context.Background()
			box := e.c.Mailbox(testMailbox)
			projects := e.mb.Folder("Inbox/Projects")
			if listed {
				if _, err := box.Folders(ctx, mailbox.ScopePrimary); err != nil {
					t.Fatal(err)
				}
			}
			gets := e.srv.Requests("GetFolder")
			f, err := box.CreateFolder(ctx, projects.ID(), "2024", "IPF.Note")
			if err != nil {
				t.Fatal(err)
			}
			if f.Path != "Inbox/Projects/2024" || f.ParentID != projects.ID() || f.ID != projects.Child("2024").ID() {
				t.Errorf("CreateFolder = %+v; want path Inbox/Projects/2024 under %s", f, projects.ID())
			}
			if listed && e.srv.Requests("GetFolder") != gets {
				t.Errorf("CreateFolder sent %d GetFolder after Folders listed the tree", e.srv.Requests("GetFolder")-gets)
			}
			// A folder CreateFolder placed is known: its child needs no lookup.
			gets = e.srv.Requests("GetFolder")
			q, err := box.CreateFolder(ctx, f.ID, "Q1/Q2", "IPF.Note")
			if err != nil {
				t.Fatal(err)
			}
			if want := mailbox.JoinPath("Inbox/Projects/2024", "Q1/Q2"); q.Path != want || q.ParentID != f.ID {
				t.Errorf("nested CreateFolder = %+v; want path %q under %s", q, want, f.ID)
			}
			if n := e.srv.Requests("GetFolder") - gets; n != 0 {
				t.Errorf("nested CreateFolder sent %d GetFolder; its parent was just created", n)
			}
			again, err := box.CreateFolder(ctx, projects.ID(), "2024", "IPF.Note")
			if err != nil {
				t.Fatal(err)
			}
			if again.ID != f.ID || again.Path != f.Path {
				t.Errorf("second CreateFolder = %+v; want the first %+v", again, f)
			}
			if n := e.srv.Writes(); n != 2 {
				t.Errorf("writes = %d, want 2", n)
			}
		})
	}
}

// TestCreateFolderPathFromAFreshMailbox walks the parents of a parent the
// Mailbox has not seen: a distinguished name and a folder of the archive,
// whose paths start at their tree's root as in Folders.
func TestCreateFolderPathFromAFreshMailbox(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	old := e.mb.ArchiveFolder("2019/Old")
	for _, tc := range []struct {
		parent, name, want string
	}{
		{"inbox", "Imported", "Inbox/Imported"},
		{old.ID(), "Sub", "2019/Old/Sub"},
		{"archivemsgfolderroot", "Top", "Top"},
	} {
		box := e.c.Mailbox(testMailbox) // nothing known
		f, err := box.CreateFolder(ctx, tc.parent, tc.name, "IPF.Note")
		if err != nil {
			t.Fatalf("CreateFolder(%s, %s): %v", tc.parent, tc.name, err)
		}
		if f.Path != tc.want {
			t.Errorf("CreateFolder(%s, %s).Path = %q, want %q", tc.parent, tc.name, f.Path, tc.want)
		}
	}
	// The paths agree with those Folders lists.
	box := e.c.Mailbox(testMailbox)
	tree, err := box.Folders(ctx, mailbox.ScopeArchive)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range tree {
		found = found || f.Path == "2019/Old/Sub"
	}
	if !found {
		t.Errorf("Folders(archive) has no 2019/Old/Sub: %v", tree)
	}
}
