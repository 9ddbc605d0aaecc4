package graphtest

import (
	"strings"
	"testing"
	"time"
)

// FuzzODataFilter feeds the $filter parsers of the fake: they must accept
// the forms the client sends and refuse, never panic on, anything else.
func FuzzODataFilter(f *testing.F) {
	for _, s := range []string{
		"singleValueExtendedProperties/Any(ep: ep/id eq 'String {9d4b5a3e-6f0c-4c51-9a57-6b8e2f1d7c42} Name ExmigrateSourceId' and ep/value eq 'a''b')",
		"internetMessageId eq '<a@b>'",
		"displayName eq 'O''Hara'",
		"singleValueExtendedProperties/any(x: y/id eq 'a' and x/value eq 'b')",
		"'unterminated",
		"id eq 'String {x} Name y' or id eq 'Integer 0x0E08'",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		match, ok := messageFilter(s)
		if ok {
			match(&Message{ExtendedProperties: map[string]string{"String {x} Name y": "v"}, InternetMessageID: "<a@b>"})
		}
		if v, rest, ok := odataString(s); ok {
			if len(v) > len(s) || len(rest) >= len(s) {
				t.Fatalf("odataString(%q) = %q, %q", s, v, rest)
			}
			if !strings.Contains(strings.ReplaceAll(s, "''", "'"), v) {
				t.Fatalf("value %q not in %q", v, s)
			}
		}
		if ids, ok := expandIDs(s); ok && len(ids) == 0 {
			t.Fatalf("expandIDs(%q) ok with no ids", s)
		}
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
