package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/exmigrate/exmigrate/internal/state/records"
)

// PutSignOff records a job's sign-off (finalize), replacing an earlier one
// (a job reopened and finalized again). It refuses what the SQLite store
// refuses (records.CheckSignOff).
func (s *Store) PutSignOff(ctx context.Context, so records.SignOff) error {
	op := fmt.Sprintf("sign off job %d", so.JobID)
	if err := s.errWrite(op); err != nil {
		return err
	}
	if err := records.CheckSignOff(so); err != nil {
		return fmt.Errorf("state: %s: %w", op, err)
	}
	if so.At.IsZero() {
		so.At = time.Now()
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO signoffs (job_id, at, operator, items_on_target, skipped, approved, note)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (job_id) DO UPDATE SET at = excluded.at, operator = excluded.operator, items_on_target = excluded.items_on_target,
			skipped = excluded.skipped, approved = excluded.approved, note = excluded.note`,
		so.JobID, so.At, so.Operator, so.ItemsOnTarget, so.Skipped, so.Approved, so.Note)
	if err != nil {
		return s.fail(op, err)
	}
	return nil
}

// SignOffs returns every job's sign-off, by job id.
func (s *Store) SignOffs(ctx context.Context) (map[int64]records.SignOff, error) {
	const op = "sign-offs"
	if err := s.errClosed(op); err != nil {
		return nil, err
	}
	list, err := queryAll(ctx, s, op, func(row scanner) (records.SignOff, error) {
		var so records.SignOff
		err := row.Scan(&so.JobID, &so.At, &so.Operator, &so.ItemsOnTarget, &so.Skipped, &so.Approved, &so.Note)
		so.At = so.At.UTC()
		return so, err
	}, `SELECT job_id, at, operator, items_on_target, skipped, approved, note FROM signoffs ORDER BY job_id`)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]records.SignOff, len(list))
	for _, so := range list {
		out[so.JobID] = so
	}
	return out, nil
}
