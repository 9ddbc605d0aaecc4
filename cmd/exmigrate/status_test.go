package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/engine"
	"github.com/exmigrate/exmigrate/internal/lab"
	"github.com/exmigrate/exmigrate/internal/state"
	"github.com/exmigrate/exmigrate/internal/wavestatus"
)

// statusFixture writes a state file: ann completed, bob partial, cat
// failed, dan never started; and a list of them in two batches.
func statusFixture(t *testing.T) (statePath, listPath string) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	statePath = filepath.Join(dir, "state.db")
	s, err := state.Open(ctx, statePath)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	old := time.Now().Add(-40 * 24 * time.Hour)
	for _, j := range []struct {
		addr, status string
		at           time.Time
	}{
		{"ann@contoso.com", engine.JobDone, old},
		{"bob@contoso.com", engine.JobPartial, time.Now().Add(-time.Hour)},
		{"cat@contoso.com", engine.JobFailed, old},
	} {
		rec, err := s.Job(ctx, engine.JobKey{SourceAddress: j.addr, SourceLocation: "onprem", TargetAddress: j.addr, TargetLocation: "cloud"})
		if err != nil {
			t.Fatal(err)
		}
		rec.Status, rec.Passes, rec.LastStart, rec.LastEnd = j.status, 1, j.at, j.at.Add(time.Minute)
		if j.status == engine.JobFailed {
			rec.LastError = "EWS: ErrorServerBusy"
		}
		if err := s.PutJob(ctx, rec); err != nil {
			t.Fatal(err)
		}
		if err := s.PutItem(ctx, engine.ItemRecord{JobID: rec.ID, SourceID: "1", SourceFolderID: "inbox", Outcome: engine.ItemCopied, TargetItemID: "t1", SizeBytes: 100}); err != nil {
			t.Fatal(err)
		}
	}
	listPath = filepath.Join(dir, "wave.csv")
	list := "EmailAddress,Batch\nann@contoso.com,Wave 1\nbob@contoso.com,Wave 1\ncat@contoso.com,Wave 2\ndan@contoso.com,Wave 2\n"
	if err := os.WriteFile(listPath, []byte(list), 0o600); err != nil {
		t.Fatal(err)
	}
	return statePath, listPath
}

func statusJSON(t *testing.T, args ...string) *wavestatus.Wave {
	t.Helper()
	code, out, errOut := run(t, append([]string{"status", "-o", "json"}, args...)...)
	if code != ExitOK {
		t.Fatalf("status %v: exit %d: %s", args, code, errOut)
	}
	var w wavestatus.Wave
	if err := json.Unmarshal([]byte(out), &w); err != nil {
		t.Fatalf("status -o json: %v\n%s", err, out)
	}
	return &w
}

func mailboxes(w *wavestatus.Wave) string {
	var out []string
	for _, j := range w.Jobs {
		out = append(out, strings.TrimSuffix(j.Mailbox, "@contoso.com")+"="+string(j.State))
	}
	return strings.Join(out, " ")
}

func TestStatusCommand(t *testing.T) {
	statePath, list := statusFixture(t)
	tests := []struct {
		args []string
		want string
	}{
		{nil, "ann=done bob=partial cat=failed"},
		{[]string{"--mailboxes", list}, "ann=done bob=partial cat=failed dan=not-started"},
		{[]string{"--only", "failed,partial"}, "bob=partial cat=failed"},
		{[]string{"--mailboxes", list, "--batch", "Wave 2"}, "cat=failed dan=not-started"},
		{[]string{"--mailboxes", list, "--batch", "Wave 2", "--only", "not-started"}, "dan=not-started"},
		{[]string{"--mailbox", "BOB@contoso.com", "--mailbox", "ann@contoso.com"}, "ann=done bob=partial"},
		{[]string{"--only", "running"}, ""},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			w := statusJSON(t, append([]string{"--state", statePath}, tt.args...)...)
			if got := mailboxes(w); got != tt.want {
				t.Errorf("rows %q, want %q", got, tt.want)
			}
		})
	}
	code, out, _ := run(t, "status", "--state", statePath)
	if code != ExitOK || !strings.Contains(out, "MAILBOX") || !strings.Contains(out, "EWS: ErrorServerBusy") || !strings.Contains(out, "1 failed, 1 partial, 1 done") {
		t.Errorf("table: exit %d\n%s", code, out)
	}
	code, out, _ = run(t, "status", "--state", statePath, "-o", "csv")
	if code != ExitOK || !strings.HasPrefix(out, "mailbox,source_location,target") || strings.Count(out, "\n") != 4 {
		t.Errorf("csv: exit %d\n%s", code, out)
	}
}

