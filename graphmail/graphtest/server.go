// Package graphtest is an in-memory Exchange Online for the Microsoft Graph
// v1.0 mail, contact, calendar and To Do endpoints that graphmail uses, plus the Microsoft Entra token
// endpoint that azidentity (MSAL) talks to, so that the real msgraph-sdk-go
// and azidentity clients run unchanged against it through a custom cloud
// configuration.
//
// It is as strict as the real service in everything a client depends on:
// the JSON wire format, OData query options ($filter, $select, $expand,
// $orderby, $count, $search: served or refused as Graph does), id formats,
// bearer token audience, expiry and roles (RS256 tokens whose key is at the
// authority's jwks_uri), Graph's per app-and-mailbox limits (4 concurrent
// requests, a request budget, an upload budget, 4 MB per request, 20
// requests per $batch run up to 4 at once), each mailbox's message size
// limit, drafts, delta paging and changeType, upload URLs on another host
// than Graph, and the errors Graph answers. Faults (429, 503, dropped
// connections, latency) can be injected. MSAL Python and requests run
// against it unmodified (msal_test.go).
//
// The mailbox import/export API (/admin/exchange/mailboxes/{id}/folders,
// items, delta, exportItems, createImportSession and the import URL on the
// upload host) serves the same stores under ids of its own, with opaque
// full-fidelity streams (internal/fakestream): importexport.go.
//
// Meetings have Graph's side effects: an event written with attendees
// sends them requests, updates and cancellations (delivered to the fake's
// mailboxes and counted by MeetingMessagesSent), so that a test can prove
// a client sends none.
//
// It imports only the standard library and the neutral mailbox package, so
// tests of other packages can use it without compiling msgraph-sdk-go.
package graphtest

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/mailbox"
)

// Limits are the per app-and-mailbox limits the fake enforces. The defaults
// are Graph's documented Outlook limits; tests shrink the windows.
type Limits struct {
	MaxConcurrent        int           // requests in flight per app and mailbox (4)
	RequestsPerWindow    int           // request budget (10,000)
	RequestWindow        time.Duration // (10 minutes)
	UploadBytesPerWindow int64         // IncomingBytes budget (150 MB)
	UploadWindow         time.Duration // (5 minutes)
	MaxRequestBytes      int64         // largest request body (4 MB)
	MaxBatchRequests     int           // requests per $batch (20)
	MaxAttachmentBytes   int64         // largest attachment / message (150 MB)
	// ConcurrencyRetryAfter is the Retry-After answered with a
	// MailboxConcurrency 429 (Graph answers a second or so).
	ConcurrencyRetryAfter time.Duration
}

// DefaultLimits are Graph's documented limits for Outlook resources.
func DefaultLimits() Limits {
	return Limits{
		MaxConcurrent:         4,
		RequestsPerWindow:     10000,
		RequestWindow:         10 * time.Minute,
		UploadBytesPerWindow:  150 << 20,
		UploadWindow:          5 * time.Minute,
		MaxRequestBytes:       4 << 20,
		MaxBatchRequests:      20,
		MaxAttachmentBytes:    150 << 20,
		ConcurrencyRetryAfter: time.Second,
	}
}

// Option configures a Server.
type Option func(*Server)

// WithLimits replaces the default limits.
func WithLimits(l Limits) Option { return func(s *Server) { s.limits = l } }

// WithAudience sets the token audience the fake issues and accepts
// (default https://graph.microsoft.com).
func WithAudience(aud string) Option { return func(s *Server) { s.audience = aud } }

// WithTokenLifetime sets the lifetime of issued access tokens (default 1h).
func WithTokenLifetime(d time.Duration) Option { return func(s *Server) { s.tokenLifetime = d } }

// WithLatency delays every Graph response by d.
func WithLatency(d time.Duration) Option { return func(s *Server) { s.latency = d } }

// WithDefaultPageSize sets the page size used when the client asks for none
// (Graph uses 10).
func WithDefaultPageSize(n int) Option { return func(s *Server) { s.defaultPage = n } }

// WithAttachmentDigestsOnly makes the server keep only the size and SHA-256
// of attachments uploaded through sessions, not their bytes (benchmarks of
// large items measure the client, not the fake).
func WithAttachmentDigestsOnly() Option { return func(s *Server) { s.digestsOnly = true } }

// WithArrivalLog makes the server keep the arrival time of every request it
// counts against an app and mailbox's request budget (see Arrivals), for
// tests and benchmarks of how evenly a client spends the budget. Off by
// default: the log grows with every request.
func WithArrivalLog() Option { return func(s *Server) { s.arrivalLog = true } }

