package ews_test

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/exmigrate/exmigrate/ews/ewstest"
	"github.com/exmigrate/exmigrate/mailbox"
	"github.com/exmigrate/exmigrate/mailbox/mailboxtest"
)

// fullContact fills every field of the model, each list to its limit.
func fullContact() mailbox.Contact {
	c := mailboxtest.SampleContact()
	c.EmailAddresses = append(c.EmailAddresses, mailbox.ContactEmail{Address: "a.lima@contoso.com"})
	c.ImAddresses = []string{"sip:ana.lima@fabrikam.com", "ana.lima@im.example", "xmpp:ana@example.org"}
	c.OtherAddress = &mailbox.PostalAddress{Street: "Rua Augusta 1", City: "Lisboa", CountryOrRegion: "Portugal"}
	return c
}

// TestContactRoundTrip writes contacts through CreateItem and reads them
// back through GetItem: every field that is set comes back as it went,
// and nothing that was not set appears.
func TestContactRoundTrip(t *testing.T) {
	full := fullContact()
	cases := []struct {
		name string
		c    mailbox.Contact
	}{
		{"every field", full},
		{"names only", mailbox.Contact{DisplayName: "Bob", GivenName: "Bob"}},
		{"e-mail without a name", mailbox.Contact{EmailAddresses: []mailbox.ContactEmail{{Address: "x@example.org"}}}},
		{"second phones only", mailbox.Contact{BusinessPhones: []string{"1", "2"}, HomePhones: []string{"3", "4"}}},
		{"address with some fields", mailbox.Contact{BusinessAddr: &mailbox.PostalAddress{City: "Oslo"}}},
		{"birthday on a leap day", mailbox.Contact{Birthday: "2000-02-29"}},
		{"notes over several lines", mailbox.Contact{PersonalNotes: "line one\nline two & <three>"}},
		{"title only", mailbox.Contact{Title: "Prof."}},
		{"empty", mailbox.Contact{}},
	}
	e := newEnv(t)
	box := e.c.Mailbox(testMailbox)
	ctx := context.Background()
	fd, err := box.CreateFolder(ctx, "", "Typed contacts", mailbox.ClassContactsFolder)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body, err := mailbox.EncodeContact(tc.c)
			if err != nil {
				t.Fatal(err)
			}
			id, err := box.CreateItem(ctx, fd.ID, mailbox.Payload{Item: mailbox.Item{Class: mailbox.ClassContact}, SourceID: "src-" + tc.name,
				Format: mailbox.FormatTyped, Body: bytes.NewReader(body), Size: int64(len(body))})
			if err != nil {
				t.Fatalf("CreateItem: %v", err)
			}
			rc, err := box.OpenItem(ctx, id, mailbox.FormatTyped)
			if err != nil {
				t.Fatalf("OpenItem: %v", err)
			}
			got, err := mailbox.DecodeContact(rc)
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			want, _ := mailbox.DecodeContact(bytes.NewReader(body)) // normalised as a reader sees it
			if !reflect.DeepEqual(got, want) {
				t.Errorf("read back\n got %#v\nwant %#v", got, want)
			}
			if found, ok, err := box.FindBySourceID(ctx, fd.ID, "src-"+tc.name); err != nil || !ok || found != id {
				t.Errorf("FindBySourceID = (%q, %v, %v), want (%q, true, nil)", found, ok, err, id)
			}
		})
	}
	// SyncFolderItems and the stamp listing report the contacts as such,
	// each with its stamp.
	changes, _, _ := syncAll(t, box, fd.ID, "")
	stamped := 0
	if err := box.Stamps(ctx, fd.ID, func(it mailbox.Item) error { stamped++; return nil }); err != nil {
		t.Fatal(err)
	}
	if len(changes) != len(cases) || stamped != len(cases) {
		t.Fatalf("%d changes and %d stamped items, want %d", len(changes), stamped, len(cases))
	}
	for _, ch := range changes {
		if ch.Kind != mailbox.ChangeCreated || ch.Item.Class != mailbox.ClassContact || ch.Item.SourceID == "" {
			t.Errorf("change %+v, want a created IPM.Contact with its stamp", ch)
		}
	}
}

