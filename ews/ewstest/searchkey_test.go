package ewstest

import (
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/exmigrate/exmigrate/internal/fakestream"
)

// searchKeyOf is the PR_SEARCH_KEY an answer carries for its first item,
// in hex, and the ExtendedFieldURI it came back under.
func searchKeyOf(t *testing.T, resp []byte) (string, string) {
	t.Helper()
	for _, ep := range findAll(t, resp, "ExtendedProperty") {
		uri := ep.child(nsTypes, "ExtendedFieldURI")
		if uri.attr("PropertyTag") != "0x300b" {
			continue
		}
		if typ := uri.attr("PropertyType"); typ != "Binary" {
			t.Errorf("PR_SEARCH_KEY answered as %s", typ)
		}
		raw, err := base64.StdEncoding.DecodeString(ep.child(nsTypes, "Value").value())
		if err != nil {
			t.Fatalf("PR_SEARCH_KEY is not base64: %v", err)
		}
		return hex.EncodeToString(raw), uri.attr("PropertyTag")
	}
	return "", ""
}

// TestSearchKey: every item has a PR_SEARCH_KEY of 16 bytes, readable by
// tag in hex or decimal from GetItem and FindItem; CreateItem gives each
// new item its own (whatever the request says); ExportItems carries it
// in the stream's SearchKey; UploadItems CreateNew keeps the stream's
// (or gives a new one when the stream has none), Update keeps the
// item's.
func TestSearchKey(t *testing.T) {
	l := newLab(t)
	l.srv.AddMailbox("bob@contoso.com")
	id := l.ids["message"]
	want := l.srv.SearchKey(id)
	if len(want) != 32 {
		t.Fatalf("seeded item's search key = %q, want 16 bytes in hex", want)
	}
	for _, tag := range []string{"0x300B", "12299"} {
		got, _ := searchKeyOf(t, l.getItem(t, "message", `<t:ExtendedFieldURI PropertyTag="`+tag+`" PropertyType="Binary"/>`))
		if got != want {
			t.Errorf("GetItem PropertyTag=%s: search key %q, want %q", tag, got, want)
		}
	}
	_, resp := l.do(t, `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>`+
		`<t:ExtendedFieldURI PropertyTag="0x300B" PropertyType="Binary"/></t:AdditionalProperties></m:ItemShape>`+
		`<m:ParentFolderIds><t:DistinguishedFolderId Id="tasks"/></m:ParentFolderIds></m:FindItem>`)
	if got, _ := searchKeyOf(t, resp); got != l.srv.SearchKey(l.ids["task"]) || got == "" {
		t.Errorf("FindItem: search key %q, want %q", got, l.srv.SearchKey(l.ids["task"]))
	}

	// Two CreateItems of one MIME, one of them naming a search key: each
	// item gets its own.
	create := func(ext string) string {
		t.Helper()
		mime := base64.StdEncoding.EncodeToString([]byte("Subject: twice\r\n\r\nsame"))
		_, resp := l.do(t, `<m:CreateItem MessageDisposition="SaveOnly"><m:SavedItemFolderId><t:DistinguishedFolderId Id="inbox"/></m:SavedItemFolderId>`+
			`<m:Items><t:Message><t:MimeContent>`+mime+`</t:MimeContent>`+ext+`</t:Message></m:Items></m:CreateItem>`)
		ids := findAll(t, resp, "ItemId")
		if len(ids) != 1 {
			t.Fatalf("CreateItem: %s", resp)
		}
		return ids[0].attr("Id")
	}
	a := create("")
	b := create(`<t:ExtendedProperty><t:ExtendedFieldURI PropertyTag="0x300B" PropertyType="Binary"/><t:Value>` +
		base64.StdEncoding.EncodeToString(make([]byte, 16)) + `</t:Value></t:ExtendedProperty>`)
	ka, kb := l.srv.SearchKey(a), l.srv.SearchKey(b)
	if len(ka) != 32 || len(kb) != 32 || ka == kb || kb == strings.Repeat("0", 32) {
		t.Errorf("CreateItem search keys %q and %q: want two new ones", ka, kb)
	}

	datas, _, _ := l.export(t, id)
	fi, err := fakestream.Decode(datas[0])
	if err != nil {
		t.Fatal(err)
	}
	if fi.SearchKey != want {
		t.Errorf("ExportItems stream SearchKey = %q, want %q", fi.SearchKey, want)
	}
	if _, ok := fi.Ext[searchKeyTag]; ok {
		t.Errorf("the search key travels twice: also in the stream's Ext")
	}
	bobInbox := l.srv.mailboxes["bob@contoso.com"].roots["inbox"].id
	kept, code, _ := l.upload(t, "bob@contoso.com", "CreateNew", bobInbox, "", datas[0])
	if code != "NoError" || l.srv.SearchKey(kept) != want {
		t.Errorf("UploadItems CreateNew: %s, search key %q, want the stream's %q", code, l.srv.SearchKey(kept), want)
	}
	fi.SearchKey = ""
	bare, err := fakestream.Encode(fi)
	if err != nil {
		t.Fatal(err)
	}
	fresh, code, _ := l.upload(t, "bob@contoso.com", "CreateNew", bobInbox, "", bare)
	if k := l.srv.SearchKey(fresh); code != "NoError" || len(k) != 32 || k == want {
		t.Errorf("UploadItems CreateNew of a stream without a search key: %s, search key %q, want a new one", code, k)
	}
	fi.SearchKey = strings.Repeat("ab", 16)
	other, _ := fakestream.Encode(fi)
	before := l.srv.SearchKey(fresh)
	upd, code, _ := l.upload(t, "bob@contoso.com", "Update", bobInbox, fresh, other)
	if code != "NoError" || upd != fresh || l.srv.SearchKey(fresh) != before {
		t.Errorf("UploadItems Update: %s, search key %q, want the item's own %q", code, l.srv.SearchKey(fresh), before)
	}
}
