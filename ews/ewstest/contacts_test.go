package ewstest

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
)

// labContactItem is a t:Contact with a property of every kind the fake
// keeps; extra is spliced in before its Surname.
func labContactItem(extra string) string {
	return `<m:CreateItem><m:SavedItemFolderId><t:DistinguishedFolderId Id="contacts"/></m:SavedItemFolderId><m:Items><t:Contact>` +
		`<t:Body BodyType="Text">notes</t:Body><t:FileAs>Lima, Ana</t:FileAs><t:DisplayName>Ana Lima</t:DisplayName><t:GivenName>Ana</t:GivenName>` +
		`<t:EmailAddresses><t:Entry Key="EmailAddress1" Name="Ana">ana@fabrikam.com</t:Entry><t:Entry Key="EmailAddress3">a3@x</t:Entry></t:EmailAddresses>` +
		`<t:PhysicalAddresses><t:Entry Key="Home"><t:Street>Kastanienallee 7</t:Street><t:City>Berlin</t:City></t:Entry><t:Entry Key="Other"><t:City>Lisboa</t:City></t:Entry></t:PhysicalAddresses>` +
		`<t:PhoneNumbers><t:Entry Key="BusinessPhone">b1</t:Entry><t:Entry Key="BusinessFax">fax</t:Entry><t:Entry Key="MobilePhone">m</t:Entry></t:PhoneNumbers>` +
		`<t:Birthday>1984-02-29T11:59:00Z</t:Birthday><t:Children><t:String>Leo</t:String></t:Children><t:Department>R&amp;D</t:Department>` +
		`<t:ImAddresses><t:Entry Key="ImAddress2">sip:ana@fabrikam.com</t:Entry></t:ImAddresses>` + extra + `<t:Surname>Lima</t:Surname>` +
		`</t:Contact></m:Items></m:CreateItem>`
}

// TestCreateContactValidation: the dictionaries take the keys of their
// schema enumeration, each once; dates must be xs:dateTime. A contact
// needs no MessageDisposition.
func TestCreateContactValidation(t *testing.T) {
	cases := []struct {
		name, item string
		want       [2]string
	}{
		{"every kind of property", labContactItem(""), [2]string{"Success", "NoError"}},
		{"a fourth e-mail key", strings.Replace(labContactItem(""), "EmailAddress3", "EmailAddress4", 1), [2]string{"Error", "ErrorSchemaValidation"}},
		{"an e-mail key twice", strings.Replace(labContactItem(""), "EmailAddress3", "EmailAddress1", 1), [2]string{"Error", "ErrorSchemaValidation"}},
		{"an unknown phone key", strings.Replace(labContactItem(""), "BusinessFax", "Fax", 1), [2]string{"Error", "ErrorSchemaValidation"}},
		{"an unknown address key", strings.Replace(labContactItem(""), `Key="Other"`, `Key="Work"`, 1), [2]string{"Error", "ErrorSchemaValidation"}},
		{"an IM key twice", strings.Replace(labContactItem(""), `<t:Entry Key="ImAddress2">sip:ana@fabrikam.com</t:Entry>`,
			`<t:Entry Key="ImAddress2">a</t:Entry><t:Entry Key="ImAddress2">b</t:Entry>`, 1), [2]string{"Error", "ErrorSchemaValidation"}},
		{"a birthday that is no date", strings.Replace(labContactItem(""), "1984-02-29T11:59:00Z", "29.02.1984", 1), [2]string{"Error", "ErrorSchemaValidation"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := newLab(t)
			before := len(l.mb.Root("contacts").f.items)
			status, resp := l.do(t, tc.item)
			if status != 200 {
				t.Fatalf("HTTP %d: %s", status, resp)
			}
			if m := messages(t, resp); len(m) != 1 || m[0] != tc.want {
				t.Fatalf("answers %v, want %v", m, tc.want)
			}
			saved := len(l.mb.Root("contacts").f.items) - before
			if want := map[bool]int{true: 1, false: 0}[tc.want[0] == "Success"]; saved != want {
				t.Errorf("%d items saved, want %d", saved, want)
			}
		})
	}
}

