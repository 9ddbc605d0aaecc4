package graphmail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	kabs "github.com/microsoft/kiota-abstractions-go/authentication"

	"github.com/exmigrate/exmigrate/internal/netcheck"
)

// Auth methods accepted in Config.Auth.
const (
	AuthCertificate      = "certificate"
	AuthClientSecret     = "client-secret"
	AuthDeviceCode       = "device-code"
	AuthEnvironment      = "environment"
	AuthManagedIdentity  = "managed-identity"
	AuthWorkloadIdentity = "workload-identity"
)

// Clouds accepted in Config.Cloud.
const (
	CloudGlobal   = "global"
	CloudUSGov    = "usgov"    // GCC High
	CloudUSGovDoD = "usgovdod" // DoD
	CloudChina    = "china"    // 21Vianet
)

// Limits are Graph's per app-and-mailbox limits the client keeps to.
type Limits struct {
	MaxInFlight          int           // requests in flight per mailbox (4)
	RequestsPerWindow    int           // request budget per mailbox (10,000)
	RequestWindow        time.Duration // (10 minutes)
	UploadBytesPerWindow int64         // upload budget per mailbox (150 MB)
	UploadWindow         time.Duration // (5 minutes)
	MaxItemBytes         int64         // largest item written (150 MB, or the tenant's limit)
	// MaxRetries bounds the retries of one request after 429, 503, 504 or
	// a dropped connection (6).
	MaxRetries int
	// MaxBackoff caps one wait without Retry-After (2 minutes). A longer
	// Retry-After is not cut short: the request fails as throttled,
	// naming the wait, so no request goes out before it has passed.
	MaxBackoff time.Duration
	// RequestBurst and UploadBurst are how much of each budget may go at
	// once: the scheduler spends a budget at an even rate, refilling a
	// bucket of this size at (limit - burst) / window, so that no window
	// ever holds more than the limit and a long copy is not a burst and
	// then an idle wait. Zero: 1% of the limit (at least MaxInFlight
	// requests). A larger burst lets a small mailbox finish sooner, at the
	// cost of a slower rate afterwards; at most half the limit.
	RequestBurst int
	UploadBurst  int64
	// StartAllowance is the fraction of each budget a mailbox may spend at
	// once when the client first sends for it (0.5; at most 0.5): the rest
	// of that first window is paced at (1 - StartAllowance) of the limit
	// per window, and after it the burst applies. A mailbox that needs
	// less than the allowance is not slowed down at all.
	StartAllowance float64
}

