package graphmail_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/graphmail"
	"github.com/exmigrate/exmigrate/graphmail/graphtest"
	"github.com/exmigrate/exmigrate/mailbox"
)

// writeMany creates n messages per goroutine from g goroutines.
func writeMany(t *testing.T, mb *graphmail.Mailbox, folder string, g, n int) []error {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, g*n)
	for w := range g {
		wg.Go(func() {
			for i := range n {
				raw := mimeMessage(fmt.Sprintf("w%d-%d", w, i), fmt.Sprintf("<w%d-%d@x.example>", w, i), time.Now())
				_, errs[w*n+i] = mb.CreateMessage(ctxT(t), folder, mailbox.Message{
					Item: mailbox.Item{IsRead: true}, SourceID: fmt.Sprintf("src-%d-%d", w, i), MIME: strings.NewReader(raw), Size: int64(len(raw)),
				})
			}
		})
	}
	wg.Wait()
	return errs
}

func TestNeverMoreThanFourInFlight(t *testing.T) {
	// Latency makes requests overlap, so a client that let more than four
	// through would be caught by the fake's MailboxConcurrency limit.
	l := newLab(t, graphtest.WithLatency(15*time.Millisecond))
	fx := l.srv.AddMailbox(alice, mailbox.TypeUser)
	mb := l.c.Mailbox(alice)
	errs := writeMany(t, mb, fx.FolderID("Inbox"), 16, 4)
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := l.srv.MaxInFlightSeen(alice); got > 4 || got < 2 {
		t.Errorf("max in flight seen by the server = %d, want 2..4", got)
	}
	if l.srv.Throttled() != 0 {
		t.Errorf("server answered %d 429s", l.srv.Throttled())
	}
	if n := len(fx.Messages("Inbox")); n != 64 {
		t.Errorf("%d messages written, want 64", n)
	}
}

func TestNoImmediateRetryAfter429(t *testing.T) {
	tests := []struct {
		name       string
		retryAfter func() string
		minWait    time.Duration
	}{
		{"fractional seconds", func() string { return "0.4" }, 400 * time.Millisecond},
		{"whole seconds", func() string { return "1" }, time.Second},
		{"HTTP date", func() string { return time.Now().Add(2 * time.Second).UTC().Format(http.TimeFormat) }, time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newLab(t, graphtest.WithLatency(5*time.Millisecond))
			fx := l.srv.AddMailbox(alice, mailbox.TypeUser)
			mb := l.c.Mailbox(alice)
			inbox := fx.FolderID("Inbox")
			l.srv.Inject(graphtest.Fault{Kind: graphtest.FaultThrottle, Count: 1, Path: "/messages", Method: http.MethodPost, RetryAfter: tc.retryAfter()})
			start := time.Now()
			errs := writeMany(t, mb, inbox, 16, 2)
			elapsed := time.Since(start)
			for _, err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			if l.srv.EarlyRetries() != 0 {
				t.Errorf("%d retries arrived before Retry-After had passed", l.srv.EarlyRetries())
			}
			// Other writers pause too; one or two may have been on their way.
			if n := l.srv.EarlyArrivals(); n > 3 {
				t.Errorf("%d requests arrived during the Retry-After pause", n)
			}
			st := l.c.Stats(alice)
			if st.Throttled != 1 || st.Retries != 1 {
				t.Errorf("stats %+v, want one 429 and one retry", st)
			}
			if elapsed < tc.minWait {
				t.Errorf("32 writes with a %s Retry-After took %v", tc.retryAfter(), elapsed)
			}
			if l.srv.MaxInFlightSeen(alice) > 4 {
				t.Errorf("max in flight %d", l.srv.MaxInFlightSeen(alice))
			}
		})
	}
}

