package graphtest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

const stampProp = "String {9d4b5a3e-6f0c-4c51-9a57-6b8e2f1d7c42} Name ExmigrateSourceId"

// contactsFixture starts the fake with an app that holds Contacts.ReadWrite.
func contactsFixture(t *testing.T) (*fixture, string) {
	f := start(t)
	f.s.AddApp(tenant, "people", "p", "Contacts.ReadWrite")
	return f, f.bearer(t, "people", "p")
}

func TestContactFolders(t *testing.T) {
	f, tok := contactsFixture(t)
	base := "/users/" + alice + "/contactFolders"
	steps := []struct {
		name, method, path, body string
		status                   int
		code                     string
	}{
		{"create under the default folder", "POST", base, `{"displayName":"Clients"}`, 201, ""},
		{"the same name again", "POST", base, `{"displayName":"clients"}`, 409, "ErrorFolderExists"},
		{"no name", "POST", base, `{"displayName":" "}`, 400, "ErrorInvalidRequest"},
		{"unknown property", "POST", base, `{"displayName":"X","color":"red"}`, 400, "RequestBodyRead"},
		{"list", "GET", base, "", 200, ""},
		{"malformed id", "GET", base + "/not an id", "", 400, "ErrorInvalidIdMalformed"},
		{"unknown id", "GET", base + "/AAMkAGI2TG93AAA=", "", 404, "ErrorItemNotFound"},
	}
	for _, st := range steps {
		a := f.call(t, tok, st.method, st.path, []byte(st.body))
		if a.status != st.status || a.code() != st.code {
			t.Errorf("%s: %d %q, want %d %q (%v)", st.name, a.status, a.code(), st.status, st.code, a.body)
		}
	}
	list := values(f.call(t, tok, "GET", base, nil))
	if len(list) != 1 || list[0]["displayName"] != "Clients" || list[0]["parentFolderId"] != f.s.Mailbox(alice).ContactsFolderID() {
		t.Fatalf("contactFolders = %v, want Clients under the default Contacts folder", list)
	}
	id := list[0]["id"].(string)
	if a := f.call(t, tok, "POST", base+"/"+id+"/childFolders", []byte(`{"displayName":"VIP"}`)); a.status != 201 || a.body["parentFolderId"] != id {
		t.Fatalf("create child: %d %v", a.status, a.body)
	}
	if kids := values(f.call(t, tok, "GET", base+"/"+id+"/childFolders", nil)); len(kids) != 1 || kids[0]["displayName"] != "VIP" {
		t.Errorf("childFolders = %v", kids)
	}
	if a := f.call(t, tok, "DELETE", base+"/"+f.s.Mailbox(alice).ContactsFolderID(), nil); a.status != 400 || a.code() != "ErrorDeleteDistinguishedFolder" {
		t.Errorf("delete of the default Contacts folder: %d %q", a.status, a.code())
	}
	vip := f.call(t, tok, "POST", base+"/"+id+"/childFolders", []byte(`{"displayName":"Old"}`)).body["id"].(string)
	if a := f.call(t, tok, "DELETE", base+"/"+vip, nil); a.status != http.StatusNoContent {
		t.Errorf("delete of a contact folder: %d", a.status)
	}
	if a := f.call(t, tok, "GET", base+"/"+vip, nil); a.status != 404 {
		t.Errorf("a deleted contact folder answers %d, want 404", a.status)
	}
	// A contact folder is not a mail folder.
	if a := f.call(t, tok, "GET", "/users/"+alice+"/mailFolders/"+id, nil); a.status != 404 {
		t.Errorf("contact folder id under /mailFolders: %d, want 404", a.status)
	}
	// Mail.ReadWrite does not reach contacts.
	if a := f.call(t, f.bearer(t, appID, secret), "GET", base, nil); a.status != 403 {
		t.Errorf("contactFolders with Mail.ReadWrite only: %d, want 403", a.status)
	}
}