// TestContactTypedRefused: typed is for contacts; mail read or written as
// typed, and a contact written as MIME, are ErrUnsupported and permanent.
func TestContactTypedRefused(t *testing.T) {
	e := newEnv(t)
	box := e.c.Mailbox(testMailbox)
	ctx := context.Background()
	mailID := e.mb.Folder("Inbox").AddItem(ewstest.Item{MIME: mime("Plain mail", 100)})
	body, _ := mailbox.EncodeContact(mailbox.Contact{DisplayName: "X"})
	cases := []struct {
		name string
		run  func() error
	}{
		{"mail read as typed", func() error { _, err := box.OpenItem(ctx, mailID, mailbox.FormatTyped); return err }},
		{"contact written as MIME", func() error {
			_, err := box.CreateItem(ctx, "contacts", mailbox.Payload{Item: mailbox.Item{Class: mailbox.ClassContact}, Format: mailbox.FormatMIME,
				Body: bytes.NewReader(body)})
			return err
		}},
		{"mail written as typed", func() error {
			_, err := box.CreateItem(ctx, "inbox", mailbox.Payload{Item: mailbox.Item{Class: mailbox.ClassMessage}, Format: mailbox.FormatTyped,
				Body: bytes.NewReader(body)})
			return err
		}},
		{"an unknown format", func() error { _, err := box.OpenItem(ctx, mailID, mailbox.Format("rtf")); return err }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run()
			if !errors.Is(err, mailbox.ErrUnsupported) || !mailbox.IsPermanent(err) {
				t.Errorf("got %v, want a permanent ErrUnsupported", err)
			}
		})
	}
	// A typed body that is not a contact is refused before anything is written.
	_, err := box.CreateItem(ctx, "contacts", mailbox.Payload{Item: mailbox.Item{Class: mailbox.ClassContact}, Format: mailbox.FormatTyped,
		Body: bytes.NewReader([]byte(`{"kind":"tasks","v":1,"item":{}}`))})
	if !errors.Is(err, mailbox.ErrBadTyped) || !mailbox.IsPermanent(err) {
		t.Errorf("a typed body of another kind: %v, want a permanent ErrBadTyped", err)
	}
}

// TestContactCapabilities: contacts are declared typed both ways in the
// primary and archive stores (beside full fidelity), and no longer listed
// as not carried there; in Recoverable Items they are read in full
// fidelity only.
func TestContactCapabilities(t *testing.T) {
	e := newEnv(t)
	caps := e.c.Mailbox(testMailbox).Capabilities()
	for _, store := range []mailbox.Scope{mailbox.ScopePrimary, mailbox.ScopeArchive} {
		for name, paths := range map[string][]mailbox.Path{"reads": caps.Reader(store, mailbox.KindContacts), "writes": caps.Writer(store, mailbox.KindContacts)} {
			if len(paths) != 2 || paths[0].Format != mailbox.FormatTyped || paths[1].Format != mailbox.FormatFullFidelity {
				t.Errorf("%s %s contacts: %+v, want a typed and a full-fidelity path", store, name, paths)
			}
		}
		if why, ok := caps.Unsupported[mailbox.StoreKind{Store: store, Kind: mailbox.KindContacts}]; ok {
			t.Errorf("%s contacts still unsupported: %s", store, why)
		}
	}
	if r := caps.Reader(mailbox.ScopeRecoverable, mailbox.KindContacts); len(r) != 1 || r[0].Format != mailbox.FormatFullFidelity {
		t.Errorf("contacts in Recoverable Items: reads %+v, want full fidelity only", r)
	}
}
