package ewstest_test

import (
	"reflect"
	"testing"

	"github.com/exmigrate/exmigrate/ews/ewstest"
)

// A folder's set always starts with Default and Anonymous, None unless set.
func TestPermissionsDefaultSet(t *testing.T) {
	srv := ewstest.NewServer()
	m := srv.AddMailbox("a@contoso.com")
	want := []ewstest.Permission{{User: "Default", Level: "None"}, {User: "Anonymous", Level: "None"}}
	if got := m.Folder("Inbox").Permissions(); !reflect.DeepEqual(got, want) {
		t.Errorf("new folder: %v, want %v", got, want)
	}
	f := m.Folder("Shared")
	f.SetPermissions([]ewstest.Permission{{User: "b@contoso.com", Level: "Editor"}, {User: "anonymous", Level: "Reviewer"}})
	want = []ewstest.Permission{{User: "Default", Level: "None"}, {User: "Anonymous", Level: "Reviewer"}, {User: "b@contoso.com", Level: "Editor"}}
	if got := f.Permissions(); !reflect.DeepEqual(got, want) {
		t.Errorf("after SetPermissions: %v, want %v", got, want)
	}
}

// Levels a folder does not take are refused, as Exchange refuses them.
func TestPermissionsInvalid(t *testing.T) {
	srv := ewstest.NewServer()
	m := srv.AddMailbox("a@contoso.com")
	for _, tc := range []struct {
		name   string
		folder *ewstest.FolderFixture
		p      ewstest.Permission
	}{
		{"free/busy on a mail folder", m.Folder("Inbox"), ewstest.Permission{User: "Default", Level: "FreeBusyTimeOnly"}},
		{"unknown level", m.Root("calendar"), ewstest.Permission{User: "b@contoso.com", Level: "Delegate"}},
		{"no user", m.Folder("Inbox"), ewstest.Permission{Level: "Reviewer"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			tc.folder.SetPermissions([]ewstest.Permission{tc.p})
		})
	}
	// Calendar folders take the free/busy levels.
	m.Root("calendar").SetPermissions([]ewstest.Permission{{User: "Default", Level: "FreeBusyTimeAndSubjectAndLocation"}})
}
