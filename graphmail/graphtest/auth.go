package graphtest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

func parseCert(der []byte) (*x509.Certificate, error) { return x509.ParseCertificate(der) }

// tenantOf returns the first path segment: /{tenant}/oauth2/v2.0/token.
func tenantOf(path string) string {
	p := strings.TrimPrefix(path, "/")
	if i := strings.IndexByte(p, '/'); i >= 0 {
		return p[:i]
	}
	return p
}

// serveOpenIDConfig answers the tenant discovery document MSAL reads before
// its first token request. The issuer must share the authority's host, and
// jwks_uri is required by OpenID Connect Discovery 1.0 §3 (msal-node
// refuses a document without it).
func (s *Server) serveOpenIDConfig(w http.ResponseWriter, r *http.Request) {
	o, tenant := origin(r), tenantOf(r.URL.Path)
	writeJSON(w, http.StatusOK, map[string]any{
		"token_endpoint":                        o + "/" + tenant + "/oauth2/v2.0/token",
		"authorization_endpoint":                o + "/" + tenant + "/oauth2/v2.0/authorize",
		"device_authorization_endpoint":         o + "/" + tenant + "/oauth2/v2.0/devicecode",
		"end_session_endpoint":                  o + "/" + tenant + "/oauth2/v2.0/logout",
		"jwks_uri":                              o + "/" + tenant + "/discovery/v2.0/keys",
		"issuer":                                o + "/" + tenant + "/v2.0",
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"subject_types_supported":               []string{"pairwise"},
		"response_modes_supported":              []string{"query", "fragment", "form_post"},
		"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
		"request_uri_parameter_supported":       false,
		"tenant_region_scope":                   "EU",
		"cloud_instance_name":                   "microsoftonline.com",
		"msgraph_host":                          "graph.microsoft.com",
	})
}

// serveKeys is the jwks_uri: the public key that signs the access tokens
// the fake issues, as Entra publishes its keys (RFC 7517; kid and x5t are
// the certificate's SHA-1 thumbprint, x5c the certificate).
func (s *Server) serveKeys(w http.ResponseWriter, r *http.Request) {
	k, err := s.tokenKey()
	if err != nil {
		graphError(w, http.StatusInternalServerError, "ServerError", err.Error())
		return
	}
	pub := k.key.PublicKey
	writeJSON(w, http.StatusOK, map[string]any{"keys": []any{map[string]any{
		"kty": "RSA", "use": "sig", "alg": "RS256", "kid": k.kid, "x5t": k.kid,
		"n":      b64.EncodeToString(pub.N.Bytes()),
		"e":      b64.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
		"x5c":    []string{base64.StdEncoding.EncodeToString(k.cert)},
		"issuer": origin(r) + "/" + tenantOf(r.URL.Path) + "/v2.0",
	}}})
}

// serveInstanceDiscovery answers Entra's instance discovery for clients that
// do not disable it (MSAL sends it to the authority host only when the host
// is a known Microsoft one, so azidentity needs DisableInstanceDiscovery).
func (s *Server) serveInstanceDiscovery(w http.ResponseWriter, r *http.Request) {
	host := r.Host
	writeJSON(w, http.StatusOK, map[string]any{
		"tenant_discovery_endpoint": origin(r) + "/common/v2.0/.well-known/openid-configuration",
		"api-version":               "1.1",
		"metadata": []any{map[string]any{
			"preferred_network": host, "preferred_cache": host, "aliases": []string{host},
		}},
	})
}

// tokenError writes Entra's OAuth error: the AADSTS code also as a number
// in error_codes, and the answer's ids as trace_id and correlation_id.
func tokenError(w http.ResponseWriter, status int, code, desc string) {
	codes := []int{}
	if rest, ok := strings.CutPrefix(desc, "AADSTS"); ok {
		if n, err := strconv.Atoi(strings.SplitN(rest, ":", 2)[0]); err == nil {
			codes = append(codes, n)
		}
	}
	ts := time.Now().UTC().Format("2006-01-02 15:04:05Z")
	trace, corr := w.Header().Get("x-ms-request-id"), w.Header().Get("client-request-id")
	writeJSON(w, status, map[string]any{
		"error":             code,
		"error_description": desc + "\r\nTrace ID: " + trace + "\r\nCorrelation ID: " + corr + "\r\nTimestamp: " + ts,
		"error_codes":       codes,
		"timestamp":         ts,
		"trace_id":          trace,
		"correlation_id":    corr,
		"error_uri":         "https://login.microsoftonline.com/error?code=" + strconv.Itoa(append(codes, 0)[0]),
	})
}

