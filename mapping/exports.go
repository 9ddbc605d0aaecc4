package mapping

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/exmigrate/exmigrate/internal/csvinput"
	"github.com/exmigrate/exmigrate/mailbox"
)

// Exports are what Exchange PowerShell knows and neither EWS nor Graph
// shows: litigation hold, mailbox permissions (Full Access, Send As, Send on
// Behalf) and folder permissions. The engineer exports them to CSV with the
// commands in the README, and the assessment merges them per mailbox.
type Exports struct {
	LitigationHold map[string]bool // lower-cased address -> enabled
	// Types are the RecipientTypeDetails of the mailbox export, when it
	// has the column: the one source that tells a user mailbox from a
	// shared or equipment one (EWS cannot).
	Types              map[string]recipientType
	MailboxPermissions map[string][]MailboxPermission
	FolderPermissions  map[string][]FolderPermission
}

// Apply merges what the exports know about one mailbox into its inventory.
func (x *Exports) Apply(inv *MailboxInventory) {
	if x == nil {
		return
	}
	key := strings.ToLower(inv.Address)
	if on, ok := x.LitigationHold[key]; ok {
		inv.LitigationHold = &on
	}
	if rt, ok := x.Types[key]; ok {
		inv.Type, inv.TypeDetail = rt.typ, rt.detail
	}
	inv.MailboxPermissions = append(inv.MailboxPermissions, x.MailboxPermissions[key]...)
	inv.FolderPermissions = append(inv.FolderPermissions, x.FolderPermissions[key]...)
}

func parseBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "true", "yes", "1", "$true":
		return true, nil
	case "false", "no", "0", "$false", "":
		return false, nil
	}
	return false, fmt.Errorf("%q is not True or False", s)
}

func addressColumn(get func(string) string, names ...string) (string, error) {
	for _, n := range names {
		if v := get(n); v != "" {
			addr, err := csvinput.NormaliseAddress(v)
			if err != nil {
				return "", fmt.Errorf("%s %v", n, err)
			}
			return strings.ToLower(addr), nil
		}
	}
	return "", fmt.Errorf("%s is empty", names[0])
}

// recipientType is a mailbox type read from RecipientTypeDetails, and
// what the export said.
type recipientType struct {
	typ    mailbox.MailboxType
	detail string
}

// recipientTypes maps RecipientTypeDetails to mailbox types, on-premises
// and remote (a mailbox already in Exchange Online, as on-premises sees it).
var recipientTypes = map[string]mailbox.MailboxType{
	"usermailbox": mailbox.TypeUser, "linkedmailbox": mailbox.TypeUser, "remoteusermailbox": mailbox.TypeUser,
	"sharedmailbox": mailbox.TypeShared, "remotesharedmailbox": mailbox.TypeShared,
	"roommailbox": mailbox.TypeRoom, "remoteroommailbox": mailbox.TypeRoom, "linkedroommailbox": mailbox.TypeRoom,
	"equipmentmailbox": mailbox.TypeEquipment, "remoteequipmentmailbox": mailbox.TypeEquipment,
}

// ReadMailboxExport reads `Get-Mailbox | Select-Object PrimarySmtpAddress,
// LitigationHoldEnabled,RecipientTypeDetails | Export-Csv`;
// RecipientTypeDetails may be left out.
func (x *Exports) ReadMailboxExport(r io.Reader, name string) error {
	if x.LitigationHold == nil {
		x.LitigationHold = map[string]bool{}
	}
	if x.Types == nil {
		x.Types = map[string]recipientType{}
	}
	return csvinput.ReadTable(r, name, []string{"PrimarySmtpAddress", "LitigationHoldEnabled"}, func(_ int, get func(string) string) error {
		addr, err := addressColumn(get, "PrimarySmtpAddress")
		if err != nil {
			return err
		}
		on, err := parseBool(get("LitigationHoldEnabled"))
		if err != nil {
			return fmt.Errorf("LitigationHoldEnabled %v", err)
		}
		x.LitigationHold[addr] = on
		if rtd := get("RecipientTypeDetails"); rtd != "" {
			t, known := recipientTypes[strings.ToLower(rtd)]
			detail := "RecipientTypeDetails " + rtd + " in the Get-Mailbox export"
			if !known {
				detail += ", which is not a user, shared, room or equipment mailbox"
			}
			x.Types[addr] = recipientType{typ: t, detail: detail}
		}
		return nil
	})
}

