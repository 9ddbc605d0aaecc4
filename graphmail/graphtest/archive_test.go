package graphtest

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/exmigrate/exmigrate/mailbox"
)

func TestArchive(t *testing.T) {
	f, tok := startIE(t)
	f.s.AddApp(tenant, "rw", "rw-secret", append(ieRoles, "MailboxFolder.ReadWrite.All")...)
	rw := f.bearer(t, "rw", "rw-secret")
	beta := func(path string) string { return strings.TrimSuffix(f.ep.BaseURL, "/v1.0") + "/beta" + path }
	fx := f.s.Mailbox(alice)
	ar := fx.AddArchive()
	if fx.AddArchive().MailboxID() != ar.MailboxID() || fx.Archive() == nil || f.s.Mailbox(bob).Archive() != nil {
		t.Fatal("AddArchive is not idempotent, or Archive does not find it")
	}
	old := ar.AddMessage("Old/2019", Message{Subject: "archived"})
	amb := ar.MailboxID()
	if amb == fx.MailboxID() || !strings.HasPrefix(amb, "MBX:") {
		t.Fatalf("archive id %q, primary %q", amb, fx.MailboxID())
	}
	// Discovery: beta names the archive, v1.0 does not; no archive, no id.
	a := f.call(t, tok, "GET", beta("/users/"+alice+"/settings/exchange"), nil)
	if a.status != 200 || a.body["inPlaceArchiveMailboxId"] != amb || a.body["primaryMailboxId"] != fx.MailboxID() {
		t.Errorf("beta settings: %d %v", a.status, a.body)
	}
	if a := f.call(t, tok, "GET", "/users/"+alice+"/settings/exchange", nil); a.body["inPlaceArchiveMailboxId"] != nil {
		t.Errorf("v1.0 settings name the archive: %v", a.body)
	}
	if a := f.call(t, tok, "GET", beta("/users/"+bob+"/settings/exchange"), nil); a.status != 200 || a.body["inPlaceArchiveMailboxId"] != nil {
		t.Errorf("no archive: %d %v", a.status, a.body)
	}
	// The archive answers on beta only.
	if a := f.call(t, tok, "GET", admin(amb, "folders"), nil); a.status != 404 || a.code() != "ErrorMailboxNotFound" {
		t.Errorf("archive on v1.0: %d %v", a.status, a.body)
	}
	a = f.call(t, tok, "GET", beta(admin(amb, "folders"))+"?$top=1000", nil)
	var oldID, rootID string
	for _, v := range values(a) {
		switch v["displayName"] {
		case "Old":
			oldID = v["id"].(string)
		case "Top of Information Store":
			rootID = v["id"].(string)
		}
	}
	if a.status != 200 || oldID == "" || rootID == "" {
		t.Fatalf("archive folders on beta: %d %v", a.status, a.body)
	}
	// The primary is served on beta too.
	if a := f.call(t, tok, "GET", beta(admin(fx.MailboxID(), "folders")), nil); a.status != 200 {
		t.Errorf("primary on beta: %d %v", a.status, a.body)
	}
	// Well-known names are refused in an archive.
	for _, wk := range []string{"inbox", "msgfolderroot", "archivemsgfolderroot"} {
		if a := f.call(t, tok, "GET", beta(admin(amb, "folders", wk, "items")), nil); a.status != 400 || !strings.Contains(a.body["error"].(map[string]any)["message"].(string), "Well-known") {
			t.Errorf("well-known %s in the archive: %d %v", wk, a.status, a.body)
		}
	}
	// Items, export and import in the archive.
	twenty := ar.ImportExportFolderID(ar.FolderID("Old/2019"))
	a = f.call(t, tok, "GET", beta(admin(amb, "folders", twenty, "items"))+"?"+expandKey, nil)
	if vs := values(a); a.status != 200 || len(vs) != 1 || vs[0]["id"] != ar.ImportExportItemID(old) || expandedKey(t, vs[0]) != ar.SearchKey(old) {
		t.Fatalf("archive items: %d %v", a.status, a.body)
	}
	a = f.call(t, tok, "POST", beta(admin(amb, "exportItems")), []byte(`{"itemIds":["`+ar.ImportExportItemID(old)+`"]}`))
	vs := values(a)
	if a.status != 200 || len(vs) != 1 || vs[0]["data"] == nil {
		t.Fatalf("archive export: %d %v", a.status, a.body)
	}
	a = f.call(t, tok, "POST", beta(admin(amb, "createImportSession")), nil)
	u, _ := a.body["importUrl"].(string)
	if a.status != 200 || !strings.Contains(u, url.QueryEscape(amb)) && !strings.Contains(u, amb) {
		t.Fatalf("archive import session: %d %v", a.status, a.body)
	}
	data := []byte(vs[0]["data"].(string))
	imp := f.call(t, "", "POST", u, []byte(`{"FolderId":"`+oldID+`","Mode":"create","Data":"`+string(data)+`"}`))
	if imp.status != 200 || len(ar.Messages("Old")) != 1 || len(fx.Messages("Old")) != 0 {
		t.Errorf("import into the archive: %d %v", imp.status, imp.body)
	}
	// Folders are created through the API, once per name.
	body := []byte(`{"displayName":"Projects","type":"IPF.Note"}`)
	if a := f.call(t, tok, "POST", beta(admin(amb, "folders", rootID, "childFolders")), body); a.status != 403 {
		t.Errorf("create folder without MailboxFolder.ReadWrite: %d %v", a.status, a.body)
	}
	a = f.call(t, rw, "POST", beta(admin(amb, "folders", rootID, "childFolders")), body)
	if a.status != 201 || a.body["displayName"] != "Projects" || a.body["parentFolderId"] != rootID || a.body["type"] != "IPF.Note" || ar.FolderID("Projects") == "" {
		t.Errorf("create archive folder: %d %v", a.status, a.body)
	}
	if a := f.call(t, rw, "POST", beta(admin(amb, "folders")), body); a.status != 409 || a.code() != "ErrorFolderExists" {
		t.Errorf("the same name again: %d %v", a.status, a.body)
	}
	for _, bad := range []string{`{"displayName":"x"}`, `{"type":"IPF.Note"}`, `{"displayName":"x","type":"IPF.Note","color":"red"}`} {
		if a := f.call(t, rw, "POST", beta(admin(amb, "folders")), []byte(bad)); a.status != 400 {
			t.Errorf("create with %s: %d %v", bad, a.status, a.body)
		}
	}
	// Beta serves only what the fake models.
	if a := f.call(t, tok, "GET", beta("/users/"+alice+"/messages"), nil); a.status != 400 {
		t.Errorf("beta messages: %d %v", a.status, a.body)
	}
}

