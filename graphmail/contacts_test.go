package graphmail_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/exmigrate/exmigrate/graphmail"
	"github.com/exmigrate/exmigrate/mailbox"
	"github.com/exmigrate/exmigrate/mailbox/mailboxtest"
)

// TestContactFolderTree: contact folders nest, are listed after the mail
// tree with class IPF.Contact and the paths CreateFolder gave them, and a
// second CreateFolder of a name returns the same folder.
func TestContactFolderTree(t *testing.T) {
	l := newLab(t)
	l.srv.AddMailbox(alice, mailbox.TypeUser)
	mb := l.c.Mailbox(alice)
	ctx := ctxT(t)
	top, err := mb.CreateFolder(ctx, "", "Clients", mailbox.ClassContactsFolder)
	if err != nil {
		t.Fatal(err)
	}
	child, err := mb.CreateFolder(ctx, top.ID, "VIP", mailbox.ClassContactsFolder)
	if err != nil {
		t.Fatal(err)
	}
	again, err := l.c.Mailbox(alice).CreateFolder(ctx, "", "Clients", mailbox.ClassContactsFolder)
	if err != nil || again.ID != top.ID {
		t.Errorf("CreateFolder of an existing name = %+v, %v; want %s", again, err, top.ID)
	}
	def := l.srv.Mailbox(alice).ContactsFolderID()
	if top.Path != mailbox.JoinPath("Contacts", "Clients") || child.Path != mailbox.JoinPath(top.Path, "VIP") || child.ParentID != top.ID || top.ParentID != def {
		t.Errorf("created %+v and %+v, want them under the default Contacts folder %s", top, child, def)
	}
	// The default folder's own name at the top is that folder.
	if same, err := l.c.Mailbox(alice).CreateFolder(ctx, "", "contacts", mailbox.ClassContactsFolder); err != nil || same.ID != def || same.WellKnown != mailbox.ContactsFolder {
		t.Errorf("CreateFolder(Contacts) = %+v, %v; want the default Contacts folder", same, err)
	}
	folders, err := l.c.Mailbox(alice).Folders(ctx, mailbox.ScopePrimary)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]mailbox.Folder{}
	for _, f := range folders {
		got[f.ID] = f
	}
	if d := got[def]; d.WellKnown != mailbox.ContactsFolder || d.Path != "Contacts" || d.Class != mailbox.ClassContactsFolder || d.ParentID != folders[0].ID {
		t.Errorf("Folders lists the default Contacts folder as %+v", d)
	}
	for _, want := range []mailbox.Folder{top, child} {
		f, ok := got[want.ID]
		if !ok || f.Class != mailbox.ClassContactsFolder || f.Path != want.Path || f.ParentID != want.ParentID {
			t.Errorf("Folders lists %+v as %+v", want, f)
		}
	}
	if got[folders[0].ID].Class != mailbox.ClassMailFolder {
		t.Errorf("the first folder is %+v, want the mail root", folders[0])
	}
	// Graph nests contact folders in contact folders only.
	inbox := l.srv.Mailbox(alice).FolderID("Inbox")
	if _, err := mb.CreateFolder(ctx, inbox, "People", mailbox.ClassContactsFolder); !errors.Is(err, mailbox.ErrUnsupported) {
		t.Errorf("contact folder under the Inbox: %v, want ErrUnsupported", err)
	}
}

