package ewstest_test

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
)

// noteMIME is a sticky note as MIME: a text body whose first line is the
// subject.
var noteMIME = base64.StdEncoding.EncodeToString([]byte("Subject: Buy milk\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nBuy milk\r\nand bread\r\n"))

// createNote is a CreateItem of one el (Item or Message) with MimeContent
// and, unless class is "-", an ItemClass.
func createNote(el, class string) string {
	ic := ""
	if class != "-" {
		ic = "<t:ItemClass>" + class + "</t:ItemClass>"
	}
	return `<m:CreateItem MessageDisposition="SaveOnly"><m:SavedItemFolderId><t:DistinguishedFolderId Id="notes"/></m:SavedItemFolderId><m:Items><t:` + el + `><t:MimeContent CharacterSet="UTF-8">` +
		noteMIME + `</t:MimeContent>` + ic + `</t:` + el + `></m:Items></m:CreateItem>`
}

// A note created as a t:Item with MimeContent and an ItemClass keeps its
// class, and FindItem, GetItem and SyncFolderItems say so; without
// ItemClass the item is a message.
func TestCreateItemKeepsItemClass(t *testing.T) {
	srv, url, c := setup(t)
	for _, tc := range []struct{ el, class, want string }{
		{"Item", "IPM.StickyNote", "IPM.StickyNote"}, {"Item", "IPM.Activity", "IPM.Activity"}, {"Message", "-", "IPM.Note"},
	} {
		status, resp := post(t, c, url, envHead+createNote(tc.el, tc.class)+envTail, true)
		doc := parseXMLDoc(t, resp)
		msg, ok := doc.first("CreateItemResponseMessage")
		if status != http.StatusOK || !ok || msg.attrs["ResponseClass"] != "Success" {
			t.Fatalf("%s: HTTP %d: %s", tc.class, status, resp)
		}
		id, _ := doc.first("ItemId")
		for op, body := range map[string]string{
			"GetItem": `<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties><t:FieldURI FieldURI="item:ItemClass"/></t:AdditionalProperties></m:ItemShape><m:ItemIds><t:ItemId Id="` + id.attrs["Id"] + `"/></m:ItemIds></m:GetItem>`,
		} {
			_, resp := post(t, c, url, envHead+body+envTail, true)
			got, ok := parseXMLDoc(t, resp).first("ItemClass")
			if !ok || got.text != tc.want {
				t.Errorf("%s after creating with ItemClass %s: class %q, want %q: %s", op, tc.class, got.text, tc.want, resp)
			}
		}
	}
	var got []string
	for _, it := range srv.AddMailbox("a@contoso.com").Folder("Notes").Items() {
		got = append(got, it.Class+"/"+it.Subject)
	}
	if want := "IPM.StickyNote/Buy milk,IPM.Activity/Buy milk,IPM.Note/Buy milk"; strings.Join(got, ",") != want {
		t.Errorf("stored %v, want %s", got, want)
	}
	for op, body := range map[string]string{
		"FindItem":        `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties><t:FieldURI FieldURI="item:ItemClass"/></t:AdditionalProperties></m:ItemShape><m:ParentFolderIds><t:DistinguishedFolderId Id="notes"/></m:ParentFolderIds></m:FindItem>`,
		"SyncFolderItems": `<m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties><t:FieldURI FieldURI="item:ItemClass"/></t:AdditionalProperties></m:ItemShape><m:SyncFolderId><t:DistinguishedFolderId Id="notes"/></m:SyncFolderId><m:MaxChangesReturned>10</m:MaxChangesReturned></m:SyncFolderItems>`,
	} {
		_, resp := post(t, c, url, envHead+body+envTail, true)
		var classes []string
		for _, e := range parseXMLDoc(t, resp).all("ItemClass") {
			classes = append(classes, e.text)
		}
		if strings.Join(classes, ",") != "IPM.StickyNote,IPM.Activity,IPM.Note" {
			t.Errorf("%s lists classes %v: %s", op, classes, resp)
		}
	}
}

// A string that cannot be a message class (MS-OXCMSG 2.2.1.3), or a
// message with a class that is no message's, is refused and nothing is
// stored.
func TestCreateItemRefusesInvalidItemClass(t *testing.T) {
	srv, url, c := setup(t)
	for _, tc := range []struct{ el, class, want string }{
		{"Item", "", "ErrorInvalidPropertyRequest"}, {"Item", "IPM.StickyNote.", "ErrorInvalidPropertyRequest"},
		{"Item", "IPM.Notiz\u00e9", "ErrorInvalidPropertyRequest"}, {"Item", strings.Repeat("A", 256), "ErrorInvalidPropertyRequest"},
		// itemclass.md: a message's class must be consistent with a message.
		{"Message", "IPM.StickyNote", "ErrorObjectTypeChanged"}, {"Message", "IPM.Task", "ErrorObjectTypeChanged"},
	} {
		status, resp := post(t, c, url, envHead+createNote(tc.el, tc.class)+envTail, true)
		msg, ok := parseXMLDoc(t, resp).first("CreateItemResponseMessage")
		code, _ := parseXMLDoc(t, resp).first("ResponseCode")
		if status != http.StatusOK || !ok || msg.attrs["ResponseClass"] != "Error" || code.text != tc.want {
			t.Errorf("t:%s with ItemClass %.20q: HTTP %d, want %s: %s", tc.el, tc.class, status, tc.want, resp)
		}
	}
	// A class consistent with a message is a message's own.
	if _, resp := post(t, c, url, envHead+createNote("Message", "IPM.Note.SMIME")+envTail, true); !strings.Contains(resp, `ResponseClass="Success"`) {
		t.Errorf("t:Message with ItemClass IPM.Note.SMIME refused: %s", resp)
	}
	if got := srv.AddMailbox("a@contoso.com").Folder("Notes").Items(); len(got) != 1 || got[0].Class != "IPM.Note.SMIME" {
		t.Errorf("stored after refused creates and one message: %+v", got)
	}
}

// A new mailbox has the Notes and Journal folders Exchange makes, with
// their container classes, under the distinguished ids notes and journal.
func TestMailboxHasNotesAndJournal(t *testing.T) {
	_, url, c := setup(t)
	body := `<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties><t:FieldURI FieldURI="folder:DisplayName"/><t:FieldURI FieldURI="folder:FolderClass"/></t:AdditionalProperties></m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id="notes"/><t:DistinguishedFolderId Id="journal"/></m:FolderIds></m:GetFolder>`
	_, resp := post(t, c, url, envHead+body+envTail, true)
	doc := parseXMLDoc(t, resp)
	var got []string
	for i, n := range doc.all("DisplayName") {
		got = append(got, n.text+"="+doc.all("FolderClass")[i].text)
	}
	if strings.Join(got, ",") != "Notes=IPF.StickyNote,Journal=IPF.Journal" {
		t.Errorf("got %v: %s", got, resp)
	}
}
