package graphtest

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/mailbox"
)

const (
	tenant = "tenant-1"
	appID  = "app-1"
	secret = "s3cret"
	alice  = "alice@contoso.example"
)

type fixture struct {
	s  *Server
	ep *Endpoint
}

func start(t *testing.T, opts ...Option) *fixture {
	t.Helper()
	s := NewServer(opts...)
	s.AddApp(tenant, appID, secret, "Mail.ReadWrite", "MailboxSettings.Read")
	s.AddApp(tenant, "reader", "r", "Mail.Read")
	s.AddMailbox(alice, mailbox.TypeUser)
	return &fixture{s: s, ep: s.StartTLS(t)}
}

func (f *fixture) token(t *testing.T, clientID, sec, scope string) (int, map[string]any) {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {sec}, "scope": {scope}}
	resp, err := f.ep.Client.PostForm(strings.TrimSuffix(f.ep.AuthorityHost, "/")+"/"+tenant+"/oauth2/v2.0/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func (f *fixture) bearer(t *testing.T, clientID, sec string) string {
	t.Helper()
	code, out := f.token(t, clientID, sec, "https://graph.microsoft.com/.default")
	if code != 200 {
		t.Fatalf("token: %d %v", code, out)
	}
	return out["access_token"].(string)
}

type answer struct {
	status int
	header http.Header
	body   map[string]any
}

func (a answer) code() string {
	e, _ := a.body["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func (f *fixture) call(t *testing.T, tok, method, path string, body []byte, hdr ...string) answer {
	t.Helper()
	u := path
	if !strings.HasPrefix(path, "https://") {
		u = f.ep.BaseURL + path
	}
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := f.ep.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header}
	_ = json.Unmarshal(raw, &a.body)
	return a
}

func TestTokenEndpoint(t *testing.T) {
	f := start(t)
	tests := []struct {
		name, client, secret, scope string
		status                      int
		errCode                     string
	}{
		{"good secret", appID, secret, "https://graph.microsoft.com/.default", 200, ""},
		{"wrong secret", appID, "nope", "https://graph.microsoft.com/.default", 401, "invalid_client"},
		{"unknown app", "ghost", secret, "https://graph.microsoft.com/.default", 400, "unauthorized_client"},
		{"scope without .default", appID, secret, "Mail.Read", 400, "invalid_scope"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out := f.token(t, tc.client, tc.secret, tc.scope)
			if code != tc.status || (tc.errCode != "" && out["error"] != tc.errCode) {
				t.Fatalf("got %d %v", code, out)
			}
			if code == 200 && (out["access_token"] == "" || out["token_type"] != "Bearer") {
				t.Errorf("token answer %v", out)
			}
		})
	}
	resp, err := f.ep.Client.Get(f.ep.AuthorityHost + tenant + "/v2.0/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var oc map[string]string
	_ = json.NewDecoder(resp.Body).Decode(&oc)
	resp.Body.Close()
	if !strings.HasPrefix(oc["issuer"], f.ep.AuthorityHost) || oc["token_endpoint"] != f.ep.AuthorityHost+tenant+"/oauth2/v2.0/token" {
		t.Errorf("openid configuration %v", oc)
	}
}

func newCert(t *testing.T) (*rsa.PrivateKey, []byte) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "app"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return key, der
}

