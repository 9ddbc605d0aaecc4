package graphtest

import (
	"context"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/exmigrate/exmigrate/internal/retryafter"
)

// retryGrace is how long after a 429 a request may still arrive without
// counting as early: requests the client had already started when the 429
// was on the wire are not late to learn of it.
const retryGrace = 25 * time.Millisecond

type upload struct {
	at time.Time
	n  int64
}

// limiter holds one app-and-mailbox pair's usage.
type limiter struct {
	inFlight     int
	reqs         []time.Time
	arrivals     []time.Time // every counted request, kept WithArrivalLog
	uploads      []upload
	uploadLog    []upload // every counted upload, kept WithArrivalLog
	blockedFrom  time.Time
	blockedUntil time.Time
}

func (l *limiter) prune(now time.Time, lim Limits) {
	i := 0
	for i < len(l.reqs) && now.Sub(l.reqs[i]) >= lim.RequestWindow {
		i++
	}
	l.reqs = l.reqs[i:]
	j := 0
	for j < len(l.uploads) && now.Sub(l.uploads[j].at) >= lim.UploadWindow {
		j++
	}
	l.uploads = l.uploads[j:]
}

// throttle is a 429 decision.
type throttle struct {
	code, msg  string
	retryAfter time.Duration
}

// admit counts a request arriving for an app and mailbox against the
// concurrency limit and the request budget. On success the caller must call
// the returned release.
func (s *Server) admit(r *http.Request, appID string, mb *mbox) (release func(), th *throttle) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	key := appID + "|" + strings.ToLower(mb.address)
	l := s.limiters[key]
	if l == nil {
		l = &limiter{}
		s.limiters[key] = l
	}
	if now.Before(l.blockedUntil) && now.Sub(l.blockedFrom) > retryGrace {
		s.earlyArrivals.Add(1)
		if r.Header.Get("Retry-Attempt") != "" {
			s.earlyRetries.Add(1)
		}
	}
	mb.inFlight++
	mb.maxInFlight = max(mb.maxInFlight, mb.inFlight)
	l.prune(now, s.limits)
	switch {
	case l.inFlight >= s.limits.MaxConcurrent:
		th = &throttle{"ApplicationThrottled", "Application is over its MailboxConcurrency limit.", s.limits.ConcurrencyRetryAfter}
	case len(l.reqs) >= s.limits.RequestsPerWindow:
		th = &throttle{"ApplicationThrottled", "Application is over its MailboxRequests limit.", l.reqs[0].Add(s.limits.RequestWindow).Sub(now)}
	}
	if th != nil {
		mb.inFlight--
		l.block(now, th.retryAfter)
		return nil, th
	}
	l.inFlight++
	l.reqs = append(l.reqs, now)
	if s.arrivalLog {
		l.arrivals = append(l.arrivals, now)
	}
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		l.inFlight--
		mb.inFlight--
	}, nil
}

func (l *limiter) block(now time.Time, d time.Duration) {
	l.blockedFrom = now
	if u := now.Add(d); u.After(l.blockedUntil) {
		l.blockedUntil = u
	}
}

// admitUpload counts n uploaded bytes against the IncomingBytes budget.
func (s *Server) admitUpload(appID string, mb *mbox, n int64) *throttle {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	l := s.limiters[appID+"|"+strings.ToLower(mb.address)]
	l.prune(now, s.limits)
	var used int64
	for _, u := range l.uploads {
		used += u.n
	}
	if used+n > s.limits.UploadBytesPerWindow {
		// Retry when enough of the window has expired to fit n.
		wait := s.limits.UploadWindow
		freed := int64(0)
		for _, u := range l.uploads {
			freed += u.n
			if used-freed+n <= s.limits.UploadBytesPerWindow {
				wait = u.at.Add(s.limits.UploadWindow).Sub(now)
				break
			}
		}
		l.block(now, wait)
		return &throttle{"ApplicationThrottled", "Application is over its IncomingBytes limit.", wait}
	}
	l.uploads = append(l.uploads, upload{now, n})
	if s.arrivalLog {
		l.uploadLog = append(l.uploadLog, upload{now, n})
	}
	return nil
}

// formatRetryAfter writes whole seconds for long waits and fractional
// seconds for short ones, as Graph does (e.g. "2.128").
func formatRetryAfter(d time.Duration) string {
	if d <= 0 {
		return "0"
	}
	if d >= 10*time.Second {
		return strconv.FormatInt(int64(math.Ceil(d.Seconds())), 10)
	}
	return strconv.FormatFloat(math.Ceil(d.Seconds()*1000)/1000, 'f', -1, 64)
}

