package graphmail

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	kabs "github.com/microsoft/kiota-abstractions-go/authentication"
	absser "github.com/microsoft/kiota-abstractions-go/serialization"
	khttp "github.com/microsoft/kiota-http-go"
	jsonser "github.com/microsoft/kiota-serialization-json-go"
	textser "github.com/microsoft/kiota-serialization-text-go"
	core "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/exmigrate/exmigrate/graphmail/internal/wire"
	"github.com/exmigrate/exmigrate/mailbox"
)

// Client is a connection to Exchange Online through Graph for one app
// registration. It is safe for concurrent use; each mailbox gets its own
// scheduler budget.
type Client struct {
	cfg     Config
	log     *slog.Logger
	base    *url.URL
	tokens  tokenSource
	sched   *scheduler
	adapter *core.GraphRequestAdapterBase
	users   *users.UsersRequestBuilder
	raw     *http.Client // our own requests (MIME streams, JSON creates), through the scheduler
	upload  *http.Client // pre-authenticated upload URLs: scheduler, never a token

	rolesMu sync.Mutex
	roles   *appRoles // the token's application roles, once read

	// acceptEWS is set by AcceptDialect after a fidelity probe
	// (Config.AcceptEWSStreams is the same, from the configuration).
	acceptEWS atomic.Bool
}

// acceptsEWS reports whether imports take EWS ExportItems streams.
func (c *Client) acceptsEWS() bool { return c.cfg.AcceptEWSStreams || c.acceptEWS.Load() }

// NewClient validates cfg, builds the credential and the SDK adapter. It
// does not contact Entra or Graph; Check does.
func NewClient(ctx context.Context, cfg Config) (*Client, error) {
	r, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	cred, err := cfg.credential(r)
	if err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	limits := cfg.Limits.withDefaults()
	var base http.RoundTripper = newTransport()
	if cfg.HTTPClient != nil && cfg.HTTPClient.Transport != nil {
		base = cfg.HTTPClient.Transport
	}
	sched := newScheduler(limits, log, base, r.baseURL.Hostname())

	// The SDK's retry handler would retry 429s itself (truncating fractional
	// Retry-After to 0 s) on top of the scheduler: switch it off.
	mws, err := khttp.GetDefaultMiddlewaresWithOptions(
		&khttp.RetryHandlerOptions{ShouldRetry: func(time.Duration, int, *http.Request, *http.Response) bool { return false }},
		khttp.NewCompressionOptionsReference(false),
	)
	if err != nil {
		return nil, fmt.Errorf("graph middleware: %w", err)
	}
	opts := core.GraphClientOptions{GraphServiceLibraryVersion: "1.89.0"}
	mws = append([]khttp.Middleware{core.NewGraphTelemetryHandler(&opts)}, mws...)
	// No client timeout: the default 100 s would cover a whole 40 MB upload
	// and every Retry-After; contexts bound calls instead.
	sdkHTTP := &http.Client{Transport: khttp.NewCustomTransportWithParentTransport(sched, mws...)}

	host := r.baseURL.Hostname()
	tokens := tokenSource{cred: cred, scope: r.scope, host: host, cache: &tokenCache{}}
	// The SDK's requests take their tokens where graphmail's own do: one
	// cache, one reading of a token endpoint's failure (an unreachable
	// one is the service's unavailability), and a token Graph refused
	// (401, seen by the scheduler) is forgotten for both.
	auth := kabs.NewBaseBearerTokenAuthenticationProvider(tokens)
	sched.unauthorized = tokens.forget
	pn := absser.NewParseNodeFactoryRegistry()
	pn.ContentTypeAssociatedFactories["application/json"] = jsonser.NewJsonParseNodeFactory()
	pn.ContentTypeAssociatedFactories["text/plain"] = textser.NewTextParseNodeFactory()
	sw := absser.NewSerializationWriterFactoryRegistry()
	sw.ContentTypeAssociatedFactories["application/json"] = jsonser.NewJsonSerializationWriterFactory()
	sw.ContentTypeAssociatedFactories["text/plain"] = textser.NewTextSerializationWriterFactory()
	adapter, err := core.NewGraphRequestAdapterBaseWithParseNodeFactoryAndSerializationWriterFactoryAndHttpClient(auth, opts, strictParseNodes{pn}, sw, sdkHTTP)
	if err != nil {
		return nil, fmt.Errorf("graph adapter: %w", err)
	}
	adapter.SetBaseUrl(r.baseURL.String())
	c := &Client{
		cfg:     cfg,
		log:     log,
		base:    r.baseURL,
		tokens:  tokens,
		sched:   sched,
		adapter: adapter,
		users:   users.NewUsersRequestBuilderInternal(map[string]string{}, adapter),
		raw:     &http.Client{Transport: sched, CheckRedirect: sameOrigin},
		upload:  &http.Client{Transport: sched},
	}
	return c, nil
}