func TestContactCreateValidation(t *testing.T) {
	f, tok := contactsFixture(t)
	path := "/users/" + alice + "/contactFolders/" + f.s.Mailbox(alice).ContactsFolderID() + "/contacts"
	cases := []struct {
		name, body string
		status     int
		code       string
	}{
		{"minimal", `{"displayName":"Ana"}`, 201, ""},
		{"every list at its limit", `{"emailAddresses":[{"address":"a@x"},{"address":"b@x"},{"address":"c@x"}],"imAddresses":["a","b","c"],"businessPhones":["1","2"],"homePhones":["3","4"]}`, 201, ""},
		{"four e-mail addresses", `{"emailAddresses":[{"address":"a@x"},{"address":"b@x"},{"address":"c@x"},{"address":"d@x"}]}`, 400, "ErrorInvalidArgument"},
		{"three business phones", `{"businessPhones":["1","2","3"]}`, 400, "ErrorInvalidArgument"},
		{"four IM addresses", `{"imAddresses":["a","b","c","d"]}`, 400, "ErrorInvalidArgument"},
		{"unknown property", `{"displayName":"Ana","favoriteColor":"red"}`, 400, "RequestBodyRead"},
		{"read-only property", `{"id":"x"}`, 400, "RequestBodyRead"},
		{"birthday not a DateTimeOffset", `{"birthday":"29.02.1984"}`, 400, "RequestBodyRead"},
		{"a string where a list goes", `{"categories":"VIP"}`, 400, "RequestBodyRead"},
		{"not JSON", `{`, 400, "BadRequest"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := f.call(t, tok, "POST", path, []byte(tc.body))
			if a.status != tc.status || a.code() != tc.code {
				t.Errorf("%d %q, want %d %q (%v)", a.status, a.code(), tc.status, tc.code, a.body)
			}
		})
	}
}

func TestContactRoundTripAndFilter(t *testing.T) {
	f, tok := contactsFixture(t)
	folder := f.s.Mailbox(alice).ContactsFolderID()
	path := "/users/" + alice + "/contactFolders/" + folder + "/contacts"
	body := `{"displayName":"Ana Lima","birthday":"1984-02-29T00:00:00Z","homeAddress":{"city":"Berlin"},
		"emailAddresses":[{"name":"Ana","address":"ana@x"}],"categories":["VIP"],
		"singleValueExtendedProperties":[{"id":"` + stampProp + `","value":"src-1"}]}`
	c := f.call(t, tok, "POST", path, []byte(body))
	if c.status != 201 {
		t.Fatalf("create: %d %v", c.status, c.body)
	}
	id := c.body["id"].(string)
	g := f.call(t, tok, "GET", "/users/"+alice+"/contacts/"+id, nil)
	if g.status != 200 || g.body["displayName"] != "Ana Lima" || g.body["birthday"] != "1984-02-29T00:00:00Z" || g.body["parentFolderId"] != folder {
		t.Fatalf("get: %d %v", g.status, g.body)
	}
	if g.body["mobilePhone"] != nil || g.body["singleValueExtendedProperties"] != nil {
		t.Errorf("get: an unset property or an unasked extended property came back: %v", g.body)
	}
	home, _ := g.body["homeAddress"].(map[string]any)
	if home["city"] != "Berlin" {
		t.Errorf("homeAddress = %v", g.body["homeAddress"])
	}
	for _, tc := range []struct {
		value string
		want  int
	}{{"src-1", 1}, {"src-2", 0}, {"src-'1", 0}} {
		filter := "singleValueExtendedProperties/Any(ep: ep/id eq '" + stampProp + "' and ep/value eq '" + strings.ReplaceAll(tc.value, "'", "''") + "')"
		a := f.call(t, tok, "GET", q(path, "$filter", filter, "$select", "id"), nil)
		if a.status != 200 || len(values(a)) != tc.want {
			t.Errorf("$filter on stamp %q: %d %v, want %d", tc.value, a.status, a.body, tc.want)
		}
	}
	if a := f.call(t, tok, "GET", q(path, "$filter", "nosuch eq 'x'"), nil); a.status != 400 {
		t.Errorf("$filter on an unknown property: %d, want 400", a.status)
	}
	if a := f.call(t, tok, "GET", q(path, "$expand", "singleValueExtendedProperties"), nil); a.status != 400 {
		t.Errorf("$expand of extended properties without $filter: %d, want 400", a.status)
	}
	exp := "singleValueExtendedProperties($filter=id eq '" + stampProp + "')"
	a := f.call(t, tok, "GET", q(path, "$expand", exp, "$select", "displayName"), nil)
	vs := values(a)
	if len(vs) != 1 || vs[0]["singleValueExtendedProperties"] == nil || vs[0]["categories"] != nil {
		t.Errorf("list with $select and the stamp expanded: %v", a.body)
	}
	if got := f.s.Mailbox(alice).Contacts(folder); len(got) != 1 || got[0].ExtendedProperties[stampProp] != "src-1" {
		t.Errorf("stored contacts: %+v", got)
	}
}

