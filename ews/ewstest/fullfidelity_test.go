package ewstest

import (
	"bytes"
	"encoding/base64"
	"maps"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/internal/fakestream"
	"github.com/exmigrate/exmigrate/mailbox"
	"github.com/exmigrate/exmigrate/mailbox/mailboxtest"
)

// doAs serves one request body in-process, impersonating addr.
func (l *lab) doAs(t testing.TB, addr, body string) (int, []byte) {
	t.Helper()
	data := []byte(strings.ReplaceAll(labEnvelope, "alice@contoso.com", addr) + body + labEnvelopeEnd)
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, "/EWS/Exchange.asmx", bytes.NewReader(data))
	r.Header.Set("X-AnchorMailbox", addr)
	rc := &reqCtx{s: l.srv, acct: l.acct, w: w, r: r, style: StylePrefixed}
	doc, err := parseDOM(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("test request is not XML: %v", err)
	}
	rc.op = doc.child(nsSOAP, "Body").children[0].name.Local
	rc.serve(doc)
	return w.Code, w.Body.Bytes()
}

// export answers the data of each id (nil for an id that failed) and
// the response codes.
func (l *lab) export(t *testing.T, ids ...string) ([][]byte, [][2]string, []byte) {
	t.Helper()
	var b strings.Builder
	b.WriteString(`<m:ExportItems><m:ItemIds>`)
	for _, id := range ids {
		b.WriteString(`<t:ItemId Id="` + id + `"/>`)
	}
	b.WriteString(`</m:ItemIds></m:ExportItems>`)
	code, resp := l.do(t, b.String())
	if code != http.StatusOK {
		t.Fatalf("ExportItems: HTTP %d\n%s", code, resp)
	}
	var out [][]byte
	for _, m := range findAll(t, resp, "ExportItemsResponseMessage") {
		d := m.child(nsMessages, "Data")
		if d == nil {
			out = append(out, nil)
			continue
		}
		data, err := base64.StdEncoding.DecodeString(d.text.String())
		if err != nil {
			t.Fatalf("Data is not base64: %v", err)
		}
		out = append(out, data)
	}
	return out, messages(t, resp), resp
}

func uploadBody(action, folderID, itemID string, data []byte) string {
	s := `<m:UploadItems><m:Items><t:Item CreateAction="` + action + `"><t:ParentFolderId Id="` + folderID + `"/>`
	if itemID != "" {
		s += `<t:ItemId Id="` + itemID + `"/>`
	}
	return s + `<t:Data>` + base64.StdEncoding.EncodeToString(data) + `</t:Data></t:Item></m:Items></m:UploadItems>`
}

// upload answers the new item's id ("" on an error) and the response code.
func (l *lab) upload(t *testing.T, addr, action, folderID, itemID string, data []byte) (string, string, []byte) {
	t.Helper()
	code, resp := l.doAs(t, addr, uploadBody(action, folderID, itemID, data))
	if code != http.StatusOK {
		t.Fatalf("UploadItems: HTTP %d\n%s", code, resp)
	}
	msgs := messages(t, resp)
	if len(msgs) != 1 {
		t.Fatalf("UploadItems: %d answers for one item\n%s", len(msgs), resp)
	}
	id := ""
	if ids := findAll(t, resp, "ItemId"); len(ids) == 1 {
		id = ids[0].attr("Id")
	}
	return id, msgs[0][1], resp
}

