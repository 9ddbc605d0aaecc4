package graphmail_test

import (
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/graphmail/graphtest"
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
	}{
		{"start allowance 1%", 0.01, perTenth, lim.MaxConcurrent},
		{"default start allowance", 0, lim.RequestsPerWindow/2 + lim.RequestsPerWindow/10, lim.RequestsPerWindow / 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run := copyMailboxPaced(t, lim, tc.start, 200, 16)
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
			if got := graphtest.MaxInWindow(after, tenth); got > perTenth {
				t.Errorf("%d requests within %v after the start allowance, want at most %d (a tenth of the limit %d plus 5%%)", got, tenth, perTenth, lim.RequestsPerWindow)
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
	small := copyMailboxPaced(t, lim, 0, 500, 8)
	run := copyMailboxPaced(t, lim, 0, 1000, 8)
	if per := float64(len(run.arrivals)) / float64(run.items); per > 1.05 || per < 1 {
		t.Errorf("%.3f requests per item (%d for %d items), want 1..1.05", per, len(run.arrivals), run.items)
	}
	if extra := len(run.arrivals) - len(small.arrivals); extra != run.items-small.items {
		t.Errorf("%d more items cost %d more requests, want one each", run.items-small.items, extra)
	}
	if run.throttle != 0 || run.attempts > int64(len(run.arrivals)) {
		t.Errorf("%d 429s; the client sent %d requests, the fake counted %d", run.throttle, run.attempts, len(run.arrivals))
	}
}