// DefaultLimits are Graph's documented Outlook limits.
func DefaultLimits() Limits {
	return Limits{
		MaxInFlight:          4,
		RequestsPerWindow:    10000,
		RequestWindow:        10 * time.Minute,
		UploadBytesPerWindow: 150 << 20,
		UploadWindow:         5 * time.Minute,
		MaxItemBytes:         150 << 20,
		MaxRetries:           6,
		MaxBackoff:           2 * time.Minute,
		StartAllowance:       0.5,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxInFlight <= 0 {
		l.MaxInFlight = d.MaxInFlight
	}
	if l.RequestsPerWindow <= 0 {
		l.RequestsPerWindow = d.RequestsPerWindow
	}
	if l.RequestWindow <= 0 {
		l.RequestWindow = d.RequestWindow
	}
	if l.UploadBytesPerWindow <= 0 {
		l.UploadBytesPerWindow = d.UploadBytesPerWindow
	}
	if l.UploadWindow <= 0 {
		l.UploadWindow = d.UploadWindow
	}
	if l.MaxItemBytes <= 0 {
		l.MaxItemBytes = d.MaxItemBytes
	}
	if l.MaxRetries <= 0 {
		l.MaxRetries = d.MaxRetries
	}
	if l.MaxBackoff <= 0 {
		l.MaxBackoff = d.MaxBackoff
	}
	if l.StartAllowance <= 0 {
		l.StartAllowance = d.StartAllowance
	}
	return l
}

// Config says how to reach Exchange Online.
type Config struct {
	TenantID string
	ClientID string
	// Auth is one of certificate, client-secret, device-code, environment,
	// managed-identity, workload-identity.
	Auth                string
	CertificatePath     string // PEM or PKCS#12 with the private key
	CertificatePassword string // of a PKCS#12 file; never logged
	ClientSecret        string // the value; the caller reads it from an env var; never logged
	// Cloud is global (default), usgov, usgovdod or china.
	Cloud string
	// BaseURL overrides the Graph root including /v1.0 (the lab).
	BaseURL string
	// AuthorityHost overrides the Entra authority host (the lab).
	AuthorityHost string
	// HTTPClient is used for Graph and for Entra (e.g. trusting the lab CA).
	HTTPClient *http.Client
	Logger     *slog.Logger
	Limits     Limits
	// FullFidelity turns on Graph's mailbox import/export API
	// (/admin/exchange/mailboxes/{id}/exportItems, createImportSession):
	// the mailbox then reads and writes full-fidelity item streams of
	// mail, calendar items, contacts, tasks and notes in its primary
	// store. The API is new (v1.0 since 2026) and reaches the global
	// cloud only; it needs the MailboxItem.ImportExport.All,
	// MailboxFolder.Read.All and MailboxItem.Read.All application
	// permissions (and User.Read.All to find the mailbox id). Off by
	// default.
	FullFidelity bool
	// AcceptEWSStreams says the tenant's import takes EWS ExportItems
	// data, as a probe found: whether it does is not documented by
	// Microsoft. With FullFidelity, the mailbox then also declares a
	// full-fidelity write of the EWS dialect. Off by default.
	AcceptEWSStreams bool
	// ArchivePreview reaches the online archive through Graph's BETA
	// mailbox import/export API (a PREVIEW: beta endpoints, subject to
	// change, not supported by Microsoft in production, global cloud
	// only; learn.microsoft.com/graph/work-with-archive-mailboxes). It
	// needs FullFidelity: the archive is read and written as
	// full-fidelity streams only. Off by default.
	ArchivePreview bool
	// ReadRecoverableItems reads Recoverable Items\Deletions (the
	// well-known folder recoverableitemsdeletions, Graph v1.0's mail API)
	// as the mailbox's ScopeRecoverable: Folders, Changes and OpenItem
	// (MIME). Versions and Purges have no Graph name and nothing is
	// written there. Off by default: an assessment then reports
	// Recoverable Items as not seen through Graph, as before.
	ReadRecoverableItems bool
}

// String describes the config without its secrets, so a Config printed with
// fmt never shows them.
func (c Config) String() string {
	return fmt.Sprintf("graph config tenant=%s client=%s auth=%s cloud=%s base=%s certificate=%s secret=%s",
		c.TenantID, c.ClientID, c.Auth, c.Cloud, c.BaseURL, c.CertificatePath, redacted(c.ClientSecret != "" || c.CertificatePassword != ""))
}

// GoString is String for %#v.
func (c Config) GoString() string { return c.String() }

func redacted(set bool) string {
	if set {
		return "[REDACTED]"
	}
	return "[unset]"
}

// LogValue keeps secrets out of logs.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("tenant", c.TenantID), slog.String("client", c.ClientID),
		slog.String("auth", c.Auth), slog.String("cloud", c.Cloud), slog.String("base_url", c.BaseURL),
	)
}

// cloudEndpoints is one national cloud: where tokens come from, where Graph
// is, and the scope a token must carry.
type cloudEndpoints struct {
	azure     cloud.Configuration
	graphRoot string // without /v1.0
}

func endpointsFor(name string) (cloudEndpoints, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "", CloudGlobal:
		return cloudEndpoints{cloud.AzurePublic, "https://graph.microsoft.com"}, nil
	case CloudUSGov:
		return cloudEndpoints{cloud.AzureGovernment, "https://graph.microsoft.us"}, nil
	case CloudUSGovDoD:
		return cloudEndpoints{cloud.AzureGovernment, "https://dod-graph.microsoft.us"}, nil
	case CloudChina:
		return cloudEndpoints{cloud.AzureChina, "https://microsoftgraph.chinacloudapi.cn"}, nil
	}
	return cloudEndpoints{}, fmt.Errorf("graph cloud %q is unknown: use global, usgov, usgovdod or china", name)
}

// resolved is a validated Config.
type resolved struct {
	baseURL   *url.URL // Graph root including /v1.0
	scope     string
	azure     cloud.Configuration
	customAAD bool
}

