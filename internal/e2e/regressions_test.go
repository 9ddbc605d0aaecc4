package e2e

import (
	"bytes"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/engine"
	"github.com/exmigrate/exmigrate/graphmail/graphtest"
	"github.com/exmigrate/exmigrate/internal/lab"
)

// TestIssue12UploadTokenNotLeakedThroughTheBinary: a 40 MB upload
// interrupted by a server crash put the upload session's URL with its
// authtoken in the error line, the summary table and state.db
// (jobs.last_error). TestUploadURLNotLeaked checks the engine in-process;
// this runs `exmigrate copy` as built, with a debug log, fails the upload
// midway (the first chunk is taken, then the server goes away or answers
// with the URL in its error), and searches its standard output and error,
// the audit log, the state file and its WAL, and every job's last_error
// for each token the fake issued. The crash case also times how long the
// command takes to fail the mailbox once the server is gone.
func TestIssue12UploadTokenNotLeakedThroughTheBinary(t *testing.T) {
	put := http.MethodPut
	for _, tc := range []struct {
		name string
		// crash: the Graph server stops answering while the second chunk
		// is held (the proxy in front of it refuses connections from then
		// on); otherwise fault answers every later chunk.
		crash bool
		fault graphtest.Fault
		code  int // the command's exit code
	}{
		{name: "server crash mid-upload", crash: true, code: ExitCodeFailed},
		{name: "Graph error echoes the URL", code: ExitCodeFailed,
			fault: graphtest.Fault{Kind: graphtest.FaultAnswer, Path: "/upload/", Method: put, Count: 1000, Status: http.StatusConflict,
				Body: `{"error":{"code":"ErrorIrresolvableConflict","message":"Another upload to ` + graphtest.EchoURL + ` is under way."}}`}},
		{name: "Graph refusal echoes the URL", code: 3, // the item is skipped
			fault: graphtest.Fault{Kind: graphtest.FaultAnswer, Path: "/upload/", Method: put, Count: 1000, Status: http.StatusBadRequest,
				Body: `{"error":{"code":"InvalidRequest","message":"Bad range for ` + graphtest.EchoURL + `"}}`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.crash && testing.Short() {
				t.Skip("waits out the Graph client's retries (about 30 s); skipped with -short")
			}
			e := startLab(t, mustScenario(t, uploadScenario), lab.Options{})
			cfg := e.lab.ConfigPath
			var proxy *tcpProxy
			if tc.crash {
				proxy = newTCPProxy(t, hostPort(t, e.lab.GraphURL))
				cfg = proxiedConfig(t, e, map[string]string{hostPort(t, e.lab.GraphURL): proxy.addr})
			}
			// The first chunk goes through (a zero-latency fault uses it
			// up); the next is held, or answered with the fault.
			e.lab.Graph.Inject(graphtest.Fault{Kind: graphtest.FaultLatency, Path: "/upload/", Method: put, Count: 1})
			if tc.crash {
				e.lab.Graph.Inject(graphtest.Fault{Kind: graphtest.FaultLatency, Path: "/upload/", Method: put, Count: 1, Latency: 5 * time.Second})
			} else {
				e.lab.Graph.Inject(tc.fault)
			}
			cmd := exec.Command(exmigrateBinary(t), "--log-level", "debug", "copy", "--config", cfg, "--mailboxes", e.lab.CopyCSV)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			began := time.Now()
			if tc.crash {
				for deadline := time.Now().Add(30 * time.Second); e.lab.Graph.PendingFaults() > 0; time.Sleep(10 * time.Millisecond) {
					if time.Now().After(deadline) {
						_ = cmd.Process.Kill()
						<-done
						t.Fatalf("the second chunk never came\n%s", tail(stderr.String()))
					}
				}
				proxy.set(proxyRefuse) // the held chunk's connection is reset
				began = time.Now()
			}
			var err error
			select {
			case err = <-done:
			case <-time.After(90 * time.Second):
				_ = cmd.Process.Kill()
				<-done
				t.Fatalf("copy still running after 90 s\n%s", tail(stderr.String()))
			}
			took := time.Since(began)
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			}
			if code != tc.code {
				t.Errorf("exit %d (%v), want %d\n%s\n%s", code, err, tc.code, stdout.String(), tail(stderr.String()))
			}
			tokens := e.lab.Graph.UploadTokens()
			if len(tokens) == 0 {
				t.Fatal("no upload session was created: the test proves nothing")
			}
			if tc.code == ExitCodeFailed && !strings.Contains(stdout.String(), "FAILED: ") {
				t.Errorf("the summary shows no failure:\n%s", stdout.String())
			}
			var lastErrors []string
			eachJob(t, e, func(j engine.JobRecord, _ engine.ItemCounts) { lastErrors = append(lastErrors, j.LastError) })
			places := map[string][]byte{
				"standard output (the summary)": stdout.Bytes(),
				"standard error (the log)":      stderr.Bytes(),
				"the audit log":                 readIfExists(t, filepath.Join(e.lab.Dir, "audit.jsonl")),
				"the state file":                readIfExists(t, filepath.Join(e.lab.Dir, "state.db")),
				"the state file's WAL":          readIfExists(t, filepath.Join(e.lab.Dir, "state.db-wal")),
				"jobs.last_error":               []byte(strings.Join(lastErrors, "\n")),
			}
			for where, data := range places {
				for _, tok := range tokens {
					if i := bytes.Index(data, []byte(tok)); i >= 0 {
						t.Errorf("%s holds the upload session's authtoken %s: %s", where, tok, around(data, i))
					}
				}
			}
			t.Logf("exit %d after %v; %d upload token(s) searched; last_error %q", code, took.Round(time.Millisecond), len(tokens), lastErrors)
			if !tc.crash {
				return
			}
			// The server that went away fails the mailbox within the bound
			// the README documents for Graph (see TestUnreachableServer).
			// Mid-upload it once did not (45 to 57 s): after the chunk's
			// retries, the removal of the incomplete message was retried
			// too; it is now left to the next run.
			t.Run("within the documented bound", func(t *testing.T) {
				if took > graphGiveUp+giveUpMargin {
					t.Errorf("the mailbox failed %v after the Graph server went away mid-upload, over the bound %v + %v", took.Round(time.Millisecond), graphGiveUp, giveUpMargin)
				}
			})
		})
	}
}
