package graphmail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/exmigrate/exmigrate/internal/retryafter"
	"github.com/exmigrate/exmigrate/mailbox"
)

// The scheduler keeps every request for one mailbox within Graph's limits
// for an app and mailbox pair: at most MaxInFlight requests in flight, a
// request budget per window and an upload budget per window. It also owns
// retries: 429, 503 and 504 are retried after Retry-After (seconds, possibly
// fractional, or an HTTP date) or a bounded jittered back-off, and a 429
// pauses the whole mailbox, not only the request that got it. The SDK's own
// retry handler is switched off so that the two never stack, and what the
// scheduler gives up on, or does not resend, comes back as an error that
// says so (stopError), so that the copy engine does not retry it again.
//
// Each budget is spent at an even rate (issue 16): a token bucket per
// mailbox and budget, refilled at (limit - burst) / window and holding at
// most a small burst, gates every request, so that a mailbox of many small
// items is written at a steady pace across the window instead of spending
// the whole window's budget in its first minute and idling for the rest.
// A mailbox's first window starts with a larger allowance
// (Limits.StartAllowance), so that a small mailbox still goes at once,
// and the rest of that window is paced to match (see newPace). Since a
// bucket of b refilled at (limit - b) / window lets through at most limit
// in any window, the pacing alone keeps within the limit; the ledgers of
// what was sent (reqs, uploads) stay as the hard ceiling, counted as the
// service counts them (a sliding window from the answer).
type scheduler struct {
	limits    Limits
	reqPace   pace
	upPace    pace
	log       *slog.Logger
	next      http.RoundTripper
	graphHost string // requests to it ask for immutable ids
	// unauthorized is told the Authorization header of a request Graph
	// answered 401, raw or the SDK's, so that its token is not sent again.
	unauthorized func(authorization string)

	mu    sync.Mutex
	boxes map[string]*boxState
}

type boxState struct {
	sem   chan struct{}
	multi sync.Mutex // one multi-slot ($batch) acquirer at a time, so two cannot deadlock

	mu          sync.Mutex
	reqs        []*sizedAt
	uploads     []*sizedAt
	pausedUntil time.Time
	reqTokens   bucket
	upTokens    bucket

	stats struct {
		requests, retries, throttled, transportErrors atomic.Int64
		waited                                        atomic.Int64 // nanoseconds spent waiting for budgets and Retry-After
	}
}

type sizedAt struct {
	at time.Time
	n  int64
}

// Stats are one mailbox's scheduler counters.
type Stats struct {
	Requests        int64         // attempts sent, retries included
	Retries         int64         // attempts that were retries
	Throttled       int64         // 429 answers received
	TransportErrors int64         // dropped connections and similar
	Waited          time.Duration // time spent waiting on budgets and Retry-After
}

type mailboxKey struct{}

// withMailbox tags a request context with the mailbox whose budget it spends.
func withMailbox(ctx context.Context, address string) context.Context {
	return context.WithValue(ctx, mailboxKey{}, strings.ToLower(address))
}

func mailboxOf(req *http.Request) string {
	if v, ok := req.Context().Value(mailboxKey{}).(string); ok {
		return v
	}
	// Requests the SDK builds without our context still name the user.
	p := req.URL.EscapedPath()
	if i := strings.Index(p, "/users/"); i >= 0 {
		rest := p[i+len("/users/"):]
		if j := strings.IndexByte(rest, '/'); j >= 0 {
			rest = rest[:j]
		}
		if u, err := url.PathUnescape(rest); err == nil {
			return strings.ToLower(u)
		}
	}
	return ""
}

// pace is the even rate at which one budget is spent.
type pace struct {
	burst  float64       // what the bucket holds at most once running
	rate   float64       // tokens a second once running: (limit - burst) / window
	start  float64       // what a mailbox may spend at once when first used
	rate0  float64       // tokens a second in its first window: (limit - start) / window
	window time.Duration // the budget's window
}

