package mailbox

import (
	"fmt"
	"strings"
)

// Location says where a mailbox lives in a hybrid organisation.
type Location string

// Locations. Auto asks the dispatcher to detect it.
const (
	LocationAuto   Location = "auto"
	LocationOnPrem Location = "onprem"
	LocationCloud  Location = "cloud"
)

// ParseLocation accepts the spellings engineers write in a CSV.
func ParseLocation(s string) (Location, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "auto":
		return LocationAuto, nil
	case "onprem", "on-prem", "on-premises", "onpremises", "ews":
		return LocationOnPrem, nil
	case "cloud", "exo", "online", "exchangeonline", "graph":
		return LocationCloud, nil
	}
	return "", fmt.Errorf("unknown location %q: use onprem, cloud or auto", s)
}

// MailboxType is what kind of mailbox an address belongs to.
type MailboxType string

// Mailbox types (Graph mailboxSettings userPurpose, EWS recipient type).
const (
	TypeUnknown   MailboxType = ""
	TypeUser      MailboxType = "user"
	TypeShared    MailboxType = "shared"
	TypeRoom      MailboxType = "room"
	TypeEquipment MailboxType = "equipment"
)

// Delegate is one delegate of a mailbox with the folder permissions it holds.
type Delegate struct {
	User string // primary SMTP address, or the display name when unresolved
	// Permissions maps a folder (Calendar, Inbox, Contacts, Tasks, Notes,
	// Journal) to its level (None, Reviewer, Author, Editor, Custom).
	Permissions              map[string]string
	ReceiveCopiesOfMeetings  bool
	ViewPrivateItems         bool
	DeliverMeetingRequestsTo string // DelegatesOnly, DelegatesAndMe, DelegatesAndSendInformationToMe, NoForward
}

// Hold is an In-Place hold (eDiscovery) that covers a mailbox.
type Hold struct {
	ID     string
	Name   string
	Query  string
	Status string
}

// FolderPermission is one entry of a folder's permission set (who may do
// what in the folder), as delegates and shared folders leave them.
type FolderPermission struct {
	Folder string // folder path, as Folder.Path
	User   string // SMTP address or display name; Default and Anonymous included
	Level  string // None, Reviewer, Author, Editor, Owner, Custom ...
}
