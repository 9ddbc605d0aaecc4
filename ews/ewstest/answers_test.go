package ewstest

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The tests in this file pin what the fake answers against what Exchange
// answers (issue 13). They serve requests in-process, without TLS and
// NTLM, so that a sweep of every schema FieldURI stays fast; the
// exchangelib test drives the same answers over HTTPS with NTLM.

// lab is a fake with one impersonating account and a mailbox seeded with
// one item of each kind the fake answers for.
type lab struct {
	srv  *Server
	acct *account
	mb   *MailboxFixture
	ids  map[string]string // kind -> item id
}

const (
	labEnvelope = `<?xml version="1.0" encoding="utf-8"?>` + "\n" + `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types">` +
		"\n" + `<s:Header><t:RequestServerVersion Version="Exchange2016"/><t:ExchangeImpersonation><t:ConnectingSID><t:PrimarySmtpAddress>alice@contoso.com</t:PrimarySmtpAddress></t:ConnectingSID></t:ExchangeImpersonation></s:Header>` +
		"\n" + `<s:Body>`
	labEnvelopeEnd = `</s:Body></s:Envelope>`
)

func newLab(t testing.TB) *lab {
	t.Helper()
	srv := NewServer(WithPrefixStyle(StylePrefixed))
	srv.AddAccount("CONTOSO", "svc", "pw", true)
	mb := srv.AddMailbox("alice@contoso.com")
	mb.SetDisplayName("Alice")
	recv := time.Date(2025, 3, 3, 10, 5, 0, 0, time.UTC)
	l := &lab{srv: srv, acct: srv.accounts[accountKey("CONTOSO", "svc")], mb: mb, ids: map[string]string{}}
	inbox := mb.Root("inbox")
	l.ids["message"] = inbox.AddItem(Item{MIME: []byte(richMIME), Received: recv, Sent: recv.Add(-5 * time.Minute),
		Categories: []string{"Finance"}, Importance: "High", Flag: "Flagged"})
	l.ids["meeting"] = inbox.AddItem(Item{MIME: []byte(strings.Replace(labCalendarMIME, "method=PUBLISH", "method=REQUEST", 1)),
		Class: "IPM.Schedule.Meeting.Request", Received: recv})
	l.ids["streamed"] = inbox.AddItem(Item{Open: func() (r io.ReadCloser, err error) {
		return io.NopCloser(strings.NewReader("Subject: big\r\nFrom: scanner@contoso.com\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b--\r\n")), nil
	}, Size: 40 << 20, Subject: "big", StreamKey: "big", Received: recv})
	l.ids["draft"] = mb.Root("drafts").AddItem(Item{MIME: []byte("Subject: unsent\r\nTo: bob@contoso.com\r\n\r\nx"), IsDraft: true, Received: recv})
	l.ids["calendar"] = mb.Root("calendar").AddItem(Item{MIME: []byte(labCalendarMIME), Class: "IPM.Appointment", Received: recv, IsRead: true})
	l.ids["contact"] = mb.Root("contacts").AddItem(Item{MIME: []byte(labContactMIME), Class: "IPM.Contact", Received: recv, IsRead: true})
	l.ids["task"] = mb.Root("tasks").AddItem(Item{MIME: []byte("Subject: File the report\r\n\r\nby Friday"), Class: "IPM.Task", Received: recv})
	l.ids["post"] = mb.Folder("Inbox/Board").AddItem(Item{MIME: []byte("From: bob@contoso.com\r\nSubject: Notice\r\n\r\nx"), Class: "IPM.Post", Received: recv})
	return l
}

// do serves one request body (the element inside s:Body) in-process.
func (l *lab) do(t testing.TB, body string) (int, []byte) {
	t.Helper()
	data := []byte(labEnvelope + body + labEnvelopeEnd)
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, "/EWS/Exchange.asmx", bytes.NewReader(data))
	r.Header.Set("X-AnchorMailbox", "alice@contoso.com")
	rc := &reqCtx{s: l.srv, acct: l.acct, w: w, r: r, style: StylePrefixed}
	doc, err := parseDOM(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("test request is not XML: %v", err)
	}
	rc.op = doc.child(nsSOAP, "Body").children[0].name.Local
	rc.serve(doc)
	return w.Code, w.Body.Bytes()
}

// messages returns the ResponseClass and ResponseCode of each response message.
func messages(t testing.TB, resp []byte) [][2]string {
	t.Helper()
	doc, err := parseDOM(bytes.NewReader(resp))
	if err != nil {
		t.Fatalf("response is not XML: %v\n%s", err, resp)
	}
	var out [][2]string
	walkNodes(doc, func(n *node) {
		if n.attr("ResponseClass") != "" {
			out = append(out, [2]string{n.attr("ResponseClass"), n.child(nsMessages, "ResponseCode").value()})
		}
	})
	return out
}

