package wavestatus

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/engine"
)

// chromium returns the browser to drive, or skips the test saying what to
// install; EXMIGRATE_CHROMIUM names one explicitly.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("EXMIGRATE_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no chromium: install it (Debian: apt-get install -y chromium) or set EXMIGRATE_CHROMIUM to run the browser test of the status page")
	return ""
}

// shotDir is where screenshots are kept: EXMIGRATE_SCREENSHOTS if set,
// else the test's artifact directory (kept with go test -artifacts).
func shotDir(t *testing.T) string {
	if d := os.Getenv("EXMIGRATE_SCREENSHOTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.ArtifactDir()
}

var console = regexp.MustCompile(`:CONSOLE(?:\(\d+\)|:\d+)\] (.*)`)

// browse loads url in headless chromium with virtual time running for
// budget (so the page's refresh timer fires), and returns the DOM after
// it and every console message; with shot, a screenshot instead.
func browse(t *testing.T, browser, url string, budget time.Duration, shot string) (dom string, msgs []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := []string{"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--user-data-dir=" + t.TempDir(), "--enable-logging=stderr", "--v=0",
		"--window-size=1400,1000", "--virtual-time-budget=" + strconv.Itoa(int(budget.Milliseconds()))}
	if shot != "" {
		args = append(args, "--screenshot="+shot)
	} else {
		args = append(args, "--dump-dom")
	}
	cmd := exec.CommandContext(ctx, browser, append(args, url)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	for _, l := range strings.Split(stderr.String(), "\n") {
		if m := console.FindStringSubmatch(l); m != nil {
			msgs = append(msgs, m[1])
		}
	}
	return stdout.String(), msgs
}

// TestPageInChromium opens the status page in headless chromium while
// another connection writes to the state file (a copy in progress): the
// page must pick the new items up by itself, log nothing (a CSP violation
// or script error would be logged), and keep the hostile strings text.
func TestPageInChromium(t *testing.T) {
	browser := chromium(t)
	s, path := fixture(t)
	ro := openRO(t, path)
	gus := findJob(t, ro, "gus@contoso.com")
	ann := findJob(t, ro, "ann@contoso.com")
	annID, _ := strconv.ParseInt(ann, 10, 64)

	// Between the page's first load and its first refresh, a copy writes 7
	// more items.
	var (
		mu     sync.Mutex
		loads  int
		writes error
	)
	srv := NewServer(ServerOptions{Store: ro, StateFile: path, Refresh: time.Second})
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" {
			mu.Lock()
			loads++
			if loads == 2 {
				for i := range 7 {
					err := s.PutItem(r.Context(), engine.ItemRecord{JobID: annID, SourceID: "live" + strconv.Itoa(i), SourceFolderID: "inbox",
						Outcome: engine.ItemCopied, TargetItemID: "t", SizeBytes: 10})
					if err != nil && writes == nil {
						writes = err
					}
				}
			}
			mu.Unlock()
		}
		srv.ServeHTTP(w, r)
	}))
	defer ts.Close()

	dom, msgs := browse(t, browser, ts.URL+"/", 4*time.Second, "")
	if writes != nil {
		t.Fatal(writes)
	}
	if len(msgs) > 0 {
		t.Errorf("the page logged %d console messages:\n%s", len(msgs), strings.Join(msgs, "\n"))
	}
	if !strings.Contains(dom, `data-status-ready="1"`) {
		t.Error("the page's script did not run (no data-status-ready)")
	}
	if !regexp.MustCompile(`data-refreshes="[1-9]`).MatchString(dom) {
		t.Errorf("the page did not refresh itself (%d loads)", loads)
	}
	// 7 copied by the fixture + 7 written while the page was open.
	if !strings.Contains(dom, `<b id="t-items">14</b>`) {
		m := regexp.MustCompile(`<b id="t-items">\d+</b>`).FindString(dom)
		t.Errorf("items copied on the page: %s, want 14 after the refresh", m)
	}
	if strings.Contains(dom, `data-pwned="`) {
		t.Error("hostile markup ran")
	}

	dom, msgs = browse(t, browser, ts.URL+"/mailbox/"+gus, 2*time.Second, "")
	if len(msgs) > 0 {
		t.Errorf("the drill-down logged:\n%s", strings.Join(msgs, "\n"))
	}
	if strings.Contains(dom, `data-pwned="`) || !strings.Contains(dom, "onerror=") {
		t.Error("the drill-down did not show the hostile subject as text")
	}

	dir := shotDir(t)
	for name, url := range map[string]string{"status.png": ts.URL + "/", "status-mailbox.png": ts.URL + "/mailbox/" + findJob(t, ro, "bob@contoso.com")} {
		shot := filepath.Join(dir, name)
		browse(t, browser, url, time.Second, shot)
		if st, err := os.Stat(shot); err != nil || st.Size() < 10_000 {
			t.Fatalf("no usable screenshot at %s: %v", shot, err)
		}
		t.Logf("screenshot: %s", shot)
	}
}
