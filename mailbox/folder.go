package mailbox

import "strings"

// WellKnown names a folder that every mailbox has, whatever its display
// language. The values are the EWS DistinguishedFolderId names, which Graph
// also accepts as well-known folder names (lower-case, without spaces).
type WellKnown string

// Well-known folders the copy engine maps by kind rather than by path.
const (
	NotWellKnown        WellKnown = ""
	RootFolder          WellKnown = "msgfolderroot"
	Inbox               WellKnown = "inbox"
	SentItems           WellKnown = "sentitems"
	DeletedItems        WellKnown = "deleteditems"
	Drafts              WellKnown = "drafts"
	JunkEmail           WellKnown = "junkemail"
	Outbox              WellKnown = "outbox"
	ArchiveFolder       WellKnown = "archive"
	ConversationHistory WellKnown = "conversationhistory"
	CalendarFolder      WellKnown = "calendar"
	ContactsFolder      WellKnown = "contacts"
	TasksFolder         WellKnown = "tasks"
	NotesFolder         WellKnown = "notes"
	JournalFolder       WellKnown = "journal"
)

// Folder classes (PR_CONTAINER_CLASS) the engines care about.
const (
	ClassMailFolder     = "IPF.Note"
	ClassCalendarFolder = "IPF.Appointment"
	ClassContactsFolder = "IPF.Contact"
	ClassTasksFolder    = "IPF.Task"
	ClassNotesFolder    = "IPF.StickyNote"
	ClassJournalFolder  = "IPF.Journal"
)

// Scope selects which folder tree of a mailbox an operation reads.
type Scope string

// The folder trees of one mailbox.
const (
	ScopePrimary     Scope = "primary"     // msgfolderroot
	ScopeArchive     Scope = "archive"     // archivemsgfolderroot
	ScopeRecoverable Scope = "recoverable" // recoverableitemsroot
)

// Folder is one folder of a mailbox as either side reports it.
type Folder struct {
	ID       string // the protocol's folder id, opaque outside its adapter
	ParentID string
	// Path is the display names from below the root joined by PathSeparator,
	// e.g. "Inbox/Projects/2024". The root itself has the empty path.
	Path        string
	DisplayName string
	WellKnown   WellKnown
	Class       string // container class, e.g. IPF.Note; empty means mail
	ItemCount   int64
	ChildCount  int64
	SizeBytes   int64 // 0 when the side does not report folder sizes
	Hidden      bool
}

// PathSeparator joins folder display names in Folder.Path. A display name
// containing the separator is escaped with EscapeName.
const PathSeparator = "/"

// EscapeName makes a display name safe to join into a Folder.Path.
func EscapeName(name string) string {
	return strings.NewReplacer(`\`, `\\`, `/`, `\/`).Replace(name)
}

// JoinPath appends one display name to a folder path.
func JoinPath(parent, name string) string {
	if parent == "" {
		return EscapeName(name)
	}
	return parent + PathSeparator + EscapeName(name)
}

// Depth is the number of levels below the root: "Inbox" is 1, "Inbox/A" is 2.
func (f Folder) Depth() int {
	if f.Path == "" {
		return 0
	}
	depth, escaped := 1, false
	for _, r := range f.Path {
		switch {
		case escaped:
			escaped = false
		case r == '\\':
			escaped = true
		case r == '/':
			depth++
		}
	}
	return depth
}

// IsMail reports whether the folder holds mail (IPF.Note or a sub-class, or
// no class at all, which Exchange treats as mail).
func (f Folder) IsMail() bool {
	return f.Class == "" || f.Class == ClassMailFolder || strings.HasPrefix(f.Class, ClassMailFolder+".")
}