// TestContactAnswers: GetItem answers every stored property for its
// FieldURI, and of a dictionary asked by IndexedFieldURIs only the
// entries named; FindItem leaves the dictionaries out, as Exchange does.
// The answers are schema-valid, and a snapshot keeps the contact.
func TestContactAnswers(t *testing.T) {
	l := newLab(t)
	_, resp := l.do(t, labContactItem(`<t:JobTitle>Engineer</t:JobTitle>`))
	ids := findAll(t, resp, "ItemId")
	if len(ids) != 1 {
		t.Fatalf("no item id: %s", resp)
	}
	id := ids[0].attr("Id")
	get := func(props string) []byte {
		t.Helper()
		status, resp := l.do(t, `<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:BodyType>Text</t:BodyType><t:AdditionalProperties>`+props+
			`</t:AdditionalProperties></m:ItemShape><m:ItemIds><t:ItemId Id="`+id+`"/></m:ItemIds></m:GetItem>`)
		if status != 200 {
			t.Fatalf("HTTP %d: %s", status, resp)
		}
		return resp
	}
	indexed := func(uri string, keys ...string) string {
		var b strings.Builder
		for _, k := range keys {
			fmt.Fprintf(&b, `<t:IndexedFieldURI FieldURI="%s" FieldIndex="%s"/>`, uri, k)
		}
		return b.String()
	}
	docs := map[string][]byte{}
	cases := []struct {
		name, props string
		want        []string // substrings of the answer
		not         []string
	}{
		{"whole dictionaries", `<t:FieldURI FieldURI="contacts:EmailAddresses"/><t:FieldURI FieldURI="contacts:PhoneNumbers"/><t:FieldURI FieldURI="contacts:PhysicalAddresses"/><t:FieldURI FieldURI="contacts:ImAddresses"/>`,
			[]string{`<t:Entry Key="EmailAddress1" Name="Ana">ana@fabrikam.com</t:Entry><t:Entry Key="EmailAddress3">a3@x</t:Entry>`,
				`<t:Entry Key="BusinessFax">fax</t:Entry><t:Entry Key="BusinessPhone">b1</t:Entry><t:Entry Key="MobilePhone">m</t:Entry>`,
				`<t:Entry Key="Home"><t:Street>Kastanienallee 7</t:Street><t:City>Berlin</t:City></t:Entry><t:Entry Key="Other"><t:City>Lisboa</t:City></t:Entry>`,
				`<t:Entry Key="ImAddress2">sip:ana@fabrikam.com</t:Entry>`}, nil},
		{"indexed entries only", indexed("contacts:EmailAddress", "EmailAddress3") + indexed("contacts:PhoneNumber", "MobilePhone", "HomePhone") +
			indexed("contacts:PhysicalAddress:City", "Home", "Business"),
			[]string{`<t:EmailAddresses><t:Entry Key="EmailAddress3">a3@x</t:Entry></t:EmailAddresses>`, `<t:PhoneNumbers><t:Entry Key="MobilePhone">m</t:Entry></t:PhoneNumbers>`,
				`<t:PhysicalAddresses><t:Entry Key="Home"><t:City>Berlin</t:City></t:Entry></t:PhysicalAddresses>`},
			[]string{"EmailAddress1", "Street", "Lisboa", "ImAddresses"}},
		{"unindexed properties", `<t:FieldURI FieldURI="item:Body"/><t:FieldURI FieldURI="contacts:FileAs"/><t:FieldURI FieldURI="contacts:Birthday"/><t:FieldURI FieldURI="contacts:Children"/><t:FieldURI FieldURI="contacts:Department"/><t:FieldURI FieldURI="contacts:JobTitle"/><t:FieldURI FieldURI="contacts:Surname"/>`,
			[]string{`<t:Body BodyType="Text">notes</t:Body>`, `<t:FileAs>Lima, Ana</t:FileAs>`, `<t:Birthday>1984-02-29T11:59:00Z</t:Birthday>`,
				`<t:Children><t:String>Leo</t:String></t:Children><t:Department>R&amp;D</t:Department>`, `<t:JobTitle>Engineer</t:JobTitle>`, `<t:Surname>Lima</t:Surname>`},
			[]string{"DisplayName"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := get(tc.props)
			docs["GetItem "+tc.name] = resp
			for _, w := range tc.want {
				if !bytes.Contains(resp, []byte(w)) {
					t.Errorf("answer lacks %s:\n%s", w, resp)
				}
			}
			for _, n := range tc.not {
				if bytes.Contains(resp, []byte(n)) {
					t.Errorf("answer has %s, not asked for:\n%s", n, resp)
				}
			}
		})
	}
	_, resp = l.do(t, `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties><t:FieldURI FieldURI="contacts:PhoneNumbers"/><t:FieldURI FieldURI="contacts:DisplayName"/>`+
		indexed("contacts:EmailAddress", "EmailAddress1")+`</t:AdditionalProperties></m:ItemShape><m:ParentFolderIds><t:DistinguishedFolderId Id="contacts"/></m:ParentFolderIds></m:FindItem>`)
	docs["FindItem"] = resp
	if bytes.Contains(resp, []byte("PhoneNumbers")) || bytes.Contains(resp, []byte("EmailAddresses")) || !bytes.Contains(resp, []byte("<t:DisplayName>Ana Lima</t:DisplayName>")) {
		t.Errorf("FindItem answered dictionaries or not the display name:\n%s", resp)
	}
	xmllintAll(t, docs)

	var snap bytes.Buffer
	if err := l.srv.Snapshot(&snap); err != nil {
		t.Fatal(err)
	}
	restored := NewServer(WithPrefixStyle(StylePrefixed))
	// The lab's streamed item needs an opener; its content is not looked at.
	streams := ResolveStreams(func(string) (func() (io.ReadCloser, error), error) {
		return func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("Subject: big\r\n\r\n")), nil }, nil
	})
	if err := restored.Restore(&snap, streams); err != nil {
		t.Fatal(err)
	}
	it := restored.items[id]
	if it == nil || it.contact == nil || it.contact.Phones["BusinessFax"] != "fax" || it.contact.Addresses["Other"]["City"] != "Lisboa" {
		t.Errorf("the restored contact lost its properties: %+v", it)
	}
}