// newPace paces a budget of limit per window. The burst is burst, or by
// default 1% of the limit (at least floor); the start allowance is the
// fraction start of the limit (at least the burst). Both are at most half
// the limit and at least 1. In a mailbox's first window the bucket holds
// the start allowance and refills at (limit - start) / window, and after
// it holds at most the burst and refills at (limit - burst) / window: in
// either case what any window can hold comes to the limit, so that the
// budget is spent evenly, without the wait at the end of a window a burst
// would cost. With Graph's 10,000 requests per 10 minutes and the default
// start of half: 5,000 at once, 8.3 a second to the end of the first 10
// minutes, then 16.5 a second with a burst of 100; with 150 MB per 5
// minutes: 75 MB at once, then 0.25 MB a second, then 0.495 MB a second
// with a burst of 1.5 MB (a request of up to 4 MB goes when the bucket is
// full and leaves it in debt).
func newPace(limit float64, window time.Duration, burst, floor, start float64) pace {
	if burst <= 0 {
		burst = max(limit/100, floor)
	}
	clamp := func(v float64) float64 { return max(min(v, limit/2), 1) }
	p := pace{burst: clamp(burst), window: window}
	p.start = clamp(max(start*limit, p.burst))
	rate := func(b float64) float64 {
		if limit-b <= 0 {
			return limit / window.Seconds()
		}
		return (limit - b) / window.Seconds()
	}
	p.rate, p.rate0 = rate(p.burst), rate(p.start)
	return p
}

// bucket is one mailbox's tokens of one budget.
type bucket struct {
	tokens float64
	at     time.Time // when tokens was last brought up to date
	first  time.Time // when the mailbox first spent this budget
}

// refill brings the bucket up to now. A bucket holding more than the
// burst (the start allowance) gains nothing, and what is left of the
// start allowance after the first window is cut to the burst.
func (k *bucket) refill(p pace, now time.Time) {
	if k.first.IsZero() {
		k.tokens, k.at, k.first = p.start, now, now
		return
	}
	d := now.Sub(k.at)
	if d <= 0 {
		return
	}
	k.at = now
	rate := p.rate0
	if now.Sub(k.first) >= p.window {
		rate = p.rate
		k.tokens = min(k.tokens, p.burst)
	}
	if k.tokens < p.burst {
		k.tokens = min(p.burst, k.tokens+d.Seconds()*rate)
	}
}

// wait is how long until the bucket lets n through: when it holds n, or,
// for an n larger than the burst (a $batch of many steps, an upload range
// of megabytes), when it holds the burst. Taking n may leave the bucket in
// debt, which the requests after repay by waiting.
func (k *bucket) wait(p pace, n float64, now time.Time) time.Duration {
	need := min(n, p.burst)
	if k.tokens >= need {
		return 0
	}
	rate := p.rate
	if now.Sub(k.first) < p.window {
		rate = p.rate0
	}
	return time.Duration((need - k.tokens) / rate * float64(time.Second))
}

func newScheduler(l Limits, log *slog.Logger, next http.RoundTripper, graphHost string) *scheduler {
	return &scheduler{
		limits: l, log: log, next: next, graphHost: graphHost, boxes: map[string]*boxState{},
		reqPace: newPace(float64(l.RequestsPerWindow), l.RequestWindow, float64(l.RequestBurst), float64(l.MaxInFlight), l.StartAllowance),
		upPace:  newPace(float64(l.UploadBytesPerWindow), l.UploadWindow, float64(l.UploadBurst), 0, l.StartAllowance),
	}
}