func walkNodes(n *node, fn func(*node)) {
	fn(n)
	for _, c := range n.children {
		walkNodes(c, fn)
	}
}

// findAll returns every element of that local name in the types or
// messages namespace.
func findAll(t testing.TB, resp []byte, local string) []*node {
	t.Helper()
	doc, err := parseDOM(bytes.NewReader(resp))
	if err != nil {
		t.Fatalf("response is not XML: %v\n%s", err, resp)
	}
	var out []*node
	walkNodes(doc, func(n *node) {
		if n.name.Local == local {
			out = append(out, n)
		}
	})
	return out
}

// xmllintAll validates documents against the EWS schemas; xmllint is part
// of the suite (.ci/run installs it), so its absence fails the test.
func xmllintAll(t *testing.T, docs map[string][]byte) {
	t.Helper()
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		t.Fatalf("xmllint not found (%v): install it with `apt-get install libxml2-utils`", err)
	}
	dir := t.TempDir()
	var files []string
	for name, d := range docs {
		f := filepath.Join(dir, name+".xml")
		if err := os.WriteFile(f, d, 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	slices.Sort(files)
	out, err := exec.Command(xmllint, append([]string{"--noout", "--schema", "../testdata/schema/soap-envelope.xsd"}, files...)...).CombinedOutput()
	if err != nil || strings.Count(string(out), " validates") != len(files) {
		t.Errorf("xmllint rejected %d of %d documents: %v\n%s", len(files)-strings.Count(string(out), " validates"), len(files), err, firstLines(string(out), 30))
	}
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "\n")
}

func itemIDs(ids map[string]string) string {
	var b strings.Builder
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range ids {
			if !yield(k) {
				return
			}
		}
	}) {
		fmt.Fprintf(&b, `<t:ItemId Id="%s"/>`, ids[k])
	}
	return b.String()
}

