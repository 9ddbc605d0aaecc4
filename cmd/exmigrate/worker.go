package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/exmigrate/exmigrate/dispatch"
	"github.com/exmigrate/exmigrate/engine"
	"github.com/exmigrate/exmigrate/internal/backend"
	"github.com/exmigrate/exmigrate/internal/config"
	"github.com/exmigrate/exmigrate/internal/csvinput"
	"github.com/exmigrate/exmigrate/internal/queue"
	"github.com/exmigrate/exmigrate/mailbox"
)

type workerOptions struct {
	Concurrency  int
	QueueTimeout time.Duration
	Grace        time.Duration
	AuditPath    string

	g *globalOptions
}

func newWorkerCommand(g *globalOptions, runF func(context.Context, *workerOptions) error) *cobra.Command {
	opts := &workerOptions{g: g}
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Copy the mailboxes queued by copy --enqueue, until stopped",
		Long: `Take mailboxes from the job queue that copy --enqueue fills and copy each one,
one pass per job, until stopped with Ctrl-C or SIGTERM. Run as many workers
as you like, on as many machines, against the same PostgreSQL state
(state.url): a mailbox is never copied by two workers at once (a job whose
mailbox another worker holds waits), and the jobs of a worker that died are
taken over by the others after --queue-timeout.

On Ctrl-C or SIGTERM the worker takes no new job, lets the passes it runs end
within --grace, then stops them where they are (each is queued again and
resumes from there) and exits 0.`,
		Example: `  exmigrate copy --config shared.yaml --mailboxes wave1.csv --enqueue
  exmigrate worker --config shared.yaml --concurrency 8`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return workerRun(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	rangedInt(cmd, &opts.Concurrency, "concurrency", 0, 1, 64, "mailboxes this worker copies at once, {range} (default: concurrency.mailboxes from the config)")
	rangedDuration(cmd, &opts.QueueTimeout, "queue-timeout", queue.DefaultRescueAfter, time.Second, 24*time.Hour,
		"a job whose worker stopped answering for this long (killed, its machine down) is given to another worker, {range}; the same for every worker")
	rangedDuration(cmd, &opts.Grace, "grace", 30*time.Second, 0, time.Hour,
		"on Ctrl-C or SIGTERM, how long running passes may go on before they are stopped and queued again, {range}")
	f.StringVar(&opts.AuditPath, "audit-log", "", "audit log file (default: the state database's audit table, one trail for every worker, unless the config sets audit_log)")
	return cmd
}

func workerRun(ctx context.Context, opts *workerOptions) error {
	tuneGCForCopy()
	cfg, err := opts.g.loadConfig()
	if err != nil {
		return err
	}
	if cfg.State.URL == "" {
		return usageErrorf("worker takes its jobs from the queue in a PostgreSQL state, and this config's state is the file state.path: " +
			"set state.url: postgres://user@host:5432/database in the config (on one machine, copy alone does the work)")
	}
	log := opts.g.logger
	baseOpts, err := copyFilters(cfg)
	if err != nil {
		return err
	}
	ws := &workerSides{cfg: cfg, log: log}
	defer ws.Close()
	// Connect once now: a bad config fails the worker at its start, not job
	// after job.
	s, err := ws.get(ctx, false)
	if err != nil {
		return err
	}
	store, q, err := openStateAndQueue(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer store.Close()
	defer q.Close()
	// The workers' one trail: the state database's audit table, unless
	// the config or --audit-log names a file.
	auditAt := auditTargetOf(cfg, "", opts.AuditPath)
	al, err := openAuditFor(ctx, cfg, "", opts.AuditPath, s.Operator, store)
	if err != nil {
		return err
	}
	defer al.Close()

	concurrency := cmp.Or(opts.Concurrency, cfg.Concurrency.Mailboxes, 1)
	host, _ := os.Hostname()
	id := fmt.Sprintf("%s-%d-%s", host, os.Getpid(), engine.NewOwner().Token[:6])
	fid := &fidelityCache{plans: map[dispatch.Way]fidelityPlan{}}
	handle := func(jctx context.Context, jobID int64, attempt int, j queue.Job) error {
		jlog := log.With("job", jobID, "attempt", attempt)
		way, err := copyWay(cfg, &copyOptions{Direction: cmp.Or(j.Direction, string(dispatch.Onboarding)), From: j.From, To: j.To})
		if err != nil {
			jlog.Error("job refused", "mailbox", j.Address, "err", err)
			return err
		}
		eo := baseOpts
		eo.MaxSkipped, eo.ItemWorkers, eo.Reopen = j.MaxSkipped, j.ItemWorkers, j.Reopen
		if eo.Stores, eo.StoreInto, err = parseStores(j.Stores, j.RecoverableInto); err != nil {
			jlog.Error("job refused", "mailbox", j.Address, "err", err)
			return err
		}
		sides, err := ws.get(jctx, slices.Contains(eo.Stores, mailbox.ScopeRecoverable))
		if err != nil {
			return err
		}
		d := sides.Dispatcher(jlog)
		e := csvinput.Entry{Address: j.Address, Target: j.Target, Location: mailbox.Location(j.Location), Batch: j.Batch}
		eo.FullFidelityRefused = fid.plan(jctx, opts.g.io.Out, jlog, d, store, way, e).refused
		// A copier per job: its own lease owner, so that two jobs of this
		// process never share a lease.
		copier := &engine.Copier{Store: store, Log: jlog, Options: eo, Audit: al}
		res := copyMailbox(jctx, mailboxPass{d: d, copier: copier, way: way, log: jlog, rules: j.Rules}, 0, e, nil)
		var le *engine.LeasedError
		switch {
		case res.Err == nil:
			return nil
		case errors.As(res.Err, &le):
			return res.Err // the queue snoozes the job: another worker holds the mailbox
		}
		// River keeps the error in the database: without URL queries,
		// which may carry a token.
		return fmt.Errorf("%s: %s", j.Address, stripURLQueries(res.Err.Error()))
	}
	w, err := q.Start(ctx, queue.WorkerConfig{ID: id, Concurrency: concurrency, RescueAfter: opts.QueueTimeout, Grace: opts.Grace, Log: log}, handle)
	if err != nil {
		return err
	}
	log.Info("worker started: copying queued mailboxes until stopped", "worker", id, "concurrency", concurrency, "audit", auditAt.String())
	<-ctx.Done()
	log.Info("worker stopping: no new job; running passes may end", "grace", opts.Grace)
	if err := w.Stop(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	log.Info("worker stopped")
	return nil
}

// workerSides connects the endpoints once, and once more with Recoverable
// Items readable for the first job that copies them.
type workerSides struct {
	cfg   *config.Config
	log   *slog.Logger
	mu    sync.Mutex
	sides [2]*backend.Sides // [0] plain, [1] reading Recoverable Items
}

func (ws *workerSides) get(ctx context.Context, recoverable bool) (*backend.Sides, error) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	i := 0
	var o []backend.Option
	if recoverable {
		i, o = 1, []backend.Option{backend.ReadRecoverableItems()}
	}
	if ws.sides[i] == nil {
		s, err := connectSides(ctx, ws.cfg, ws.log, o...)
		if err != nil {
			return nil, err
		}
		ws.sides[i] = s
	}
	return ws.sides[i], nil
}

func (ws *workerSides) Close() {
	for _, s := range ws.sides {
		if s != nil {
			s.Close()
		}
	}
}

// fidelityCache decides the fidelity plan of each way once per worker (the
// probe's verdict is recorded in the shared state: the first worker of a
// pair probes, the others read it).
type fidelityCache struct {
	mu    sync.Mutex
	plans map[dispatch.Way]fidelityPlan
}

func (c *fidelityCache) plan(ctx context.Context, out io.Writer, log *slog.Logger, d *dispatch.Dispatcher,
	store engine.Store, way dispatch.Way, e csvinput.Entry) fidelityPlan {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p, ok := c.plans[way]; ok {
		return p
	}
	p := decideFidelity(ctx, out, log, d, store, way, []csvinput.Entry{e}, false, false)
	if ctx.Err() == nil {
		c.plans[way] = p
	}
	return p
}
