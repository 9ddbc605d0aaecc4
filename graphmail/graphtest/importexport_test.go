package graphtest

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/internal/fakestream"
	"github.com/exmigrate/exmigrate/mailbox"
)

const bob = "bob@contoso.example"

// ieRoles are the application permissions of the import/export API.
var ieRoles = []string{"User.Read.All", "MailboxFolder.Read.All", "MailboxItem.Read.All", "MailboxItem.ImportExport.All"}

func startIE(t *testing.T, opts ...Option) (*fixture, string) {
	t.Helper()
	f := start(t, opts...)
	f.s.AddApp(tenant, "ie", "ie-secret", ieRoles...)
	f.s.AddMailbox(bob, mailbox.TypeUser)
	return f, f.bearer(t, "ie", "ie-secret")
}

func admin(mbx string, rest ...string) string {
	return "/admin/exchange/mailboxes/" + url.PathEscape(mbx) + "/" + strings.Join(rest, "/")
}

func TestImportExportDiscoveryAndRoles(t *testing.T) {
	f, tok := startIE(t)
	a := f.call(t, tok, "GET", "/users/"+alice+"/settings/exchange", nil)
	mbx, _ := a.body["primaryMailboxId"].(string)
	if a.status != 200 || !strings.HasPrefix(mbx, "MBX:") || !strings.Contains(mbx, "@") || mbx != f.s.Mailbox(alice).MailboxID() {
		t.Fatalf("settings/exchange: %d %v", a.status, a.body)
	}
	if other := f.s.Mailbox(bob).MailboxID(); other == mbx {
		t.Fatalf("two mailboxes share the id %s", mbx)
	}
	// Mail.ReadWrite alone reaches none of the API (D6).
	plain := f.bearer(t, appID, secret)
	for _, c := range []struct{ method, path string }{
		{"GET", "/users/" + alice + "/settings/exchange"},
		{"GET", admin(mbx, "folders")},
		{"GET", admin(mbx, "folders", f.s.Mailbox(alice).ImportExportFolderID(f.s.Mailbox(alice).FolderID("Inbox")), "items")},
		{"POST", admin(mbx, "exportItems")},
		{"POST", admin(mbx, "createImportSession")},
	} {
		var body []byte
		if strings.HasSuffix(c.path, "exportItems") {
			body = []byte(`{"itemIds":["x"]}`)
		}
		if a := f.call(t, plain, c.method, c.path, body); a.status != 403 || a.code() != "ErrorAccessDenied" {
			t.Errorf("%s %s with Mail.ReadWrite only: %d %v", c.method, c.path, a.status, a.body)
		}
	}
	// Export without MailboxItem.Export/ImportExport, reading items without MailboxItem.Read.
	f.s.AddApp(tenant, "folders-only", "fo", "MailboxFolder.Read.All")
	fo := f.bearer(t, "folders-only", "fo")
	if a := f.call(t, fo, "GET", admin(mbx, "folders"), nil); a.status != 200 {
		t.Errorf("folders with MailboxFolder.Read.All: %d %v", a.status, a.body)
	}
	inbox := f.s.Mailbox(alice).ImportExportFolderID(f.s.Mailbox(alice).FolderID("Inbox"))
	if a := f.call(t, fo, "GET", admin(mbx, "folders", inbox, "items"), nil); a.status != 403 {
		t.Errorf("items without MailboxItem.Read: %d %v", a.status, a.body)
	}
	f.s.AddApp(tenant, "exporter", "ex", "MailboxItem.Export.All")
	ex := f.bearer(t, "exporter", "ex")
	if a := f.call(t, ex, "POST", admin(mbx, "createImportSession"), nil); a.status != 403 {
		t.Errorf("import session with MailboxItem.Export.All only: %d %v", a.status, a.body)
	}
	if a := f.call(t, ex, "POST", admin(mbx, "exportItems"), []byte(`{"itemIds":["eA"]}`)); a.status != 200 {
		t.Errorf("export with MailboxItem.Export.All: %d %v", a.status, a.body)
	}
	// A mailbox id that names nothing, and an address in its place.
	if a := f.call(t, tok, "GET", admin("MBX:00000000@00000000", "folders"), nil); a.status != 404 {
		t.Errorf("unknown mailbox: %d %v", a.status, a.body)
	}
	if a := f.call(t, tok, "GET", admin(alice, "folders"), nil); a.status != 400 {
		t.Errorf("address as mailbox id: %d %v", a.status, a.body)
	}
}

