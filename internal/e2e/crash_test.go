package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/engine"
	"github.com/exmigrate/exmigrate/graphmail/graphtest"
	"github.com/exmigrate/exmigrate/internal/lab"
)

// Two mailboxes copied at once; large items (5 MB, so their attachments go
// through Graph upload sessions) give the kills a chance to land between a
// message's creation and its last attachment chunk.
const crashScenario = `
domain: contoso.com
cloud_domain: contoso.onmicrosoft.com
seed: 17
mailboxes:
  - address: carl@contoso.com
    location: onprem
    folders: {Inbox: 400, Inbox/Sub: 150, Sent Items: 150, Projects/Alpha/Beta: 100}
    large_items:
      - {folder: Inbox, size: 5MB}
      - {folder: Inbox, size: 5MB}
      - {folder: Projects/Alpha/Beta, size: 5MB}
      - {folder: Projects/Alpha/Beta, size: 5MB}
  - address: cora@contoso.com
    location: onprem
    folders: {Inbox: 200, Inbox/Deep/Deeper: 60}
`

var crashFolders = map[string][]string{
	"carl@contoso.com": {"Inbox", "Inbox/Sub", "Sent Items", "Projects", "Projects/Alpha", "Projects/Alpha/Beta"},
	"cora@contoso.com": {"Inbox", "Inbox/Deep", "Inbox/Deep/Deeper"},
}

// TestCrashResume runs `exmigrate copy` as a child process against a lab
// this test serves, with transient faults injected in both fakes, SIGKILLs
// it several times at random points, then lets it run to the end. Source
// and target must then hold exactly the same items per folder: no
// duplicates, nothing missing.
func TestCrashResume(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command and kills it several times")
	}
	// 10 ms a request: a copy slow enough that the kills land mid-copy
	// (Graph $batch writes up to 20 messages a request).
	e := startLab(t, mustScenario(t, crashScenario), lab.Options{FaultRate: 0.03, Latency: 10 * time.Millisecond})
	killAndResume(t, e, "copy", "--config", e.lab.ConfigPath, "--mailboxes", e.lab.CopyCSV, "--log-format", "json")

	total := 0
	for addr, folders := range crashFolders {
		local := addr[:len(addr)-len("@contoso.com")]
		for _, path := range folders {
			src := e.ewsView(t, addr, path)
			dst := e.graphView(t, local+"@contoso.onmicrosoft.com", path)
			compareFolder(t, addr+" "+path, src, dst)
			total += src.n
		}
	}
	if total != 1064 {
		t.Errorf("compared %d source items, want 1064", total)
	}
	checkState(t, e, 1064)
}

