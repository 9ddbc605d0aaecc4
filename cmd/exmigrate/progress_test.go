package main

import (
	"bytes"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/exmigrate/exmigrate/engine"
	"github.com/exmigrate/exmigrate/internal/forecast"
)

func TestEstimate(t *testing.T) {
	tests := []struct {
		name      string
		all       remaining
		active    []remaining
		ceiling   time.Duration
		ceilingOK bool
		want      time.Duration
		ok        bool
	}{
		{name: "items at the measured rate", all: remaining{items: 600, itemRate: 10}, want: time.Minute, ok: true},
		{name: "bytes decide", all: remaining{items: 10, bytes: 600 << 20, itemRate: 10, byteRate: 1 << 20}, want: 10 * time.Minute, ok: true},
		// The last mailbox runs alone at 2 items/s: 100 items take 50 s
		// even though the wave's rate says 10 s.
		{name: "slow last mailbox", all: remaining{items: 100, itemRate: 10}, active: []remaining{{items: 100, itemRate: 2}}, want: 50 * time.Second, ok: true},
		{name: "nothing left", all: remaining{}, want: 0, ok: true},
		{name: "no rate, no ceiling", all: remaining{items: 5}, ok: false},
		{name: "no rate yet: the limits' bound", all: remaining{items: 5}, ceiling: 90 * time.Second, ceilingOK: true, want: 90 * time.Second, ok: true},
		{name: "no rate yet, within one window", all: remaining{items: 5}, ceiling: 0, ceilingOK: true, ok: false},
		{name: "measured rate over the ceiling's estimate", all: remaining{items: 600, itemRate: 60}, ceiling: time.Hour, ceilingOK: true, want: 10 * time.Second, ok: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := estimate(tc.all, tc.active, tc.ceiling, tc.ceilingOK)
			if ok != tc.ok || got != tc.want {
				t.Errorf("estimate = %v, %v; want %v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var barLine = regexp.MustCompile(`copying .*?([0-9,]+)/([0-9,]+) items`)

// TestProgressTotalsAreThePlan: once planned, the total stays whatever the
// engine reports as its mailboxes start; skipped items count as dealt
// with; the rate and the ETA follow the clock; the terminal block fits
// its width and is erased before a log line and drawn again after it.
func TestProgressTotalsAreThePlan(t *testing.T) {
	var out bytes.Buffer
	clock := &fakeClock{t: time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)}
	keys := []engine.JobKey{{SourceAddress: "ann@contoso.com"}, {SourceAddress: "bob@contoso.com"}}
	p := startProgress(&out, slog.New(slog.DiscardHandler), time.Hour, time.Hour, []string{"ann@contoso.com", "bob@contoso.com"}, 1, forecast.Ceiling{}, true, clock.now)
	defer p.Finish()
	p.width = func() (int, int) { return 60, 20 }
	for i, k := range keys {
		p.Planning(i, k)
		p.Plan(i, engine.PlanTotals{Items: 100, Bytes: 100 << 10}, true)
	}
	p.PlanDone()

	p.Started(0, keys[0])
	p.Planned(keys[0], 130, 0) // the engine's own plan: mail arrived since
	for range 50 {
		p.ItemDone(keys[0], 1<<10)
	}
	p.ItemSkipped(keys[0], 1<<10)
	p.mu.Lock()
	p.sampleLocked()
	p.mu.Unlock()
	clock.add(10 * time.Second)
	for range 49 {
		p.ItemDone(keys[0], 1<<10)
	}
	p.mu.Lock()
	p.sampleLocked()
	tot := p.totalsLocked()
	head := p.headline(tot)
	block := p.blockLocked()
	p.mu.Unlock()
	if tot.items != 200 || tot.doneItems != 100 {
		t.Fatalf("totals %d/%d, want 100/200 (the plan, not the engine's 130)", tot.doneItems, tot.items)
	}
	// 49 items in 10 s: 4.9/s, the 100 left take about 20 s.
	if !strings.Contains(head, "100/200 items (1 skipped)") || !strings.Contains(head, "99.0 KB of 199 KB") {
		t.Errorf("headline %q, want 100/200 items with the skip, and the skipped item's bytes off the bytes to copy", head)
	}
	if !strings.Contains(head, "5 items/s") || !strings.Contains(head, "ETA 20s") {
		t.Errorf("headline %q, want 5 items/s and ETA 20s", head)
	}
	for _, l := range block {
		if n := utf8.RuneCountInString(l); n > 59 {
			t.Errorf("block line of %d columns in 60: %q", n, l)
		}
	}
	if m := barLine.FindStringSubmatch(block[0]); m == nil || m[1] != "100" || m[2] != "200" {
		t.Errorf("bar line %q, want 100/200 items", block[0])
	}

	p.mu.Lock()
	p.drawLocked()
	p.mu.Unlock()
	drawn := len(block)
	out.Reset()
	if _, err := p.Write([]byte("time=... level=INFO msg=\"mailbox finished\"\n")); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	erase := up(drawn) + eraseDown
	if !strings.HasPrefix(got, erase) || !strings.Contains(got, "msg=\"mailbox finished\"\n"+eraseLine+"copying") {
		t.Errorf("a log line was not written between erasing the block and drawing it again: %q", got)
	}
}

// TestProgressLogLineCarriesRateAndETA: off a terminal, the progress line
// has the rate, the ETA and the mailbox counts.
func TestProgressLogLineCarriesRateAndETA(t *testing.T) {
	var logs bytes.Buffer
	clock := &fakeClock{t: time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)}
	k := engine.JobKey{SourceAddress: "ann@contoso.com"}
	p := startProgress(&bytes.Buffer{}, slog.New(slog.NewTextHandler(&logs, nil)), time.Hour, time.Hour, []string{"ann@contoso.com"}, 1, forecast.Ceiling{}, false, clock.now)
	p.Plan(0, engine.PlanTotals{Items: 300}, true)
	p.PlanDone()
	p.Started(0, k)
	p.mu.Lock()
	p.sampleLocked()
	p.mu.Unlock()
	clock.add(10 * time.Second)
	for range 100 {
		p.ItemDone(k, 0)
	}
	p.mu.Lock()
	p.sampleLocked()
	p.logLocked("copy progress")
	p.mu.Unlock()
	clock.add(10 * time.Second)
	p.Finish()
	line := strings.SplitN(logs.String(), "\n", 2)[0]
	for _, want := range []string{"items_done=100", "items_planned=300", "items_per_s=10", "eta=20s", "active=1", "waiting=0"} {
		if !strings.Contains(line, want) {
			t.Errorf("progress line %q lacks %s", line, want)
		}
	}
	// 100 items in the 20 s since planning ended: 5 a second.
	if !regexp.MustCompile(`msg="copy finished" .*items_per_s=5 `).MatchString(logs.String()) {
		t.Errorf("no final line with the run's average rate: %q", logs.String())
	}
}

// TestProgressETABeforeARate: before any rate is measured, the ETA is the
// least time Exchange Online's limits allow for what is left, --parallel
// at a time, and says it is a bound; within one window it says nothing.
func TestProgressETABeforeARate(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)}
	keys := []engine.JobKey{{SourceAddress: "ann@contoso.com"}, {SourceAddress: "bob@contoso.com"}}
	p := startProgress(&bytes.Buffer{}, slog.New(slog.DiscardHandler), time.Hour, time.Hour, []string{"ann@contoso.com", "bob@contoso.com"}, 1, forecast.ExchangeOnline(), false, clock.now)
	defer p.Finish()
	for i := range keys {
		p.Plan(i, engine.PlanTotals{Items: 20_000}, true)
	}
	p.PlanDone()
	p.mu.Lock()
	head := p.headline(p.totalsLocked())
	p.mu.Unlock()
	// 10,000 of each go within the first window; the other 10,000 of each
	// wait at 16.7 per second: 600 s each, one mailbox at a time.
	if !strings.Contains(head, "ETA at least 20m0s (the services' limits; measuring)") {
		t.Errorf("headline %q, want an ETA of at least 20m0s", head)
	}
	p2 := startProgress(&bytes.Buffer{}, slog.New(slog.DiscardHandler), time.Hour, time.Hour, []string{"ann@contoso.com"}, 1, forecast.ExchangeOnline(), false, clock.now)
	defer p2.Finish()
	p2.Plan(0, engine.PlanTotals{Items: 500}, true)
	p2.PlanDone()
	p2.mu.Lock()
	head = p2.headline(p2.totalsLocked())
	p2.mu.Unlock()
	if !strings.Contains(head, "ETA unknown yet") {
		t.Errorf("headline %q for a mailbox within one window, want the ETA unknown until measured", head)
	}
}
