// Package chromiumtest drives headless Chromium for the tests of the pages
// exmigrate serves and writes (the status page, the HTML report): it finds
// the browser, loads a page with virtual time running, and returns the DOM
// and the console messages, or takes a screenshot.
package chromiumtest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Find returns the browser to drive, or skips the test saying what to
// install; EXMIGRATE_CHROMIUM names one explicitly.
func Find(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("EXMIGRATE_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no chromium: install it (Debian: apt-get install -y chromium) or set EXMIGRATE_CHROMIUM to run the browser test")
	return ""
}

// ShotDir is where screenshots are kept: EXMIGRATE_SCREENSHOTS if set,
// else the test's artifact directory (kept with go test -artifacts).
func ShotDir(t *testing.T) string {
	if d := os.Getenv("EXMIGRATE_SCREENSHOTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.ArtifactDir()
}

var console = regexp.MustCompile(`:CONSOLE(?:\(\d+\)|:\d+)\] (.*)`)

// Browse loads url with virtual time running for budget (so the page's
// timers fire) and returns the DOM after it and every console message;
// with shot, it writes a screenshot there instead of the DOM.
func Browse(t testing.TB, browser, url string, budget time.Duration, shot string) (dom string, msgs []string) {
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