// TestFieldURISweep asks for every FieldURI of the schema's
// UnindexedFieldURIType, read from types.xsd itself so that none is
// forgotten, in every shape that takes it: item properties in GetItem,
// FindItem and SyncFolderItems, folder properties in GetFolder and
// FindFolder. The fake as it was refused 254 of the 284 item and folder
// FieldURIs with ErrorSchemaValidation (issue 13); Exchange accepts them
// and leaves out what an item does not have. Conversation and persona
// properties (conversation:, persona:, person:, and the Exchange Online
// booking: and insight:) belong to no item or folder: answered
// ErrorInvalidPropertyRequest, not a schema fault.
func TestFieldURISweep(t *testing.T) {
	data, err := os.ReadFile(typesXSD)
	if err != nil {
		t.Fatal(err)
	}
	tabs, err := readXSD(data)
	if err != nil {
		t.Fatal(err)
	}
	uris := tabs.enums["UnindexedFieldURIType"]
	l := newLab(t)
	var docs map[string][]byte
	folders := `<t:DistinguishedFolderId Id="inbox"/><t:DistinguishedFolderId Id="calendar"/><t:DistinguishedFolderId Id="contacts"/><t:DistinguishedFolderId Id="tasks"/><t:DistinguishedFolderId Id="drafts"/>`
	itemOK, folderOK, refusedOther := 0, 0, 0
	for _, uri := range uris {
		prefix, _, _ := strings.Cut(uri, ":")
		persona := slices.Contains(nonItemPrefixes, prefix)
		path := fmt.Sprintf(`<t:AdditionalProperties><t:FieldURI FieldURI="%s"/></t:AdditionalProperties>`, uri)
		var reqs map[string]string
		if prefix == "folder" {
			reqs = map[string]string{
				"GetFolder":  `<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape>` + path + `</m:FolderShape><m:FolderIds>` + folders + `</m:FolderIds></m:GetFolder>`,
				"FindFolder": `<m:FindFolder Traversal="Deep"><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape>` + path + `</m:FolderShape><m:ParentFolderIds><t:DistinguishedFolderId Id="msgfolderroot"/></m:ParentFolderIds></m:FindFolder>`,
			}
		} else {
			shape := `<m:ItemShape><t:BaseShape>IdOnly</t:BaseShape>` + path + `</m:ItemShape>`
			reqs = map[string]string{
				"GetItem":  `<m:GetItem>` + shape + `<m:ItemIds>` + itemIDs(l.ids) + `</m:ItemIds></m:GetItem>`,
				"FindItem": `<m:FindItem Traversal="Shallow">` + shape + `<m:ParentFolderIds>` + folders + `</m:ParentFolderIds></m:FindItem>`,
				"Sync":     `<m:SyncFolderItems>` + shape + `<m:SyncFolderId><t:DistinguishedFolderId Id="inbox"/></m:SyncFolderId><m:MaxChangesReturned>512</m:MaxChangesReturned></m:SyncFolderItems>`,
				"SyncCal":  `<m:SyncFolderItems>` + shape + `<m:SyncFolderId><t:DistinguishedFolderId Id="calendar"/></m:SyncFolderId><m:MaxChangesReturned>512</m:MaxChangesReturned></m:SyncFolderItems>`,
			}
		}
		ok := true
		for op, body := range reqs {
			status, resp := l.do(t, body)
			if status != http.StatusOK {
				t.Errorf("%s %s: HTTP %d (a fault): %s", op, uri, status, firstLines(string(resp), 3))
				ok = false
				continue
			}
			for _, m := range messages(t, resp) {
				want := [2]string{"Success", "NoError"}
				switch {
				case persona:
					want = [2]string{"Error", "ErrorInvalidPropertyRequest"}
				case op == "FindItem" && slices.Contains(refusedInFind, uri):
					want = [2]string{"Error", "ErrorInvalidPropertyForOperation"}
				}
				if m != want {
					t.Errorf("%s %s: %v, want %v", op, uri, m, want)
					ok = false
				}
			}
		}
		switch {
		case ok && persona:
			refusedOther++
		case ok && prefix == "folder":
			folderOK++
		case ok:
			itemOK++
		}
	}
	t.Logf("schema FieldURIs: %d; answered in item shapes %d, in folder shapes %d, conversation and persona paths refused as not of an item %d",
		len(uris), itemOK, folderOK, refusedOther)
	// Each answer above is checked for its response class; xmllint checks
	// the answers to every path of a kind asked at once, where the order
	// of the properties in each item matters most.
	all := map[bool]*strings.Builder{true: {}, false: {}}
	for _, uri := range uris {
		prefix, _, _ := strings.Cut(uri, ":")
		if !slices.Contains(nonItemPrefixes, prefix) {
			fmt.Fprintf(all[prefix == "folder"], `<t:FieldURI FieldURI="%s"/>`, uri)
		}
	}
	itemPaths := `<t:AdditionalProperties>` + all[false].String() + `</t:AdditionalProperties>`
	folderPaths := `<t:AdditionalProperties>` + all[true].String() + `</t:AdditionalProperties>`
	docs = map[string][]byte{}
	for op, body := range map[string]string{
		"GetItem":    `<m:GetItem><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape>` + itemPaths + `</m:ItemShape><m:ItemIds>` + itemIDs(l.ids) + `</m:ItemIds></m:GetItem>`,
		"FindItem":   `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape>` + strings.NewReplacer(`<t:FieldURI FieldURI="item:MimeContent"/>`, "", `<t:FieldURI FieldURI="item:Body"/>`, "", `<t:FieldURI FieldURI="item:TextBody"/>`, "", `<t:FieldURI FieldURI="item:UniqueBody"/>`, "", `<t:FieldURI FieldURI="item:NormalizedBody"/>`, "").Replace(itemPaths) + `</m:ItemShape><m:ParentFolderIds>` + folders + `</m:ParentFolderIds></m:FindItem>`,
		"Sync":       `<m:SyncFolderItems><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape>` + itemPaths + `</m:ItemShape><m:SyncFolderId><t:DistinguishedFolderId Id="inbox"/></m:SyncFolderId><m:MaxChangesReturned>512</m:MaxChangesReturned></m:SyncFolderItems>`,
		"GetFolder":  `<m:GetFolder><m:FolderShape><t:BaseShape>AllProperties</t:BaseShape>` + folderPaths + `</m:FolderShape><m:FolderIds>` + folders + `</m:FolderIds></m:GetFolder>`,
		"FindFolder": `<m:FindFolder Traversal="Deep"><m:FolderShape><t:BaseShape>AllProperties</t:BaseShape>` + folderPaths + `</m:FolderShape><m:ParentFolderIds><t:DistinguishedFolderId Id="msgfolderroot"/></m:ParentFolderIds></m:FindFolder>`,
	} {
		status, resp := l.do(t, body)
		if ms := messages(t, resp); status != http.StatusOK || len(ms) == 0 || slices.ContainsFunc(ms, func(m [2]string) bool { return m[0] != "Success" }) {
			t.Errorf("%s with every path: HTTP %d %v", op, status, ms)
		}
		docs[op] = resp
	}
	xmllintAll(t, docs)
}

// getItem asks GetItem for one item with the given AdditionalProperties
// and returns the answer, failing on a fault or an error message.
func (l *lab) getItem(t *testing.T, kind, props string) []byte {
	t.Helper()
	status, resp := l.do(t, `<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>`+props+
		`</t:AdditionalProperties></m:ItemShape><m:ItemIds><t:ItemId Id="`+l.ids[kind]+`"/></m:ItemIds></m:GetItem>`)
	if status != http.StatusOK || !bytes.Contains(resp, []byte(`ResponseClass="Success"`)) {
		t.Fatalf("GetItem %s: HTTP %d %s", kind, status, resp)
	}
	return resp
}