// Server is the fake. Create it with NewServer; it is an http.Handler.
type Server struct {
	limits        Limits
	audience      string
	tokenLifetime time.Duration
	latency       time.Duration
	defaultPage   int
	digestsOnly   bool
	arrivalLog    bool

	keyOnce sync.Once // makes signer
	signer  *tokenSigner
	keyErr  error

	mu        sync.Mutex
	apps      map[string]*app // by client id
	mailboxes map[string]*mbox
	onPrem    map[string]bool
	limiters  map[string]*limiter
	uploads   map[string]*uploadSession
	issued    []string // the authtokens of every upload session, in order
	faults    []*Fault
	seq       int64
	deltaGen  int64

	writes        atomic.Int64
	uploadWrites  atomic.Int64
	throttled     atomic.Int64
	earlyRetries  atomic.Int64
	earlyArrivals atomic.Int64
	requests      atomic.Int64
	tokens        atomic.Int64
	meetingMsgs   atomic.Int64

	// The import/export API (importexport.go).
	importLifetime time.Duration
	acceptEWS      bool
	importSends    bool
	importOrder    []*importSession
	imports        atomic.Int64
}

// NewServer returns an empty fake with Graph's default limits.
func NewServer(opts ...Option) *Server {
	s := &Server{
		limits:        DefaultLimits(),
		audience:      "https://graph.microsoft.com",
		tokenLifetime: time.Hour,
		defaultPage:   10,
		apps:          map[string]*app{},
		mailboxes:     map[string]*mbox{},
		onPrem:        map[string]bool{},
		limiters:      map[string]*limiter{},
		uploads:       map[string]*uploadSession{},
		deltaGen:      1,
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Endpoint is a running TLS fake: where the client points, and how it trusts it.
type Endpoint struct {
	// BaseURL is the Graph root including /v1.0, e.g. https://127.0.0.1:port/v1.0.
	BaseURL string
	// AuthorityHost is the Entra authority host URL for azidentity's
	// cloud.Configuration.ActiveDirectoryAuthorityHost.
	AuthorityHost string
	// CAPEM is the PEM of the CA that signed the server's certificate.
	CAPEM []byte
	// Client trusts the server's certificate.
	Client *http.Client

	srv *httptest.Server
}

// Close stops the server.
func (e *Endpoint) Close() {
	e.srv.Close()
	if t, ok := e.Client.Transport.(*http.Transport); ok {
		t.CloseIdleConnections()
	}
}

// CloseClientConnections drops every open connection to the server.
func (e *Endpoint) CloseClientConnections() { e.srv.CloseClientConnections() }

// StartTLS starts the fake on a loopback HTTPS port for the duration of a test.
func (s *Server) StartTLS(t testing.TB) *Endpoint {
	t.Helper()
	e, err := s.ListenTLS("127.0.0.1:0")
	if err != nil {
		t.Fatalf("graphtest: %v", err)
	}
	t.Cleanup(e.Close)
	return e
}

// NewTLSServer starts the fake on a random loopback HTTPS port. The caller
// closes it.
func (s *Server) NewTLSServer() (*Endpoint, error) { return s.ListenTLS("127.0.0.1:0") }

// ListenTLS starts the fake on addr with a certificate from a CA of its
// own (CAPEM), valid for 127.0.0.1, ::1 and localhost: Graph answers on
// the name the client uses, upload URLs on the other loopback name.
func (s *Server) ListenTLS(addr string) (*Endpoint, error) {
	cert, caPEM, err := endpointCert()
	if err != nil {
		return nil, fmt.Errorf("graphtest: %w", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	srv := httptest.NewUnstartedServer(s)
	// Clients that drop connections (and injected drops) are expected here.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.Listener.Close()
	srv.Listener = ln
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	return &Endpoint{
		BaseURL:       srv.URL + "/v1.0",
		AuthorityHost: srv.URL + "/",
		CAPEM:         caPEM,
		Client:        &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}},
		srv:           srv,
	}, nil
}

// ---------------------------------------------------------------- seeding

type app struct {
	tenant, clientID string
	secret           string
	certs            [][]byte // DER of registered certificates
	roles            []string
}

// AddApp registers an application (service principal) in a tenant with a
// client secret and the application roles granted to it, e.g. Mail.ReadWrite.
func (s *Server) AddApp(tenantID, clientID, secret string, roles ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.appLocked(tenantID, clientID)
	a.secret = secret
	a.roles = append(a.roles, roles...)
}

// AddAppCertificate registers a certificate (PEM or DER) for an application,
// whose private key signs the client assertions. Roles are added to the app's.
func (s *Server) AddAppCertificate(tenantID, clientID string, cert []byte, roles ...string) error {
	der := cert
	if b, _ := pem.Decode(cert); b != nil {
		der = b.Bytes
	}
	if _, err := parseCert(der); err != nil {
		return fmt.Errorf("graphtest: certificate for %s: %w", clientID, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.appLocked(tenantID, clientID)
	a.certs = append(a.certs, der)
	a.roles = append(a.roles, roles...)
	return nil
}

func (s *Server) appLocked(tenantID, clientID string) *app {
	a := s.apps[clientID]
	if a == nil {
		a = &app{tenant: tenantID, clientID: clientID}
		s.apps[clientID] = a
	}
	return a
}

// AddOnPremUser registers a user whose mailbox is on-premises in a hybrid
// organisation: its mail endpoints answer 404 MailboxNotEnabledForRESTAPI.
func (s *Server) AddOnPremUser(address string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onPrem[strings.ToLower(address)] = true
}

// AddMailbox creates an Exchange Online mailbox with the default folders.
func (s *Server) AddMailbox(address string, typ mailbox.MailboxType) *MailboxFixture {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := strings.ToLower(address)
	mb := s.mailboxes[key]
	if mb == nil {
		mb = newMbox(s, address, typ)
		s.mailboxes[key] = mb
	}
	return &MailboxFixture{s: s, mb: mb}
}

// Mailbox returns the fixture of an existing mailbox, or nil.
func (s *Server) Mailbox(address string) *MailboxFixture {
	s.mu.Lock()
	defer s.mu.Unlock()
	mb := s.mailboxes[strings.ToLower(address)]
	if mb == nil {
		return nil
	}
	return &MailboxFixture{s: s, mb: mb}
}

// ------------------------------------------------------------- inspection

// Writes counts the successful write requests (POST, PATCH, PUT, DELETE)
// Graph served, $batch steps included. Upload chunks go to the upload host,
// not to Graph (a proxy in front of Graph does not see them either):
// UploadWrites counts those.
func (s *Server) Writes() int64 { return s.writes.Load() }

// UploadWrites counts the upload ranges the upload host took.
func (s *Server) UploadWrites() int64 { return s.uploadWrites.Load() }

// Requests counts every Graph request that reached a mailbox.
func (s *Server) Requests() int64 { return s.requests.Load() }

// Throttled counts the 429 answers sent (limits and injected faults).
func (s *Server) Throttled() int64 { return s.throttled.Load() }

// EarlyRetries counts retries (requests carrying the Retry-Attempt header
// the Graph SDKs send) that arrived for an app and mailbox before the
// Retry-After of a 429 sent to that pair had elapsed.
func (s *Server) EarlyRetries() int64 { return s.earlyRetries.Load() }

// EarlyArrivals counts every request, retry or not, that arrived for an app
// and mailbox more than 25 ms after a 429 to that pair and before its
// Retry-After had elapsed. A client may have started such a request before
// it read the 429 (a TLS handshake on a new connection takes that long), so
// a few are not a bug; many are.
func (s *Server) EarlyArrivals() int64 { return s.earlyArrivals.Load() }

// UploadTokens lists the authtokens of every upload session the server has
// issued, in order, finished and abandoned ones included: secrets that a
// client must never write into an error, a log line or a state file.
func (s *Server) UploadTokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.issued)
}

// TokensIssued counts access tokens the token endpoint issued.
func (s *Server) TokensIssued() int64 { return s.tokens.Load() }

// MaxInFlightSeen is the largest number of requests that were in flight at
// once for a mailbox (over all apps), counting those answered with a 429.
func (s *Server) MaxInFlightSeen(address string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	mb := s.mailboxes[strings.ToLower(address)]
	if mb == nil {
		return 0
	}
	return mb.maxInFlight
}

// UsedBudget reports the requests and upload bytes an app has spent on a
// mailbox within the current windows.
func (s *Server) UsedBudget(clientID, address string) (requests int, uploadBytes int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.limiters[clientID+"|"+strings.ToLower(address)]
	if l == nil {
		return 0, 0
	}
	now := time.Now()
	l.prune(now, s.limits)
	for _, u := range l.uploads {
		uploadBytes += u.n
	}
	return len(l.reqs), uploadBytes
}

// Arrivals are the times at which the requests an app sent for a mailbox
// were counted against its request budget (each step of a $batch on its
// own), oldest first; 429 answers are not counted, as Graph does not count
// them. It is empty unless the server was made WithArrivalLog.
func (s *Server) Arrivals(clientID, address string) []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.limiters[clientID+"|"+strings.ToLower(address)]
	if l == nil {
		return nil
	}
	return append([]time.Time(nil), l.arrivals...)
}

// UploadArrivals are the times at which the fake counted uploaded bytes of
// an app for a mailbox against its IncomingBytes budget, and how many each
// time, oldest first. It is empty unless the server was made
// WithArrivalLog.
func (s *Server) UploadArrivals(clientID, address string) (at []time.Time, bytes []int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.limiters[clientID+"|"+strings.ToLower(address)]
	if l == nil {
		return nil, nil
	}
	for _, u := range l.uploadLog {
		at, bytes = append(at, u.at), append(bytes, u.n)
	}
	return at, bytes
}

// MaxInWindow is the most arrivals within any span shorter than window:
// the largest count a sliding window of that length saw.
func MaxInWindow(arrivals []time.Time, window time.Duration) int {
	best, i := 0, 0
	for j, t := range arrivals {
		for t.Sub(arrivals[i]) >= window {
			i++
		}
		best = max(best, j-i+1)
	}
	return best
}

// ExpireDeltaTokens invalidates every delta and skip token issued so far:
// the next request with one answers 410 SyncStateNotFound.
func (s *Server) ExpireDeltaTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deltaGen++
}

