package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/exmigrate/exmigrate/engine"
	"github.com/exmigrate/exmigrate/internal/lab"
	"github.com/exmigrate/exmigrate/internal/secret"
	"github.com/exmigrate/exmigrate/internal/state/pgstore"
	"github.com/exmigrate/exmigrate/internal/state/pgstore/pgtest"
)

// The queue lives in a PostgreSQL state: with a state file both commands
// refuse (exit 2) and say what to set; flags that mean nothing for a queue
// are refused with --enqueue.
func TestEnqueueAndWorkerRefusals(t *testing.T) {
	l, _ := startSmallLab(t, lab.Options{})
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"enqueue with a state file", []string{"copy", "--enqueue", "--config", l.ConfigPath, "--mailboxes", l.CopyCSV}, "set state.url"},
		{"worker with a state file", []string{"worker", "--config", l.ConfigPath}, "set state.url"},
		{"enqueue a dry run", []string{"copy", "--enqueue", "--dry-run", "--config", l.ConfigPath, "--mailboxes", l.CopyCSV}, "--dry-run does not go with --enqueue"},
		{"enqueue with --state", []string{"copy", "--enqueue", "--state", "x.db", "--config", l.ConfigPath, "--mailboxes", l.CopyCSV}, "--state does not go with --enqueue"},
		{"enqueue with --parallel", []string{"copy", "--enqueue", "--parallel", "4", "--config", l.ConfigPath, "--mailboxes", l.CopyCSV}, "--concurrency"},
		{"worker with a queue timeout out of range", []string{"worker", "--config", l.ConfigPath, "--queue-timeout", "10ms"}, "out of range"},
		{"worker with an argument", []string{"worker", "--config", l.ConfigPath, "now"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := run(t, tt.args...)
			if code != ExitUsage || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, want %d, with %q in:\n%s", code, ExitUsage, tt.want, stderr)
			}
		})
	}
}