// TestCrashResumeOffboarding is the crash test from the cloud to on-prem:
// Graph is read (delta links) and EWS written (CreateItem with MIME, the
// stamp found again with FindItem).
func TestCrashResumeOffboarding(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command and kills it several times")
	}
	e := startLab(t, mustScenario(t, `
domain: contoso.com
cloud_domain: contoso.onmicrosoft.com
seed: 29
mailboxes:
  - address: liam@contoso.com
    location: cloud
    folders: {Inbox: 350, Sent Items: 150, Inbox/Old/Older: 100}
`), lab.Options{FaultRate: 0.03})
	const src, dst = "liam@contoso.com", "liam.back@contoso.com"
	fx := e.lab.Graph.Mailbox(src)
	g := newMailGen(41, "contoso.com")
	for i := range 4 {
		fx.AddMessage([]string{"Inbox", "Inbox/Old/Older"}[i%2], g.next(src, 3<<20).graphMessage(src))
	}
	e.lab.EWS.AddMailbox(dst)
	list := filepath.Join(t.TempDir(), "leavers.csv")
	if err := os.WriteFile(list, []byte("EmailAddress,TargetAddress,Location,Batch\n"+src+","+dst+",cloud,Leavers\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	killAndResume(t, e, "copy", "--config", e.lab.ConfigPath, "--mailboxes", list, "--direction", "offboarding", "--log-format", "json")

	total := 0
	for _, path := range []string{"Inbox", "Sent Items", "Inbox/Old", "Inbox/Old/Older"} {
		s := e.graphView(t, src, path)
		compareFolder(t, path, s, e.ewsView(t, dst, path))
		total += s.n
	}
	if total != 604 {
		t.Errorf("compared %d source items, want 604", total)
	}
	checkState(t, e, 604)
}

// killAndResume runs the command, SIGKILLs it at random points (up to
// 900 ms after its first write) after a first run stopped by SIGINT, until at least three kills have landed mid-copy (a kill
// during start-up proves little) and four in all, then runs it until it
// finishes. The lab outlives every child.
func killAndResume(t *testing.T, e *env, args ...string) {
	t.Helper()
	bin := exmigrateBinary(t)
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("E2E_CRASH_SEED"); s != "" {
		fmt.Sscan(s, &seed)
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	t.Logf("kill schedule seed %d (rerun with E2E_CRASH_SEED=%d)", seed, seed)

	logDir := t.TempDir()
	start := func(run int) (*exec.Cmd, *os.File) {
		t.Helper()
		logf, err := os.Create(filepath.Join(logDir, fmt.Sprintf("run-%d.log", run)))
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, args...)
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd, logf
	}
	tail := func(run int) string {
		data, _ := os.ReadFile(filepath.Join(logDir, fmt.Sprintf("run-%d.log", run)))
		if len(data) > 3000 {
			data = data[len(data)-3000:]
		}
		return string(data)
	}

	writes := func() int64 { return e.lab.Graph.Writes() + e.lab.EWS.Writes() }

	// First an interrupt, as Ctrl-C sends it: the command stops taking
	// work, saves its state and exits 130.
	run := 0
	{
		cmd, logf := start(run)
		after := time.Duration(500+rng.IntN(1000)) * time.Millisecond
		time.Sleep(after)
		sent, before := time.Now(), writes()
		if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			logf.Close()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 130 {
				t.Errorf("after SIGINT: %v, want exit status 130\n%s", err, tail(run))
			}
			t.Logf("run %d: SIGINT after %v, stopped in %v (%d writes after the signal)", run, after, time.Since(sent).Round(time.Millisecond), writes()-before)
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-done
			logf.Close()
			t.Errorf("the command did not stop within 30 s of SIGINT\n%s", tail(run))
		}
		run++
	}

	killed, midCopy := 0, 0
	for ; (midCopy < 3 || killed < 4) && run < 11; run++ {
		before := writes()
		cmd, logf := start(run)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		// The kill comes a random while after the run's first write, not
		// after its start: how long a run takes to start writing (reading
		// a first batch, waiting out a busy server) is no part of the test.
		after := time.Duration(rng.IntN(900)) * time.Millisecond
		killAt := time.After(15 * time.Second)
		for deadline := time.Now().Add(15 * time.Second); writes() == before && time.Now().Before(deadline); {
			time.Sleep(5 * time.Millisecond)
		}
		if writes() > before {
			killAt = time.After(after)
		}
		select {
		case err := <-done:
			logf.Close()
			t.Logf("run %d ended by itself before the kill %v after its first write: %v", run, after, err)
		case <-killAt:
			if err := cmd.Process.Signal(syscall.SIGKILL); errors.Is(err, os.ErrProcessDone) {
				// It ended by itself between the select and the kill.
				err = <-done
				logf.Close()
				t.Logf("run %d ended by itself just before the kill %v after its first write: %v", run, after, err)
				continue
			} else if err != nil {
				t.Fatal(err)
			}
			<-done
			logf.Close()
			killed++
			w := writes() - before
			if w > 0 {
				midCopy++
			}
			t.Logf("run %d: SIGKILL %v after its first write; %d writes in this run", run, after, w)
		}
	}
	if midCopy < 3 {
		t.Errorf("only %d of %d kills landed mid-copy", midCopy, killed)
	}

	// Then let it finish. A run can fail when a transient fault outlasts
	// its retries; the next run resumes.
	finished := false
	for i := 0; i < 6 && !finished; i, run = i+1, run+1 {
		cmd, logf := start(run)
		err := cmd.Wait()
		logf.Close()
		finished = err == nil
		if !finished {
			t.Logf("run %d: %v\n%s", run, err, tail(run))
		}
	}
	if !finished {
		t.Fatalf("the copy did not finish in 6 runs after the kills")
	}
	t.Logf("finished at run %d; Graph served %d writes, %d throttled answers; EWS %d writes, %d requests",
		run-1, e.lab.Graph.Writes(), e.lab.Graph.Throttled(), e.lab.EWS.Writes(), e.lab.EWS.Requests(""))
}

// checkState opens the state file the children wrote: nothing may be left
// pending, and every item is recorded copied.
func checkState(t *testing.T, e *env, want int64) {
	t.Helper()
	var copied int64
	eachJob(t, e, func(j engine.JobRecord, c engine.ItemCounts) {
		if c.Pending != 0 || c.Skipped != 0 {
			t.Errorf("%s: %d items still pending, %d skipped", j.Key.SourceAddress, c.Pending, c.Skipped)
		}
		copied += c.Copied
	})
	if copied != want {
		t.Errorf("the state file records %d items copied, want %d", copied, want)
	}
}

// TestCrashDuringUpload kills the copy at the worst moment for Graph: the
// message has been created but its large attachment has not been uploaded
// yet. The next run must neither take the incomplete message for a
// finished copy nor leave it behind next to the complete one.
func TestCrashDuringUpload(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command")
	}
	bin := exmigrateBinary(t)
	e := startLab(t, mustScenario(t, `
domain: contoso.com
cloud_domain: contoso.onmicrosoft.com
seed: 5
mailboxes:
  - address: uma@contoso.com
    location: onprem
    folders: {Inbox: 3}
    large_items:
      - {folder: Scans, size: 5MB}
`), lab.Options{})
	const target = "uma@contoso.onmicrosoft.com"
	// Hold the upload session's creation long enough to kill the process.
	e.lab.Graph.Inject(graphtest.Fault{Kind: graphtest.FaultLatency, Path: "createUploadSession", Count: 1, Latency: time.Minute})
	args := []string{"copy", "--config", e.lab.ConfigPath, "--mailboxes", e.lab.CopyCSV}
	cmd := exec.Command(bin, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(e.lab.Graph.Mailbox(target).Messages("Scans")) == 0 {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatalf("the large message never appeared on the target\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // let it reach the held upload session
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	partial := e.lab.Graph.Mailbox(target).Messages("Scans")
	t.Logf("after the kill the target holds %d message(s) in Scans, the first with %d attachment(s), draft=%v",
		len(partial), len(partial[0].Attachments), partial[0].IsDraft)

	code, stdout, stderr := runBinary(t, args...)
	if code != 0 {
		t.Fatalf("resume: exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, path := range []string{"Inbox", "Scans"} {
		compareFolder(t, path, e.ewsView(t, "uma@contoso.com", path), e.graphView(t, target, path))
	}
}
