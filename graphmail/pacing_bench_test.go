package graphmail_test

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/graphmail"
	"github.com/exmigrate/exmigrate/graphmail/graphtest"
	"github.com/exmigrate/exmigrate/mailbox"
)

// pacedRun is what one copy of a mailbox into the fake measured.
type pacedRun struct {
	items    int
	arrivals []time.Time // as the fake counted them
	attempts int64       // as the client sent them, retries included
	throttle int64       // 429s the fake answered
}

// copyMailboxPacedIn copies items small messages into alice's Inbox
// through the real client, as the copy engine does against a Graph target
// (its folders, the stamps already in the target folder, one CreateItem
// per item from workers goroutines, its folders again to reconcile), with the
// fake and the client both on lim's request and upload windows. The fake
// records when it counted each request. start is the client's
// StartAllowance (0: the default).
// With group > 1 each worker sends CreateBatch of group payloads instead,
// as the engine's combiner does with the writes of its item workers.
func copyMailboxPacedIn(tb testing.TB, lim graphtest.Limits, start float64, items, workers, group int) pacedRun {
	tb.Helper()
	l := newLab(tb, graphtest.WithLimits(lim), graphtest.WithArrivalLog())
	fx := l.srv.AddMailbox(alice, mailbox.TypeUser)
	c := l.client(tb, func(cfg *graphmail.Config) {
		cfg.Limits = graphmail.Limits{
			MaxInFlight:       lim.MaxConcurrent,
			RequestsPerWindow: lim.RequestsPerWindow, RequestWindow: lim.RequestWindow,
			UploadBytesPerWindow: lim.UploadBytesPerWindow, UploadWindow: lim.UploadWindow,
			StartAllowance: start,
		}
	})
	mb := c.Mailbox(alice)
	ctx := ctxT(tb)
	folders, err := mb.Folders(ctx, mailbox.ScopePrimary)
	if err != nil {
		tb.Fatal(err)
	}
	var inbox string
	for _, f := range folders {
		if f.WellKnown == mailbox.Inbox {
			inbox = f.ID
		}
	}
	if inbox == "" {
		tb.Fatal("no inbox among the folders")
	}
	if err := mb.Stamps(ctx, inbox, func(mailbox.Item) error { return nil }); err != nil {
		tb.Fatal(err)
	}
	raw := mimeMessage("paced", "<paced@x.example>", time.Now())
	var next, failed atomic.Int64
	var first error
	var once sync.Once
	var wg sync.WaitGroup
	payload := func(i int64) mailbox.Payload {
		return mailbox.Payload{
			Item: mailbox.Item{IsRead: i%2 == 0, Received: time.Now()}, SourceID: fmt.Sprint("paced-", i),
			Format: mailbox.FormatMIME, Body: strings.NewReader(raw), Size: int64(len(raw)),
		}
	}
	fail := func(err error) {
		failed.Add(1)
		once.Do(func() { first = err })
	}
	for range workers {
		wg.Go(func() {
			for {
				if group > 1 {
					var ps []mailbox.Payload
					for i := next.Add(1); i <= int64(items); i = next.Add(1) {
						if ps = append(ps, payload(i)); len(ps) == group {
							break
						}
					}
					if len(ps) == 0 {
						return
					}
					res, err := mb.CreateBatch(ctx, inbox, ps)
					for _, r := range res {
						if r.Err != nil {
							err = r.Err
						}
					}
					if err != nil {
						fail(err)
					}
					continue
				}
				i := next.Add(1)
				if i > int64(items) {
					return
				}
				if _, err := mb.CreateItem(ctx, inbox, payload(i)); err != nil {
					fail(err)
				}
			}
		})
	}
	wg.Wait()
	if failed.Load() > 0 {
		tb.Fatalf("%d creates failed, the first: %v", failed.Load(), first)
	}
	if _, err := mb.Folders(ctx, mailbox.ScopePrimary); err != nil {
		tb.Fatal(err)
	}
	if n := len(fx.Messages("Inbox")); n != items {
		tb.Fatalf("%d messages stored, want %d", n, items)
	}
	return pacedRun{items: items, arrivals: l.srv.Arrivals(clientID, alice), attempts: c.Stats(alice).Requests, throttle: l.srv.Throttled()}
}

// longestGap is the longest time between two consecutive arrivals.
func longestGap(arrivals []time.Time) time.Duration {
	var gap time.Duration
	for i := 1; i < len(arrivals); i++ {
		gap = max(gap, arrivals[i].Sub(arrivals[i-1]))
	}
	return gap
}

