package audit

import "testing"

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
