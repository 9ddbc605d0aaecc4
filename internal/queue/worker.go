package queue

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/exmigrate/exmigrate/engine"
)

// Handler copies one job's mailbox. An *engine.LeasedError (in its chain)
// means another worker holds the mailbox: the job is snoozed. A
// context.Canceled after the worker was told to stop puts the job back at
// once without counting an attempt. Any other error fails the attempt.
type Handler func(ctx context.Context, id int64, attempt int, job Job) error

// WorkerConfig tunes a worker.
type WorkerConfig struct {
	// ID names the worker in River's tables (attempted_by, the leader):
	// host and pid make a killed worker's jobs recognisable.
	ID string
	// Concurrency is how many mailboxes this worker copies at once.
	Concurrency int
	// RescueAfter: a running job whose worker has not beaten its heartbeat
	// for this long (killed) is given back to the queue
	// (DefaultRescueAfter when zero). A pass may run far longer.
	RescueAfter time.Duration
	// Snooze is how long a job whose mailbox is held elsewhere waits
	// (DefaultSnooze when zero).
	Snooze time.Duration
	// Grace is how long running passes may go on after Stop before they
	// are cancelled (zero: cancelled at once).
	Grace time.Duration
	// PollInterval is how often an idle worker looks for jobs when it has
	// missed a notification (River's default, 1 s, when zero).
	PollInterval time.Duration
	Log          *slog.Logger
}

// Worker is a running worker.
type Worker struct {
	client *river.Client[pgx.Tx]
	grace  time.Duration
	// jobs is the context of every pass this worker runs, cancelled by a
	// hard stop. Passes do not run under River's job context: its
	// deadline (the job timeout, which River's rescuer needs, see Start)
	// must not end a long pass, and once that deadline has passed River's
	// context no longer tells a stop.
	jobs       context.Context
	cancelJobs context.CancelCauseFunc
}

// errStopped is the cause of a pass cancelled by the worker's stop.
var errStopped = errors.New("the worker was stopped")

type mailboxWorker struct {
	river.WorkerDefaults[Job]
	w           *Worker
	pool        *pgxpool.Pool
	handle      Handler
	snooze      time.Duration
	rescueAfter time.Duration
	log         *slog.Logger
}

// Timeout is RescueAfter. River's rescuer ignores a running job until both
// its timeout and RescueStuckJobsAfter have passed since attempted_at, and
// never rescues a job whose timeout is -1 (none); the heartbeat keeps
// attempted_at fresh while the pass runs, so only a job whose worker died
// gets that old.
func (mw *mailboxWorker) Timeout(*river.Job[Job]) time.Duration { return mw.rescueAfter }

func (mw *mailboxWorker) Work(_ context.Context, job *river.Job[Job]) error {
	ctx := mw.w.jobs
	beat, stopBeat := context.WithCancel(ctx)
	defer stopBeat()
	go mw.heartbeat(beat, job.ID)
	err := mw.handle(ctx, job.ID, job.Attempt, job.Args)
	var le *engine.LeasedError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &le):
		// Held by another worker: wait, without spending an attempt. The
		// holder's lease ends when its pass does, or expires.
		mw.log.Info("job snoozed: its mailbox is being copied by another worker", "job", job.ID, "mailbox", job.Args.Address,
			"holder_pid", le.Holder.PID, "holder_host", le.Holder.Host, "retry_in", mw.snooze)
		return river.JobSnooze(mw.snooze)
	case ctx.Err() != nil:
		// The worker is stopping: the state knows where the pass got to,
		// and the next worker resumes it at once.
		return river.JobSnooze(0)
	}
	return err
}

// heartbeat keeps the running job's attempted_at recent while its pass
// runs (River has no heartbeat of its own): River's rescuer then leaves
// it alone however long the pass, and rescues it RescueAfter after its
// worker stopped beating (killed).
func (mw *mailboxWorker) heartbeat(ctx context.Context, id int64) {
	t := time.NewTicker(max(mw.rescueAfter/4, 50*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := mw.pool.Exec(ctx, `UPDATE river_job SET attempted_at = now() WHERE id = $1 AND state = 'running'`, id); err != nil && ctx.Err() == nil {
			mw.log.Warn("job heartbeat failed; the job may be rescued and meet this worker's lease", "job", id, "err", err)
		}
	}
}

// Start starts a worker taking jobs from the queue until Stop.
func (q *Queue) Start(ctx context.Context, cfg WorkerConfig, h Handler) (*Worker, error) {
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Concurrency < 1 {
		return nil, fmt.Errorf("queue: concurrency %d: at least 1", cfg.Concurrency)
	}
	rescueAfter := cmp.Or(cfg.RescueAfter, DefaultRescueAfter)
	w := &Worker{grace: cfg.Grace}
	w.jobs, w.cancelJobs = context.WithCancelCause(context.WithoutCancel(ctx))
	workers := river.NewWorkers()
	mw := &mailboxWorker{w: w, pool: q.pool, handle: h, snooze: cmp.Or(cfg.Snooze, DefaultSnooze), rescueAfter: rescueAfter, log: log}
	if err := river.AddWorkerSafely(workers, mw); err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	client, err := river.NewClient(q.driver, &river.Config{
		ID:                   cfg.ID,
		Logger:               riverLogger(log),
		Queues:               map[string]river.QueueConfig{QueueName: {MaxWorkers: cfg.Concurrency}},
		Workers:              workers,
		JobTimeout:           rescueAfter,
		RescueStuckJobsAfter: rescueAfter,
		MaxAttempts:          MaxAttempts,
		FetchPollInterval:    cfg.PollInterval,
	})
	if err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	// Not ctx: cancelling Start's context would stop the client; Stop does.
	if err := client.Start(context.WithoutCancel(ctx)); err != nil {
		return nil, fmt.Errorf("queue: starting the worker: %w", err)
	}
	w.client = client
	return w, nil
}

// Stop stops fetching jobs, lets running passes end within the grace
// period, then cancels them (each is put back in the queue), and returns
// when none runs.
func (w *Worker) Stop(ctx context.Context) error {
	soft, cancel := context.WithTimeout(ctx, w.grace)
	defer cancel()
	if err := w.client.Stop(soft); err == nil {
		w.cancelJobs(errStopped)
		return nil
	}
	w.cancelJobs(errStopped)
	if err := w.client.StopAndCancel(ctx); err != nil {
		return fmt.Errorf("queue: stopping the worker: %w", err)
	}
	return nil
}

func unmarshalJob(data []byte, j *Job) error { return json.Unmarshal(data, j) }

// snoozes reads River's count of a job's snoozes from its metadata.
func snoozes(metadata []byte) int {
	var m struct {
		Snoozes int `json:"snoozes"`
	}
	_ = json.Unmarshal(metadata, &m)
	return m.Snoozes
}

// levelFilter passes records at min and above to its handler, except
// River's notes that a job runs past its timeout: a pass runs as long as
// it must (see mailboxWorker.Timeout), which is not a problem to report.
type levelFilter struct {
	slog.Handler
	min slog.Level
}

func (f levelFilter) Handle(ctx context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "appears to be stuck") || strings.Contains(r.Message, "became unstuck") {
		return nil
	}
	return f.Handler.Handle(ctx, r)
}

func (f levelFilter) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= f.min && f.Handler.Enabled(ctx, l)
}

func (f levelFilter) WithAttrs(a []slog.Attr) slog.Handler {
	return levelFilter{f.Handler.WithAttrs(a), f.min}
}

func (f levelFilter) WithGroup(name string) slog.Handler {
	return levelFilter{f.Handler.WithGroup(name), f.min}
}
