package queue

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river/rivertype"

	"github.com/exmigrate/exmigrate/engine"
	"github.com/exmigrate/exmigrate/internal/secret"
	"github.com/exmigrate/exmigrate/internal/state/pgstore"
	"github.com/exmigrate/exmigrate/internal/state/pgstore/pgtest"
)

func openQueue(t *testing.T, url string) *Queue {
	t.Helper()
	q, err := Open(context.Background(), url, secret.Secret{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(q.Close)
	return q
}

func job(addr string) Job {
	return Job{Address: addr + "@contoso.com", Target: addr + "@contoso.onmicrosoft.com", Direction: "onboarding", MaxSkipped: -1}
}

func addresses(jobs []Job) []string {
	var out []string
	for _, j := range jobs {
		out = append(out, j.Address)
	}
	slices.Sort(out)
	return out
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func jobStates(t *testing.T, q *Queue) map[string]JobState {
	t.Helper()
	js, err := q.Jobs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]JobState{}
	for _, j := range js {
		if prev, ok := out[j.Job.Address]; !ok || prev.ID < j.ID {
			out[j.Job.Address] = j
		}
	}
	return out
}

// Concurrent starts on a new database all succeed (the migration lock),
// and a database whose River schema is newer than this build's is refused.
func TestOpenMigratesOnceAndRefusesNewer(t *testing.T) {
	url := pgtest.NewDatabase(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			q, err := Open(context.Background(), url, secret.Secret{}, nil)
			if err == nil {
				q.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("start %d: %v", i, err)
		}
	}
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), `INSERT INTO river_migration (line, version) VALUES ('main', 9999)`); err != nil {
		t.Fatal(err)
	}
	_, err = Open(context.Background(), url, secret.Secret{}, nil)
	if !errors.Is(err, ErrNewerSchema) {
		t.Fatalf("Open on a newer River schema: %v, want ErrNewerSchema", err)
	}
	t.Log(err)
}

// A mailbox pair is queued once while its job waits or runs; once the job
// completed, the pair may be queued again for its next pass.
func TestEnqueueUniquePerMailboxPair(t *testing.T) {
	ctx := context.Background()
	q := openQueue(t, pgtest.NewDatabase(t))
	tests := []struct {
		name             string
		submit           []Job
		queued, previous []string
	}{
		{"first wave", []Job{job("ann"), job("bob"), job("cid")}, []string{"ann@contoso.com", "bob@contoso.com", "cid@contoso.com"}, nil},
		{"same wave again, one more", []Job{job("ann"), job("bob"), job("dan")}, []string{"dan@contoso.com"}, []string{"ann@contoso.com", "bob@contoso.com"}},
		{"other options, same pair", []Job{func() Job { j := job("ann"); j.Reopen = true; j.Rules = true; return j }()}, nil, []string{"ann@contoso.com"}},
	}
	for _, tc := range tests {
		got, err := q.Enqueue(ctx, tc.submit)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if a, b := addresses(got.Queued), tc.queued; !slices.Equal(a, b) {
			t.Errorf("%s: queued %v, want %v", tc.name, a, b)
		}
		if a, b := addresses(got.Already), tc.previous; !slices.Equal(a, b) {
			t.Errorf("%s: already queued %v, want %v", tc.name, a, b)
		}
	}
	// Work them all; then the same pairs are new jobs.
	var ran atomic.Int32
	w, err := q.Start(ctx, WorkerConfig{ID: "w1", Concurrency: 2, PollInterval: 100 * time.Millisecond}, func(context.Context, int64, int, Job) error {
		ran.Add(1)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "every job completed", func() bool {
		for _, s := range jobStates(t, q) {
			if s.State != rivertype.JobStateCompleted {
				return false
			}
		}
		return true
	})
	if err := w.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if ran.Load() != 4 {
		t.Errorf("%d runs for 4 jobs", ran.Load())
	}
	got, err := q.Enqueue(ctx, []Job{job("ann"), job("bob")})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Queued) != 2 || len(got.Already) != 0 {
		t.Errorf("after completion: queued %v, already %v; want both queued again", addresses(got.Queued), addresses(got.Already))
	}
}