func TestImportExportFoldersAndItems(t *testing.T) {
	f, tok := startIE(t)
	fx := f.s.Mailbox(alice)
	mbx := fx.MailboxID()
	for i := range 3 {
		fx.AddMessage("Inbox", Message{Subject: "m" + string(rune('0'+i))})
	}
	fx.AddEvent("", mailbox.Event{Subject: "ev", Start: time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC), End: time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)})
	a := f.call(t, tok, "GET", admin(mbx, "folders")+"?$top=1000", nil)
	types := map[string]string{}
	for _, v := range values(a) {
		types[v["displayName"].(string)] = v["type"].(string)
		for _, p := range []string{"id", "parentFolderId", "childFolderCount", "totalItemCount"} {
			if _, ok := v[p]; !ok {
				t.Errorf("folder %v lacks %s", v["displayName"], p)
			}
		}
	}
	if a.status != 200 || types["Inbox"] != "IPF.Note" || types["Calendar"] != "IPF.Appointment" || types["Contacts"] != "IPF.Contact" || types["Tasks"] != "IPF.Task" {
		t.Fatalf("folders: %d %v", a.status, types)
	}
	a = f.call(t, tok, "GET", admin(mbx, "folders")+"?"+url.Values{"$filter": {"type eq 'IPF.Appointment'"}}.Encode(), nil)
	if vs := values(a); len(vs) != 1 || vs[0]["displayName"] != "Calendar" || vs[0]["totalItemCount"].(float64) != 1 {
		t.Errorf("filter on type: %d %v", a.status, a.body)
	}
	// Paging: $top and the nextLink.
	a = f.call(t, tok, "GET", admin(mbx, "folders")+"?$top=2&$count=true", nil)
	next, _ := a.body["@odata.nextLink"].(string)
	if len(values(a)) != 2 || next == "" || int(a.body["@odata.count"].(float64)) != len(types) {
		t.Fatalf("first page: %v", a.body)
	}
	if b := f.call(t, tok, "GET", next, nil); b.status != 200 || len(values(b)) != 2 || values(b)[0]["id"] == values(a)[0]["id"] {
		t.Errorf("second page: %d %v", b.status, b.body)
	}
	inbox := fx.ImportExportFolderID(fx.FolderID("Inbox"))
	a = f.call(t, tok, "GET", admin(mbx, "folders", inbox, "items")+"?$select=id,type,size&$top=2&$skip=1&$count=true", nil)
	vs := values(a)
	if a.status != 200 || len(vs) != 2 || vs[0]["type"] != "IPM.Note" || vs[0]["size"].(float64) <= 0 || vs[0]["changeKey"] != nil || a.body["@odata.count"].(float64) != 3 {
		t.Errorf("items: %d %v", a.status, a.body)
	}
	for _, bad := range []string{"$orderby=size", "$select=subject", "$filter=subject eq 'x'", "$top=0", "$search=x"} {
		if a := f.call(t, tok, "GET", admin(mbx, "folders", inbox, "items")+"?"+bad, nil); a.status != 400 {
			t.Errorf("%s: %d %v", bad, a.status, a.body)
		}
	}
	// The ids of the two APIs do not mix (D3).
	apiInbox := fx.FolderID("Inbox")
	if a := f.call(t, tok, "GET", admin(mbx, "folders", url.PathEscape(apiInbox), "items"), nil); a.status != 400 || a.code() != "ErrorInvalidIdMalformed" {
		t.Errorf("mail API folder id on the import/export API: %d %v", a.status, a.body)
	}
	ieItem := vs[0]["id"].(string)
	mailTok := f.bearer(t, appID, secret)
	if a := f.call(t, mailTok, "GET", "/users/"+alice+"/messages/"+url.PathEscape(ieItem), nil); a.status != 404 {
		t.Errorf("import/export id on the mail API: %d %v", a.status, a.body)
	}
	if a := f.call(t, mailTok, "GET", "/users/"+alice+"/mailFolders/"+url.PathEscape(inbox)+"/messages", nil); a.status == 200 {
		t.Errorf("import/export folder id on the mail API: %d %v", a.status, a.body)
	}
	// A folder of the other mailbox is not found here.
	bobInbox := f.s.Mailbox(bob).ImportExportFolderID(f.s.Mailbox(bob).FolderID("Inbox"))
	if a := f.call(t, tok, "GET", admin(mbx, "folders", bobInbox, "items"), nil); a.status != 404 {
		t.Errorf("other mailbox's folder: %d %v", a.status, a.body)
	}
}

