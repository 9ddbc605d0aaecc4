package graphmail_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/graphmail"
	"github.com/exmigrate/exmigrate/graphmail/graphtest"
	"github.com/exmigrate/exmigrate/mailbox"
	"github.com/exmigrate/exmigrate/mailbox/mailboxtest"
)

// TestFailureClasses pins what graphmail returns for each class of
// failure, and how many requests it spent on it: exactly one layer retries
// a request. The scheduler retries throttling itself and then answers
// ErrThrottled; an answer no retry can change is permanent after one
// request; a write the scheduler does not resend is marked retryable for
// the engine, which looks the stamp up first.
func TestFailureClasses(t *testing.T) {
	const maxRetries = 2
	type want = mailboxtest.RetryClass
	const (
		permanent    = mailboxtest.Permanent
		throttled    = mailboxtest.Throttled
		retryable    = mailboxtest.Retryable
		unclassified = mailboxtest.Unclassified
	)
	l := newLab(t)
	fx := l.srv.AddMailbox(alice, mailbox.TypeUser)
	fx.AddMessage("Inbox", graphtest.Message{Subject: "one"})
	inbox := fx.FolderID("Inbox")
	c := l.client(t, func(cfg *graphmail.Config) { cfg.Limits.MaxRetries = maxRetries })
	mb := c.Mailbox(alice)
	list := func() error {
		return mb.Items(ctxT(t), inbox, func(mailbox.Item) error { return nil })
	}
	n := 0
	create := func() error {
		n++
		raw := mimeMessage("c", "<c@x.example>", time.Now())
		_, err := mb.CreateMessage(ctxT(t), inbox, mailbox.Message{SourceID: "failures-" + string(rune('a'+n)), MIME: strings.NewReader(raw), Size: int64(len(raw))})
		return err
	}
	const html = "<html><head><title>Sign in</title></head><body><form>Sign in to continue</form></body></html>"
	badRequest := `{"error":{"code":"ErrorInvalidRequest","message":"The request is invalid."}}`
	get, post := http.MethodGet, http.MethodPost
	for _, tc := range []struct {
		name  string
		fault *graphtest.Fault // injected with Count 100: the fake counts what it answered
		op    func() error
		want  want
		sent  int64 // requests the fake answered, and the scheduler sent
		check func(t *testing.T, err error)
	}{
		{name: "400 on a folder create (the fake's own)", op: func() error {
			_, err := mb.CreateFolder(ctxT(t), "", "", "")
			return err
		}, want: permanent, sent: 1, check: func(t *testing.T, err error) {
			var ge *graphmail.Error
			if !errors.As(err, &ge) || ge.Status != http.StatusBadRequest || !strings.Contains(err.Error(), "The folder display name is missing.") {
				t.Errorf("err = %v, want Graph's 400", err)
			}
		}},
		{name: "400 on a read", fault: &graphtest.Fault{Kind: graphtest.FaultAnswer, Path: "/messages", Method: get, Status: http.StatusBadRequest, Body: badRequest}, op: list, want: permanent, sent: 1},
		{name: "400 on a message create", fault: &graphtest.Fault{Kind: graphtest.FaultAnswer, Path: "/messages", Method: post, Status: http.StatusBadRequest, Body: badRequest}, op: create, want: permanent, sent: 1},
		{name: "405 on a read", fault: &graphtest.Fault{Kind: graphtest.FaultAnswer, Path: "/messages", Method: get, Status: http.StatusMethodNotAllowed, Body: `{"error":{"code":"BadRequest","message":"Method not allowed."}}`}, op: list, want: permanent, sent: 1},
		{name: "HTML sign-in page for a read", fault: &graphtest.Fault{Kind: graphtest.FaultAnswer, Path: "/messages", Method: get, Status: http.StatusOK, ContentType: "text/html; charset=utf-8", Body: html}, op: list, want: permanent, sent: 1,
			check: func(t *testing.T, err error) {
				var me *graphmail.MalformedError
				if !errors.As(err, &me) || !strings.Contains(err.Error(), "text/html") {
					t.Errorf("err = %v, want a *MalformedError naming text/html", err)
				}
			}},
		{name: "HTML sign-in page for a create", fault: &graphtest.Fault{Kind: graphtest.FaultAnswer, Path: "/messages", Method: post, Status: http.StatusCreated, ContentType: "text/html", Body: html}, op: create, want: permanent, sent: 1},
		{name: "HTML 400 page from a proxy", fault: &graphtest.Fault{Kind: graphtest.FaultAnswer, Path: "/messages", Method: get, Status: http.StatusBadRequest, ContentType: "text/html", Body: html}, op: list, want: permanent, sent: 1,
			check: func(t *testing.T, err error) {
				var ge *graphmail.Error
				if !errors.As(err, &ge) || ge.Status != http.StatusBadRequest || !strings.Contains(ge.Message, "Sign in") {
					t.Errorf("err = %v, want an *Error 400 quoting the page", err)
				}
			}},
		{name: "HTML 502 page from a proxy keeps its status", fault: &graphtest.Fault{Kind: graphtest.FaultAnswer, Path: "/messages", Method: get, Status: http.StatusBadGateway, ContentType: "text/html", Body: html}, op: list, want: unclassified, sent: 1,
			check: func(t *testing.T, err error) {
				var ge *graphmail.Error
				if !errors.As(err, &ge) || ge.Status != http.StatusBadGateway {
					t.Errorf("err = %v, want an *Error 502", err)
				}
			}},
		{name: "429 on a read beyond the retries", fault: &graphtest.Fault{Kind: graphtest.FaultThrottle, Path: "/messages", Method: get, RetryAfter: "0.01"}, op: list, want: throttled, sent: 1 + maxRetries,
			check: func(t *testing.T, err error) {
				var ge *graphmail.Error
				if !errors.As(err, &ge) || ge.Status != http.StatusTooManyRequests || !strings.Contains(err.Error(), "after 2 retries") {
					t.Errorf("err = %v, want the last 429 and the retries made", err)
				}
			}},
		{name: "429 on a create beyond the retries", fault: &graphtest.Fault{Kind: graphtest.FaultThrottle, Path: "/messages", Method: post, RetryAfter: "0.01"}, op: create, want: throttled, sent: 1 + maxRetries},
		{name: "503 on a read beyond the retries", fault: &graphtest.Fault{Kind: graphtest.FaultUnavailable, Path: "/messages", Method: get, RetryAfter: "0.01"}, op: list, want: throttled, sent: 1 + maxRetries},
		{name: "504 on a read beyond the retries", fault: &graphtest.Fault{Kind: graphtest.FaultGatewayTimeout, Path: "/messages", Method: get, RetryAfter: "0.01"}, op: list, want: throttled, sent: 1 + maxRetries},
		{name: "504 on a create is not resent", fault: &graphtest.Fault{Kind: graphtest.FaultGatewayTimeout, Path: "/messages", Method: post, RetryAfter: "7"}, op: create, want: retryable, sent: 1,
			check: func(t *testing.T, err error) {
				if _, after := mailbox.ShouldRetry(err); after != 7*time.Second {
					t.Errorf("ShouldRetry after = %v, want the 7 s of Retry-After", after)
				}
			}},
		{name: "dropped connection on a create", fault: &graphtest.Fault{Kind: graphtest.FaultDrop, Path: "/messages", Method: post}, op: create, want: retryable, sent: 1},
		{name: "answer lost after a create", fault: &graphtest.Fault{Kind: graphtest.FaultDropAfter, Path: "/messages", Method: post}, op: create, want: retryable, sent: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer l.srv.ClearFaults()
			before, seen := c.Stats(alice).Requests, l.srv.Requests()
			const count = 100
			if tc.fault != nil {
				f := *tc.fault
				f.Count = count
				l.srv.Inject(f)
			}
			err := tc.op()
			if err == nil {
				t.Fatal("no error")
			}
			sent := c.Stats(alice).Requests - before
			answered := l.srv.Requests() - seen // requests the fake served itself
			if tc.fault != nil {
				answered = int64(count - l.srv.PendingFaults())
			}
			if sent != tc.sent || answered != tc.sent {
				t.Errorf("the scheduler sent %d requests and the fake answered %d, want %d", sent, answered, tc.sent)
			}
			t.Logf("err: %v", err)
			mailboxtest.CheckRetryClass(t, err, tc.want)
			if tc.check != nil {
				tc.check(t, err)
			}
		})
	}
}

// TestThrottledBatchStepsBeyondTheRetries: a step of the well-known-folder
// $batch that stays throttled fails the listing with ErrThrottled after
// runBatch's own retries, and the engine does not retry it again.
func TestThrottledBatchStepsBeyondTheRetries(t *testing.T) {
	l := newLab(t)
	l.srv.AddMailbox(alice, mailbox.TypeUser)
	c := l.client(t, func(cfg *graphmail.Config) { cfg.Limits.MaxRetries = 2 })
	l.srv.Inject(graphtest.Fault{Kind: graphtest.FaultThrottle, Count: 100, Path: "/mailFolders/inbox", RetryAfter: "0.01"})
	_, err := c.Mailbox(alice).Folders(ctxT(t), mailbox.ScopePrimary)
	if retry, _ := mailbox.ShouldRetry(err); !errors.Is(err, mailbox.ErrThrottled) || retry {
		t.Fatalf("err = %v (ShouldRetry %v), want ErrThrottled, not retried", err, retry)
	}
	if sent := 100 - l.srv.PendingFaults(); sent != 3 {
		t.Errorf("the throttled step was sent %d times, want 3 (1 + MaxRetries 2)", sent)
	}
}
