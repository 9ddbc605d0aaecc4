package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/exmigrate/exmigrate/engine"
	"github.com/exmigrate/exmigrate/internal/forecast"
	"github.com/exmigrate/exmigrate/internal/humanize"
)

// Mailbox states as the progress shows them.
const (
	mbWaiting  = "waiting"
	mbPlanning = "planning"
	mbCopying  = "copying"
	mbDone     = "done"
	mbFailed   = "failed"
)

// mailboxProgress is one mailbox of the run.
type mailboxProgress struct {
	label     string
	state     string
	planned   bool // its totals came from the plan before the copy
	items     int64
	bytes     int64
	doneItems int64 // copied or skipped
	doneBytes int64 // copied
	skipped   int64
	started   time.Time
}

// sample is the run's done counts at one moment, for the rate.
type sample struct {
	at           time.Time
	items, bytes int64
}

// rateWindow is how far back the rate looks: long enough to smooth the
// batches' bursts, short enough to follow a change of pace.
const rateWindow = 30 * time.Second

// copyProgress shows a copy's progress. Totals are planned before the
// first item moves (plan), so they do not grow as mailboxes start. On a
// terminal it draws a block: the bar with items, bytes, rate and ETA, then
// one line per active mailbox and a line of counts; log lines are written
// above the block, which is drawn again below them. Elsewhere it logs a
// line with the same figures every few seconds.
type copyProgress struct {
	log      *slog.Logger
	out      io.Writer
	isTerm   bool
	width    func() (cols, rows int)
	now      func() time.Time
	ceiling  forecast.Ceiling // per mailbox; zero when no limit is published
	parallel int              // mailboxes copied at once

	mu       sync.Mutex
	boxes    []*mailboxProgress
	byKey    map[engine.JobKey]*mailboxProgress
	planning bool
	listed   int // mailboxes planned so far
	samples  []sample
	started  time.Time
	drawn    int // lines of the block on the screen
	bar      *progressbar.ProgressBar
	finished bool

	stop chan struct{}
	done chan struct{}
	once sync.Once
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// newCopyProgress starts the progress of a run over the mailboxes labelled
// labels (in the list's order), parallel at a time; every is the pace of
// the log line when w is not a terminal.
func newCopyProgress(w io.Writer, log *slog.Logger, every time.Duration, labels []string, parallel int, ceiling forecast.Ceiling) *copyProgress {
	tick, isTerm := every, isTerminal(w)
	if isTerm {
		tick = 250 * time.Millisecond // the block's redraw
	}
	return startProgress(w, log, tick, every, labels, parallel, ceiling, isTerm, time.Now)
}

// startProgress is newCopyProgress with the terminal, the clock and the
// loop's tick given.
func startProgress(w io.Writer, log *slog.Logger, tick, every time.Duration, labels []string, parallel int, ceiling forecast.Ceiling, isTerm bool, now func() time.Time) *copyProgress {
	p := &copyProgress{log: log, out: w, isTerm: isTerm, now: now, ceiling: ceiling, parallel: parallel,
		byKey: map[engine.JobKey]*mailboxProgress{}, planning: true,
		stop: make(chan struct{}), done: make(chan struct{})}
	p.width = func() (int, int) { return 100, 30 }
	if f, ok := w.(*os.File); ok && p.isTerm {
		p.width = func() (int, int) {
			c, r, err := term.GetSize(int(f.Fd()))
			if err != nil || c <= 0 {
				return 100, 30
			}
			return c, r
		}
	}
	for _, l := range labels {
		p.boxes = append(p.boxes, &mailboxProgress{label: l, state: mbWaiting})
	}
	p.started = p.now()
	go p.loop(tick, every)
	return p
}

func (p *copyProgress) loop(tick, every time.Duration) {
	defer close(p.done)
	t := time.NewTicker(tick)
	defer t.Stop()
	lastLog := p.now()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
		p.mu.Lock()
		p.sampleLocked()
		if p.isTerm {
			p.drawLocked()
		} else if p.now().Sub(lastLog) >= every-every/10 {
			lastLog = p.now()
			p.logLocked("copy progress")
		}
		p.mu.Unlock()
	}
}

// Planning marks mailbox i as being planned, under key.
func (p *copyProgress) Planning(i int, key engine.JobKey) {
	p.mu.Lock()
	defer p.mu.Unlock()
	b := p.boxes[i]
	b.state = mbPlanning
	p.byKey[key] = b
}