func TestImportExportDelta(t *testing.T) {
	f, tok := startIE(t)
	fx := f.s.Mailbox(alice)
	mbx := fx.MailboxID()
	old := fx.AddMessage("Inbox", Message{Subject: "old", Received: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)})
	for i := range 4 {
		fx.AddMessage("Inbox", Message{Subject: "n" + string(rune('0'+i)), Received: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
	}
	inbox := fx.ImportExportFolderID(fx.FolderID("Inbox"))
	path := admin(mbx, "folders", inbox, "items", "delta")
	round := func(u string) (ids []string, removed int, deltaLink string) {
		for u != "" {
			a := f.call(t, tok, "GET", u, nil, "Prefer", "odata.maxpagesize=2")
			if a.status != 200 {
				t.Fatalf("delta: %d %v", a.status, a.body)
			}
			for _, v := range values(a) {
				if v["@removed"] != nil {
					removed++
				} else {
					ids = append(ids, v["id"].(string))
				}
			}
			u, _ = a.body["@odata.nextLink"].(string)
			deltaLink, _ = a.body["@odata.deltaLink"].(string)
		}
		return
	}
	ids, _, dl := round(path)
	if len(ids) != 5 || dl == "" {
		t.Fatalf("first round: %v %q", ids, dl)
	}
	ids, _, _ = round(path + "?" + url.Values{"$filter": {"receivedDateTime ge 2025-01-01T00:00:00Z"}}.Encode())
	if len(ids) != 4 {
		t.Errorf("filtered round: %d items", len(ids))
	}
	fx.DeleteMessage(old)
	fx.AddMessage("Inbox", Message{Subject: "new"})
	ids, removed, _ := round(dl)
	if len(ids) != 1 || removed != 1 {
		t.Errorf("second round: %v, %d removed", ids, removed)
	}
	for _, bad := range []string{"$filter=type eq 'IPM.Note'", "$filter=receivedDateTime lt 2025-01-01T00:00:00Z", "$select=id", "$skip=1"} {
		if a := f.call(t, tok, "GET", path+"?"+strings.ReplaceAll(bad, " ", "%20"), nil); a.status != 400 {
			t.Errorf("delta with %s: %d %v", bad, a.status, a.body)
		}
	}
	f.s.ExpireDeltaTokens()
	if a := f.call(t, tok, "GET", dl, nil); a.status != 410 || a.code() != "SyncStateNotFound" {
		t.Errorf("expired delta token: %d %v", a.status, a.body)
	}
}

// exportOne exports ids of mbx and returns the answer's values.
func exportIDs(t *testing.T, f *fixture, tok, mbx string, ids ...string) answer {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"itemIds": ids})
	return f.call(t, tok, "POST", admin(mbx, "exportItems"), body)
}