// sameItem compares everything the fake holds of two items but their
// identity, their place in the change sequence, the stamp and the
// modification time (a stamp is a write). A new field of item must be
// added here.
func sameItem(t *testing.T, what string, got, want *item) {
	t.Helper()
	wantMIME := want.mime
	if want.open != nil {
		rc, err := want.open()
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		b.ReadFrom(rc)
		rc.Close()
		wantMIME = b.Bytes()
	}
	ext := func(x *item) map[string]string {
		m := maps.Clone(x.ext)
		delete(m, sourceKey)
		delete(m, "0x3008")
		return m
	}
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"class", got.class, want.class}, {"subject", got.subject, want.subject}, {"msgID", got.msgID, want.msgID},
		{"size", got.size, want.size}, {"received", got.received, want.received}, {"sent", got.sent, want.sent},
		{"isRead", got.isRead, want.isRead}, {"isDraft", got.isDraft, want.isDraft}, {"importance", got.importance, want.importance},
		{"categories", got.categories, want.categories}, {"mime", string(got.mime), string(wantMIME)},
		{"contact", got.contact, want.contact}, {"event", got.event, want.event}, {"task", got.task, want.task},
		{"group", got.group, want.group}, {"ext", ext(got), ext(want)},
		{"occurrence", got.master != nil || !got.originalStart.IsZero(), want.master != nil || !want.originalStart.IsZero()},
	} {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: %s differs after the round trip:\n got %#v\nwant %#v", what, c.name, c.got, c.want)
		}
	}
	if n := reflect.TypeOf(item{}).NumField(); n != 26 {
		t.Errorf("item has %d fields: compare the new ones here", n)
	}
}

// TestExportUploadRoundTrip exports every kind the fake holds from one
// mailbox, uploads each stream into another and compares the fake's own
// stores: every property comes back, nothing is sent.
func TestExportUploadRoundTrip(t *testing.T) {
	l := newLab(t)
	recv := time.Date(2025, 3, 3, 10, 5, 0, 0, time.UTC)
	mb := l.mb
	l.ids["attachments"] = mb.Root("inbox").AddItem(Item{MIME: []byte(richMIME), Received: recv, Sent: recv.Add(-time.Hour),
		IsRead: true, Categories: []string{"Red"}, Importance: "Low", Flag: "Complete", SourceID: "an-earlier-copy"})
	l.ids["series"] = mb.Root("calendar").AddEvent(mailboxtest.SampleMeeting("alice@contoso.com"))
	task := mailboxtest.SampleTask()
	task.CompleteDate = "2026-11-29"
	l.ids["typed task"] = mb.Root("tasks").AddTask(task)
	l.ids["typed contact"] = mb.Root("contacts").AddContact(mailbox.Contact{DisplayName: "Ana Lima", GivenName: "Ana", Surname: "Lima",
		Title: "Dr.", JobTitle: "Architect", Photo: []byte("\xff\xd8\xff\xe0 photo"), Birthday: "1980-02-29", Categories: []string{"VIP"},
		EmailAddresses: []mailbox.ContactEmail{{Name: "Ana", Address: "ana.lima@fabrikam.example"}}, MobilePhone: "+49 170 1",
		BusinessAddr: &mailbox.PostalAddress{Street: "Main 1", City: "Berlin"}, PersonalNotes: "met at the kick-off"})
	l.ids["group"] = mb.Root("contacts").AddContactGroup(mailboxtest.SampleContactGroup())
	l.ids["note"] = mb.Root("notes").AddItem(Item{MIME: []byte("Subject: Call Ann\r\n\r\nCall Ann"), Class: mailbox.ClassStickyNote, Received: recv})
	// Exchange's own extended properties travel too.
	l.srv.mu.Lock()
	l.srv.items[l.ids["note"]].ext["0x8b00"] = "3" // a note's colour
	// What the contact model has no field for, the fake holds and exports.
	cd := l.srv.items[l.ids["typed contact"]].contact
	cd.Fields["Mileage"] = "1200 km"
	cd.Phones["Pager"] = "+49 30 99"
	l.srv.mu.Unlock()

	bob := l.srv.AddMailbox("bob@contoso.com")
	l.srv.mu.Lock()
	l.acct.fullAccess["bob@contoso.com"] = true
	l.srv.mu.Unlock()
	sent := l.srv.SendAttempts()
	for kind, id := range l.ids {
		datas, msgs, _ := l.export(t, id)
		if len(msgs) != 1 || msgs[0][1] != "NoError" || datas[0] == nil {
			t.Fatalf("%s: export answered %v", kind, msgs)
		}
		src := l.srv.items[id]
		target := bob.folderUnder("msgfolderroot", src.f.name).ID()
		newID, code, resp := l.upload(t, "bob@contoso.com", "CreateNew", target, "", datas[0])
		if code != "NoError" || newID == "" {
			t.Fatalf("%s: upload answered %s\n%s", kind, code, resp)
		}
		l.srv.mu.Lock()
		got := l.srv.items[newID]
		sameItem(t, kind, got, src)
		if got.ext[sourceKey] != src.ext[sourceKey] {
			t.Errorf("%s: stamp %q after the upload, want the stream's %q", kind, got.ext[sourceKey], src.ext[sourceKey])
		}
		if got.f.mb.address != "bob@contoso.com" || got.f.name != src.f.name {
			t.Errorf("%s: uploaded into %s/%s", kind, got.f.mb.address, got.f.name)
		}
		l.srv.mu.Unlock()
	}
	if n := l.srv.MeetingMessagesSent(); n != 0 {
		t.Errorf("an upload sent %d meeting messages", n)
	}
	if n := l.srv.SendAttempts() - sent; n != 0 {
		t.Errorf("an upload made %d send attempts", n)
	}
}

