package audit

import (
	"strings"
	"testing"
	"unicode"
)

// scrubEverywhere is scrub without its pre-checks: every pattern on every
// string.
func scrubEverywhere(s string) string {
	s = urlQuery.ReplaceAllString(s, "${1}?"+redacted)
	s = urlUser.ReplaceAllString(s, "${1}"+redacted+"@")
	s = authScheme.ReplaceAllString(s, "${1} "+redacted)
	return secretPair.ReplaceAllString(s, "${1}${2}"+redacted)
}

// FuzzScrubPrechecks: the checks that skip a pattern never let through
// what running every pattern would have redacted.
func FuzzScrubPrechecks(f *testing.F) {
	for _, s := range []string{
		"Inbox: Re: budget", "Your token: s3cr3tV4lue", "x-api-key: abc", "https://u:p@host/x?sig=1",
		"Bearer eyJ0eXAiOiJKV1Qi", "PASSWORD=hunter2", "paſſword=x", "NTLM TlRMTVNTUAAB", "sig=abc&se=2026",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := scrub(s), scrubEverywhere(s); got != want {
			t.Fatalf("scrub(%q) = %q, every pattern gives %q", s, got, want)
		}
	})
}

// TestFoldsIntoASCII: the runes outside ASCII that case-insensitive
// patterns match to an ASCII letter are exactly foldsIntoASCII, so that
// scrub's literal checks see every string a pattern could match.
func TestFoldsIntoASCII(t *testing.T) {
	var got []rune
	for r := rune(0x80); r <= unicode.MaxRune; r++ {
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if f < 0x80 && unicode.IsLetter(f) {
				got = append(got, r)
				break
			}
		}
	}
	if string(got) != foldsIntoASCII {
		t.Errorf("runes folding into ASCII letters: %q, foldsIntoASCII %q", string(got), foldsIntoASCII)
	}
	// And a word hidden that way is still scrubbed.
	if out := scrub("to\u212aen=hunter2 pa\u017f\u017fword=hunter2"); strings.Contains(out, "hunter2") {
		t.Errorf("scrub kept a secret behind a folded letter: %q", out)
	}
	if out := scrub("Übersicht password=hunter2"); strings.Contains(out, "hunter2") {
		t.Errorf("scrub kept a secret in a non-ASCII line: %q", out)
	}
}
