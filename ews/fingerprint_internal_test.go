package ews

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"
)

// FuzzFingerprintOf: whatever a server answers as PR_SEARCH_KEY, the
// fingerprint is lowercase hex of the decoded bytes, or empty when the
// value is not base64.
func FuzzFingerprintOf(f *testing.F) {
	for _, s := range []string{"ASNFZ4mrze8BI0VniavN7w==", "", "not base64", " AQID\n BA== ", "===="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		got := fingerprintOf(v)
		if got != strings.ToLower(got) {
			t.Fatalf("fingerprintOf(%q) = %q: not lowercase", v, got)
		}
		raw, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(v), ""))
		if err != nil || len(raw) == 0 {
			if got != "" {
				t.Fatalf("fingerprintOf(%q) = %q for a value that is not base64", v, got)
			}
			return
		}
		if back, err := hex.DecodeString(got); err != nil || !bytes.Equal(back, raw) {
			t.Fatalf("fingerprintOf(%q) = %q: not the hex of %x", v, got, raw)
		}
	})
}
