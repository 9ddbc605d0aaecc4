package mapping

import (
	"slices"
	"testing"

	"github.com/exmigrate/exmigrate/mailbox"
)

// A delegate's rights come both from GetDelegate and from the permission
// sets: each user+folder pair is reported once, by the delegate finding.
func TestFolderPermissionsDeduplicated(t *testing.T) {
	in := cleanInventory()
	// A German mailbox: the delegate's Inbox and Calendar have localised paths.
	in.Folders = append(in.Folders,
		mailbox.Folder{ID: "cal", ParentID: "root", Path: "Kalender", DisplayName: "Kalender", WellKnown: mailbox.CalendarFolder, Class: mailbox.ClassCalendarFolder},
		mailbox.Folder{ID: "tasks", ParentID: "root", Path: "Aufgaben", DisplayName: "Aufgaben", WellKnown: mailbox.TasksFolder, Class: mailbox.ClassTasksFolder})
	in.Delegates = []mailbox.Delegate{{User: "asst@contoso.com",
		Permissions: map[string]string{"Calendar": "Editor", "Inbox": "Reviewer", "Tasks": "None"}}}
	in.FolderPermissions = []FolderPermission{
		{Folder: "Kalender", User: "Default", Level: "FreeBusyTimeOnly"},
		{Folder: "Kalender", User: "ASST@contoso.com", Level: "Editor"},       // the delegate's, by path
		{Folder: "Inbox", User: "asst@contoso.com", Level: "Reviewer"},        // the delegate's, by name
		{Folder: "Aufgaben", User: "asst@contoso.com", Level: "Author"},       // more than the delegate's None: reported
		{Folder: "Inbox/Projects", User: "asst@contoso.com", Level: "Editor"}, // not a delegate folder
		{Folder: "Inbox/Projects", User: "asst@contoso.com", Level: "Editor"}, // listed twice (export and EWS)
		{Folder: "Inbox/Projects", User: "Anonymous", Level: "None"},
	}
	_, fs := Assess(in, Limits{})
	var got []string
	for _, f := range fs {
		if f.Code == CodeDelegate || f.Code == CodeFolderPermission {
			got = append(got, f.Code+" "+f.Object)
		}
	}
	slices.Sort(got)
	want := []string{
		CodeDelegate + " asst@contoso.com",
		CodeFolderPermission + " Aufgaben (asst@contoso.com)",
		CodeFolderPermission + " Inbox (asst@contoso.com)", // from the delegate finding
		CodeFolderPermission + " Inbox/Projects (asst@contoso.com)",
		CodeFolderPermission + " Kalender (Default)",
	}
	if !slices.Equal(got, want) {
		t.Errorf("findings\n got %q\nwant %q", got, want)
	}
}

// Without delegates every entry above None is reported once.
func TestFolderPermissionsWithoutDelegates(t *testing.T) {
	in := cleanInventory()
	in.FolderPermissions = []FolderPermission{
		{Folder: "Inbox", User: "asst@contoso.com", Level: "Reviewer"},
		{Folder: "Inbox/Projects", User: "Default", Level: "Reviewer"},
		{Folder: "Inbox/Projects", User: "Default", Level: "None"},
	}
	_, fs := Assess(in, Limits{})
	n := 0
	for _, f := range fs {
		if f.Code == CodeFolderPermission {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d folder permission findings, want 2: %+v", n, fs)
	}
}