// sameOrigin follows a redirect (an archive's 308 to an auxiliary
// archive) only to the scheme and host of the first request, at most
// maxArchiveHops times: net/http would take a token to the same host
// over http too.
func sameOrigin(req *http.Request, via []*http.Request) error {
	first := via[0].URL
	if len(via) > maxArchiveHops || !strings.EqualFold(req.URL.Scheme, first.Scheme) || !strings.EqualFold(req.URL.Host, first.Host) {
		return mailbox.Permanent(fmt.Errorf("graph: refusing a redirect from %s to %s://%s (another scheme or host, or too many hops)", first.Redacted(), req.URL.Scheme, req.URL.Host))
	}
	return nil
}

// Stats returns the scheduler counters of one mailbox.
func (c *Client) Stats(address string) Stats { return c.sched.stats(address) }

// Limits returns the limits the client keeps to.
func (c *Client) Limits() Limits { return c.sched.limits }

// PermissionError says which application permissions the token lacks.
type PermissionError struct {
	ClientID string
	Have     []string
	Missing  []string
}

func (e *PermissionError) Error() string {
	return fmt.Sprintf("graph app %s lacks the application permission(s) %s (has %s): grant them in Entra ID > App registrations > API permissions and give admin consent",
		e.ClientID, strings.Join(e.Missing, ", "), strings.Join(e.Have, ", "))
}

// Is matches mailbox.ErrAccessDenied.
func (e *PermissionError) Is(target error) bool { return target == mailbox.ErrAccessDenied }

// RequiredRoles are the application permissions a copy needs.
func RequiredRoles() []string { return []string{"Mail.ReadWrite", "MailboxSettings.Read"} }

// Check gets a token and checks that it carries the application roles a
// copy needs. Bad credentials give an error matching
// mailbox.ErrAuthentication; missing roles a *PermissionError matching
// mailbox.ErrAccessDenied.
func (c *Client) Check(ctx context.Context) error {
	tok, err := c.tokens.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{c.tokens.scope}})
	if err != nil {
		return authError(err)
	}
	roles, ok := wire.TokenRoles(tok.Token)
	if !ok {
		// Not a JWT we can read (delegated tokens may be opaque): nothing
		// more to check without a mailbox.
		return nil
	}
	var missing []string
	for _, want := range RequiredRoles() {
		have := slices.Contains(roles, want)
		if want == "MailboxSettings.Read" {
			have = have || slices.Contains(roles, "MailboxSettings.ReadWrite")
		}
		if !have {
			missing = append(missing, want)
		}
	}
	if len(missing) > 0 {
		return &PermissionError{ClientID: c.cfg.ClientID, Have: roles, Missing: missing}
	}
	return nil
}

// Outcome is what a probe found.
type Outcome int

// Probe outcomes.
const (
	// InCloud: the user has an Exchange Online mailbox.
	InCloud Outcome = iota + 1
	// NotInCloud: the user exists but the mailbox is not in Exchange
	// Online (on-premises in a hybrid, or no mailbox yet).
	NotInCloud
	// NoSuchUser: the directory has no such user.
	NoSuchUser
)

func (o Outcome) String() string {
	switch o {
	case InCloud:
		return "in-cloud"
	case NotInCloud:
		return "not-in-cloud"
	case NoSuchUser:
		return "no-such-user"
	}
	return "unknown"
}

// ProbeResult classifies one address.
type ProbeResult struct {
	Outcome Outcome
	Type    mailbox.MailboxType // for InCloud: user, shared, room, equipment; unknown when mailboxSettings is not readable
}