// TestContactsWithoutContactsRole: an app registered for mail only still
// lists the mail tree; contact folders are left out.
func TestContactsWithoutContactsRole(t *testing.T) {
	l := newLab(t)
	l.srv.AddMailbox(alice, mailbox.TypeUser)
	const mailOnly = "88888888-bbbb-cccc-dddd-eeeeeeeeeeee"
	l.srv.AddApp(tenantID, mailOnly, secret, "Mail.ReadWrite")
	mb := l.client(t, func(c *graphmail.Config) { c.ClientID = mailOnly }).Mailbox(alice)
	folders, err := mb.Folders(ctxT(t), mailbox.ScopePrimary)
	if err != nil || len(folders) == 0 {
		t.Fatalf("Folders = %d folders, %v", len(folders), err)
	}
	if _, err := mb.CreateFolder(ctxT(t), "", "People", mailbox.ClassContactsFolder); !errors.Is(err, mailbox.ErrAccessDenied) || !mailbox.IsPermanent(err) {
		t.Errorf("CreateFolder(IPF.Contact) without Contacts.ReadWrite: %v, want a permanent ErrAccessDenied (the folder fails, not the mailbox)", err)
	}
	// The declarations follow the token: without a contacts role the kind
	// is not carried, with the fix in the reason, so the engine plans a
	// finding instead of failing on the folder; with Contacts.Read only,
	// contacts are read but not written.
	tests := []struct {
		roles         []string
		reads, writes bool
		reason        string
	}{
		{[]string{"Mail.ReadWrite"}, false, false, "no Contacts.ReadWrite"},
		{[]string{"Mail.ReadWrite", "Contacts.Read"}, true, false, "Contacts.Read only"},
		{[]string{"Mail.ReadWrite", "Contacts.ReadWrite"}, true, true, ""},
	}
	for i, tt := range tests {
		app := fmt.Sprintf("88888888-bbbb-cccc-dddd-%012d", i+1)
		l.srv.AddApp(tenantID, app, secret, tt.roles...)
		caps := l.client(t, func(c *graphmail.Config) { c.ClientID = app }).Mailbox(alice).Capabilities()
		reads := len(caps.Reader(mailbox.ScopePrimary, mailbox.KindContacts)) > 0
		writes := len(caps.Writer(mailbox.ScopePrimary, mailbox.KindContacts)) > 0
		reason := caps.Unsupported[mailbox.StoreKind{Store: mailbox.ScopePrimary, Kind: mailbox.KindContacts}]
		if reads != tt.reads || writes != tt.writes || (tt.reason == "") != (reason == "") || !strings.Contains(reason, tt.reason) {
			t.Errorf("roles %v: reads %v writes %v reason %q; want %v %v %q", tt.roles, reads, writes, reason, tt.reads, tt.writes, tt.reason)
		}
		if len(caps.Reader(mailbox.ScopePrimary, mailbox.KindMail)) == 0 {
			t.Errorf("roles %v: mail no longer declared", tt.roles)
		}
	}
}

// TestContactChanges: the contact delta pages to the end, reports a new
// contact in the next round, and an expired link is ErrSyncStateInvalid.
func TestContactChanges(t *testing.T) {
	l := newLab(t)
	l.srv.AddMailbox(alice, mailbox.TypeUser)
	mb := l.c.Mailbox(alice)
	ctx := ctxT(t)
	fd, err := mb.CreateFolder(ctx, "", "Clients", mailbox.ClassContactsFolder)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, src string) string {
		c := mailboxtest.SampleContact()
		c.DisplayName = name
		body, err := mailbox.EncodeContact(c)
		if err != nil {
			t.Fatal(err)
		}
		id, err := mb.CreateItem(ctx, fd.ID, mailbox.Payload{Item: mailbox.Item{Class: mailbox.ClassContact}, SourceID: src,
			Format: mailbox.FormatTyped, Body: bytes.NewReader(body), Size: int64(len(body))})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	for i := range graphmail.SyncPageSize + 1 {
		write("Contact", "src-"+string(rune('a'+i%26))+string(rune('a'+i/26)))
	}
	state, n, pages := "", 0, 0
	for {
		page, err := mb.Changes(ctx, fd.ID, state)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, c := range page.Changes {
			if c.Kind != mailbox.ChangeCreated || c.Item.Kind() != mailbox.KindContacts || c.Item.FolderID != fd.ID {
				t.Fatalf("change %+v", c)
			}
		}
		n += len(page.Changes)
		state = page.State
		if !page.More {
			break
		}
	}
	if n != graphmail.SyncPageSize+1 || pages != 2 {
		t.Errorf("first round: %d changes in %d pages, want %d in 2", n, pages, graphmail.SyncPageSize+1)
	}
	id := write("Late", "src-late")
	page, err := mb.Changes(ctx, fd.ID, state)
	if err != nil || len(page.Changes) != 1 || page.Changes[0].Item.ID != id || page.Changes[0].Item.Subject != "Late" {
		t.Errorf("second round = %+v, %v; want the one new contact", page, err)
	}
	l.srv.ExpireDeltaTokens()
	if _, err := mb.Changes(ctx, fd.ID, page.State); !errors.Is(err, mailbox.ErrSyncStateInvalid) {
		t.Errorf("expired delta link: %v, want ErrSyncStateInvalid", err)
	}
	if _, err := mb.OpenItem(ctx, id, mailbox.FormatMIME); err == nil {
		t.Error("a contact opened as MIME")
	}
}