func (s *Server) writeThrottle(w http.ResponseWriter, th *throttle) {
	s.throttled.Add(1)
	w.Header().Set("Retry-After", formatRetryAfter(th.retryAfter))
	graphError(w, http.StatusTooManyRequests, th.code, th.msg)
}

// ------------------------------------------------------------------ faults

// FaultKind is what an injected fault does.
type FaultKind int

// Fault kinds.
const (
	// FaultThrottle answers 429 TooManyRequests with the fault's RetryAfter.
	FaultThrottle FaultKind = iota
	// FaultUnavailable answers 503 ServiceUnavailable with RetryAfter if set.
	FaultUnavailable
	// FaultGatewayTimeout answers 504.
	FaultGatewayTimeout
	// FaultDrop closes the connection without an answer.
	FaultDrop
	// FaultLatency delays the request by Latency, then serves it.
	FaultLatency
	// FaultDropAfter serves the request (its effects stay), then closes
	// the connection before the answer: the client cannot know it worked.
	FaultDropAfter
	// FaultAnswer answers Status with Body (of ContentType, JSON when
	// empty) without serving the request: an error Graph sends, or a page
	// a proxy in front of Graph sends instead. EchoURL in Body stands for
	// the URL of the request answered.
	FaultAnswer
)

// EchoURL in a FaultAnswer's Body is replaced by the full URL of the
// request answered, query included, as proxies' error pages and some
// error messages echo it: a pre-authenticated upload URL's authtoken
// then comes back in the error body.
const EchoURL = "{request-url}"

// Fault is one injected fault, applied to the next Count Graph requests
// whose path contains Path and whose method is Method (empty matches all).
type Fault struct {
	Kind       FaultKind
	Count      int
	Path       string
	Method     string
	RetryAfter string // the Retry-After header value, verbatim
	Latency    time.Duration
	// For FaultAnswer.
	Status      int
	ContentType string
	Body        string
}

// Inject queues a fault.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ff := f
	s.faults = append(s.faults, &ff)
}

// ClearFaults drops every injected fault not yet applied.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// PendingFaults counts injected faults not yet applied.
func (s *Server) PendingFaults() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, f := range s.faults {
		n += f.Count
	}
	return n
}

type noFaultsKey struct{}

func (s *Server) takeFault(r *http.Request) *Fault {
	if r.Context().Value(noFaultsKey{}) != nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if f.Count <= 0 || (f.Path != "" && !strings.Contains(r.URL.Path, f.Path)) || (f.Method != "" && f.Method != r.Method) {
			continue
		}
		f.Count--
		c := *f
		if f.Count == 0 {
			s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
		}
		return &c
	}
	return nil
}

// applyFault serves an injected fault; it reports whether the request is done.
func (s *Server) applyFault(w http.ResponseWriter, r *http.Request, appID string, mb *mbox) bool {
	f := s.takeFault(r)
	if f == nil {
		return false
	}
	switch f.Kind {
	case FaultLatency:
		select {
		case <-time.After(f.Latency):
		case <-r.Context().Done():
		}
		return false
	case FaultDropAfter:
		s.ServeHTTP(newRecorder(), r.WithContext(context.WithValue(r.Context(), noFaultsKey{}, true)))
		fallthrough
	case FaultDrop:
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				c.Close()
				return true
			}
		}
		panic(http.ErrAbortHandler)
	case FaultThrottle:
		if mb != nil {
			if d, ok := retryafter.Parse(f.RetryAfter, time.Now()); ok {
				s.mu.Lock()
				key := appID + "|" + strings.ToLower(mb.address)
				if s.limiters[key] == nil {
					s.limiters[key] = &limiter{}
				}
				s.limiters[key].block(time.Now(), d)
				s.mu.Unlock()
			}
		}
		s.throttled.Add(1)
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		graphError(w, http.StatusTooManyRequests, "TooManyRequests", "Too many requests.")
	case FaultUnavailable:
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		graphError(w, http.StatusServiceUnavailable, "ServiceUnavailable", "The service is temporarily unavailable.")
	case FaultGatewayTimeout:
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		graphError(w, http.StatusGatewayTimeout, "GatewayTimeout", "The gateway timed out.")
	case FaultAnswer:
		ct := f.ContentType
		if ct == "" {
			ct = "application/json"
		}
		w.Header().Set("Content-Type", ct)
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		w.WriteHeader(f.Status)
		io.WriteString(w, strings.ReplaceAll(f.Body, EchoURL, origin(r)+r.URL.RequestURI()))
	}
	return true
}
