package ewstest

import (
	"fmt"
	"slices"
	"strings"
)

// Distinguished users of every permission set.
const (
	DefaultUser   = "Default"   // every authenticated user without an entry of their own
	AnonymousUser = "Anonymous" // unauthenticated users
)

// Permission is one entry of a folder's permission set.
type Permission struct {
	// User is a mailbox's SMTP address, or DefaultUser or AnonymousUser.
	// Empty for an entry whose SID no longer resolves (a deleted user),
	// which Exchange answers with SID and DisplayName only.
	User        string
	DisplayName string // shown name; for a mailbox, its display name when empty
	SID         string
	// Level is a PermissionLevel (None, Owner, PublishingEditor, Editor,
	// PublishingAuthor, Author, NoneditingAuthor, Reviewer, Contributor,
	// Custom); calendar folders also take FreeBusyTimeOnly and
	// FreeBusyTimeAndSubjectAndLocation.
	Level string
}

// rights is what a level grants, in BasePermissionType order, then ReadItems.
type rights struct {
	create, subfolders, owner, visible, contact bool
	edit, del, read                             string
}

var levelRights = map[string]rights{
	"None":                              {edit: "None", del: "None", read: "None"},
	"Owner":                             {true, true, true, true, true, "All", "All", "FullDetails"},
	"PublishingEditor":                  {true, true, false, true, false, "All", "All", "FullDetails"},
	"Editor":                            {true, false, false, true, false, "All", "All", "FullDetails"},
	"PublishingAuthor":                  {true, true, false, true, false, "Owned", "Owned", "FullDetails"},
	"Author":                            {true, false, false, true, false, "Owned", "Owned", "FullDetails"},
	"NoneditingAuthor":                  {true, false, false, true, false, "None", "Owned", "FullDetails"},
	"Reviewer":                          {false, false, false, true, false, "None", "None", "FullDetails"},
	"Contributor":                       {true, false, false, true, false, "None", "None", "None"},
	"Custom":                            {false, false, false, true, false, "None", "None", "FullDetails"},
	"FreeBusyTimeOnly":                  {edit: "None", del: "None", read: "TimeOnly"},
	"FreeBusyTimeAndSubjectAndLocation": {edit: "None", del: "None", read: "TimeAndSubjectAndLocation"},
}

func calendarOnly(level string) bool { return strings.HasPrefix(level, "FreeBusy") }

// SetPermissions replaces the folder's permission set. Default and
// Anonymous stay at None unless p names them, as on a new Exchange
// folder. A level the folder's type does not take, or an entry with
// neither user nor SID, is a mistake in the test and panics.
func (f *FolderFixture) SetPermissions(p []Permission) {
	cal := strings.HasPrefix(f.folderClass(), "IPF.Appointment")
	for _, e := range p {
		if _, ok := levelRights[e.Level]; !ok || (calendarOnly(e.Level) && !cal) {
			panic(fmt.Sprintf("ewstest: permission level %q is not valid on folder %q", e.Level, f.f.name))
		}
		if e.User == "" && e.SID == "" {
			panic("ewstest: a permission needs a User or a SID")
		}
	}
	f.s.mu.Lock()
	f.f.perms = slices.Clone(p)
	f.f.updated = f.s.nextSeq()
	f.s.mu.Unlock()
}

func (f *FolderFixture) folderClass() string {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	return f.f.class
}

// Permissions returns the folder's permission set as GetFolder answers it:
// Default, Anonymous, then the other entries in the order they were set.
func (f *FolderFixture) Permissions() []Permission {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	return f.f.permissionSet()
}

// FailPermissions makes a GetFolder that asks for this folder's
// PermissionSet answer code (e.g. ErrorAccessDenied) in the folder's
// response message, the other folders of the batch unaffected. "" clears it.
func (f *FolderFixture) FailPermissions(code string) {
	f.s.mu.Lock()
	f.f.permErr = code
	f.s.mu.Unlock()
}

func (f *folder) permissionSet() []Permission {
	out := []Permission{{User: DefaultUser, Level: "None"}, {User: AnonymousUser, Level: "None"}}
	for _, p := range f.perms {
		switch {
		case strings.EqualFold(p.User, DefaultUser):
			out[0].Level = p.Level
		case strings.EqualFold(p.User, AnonymousUser):
			out[1].Level = p.Level
		default:
			out = append(out, p)
		}
	}
	return out
}

// writePermissionSet writes PermissionSetType, or CalendarPermissionSetType
// in a CalendarFolder, each entry in BasePermissionType order.
func (rc *reqCtx) writePermissionSet(x *xw, f *folder) {
	cal := folderElement(f.class) == "CalendarFolder"
	list, entry, level := "Permissions", "Permission", "PermissionLevel"
	if cal {
		list, entry, level = "CalendarPermissions", "CalendarPermission", "CalendarPermissionLevel"
	}
	x.start(nsTypes, "PermissionSet")
	x.start(nsTypes, list)
	for _, p := range f.permissionSet() {
		x.start(nsTypes, entry)
		x.start(nsTypes, "UserId")
		switch {
		case strings.EqualFold(p.User, DefaultUser) || strings.EqualFold(p.User, AnonymousUser):
			x.leaf(nsTypes, "DistinguishedUser", canonicalUser(p.User))
		default:
			if p.SID != "" {
				x.leaf(nsTypes, "SID", p.SID)
			}
			name := p.DisplayName
			if p.User != "" {
				x.leaf(nsTypes, "PrimarySmtpAddress", p.User)
				if mb := rc.s.mailboxes[strings.ToLower(p.User)]; name == "" && mb != nil {
					name = mb.display
				}
			}
			if name == "" && p.User == "" {
				name = "NT User:" + p.SID // how Exchange shows an unresolved SID
			}
			if name != "" {
				x.leaf(nsTypes, "DisplayName", name)
			}
		}
		x.end()
		r := levelRights[p.Level]
		x.leaf(nsTypes, "CanCreateItems", fmt.Sprint(r.create))
		x.leaf(nsTypes, "CanCreateSubFolders", fmt.Sprint(r.subfolders))
		x.leaf(nsTypes, "IsFolderOwner", fmt.Sprint(r.owner))
		x.leaf(nsTypes, "IsFolderVisible", fmt.Sprint(r.visible))
		x.leaf(nsTypes, "IsFolderContact", fmt.Sprint(r.contact))
		x.leaf(nsTypes, "EditItems", r.edit)
		x.leaf(nsTypes, "DeleteItems", r.del)
		x.leaf(nsTypes, "ReadItems", r.read)
		x.leaf(nsTypes, level, p.Level)
		x.end()
	}
	x.end()
	x.end()
}

func canonicalUser(u string) string {
	if strings.EqualFold(u, AnonymousUser) {
		return AnonymousUser
	}
	return DefaultUser
}
