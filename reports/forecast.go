package reports

import (
	"fmt"
	"strings"
	"time"

	"github.com/exmigrate/exmigrate/internal/forecast"
	"github.com/exmigrate/exmigrate/internal/humanize"
)

// Forecast is how long a mailbox's copy takes at the services' published
// per-mailbox limits. It is a lower bound: a client, network or server
// slower than those limits makes the copy slower.
type Forecast struct {
	// From and To are the services the copy reads and writes ("Exchange
	// Server", "Exchange Online"); To is empty when the target is not
	// known at assessment time.
	From string `json:"from"`
	To   string `json:"to,omitempty"`
	// Items and Bytes are what the copy moves by default: the primary
	// mailbox and the online archive.
	Items int64 `json:"items"`
	Bytes int64 `json:"bytes"`
	// The ceiling: the fastest the services let one mailbox move; a zero
	// field is a limit no service publishes.
	CeilingItemsPerSecond float64 `json:"ceiling_items_per_second,omitempty"`
	CeilingBytesPerSecond float64 `json:"ceiling_bytes_per_second,omitempty"`
	// The budgets one window of the limits lets through at once (10,000
	// requests, 150 MB): only what is beyond them waits.
	BudgetItems float64 `json:"budget_items,omitempty"`
	BudgetBytes float64 `json:"budget_bytes,omitempty"`
	// Known says Seconds is a figure; Unknown says why there is none.
	Known   bool   `json:"known"`
	Seconds int64  `json:"seconds"`
	Unknown string `json:"unknown,omitempty"`
	// Decides names the limit that decides: "requests" or "uploads".
	Decides string `json:"decides,omitempty"`
}

// WaveForecast is the time of the wave's mailboxes copied Parallel at a
// time in list order, each at its ceiling (forecast.Schedule): a lower bound.
type WaveForecast struct {
	Parallel int `json:"parallel"`
	// Mailboxes are the mailboxes to move with a figure, counted in
	// Seconds; Unknown those to move without one, left out of it.
	Mailboxes int   `json:"mailboxes"`
	Seconds   int64 `json:"seconds"`
	Unknown   int   `json:"unknown_mailboxes"`
}

// ObservedRate is the rate a copy reached, from the state: the items and
// bytes a pass recorded as copied over the time the pass took. Unknown
// says why there is no rate (then the figures are zero).
type ObservedRate struct {
	// Pass is the pass measured: "first" (a finished first pass) or
	// "running" (the pass under way, up to the report).
	Pass           string  `json:"pass,omitempty"`
	Items          int64   `json:"items"`
	Bytes          int64   `json:"bytes"`
	DurationMillis int64   `json:"duration_ms"`
	ItemsPerSecond float64 `json:"items_per_second"`
	BytesPerSecond float64 `json:"bytes_per_second"`
	Unknown        string  `json:"unknown,omitempty"`
}

// NoPublishedCeiling is what a forecast between Exchange Servers says:
// Exchange Server publishes no per-mailbox limit to compute from.
const NoPublishedCeiling = "no published ceiling: measured after the first pass"

// ForecastMailbox forecasts one assessed mailbox's copy from service from
// to service to (to empty: not known, and toWhy says why). Into Exchange
// Online, the items over the tenant's message size limit (tenantLimit, 0:
// none) are left out: the copy skips them without sending a byte.
func ForecastMailbox(m *MailboxAssessment, from, to forecast.Service, toWhy string, tenantLimit int64) *Forecast {
	f := &Forecast{From: string(from), To: string(to), Items: m.Items, Bytes: m.SizeBytes}
	if m.Archive != nil {
		f.Items += m.Archive.Items
		f.Bytes += m.Archive.SizeBytes
	}
	if to == forecast.Online && tenantLimit > 0 && m.ItemsOverTenant > 0 {
		n, b := overLimit(m, tenantLimit)
		f.Items, f.Bytes = max(f.Items-n, 0), max(f.Bytes-b, 0)
	}
	if m.Readiness == Unreadable {
		f.Items, f.Bytes = 0, 0
		f.Unknown = "the mailbox could not be read: nothing to forecast from"
		return f
	}
	if to == "" {
		f.Unknown = toWhy
		return f
	}
	c := forecast.Between(from, to)
	f.CeilingItemsPerSecond, f.CeilingBytesPerSecond = c.ItemsPerSecond, c.BytesPerSecond
	f.BudgetItems, f.BudgetBytes = c.ItemsBudget, c.BytesBudget
	d, ok := c.LowerBound(f.Items, f.Bytes)
	if !ok {
		f.Unknown = NoPublishedCeiling
		return f
	}
	f.Known, f.Seconds, f.Decides = true, int64((d+time.Second-1)/time.Second), c.Decides(f.Items, f.Bytes)
	return f
}