// ReadPermissionExport reads mailbox permissions with the columns Mailbox,
// User and AccessRights (FullAccess, SendAs, SendOnBehalf; several may be
// comma-separated in one cell).
func (x *Exports) ReadPermissionExport(r io.Reader, name string) error {
	if x.MailboxPermissions == nil {
		x.MailboxPermissions = map[string][]MailboxPermission{}
	}
	return csvinput.ReadTable(r, name, []string{"Mailbox", "User", "AccessRights"}, func(_ int, get func(string) string) error {
		addr, err := addressColumn(get, "Mailbox")
		if err != nil {
			return err
		}
		user := get("User")
		if user == "" {
			return errors.New("the User column is empty")
		}
		for _, right := range strings.FieldsFunc(get("AccessRights"), func(r rune) bool { return r == ',' || r == ';' || r == ' ' }) {
			var canonical string
			switch strings.ToLower(right) {
			case "fullaccess":
				canonical = RightFullAccess
			case "sendas", "extendedright", "send-as":
				canonical = RightSendAs
			case "sendonbehalf", "sendonbehalfto", "grantsendonbehalfto":
				canonical = RightSendOnBehalf
			case "readpermission", "changepermission", "changeowner", "deleteitem", "externalaccount":
				continue // rights that do not move a mailbox's access
			default:
				return fmt.Errorf("AccessRights %q is not FullAccess, SendAs or SendOnBehalf", right)
			}
			x.MailboxPermissions[addr] = append(x.MailboxPermissions[addr], MailboxPermission{User: user, Right: canonical})
		}
		return nil
	})
}

// ReadFolderPermissionExport reads folder permissions with the columns
// Mailbox, FolderPath and User, and AccessRights (a role such as Reviewer
// or Editor).
func (x *Exports) ReadFolderPermissionExport(r io.Reader, name string) error {
	if x.FolderPermissions == nil {
		x.FolderPermissions = map[string][]FolderPermission{}
	}
	return csvinput.ReadTable(r, name, []string{"Mailbox", "FolderPath", "User", "AccessRights"}, func(_ int, get func(string) string) error {
		addr, err := addressColumn(get, "Mailbox")
		if err != nil {
			return err
		}
		folder := strings.Trim(strings.ReplaceAll(get("FolderPath"), `\`, "/"), "/")
		if folder == "" {
			folder = "Top of Information Store"
		}
		user, level := get("User"), get("AccessRights")
		if user == "" || level == "" {
			return errors.New("the User and AccessRights columns must not be empty")
		}
		x.FolderPermissions[addr] = append(x.FolderPermissions[addr], FolderPermission{Folder: folder, User: user, Level: level})
		return nil
	})
}

// LoadExports reads the export files that are given (empty paths are
// skipped).
func LoadExports(mailboxCSV, permissionsCSV, folderPermissionsCSV string) (*Exports, error) {
	x := &Exports{}
	for _, f := range []struct {
		path string
		read func(io.Reader, string) error
	}{{mailboxCSV, x.ReadMailboxExport}, {permissionsCSV, x.ReadPermissionExport}, {folderPermissionsCSV, x.ReadFolderPermissionExport}} {
		if f.path == "" {
			continue
		}
		fh, err := os.Open(f.path)
		if err != nil {
			return nil, err
		}
		err = f.read(fh, f.path)
		fh.Close()
		if err != nil {
			return nil, err
		}
	}
	return x, nil
}
