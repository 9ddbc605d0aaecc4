package ews

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"mime"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/Azure/go-ntlmssp"

	"github.com/exmigrate/exmigrate/internal/retryafter"
	"github.com/exmigrate/exmigrate/mailbox"
)

// Client talks to one EWS endpoint with one service account. It is safe for
// concurrent use: each request borrows a session (its own http.Transport and
// NTLM negotiator, so one authenticated TCP connection) from a pool whose
// limit starts at MaxConcurrency, halves when the server says it is
// overloaded and climbs back after runs of successes (see pool).
type Client struct {
	cfg  Config
	tls  *tls.Config
	log  *slog.Logger
	pool *pool
	// dialects are the foreign full-fidelity dialects the client's
	// uploads take (AcceptDialect), shared by all its Mailboxes.
	dialects dialectSet
	// rooms are the organisation's rooms, read once (mailboxtype.go).
	rooms roomDirectory
}

// NewClient validates cfg and returns a client. It does not contact the server; call Check.
func NewClient(cfg Config) (*Client, error) {
	if err := cfg.normalize(); err != nil {
		return nil, err
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if len(cfg.CABundlePEM) > 0 {
		roots, err := x509.SystemCertPool()
		if err != nil || roots == nil {
			roots = x509.NewCertPool()
		}
		roots.AppendCertsFromPEM(cfg.CABundlePEM)
		tc.RootCAs = roots
	}
	c := &Client{cfg: cfg, tls: tc, log: cfg.Logger}
	c.pool = &pool{max: cfg.MaxConcurrency, limit: cfg.MaxConcurrency, wake: make(chan struct{}), newSession: c.newSession}
	return c, nil
}

// String identifies the client without its password (fmt would otherwise
// print the unexported Config, password included, for %v of a *Client).
func (c *Client) String() string {
	return fmt.Sprintf("ews.Client{URL:%q Username:%q}", c.cfg.URL, c.cfg.Username)
}

// GoString is String for %#v.
func (c *Client) GoString() string { return c.String() }

// Concurrency is the current number of requests the client allows in flight.
func (c *Client) Concurrency() int { return c.pool.currentLimit() }

// Close drops the idle connections.
func (c *Client) Close() { c.pool.closeIdle() }

type session struct {
	hc     *http.Client
	tr     *http.Transport
	loss   *lossTracker
	primed bool // the TCP connection is (probably) authenticated already
}

// lossTracker remembers a transport error inside one request's NTLM
// handshake. go-ntlmssp answers such a loss with the handshake's first 401,
// which would otherwise read as a refused password: a server that drops
// connections must not be reported as wrong credentials. A session serves
// one request at a time, so the field needs no lock.
type lossTracker struct {
	rt   http.RoundTripper
	lost error
}

func (l *lossTracker) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := l.rt.RoundTrip(r)
	if err != nil {
		l.lost = err
	}
	return resp, err
}