// assertion builds a PS256 client assertion as MSAL does.
func assertion(t *testing.T, key *rsa.PrivateKey, der []byte, claims map[string]any) string {
	t.Helper()
	sum := sha256.Sum256(der)
	h, _ := json.Marshal(map[string]any{"alg": "PS256", "typ": "JWT", "x5t#S256": base64.StdEncoding.EncodeToString(sum[:])})
	p, _ := json.Marshal(claims)
	signing := b64.EncodeToString(h) + "." + b64.EncodeToString(p)
	d := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPSS(rand.Reader, key, crypto.SHA256, d[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	if err != nil {
		t.Fatal(err)
	}
	return signing + "." + b64.EncodeToString(sig)
}

func TestVerifyAssertion(t *testing.T) {
	key, der := newCert(t)
	otherKey, _ := newCert(t)
	const tokenURL = "https://login.example/t/oauth2/v2.0/token"
	now := time.Now()
	good := map[string]any{"aud": tokenURL, "iss": appID, "sub": appID, "exp": now.Add(5 * time.Minute).Unix(), "nbf": now.Unix(), "jti": "x"}
	with := func(k string, v any) map[string]any {
		c := map[string]any{}
		for kk, vv := range good {
			c[kk] = vv
		}
		c[k] = v
		return c
	}
	tests := []struct {
		name   string
		jwt    string
		wantOK bool
	}{
		{"valid", assertion(t, key, der, good), true},
		{"signed by another key under the registered thumbprint", assertion(t, otherKey, der, good), false},
		{"wrong audience", assertion(t, key, der, with("aud", "https://login.example/other/oauth2/v2.0/token")), false},
		{"expired", assertion(t, key, der, with("exp", now.Add(-time.Minute).Unix())), false},
		{"other issuer", assertion(t, key, der, with("iss", "someone-else")), false},
		{"not a JWT", "abc.def", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := verifyAssertion(tc.jwt, appID, tokenURL, [][]byte{der}, now)
			if (err == nil) != tc.wantOK {
				t.Errorf("verifyAssertion: %v, want ok=%v", err, tc.wantOK)
			}
		})
	}
	_, unregistered := newCert(t)
	if err := verifyAssertion(assertion(t, key, der, good), appID, tokenURL, [][]byte{unregistered}, now); err == nil {
		t.Error("assertion accepted with no matching certificate registered")
	}
}

func TestBearerChecks(t *testing.T) {
	f := start(t, WithTokenLifetime(time.Second))
	tok := f.bearer(t, appID, secret)
	path := "/users/" + alice + "/mailFolders/inbox"
	if a := f.call(t, tok, "GET", path, nil); a.status != 200 {
		t.Fatalf("fresh token: %d %v", a.status, a.body)
	}
	if a := f.call(t, "", "GET", path, nil); a.status != 401 || a.code() != "InvalidAuthenticationToken" {
		t.Errorf("no token: %d %v", a.status, a.body)
	}
	if a := f.call(t, tok[:len(tok)-4]+"AAAA", "GET", path, nil); a.status != 401 {
		t.Errorf("tampered token: %d", a.status)
	}
	_, out := f.token(t, appID, secret, "https://graph.microsoft.us/.default")
	if a := f.call(t, out["access_token"].(string), "GET", path, nil); a.status != 401 || !strings.Contains(fmt.Sprint(a.body), "audience") {
		t.Errorf("token for another cloud: %d %v", a.status, a.body)
	}
	rt := f.bearer(t, "reader", "r")
	if a := f.call(t, rt, "POST", "/users/"+alice+"/mailFolders/inbox/childFolders", []byte(`{"displayName":"x"}`)); a.status != 403 || a.code() != "ErrorAccessDenied" {
		t.Errorf("write with Mail.Read: %d %v", a.status, a.body)
	}
	if a := f.call(t, rt, "GET", path, nil); a.status != 200 {
		t.Errorf("read with Mail.Read: %d", a.status)
	}
	time.Sleep(1100 * time.Millisecond)
	if a := f.call(t, tok, "GET", path, nil); a.status != 401 || !strings.Contains(fmt.Sprint(a.body), "expired") {
		t.Errorf("expired token: %d %v", a.status, a.body)
	}
}

func TestDraftSemantics(t *testing.T) {
	f := start(t)
	tok := f.bearer(t, appID, secret)
	create := "/users/" + alice + "/mailFolders/inbox/messages"
	tests := []struct {
		name      string
		body      string
		status    int
		draft     bool
		read      bool
		errorCode string
	}{
		{"no flags is a draft", `{"subject":"a"}`, 201, true, true, ""},
		{"flags read", `{"subject":"b","singleValueExtendedProperties":[{"id":"Integer 0x0E07","value":"1"}]}`, 201, false, true, ""},
		{"flags unread", `{"subject":"c","singleValueExtendedProperties":[{"id":"Integer 0x0e07","value":"0"}]}`, 201, false, false, ""},
		{"unsent bit is a draft", `{"subject":"d","singleValueExtendedProperties":[{"id":"Integer 0x0E07","value":"9"}]}`, 201, true, true, ""},
		{"header without x-", `{"subject":"e","internetMessageHeaders":[{"name":"Received","value":"x"}]}`, 400, false, false, "ErrorInvalidRequest"},
		{"six x- headers", `{"subject":"h","internetMessageHeaders":[{"name":"x-1","value":"1"},{"name":"x-2","value":"1"},{"name":"x-3","value":"1"},{"name":"x-4","value":"1"},{"name":"x-5","value":"1"},{"name":"x-6","value":"1"}]}`, 400, false, false, "InvalidInternetMessageHeaderCollection"},
		{"unknown property", `{"subject":"f","isDraft":false}`, 400, false, false, "RequestBodyRead"},
		{"bad SystemTime", `{"subject":"g","singleValueExtendedProperties":[{"id":"SystemTime 0x0E06","value":"yesterday"}]}`, 400, false, false, "ErrorInvalidRequest"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := f.call(t, tok, "POST", create, []byte(tc.body))
			if a.status != tc.status {
				t.Fatalf("status %d %v", a.status, a.body)
			}
			if tc.status != 201 {
				if a.code() != tc.errorCode {
					t.Errorf("code %q", a.code())
				}
				return
			}
			if a.body["isDraft"] != tc.draft || a.body["isRead"] != tc.read {
				t.Errorf("isDraft %v isRead %v", a.body["isDraft"], a.body["isRead"])
			}
			// Flags cannot change after the first save.
			id := a.body["id"].(string)
			p := f.call(t, tok, "PATCH", "/users/"+alice+"/messages/"+id, []byte(`{"singleValueExtendedProperties":[{"id":"Integer 0x0E07","value":"1"}]}`))
			if p.status != 200 || p.body["isDraft"] != tc.draft {
				t.Errorf("after PATCH of flags: %d isDraft %v", p.status, p.body["isDraft"])
			}
		})
	}
	mime := base64.StdEncoding.EncodeToString([]byte("Subject: m\r\nFrom: a@b.example\r\n\r\nbody\r\n"))
	a := f.call(t, tok, "POST", "/users/"+alice+"/messages", []byte(mime), "Content-Type", "text/plain")
	if a.status != 201 || a.body["isDraft"] != true || a.body["subject"] != "m" {
		t.Errorf("MIME create: %d %v", a.status, a.body)
	}
	if a := f.call(t, tok, "POST", "/users/"+alice+"/messages", []byte("!!notbase64"), "Content-Type", "text/plain"); a.code() != "ErrorMimeContentInvalidBase64String" {
		t.Errorf("bad base64: %d %v", a.status, a.body)
	}
}