// windowFill is the mean, over the consecutive whole windows from the
// first arrival that the run covers, of the requests counted in each as a
// fraction of the limit: how close to the ceiling the budget is spent.
func windowFill(arrivals []time.Time, window time.Duration, limit int) float64 {
	if len(arrivals) == 0 {
		return 0
	}
	start, end := arrivals[0], arrivals[len(arrivals)-1]
	whole := int(end.Sub(start) / window)
	if whole == 0 {
		return float64(len(arrivals)) / float64(limit)
	}
	counts := make([]int, whole)
	for _, t := range arrivals {
		if k := int(t.Sub(start) / window); k < whole {
			counts[k]++
		}
	}
	var sum int
	for _, n := range counts {
		sum += n
	}
	return float64(sum) / float64(whole*limit)
}

// BenchmarkPacedCopy copies one mailbox of 3,000 small messages through
// the real client into the fake with Graph's limits shortened to a 10 s
// window of 1,000 requests (and 3 MB uploaded per 3 s, which small
// messages stay under), from 16 workers, with the default start allowance
// (half the budget at once) and with 1%, and reports:
//
//   - window-fill: the requests counted in each whole window from the
//     first as a fraction of the limit (the goal: within 5% of the
//     ceiling, 0.95 or more);
//
//   - max-window-fill: the most the fake counted in any sliding window, as
//     a fraction of the limit (never above 1);
//
//   - max-gap-s: the longest time between two requests (the goal: no more
//     than a few seconds; a scheduler that spends the budget in a burst
//     idles for most of each window);
//
//   - first-tenth: the requests of the first tenth of the window, as a
//     fraction of the limit;
//
//   - req/item: requests the fake counted per item copied, the listings
//     included, each step of a $batch on its own (the floor is one POST per
//     message);
//
//   - msgs/s and 429s.
//
//     go test ./graphmail -run XXX -bench PacedCopy -benchtime 1x -benchmem
func BenchmarkPacedCopy(b *testing.B) {
	for _, batched := range []bool{false, true} {
		for _, start := range []float64{0, 0.01} {
			name := "start=default"
			if start > 0 {
				name = fmt.Sprintf("start=%g", start)
			}
			if batched {
				// As a copy writes small messages: 16 item workers' writes
				// in one $batch, one batch at a time.
				name += "/batched"
			}
			b.Run(name, func(b *testing.B) { benchPacedCopy(b, start, batched) })
		}
	}
}

func benchPacedCopy(b *testing.B, start float64, batched bool) {
	lim := graphtest.DefaultLimits()
	lim.RequestsPerWindow, lim.RequestWindow = 1000, 10*time.Second
	lim.UploadBytesPerWindow, lim.UploadWindow = 3<<20, 3*time.Second
	const items = 3000
	workers, group := 16, 0
	if batched {
		workers, group = 1, 16
	}
	var runs []pacedRun
	var elapsed time.Duration
	for range b.N {
		t0 := time.Now()
		runs = append(runs, copyMailboxPacedIn(b, lim, start, items, workers, group))
		elapsed += time.Since(t0)
	}
	var fill, maxFill, perItem, throttled, first float64
	var gap time.Duration
	for _, r := range runs {
		fill += windowFill(r.arrivals, lim.RequestWindow, lim.RequestsPerWindow)
		maxFill = max(maxFill, float64(graphtest.MaxInWindow(r.arrivals, lim.RequestWindow))/float64(lim.RequestsPerWindow))
		perItem += float64(len(r.arrivals)) / float64(r.items)
		throttled += float64(r.throttle)
		gap = max(gap, longestGap(r.arrivals))
		first += float64(inFirst(r.arrivals, lim.RequestWindow/10)) / float64(lim.RequestsPerWindow)
	}
	n := float64(len(runs))
	b.ReportMetric(fill/n, "window-fill")
	b.ReportMetric(maxFill, "max-window-fill")
	b.ReportMetric(gap.Seconds(), "max-gap-s")
	b.ReportMetric(first/n, "first-tenth")
	b.ReportMetric(perItem/n, "req/item")
	b.ReportMetric(throttled/n, "429s")
	b.ReportMetric(float64(items)*n/elapsed.Seconds(), "msgs/s")
}

// inFirst counts the arrivals within d of the first.
func inFirst(arrivals []time.Time, d time.Duration) int {
	n := 0
	for _, a := range arrivals {
		if a.Sub(arrivals[0]) < d {
			n++
		}
	}
	return n
}