func (c *Client) newSession() *session {
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		TLSClientConfig:       c.tls.Clone(),
		ForceAttemptHTTP2:     false,
		TLSNextProto:          map[string]func(string, *tls.Conn) http.RoundTripper{}, // HTTP/1.1 only: NTLM authenticates the connection
		MaxConnsPerHost:       1,
		MaxIdleConnsPerHost:   1,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: c.cfg.HTTPTimeout,
		TLSHandshakeTimeout:   30 * time.Second,
		// Batched requests and answers run to megabytes: 64 KiB buffers
		// send and read them in far fewer TLS records and system calls than
		// net/http's 4 KiB.
		WriteBufferSize: 64 << 10,
		ReadBufferSize:  64 << 10,
		// A host that drops connection attempts fails in 30 s, not in the
		// operating system's two minutes.
		DialContext: (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
	}
	loss := &lossTracker{rt: tr}
	hc := &http.Client{
		Transport: ntlmssp.Negotiator{RoundTripper: loss}, // AllowBasicAuth stays false: Basic is never sent
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	return &session{hc: hc, tr: tr, loss: loss}
}

// pool bounds the requests in flight and hands out sessions. Its limit
// follows the server (additive increase, multiplicative decrease, as TCP
// does): an answer that says the server or the account is overloaded
// (ErrorServerBusy, ErrorExceededConnectionCount, HTTP 503 or 429) halves
// it, down to 1, and a run of successes raises it by one, up to max
// (Config.MaxConcurrency). Exchange's budget is per account and shared
// with other clients, so the limit the server tolerates moves, and a
// fixed one either wastes it or keeps hitting it.
type pool struct {
	mu    sync.Mutex
	max   int // the configured maximum
	limit int // the current limit, 1..max
	inUse int
	// epoch counts decreases: a request that started before the last one
	// answers from the load before it, and does not halve the limit again
	// (a burst of busy answers to one load halves it once).
	epoch uint64
	// streak counts successes since the last change of the limit.
	streak int
	// pauseUntil holds every new request of the client until the time
	// the server asked it to wait (BackOffMilliseconds, Retry-After): its
	// budget is the account's, so the other requests would be refused
	// too (exchangelib shares one back_off_until the same way).
	pauseUntil time.Time
	idle       []*session
	wake       chan struct{}
	newSession func() *session
}

// raiseAfter is the run of successes that raises a limit by one: twice
// the limit (two rounds of the requests it allows), at least 10, so that
// the limit climbs back within seconds at a WAN's latency but not at the
// first few answers after a busy server.
func raiseAfter(limit int) int { return max(10, 2*limit) }

func (p *pool) acquire(ctx context.Context) (*session, error) {
	for {
		p.mu.Lock()
		if wait := time.Until(p.pauseUntil); wait > 0 {
			p.mu.Unlock()
			if err := sleep(ctx, wait); err != nil {
				return nil, err
			}
			continue
		}
		if p.inUse < p.limit {
			p.inUse++
			var s *session
			if n := len(p.idle); n > 0 {
				s, p.idle = p.idle[n-1], p.idle[:n-1]
			}
			p.mu.Unlock()
			if s == nil {
				s = p.newSession()
			}
			return s, nil
		}
		wake := p.wake
		p.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-wake:
		}
	}
}

func (p *pool) release(s *session, broken bool) {
	p.mu.Lock()
	p.inUse--
	if broken || len(p.idle) >= p.limit {
		s.tr.CloseIdleConnections()
	} else {
		p.idle = append(p.idle, s)
	}
	p.wakeLocked()
	p.mu.Unlock()
}

func (p *pool) wakeLocked() {
	close(p.wake)
	p.wake = make(chan struct{})
}

// pause holds new requests for d from now (a later pause wins).
func (p *pool) pause(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if until := time.Now().Add(d); until.After(p.pauseUntil) {
		p.pauseUntil = until
	}
}

// currentEpoch is the epoch a request starts in.
func (p *pool) currentEpoch() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.epoch
}

// overloaded halves the limit (not below 1) after an overload answer to a
// request that started in epoch, and reports the new limit and whether
// it changed: a request that started before the last decrease changes
// nothing.
func (p *pool) overloaded(epoch uint64) (int, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.streak = 0
	if epoch != p.epoch || p.limit == 1 {
		return p.limit, false
	}
	p.limit = max(1, p.limit/2)
	p.epoch++
	for len(p.idle) > p.limit {
		p.idle[0].tr.CloseIdleConnections()
		p.idle = p.idle[1:]
	}
	return p.limit, true
}

// succeeded counts a success and raises the limit by one after a run of
// raiseAfter(limit) of them, up to max; it reports the new limit and
// whether it changed.
func (p *pool) succeeded() (int, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.limit >= p.max {
		return p.limit, false
	}
	p.streak++
	if p.streak < raiseAfter(p.limit) {
		return p.limit, false
	}
	p.limit++
	p.streak = 0
	p.wakeLocked() // a request waiting for a session may go now
	return p.limit, true
}

func (p *pool) currentLimit() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.limit
}

func (p *pool) closeIdle() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.idle {
		s.tr.CloseIdleConnections()
	}
	p.idle = nil
}