// serveToken is the client-credentials grant of the v2.0 token endpoint,
// with a client secret or a certificate-signed client assertion.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		tokenError(w, http.StatusMethodNotAllowed, "invalid_request", "AADSTS900561: The endpoint only accepts POST requests.")
		return
	}
	if err := r.ParseForm(); err != nil {
		tokenError(w, http.StatusBadRequest, "invalid_request", "AADSTS900144: malformed request body.")
		return
	}
	f := r.PostForm
	if id, secret, ok := r.BasicAuth(); ok {
		// client_secret_basic: the form-encoded id and secret (RFC 6749 §2.3.1).
		uid, err1 := url.QueryUnescape(id)
		usec, err2 := url.QueryUnescape(secret)
		if err1 != nil || err2 != nil || (f.Get("client_id") != "" && f.Get("client_id") != uid) {
			tokenError(w, http.StatusUnauthorized, "invalid_client", "AADSTS7000216: 'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.")
			return
		}
		f.Set("client_id", uid)
		f.Set("client_secret", usec)
	}
	if f.Get("grant_type") != "client_credentials" {
		tokenError(w, http.StatusBadRequest, "unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type '"+f.Get("grant_type")+"'.")
		return
	}
	tenant := tenantOf(r.URL.Path)
	clientID := f.Get("client_id")
	s.mu.Lock()
	a := s.apps[clientID]
	var snapshot app
	if a != nil {
		snapshot = *a
		snapshot.certs = slices.Clone(a.certs)
		snapshot.roles = slices.Clone(a.roles)
	}
	s.mu.Unlock()
	if a == nil || !strings.EqualFold(snapshot.tenant, tenant) {
		tokenError(w, http.StatusBadRequest, "unauthorized_client", "AADSTS700016: Application with identifier '"+clientID+"' was not found in the directory '"+tenant+"'.")
		return
	}
	scope := f.Get("scope")
	var resource string
	for _, sc := range strings.Fields(scope) {
		if strings.HasSuffix(sc, "/.default") {
			resource = strings.TrimSuffix(sc, "/.default")
		}
	}
	if resource == "" {
		tokenError(w, http.StatusBadRequest, "invalid_scope", "AADSTS1002012: The provided value for scope "+scope+" is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier.")
		return
	}
	switch {
	case f.Get("client_secret") != "":
		if snapshot.secret == "" || subtle.ConstantTimeCompare([]byte(f.Get("client_secret")), []byte(snapshot.secret)) != 1 {
			tokenError(w, http.StatusUnauthorized, "invalid_client", "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '"+clientID+"'.")
			return
		}
	case f.Get("client_assertion") != "":
		if f.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
			tokenError(w, http.StatusBadRequest, "invalid_request", "AADSTS50027: client_assertion_type is not valid.")
			return
		}
		tokenURL := origin(r) + r.URL.Path
		if err := verifyAssertion(f.Get("client_assertion"), clientID, tokenURL, snapshot.certs, time.Now()); err != nil {
			tokenError(w, http.StatusUnauthorized, "invalid_client", "AADSTS700027: Client assertion failed signature validation: "+err.Error())
			return
		}
	default:
		tokenError(w, http.StatusUnauthorized, "invalid_client", "AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
		return
	}
	// Make the signing key first: the token's lifetime starts after that.
	if _, err := s.tokenKey(); err != nil {
		tokenError(w, http.StatusInternalServerError, "server_error", "AADSTS50000: "+err.Error())
		return
	}
	now := time.Now()
	exp := now.Add(s.tokenLifetime)
	tok, err := s.signToken(tokenClaims{
		Aud: resource, Iss: "https://sts.windows.net/" + tenant + "/", Tid: tenant,
		AppID: clientID, Roles: snapshot.roles, Iat: now.Unix(), Nbf: now.Unix(), Exp: exp.Unix(),
	})
	if err != nil {
		tokenError(w, http.StatusInternalServerError, "server_error", "AADSTS50000: "+err.Error())
		return
	}
	s.tokens.Add(1)
	secs := int(s.tokenLifetime / time.Second)
	writeJSON(w, http.StatusOK, map[string]any{
		"token_type": "Bearer", "expires_in": secs, "ext_expires_in": secs, "access_token": tok,
	})
}