// ---------------------------------------------------------------- routing

// ServeHTTP serves the token endpoint, the discovery documents MSAL reads,
// the Graph v1.0 mail endpoints and attachment upload URLs.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/v1.0/"), strings.HasPrefix(p, "/beta/"):
		stampRequestIDs(w.Header(), r, "request-id")
		s.serveGraph(w, r)
	case strings.HasPrefix(p, "/import/"):
		stampRequestIDs(w.Header(), r, "request-id")
		s.serveImport(w, r)
	case strings.HasPrefix(p, "/upload/"):
		stampRequestIDs(w.Header(), r, "request-id")
		s.serveUpload(w, r)
	case strings.HasPrefix(p, "/common/discovery/instance"):
		stampRequestIDs(w.Header(), r, "x-ms-request-id")
		s.serveInstanceDiscovery(w, r)
	case strings.HasSuffix(p, "/v2.0/.well-known/openid-configuration"):
		stampRequestIDs(w.Header(), r, "x-ms-request-id")
		s.serveOpenIDConfig(w, r)
	case strings.HasSuffix(p, "/discovery/v2.0/keys"):
		stampRequestIDs(w.Header(), r, "x-ms-request-id")
		s.serveKeys(w, r)
	case strings.HasSuffix(p, "/oauth2/v2.0/token"):
		stampRequestIDs(w.Header(), r, "x-ms-request-id")
		s.serveToken(w, r)
	default:
		stampRequestIDs(w.Header(), r, "request-id")
		graphError(w, http.StatusNotFound, "UnknownEndpoint", "No HTTP resource was found that matches the request URI "+p)
	}
}

