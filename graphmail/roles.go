package graphmail

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"time"

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

// appRoles is what the token says the app may do, as far as the adapter's
// declarations depend on it.
type appRoles struct {
	listed bool // false: a delegated or opaque token, nothing known
	roles  []string
}

func (r *appRoles) has(names ...string) bool {
	return !r.listed || slices.ContainsFunc(names, func(x string) bool { return slices.Contains(r.roles, x) })
}

// appRoles reads the token's roles once (azidentity caches the token, so
// this is a request only the first time). A failure is not kept: the next
// call tries again, and meanwhile nothing is taken as missing.
func (c *Client) appRoles() *appRoles {
	c.rolesMu.Lock()
	defer c.rolesMu.Unlock()
	if c.roles != nil {
		return c.roles
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	roles, listed, err := c.Roles(ctx)
	if err != nil {
		c.log.Debug("graph: application roles not read; declaring every path", "err", err)
		return &appRoles{}
	}
	c.roles = &appRoles{listed: listed, roles: roles}
	return c.roles
}
