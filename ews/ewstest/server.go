// Package ewstest is an in-memory Exchange Web Services server for tests and
// the lab, in the spirit of net/http/httptest. It authenticates with NTLMv2
// per TCP connection, answers in the EWS wire format with varying namespace
// prefixes, and enforces what Exchange enforces: page sizes, sync limits,
// impersonation rights, per-account concurrency and schema shape.
//
// Tests call StartTLS (or NewTLSServer) and get a URL and a CA for
// ews.Config. To serve it elsewhere (exmigrate lab), use the Server as the
// http.Handler of an HTTP/1.1 TLS server and set that server's ConnState to
// Server.ConnState: NTLM state is kept per connection (by remote address)
// and must be forgotten when the connection closes.
//
// Operations served: GetFolder, FindFolder, FindItem, GetItem (MIME, and
// occurrences of a series by OccurrenceItemId), GetAttachment,
// CreateAttachment, CreateFolder, CreateItem (from MIME or from
// properties), ExportItems and UploadItems (fullfidelity.go),
// UpdateItem, DeleteItem, SyncFolderItems,
// SyncFolderHierarchy, ResolveNames, GetInboxRules, GetDelegate,
// GetSearchableMailboxes, GetDiscoverySearchConfiguration and
// GetHoldOnMailboxes. Anything else is answered ErrorSchemaValidation.
//
// Mail is never sent: a message created with SendOnly or SendAndSaveCopy
// is refused whole (SendAttempts counts it). Meetings are sent as
// Exchange sends them: a calendar item with attendees created, updated or
// deleted with a Send* value other than SendToNone delivers a meeting
// request or cancellation to each attendee (into the Inbox of mailboxes
// the fake holds) and, with SaveCopy, a copy into the organizer's Sent
// Items; MeetingMessagesSent counts them, so a client's count of zero
// proves something.
//
// Calendar items, tasks and contact groups written from their properties
// (or added with FolderFixture.AddEvent, AddTask, AddContactGroup) are
// held as the contract's models (typed.go): series are expanded with
// mailbox.Expand, an UpdateItem on an occurrence makes an exception and a
// DeleteItem on one cancels it, and properties Exchange computes
// (Organizer, IsMeeting, a task's Owner ...) are refused on write.
//
// Item and folder shapes take every property path the schema allows
// (schema_tables.go is generated from types.xsd); the fake answers what it
// holds, deriving from each item's MIME what Exchange derives (addresses,
// headers, body, attachments, the text/calendar and text/vcard fields of
// calendar items and contacts), and leaves out the rest, as Exchange
// leaves out unset properties.
package ewstest