// TestContactExtendedUpdate: a contact's extended properties change as
// any typed item's: Set and Delete, an Append refused.
func TestContactExtendedUpdate(t *testing.T) {
	l := newLab(t)
	_, resp := l.do(t, labContactItem(""))
	id := findAll(t, resp, "ItemId")[0].attr("Id")
	uri := `<t:ExtendedFieldURI DistinguishedPropertySetId="PublicStrings" PropertyName="exmigrate-test" PropertyType="String"/>`
	update := func(change string) [][2]string {
		t.Helper()
		_, resp := l.do(t, `<m:UpdateItem ConflictResolution="AlwaysOverwrite"><m:ItemChanges><t:ItemChange><t:ItemId Id="`+id+`"/><t:Updates>`+change+`</t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>`)
		return messages(t, resp)
	}
	if ms := update(`<t:SetItemField>` + uri + `<t:Contact><t:ExtendedProperty>` + uri + `<t:Value>v</t:Value></t:ExtendedProperty></t:Contact></t:SetItemField>`); len(ms) != 1 || ms[0][0] != "Success" {
		t.Fatalf("Set: %v", ms)
	}
	if ms := update(`<t:AppendToItemField>` + uri + `<t:Contact><t:ExtendedProperty>` + uri + `<t:Value>w</t:Value></t:ExtendedProperty></t:Contact></t:AppendToItemField>`); len(ms) != 1 || ms[0][1] != "ErrorInvalidPropertyAppend" {
		t.Errorf("Append: %v", ms)
	}
	if ms := update(`<t:DeleteItemField>` + uri + `</t:DeleteItemField>`); len(ms) != 1 || ms[0][0] != "Success" {
		t.Errorf("Delete: %v", ms)
	}
}