func TestStatusBadInput(t *testing.T) {
	statePath, list := statusFixture(t)
	missing := filepath.Join(t.TempDir(), "nope.db")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no state", []string{"status"}, "no state file: give --state, or --config"},
		{"missing state", []string{"status", "--state", missing}, "the state file " + missing + " does not exist"},
		{"unknown only", []string{"status", "--state", statePath, "--only", "broken"}, `--only "broken": unknown state: use not-started, running`},
		{"unknown format", []string{"status", "--state", statePath, "-o", "yaml"}, `-o "yaml": unknown output format`},
		{"mailbox not in the state", []string{"status", "--state", statePath, "--mailbox", "zed@contoso.com"}, "--mailbox zed@contoso.com: not in the state file"},
		{"mailbox not in the list", []string{"status", "--state", statePath, "--mailboxes", list, "--mailbox", "zed@contoso.com"}, "--mailbox zed@contoso.com: not in " + list},
		{"batch without list", []string{"status", "--state", statePath, "--batch", "Wave 1"}, "--batch needs --mailboxes"},
		{"batch nobody has", []string{"status", "--state", statePath, "--mailboxes", list, "--batch", "Wave 7"}, `--batch "Wave 7": no mailbox of ` + list + ` is in this batch; its batches are "Wave 1", "Wave 2"`},
		{"prune without kind", []string{"state", "prune", "--state", statePath, "--older-than", "30d"}, "say which jobs to remove"},
		{"prune without age", []string{"state", "prune", "--state", statePath, "--completed"}, "--older-than is required"},
		{"prune bad age", []string{"state", "prune", "--state", statePath, "--completed", "--older-than", "30"}, `--older-than "30": give an age like 30d`},
		{"prune missing state", []string{"state", "prune", "--state", missing, "--completed", "--older-than", "1d", "--yes"}, "does not exist"},
		{"serve bad listen", []string{"serve", "--state", statePath, "--listen", "8080"}, `--listen "8080": give host:port`},
		{"serve missing state", []string{"serve", "--state", missing, "--listen", "127.0.0.1:0"}, "does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errOut := run(t, tt.args...)
			if code != ExitUsage || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, errOut, ExitUsage, tt.want)
			}
		})
	}
	if _, err := os.Stat(missing); err == nil {
		t.Error("a command created the missing state file")
	}
}

func TestStatePrune(t *testing.T) {
	statePath, _ := statusFixture(t)
	// A dry run lists and removes nothing.
	code, out, errOut := run(t, "state", "prune", "--state", statePath, "--completed", "--abandoned", "--older-than", "30d")
	if code != ExitOK || !strings.Contains(out, "ann@contoso.com") || !strings.Contains(out, "cat@contoso.com") || strings.Contains(out, "bob@contoso.com") ||
		!strings.Contains(out, "would remove 2 job(s)") || !strings.Contains(out, "run again with --yes") {
		t.Fatalf("dry run: exit %d\n%s%s", code, out, errOut)
	}
	if got := mailboxes(statusJSON(t, "--state", statePath)); got != "ann=done bob=partial cat=failed" {
		t.Fatalf("after the dry run: %s", got)
	}
	code, out, errOut = run(t, "state", "prune", "--state", statePath, "--completed", "--older-than", "30d", "--yes")
	if code != ExitOK || !strings.Contains(out, "removed 1 job(s)") || !strings.Contains(out, "ann@contoso.com") {
		t.Fatalf("prune: exit %d\n%s%s", code, out, errOut)
	}
	if got := mailboxes(statusJSON(t, "--state", statePath)); got != "bob=partial cat=failed" {
		t.Fatalf("after prune: %s", got)
	}
}

