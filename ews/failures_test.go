package ews_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/ews"
	"github.com/exmigrate/exmigrate/ews/ewstest"
	"github.com/exmigrate/exmigrate/mailbox"
	"github.com/exmigrate/exmigrate/mailbox/mailboxtest"
)

// front serves the fake behind a handler that can replace the fake's answer
// to the next authenticated request of an operation with a canned one, as
// a reverse proxy or a misbehaving server would. The fake still runs NTLM
// and counts the request (Server.Requests), and still carries it out.
type front struct {
	srv *ewstest.Server
	mu  sync.Mutex
	// canned answers for an operation, used in order; nil entries pass.
	canned map[string][]func(http.ResponseWriter)
}

func (f *front) answer(op string, times int, fn func(http.ResponseWriter)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for range times {
		f.canned[op] = append(f.canned[op], fn)
	}
}

func (f *front) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	cw := &cannedWriter{w: w, h: http.Header{}, take: func(op string) func(http.ResponseWriter) {
		f.mu.Lock()
		defer f.mu.Unlock()
		if q := f.canned[op]; len(q) > 0 {
			f.canned[op] = q[1:]
			return q[0]
		}
		return nil
	}}
	// The operation is the first child of the SOAP Body: good enough to
	// find it in the requests the client sends.
	var buf bytes.Buffer
	buf.ReadFrom(r.Body)
	cw.op = opOf(buf.String())
	r.Body = readCloser{bytes.NewReader(buf.Bytes())}
	f.srv.ServeHTTP(cw, r)
	if !cw.decided {
		cw.WriteHeader(http.StatusOK)
	}
}

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }

func opOf(body string) string {
	_, rest, ok := strings.Cut(body, "Body>")
	if !ok {
		return ""
	}
	_, rest, ok = strings.Cut(rest, "<m:")
	if !ok {
		return ""
	}
	end := strings.IndexAny(rest, " />")
	if end < 0 {
		return ""
	}
	return rest[:end]
}

// cannedWriter lets the fake's 401s (the NTLM handshake) through and
// replaces its first other answer with the canned one, if any.
type cannedWriter struct {
	w        http.ResponseWriter
	h        http.Header
	op       string
	take     func(op string) func(http.ResponseWriter)
	decided  bool
	replaced bool
}

func (c *cannedWriter) Header() http.Header { return c.h }

func (c *cannedWriter) WriteHeader(code int) {
	if c.decided {
		return
	}
	c.decided = true
	if code != http.StatusUnauthorized {
		if fn := c.take(c.op); fn != nil {
			c.replaced = true
			fn(c.w)
			return
		}
	}
	for k, v := range c.h {
		c.w.Header()[k] = v
	}
	c.w.WriteHeader(code)
}

func (c *cannedWriter) Write(p []byte) (int, error) {
	if !c.decided {
		c.WriteHeader(http.StatusOK)
	}
	if c.replaced {
		return len(p), nil
	}
	return c.w.Write(p)
}

func (c *cannedWriter) Flush() {
	if fl, ok := c.w.(http.Flusher); ok && !c.replaced {
		fl.Flush()
	}
}

// newFrontEnv is newEnv with the fake served behind a front.
func newFrontEnv(t *testing.T) (*env, *front) {
	t.Helper()
	srv := ewstest.NewServer()
	srv.AddAccount(testDomain, testUser, testPassword, true)
	mb := srv.AddMailbox(testMailbox)
	f := &front{srv: srv, canned: map[string][]func(http.ResponseWriter){}}
	ts := httptest.NewUnstartedServer(f)
	ts.Config.ConnState = srv.ConnState
	ts.EnableHTTP2 = false
	ts.StartTLS()
	t.Cleanup(ts.Close)
	e := &env{srv: srv, mb: mb, url: ts.URL + "/EWS/Exchange.asmx", ca: pemOf(ts.Certificate().Raw)}
	e.c = e.client(t, nil)
	return e, f
}

func status(code int, body string, header ...string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(code)
		w.Write([]byte(body))
	}
}

const clientFault = `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault>` +
	`<faultcode>s:Client</faultcode><faultstring xml:lang="en-US">The request failed schema validation: The element 'FindItem' has invalid child element 'Bogus'.</faultstring>` +
	`</s:Fault></s:Body></s:Envelope>`

const schemaFault = `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault>` +
	`<faultcode xmlns:a="http://schemas.microsoft.com/exchange/services/2006/types">a:ErrorSchemaValidation</faultcode><faultstring xml:lang="en-US">The request failed schema validation.</faultstring>` +
	`<detail><e:ResponseCode xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">ErrorSchemaValidation</e:ResponseCode><e:Message xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">The request failed schema validation.</e:Message></detail>` +
	`</s:Fault></s:Body></s:Envelope>`

