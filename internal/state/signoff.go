package state

import (
	"context"
	"fmt"
	"time"

	"github.com/exmigrate/exmigrate/internal/state/records"
)

// SignOff is finalize's acceptance of a job (records holds the type for
// both stores).
type SignOff = records.SignOff

// PutSignOff records a job's sign-off, replacing an earlier one (a job
// reopened and finalized again).
func (s *SQLite) PutSignOff(ctx context.Context, so SignOff) error {
	op := fmt.Sprintf("sign off job %d", so.JobID)
	if err := s.errWrite(op); err != nil {
		return err
	}
	if err := records.CheckSignOff(so); err != nil {
		return s.fail(op, err)
	}
	if so.At.IsZero() {
		so.At = time.Now()
	}
	_, err := s.write.ExecContext(ctx, `INSERT INTO signoffs (job_id, at, operator, items_on_target, skipped, approved, note)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (job_id) DO UPDATE SET at = excluded.at, operator = excluded.operator, items_on_target = excluded.items_on_target,
			skipped = excluded.skipped, approved = excluded.approved, note = excluded.note`,
		so.JobID, toNanos(so.At), so.Operator, so.ItemsOnTarget, so.Skipped, so.Approved, so.Note)
	if err != nil {
		return s.fail(op, noJob(err, so.JobID))
	}
	return nil
}

// SignOffs returns every job's sign-off, by job id.
func (s *SQLite) SignOffs(ctx context.Context) (map[int64]SignOff, error) {
	if err := s.errClosed("sign-offs"); err != nil {
		return nil, err
	}
	list, err := queryAll(ctx, s, "sign-offs", func(row interface{ Scan(...any) error }) (SignOff, error) {
		var so SignOff
		var at int64
		err := row.Scan(&so.JobID, &at, &so.Operator, &so.ItemsOnTarget, &so.Skipped, &so.Approved, &so.Note)
		so.At = fromNanos(at)
		return so, err
	}, `SELECT job_id, at, operator, items_on_target, skipped, approved, note FROM signoffs ORDER BY job_id`)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]SignOff, len(list))
	for _, so := range list {
		out[so.JobID] = so
	}
	return out, nil
}
