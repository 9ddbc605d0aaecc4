package graphmail_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/graphmail"
	"github.com/exmigrate/exmigrate/graphmail/graphtest"
	"github.com/exmigrate/exmigrate/mailbox"
)

// TestRequestsPacedEvenly: with a 3 s window of 300 requests, a copy of
// 200 small messages (about 235 requests with the listings) as fast as the
// client may go is spread over the window, and the fake never throttles.
// With a start allowance of 1%, no tenth of the window (0.3 s) holds more
// than a tenth of the limit (30) plus a burst allowance of 5% of the limit
// (15); with the default start allowance (half the budget at once), the
// first tenth holds at most half the limit plus a tenth, and every tenth
// after it at most a tenth plus 5%. A scheduler that spends the budget as
// a burst sends all of them in the first tenth or two.
func TestRequestsPacedEvenly(t *testing.T) {
	if testing.Short() {
		t.Skip("paces requests over a 3 s window")
	}
	lim := graphtest.DefaultLimits()
	lim.RequestsPerWindow, lim.RequestWindow = 300, 3*time.Second
	tenth := lim.RequestWindow / 10
	perTenth := lim.RequestsPerWindow/10 + lim.RequestsPerWindow/20
	for _, tc := range []struct {
		name       string
		start      float64
		firstTenth int
		allowance  int // requests the start allowance sends at once
		group      int // messages a $batch (the copy's small messages), 0: one a request
	}{
		{"start allowance 1%", 0.01, perTenth, lim.MaxConcurrent, 0},
		{"default start allowance", 0, lim.RequestsPerWindow/2 + lim.RequestsPerWindow/10, lim.RequestsPerWindow / 2, 0},
		// A batch of 16 steps is paced as 16 requests: a tenth holds at
		// most one batch more than the pace.
		{"start allowance 1%, batched", 0.01, perTenth + 16, lim.MaxConcurrent, 16},
	} {
		t.Run(tc.name, func(t *testing.T) {
			workers := 16
			if tc.group > 0 {
				workers = 1
			}
			run := copyMailboxPacedIn(t, lim, tc.start, 200, workers, tc.group)
			if len(run.arrivals) < 200 {
				t.Fatalf("the fake recorded %d arrivals", len(run.arrivals))
			}
			first := run.arrivals[0]
			if n := inFirst(run.arrivals, tenth); n > tc.firstTenth {
				t.Errorf("%d requests in the first tenth of the window, want at most %d", n, tc.firstTenth)
			}
			// Past the start allowance (which a loaded machine may take
			// longer than a tenth of the window to send), the pace.
			after := run.arrivals[tc.allowance:]
			if got := graphtest.MaxInWindow(after, tenth); got > perTenth+tc.group {
				t.Errorf("%d requests within %v after the start allowance, want at most %d (a tenth of the limit %d plus 5%%, plus a batch of %d)", got, tenth, perTenth+tc.group, lim.RequestsPerWindow, tc.group)
			}
			// Nor is the pace slower than the budget allows: about 235
			// requests at 297 per 3 s take about 2.4 s with a 1% start.
			if span := run.arrivals[len(run.arrivals)-1].Sub(first); span > 3*time.Second {
				t.Errorf("the copy took %v: the budget is not spent at its rate", span)
			}
			if run.throttle != 0 {
				t.Errorf("the fake answered %d 429s", run.throttle)
			}
			if got := graphtest.MaxInWindow(run.arrivals, lim.RequestWindow); got > lim.RequestsPerWindow {
				t.Errorf("%d requests within one window, over the limit %d", got, lim.RequestsPerWindow)
			}
		})
	}
}

