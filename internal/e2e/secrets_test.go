package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/dispatch"
	"github.com/exmigrate/exmigrate/engine"
	"github.com/exmigrate/exmigrate/graphmail"
	"github.com/exmigrate/exmigrate/graphmail/graphtest"
	"github.com/exmigrate/exmigrate/internal/backend"
	"github.com/exmigrate/exmigrate/internal/csvinput"
	"github.com/exmigrate/exmigrate/internal/lab"
	"github.com/exmigrate/exmigrate/mailbox"
)

// uploadScenario has one message whose 5 MB attachment goes through a
// Graph upload session in two chunks.
const uploadScenario = `
domain: contoso.com
cloud_domain: contoso.onmicrosoft.com
seed: 13
mailboxes:
  - address: vera@contoso.com
    location: onprem
    folders: {Inbox: 2}
    large_items:
      - {folder: Inbox, size: 5MB}
`

// TestUploadURLNotLeaked copies a message with a 5 MB attachment, which
// goes through a Graph upload session in two chunks, and makes the upload
// fail midway: the second chunk's connection dropped every time (net/http
// quotes the whole URL in its error), an error page from a proxy that
// echoes the URL, and Graph errors that echo it. The upload URL is
// pre-authenticated (its authtoken is a secret), so none of the session
// tokens the fake issued may appear in the error the copy returns (and
// every error it wraps), the engine's MailboxResult, the debug log, the
// audit log or the bytes of the state file (jobs.last_error, the items'
// skip reasons).
func TestUploadURLNotLeaked(t *testing.T) {
	const src, dst = "vera@contoso.com", "vera@contoso.onmicrosoft.com"
	put := http.MethodPut
	for _, tc := range []struct {
		name  string
		fault graphtest.Fault
		// The copy fails (the mailbox's error), or skips the item (an
		// answer no retry changes).
		wantErr, wantSkip bool
	}{
		{name: "connection dropped", wantErr: true,
			fault: graphtest.Fault{Kind: graphtest.FaultDrop, Path: "/upload/", Method: put, Count: 1000}},
		{name: "proxy page echoes the URL", wantErr: true,
			fault: graphtest.Fault{Kind: graphtest.FaultAnswer, Path: "/upload/", Method: put, Count: 1000, Status: http.StatusBadGateway,
				ContentType: "text/html", Body: "<html><body>502: " + graphtest.EchoURL + " could not be reached</body></html>"}},
		{name: "Graph error echoes the URL", wantErr: true,
			fault: graphtest.Fault{Kind: graphtest.FaultAnswer, Path: "/upload/", Method: put, Count: 1000, Status: http.StatusConflict,
				Body: `{"error":{"code":"ErrorIrresolvableConflict","message":"Another upload to ` + graphtest.EchoURL + ` is under way."}}`}},
		// A 400 is permanent: the item is skipped, with the error as the
		// reason in the state file and the audit log. Today the engine
		// cuts a reason at 200 bytes, before the URL, and the audit log
		// drops queries itself: this case guards, it did not leak.
		{name: "Graph refusal echoes the URL", wantSkip: true,
			fault: graphtest.Fault{Kind: graphtest.FaultAnswer, Path: "/upload/", Method: put, Count: 1000, Status: http.StatusBadRequest,
				Body: `{"error":{"code":"InvalidRequest","message":"Bad range for ` + graphtest.EchoURL + `"}}`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := startLab(t, mustScenario(t, uploadScenario), lab.Options{})
			logs := &syncBuffer{}
			log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			e.useGraphClient(t, log, 2)

			// The first chunk goes through (a zero-latency fault uses it
			// up), so the upload fails midway.
			e.lab.Graph.Inject(graphtest.Fault{Kind: graphtest.FaultLatency, Path: "/upload/", Method: put, Count: 1})
			e.lab.Graph.Inject(tc.fault)
			opts := testOptions()
			opts.Attempts = 2
			res := e.copyResult(t, csvinput.Entry{Address: src, Target: dst, Location: mailbox.LocationOnPrem}, dispatch.Onboarding, opts)

			tokens := e.lab.Graph.UploadTokens()
			if len(tokens) == 0 {
				t.Fatal("no upload session was created: the test proves nothing")
			}
			if tc.wantErr && res.Err == nil {
				t.Fatalf("the copy succeeded (%d copied): the upload did not fail", res.ItemsCopied)
			}
			if tc.wantSkip && res.Skipped == 0 {
				t.Fatalf("nothing skipped (err %v): the upload was not refused", res.Err)
			}
			if res.Err != nil {
				t.Logf("the copy's error: %v", res.Err)
				// Redacted, not removed: the engineer still sees which
				// request failed.
				if !strings.Contains(res.Err.Error(), "/upload/") {
					t.Errorf("the error does not name the upload URL's path: %v", res.Err)
				}
			}
			t.Logf("skip reasons: %v", res.SkipReasons)

			places := map[string][]byte{
				"the returned error":   []byte(errorTexts(res.Err)),
				"the MailboxResult":    []byte(fmt.Sprintf("%+v", *res)),
				"the debug log":        logs.Bytes(),
				"the audit log":        readIfExists(t, filepath.Join(e.lab.Dir, "audit.jsonl")),
				"the state file":       readIfExists(t, filepath.Join(e.lab.Dir, "state.db")),
				"the state file's WAL": readIfExists(t, filepath.Join(e.lab.Dir, "state.db-wal")),
			}
			jobs, err := e.store.Jobs(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			var lastErrors []string
			for _, j := range jobs {
				lastErrors = append(lastErrors, j.LastError)
			}
			places["jobs.last_error"] = []byte(strings.Join(lastErrors, "\n"))
			for where, data := range places {
				for _, tok := range tokens {
					if i := bytes.Index(data, []byte(tok)); i >= 0 {
						t.Errorf("%s holds the upload session's authtoken %s: %s", where, tok, around(data, i))
					}
				}
			}
		})
	}
}

// useGraphClient replaces the lab's Graph client by one that logs to log
// and retries a request at most maxRetries times, so that a dropped
// connection costs about a second, not the default back-off.
func (e *env) useGraphClient(t *testing.T, log *slog.Logger, maxRetries int) {
	t.Helper()
	gc := e.graphClient(t, func(_ *http.Transport, c *graphmail.Config) {
		c.Logger = log
		c.Limits.MaxRetries = maxRetries
	})
	e.log = log
	e.disp = (&backend.Sides{EWS: e.sides.EWS, Graph: gc}).Dispatcher(log)
}

// copyResult is copyOnce for a copy expected to fail: it returns the
// result whatever its error.
func (e *env) copyResult(t *testing.T, entry csvinput.Entry, dir dispatch.Direction, opts engine.CopyOptions) *engine.MailboxResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	route, err := e.disp.Locate(ctx, entry)
	if err != nil {
		t.Fatal(err)
	}
	src, dst, key, err := e.disp.Open(route, dir)
	if err != nil {
		t.Fatal(err)
	}
	c := &engine.Copier{Store: e.store, Log: e.log, Options: opts, Audit: e.audit}
	res := c.Copy(ctx, key, src, dst)
	e.assertNothingSent(t)
	return res
}

// errorTexts is the text of err and of every error it wraps, each also
// printed with %#v: a field that Error leaves out (a *url.Error's URL) is
// still reachable by whoever unwraps the error.
func errorTexts(err error) string {
	var b strings.Builder
	var walk func(error)
	walk = func(err error) {
		if err == nil {
			return
		}
		fmt.Fprintf(&b, "%s\n%#v\n", err.Error(), err)
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walk(e)
			}
		}
	}
	walk(err)
	return b.String()
}

func readIfExists(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return data
}

// around is the text near a match, for the failure message.
func around(data []byte, i int) string {
	lo, hi := max(i-160, 0), min(i+80, len(data))
	return fmt.Sprintf("%q", data[lo:hi])
}

// syncBuffer is a bytes.Buffer that the copy's goroutines may log to.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}