func TestExportItemsRules(t *testing.T) {
	f, tok := startIE(t)
	fx := f.s.Mailbox(alice)
	mbx := fx.MailboxID()
	id := fx.AddMessage("Inbox", Message{Subject: "hello", IsRead: true, ExtendedProperties: map[string]string{"Integer 0x1234": "7"}})
	ie := fx.ImportExportItemID(id)
	a := exportIDs(t, f, tok, mbx, ie)
	vs := values(a)
	if a.status != 200 || len(vs) != 1 || vs[0]["itemId"] != ie || vs[0]["changeKey"] == "" {
		t.Fatalf("export: %d %v", a.status, a.body)
	}
	data, err := base64.StdEncoding.DecodeString(vs[0]["data"].(string))
	if err != nil {
		t.Fatal(err)
	}
	it, err := fakestream.Decode(data)
	if err != nil || it.Dialect != fakestream.DialectGraph || it.Subject != "hello" || !it.IsRead || it.Ext["Integer 0x1234"] != "7" {
		t.Fatalf("stream: %v %+v", err, it)
	}
	many := make([]string, 21)
	for i := range many {
		many[i] = ie
	}
	if a := exportIDs(t, f, tok, mbx, many...); a.status != 400 {
		t.Errorf("21 ids: %d %v", a.status, a.body)
	}
	if a := exportIDs(t, f, tok, mbx, many[:20]...); a.status != 200 || len(values(a)) != 20 {
		t.Errorf("20 ids: %d", a.status)
	}
	if a := exportIDs(t, f, tok, mbx); a.status != 400 {
		t.Errorf("no ids: %d %v", a.status, a.body)
	}
	// An item of another mailbox: the whole request is refused.
	bobID := f.s.Mailbox(bob).ImportExportItemID(f.s.Mailbox(bob).AddMessage("Inbox", Message{Subject: "b"}))
	if a := exportIDs(t, f, tok, mbx, ie, bobID); a.status != 400 {
		t.Errorf("ids of two mailboxes: %d %v", a.status, a.body)
	}
	// A mail API id and a missing item fail one by one.
	gone := fx.ImportExportItemID(fx.AddMessage("Inbox", Message{Subject: "gone"}))
	fx.DeleteMessage(f.s.Mailbox(alice).APIItemID(gone))
	a = exportIDs(t, f, tok, mbx, id, gone, ie)
	vs = values(a)
	code := func(v map[string]any) string {
		e, _ := v["error"].(map[string]any)
		c, _ := e["code"].(string)
		return c
	}
	if a.status != 200 || len(vs) != 3 || code(vs[0]) != "ErrorInvalidIdMalformed" || code(vs[1]) != "ErrorItemNotFound" || vs[1]["data"] != nil || vs[2]["data"] == nil {
		t.Errorf("per-item errors: %d %v", a.status, a.body)
	}
	if a := f.call(t, tok, "POST", admin(mbx, "exportItems"), []byte(`{"itemIds":["x"],"format":"fts"}`)); a.status != 400 {
		t.Errorf("unknown property: %d %v", a.status, a.body)
	}
}

// importSessionURL creates an import session of mbx.
func importSessionURL(t *testing.T, f *fixture, tok, mbx string) string {
	t.Helper()
	a := f.call(t, tok, "POST", admin(mbx, "createImportSession"), nil)
	u, _ := a.body["importUrl"].(string)
	if a.status != 200 || u == "" || a.body["expirationDateTime"] == nil {
		t.Fatalf("createImportSession: %d %v", a.status, a.body)
	}
	return u
}

func importBody(folder, mode string, data []byte, kv ...string) []byte {
	m := map[string]string{"FolderId": folder, "Mode": mode, "Data": base64.StdEncoding.EncodeToString(data)}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	b, _ := json.Marshal(m)
	return b
}

