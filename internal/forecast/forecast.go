// Package forecast estimates how long copies take from what the services
// publish as their limits: per mailbox, and for a wave of mailboxes copied
// a number at a time.
package forecast

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Ceiling is the fastest one mailbox can be copied: items and bytes per
// second. A zero field is a limit the service does not publish.
type Ceiling struct {
	ItemsPerSecond float64
	BytesPerSecond float64
	// ItemsBudget and BytesBudget are what one window of a limit lets a
	// mailbox spend at once (the limits are per 10 and per 5 minutes, not
	// per second); zero where nothing is published. LowerBound uses them.
	ItemsBudget, BytesBudget float64
}

// Published limits of Exchange Online through Microsoft Graph, per mailbox
// (reference/graph.md): 10,000 requests per 10 minutes, and 150 MB of
// uploads (POST, PATCH, PUT bodies) per 5 minutes. A small item costs one
// request (measured: 1.01 requests per item through the fake), and its
// bytes are its upload.
const (
	GraphRequestsPerWindow = 10_000
	GraphRequestWindow     = 10 * time.Minute
	GraphUploadPerWindow   = 150_000_000
	GraphUploadWindow      = 5 * time.Minute
)

// ExchangeOnline is the ceiling of a copy into (or out of) an Exchange
// Online mailbox.
func ExchangeOnline() Ceiling {
	return Ceiling{
		ItemsPerSecond: GraphRequestsPerWindow / GraphRequestWindow.Seconds(),
		BytesPerSecond: GraphUploadPerWindow / GraphUploadWindow.Seconds(),
		ItemsBudget:    GraphRequestsPerWindow,
		BytesBudget:    GraphUploadPerWindow,
	}
}

// Known reports whether the ceiling bounds anything.
func (c Ceiling) Known() bool { return c.ItemsPerSecond > 0 || c.BytesPerSecond > 0 }

// Duration is how long items and bytes take at the ceiling: the slower of
// the two limits decides. ok is false for a ceiling that bounds nothing.
func (c Ceiling) Duration(items, bytes int64) (d time.Duration, ok bool) {
	var s float64
	if c.ItemsPerSecond > 0 && items > 0 {
		s, ok = math.Max(s, float64(items)/c.ItemsPerSecond), true
	}
	if c.BytesPerSecond > 0 && bytes > 0 {
		s, ok = math.Max(s, float64(bytes)/c.BytesPerSecond), true
	}
	if items <= 0 && bytes <= 0 {
		return 0, c.Known()
	}
	return seconds(s), ok
}

// Mailbox is one mailbox of a wave: what it has to copy and its ceiling
// (the slower of its source's and its target's).
type Mailbox struct {
	Items, Bytes int64
	Ceiling      Ceiling
}

// Slower is the ceiling of a copy between two sides: each limit is the
// lower of the two that publish one.
func Slower(a, b Ceiling) Ceiling {
	low := func(x, y float64) float64 {
		switch {
		case x <= 0:
			return y
		case y <= 0:
			return x
		}
		return math.Min(x, y)
	}
	return Ceiling{ItemsPerSecond: low(a.ItemsPerSecond, b.ItemsPerSecond), BytesPerSecond: low(a.BytesPerSecond, b.BytesPerSecond),
		ItemsBudget: low(a.ItemsBudget, b.ItemsBudget), BytesBudget: low(a.BytesBudget, b.BytesBudget)}
}

// WaveForecast is a wave's estimate.
type WaveForecast struct {
	// Each is each mailbox's own copy time at its ceiling, in the wave's
	// order; Known[i] is false where the ceiling is not published.
	Each  []time.Duration
	Known []bool
	// Total is the wave's time with Parallel mailboxes at once, taken in
	// list order as the copy takes them; Complete is false when a mailbox
	// had no known ceiling (Total then leaves it out).
	Total    time.Duration
	Parallel int
	Complete bool
}

// Wave forecasts mailboxes copied parallel at a time in list order, each
// slot taking the next mailbox when its last one ends, as `copy
// --parallel` does. The per-mailbox ceilings are the services'; a client
// or network slower than them makes the copy slower than forecast.
func Wave(mbs []Mailbox, parallel int) WaveForecast {
	parallel = max(parallel, 1)
	f := WaveForecast{Each: make([]time.Duration, len(mbs)), Known: make([]bool, len(mbs)), Parallel: parallel, Complete: true}
	var known []time.Duration
	for i, m := range mbs {
		d, ok := m.Ceiling.Duration(m.Items, m.Bytes)
		f.Each[i], f.Known[i] = d, ok
		if !ok {
			f.Complete = false
			continue
		}
		known = append(known, d)
	}
	f.Total = Schedule(known, parallel)
	return f
}