// TestContactsFolderOfAnEmptyMailbox: a mailbox with no contact folder
// and no contact names its default Contacts folder nowhere; the adapter
// lists a stand-in for it (well-known contacts), which CreateFolder of its
// name returns without a write, and whose contacts go to /contacts, the
// default folder. Listed again, the folder has its real id and the contact.
func TestContactsFolderOfAnEmptyMailbox(t *testing.T) {
	l := newLab(t)
	fx := l.srv.AddMailbox(alice, mailbox.TypeUser)
	ctx := ctxT(t)
	mb := l.c.Mailbox(alice)
	folders, err := mb.Folders(ctx, mailbox.ScopePrimary)
	if err != nil {
		t.Fatal(err)
	}
	var stand mailbox.Folder
	for _, f := range folders {
		if f.Class == mailbox.ClassContactsFolder {
			stand = f
		}
	}
	if stand.WellKnown != mailbox.ContactsFolder || stand.Path != "Contacts" || stand.ID == "" {
		t.Fatalf("an empty mailbox lists its Contacts folder as %+v", stand)
	}
	writes := l.srv.Writes()
	def, err := mb.CreateFolder(ctx, "", "Contacts", mailbox.ClassContactsFolder)
	if err != nil || def.ID != stand.ID || l.srv.Writes() != writes {
		t.Fatalf("CreateFolder(Contacts) = %+v, %v with %d writes; want the listed folder and no write", def, err, l.srv.Writes()-writes)
	}
	if page, err := mb.Changes(ctx, def.ID, ""); err != nil || len(page.Changes) != 0 {
		t.Errorf("Changes of the empty default folder = %+v, %v", page, err)
	}
	body, _ := mailbox.EncodeContact(mailbox.Contact{DisplayName: "Ana"})
	id, err := mb.CreateItem(ctx, def.ID, mailbox.Payload{Item: mailbox.Item{Class: mailbox.ClassContact}, SourceID: "s-1",
		Format: mailbox.FormatTyped, Body: bytes.NewReader(body), Size: int64(len(body))})
	if err != nil {
		t.Fatal(err)
	}
	if got, ok, err := mb.FindBySourceID(ctx, def.ID, "s-1"); err != nil || !ok || got != id {
		t.Errorf("FindBySourceID in the stand-in = %q, %v, %v; want %s", got, ok, err, id)
	}
	if c := fx.Contacts(fx.ContactsFolderID()); len(c) != 1 || c[0].ID != id {
		t.Fatalf("the default folder holds %+v, want the contact", c)
	}
	fresh := l.c.Mailbox(alice)
	folders, err = fresh.Folders(ctx, mailbox.ScopePrimary)
	if err != nil {
		t.Fatal(err)
	}
	var listed []mailbox.Folder
	for _, f := range folders {
		if f.Class == mailbox.ClassContactsFolder {
			listed = append(listed, f)
		}
	}
	if len(listed) != 1 || listed[0].ID != fx.ContactsFolderID() || listed[0].WellKnown != mailbox.ContactsFolder || listed[0].ItemCount != 1 {
		t.Fatalf("contact folders listed: %+v, want the default one with its id and 1 item", listed)
	}
	var items []mailbox.Item
	if err := fresh.Items(ctx, listed[0].ID, func(it mailbox.Item) error { items = append(items, it); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 || items[0].ID != id || items[0].SourceID != "s-1" || items[0].Kind() != mailbox.KindContacts {
		t.Errorf("Items of the default Contacts folder = %+v", items)
	}
	// In an empty mailbox, a folder made at the top lands in the default
	// folder, whose id it names.
	other := l.c.Mailbox(l.srv.AddMailbox("bob@contoso.example", mailbox.TypeUser).Address())
	if _, err := other.Folders(ctx, mailbox.ScopePrimary); err != nil {
		t.Fatal(err)
	}
	f, err := other.CreateFolder(ctx, "", "Clients", mailbox.ClassContactsFolder)
	if bobDef := l.srv.Mailbox("bob@contoso.example").ContactsFolderID(); err != nil || f.ParentID != bobDef || f.Path != mailbox.JoinPath("Contacts", "Clients") {
		t.Errorf("CreateFolder(Clients) in an empty mailbox = %+v, %v; want it under %s", f, err, bobDef)
	}
}
