package ewstest

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// doHeaders serves one request body in-process without impersonation,
// with the given routing headers.
func (l *lab) doHeaders(t testing.TB, body string, headers map[string]string) []byte {
	t.Helper()
	env := strings.Replace(labEnvelope, `<t:ExchangeImpersonation><t:ConnectingSID><t:PrimarySmtpAddress>alice@contoso.com</t:PrimarySmtpAddress></t:ConnectingSID></t:ExchangeImpersonation>`, "", 1)
	data := []byte(env + body + labEnvelopeEnd)
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, "/EWS/Exchange.asmx", bytes.NewReader(data))
	for k, v := range headers {
		r.Header.Set(k, v)
	}
	rc := &reqCtx{s: l.srv, acct: l.acct, w: w, r: r, style: StylePrefixed}
	doc, err := parseDOM(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("test request is not XML: %v", err)
	}
	rc.op = doc.child(nsSOAP, "Body").children[0].name.Local
	rc.serve(doc)
	if w.Code != http.StatusOK {
		t.Fatalf("HTTP %d: %s", w.Code, w.Body.Bytes())
	}
	return w.Body.Bytes()
}

// TestPublicFolderRouting: every request about a public folder needs both
// routing headers (ErrorNoPublicFolderReplicaAvailable without them);
// PR_REPLICA_LIST names a folder's content mailbox as the how-to shows
// it; a content request that names another mailbox is served and counted;
// hierarchy requests are not content requests; a folder created under a
// public folder keeps its content with its parent's.
func TestPublicFolderRouting(t *testing.T) {
	l := newLab(t)
	const guid = "1ec2a236-ed93-4f88-b9c6-33e63fa4aa44"
	f := l.srv.PublicFolder("Projects")
	f.SetContentMailbox(guid)
	f.AddItem(Item{MIME: []byte("Subject: hello\r\n\r\nx")})
	findItem := `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:ParentFolderIds><t:FolderId Id="` + f.ID() + `"/></m:ParentFolderIds></m:FindItem>`
	content := map[string]string{"X-AnchorMailbox": guid + "@contoso.com", "X-PublicFolderMailbox": guid + "@contoso.com"}
	hierarchy := map[string]string{"X-AnchorMailbox": "pf@contoso.com", "X-PublicFolderMailbox": "pf@contoso.com"}
	for _, c := range []struct {
		name    string
		headers map[string]string
		code    string
		misses  int64
	}{
		{"no headers", nil, "ErrorNoPublicFolderReplicaAvailable", 0},
		{"only X-AnchorMailbox", map[string]string{"X-AnchorMailbox": guid + "@contoso.com"}, "ErrorNoPublicFolderReplicaAvailable", 0},
		{"the content mailbox", content, "NoError", 0},
		{"the hierarchy mailbox", hierarchy, "NoError", 1},
	} {
		before := l.srv.PublicFolderRouteMisses()
		msgs := messages(t, l.doHeaders(t, findItem, c.headers))
		if len(msgs) != 1 || msgs[0][1] != c.code {
			t.Errorf("%s: FindItem answered %v, want %s", c.name, msgs, c.code)
		}
		if n := l.srv.PublicFolderRouteMisses() - before; n != c.misses {
			t.Errorf("%s: %d route misses counted, want %d", c.name, n, c.misses)
		}
	}

	// FindFolder (a hierarchy request) answers PR_REPLICA_LIST and counts
	// no miss with the hierarchy mailbox.
	before := l.srv.PublicFolderRouteMisses()
	resp := l.doHeaders(t, `<m:FindFolder Traversal="Shallow"><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>`+
		`<t:ExtendedFieldURI PropertyTag="26264" PropertyType="Binary"/></t:AdditionalProperties></m:FolderShape>`+
		`<m:ParentFolderIds><t:DistinguishedFolderId Id="publicfoldersroot"/></m:ParentFolderIds></m:FindFolder>`, hierarchy)
	vals := texts(t, resp, "Value")
	if len(vals) != 1 || vals[0] != base64.StdEncoding.EncodeToString(append([]byte(guid), 0)) {
		t.Errorf("PR_REPLICA_LIST = %q, want the GUID in ASCII, NUL-ended", vals)
	}
	if l.srv.PublicFolderRouteMisses() != before {
		t.Error("a hierarchy request counted as a misrouted content request")
	}
	resp = l.doHeaders(t, `<m:CreateFolder><m:ParentFolderId><t:FolderId Id="`+f.ID()+`"/></m:ParentFolderId>`+
		`<m:Folders><t:Folder><t:DisplayName>Child</t:DisplayName></t:Folder></m:Folders></m:CreateFolder>`, hierarchy)
	if msgs := messages(t, resp); len(msgs) != 1 || msgs[0][1] != "NoError" {
		t.Fatalf("CreateFolder: %s", resp)
	}
	if child := l.srv.PublicFolder("Projects/Child"); child.f.replica != guid {
		t.Errorf("a new public folder's content mailbox = %q, want its parent's %q", child.f.replica, guid)
	}
}
