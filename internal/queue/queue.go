// Package queue is exmigrate's job queue: `copy --enqueue` submits one job
// per mailbox pair, and any number of `exmigrate worker` processes, on any
// number of machines, take them and copy each mailbox once. It runs on
// River (github.com/riverqueue/river) in the PostgreSQL database that holds
// the state, so a deployment has one database to run and back up.
//
// River decides which worker runs a job; the engine's lease decides which
// worker writes to a mailbox. The two overlap on purpose: River alone may
// run a job twice (a job rescued while its worker still runs, see
// RescueAfter), and the lease makes the second run wait (the job is snoozed)
// instead of copying the mailbox alongside the first. Nothing in River is
// trusted for exactly-once; the engine's stamps and lease give it.
//
// The River settings relied on, and why:
//   - RescueStuckJobsAfter and JobTimeout, both RescueAfter (default 10
//     minutes, five times the engine's lease TTL): River's rescuer gives a
//     job still "running" back as retryable once both have passed since
//     its attempted_at, so a worker killed with kill -9 does not hold its
//     jobs forever; its lease expires sooner (2 minutes; at once on the
//     same machine, where its pid is seen gone), so the next worker finds
//     the mailbox free. River never rescues a job whose timeout is -1,
//     hence a timeout; a pass takes minutes to hours, hence the worker
//     keeps attempted_at recent while it runs (a heartbeat: an UPDATE of
//     river_job, the one place this package writes River's tables) and
//     runs passes under a context of its own, not River's, whose deadline
//     would cancel them. A live worker's job rescued anyway (its heartbeat
//     failed) is harmless: the other worker meets the lease and snoozes.
//   - JobSnooze on *engine.LeasedError: a snooze does not count as an
//     attempt, so a mailbox held elsewhere waits as long as it must.
//   - MaxAttempts 5: a mailbox that fails five passes (each with River's
//     backoff) is left discarded with its errors for an operator; the
//     state records each failure as a copy run does.
//   - Unique insert by (address, target) while the job is available,
//     scheduled, pending, running or retryable: submitting a wave twice
//     does not queue a mailbox twice, and a mailbox whose job completed may
//     be queued again for its next pass.
//   - Stop, then StopAndCancel after a grace period: on SIGINT/SIGTERM
//     the worker stops fetching, lets running passes end within the
//     grace period, then cancels them; a cancelled pass is snoozed by 0
//     (not an attempt) and resumes where it stopped.
package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/exmigrate/exmigrate/internal/secret"
)

// Kind is the River job kind of a mailbox pass.
const Kind = "exmigrate_copy_mailbox"

// QueueName is the River queue exmigrate's jobs go to.
const QueueName = "exmigrate"

// MaxAttempts is how many passes River gives a job that fails.
const MaxAttempts = 5

// DefaultRescueAfter is how long a job may stay "running" with no end
// before River gives it to another worker: five times the engine's lease
// TTL, so that the killed worker's lease has long expired.
const DefaultRescueAfter = 10 * time.Minute

// DefaultSnooze is how long a job whose mailbox another worker holds waits
// before it is tried again.
const DefaultSnooze = 30 * time.Second

// migrateLock is the advisory lock key that serializes River's migrations
// between processes starting at once ("exmq" in ASCII).
const migrateLock int64 = 0x65786d71

// Job is one mailbox pair and one pass: what a worker needs to copy it,
// never a secret (the worker reads those from its own config).
type Job struct {
	Address  string `json:"address" river:"unique"`
	Target   string `json:"target" river:"unique"`
	Location string `json:"location,omitempty"` // the list's Location column
	Batch    string `json:"batch,omitempty"`
	// Direction, or From and To: the endpoints, by name.
	Direction       string   `json:"direction,omitempty"`
	From            string   `json:"from,omitempty"`
	To              string   `json:"to,omitempty"`
	Stores          []string `json:"stores,omitempty"`
	RecoverableInto string   `json:"recoverable_into,omitempty"`
	Reopen          bool     `json:"reopen,omitempty"`
	ItemWorkers     int      `json:"item_workers,omitempty"` // 0: the engine's default for the target
	MaxSkipped      int      `json:"max_skipped"`
	Rules           bool     `json:"rules,omitempty"`
}

// Kind is River's job kind.
func (Job) Kind() string { return Kind }

// InsertOpts makes a job unique per mailbox pair while it waits or runs.
func (Job) InsertOpts() river.InsertOpts {
	return river.InsertOpts{
		Queue:       QueueName,
		MaxAttempts: MaxAttempts,
		UniqueOpts: river.UniqueOpts{
			ByArgs: true, // the fields tagged river:"unique": address and target
			ByState: []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
				rivertype.JobStateRetryable, rivertype.JobStateScheduled},
		},
	}
}

// Queue is the job queue in a PostgreSQL database.
type Queue struct {
	pool   *pgxpool.Pool
	driver *riverpgxv5.Driver
	insert *river.Client[pgx.Tx] // insert-only: no queues, no workers
	log    *slog.Logger
}

// ErrNewerSchema is returned by Open for a database whose River schema is
// newer than this build's.
var ErrNewerSchema = errors.New("the job queue's tables were created by a newer exmigrate")

// Open connects to the database of rawURL (the state's; password, when not
// empty, is its user's), brings River's tables to this build's version and
// returns the queue. log may be nil.
func Open(ctx context.Context, rawURL string, password secret.Secret, log *slog.Logger) (*Queue, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg, err := poolConfig(rawURL)
	if err != nil {
		return nil, err
	}
	if !password.IsZero() {
		cfg.ConnConfig.Password = password.Reveal()
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	q := &Queue{pool: pool, driver: riverpgxv5.New(pool), log: log}
	if err := q.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	q.insert, err = river.NewClient(q.driver, &river.Config{Logger: riverLogger(log)})
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("queue: %w", err)
	}
	return q, nil
}

