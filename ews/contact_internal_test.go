package ews

import (
	"bytes"
	"encoding/xml"
	"reflect"
	"strings"
	"testing"

	"github.com/beevik/etree"

	"github.com/exmigrate/exmigrate/mailbox"
)

const contactNS = `xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"`

// TestContactFromXML maps answered t:Contact elements to the model: keys
// in any order, entries the model has no place for ignored, empty entries
// and addresses dropped, the courtesy title from PR_DISPLAY_NAME_PREFIX
// or else CompleteName.
func TestContactFromXML(t *testing.T) {
	cases := []struct {
		name, xml string
		want      mailbox.Contact
	}{
		{"dictionaries out of order", `<t:Contact ` + contactNS + `><t:EmailAddresses><t:Entry Key="EmailAddress3">c@x</t:Entry><t:Entry Key="EmailAddress1" Name="A">a@x</t:Entry></t:EmailAddresses>` +
			`<t:PhoneNumbers><t:Entry Key="HomePhone2">h2</t:Entry><t:Entry Key="BusinessFax">fax</t:Entry><t:Entry Key="MobilePhone">m</t:Entry><t:Entry Key="BusinessPhone">b1</t:Entry></t:PhoneNumbers>` +
			`<t:ImAddresses><t:Entry Key="ImAddress2">im2</t:Entry></t:ImAddresses></t:Contact>`,
			mailbox.Contact{EmailAddresses: []mailbox.ContactEmail{{Name: "A", Address: "a@x"}, {Address: "c@x"}},
				BusinessPhones: []string{"b1"}, HomePhones: []string{"h2"}, MobilePhone: "m", ImAddresses: []string{"im2"}}},
		{"empty entries dropped", `<t:Contact ` + contactNS + `><t:EmailAddresses><t:Entry Key="EmailAddress1"> </t:Entry></t:EmailAddresses>` +
			`<t:PhysicalAddresses><t:Entry Key="Home"/><t:Entry Key="Other"><t:City>Oslo</t:City></t:Entry></t:PhysicalAddresses></t:Contact>`,
			mailbox.Contact{OtherAddress: &mailbox.PostalAddress{City: "Oslo"}}},
		{"title from CompleteName", `<t:Contact ` + contactNS + `><t:CompleteName><t:Title>Ms.</t:Title></t:CompleteName></t:Contact>`,
			mailbox.Contact{Title: "Ms."}},
		{"title from the extended property", `<t:Contact ` + contactNS + `><t:ExtendedProperty><t:ExtendedFieldURI PropertyTag="0x3a45" PropertyType="String"/><t:Value>Dr.</t:Value></t:ExtendedProperty>` +
			`<t:CompleteName><t:Title>Ms.</t:Title></t:CompleteName></t:Contact>`,
			mailbox.Contact{Title: "Dr."}},
		{"notes with CRLF", `<t:Contact ` + contactNS + `><t:Body BodyType="Text">a&#xD;
b</t:Body></t:Contact>`, mailbox.Contact{PersonalNotes: "a\nb"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var x contactXML
			if err := xml.Unmarshal([]byte(tc.xml), &x); err != nil {
				t.Fatal(err)
			}
			if got := x.contact(); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %#v\nwant %#v", got, tc.want)
			}
		})
	}
}

// TestContactBirthday: a birthday written at any zone's local midnight,
// or at the adapter's own time of day, reads as its date.
func TestContactBirthday(t *testing.T) {
	cases := []struct{ in, want string }{
		{"1984-02-29" + birthdayTime, "1984-02-29"}, // as the adapter writes it
		{"1984-02-28T23:00:00Z", "1984-02-29"},      // Outlook in UTC+1
		{"1984-02-28T12:00:00Z", "1984-02-29"},      // UTC+12
		{"1984-02-29T05:00:00Z", "1984-02-29"},      // UTC-5
		{"1984-02-29T00:00:00Z", "1984-02-29"},      // UTC
		{"1984-02-29T00:00:00", "1984-02-29"},       // no zone: UTC, as EWS means it
		{"not a date", ""},
		{"", ""},
	}
	for _, tc := range cases {
		if got := contactBirthday(tc.in); got != tc.want {
			t.Errorf("contactBirthday(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestContactItemOrder: the t:Contact's children follow ContactItemType
// (ItemType's elements first), whatever is set; xmllint checks the whole
// request in TestRequestsAreSchemaValid, this the order of sparse ones.
func TestContactItemOrder(t *testing.T) {
	cases := []struct {
		name string
		c    mailbox.Contact
		it   mailbox.Item
		want []string
	}{
		{"surname and notes", mailbox.Contact{Surname: "S", PersonalNotes: "n"}, mailbox.Item{}, []string{"Body", "ExtendedProperty", "Surname"}},
		{"subject from the display name", mailbox.Contact{DisplayName: "D", Children: []string{"c"}}, mailbox.Item{Class: "IPM.Contact.Custom"},
			[]string{"ItemClass", "Subject", "ExtendedProperty", "DisplayName", "Children"}},
		{"categories from the item", mailbox.Contact{ImAddresses: []string{"i"}}, mailbox.Item{Categories: []string{"Red"}, Importance: mailbox.ImportanceHigh},
			[]string{"Categories", "Importance", "ExtendedProperty", "ImAddresses"}},
		{"a mail class is not written", mailbox.Contact{}, mailbox.Item{Class: mailbox.ClassMessage}, []string{"ExtendedProperty"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := etree.NewElement("m:Items")
			contactItem(root, tc.c, tc.it, "src")
			var got []string
			for _, e := range root.ChildElements()[0].ChildElements() {
				got = append(got, e.Tag)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("children %v, want %v", got, tc.want)
			}
		})
	}
}

// FuzzContactXML: whatever a server answers, the mapping never panics,
// and a contact the model accepts survives its JSON.
func FuzzContactXML(f *testing.F) {
	f.Add(`<t:Contact ` + contactNS + `><t:DisplayName>x</t:DisplayName><t:Birthday>2000-01-01T00:00:00Z</t:Birthday></t:Contact>`)
	f.Add(`<t:Contact ` + contactNS + `><t:EmailAddresses><t:Entry Key="EmailAddress1">a</t:Entry><t:Entry Key="EmailAddress1">b</t:Entry></t:EmailAddresses></t:Contact>`)
	f.Add(`<t:Contact ` + contactNS + `><t:PhysicalAddresses><t:Entry Key="Business"><t:Street>s</t:Street></t:Entry></t:PhysicalAddresses><t:Children><t:String/></t:Children></t:Contact>`)
	f.Fuzz(func(t *testing.T, doc string) {
		var x contactXML
		if err := xml.Unmarshal([]byte(doc), &x); err != nil {
			return
		}
		c := x.contact()
		body, err := mailbox.EncodeContact(c)
		if err != nil {
			return
		}
		back, err := mailbox.DecodeContact(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("a contact EncodeContact took does not decode: %v", err)
		}
		if len(back.EmailAddresses) > 3 || strings.Contains(back.Birthday, "T") {
			t.Fatalf("mapped beyond the model: %#v", back)
		}
	})
}