func TestFaults(t *testing.T) {
	l := newLab(t)
	fx := l.srv.AddMailbox(alice, mailbox.TypeUser)
	mb := l.c.Mailbox(alice)
	inbox := fx.FolderID("Inbox")
	fx.AddMessage("Inbox", graphtest.Message{Subject: "one"})
	list := func() error {
		return mb.Items(ctxT(t), inbox, func(mailbox.Item) error { return nil })
	}
	tests := []struct {
		name    string
		fault   graphtest.Fault
		op      func() error
		wantErr error
		retries int64
	}{
		{"503 with Retry-After", graphtest.Fault{Kind: graphtest.FaultUnavailable, Count: 2, RetryAfter: "0.1", Path: "/messages"}, list, nil, 2},
		{"504 without Retry-After", graphtest.Fault{Kind: graphtest.FaultGatewayTimeout, Count: 1, Path: "/messages"}, list, nil, 1},
		// net/http itself replays an idempotent request once on a reused
		// connection; three drops in a row reach the scheduler.
		{"dropped connections on a read", graphtest.Fault{Kind: graphtest.FaultDrop, Count: 3, Path: "/messages"}, list, nil, -1},
		{"latency", graphtest.Fault{Kind: graphtest.FaultLatency, Count: 1, Latency: 200 * time.Millisecond, Path: "/messages"}, list, nil, 0},
		{"dropped connection on a create is not retried", graphtest.Fault{Kind: graphtest.FaultDrop, Count: 1, Path: "/messages", Method: http.MethodPost}, func() error {
			raw := mimeMessage("x", "<x@x.example>", time.Now())
			_, err := mb.CreateMessage(ctxT(t), inbox, mailbox.Message{SourceID: "s", MIME: strings.NewReader(raw), Size: -1})
			return err
		}, errAny, 0},
		{"504 on a create is not resent (it may have been carried out)", graphtest.Fault{Kind: graphtest.FaultGatewayTimeout, Count: 1, Path: "/messages", Method: http.MethodPost}, func() error {
			raw := mimeMessage("y", "<y@x.example>", time.Now())
			_, err := mb.CreateMessage(ctxT(t), inbox, mailbox.Message{SourceID: "s504", MIME: strings.NewReader(raw), Size: -1})
			return err
		}, errAny, 0},
		{"429s beyond the retry bound fail as throttled", graphtest.Fault{Kind: graphtest.FaultThrottle, Count: 50, RetryAfter: "0.01", Path: "/messages"}, list, mailbox.ErrThrottled, 6},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := l.c.Stats(alice)
			l.srv.Inject(tc.fault)
			err := tc.op()
			switch {
			case tc.wantErr == nil && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.wantErr == errAny && err == nil:
				t.Fatal("expected an error")
			case tc.wantErr != nil && tc.wantErr != errAny && !errors.Is(err, tc.wantErr):
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}
			got := l.c.Stats(alice).Retries - before.Retries
			if (tc.retries >= 0 && got != tc.retries) || (tc.retries < 0 && got < 1) {
				t.Errorf("retries = %d, want %d (-1: at least one)", got, tc.retries)
			}
			if l.srv.PendingFaults() != 0 && tc.retries != 6 {
				t.Errorf("%d faults left unapplied", l.srv.PendingFaults())
			}
			// Leave no fault queued for the next case.
			for l.srv.PendingFaults() > 0 {
				_ = list()
			}
		})
	}
	// A wait respects the context.
	l.srv.Inject(graphtest.Fault{Kind: graphtest.FaultThrottle, Count: 1, RetryAfter: "30", Path: "/messages"})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := mb.Items(ctx, inbox, func(mailbox.Item) error { return nil })
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Errorf("cancelled wait: %v after %v", err, time.Since(start))
	}
}

var errAny = errors.New("any error")

func TestRequestBudget(t *testing.T) {
	lim := graphtest.DefaultLimits()
	lim.RequestsPerWindow, lim.RequestWindow = 12, time.Second
	tests := []struct {
		name        string
		clientLimit int
		want429     bool
	}{
		{"client keeps to the budget", 12, false},
		{"client misconfigured above the budget recovers through 429s", 1000, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newLab(t, graphtest.WithLimits(lim))
			fx := l.srv.AddMailbox(alice, mailbox.TypeUser)
			c := l.client(t, func(cfg *graphmail.Config) {
				cfg.Limits = graphmail.Limits{RequestsPerWindow: tc.clientLimit, RequestWindow: time.Second}
			})
			mb := c.Mailbox(alice)
			inbox := fx.FolderID("Inbox")
			start := time.Now()
			for range 30 {
				if err := mb.Items(ctxT(t), inbox, func(mailbox.Item) error { return nil }); err != nil {
					t.Fatal(err)
				}
			}
			if el := time.Since(start); el < 2*time.Second {
				t.Errorf("30 requests at 12/s took %v", el)
			}
			if got := l.srv.Throttled() > 0; got != tc.want429 {
				t.Errorf("server throttled %d times", l.srv.Throttled())
			}
			if l.srv.EarlyRetries() != 0 {
				t.Errorf("early retries %d", l.srv.EarlyRetries())
			}
		})
	}
}

func TestBatchStepsThrottledOnTheirOwn(t *testing.T) {
	l := newLab(t)
	l.srv.AddMailbox(alice, mailbox.TypeUser)
	// The inbox step of the well-known-folder $batch comes back 429 inside a
	// 200, and again when it is retried alone.
	l.srv.Inject(graphtest.Fault{Kind: graphtest.FaultThrottle, Count: 2, Path: "/mailFolders/inbox", RetryAfter: "0.3"})
	start := time.Now()
	folders, err := l.c.Mailbox(alice).Folders(ctxT(t), mailbox.ScopePrimary)
	if err != nil {
		t.Fatal(err)
	}
	var inbox bool
	for _, f := range folders {
		inbox = inbox || f.WellKnown == mailbox.Inbox
	}
	if !inbox {
		t.Error("inbox not resolved after its batch step was retried")
	}
	st := l.c.Stats(alice)
	if st.Throttled != 2 || st.Retries != 2 || st.Requests != 10 {
		t.Errorf("stats %+v: want the throttled step retried twice (3 batches, the root's children, the contact folders, a contact naming the default one, the calendars and their count, the To Do lists and their tasks)", st)
	}
	if time.Since(start) < 600*time.Millisecond || l.srv.PendingFaults() != 0 {
		t.Errorf("retried after %v, %d faults pending", time.Since(start), l.srv.PendingFaults())
	}
}