// texts returns the text of every types-namespace element of that name.
func texts(t *testing.T, resp []byte, local string) []string {
	var out []string
	for _, n := range findAll(t, resp, local) {
		if n.name.Space == nsTypes {
			out = append(out, n.value())
		}
	}
	return out
}

func fu(uris ...string) string {
	var b strings.Builder
	for _, u := range uris {
		fmt.Fprintf(&b, `<t:FieldURI FieldURI="%s"/>`, u)
	}
	return b.String()
}

// TestItemPropertiesFromMIME: the properties Exchange derives from an
// item's MIME, answered from what the fake holds.
func TestItemPropertiesFromMIME(t *testing.T) {
	l := newLab(t)
	docs := map[string][]byte{}
	for _, tc := range []struct {
		kind, props, element string
		want                 []string
	}{
		{"message", fu("item:Subject"), "Subject", []string{"Quartalsbericht für Q3"}},
		{"message", fu("message:From"), "EmailAddress", []string{"joerg@fabrikam.com"}},
		{"message", fu("message:From"), "Name", []string{"Jörg Müller"}},
		{"message", fu("message:Sender"), "EmailAddress", []string{"assistant@fabrikam.com"}},
		{"message", fu("message:ToRecipients"), "EmailAddress", []string{"alice@contoso.com", "bob@contoso.com"}},
		{"message", fu("message:ToRecipients"), "MailboxType", []string{"Mailbox", "OneOff"}},
		{"message", fu("message:CcRecipients"), "EmailAddress", []string{"carol@contoso.com"}},
		{"message", fu("message:BccRecipients"), "EmailAddress", []string{"dave@contoso.com"}},
		{"message", fu("message:ReplyTo"), "EmailAddress", []string{"replies@fabrikam.com"}},
		{"message", fu("item:DisplayTo"), "DisplayTo", []string{"Alice; bob@contoso.com"}},
		{"message", fu("item:DisplayCc"), "DisplayCc", []string{"Carol"}},
		{"message", fu("item:HasAttachments"), "HasAttachments", []string{"true"}},
		{"message", fu("item:Attachments"), "Name", []string{"Untitled attachment", "Q3.pdf", "Forwarded note"}},
		{"message", fu("item:Attachments"), "IsInline", []string{"true", "false", "false"}},
		{"message", fu("item:InReplyTo"), "InReplyTo", []string{"<parent@fabrikam.com>"}},
		{"message", fu("message:References"), "References", []string{"<root@fabrikam.com> <parent@fabrikam.com>"}},
		{"message", fu("message:ConversationTopic"), "ConversationTopic", []string{"Quartalsbericht"}},
		{"message", fu("message:IsReadReceiptRequested"), "IsReadReceiptRequested", []string{"true"}},
		{"message", fu("item:Sensitivity"), "Sensitivity", []string{"Confidential"}},
		{"message", fu("item:Importance", "item:Categories"), "String", []string{"Finance"}},
		{"message", fu("item:Flag"), "FlagStatus", []string{"Flagged"}},
		{"message", fu("item:LastModifiedTime"), "LastModifiedTime", []string{"2025-03-03T10:05:00Z"}},
		{"message", fu("item:DateTimeCreated"), "DateTimeCreated", []string{"2025-03-03T10:05:00Z"}},
		{"message", fu("message:ReceivedBy"), "EmailAddress", []string{"alice@contoso.com"}},
		{"message", fu("item:EffectiveRights"), "Read", []string{"true"}},
		{"message", fu("item:Body"), "Body", []string{`<html><body><p>See the <b>figures</b>.</p><img src="cid:logo@fabrikam"></body></html>`}},
		{"message", fu("item:TextBody"), "TextBody", []string{"See the figures."}},
		{"message", `<t:IndexedFieldURI FieldURI="item:InternetMessageHeader" FieldIndex="X-Lab-Trace"/>`, "InternetMessageHeader", []string{"42"}},
		{"message", `<t:ExtendedFieldURI DistinguishedPropertySetId="InternetHeaders" PropertyName="X-Lab-Trace" PropertyType="String"/>`, "Value", []string{"42"}},
		{"message", fu("calendar:Start", "contacts:DisplayName", "task:Status"), "Message", []string{""}}, // other types' properties: left out
		{"draft", fu("message:ReceivedBy", "item:IsDraft", "item:IsUnmodified"), "IsDraft", []string{"true"}},
		{"draft", fu("message:ReceivedBy"), "ReceivedBy", nil},
		{"streamed", fu("item:HasAttachments", "item:Attachments", "message:From"), "HasAttachments", []string{"true"}},
		{"streamed", fu("item:Attachments"), "Attachments", nil},
		{"streamed", fu("message:From"), "EmailAddress", []string{"scanner@contoso.com"}},
		{"meeting", fu("calendar:Start", "calendar:End"), "Start", []string{"2025-03-10T09:00:00Z"}},
		{"meeting", fu("item:ItemClass"), "ItemClass", []string{"IPM.Schedule.Meeting.Request"}},
		{"calendar", fu("calendar:Start", "calendar:End"), "End", []string{"2025-03-10T10:00:00Z"}},
		{"calendar", fu("calendar:Location"), "Location", []string{"Room 4, floor 2"}},
		{"calendar", fu("calendar:Organizer"), "EmailAddress", []string{"alice@contoso.com"}},
		{"calendar", fu("calendar:UID", "calendar:IsAllDayEvent"), "UID", []string{"cal-1-ab"}},
		{"contact", fu("contacts:DisplayName", "contacts:GivenName", "contacts:Surname"), "Surname", []string{"Lee"}},
		{"contact", fu("contacts:EmailAddresses"), "Entry", []string{"ann@fabrikam.com", "ann.lee@example.org"}},
		{"contact", `<t:IndexedFieldURI FieldURI="contacts:EmailAddress" FieldIndex="EmailAddress2"/>`, "Entry", []string{"ann.lee@example.org"}},
		{"contact", fu("contacts:CompanyName", "contacts:JobTitle"), "JobTitle", []string{"Buyer"}},
		{"contact", fu("contacts:PhoneNumbers", "contacts:Birthday"), "Contact", []string{""}}, // not held: left out
		{"task", fu("task:Status", "task:PercentComplete"), "Status", []string{"NotStarted"}},
		{"post", fu("postitem:PostedTime", "message:From"), "PostedTime", []string{"2025-03-03T10:05:00Z"}},
	} {
		t.Run(tc.kind+" "+tc.element, func(t *testing.T) {
			resp := l.getItem(t, tc.kind, tc.props)
			docs[fmt.Sprintf("get-%d", len(docs))] = resp
			got := texts(t, resp, tc.element)
			if tc.element == "Message" || tc.element == "Contact" {
				// Only the id: the properties asked for are not this
				// item's, or not held.
				if n := findAll(t, resp, tc.element); len(n) != 1 || len(n[0].children) != 1 {
					t.Errorf("%s answered more than its ItemId: %s", tc.element, resp)
				}
				return
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("%s = %q, want %q\n%s", tc.element, got, tc.want, resp)
			}
		})
	}
	xmllintAll(t, docs)
}