// Plan sets mailbox i's totals from engine.Copier.Plan; ok is false when
// it could not be planned (its copy reports the totals then, or fails).
func (p *copyProgress) Plan(i int, t engine.PlanTotals, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	b := p.boxes[i]
	b.state = mbWaiting
	p.listed++
	if ok {
		b.planned, b.items, b.bytes = true, t.Items, t.Bytes
	}
}

// PlanDone ends planning: the totals are final from here.
func (p *copyProgress) PlanDone() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.planning = false
	p.started = p.now()
	p.samples = nil
}

// Started marks mailbox i as copying, under key.
func (p *copyProgress) Started(i int, key engine.JobKey) {
	p.mu.Lock()
	defer p.mu.Unlock()
	b := p.boxes[i]
	b.state, b.started = mbCopying, p.now()
	p.byKey[key] = b
}

// Finished marks mailbox i done or failed.
func (p *copyProgress) Finished(i int, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	b := p.boxes[i]
	b.state = mbDone
	if err != nil {
		b.state = mbFailed
	}
}

// Planned is the engine's plan of a mailbox's pass. A mailbox planned
// before the copy keeps that plan, so that the total does not move; one
// that could not be planned takes the engine's.
func (p *copyProgress) Planned(key engine.JobKey, items, bytes int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if b := p.box(key); b != nil && !b.planned {
		b.items += items
		b.bytes += bytes
	}
}

func (p *copyProgress) ItemDone(key engine.JobKey, bytes int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if b := p.box(key); b != nil {
		b.doneItems++
		b.doneBytes += bytes
	}
}

// ItemSkipped counts a skipped item as dealt with, so the items' total
// stays; its bytes are taken off the bytes to copy, since they will not
// be, rather than counted as copied.
func (p *copyProgress) ItemSkipped(key engine.JobKey, bytes int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if b := p.box(key); b != nil {
		b.doneItems++
		b.skipped++
		b.bytes = max(b.bytes-bytes, b.doneBytes)
	}
}

func (p *copyProgress) box(key engine.JobKey) *mailboxProgress {
	if b, ok := p.byKey[key]; ok {
		return b
	}
	// A mailbox the run did not announce (the public folders): shown as
	// one more line.
	b := &mailboxProgress{label: key.SourceAddress, state: mbCopying, started: p.now()}
	p.boxes = append(p.boxes, b)
	p.byKey[key] = b
	return b
}

// totals are the run's planned and done items and bytes; a mailbox that
// copied more than planned (mail that arrived meanwhile) counts what it
// copied, so that done never exceeds the total.
type totals struct {
	items, bytes, doneItems, doneBytes, skipped int64
	active, done, failed, waiting               int
}

func (p *copyProgress) totalsLocked() totals {
	var t totals
	for _, b := range p.boxes {
		t.items += max(b.items, b.doneItems)
		t.bytes += max(b.bytes, b.doneBytes)
		t.doneItems += b.doneItems
		t.doneBytes += b.doneBytes
		t.skipped += b.skipped
		switch b.state {
		case mbCopying, mbPlanning:
			t.active++
		case mbDone:
			t.done++
		case mbFailed:
			t.failed++
		default:
			t.waiting++
		}
	}
	return t
}

func (p *copyProgress) sampleLocked() {
	t := p.totalsLocked()
	now := p.now()
	p.samples = append(p.samples, sample{at: now, items: t.doneItems, bytes: t.doneBytes})
	cut := 0
	for cut < len(p.samples)-1 && now.Sub(p.samples[cut+1].at) >= rateWindow {
		cut++
	}
	p.samples = p.samples[cut:]
}

// rate is items and bytes per second over the last rateWindow.
func (p *copyProgress) rateLocked() (items, bytes float64) {
	if len(p.samples) < 2 {
		return 0, 0
	}
	a, b := p.samples[0], p.samples[len(p.samples)-1]
	s := b.at.Sub(a.at).Seconds()
	if s < 1 {
		return 0, 0
	}
	return float64(b.items-a.items) / s, float64(b.bytes-a.bytes) / s
}

// etaLocked estimates the time left; ok is false while nothing can be
// said (no rate measured yet, and no published ceiling).
func (p *copyProgress) etaLocked(t totals) (time.Duration, bool) {
	ir, br := p.rateLocked()
	var tails []remaining
	for _, b := range p.boxes {
		if b.state != mbCopying {
			continue
		}
		el := p.now().Sub(b.started).Seconds()
		r := remaining{items: max(b.items-b.doneItems, 0), bytes: max(b.bytes-b.doneBytes, 0)}
		if el >= 5 {
			r.itemRate, r.byteRate = float64(b.doneItems)/el, float64(b.doneBytes)/el
		}
		tails = append(tails, r)
	}
	fallback, known := p.atCeilingLocked()
	return estimate(remaining{items: t.items - t.doneItems, bytes: t.bytes - t.doneBytes, itemRate: ir, byteRate: br}, tails, fallback, known)
}