// stampRequestIDs gives an answer its request id under name (Graph and
// Outlook say request-id, Entra x-ms-request-id) and the client's
// client-request-id back, or the request id when the client sent none
// (learn.microsoft.com/graph/best-practices-concept#reliability-and-support:
// "client-request-id ... the same value is echoed in the response").
func stampRequestIDs(h http.Header, r *http.Request, name string) {
	rid := newUUID()
	h.Set(name, rid)
	crid := r.Header.Get("client-request-id")
	if crid == "" {
		crid = rid
	}
	h.Set("client-request-id", crid)
}

// newUUID is a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	x := hex.EncodeToString(b[:])
	return x[:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:]
}

func origin(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var body []byte
	var err error
	if m, ok := v.(map[string]any); ok {
		body, err = graphOrder(m)
	} else if body, err = json.Marshal(v); err == nil {
		body = append(body, '\n')
	}
	if err != nil {
		// A value the fake cannot write is the fake's bug: say so.
		http.Error(w, "graphtest: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// graphOrder writes an answer's object in the order Graph writes an
// entity: the @odata annotations, then id, then the other properties
// (alphabetical here; Graph's own order is its schema's). A client that
// looks for the id reads a created message's annotations and id, not its
// body first, as against Graph; encoding/json's sorted keys put the id
// after the body and made the lab's client work that the service does not
// ask of it.
func graphOrder(m map[string]any) ([]byte, error) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	rank := func(k string) int {
		switch {
		case strings.HasPrefix(k, "@"):
			return 0
		case k == "id":
			return 1
		}
		return 2
	}
	slices.SortFunc(keys, func(a, b string) int {
		if ra, rb := rank(a), rank(b); ra != rb {
			return ra - rb
		}
		return strings.Compare(a, b)
	})
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		vb, err := json.Marshal(m[k])
		if err != nil {
			return nil, err
		}
		b.Write(vb)
	}
	b.WriteString("}\n")
	return b.Bytes(), nil
}

// graphError writes Graph's error envelope; its innerError names the
// answer's request-id and client-request-id, as Graph's does.
func graphError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{
		"code":    code,
		"message": msg,
		"innerError": map[string]any{
			"date":              time.Now().UTC().Format("2006-01-02T15:04:05"),
			"request-id":        w.Header().Get("request-id"),
			"client-request-id": w.Header().Get("client-request-id"),
		},
	}})
}
