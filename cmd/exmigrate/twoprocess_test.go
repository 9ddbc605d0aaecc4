package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/internal/lab"
)

// TestMain lets the test binary act as the exmigrate command when
// EXMIGRATE_TEST_AS_MAIN is set, so tests can run it as separate processes.
func TestMain(m *testing.M) {
	if os.Getenv("EXMIGRATE_TEST_AS_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

func command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append(os.Environ(), "EXMIGRATE_TEST_AS_MAIN=1")
	return cmd
}

// startLabProcess runs `exmigrate lab` in dir as its own process and
// returns what it printed up to saying it runs, and stop, which sends
// SIGINT (the lab must stop cleanly) and returns what it printed after.
// The test's cleanup stops it when the test has not.
func startLabProcess(ctx context.Context, t *testing.T, dir, scenario string) (started string, stop func() string) {
	t.Helper()
	// Not killed when ctx ends (the test's deferred cancel runs before its
	// cleanup): stop sends SIGINT and must see the lab stop cleanly.
	labCmd := command(context.WithoutCancel(ctx), "lab", "--dir", dir, "--scenario", scenario)
	stdout, err := labCmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	labCmd.Stderr = os.Stderr
	if err := labCmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	var head strings.Builder
	ready := false
	for sc.Scan() {
		head.WriteString(sc.Text() + "\n")
		if strings.HasPrefix(sc.Text(), "Ctrl-C stops the lab") {
			ready = true
			break
		}
	}
	tail := make(chan string, 1)
	go func() { // keep draining so the lab never blocks on a full pipe
		var b strings.Builder
		for sc.Scan() {
			b.WriteString(sc.Text() + "\n")
		}
		tail <- b.String()
	}()
	var once sync.Once
	var after string
	stop = func() string {
		once.Do(func() {
			_ = labCmd.Process.Signal(syscall.SIGINT)
			// Its output ends when it exits; Wait only after the pipe is read.
			select {
			case after = <-tail:
			case <-time.After(10 * time.Second):
				_ = labCmd.Process.Kill()
				t.Error("lab did not stop within 10 s of SIGINT")
				<-tail
			}
			if err := labCmd.Wait(); err != nil {
				t.Errorf("lab did not stop cleanly on SIGINT: %v", err)
			}
		})
		return after
	}
	t.Cleanup(func() { stop() })
	if !ready {
		t.Fatalf("the lab never said it was running:\n%s", head.String())
	}
	return head.String(), stop
}

// TestLabInOneProcessCommandsInAnother runs `exmigrate lab` as one process
// and check, assess, copy and report as others, with the config the lab
// wrote: exactly what an engineer does with two terminals.
func TestLabInOneProcessCommandsInAnother(t *testing.T) {
	if testing.Short() {
		t.Skip("starts several processes; skipped with -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()
	startLabProcess(ctx, t, dir, filepath.Join("..", "..", "testdata", "lab", "small.yaml"))

	cfg := filepath.Join(dir, "config.yaml")
	steps := []struct {
		args []string
		want []string
		code int
	}{
		{[]string{"check", "--config", cfg, "--mailbox", "alex@fabrikam.com", "--mailboxes", filepath.Join(dir, "wave1.csv")},
			[]string{"onprem  ok", "cloud   ok", "on-prem mailbox (Alex Wilber)", "target alex@fabrikam.onmicrosoft.com (TargetAddress in the list)"}, ExitOK},
		{[]string{"assess", "--config", cfg, "--mailboxes", filepath.Join(dir, "mailboxes.csv"), "--out", filepath.Join(dir, "assessment.json")},
			[]string{"alex@fabrikam.com", "megan@fabrikam.com", "2 mailbox(es)"}, ExitOK},
		{[]string{"copy", "--config", cfg, "--mailboxes", filepath.Join(dir, "wave1.csv"), "--rules"},
			[]string{"alex@fabrikam.com", "alex@fabrikam.onmicrosoft.com", "45", "Inbox/Invoices"}, ExitOK},
		// The second pass finds nothing new.
		{[]string{"copy", "--config", cfg, "--mailboxes", filepath.Join(dir, "wave1.csv")},
			[]string{"alex@fabrikam.com  alex@fabrikam.onmicrosoft.com  0 "}, ExitOK},
		{[]string{"report", "--in", filepath.Join(dir, "assessment.json"), "--copy-results", filepath.Join(dir, "state.db"), "--out", filepath.Join(dir, "report")},
			[]string{"report.html", "findings.csv", "report.md"}, ExitOK},
	}
	for _, st := range steps {
		out, err := command(ctx, st.args...).CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != st.code {
			t.Fatalf("exmigrate %s: exit %d, want %d\n%s", strings.Join(st.args, " "), code, st.code, out)
		}
		for _, w := range st.want {
			if !strings.Contains(string(out), w) {
				t.Errorf("exmigrate %s: output lacks %q\n%s", st.args[0], w, out)
			}
		}
	}
}

// TestCopyInterruptedResumes sends SIGINT to a running copy: it exits 130,
// and the next run finishes the job without writing anything twice.
func TestCopyInterruptedResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes; skipped with -short")
	}
	// Latency makes the copy slow enough to interrupt in the middle.
	l, _ := startSmallLab(t, lab.Options{Latency: 40 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	first := command(ctx, "copy", "--config", l.ConfigPath, "--mailboxes", l.CopyCSV)
	var out strings.Builder
	first.Stdout, first.Stderr = &out, &out
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	if err := first.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err := first.Wait()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != ExitInterrupted {
		t.Fatalf("interrupted copy: %v, want exit %d\n%s", err, ExitInterrupted, out.String())
	}
	if !strings.Contains(out.String(), "interrupted; state is saved") {
		t.Errorf("no interruption message:\n%s", out.String())
	}
	target := l.Graph.Mailbox("alex@fabrikam.onmicrosoft.com")
	partial := len(target.Messages("Inbox")) + len(target.Messages("Sent Items")) + len(target.Messages("Inbox/Invoices"))

	second, err := command(ctx, "copy", "--config", l.ConfigPath, "--mailboxes", l.CopyCSV).CombinedOutput()
	if err != nil {
		t.Fatalf("resumed copy: %v\n%s", err, second)
	}
	for path, want := range map[string]int{"Inbox": 30, "Sent Items": 10, "Inbox/Invoices": 5} {
		msgs := target.Messages(path)
		seen := map[string]bool{}
		for _, m := range msgs {
			if seen[m.InternetMessageID] {
				t.Errorf("%s: %s is there twice", path, m.InternetMessageID)
			}
			seen[m.InternetMessageID] = true
		}
		if len(msgs) != want {
			t.Errorf("%s holds %d messages after resuming, want %d", path, len(msgs), want)
		}
	}
	t.Logf("interrupted after %d of 45 items; the resumed run copied the rest", partial)
}