// remaining is work left and the rate it goes at.
type remaining struct {
	items, bytes       int64
	itemRate, byteRate float64
}

func (r remaining) at() (float64, bool) {
	var s float64
	ok := false
	if r.items > 0 && r.itemRate > 0 {
		s, ok = float64(r.items)/r.itemRate, true
	}
	if r.bytes > 0 && r.byteRate > 0 {
		s, ok = max(s, float64(r.bytes)/r.byteRate), true
	}
	return s, ok
}

// estimate is the time left of a run: what is left at the measured rate,
// but never less than the slowest active mailbox needs at its own rate
// (the last mailboxes of a wave run alone). Before any rate is measured,
// the services' ceilings give it (atCeiling) where they publish one. The
// ceilings are not a bound once rates are measured: Graph's budget lets a
// mailbox start faster than its long-run ceiling, and the measured rate
// shows which pace holds.
func estimate(all remaining, active []remaining, atCeiling time.Duration, ceilingKnown bool) (time.Duration, bool) {
	if all.items <= 0 && all.bytes <= 0 {
		return 0, true
	}
	s, ok := all.at()
	for _, m := range active {
		if t, known := m.at(); known {
			s, ok = max(s, t), true
		}
	}
	if !ok {
		// Nothing measured yet: the limits' bound, when it says anything.
		if !ceilingKnown || atCeiling <= 0 {
			return 0, false
		}
		return atCeiling.Round(time.Second), true
	}
	return time.Duration(s * float64(time.Second)).Round(time.Second), true
}

// atCeilingLocked is the least time the mailboxes not yet copied take
// within the services' published limits, parallel at a time in list order
// (each mailbox's forecast.Ceiling.LowerBound): a window's budget may go at
// once, only what is beyond it waits. It bounds the ETA from below before
// any rate is measured; ok is false when no limit is published.
func (p *copyProgress) atCeilingLocked() (time.Duration, bool) {
	if !p.ceiling.Known() {
		return 0, false
	}
	var each []time.Duration
	for _, b := range p.boxes {
		if b.state == mbDone || b.state == mbFailed {
			continue
		}
		d, _ := p.ceiling.LowerBound(max(b.items-b.doneItems, 0), max(b.bytes-b.doneBytes, 0))
		each = append(each, d)
	}
	return forecast.Schedule(each, p.parallel), true
}

// headline is the progress in one line: what the bar line and the log line
// say.
func (p *copyProgress) headline(t totals) string {
	var b strings.Builder
	if p.planning {
		fmt.Fprintf(&b, "planning: %d of %d mailboxes listed", p.listed, len(p.boxes))
		return b.String()
	}
	fmt.Fprintf(&b, "%s/%s items", humanize.Count(t.doneItems), humanize.Count(t.items))
	if t.skipped > 0 {
		fmt.Fprintf(&b, " (%s skipped)", humanize.Count(t.skipped))
	}
	if t.bytes > 0 {
		fmt.Fprintf(&b, ", %s of %s", humanize.Bytes(t.doneBytes), humanize.Bytes(t.bytes))
	}
	if ir, br := p.rateLocked(); ir > 0 {
		fmt.Fprintf(&b, ", %.0f items/s (%s/s)", ir, humanize.Bytes(int64(br)))
	}
	if d, ok := p.etaLocked(t); ok {
		if ir, br := p.rateLocked(); ir == 0 && br == 0 {
			fmt.Fprintf(&b, ", ETA at least %s (the services' limits; measuring)", d)
		} else {
			fmt.Fprintf(&b, ", ETA %s", d)
		}
	} else {
		b.WriteString(", ETA unknown yet")
	}
	return b.String()
}

func (p *copyProgress) logLocked(msg string) {
	t := p.totalsLocked()
	ir, _ := p.rateLocked()
	if p.finished {
		// The run's own average: the last window may hold no sample.
		if s := p.now().Sub(p.started).Seconds(); s > 0 {
			ir = float64(t.doneItems) / s
		}
	}
	args := []any{"items_done", t.doneItems, "items_skipped", t.skipped, "items_planned", t.items, "mb_copied", t.doneBytes >> 20, "mb_to_copy", t.bytes >> 20,
		"items_per_s", int64(ir + 0.5), "active", t.active, "done", t.done, "failed", t.failed, "waiting", t.waiting}
	if d, ok := p.etaLocked(t); ok && !p.planning {
		args = append(args, "eta", d.String())
	}
	p.log.Info(msg, args...)
}

