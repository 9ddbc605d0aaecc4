package graphtest

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// The tests in this file each pin one way the fake answered otherwise than
// Graph (issue 13); each fails on the fake before that issue.

// q builds a path with a query, encoded as a client encodes it.
func q(path string, kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return path + "?" + strings.ReplaceAll(v.Encode(), "+", "%20")
}

func errMessage(a answer) string {
	e, _ := a.body["error"].(map[string]any)
	m, _ := e["message"].(string)
	return m
}

func values(a answer) []map[string]any {
	var out []map[string]any
	vs, _ := a.body["value"].([]any)
	for _, v := range vs {
		if m, ok := v.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func subjects(a answer) []string {
	var out []string
	for _, v := range values(a) {
		s, _ := v["subject"].(string)
		out = append(out, s)
	}
	return out
}

func TestOpenIDConfigurationHasJWKS(t *testing.T) {
	f := start(t)
	resp, err := f.ep.Client.Get(f.ep.AuthorityHost + tenant + "/v2.0/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var oc map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&oc)
	resp.Body.Close()
	jwks, _ := oc["jwks_uri"].(string)
	if jwks != f.ep.AuthorityHost+tenant+"/discovery/v2.0/keys" {
		t.Fatalf("jwks_uri = %q, want the tenant's discovery/v2.0/keys", jwks)
	}
	resp, err = f.ep.Client.Get(jwks)
	if err != nil {
		t.Fatal(err)
	}
	var set struct {
		Keys []struct{ Kty, Kid, N, E, Use string }
	}
	err = json.NewDecoder(resp.Body).Decode(&set)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || len(set.Keys) != 1 || set.Keys[0].Kty != "RSA" || set.Keys[0].Use != "sig" {
		t.Fatalf("keys: %d %v %+v", resp.StatusCode, err, set)
	}
	// The access tokens the fake issues verify with the published key.
	tok := f.bearer(t, appID, secret)
	parts := strings.Split(tok, ".")
	var hdr struct{ Alg, Kid string }
	hb, _ := b64.DecodeString(parts[0])
	_ = json.Unmarshal(hb, &hdr)
	k := set.Keys[0]
	n, _ := b64.DecodeString(k.N)
	e, _ := b64.DecodeString(k.E)
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	sig, _ := b64.DecodeString(parts[2])
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if hdr.Alg != "RS256" || hdr.Kid != k.Kid || rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig) != nil {
		t.Errorf("access token header %+v does not verify with the JWKS key %s", hdr, k.Kid)
	}
}

func TestClientAssertionFractionalTimes(t *testing.T) {
	key, der := newCert(t)
	const tokenURL = "https://login.example/t/oauth2/v2.0/token"
	now := time.Now()
	sec := func(d time.Duration) float64 { return float64(now.Add(d).UnixNano()) / 1e9 }
	for _, tc := range []struct {
		name     string
		exp, nbf any
		ok       bool
	}{
		// MSAL Python writes time.time(): 1717171717.123456
		{"fractional exp, iat and nbf", sec(10 * time.Minute), sec(-time.Second), true},
		{"fractional exp in the past", sec(-time.Second), sec(-time.Minute), false},
		{"fractional nbf far ahead", sec(time.Hour), sec(30 * time.Minute), false},
		{"exp not a number", "soon", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			claims := map[string]any{"aud": tokenURL, "iss": appID, "sub": appID, "exp": tc.exp, "iat": sec(0), "jti": "x"}
			if tc.nbf != nil {
				claims["nbf"] = tc.nbf
			}
			err := verifyAssertion(assertion(t, key, der, claims), appID, tokenURL, [][]byte{der}, now)
			if (err == nil) != tc.ok {
				t.Errorf("verifyAssertion: %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestMessageRuleByID(t *testing.T) {
	f := start(t)
	f.s.AddApp(tenant, "rules", "r", "MailboxSettings.ReadWrite")
	tok := f.bearer(t, "rules", "r")
	base := "/users/" + alice + "/mailFolders/inbox/messageRules"
	c := f.call(t, tok, "POST", base, []byte(`{"displayName":"Invoices","sequence":1,"isEnabled":true,"conditions":{"subjectContains":["invoice"]},"actions":{"markAsRead":true}}`))
	id, _ := c.body["id"].(string)
	if c.status != 201 || id == "" {
		t.Fatalf("create: %d %v", c.status, c.body)
	}
	one := base + "/" + url.PathEscape(id)
	if a := f.call(t, tok, "GET", one, nil); a.status != 200 || a.body["displayName"] != "Invoices" {
		t.Errorf("GET by id: %d %v", a.status, a.body)
	}
	if a := f.call(t, tok, "GET", q(one, "$select", "displayName"), nil); a.status != 200 || a.body["sequence"] != nil || a.body["displayName"] != "Invoices" {
		t.Errorf("GET by id with $select: %d %v", a.status, a.body)
	}
	if a := f.call(t, tok, "PATCH", one, []byte(`{"displayName":"Paid invoices","isEnabled":false}`)); a.status != 200 || a.body["displayName"] != "Paid invoices" || a.body["isEnabled"] != false {
		t.Errorf("PATCH: %d %v", a.status, a.body)
	}
	if r := f.s.Mailbox(alice).Rules(); len(r) != 1 || r[0]["displayName"] != "Paid invoices" {
		t.Errorf("stored after PATCH: %v", r)
	}
	if a := f.call(t, tok, "DELETE", one, nil); a.status != 204 {
		t.Errorf("DELETE: %d %v", a.status, a.body)
	}
	if r := f.s.Mailbox(alice).Rules(); len(r) != 0 {
		t.Errorf("stored after DELETE: %v", r)
	}
	if a := f.call(t, tok, "GET", one, nil); a.status != 404 || a.code() != "ErrorItemNotFound" {
		t.Errorf("GET after DELETE: %d %v", a.status, a.body)
	}
	if a := f.call(t, tok, "DELETE", base+"/not%20an%20id!", nil); a.status != 400 || a.code() != "ErrorInvalidIdMalformed" {
		t.Errorf("DELETE of a malformed id: %d %v", a.status, a.body)
	}
}

// filterMailbox seeds alice's Inbox with messages for $filter, $orderby and
// $search tests.
func filterMailbox(t *testing.T, f *fixture) {
	t.Helper()
	fx := f.s.Mailbox(alice)
	day := func(d int) time.Time { return time.Date(2024, 3, d, 10, 0, 0, 0, time.UTC) }
	for _, m := range []Message{
		{Subject: "alpha", IsRead: false, Received: day(1), Sent: day(1), From: "ann@contoso.example", Importance: "high", Categories: []string{"Red"}, Body: "pizza on friday"},
		{Subject: "bravo", IsRead: true, Received: day(2), Sent: day(2), From: "bob@contoso.example", Body: "budget"},
		{Subject: "charlie", IsRead: false, Received: day(3), Sent: day(3), From: "ann@contoso.example", Body: "pizza again"},
		{Subject: "delta", IsRead: true, Received: day(4), Sent: day(4), From: "cid@fabrikam.example", Attachments: []Attachment{{ID: "a", Name: "q1.xlsx", Size: 3, Data: []byte("abc")}}},
	} {
		fx.AddMessage("Inbox", m)
	}
}

func TestMessageFilter(t *testing.T) {
	f := start(t)
	filterMailbox(t, f)
	tok := f.bearer(t, appID, secret)
	list := "/users/" + alice + "/mailFolders/inbox/messages"
	for _, tc := range []struct {
		filter string
		want   []string // subjects, or the error code
		status int
	}{
		{"isRead eq false", []string{"alpha", "charlie"}, 200},
		{"isRead eq true", []string{"bravo", "delta"}, 200},
		{"receivedDateTime ge 2024-03-02T00:00:00Z", []string{"bravo", "charlie", "delta"}, 200},
		{"receivedDateTime lt 2024-03-03T00:00:00Z", []string{"alpha", "bravo"}, 200},
		{"receivedDateTime ge 2024-03-02T00:00:00Z and receivedDateTime lt 2024-03-04T00:00:00Z", []string{"bravo", "charlie"}, 200},
		{"isRead eq false and receivedDateTime ge 2024-03-02T00:00:00Z", []string{"charlie"}, 200},
		{"receivedDateTime ge 2024-03-03", []string{"charlie", "delta"}, 200},
		{"(isRead eq true or importance eq 'high') and not(hasAttachments eq true)", []string{"alpha", "bravo"}, 200},
		{"from/emailAddress/address eq 'ANN@contoso.example'", []string{"alpha", "charlie"}, 200},
		{"categories/any(c: c eq 'red')", []string{"alpha"}, 200},
		{"startswith(subject,'ch')", []string{"charlie"}, 200},
		{"subject eq 'alpha' or subject eq 'delta'", []string{"alpha", "delta"}, 200},
		// Refusals, with Graph's codes.
		{"isRead eq 'false'", []string{"BadRequest"}, 400},
		{"isRead eq", []string{"BadRequest"}, 400},
		{"flavour eq 'mint'", []string{"RequestBroker--ParseUri"}, 400},
		{"subject eq subject", []string{"ErrorInvalidUrlQueryFilter"}, 400},
	} {
		t.Run(tc.filter, func(t *testing.T) {
			a := f.call(t, tok, "GET", q(list, "$filter", tc.filter), nil)
			if a.status != tc.status {
				t.Fatalf("status %d %v", a.status, a.body)
			}
			if tc.status != 200 {
				if a.code() != tc.want[0] {
					t.Errorf("code %q (%s), want %s", a.code(), errMessage(a), tc.want[0])
				}
				return
			}
			got := subjects(a)
			sort.Strings(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	a := f.call(t, tok, "GET", q(list, "$filter", "flavour eq 'mint'"), nil)
	if m := errMessage(a); m != "Could not find a property named 'flavour' on type 'microsoft.graph.message'." {
		t.Errorf("unknown property: %q", m)
	}
	a = f.call(t, tok, "GET", q(list, "$filter", "isRead eq"), nil)
	if m := errMessage(a); m != "Invalid filter clause: Syntax error at position 9 in 'isRead eq'." {
		t.Errorf("syntax error: %q", m)
	}
}

func TestMultiValueExtendedProperties(t *testing.T) {
	f := start(t)
	tok := f.bearer(t, appID, secret)
	const tags = "StringArray {00020329-0000-0000-C000-000000000046} Name Keywords"
	body := `{"subject":"tagged","singleValueExtendedProperties":[{"id":"Integer 0x0E07","value":"1"}],` +
		`"multiValueExtendedProperties":[{"id":"` + tags + `","value":["migration","wave 1"]}]}`
	c := f.call(t, tok, "POST", "/users/"+alice+"/mailFolders/inbox/messages", []byte(body))
	id, _ := c.body["id"].(string)
	if c.status != 201 {
		t.Fatalf("create: %d %v", c.status, c.body)
	}
	m, _ := f.s.Mailbox(alice).Message(id)
	if got := m.MultiValueExtendedProperties[tags]; !slices.Equal(got, []string{"migration", "wave 1"}) {
		t.Errorf("stored %v", m.MultiValueExtendedProperties)
	}
	a := f.call(t, tok, "GET", q("/users/"+alice+"/messages/"+url.PathEscape(id), "$expand", "multiValueExtendedProperties($filter=id eq '"+tags+"')"), nil)
	mv, _ := a.body["multiValueExtendedProperties"].([]any)
	if a.status != 200 || len(mv) != 1 || fmt.Sprint(mv[0].(map[string]any)["value"]) != "[migration wave 1]" {
		t.Errorf("read back: %d %v", a.status, a.body)
	}
	a = f.call(t, tok, "GET", q("/users/"+alice+"/mailFolders/inbox/messages", "$filter",
		"multiValueExtendedProperties/any(ep: ep/id eq '"+tags+"' and ep/value/any(v: v eq 'wave 1'))"), nil)
	if got := subjects(a); a.status != 200 || !slices.Equal(got, []string{"tagged"}) {
		t.Errorf("filter on the value: %d %v", a.status, a.body)
	}
	bad := `{"subject":"x","multiValueExtendedProperties":[{"id":"String {00020329-0000-0000-C000-000000000046} Name One","value":["a"]}]}`
	if a := f.call(t, tok, "POST", "/users/"+alice+"/messages", []byte(bad)); a.status != 400 {
		t.Errorf("a multi-value property of a single-value type: %d %v", a.status, a.body)
	}
}

func TestQueryOptionsRefusedOrServed(t *testing.T) {
	f := start(t)
	filterMailbox(t, f)
	tok := f.bearer(t, appID, secret)
	inbox := "/users/" + alice + "/mailFolders/inbox"
	list := inbox + "/messages"
	one := "/users/" + alice + "/messages/" + url.PathEscape(f.s.Mailbox(alice).Messages("Inbox")[0].ID)
	for _, tc := range []struct {
		name, path string
		status     int
		code, msg  string
	}{
		{"unknown $select property of a message", q(list, "$select", "subject,flavour"), 400, "RequestBroker--ParseUri", "Could not find a property named 'flavour' on type 'microsoft.graph.message'."},
		{"eventMessage property on message", q(one, "$select", "meetingMessageType"), 400, "RequestBroker--ParseUri", "Could not find a property named 'meetingMessageType' on type 'microsoft.graph.message'."},
		{"unknown $select property of a folder", q(inbox, "$select", "isRead"), 400, "BadRequest", "Parsing OData Select and Expand failed: Could not find a property named 'isRead' on type 'microsoft.graph.mailFolder'."},
		{"contentId is on fileAttachment, not attachment", q(one+"/attachments", "$select", "name,contentId"), 400, "RequestBroker--ParseUri", "Could not find a property named 'contentId' on type 'microsoft.graph.attachment'."},
		{"unknown $expand", q(list, "$expand", "mentions"), 400, "RequestBroker--ParseUri", "Could not find a property named 'mentions' on type 'microsoft.graph.message'."},
		{"$expand of a structural property", q(list, "$expand", "subject"), 400, "BadRequest", ""},
		{"unknown system query option", q(list, "$bogus", "1"), 400, "BadRequest", "The query parameter '$bogus' is not supported."},
		{"the same option twice", list + "?$top=1&$top=2", 400, "BadRequest", "Query option '$top' was specified more than once, but it must be specified at most once."},
		{"$search with $filter", q(list, "$search", `"pizza"`, "$filter", "isRead eq true"), 400, "ErrorInvalidUrlQuery", "The query parameter 'Filter' is invalid."},
		{"$search with $orderby", q(list, "$search", `"pizza"`, "$orderby", "subject"), 400, "ErrorInvalidUrlQuery", "The query parameter 'OrderBy' is invalid."},
		{"$orderby not leading the $filter", q(list, "$filter", "isRead eq false and subject ne 'x'", "$orderby", "subject"), 400, "InefficientFilter", "The restriction or sort order is too complex for this operation."},
		{"$orderby of an unknown property", q(list, "$orderby", "flavour"), 400, "RequestBroker--ParseUri", ""},
		{"$count that is not a boolean", q(list, "$count", "yes"), 400, "BadRequest", "'yes' is not a valid count option."},
		{"$top on a single message", q(one, "$top", "1"), 400, "ErrorInvalidUrlQuery", "The query parameter 'Top' is invalid."},
		{"$search on folders", q("/users/"+alice+"/mailFolders", "$search", "inbox"), 400, "ErrorInvalidUrlQuery", "The query parameter 'Search' is invalid."},
		{"$search on delta", q(list+"/delta", "$search", "pizza"), 400, "ErrorInvalidUrlQuery", "The query parameter 'Search' is invalid."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := f.call(t, tok, "GET", tc.path, nil)
			if a.status != tc.status || a.code() != tc.code || (tc.msg != "" && errMessage(a) != tc.msg) {
				t.Errorf("%d %s %q, want %d %s %q", a.status, a.code(), errMessage(a), tc.status, tc.code, tc.msg)
			}
		})
	}
	t.Run("$orderby", func(t *testing.T) {
		a := f.call(t, tok, "GET", q(list, "$orderby", "receivedDateTime desc", "$select", "subject"), nil)
		if got := subjects(a); !slices.Equal(got, []string{"delta", "charlie", "bravo", "alpha"}) {
			t.Errorf("receivedDateTime desc: %d %v", a.status, got)
		}
		a = f.call(t, tok, "GET", q(list, "$filter", "isRead eq false", "$orderby", "isRead,receivedDateTime desc"), nil)
		if got := subjects(a); !slices.Equal(got, []string{"charlie", "alpha"}) {
			t.Errorf("$filter then $orderby of its property: %d %v", a.status, a.body)
		}
	})
	t.Run("$count", func(t *testing.T) {
		a := f.call(t, tok, "GET", q(list, "$count", "true", "$top", "1"), nil)
		if a.status != 200 || a.body["@odata.count"] != float64(4) || len(values(a)) != 1 || a.body["@odata.nextLink"] == nil {
			t.Errorf("$count=true: %d %v", a.status, a.body)
		}
	})
	t.Run("$search", func(t *testing.T) {
		a := f.call(t, tok, "GET", q(list, "$search", `"pizza"`), nil)
		if got := subjects(a); !slices.Equal(got, []string{"charlie", "alpha"}) {
			t.Errorf(`"pizza" (newest sent first): %d %v`, a.status, a.body)
		}
		a = f.call(t, tok, "GET", q(list, "$search", `"from:ann subject:alpha"`), nil)
		if got := subjects(a); !slices.Equal(got, []string{"alpha"}) {
			t.Errorf("from: and subject: %d %v", a.status, a.body)
		}
	})
	t.Run("$expand=attachments", func(t *testing.T) {
		a := f.call(t, tok, "GET", q(list, "$filter", "hasAttachments eq true", "$expand", "attachments($select=name)"), nil)
		v := values(a)
		if len(v) != 1 {
			t.Fatalf("%d %v", a.status, a.body)
		}
		as, _ := v[0]["attachments"].([]any)
		if len(as) != 1 || as[0].(map[string]any)["name"] != "q1.xlsx" || as[0].(map[string]any)["size"] != nil {
			t.Errorf("attachments %v", as)
		}
	})
	t.Run("a custom option is not an error", func(t *testing.T) {
		if a := f.call(t, tok, "GET", q(list, "foo", "bar"), nil); a.status != 200 {
			t.Errorf("%d %v", a.status, a.body)
		}
	})
}

func TestDeltaChangeType(t *testing.T) {
	f := start(t)
	tok := f.bearer(t, appID, secret)
	fx := f.s.Mailbox(alice)
	old := fx.AddMessage("Inbox", Message{Subject: "old"})
	gone := fx.AddMessage("Inbox", Message{Subject: "gone"})
	delta := "/users/" + alice + "/mailFolders/inbox/messages/delta"
	// round walks a delta round to its deltaLink, returning the subjects
	// (or ids of removals) it gave.
	round := func(t *testing.T, link string) (got []string, next string) {
		t.Helper()
		for link != "" {
			a := f.call(t, tok, "GET", link, nil)
			if a.status != 200 {
				t.Fatalf("%d %v", a.status, a.body)
			}
			for _, v := range values(a) {
				if _, removed := v["@removed"]; removed {
					got = append(got, "removed "+v["id"].(string))
				} else {
					got = append(got, v["subject"].(string))
				}
			}
			link, _ = a.body["@odata.nextLink"].(string)
			next, _ = a.body["@odata.deltaLink"].(string)
		}
		sort.Strings(got)
		return got, next
	}
	links := map[string]string{}
	for _, ct := range []string{"created", "updated", "deleted"} {
		got, next := round(t, q(delta, "changeType", ct, "$select", "subject"))
		want := map[string][]string{"created": {"gone", "old"}}[ct]
		if !slices.Equal(got, want) {
			t.Errorf("first round with changeType=%s: %v, want %v", ct, got, want)
		}
		links[ct] = next
	}
	fx.AddMessage("Inbox", Message{Subject: "new"})
	fx.UpdateMessage(old, func(m *Message) { m.IsRead = !m.IsRead })
	fx.DeleteMessage(gone)
	for ct, want := range map[string][]string{"created": {"new"}, "updated": {"old"}, "deleted": {"removed " + gone}} {
		if got, _ := round(t, links[ct]); !slices.Equal(got, want) {
			t.Errorf("second round with changeType=%s: %v, want %v", ct, got, want)
		}
	}
	if a := f.call(t, tok, "GET", q(delta, "changeType", "moved"), nil); a.status != 400 {
		t.Errorf("changeType=moved: %d %v", a.status, a.body)
	}
	if a := f.call(t, tok, "GET", q(delta, "$filter", "isRead eq true"), nil); a.status != 400 || a.code() != "ErrorInvalidUrlQuery" {
		t.Errorf("a $filter delta does not take: %d %v", a.status, a.body)
	}
	if a := f.call(t, tok, "GET", q(delta, "$filter", "receivedDateTime ge 2020-01-01T00:00:00Z", "$orderby", "receivedDateTime desc"), nil); a.status != 200 {
		t.Errorf("the $filter and $orderby delta takes: %d %v", a.status, a.body)
	}
	if a := f.call(t, tok, "GET", "/users/"+alice+"/messages/delta", nil); a.status != 400 {
		t.Errorf("delta of the whole mailbox: %d %v", a.status, a.body)
	}
}

func TestIDsAndMalformedIDs(t *testing.T) {
	f := start(t)
	tok := f.bearer(t, appID, secret)
	fx := f.s.Mailbox(alice)
	id := fx.AddMessage("Inbox/Sub", Message{Subject: "s"})
	graphID := regexp.MustCompile(`^[A-Za-z0-9_-]+=*$`)
	for _, x := range []string{id, fx.FolderID("Inbox/Sub"), fx.RootID()} {
		if !graphID.MatchString(x) || !strings.ContainsAny(x, "-_") || !strings.HasSuffix(x, "=") {
			t.Errorf("id %q is not URL-safe base64 with '-', '_' and '=' padding as Graph's", x)
		}
	}
	user := "/users/" + alice
	for _, tc := range []struct {
		path   string
		status int
		code   string
	}{
		{user + "/messages/" + url.PathEscape(id), 200, ""},
		{user + "/messages/" + "AAMkAGI2TG93AAA-missing=", 404, "ErrorItemNotFound"},
		{user + "/messages/" + url.PathEscape("<gmail.id@mail.gmail.com>"), 400, "ErrorInvalidIdMalformed"},
		{user + "/messages/" + "abc%21", 400, "ErrorInvalidIdMalformed"},
		{user + "/mailFolders/" + "no%20such%20folder", 400, "ErrorInvalidIdMalformed"},
		{user + "/mailFolders/" + "AAMkAGI2TG93AAA-missing=", 404, "ErrorItemNotFound"},
		// A well-known name of a folder this mailbox does not have.
		{user + "/mailFolders/" + "clutter", 404, "ErrorItemNotFound"},
		{user + "/mailFolders/" + url.PathEscape(fx.FolderID("Inbox/Sub")) + "/messages/" + url.PathEscape(id) + "/attachments/AAMk%24", 400, "ErrorInvalidIdMalformed"},
	} {
		a := f.call(t, tok, "GET", tc.path, nil)
		if a.status != tc.status || a.code() != tc.code {
			t.Errorf("GET %s: %d %s, want %d %s", tc.path, a.status, a.code(), tc.status, tc.code)
		}
	}
	// An id in a $filter literal goes through URL escaping: '=' and '-'
	// in a query value.
	a := f.call(t, tok, "GET", q(user+"/messages", "$filter", "parentFolderId eq '"+fx.FolderID("Inbox/Sub")+"'"), nil)
	if got := subjects(a); !slices.Equal(got, []string{"s"}) {
		t.Errorf("filter by parentFolderId: %d %v", a.status, a.body)
	}
}

func TestBatchStepsRunConcurrently(t *testing.T) {
	f := start(t, WithLatency(300*time.Millisecond))
	tok := f.bearer(t, appID, secret)
	steps := func(n int) string {
		var s []string
		for i := range n {
			s = append(s, fmt.Sprintf(`{"id":"%d","method":"GET","url":"/users/%s/mailFolders/inbox"}`, i, alice))
		}
		return `{"requests":[` + strings.Join(s, ",") + `]}`
	}
	began := time.Now()
	a := f.call(t, tok, "POST", "/$batch", []byte(steps(4)))
	took := time.Since(began)
	if a.status != 200 || len(a.body["responses"].([]any)) != 4 {
		t.Fatalf("batch: %d %v", a.status, a.body)
	}
	// Four steps of 300 ms each: at once, about 300 ms; one after another 1.2 s.
	if took > 900*time.Millisecond {
		t.Errorf("4 steps took %v: they ran one after another", took)
	}
	// With two requests in flight on the mailbox, four more steps are over
	// the 4-request concurrency limit: some are throttled on their own.
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() { f.call(t, tok, "GET", "/users/"+alice+"/mailFolders/inbox", nil) })
	}
	time.Sleep(100 * time.Millisecond)
	a = f.call(t, tok, "POST", "/$batch", []byte(steps(4)))
	wg.Wait()
	throttled := 0
	for _, r := range a.body["responses"].([]any) {
		if r.(map[string]any)["status"].(float64) == 429 {
			throttled++
		}
	}
	if throttled != 2 {
		t.Errorf("%d of 4 steps throttled beside 2 requests in flight, want 2: %v", throttled, a.body)
	}
}

func TestRequestIDs(t *testing.T) {
	f := start(t)
	tok := f.bearer(t, appID, secret)
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	a := f.call(t, tok, "GET", "/users/"+alice+"/mailFolders/inbox", nil)
	if rid := a.header.Get("request-id"); !uuid.MatchString(rid) || a.header.Get("client-request-id") != rid {
		t.Errorf("answer without client-request-id: request-id %q, client-request-id %q", rid, a.header.Get("client-request-id"))
	}
	const mine = "6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a5b"
	a = f.call(t, tok, "GET", "/users/"+alice+"/messages/AAMkAGI2TG93AAA-missing=", nil, "client-request-id", mine)
	inner, _ := a.body["error"].(map[string]any)["innerError"].(map[string]any)
	if a.header.Get("client-request-id") != mine || !uuid.MatchString(a.header.Get("request-id")) ||
		inner["client-request-id"] != mine || inner["request-id"] != a.header.Get("request-id") {
		t.Errorf("error answer: headers %v, innerError %v", a.header, inner)
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {appID}, "client_secret": {secret}, "scope": {"https://graph.microsoft.com/.default"}}
	req, _ := http.NewRequest("POST", f.ep.AuthorityHost+tenant+"/oauth2/v2.0/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("client-request-id", mine)
	resp, err := f.ep.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("client-request-id") != mine || !uuid.MatchString(resp.Header.Get("x-ms-request-id")) {
		t.Errorf("token endpoint headers %v", resp.Header)
	}
	// Entra's errors name the same ids, and the AADSTS code as a number.
	form.Set("client_secret", "wrong")
	req, _ = http.NewRequest("POST", f.ep.AuthorityHost+tenant+"/oauth2/v2.0/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("client-request-id", mine)
	resp, err = f.ep.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var te map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&te)
	resp.Body.Close()
	if te["correlation_id"] != mine || te["trace_id"] != resp.Header.Get("x-ms-request-id") || fmt.Sprint(te["error_codes"]) != "[7.000215e+06]" {
		t.Errorf("token error %v", te)
	}
}

func TestUploadURLOnAnotherHost(t *testing.T) {
	f := start(t)
	tok := f.bearer(t, appID, secret)
	m := f.call(t, tok, "POST", "/users/"+alice+"/mailFolders/inbox/messages", []byte(`{"subject":"s"}`))
	id := m.body["id"].(string)
	us := f.call(t, tok, "POST", "/users/"+alice+"/messages/"+url.PathEscape(id)+"/attachments/createUploadSession", []byte(`{"AttachmentItem":{"attachmentType":"file","name":"a.bin","size":4000000}}`))
	up, err := url.Parse(us.body["uploadUrl"].(string))
	if err != nil {
		t.Fatal(err)
	}
	graph, _ := url.Parse(f.ep.BaseURL)
	if up.Hostname() == graph.Hostname() {
		t.Fatalf("upload URL %s is on the Graph host %s", up.Redacted(), graph.Host)
	}
	// The same path on Graph's host is not an upload URL.
	onGraph := *up
	onGraph.Host = graph.Host
	put := func(u string, tok string) answer {
		return f.call(t, tok, "PUT", u, make([]byte, 1000), "Content-Range", "bytes 0-999/4000000", "Content-Type", "application/octet-stream")
	}
	if a := put(onGraph.String(), ""); a.status != 404 {
		t.Errorf("upload URL on the Graph host: %d %v", a.status, a.body)
	}
	a := put(up.String(), tok)
	if a.status != 401 || a.code() != "InvalidAudienceForResource" || !strings.Contains(errMessage(a), "Audience claim is 'https://graph.microsoft.com'") || strings.Contains(errMessage(a), "authtoken") {
		t.Errorf("upload with a Graph token: %d %v", a.status, a.body)
	}
	writes := f.s.Writes()
	if a := put(up.String(), ""); a.status != 200 {
		t.Errorf("upload without a token: %d %v", a.status, a.body)
	}
	// The range is the upload host's write, not Graph's.
	if f.s.Writes() != writes || f.s.UploadWrites() != 1 {
		t.Errorf("writes %d -> %d, upload writes %d", writes, f.s.Writes(), f.s.UploadWrites())
	}
}

func TestUploadSessionRefusesMessageOverTheLimit(t *testing.T) {
	f := start(t)
	tok := f.bearer(t, appID, secret)
	m := f.call(t, tok, "POST", "/users/"+alice+"/mailFolders/inbox/messages", []byte(`{"subject":"s"}`))
	us := "/users/" + alice + "/messages/" + url.PathEscape(m.body["id"].(string)) + "/attachments/createUploadSession"
	session := func(size int64) answer {
		return f.call(t, tok, "POST", us, []byte(fmt.Sprintf(`{"AttachmentItem":{"attachmentType":"file","name":"a.bin","size":%d}}`, size)))
	}
	// Exchange Online's default limit is 35 MB.
	if a := session(40 << 20); a.status != 400 || a.code() != "ErrorMessageSizeExceeded" {
		t.Errorf("40 MB attachment under the default limit: %d %v", a.status, a.body)
	}
	if a := session(30 << 20); a.status != 201 {
		t.Errorf("30 MB attachment under the default limit: %d %v", a.status, a.body)
	}
}
