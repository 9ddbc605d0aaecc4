package ews_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/exmigrate/exmigrate/ews"
	"github.com/exmigrate/exmigrate/ews/ewstest"
	"github.com/exmigrate/exmigrate/mailbox"
)

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// TestFolderPermissions reads the permission sets of a mailbox of more
// than MaxPermissionBatch folders: named users, Default and Anonymous, a
// calendar folder (CalendarPermissionSet), an unresolved SID, and one
// folder whose set cannot be read.
func TestFolderPermissions(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	const bulk = 130
	for i := range bulk {
		e.mb.Folder(fmt.Sprintf("Inbox/Bulk %03d", i))
	}
	e.srv.AddMailbox("bob@contoso.com")
	e.mb.Folder("Projects").SetPermissions([]ewstest.Permission{
		{User: ewstest.DefaultUser, Level: "Reviewer"},
		{User: "bob@contoso.com", Level: "Editor"},
		{SID: "S-1-5-21-1004336348-1177238915-682003330-1104", Level: "Author"},
	})
	e.mb.Root("calendar").SetPermissions([]ewstest.Permission{
		{User: ewstest.DefaultUser, Level: "FreeBusyTimeOnly"},
		{User: "bob@contoso.com", Level: "Editor"},
	})
	e.mb.Root("contacts").SetPermissions([]ewstest.Permission{{User: ewstest.AnonymousUser, Level: "Reviewer"}})
	e.mb.Folder("Inbox/Bulk 042").FailPermissions("ErrorAccessDenied")

	box := e.c.Mailbox(testMailbox)
	folders, err := box.Folders(ctx, mailbox.ScopePrimary)
	if err != nil {
		t.Fatal(err)
	}
	if len(folders)-1 <= ews.MaxPermissionBatch {
		t.Fatalf("%d folders: the test needs more than one batch", len(folders)-1)
	}
	before := e.srv.Requests("GetFolder")
	perms, err := box.FolderPermissions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The tree listed just before is reused: only the permission batches.
	if got, want := e.srv.Requests("GetFolder")-before, int64(ceilDiv(len(folders)-1, ews.MaxPermissionBatch)); got != want {
		t.Errorf("%d GetFolder requests for %d folders, want %d", got, len(folders)-1, want)
	}
	if n := e.srv.Requests("FindFolder"); n != 1 {
		t.Errorf("%d FindFolder requests, want 1 (the tree is not listed again)", n)
	}

	byFolder := map[string][]string{}
	for _, p := range perms {
		byFolder[p.Folder] = append(byFolder[p.Folder], p.User+"="+p.Level)
	}
	for _, f := range folders[1:] {
		got := byFolder[f.Path]
		if f.Path == "Inbox/Bulk 042" {
			if got != nil {
				t.Errorf("the folder whose set failed has entries %v", got)
			}
			continue
		}
		if len(got) < 2 || !strings.HasPrefix(got[0], "Default=") || !strings.HasPrefix(got[1], "Anonymous=") {
			t.Errorf("folder %q: %v, want Default and Anonymous first", f.Path, got)
		}
	}
	if _, ok := byFolder[""]; ok {
		t.Error("the root's permission set was read")
	}
	for path, want := range map[string][]string{
		"Projects": {"Default=Reviewer", "Anonymous=None", "bob@contoso.com=Editor",
			"NT User:S-1-5-21-1004336348-1177238915-682003330-1104=Author"},
		"Calendar":       {"Default=FreeBusyTimeOnly", "Anonymous=None", "bob@contoso.com=Editor"},
		"Contacts":       {"Default=None", "Anonymous=Reviewer"},
		"Inbox/Bulk 129": {"Default=None", "Anonymous=None"},
		"Inbox/Bulk 000": {"Default=None", "Anonymous=None"},
		"Deleted Items":  {"Default=None", "Anonymous=None"},
		"Inbox/Bulk 041": {"Default=None", "Anonymous=None"},
		"Inbox/Bulk 043": {"Default=None", "Anonymous=None"},
		"Inbox/Bulk 100": {"Default=None", "Anonymous=None"},
	} {
		if got := byFolder[path]; !slices.Equal(got, want) {
			t.Errorf("folder %q: %v, want %v", path, got, want)
		}
	}
	if got, want := len(byFolder), len(folders)-2; got != want {
		t.Errorf("permissions of %d folders, want %d (all but the root and the failed one)", got, want)
	}
}

// TestFolderPermissionsListsTheTree: without an earlier Folders call the
// tree is listed first.
func TestFolderPermissionsListsTheTree(t *testing.T) {
	e := newEnv(t)
	e.mb.Folder("Shared").SetPermissions([]ewstest.Permission{{User: "carol@contoso.com", Level: "Owner"}})
	perms, err := e.c.Mailbox(testMailbox).FolderPermissions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(perms, mailbox.FolderPermission{Folder: "Shared", User: "carol@contoso.com", Level: "Owner"}) {
		t.Errorf("carol's Owner on Shared missing from %v", perms)
	}
	if n := e.srv.Requests("FindFolder"); n != 1 {
		t.Errorf("%d FindFolder requests, want 1", n)
	}
}

// TestFolderPermissionsNothingReadable: when no folder's set can be read
// the call fails with the cause.
func TestFolderPermissionsNothingReadable(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	box := e.c.Mailbox(testMailbox)
	if _, err := box.Folders(ctx, mailbox.ScopePrimary); err != nil {
		t.Fatal(err)
	}
	// One batch (a new mailbox has fewer than 100 folders), every folder denied.
	e.srv.Inject(ewstest.Fault{Op: "GetFolder", Kind: ewstest.FaultCode, Code: "ErrorAccessDenied"})
	perms, err := box.FolderPermissions(ctx)
	if err == nil {
		t.Fatalf("no error, %d permissions", len(perms))
	}
	if !errors.Is(err, mailbox.ErrAccessDenied) || !strings.Contains(err.Error(), testMailbox) {
		t.Errorf("error %v: want one matching ErrAccessDenied that names the mailbox", err)
	}
}

// TestFolderPermissionsBatchFails: when every folder of one batch fails,
// the other batches are still read and the call succeeds with them.
func TestFolderPermissionsBatchFails(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	for i := range ews.MaxPermissionBatch {
		e.mb.Folder(fmt.Sprintf("Archive %03d", i))
	}
	box := e.c.Mailbox(testMailbox)
	folders, err := box.Folders(ctx, mailbox.ScopePrimary)
	if err != nil {
		t.Fatal(err)
	}
	// The first batch answers ErrorAccessDenied for each of its folders.
	e.srv.Inject(ewstest.Fault{Op: "GetFolder", Kind: ewstest.FaultCode, Code: "ErrorAccessDenied"})
	perms, err := box.FolderPermissions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	read := map[string]bool{}
	for _, p := range perms {
		read[p.Folder] = true
	}
	if want := len(folders) - 1 - ews.MaxPermissionBatch; len(read) != want {
		t.Errorf("permissions of %d folders, want %d (all but the failed batch)", len(read), want)
	}
	for _, f := range folders[1 : 1+ews.MaxPermissionBatch] {
		if read[f.Path] {
			t.Errorf("folder %q of the failed batch has entries", f.Path)
		}
	}
}