func TestUsersThatAreNotHere(t *testing.T) {
	f := start(t)
	f.s.AddOnPremUser("bob@contoso.example")
	tok := f.bearer(t, appID, secret)
	if a := f.call(t, tok, "GET", "/users/bob@contoso.example/mailFolders/inbox", nil); a.status != 404 || a.code() != "MailboxNotEnabledForRESTAPI" {
		t.Errorf("on-prem: %d %v", a.status, a.body)
	}
	if a := f.call(t, tok, "GET", "/users/ghost@contoso.example/mailFolders/inbox", nil); a.status != 404 || a.code() != "ErrorInvalidUser" {
		t.Errorf("no such user: %d %v", a.status, a.body)
	}
}

func TestLimitsEnforced(t *testing.T) {
	t.Run("concurrency", func(t *testing.T) {
		lim := DefaultLimits()
		lim.ConcurrencyRetryAfter = 1500 * time.Millisecond
		f := start(t, WithLatency(300*time.Millisecond), WithLimits(lim))
		tok := f.bearer(t, appID, secret)
		var mu sync.Mutex
		var got []answer
		var wg sync.WaitGroup
		for range 7 {
			wg.Go(func() {
				a := f.call(t, tok, "GET", "/users/"+alice+"/mailFolders/inbox", nil)
				mu.Lock()
				got = append(got, a)
				mu.Unlock()
			})
		}
		wg.Wait()
		ok, throttled := 0, 0
		for _, a := range got {
			switch a.status {
			case 200:
				ok++
			case 429:
				throttled++
				if a.code() != "ApplicationThrottled" || !strings.Contains(fmt.Sprint(a.body), "MailboxConcurrency") || a.header.Get("Retry-After") != "1.5" {
					t.Errorf("429 answer %v %v", a.header, a.body)
				}
			}
		}
		if ok != 4 || throttled != 3 || f.s.MaxInFlightSeen(alice) < 5 {
			t.Errorf("ok %d throttled %d max seen %d", ok, throttled, f.s.MaxInFlightSeen(alice))
		}
	})
	t.Run("request budget and batch", func(t *testing.T) {
		lim := DefaultLimits()
		lim.RequestsPerWindow, lim.RequestWindow = 3, time.Minute
		f := start(t, WithLimits(lim))
		tok := f.bearer(t, appID, secret)
		for i := range 3 {
			if a := f.call(t, tok, "GET", "/users/"+alice+"/mailFolders/inbox", nil); a.status != 200 {
				t.Fatalf("request %d: %d", i, a.status)
			}
		}
		a := f.call(t, tok, "GET", "/users/"+alice+"/mailFolders/inbox", nil)
		if a.status != 429 || a.header.Get("Retry-After") == "" {
			t.Fatalf("over budget: %d %v", a.status, a.header)
		}
		// In a batch each step is counted, and throttled on its own.
		b := f.call(t, tok, "POST", "/$batch", []byte(`{"requests":[{"id":"1","method":"GET","url":"/users/`+alice+`/mailFolders/inbox"}]}`))
		rs := b.body["responses"].([]any)
		r0 := rs[0].(map[string]any)
		if b.status != 200 || r0["status"].(float64) != 429 || r0["headers"].(map[string]any)["Retry-After"] == nil {
			t.Errorf("batch step over budget: %d %v", b.status, b.body)
		}
	})
	t.Run("upload budget", func(t *testing.T) {
		lim := DefaultLimits()
		lim.UploadBytesPerWindow, lim.UploadWindow = 1<<20, time.Minute
		f := start(t, WithLimits(lim))
		tok := f.bearer(t, appID, secret)
		body := []byte(`{"subject":"` + strings.Repeat("x", 600<<10) + `"}`)
		if a := f.call(t, tok, "POST", "/users/"+alice+"/messages", body); a.status != 201 {
			t.Fatalf("first upload: %d", a.status)
		}
		a := f.call(t, tok, "POST", "/users/"+alice+"/messages", body)
		if a.status != 429 || !strings.Contains(fmt.Sprint(a.body), "IncomingBytes") {
			t.Errorf("over upload budget: %d %v", a.status, a.body)
		}
	})
	t.Run("request size and batch size", func(t *testing.T) {
		f := start(t)
		tok := f.bearer(t, appID, secret)
		big := []byte(`{"subject":"` + strings.Repeat("x", 4<<20) + `"}`)
		if a := f.call(t, tok, "POST", "/users/"+alice+"/messages", big); a.status != 413 {
			t.Errorf("5 MB request: %d", a.status)
		}
		var steps []string
		for i := range 21 {
			steps = append(steps, fmt.Sprintf(`{"id":"%d","method":"GET","url":"/users/%s/mailFolders/inbox"}`, i, alice))
		}
		if a := f.call(t, tok, "POST", "/$batch", []byte(`{"requests":[`+strings.Join(steps, ",")+`]}`)); a.status != 400 {
			t.Errorf("21-step batch: %d", a.status)
		}
		if a := f.call(t, tok, "POST", "/$batch", []byte(`{"requests":[`+strings.Join(steps[:20], ",")+`]}`)); a.status != 200 || len(a.body["responses"].([]any)) != 20 {
			t.Errorf("20-step batch: %d", a.status)
		}
		dup := `{"requests":[{"id":"1","method":"GET","url":"/users/x/mailFolders"},{"id":"1","method":"GET","url":"/users/x/mailFolders"}]}`
		if a := f.call(t, tok, "POST", "/$batch", []byte(dup)); a.status != 400 {
			t.Errorf("duplicate ids: %d", a.status)
		}
		for _, bad := range []string{
			`{"requests":[{"id":"1","url":"/users/x/mailFolders"}]}`,
			`{"requests":[{"id":"1","method":"FETCH","url":"/users/x/mailFolders"}]}`,
			`{"requests":[{"id":"1","method":"GET","url":"https://graph.microsoft.com/v1.0/users/x/mailFolders"}]}`,
			`{"requests":[{"id":"1","method":"GET"}]}`,
			`{"requests":[{"id":"1","method":"GET","url":"/users/x/mailFolders","dependsOn":["9"]}]}`,
		} {
			if a := f.call(t, tok, "POST", "/$batch", []byte(bad)); a.status != 400 {
				t.Errorf("%s: %d, want 400", bad, a.status)
			}
		}
		dep := `{"requests":[{"id":"1","method":"GET","url":"/users/ghost@x/mailFolders/inbox"},{"id":"2","method":"GET","url":"/users/` + alice + `/mailFolders/inbox","dependsOn":["1"]}]}`
		a := f.call(t, tok, "POST", "/$batch", []byte(dep))
		if rs := a.body["responses"].([]any); rs[1].(map[string]any)["status"].(float64) != 424 {
			t.Errorf("failed dependency: %v", rs)
		}
	})
}