func (c Config) resolve() (resolved, error) {
	ep, err := endpointsFor(c.Cloud)
	if err != nil {
		return resolved{}, err
	}
	r := resolved{scope: ep.graphRoot + "/.default", azure: ep.azure}
	if c.FullFidelity && ep.graphRoot != "https://graph.microsoft.com" {
		return resolved{}, fmt.Errorf("graph: FullFidelity (the mailbox import/export API) is served in the global cloud only, not in %s", c.Cloud)
	}
	if c.AcceptEWSStreams && !c.FullFidelity {
		return resolved{}, errors.New("graph: AcceptEWSStreams needs FullFidelity")
	}
	if c.ArchivePreview && !c.FullFidelity {
		return resolved{}, errors.New("graph: ArchivePreview (the beta import/export API) needs FullFidelity: set full_fidelity on the graph endpoint too")
	}
	base := ep.graphRoot + "/v1.0"
	if c.BaseURL != "" {
		base = strings.TrimRight(c.BaseURL, "/")
	}
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return resolved{}, fmt.Errorf("graph base URL %q is not a URL: set BaseURL to e.g. https://graph.microsoft.com/v1.0", c.BaseURL)
	}
	if u.Scheme != "https" && !netcheck.IsLoopback(u.Hostname()) {
		return resolved{}, fmt.Errorf("graph base URL %q must use https", base)
	}
	if c.ArchivePreview && !strings.HasSuffix(strings.TrimRight(u.Path, "/"), "/v1.0") {
		return resolved{}, fmt.Errorf("graph base URL %q: ArchivePreview reaches /beta beside /v1.0, so the base URL must end in /v1.0", base)
	}
	r.baseURL = u
	if c.AuthorityHost != "" {
		a, err := url.Parse(c.AuthorityHost)
		if err != nil || a.Scheme != "https" || a.Host == "" {
			return resolved{}, fmt.Errorf("authority host %q must be an https URL", c.AuthorityHost)
		}
		r.azure = cloud.Configuration{ActiveDirectoryAuthorityHost: strings.TrimRight(c.AuthorityHost, "/") + "/", Services: map[cloud.ServiceName]cloud.ServiceConfiguration{}}
		r.customAAD = true
	}
	return r, nil
}

// credential builds the azidentity credential for cfg.Auth. Error messages
// name the Config fields to fix and never contain a secret.
func (c Config) credential(r resolved) (azcore.TokenCredential, error) {
	opts := azcore.ClientOptions{Cloud: r.azure}
	if c.HTTPClient != nil {
		opts.Transport = c.HTTPClient
	}
	// MSAL asks login.microsoftonline.com to validate an unknown authority
	// host; a custom one (the lab) must skip that.
	disable := r.customAAD
	need := func(fields ...string) error {
		var missing []string
		for _, f := range fields {
			switch f {
			case "TenantID":
				if c.TenantID == "" {
					missing = append(missing, f)
				}
			case "ClientID":
				if c.ClientID == "" {
					missing = append(missing, f)
				}
			case "CertificatePath":
				if c.CertificatePath == "" {
					missing = append(missing, f)
				}
			case "ClientSecret":
				if c.ClientSecret == "" {
					missing = append(missing, f)
				}
			}
		}
		if len(missing) > 0 {
			return fmt.Errorf("graph auth %q needs %s", c.Auth, strings.Join(missing, ", "))
		}
		return nil
	}
	switch strings.ToLower(c.Auth) {
	case AuthCertificate, "":
		if err := need("TenantID", "ClientID", "CertificatePath"); err != nil {
			return nil, err
		}
		data, err := os.ReadFile(c.CertificatePath)
		if err != nil {
			return nil, fmt.Errorf("graph certificate: read CertificatePath: %w", err)
		}
		var pw []byte
		if c.CertificatePassword != "" {
			pw = []byte(c.CertificatePassword)
		}
		certs, key, err := azidentity.ParseCertificates(data, pw)
		if err != nil {
			return nil, fmt.Errorf("graph certificate %s: cannot parse it (PEM with the private key, or PKCS#12; check CertificatePassword): %w", c.CertificatePath, errors.Unwrap(err))
		}
		return azidentity.NewClientCertificateCredential(c.TenantID, c.ClientID, certs, key,
			&azidentity.ClientCertificateCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: disable})
	case AuthClientSecret:
		if err := need("TenantID", "ClientID", "ClientSecret"); err != nil {
			return nil, err
		}
		return azidentity.NewClientSecretCredential(c.TenantID, c.ClientID, c.ClientSecret,
			&azidentity.ClientSecretCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: disable})
	case AuthDeviceCode:
		return azidentity.NewDeviceCodeCredential(&azidentity.DeviceCodeCredentialOptions{
			ClientOptions: opts, TenantID: c.TenantID, ClientID: c.ClientID, DisableInstanceDiscovery: disable,
		})
	case AuthEnvironment:
		return azidentity.NewEnvironmentCredential(&azidentity.EnvironmentCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: disable})
	case AuthManagedIdentity:
		o := &azidentity.ManagedIdentityCredentialOptions{ClientOptions: opts}
		if c.ClientID != "" {
			o.ID = azidentity.ClientID(c.ClientID)
		}
		return azidentity.NewManagedIdentityCredential(o)
	case AuthWorkloadIdentity:
		return azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{
			ClientOptions: opts, TenantID: c.TenantID, ClientID: c.ClientID, DisableInstanceDiscovery: disable,
		})
	}
	return nil, fmt.Errorf("graph auth %q is unknown: use certificate, client-secret, device-code, environment, managed-identity or workload-identity", c.Auth)
}