func TestImportSessionRules(t *testing.T) {
	f, tok := startIE(t)
	ax, bx := f.s.Mailbox(alice), f.s.Mailbox(bob)
	src := ax.ImportExportItemID(ax.AddMessage("Inbox", Message{Subject: "copy me", Body: "b", From: "x@y.example", To: []string{"alice@contoso.example"}}))
	vs := values(exportIDs(t, f, tok, ax.MailboxID(), src))
	data, _ := base64.StdEncoding.DecodeString(vs[0]["data"].(string))
	u := importSessionURL(t, f, tok, bx.MailboxID())
	iu, _ := url.Parse(u)
	graph, _ := url.Parse(f.ep.BaseURL)
	if iu.Hostname() == graph.Hostname() || iu.Query().Get("authtoken") == "" {
		t.Fatalf("import URL %s is on the Graph host or has no token", iu.Redacted())
	}
	inbox := bx.ImportExportFolderID(bx.FolderID("Inbox"))
	// Pre-authenticated: a Graph token is refused.
	if a := f.call(t, tok, "POST", u, importBody(inbox, "create", data)); a.status != 401 || a.code() != "InvalidAudienceForResource" || strings.Contains(errMessage(a), "authtoken") {
		t.Errorf("import with Authorization: %d %v", a.status, a.body)
	}
	// The same path on Graph's host, and a wrong token.
	onGraph := *iu
	onGraph.Host = graph.Host
	if a := f.call(t, "", "POST", onGraph.String(), importBody(inbox, "create", data)); a.status == 200 {
		t.Errorf("import URL on the Graph host: %d", a.status)
	}
	wrong := *iu
	wrong.RawQuery = "authtoken=nope"
	if a := f.call(t, "", "POST", wrong.String(), importBody(inbox, "create", data)); a.status != 401 {
		t.Errorf("wrong authtoken: %d", a.status)
	}
	for _, c := range []struct {
		name string
		body []byte
		want int
	}{
		{"create with ItemId", importBody(inbox, "create", data, "ItemId", src), 400},
		{"update without ChangeKey", importBody(inbox, "update", data, "ItemId", src), 400},
		{"bad mode", importBody(inbox, "replace", data), 400},
		{"unknown property", []byte(`{"FolderId":"x","Mode":"create","Data":"eA==","Extra":1}`), 400},
		{"not a stream", importBody(inbox, "create", []byte("hello")), 400},
		{"mail API folder id", importBody(bx.FolderID("Inbox"), "create", data), 400},
		{"folder of another mailbox", importBody(ax.ImportExportFolderID(ax.FolderID("Inbox")), "create", data), 404},
		{"message into a calendar", importBody(bx.ImportExportFolderID(bx.CalendarID()), "create", data), 400},
	} {
		if a := f.call(t, "", "POST", u, c.body); a.status != c.want {
			t.Errorf("%s: %d %v", c.name, a.status, a.body)
		}
	}
	if n := len(bx.Messages("Inbox")); n != 0 {
		t.Fatalf("refused imports stored %d messages", n)
	}
	a := f.call(t, "", "POST", u, importBody(inbox, "create", data))
	newID, _ := a.body["itemId"].(string)
	ck, _ := a.body["changeKey"].(string)
	if a.status != 200 || newID == "" || ck == "" {
		t.Fatalf("create: %d %v", a.status, a.body)
	}
	got := bx.Messages("Inbox")
	if len(got) != 1 || got[0].Subject != "copy me" || got[0].From != "x@y.example" || got[0].Body != "b" || bx.ImportExportItemID(got[0].ID) != newID {
		t.Fatalf("imported: %+v", got)
	}
	// Update: a stale change key conflicts, the current one replaces.
	if a := f.call(t, "", "POST", u, importBody(inbox, "update", data, "ItemId", newID, "ChangeKey", "Q0sx"+"x")); a.status != 409 {
		t.Errorf("update with a stale change key: %d %v", a.status, a.body)
	}
	if a := f.call(t, "", "POST", u, importBody(bx.ImportExportFolderID(bx.FolderID("Drafts")), "update", data, "ItemId", newID, "ChangeKey", ck)); a.status != 404 {
		t.Errorf("update in another folder: %d %v", a.status, a.body)
	}
	a = f.call(t, "", "POST", u, importBody(inbox, "update", data, "ItemId", newID, "ChangeKey", ck))
	if a.status != 200 || a.body["itemId"] != newID || a.body["changeKey"] == ck || len(bx.Messages("Inbox")) != 1 {
		t.Errorf("update: %d %v", a.status, a.body)
	}
	if f.s.Imports() != 2 || len(f.s.ImportTokens()) != 1 {
		t.Errorf("imports %d, tokens %d", f.s.Imports(), len(f.s.ImportTokens()))
	}
	// Expiry.
	f.s.ExpireImportSessions()
	if a := f.call(t, "", "POST", u, importBody(inbox, "create", data)); a.status != 401 || a.code() != "InvalidAuthenticationToken" {
		t.Errorf("expired session: %d %v", a.status, a.body)
	}
	if a := f.call(t, tok, "POST", admin(bx.MailboxID(), "createImportSession"), []byte(`{"x":1}`)); a.status != 400 {
		t.Errorf("createImportSession with a body: %d %v", a.status, a.body)
	}
}

