package graphtest

import (
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/internal/fakestream"
	"github.com/exmigrate/exmigrate/mailbox"
)

// expandKey is the $expand that reads PR_SEARCH_KEY.
var expandKey = url.Values{"$expand": {"singleValueExtendedProperties($filter=id eq 'Binary 0x300B')"}}.Encode()

// expandedKey is the hex of the Binary 0x300B an answer expanded ("" none).
func expandedKey(t *testing.T, j map[string]any) string {
	t.Helper()
	ps, _ := j["singleValueExtendedProperties"].([]any)
	for _, p := range ps {
		pm, _ := p.(map[string]any)
		if pm["id"] == "Binary 0x300B" {
			b, err := base64.StdEncoding.DecodeString(pm["value"].(string))
			if err != nil {
				t.Fatalf("search key %v is not base64", pm["value"])
			}
			return hex.EncodeToString(b)
		}
	}
	return ""
}

func TestSearchKeys(t *testing.T) {
	f, tok := startIE(t)
	f.s.AddApp(tenant, "all", "all-secret", "Mail.ReadWrite", "Contacts.ReadWrite", "Calendars.ReadWrite")
	all := f.bearer(t, "all", "all-secret")
	fx := f.s.Mailbox(alice)
	mbx := fx.MailboxID()
	// Created through the mail API and by fixtures: 16 new bytes each.
	a := f.call(t, all, "POST", "/users/"+alice+"/mailFolders/inbox/messages", []byte(`{"subject":"posted"}`))
	if a.status != 201 {
		t.Fatalf("create: %d %v", a.status, a.body)
	}
	posted := a.body["id"].(string)
	msg := fx.AddMessage("Inbox", Message{Subject: "seeded"})
	contact := fx.AddContact("", mailbox.Contact{DisplayName: "Ann"})
	event := fx.AddEvent("", mailbox.Event{Subject: "ev", Start: time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC), End: time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)})
	seen := map[string]string{}
	for _, c := range []struct{ name, id, path string }{
		{"posted message", posted, "/users/" + alice + "/messages/" + posted},
		{"seeded message", msg, "/users/" + alice + "/messages/" + msg},
		{"contact", contact, "/users/" + alice + "/contacts/" + contact},
		{"event", event, "/users/" + alice + "/events/" + event},
	} {
		a := f.call(t, all, "GET", c.path+"?"+expandKey, nil)
		got := expandedKey(t, a.body)
		if a.status != 200 || len(got) != 32 || got != fx.SearchKey(c.id) {
			t.Errorf("%s: %d key %q, fixture says %q", c.name, a.status, got, fx.SearchKey(c.id))
		}
		if other := seen[got]; other != "" {
			t.Errorf("%s and %s share the search key %s", c.name, other, got)
		}
		seen[got] = c.name
		// Without the $expand, no extended property comes.
		if a := f.call(t, all, "GET", c.path, nil); a.body["singleValueExtendedProperties"] != nil {
			t.Errorf("%s without $expand: %v", c.name, a.body)
		}
	}
	// The mail API listing carries it as the item's GET does.
	a = f.call(t, all, "GET", "/users/"+alice+"/mailFolders/inbox/messages?"+expandKey, nil)
	for _, v := range values(a) {
		if k := expandedKey(t, v); k != fx.SearchKey(v["id"].(string)) || k == "" {
			t.Errorf("listed %v: key %q", v["subject"], k)
		}
	}
	// Export writes it into the stream; the import/export listing expands it.
	ie := fx.ImportExportItemID(msg)
	vs := values(exportIDs(t, f, tok, mbx, ie))
	data, _ := base64.StdEncoding.DecodeString(vs[0]["data"].(string))
	st, err := fakestream.Decode(data)
	if err != nil || st.SearchKey != fx.SearchKey(msg) {
		t.Fatalf("exported stream: %v search key %q, want %q", err, st.SearchKey, fx.SearchKey(msg))
	}
	inbox := fx.ImportExportFolderID(fx.FolderID("Inbox"))
	a = f.call(t, tok, "GET", admin(mbx, "folders", inbox, "items", ie)+"?"+expandKey, nil)
	if k := expandedKey(t, a.body); a.status != 200 || k != st.SearchKey {
		t.Errorf("mailboxItem get: %d %q", a.status, k)
	}
	// Import keeps the stream's key; a stream without one gets a new one;
	// one that is not hex is refused.
	bx := f.s.Mailbox(bob)
	binbox := bx.ImportExportFolderID(bx.FolderID("Inbox"))
	u := importSessionURL(t, f, tok, bx.MailboxID())
	imp := f.call(t, "", "POST", u, importBody(binbox, "create", data))
	if imp.status != 200 || bx.SearchKey(bx.APIItemID(imp.body["itemId"].(string))) != st.SearchKey {
		t.Fatalf("import kept %q, want %q (%d %v)", bx.SearchKey(bx.APIItemID(imp.body["itemId"].(string))), st.SearchKey, imp.status, imp.body)
	}
	st.SearchKey = ""
	bare, _ := fakestream.Encode(st)
	imp = f.call(t, "", "POST", u, importBody(binbox, "create", bare))
	if k := bx.SearchKey(bx.APIItemID(imp.body["itemId"].(string))); imp.status != 200 || len(k) != 32 || k == fx.SearchKey(msg) {
		t.Errorf("import without a key: %d %q", imp.status, k)
	}
	st.SearchKey = "not hex"
	bad, _ := fakestream.Encode(st)
	if imp := f.call(t, "", "POST", u, importBody(binbox, "create", bad)); imp.status != 400 {
		t.Errorf("import of a key that is not hex: %d %v", imp.status, imp.body)
	}
	// The import/export listing, expanded with the stamp too (graphmail's Fingerprints).
	q := url.Values{"$expand": {"singleValueExtendedProperties($filter=id eq 'Binary 0x300B' or id eq 'String {" + mailbox.SourceIDPropertySet + "} Name " + mailbox.SourceIDPropertyName + "')"}}
	a = f.call(t, tok, "GET", admin(bx.MailboxID(), "folders", binbox, "items")+"?"+q.Encode(), nil)
	if vs := values(a); a.status != 200 || len(vs) != 2 || expandedKey(t, vs[0]) != fx.SearchKey(msg) || expandedKey(t, vs[1]) == "" {
		t.Errorf("mailboxItem list: %d %v", a.status, a.body)
	}
	// Strict as the other expands: the filter must name an id.
	if a := f.call(t, tok, "GET", admin(mbx, "folders", inbox, "items")+"?"+url.Values{"$expand": {"singleValueExtendedProperties"}}.Encode(), nil); a.status != 400 {
		t.Errorf("expand without a filter: %d %v", a.status, a.body)
	}
}

func FuzzSearchKeyFromStream(f *testing.F) {
	for _, s := range []string{"", "00", "0011223344556677", "zz", "0", string(make([]byte, 600))} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := searchKeyFromStream(s)
		if err != nil {
			return
		}
		if len(k) == 0 || len(k) > 255 {
			t.Fatalf("%q gave a key of %d bytes", s, len(k))
		}
		if s != "" && hex.EncodeToString(k) != s && hex.EncodeToString(k) != toLower(s) {
			t.Fatalf("%q read as %x", s, k)
		}
	})
}

func toLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}
