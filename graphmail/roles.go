package graphmail

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// Roles gets a token and returns the application roles its roles claim
// grants the app (what exmigrate check reports role by role). listed is
// false when the token does not say: it is not a JWT we can read, or it is
// a delegated token (an scp claim: the signed-in user's scopes, not roles).
// A token error is an *AuthError matching mailbox.ErrAuthentication.
func (c *Client) Roles(ctx context.Context) (roles []string, listed bool, err error) {
	tok, err := c.tokens.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{c.tokens.scope}})
	if err != nil {
		return nil, false, authError(err)
	}
	parts := strings.Split(tok.Token, ".")
	if len(parts) != 3 {
		return nil, false, nil
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, false, nil
	}
	var claims struct {
		Roles []string `json:"roles"`
		Scp   string   `json:"scp"`
	}
	if json.Unmarshal(payload, &claims) != nil || claims.Scp != "" {
		return nil, false, nil
	}
	return claims.Roles, true, nil
}