func TestUploadSessionRules(t *testing.T) {
	f := start(t)
	tok := f.bearer(t, appID, secret)
	m := f.call(t, tok, "POST", "/users/"+alice+"/mailFolders/inbox/messages", []byte(`{"subject":"s","singleValueExtendedProperties":[{"id":"Integer 0x0E07","value":"1"}]}`))
	id := m.body["id"].(string)
	const size = 5 << 20
	us := f.call(t, tok, "POST", "/users/"+alice+"/messages/"+id+"/attachments/createUploadSession", []byte(`{"AttachmentItem":{"attachmentType":"file","name":"a.bin","size":`+fmt.Sprint(size)+`}}`))
	if us.status != 201 {
		t.Fatalf("createUploadSession: %d %v", us.status, us.body)
	}
	u := us.body["uploadUrl"].(string)
	put := func(tok string, from, to int) answer {
		return f.call(t, tok, "PUT", u, bytes.Repeat([]byte{1}, to-from+1), "Content-Range", fmt.Sprintf("bytes %d-%d/%d", from, to, size), "Content-Type", "application/octet-stream")
	}
	if a := put(tok, 0, 1023); a.status != 401 {
		t.Errorf("upload with a bearer token: %d", a.status)
	}
	if a := put("", 1024, 2047); a.status != 416 {
		t.Errorf("out-of-order range: %d", a.status)
	}
	if a := put("", 0, 4<<20+9); a.status != 413 {
		t.Errorf("range over 4 MB: %d", a.status)
	}
	if a := put("", 0, 3<<20-1); a.status != 200 || fmt.Sprint(a.body["nextExpectedRanges"]) != fmt.Sprintf("[%d-]", 3<<20) {
		t.Errorf("first range: %d %v", a.status, a.body)
	}
	a := put("", 3<<20, size-1)
	if a.status != 201 || !strings.Contains(a.header.Get("Location"), "/Attachments('") {
		t.Errorf("last range: %d %v", a.status, a.header)
	}
	msg, _ := f.s.Mailbox(alice).Message(id)
	if len(msg.Attachments) != 1 || msg.Attachments[0].Size != size || msg.IsDraft {
		t.Errorf("stored %+v", msg.Attachments)
	}
}