// TestFailureClasses pins what the client returns for each class of
// failure, and how many requests it spent on it: exactly one layer retries
// a request. The client retries throttling itself and then answers
// ErrThrottled; an answer no retry can change is permanent after one
// request; a write whose outcome is unknown is left to the caller, marked
// retryable.
func TestFailureClasses(t *testing.T) {
	const maxRetries = 3
	type want = mailboxtest.RetryClass
	const (
		permanent = mailboxtest.Permanent
		throttled = mailboxtest.Throttled
		retryable = mailboxtest.Retryable
	)
	read := func(e *env, c *ews.Client) error {
		_, err := listInbox(context.Background(), e, c)
		return err
	}
	create := func(e *env, c *ews.Client) error {
		m := mime("created", 10)
		_, err := c.Mailbox(testMailbox).CreateMessage(context.Background(), e.mb.Root("inbox").ID(),
			mailbox.Message{SourceID: "s", MIME: bytes.NewReader(m), Size: int64(len(m))})
		return err
	}
	for _, tc := range []struct {
		name     string
		op       string // the EWS operation the fault hits
		fault    *ewstest.Fault
		canned   func(http.ResponseWriter)
		times    int // canned answers queued
		call     func(*env, *ews.Client) error
		want     want
		requests int64
		check    func(t *testing.T, err error)
	}{
		{name: "HTTP 400", op: "FindItem", canned: status(http.StatusBadRequest, "Bad Request", "Content-Type", "text/plain"), times: 1, call: read, want: permanent, requests: 1,
			check: func(t *testing.T, err error) {
				var he *ews.HTTPError
				if !errors.As(err, &he) || he.Status != http.StatusBadRequest {
					t.Errorf("err = %v, want an *HTTPError 400", err)
				}
			}},
		{name: "HTTP 400 on a create", op: "CreateItem", canned: status(http.StatusBadRequest, "Bad Request"), times: 1, call: create, want: permanent, requests: 1},
		{name: "refused redirect", op: "FindItem", canned: status(http.StatusFound, "", "Location", "https://mail.example/owa/"), times: 1, call: read, want: permanent, requests: 1,
			check: func(t *testing.T, err error) {
				var he *ews.HTTPError
				if !errors.As(err, &he) || he.Status != http.StatusFound || !strings.Contains(err.Error(), "redirects are refused") {
					t.Errorf("err = %v, want a refused redirect", err)
				}
			}},
		{name: "HTML sign-in page", op: "FindItem", canned: status(http.StatusOK, "<html><body><form>Sign in</form></body></html>", "Content-Type", "text/html; charset=utf-8"), times: 1, call: read, want: permanent, requests: 1,
			check: func(t *testing.T, err error) {
				var me *ews.MalformedError
				if !errors.As(err, &me) || !strings.Contains(err.Error(), "text/html") {
					t.Errorf("err = %v, want a *MalformedError naming text/html", err)
				}
			}},
		{name: "HTML labelled XML", op: "FindItem", canned: status(http.StatusOK, "<html><body><p>Sign in<br></body></html>", "Content-Type", "text/xml"), times: 1, call: read, want: permanent, requests: 1,
			check: func(t *testing.T, err error) {
				var me *ews.MalformedError
				if !errors.As(err, &me) {
					t.Errorf("err = %v, want a *MalformedError", err)
				}
			}},
		{name: "SOAP Client fault", op: "FindItem", canned: status(http.StatusInternalServerError, clientFault, "Content-Type", "text/xml; charset=utf-8"), times: 1, call: read, want: permanent, requests: 1,
			check: func(t *testing.T, err error) {
				var re *ews.ResponseError
				if !errors.As(err, &re) || re.FaultCode != "s:Client" {
					t.Errorf("err = %v, want a *ResponseError with faultcode s:Client", err)
				}
			}},
		{name: "ErrorSchemaValidation fault", op: "FindItem", canned: status(http.StatusInternalServerError, schemaFault, "Content-Type", "text/xml; charset=utf-8"), times: 1, call: read, want: permanent, requests: 1},
		{name: "ErrorInvalidRequest", op: "FindItem", fault: &ewstest.Fault{Op: "FindItem", Kind: ewstest.FaultCode, Code: "ErrorInvalidRequest"}, call: read, want: permanent, requests: 1},
		{name: "ErrorServerBusy beyond the retries", op: "FindItem", fault: &ewstest.Fault{Op: "FindItem", Kind: ewstest.FaultServerBusy, BackOff: time.Millisecond, Times: -1}, call: read, want: throttled, requests: 1 + maxRetries,
			check: func(t *testing.T, err error) {
				var te *ews.ThrottledError
				var re *ews.ResponseError
				if !errors.As(err, &te) || te.Retries != maxRetries || !errors.As(err, &re) || re.Code != "ErrorServerBusy" {
					t.Errorf("err = %v, want a *ThrottledError after %d retries over ErrorServerBusy", err, maxRetries)
				}
			}},
		{name: "ErrorServerBusy on a create beyond the retries", op: "CreateItem", fault: &ewstest.Fault{Op: "CreateItem", Kind: ewstest.FaultServerBusy, BackOff: time.Millisecond, Times: -1}, call: create, want: throttled, requests: 1 + maxRetries},
		{name: "BackOffMilliseconds beyond MaxBackOff", op: "FindItem", fault: &ewstest.Fault{Op: "FindItem", Kind: ewstest.FaultServerBusy, BackOff: time.Hour, Times: -1}, call: read, want: throttled, requests: 1},
		{name: "ErrorExceededConnectionCount beyond the retries", op: "FindItem", fault: &ewstest.Fault{Op: "FindItem", Kind: ewstest.FaultCode, Code: "ErrorExceededConnectionCount", Times: -1}, call: read, want: throttled, requests: 1 + maxRetries},
		{name: "HTTP 503 beyond the retries", op: "FindItem", fault: &ewstest.Fault{Op: "FindItem", Kind: ewstest.FaultHTTP503, BackOff: 10 * time.Millisecond, Times: -1}, call: read, want: throttled, requests: 1 + maxRetries},
		{name: "HTTP 503 on a create beyond the retries", op: "CreateItem", fault: &ewstest.Fault{Op: "CreateItem", Kind: ewstest.FaultHTTP503, Times: -1}, call: create, want: throttled, requests: 1 + maxRetries},
		{name: "HTTP 503 Retry-After beyond MaxBackOff", op: "FindItem", canned: status(http.StatusServiceUnavailable, "", "Retry-After", "3600"), times: 1, call: read, want: throttled, requests: 1,
			check: func(t *testing.T, err error) {
				var te *ews.ThrottledError
				if !errors.As(err, &te) || te.Wait != time.Hour {
					t.Errorf("err = %v, want a *ThrottledError with the hour the server asked for", err)
				}
			}},
		{name: "HTTP 504 on a read beyond the retries", op: "FindItem", canned: status(http.StatusGatewayTimeout, ""), times: 100, call: read, want: throttled, requests: 1 + maxRetries},
		{name: "HTTP 504 on a create is not resent", op: "CreateItem", canned: status(http.StatusGatewayTimeout, ""), times: 1, call: create, want: retryable, requests: 1},
		{name: "dropped connection on a create", op: "CreateItem", fault: &ewstest.Fault{Op: "CreateItem", Kind: ewstest.FaultDrop}, call: create, want: retryable, requests: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, f := newFrontEnv(t)
			e.mb.Root("inbox").AddItem(ewstest.Item{MIME: mime("one", 10)})
			c := e.client(t, func(cfg *ews.Config) { cfg.MaxRetries = maxRetries; cfg.MaxBackOff = time.Minute })
			// Authenticate a connection first, so that the fault hits an
			// authenticated request as it would in a long run.
			if err := c.Check(context.Background()); err != nil {
				t.Fatal(err)
			}
			if tc.fault != nil {
				e.srv.Inject(*tc.fault)
			}
			if tc.canned != nil {
				f.answer(tc.op, tc.times, tc.canned)
			}
			before := e.srv.Requests(tc.op)
			err := tc.call(e, c)
			if err == nil {
				t.Fatal("no error")
			}
			if got := e.srv.Requests(tc.op) - before; got != tc.requests {
				t.Errorf("%s sent %d times, want %d", tc.op, got, tc.requests)
			}
			t.Logf("err: %v", err)
			mailboxtest.CheckRetryClass(t, err, tc.want)
			if tc.check != nil {
				tc.check(t, err)
			}
		})
	}
}

// TestThrottledMessageThenSuccess: throttling answered in a ResponseMessage
// (not a SOAP fault) is retried, and the retry's answer is read on its own,
// not appended to the throttled one.
func TestThrottledMessageThenSuccess(t *testing.T) {
	for _, code := range []string{"ErrorServerBusy", "ErrorExceededConnectionCount"} {
		t.Run(code, func(t *testing.T) {
			e := newEnv(t)
			e.mb.Root("inbox").AddItem(ewstest.Item{MIME: mime("one", 10)})
			e.srv.Inject(ewstest.Fault{Op: "FindItem", Kind: ewstest.FaultCode, Code: code})
			n, err := listInbox(context.Background(), e, e.c)
			if err != nil || n != 1 {
				t.Fatalf("Items = %d, %v; want 1 item after one retry", n, err)
			}
			if got := e.srv.Requests("FindItem"); got != 2 {
				t.Errorf("FindItem sent %d times, want 2", got)
			}
		})
	}
}