func TestContactListPagesAndDelta(t *testing.T) {
	f, tok := contactsFixture(t)
	folder := f.s.Mailbox(alice).ContactsFolderID()
	path := "/users/" + alice + "/contactFolders/" + folder + "/contacts"
	var ids []string
	for _, n := range []string{"A", "B", "C", "D", "E"} {
		a := f.call(t, tok, "POST", path, []byte(`{"displayName":"`+n+`"}`))
		ids = append(ids, a.body["id"].(string))
	}
	// $top pages with nextLink.
	seen := 0
	for u := q(path, "$top", "2"); u != ""; {
		a := f.call(t, tok, "GET", u, nil)
		if a.status != 200 {
			t.Fatalf("page: %d %v", a.status, a.body)
		}
		seen += len(values(a))
		u, _ = a.body["@odata.nextLink"].(string)
	}
	if seen != 5 {
		t.Errorf("paged listing gave %d contacts, want 5", seen)
	}
	if a := f.call(t, tok, "GET", q(path+"/delta", "$expand", "singleValueExtendedProperties($filter=id eq 'x')"), nil); a.status != 400 {
		t.Errorf("contact delta with $expand: %d, want 400", a.status)
	}
	round := func(u string) (n, removed int, delta string) {
		for u != "" {
			a := f.call(t, tok, "GET", u, nil, "Prefer", "odata.maxpagesize=2")
			if a.status != 200 {
				t.Fatalf("delta: %d %v", a.status, a.body)
			}
			for _, v := range values(a) {
				if v["@removed"] != nil {
					removed++
				} else {
					n++
				}
			}
			u, _ = a.body["@odata.nextLink"].(string)
			delta, _ = a.body["@odata.deltaLink"].(string)
		}
		return n, removed, delta
	}
	n, _, dl := round(q(path+"/delta", "$select", "displayName"))
	if n != 5 || dl == "" {
		t.Fatalf("first round: %d contacts, deltaLink %q", n, dl)
	}
	if a := f.call(t, tok, "DELETE", "/users/"+alice+"/contacts/"+ids[0], nil); a.status != http.StatusNoContent {
		t.Fatalf("delete: %d", a.status)
	}
	f.call(t, tok, "POST", path, []byte(`{"displayName":"F"}`))
	n, removed, dl2 := round(dl)
	if n != 1 || removed != 1 {
		t.Errorf("second round: %d contacts and %d removed, want 1 and 1", n, removed)
	}
	f.s.ExpireDeltaTokens()
	if a := f.call(t, tok, "GET", dl2, nil); a.status != http.StatusGone || a.code() != "SyncStateNotFound" {
		t.Errorf("expired deltaLink: %d %q, want 410 SyncStateNotFound", a.status, a.code())
	}
}