// box is a mailbox's state, by its address in any case: the requests'
// contexts carry it lowercased (withMailbox), callers as they have it.
func (s *scheduler) box(key string) *boxState {
	key = strings.ToLower(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.boxes[key]
	if b == nil {
		b = &boxState{sem: make(chan struct{}, s.limits.MaxInFlight)}
		s.boxes[key] = b
	}
	return b
}

func (s *scheduler) stats(address string) Stats {
	b := s.box(address)
	return Stats{
		Requests: b.stats.requests.Load(), Retries: b.stats.retries.Load(), Throttled: b.stats.throttled.Load(),
		TransportErrors: b.stats.transportErrors.Load(), Waited: time.Duration(b.stats.waited.Load()),
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// reserve waits until the mailbox is not paused, both buckets let the
// request through (the even pace) and both budgets have room for one
// request of n upload bytes, then spends them.
//
// It returns the stamps it recorded; the caller moves them to the time the
// answer came (restamp), because Graph counts a request when it arrives,
// later than when it was sent: a window measured from the send would
// expire early and overrun the server's.
func (s *scheduler) reserve(ctx context.Context, b *boxState, n int64, count int) ([]*sizedAt, error) {
	for {
		now := time.Now()
		b.mu.Lock()
		wait := b.pausedUntil.Sub(now)
		if wait <= 0 {
			b.reqTokens.refill(s.reqPace, now)
			wait = b.reqTokens.wait(s.reqPace, float64(count), now)
			if n > 0 {
				b.upTokens.refill(s.upPace, now)
				wait = max(wait, b.upTokens.wait(s.upPace, float64(n), now))
			}
		}
		if wait <= 0 {
			for len(b.reqs) > 0 && now.Sub(b.reqs[0].at) >= s.limits.RequestWindow {
				b.reqs = b.reqs[1:]
			}
			for len(b.uploads) > 0 && now.Sub(b.uploads[0].at) >= s.limits.UploadWindow {
				b.uploads = b.uploads[1:]
			}
			if len(b.reqs)+count > s.limits.RequestsPerWindow {
				wait = b.reqs[min(len(b.reqs)+count-s.limits.RequestsPerWindow, len(b.reqs))-1].at.Add(s.limits.RequestWindow).Sub(now)
			} else if n > 0 {
				var used int64
				for _, u := range b.uploads {
					used += u.n
				}
				if used+n > s.limits.UploadBytesPerWindow && len(b.uploads) > 0 {
					freed := int64(0)
					for _, u := range b.uploads {
						freed += u.n
						wait = u.at.Add(s.limits.UploadWindow).Sub(now)
						if used-freed+n <= s.limits.UploadBytesPerWindow {
							break
						}
					}
				}
			}
			if wait <= 0 {
				b.reqTokens.tokens -= float64(count)
				if n > 0 {
					b.upTokens.tokens -= float64(n)
				}
				stamps := make([]*sizedAt, 0, count+1)
				for range count {
					st := &sizedAt{at: now}
					b.reqs = append(b.reqs, st)
					stamps = append(stamps, st)
				}
				if n > 0 {
					st := &sizedAt{at: now, n: n}
					b.uploads = append(b.uploads, st)
					stamps = append(stamps, st)
				}
				b.mu.Unlock()
				return stamps, nil
			}
		}
		b.mu.Unlock()
		b.stats.waited.Add(int64(wait))
		if err := sleepCtx(ctx, wait+time.Millisecond); err != nil {
			return nil, err
		}
	}
}

func (b *boxState) restamp(stamps []*sizedAt) {
	now := time.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, st := range stamps {
		st.at = now
	}
}

func (b *boxState) pause(d time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if u := time.Now().Add(d); u.After(b.pausedUntil) {
		b.pausedUntil = u
	}
}

// replayable makes a request body readable again for a retry.
func replayable(req *http.Request) (func() (io.ReadCloser, error), error) {
	if req.Body == nil || req.Body == http.NoBody {
		return func() (io.ReadCloser, error) { return http.NoBody, nil }, nil
	}
	if req.GetBody != nil {
		return req.GetBody, nil
	}
	// Graph request bodies are at most 4 MB, so holding one is bounded.
	data, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return nil, err
	}
	return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }, nil
}

type resendKey struct{}

// withResendable marks the POSTs of a context as ones the server
// deduplicates (an event create with its transactionId: Graph drops a
// second POST of it and answers with the event the first made,
// resources/event): the scheduler resends them after a dropped connection
// or a 504 as it does idempotent requests.
func withResendable(ctx context.Context) context.Context {
	return context.WithValue(ctx, resendKey{}, true)
}

// canResend reports whether a request may be sent again after an answer
// that leaves unknown whether it was carried out.
func canResend(req *http.Request) bool {
	return idempotent(req.Method) || req.Context().Value(resendKey{}) != nil
}

func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return true
	}
	return false
}