// body is a request body that can be sent more than once: NTLM resends it
// on each handshake leg and retries resend it again. It is an
// io.ReadSeeker so go-ntlmssp rewinds it instead of buffering it.
type body struct {
	data []byte   // small bodies
	file *os.File // large bodies (CreateItem with big MIME), a temp file
	size int64
}

type seekBody struct{ *io.SectionReader }

func (seekBody) Close() error { return nil }

func (b *body) reader() seekBody {
	if b.file != nil {
		return seekBody{io.NewSectionReader(b.file, 0, b.size)}
	}
	return seekBody{io.NewSectionReader(bytes.NewReader(b.data), 0, int64(len(b.data)))}
}

func (b *body) cleanup() {
	if b.file != nil {
		name := b.file.Name()
		b.file.Close()
		os.Remove(name)
	}
}

// call describes one EWS request.
type call struct {
	op         string
	anchor     string // X-AnchorMailbox
	publicMbx  string // X-PublicFolderMailbox
	body       *body
	idempotent bool // reads: retried after connection errors as well
}

// response is an HTTP 200 (or 500 with a SOAP body) ready to parse.
type response struct {
	*http.Response
	sess *session
	c    *Client
	done bool
}

// finish drains and closes the body so the authenticated connection is
// reused, and returns the session to the pool.
func (r *response) finish(broken bool) {
	if r.done {
		return
	}
	r.done = true
	if !broken {
		_, err := io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
		broken = err != nil
	}
	r.Body.Close()
	r.c.pool.release(r.sess, broken)
}

// do sends the call with retries and parses the response with parse. parse
// gets the raw body of an HTTP 200; a throttling *ResponseError it returns
// is retried like a fault.
func (c *Client) do(ctx context.Context, cl call, parse func(io.Reader, int) error) error {
	return c.retry(ctx, cl, func(r *response) (bool, error) {
		err := parse(r.Body, r.StatusCode)
		r.finish(false)
		return false, err
	})
}

// retry runs attempts of cl until one succeeds or fails for good. handle
// consumes a successful HTTP response; it reports keep=true when it keeps
// the response open (streaming) and owns finishing it.
func (c *Client) retry(ctx context.Context, cl call, handle func(*response) (keep bool, err error)) error {
	if r := c.publicRouteOf(ctx); r != "" && cl.publicMbx == "" {
		// A request about a public folder's content (publicfolders.go):
		// both routing headers name the folder's content mailbox.
		cl.anchor, cl.publicMbx = r, r
	}
	var lastErr error
	authRetried := false
	for attempt := 0; attempt <= c.cfg.MaxRetries; attempt++ {
		if attempt > 0 {
			wait := c.backoff(attempt, lastErr)
			if wait < 0 {
				// The server asked for a wait beyond MaxBackOff: give up
				// now, as throttled, rather than hold the call that long.
				return &ThrottledError{Operation: cl.op, Retries: attempt - 1, Wait: askedWait(lastErr), MaxWait: c.cfg.MaxBackOff, Err: lastErr}
			}
			level := slog.LevelDebug
			if wait >= time.Second {
				level = slog.LevelInfo // long waits are worth an operator's attention
			}
			c.log.Log(ctx, level, "ews: waiting before retry", "op", cl.op, "mailbox", cl.anchor, "attempt", attempt, "wait", wait, "error", lastErr)
			if err := sleep(ctx, wait); err != nil {
				return fmt.Errorf("EWS %s: %w (while waiting after: %v)", cl.op, err, lastErr)
			}
		}
		epoch := c.pool.currentEpoch()
		resp, err := c.send(ctx, cl)
		if err == nil {
			var keep bool
			keep, err = handle(resp)
			if !keep {
				resp.finish(false)
			}
			if err == nil {
				if n, raised := c.pool.succeeded(); raised {
					c.log.DebugContext(ctx, "ews: a run of successes, raising concurrency", "op", cl.op, "concurrency", n)
				}
				return nil
			}
		}
		if ctx.Err() != nil {
			return fmt.Errorf("EWS %s: %w", cl.op, ctx.Err())
		}
		// go-ntlmssp reports a connection lost during the handshake as the
		// first 401, so a 401 gets one more try on a fresh connection; a
		// second one is a real refusal (and no retry storm).
		var ae *AuthError
		if errors.As(err, &ae) {
			if authRetried {
				return err
			}
			authRetried = true
			lastErr = err
			continue
		}
		if overloaded(err) {
			if n, lowered := c.pool.overloaded(epoch); lowered {
				c.log.WarnContext(ctx, "ews: the server is busy or the account has too many requests in flight, halving concurrency", "op", cl.op, "concurrency", n, "error", err)
			}
			// The wait the server asked for holds the whole client; one
			// beyond MaxBackOff fails this call instead (below).
			if w := askedWait(err); w > 0 && w <= c.cfg.MaxBackOff {
				c.pool.pause(w)
			}
		}
		if !retryable(err, cl.idempotent) {
			return verdict(err)
		}
		lastErr = err
	}
	if throttling(lastErr) {
		return &ThrottledError{Operation: cl.op, Retries: c.cfg.MaxRetries, Err: lastErr}
	}
	// Dropped connections and bare 500s on a read: the client retried
	// them and gives up; ErrUnavailable tells the engine not to retry
	// them again (the job fails and the next run resumes it).
	return fmt.Errorf("EWS %s: giving up after %d retries: %w: %w", cl.op, c.cfg.MaxRetries, mailbox.ErrUnavailable, lastErr)
}