type tokenClaims struct {
	Aud   string   `json:"aud"`
	Iss   string   `json:"iss"`
	Tid   string   `json:"tid"`
	AppID string   `json:"appid"`
	Roles []string `json:"roles,omitempty"`
	Iat   int64    `json:"iat"`
	Nbf   int64    `json:"nbf"`
	Exp   int64    `json:"exp"`
}

var b64 = base64.RawURLEncoding

// tokenSigner is the RSA key that signs access tokens, and the certificate
// Entra publishes it in.
type tokenSigner struct {
	key  *rsa.PrivateKey
	cert []byte // DER
	kid  string // base64url SHA-1 of cert, as Entra's kid and x5t
}

// tokenKey makes the signing key on first use: an RSA key costs tens of
// milliseconds, which servers that never issue a token do not pay.
func (s *Server) tokenKey() (*tokenSigner, error) {
	s.keyOnce.Do(func() {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			s.keyErr = fmt.Errorf("token signing key: %w", err)
			return
		}
		now := time.Now()
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(now.UnixNano()), Subject: pkix.Name{CommonName: "accounts.accesscontrol.windows.net"},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(365 * 24 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			s.keyErr = fmt.Errorf("token signing certificate: %w", err)
			return
		}
		sum := sha1.Sum(der)
		s.signer = &tokenSigner{key: key, cert: der, kid: b64.EncodeToString(sum[:])}
	})
	return s.signer, s.keyErr
}

// signToken issues an RS256 JWT signed by the key published at jwks_uri,
// as Entra signs access tokens.
func (s *Server) signToken(c tokenClaims) (string, error) {
	k, err := s.tokenKey()
	if err != nil {
		return "", err
	}
	h, _ := json.Marshal(map[string]string{"typ": "JWT", "alg": "RS256", "x5t": k.kid, "kid": k.kid})
	p, _ := json.Marshal(c)
	signing := b64.EncodeToString(h) + "." + b64.EncodeToString(p)
	digest := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, k.key, crypto.SHA256, digest[:])
	if err != nil {
		return "", fmt.Errorf("sign the access token: %w", err)
	}
	return signing + "." + b64.EncodeToString(sig), nil
}

var (
	errTokenSignature = errors.New("the access token signature is invalid")
	//lint:ignore ST1005 Entra's own message, verbatim, as clients match it
	errTokenExpired = errors.New("Lifetime validation failed, the token is expired.")
)

// verifyToken checks a bearer token's signature, expiry and audience.
func (s *Server) verifyToken(tok string, now time.Time) (tokenClaims, error) {
	var c tokenClaims
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return c, errors.New("IDX14100: JWT is not well formed")
	}
	var hdr struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	hb, err := b64.DecodeString(parts[0])
	if err != nil || json.Unmarshal(hb, &hdr) != nil {
		return c, errors.New("IDX14100: JWT is not well formed")
	}
	k, err := s.tokenKey()
	if err != nil {
		return c, err
	}
	sig, err := b64.DecodeString(parts[2])
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err != nil || hdr.Alg != "RS256" || hdr.Kid != k.kid || rsa.VerifyPKCS1v15(&k.key.PublicKey, crypto.SHA256, digest[:], sig) != nil {
		return c, errTokenSignature
	}
	p, err := b64.DecodeString(parts[1])
	if err != nil || json.Unmarshal(p, &c) != nil {
		return c, errors.New("IDX14100: JWT is not well formed")
	}
	if now.Unix() >= c.Exp {
		return c, errTokenExpired
	}
	if now.Unix()+300 < c.Nbf {
		//lint:ignore ST1005 Entra's own message, verbatim
		return c, errors.New("Lifetime validation failed, the token is not yet valid.")
	}
	if c.Aud != s.audience {
		//lint:ignore ST1005 Entra's own message, verbatim
		return c, fmt.Errorf("Invalid audience %q", c.Aud)
	}
	return c, nil
}