// Schedule is how long jobs of the given durations take run parallel at a
// time in list order, each slot taking the next job when its last one ends,
// as `copy --parallel` takes mailboxes.
func Schedule(durations []time.Duration, parallel int) time.Duration {
	slots := make([]time.Duration, max(parallel, 1))
	for _, d := range durations {
		first := 0 // the slot free first
		for s := range slots {
			if slots[s] < slots[first] {
				first = s
			}
		}
		slots[first] += d
	}
	return slices.Max(slots)
}

func seconds(s float64) time.Duration {
	if s > math.MaxInt64/float64(time.Second) {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(math.Ceil(s * float64(time.Second)))
}

// ExchangeOnlineRead is the ceiling of a copy out of an Exchange Online
// mailbox: reading costs a request per item (its content; listings are
// paged), and the 150 MB upload limit counts request bodies sent, not
// downloads, so no byte limit is published for it.
func ExchangeOnlineRead() Ceiling {
	return Ceiling{ItemsPerSecond: GraphRequestsPerWindow / GraphRequestWindow.Seconds(), ItemsBudget: GraphRequestsPerWindow}
}

// Service is the kind of server at one end of a copy.
type Service string

// Services.
const (
	ExchangeServer Service = "Exchange Server" // on-premises, through EWS: publishes no per-mailbox limit
	Online         Service = "Exchange Online" // through Microsoft Graph
)

// Between is the ceiling of a copy from one service to another: the slower
// of reading the source and writing the target. Exchange Server publishes
// no limit, so a copy between two Exchange Servers has an unknown ceiling.
func Between(from, to Service) Ceiling {
	var c Ceiling
	if from == Online {
		c = Slower(c, ExchangeOnlineRead())
	}
	if to == Online {
		c = Slower(c, ExchangeOnline())
	}
	return c
}

// LowerBound is the least time items and bytes can take within the
// limits, for a mailbox whose budgets are whole (nothing else spent them):
// a window's budget can go at once, and only what is beyond it waits for
// the windows to roll on, at the limit's rate. Duration, the steady rate,
// is what a copy under way keeps to; for a mailbox of many windows the
// two differ by at most one window. ok is false for a ceiling that bounds
// nothing.
func (c Ceiling) LowerBound(items, bytes int64) (d time.Duration, ok bool) {
	si, sb := c.beyond(items, bytes)
	return seconds(math.Max(si, sb)), c.Known()
}

// beyond is the seconds the items and the bytes beyond one window's
// budget take at the limits' rates.
func (c Ceiling) beyond(items, bytes int64) (si, sb float64) {
	if c.ItemsPerSecond > 0 {
		si = math.Max(float64(items)-c.ItemsBudget, 0) / c.ItemsPerSecond
	}
	if c.BytesPerSecond > 0 {
		sb = math.Max(float64(bytes)-c.BytesBudget, 0) / c.BytesPerSecond
	}
	return si, sb
}

// Decides names the limit that decides LowerBound: "requests" (items) or
// "uploads" (bytes); "" when neither holds anything back (all within one
// window's budget, or no limit published).
func (c Ceiling) Decides(items, bytes int64) string {
	si, sb := c.beyond(items, bytes)
	switch {
	case si == 0 && sb == 0:
		return ""
	case sb > si:
		return "uploads"
	}
	return "requests"
}

// Measured is the rate a copy was observed to reach: items and bytes
// written over the time it took. It is a Ceiling so that Duration applies,
// but it is a measurement of one client and network, not a limit.
func Measured(items, bytes int64, took time.Duration) (Ceiling, bool) {
	if took <= 0 || items <= 0 {
		return Ceiling{}, false
	}
	s := took.Seconds()
	return Ceiling{ItemsPerSecond: float64(items) / s, BytesPerSecond: float64(max(bytes, 0)) / s}, true
}

// About says a duration for people, rounded as a forecast deserves:
// seconds under a minute, minutes under an hour, hours and minutes under
// two days, then days and hours ("about 3 h 20 min"); "no wait" for none.
func About(d time.Duration) string {
	if d <= 0 {
		return "no wait"
	}
	if s := int64(math.Ceil(d.Seconds())); s < 60 {
		return fmt.Sprintf("about %d s", s)
	}
	m := int64(math.Round(d.Minutes()))
	switch {
	case m < 60:
		return fmt.Sprintf("about %d min", m)
	case m < 48*60 && m%60 == 0:
		return fmt.Sprintf("about %d h", m/60)
	case m < 48*60:
		return fmt.Sprintf("about %d h %d min", m/60, m%60)
	}
	h := int64(math.Round(d.Hours()))
	if h%24 == 0 {
		return fmt.Sprintf("about %d d", h/24)
	}
	return fmt.Sprintf("about %d d %d h", h/24, h%24)
}