// TestSmallItemsCostOneRequest: a copy of 1,000 small messages, the
// listings included (each step of a $batch counted on its own, as Graph
// counts them), costs at most 1.05 requests per item, and each further
// item costs exactly one request: its POST, no lookup before it. The
// windows are widened so that the test does not wait on the pace.
func TestSmallItemsCostOneRequest(t *testing.T) {
	lim := graphtest.DefaultLimits()
	lim.RequestsPerWindow, lim.RequestWindow = 1_000_000, time.Second
	for _, group := range []int{0, 16} { // one a request; 16 a $batch, as a copy sends them
		workers := 8
		if group > 0 {
			workers = 1
		}
		small := copyMailboxPacedIn(t, lim, 0, 500, workers, group)
		run := copyMailboxPacedIn(t, lim, 0, 1000, workers, group)
		if per := float64(len(run.arrivals)) / float64(run.items); per > 1.05 || per < 1 {
			t.Errorf("group %d: %.3f requests per item (%d for %d items), want 1..1.05", group, per, len(run.arrivals), run.items)
		}
		if extra := len(run.arrivals) - len(small.arrivals); extra != run.items-small.items {
			t.Errorf("group %d: %d more items cost %d more requests, want one each", group, run.items-small.items, extra)
		}
		if run.throttle != 0 || run.attempts > int64(len(run.arrivals)) {
			t.Errorf("group %d: %d 429s; the client sent %d requests, the fake counted %d", group, run.throttle, run.attempts, len(run.arrivals))
		}
	}
}

// TestUploadsPacedEvenly: with an upload budget of 16 MB per 2 s and a
// start allowance of 1%, 40 messages of about 270 KB each (a 200 KB
// attachment inline, base64), about 11 MB in all, written as fast as the
// client may go, are spread at the budget's rate: no tenth of the window
// (0.2 s) takes more than a tenth of the budget plus 5% plus one request,
// and the fake never throttles. A scheduler that spends the budget as a
// burst sends them all in the first tenth, since they fit in one window.
func TestUploadsPacedEvenly(t *testing.T) {
	if testing.Short() {
		t.Skip("paces uploads over a 2 s window")
	}
	lim := graphtest.DefaultLimits()
	lim.UploadBytesPerWindow, lim.UploadWindow = 16<<20, 2*time.Second
	l := newLab(t, graphtest.WithLimits(lim), graphtest.WithArrivalLog())
	fx := l.srv.AddMailbox(alice, mailbox.TypeUser)
	c := l.client(t, func(cfg *graphmail.Config) {
		cfg.Limits = graphmail.Limits{UploadBytesPerWindow: lim.UploadBytesPerWindow, UploadWindow: lim.UploadWindow, StartAllowance: 0.01}
	})
	mb := c.Mailbox(alice)
	inbox := fx.FolderID("Inbox")
	const n, size = 40, 200 << 10
	var wg sync.WaitGroup
	errs := make([]error, n)
	var next atomic.Int64
	for range 8 {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				_, errs[i] = mb.CreateMessage(ctxT(t), inbox, mailbox.Message{SourceID: fmt.Sprint("up-", i), MIME: attachmentMIME(fmt.Sprintf("a%d.bin", i), size, uint64(i)), Size: -1})
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	at, bytes := l.srv.UploadArrivals(clientID, alice)
	if len(at) != n {
		t.Fatalf("the fake counted %d uploads, want %d", len(at), n)
	}
	var total, largest int64
	for _, b := range bytes {
		total += b
		largest = max(largest, b)
	}
	tenth := lim.UploadWindow / 10
	bound := lim.UploadBytesPerWindow/10 + lim.UploadBytesPerWindow/20 + largest
	for i := range at {
		var sum int64
		for j := i; j < len(at) && at[j].Sub(at[i]) < tenth; j++ {
			sum += bytes[j]
		}
		if sum > bound {
			t.Fatalf("%d bytes within %v from upload %d, want at most %d (a tenth of %d plus 5%% plus one request)", sum, tenth, i, bound, lim.UploadBytesPerWindow)
		}
	}
	// Nor slower than the budget: about 11 MB at 7.9 MB/s take about 1.4 s.
	if span := at[len(at)-1].Sub(at[0]); span > 2*time.Second {
		t.Errorf("%d bytes took %v: the upload budget is not spent at its rate", total, span)
	}
	if l.srv.Throttled() != 0 {
		t.Errorf("the fake answered %d 429s", l.srv.Throttled())
	}
}