// TestShapesAsExchangeAppliesThem: base shapes, what FindItem and
// SyncFolderItems leave out or refuse, and properties of the wrong kind.
func TestShapesAsExchangeAppliesThem(t *testing.T) {
	l := newLab(t)
	docs := map[string][]byte{}
	inbox := `<m:ParentFolderIds><t:DistinguishedFolderId Id="inbox"/></m:ParentFolderIds>`
	for _, tc := range []struct {
		name, body  string
		class, code string   // of every response message
		has, hasNot []string // elements (types namespace) present / absent
		messageXML  string   // FieldURI named in m:MessageXml
	}{
		{name: "GetItem Default", body: `<m:GetItem><m:ItemShape><t:BaseShape>Default</t:BaseShape></m:ItemShape><m:ItemIds><t:ItemId Id="` + l.ids["message"] + `"/></m:ItemIds></m:GetItem>`,
			has: []string{"Subject", "Body", "From", "HasAttachments", "DateTimeSent", "Sensitivity"}, hasNot: []string{"ToRecipients", "IsRead", "ItemClass"}},
		{name: "GetItem AllProperties", body: `<m:GetItem><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape></m:ItemShape><m:ItemIds><t:ItemId Id="` + l.ids["message"] + `"/></m:ItemIds></m:GetItem>`,
			has: []string{"Subject", "Body", "Attachments", "ToRecipients", "IsRead", "ItemClass", "InternetMessageHeaders", "EffectiveRights"}, hasNot: []string{"MimeContent", "TextBody"}},
		{name: "GetItem AllProperties BodyType Text", body: `<m:GetItem><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape><t:BodyType>Text</t:BodyType></m:ItemShape><m:ItemIds><t:ItemId Id="` + l.ids["message"] + `"/></m:ItemIds></m:GetItem>`,
			has: []string{"Body"}},
		{name: "FindItem AllProperties leaves out bodies and recipients", body: `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape></m:ItemShape>` + inbox + `</m:FindItem>`,
			has: []string{"Subject", "From", "IsRead", "HasAttachments"}, hasNot: []string{"Body", "Attachments", "ToRecipients", "InternetMessageHeaders"}},
		{name: "FindItem leaves out recipient lists asked for", body: `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>` + fu("message:ToRecipients", "item:Attachments", "message:From") + `</t:AdditionalProperties></m:ItemShape>` + inbox + `</m:FindItem>`,
			has: []string{"From", "Name"}, hasNot: []string{"ToRecipients", "Attachments", "EmailAddress"}},
		{name: "FindItem refuses a body", body: `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>` + fu("item:Subject", "item:Body") + `</t:AdditionalProperties></m:ItemShape>` + inbox + `</m:FindItem>`,
			class: "Error", code: "ErrorInvalidPropertyForOperation", messageXML: "item:Body"},
		{name: "FindItem refuses MIME", body: `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:IncludeMimeContent>true</t:IncludeMimeContent></m:ItemShape>` + inbox + `</m:FindItem>`,
			class: "Error", code: "ErrorInvalidPropertyForOperation"},
		{name: "SyncFolderItems leaves out bodies", body: `<m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>` + fu("item:Body", "item:MimeContent", "item:Subject", "message:CcRecipients") + `</t:AdditionalProperties></m:ItemShape><m:SyncFolderId><t:DistinguishedFolderId Id="inbox"/></m:SyncFolderId><m:MaxChangesReturned>10</m:MaxChangesReturned></m:SyncFolderItems>`,
			has: []string{"Subject", "Create", "MeetingRequest"}, hasNot: []string{"Body", "MimeContent", "CcRecipients"}},
		{name: "folder property in an item shape", body: `<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>` + fu("item:Subject", "folder:DisplayName") + `</t:AdditionalProperties></m:ItemShape><m:ItemIds><t:ItemId Id="` + l.ids["message"] + `"/></m:ItemIds></m:GetItem>`,
			class: "Error", code: "ErrorInvalidPropertyRequest", messageXML: "folder:DisplayName", has: []string{}},
		{name: "item property in a folder shape", body: `<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>` + fu("item:Subject") + `</t:AdditionalProperties></m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id="inbox"/></m:FolderIds></m:GetFolder>`,
			class: "Error", code: "ErrorInvalidPropertyRequest", messageXML: "item:Subject"},
		{name: "GetFolder Default", body: `<m:GetFolder><m:FolderShape><t:BaseShape>Default</t:BaseShape></m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id="inbox"/><t:DistinguishedFolderId Id="calendar"/></m:FolderIds></m:GetFolder>`,
			has: []string{"DisplayName", "TotalCount", "ChildFolderCount", "UnreadCount"}, hasNot: []string{"FolderClass", "EffectiveRights"}},
		{name: "GetFolder distinguished id and rights", body: `<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>` + fu("folder:DistinguishedFolderId", "folder:EffectiveRights", "folder:SharingEffectiveRights", "folder:UnreadCount") + `</t:AdditionalProperties></m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id="inbox"/></m:FolderIds></m:GetFolder>`,
			has: []string{"DistinguishedFolderId", "EffectiveRights", "UnreadCount"}, hasNot: []string{"SharingEffectiveRights"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, resp := l.do(t, tc.body)
			docs[fmt.Sprintf("shape-%d", len(docs))] = resp
			if status != http.StatusOK {
				t.Fatalf("HTTP %d: %s", status, resp)
			}
			class, code := tc.class, tc.code
			if class == "" {
				class, code = "Success", "NoError"
			}
			for _, m := range messages(t, resp) {
				if m != [2]string{class, code} {
					t.Errorf("response message %v, want %s %s", m, class, code)
				}
			}
			for _, e := range tc.has {
				if len(texts(t, resp, e)) == 0 {
					t.Errorf("no %s in %s", e, resp)
				}
			}
			for _, e := range tc.hasNot {
				if len(texts(t, resp, e)) != 0 {
					t.Errorf("%s in %s", e, resp)
				}
			}
			if tc.messageXML != "" {
				var got []string
				for _, mx := range findAll(t, resp, "MessageXml") {
					for _, c := range mx.children {
						got = append(got, c.attr("FieldURI"))
					}
				}
				if fmt.Sprint(got) != "["+tc.messageXML+"]" {
					t.Errorf("MessageXml names %v, want %s", got, tc.messageXML)
				}
			}
		})
	}
	xmllintAll(t, docs)
}

