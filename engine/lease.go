package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"time"
)

// One owner per job: a copy pass holds the job's lease in the state store
// from its first write to its end, renews it while it works, and a second
// process on the same job refuses instead of writing (two processes on one
// job duplicate items: both write before either sees the other's stamps).
// A process killed with its lease held loses it when the lease expires.
//
// The contract, for every Store (SQLite today, PostgreSQL later):
//   - AcquireLease takes the job for owner when nobody holds it, its lease
//     has expired, or owner holds it already (same Token); otherwise it
//     fails with *LeasedError naming the holder. One atomic statement or
//     transaction decides, so two processes never both acquire.
//   - TakeOverLease gives the job to another owner only while from still
//     holds it (the engine asks when from is a process of this machine that
//     no longer exists, killed without releasing); otherwise it acquires.
//   - RenewLease extends a lease its holder still has; ErrLeaseLost when
//     the lease expired and another owner took it (or it was released).
//   - ReleaseLease gives it up; releasing a lease no longer held is not an
//     error.
//   - Expiry compares the store's idea of now with the lease's expiry: one
//     clock (this machine's for SQLite, the database server's for a
//     shared store), so that owners on several machines agree.

// Owner names a process that copies jobs.
type Owner struct {
	Token string // random, unique per process
	Host  string
	PID   int
	Since time.Time
}

// NewOwner names this process.
func NewOwner() Owner {
	host, _ := os.Hostname()
	b := make([]byte, 12)
	rand.Read(b)
	return Owner{Token: hex.EncodeToString(b), Host: host, PID: os.Getpid(), Since: time.Now().UTC()}
}

// Lease is a held job.
type Lease struct {
	JobID   int64
	Owner   Owner
	Expires time.Time
}

// LeasedError says who holds a job another process asked for.
type LeasedError struct {
	JobID   int64
	Holder  Owner
	Expires time.Time
}

func (e *LeasedError) Error() string {
	return fmt.Sprintf("job %d is being copied by process %d on %s since %s (its lease runs until %s): "+
		"wait for that run to end, or stop it; a lease left by a killed process expires by itself",
		e.JobID, e.Holder.PID, e.Holder.Host, e.Holder.Since.UTC().Format(time.RFC3339), e.Expires.UTC().Format(time.RFC3339))
}

// ErrLeaseLost is returned by RenewLease when the lease is no longer held.
var ErrLeaseLost = errors.New("the job's lease was lost")

// DefaultLeaseTTL is how long a lease lasts without renewal; the holder
// renews it every third of that.
const DefaultLeaseTTL = 2 * time.Minute

// hold acquires the job's lease and keeps it renewed until stop is called.
// When a renewal finds the lease lost, lost is called (the run stops its
// writes): another process owns the job now.
func (c *Copier) hold(ctx context.Context, jobID int64, lost func(error)) (stop func(), err error) {
	ttl := c.LeaseTTL
	if ttl <= 0 {
		ttl = DefaultLeaseTTL
	}
	owner := c.Owner
	if owner.Token == "" {
		owner = c.defaultOwner()
	}
	lease, err := c.Store.AcquireLease(ctx, jobID, owner, ttl)
	var le *LeasedError
	if errors.As(err, &le) && holderGone(le.Holder) {
		// Killed on this machine without releasing (kill -9, a crash): a
		// process that no longer exists writes nothing, so there is no need
		// to wait for its lease to expire.
		if c.Log != nil {
			c.Log.Warn("taking the job over from a process of this machine that is gone", "job", jobID,
				"pid", le.Holder.PID, "since", le.Holder.Since)
		}
		lease, err = c.Store.TakeOverLease(ctx, jobID, le.Holder, owner, ttl)
	}
	if err != nil {
		return nil, err
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(ttl / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			next, err := c.Store.RenewLease(context.WithoutCancel(ctx), lease, ttl)
			switch {
			case err == nil:
				lease = next
			case errors.Is(err, ErrLeaseLost) || time.Now().After(lease.Expires):
				lost(fmt.Errorf("%w: %w", ErrLeaseLost, err))
				return
			}
			// A failed renewal with time left is tried again at the next tick.
		}
	}()
	return func() {
		close(done)
		<-finished
		if err := c.Store.ReleaseLease(context.WithoutCancel(ctx), lease); err != nil && c.Log != nil {
			c.Log.Warn("job lease not released; it expires by itself", "job", jobID, "err", err)
		}
	}, nil
}

func (c *Copier) defaultOwner() Owner {
	c.ownerOnce.Do(func() { c.owner = NewOwner() })
	return c.owner
}

// holderGone reports whether a lease's holder is a process of this machine
// that no longer exists. Anything uncertain (another host, a process that
// exists, a platform where it cannot be asked) counts as alive: the lease
// then expires by itself.
func holderGone(h Owner) bool {
	host, err := os.Hostname()
	if err != nil || h.Host == "" || h.Host != host || h.PID <= 0 || h.PID == os.Getpid() {
		return false
	}
	return !processAlive(h.PID)
}

// Fail records a mailbox whose pass could not begin (its plan failed with
// err, after the retries a pass would make) as failed, under the job's
// lease, and returns its result: the state then says what a pass would
// have said, without the pass asking the source the same thing again.
func (c *Copier) Fail(ctx context.Context, key JobKey, cause error) *MailboxResult {
	res := &MailboxResult{Key: key, Started: time.Now(), SkipReasons: map[string]int64{}, Err: cause}
	job, err := c.Store.Job(ctx, key)
	if err != nil {
		return res
	}
	release, err := c.hold(ctx, job.ID, func(error) {})
	if err != nil {
		res.Err = err // another process holds the job: that is what to report
		return res
	}
	defer release()
	job.Status, job.LastError, job.LastStart, job.LastEnd = JobFailed, cause.Error(), res.Started, time.Now()
	if err := c.Store.PutJob(context.WithoutCancel(ctx), job); err != nil && c.Log != nil {
		c.Log.Error("the failed mailbox could not be recorded in the state", "mailbox", key.SourceAddress, "err", err)
	}
	res.Duration = time.Since(res.Started)
	return res
}

// ErrNotFinishable is returned by Complete for a job whose last pass did
// not end cleanly (failed, interrupted, never run): there is nothing to
// sign off.
var ErrNotFinishable = errors.New("the job's last pass did not end: run the final pass first")

// Complete signs a job off under its lease: signOff records the
// acceptance (finalize's sign-off), then the job is marked completed, so
// that later passes leave it alone. Holding the lease keeps a copy in
// another process from writing into the job while it is signed off.
func (c *Copier) Complete(ctx context.Context, key JobKey, signOff func(ctx context.Context, job JobRecord) error) error {
	job, err := c.Store.Job(ctx, key)
	if err != nil {
		return err
	}
	release, err := c.hold(ctx, job.ID, func(error) {})
	if err != nil {
		return err
	}
	defer release()
	// Read again under the lease: another process may have run a pass.
	if job, err = c.Store.Job(ctx, key); err != nil {
		return err
	}
	if job.Status != JobDone && job.Status != JobPartial {
		return fmt.Errorf("%w (status %s)", ErrNotFinishable, job.Status)
	}
	if err := signOff(ctx, job); err != nil {
		return err
	}
	job.Status = JobCompleted
	return c.Store.PutJob(context.WithoutCancel(ctx), job)
}
