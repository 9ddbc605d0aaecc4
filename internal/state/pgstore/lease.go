package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/exmigrate/exmigrate/engine"
)

// A lease's expiry is computed and compared by the server (now() plus the
// TTL), so workers whose clocks disagree still agree on who holds a job.
// The TTL travels as microseconds, PostgreSQL's resolution.
const expiresIn = `now() + $%d::bigint * interval '1 microsecond'`

// AcquireLease takes the job for owner with one conditional upsert: the
// row lock it takes decides between workers asking at once, so exactly one
// of them gets a free or expired lease.
func (s *Store) AcquireLease(ctx context.Context, jobID int64, owner engine.Owner, ttl time.Duration) (engine.Lease, error) {
	op := fmt.Sprintf("acquire the lease of job %d", jobID)
	if err := s.errClosed(op); err != nil {
		return engine.Lease{}, err
	}
	// The holder may release between the refused upsert and the read of
	// who holds it; then the job is free and the upsert is tried again.
	for range 3 {
		var expires time.Time
		err := s.pool.QueryRow(ctx, `INSERT INTO leases (job_id, token, host, pid, since, expires)
			VALUES ($1, $2, $3, $4, $5, `+fmt.Sprintf(expiresIn, 6)+`)
			ON CONFLICT (job_id) DO UPDATE SET token = excluded.token, host = excluded.host, pid = excluded.pid,
				since = excluded.since, expires = excluded.expires
			WHERE leases.expires <= now() OR leases.token = excluded.token
			RETURNING expires`,
			jobID, owner.Token, owner.Host, owner.PID, ts(owner.Since), ttl.Microseconds()).Scan(&expires)
		if err == nil {
			return engine.Lease{JobID: jobID, Owner: owner, Expires: expires.UTC()}, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return engine.Lease{}, s.fail(op, err)
		}
		var holder engine.Owner
		var since *time.Time
		var until time.Time
		err = s.pool.QueryRow(ctx, `SELECT token, host, pid, since, expires FROM leases WHERE job_id = $1`, jobID).
			Scan(&holder.Token, &holder.Host, &holder.PID, &since, &until)
		if errors.Is(err, pgx.ErrNoRows) {
			continue
		}
		if err != nil {
			return engine.Lease{}, s.fail(op, err)
		}
		holder.Since = fromTS(since)
		return engine.Lease{}, &engine.LeasedError{JobID: jobID, Holder: holder, Expires: until.UTC()}
	}
	return engine.Lease{}, fmt.Errorf("state: %s: the lease changed hands three times while it was asked for; try again", op)
}

// RenewLease extends a lease its owner still holds.
func (s *Store) RenewLease(ctx context.Context, lease engine.Lease, ttl time.Duration) (engine.Lease, error) {
	op := fmt.Sprintf("renew the lease of job %d", lease.JobID)
	if err := s.errClosed(op); err != nil {
		return lease, err
	}
	var expires time.Time
	err := s.pool.QueryRow(ctx, `UPDATE leases SET expires = `+fmt.Sprintf(expiresIn, 3)+`
		WHERE job_id = $1 AND token = $2 RETURNING expires`, lease.JobID, lease.Owner.Token, ttl.Microseconds()).Scan(&expires)
	if errors.Is(err, pgx.ErrNoRows) {
		return lease, fmt.Errorf("state: %s: %w (another worker holds it now, or it was released)", op, engine.ErrLeaseLost)
	}
	if err != nil {
		return lease, s.fail(op, err)
	}
	lease.Expires = expires.UTC()
	return lease, nil
}

// ReleaseLease gives the job up; a lease no longer held is left alone.
func (s *Store) ReleaseLease(ctx context.Context, lease engine.Lease) error {
	op := fmt.Sprintf("release the lease of job %d", lease.JobID)
	if s.closed.Load() {
		return nil // closing the store ends its claims: the lease expires by itself
	}
	if _, err := s.pool.Exec(ctx, `DELETE FROM leases WHERE job_id = $1 AND token = $2`, lease.JobID, lease.Owner.Token); err != nil {
		if errors.Is(s.fail(op, err), engine.ErrStoreClosed) {
			return nil
		}
		return s.fail(op, err)
	}
	return nil
}

// TakeOverLease gives the job to owner while from still holds it (the
// engine found from's process gone); if from no longer holds it, it
// acquires.
func (s *Store) TakeOverLease(ctx context.Context, jobID int64, from, owner engine.Owner, ttl time.Duration) (engine.Lease, error) {
	op := fmt.Sprintf("take over the lease of job %d", jobID)
	if err := s.errClosed(op); err != nil {
		return engine.Lease{}, err
	}
	var expires time.Time
	err := s.pool.QueryRow(ctx, `UPDATE leases SET token = $3, host = $4, pid = $5, since = $6, expires = `+fmt.Sprintf(expiresIn, 7)+`
		WHERE job_id = $1 AND token = $2 RETURNING expires`,
		jobID, from.Token, owner.Token, owner.Host, owner.PID, ts(owner.Since), ttl.Microseconds()).Scan(&expires)
	if err == nil {
		return engine.Lease{JobID: jobID, Owner: owner, Expires: expires.UTC()}, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return engine.Lease{}, s.fail(op, err)
	}
	return s.AcquireLease(ctx, jobID, owner, ttl)
}