// poolConfig parses the state URL as pgstore does: sslmode=verify-full
// unless the URL says otherwise. pgx's own messages quote the URL, which
// may hold a password: they are not repeated.
func poolConfig(rawURL string) (*pgxpool.Config, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return nil, errors.New("queue: the state URL is not a postgres:// URL: write it as postgres://user@host:5432/database")
	}
	q := u.Query()
	if q.Get("sslmode") == "" && q.Get("ssl") == "" {
		q.Set("sslmode", "verify-full")
		u.RawQuery = q.Encode()
	}
	cfg, err := pgxpool.ParseConfig(u.String())
	if err != nil {
		return nil, errors.New("queue: the state URL is not valid: check it against postgres://user@host:5432/database?sslmode=verify-full")
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = 10 * time.Second
	}
	if !q.Has("pool_max_conns") {
		// River holds one connection for LISTEN and uses others to fetch,
		// complete and elect; the heartbeats of running jobs share them.
		// pgx's default (4, or the number of CPUs) leaves too few.
		cfg.MaxConns = max(cfg.MaxConns, 8)
	}
	return cfg, nil
}

// migrate applies River's migrations under an advisory lock held on one
// connection, so that workers starting together do not race to create the
// same tables; a database whose River schema is newer is refused.
func (q *Queue) migrate(ctx context.Context) error {
	conn, err := q.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("queue: connecting: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrateLock); err != nil {
		return fmt.Errorf("queue: waiting for another process's migration: %w", err)
	}
	defer func() {
		_, _ = conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrateLock)
	}()
	m, err := rivermigrate.New(q.driver, &rivermigrate.Config{Logger: riverLogger(q.log)})
	if err != nil {
		return fmt.Errorf("queue: %w", err)
	}
	known := 0
	for _, v := range m.AllVersions() {
		known = max(known, v.Version)
	}
	// Read directly: rivermigrate fails on a version it does not know
	// without saying it is newer.
	var applied int
	var exists bool
	err = conn.QueryRow(ctx, `SELECT to_regclass('river_migration') IS NOT NULL`).Scan(&exists)
	if err == nil && exists {
		err = conn.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM river_migration`).Scan(&applied)
	}
	if err != nil {
		return fmt.Errorf("queue: reading River's schema version: %w", err)
	}
	if applied > known {
		return fmt.Errorf("queue: %w (River schema version %d; this build knows up to %d): upgrade exmigrate on this machine to the version the other workers run",
			ErrNewerSchema, applied, known)
	}
	res, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return fmt.Errorf("queue: creating River's tables: %w", err)
	}
	if len(res.Versions) > 0 {
		q.log.Info("job queue tables created or upgraded", "river_versions", len(res.Versions))
	}
	return nil
}

// riverLogger keeps River's own messages at warnings and above.
func riverLogger(log *slog.Logger) *slog.Logger {
	return slog.New(levelFilter{log.Handler(), slog.LevelWarn})
}

// Close releases the queue's connections.
func (q *Queue) Close() { q.pool.Close() }

// Enqueued says which jobs were queued by an Enqueue and which were in the
// queue already (waiting or running).
type Enqueued struct {
	Queued  []Job
	Already []Job
}

// Enqueue submits the jobs in one transaction.
func (q *Queue) Enqueue(ctx context.Context, jobs []Job) (Enqueued, error) {
	var out Enqueued
	if len(jobs) == 0 {
		return out, nil
	}
	params := make([]river.InsertManyParams, len(jobs))
	for i, j := range jobs {
		params[i] = river.InsertManyParams{Args: j}
	}
	res, err := q.insert.InsertMany(ctx, params)
	if err != nil {
		return out, fmt.Errorf("queue: submitting %d job(s): %w", len(jobs), err)
	}
	for i, r := range res {
		if r.UniqueSkippedAsDuplicate {
			out.Already = append(out.Already, jobs[i])
		} else {
			out.Queued = append(out.Queued, jobs[i])
		}
	}
	return out, nil
}

// JobState is a queued job as River holds it, for tests and status.
type JobState struct {
	ID       int64
	Job      Job
	State    rivertype.JobState
	Attempt  int
	Errors   []string
	Snoozes  int
	Attempts []string // the clients that attempted it, in order
}

// Jobs lists the jobs of exmigrate's kind, oldest first.
func (q *Queue) Jobs(ctx context.Context) ([]JobState, error) {
	var out []JobState
	params := river.NewJobListParams().Kinds(Kind).First(10000).
		States(rivertype.JobStateAvailable, rivertype.JobStateCancelled, rivertype.JobStateCompleted, rivertype.JobStateDiscarded,
			rivertype.JobStatePending, rivertype.JobStateRetryable, rivertype.JobStateRunning, rivertype.JobStateScheduled)
	res, err := q.insert.JobList(ctx, params)
	if err != nil {
		return nil, fmt.Errorf("queue: listing jobs: %w", err)
	}
	for _, row := range res.Jobs {
		js := JobState{ID: row.ID, State: row.State, Attempt: row.Attempt, Attempts: slices.Clone(row.AttemptedBy)}
		if err := unmarshalJob(row.EncodedArgs, &js.Job); err != nil {
			return nil, fmt.Errorf("queue: job %d: %w", row.ID, err)
		}
		for _, e := range row.Errors {
			js.Errors = append(js.Errors, e.Error)
		}
		js.Snoozes = snoozes(row.Metadata)
		out = append(out, js)
	}
	slices.SortFunc(out, func(a, b JobState) int { return int(a.ID - b.ID) })
	return out, nil
}