// A job whose mailbox lease another owner holds is snoozed (no attempt
// spent, no error recorded) and runs once the lease is released.
func TestSnoozeWhileLeaseHeld(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	// The state first, as the commands do: pgstore refuses a database that
	// holds other tables and not its own.
	store, err := pgstore.Open(ctx, url, secret.Secret{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	q := openQueue(t, url)
	j := job("ann")
	rec, err := store.Job(ctx, engine.JobKey{SourceAddress: j.Address, SourceLocation: "onprem", TargetAddress: j.Target, TargetLocation: "cloud"})
	if err != nil {
		t.Fatal(err)
	}
	other := engine.Owner{Token: "other", Host: "elsewhere", PID: 1, Since: time.Now()}
	held, err := store.AcquireLease(ctx, rec.ID, other, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.Enqueue(ctx, []Job{j}); err != nil {
		t.Fatal(err)
	}
	me := engine.NewOwner()
	var tries, copies atomic.Int32
	w, err := q.Start(ctx, WorkerConfig{ID: "w1", Concurrency: 1, Snooze: 300 * time.Millisecond, PollInterval: 100 * time.Millisecond},
		func(ctx context.Context, _ int64, _ int, _ Job) error {
			tries.Add(1)
			lease, err := store.AcquireLease(ctx, rec.ID, me, time.Minute)
			if err != nil {
				return fmt.Errorf("copying: %w", err)
			}
			copies.Add(1)
			return store.ReleaseLease(ctx, lease)
		})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop(ctx)
	waitFor(t, 20*time.Second, "the job snoozed twice", func() bool { return jobStates(t, q)[j.Address].Snoozes >= 2 })
	s := jobStates(t, q)[j.Address]
	if s.State == rivertype.JobStateCompleted || copies.Load() != 0 {
		t.Fatalf("the job ran while another owner held its mailbox: %+v", s)
	}
	if len(s.Errors) != 0 || s.State == rivertype.JobStateRetryable || s.State == rivertype.JobStateDiscarded {
		t.Errorf("a held lease failed the job: state %s, errors %v", s.State, s.Errors)
	}
	if err := store.ReleaseLease(ctx, held); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "the job completed after the lease was released", func() bool {
		return jobStates(t, q)[j.Address].State == rivertype.JobStateCompleted
	})
	if copies.Load() != 1 {
		t.Errorf("%d copies, want 1 (after %d tries)", copies.Load(), tries.Load())
	}
}

// A job a killed worker left "running" is rescued by River after
// RescueAfter and finished by another worker.
func TestRescueJobLeftRunning(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	q := openQueue(t, url)
	if _, err := q.Enqueue(ctx, []Job{job("ann")}); err != nil {
		t.Fatal(err)
	}
	// What a worker killed with kill -9 mid-pass leaves: running, attempted
	// a while ago by a client that is gone.
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	tag, err := conn.Exec(ctx, `UPDATE river_job SET state = 'running', attempt = 1, attempted_at = now() - interval '10 seconds',
		attempted_by = ARRAY['killed-worker'] WHERE kind = $1`, Kind)
	if err != nil || tag.RowsAffected() != 1 {
		t.Fatalf("marking the job running: %v (%d rows)", err, tag.RowsAffected())
	}
	var ran atomic.Int32
	w, err := q.Start(ctx, WorkerConfig{ID: "w2", Concurrency: 1, RescueAfter: 2 * time.Second, PollInterval: 100 * time.Millisecond},
		func(context.Context, int64, int, Job) error {
			ran.Add(1)
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop(ctx)
	// Rescued as retryable, then River's backoff (about a second for a
	// first attempt) before w2 takes it.
	waitFor(t, 40*time.Second, "the stuck job completed", func() bool {
		return jobStates(t, q)["ann@contoso.com"].State == rivertype.JobStateCompleted
	})
	s := jobStates(t, q)["ann@contoso.com"]
	if ran.Load() != 1 || !slices.Equal(s.Attempts, []string{"killed-worker", "w2"}) {
		t.Errorf("ran %d time(s), attempted by %v; want once, by killed-worker then w2", ran.Load(), s.Attempts)
	}
}

// A running pass cancelled because the worker stops is put back at once
// without spending an attempt.
func TestStopPutsRunningJobBack(t *testing.T) {
	ctx := context.Background()
	q := openQueue(t, pgtest.NewDatabase(t))
	if _, err := q.Enqueue(ctx, []Job{job("ann")}); err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	w, err := q.Start(ctx, WorkerConfig{ID: "w1", Concurrency: 1, Grace: 200 * time.Millisecond, PollInterval: 100 * time.Millisecond},
		func(ctx context.Context, _ int64, _ int, _ Job) error {
			close(started)
			<-ctx.Done()
			return fmt.Errorf("pass interrupted: %w", ctx.Err())
		})
	if err != nil {
		t.Fatal(err)
	}
	<-started
	t0 := time.Now()
	if err := w.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(t0); d > 5*time.Second {
		t.Errorf("stop took %s with a grace of 200ms", d)
	}
	s := jobStates(t, q)["ann@contoso.com"]
	if s.State != rivertype.JobStateAvailable && s.State != rivertype.JobStateScheduled {
		t.Errorf("after stop: job %s, want available or scheduled", s.State)
	}
	if len(s.Errors) != 0 {
		t.Errorf("a stop recorded errors: %v", s.Errors)
	}
}

// A pass longer than RescueAfter keeps its job's attempted_at recent (the
// heartbeat), so River's rescuer, which takes only jobs attempted longer
// ago than RescueAfter, leaves a live worker's job alone.
func TestHeartbeatKeepsLongPassFromRescue(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	q := openQueue(t, url)
	if _, err := q.Enqueue(ctx, []Job{job("ann")}); err != nil {
		t.Fatal(err)
	}
	started, release := make(chan struct{}), make(chan struct{})
	rescueAfter := time.Second
	w, err := q.Start(ctx, WorkerConfig{ID: "w1", Concurrency: 1, RescueAfter: rescueAfter, PollInterval: 100 * time.Millisecond},
		func(ctx context.Context, _ int64, _ int, _ Job) error {
			close(started)
			select {
			case <-release:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop(ctx)
	<-started
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for range 3 {
		time.Sleep(rescueAfter)
		var age time.Duration
		var state string
		if err := conn.QueryRow(ctx, `SELECT state, now() - attempted_at FROM river_job`).Scan(&state, &age); err != nil {
			t.Fatal(err)
		}
		if state != "running" || age >= rescueAfter {
			t.Fatalf("a live pass's job: %s, attempted %s ago (rescue after %s)", state, age, rescueAfter)
		}
	}
	close(release)
	waitFor(t, 10*time.Second, "the job completed", func() bool {
		return jobStates(t, q)["ann@contoso.com"].State == rivertype.JobStateCompleted
	})
	if s := jobStates(t, q)["ann@contoso.com"]; len(s.Errors) != 0 || len(s.Attempts) != 1 {
		t.Errorf("errors %v, attempted by %v: want one attempt, no error", s.Errors, s.Attempts)
	}
}
