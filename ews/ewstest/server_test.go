package ewstest_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/go-ntlmssp"

	"github.com/exmigrate/exmigrate/ews"
	"github.com/exmigrate/exmigrate/ews/ewstest"
)

// rawClient speaks NTLM to the fake without the ews package, so tests can
// send what the real client never would.
func rawClient(t *testing.T, ca []byte) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, MaxConnsPerHost: 1}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: ntlmssp.Negotiator{RoundTripper: tr}}
}

func post(t *testing.T, c *http.Client, url, body string, basic bool) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	if basic {
		req.SetBasicAuth(`CONTOSO\svc`, "pw-123")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

const envHead = `<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><s:Header><t:RequestServerVersion Version="Exchange2016"/><t:ExchangeImpersonation><t:ConnectingSID><t:PrimarySmtpAddress>a@contoso.com</t:PrimarySmtpAddress></t:ConnectingSID></t:ExchangeImpersonation></s:Header><s:Body>`
const envTail = `</s:Body></s:Envelope>`

func setup(t *testing.T, opts ...ewstest.Option) (*ewstest.Server, string, *http.Client) {
	srv, url, ca := setupCA(t, opts...)
	return srv, url, rawClient(t, ca)
}

func setupCA(t *testing.T, opts ...ewstest.Option) (*ewstest.Server, string, []byte) {
	srv := ewstest.NewServer(opts...)
	srv.AddAccount("CONTOSO", "svc", "pw-123", true)
	srv.AddMailbox("a@contoso.com")
	url, ca := srv.StartTLS(t)
	return srv, url, ca
}

func TestSchemaValidationFaults(t *testing.T) {
	_, url, c := setup(t)
	for _, tc := range []struct {
		name, body, want string
	}{
		{"IsRead before MimeContent", `<m:CreateItem MessageDisposition="SaveOnly"><m:Items><t:Message><t:IsRead>true</t:IsRead><t:MimeContent>QQ==</t:MimeContent></t:Message></m:Items></m:CreateItem>`, "invalid child element 'MimeContent'"},
		{"MaxChangesReturned over 512", `<m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:SyncFolderId><t:DistinguishedFolderId Id="inbox"/></m:SyncFolderId><m:MaxChangesReturned>600</m:MaxChangesReturned></m:SyncFolderItems>`, "MaxChangesReturned"},
		{"ParentFolderIds before view", `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:ParentFolderIds><t:DistinguishedFolderId Id="inbox"/></m:ParentFolderIds><m:IndexedPageItemView MaxEntriesReturned="10" Offset="0" BasePoint="Beginning"/></m:FindItem>`, "IndexedPageItemView"},
		{"missing Traversal", `<m:FindFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:ParentFolderIds><t:DistinguishedFolderId Id="inbox"/></m:ParentFolderIds></m:FindFolder>`, "Traversal"},
		{"unknown field URI", `<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties><t:FieldURI FieldURI="folder:Bogus"/></t:AdditionalProperties></m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id="inbox"/></m:FolderIds></m:GetFolder>`, "folder:Bogus"},
		{"not XML", `<m:GetFolder>`, "well-formed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := post(t, c, url, envHead+tc.body+envTail, true)
			if status != http.StatusInternalServerError {
				t.Fatalf("status %d: %s", status, body)
			}
			fe, err := ews.ParseFault(strings.NewReader(body), "test")
			if err != nil || fe == nil || fe.Code != "ErrorSchemaValidation" || !strings.Contains(fe.Error(), tc.want) {
				t.Errorf("fault = %v, %v; body %s", fe, err, body)
			}
		})
	}
	if status, _ := post(t, c, url, envHead+`<m:ResolveNames ReturnFullContactData="false"><m:UnresolvedEntry>a</m:UnresolvedEntry></m:ResolveNames>`+envTail, true); status != 200 {
		t.Errorf("valid request: status %d", status)
	}
}

func TestAuthentication(t *testing.T) {
	srv, url, ca := setupCA(t)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	plain := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	// Basic credentials are never accepted, and anonymous requests get the NTLM challenge offer.
	status, _ := post(t, plain, url, envHead+envTail, true)
	if status != http.StatusUnauthorized {
		t.Errorf("Basic auth: status %d, want 401", status)
	}
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader("x"))
	resp, err := plain.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || !strings.Contains(strings.Join(resp.Header.Values("WWW-Authenticate"), ","), "NTLM") {
		t.Errorf("anonymous: %d %v", resp.StatusCode, resp.Header)
	}
	if srv.Requests("") != 0 {
		t.Errorf("unauthenticated requests were served")
	}
}

func TestPrefixStylesDiffer(t *testing.T) {
	body := `<m:ResolveNames ReturnFullContactData="false"><m:UnresolvedEntry>a@contoso.com</m:UnresolvedEntry></m:ResolveNames>`
	marks := map[ewstest.PrefixStyle]string{
		ewstest.StylePrefixed: "<m:ResolveNamesResponse>",
		ewstest.StyleDefault:  `<ResolveNamesResponse xmlns="http://schemas.microsoft.com/exchange/services/2006/messages">`,
		ewstest.StyleOdd:      "<x1:ResolveNamesResponse>",
	}
	for style, mark := range marks {
		_, url, c := setup(t, ewstest.WithPrefixStyle(style))
		_, got := post(t, c, url, envHead+body+envTail, true)
		if !strings.Contains(got, mark) {
			t.Errorf("%v: response lacks %q:\n%s", style, mark, got)
		}
	}
}

func TestRequestTooLarge(t *testing.T) {
	_, url, c := setup(t)
	big := bytes.Repeat([]byte("A"), ewstest.MaxRequestBytes+10)
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(big))
	req.SetBasicAuth(`CONTOSO\svc`, "pw-123")
	resp, err := c.Do(req)
	if err != nil {
		var ne interface{ Timeout() bool }
		if !errors.As(err, &ne) {
			t.Skipf("connection closed on an oversized body: %v", err)
		}
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("status %d, want 413", resp.StatusCode)
	}
}