// TestSDKRetriesDoNotStack: a request throttled every time is sent exactly
// 1 + MaxRetries times; were the SDK's retry handler on, each scheduler
// answer would be retried again on top.
func TestSDKRetriesDoNotStack(t *testing.T) {
	l := newLab(t)
	fx := l.srv.AddMailbox(alice, mailbox.TypeUser)
	c := l.client(t, func(cfg *graphmail.Config) { cfg.Limits.MaxRetries = 2 })
	l.srv.Inject(graphtest.Fault{Kind: graphtest.FaultThrottle, Count: 100, RetryAfter: "0.01", Path: "/messages"})
	err := c.Mailbox(alice).Items(ctxT(t), fx.FolderID("Inbox"), func(mailbox.Item) error { return nil })
	if !errors.Is(err, mailbox.ErrThrottled) {
		t.Fatalf("err = %v", err)
	}
	if sent := 100 - l.srv.PendingFaults(); sent != 3 {
		t.Errorf("the request was sent %d times, want 3 (1 + MaxRetries 2)", sent)
	}
}

func TestItemsPaging(t *testing.T) {
	l := newLab(t)
	fx := l.srv.AddMailbox(alice, mailbox.TypeUser)
	for i := range 2500 {
		fx.AddMessage("Inbox/Big", graphtest.Message{Subject: fmt.Sprint("m", i), IsRead: i%3 == 0})
	}
	var n, read int
	err := l.c.Mailbox(alice).Items(ctxT(t), fx.FolderID("Inbox/Big"), func(it mailbox.Item) error {
		n++
		if it.IsRead {
			read++
		}
		return nil
	})
	if err != nil || n != 2500 || read != 834 {
		t.Fatalf("listed %d (%d read), %v", n, read, err)
	}
	if got := l.c.Stats(alice).Requests; got != 3 { // pages of 1,000, 1,000 and 500
		t.Errorf("requests %d, want 3", got)
	}
	stop := errors.New("stop")
	n = 0
	err = l.c.Mailbox(alice).Items(ctxT(t), fx.FolderID("Inbox/Big"), func(mailbox.Item) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Errorf("callback error: %v after %d", err, n)
	}
}

// TestRetryAfterLongerThanOneWait: a Retry-After longer than the client's
// longest single wait is not cut short (a retry sooner would break the
// service's limit): the request fails at once as throttled, naming the
// wait, and nothing more is sent for the mailbox.
func TestRetryAfterLongerThanOneWait(t *testing.T) {
	l := newLab(t)
	fx := l.srv.AddMailbox(alice, mailbox.TypeUser)
	c := l.client(t, func(cfg *graphmail.Config) { cfg.Limits.MaxBackoff = 200 * time.Millisecond })
	mb := c.Mailbox(alice)
	l.srv.Inject(graphtest.Fault{Kind: graphtest.FaultThrottle, Count: 1, Path: "/messages", Method: http.MethodPost, RetryAfter: "120"})
	before := l.srv.Requests()
	start := time.Now()
	raw := mimeMessage("one", "<one@x.example>", time.Now())
	_, err := mb.CreateMessage(ctxT(t), fx.FolderID("Inbox"), mailbox.Message{SourceID: "src-1", MIME: strings.NewReader(raw), Size: int64(len(raw))})
	if !errors.Is(err, mailbox.ErrThrottled) {
		t.Fatalf("err = %v, want ErrThrottled", err)
	}
	if retry, _ := mailbox.ShouldRetry(err); retry {
		t.Errorf("ShouldRetry(%v) = true: the engine would send again within the Retry-After", err)
	}
	if !strings.Contains(err.Error(), "wait 2m0s") {
		t.Errorf("error %q does not name the wait Graph asked for", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("gave up after %v, want at once", d)
	}
	// The fake counts the requests it served: the throttled one is not,
	// so any count is a retry.
	if n := l.srv.Requests() - before; n != 0 || len(fx.Messages("Inbox")) != 0 {
		t.Errorf("%d requests served after the 429, %d messages created; want no retry", n, len(fx.Messages("Inbox")))
	}
	if l.srv.EarlyRetries() != 0 {
		t.Errorf("%d requests arrived before the Retry-After had passed", l.srv.EarlyRetries())
	}
}
