package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/exmigrate/exmigrate/engine"
	"github.com/exmigrate/exmigrate/internal/audit"
	"github.com/exmigrate/exmigrate/internal/lab"
	"github.com/exmigrate/exmigrate/internal/secret"
	"github.com/exmigrate/exmigrate/internal/state/pgstore"
	"github.com/exmigrate/exmigrate/internal/state/pgstore/pgtest"
)

// workerFleet is a wave queued with copy --enqueue in a PostgreSQL state
// and the exmigrate worker processes copying it.
type workerFleet struct {
	t       testing.TB
	bin     string
	cfg     string // the config: the lab's, through the Graph tap, state.url set
	dbURL   string
	dir     string
	workers []*workerProc
}

type workerProc struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited; then err
	err  error
	log  string
}

// pgConfig writes a copy of config at path with state.url in place of
// state.path, and without the lab's audit_log: the workers' audit goes to
// the state database's table, one trail for all of them.
func pgConfig(t testing.TB, config, path, dbURL string) {
	t.Helper()
	data, err := os.ReadFile(config)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(data), "state:\n  path: state.db\n", "state:\n  url: "+strconv.Quote(dbURL)+"\n", 1)
	if s == string(data) {
		t.Fatalf("%s: no state.path to replace", config)
	}
	without := regexp.MustCompile(`(?m)^audit_log: .*\n`).ReplaceAllString(s, "")
	if without == s {
		t.Fatalf("%s: no audit_log to remove", config)
	}
	s = without
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

func (f *workerFleet) start(i int, extra ...string) *workerProc {
	f.t.Helper()
	w := &workerProc{log: filepath.Join(f.dir, fmt.Sprintf("worker-%d.log", i))}
	out, err := os.Create(w.log)
	if err != nil {
		f.t.Fatal(err)
	}
	args := append([]string{"worker", "--config", f.cfg, "--log-format", "json"}, extra...)
	w.cmd = exec.Command(f.bin, args...)
	w.cmd.Stdout, w.cmd.Stderr = out, out
	if err := w.cmd.Start(); err != nil {
		f.t.Fatal(err)
	}
	w.done = make(chan struct{})
	go func() { w.err = w.cmd.Wait(); out.Close(); close(w.done) }()
	f.workers = append(f.workers, w)
	f.t.Cleanup(func() {
		select {
		case <-w.done:
		default:
			_ = w.cmd.Process.Kill()
			<-w.done
		}
	})
	return w
}

// stop sends SIGTERM and expects exit 0.
func (w *workerProc) stop(t testing.TB) {
	t.Helper()
	if err := w.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-w.done:
		if w.err != nil {
			data, _ := os.ReadFile(w.log)
			t.Errorf("worker %d after SIGTERM: %v\n%s", w.cmd.Process.Pid, w.err, tail(string(data)))
		}
	case <-time.After(30 * time.Second):
		t.Errorf("worker %d did not stop within 30 s of SIGTERM", w.cmd.Process.Pid)
	}
}