// syncBuffer is a bytes.Buffer safe for a command writing while the test
// reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// copy --enqueue queues the list once (a second run finds it queued); a
// worker copies it, logs each job's start and end, and stops with exit 0
// when its context ends (SIGINT or SIGTERM in main).
func TestEnqueueThenWorker(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	l, _ := startSmallLab(t, lab.Options{})
	cfg := withStateURL(t, l, l.Dir, dbURL)
	code, out, stderr := run(t, "copy", "--enqueue", "--config", cfg, "--mailboxes", l.CopyCSV)
	if code != ExitOK || !strings.Contains(out, "alex@fabrikam.com") || !strings.Contains(out, "1 mailbox(es) queued, 0 already") {
		t.Fatalf("copy --enqueue: exit %d\n%s\n%s", code, out, stderr)
	}
	code, out, stderr = run(t, "copy", "--enqueue", "--config", cfg, "--mailboxes", l.CopyCSV)
	if code != ExitOK || !strings.Contains(out, "already queued") || !strings.Contains(out, "0 mailbox(es) queued, 1 already") {
		t.Fatalf("copy --enqueue again: exit %d\n%s\n%s", code, out, stderr)
	}

	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var wout, werr syncBuffer
	exited := make(chan int, 1)
	auditPath := filepath.Join(t.TempDir(), "audit-w1.jsonl")
	go func() {
		exited <- Main(ctx, []string{"worker", "--config", cfg, "--concurrency", "2", "--audit-log", auditPath}, Streams{In: strings.NewReader(""), Out: &wout, Err: &werr})
	}()
	conn, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	deadline := time.Now().Add(60 * time.Second)
	for {
		var state string
		_ = conn.QueryRow(context.Background(), `SELECT state FROM river_job`).Scan(&state)
		if state == "completed" {
			break
		}
		select {
		case code := <-exited:
			t.Fatalf("the worker exited (%d) before its job was done:\n%s", code, werr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the job is %q after 60 s:\n%s", state, werr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	select {
	case code := <-exited:
		if code != ExitOK {
			t.Errorf("worker stopped: exit %d, want 0\n%s", code, werr.String())
		}
	case <-time.After(40 * time.Second):
		t.Fatal("the worker did not stop within 40 s")
	}
	logs := werr.String()
	for _, want := range []string{"worker started", "mailbox started", "mailbox finished", "mailbox=alex@fabrikam.com", "job=", "worker stopped"} {
		if !strings.Contains(logs, want) {
			t.Errorf("the worker's log has no %q:\n%s", want, logs)
		}
	}
	if data, err := os.ReadFile(auditPath); err != nil || !bytes.Contains(data, []byte(`"item.create"`)) {
		t.Errorf("the worker's audit log %s has no item create (%v)", auditPath, err)
	}
	// --only selects from the shared state: the mailbox's pass ended
	// clean, so nothing is not started or failed, and it is done.
	code, out, stderr = run(t, "copy", "--enqueue", "--only", "not-started,failed", "--config", cfg, "--mailboxes", l.CopyCSV)
	if code != ExitOK || strings.Contains(out, "queued") {
		t.Errorf("copy --enqueue --only not-started,failed after the copy: exit %d, want nothing queued\n%s\n%s", code, out, stderr)
	}
	// The state: the copy is there for status and report.
	code, out, stderr = run(t, "copy", "--enqueue", "--only", "done", "--config", cfg, "--mailboxes", l.CopyCSV)
	if code != ExitOK || !strings.Contains(out, "1 mailbox(es) queued, 0 already") {
		t.Errorf("copy --enqueue after the job completed: exit %d, want it queued for its next pass\n%s\n%s", code, out, stderr)
	}
}

// A worker stopped mid-pass (SIGINT or SIGTERM in main) with no grace
// cancels the pass, exits 0 and leaves the job in the queue without an
// error or a spent attempt; the next worker finishes it.
func TestWorkerStoppedMidPassLeavesItQueued(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	l, _ := startSmallLab(t, lab.Options{Latency: 30 * time.Millisecond})
	cfg := withStateURL(t, l, l.Dir, dbURL)
	if code, out, stderr := run(t, "copy", "--enqueue", "--config", cfg, "--mailboxes", l.CopyCSV); code != ExitOK {
		t.Fatalf("copy --enqueue: exit %d\n%s\n%s", code, out, stderr)
	}
	conn, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	auditPath := filepath.Join(t.TempDir(), "audit.jsonl")
	worker := func(stopWhen func(logs string) bool) (code int, logs string) {
		ctx, stop := context.WithCancel(context.Background())
		defer stop()
		var wout, werr syncBuffer
		exited := make(chan int, 1)
		go func() {
			exited <- Main(ctx, []string{"worker", "--config", cfg, "--grace", "0s", "--audit-log", auditPath},
				Streams{In: strings.NewReader(""), Out: &wout, Err: &werr})
		}()
		deadline := time.Now().Add(60 * time.Second)
		for !stopWhen(werr.String()) {
			if time.Now().After(deadline) {
				t.Fatalf("after 60 s:\n%s", werr.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
		stop()
		select {
		case code = <-exited:
		case <-time.After(30 * time.Second):
			t.Fatal("the worker did not stop within 30 s")
		}
		return code, werr.String()
	}
	code, logs := worker(func(logs string) bool {
		return strings.Contains(logs, "mailbox started") && bytes.Contains(readFile(t, auditPath), []byte(`"outcome":"ok"`))
	})
	if code != ExitOK || strings.Contains(logs, "mailbox finished") {
		t.Fatalf("stopped mid-pass: exit %d (want 0), the pass finished: %v\n%s", code, strings.Contains(logs, "mailbox finished"), logs)
	}
	var state string
	var attempt int
	var errs *string
	if err := conn.QueryRow(context.Background(), `SELECT state, attempt, errors::text FROM river_job`).Scan(&state, &attempt, &errs); err != nil {
		t.Fatal(err)
	}
	if (state != "available" && state != "scheduled") || errs != nil {
		t.Fatalf("after a stop mid-pass the job is %s (attempt %d, errors %v); want it queued again without an error", state, attempt, errs)
	}
	code, logs = worker(func(string) bool {
		var state string
		_ = conn.QueryRow(context.Background(), `SELECT state FROM river_job`).Scan(&state)
		return state == "completed"
	})
	if code != ExitOK || !strings.Contains(logs, "mailbox finished") {
		t.Fatalf("the second worker: exit %d\n%s", code, logs)
	}
	// Nothing lost, nothing written twice: the target folders, as the
	// Graph fake lists them, hold what the source's do; so does the state.
	fx := l.Graph.Mailbox("alex@fabrikam.onmicrosoft.com")
	if fx == nil {
		t.Fatal("no target mailbox in the Graph fake")
	}
	for path, want := range map[string]int{"Inbox": 30, "Sent Items": 10, "Inbox/Invoices": 5} {
		if got := len(fx.Messages(path)); got != want {
			t.Errorf("target %s holds %d messages, the source %d", path, got, want)
		}
	}
	store, err := pgstore.Open(context.Background(), dbURL, secret.Secret{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	jobs, err := store.Jobs(context.Background())
	if err != nil || len(jobs) != 1 {
		t.Fatalf("state jobs: %v, %v", jobs, err)
	}
	c, err := store.Counts(context.Background(), jobs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if jobs[0].Status != engine.JobDone || c.Copied != 45 || c.Pending != 0 {
		t.Errorf("state: job %s, %d copied, %d pending; want done, 45, 0", jobs[0].Status, c.Copied, c.Pending)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return data
}