// verdict marks an error the client does not retry for the callers above
// it (see mailbox.ShouldRetry): exactly one layer retries a request.
//   - A request that may have been carried out and is not idempotent (a
//     CreateItem whose connection dropped, or whose answer was a 502 or 504
//     from a gateway) is not resent here: it is mailbox.Retryable, for the
//     engine, which looks the item's stamp up before it writes again.
//   - An answer no retry can change (a refused redirect, a 4xx such as 400,
//     a SOAP Client fault or schema violation, an HTML or malformed answer)
//     is mailbox.Permanent.
//
// Throttling answers never get here: the client retries them and returns
// a *ThrottledError when it gives up.
func verdict(err error) error {
	var p *permanent
	if errors.As(err, &p) {
		return err // ReadMIME's own stop; ReadMIME unwraps it
	}
	var te *transientError
	if errors.As(err, &te) {
		return mailbox.Retryable(err, te.retryAfter)
	}
	var he *HTTPError
	var re *ResponseError
	var me *MalformedError
	if errors.As(err, &he) && he.permanent() || errors.As(err, &re) && re.permanent() || errors.As(err, &me) {
		return mailbox.Permanent(err)
	}
	return err
}

// throttling reports whether err is an answer that asks the client to slow
// down: a throttling ResponseError, or HTTP 429, 502, 503 or 504.
func throttling(err error) bool {
	var re *ResponseError
	if errors.As(err, &re) {
		return re.throttling()
	}
	var te *transientError
	var he *HTTPError
	if errors.As(err, &te) && errors.As(te.err, &he) {
		switch he.Status {
		case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return true
		}
	}
	return false
}

// overloaded reports whether err says the server or the account has
// more requests than it takes: ErrorServerBusy (also as an inner error),
// ErrorExceededConnectionCount, HTTP 503 (IIS queueing) or 429. Gateway
// timeouts (502, 504) and other throttling codes are retried without
// changing the limit: they say nothing about concurrency.
func overloaded(err error) bool {
	var re *ResponseError
	if errors.As(err, &re) {
		return re.Code == "ErrorServerBusy" || re.Code == "ErrorExceededConnectionCount" || re.Values["InnerErrorResponseCode"] == "ErrorServerBusy"
	}
	var te *transientError
	var he *HTTPError
	if errors.As(err, &te) && errors.As(te.err, &he) {
		return he.Status == http.StatusServiceUnavailable || he.Status == http.StatusTooManyRequests
	}
	return false
}

