package graphmail

import (
	"context"
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