// TestHelperStateWriter is not a test: TestStatusBesideAWriter runs it in
// a child process as a copy stand-in that holds a job's lease and writes
// items until its stdin closes.
func TestHelperStateWriter(t *testing.T) {
	path := os.Getenv("EXMIGRATE_TEST_STATE_WRITER")
	if path == "" {
		t.Skip("a helper process of TestStatusBesideAWriter")
	}
	ctx := context.Background()
	s, err := state.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rec, err := s.Job(ctx, engine.JobKey{SourceAddress: "dan@contoso.com", SourceLocation: "onprem", TargetAddress: "dan@contoso.com", TargetLocation: "cloud"})
	if err != nil {
		t.Fatal(err)
	}
	rec.Status, rec.LastStart = engine.JobRunning, time.Now()
	if err := s.PutJob(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AcquireLease(ctx, rec.ID, engine.NewOwner(), time.Minute); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	go func() { bufio.NewReader(os.Stdin).ReadString('\n'); close(stop) }()
	fmt.Println("writing")
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		if err := s.PutItem(ctx, engine.ItemRecord{JobID: rec.ID, SourceID: strconv.Itoa(i), SourceFolderID: "inbox",
			Outcome: engine.ItemCopied, TargetItemID: "t" + strconv.Itoa(i), SizeBytes: 10}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// startStateWriter runs TestHelperStateWriter as another process on the
// state file and returns it once it holds dan's lease and writes; the
// test's end stops it.
func startStateWriter(t *testing.T, ctx context.Context, statePath string) *exec.Cmd {
	t.Helper()
	// Stopped by closing its stdin in the cleanup, which runs after the
	// test's deferred cancel: a cancel would kill it instead.
	writer := exec.CommandContext(context.WithoutCancel(ctx), os.Args[0], "-test.run=^TestHelperStateWriter$")
	writer.Env = append(os.Environ(), "EXMIGRATE_TEST_STATE_WRITER="+statePath)
	stdin, err := writer.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := writer.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	writer.Stderr = os.Stderr
	if err := writer.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		if err := writer.Wait(); err != nil {
			t.Errorf("the writer process: %v", err)
		}
	})
	sc := bufio.NewScanner(stdout)
	if !sc.Scan() || sc.Text() != "writing" {
		t.Fatalf("the writer did not start: %q", sc.Text())
	}
	go func() {
		for sc.Scan() {
		}
	}()
	return writer
}

// TestStatusBesideAWriter runs status, in this process and as another,
// while a second process holds a job's lease and writes to the state: it
// reads without waiting or failing, names that process as the owner, and
// sees the count grow.
func TestStatusBesideAWriter(t *testing.T) {
	statePath, list := statusFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	writer := startStateWriter(t, ctx, statePath)
	var last int64
	for i := range 5 {
		w := statusJSON(t, "--state", statePath, "--mailboxes", list, "--only", "running")
		if len(w.Jobs) != 1 || w.Jobs[0].Mailbox != "dan@contoso.com" || w.Jobs[0].Owner == nil || w.Jobs[0].Owner.PID != writer.Process.Pid {
			t.Fatalf("read %d: %s, owner %+v; want dan running, owned by pid %d", i, mailboxes(w), w.Jobs, writer.Process.Pid)
		}
		if n := w.Jobs[0].ItemsCopied; n < last {
			t.Fatalf("copied went back from %d to %d", last, n)
		} else {
			last = n
		}
		time.Sleep(50 * time.Millisecond)
	}
	if last == 0 {
		t.Error("status saw none of the writer's items")
	}
	// The same from another process, as an engineer would run it.
	out, err := command(ctx, "status", "--state", statePath, "-o", "json", "--mailbox", "dan@contoso.com").Output()
	if err != nil {
		t.Fatalf("status as another process: %v", err)
	}
	var w wavestatus.Wave
	if err := json.Unmarshal(out, &w); err != nil || len(w.Jobs) != 1 || w.Jobs[0].State != "running" || w.Jobs[0].ItemsCopied < last {
		t.Fatalf("status as another process: %v\n%s", err, out)
	}
	// A prune beside it keeps the job the writer holds, even though it
	// matches (abandoned: not completed) and the age is tiny.
	code, pout, perr := run(t, "state", "prune", "--state", statePath, "--abandoned", "--older-than", "1m", "--yes")
	if code != ExitOK || strings.Contains(pout, "dan@contoso.com") {
		t.Fatalf("prune beside a copy: exit %d\n%s%s", code, pout, perr)
	}
}

// TestServeBesideAWriter runs serve as its own process while another
// process copies (holds a lease and writes): the page's JSON names the
// writer as the owner and its count grows between two reads, so the page
// follows a copy in another process.
func TestServeBesideAWriter(t *testing.T) {
	statePath, _ := statusFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	writer := startStateWriter(t, ctx, statePath)
	serve := command(context.WithoutCancel(ctx), "serve", "--state", statePath, "--listen", "127.0.0.1:0", "--refresh", "1s")
	stdout, err := serve.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	serve.Stderr = os.Stderr
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = serve.Process.Signal(syscall.SIGINT)
		if err := serve.Wait(); err != nil {
			t.Errorf("serve after SIGINT: %v (want a clean exit)", err)
		}
	}()
	sc := bufio.NewScanner(stdout)
	if !sc.Scan() {
		t.Fatal("serve printed nothing")
	}
	line := sc.Text()
	i := strings.Index(line, "http://")
	if i < 0 {
		t.Fatalf("serve said %q", line)
	}
	base := strings.TrimSuffix(strings.Fields(line[i:])[0], "/")
	read := func() wavestatus.Job {
		t.Helper()
		resp, err := http.Get(base + "/api/wave?mailbox=dan@contoso.com")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var w wavestatus.Wave
		if err := json.NewDecoder(resp.Body).Decode(&w); err != nil || len(w.Jobs) != 1 {
			t.Fatalf("GET /api/wave: %d %v %+v", resp.StatusCode, err, w)
		}
		return w.Jobs[0]
	}
	first := read()
	if first.State != "running" || first.Owner == nil || first.Owner.PID != writer.Process.Pid {
		t.Fatalf("dan on the page: %+v; want running, owned by pid %d", first, writer.Process.Pid)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		time.Sleep(1100 * time.Millisecond) // past the page's one read per second
		if n := read().ItemsCopied; n > first.ItemsCopied {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("the page still shows %d copied items, as %s ago", n, 20*time.Second)
		}
	}
}

