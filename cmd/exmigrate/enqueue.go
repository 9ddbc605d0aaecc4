package main

import (
	"context"
	"fmt"
	"log/slog"
	"text/tabwriter"

	"github.com/exmigrate/exmigrate/engine"
	"github.com/exmigrate/exmigrate/internal/config"
	"github.com/exmigrate/exmigrate/internal/csvinput"
	"github.com/exmigrate/exmigrate/internal/queue"
	"github.com/exmigrate/exmigrate/internal/state"
)

// enqueueRun is copy --enqueue: the selected mailboxes become jobs in the
// queue of the PostgreSQL state, one per mailbox pair, for `exmigrate
// worker` processes to copy; nothing is copied here.
func enqueueRun(ctx context.Context, opts *copyOptions) error {
	for _, c := range []struct {
		set  bool
		flag string
		why  string
	}{
		{opts.StatePath != "", "--state", "the queue and the state are state.url's database"},
		{opts.DryRun, "--dry-run", "plan the wave with copy --dry-run, without --enqueue"},
		{opts.PublicFolders, "--public-folders", "copy the public folder tree with copy --public-folders, without --enqueue"},
		{len(opts.Notify) > 0, "--notify", "nothing is copied by --enqueue, so there is no summary to mail"},
		{opts.Parallel != 0, "--parallel", "each worker's --concurrency says how many mailboxes it copies at once"},
		{opts.Reprobe, "--reprobe", "workers use the recorded probe verdict; run copy --reprobe on one mailbox first"},
		{opts.AuditPath != "", "--audit-log", "the workers write the audit trail (the state database's audit table), not --enqueue"},
	} {
		if c.set {
			return usageErrorf("%s does not go with --enqueue: %s", c.flag, c.why)
		}
	}
	cfg, err := opts.g.loadConfig()
	if err != nil {
		return err
	}
	if cfg.State.URL == "" {
		return usageErrorf("--enqueue puts the mailboxes in the job queue that workers share, which lives in a PostgreSQL state: " +
			"this config's state is the file state.path; set state.url: postgres://user@host:5432/database in the config " +
			"(on one machine, copy without --enqueue does the same work)")
	}
	if opts.Mailboxes == "" {
		return usageErrorf("--enqueue needs --mailboxes: the CSV list of mailboxes to queue")
	}
	way, err := copyWay(cfg, opts)
	if err != nil {
		return err
	}
	if _, _, err := parseStores(opts.Stores, opts.RecoverableInto); err != nil {
		return usageError(err)
	}
	entries, err := csvinput.LoadList(opts.Mailboxes)
	if err != nil {
		return usageError(err)
	}
	// --only reads each mailbox's state from the database the workers
	// share, as copy --only reads it.
	entries, err = opts.Select.selectEntries(ctx, opts.g, entries, opts.Mailboxes, configState(cfg, ""), way.From, way.To)
	if err != nil || len(entries) == 0 {
		return err // nothing selected: said, and nothing to do
	}

	store, q, err := openStateAndQueue(ctx, cfg, opts.g.logger)
	if err != nil {
		return err
	}
	defer store.Close()
	defer q.Close()

	jobs := make([]queue.Job, len(entries))
	for i, e := range entries {
		j := queue.Job{Address: e.Address, Target: e.Target, Location: string(e.Location), Batch: e.Batch,
			Stores: opts.Stores, RecoverableInto: opts.RecoverableInto, Reopen: opts.Reopen, MaxSkipped: opts.MaxSkipped, Rules: opts.Rules}
		if way.Direction != "" {
			j.Direction = string(way.Direction)
		} else {
			j.From, j.To = way.From, way.To
		}
		if opts.itemWorkersSet {
			j.ItemWorkers = opts.ItemWorkers
		}
		jobs[i] = j
	}
	res, err := q.Enqueue(ctx, jobs)
	if err != nil {
		return err
	}
	queued := map[string]bool{}
	for _, j := range res.Queued {
		queued[j.Address+"\x00"+j.Target] = true
	}
	tw := tabwriter.NewWriter(opts.g.io.Out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MAILBOX\tTARGET\tQUEUE")
	for _, j := range jobs {
		what := "already queued (waiting or being copied)"
		if queued[j.Address+"\x00"+j.Target] {
			what = "queued"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", j.Address, j.Target, what)
	}
	tw.Flush()
	fmt.Fprintf(opts.g.io.Out, "\n%d mailbox(es) queued, %d already in the queue. Workers copy them: exmigrate worker --config %s\n",
		len(res.Queued), len(res.Already), opts.g.ConfigPath)
	return nil
}

// openStateAndQueue opens the config's PostgreSQL state, then the River
// queue in the same database. The state goes first: it creates
// exmigrate's tables in a new database (and refuses one of another
// program) before River adds its own. The caller closes both.
func openStateAndQueue(ctx context.Context, cfg *config.Config, log *slog.Logger) (engine.Store, *queue.Queue, error) {
	store, err := state.OpenConfigured(ctx, cfg, "")
	if err != nil {
		return nil, nil, err
	}
	pw, err := cfg.StatePassword()
	if err != nil {
		store.Close()
		return nil, nil, usageErrorf("state: %w", err)
	}
	q, err := queue.Open(ctx, cfg.State.URL, pw, log)
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	return store, q, nil
}
