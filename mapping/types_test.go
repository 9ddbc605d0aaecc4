package mapping

import (
	"strings"
	"testing"

	"github.com/exmigrate/exmigrate/mailbox"
)

// TestMailboxExportTypes reads RecipientTypeDetails from the Get-Mailbox
// export, the one source that tells user, shared and equipment mailboxes
// apart, and applies it over what EWS said.
func TestMailboxExportTypes(t *testing.T) {
	in := "\"PrimarySmtpAddress\",\"LitigationHoldEnabled\",\"RecipientTypeDetails\"\r\n" +
		"\"ann@contoso.com\",\"False\",\"UserMailbox\"\r\n\"finance@contoso.com\",\"False\",\"SharedMailbox\"\r\n" +
		"\"room@contoso.com\",\"False\",\"RoomMailbox\"\r\n\"beamer@contoso.com\",\"False\",\"EquipmentMailbox\"\r\n" +
		"\"moved@contoso.com\",\"False\",\"RemoteSharedMailbox\"\r\n\"disco@contoso.com\",\"False\",\"DiscoveryMailbox\"\r\n" +
		"\"blank@contoso.com\",\"False\",\"\"\r\n"
	var x Exports
	if err := x.ReadMailboxExport(strings.NewReader(in), "mbx.csv"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		address string
		ews     mailbox.MailboxType // what the inventory held before
		want    mailbox.MailboxType
		detail  string
	}{
		{"ann@contoso.com", "", mailbox.TypeUser, "RecipientTypeDetails UserMailbox in the Get-Mailbox export"},
		{"FINANCE@contoso.com", "", mailbox.TypeShared, "SharedMailbox"},
		{"room@contoso.com", mailbox.TypeRoom, mailbox.TypeRoom, "RoomMailbox"},
		{"beamer@contoso.com", "", mailbox.TypeEquipment, "EquipmentMailbox"},
		{"moved@contoso.com", "", mailbox.TypeShared, "RemoteSharedMailbox"},
		{"disco@contoso.com", "", mailbox.TypeUnknown, "DiscoveryMailbox in the Get-Mailbox export, which is not a user, shared, room or equipment mailbox"},
		{"blank@contoso.com", mailbox.TypeRoom, mailbox.TypeRoom, "from EWS"},
		{"other@contoso.com", "", mailbox.TypeUnknown, "from EWS"},
	}
	for _, tc := range tests {
		inv := MailboxInventory{Address: tc.address, Type: tc.ews, TypeDetail: "from EWS"}
		x.Apply(&inv)
		if inv.Type != tc.want || !strings.Contains(inv.TypeDetail, tc.detail) {
			t.Errorf("%s: %q (%s), want %q with %q", tc.address, inv.Type, inv.TypeDetail, tc.want, tc.detail)
		}
	}
}

// TestTypeNeverSilentlyUnknown: an assessment whose type is unknown says
// why, whatever the inventory said.
func TestTypeNeverSilentlyUnknown(t *testing.T) {
	tests := []struct {
		inv  MailboxInventory
		typ  mailbox.MailboxType
		want string
	}{
		{MailboxInventory{Address: "a@x", Type: mailbox.TypeRoom, TypeDetail: "in the room list r@x"}, mailbox.TypeRoom, "in the room list r@x"},
		{MailboxInventory{Address: "a@x", Type: mailbox.TypeUser}, mailbox.TypeUser, ""},
		{MailboxInventory{Address: "a@x", TypeDetail: "a mailbox in no room list"}, "", "a mailbox in no room list"},
		{MailboxInventory{Address: "a@x"}, "", "did not report its type"},
		{MailboxInventory{Address: "a@x", Err: mailbox.ErrAccessDenied}, "", "could not be read"},
	}
	for _, tc := range tests {
		a, _ := Assess(tc.inv, Limits{})
		if a.Type != tc.typ || (tc.want == "" && a.TypeDetail != "") || !strings.Contains(a.TypeDetail, tc.want) {
			t.Errorf("%+v: type %q (%q), want %q with %q", tc.inv, a.Type, a.TypeDetail, tc.typ, tc.want)
		}
	}
}
