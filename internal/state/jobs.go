package state

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/exmigrate/exmigrate/engine"
)

// The queries below serve the commands that watch a wave (status, serve)
// and clean up after it (prune). They read through the read pool, so they
// run beside a copy in another process (WAL) and work on a store opened
// with OpenReadOnly.

// FolderCounts sums one folder's item records by outcome.
type FolderCounts struct {
	Copied, Pending, Skipped int64
	CopiedBytes              int64
}

// SkippedItems returns up to limit skipped items of a job, the latest
// first, with their reasons: what a drill-down shows. The count of all
// of them is in Counts.
func (s *SQLite) SkippedItems(ctx context.Context, jobID int64, limit int) ([]engine.ItemRecord, error) {
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

// PruneRule says which jobs Prune removes.
type PruneRule struct {
	// Completed selects jobs whose last pass ended with nothing skipped.
	Completed bool
	// Abandoned selects every other job (never started, failed, partial,
	// interrupted) that nobody touched since Before: a mailbox taken out
	// of the wave, or a dry run's leftovers.
	Abandoned bool
	// Before: only jobs whose last activity (the start or end of their
	// last pass, or their creation when no pass ran) is older than this
	// are removed.
	Before time.Time
	// DryRun lists what would be removed and removes nothing.
	DryRun bool
}

// ErrNoPruneRule is returned by Prune when the rule selects nothing.
var ErrNoPruneRule = errors.New("prune: say which jobs to remove: completed, abandoned or both")

// Prune removes the jobs rule selects, with their folders, items and
// leases, and returns them (what would be removed, on a dry run). A job
// whose lease is live is never removed, whatever its status says: one
// statement decides per job, with the lease checked in it, so a copy that
// takes the job between listing and removing keeps it.
func (s *SQLite) Prune(ctx context.Context, rule PruneRule) ([]engine.JobRecord, error) {
	const op = "prune jobs"
	if !rule.Completed && !rule.Abandoned {
		return nil, ErrNoPruneRule
	}
	if rule.Before.IsZero() {
		return nil, errors.New("prune: give an age (older than) so that recent jobs stay")
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
		kinds = `status = 'done'`
	default:
		kinds = `status <> 'done'`
	}
	now := toNanos(time.Now())
	where := ` WHERE ` + kinds + ` AND (CASE WHEN max(last_start, last_end) > 0 THEN max(last_start, last_end) ELSE created END) < ?
		AND NOT EXISTS (SELECT 1 FROM leases WHERE leases.job_id = jobs.id AND leases.expires > ?)`
	candidates, err := queryAll(ctx, s, op, scanJob, sqlSelectJob+where+` ORDER BY id`, toNanos(rule.Before), now)
	if err != nil || rule.DryRun {
		return candidates, err
	}
	var removed []engine.JobRecord
	for _, j := range candidates {
		// Per job, so that each delete is short: a copy in another process
		// waits for the write lock no longer than one job's rows take.
		res, err := s.write.ExecContext(ctx, `DELETE FROM jobs`+where+` AND id = ?`, toNanos(rule.Before), toNanos(time.Now()), j.ID)
		if err != nil {
			return removed, s.fail(op, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return removed, s.fail(op, err)
		} else if n == 1 {
			removed = append(removed, j)
		}
	}
	return removed, nil
}

// JobSummary is one job as a wave's overview shows it.
type JobSummary struct {
	engine.JobRecord
	// Lease is the job's lease row, nil when it has none; live or not is
	// the caller's comparison of Expires with its clock.
	Lease   *engine.Lease
	Folders []FolderSummary
}

// FolderSummary is one folder of a job: its record and its items' counts.
// A folder whose items are recorded before its folder record (a pass
// stopped early) has only SourceFolderID set in its record.
type FolderSummary struct {
	engine.FolderRecord
	FolderCounts
}

// Wave reads every job with its lease, folders and per-folder counts in
// one read transaction, so that the numbers agree with each other while a
// copy writes: four queries, whatever the number of jobs.
func (s *SQLite) Wave(ctx context.Context) ([]JobSummary, error) {
	const op = "read the wave"
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
		rows, err := conn.QueryContext(ctx, query)
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
	var out []JobSummary
	byID := map[int64]int{}
	err = q(sqlSelectJob+` ORDER BY id`, func(row interface{ Scan(...any) error }) error {
		j, err := scanJob(row)
		byID[j.ID] = len(out)
		out = append(out, JobSummary{JobRecord: j})
		return err
	})
	if err != nil {
		return nil, err
	}
	err = q(`SELECT job_id, host, pid, since, expires FROM leases`, func(row interface{ Scan(...any) error }) error {
		var l engine.Lease
		var since, expires int64
		if err := row.Scan(&l.JobID, &l.Owner.Host, &l.Owner.PID, &since, &expires); err != nil {
			return err
		}
		l.Owner.Since, l.Expires = fromNanos(since), fromNanos(expires)
		if i, ok := byID[l.JobID]; ok {
			out[i].Lease = &l
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	folderAt := map[int64]map[string]int{} // job -> folder id -> index in its Folders
	err = q(sqlSelectFolder+` ORDER BY job_id, source_path, source_folder_id`, func(row interface{ Scan(...any) error }) error {
		f, err := scanFolder(row)
		if err != nil {
			return err
		}
		if i, ok := byID[f.JobID]; ok {
			if folderAt[f.JobID] == nil {
				folderAt[f.JobID] = map[string]int{}
			}
			folderAt[f.JobID][f.SourceFolderID] = len(out[i].Folders)
			out[i].Folders = append(out[i].Folders, FolderSummary{FolderRecord: f})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = q(`SELECT job_id, source_folder_id, outcome, count(*), sum(size_bytes) FROM items GROUP BY job_id, source_folder_id, outcome`,
		func(row interface{ Scan(...any) error }) error {
			var job, n, bytes int64
			var folder, outcome string
			if err := row.Scan(&job, &folder, &outcome, &n, &bytes); err != nil {
				return err
			}
			i, ok := byID[job]
			if !ok {
				return nil
			}
			fi, ok := folderAt[job][folder]
			if !ok {
				if folderAt[job] == nil {
					folderAt[job] = map[string]int{}
				}
				fi = len(out[i].Folders)
				folderAt[job][folder] = fi
				out[i].Folders = append(out[i].Folders, FolderSummary{FolderRecord: engine.FolderRecord{JobID: job, SourceFolderID: folder}})
			}
			c := &out[i].Folders[fi].FolderCounts
			switch outcome {
			case engine.ItemCopied:
				c.Copied, c.CopiedBytes = n, bytes
			case engine.ItemPending:
				c.Pending = n
			case engine.ItemSkipped:
				c.Skipped = n
			}
			return nil
		})
	if err != nil {
		return nil, err
	}
	return out, nil
}
