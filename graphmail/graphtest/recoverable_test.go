package graphtest

import (
	"bytes"
	"testing"
)

func TestRecoverableItemsDeletions(t *testing.T) {
	f := start(t)
	tok := f.bearer(t, appID, secret)
	fx := f.s.Mailbox(alice)
	id := fx.AddRecoverableItem(Message{Subject: "hard deleted"})
	user := "/users/" + alice
	a := f.call(t, tok, "GET", user+"/mailFolders/recoverableitemsdeletions", nil)
	del, _ := a.body["id"].(string)
	parent, _ := a.body["parentFolderId"].(string)
	if a.status != 200 || a.body["displayName"] != "Deletions" || del == "" || parent == "" || parent == fx.RootID() || a.body["totalItemCount"].(float64) != 1 {
		t.Fatalf("recoverableitemsdeletions: %d %v", a.status, a.body)
	}
	// Outside the IPM subtree: not a child of msgfolderroot, no Graph name for its root.
	a = f.call(t, tok, "GET", user+"/mailFolders/msgfolderroot/childFolders?includeHiddenFolders=true&$top=100", nil)
	for _, v := range values(a) {
		if v["id"] == del || v["id"] == parent {
			t.Errorf("msgfolderroot lists %v", v["displayName"])
		}
	}
	if a := f.call(t, tok, "GET", user+"/mailFolders/recoverableitemsroot", nil); a.status < 400 {
		t.Errorf("recoverableitemsroot is no Graph name: %d %v", a.status, a.body)
	}
	// Read as any mail folder: delta and $value.
	a = f.call(t, tok, "GET", user+"/mailFolders/recoverableitemsdeletions/messages/delta", nil)
	if vs := values(a); a.status != 200 || len(vs) != 1 || vs[0]["id"] != id {
		t.Errorf("delta: %d %v", a.status, a.body)
	}
	if a := f.call(t, tok, "GET", user+"/messages/"+id+"/$value", nil); a.status != 200 {
		t.Errorf("$value: %d", a.status)
	}
	// A snapshot keeps it.
	var buf bytes.Buffer
	if err := f.s.Snapshot(&buf); err != nil {
		t.Fatal(err)
	}
	again := NewServer()
	if err := again.Restore(&buf); err != nil {
		t.Fatal(err)
	}
	if got := again.Mailbox(alice).RecoverableItems(); len(got) != 1 || got[0].ID != id {
		t.Errorf("restored: %+v", got)
	}
}
