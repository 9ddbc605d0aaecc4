package wire

import (
	"encoding/base64"
	"encoding/json"
	"strings"
)

// TokenRoles reads the roles claim of an access token without verifying it:
// only to explain a missing permission before Graph refuses a request.
func TokenRoles(tok string) ([]string, bool) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, false
	}
	p, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, false
	}
	var claims struct {
		Roles []string `json:"roles"`
	}
	if json.Unmarshal(p, &claims) != nil {
		return nil, false
	}
	return claims.Roles, true
}