func TestImportSessionLifetimeOption(t *testing.T) {
	f, tok := startIE(t, WithImportSessionLifetime(50*time.Millisecond))
	bx := f.s.Mailbox(bob)
	u := importSessionURL(t, f, tok, bx.MailboxID())
	time.Sleep(80 * time.Millisecond)
	data, _ := fakestream.Encode(fakestream.Item{Dialect: fakestream.DialectGraph, Class: mailbox.ClassMessage, Subject: "s"})
	if a := f.call(t, "", "POST", u, importBody(bx.ImportExportFolderID(bx.FolderID("Inbox")), "create", data)); a.status != 401 {
		t.Errorf("import after the session's lifetime: %d %v", a.status, a.body)
	}
}

func TestImportDialectSwitchAndMeetings(t *testing.T) {
	f, tok := startIE(t)
	bx := f.s.Mailbox(bob)
	u := importSessionURL(t, f, tok, bx.MailboxID())
	ews, _ := fakestream.Encode(fakestream.Item{Dialect: fakestream.DialectEWS, Class: mailbox.ClassMessage, Subject: "from EWS", MIME: []byte("Subject: from EWS\r\n\r\nhi\r\n")})
	inbox := bx.ImportExportFolderID(bx.FolderID("Inbox"))
	a := f.call(t, "", "POST", u, importBody(inbox, "create", ews))
	if a.status != 400 || a.code() != "ErrorCannotImportItem" || !strings.Contains(errMessage(a), "not exported by Microsoft Graph") {
		t.Errorf("EWS stream by default: %d %v", a.status, a.body)
	}
	f.s.AcceptEWSStreams(true)
	if a := f.call(t, "", "POST", u, importBody(inbox, "create", ews)); a.status != 200 {
		t.Errorf("EWS stream accepted: %d %v", a.status, a.body)
	}
	if got := bx.Messages("Inbox"); len(got) != 1 || got[0].Subject != "from EWS" || string(got[0].MIME) == "" {
		t.Errorf("imported EWS message: %+v", got)
	}
	// A meeting is imported with its attendees, and nothing is sent.
	ev := mailbox.Event{Subject: "sync", Start: time.Date(2026, 2, 1, 9, 0, 0, 0, time.UTC), End: time.Date(2026, 2, 1, 10, 0, 0, 0, time.UTC), IsMeeting: true,
		Organizer: &mailbox.Attendee{Address: bob}, Attendees: []mailbox.Attendee{{Address: alice, Type: "Required"}}}
	meeting, _ := fakestream.Encode(fakestream.Item{Dialect: fakestream.DialectGraph, Class: mailbox.ClassAppointment, Subject: "sync", Event: &ev})
	cal := bx.ImportExportFolderID(bx.CalendarID())
	if a := f.call(t, "", "POST", u, importBody(cal, "create", meeting)); a.status != 200 {
		t.Fatalf("meeting: %d %v", a.status, a.body)
	}
	evs := bx.Events("")
	if len(evs) != 1 || len(evs[0].Event.Attendees) != 1 || f.s.MeetingMessagesSent() != 0 {
		t.Errorf("imported meeting: %+v, %d meeting messages", evs, f.s.MeetingMessagesSent())
	}
	f.s.ImportSendsMeetingMessages(true)
	if a := f.call(t, "", "POST", u, importBody(cal, "create", meeting)); a.status != 200 || f.s.MeetingMessagesSent() == 0 {
		t.Errorf("ImportSendsMeetingMessages(true): %d, %d meeting messages", a.status, f.s.MeetingMessagesSent())
	}
}

func FuzzParseIEQuery(f *testing.F) {
	for _, s := range []string{"$top=2&$skip=1", "$filter=type eq 'IPF.Note'", "$select=id,type", "$filter=receivedDateTime ge 2020-01-01T00:00:00Z", "$count=true", "$filter=type eq 'a''b'"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, raw string, delta bool) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := parseIEQuery(v, ieItemProps, delta)
		if err != nil {
			return
		}
		if q.hasTop && (q.top < 1 || q.top > 1000) || q.skip < 0 {
			t.Fatalf("accepted %q: %+v", raw, q)
		}
		if delta && (q.hasFilter || q.expandSV != nil || len(q.sel) > 0 || q.count) {
			t.Fatalf("delta accepted %q", raw)
		}
		if !delta && q.receivedOp != "" {
			t.Fatalf("list accepted a receivedDateTime filter %q", raw)
		}
	})
}