// auditEntries reads the state database's audit table through the
// command, in its order, as an operator would.
func auditEntries(t testing.TB, cfg string) []audit.Entry {
	t.Helper()
	code, out, errOut := runBinary(t, "audit", "export", "--config", cfg)
	if code != 0 {
		t.Fatalf("audit export: exit %d\n%s", code, errOut)
	}
	var entries []audit.Entry
	if err := audit.Read(strings.NewReader(out), func(e audit.Entry) error {
		entries = append(entries, e)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return entries
}

// okCreatesBy counts the item creates with outcome ok that the worker
// process pid recorded in the audit table.
func okCreatesBy(t testing.TB, conn *pgx.Conn, pid int) int {
	t.Helper()
	var n int
	err := conn.QueryRow(context.Background(), `SELECT count(*) FROM audit_entries WHERE pid = $1 AND action = $2 AND outcome = $3`,
		pid, audit.ActionItemCreate, audit.OutcomeOK).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// riverJobs counts the queue's jobs: all, and completed.
func riverJobs(t testing.TB, conn *pgx.Conn) (all, completed int) {
	t.Helper()
	err := conn.QueryRow(context.Background(), `SELECT count(*), count(*) FILTER (WHERE state = 'completed') FROM river_job`).Scan(&all, &completed)
	if err != nil {
		t.Fatal(err)
	}
	return all, completed
}

func manyScenario(n, inbox, sent int) string {
	var sc strings.Builder
	sc.WriteString("domain: contoso.com\ncloud_domain: contoso.onmicrosoft.com\nseed: 11\nmailboxes:\n")
	for i := range n {
		fmt.Fprintf(&sc, "  - address: user%03d@contoso.com\n    location: onprem\n    folders: {Inbox: %d, Sent Items: %d}\n", i, inbox, sent)
	}
	return sc.String()
}

// TestWorkersKilledOneFinishes: 60 mailboxes queued with copy --enqueue
// in a PostgreSQL state, three worker processes, the queue's leader
// killed with kill -9 after it copied items; the other two finish every
// job. Then, through the fakes' own listings, every target holds its
// source's items exactly once (0 lost, 0 duplicated), and the audit
// lines of item creates, summed over the workers' files, equal the
// creates the Graph fake answered (counted by a proxy in front of it).
func TestWorkersKilledOneFinishes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command and runs four processes")
	}
	dbURL := pgtest.NewDatabase(t)
	bin := exmigrateBinary(t)
	const mailboxes, inbox, sent = 60, 30, 10
	e := startLab(t, mustScenario(t, manyScenario(mailboxes, inbox, sent)), lab.Options{Latency: 4 * time.Millisecond})
	tap := startGraphTap(t, e)
	f := &workerFleet{t: t, bin: bin, dbURL: dbURL, dir: t.TempDir(), cfg: filepath.Join(e.lab.Dir, "workers.yaml")}
	pgConfig(t, tap.configPath, f.cfg, dbURL)

	code, out, errOut := runBinary(t, "copy", "--enqueue", "--config", f.cfg, "--mailboxes", e.lab.CopyCSV, "--stores", "primary")
	if code != 0 || !strings.Contains(out, fmt.Sprintf("%d mailbox(es) queued, 0 already", mailboxes)) {
		t.Fatalf("copy --enqueue: exit %d\n%s\n%s", code, out, errOut)
	}
	// Again: nothing new.
	code, out, errOut = runBinary(t, "copy", "--enqueue", "--config", f.cfg, "--mailboxes", e.lab.CopyCSV, "--stores", "primary")
	if code != 0 || !strings.Contains(out, fmt.Sprintf("0 mailbox(es) queued, %d already", mailboxes)) {
		t.Fatalf("copy --enqueue again: exit %d\n%s\n%s", code, out, errOut)
	}

	t0 := time.Now()
	for i := range 3 {
		f.start(i, "--concurrency", "4", "--queue-timeout", "3s", "--grace", "5s")
	}
	conn, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())

	// The victim is the queue's leader (River's maintenance, the rescuer
	// included, runs there: its death must move that too), once it has
	// copied some items.
	var victim *workerProc
	deadline := time.Now().Add(30 * time.Second)
	for victim == nil && time.Now().Before(deadline) {
		var leader string
		_ = conn.QueryRow(context.Background(), `SELECT leader_id FROM river_leader`).Scan(&leader)
		for _, w := range f.workers {
			if strings.Contains(leader, fmt.Sprintf("-%d-", w.cmd.Process.Pid)) && okCreatesBy(t, conn, w.cmd.Process.Pid) >= 40 {
				victim = w
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if victim == nil {
		t.Fatal("no leader copied 40 items within 30 s")
	}
	if _, done := riverJobs(t, conn); done >= mailboxes-6 {
		t.Fatalf("%d of %d jobs were done before the kill: make the lab slower", done, mailboxes)
	}
	if err := victim.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-victim.done
	t.Logf("killed the leader (pid %d) after %s, when it had written %d items", victim.cmd.Process.Pid, time.Since(t0).Round(time.Millisecond), okCreatesBy(t, conn, victim.cmd.Process.Pid))

	deadline = time.Now().Add(75 * time.Second)
	for {
		all, done := riverJobs(t, conn)
		if all == mailboxes && done == mailboxes {
			break
		}
		if time.Now().After(deadline) {
			rows, _ := conn.Query(context.Background(), `SELECT id, state, attempt, args->>'address', errors::text FROM river_job WHERE state <> 'completed' ORDER BY id`)
			var left []string
			for rows.Next() {
				var id int64
				var st, addr string
				var attempt int
				var errs *string
				_ = rows.Scan(&id, &st, &attempt, &addr, &errs)
				left = append(left, fmt.Sprintf("%d %s %s attempt %d errors %v", id, addr, st, attempt, errs))
			}
			rows.Close()
			t.Fatalf("after 75 s: %d of %d jobs completed; left:\n%s", done, all, strings.Join(left, "\n"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	took := time.Since(t0)
	// The victim's running jobs were rescued by River and finished by
	// another worker.
	var rescued int
	err = conn.QueryRow(context.Background(), `SELECT count(*) FROM river_job WHERE array_length(attempted_by, 1) >= 2
		AND attempted_by[1] LIKE $1 AND attempted_by[array_length(attempted_by, 1)] NOT LIKE $1`,
		fmt.Sprintf("%%-%d-%%", victim.cmd.Process.Pid)).Scan(&rescued)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d job(s) the killed worker was copying were finished by another worker", rescued)
	if rescued == 0 {
		t.Error("no job of the killed worker was finished by another: nothing was rescued")
	}
	for _, w := range f.workers {
		if w != victim {
			w.stop(t)
		}
	}
	tap.wait()
	t.Logf("60 mailboxes done in %s", took.Round(time.Millisecond))

	// The state: every job done, nothing pending.
	store, err := pgstore.Open(context.Background(), dbURL, secret.Secret{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	jobs, err := store.Jobs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var copied int64
	for _, j := range jobs {
		c, err := store.Counts(context.Background(), j.ID)
		if err != nil {
			t.Fatal(err)
		}
		if j.Status != engine.JobDone || c.Pending != 0 || c.Skipped != 0 {
			t.Errorf("%s: state %s, %d pending, %d skipped", j.Key.SourceAddress, j.Status, c.Pending, c.Skipped)
		}
		copied += c.Copied
	}
	want := mailboxes * (inbox + sent)
	if len(jobs) != mailboxes || copied != int64(want) {
		t.Errorf("the state holds %d jobs and %d items copied, want %d and %d", len(jobs), copied, mailboxes, want)
	}

	// The fakes' own listings: each target folder holds its source's items,
	// each once.
	lost, dups, items := 0, 0, 0
	for i := range mailboxes {
		src := fmt.Sprintf("user%03d@contoso.com", i)
		dst := fmt.Sprintf("user%03d@contoso.onmicrosoft.com", i)
		for _, path := range []string{"Inbox", "Sent Items"} {
			sv, dv := e.ewsView(t, src, path), e.graphView(t, dst, path)
			compareFolder(t, src+" "+path, sv, dv)
			items += sv.n
			for k, n := range sv.keys {
				lost += max(n-dv.keys[k], 0)
			}
			for k, n := range dv.keys {
				dups += max(n-sv.keys[k], 0)
			}
		}
	}
	if items != want || lost != 0 || dups != 0 {
		t.Errorf("%d source items compared (want %d): %d lost, %d duplicated", items, want, lost, dups)
	}

	// The audit: one trail in the state database for the three workers.
	// Every create the Graph fake answered has its ok line, once: a create
	// the killed worker sent and never recorded is confirmed by the worker
	// that finished its job (it sees the started line in the shared
	// table), and a create it recorded ok before the state knew it is
	// adopted by stamp, with no second create line. Every write started
	// has its outcome (audit verify).
	okBy := map[string]int{}
	var adopted []audit.Entry
	confirmed := 0
	for _, e := range auditEntries(t, f.cfg) {
		switch {
		case e.Action == audit.ActionItemCreate && e.Outcome == audit.OutcomeOK:
			okBy[e.SourceID]++
			if e.Note != "" {
				confirmed++
			}
		case e.Action == audit.ActionItemAdopt && e.Outcome == audit.OutcomeOK:
			adopted = append(adopted, e)
		}
	}
	audited := 0
	for sid, n := range okBy {
		audited += n
		if n > 1 {
			t.Errorf("item %s: %d ok creates on record", sid, n)
		}
	}
	for _, e := range adopted {
		if okBy[e.SourceID] != 1 {
			t.Errorf("%s: item %s adopted, but no create of it is on record", e.Mailbox, e.SourceID)
		}
	}
	tap.mu.Lock()
	created := len(tap.messages)
	tap.mu.Unlock()
	t.Logf("audit: %d item creates ok (%d confirmed by another worker), %d adoptions of creates on record; the Graph fake answered %d creates",
		audited, confirmed, len(adopted), created)
	if audited != created || created != want {
		t.Errorf("audit: %d item creates ok in the table; the Graph fake answered %d message creates; the sources hold %d", audited, created, want)
	}
	if code, out, errOut := runBinary(t, "audit", "verify", "--config", f.cfg); code != 0 {
		t.Errorf("audit verify: exit %d\n%s%s", code, out, errOut)
	}
}
