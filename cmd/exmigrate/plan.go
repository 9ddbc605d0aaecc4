package main

import (
	"context"
	"log/slog"

	"github.com/exmigrate/exmigrate/dispatch"
	"github.com/exmigrate/exmigrate/engine"
	"github.com/exmigrate/exmigrate/internal/config"
	"github.com/exmigrate/exmigrate/internal/csvinput"
	"github.com/exmigrate/exmigrate/internal/forecast"
)

// planWave lists every mailbox's folders before the first item moves,
// parallel at a time, so that the progress total is the wave's from the
// start instead of growing as mailboxes start. It returns each mailbox's
// plan error: a mailbox whose listing failed (after the retries a pass
// makes) fails with it rather than asking the source again. A mailbox that
// cannot be located or opened is left to the copy, which reports it.
func planWave(ctx context.Context, copier *engine.Copier, d *dispatch.Dispatcher, way dispatch.Way, entries []csvinput.Entry, parallel int, progress *copyProgress, log *slog.Logger) []error {
	errs := make([]error, len(entries))
	idx := make([]int, len(entries))
	for i := range idx {
		idx[i] = i
	}
	dispatch.ForEach(ctx, idx, parallel, func(ctx context.Context, i int) {
		e := entries[i]
		route, err := d.LocateFor(ctx, e, way)
		if err != nil {
			progress.Plan(i, engine.PlanTotals{}, false)
			return
		}
		src, dst, key, err := d.OpenWay(route, way)
		if err != nil {
			progress.Plan(i, engine.PlanTotals{}, false)
			return
		}
		progress.Planning(i, key)
		t, err := copier.Plan(ctx, key, src, dst)
		if err != nil && ctx.Err() == nil {
			log.Debug("mailbox not planned", "mailbox", e.Address, "err", err)
			errs[i] = err
		}
		progress.Plan(i, t, err == nil)
	})
	progress.PlanDone()
	return errs
}

// entryLabels names the mailboxes of a list in the progress.
func entryLabels(entries []csvinput.Entry) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.Address
	}
	return out
}

// wayCeiling is the fastest a mailbox moves between the endpoints: Exchange
// Online's published per-mailbox limits when either side is Graph; none is
// published for Exchange Server.
func wayCeiling(cfg *config.Config, way dispatch.Way) forecast.Ceiling {
	var c forecast.Ceiling
	for _, name := range []string{way.From, way.To} {
		if ep := cfg.Endpoint(name); ep != nil && ep.Type == config.TypeGraph {
			c = forecast.Slower(c, forecast.ExchangeOnline())
		}
	}
	return c
}