// overLimit is how many items of the primary mailbox are over limit and
// the most bytes they can hold: the largest items named, and for those
// over the limit but not named (ItemsOverTenant counts them all), the
// size of the smallest named one each, which none of them exceeds. The
// most, so that the forecast stays a lower bound.
func overLimit(m *MailboxAssessment, limit int64) (items, bytes int64) {
	smallest := int64(0)
	for _, it := range m.LargestItems {
		if it.SizeBytes > limit {
			items++
			bytes += it.SizeBytes
		}
		if smallest == 0 || it.SizeBytes < smallest {
			smallest = it.SizeBytes
		}
	}
	if rest := m.ItemsOverTenant - items; rest > 0 {
		items += rest
		bytes += rest * smallest
	}
	return items, bytes
}

// WaveOf forecasts the wave: the mailboxes to move (every state but
// in-cloud, as the headlines count them), parallel at a time in the
// assessment's order.
func WaveOf(a *Assessment, parallel int) WaveForecast {
	return newModel(a).wave(parallel)
}

func (md *model) wave(parallel int) WaveForecast {
	w := WaveForecast{Parallel: max(parallel, 1)}
	var each []time.Duration
	for i := range md.mailboxes {
		v := &md.mailboxes[i]
		if !v.state.ToMove() {
			continue
		}
		f := v.m.Forecast
		if f == nil || !f.Known {
			w.Unknown++
			continue
		}
		w.Mailboxes++
		// The recorded figure as it is, not recomputed from other limits.
		each = append(each, time.Duration(f.Seconds)*time.Second)
	}
	total := forecast.Schedule(each, w.Parallel)
	w.Seconds = int64((total + time.Second - 1) / time.Second)
	return w
}

// LowerBoundNote says what every forecast is, wherever one is shown.
const LowerBoundNote = "a lower bound at the services' published per-mailbox limits: a slower client, network or server is slower"

// Line says the wave's forecast in one sentence: "at the services'
// ceilings, 5 mailboxes 16 at a time: about 3 h 20 min".
func (w WaveForecast) Line() string {
	var b strings.Builder
	if w.Mailboxes > 0 {
		fmt.Fprintf(&b, "at the services' ceilings, %s %d at a time: %s", plural(w.Mailboxes, "mailbox", "mailboxes"), w.Parallel,
			forecast.About(time.Duration(w.Seconds)*time.Second))
	} else {
		b.WriteString("no mailbox to move has a forecast")
	}
	if w.Unknown > 0 {
		fmt.Fprintf(&b, "; %s without a forecast not counted", plural(w.Unknown, "mailbox", "mailboxes"))
	}
	return b.String()
}

// ForecastCell says a mailbox's forecast in a few words, and why it is
// what it is. A mailbox without a published ceiling uses its measured
// rate when a pass measured one, said as measured, never as a ceiling.
func ForecastCell(m *MailboxAssessment) (short, why string) {
	f := m.Forecast
	if f == nil {
		return "", "the assessment has no forecast (written before forecasts: run assess again)"
	}
	if f.Known {
		why = f.From + " → " + f.To + " at Exchange Online's published per-mailbox limits"
		if f.Decides == "" {
			return forecast.About(0), why + ": within what one window of them lets through at once (10,000 requests, and 150 MB of uploads into it), so they hold nothing back; the time is the client's and the network's"
		}
		return forecast.About(time.Duration(f.Seconds) * time.Second), why + ": " + f.Decides + " decide"
	}
	if f.Unknown == NoPublishedCeiling {
		if o := measured(m); o != nil {
			c, _ := forecast.Measured(o.Items, o.Bytes, time.Duration(o.DurationMillis)*time.Millisecond)
			if d, ok := c.Duration(f.Items, f.Bytes); ok {
				return forecast.About(d) + " (measured)", "no published ceiling: at the rate the " + o.Pass + " pass measured, " + observedLine(o)
			}
		}
	}
	return "unknown", f.Unknown
}

// measured is a mailbox's observed rate, or nil when there is none.
func measured(m *MailboxAssessment) *ObservedRate {
	if m.Copy == nil || m.Copy.Observed == nil || m.Copy.Observed.Unknown != "" || m.Copy.Observed.DurationMillis <= 0 {
		return nil
	}
	return m.Copy.Observed
}

// observedLine says an observed rate: "52.4 items/s, 1.2 MB/s (1,000
// items, 48 MB in 19 s, first pass)".
func observedLine(o *ObservedRate) string {
	if o == nil {
		return ""
	}
	if o.Unknown != "" {
		return "not measured: " + o.Unknown
	}
	took := strings.TrimPrefix(forecast.About(time.Duration(o.DurationMillis)*time.Millisecond), "about ")
	return fmt.Sprintf("%s items/s, %s/s (%s items, %s in %s, %s pass)", rate(o.ItemsPerSecond), humanize.Bytes(int64(o.BytesPerSecond)),
		formatInt(o.Items), humanize.Bytes(o.Bytes), took, o.Pass)
}

// rate writes a rate with one decimal under 100, none above.
func rate(v float64) string {
	if v >= 100 {
		return formatInt(int64(v + 0.5))
	}
	return fmt.Sprintf("%.1f", v)
}