// tokenSource wraps a credential for the raw requests graphmail sends beside
// the SDK (MIME streams): it only ever hands a token out for the Graph host.
type tokenSource struct {
	cred  azcore.TokenCredential
	scope string
	host  string
	cache *tokenCache // nil: ask cred each time
}

// tokenCache keeps the last token until shortly before it expires.
// azidentity caches too, but each GetToken walks MSAL's cache (a lookup
// keyed by account, scopes and authority, with locks and copies), which
// cost 3% of a copy's CPU at one call per request.
type tokenCache struct {
	mu  sync.Mutex
	tok azcore.AccessToken
}

// tokenMargin is how long before its expiry a cached token is renewed:
// azidentity renews within five minutes of expiry, so the token it hands
// out then is a new one.
const tokenMargin = 5 * time.Minute

func (t tokenSource) token(ctx context.Context) (string, error) {
	if t.cache != nil {
		t.cache.mu.Lock()
		tok := t.cache.tok
		t.cache.mu.Unlock()
		if tok.Token != "" && time.Until(tok.ExpiresOn) > tokenMargin {
			return tok.Token, nil
		}
	}
	tok, err := t.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{t.scope}})
	if err != nil {
		return "", err
	}
	if t.cache != nil {
		t.cache.mu.Lock()
		t.cache.tok = tok
		t.cache.mu.Unlock()
	}
	return tok.Token, nil
}

// forget drops the cached token after Graph refused it (a 401), so that
// the next request asks the credential again.
func (t tokenSource) forget(refused string) {
	if t.cache == nil {
		return
	}
	t.cache.mu.Lock()
	if "Bearer "+t.cache.tok.Token == refused {
		t.cache.tok = azcore.AccessToken{}
	}
	t.cache.mu.Unlock()
}

// GetAuthorizationToken hands the SDK a token for the Graph host only
// (kiota's AccessTokenProvider).
func (t tokenSource) GetAuthorizationToken(ctx context.Context, u *url.URL, _ map[string]any) (string, error) {
	if u == nil || !strings.EqualFold(u.Hostname(), t.host) {
		return "", nil // never send the token anywhere else
	}
	tok, err := t.token(ctx)
	if err != nil {
		return "", authError(err)
	}
	return tok, nil
}

// GetAllowedHostsValidator is the Graph host (kiota's AccessTokenProvider).
func (t tokenSource) GetAllowedHostsValidator() *kabs.AllowedHostsValidator {
	v, err := kabs.NewAllowedHostsValidatorErrorCheck([]string{t.host})
	if err != nil {
		// The host comes from the base URL NewClient parsed: it has no
		// scheme or path for the validator to refuse.
		return &kabs.AllowedHostsValidator{}
	}
	return v
}

func (t tokenSource) authorize(ctx context.Context, req *http.Request) error {
	if !strings.EqualFold(req.URL.Hostname(), t.host) {
		return nil // never send the token anywhere else
	}
	tok, err := t.token(ctx)
	if err != nil {
		return authError(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	return nil
}