func FuzzParseImportRequest(f *testing.F) {
	f.Add([]byte(`{"FolderId":"x","Mode":"create","Data":"eA=="}`))
	f.Add([]byte(`{"FolderId":"x","Mode":"update","Data":"eA==","ItemId":"i","ChangeKey":"c"}`))
	f.Add([]byte(`{"FolderId":"x","Mode":"create","Data":"eA==","ItemId":"i"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		in, code, _ := parseImportRequest(body)
		if code != "" {
			return
		}
		if in.FolderID == "" || len(in.data) == 0 && in.Data != "" {
			t.Fatalf("accepted %q", body)
		}
		if in.Mode == "create" && (in.ItemID != "" || in.ChangeKey != "") || in.Mode == "update" && (in.ItemID == "" || in.ChangeKey == "") || in.Mode != "create" && in.Mode != "update" {
			t.Fatalf("accepted %q: %+v", body, in)
		}
	})
}

func FuzzParseIEID(f *testing.F) {
	f.Add("SUVYMXxtfE1CWDphYmNkQGVmZ2h8QUFNaw")
	f.Add("AAMkAAgAAAAAAAAAGG742r1EU1tGYksOplYE----__8=")
	f.Fuzz(func(t *testing.T, id string) {
		mbx, kind, api, ok := parseIEID(id)
		if !ok {
			return
		}
		if api == "" || kind == 0 {
			t.Fatalf("accepted %q", id)
		}
		// An id that parses is one ieID makes.
		if back := base64.RawURLEncoding.EncodeToString([]byte("IEX1|" + string(kind) + "|" + mbx + "|" + api)); back != id {
			t.Fatalf("%q parses but is not canonical (%q)", id, back)
		}
	})
}

func TestImportExportItemExtendedProperties(t *testing.T) {
	f, tok := startIE(t)
	fx := f.s.Mailbox(alice)
	mbx := fx.MailboxID()
	prop := "String {00020329-0000-0000-C000-000000000046} Name Tag"
	fx.AddMessage("Inbox", Message{Subject: "tagged", ExtendedProperties: map[string]string{prop: "yes"}})
	fx.AddMessage("Inbox", Message{Subject: "plain", Categories: []string{"Red"}})
	inbox := fx.ImportExportFolderID(fx.FolderID("Inbox"))
	list := func(kv ...string) answer {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return f.call(t, tok, "GET", admin(mbx, "folders", inbox, "items")+"?"+v.Encode(), nil)
	}
	a := list("$filter", "singleValueExtendedProperties/Any(ep: ep/id eq '"+prop+"' and ep/value eq 'yes')",
		"$expand", "singleValueExtendedProperties($filter=id eq '"+prop+"')")
	vs := values(a)
	if a.status != 200 || len(vs) != 1 {
		t.Fatalf("filter on an extended property: %d %v", a.status, a.body)
	}
	ps, _ := vs[0]["singleValueExtendedProperties"].([]any)
	if len(ps) != 1 || ps[0].(map[string]any)["value"] != "yes" {
		t.Errorf("expanded properties: %v", vs[0])
	}
	if a := list("$filter", "categories/any(c: c eq 'Red')"); len(values(a)) != 1 {
		t.Errorf("filter on categories: %d %v", a.status, a.body)
	}
	if a := list("$expand", "attachments"); a.status != 400 {
		t.Errorf("$expand=attachments: %d %v", a.status, a.body)
	}
	a = f.call(t, tok, "GET", admin(mbx, "folders")+"?"+url.Values{"$filter": {"displayName eq 'Inbox'"}}.Encode(), nil)
	if vs := values(a); len(vs) != 1 || vs[0]["id"] != inbox {
		t.Errorf("folder by displayName: %d %v", a.status, a.body)
	}
}