// RoundTrip implements http.RoundTripper.
func (s *scheduler) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	key := mailboxOf(req)
	b := s.box(key)
	getBody, err := replayable(req)
	if err != nil {
		return nil, fmt.Errorf("graph %s %s: read request body: %w", req.Method, req.URL.Path, err)
	}
	var upload int64
	if req.Method == http.MethodPost || req.Method == http.MethodPut || req.Method == http.MethodPatch {
		upload = max(req.ContentLength, 0)
	}
	weight := min(batchWeight(ctx), s.limits.RequestsPerWindow)
	slots := min(weight, s.limits.MaxInFlight)
	release := func() {
		for range slots {
			<-b.sem
		}
	}
	for attempt := 0; ; attempt++ {
		stamps, err := s.reserve(ctx, b, upload, weight)
		if err != nil {
			return nil, err
		}
		if err := b.acquire(ctx, slots); err != nil {
			return nil, err
		}
		// A 429 may have paused the mailbox while this request waited for a slot.
		b.mu.Lock()
		paused := time.Until(b.pausedUntil)
		b.mu.Unlock()
		if paused > 0 {
			release()
			b.stats.waited.Add(int64(paused))
			if err := sleepCtx(ctx, paused); err != nil {
				return nil, err
			}
			if err := b.acquire(ctx, slots); err != nil {
				return nil, err
			}
		}
		r := req.Clone(ctx)
		if strings.EqualFold(r.URL.Hostname(), s.graphHost) {
			// Immutable ids survive moves between folders, so the ids the
			// state store records stay valid.
			r.Header.Add("Prefer", `IdType="ImmutableId"`)
		}
		if r.Body, err = getBody(); err != nil {
			release()
			return nil, err
		}
		if attempt > 0 {
			b.stats.retries.Add(1)
			// The header the Graph SDKs' own retry handlers send.
			r.Header.Set("Retry-Attempt", strconv.Itoa(attempt))
		}
		b.stats.requests.Add(1)
		resp, err := s.next.RoundTrip(r)
		b.restamp(stamps)
		if err != nil {
			release()
			b.stats.transportErrors.Add(1)
			// The URL may be pre-authenticated (an upload session's):
			// should the transport's error quote it, its token must not
			// reach the log line or the error below. They name the
			// request by its path; the token is in the query.
			err = newPreauthURL(req.URL.String()).redactErr(err)
			if ctx.Err() != nil {
				return nil, err
			}
			if !canResend(req) {
				// The request may have been carried out: it is not resent
				// here but left to the copy engine, which looks the stamp
				// up before it writes again.
				return nil, mailbox.Retryable(err, 0)
			}
			if attempt >= s.limits.MaxRetries {
				// Retried here already: unavailable, final above.
				return nil, fmt.Errorf("graph: %s %s: no answer after %d retries: %w: %w", req.Method, req.URL.Path, attempt, mailbox.ErrUnavailable, err)
			}
			d := s.backoff(attempt)
			s.log.Debug("graph transport error, retrying", "mailbox", key, "method", req.Method, "path", req.URL.Path, "attempt", attempt+1, "wait", d, "err", err)
			b.stats.waited.Add(int64(d))
			if err := sleepCtx(ctx, d); err != nil {
				return nil, err
			}
			continue
		}
		code := resp.StatusCode
		if code == http.StatusUnauthorized && s.unauthorized != nil {
			s.unauthorized(r.Header.Get("Authorization"))
		}
		// A 504 means the gateway gave up waiting, not that Graph did not
		// act: a POST may have created the message. Only idempotent
		// requests are resent here; the copy engine looks for the stamp
		// before it writes an item again.
		throttled := throttlingStatus(code)
		resend := code != http.StatusGatewayTimeout || canResend(req)
		asked, given := retryafter.Parse(resp.Header.Get("Retry-After"), time.Now())
		// A Retry-After longer than this client waits in one go is not
		// cut short (a request sent sooner breaks the service's limit):
		// the scheduler stops, and the error carries the wait.
		tooLong := given && asked > s.limits.MaxBackoff
		if throttled && resend && attempt < s.limits.MaxRetries && !tooLong {
			d := asked
			if !given {
				d = s.backoff(attempt)
			}
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
			if code == http.StatusTooManyRequests {
				b.stats.throttled.Add(1)
				// Graph's Retry-After is for the app and mailbox, so every
				// request for this mailbox waits, not only this one.
				b.pause(d)
			}
			release()
			s.log.Debug("graph throttled, retrying", "mailbox", key, "status", code, "method", req.Method, "path", req.URL.Path, "attempt", attempt+1, "wait", d)
			b.stats.waited.Add(int64(d))
			if err := sleepCtx(ctx, d); err != nil {
				return nil, err
			}
			continue
		}
		if code == http.StatusTooManyRequests {
			b.stats.throttled.Add(1)
			if tooLong {
				b.pause(asked) // the mailbox's other requests hold back too
			}
		}
		if throttled || code >= 400 && !isJSON(resp.Header.Get("Content-Type")) {
			err := stopError(resp, attempt, throttled, resend)
			if e := (*Error)(nil); tooLong && errors.As(err, &e) {
				e.wait = asked
			}
			release()
			return nil, err
		}
		// The slot is held until the body is closed: a streamed MIME is in
		// flight for as long as it is being read.
		resp.Body = &releaseBody{ReadCloser: resp.Body, release: release}
		return resp, nil
	}
}