// verifyAssertion checks a client assertion JWT as Entra does: signed (PS256
// or RS256) by the private key of a certificate registered for the app and
// named by its thumbprint header, audience the token endpoint, issuer and
// subject the client id, within its lifetime.
func verifyAssertion(assertion, clientID, tokenURL string, certs [][]byte, now time.Time) error {
	parts := strings.Split(assertion, ".")
	if len(parts) != 3 {
		return errors.New("assertion is not a JWT")
	}
	hb, err := b64.DecodeString(parts[0])
	if err != nil {
		return errors.New("assertion header is not base64url")
	}
	var hdr struct {
		Alg     string `json:"alg"`
		X5t     string `json:"x5t"`
		X5tS256 string `json:"x5t#S256"`
	}
	if err := json.Unmarshal(hb, &hdr); err != nil {
		return errors.New("assertion header is not JSON")
	}
	var cert *x509.Certificate
	for _, der := range certs {
		s1 := sha1.Sum(der)
		s256 := sha256.Sum256(der)
		if (hdr.X5tS256 != "" && thumbEqual(hdr.X5tS256, s256[:])) || (hdr.X5t != "" && thumbEqual(hdr.X5t, s1[:])) {
			cert, _ = x509.ParseCertificate(der)
			break
		}
	}
	if cert == nil {
		return errors.New("no certificate registered for the application matches the assertion's thumbprint")
	}
	sig, err := b64.DecodeString(parts[2])
	if err != nil {
		return errors.New("assertion signature is not base64url")
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	switch hdr.Alg {
	case "PS256":
		pub, ok := cert.PublicKey.(*rsa.PublicKey)
		if !ok || rsa.VerifyPSS(pub, crypto.SHA256, digest[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto}) != nil {
			return errors.New("signature does not verify")
		}
	case "RS256":
		pub, ok := cert.PublicKey.(*rsa.PublicKey)
		if !ok || rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig) != nil {
			return errors.New("signature does not verify")
		}
	case "ES256":
		pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
		if !ok || len(sig) != 64 || !ecdsa.Verify(pub, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
			return errors.New("signature does not verify")
		}
	default:
		return fmt.Errorf("unsupported algorithm %q", hdr.Alg)
	}
	pb, err := b64.DecodeString(parts[1])
	if err != nil {
		return errors.New("assertion payload is not base64url")
	}
	var c struct {
		Aud any         `json:"aud"`
		Iss string      `json:"iss"`
		Sub string      `json:"sub"`
		Exp json.Number `json:"exp"`
		Nbf json.Number `json:"nbf"`
	}
	dec := json.NewDecoder(strings.NewReader(string(pb)))
	dec.UseNumber()
	if err := dec.Decode(&c); err != nil {
		return errors.New("assertion payload is not JSON")
	}
	if c.Iss != clientID || c.Sub != clientID {
		return errors.New("assertion iss and sub must be the client id")
	}
	if aud, _ := c.Aud.(string); aud != tokenURL {
		return fmt.Errorf("assertion audience %v is not the token endpoint %s", c.Aud, tokenURL)
	}
	exp, ok := numericDate(c.Exp)
	if !ok {
		return errors.New("assertion has no valid exp claim")
	}
	if !now.Before(exp) {
		return errors.New("assertion is expired")
	}
	if c.Nbf != "" {
		nbf, ok := numericDate(c.Nbf)
		if !ok {
			return errors.New("assertion has an invalid nbf claim")
		}
		if now.Add(5 * time.Minute).Before(nbf) {
			return errors.New("assertion is not yet valid")
		}
	}
	return nil
}

// numericDate reads a JWT NumericDate: seconds since the epoch, which
// "can represent non-integer values" (RFC 7519 §2); MSAL Python writes
// time.time() with its fraction.
func numericDate(n json.Number) (time.Time, bool) {
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1e11 {
		return time.Time{}, false
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), true
}

func thumbEqual(header string, sum []byte) bool {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawURLEncoding, base64.URLEncoding, base64.RawStdEncoding} {
		if b, err := enc.DecodeString(header); err == nil && hmac.Equal(b, sum) {
			return true
		}
	}
	return false
}

func hasRole(roles []string, want ...string) bool {
	for _, r := range roles {
		if slices.Contains(want, r) {
			return true
		}
	}
	return false
}
