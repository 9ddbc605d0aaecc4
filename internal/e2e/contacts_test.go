package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/exmigrate/exmigrate/dispatch"
	"github.com/exmigrate/exmigrate/internal/csvinput"
	"github.com/exmigrate/exmigrate/internal/lab"
	"github.com/exmigrate/exmigrate/mailbox"
	"github.com/exmigrate/exmigrate/mailbox/mailboxtest"
)

// The four directions of a contacts copy, each compared with the target
// fake's own store (not exmigrate's reading): a full and a sparse contact
// written into the source through the real client of its side, every
// property equal on the target, stamped, and a second pass writes nothing.
func TestContactsEveryDirection(t *testing.T) {
	const scenario = `
domain: contoso.com
cloud_domain: contoso.onmicrosoft.com
seed: 9
mailboxes:
  - address: nina@contoso.com
    location: onprem
    folders: {Inbox: 3}
  - address: olga@contoso.com
    location: cloud
    folders: {Inbox: 2}
`
	tests := []struct {
		name     string
		dir      dispatch.Direction
		src, dst string
		loc      mailbox.Location
		newDst   func(e *env, addr string)
		messages int64
	}{
		{"onboarding", dispatch.Onboarding, "nina@contoso.com", "nina@contoso.onmicrosoft.com", mailbox.LocationOnPrem, nil, 3},
		{"offboarding", dispatch.Offboarding, "olga@contoso.com", "olga.returned@contoso.com", mailbox.LocationCloud,
			func(e *env, addr string) { e.lab.EWS.AddMailbox(addr) }, 2},
		{"on-prem to on-prem", dispatch.OnPremToOnPrem, "nina@contoso.com", "nina.new@contoso.com", mailbox.LocationOnPrem,
			func(e *env, addr string) { e.lab.EWS.AddMailbox(addr) }, 3},
		{"cloud to cloud", dispatch.CloudToCloud, "olga@contoso.com", "olga.new@contoso.onmicrosoft.com", mailbox.LocationCloud,
			func(e *env, addr string) { e.lab.Graph.AddMailbox(addr, mailbox.TypeUser) }, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := startLab(t, mustScenario(t, scenario), lab.Options{})
			if tt.newDst != nil {
				tt.newDst(e, tt.dst)
			}
			entry := csvinput.Entry{Address: tt.src, Target: tt.dst, Location: tt.loc}
			want := writeContacts(t, e, entry, tt.dir)
			res := e.copyOnce(t, entry, tt.dir, testOptions())
			if res.ItemsCopied != tt.messages+int64(len(want)) || res.Skipped != 0 {
				t.Fatalf("copied %d, skipped %d (%v); want %d messages and %d contacts", res.ItemsCopied, res.Skipped, res.SkipReasons, tt.messages, len(want))
			}
			if tt.dir == dispatch.Onboarding || tt.dir == dispatch.CloudToCloud {
				compareGraphContacts(t, e, tt.dst, want)
			} else {
				compareEWSContacts(t, e, tt.dst, want)
			}
			writes := e.lab.Graph.Writes() + e.lab.EWS.Writes()
			if res := e.copyOnce(t, entry, tt.dir, testOptions()); res.ItemsCopied != 0 || e.lab.Graph.Writes()+e.lab.EWS.Writes() != writes {
				t.Errorf("second pass: copied %d, %d writes; want none", res.ItemsCopied, e.lab.Graph.Writes()+e.lab.EWS.Writes()-writes)
			}
		})
	}
}