// FuzzParseContact: the create body's checks refuse, never panic on, any
// body; what they accept is a contact whose properties encode again.
func FuzzParseContact(f *testing.F) {
	for _, s := range []string{
		`{"displayName":"Ana","emailAddresses":[{"name":"A","address":"a@x"}],"birthday":"1984-02-29T00:00:00Z"}`,
		`{"homeAddress":{"street":"S","city":"C"},"businessPhones":["1"],"singleValueExtendedProperties":[{"id":"String {x} Name y","value":"v"}]}`,
		`{"birthday":null,"homeAddress":null}`, `{"categories":[1]}`, `[]`, `null`, `{"@odata.type":"#microsoft.graph.contact"}`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		props, ext, code, msg := parseContact(body)
		if code != "" {
			if props != nil || msg == "" {
				t.Fatalf("refused with %q %q but returned properties", code, msg)
			}
			return
		}
		if ext == nil {
			t.Fatal("accepted without an extended property map")
		}
		if _, err := json.Marshal(props); err != nil {
			t.Fatalf("accepted properties do not encode: %v", err)
		}
	})
}

// TestContactsSnapshot: contacts, their folders and their delta survive a
// snapshot: a deltaLink taken before goes on after the restore.
func TestContactsSnapshot(t *testing.T) {
	f, tok := contactsFixture(t)
	base := "/users/" + alice + "/contactFolders"
	fd := f.call(t, tok, "POST", base, []byte(`{"displayName":"Clients"}`)).body["id"].(string)
	kid := f.call(t, tok, "POST", base+"/"+fd+"/childFolders", []byte(`{"displayName":"VIP"}`)).body["id"].(string)
	path := base + "/" + fd + "/contacts"
	gone := f.call(t, tok, "POST", path, []byte(`{"displayName":"Gone"}`)).body["id"].(string)
	f.call(t, tok, "POST", path, []byte(`{"displayName":"Ana","birthday":"1984-02-29T00:00:00Z","singleValueExtendedProperties":[{"id":"`+stampProp+`","value":"s"}]}`))
	dl, _ := f.call(t, tok, "GET", path+"/delta", nil).body["@odata.deltaLink"].(string)
	f.call(t, tok, "DELETE", "/users/"+alice+"/contacts/"+gone, nil)

	got := NewServer()
	if err := got.Restore(bytes.NewReader(snapshotBytes(t, f.s))); err != nil {
		t.Fatal(err)
	}
	was, is := f.s.Mailbox(alice), got.Mailbox(alice)
	if was.ContactsFolderID() != is.ContactsFolderID() {
		t.Errorf("default Contacts folder %q, was %q", is.ContactsFolderID(), was.ContactsFolderID())
	}
	a, b := was.Contacts(fd), is.Contacts(fd)
	if len(a) != 1 || !reflect.DeepEqual(a[0].Props, b[0].Props) || !reflect.DeepEqual(a[0].ExtendedProperties, b[0].ExtendedProperties) || a[0].ID != b[0].ID {
		t.Errorf("contacts after restore:\nwas %+v\nis  %+v", a, b)
	}
	ep := got.StartTLS(t)
	g := &fixture{s: got, ep: ep}
	tok2 := g.bearer(t, "people", "p")
	if kids := values(g.call(t, tok2, "GET", base+"/"+fd+"/childFolders", nil)); len(kids) != 1 || kids[0]["id"] != kid {
		t.Errorf("child folders after restore: %v", kids)
	}
	link := strings.Replace(dl, f.ep.BaseURL, ep.BaseURL, 1)
	if vs := values(g.call(t, tok2, "GET", link, nil)); len(vs) != 1 || vs[0]["id"] != gone || vs[0]["@removed"] == nil {
		t.Errorf("delta after restore: %v, want the removal of %s", vs, gone)
	}
}
