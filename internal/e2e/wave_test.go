package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/internal/chromiumtest"
	"github.com/exmigrate/exmigrate/internal/wavestatus"
)

// waveScenario: Wave 1 is ann (big enough to be caught copying), bea (a
// 3 MB message over her cloud mailbox's 2 MB limit: skipped) and cat; Wave 2
// is dan.
const waveScenario = `domain: contoso.com
cloud_domain: contoso.onmicrosoft.com
seed: 21
mailboxes:
  - address: ann@contoso.com
    location: onprem
    folders: {Inbox: 600, Sent Items: 200}
  - address: bea@contoso.com
    location: onprem
    folders: {Inbox: 20}
    large_items:
      - {folder: Inbox, size: 3MB}
    max_send_size: 2MB
    max_receive_size: 2MB
  - address: cat@contoso.com
    location: onprem
    folders: {Inbox: 30, Archive: 12}
  - address: dan@contoso.com
    location: onprem
    folders: {Inbox: 10}
`

// TestWaveThroughTheCLI runs a wave as engineers do, each step its own
// exmigrate process against one lab process: assess the list; copy batch
// "Wave 1" and read status -o json from another process while it runs;
// kill -9 the copy; retry only what it left with --only; finalize, which
// refuses the mailbox with a skipped item until the skip is approved; and
// serve, whose page in headless Chromium shows the numbers status gives
// (screenshot kept as a test artifact).
func TestWaveThroughTheCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("a wave of processes")
	}
	bin := exmigrateBinary(t)
	dir := t.TempDir()
	scenario := filepath.Join(dir, "wave.yaml")
	if err := os.WriteFile(scenario, []byte(waveScenario), 0o600); err != nil {
		t.Fatal(err)
	}
	startLabProcess(t, bin, dir, scenario, "--latency", "15ms")
	cfg := filepath.Join(dir, "config.yaml")
	list := filepath.Join(dir, "wave.csv")
	csv := "EmailAddress,TargetAddress,Location,Batch\n"
	for _, u := range []string{"ann", "bea", "cat", "dan"} {
		batch := "Wave 1"
		if u == "dan" {
			batch = "Wave 2"
		}
		csv += fmt.Sprintf("%s@contoso.com,%s@contoso.onmicrosoft.com,onprem,%s\n", u, u, batch)
	}
	if err := os.WriteFile(list, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	exm := func(args ...string) (int, string, string) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return code, out.String(), errb.String()
	}
	status := func() wavestatus.Wave {
		t.Helper()
		code, out, errs := exm("status", "--config", cfg, "--mailboxes", list, "-o", "json")
		if code != 0 {
			t.Fatalf("status: exit %d\n%s", code, errs)
		}
		var w wavestatus.Wave
		if err := json.Unmarshal([]byte(out), &w); err != nil {
			t.Fatalf("status -o json: %v\n%s", err, out)
		}
		return w
	}
	states := func(w wavestatus.Wave) string {
		var s []string
		for _, j := range w.Jobs {
			s = append(s, fmt.Sprintf("%s=%s", strings.TrimSuffix(j.Mailbox, "@contoso.com"), j.State))
		}
		slices.Sort(s)
		return strings.Join(s, " ")
	}

	// 1. Assess.
	assessment := filepath.Join(dir, "assessment.json")
	if code, out, errs := exm("assess", "--config", cfg, "--mailboxes", list, "--out", assessment); code != 0 {
		t.Fatalf("assess: exit %d\n%s%s", code, out, errs)
	}
	var a struct {
		Mailboxes []struct {
			Address string `json:"address"`
		} `json:"mailboxes"`
	}
	if data, err := os.ReadFile(assessment); err != nil || json.Unmarshal(data, &a) != nil || len(a.Mailboxes) != 4 {
		t.Fatalf("the assessment has %d mailboxes (err %v), want 4", len(a.Mailboxes), err)
	}

	// 2. Copy batch Wave 1, one mailbox at a time; status from another
	// process sees it running, then it is killed.
	cp := exec.Command(bin, "copy", "--config", cfg, "--mailboxes", list, "--batch", "Wave 1", "--parallel", "1")
	cp.Dir = dir
	if err := cp.Start(); err != nil {
		t.Fatal(err)
	}
	var victim string
	for deadline := time.Now().Add(time.Minute); victim == ""; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("status never showed the copy running with items copied")
		}
		if _, err := os.Stat(filepath.Join(dir, "state.db")); err != nil {
			continue
		}
		for _, j := range status().Jobs {
			if j.State == "running" && j.ItemsCopied > 0 {
				if j.Owner == nil || j.Owner.PID != cp.Process.Pid {
					t.Fatalf("%s running, owner %+v; want the copy's pid %d", j.Mailbox, j.Owner, cp.Process.Pid)
				}
				victim = j.Mailbox
			}
		}
	}
	if err := cp.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cp.Wait()
	w := status()
	for _, j := range w.Jobs {
		if j.Mailbox == victim && j.State != "interrupted" {
			t.Fatalf("after kill -9, %s is %s, want interrupted", victim, j.State)
		}
		if j.Mailbox == "dan@contoso.com" && j.State != "not-started" {
			t.Fatalf("dan (Wave 2) is %s after a copy of Wave 1", j.State)
		}
	}

	// 3. Retry only what the killed run left.
	if code, out, errs := exm("copy", "--config", cfg, "--mailboxes", list, "--batch", "Wave 1", "--only", "failed,not-started"); code != 3 {
		t.Fatalf("copy --only failed,not-started: exit %d, want 3 (bea's item skipped)\n%s%s", code, out, errs)
	}
	if got := states(status()); got != "ann=done bea=partial cat=done dan=not-started" {
		t.Fatalf("after the retry: %s", got)
	}

	// 4. Finalize: bea's skip needs approval; then it is approved.
	code, out, errs := exm("finalize", "--config", cfg, "--mailboxes", list, "--batch", "Wave 1")
	if code != 1 || !regexp.MustCompile(`(?m)^bea@contoso\.com .*NOT SIGNED OFF: 1 skipped item\(s\) need approval`).MatchString(out) {
		t.Fatalf("finalize: exit %d, want 1 with bea refused\n%s%s", code, out, errs)
	}
	code, out, errs = exm("finalize", "--config", cfg, "--mailboxes", list, "--batch", "Wave 1", "--mailbox", "bea@contoso.com", "--approve-skipped", "--note", "video sent by link")
	if code != 0 || !regexp.MustCompile(`(?m)^bea@contoso\.com +bea@contoso\.onmicrosoft\.com +1 +1 +completed: signed off`).MatchString(out) {
		t.Fatalf("finalize --approve-skipped: exit %d\n%s%s", code, out, errs)
	}
	final := status()
	if got := states(final); got != "ann=completed bea=completed cat=completed dan=not-started" {
		t.Fatalf("after finalize: %s", got)
	}
	if final.Totals.ItemsCopied != 800+20+42 || final.Totals.ItemsSkipped != 1 {
		t.Errorf("status totals: %d copied, %d skipped; want 862 and 1", final.Totals.ItemsCopied, final.Totals.ItemsSkipped)
	}

	// 5. serve shows the same numbers in a browser.
	browser := chromiumtest.Find(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := exec.CommandContext(ctx, bin, "serve", "--config", cfg, "--mailboxes", list, "--listen", addr)
	srv.Dir = dir
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); _ = srv.Wait() }()
	url := "http://" + addr + "/"
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve never answered on %s: %v", addr, err)
		}
	}
	dom, msgs := chromiumtest.Browse(t, browser, url, 2*time.Second, "")
	if len(msgs) > 0 {
		t.Errorf("the page logged:\n%s", strings.Join(msgs, "\n"))
	}
	for _, want := range []string{
		fmt.Sprintf(`<b id="t-items">%d</b>`, final.Totals.ItemsCopied),
		"completed",
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("the served page lacks %s (what status printed)", want)
		}
	}
	shot := filepath.Join(chromiumtest.ShotDir(t), "wave-status.png")
	chromiumtest.Browse(t, browser, url, time.Second, shot)
	if st, err := os.Stat(shot); err != nil || st.Size() < 10_000 {
		t.Fatalf("no usable screenshot at %s: %v", shot, err)
	}
	t.Logf("killed %s mid-copy; finalized 3 mailboxes (1 skip approved); %d items; screenshot %s", victim, final.Totals.ItemsCopied, shot)
}
