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

// Leases lists the lease of every job that has one, live or expired, by
// job id. A lease row outlives a killed process until the next owner
// takes it over, so the caller compares Expires with its clock.
func (s *SQLite) Leases(ctx context.Context) (map[int64]engine.Lease, error) {
	const op = "list leases"
	if err := s.errClosed(op); err != nil {
		return nil, err
	}
	leases, err := queryAll(ctx, s, op, func(row interface{ Scan(...any) error }) (engine.Lease, error) {
		var l engine.Lease
		var since, expires int64
		err := row.Scan(&l.JobID, &l.Owner.Host, &l.Owner.PID, &since, &expires)
		l.Owner.Since, l.Expires = fromNanos(since), fromNanos(expires)
		return l, err
	}, `SELECT job_id, host, pid, since, expires FROM leases ORDER BY job_id`)
	if err != nil {
		return nil, err
	}
	// The token is what makes a process the owner: it stays in the file.
	out := make(map[int64]engine.Lease, len(leases))
	for _, l := range leases {
		out[l.JobID] = l
	}
	return out, nil
}

// FolderCounts sums one folder's item records by outcome.
type FolderCounts struct {
	Copied, Pending, Skipped int64
	CopiedBytes              int64
}

// FolderCounts sums a job's items per source folder id (the index on
// job, folder and outcome answers it without reading the items).
func (s *SQLite) FolderCounts(ctx context.Context, jobID int64) (map[string]FolderCounts, error) {
	op := fmt.Sprintf("count items per folder of job %d", jobID)
	if err := s.errClosed(op); err != nil {
		return nil, err
	}
	type row struct {
		folder, outcome string
		n, bytes        int64
	}
	rows, err := queryAll(ctx, s, op, func(r interface{ Scan(...any) error }) (row, error) {
		var x row
		return x, r.Scan(&x.folder, &x.outcome, &x.n, &x.bytes)
	}, `SELECT source_folder_id, outcome, count(*), sum(size_bytes) FROM items WHERE job_id = ? GROUP BY source_folder_id, outcome`, jobID)
	if err != nil {
		return nil, err
	}
	out := map[string]FolderCounts{}
	for _, r := range rows {
		c := out[r.folder]
		switch r.outcome {
		case engine.ItemCopied:
			c.Copied, c.CopiedBytes = r.n, r.bytes
		case engine.ItemPending:
			c.Pending = r.n
		case engine.ItemSkipped:
			c.Skipped = r.n
		}
		out[r.folder] = c
	}
	return out, nil
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
