package ews

import "testing"

// TestPoolLimit: the pool's limit halves on an overload answer to a
// request of the current epoch, never below 1, ignores answers to
// requests that started before the last decrease, and climbs by one
// after raiseAfter(limit) successes, up to its maximum.
func TestPoolLimit(t *testing.T) {
	p := &pool{max: 27, limit: 27, wake: make(chan struct{})}
	for _, want := range []int{13, 6, 3, 1, 1} {
		if got, _ := p.overloaded(p.currentEpoch()); got != want {
			t.Fatalf("halved to %d, want %d", got, want)
		}
	}
	p = &pool{max: 8, limit: 8, wake: make(chan struct{})}
	stale := p.currentEpoch()
	p.overloaded(stale)
	if got, changed := p.overloaded(stale); got != 4 || changed {
		t.Errorf("a second answer of the same load: limit %d (changed %v), want 4 unchanged", got, changed)
	}
	for _, c := range []struct{ from, successes, want int }{
		{4, raiseAfter(4) - 1, 4},
		{4, 1, 5},
		{5, raiseAfter(5), 6},
		{6, raiseAfter(6) + raiseAfter(7), 8},
		{8, 1000, 8},
	} {
		if p.limit != c.from {
			t.Fatalf("limit %d, want %d", p.limit, c.from)
		}
		for range c.successes {
			p.succeeded()
		}
		if p.limit != c.want {
			t.Errorf("%d successes from %d: limit %d, want %d", c.successes, c.from, p.limit, c.want)
		}
	}
	p.overloaded(p.currentEpoch())
	if p.streak != 0 || p.limit != 4 {
		t.Errorf("after an overload: streak %d, limit %d; want 0 and 4", p.streak, p.limit)
	}
}