// writeContacts writes a full and a sparse contact into the source
// mailbox's Contacts folder through the real client of its side, and
// returns them by display name.
func writeContacts(t *testing.T, e *env, entry csvinput.Entry, dir dispatch.Direction) map[string]mailbox.Contact {
	t.Helper()
	ctx := context.Background()
	route, err := e.disp.Locate(ctx, entry)
	if err != nil {
		t.Fatal(err)
	}
	source, _, _, err := e.disp.Open(route, dir)
	if err != nil {
		t.Fatal(err)
	}
	writer, ok := source.(mailbox.Target)
	if !ok {
		t.Fatalf("the source %T cannot write", source)
	}
	folders, err := source.Folders(ctx, mailbox.ScopePrimary)
	if err != nil {
		t.Fatal(err)
	}
	var contactsID string
	for _, f := range folders {
		if f.Path == "Contacts" {
			contactsID = f.ID
		}
	}
	if contactsID == "" {
		t.Fatal("the source has no Contacts folder")
	}
	full := mailboxtest.SampleContact()
	sparse := mailbox.Contact{DisplayName: "Quick Add", GivenName: "Quick", EmailAddresses: []mailbox.ContactEmail{{Address: "quick@example.org"}}}
	want := map[string]mailbox.Contact{}
	for i, c := range []mailbox.Contact{full, sparse} {
		body, err := mailbox.EncodeContact(c)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := writer.CreateItem(ctx, contactsID, mailbox.Payload{Item: mailbox.Item{Class: mailbox.ClassContact, Subject: c.DisplayName},
			SourceID: fmt.Sprintf("seed-%d", i), Format: mailbox.FormatTyped, Body: bytes.NewReader(body), Size: int64(len(body))}); err != nil {
			t.Fatal(err)
		}
		want[c.DisplayName] = c
	}
	return want
}

// compareGraphContacts compares the Graph fake's stored contacts of the
// target's Contacts folder with want, by Graph property name.
func compareGraphContacts(t *testing.T, e *env, dst string, want map[string]mailbox.Contact) {
	t.Helper()
	fx := e.lab.Graph.Mailbox(dst)
	got := fx.Contacts(fx.ContactsFolderID())
	if len(got) != len(want) {
		t.Fatalf("the target's Contacts folder holds %d contacts, want %d", len(got), len(want))
	}
	for _, g := range got {
		name, _ := g.Props["displayName"].(string)
		w, ok := want[name]
		if !ok {
			t.Errorf("the target holds a contact %q the source does not", name)
			continue
		}
		if stamped := strings.HasPrefix(firstValue(g.ExtendedProperties), "exm1-"); !stamped {
			t.Errorf("%s: no exmigrate stamp among %v", name, g.ExtendedProperties)
		}
		raw, _ := json.Marshal(w)
		var props map[string]any
		_ = json.Unmarshal(raw, &props)
		for k, v := range props {
			have := g.Props[k]
			if k == "birthday" { // Graph holds a date-time: the date at midnight UTC
				if s, _ := have.(string); !strings.HasPrefix(s, v.(string)+"T00:00:00") {
					t.Errorf("%s: birthday %v, want %v at midnight", name, have, v)
				}
				continue
			}
			if !reflect.DeepEqual(normaliseJSON(have), normaliseJSON(v)) {
				t.Errorf("%s: %s = %v on the target, %v at the source", name, k, have, v)
			}
		}
		for k, v := range g.Props {
			if _, there := props[k]; !there && !emptyJSON(v) {
				t.Errorf("%s: %s = %v on the target, which the source does not hold", name, k, v)
			}
		}
	}
}