// TestCreateItem: items made from their properties, and what the lab
// refuses because Exchange would send mail.
func TestCreateItem(t *testing.T) {
	const saved = `<m:SavedItemFolderId><t:DistinguishedFolderId Id="%s"/></m:SavedItemFolderId>`
	for _, tc := range []struct {
		name, attrs, folder, item string
		code                      string // "" for success
		fault                     bool   // a schema fault
		sends                     int64  // refused because it would send
		check, absent             []string
		checkURIs                 string
	}{
		{name: "message from properties", attrs: `MessageDisposition="SaveOnly"`, folder: "drafts",
			item:      `<t:Message><t:Subject>Hello</t:Subject><t:Body BodyType="Text">Line one</t:Body><t:ToRecipients><t:Mailbox><t:Name>Bob</t:Name><t:EmailAddress>bob@contoso.com</t:EmailAddress></t:Mailbox></t:ToRecipients><t:IsRead>true</t:IsRead><t:ReplyTo><t:Mailbox><t:EmailAddress>r@contoso.com</t:EmailAddress></t:Mailbox></t:ReplyTo></t:Message>`,
			checkURIs: fu("item:Subject", "item:Body", "message:ToRecipients", "message:ReplyTo", "item:IsDraft", "message:IsRead", "message:InternetMessageId", "message:ReceivedBy"),
			check:     []string{"Hello", "Line one", "bob@contoso.com", "r@contoso.com", "<t:IsDraft>true</t:IsDraft>", "<t:IsRead>true</t:IsRead>", "@ewstest.invalid&gt;"},
			absent:    []string{"ReceivedBy"}}, // written, not delivered
		{name: "appointment without attendees", attrs: `SendMeetingInvitations="SendToAllAndSaveCopy"`, folder: "calendar",
			item:      `<t:CalendarItem><t:Subject>Dentist</t:Subject><t:Start>2025-04-01T08:00:00Z</t:Start><t:End>2025-04-01T09:00:00Z</t:End><t:Location>Main St</t:Location></t:CalendarItem>`,
			checkURIs: fu("calendar:Start", "calendar:End", "calendar:Location", "item:ItemClass"),
			check:     []string{"<t:CalendarItem>", "2025-04-01T08:00:00Z", "2025-04-01T09:00:00Z", "Main St", "IPM.Appointment"}},
		{name: "meeting saved without invitations", attrs: `SendMeetingInvitations="SendToNone"`, folder: "calendar",
			item:      `<t:CalendarItem><t:Subject>Review</t:Subject><t:Start>2025-04-02T08:00:00Z</t:Start><t:End>2025-04-02T09:00:00Z</t:End><t:RequiredAttendees><t:Attendee><t:Mailbox><t:EmailAddress>bob@contoso.com</t:EmailAddress></t:Mailbox></t:Attendee></t:RequiredAttendees></t:CalendarItem>`,
			checkURIs: fu("calendar:Start", "calendar:RequiredAttendees", "calendar:Organizer"), check: []string{"2025-04-02T08:00:00Z", "<t:RequiredAttendees><t:Attendee><t:Mailbox><t:Name>bob@contoso.com</t:Name><t:EmailAddress>bob@contoso.com</t:EmailAddress>", "<t:Organizer><t:Mailbox><t:Name>Alice</t:Name>"}},
		{name: "calendar item without SendMeetingInvitations", folder: "calendar", item: `<t:CalendarItem><t:Subject>x</t:Subject></t:CalendarItem>`,
			code: "ErrorSendMeetingInvitationsRequired"},
		{name: "contact", folder: "contacts",
			item:      `<t:Contact><t:DisplayName>Ann Lee</t:DisplayName><t:GivenName>Ann</t:GivenName><t:EmailAddresses><t:Entry Key="EmailAddress1">ann@fabrikam.com</t:Entry></t:EmailAddresses><t:Surname>Lee</t:Surname></t:Contact>`,
			checkURIs: fu("contacts:DisplayName", "contacts:EmailAddresses", "contacts:Surname"), check: []string{"Ann Lee", "ann@fabrikam.com", "<t:Surname>Lee</t:Surname>"}},
		{name: "task", folder: "tasks", item: `<t:Task><t:Subject>File it</t:Subject></t:Task>`,
			checkURIs: fu("task:Status", "item:Subject"), check: []string{"NotStarted", "File it"}},
		{name: "SendOnly", attrs: `MessageDisposition="SendOnly"`, item: `<t:Message><t:Subject>x</t:Subject><t:ToRecipients><t:Mailbox><t:EmailAddress>bob@contoso.com</t:EmailAddress></t:Mailbox></t:ToRecipients></t:Message>`,
			code: "ErrorInvalidOperation", sends: 1},
		{name: "SendAndSaveCopy", attrs: `MessageDisposition="SendAndSaveCopy"`, folder: "sentitems", item: `<t:Message><t:Subject>x</t:Subject></t:Message>`,
			code: "ErrorInvalidOperation", sends: 1},
		{name: "no MessageDisposition", folder: "drafts", item: `<t:Message><t:Subject>x</t:Subject></t:Message>`, code: "ErrorMessageDispositionRequired"},
		{name: "a reply", attrs: `MessageDisposition="SaveOnly"`, item: `<t:ReplyToItem><t:ReferenceItemId Id="x"/></t:ReplyToItem>`, code: "ErrorInvalidRequest"},
		{name: "importance not in the enumeration", attrs: `MessageDisposition="SaveOnly"`, item: `<t:Message><t:Importance>Urgent</t:Importance></t:Message>`, fault: true},
		{name: "body without BodyType", attrs: `MessageDisposition="SaveOnly"`, item: `<t:Message><t:Body>x</t:Body></t:Message>`, fault: true},
		{name: "subject after body", attrs: `MessageDisposition="SaveOnly"`, item: `<t:Message><t:Body BodyType="Text">x</t:Body><t:Subject>y</t:Subject></t:Message>`, fault: true},
		{name: "not an item", attrs: `MessageDisposition="SaveOnly"`, item: `<t:Folder/>`, fault: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLab(t)
			before := 0
			l.srv.EachItem(func(StoredItem) { before++ })
			target := ""
			if tc.folder != "" {
				target = fmt.Sprintf(saved, tc.folder)
			}
			status, resp := l.do(t, `<m:CreateItem `+tc.attrs+`>`+target+`<m:Items>`+tc.item+`</m:Items></m:CreateItem>`)
			after := 0
			l.srv.EachItem(func(StoredItem) { after++ })
			if got := l.srv.SendAttempts(); got != tc.sends {
				t.Errorf("SendAttempts = %d, want %d", got, tc.sends)
			}
			if tc.fault {
				if status != http.StatusInternalServerError || !bytes.Contains(resp, []byte("ErrorSchemaValidation")) || after != before {
					t.Errorf("HTTP %d, %d items created: %s", status, after-before, resp)
				}
				return
			}
			ms := messages(t, resp)
			if tc.code != "" {
				if len(ms) != 1 || ms[0] != [2]string{"Error", tc.code} || after != before || len(findAll(t, resp, "Items")) != 1 {
					t.Errorf("%v, %d items created: %s", ms, after-before, resp)
				}
				return
			}
			if len(ms) != 1 || ms[0][0] != "Success" || after != before+1 {
				t.Fatalf("%v, %d items created: %s", ms, after-before, resp)
			}
			l.ids["new"] = findAll(t, resp, "ItemId")[0].attr("Id")
			got := string(l.getItem(t, "new", tc.checkURIs))
			for _, w := range tc.check {
				if !strings.Contains(got, w) {
					t.Errorf("GetItem lacks %q: %s", w, got)
				}
			}
			for _, e := range tc.absent {
				if len(texts(t, []byte(got), e)) != 0 {
					t.Errorf("GetItem answers %s: %s", e, got)
				}
			}
		})
	}
}

