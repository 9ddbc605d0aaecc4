package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/exmigrate/exmigrate/dispatch"
	"github.com/exmigrate/exmigrate/engine"
	"github.com/exmigrate/exmigrate/internal/csvinput"
)

// mailboxPass is what one pass over one mailbox of a list needs: copy runs
// it for each selected mailbox, a worker for each job it takes.
type mailboxPass struct {
	d        *dispatch.Dispatcher
	copier   *engine.Copier
	way      dispatch.Way
	log      *slog.Logger
	dryRun   bool
	rules    bool          // also the inbox rules, after a pass without error
	progress *copyProgress // nil: no progress display
}

// copyMailbox locates entry e, opens its pair and runs one pass (or records
// planErr, the wave plan's failure for it), then its rules; it logs the
// mailbox's start and end. i is e's index for the progress display.
func copyMailbox(ctx context.Context, p mailboxPass, i int, e csvinput.Entry, planErr error) *engine.MailboxResult {
	log := p.log
	fail := func(err error) *engine.MailboxResult {
		log.Error("mailbox failed", "mailbox", e.Address, "err", err)
		if p.progress != nil {
			p.progress.Finished(i, err)
		}
		return &engine.MailboxResult{Key: engine.JobKey{SourceAddress: e.Address, TargetAddress: e.Target}, Err: err}
	}
	route, err := p.d.LocateFor(ctx, e, p.way)
	if err != nil {
		return fail(err)
	}
	src, dst, key, err := p.d.OpenWay(route, p.way)
	if err != nil {
		return fail(err)
	}
	if p.way.Direction != "" {
		log.Info("mailbox started", "mailbox", e.Address, "target", e.Target, "direction", p.way.Direction, "dry_run", p.dryRun)
	} else {
		log.Info("mailbox started", "mailbox", e.Address, "target", e.Target, "from", key.SourceLocation, "to", key.TargetLocation, "dry_run", p.dryRun)
	}
	if p.progress != nil {
		p.progress.Started(i, key)
	}
	var res *engine.MailboxResult
	if planErr != nil {
		res = p.copier.Fail(ctx, key, planErr)
	} else {
		res = p.copier.Copy(ctx, key, src, dst)
	}
	if p.progress != nil {
		defer func() { p.progress.Finished(i, res.Err) }()
	}
	if res.Err == nil && p.rules && !p.dryRun {
		_, res.Err = copyRules(ctx, p.copier, key, src, dst, log)
	}
	if res.Err != nil {
		log.Error("mailbox failed", "mailbox", e.Address, "err", res.Err, "copied", res.ItemsCopied)
		return res
	}
	log.Info("mailbox finished", "mailbox", e.Address, "copied", res.ItemsCopied, "bytes", res.BytesCopied,
		"skipped", res.Skipped, "read_updates", res.ReadUpdates, "duration", res.Duration.Round(time.Millisecond))
	return res
}
