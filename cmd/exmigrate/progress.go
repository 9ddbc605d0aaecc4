package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// copyProgress shows a copy's progress: a bar for items and bytes on a
// terminal, a log line every few seconds elsewhere (a bar's carriage
// returns make a mess of a log file).
type copyProgress struct {
	log *slog.Logger
	out io.Writer

	mu           sync.Mutex
	bar          *progressbar.ProgressBar
	totalItems   atomic.Int64
	totalBytes   atomic.Int64
	doneItems    atomic.Int64
	doneBytes    atomic.Int64
	stopTicker   context.CancelFunc
	tickerFinish chan struct{}
	finishOnce   sync.Once
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func newCopyProgress(w io.Writer, log *slog.Logger, every time.Duration) *copyProgress {
	p := &copyProgress{log: log, out: w}
	if isTerminal(w) {
		p.bar = progressbar.NewOptions64(-1,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription("copying"),
			progressbar.OptionShowBytes(true),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
		return p
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.stopTicker, p.tickerFinish = cancel, make(chan struct{})
	go func() {
		defer close(p.tickerFinish)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				p.logLine("copy progress")
			}
		}
	}()
	return p
}

func (p *copyProgress) logLine(msg string) {
	p.log.Info(msg, "items_done", p.doneItems.Load(), "items_planned", p.totalItems.Load(),
		"mb_done", p.doneBytes.Load()>>20, "mb_planned", p.totalBytes.Load()>>20)
}

func (p *copyProgress) AddTotal(items, bytes int64) {
	p.totalItems.Add(items)
	p.totalBytes.Add(bytes)
	if p.bar != nil {
		p.mu.Lock()
		p.bar.ChangeMax64(p.totalBytes.Load())
		p.mu.Unlock()
	}
}

func (p *copyProgress) ItemDone(bytes int64) {
	p.doneItems.Add(1)
	p.doneBytes.Add(bytes)
	if p.bar != nil {
		p.mu.Lock()
		if cur := p.bar.State().CurrentNum + bytes; cur > p.bar.GetMax64() {
			p.bar.ChangeMax64(cur) // the sizes the source reported were estimates
		}
		_ = p.bar.Add64(bytes)
		p.bar.Describe("copying " + itoa(p.doneItems.Load()) + "/" + itoa(p.totalItems.Load()) + " items")
		p.mu.Unlock()
	}
}

func (p *copyProgress) ItemSkipped(bytes int64) {
	p.doneItems.Add(1)
	p.totalBytes.Add(-bytes)
	if p.bar != nil {
		p.mu.Lock()
		if m := p.bar.GetMax64() - bytes; m >= p.bar.State().CurrentNum && m > 0 {
			p.bar.ChangeMax64(m)
		}
		p.mu.Unlock()
	}
}

// Write lets log lines pass above the bar: the bar is cleared, the line
// written, and the bar drawn again on its next update.
func (p *copyProgress) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		_ = p.bar.Clear()
	}
	return p.out.Write(b)
}

// Finish stops the bar or the ticker; calling it again does nothing.
func (p *copyProgress) Finish() {
	p.finishOnce.Do(func() {
		if p.bar != nil {
			p.mu.Lock()
			_ = p.bar.Finish()
			p.mu.Unlock()
			return
		}
		p.stopTicker()
		<-p.tickerFinish
		p.logLine("copy finished")
	})
}
