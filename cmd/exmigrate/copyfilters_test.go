package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/graphmail/graphtest"
	"github.com/exmigrate/exmigrate/internal/lab"
	"github.com/exmigrate/exmigrate/internal/logging"
)

// TestCopyFiltersAndMappings runs `copy` with folder filters, a folder
// mapping rule and a date filter from the config file.
func TestCopyFiltersAndMappings(t *testing.T) {
	l, _ := startSmallLab(t, lab.Options{})
	cfg, err := os.ReadFile(l.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg = append(cfg, []byte("filters:\n  exclude_folders: ['^Sent Items$']\n  folder_mappings: ['Inbox/Invoices -> Finance/Invoices 2024']\n  received_since: 2024-01-01\n")...)
	if err := os.WriteFile(l.ConfigPath, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	g := &globalOptions{ConfigPath: l.ConfigPath, io: Streams{Out: &out, Err: &errb}, logger: logging.Discard()}
	if err := copyRun(context.Background(), &copyOptions{g: g, Mailboxes: l.CopyCSV, Direction: "onboarding", MaxSkipped: -1, ItemWorkers: 4}); err != nil {
		t.Fatalf("copy: %v\n%s", err, out.String())
	}
	src := l.EWS.AddMailbox("alex@fabrikam.com")
	tgt := l.Graph.Mailbox("alex@fabrikam.onmicrosoft.com")
	if n := len(tgt.Messages("Sent Items")); n != 0 {
		t.Errorf("excluded Sent Items: %d messages copied", n)
	}
	if n := len(tgt.Messages("Inbox/Invoices")); n != 0 {
		t.Errorf("mapped folder copied to its old path too: %d", n)
	}
	// Only what was received since 2024-01-01 is copied, into the mapped path.
	for _, c := range []struct{ from, to string }{{"Inbox/Invoices", "Finance/Invoices 2024"}, {"Inbox", "Inbox"}} {
		want := 0
		for _, it := range src.Folder(c.from).Items() {
			if !it.Received.Before(mustDate(t, "2024-01-01")) {
				want++
			}
		}
		if got := len(tgt.Messages(c.to)); got != want {
			t.Errorf("%s -> %s: %d messages, want %d (received since 2024-01-01)", c.from, c.to, got, want)
		}
	}
	if !strings.Contains(out.String(), "Finance/Invoices 2024") && !strings.Contains(out.String(), "Inbox/Invoices") {
		t.Errorf("summary does not show the mapped folder:\n%s", out.String())
	}
}

// TestMaxSkippedFailsTheMailbox: the 160 MB item of the default scenario is
// skipped; --max-skipped 0 turns that into a failed mailbox (exit 1), while
// the default reports it and exits 3.
func TestMaxSkippedFailsTheMailbox(t *testing.T) {
	if testing.Short() {
		t.Skip("copies a 40 MB item")
	}
	dir := t.TempDir()
	l, err := lab.Start(context.Background(), lab.Options{Dir: dir, Ephemeral: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	list := filepath.Join(dir, "dan.csv")
	if err := os.WriteFile(list, []byte("EmailAddress,TargetAddress\ndan@contoso.com,dan@contoso.onmicrosoft.com\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := run(t, "copy", "--config", l.ConfigPath, "--mailboxes", list, "--max-skipped", "0")
	if code != ExitFailed || !strings.Contains(out, "too many items skipped: 1 skipped, over --max-skipped 0") {
		t.Errorf("--max-skipped 0: exit %d\n%s\n%s", code, out, stderr)
	}
	code, out, _ = run(t, "copy", "--config", l.ConfigPath, "--mailboxes", list)
	if code != ExitSkipped || !strings.Contains(out, "too large for the target") {
		t.Errorf("default: exit %d, want %d\n%s", code, ExitSkipped, out)
	}
}

func mustDate(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse("2006-01-02", s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestCopyFolderRefusedFailsThatFolderOnly reproduces a permanent HTTP 400
// on a folder create ("The folder display name is missing."), which was
// retried as transient and then failed the whole mailbox with 0 copied:
// now it fails that folder at the first answer, the other folders are
// copied, and the command exits 3 with the folder named in the summary.
func TestCopyFolderRefusedFailsThatFolderOnly(t *testing.T) {
	l, _ := startSmallLab(t, lab.Options{})
	before := l.Graph.Requests()
	l.Graph.Inject(graphtest.Fault{Kind: graphtest.FaultAnswer, Count: 1, Method: "POST", Path: "/childFolders", Status: 400,
		Body: `{"error":{"code":"ErrorInvalidRequest","message":"The folder display name is missing."}}`})
	var out, errb bytes.Buffer
	g := &globalOptions{ConfigPath: l.ConfigPath, io: Streams{Out: &out, Err: &errb}, logger: logging.Discard()}
	err := copyRun(context.Background(), &copyOptions{g: g, Mailboxes: l.CopyCSV, Direction: "onboarding", MaxSkipped: -1, ItemWorkers: 4})
	if !errors.Is(err, errSkipped) {
		t.Fatalf("copy: %v, want the partial exit (3)\n%s", err, out.String())
	}
	if l.Graph.PendingFaults() != 0 {
		t.Fatal("the fault was not used: no folder was created")
	}
	if !strings.Contains(out.String(), "FAILED: ") || !strings.Contains(out.String(), "The folder display name is missing.") ||
		!strings.Contains(out.String(), "folder(s) failed") {
		t.Errorf("the summary does not name the failed folder and why:\n%s", out.String())
	}
	tgt := l.Graph.Mailbox("alex@fabrikam.onmicrosoft.com")
	if n := len(tgt.Messages("Inbox")); n == 0 {
		t.Errorf("the Inbox was not copied although only one folder failed:\n%s", out.String())
	}
	t.Logf("%d Graph requests; summary:\n%s", l.Graph.Requests()-before, out.String())
}

// TestDryRunPredictsTheCopy reproduces `copy --dry-run` saying WOULD SKIP 0
// for a mailbox whose real copy then skipped a 160 MB item: the dry run's
// plan (items, skips and their reasons) is now what the copy does.
func TestDryRunPredictsTheCopy(t *testing.T) {
	if testing.Short() {
		t.Skip("copies a 40 MB item")
	}
	dir := t.TempDir()
	l, err := lab.Start(context.Background(), lab.Options{Dir: dir, Ephemeral: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	list := filepath.Join(dir, "dan.csv")
	if err := os.WriteFile(list, []byte("EmailAddress,TargetAddress\ndan@contoso.com,dan@contoso.onmicrosoft.com\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// FOLDERS TO CREATE, ITEMS TO COPY, SIZE (a number and a unit), WOULD SKIP, RESULT.
	row := regexp.MustCompile(`(?m)^dan@contoso\.com +dan@contoso\.onmicrosoft\.com +(\d+) +(\d+) +\S+ \S+ +(\d+) +(.*)$`)
	code, plan, stderr := run(t, "copy", "--config", l.ConfigPath, "--mailboxes", list, "--dry-run")
	m := row.FindStringSubmatch(plan)
	// A plan with skips exits 3, as the copy will.
	if code != ExitSkipped || m == nil {
		t.Fatalf("dry run: exit %d\n%s%s", code, plan, stderr)
	}
	toCopy, wouldSkip, reason := m[2], m[3], m[4]
	code, out, stderr := run(t, "copy", "--config", l.ConfigPath, "--mailboxes", list)
	// COPIED, SIZE, READ UPDATES, SKIPPED, DURATION, RESULT.
	done := regexp.MustCompile(`(?m)^dan@contoso\.com +dan@contoso\.onmicrosoft\.com +(\d+) +\S+ \S+ +\d+ +(\d+) +\S+ +(.*)$`).FindStringSubmatch(out)
	if code != ExitSkipped || done == nil {
		t.Fatalf("copy: exit %d\n%s%s", code, out, stderr)
	}
	if wouldSkip != "1" || done[2] != wouldSkip || done[1] != toCopy {
		t.Errorf("dry run: %s to copy, %s to skip; copy: %s copied, %s skipped\n%s\n%s", toCopy, wouldSkip, done[1], done[2], plan, out)
	}
	if !strings.Contains(reason, "too large for the target (limit 150 MB)") || !strings.Contains(done[3], "too large for the target (limit 150 MB)") {
		t.Errorf("reasons differ or miss the limit:\ndry run: %s\ncopy:    %s", reason, done[3])
	}
}