// The report's skipped.csv lists the state's skipped items through
// skippedLister: the state file must keep answering it.
var _ skippedLister = (*state.SQLite)(nil)

// TestInterruptedWaveRetried: a copy runs as its own process against a slow
// lab; status, as another process, shows its jobs running and owned by it;
// the copy is killed (kill -9); status then shows the job it was on
// interrupted; `copy --only failed` retries just that; and serve's page
// shows the numbers status prints.
func TestInterruptedWaveRetried(t *testing.T) {
	if testing.Short() {
		t.Skip("copies mailboxes through a slow lab and kills a process")
	}
	l, dir := startEphemeralLab(t, lab.Options{Latency: 15 * time.Millisecond})
	wave, err := os.ReadFile(l.CopyCSV)
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, line := range strings.Split(string(wave), "\n") {
		if strings.HasPrefix(line, "EmailAddress") || strings.HasPrefix(line, "ann@") || strings.HasPrefix(line, "bob@") {
			rows = append(rows, line)
		}
	}
	list := filepath.Join(dir, "two.csv")
	if err := os.WriteFile(list, []byte(strings.Join(rows, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	statusOf := func() *wavestatus.Wave {
		t.Helper()
		out, err := command(ctx, "status", "--config", l.ConfigPath, "--mailboxes", list, "-o", "json").Output()
		if err != nil {
			t.Fatalf("status as another process: %v", err)
		}
		var w wavestatus.Wave
		if err := json.Unmarshal(out, &w); err != nil {
			t.Fatalf("status -o json: %v\n%s", err, out)
		}
		return &w
	}

	cp := command(ctx, "copy", "--config", l.ConfigPath, "--mailboxes", list, "--parallel", "1")
	cp.Stdout, cp.Stderr = io.Discard, io.Discard
	if err := cp.Start(); err != nil {
		t.Fatal(err)
	}
	var victim string
	for deadline := time.Now().Add(time.Minute); victim == ""; {
		if time.Now().After(deadline) {
			t.Fatal("status never showed the copy running with items copied")
		}
		if _, err := os.Stat(filepath.Join(dir, "state.db")); err != nil {
			time.Sleep(50 * time.Millisecond)
			continue // the copy has not made its state file yet
		}
		for _, j := range statusOf().Jobs {
			if j.State == "running" && j.ItemsCopied > 0 {
				if j.Owner == nil || j.Owner.PID != cp.Process.Pid {
					t.Fatalf("%s running, owner %+v; want pid %d", j.Mailbox, j.Owner, cp.Process.Pid)
				}
				victim = j.Mailbox
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := cp.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cp.Wait()
	states := map[string]wavestatus.Job{}
	for _, j := range statusOf().Jobs {
		states[j.Mailbox] = j
	}
	if s := states[victim].State; s != "interrupted" {
		t.Fatalf("after kill -9, %s is %s, want interrupted (its holder is gone)", victim, s)
	}

	code, out, errOut := run(t, "copy", "--config", l.ConfigPath, "--mailboxes", list, "--only", "failed")
	if code != ExitOK && code != ExitSkipped {
		t.Fatalf("copy --only failed: exit %d\n%s%s", code, out, errOut)
	}
	after := statusOf()
	for _, j := range after.Jobs {
		switch {
		case j.State != "done" && j.State != "partial" && j.State != "not-started":
			t.Errorf("after the retry %s is %s", j.Mailbox, j.State)
		case j.Mailbox == victim && j.Passes != 1:
			t.Errorf("%s: %d passes after the retry, want 1", victim, j.Passes)
		}
		if prev, ok := states[j.Mailbox]; ok && prev.State == "done" && j.Passes != prev.Passes {
			t.Errorf("%s was completed and was copied again by --only failed", j.Mailbox)
		}
	}

	// serve shows the numbers status printed.
	g, _ := testGlobals()
	sctx, stop := context.WithCancel(ctx)
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- serveRun(sctx, &serveOptions{g: g, StatePath: filepath.Join(dir, "state.db"), Mailboxes: list, Listen: "127.0.0.1:0",
			Refresh: time.Second, ready: func(a string) { addr <- a }})
	}()
	var base string
	select {
	case a := <-addr:
		base = "http://" + a
	case err := <-done:
		t.Fatalf("serve: %v", err)
	}
	resp, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	stop()
	<-done
	want := fmt.Sprintf(`<b id="t-items">%d</b>`, after.Totals.ItemsCopied)
	if !strings.Contains(string(page), want) {
		t.Errorf("the page lacks %s (what status printed)", want)
	}
}