// TestExportItemsAnswers: one answer per id, in order; an unknown id is
// ErrorItemNotFound for that id alone; the answers are schema-valid.
func TestExportItemsAnswers(t *testing.T) {
	l := newLab(t)
	datas, msgs, resp := l.export(t, l.ids["message"], "QUFNa0FESXxub3RoZXJl", l.ids["contact"])
	want := [][2]string{{"Success", "NoError"}, {"Error", "ErrorItemNotFound"}, {"Success", "NoError"}}
	if !reflect.DeepEqual(msgs, want) {
		t.Fatalf("answers %v, want %v", msgs, want)
	}
	if datas[0] == nil || datas[1] != nil || datas[2] == nil {
		t.Fatalf("data present: %v %v %v", datas[0] != nil, datas[1] != nil, datas[2] != nil)
	}
	fi, err := fakestream.Decode(datas[0])
	if err != nil || fi.Dialect != fakestream.DialectEWS || fi.Class != "IPM.Note" || fi.Flag != mailbox.Flagged {
		t.Errorf("the stream: %+v, %v", fi, err)
	}
	ids := findAll(t, resp, "ItemId")
	if len(ids) != 2 || ids[0].attr("Id") != l.ids["message"] || ids[0].name.Space != nsMessages {
		t.Errorf("ItemIds %v", ids)
	}
	_, upload := l.do(t, uploadBody("CreateNew", l.mb.Root("inbox").ID(), "", datas[0]))
	_, refused := l.do(t, uploadBody("CreateNew", l.mb.Root("inbox").ID(), "", []byte("not a stream")))
	if m := messages(t, refused); len(m) != 1 || m[0][1] != "ErrorInvalidRequest" {
		t.Errorf("an upload of no stream: %v", m)
	}
	xmllintAll(t, map[string][]byte{"export": resp, "upload": upload, "refused": refused})
}

