package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/exmigrate/exmigrate/internal/lab"
)

func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(context.Background(), args, Streams{In: strings.NewReader(""), Out: &out, Err: &errb})
	return code, out.String(), errb.String()
}

func TestHelpListsEveryCommand(t *testing.T) {
	code, out, _ := run(t, "--help")
	if code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	for _, c := range []string{"check", "assess", "copy", "report", "lab", "demo", "capabilities", "version"} {
		if !strings.Contains(out, "\n  "+c+" ") {
			t.Errorf("--help does not list %s:\n%s", c, out)
		}
	}
	for _, c := range []string{"check", "assess", "copy", "report", "lab", "demo", "capabilities", "version"} {
		code, out, _ := run(t, c, "--help")
		if code != ExitOK || !strings.Contains(out, "Examples:") {
			t.Errorf("%s --help: exit %d, no example:\n%s", c, code, out)
		}
	}
}

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	badConfig := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(badConfig, []byte("onprem:\n  ews_url: http://mail.contoso.com/EWS/Exchange.asmx\n  username: svc\n  password_env: PW\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	list := filepath.Join(dir, "list.csv")
	if err := os.WriteFile(list, []byte("EmailAddress\nnot-an-address\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		code    int
		wantErr string
	}{
		{"version", []string{"version"}, ExitOK, ""},
		{"unknown command", []string{"migrate-everything"}, ExitUsage, `unknown command "migrate-everything"`},
		{"unknown flag", []string{"copy", "--paralel", "3"}, ExitUsage, "unknown flag: --paralel"},
		{"bad log level", []string{"--log-level", "loud", "version"}, ExitUsage, `--log-level "loud": use debug, info, warn or error`},
		{"bad config", []string{"check", "--config", badConfig}, ExitUsage, "onprem.ews_url: must be https://"},
		{"missing list flag", []string{"copy", "--config", badConfig}, ExitUsage, "--mailboxes is required"},
		{"bad report format", []string{"report", "--in", list, "--format", "pdf"}, ExitUsage, "pdf"},
		{"stray argument", []string{"version", "now"}, ExitUsage, "takes no arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := run(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr: %s", code, tt.code, stderr)
			}
			if tt.wantErr != "" && !strings.Contains(stderr, tt.wantErr) {
				t.Errorf("stderr %q does not contain %q", stderr, tt.wantErr)
			}
		})
	}
}

func TestCapabilitiesCommand(t *testing.T) {
	code, out, _ := run(t, "capabilities")
	if code != ExitOK || !regexp.MustCompile(`\d+ capabilities: \d+ direct, \d+ partial, \d+ none`).MatchString(out) {
		t.Errorf("exit %d, output:\n%s", code, out)
	}
	code, out, _ = run(t, "capabilities", "--json")
	if code != ExitOK || !strings.HasPrefix(strings.TrimSpace(out), "[") && !strings.HasPrefix(strings.TrimSpace(out), "{") {
		t.Errorf("--json: exit %d, output starts %q", code, out[:min(len(out), 40)])
	}
}

func TestInterruptedIs130(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errb bytes.Buffer
	code := Main(ctx, []string{"lab", "--dir", t.TempDir()}, Streams{Out: &out, Err: &errb})
	// The lab returns cleanly on Ctrl-C: a stopped lab is not a failure.
	if code != ExitOK {
		t.Errorf("lab interrupted: exit %d, stderr %s", code, errb.String())
	}
	if exitCode(context.Canceled) != ExitInterrupted || exitCode(errSkipped) != ExitSkipped {
		t.Error("exit code mapping is wrong")
	}
}