// TestGetAttachment: the ids item:Attachments hands out open the
// attachments with GetAttachment, as Exchange's do.
func TestGetAttachment(t *testing.T) {
	l := newLab(t)
	resp := l.getItem(t, "message", fu("item:Attachments"))
	var ids []string
	for _, n := range findAll(t, resp, "AttachmentId") {
		ids = append(ids, n.attr("Id"))
	}
	if len(ids) != 3 {
		t.Fatalf("%d attachment ids: %s", len(ids), resp)
	}
	docs := map[string][]byte{"list": resp}
	for _, tc := range []struct {
		name, id, element, want, code string
	}{
		{name: "file", id: ids[1], element: "Content", want: base64.StdEncoding.EncodeToString([]byte("%PDF-1.4\n"))},
		{name: "inline picture", id: ids[0], element: "ContentId", want: "logo@fabrikam"},
		{name: "attached message", id: ids[2], element: "Subject", want: "Forwarded note"},
		{name: "attached message MIME", id: ids[2], element: "MimeContent", want: base64.StdEncoding.EncodeToString([]byte("Subject: Forwarded note\r\nFrom: x@y.com\r\n\r\nInner body"))},
		{name: "not an attachment id", id: "bm9wZQ==", code: "ErrorInvalidAttachmentId"},
		{name: "past the last attachment", id: attachmentID(l.ids["message"], 3), code: "ErrorInvalidAttachmentId"},
		{name: "another mailbox's item", id: attachmentID("QUFNa0FESXxib2JAY29udG9zby5jb218MDAwMDAwMDF8QUFBQQ==", 0), code: "ErrorItemNotFound"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, resp := l.do(t, `<m:GetAttachment><m:AttachmentShape><t:IncludeMimeContent>true</t:IncludeMimeContent></m:AttachmentShape>`+
				`<m:AttachmentIds><t:AttachmentId Id="`+tc.id+`"/></m:AttachmentIds></m:GetAttachment>`)
			docs[tc.name] = resp
			ms := messages(t, resp)
			if tc.code != "" {
				if status != http.StatusOK || len(ms) != 1 || ms[0] != [2]string{"Error", tc.code} || len(findAll(t, resp, "Attachments")) != 1 {
					t.Errorf("HTTP %d %v: %s", status, ms, resp)
				}
				return
			}
			if got := texts(t, resp, tc.element); status != http.StatusOK || len(got) != 1 || got[0] != tc.want {
				t.Errorf("HTTP %d, %s = %q, want %q: %s", status, tc.element, got, tc.want, resp)
			}
		})
	}
	xmllintAll(t, docs)
}