// TestUploadItemsActions: CreateNew, Update and UpdateOrCreate as
// documented, and the refusals of what is not ExportItems data.
func TestUploadItemsActions(t *testing.T) {
	l := newLab(t)
	inbox := l.mb.Root("inbox").ID()
	datas, _, _ := l.export(t, l.ids["message"], l.ids["task"])
	msg, task := datas[0], datas[1]
	alice := "alice@contoso.com"

	if _, code, _ := l.upload(t, alice, "CreateNew", inbox, l.ids["message"], msg); code != "ErrorInvalidRequest" {
		t.Errorf("CreateNew with an ItemId: %s", code)
	}
	if _, code, _ := l.upload(t, alice, "Update", inbox, "", msg); code != "ErrorInvalidRequest" {
		t.Errorf("Update without an ItemId: %s", code)
	}
	// Update: the item keeps its id and takes the stream's content.
	n := len(l.mb.Root("inbox").Items())
	id, code, _ := l.upload(t, alice, "Update", inbox, l.ids["message"], task)
	if code != "NoError" || id != l.ids["message"] {
		t.Fatalf("Update: %s, id %s", code, id)
	}
	l.srv.mu.Lock()
	if c := l.srv.items[id].class; c != "IPM.Task" {
		t.Errorf("after the update the item is a %s", c)
	}
	l.srv.mu.Unlock()
	if m := len(l.mb.Root("inbox").Items()); m != n {
		t.Errorf("Update changed the folder's count from %d to %d", n, m)
	}
	// Update of an item that is not in ParentFolderId.
	if _, code, _ := l.upload(t, alice, "Update", l.mb.Root("drafts").ID(), l.ids["message"], msg); code != "ErrorItemNotFound" {
		t.Errorf("Update in another folder: %s", code)
	}
	// UpdateOrCreate creates when the item is not there.
	id, code, _ = l.upload(t, alice, "UpdateOrCreate", l.mb.Root("drafts").ID(), l.ids["message"], msg)
	if code != "NoError" || id == l.ids["message"] || id == "" {
		t.Errorf("UpdateOrCreate elsewhere: %s, id %s", code, id)
	}
	// Not a stream; another dialect unless accepted.
	if _, code, _ := l.upload(t, alice, "CreateNew", inbox, "", []byte("Subject: plain MIME\r\n\r\nx")); code != "ErrorInvalidRequest" {
		t.Errorf("MIME as Data: %s", code)
	}
	fi, _ := fakestream.Decode(msg)
	fi.Dialect = fakestream.DialectGraph
	graph, _ := fakestream.Encode(fi)
	if _, code, _ := l.upload(t, alice, "CreateNew", inbox, "", graph); code != "ErrorInvalidRequest" {
		t.Errorf("a Graph stream by default: %s", code)
	}
	l.srv.AcceptForeignStreams(true)
	if _, code, _ := l.upload(t, alice, "CreateNew", inbox, "", graph); code != "NoError" {
		t.Errorf("a Graph stream once accepted: %s", code)
	}
	// A distinguished folder is not a FolderIdType.
	code2, resp := l.do(t, `<m:UploadItems><m:Items><t:Item CreateAction="CreateNew"><t:ParentFolderId><t:DistinguishedFolderId Id="inbox"/></t:ParentFolderId><t:Data>`+
		base64.StdEncoding.EncodeToString(msg)+`</t:Data></t:Item></m:Items></m:UploadItems>`)
	if code2 != http.StatusInternalServerError || !bytes.Contains(resp, []byte("ErrorSchemaValidation")) {
		t.Errorf("a DistinguishedFolderId as ParentFolderId: HTTP %d\n%s", code2, resp)
	}
}

// TestUploadItemsSizeLimit: an UploadItems request over MaxUploadBytes is
// refused with HTTP 413 before anything is stored.
func TestUploadItemsSizeLimit(t *testing.T) {
	l := newLab(t)
	datas, _, _ := l.export(t, l.ids["message"])
	fi, _ := fakestream.Decode(datas[0])
	fi.MIME = append(fi.MIME, bytes.Repeat([]byte("x"), MaxUploadBytes*3/4)...)
	big, _ := fakestream.Encode(fi)
	body := []byte(labEnvelope + uploadBody("CreateNew", l.mb.Root("inbox").ID(), "", big) + labEnvelopeEnd)
	r := httptest.NewRequest(http.MethodPost, "/EWS/Exchange.asmx", bytes.NewReader(body))
	l.srv.mu.Lock()
	l.srv.conns[r.RemoteAddr] = &connState{acct: l.acct} // an authenticated connection
	l.srv.mu.Unlock()
	writes := l.srv.Writes()
	w := httptest.NewRecorder()
	l.srv.ServeHTTP(w, r)
	if w.Code != http.StatusRequestEntityTooLarge || l.srv.Writes() != writes {
		t.Errorf("an upload of %d bytes: HTTP %d, %d writes", len(body), w.Code, l.srv.Writes()-writes)
	}
}
