package state

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/exmigrate/exmigrate/engine"
	"github.com/exmigrate/exmigrate/internal/state/records"
)

// The queries below serve the commands that watch a wave (status, serve)
// and clean up after it (prune). They read through the read pool, so they
// run beside a copy in another process (WAL) and work on a store opened
// with OpenReadOnly.

// The shared types of these queries (records holds them for both stores).
type (
	FolderCounts  = records.FolderCounts
	JobSummary    = records.JobSummary
	FolderSummary = records.FolderSummary
	PruneRule     = records.PruneRule
)

// ErrNoPruneRule is returned by Prune when the rule selects nothing.
var ErrNoPruneRule = records.ErrNoPruneRule

// Where names the state for messages: the file's path.
func (s *SQLite) Where() string { return s.path }

// RecentSkipped returns up to limit skipped items of a job, the latest
// first, with their reasons: what a drill-down shows. The count of all
// of them is in Counts.
func (s *SQLite) RecentSkipped(ctx context.Context, jobID int64, limit int) ([]engine.ItemRecord, error) {
	op := fmt.Sprintf("list skipped items of job %d", jobID)
	if err := s.errClosed(op); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, nil
	}
	return queryAll(ctx, s, op, scanItem, `SELECT `+itemColumns+` FROM items
		WHERE job_id = ? AND outcome = 'skipped' ORDER BY updated DESC, source_id LIMIT ?`, jobID, limit)
}

// SkippedItems calls fn for each skipped item of a job, in source id
// order, reading in pages so that no cursor stays open while fn runs (the
// report's skipped.csv; fn stops it with an error).
func (s *SQLite) SkippedItems(ctx context.Context, jobID int64, fn func(engine.ItemRecord) error) error {
	op := fmt.Sprintf("list skipped items of job %d", jobID)
	if err := s.errClosed(op); err != nil {
		return err
	}
	return s.itemPages(ctx, op, `job_id = ? AND outcome = 'skipped'`, fn, jobID)
}

// Prune removes the jobs rule selects, with their folders, items and
// leases, and returns them (what would be removed, on a dry run). A job
// whose lease is live is never removed, whatever its status says. Prune
// takes each job's lease itself before it removes anything, so a copy that
// comes for the job meanwhile is refused as by any other holder, instead
// of writing into a job whose records are going; and it removes the items
// in slices, so that a copy of other jobs in another process never waits
// for the write lock longer than one slice (a job can have millions).
func (s *SQLite) Prune(ctx context.Context, rule PruneRule) ([]engine.JobRecord, error) {
	const op = "prune jobs"
	if err := records.CheckPruneRule(rule); err != nil {
		return nil, err
	}
	if rule.DryRun {
		if err := s.errClosed(op); err != nil {
			return nil, err
		}
	} else if err := s.errWrite(op); err != nil {
		return nil, err
	}
	var kinds string
	switch {
	case rule.Completed && rule.Abandoned:
		kinds = `1`
	case rule.Completed:
		kinds = `status IN ('done', 'completed')`
	default:
		kinds = `status NOT IN ('done', 'completed')`
	}
	qualifies := ` WHERE ` + kinds + ` AND (CASE WHEN max(last_start, last_end) > 0 THEN max(last_start, last_end) ELSE created END) < ?`
	candidates, err := queryAll(ctx, s, op, scanJob, sqlSelectJob+qualifies+`
		AND NOT EXISTS (SELECT 1 FROM leases WHERE leases.job_id = jobs.id AND leases.expires > ?) ORDER BY id`,
		toNanos(rule.Before), toNanos(time.Now()))
	if err != nil || rule.DryRun {
		return candidates, err
	}
	owner := engine.NewOwner()
	removed, err := records.PruneEach(candidates, func(id int64) (bool, error) {
		return s.pruneJob(ctx, id, owner, qualifies, rule.Before)
	})
	if err != nil {
		return removed, s.fail(op, err)
	}
	return removed, nil
}

// pruneSlice is how many item records one delete removes.
const pruneSlice = records.PruneSlice