func TestArchiveAuxiliaryRedirects(t *testing.T) {
	f, tok := startIE(t)
	beta := func(path string) string { return strings.TrimSuffix(f.ep.BaseURL, "/v1.0") + "/beta" + path }
	ar := f.s.Mailbox(alice).AddArchive()
	ar.AddMessage("Big", Message{Subject: "moved out"})
	big := ar.ImportExportFolderID(ar.FolderID("Big"))
	aux := ar.ExpandFolder("Big")
	if len(ar.Messages("Big")) != 0 || len(aux.Messages("Big")) != 1 || aux.MailboxID() == ar.MailboxID() {
		t.Fatalf("expand: main %d, aux %d", len(ar.Messages("Big")), len(aux.Messages("Big")))
	}
	// The main archive still lists the folder; its items answer 308 to
	// the auxiliary, which knows the folder by the same id.
	noFollow := *f.ep.Client
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	req, _ := http.NewRequest("GET", beta(admin(ar.MailboxID(), "folders", big, "items"))+"?$top=5", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != 308 || loc != beta(admin(aux.MailboxID(), "folders", big, "items"))+"?$top=5" {
		t.Fatalf("items of an expanded folder: %d %q", resp.StatusCode, loc)
	}
	a := f.call(t, tok, "GET", loc, nil)
	vs := values(a)
	if a.status != 200 || len(vs) != 1 {
		t.Fatalf("the auxiliary's items: %d %v", a.status, a.body)
	}
	item := vs[0]["id"].(string)
	// Export through the main archive points at the auxiliary's exportItems.
	a = f.call(t, tok, "POST", beta(admin(ar.MailboxID(), "exportItems")), []byte(`{"itemIds":["`+item+`"]}`))
	vs = values(a)
	e, _ := vs[0]["Error"].(map[string]any)
	if a.status != 200 || len(vs) != 1 || e["code"] != "ErrorArchiveFolderMovedPermanently" || e["message"] != beta(admin(aux.MailboxID(), "exportItems")) {
		t.Fatalf("export through the main archive: %d %v", a.status, a.body)
	}
	a = f.call(t, tok, "POST", e["message"].(string), []byte(`{"itemIds":["`+item+`"]}`))
	if vs := values(a); a.status != 200 || len(vs) != 1 || vs[0]["data"] == nil {
		t.Fatalf("export from the auxiliary: %d %v", a.status, a.body)
	}
	data := values(a)[0]["data"].(string)
	// Import into the folder through the main archive: 409 naming the auxiliary.
	a = f.call(t, tok, "POST", beta(admin(ar.MailboxID(), "createImportSession")), nil)
	u, _ := a.body["importUrl"].(string)
	body := []byte(`{"FolderId":"` + big + `","Mode":"create","Data":"` + data + `"}`)
	a = f.call(t, "", "POST", u, body)
	if msg, _ := a.body["Message"].(string); a.status != 409 || !strings.Contains(msg, aux.MailboxID()) {
		t.Fatalf("import through the main archive: %d %v", a.status, a.body)
	}
	a = f.call(t, tok, "POST", beta(admin(aux.MailboxID(), "createImportSession")), nil)
	if a = f.call(t, "", "POST", a.body["importUrl"].(string), body); a.status != 200 || len(aux.Messages("Big")) != 2 {
		t.Errorf("import through the auxiliary: %d %v", a.status, a.body)
	}
	// Not on v1.0.
	if a := f.call(t, tok, "GET", admin(aux.MailboxID(), "folders"), nil); a.status != 404 {
		t.Errorf("auxiliary on v1.0: %d", a.status)
	}
}

func TestArchiveSnapshot(t *testing.T) {
	s := NewServer()
	fx := s.AddMailbox(alice, mailbox.TypeUser)
	ar := fx.AddArchive()
	id := ar.AddMessage("Old/2019", Message{Subject: "archived"})
	key := ar.SearchKey(id)
	var buf bytes.Buffer
	if err := s.Snapshot(&buf); err != nil {
		t.Fatal(err)
	}
	again := NewServer()
	if err := again.Restore(&buf); err != nil {
		t.Fatal(err)
	}
	got := again.Mailbox(alice).Archive()
	if got == nil || got.MailboxID() != ar.MailboxID() || len(got.Messages("Old/2019")) != 1 || got.SearchKey(id) != key ||
		got.ImportExportFolderID(got.FolderID("Old/2019")) != ar.ImportExportFolderID(ar.FolderID("Old/2019")) {
		t.Fatalf("restored archive: %+v", got)
	}
	if again.Mailbox(alice).MailboxID() != fx.MailboxID() || len(again.Mailbox(alice).Messages("Old/2019")) != 0 {
		t.Error("the archive's content leaked into the primary")
	}
	ar.ExpandFolder("Old/2019")
	if err := s.Snapshot(&bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "auxiliary") {
		t.Errorf("a snapshot with an auxiliary archive: %v", err)
	}
}

// The primary takes well-known names where the archive refuses them.
func TestImportExportWellKnownNames(t *testing.T) {
	f, tok := startIE(t)
	fx := f.s.Mailbox(alice)
	fx.AddMessage("Inbox", Message{Subject: "in the inbox"})
	mbx := fx.MailboxID()
	for _, c := range []struct {
		name  string
		items int
	}{{"inbox", 1}, {"Inbox", 1}, {"sentitems", 0}, {"calendar", 0}, {"contacts", 0}, {"tasks", 0}} {
		a := f.call(t, tok, "GET", admin(mbx, "folders", c.name, "items"), nil)
		if a.status != 200 || len(values(a)) != c.items {
			t.Errorf("%s: %d %v", c.name, a.status, a.body)
		}
	}
	// recoverableitemsdeletions is outside the import/export API's folders.
	if a := f.call(t, tok, "GET", admin(mbx, "folders", "recoverableitemsdeletions", "items"), nil); a.status != 404 {
		t.Errorf("recoverableitemsdeletions: %d %v", a.status, a.body)
	}
	if a := f.call(t, tok, "GET", admin(mbx, "folders", "nosuchname", "items"), nil); a.status != 400 {
		t.Errorf("not a name: %d %v", a.status, a.body)
	}
}