// askedWait is the wait the server asked for with err, 0 when it did not say.
func askedWait(err error) time.Duration {
	var re *ResponseError
	if errors.As(err, &re) && re.BackOff > 0 {
		return re.BackOff
	}
	var te *transientError
	if errors.As(err, &te) {
		return te.retryAfter
	}
	return 0
}

// transientError marks HTTP 503, bare HTTP 500s and dropped connections.
type transientError struct {
	err        error
	retryAfter time.Duration
	sent       bool // the request may have reached the server
}

func (e *transientError) Error() string { return e.err.Error() }
func (e *transientError) Unwrap() error { return e.err }

func retryable(err error, idempotent bool) bool {
	var p *permanent
	if errors.As(err, &p) {
		return false
	}
	var te *transientError
	if errors.As(err, &te) {
		return idempotent || !te.sent
	}
	var re *ResponseError
	return errors.As(err, &re) && re.throttling()
}

// backoff is how long to wait before the next attempt; -1 means give up.
func (c *Client) backoff(attempt int, err error) time.Duration {
	var re *ResponseError
	if errors.As(err, &re) {
		if re.BackOff > 0 {
			if re.BackOff > c.cfg.MaxBackOff {
				return -1
			}
			return re.BackOff
		}
		if re.Code == "ErrorExceededConnectionCount" {
			return jitter(c.cfg.RetryBase / 4)
		}
	}
	var te *transientError
	if errors.As(err, &te) && te.retryAfter > 0 {
		if te.retryAfter > c.cfg.MaxBackOff {
			return -1
		}
		return te.retryAfter
	}
	d := c.cfg.RetryBase << (attempt - 1)
	if d > c.cfg.MaxBackOff || d <= 0 {
		d = c.cfg.MaxBackOff
	}
	return jitter(d)
}

