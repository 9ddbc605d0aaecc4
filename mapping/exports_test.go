package mapping

import (
	"strings"
	"testing"
)

func TestMailboxExport(t *testing.T) {
	x := &Exports{}
	in := "#TYPE Selected.Microsoft.Exchange.Data.Directory.Management.Mailbox\r\n\"PrimarySmtpAddress\",\"LitigationHoldEnabled\",\"ArchiveStatus\"\r\n\"Ann@contoso.com\",\"True\",\"Active\"\r\n\"bob@contoso.com\",\"False\",\"None\"\r\n"
	if err := x.ReadMailboxExport(strings.NewReader(in), "mbx.csv"); err != nil {
		t.Fatal(err)
	}
	if on, ok := x.LitigationHold["ann@contoso.com"]; !ok || !on {
		t.Errorf("ann: %v %v", on, ok)
	}
	if on, ok := x.LitigationHold["bob@contoso.com"]; !ok || on {
		t.Errorf("bob: %v %v", on, ok)
	}
}

func TestExportErrors(t *testing.T) {
	tests := []struct {
		name string
		read func(x *Exports, in string) error
		in   string
		want string
	}{
		{"missing column", func(x *Exports, in string) error { return x.ReadMailboxExport(strings.NewReader(in), "mbx.csv") },
			"PrimarySmtpAddress\na@b.com\n", `mbx.csv: no LitigationHoldEnabled column in the header (found "PrimarySmtpAddress"); export it with the command in the README`},
		{"bad bool and address", func(x *Exports, in string) error { return x.ReadMailboxExport(strings.NewReader(in), "mbx.csv") },
			"PrimarySmtpAddress,LitigationHoldEnabled\na@b.com,maybe\nnobody,True\n",
			"mbx.csv: 2 bad row(s):\n  line 2: LitigationHoldEnabled \"maybe\" is not True or False\n  line 3: PrimarySmtpAddress \"nobody\" is not an SMTP address like user@contoso.com"},
		{"unknown right", func(x *Exports, in string) error { return x.ReadPermissionExport(strings.NewReader(in), "perms.csv") },
			"Mailbox,User,AccessRights\na@b.com,CONTOSO\\eve,\"FullAccess, Owner\"\n",
			"perms.csv: 1 bad row(s):\n  line 2: AccessRights \"Owner\" is not FullAccess, SendAs or SendOnBehalf"},
		{"empty file", func(x *Exports, in string) error {
			return x.ReadFolderPermissionExport(strings.NewReader(in), "fp.csv")
		},
			"", "fp.csv: the file is empty or has no header row"},
	}
	for _, tt := range tests {
		err := tt.read(&Exports{}, tt.in)
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s:\n got: %v\nwant: %s", tt.name, err, tt.want)
		}
	}
}

func TestPermissionExportsMerge(t *testing.T) {
	x := &Exports{}
	perms := "Mailbox;User;AccessRights\nann@contoso.com;CONTOSO\\bob;FullAccess,ReadPermission\nann@contoso.com;carol@contoso.com;SendAs\n"
	if err := x.ReadPermissionExport(strings.NewReader(perms), "perms.csv"); err != nil {
		t.Fatal(err)
	}
	folders := "Mailbox,FolderPath,User,AccessRights\nann@contoso.com,\\Inbox\\Projects,Default,Reviewer\n"
	if err := x.ReadFolderPermissionExport(strings.NewReader(folders), "fp.csv"); err != nil {
		t.Fatal(err)
	}
	inv := MailboxInventory{Address: "Ann@Contoso.com"}
	x.Apply(&inv)
	if len(inv.MailboxPermissions) != 2 || inv.MailboxPermissions[0].Right != RightFullAccess || inv.MailboxPermissions[1].Right != RightSendAs {
		t.Errorf("mailbox permissions: %+v", inv.MailboxPermissions)
	}
	if len(inv.FolderPermissions) != 1 || inv.FolderPermissions[0].Folder != "Inbox/Projects" || inv.FolderPermissions[0].Level != "Reviewer" {
		t.Errorf("folder permissions: %+v", inv.FolderPermissions)
	}
	if inv.LitigationHold != nil {
		t.Error("litigation hold must stay unknown without a mailbox export")
	}
	var none *Exports
	none.Apply(&inv) // no exports: nothing happens, no panic
}

func FuzzExports(f *testing.F) {
	f.Add("PrimarySmtpAddress,LitigationHoldEnabled\na@b.com,True\n")
	f.Add("PrimarySmtpAddress,LitigationHoldEnabled,RecipientTypeDetails\na@b.com,True,SharedMailbox\nc@d.com,False,TeamMailbox\n")
	f.Add("Mailbox,User,AccessRights\na@b.com,x,FullAccess\n")
	f.Add("#TYPE x\nMailbox;FolderPath;User;AccessRights\na@b.com;\\Inbox;Default;Reviewer\n")
	f.Fuzz(func(t *testing.T, in string) {
		x := &Exports{}
		for _, read := range []func() error{
			func() error { return x.ReadMailboxExport(strings.NewReader(in), "f") },
			func() error { return x.ReadPermissionExport(strings.NewReader(in), "f") },
			func() error { return x.ReadFolderPermissionExport(strings.NewReader(in), "f") },
		} {
			if err := read(); err != nil && err.Error() == "" {
				t.Fatal("empty error")
			}
		}
		for addr := range x.LitigationHold {
			if !strings.Contains(addr, "@") || addr != strings.ToLower(addr) {
				t.Fatalf("bad key %q", addr)
			}
		}
		for addr, rt := range x.Types {
			if _, known := x.LitigationHold[addr]; !known || !strings.Contains(rt.detail, "RecipientTypeDetails") {
				t.Fatalf("type %+v of %q without its row or its source", rt, addr)
			}
			if (rt.typ == "") == !strings.Contains(rt.detail, "which is not") {
				t.Fatalf("type %q with detail %q", rt.typ, rt.detail)
			}
		}
		for addr, ps := range x.MailboxPermissions {
			for _, p := range ps {
				if !strings.Contains(addr, "@") || p.User == "" || p.Right == "" {
					t.Fatalf("bad permission %q %+v", addr, p)
				}
			}
		}
	})
}