// blockLocked is the block a terminal shows, each line cut to the width.
func (p *copyProgress) blockLocked() []string {
	cols, rows := p.width()
	t := p.totalsLocked()
	var lines []string
	if p.planning {
		lines = append(lines, p.headline(t))
	} else {
		if p.bar == nil {
			p.bar = progressbar.NewOptions64(max(t.items, 1), progressbar.OptionSetWriter(io.Discard),
				progressbar.OptionSetWidth(20), progressbar.OptionThrottle(0), progressbar.OptionSetPredictTime(false),
				progressbar.OptionSetElapsedTime(false), progressbar.OptionSetRenderBlankState(true))
		}
		if m := max(t.items, 1); p.bar.GetMax64() != m {
			p.bar.ChangeMax64(m)
		}
		_ = p.bar.Set64(min(t.doneItems, max(t.items, 1)))
		bar := strings.TrimSpace(strings.ReplaceAll(p.bar.String(), "\r", ""))
		lines = append(lines, "copying "+bar+" "+p.headline(t))
	}
	room := max(rows-4, 3)
	shown := 0
	for _, b := range p.boxes {
		if b.state != mbCopying && b.state != mbPlanning {
			continue
		}
		if shown == room {
			lines = append(lines, fmt.Sprintf("  ... and %d more active", t.active-shown))
			break
		}
		shown++
		line := fmt.Sprintf("  %-32s %-8s %s/%s items", b.label, b.state, humanize.Count(b.doneItems), humanize.Count(max(b.items, b.doneItems)))
		if b.bytes > 0 {
			line += ", " + humanize.Bytes(b.doneBytes)
		}
		lines = append(lines, line)
	}
	lines = append(lines, fmt.Sprintf("  mailboxes: %d active, %d done, %d failed, %d waiting", t.active, t.done, t.failed, t.waiting))
	for i, l := range lines {
		lines[i] = cut(l, cols-1)
	}
	return lines
}

// cut shortens s to at most n columns (runes), so that no line of the
// block wraps: a wrapped line would leave a copy behind at each redraw.
func cut(s string, n int) string {
	if n <= 0 || utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// ANSI: move to the start of the line n lines up; erase to the end of the
// screen; erase the line.
func up(n int) string { return fmt.Sprintf("\x1b[%dF", n) }

const (
	eraseDown = "\x1b[J"
	eraseLine = "\x1b[2K"
)

func (p *copyProgress) clearLocked() string {
	if p.drawn == 0 {
		return ""
	}
	s := up(p.drawn) + eraseDown
	p.drawn = 0
	return s
}

func (p *copyProgress) drawLocked() {
	if p.finished {
		return
	}
	var b strings.Builder
	b.WriteString(p.clearLocked())
	lines := p.blockLocked()
	for _, l := range lines {
		b.WriteString(eraseLine + l + "\n")
	}
	p.drawn = len(lines)
	_, _ = io.WriteString(p.out, b.String())
}

// Write lets log lines pass above the block: the block is erased, the
// line written, and the block drawn again under it.
func (p *copyProgress) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.isTerm || p.finished {
		return p.out.Write(b)
	}
	if c := p.clearLocked(); c != "" {
		_, _ = io.WriteString(p.out, c)
	}
	n, err := p.out.Write(b)
	p.drawLocked()
	return n, err
}

// Finish stops the display and leaves one line with the run's figures;
// calling it again does nothing.
func (p *copyProgress) Finish() {
	p.once.Do(func() {
		close(p.stop)
		<-p.done
		p.mu.Lock()
		defer p.mu.Unlock()
		t := p.totalsLocked()
		took := p.now().Sub(p.started).Round(time.Second)
		if p.isTerm {
			_, _ = io.WriteString(p.out, p.clearLocked())
			p.finished = true
			fmt.Fprintf(p.out, "copied %s/%s items, %s, in %s (%d mailboxes done, %d failed)\n",
				humanize.Count(t.doneItems), humanize.Count(t.items), humanize.Bytes(t.doneBytes), took, t.done, t.failed)
			return
		}
		p.finished = true
		p.logLocked("copy finished")
	})
}