// compareEWSContacts compares the EWS fake's stored contacts of the
// target's Contacts folder with want, by EWS name.
func compareEWSContacts(t *testing.T, e *env, dst string, want map[string]mailbox.Contact) {
	t.Helper()
	mb, _ := e.lab.EWS.LookupMailbox(dst)
	folder, ok := mb.FindFolder("Contacts")
	if !ok {
		t.Fatal("the target has no Contacts folder")
	}
	got := folder.Contacts()
	if len(got) != len(want) {
		t.Fatalf("the target's Contacts folder holds %d contacts written from properties, want %d", len(got), len(want))
	}
	for _, g := range got {
		name := g.Fields["DisplayName"]
		w, ok := want[name]
		if !ok {
			t.Errorf("the target holds a contact %q the source does not", name)
			continue
		}
		fields := map[string]string{"DisplayName": w.DisplayName, "GivenName": w.GivenName, "MiddleName": w.MiddleName,
			"Surname": w.Surname, "Nickname": w.NickName, "Initials": w.Initials, "Generation": w.Generation, "FileAs": w.FileAs,
			"CompanyName": w.CompanyName, "Department": w.Department, "JobTitle": w.JobTitle, "OfficeLocation": w.OfficeLocation,
			"Manager": w.Manager, "AssistantName": w.AssistantName, "Profession": w.Profession, "SpouseName": w.SpouseName,
			"BusinessHomePage": w.BusinessHome}
		for k, v := range fields {
			if g.Fields[k] != v {
				t.Errorf("%s: %s = %q on the target, %q at the source", name, k, g.Fields[k], v)
			}
		}
		if b := g.Fields["Birthday"]; !strings.HasPrefix(b, w.Birthday) {
			t.Errorf("%s: Birthday %q, want the date %q", name, b, w.Birthday)
		}
		for k := range g.Fields {
			if _, known := fields[k]; !known && k != "Birthday" && g.Fields[k] != "" {
				t.Errorf("%s: %s = %q on the target, which the source does not hold", name, k, g.Fields[k])
			}
		}
		for i, e := range w.EmailAddresses {
			key := fmt.Sprintf("EmailAddress%d", i+1)
			if have := g.Emails[key]; have[1] != e.Address || (e.Name != "" && have[0] != e.Name) {
				t.Errorf("%s: %s = %q, want %q <%s>", name, key, have, e.Name, e.Address)
			}
		}
		if len(g.Emails) != len(w.EmailAddresses) {
			t.Errorf("%s: %d e-mail entries, want %d", name, len(g.Emails), len(w.EmailAddresses))
		}
		for i, im := range w.ImAddresses {
			if have := g.IMs[fmt.Sprintf("ImAddress%d", i+1)]; have != im {
				t.Errorf("%s: ImAddress%d = %q, want %q", name, i+1, have, im)
			}
		}
		phones := map[string]string{"MobilePhone": w.MobilePhone}
		for i, p := range w.BusinessPhones {
			phones[[]string{"BusinessPhone", "BusinessPhone2"}[i]] = p
		}
		for i, p := range w.HomePhones {
			phones[[]string{"HomePhone", "HomePhone2"}[i]] = p
		}
		for k, v := range phones {
			if g.Phones[k] != v {
				t.Errorf("%s: %s = %q, want %q", name, k, g.Phones[k], v)
			}
		}
		for key, a := range map[string]*mailbox.PostalAddress{"Home": w.HomeAddress, "Business": w.BusinessAddr, "Other": w.OtherAddress} {
			want := map[string]string{}
			if a != nil {
				want = map[string]string{"Street": a.Street, "City": a.City, "State": a.State, "PostalCode": a.PostalCode, "CountryOrRegion": a.CountryOrRegion}
			}
			if !sameJSON(g.Addresses[key], want) {
				t.Errorf("%s: %s address %v, want %v", name, key, g.Addresses[key], want)
			}
		}
		if !sameJSON(g.Children, w.Children) || !sameJSON(g.Categories, w.Categories) {
			t.Errorf("%s: children %v categories %v, want %v %v", name, g.Children, g.Categories, w.Children, w.Categories)
		}
		if w.PersonalNotes != "" && !bytes.Contains(g.MIME, []byte(w.PersonalNotes)) {
			t.Errorf("%s: the notes %q are not the contact's body", name, w.PersonalNotes)
		}
		titled, stamped := w.Title == "", false
		for _, v := range g.Ext {
			titled = titled || v == w.Title
			stamped = stamped || strings.HasPrefix(v, "exm1-")
		}
		if !titled || !stamped {
			t.Errorf("%s: courtesy title %q kept %v, stamped %v (extended properties %v)", name, w.Title, titled, stamped, g.Ext)
		}
	}
}

// sameJSON compares two values as JSON, an empty value equal to none.
func sameJSON(a, b any) bool {
	na, nb := normaliseJSON(a), normaliseJSON(b)
	return (emptyJSON(na) && emptyJSON(nb)) || reflect.DeepEqual(na, nb)
}

func firstValue(m map[string]string) string {
	for _, v := range m {
		return v
	}
	return ""
}

// normaliseJSON makes values decoded from different JSON comparable: an
// empty string in an object (Graph's "state": "") is the same as none.
func normaliseJSON(v any) any {
	b, _ := json.Marshal(v)
	var out any
	_ = json.Unmarshal(b, &out)
	return dropEmpty(out)
}

func dropEmpty(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, y := range x {
			if emptyJSON(y) {
				delete(x, k)
			} else {
				x[k] = dropEmpty(y)
			}
		}
	case []any:
		for i := range x {
			x[i] = dropEmpty(x[i])
		}
	}
	return v
}

func emptyJSON(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case []any:
		return len(x) == 0
	case map[string]any:
		for _, y := range x {
			if !emptyJSON(y) {
				return false
			}
		}
		return true
	}
	return false
}