// jitter spreads d over [d/2, d).
func jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// send performs one HTTP exchange. It returns a response for HTTP 200 and
// turns every other outcome into an error.
func (c *Client) send(ctx context.Context, cl call) (*response, error) {
	sess, err := c.pool.acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("EWS %s: %w", cl.op, err)
	}
	if cl.body.size > primeThreshold && !sess.primed {
		// go-ntlmssp sends a body once anonymously and once per handshake
		// leg; authenticate the connection first with an empty request so
		// a big item crosses the wire once.
		if err := c.prime(ctx, sess); err != nil {
			c.pool.release(sess, true)
			return nil, err
		}
	}
	rb := cl.body.reader()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.URL, rb)
	if err != nil {
		c.pool.release(sess, false)
		return nil, fmt.Errorf("EWS %s: %w", cl.op, err)
	}
	req.ContentLength = rb.Size()
	req.GetBody = func() (io.ReadCloser, error) { return cl.body.reader(), nil }
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("Accept", "text/xml")
	req.Header.Set("User-Agent", "exmigrate")
	if cl.anchor != "" {
		req.Header.Set("X-AnchorMailbox", cl.anchor)
	}
	if cl.publicMbx != "" {
		req.Header.Set("X-PublicFolderMailbox", cl.publicMbx)
	}
	// go-ntlmssp takes the credentials from here and turns them into NTLM;
	// with AllowBasicAuth false it strips this header and never sends Basic.
	req.SetBasicAuth(c.cfg.Username, c.cfg.Password)
	start := time.Now()
	sess.loss.lost = nil
	resp, err := sess.hc.Do(req)
	if resp != nil {
		c.log.DebugContext(ctx, "ews request", "op", cl.op, "mailbox", cl.anchor, "status", resp.StatusCode,
			"bytes", cl.body.size, "duration", time.Since(start))
	}
	if err != nil {
		c.pool.release(sess, true)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var ue interface{ Unwrap() error }
		if errors.As(err, &ue) {
			err = ue.Unwrap() // drop the URL wrapper: it adds nothing
		}
		var certErr *tls.CertificateVerificationError
		if errors.As(err, &certErr) {
			return nil, fmt.Errorf("EWS %s: TLS certificate of %s not trusted: %w (add the issuing CA to the CA bundle)", cl.op, c.cfg.URL, err)
		}
		return nil, &transientError{err: fmt.Errorf("EWS %s: %w", cl.op, err), sent: true}
	}
	r := &response{Response: resp, sess: sess, c: c}
	switch {
	case resp.StatusCode == http.StatusOK && isHTML(resp.Header.Get("Content-Type")):
		// A reverse proxy's sign-in or error page, not EWS.
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		r.finish(false)
		return nil, &MalformedError{Operation: cl.op, Status: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"),
			Reason: "a proxy or sign-in page in front of EWS? check onprem.url", Body: snippet(data)}
	case resp.StatusCode == http.StatusOK:
		sess.primed = true
		return r, nil
	case resp.StatusCode == http.StatusUnauthorized && sess.loss.lost != nil:
		lost := sess.loss.lost
		r.finish(true)
		return nil, &transientError{err: fmt.Errorf("EWS %s: no answer on the connection (NTLM handshake or request): %w", cl.op, lost), sent: true}
	case resp.StatusCode == http.StatusUnauthorized:
		r.finish(true)
		return nil, &AuthError{Username: c.cfg.Username, URL: c.cfg.URL}
	case resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusTooManyRequests:
		// IIS queueing the request, or asking to slow down: the request was
		// not carried out, so even a write is sent again, after
		// Retry-After when the server says how long.
		ra, _ := retryafter.Parse(resp.Header.Get("Retry-After"), time.Now())
		r.finish(false)
		return nil, &transientError{err: &HTTPError{Operation: cl.op, Status: resp.StatusCode}, retryAfter: ra}
	case resp.StatusCode == http.StatusBadGateway || resp.StatusCode == http.StatusGatewayTimeout:
		// A gateway gave up waiting for Exchange, which may have carried
		// the request out: reads are retried, writes are not resent here.
		ra, _ := retryafter.Parse(resp.Header.Get("Retry-After"), time.Now())
		r.finish(false)
		return nil, &transientError{err: &HTTPError{Operation: cl.op, Status: resp.StatusCode}, retryAfter: ra, sent: true}
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		loc := resp.Header.Get("Location")
		r.finish(false)
		he := &HTTPError{Operation: cl.op, Status: resp.StatusCode, Location: loc}
		if strings.Contains(strings.ToLower(loc), "/ews/genericerrorpage.htm") {
			// Exchange's transient error page: not a move of the endpoint. The
			// redirect is still not followed; the request is retried here.
			return nil, &transientError{err: he, sent: true}
		}
		return nil, he
	case resp.StatusCode == http.StatusInternalServerError:
		// EWS answers faults (ErrorServerBusy, ErrorSchemaValidation ...) with 500.
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		r.finish(false)
		fe, perr := ParseFault(bytes.NewReader(data), cl.op)
		if fe != nil {
			return nil, fe
		}
		_ = perr
		return nil, &transientError{err: &HTTPError{Operation: cl.op, Status: 500, Body: snippet(data)}, sent: true}
	default:
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		r.finish(false)
		return nil, &HTTPError{Operation: cl.op, Status: resp.StatusCode, Body: snippet(data)}
	}
}

// primeThreshold is the body size above which a fresh connection is
// authenticated before the body is sent.
const primeThreshold = 256 << 10

func (c *Client) prime(ctx context.Context, sess *session) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.cfg.URL, nil)
	if err != nil {
		return err
	}
	req.SetBasicAuth(c.cfg.Username, c.cfg.Password)
	resp, err := sess.hc.Do(req)
	if err != nil {
		return &transientError{err: fmt.Errorf("EWS: authenticating a connection: %w", err)}
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized {
		return &AuthError{Username: c.cfg.Username, URL: c.cfg.URL}
	}
	sess.primed = true
	return nil
}

// isHTML reports whether a Content-Type is an HTML page.
func isHTML(ct string) bool {
	mt, _, _ := mime.ParseMediaType(ct)
	return mt == "text/html" || mt == "application/xhtml+xml"
}

func snippet(b []byte) string {
	if len(b) > 200 {
		b = b[:200]
	}
	return string(bytes.ToValidUTF8(b, []byte("?")))
}