// TestDemo runs the whole demo: lab, check, assess, copy with rules, report.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("the demo copies a 40 MB item; skipped with -short")
	}
	dir := t.TempDir()
	code, out, stderr := run(t, "demo", "--dir", dir)
	// The scenario's 160 MB item and contact group are skipped: exit 3.
	if code != ExitSkipped {
		t.Fatalf("demo exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr)
	}
	for _, want := range []string{"== check", "onprem  ok", "cloud   ok", "== assess", "8 mailbox(es)", "== copy",
		"too large for the target", "== report", "HTML report: " + filepath.Join(dir, "report", "report.html")} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	html, err := os.ReadFile(filepath.Join(dir, "report", "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, code := range []string{"EXM-PF-PRESENT", "EXM-HOLD-INPLACE", "EXM-ARCHIVE-NOT-REACHABLE", "EXM-DELEGATE",
		"EXM-ITEM-OVER-150MB", "EXM-RULE-CONDITION-UNMAPPABLE", "EXM-RULE-ACTION-UNMAPPABLE", "EXM-CONTENT-CARRIED-WITH-LOSS",
		"EXM-CAL-MEETING-AS-APPOINTMENT", "EXM-TASK-FIELDS-LOST"} {
		if !strings.Contains(string(html), code) {
			t.Errorf("the report does not show %s", code)
		}
	}
	audit, err := os.ReadFile(filepath.Join(dir, "audit.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	// The 160 MB item is over the target's declared limit: skipped before
	// any request, on record as a skip, not as a refused create.
	// Each create has its started line before the request and its ok line.
	creates := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(string(audit)), "\n") {
		var e struct{ Action, Outcome string }
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("audit line %q: %v", line, err)
		}
		if e.Action == "item.create" {
			creates[e.Outcome]++
		}
	}
	// 575 messages, 18 calendar items, 3 contacts and 4 tasks.
	if creates["started"] != 600 || creates["ok"] != 600 || len(creates) != 2 {
		t.Errorf("audit log has item.create lines by outcome %v, want 600 started and 600 ok (575 messages, 18 calendar items, 3 contacts, 4 tasks)", creates)
	}
	if n := strings.Count(string(audit), `"action":"item.skip"`); n != 2 {
		t.Errorf("audit log has %d item.skip lines, want 2 (the 160 MB item and ann's contact group)", n)
	}
	// The demo's report shows what each kind carried and lost.
	md, err := os.ReadFile(filepath.Join(dir, "report", "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| calendar | 18 | 18 | 0 | 9 |", "| contacts | 4 | 3 | 1 | 0 |", "| tasks | 4 | 4 | 0 | 2 |",
		"`EXM-CAL-MEETING-AS-APPOINTMENT` | room-paris@contoso.com", "written into its body, and no one was sent anything"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("the demo's report.md lacks %q", want)
		}
	}
	if !strings.Contains(out, "writes during the copy: 0 to on-prem (EWS)") {
		t.Errorf("the demo wrote to the on-prem side:\n%s", out)
	}
	if !strings.Contains(string(html), "Content paths: mail mime, calendar typed, contacts typed, tasks typed") ||
		!strings.Contains(out, "ann@contoso.com: primary/mail=mime; primary/calendar=typed; primary/contacts=typed; primary/tasks=typed") {
		t.Errorf("the demo does not say how ann's kinds move (the copy summary's and the report's content paths)")
	}
	if !regexp.MustCompile(`(?m)^probe +- +calendar: typed \(the target \(graph\) has no full-fidelity write for calendar items\)$`).MatchString(out) {
		t.Errorf("the demo does not show the fidelity probe's verdict for calendar items:\n%s", out)
	}
	if !strings.Contains(out, "meeting messages the services sent during the copy: 0 on-prem, 0 in the cloud") {
		t.Errorf("the demo's copy made a service send meeting mail:\n%s", out)
	}
	if !strings.Contains(string(audit), `"action":"rule.create"`) {
		t.Error("audit log has no rule.create line")
	}
}

// startSmallLab serves testdata/lab/small.yaml (an on-prem and a cloud
// mailbox) for one test, in a folder of its own that nothing outlives.
func startSmallLab(t *testing.T, opts lab.Options) (l *lab.Lab, dir string) {
	t.Helper()
	sc, err := lab.LoadScenario(filepath.Join("..", "..", "testdata", "lab", "small.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	opts.Scenario = sc
	return startEphemeralLab(t, opts)
}

// startEphemeralLab serves opts.Scenario (nil: the default one) for one
// test, in a folder of its own that nothing outlives.
func startEphemeralLab(t *testing.T, opts lab.Options) (l *lab.Lab, dir string) {
	t.Helper()
	dir = t.TempDir()
	opts.Dir, opts.Ephemeral = dir, true
	l, err := lab.Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l, dir
}
