package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/exmigrate/exmigrate/internal/lab"
)

// copied reads the COPIED column of the copy summary, by source mailbox.
func copied(t *testing.T, out string) map[string]int {
	t.Helper()
	got := map[string]int{}
	inTable := false
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) > 2 && f[0] == "MAILBOX" && f[1] == "TARGET" && f[2] == "COPIED":
			inTable = true
		case inTable && len(f) >= 3 && strings.Contains(f[0], "@"):
			n, err := strconv.Atoi(f[2])
			if err != nil {
				t.Fatalf("copy summary line %q: %v", line, err)
			}
			got[f[0]] = n
		case inTable:
			inTable = false
		}
	}
	if len(got) == 0 {
		t.Fatalf("no copy summary in the output:\n%s", out)
	}
	return got
}

// targets reads the TARGET column of the reconciliation table: what the
// cloud mailboxes hold, by mailbox and folder.
func targets(out string) map[string]string {
	got := map[string]string{}
	_, rest, ok := strings.Cut(out, "Reconciliation")
	if !ok {
		return got
	}
	for _, line := range strings.Split(rest, "\n")[2:] {
		f := strings.Fields(line)
		if len(f) < 4 || !strings.Contains(f[0], "@") {
			break
		}
		// Folder names may hold spaces: the counts are the last columns.
		for i := 2; i < len(f); i++ {
			if _, err := strconv.Atoi(f[i]); err == nil || f[i] == "-" {
				got[f[0]+"/"+strings.Join(f[1:i], " ")] = f[i+1]
				break
			}
		}
	}
	return got
}

// demo runs a demo that must exit with want: 3 (ExitSkipped) when a
// mailbox skipped an item, as the default scenario's do, 0 otherwise.
func demo(t *testing.T, want int, args ...string) string {
	t.Helper()
	code, out, stderr := run(t, append([]string{"demo"}, args...)...)
	if code != want {
		t.Fatalf("demo exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, want, out, stderr)
	}
	return out
}

// A second demo in the same folder continues the organisation the first
// left: its copy pass copies nothing and writes nothing, the cloud
// mailboxes still hold the first run's copies, and the report still shows
// the item that was skipped.
func TestDemoTwiceCopiesNothingTheSecondTime(t *testing.T) {
	if testing.Short() {
		t.Skip("the demo copies a 40 MB item; skipped with -short")
	}
	dir := t.TempDir()
	first := demo(t, ExitSkipped, "--dir", dir)
	if !strings.Contains(first, "new organisation: no saved organisation in this folder") {
		t.Errorf("first demo does not say it starts a new organisation:\n%s", first)
	}
	total := 0
	for _, n := range copied(t, first) {
		total += n
	}
	// 575 messages; ann's 6 calendar items, 3 contacts (her contact group
	// is skipped: Graph holds none) and 4 tasks; the room's 12 calendar items.
	if total != 600 {
		t.Fatalf("first demo copied %d items, want 600", total)
	}
	auditPath := filepath.Join(dir, "audit.jsonl")
	audit1, err := os.ReadFile(auditPath)
	if err != nil {
		t.Fatal(err)
	}

	second := demo(t, ExitSkipped, "--dir", dir)
	if !strings.Contains(second, "continuing the organisation the last demo left in this folder") {
		t.Errorf("second demo does not continue the saved organisation:\n%s", second)
	}
	for mb, n := range copied(t, second) {
		if n != 0 {
			t.Errorf("second demo copied %d items of %s, want 0", n, mb)
		}
	}
	if !strings.Contains(second, "writes during the copy: 0 to on-prem (EWS), 0 to the cloud (Graph)") {
		t.Errorf("second demo wrote to a server during the copy:\n%s", second)
	}
	was, is := targets(first), targets(second)
	if len(was) < 10 {
		t.Fatalf("reconciliation of the first demo has %d folders: %v", len(was), was)
	}
	for folder, n := range was {
		if is[folder] != n {
			t.Errorf("target folder %s holds %s after the second demo, %s after the first", folder, is[folder], n)
		}
	}
	audit2, err := os.ReadFile(auditPath)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := strings.Count(string(audit1), `"action":"item.create"`), strings.Count(string(audit2), `"action":"item.create"`); a != b {
		t.Errorf("the second demo created items: %d item.create lines before, %d after", a, b)
	}
	md, err := os.ReadFile(filepath.Join(dir, "report", "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| Items skipped | 2 |", "too large for the target", "Graph has no contact groups"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("the report of the second demo lacks %q", want)
		}
	}
	var snapshots int64
	for _, name := range []string{"lab-ews.snapshot", "lab-graph.snapshot"} {
		info, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		snapshots += info.Size()
	}
	// The demo's mailboxes hold about 7 MB of MIME and 200 MB of large
	// items; the snapshots keep what seeding cannot make again.
	if snapshots > 1<<20 {
		t.Errorf("the lab's snapshots are %d bytes, want under 1 MB", snapshots)
	}
	if !strings.Contains(second, "lab saved in "+dir) {
		t.Errorf("second demo does not say where the lab was saved:\n%s", second)
	}

	// The saved organisation is the one the demos used: the copies are in
	// the cloud mailboxes, under the ids the copy state recorded.
	l, err := lab.Start(context.Background(), lab.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if !l.Restored {
		t.Fatalf("a lab in the demo's folder starts afresh: %s", l.FreshReason)
	}
	if n := len(l.Graph.Mailbox("ann@contoso.onmicrosoft.com").Messages("Inbox")); strconv.Itoa(n) != was["ann@contoso.com/Inbox"] {
		t.Errorf("ann's cloud Inbox holds %d messages, the reconciliation said %s", n, was["ann@contoso.com/Inbox"])
	}
}

// A demo with another scenario in the same folder starts a new
// organisation, with a new copy state: it copies again.
func TestDemoChangedScenarioStartsFresh(t *testing.T) {
	if testing.Short() {
		t.Skip("the demo copies a 40 MB item; skipped with -short")
	}
	dir := t.TempDir()
	small := filepath.Join("..", "..", "testdata", "lab", "small.yaml")
	first := demo(t, ExitOK, "--dir", dir, "--scenario", small)
	if got := copied(t, first); got["alex@fabrikam.com"] == 0 {
		t.Fatalf("first demo copied nothing for alex: %v", got)
	}
	same := demo(t, ExitOK, "--dir", dir, "--scenario", small)
	if got := copied(t, same); got["alex@fabrikam.com"] != 0 {
		t.Errorf("the same scenario again copied %d items, want 0", got["alex@fabrikam.com"])
	}

	// Another seed is another organisation.
	data, err := os.ReadFile(small)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, line := range strings.Split(string(data), "\n") {
		if !strings.HasPrefix(line, "seed:") {
			lines = append(lines, line)
		}
	}
	changed := filepath.Join(t.TempDir(), "changed.yaml")
	if err := os.WriteFile(changed, []byte(strings.Join(lines, "\n")+"\nseed: 4242\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if sc, err := lab.LoadScenario(changed); err != nil || sc.Seed != 4242 {
		t.Fatalf("changed scenario: %v", err)
	}
	again := demo(t, ExitOK, "--dir", dir, "--scenario", changed)
	if !strings.Contains(again, "new organisation: the scenario changed since the last run") {
		t.Errorf("a changed scenario does not say it starts over:\n%s", again)
	}
	if got, want := copied(t, again)["alex@fabrikam.com"], copied(t, first)["alex@fabrikam.com"]; got != want {
		t.Errorf("after the scenario changed, alex's copy copied %d items, want %d (a fresh copy state)", got, want)
	}
}