import (
	"bufio"
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"encoding/xml"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Exchange's defaults.
const (
	DefaultMaxConcurrency = 27      // EWSMaxConcurrency
	DefaultPageLimit      = 1000    // EWSFindCountLimit
	RestrictedPageLimit   = 250     // EWSFindCountLimit for restricted searches
	MaxChangesReturned    = 512     // MaxSyncChangesReturnedType
	MaxRequestBytes       = 1 << 26 // maxAllowedContentLength of the EWS web.config (64 MiB)
)

// Server is the fake. The zero value is not usable; call NewServer.
type Server struct {
	// clock, when set, is the store's clock (SetClock), set before the
	// server serves.
	clock      func() time.Time
	mu         sync.Mutex
	accounts   map[string]*account // lower(domain\user)
	mailboxes  map[string]*mbox    // lower(address)
	folders    map[string]*folder
	items      map[string]*item
	publicRoot *folder
	holds      []hold
	roomLists  []roomList // GetRoomLists and GetRooms (roomlists.go)
	seq        int64
	idn        int64

	conns    map[string]*connState // by remote address: NTLM authenticates the TCP connection
	inflight map[string]int
	// maxInFlight is the most requests of one account the fake held at
	// once (MaxInFlight), refused ones included.
	maxInFlight int
	faults      []*Fault

	maxConc   int
	pageLimit int
	style     PrefixStyle
	rotate    atomic.Uint64
	recorder  func(op string, body []byte)
	respRec   func(op string, body []byte)
	latency   time.Duration

	writes       atomic.Int64
	bytesIn      atomic.Int64
	basicSeen    atomic.Int64
	sendAttempts atomic.Int64
	meetingSent  atomic.Int64
	anchorMisses atomic.Int64
	routeMisses  atomic.Int64 // PublicFolderRouteMisses
	// acceptForeign: UploadItems takes streams of another dialect.
	acceptForeign atomic.Bool
	requests      sync.Map // op -> *atomic.Int64

	ts *httptest.Server
}

type connState struct {
	challenge [8]byte
	pending   bool
	acct      *account
}

// Option configures a Server.
type Option func(*Server)

// WithMaxConcurrency sets EWSMaxConcurrency (default 27).
func WithMaxConcurrency(n int) Option { return func(s *Server) { s.maxConc = n } }

// WithPageLimit caps FindItem/FindFolder pages below the client's request
// (default 1000), to exercise partial pages.
func WithPageLimit(n int) Option { return func(s *Server) { s.pageLimit = n } }

// WithPrefixStyle fixes the namespace prefix style (default: rotate).
func WithPrefixStyle(p PrefixStyle) Option { return func(s *Server) { s.style = p } }

// WithRequestRecorder calls fn with each authenticated request body.
func WithRequestRecorder(fn func(op string, body []byte)) Option {
	return func(s *Server) { s.recorder = fn }
}

// WithResponseRecorder calls fn with each response body the fake wrote
// after authentication (faults included), e.g. to validate them.
func WithResponseRecorder(fn func(op string, body []byte)) Option {
	return func(s *Server) { s.respRec = fn }
}

// WithLatency delays every response.
func WithLatency(d time.Duration) Option { return func(s *Server) { s.latency = d } }

// NewServer returns an empty Exchange with a public folder root.
func NewServer(opts ...Option) *Server {
	s := &Server{
		accounts: map[string]*account{}, mailboxes: map[string]*mbox{}, folders: map[string]*folder{},
		items: map[string]*item{}, conns: map[string]*connState{}, inflight: map[string]int{},
		maxConc: DefaultMaxConcurrency, pageLimit: DefaultPageLimit,
	}
	for _, o := range opts {
		o(s)
	}
	s.publicRoot = s.newFolder(nil, nil, "IPM_SUBTREE", "", "publicfoldersroot")
	return s
}

// AddAccount adds an account that may authenticate; impersonation grants
// the ApplicationImpersonation role.
func (s *Server) AddAccount(domain, user, password string, impersonation bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accounts[accountKey(domain, user)] = &account{domain: domain, user: user, password: password,
		impersonation: impersonation, fullAccess: map[string]bool{}}
}

func accountKey(domain, user string) string { return strings.ToLower(domain + `\` + user) }

// GrantFullAccess lets an account open a mailbox without impersonation.
func (s *Server) GrantFullAccess(domain, user, address string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.accounts[accountKey(domain, user)]; a != nil {
		a.fullAccess[strings.ToLower(address)] = true
	}
}

// GrantDiscovery gives an account the eDiscovery rights the hold operations need.
func (s *Server) GrantDiscovery(domain, user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.accounts[accountKey(domain, user)]; a != nil {
		a.ediscovery = true
	}
}

// FaultKind is what an injected fault does.
type FaultKind int

// Fault kinds.
const (
	// FaultServerBusy answers a SOAP fault ErrorServerBusy (HTTP 500) with BackOff.
	FaultServerBusy FaultKind = iota + 1
	// FaultHTTP503 answers 503 Service Unavailable (IIS queueing), with
	// Retry-After in seconds when BackOff is set.
	FaultHTTP503
	// FaultDrop closes the TCP connection without an answer.
	FaultDrop
	// FaultDelay sleeps Delay before answering normally.
	FaultDelay
	// FaultCode answers ResponseClass Error with Code in the response
	// messages, from the After'th on (all by default).
	FaultCode
	// FaultDropAfter serves the request (its effects stay), then closes
	// the connection without the answer: a write whose answer was lost.
	FaultDropAfter
	// FaultBatchStopped processes the first After items of a batch
	// request (GetItem, ExportItems, CreateItem ...) and answers each
	// later one ResponseClass Warning, ErrorBatchProcessingStopped,
	// without processing it: what Exchange answers when an error (the
	// store going offline, a mailbox move) stops a batch midway.
	FaultBatchStopped
)

// Fault is an injected failure. Op "" matches every operation; Times is how
// many requests it hits (0 means 1, negative means forever).
type Fault struct {
	Op      string
	Kind    FaultKind
	BackOff time.Duration
	Delay   time.Duration
	Code    string
	Times   int
	After   int // FaultBatchStopped, FaultCode: the items answered before
	hits    int
}

// Inject adds a fault; faults apply in order, each until used up.
func (s *Server) Inject(f Fault) {
	if f.Times == 0 {
		f.Times = 1
	}
	s.mu.Lock()
	s.faults = append(s.faults, &f)
	s.mu.Unlock()
}

func (s *Server) takeFault(op string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if f.Op != "" && f.Op != op {
			continue
		}
		f.hits++
		if f.Times > 0 && f.hits >= f.Times {
			s.faults = append(s.faults[:i], s.faults[i+1:]...)
		}
		c := *f
		return &c
	}
	return nil
}

// MaxInFlight is the most authenticated requests of one account the fake
// held at once since it started or since ResetMaxInFlight, those it
// refused with ErrorExceededConnectionCount included: what a client's
// concurrency limit let through.
func (s *Server) MaxInFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxInFlight
}

// ResetMaxInFlight starts a new MaxInFlight measurement.
func (s *Server) ResetMaxInFlight() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.maxInFlight = 0
}

// Writes is the number of write operations that changed the store
// (folders and items created, items updated).
func (s *Server) Writes() int64 { return s.writes.Load() }

// BytesReceived is the number of request body bytes read, including the
// bodies of requests answered 401 during NTLM handshakes.
func (s *Server) BytesReceived() int64 { return s.bytesIn.Load() }

// BasicAttempts counts requests that carried Basic credentials (always refused).
func (s *Server) BasicAttempts() int64 { return s.basicSeen.Load() }

// SendAttempts counts items refused because creating them would have sent
// mail on Exchange (MessageDisposition SendOnly or SendAndSaveCopy,
// meeting invitations): the lab never sends, and a client that follows
// the no-send rule never asks.
func (s *Server) SendAttempts() int64 { return s.sendAttempts.Load() }

// MeetingMessagesSent counts the meeting requests and cancellations the
// fake sent, one per attendee (in the fake or outside it), as Exchange
// does for a meeting created, updated or deleted with a Send* value other
// than SendToNone. Each also counts in SendAttempts.
func (s *Server) MeetingMessagesSent() int64 { return s.meetingSent.Load() }

// now is the store's clock for creation and modification times.
func (s *Server) now() time.Time {
	if s.clock != nil {
		return s.clock().UTC().Truncate(time.Second)
	}
	return time.Now().UTC().Truncate(time.Second)
}

// SetClock sets the clock that stamps what the store creates and changes
// (nil: the wall clock), so that a seeded lab is the same on every run.
func (s *Server) SetClock(clock func() time.Time) {
	s.mu.Lock()
	s.clock = clock
	s.mu.Unlock()
}

// PublicFolderRouteMisses counts content requests about a public folder
// with a content mailbox (FolderFixture.SetContentMailbox) whose
// X-AnchorMailbox or X-PublicFolderMailbox did not name that mailbox.
func (s *Server) PublicFolderRouteMisses() int64 { return s.routeMisses.Load() }

// AnchorMisses counts impersonated requests whose X-AnchorMailbox header
// did not name the impersonated mailbox (Microsoft requires it).
func (s *Server) AnchorMisses() int64 { return s.anchorMisses.Load() }

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// Requests is the number of authenticated requests for an operation ("" for all).
func (s *Server) Requests(op string) int64 {
	v, ok := s.requests.Load(op)
	if !ok {
		return 0
	}
	return v.(*atomic.Int64).Load()
}

func (s *Server) count(op string) {
	for _, k := range []string{op, ""} {
		v, _ := s.requests.LoadOrStore(k, new(atomic.Int64))
		v.(*atomic.Int64).Add(1)
	}
}

// ConnState forgets a connection's NTLM state when it closes; set it as
// http.Server.ConnState when serving the fake yourself.
func (s *Server) ConnState(c net.Conn, st http.ConnState) {
	if st == http.StateClosed || st == http.StateHijacked {
		s.mu.Lock()
		delete(s.conns, c.RemoteAddr().String())
		s.mu.Unlock()
	}
}

// StartTLS serves the fake on a loopback TLS listener for the test's
// lifetime and returns the EWS URL and the PEM of a CA that verifies it.
func (s *Server) StartTLS(t testing.TB) (url string, caPEM []byte) {
	t.Helper()
	url, caPEM = s.NewTLSServer()
	t.Cleanup(s.Close)
	return url, caPEM
}

// NewTLSServer is StartTLS without a testing.TB; call Close when done.
func (s *Server) NewTLSServer() (url string, caPEM []byte) {
	ts := httptest.NewUnstartedServer(s)
	ts.Config.ConnState = s.ConnState
	ts.EnableHTTP2 = false
	ts.StartTLS()
	s.ts = ts
	cert := ts.Certificate()
	caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
	return ts.URL + "/EWS/Exchange.asmx", caPEM
}

// Certificate is the serving certificate of NewTLSServer.
func (s *Server) Certificate() *x509.Certificate {
	if s.ts == nil {
		return nil
	}
	return s.ts.Certificate()
}

// Close stops the server started by StartTLS or NewTLSServer.
func (s *Server) Close() {
	if s.ts != nil {
		s.ts.Close()
	}
}

// ServeHTTP authenticates, applies limits and faults, and dispatches.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r.Body = &countingBody{ReadCloser: r.Body, n: &s.bytesIn}
	// Like IIS, authenticate the connection before looking at the request.
	acct := s.authenticate(w, r)
	if acct == nil {
		return
	}
	if r.Method != http.MethodPost {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Allow", "POST")
		http.Error(w, "EWS accepts POST only", http.StatusMethodNotAllowed)
		return
	}
	if r.ContentLength > MaxRequestBytes {
		io.Copy(io.Discard, r.Body)
		http.Error(w, "request entity too large (maxAllowedContentLength)", http.StatusRequestEntityTooLarge)
		return
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, MaxRequestBytes+1))
	if err != nil {
		return
	}
	if len(data) > MaxRequestBytes {
		http.Error(w, "request entity too large (maxAllowedContentLength)", http.StatusRequestEntityTooLarge)
		return
	}
	style := s.style
	if style == StyleRotate {
		style = PrefixStyle(1 + s.rotate.Add(1)%3)
	}
	rc := &reqCtx{s: s, acct: acct, w: w, r: r, style: style}
	doc, err := parseDOM(bytes.NewReader(data))
	if err != nil {
		line := 0
		var se *xml.SyntaxError
		if errors.As(err, &se) {
			line = se.Line
		}
		rc.schemaFault(line, 0, "The request is not well-formed XML: "+err.Error())
		return
	}
	op := ""
	if body := doc.child(nsSOAP, "Body"); body != nil && len(body.children) > 0 {
		op = body.children[0].name.Local
	}
	rc.op = op
	s.count(op)
	if op == "UploadItems" && len(data) > MaxUploadBytes {
		// IIS refuses a request over the EWS limit before EWS sees it.
		http.Error(w, "request entity too large (UploadItems limit)", http.StatusRequestEntityTooLarge)
		return
	}
	if s.recorder != nil {
		s.recorder(op, data)
	}
	if s.respRec != nil {
		tee := &teeWriter{ResponseWriter: w}
		defer func() { s.respRec(op, tee.buf.Bytes()) }()
		w = tee
		rc.w = tee
	}

	// EWSMaxConcurrency: requests in flight per account.
	key := accountKey(acct.domain, acct.user)
	s.mu.Lock()
	s.inflight[key]++
	over := s.inflight[key] > s.maxConc
	s.maxInFlight = max(s.maxInFlight, s.inflight[key])
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.inflight[key]--
		s.mu.Unlock()
	}()
	if s.latency > 0 {
		if !wait(r, s.latency) {
			return
		}
	}
	if over {
		rc.fault("ErrorExceededConnectionCount", "You have exceeded the maximum number of concurrent connections for your account. Try again later.", nil)
		return
	}
	if f := s.takeFault(op); f != nil {
		switch f.Kind {
		case FaultServerBusy:
			rc.fault("ErrorServerBusy", "The server cannot service this request right now. Try again later.",
				[][2]string{{"BackOffMilliseconds", itoa(f.BackOff.Milliseconds())}})
			return
		case FaultHTTP503:
			if f.BackOff > 0 {
				w.Header().Set("Retry-After", strconv.FormatFloat(f.BackOff.Seconds(), 'f', -1, 64))
			}
			http.Error(w, "Service Unavailable", http.StatusServiceUnavailable)
			return
		case FaultDropAfter:
			rc.w = httptest.NewRecorder()
			rc.serve(doc)
			fallthrough
		case FaultDrop:
			if hj, ok := w.(http.Hijacker); ok {
				if c, _, err := hj.Hijack(); err == nil {
					c.Close()
					return
				}
			}
			panic(http.ErrAbortHandler)
		case FaultDelay:
			if !wait(r, f.Delay) {
				return
			}
		case FaultCode:
			rc.injectedCode, rc.codeFrom = f.Code, f.After
		case FaultBatchStopped:
			rc.stopping, rc.stopAt = true, f.After
		}
	}
	rc.serve(doc)
}

// teeWriter keeps a copy of a response body.
type teeWriter struct {
	http.ResponseWriter
	buf bytes.Buffer
}

func (t *teeWriter) Write(p []byte) (int, error) {
	t.buf.Write(p)
	return t.ResponseWriter.Write(p)
}

// Hijack lets dropped-connection faults work through the tee.
func (t *teeWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if hj, ok := t.ResponseWriter.(http.Hijacker); ok {
		return hj.Hijack()
	}
	return nil, nil, http.ErrNotSupported
}

func wait(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-r.Context().Done():
		return false
	case <-t.C:
		return true
	}
}

// authenticate runs NTLM on the connection; it answers 401 itself and
// returns nil until the connection is authenticated.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) *account {
	key := r.RemoteAddr
	s.mu.Lock()
	cs := s.conns[key]
	if cs == nil {
		cs = &connState{}
		s.conns[key] = cs
	}
	s.mu.Unlock()
	authz := r.Header.Get("Authorization")
	scheme, token, _ := strings.Cut(authz, " ")
	if authz == "" {
		s.mu.Lock()
		acct := cs.acct
		s.mu.Unlock()
		if acct != nil {
			return acct
		}
		unauthorized(w, r, "")
		return nil
	}
	if strings.EqualFold(scheme, "Basic") {
		s.basicSeen.Add(1)
	}
	if !strings.EqualFold(scheme, "NTLM") && !strings.EqualFold(scheme, "Negotiate") {
		unauthorized(w, r, "") // Basic and everything else: refused
		return nil
	}
	msg, err := base64.StdEncoding.DecodeString(strings.TrimSpace(token))
	if err != nil {
		unauthorized(w, r, "")
		return nil
	}
	switch messageType(msg) {
	case 1:
		ch, challenge := challengeMessage("CONTOSO")
		s.mu.Lock()
		cs.challenge, cs.pending, cs.acct = challenge, true, nil
		s.mu.Unlock()
		unauthorized(w, r, scheme+" "+base64.StdEncoding.EncodeToString(ch))
		return nil
	case 3:
		am, err := parseAuthenticate(msg)
		s.mu.Lock()
		pending, challenge := cs.pending, cs.challenge
		cs.pending = false
		var acct *account
		if err == nil && pending {
			acct = s.accounts[accountKey(am.Domain, am.User)]
		}
		s.mu.Unlock()
		if acct == nil || !verifyNTLMv2(am, acct.password, challenge) {
			unauthorized(w, r, "")
			return nil
		}
		s.mu.Lock()
		cs.acct = acct
		s.mu.Unlock()
		return acct
	}
	unauthorized(w, r, "")
	return nil
}

func unauthorized(w http.ResponseWriter, r *http.Request, challenge string) {
	io.Copy(io.Discard, r.Body) // keep the connection: the handshake continues on it
	if challenge != "" {
		w.Header().Set("WWW-Authenticate", challenge)
	} else {
		w.Header().Add("WWW-Authenticate", "Negotiate")
		w.Header().Add("WWW-Authenticate", "NTLM")
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusUnauthorized)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
