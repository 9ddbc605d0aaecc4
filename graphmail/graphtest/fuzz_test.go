package graphtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/mailbox"
)

// FuzzODataFilter feeds the $filter parser and the other query option
// parsers of the fake: they must accept the forms clients send and refuse,
// never panic on, anything else; what they accept evaluates without panic.
func FuzzODataFilter(f *testing.F) {
	for _, s := range []string{
		"singleValueExtendedProperties/Any(ep: ep/id eq 'String {9d4b5a3e-6f0c-4c51-9a57-6b8e2f1d7c42} Name ExmigrateSourceId' and ep/value eq 'a''b')",
		"multiValueExtendedProperties/any(ep: ep/id eq 'StringArray {00020329-0000-0000-C000-000000000046} Name Tags' and ep/value/any(v: v eq 'x'))",
		"internetMessageId eq '<a@b>'",
		"displayName eq 'O''Hara'",
		"isRead eq false and receivedDateTime ge 2024-01-01T00:00:00Z and receivedDateTime lt 2024-02-01T00:00:00Z",
		"(isRead eq true or importance eq 'high') and not(hasAttachments)",
		"categories/any(c: c eq 'Red') and from/emailAddress/address eq 'a@b'",
		"startswith(subject, 'Re:') or contains(subject,'x')",
		"receivedDateTime ge 2024-01-01",
		"singleValueExtendedProperties/any(x: y/id eq 'a' and x/value eq 'b')",
		"isRead eq 'true'",
		"'unterminated",
		"id eq 'String {x} Name y' or id eq 'Integer 0x0E08'",
		"totalItemCount gt 5",
		"",
	} {
		f.Add(s)
	}
	m := &Message{ID: "m", Subject: "Re: x", From: "a@b", To: []string{"c@d"}, Categories: []string{"Red"}, IsRead: true,
		Received: time.Now(), ExtendedProperties: map[string]string{"String {x} Name y": "v"}, InternetMessageID: "<a@b>",
		MultiValueExtendedProperties: map[string][]string{"StringArray {x} Name t": {"x"}}}
	fv := &folderView{f: &folder{id: "f", name: "O'Hara", class: "IPF.Note"}}
	f.Fuzz(func(t *testing.T, s string) {
		for _, c := range []struct {
			sch *schema
			v   any
		}{{messageSchema, m}, {folderSchema, fv}, {singleValuePropSchema, extProp{ID: "String {x} Name y", Value: "v"}}, {multiValuePropSchema, mvProp{ID: "a", Value: []string{"b"}}}} {
			cf, qe := parseFilter(s, c.sch)
			if qe != nil {
				if qe.status != 400 || qe.code == "" {
					t.Fatalf("parseFilter(%q) refused with %+v", s, qe)
				}
				continue
			}
			cf.match(c.v)
		}
		if v, rest, ok := odataString(s); ok {
			if len(v) > len(s) || len(rest) >= len(s) {
				t.Fatalf("odataString(%q) = %q, %q", s, v, rest)
			}
			if !strings.Contains(strings.ReplaceAll(s, "''", "'"), v) {
				t.Fatalf("value %q not in %q", v, s)
			}
		}
		if match, qe := parseSearch(s); qe == nil {
			match(m)
		}
		_, _ = parseExpand(s)
		_, _ = parseOrderby(s)
		_, _ = splitSelect(s)
		if tok, ok := decodeToken(s); ok {
			_ = encodeToken(tok)
		}
	})
}

// FuzzVerifyAssertion makes sure no client assertion crashes the token
// endpoint and none without a valid signature passes.
func FuzzVerifyAssertion(f *testing.F) {
	f.Add("eyJhbGciOiJQUzI1NiJ9.e30.c2ln")
	f.Add("a.b.c")
	f.Add("...")
	f.Fuzz(func(t *testing.T, jwt string) {
		if err := verifyAssertion(jwt, "app", "https://x/t/oauth2/v2.0/token", nil, time.Now()); err == nil {
			t.Fatal("an assertion passed with no certificate registered")
		}
	})
}

// FuzzRestore feeds arbitrary documents to the snapshot decoder and the
// store builder: they refuse with ErrSnapshot or build a store, never panic.
func FuzzRestore(f *testing.F) {
	s := NewServer()
	s.AddApp("t", "c", "s", "Mail.Read")
	fx := s.AddMailbox("a@contoso.example", mailbox.TypeUser)
	fx.Folder("Inbox/Sub")
	id := fx.AddMessage("Inbox", Message{Subject: "x", Attachments: []Attachment{{Name: "a", Size: 2, Data: []byte("ab")}}})
	fx.AddMessage("Inbox/Sub", Message{Subject: "y"})
	fx.DeleteMessage(id)
	fx.AddRule(Rule{"displayName": "r"})
	doc, err := s.snapDocLocked(snapConfig{externalMin: 1})
	if err != nil {
		f.Fatal(err)
	}
	good, _ := json.Marshal(doc)
	f.Add(good)
	f.Add([]byte(`{"format":"exmigrate/graphtest-snapshot","version":1,"mailboxes":[{"Address":"a","RootID":"r","Folders":[{"ID":"r"}],"Messages":[{"ID":"m","FolderID":"r","External":[5]}]}]}`))
	f.Add([]byte(`{"format":"exmigrate/graphtest-snapshot","version":1,"mailboxes":[{"Address":"a","RootID":"r","Folders":[{"ID":"r"}],"Messages":[{"ID":"m","FolderID":"r","BaseMIMESHA256":"` + strings.Repeat("ab", 33) + `"}]}]}`))
	f.Add([]byte(`{"version":2}`))
	f.Add([]byte(`[`))
	resolve := func(sum [32]byte, size int64) ([]byte, error) { return []byte("ab"), nil }
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := decodeSnapshot(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, ErrSnapshot) {
				t.Fatalf("decode error %v does not wrap ErrSnapshot", err)
			}
			return
		}
		if _, err := buildStore(d, snapConfig{resolve: resolve}); err != nil && !errors.Is(err, ErrSnapshot) {
			t.Fatalf("build error %v does not wrap ErrSnapshot", err)
		}
	})
}
