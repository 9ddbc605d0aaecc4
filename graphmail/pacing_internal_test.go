package graphmail

import (
	"testing"
	"time"
)

// TestPaceNeverOverfillsAWindow drives one mailbox's bucket with a
// greedy sender on a simulated clock for six windows: no sliding window
// ever holds more than the limit (so the pacing alone would never meet a
// 429 nor the hard ceiling of the ledger), and each window after the first
// holds the limit less the burst, within 1% (the budget is not left
// unspent; with Graph's budget the burst is 1% of it).
func TestPaceNeverOverfillsAWindow(t *testing.T) {
	for _, tc := range []struct {
		name         string
		limit        int
		window       time.Duration
		burst, floor float64
		start        float64
	}{
		{"Graph's request budget, default start", 10000, 10 * time.Minute, 0, 4, 0.5},
		{"Graph's request budget, 1% start", 10000, 10 * time.Minute, 0, 4, 0.01},
		{"a tiny budget", 12, time.Second, 0, 4, 0.5},
		{"a large burst", 1000, 10 * time.Second, 400, 4, 0.01},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPace(float64(tc.limit), tc.window, tc.burst, tc.floor, tc.start)
			var k bucket
			now := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
			end := now.Add(6 * tc.window)
			var sent []time.Time
			for now.Before(end) {
				k.refill(p, now)
				if w := k.wait(p, 1, now); w > 0 {
					now = now.Add(w + time.Nanosecond)
					continue
				}
				k.tokens--
				sent = append(sent, now)
			}
			i := 0
			for j, at := range sent {
				for at.Sub(sent[i]) >= tc.window {
					i++
				}
				if n := j - i + 1; n > tc.limit {
					t.Fatalf("%d sent within %v ending at %v, over the limit %d", n, tc.window, at.Sub(sent[0]), tc.limit)
				}
			}
			first := sent[0]
			for w := 1; w < 6; w++ {
				var n int
				for _, at := range sent {
					if d := at.Sub(first); d >= time.Duration(w)*tc.window && d < time.Duration(w+1)*tc.window {
						n++
					}
				}
				if float64(n) < 0.99*(float64(tc.limit)-p.burst) {
					t.Errorf("window %d holds %d of %d (burst %g)", w, n, tc.limit, p.burst)
				}
			}
		})
	}
}
