package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/exmigrate/exmigrate/engine"
	"github.com/exmigrate/exmigrate/internal/state/records"
)

// The queries below serve the commands that watch a wave (status, serve)
// and clean up after it (state prune), as internal/state's of the same
// names do on a file: the conformance suite (storetest.RunQueries) holds
// both to the same results.

// Where names the database for messages: "database d on host:port",
// never the URL (it may hold a password).
func (s *Store) Where() string { return s.where }

// Wave reads every job with its lease, folders and per-folder counts in
// one read-only snapshot (REPEATABLE READ), so that the numbers agree with
// each other while workers write: four queries, whatever the number of
// jobs.
func (s *Store) Wave(ctx context.Context) ([]records.JobSummary, error) {
	return s.wave(ctx, 0)
}

// WaveJob is Wave for one job: a drill-down reads that job's rows only.
func (s *Store) WaveJob(ctx context.Context, jobID int64) (records.JobSummary, bool, error) {
	if jobID <= 0 {
		return records.JobSummary{}, false, nil
	}
	sums, err := s.wave(ctx, jobID)
	if err != nil || len(sums) == 0 {
		return records.JobSummary{}, false, err
	}
	return sums[0], true, nil
}

// wave reads every job, or only job when it is not 0.
func (s *Store) wave(ctx context.Context, job int64) ([]records.JobSummary, error) {
	const op = "read the wave"
	if err := s.errClosed(op); err != nil {
		return nil, err
	}
	var args []any
	filter := func(string) string { return "" }
	if job != 0 {
		args = []any{job}
		filter = func(col string) string { return ` WHERE ` + col + ` = $1` }
	}
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, s.fail(op, err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // read only: nothing to keep

	q := func(query string, fn func(row scanner) error) error {
		rows, err := tx.Query(ctx, query, args...)
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
	err = q(sqlSelectJob+filter("id")+` ORDER BY id`, func(row scanner) error {
		j, err := scanJob(row)
		w.Job(j)
		return err
	})
	if err != nil {
		return nil, err
	}
	err = q(`SELECT job_id, host, pid, since, expires FROM leases`+filter("job_id"), func(row scanner) error {
		var l engine.Lease
		var since *time.Time
		if err := row.Scan(&l.JobID, &l.Owner.Host, &l.Owner.PID, &since, &l.Expires); err != nil {
			return err
		}
		l.Owner.Since, l.Expires = fromTS(since), l.Expires.UTC()
		w.Lease(l)
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = q(sqlSelectFolder+filter("job_id")+` ORDER BY job_id, source_path, source_folder_id`, func(row scanner) error {
		f, err := scanFolder(row)
		if err == nil {
			w.Folder(f)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	// Ordered, so that folders known only by their items come in the
	// same order in every store (by id; SQLite's group order).
	err = q(`SELECT job_id, source_folder_id, outcome, count(*), sum(size_bytes)::bigint FROM items`+filter("job_id")+
		` GROUP BY job_id, source_folder_id, outcome ORDER BY job_id, source_folder_id, outcome`,
		func(row scanner) error {
			var jobID, n, bytes int64
			var folder, outcome string
			if err := row.Scan(&jobID, &folder, &outcome, &n, &bytes); err != nil {
				return err
			}
			w.Count(jobID, folder, outcome, n, bytes)
			return nil
		})
	if err != nil {
		return nil, err
	}
	return w.Summaries(), nil
}

// RecentSkipped returns up to limit skipped items of a job, the latest
// first, with their reasons: what a drill-down shows.
func (s *Store) RecentSkipped(ctx context.Context, jobID int64, limit int) ([]engine.ItemRecord, error) {
	op := fmt.Sprintf("list skipped items of job %d", jobID)
	if err := s.errClosed(op); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, nil
	}
	return queryAll(ctx, s, op, scanItem, `SELECT `+itemColumns+` FROM items
		WHERE job_id = $1 AND outcome = 'skipped' ORDER BY updated DESC, source_id LIMIT $2`, jobID, limit)
}

// SkippedItems calls fn for each skipped item of a job, in source id
// order, a page at a time (the report's skipped.csv; fn stops it with an
// error).
func (s *Store) SkippedItems(ctx context.Context, jobID int64, fn func(engine.ItemRecord) error) error {
	op := fmt.Sprintf("list skipped items of job %d", jobID)
	if err := s.errClosed(op); err != nil {
		return err
	}
	return s.itemPages(ctx, op, `job_id = $1 AND outcome = 'skipped'`, fn, jobID)
}

// errWrite is errClosed for the writes this file and signoff.go make,
// which a read-only store refuses before the server would.
func (s *Store) errWrite(op string) error {
	if err := s.errClosed(op); err != nil {
		return err
	}
	if s.readOnly {
		return fmt.Errorf("state: %s: %w", op, records.ErrReadOnly)
	}
	return nil
}

// Prune removes the jobs rule selects, with their folders, items, leases
// and sign-offs, and returns them (what would be removed, on a dry run). A
// job whose lease is live (by the server's clock) is never removed: Prune
// takes each job's lease itself before it removes anything, so a worker
// that comes for the job meanwhile is refused as by any other holder, and
// it removes the items in slices, so that workers writing other jobs never
// wait long on its deletes.
func (s *Store) Prune(ctx context.Context, rule records.PruneRule) ([]engine.JobRecord, error) {
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
		kinds = `true`
	case rule.Completed:
		kinds = `status IN ('done', 'completed')`
	default:
		kinds = `status NOT IN ('done', 'completed')`
	}
	// GREATEST ignores NULLs: the last start or end, or the creation when
	// no pass ran.
	qualifies := ` WHERE ` + kinds + ` AND COALESCE(GREATEST(last_start, last_end), created) < $1`
	candidates, err := queryAll(ctx, s, op, scanJob, sqlSelectJob+qualifies+`
		AND NOT EXISTS (SELECT 1 FROM leases WHERE leases.job_id = jobs.id AND leases.expires > now()) ORDER BY id`, rule.Before)
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

// pruneJob removes one job under its own lease; gone is false when the
// job no longer qualifies (a worker took or touched it since it was
// listed). Stopped half way, it leaves the job with some of its item
// records gone: the next pass finds those items on the target by their
// stamps.
func (s *Store) pruneJob(ctx context.Context, id int64, owner engine.Owner, qualifies string, before time.Time) (gone bool, err error) {
	const ttl = time.Minute
	lease, err := s.AcquireLease(ctx, id, owner, ttl)
	var le *engine.LeasedError
	if errors.As(err, &le) {
		return false, nil // a worker holds it now
	}
	if err != nil {
		return false, err
	}
	release := func() { _ = s.ReleaseLease(context.WithoutCancel(ctx), lease) }
	// Still as listed, now that nobody else can take it.
	var still bool
	err = s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM jobs`+qualifies+` AND id = $2)`, before, id).Scan(&still)
	if err != nil || !still {
		release()
		return false, err
	}
	for {
		tag, err := s.pool.Exec(ctx, `DELETE FROM items WHERE job_id = $1 AND source_id IN
			(SELECT source_id FROM items WHERE job_id = $1 LIMIT $2)`, id, records.PruneSlice)
		if err != nil {
			release()
			return false, err
		}
		if tag.RowsAffected() < records.PruneSlice {
			break
		}
		if time.Until(lease.Expires) < ttl/2 {
			if lease, err = s.RenewLease(ctx, lease, ttl); err != nil {
				return false, err
			}
		}
	}
	// The job row goes last, with its folders, sign-off and our lease
	// (cascade); only while the lease is still ours.
	tag, err := s.pool.Exec(ctx, `DELETE FROM jobs WHERE id = $1
		AND EXISTS (SELECT 1 FROM leases WHERE job_id = $1 AND token = $2)`, id, owner.Token)
	if err != nil {
		release()
		return false, err
	}
	return tag.RowsAffected() > 0, nil
}