// pruneJob removes one job under its own lease; gone is false when the
// job no longer qualifies (a copy took or touched it since it was listed).
// Stopped half way (an error, a kill), it leaves the job with some of its
// item records gone: the next pass of that mailbox finds those items on
// the target by their stamps, as with a new state file.
func (s *SQLite) pruneJob(ctx context.Context, id int64, owner engine.Owner, qualifies string, before time.Time) (gone bool, err error) {
	const ttl = time.Minute
	lease, err := s.AcquireLease(ctx, id, owner, ttl)
	var le *engine.LeasedError
	if errors.As(err, &le) {
		return false, nil // a copy holds it now
	}
	if err != nil {
		return false, err
	}
	release := func() { _ = s.ReleaseLease(context.WithoutCancel(ctx), lease) }
	// Still as listed (old enough, of the kind asked for), now that nobody
	// else can take it.
	var n int64
	err = s.write.QueryRowContext(ctx, `SELECT count(*) FROM jobs`+qualifies+` AND id = ?`, toNanos(before), id).Scan(&n)
	if err != nil || n == 0 {
		release()
		return false, err
	}
	for {
		res, err := s.write.ExecContext(ctx, `DELETE FROM items WHERE rowid IN (SELECT rowid FROM items WHERE job_id = ? LIMIT ?)`, id, pruneSlice)
		if err != nil {
			release()
			return false, err
		}
		if k, err := res.RowsAffected(); err != nil || k < pruneSlice {
			break
		}
		if time.Until(lease.Expires) < ttl/2 {
			if lease, err = s.RenewLease(ctx, lease, ttl); err != nil {
				return false, err
			}
		}
	}
	// The job row goes last, with its folders and our lease (cascade).
	_, err = s.write.ExecContext(ctx, `DELETE FROM jobs WHERE id = ?`, id)
	if err != nil {
		release()
		return false, err
	}
	return true, nil
}

// Wave reads every job with its lease, folders and per-folder counts in
// one read transaction, so that the numbers agree with each other while a
// copy writes: four queries, whatever the number of jobs.
func (s *SQLite) Wave(ctx context.Context) ([]JobSummary, error) {
	return s.wave(ctx, 0)
}

// WaveJob is Wave for one job: a drill-down reads that job's rows only.
func (s *SQLite) WaveJob(ctx context.Context, jobID int64) (JobSummary, bool, error) {
	if jobID <= 0 {
		return JobSummary{}, false, nil
	}
	sums, err := s.wave(ctx, jobID)
	if err != nil || len(sums) == 0 {
		return JobSummary{}, false, err
	}
	return sums[0], true, nil
}

// wave reads every job, or only job when it is not 0.
func (s *SQLite) wave(ctx context.Context, job int64) ([]JobSummary, error) {
	const op = "read the wave"
	// Each query's filter: all rows (job = 0) or the job's, written out so
	// that SQLite plans the job's reads on its indexes.
	var args []any
	filter := func(string) string { return "" }
	if job != 0 {
		args = []any{job}
		filter = func(col string) string { return ` WHERE ` + col + ` = ?` }
	}
	if err := s.errClosed(op); err != nil {
		return nil, err
	}
	conn, err := s.read.Conn(ctx)
	if err != nil {
		return nil, s.fail(op, err)
	}
	defer conn.Close()
	// A deferred transaction: a read snapshot that takes no write lock
	// (the DSN's _txlock would make BeginTx take one, which a read-only
	// file refuses).
	if _, err := conn.ExecContext(ctx, `BEGIN`); err != nil {
		return nil, s.fail(op, err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `ROLLBACK`) //nolint:errcheck // read only: nothing to keep

	q := func(query string, fn func(row interface{ Scan(...any) error }) error) error {
		rows, err := conn.QueryContext(ctx, query, args...)
		if err != nil {
			return s.fail(op, err)
		}
		defer rows.Close()
		for rows.Next() {
			if err := fn(rows); err != nil {
				return s.fail(op, err)
			}
		}
		if err := rows.Err(); err != nil {
			return s.fail(op, err)
		}
		return nil
	}
	var w records.WaveBuilder
	err = q(sqlSelectJob+filter("id")+` ORDER BY id`, func(row interface{ Scan(...any) error }) error {
		j, err := scanJob(row)
		w.Job(j)
		return err
	})
	if err != nil {
		return nil, err
	}
	err = q(`SELECT job_id, host, pid, since, expires FROM leases`+filter("job_id"), func(row interface{ Scan(...any) error }) error {
		var l engine.Lease
		var since, expires int64
		if err := row.Scan(&l.JobID, &l.Owner.Host, &l.Owner.PID, &since, &expires); err != nil {
			return err
		}
		l.Owner.Since, l.Expires = fromNanos(since), fromNanos(expires)
		w.Lease(l)
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = q(sqlSelectFolder+filter("job_id")+` ORDER BY job_id, source_path, source_folder_id`, func(row interface{ Scan(...any) error }) error {
		f, err := scanFolder(row)
		if err == nil {
			w.Folder(f)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	err = q(`SELECT job_id, source_folder_id, outcome, count(*), sum(size_bytes) FROM items`+filter("job_id")+` GROUP BY job_id, source_folder_id, outcome`,
		func(row interface{ Scan(...any) error }) error {
			var job, n, bytes int64
			var folder, outcome string
			if err := row.Scan(&job, &folder, &outcome, &n, &bytes); err != nil {
				return err
			}
			w.Count(job, folder, outcome, n, bytes)
			return nil
		})
	if err != nil {
		return nil, err
	}
	return w.Summaries(), nil
}