// throttlingStatus reports whether an HTTP status is one of Graph's
// throttling answers, which the scheduler (and runBatch, for the steps of
// a $batch) retries.
func throttlingStatus(code int) bool {
	return code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable || code == http.StatusGatewayTimeout
}

// stopError turns an answer the scheduler stops at into an error that
// carries what the scheduler did, so that exactly one layer retries a
// request (mailbox.ShouldRetry decides above the adapter):
//   - a throttling answer it retried MaxRetries times: an *Error matching
//     mailbox.ErrThrottled, final;
//   - a 504 to a request it does not resend (a POST, which may have been
//     carried out): mailbox.Retryable with the Retry-After, for the copy
//     engine, which looks the stamp up before it writes again;
//   - an error answer that is not Graph's JSON (an HTML page from a proxy):
//     an *Error with its status, which the SDK could not have parsed
//     without losing it; permanent for a 4xx, as Graph's own would be.
//
// It closes the body.
func stopError(resp *http.Response, retries int, throttled, resend bool) error {
	defer resp.Body.Close()
	e := answerError("", resp)
	switch {
	case throttled && resend:
		e.kind, e.retries = mailbox.ErrThrottled, retries
		return e
	case throttled:
		e.kind = nil
		after, _ := retryafter.Parse(resp.Header.Get("Retry-After"), time.Now())
		return mailbox.Retryable(e, after)
	}
	return e.verdict()
}

// isJSON reports whether a Content-Type is JSON (Graph's error envelope).
func isJSON(ct string) bool {
	mt, _, _ := mime.ParseMediaType(ct)
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

// backoff is a full-jitter exponential back-off: 0.5 s, 1 s, 2 s ... capped.
func (s *scheduler) backoff(attempt int) time.Duration {
	d := time.Duration(float64(500*time.Millisecond) * math.Pow(2, float64(min(attempt, 16))))
	d = min(d, s.limits.MaxBackoff)
	return d/2 + rand.N(d/2+1)
}

type releaseBody struct {
	io.ReadCloser
	once    sync.Once
	release func()
}

func (r *releaseBody) Close() error {
	err := r.ReadCloser.Close()
	r.once.Do(r.release)
	return err
}

// acquire takes n in-flight slots of the mailbox.
func (b *boxState) acquire(ctx context.Context, n int) error {
	if n > 1 {
		b.multi.Lock()
		defer b.multi.Unlock()
	}
	for i := range n {
		select {
		case b.sem <- struct{}{}:
		case <-ctx.Done():
			for range i {
				<-b.sem
			}
			return ctx.Err()
		}
	}
	return nil
}