// Probe classifies an address for Location=auto: an Exchange Online
// mailbox (and which kind), a mailbox that is not in Exchange Online, or no
// such user.
func (c *Client) Probe(ctx context.Context, address string) (ProbeResult, error) {
	ctx = withMailbox(ctx, address)
	u := c.users.ByUserId(address)
	_, err := u.MailFolders().ByMailFolderId(string(mailbox.Inbox)).Get(ctx, &users.ItemMailFoldersMailFolderItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.ItemMailFoldersMailFolderItemRequestBuilderGetQueryParameters{Select: []string{"id"}},
	})
	if err != nil {
		err = wrapErr("probe "+address, err)
		var ge *Error
		switch {
		case errors.Is(err, mailbox.ErrMailboxNotFound):
			return ProbeResult{Outcome: NoSuchUser}, nil
		case errors.Is(err, mailbox.ErrNotOnThisSide):
			return ProbeResult{Outcome: NotInCloud}, nil
		case errors.As(err, &ge) && ge.Status == http.StatusNotFound:
			// A plain 404 on the inbox: an on-premises mailbox in hybrid.
			return ProbeResult{Outcome: NotInCloud}, nil
		}
		return ProbeResult{}, err
	}
	res := ProbeResult{Outcome: InCloud, Type: mailbox.TypeUnknown}
	ms, err := u.MailboxSettings().Get(ctx, &users.ItemMailboxSettingsRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.ItemMailboxSettingsRequestBuilderGetQueryParameters{Select: []string{"userPurpose"}},
	})
	if err != nil {
		err = wrapErr("read mailboxSettings of "+address, err)
		if errors.Is(err, mailbox.ErrAccessDenied) {
			c.log.Warn("cannot read mailboxSettings to tell shared and room mailboxes apart: grant MailboxSettings.Read", "mailbox", address)
			return res, nil
		}
		return ProbeResult{}, err
	}
	if p := ms.GetUserPurpose(); p != nil {
		switch strings.ToLower(p.String()) {
		case "user", "linked":
			res.Type = mailbox.TypeUser
		case "shared":
			res.Type = mailbox.TypeShared
		case "room":
			res.Type = mailbox.TypeRoom
		case "equipment":
			res.Type = mailbox.TypeEquipment
		}
	}
	return res, nil
}

// graphURL is the absolute URL of a Graph path below the base URL.
func (c *Client) graphURL(path string, q url.Values) string {
	u := *c.base
	u.Path = strings.TrimRight(u.Path, "/") + path
	u.RawPath = ""
	if q != nil {
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// userPath is /users/{address} with the address escaped.
func userPath(address string) string { return "/users/" + url.PathEscape(address) }

// do sends one of graphmail's own Graph requests (with a token, through the
// scheduler) and turns an error answer into an *Error. The caller closes
// the body of a 2xx response.
func (c *Client) do(ctx context.Context, op, method, rawURL string, body io.Reader, size int64, header http.Header) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, rawURL, body)
	if err != nil {
		return nil, fmt.Errorf("graph: %s: %w", op, err)
	}
	if size >= 0 && body != nil {
		req.ContentLength = size
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if err := c.tokens.authorize(ctx, req); err != nil {
		return nil, wrapErr(op, err)
	}
	resp, err := c.raw.Do(req)
	if err != nil {
		return nil, wrapErr(op, err)
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		return nil, errorFromResponse(op, resp)
	}
	return resp, nil
}

// strictParseNodes is the SDK's parse node registry with its failures
// typed: an answer the SDK cannot parse (an HTML page where JSON was
// expected, a truncated or foreign document) is a *MalformedError, which
// wrapErr marks permanent. The SDK has read the whole body before it asks
// for a parse node, so a failure here is the content's, not the
// connection's.
type strictParseNodes struct{ absser.ParseNodeFactory }

func (f strictParseNodes) GetRootParseNode(contentType string, content []byte) (absser.ParseNode, error) {
	n, err := f.ParseNodeFactory.GetRootParseNode(contentType, content)
	if err != nil {
		return nil, &MalformedError{ContentType: contentType, Body: snippet(content), Err: err}
	}
	return n, nil
}

// ResponseHeaderTimeout is how long graphmail waits for an answer's headers
// once a request is sent: a server that accepts and never answers then
// fails the request (and, after the scheduler's retries, the mailbox)
// instead of holding it for ever. Bodies stream under the caller's context.
const ResponseHeaderTimeout = 3 * time.Minute

// newTransport is http.DefaultTransport's settings (30 s dial and TLS
// handshake timeouts, proxies from the environment) plus the answer timeout
// and an idle pool as large as the requests in flight (ConfigureTransport).
func newTransport() *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	ConfigureTransport(tr)
	return tr
}

// MaxIdleConns is the idle connections a Graph transport keeps: at least
// the requests in flight (4 per mailbox, many mailboxes at once), or each
// burst opens new TLS connections. net/http's default keeps 2 per host,
// and the handshakes then cost a third of a copy's CPU.
const MaxIdleConns = 256

// ConfigureTransport sets a transport for Graph: the answer timeout and
// the idle pool.
func ConfigureTransport(tr *http.Transport) {
	tr.ResponseHeaderTimeout = ResponseHeaderTimeout
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = MaxIdleConns, MaxIdleConns
	// net/http's 4 KiB buffers split a small message's create (about 9 KiB
	// of JSON) into three TLS records and system calls; 32 KiB takes it in
	// one, and bounds the pool's buffers at 16 MiB.
	tr.WriteBufferSize, tr.ReadBufferSize = 32<<10, 32<<10
}
