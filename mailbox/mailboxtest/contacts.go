package mailboxtest

import (
	"bytes"
	"reflect"
	"slices"
	"testing"

	"github.com/exmigrate/exmigrate/mailbox"
)

// SampleContact fills every field of mailbox.Contact, with text beyond
// ASCII, so that a side that drops or mangles one is caught.
func SampleContact() mailbox.Contact {
	return mailbox.Contact{
		DisplayName: "Dr. Ana Lima Søndergaard", GivenName: "Ana", MiddleName: "Maria", Surname: "Lima Søndergaard",
		NickName: "Aninha", Initials: "A.M.L.", Title: "Dr.", Generation: "Jr.", FileAs: "Lima Søndergaard, Ana",
		CompanyName: "Fabrikam GmbH", Department: "R&D", JobTitle: "Principal Engineer", OfficeLocation: "Berlin 4.12",
		Manager: "Jonas Weber", AssistantName: "Eva Kurz", Profession: "Physicist",
		EmailAddresses: []mailbox.ContactEmail{{Name: "Ana Lima", Address: "ana.lima@fabrikam.com"}, {Name: "Ana (home)", Address: "ana@example.org"}},
		ImAddresses:    []string{"sip:ana.lima@fabrikam.com"},
		BusinessPhones: []string{"+49 30 1234 5678", "+49 30 1234 0000"}, HomePhones: []string{"+49 30 9876"},
		MobilePhone: "+49 170 5555 1234", BusinessHome: "https://fabrikam.example/ana",
		HomeAddress:  &mailbox.PostalAddress{Street: "Kastanienallee 7", City: "Berlin", PostalCode: "10435", CountryOrRegion: "Germany"},
		BusinessAddr: &mailbox.PostalAddress{Street: "Hauptstraße 1", City: "Berlin", State: "BE", PostalCode: "10115", CountryOrRegion: "Germany"},
		Birthday:     "1984-02-29", SpouseName: "Jo Lima", Children: []string{"Leo", "Mia"},
		PersonalNotes: "Met at the summit. Prefers calls after 10.", Categories: []string{"Customers", "VIP"},
	}
}

// testContactsTyped: a side that declares contacts in the typed format
// writes a contact and reads back every property, finds it by its stamp,
// lists its stamp, and reports it in its folder's changes as a contact.
func testContactsTyped(t *testing.T, f Fixture) {
	mb := f.NewMailbox(t)
	caps := mb.Capabilities()
	typed := func(paths []mailbox.Path) bool {
		return slices.ContainsFunc(paths, func(p mailbox.Path) bool { return p.Format == mailbox.FormatTyped })
	}
	if !typed(caps.Writer(mailbox.ScopePrimary, mailbox.KindContacts)) || !typed(caps.Reader(mailbox.ScopePrimary, mailbox.KindContacts)) {
		t.Skip("the side does not declare contacts in the typed format")
	}
	ctx := ctxT(t)
	fd, err := mb.CreateFolder(ctx, "", "Contacts "+stamp()[10:18], mailbox.ClassContactsFolder)
	if err != nil {
		t.Fatalf("CreateFolder(IPF.Contact): %v", err)
	}
	want := SampleContact()
	body, err := mailbox.EncodeContact(want)
	if err != nil {
		t.Fatal(err)
	}
	sid := stamp()
	id, err := mb.CreateItem(ctx, fd.ID, mailbox.Payload{Item: mailbox.Item{Class: mailbox.ClassContact, Subject: want.DisplayName,
		Categories: want.Categories}, SourceID: sid, Format: mailbox.FormatTyped, Body: bytes.NewReader(body), Size: int64(len(body))})
	if err != nil {
		t.Fatalf("CreateItem(typed contact): %v", err)
	}
	rc, err := mb.OpenItem(ctx, id, mailbox.FormatTyped)
	if err != nil {
		t.Fatalf("OpenItem(typed contact): %v", err)
	}
	got, err := mailbox.DecodeContact(rc)
	rc.Close()
	if err != nil {
		t.Fatalf("the typed body read back: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		gv, wv := reflect.ValueOf(got), reflect.ValueOf(want)
		for i := range gv.NumField() {
			if !reflect.DeepEqual(gv.Field(i).Interface(), wv.Field(i).Interface()) {
				t.Errorf("contact %s: got %#v, want %#v", gv.Type().Field(i).Name, gv.Field(i).Interface(), wv.Field(i).Interface())
			}
		}
	}
	if found, ok, err := mb.FindBySourceID(ctx, fd.ID, sid); err != nil || !ok || found != id {
		t.Errorf("FindBySourceID of the contact = (%q, %v, %v), want (%q, true, nil)", found, ok, err, id)
	}
	if ids := stampsOf(t, mb, fd.ID)[sid]; len(ids) != 1 || ids[0] != id {
		t.Errorf("Stamps lists the contact's stamp as %v, want [%s]", ids, id)
	}
	changes, _, _ := syncAll(t, mb, fd.ID, "")
	if len(changes) != 1 || changes[0].Item.ID != id || changes[0].Item.Kind() != mailbox.KindContacts {
		t.Errorf("Changes of the contacts folder: %+v, want the one contact", changes)
	}
}
