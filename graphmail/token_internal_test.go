package graphmail

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

type countingCred struct{ calls int }

func (c *countingCred) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	c.calls++
	return azcore.AccessToken{Token: "T", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

func TestTokenOnlyForTheGraphHost(t *testing.T) {
	cred := &countingCred{}
	ts := tokenSource{cred: cred, scope: "https://graph.microsoft.com/.default", host: "graph.microsoft.com"}
	tests := []struct {
		url  string
		want string
	}{
		{"https://graph.microsoft.com/v1.0/users/a/messages/1/$value", "Bearer T"},
		{"https://GRAPH.microsoft.com:443/v1.0/users", "Bearer T"},
		{"https://outlook.office.com/api/v2.0/upload?authtoken=x", ""},
		{"https://graph.microsoft.com.evil.example/v1.0/users", ""},
		{"https://evil.example/graph.microsoft.com/v1.0", ""},
	}
	for _, tc := range tests {
		req, _ := http.NewRequest(http.MethodGet, tc.url, nil)
		if err := ts.authorize(context.Background(), req); err != nil {
			t.Fatal(err)
		}
		if got := req.Header.Get("Authorization"); got != tc.want {
			t.Errorf("%s: Authorization %q, want %q", tc.url, got, tc.want)
		}
	}
	if cred.calls != 2 {
		t.Errorf("token fetched %d times, want 2", cred.calls)
	}
}

type expiringCred struct {
	calls int
	life  time.Duration
}

func (c *expiringCred) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	c.calls++
	return azcore.AccessToken{Token: fmt.Sprintf("T%d", c.calls), ExpiresOn: time.Now().Add(c.life)}, nil
}

// TestTokenCached: a token is reused until it is within tokenMargin of its
// expiry, and forgotten once Graph refuses it; a token about to expire is
// never reused.
func TestTokenCached(t *testing.T) {
	authorize := func(ts tokenSource) string {
		req, _ := http.NewRequest(http.MethodGet, "https://graph.microsoft.com/v1.0/users", nil)
		if err := ts.authorize(context.Background(), req); err != nil {
			t.Fatal(err)
		}
		return req.Header.Get("Authorization")
	}
	long := &expiringCred{life: time.Hour}
	ts := tokenSource{cred: long, scope: "s", host: "graph.microsoft.com", cache: &tokenCache{}}
	for range 5 {
		if got := authorize(ts); got != "Bearer T1" {
			t.Fatalf("Authorization %q, want the cached Bearer T1", got)
		}
	}
	ts.forget("Bearer T1")
	if got := authorize(ts); got != "Bearer T2" {
		t.Fatalf("after a refusal: Authorization %q, want a new token", got)
	}
	ts.forget("Bearer T1") // a late refusal of the old token keeps the new one
	if got := authorize(ts); got != "Bearer T2" || long.calls != 2 {
		t.Fatalf("Authorization %q after %d fetches, want Bearer T2 after 2", got, long.calls)
	}

	short := &expiringCred{life: tokenMargin - time.Second}
	ts = tokenSource{cred: short, scope: "s", host: "graph.microsoft.com", cache: &tokenCache{}}
	authorize(ts)
	authorize(ts)
	if short.calls != 2 {
		t.Errorf("a token within the renewal margin was reused: %d fetches for 2 requests", short.calls)
	}
}
