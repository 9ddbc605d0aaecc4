package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/exmigrate/exmigrate/engine"
)

// AcquireLease takes the job for owner with one conditional upsert, so two
// processes on the same file never both win: SQLite runs one writer at a
// time. The clock is this machine's, which every process sharing the file
// shares.
func (s *SQLite) AcquireLease(ctx context.Context, jobID int64, owner engine.Owner, ttl time.Duration) (engine.Lease, error) {
	op := fmt.Sprintf("acquire the lease of job %d", jobID)
	if err := s.errWrite(op); err != nil {
		return engine.Lease{}, err
	}
	now := time.Now()
	expires := now.Add(ttl)
	res, err := s.write.ExecContext(ctx, `INSERT INTO leases (job_id, token, host, pid, since, expires) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (job_id) DO UPDATE SET token = excluded.token, host = excluded.host, pid = excluded.pid,
			since = excluded.since, expires = excluded.expires
		WHERE leases.expires <= ? OR leases.token = excluded.token`,
		jobID, owner.Token, owner.Host, owner.PID, toNanos(owner.Since), toNanos(expires), toNanos(now))
	if err != nil {
		return engine.Lease{}, s.fail(op, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return engine.Lease{}, s.fail(op, err)
	} else if n == 1 {
		return engine.Lease{JobID: jobID, Owner: owner, Expires: expires}, nil
	}
	var holder engine.Owner
	var since, until int64
	err = s.write.QueryRowContext(ctx, `SELECT token, host, pid, since, expires FROM leases WHERE job_id = ?`, jobID).
		Scan(&holder.Token, &holder.Host, &holder.PID, &since, &until)
	if err != nil {
		return engine.Lease{}, s.fail(op, err)
	}
	holder.Since = fromNanos(since)
	return engine.Lease{}, &engine.LeasedError{JobID: jobID, Holder: holder, Expires: fromNanos(until)}
}

// RenewLease extends a lease its owner still holds.
func (s *SQLite) RenewLease(ctx context.Context, lease engine.Lease, ttl time.Duration) (engine.Lease, error) {
	op := fmt.Sprintf("renew the lease of job %d", lease.JobID)
	if err := s.errWrite(op); err != nil {
		return lease, err
	}
	expires := time.Now().Add(ttl)
	res, err := s.write.ExecContext(ctx, `UPDATE leases SET expires = ? WHERE job_id = ? AND token = ?`,
		toNanos(expires), lease.JobID, lease.Owner.Token)
	if err != nil {
		return lease, s.fail(op, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return lease, s.fail(op, err)
	} else if n == 0 {
		return lease, fmt.Errorf("%s: %w (another process holds it now)", op, engine.ErrLeaseLost)
	}
	lease.Expires = expires
	return lease, nil
}

// ReleaseLease gives the job up; a lease no longer held is left alone.
func (s *SQLite) ReleaseLease(ctx context.Context, lease engine.Lease) error {
	op := fmt.Sprintf("release the lease of job %d", lease.JobID)
	if err := s.errWrite(op); err != nil {
		if errors.Is(err, engine.ErrStoreClosed) {
			return nil // closing the store ends the process's claims anyway
		}
		return err
	}
	if _, err := s.write.ExecContext(ctx, `DELETE FROM leases WHERE job_id = ? AND token = ?`, lease.JobID, lease.Owner.Token); err != nil &&
		!errors.Is(err, sql.ErrNoRows) {
		return s.fail(op, err)
	}
	return nil
}

// TakeOverLease gives the job to owner while from still holds it (from is
// gone: the engine checked); if from no longer holds it, it acquires.
func (s *SQLite) TakeOverLease(ctx context.Context, jobID int64, from, owner engine.Owner, ttl time.Duration) (engine.Lease, error) {
	op := fmt.Sprintf("take over the lease of job %d", jobID)
	if err := s.errWrite(op); err != nil {
		return engine.Lease{}, err
	}
	expires := time.Now().Add(ttl)
	res, err := s.write.ExecContext(ctx, `UPDATE leases SET token = ?, host = ?, pid = ?, since = ?, expires = ?
		WHERE job_id = ? AND token = ?`, owner.Token, owner.Host, owner.PID, toNanos(owner.Since), toNanos(expires), jobID, from.Token)
	if err != nil {
		return engine.Lease{}, s.fail(op, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return engine.Lease{}, s.fail(op, err)
	} else if n == 1 {
		return engine.Lease{JobID: jobID, Owner: owner, Expires: expires}, nil
	}
	return s.AcquireLease(ctx, jobID, owner, ttl)
}
