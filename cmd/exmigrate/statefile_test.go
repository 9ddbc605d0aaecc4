package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/ews/ewstest"
	"github.com/exmigrate/exmigrate/internal/lab"
)

// sideFiles are the files SQLite keeps beside a database while it is open.
var sideFiles = []string{"-wal", "-shm", "-journal"}

// TestReportNeverWritesTheState: report --copy-results reads the state a
// copy wrote; on a missing, empty or damaged file it fails with a clear
// error and leaves the file exactly as it was (bytes and modification
// time), creating nothing; on a good file it changes nothing either.
func TestReportNeverWritesTheState(t *testing.T) {
	in := filepath.Join("..", "..", "reports", "testdata", "assessment.json")
	old := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name    string
		content []byte // nil: no file
		good    bool   // a state file a copy wrote
		code    int
		want    []string
	}{
		{name: "missing", code: ExitUsage, want: []string{"--copy-results: state: open", "no such file"}},
		{name: "empty", content: []byte{}, code: ExitFailed, want: []string{"the state file is empty (0 bytes)",
			"restore it from a backup", `read "Losing the state file" in the README`}},
		{name: "not SQLite", content: bytes.Repeat([]byte("damaged "), 1000), code: ExitFailed, want: []string{"not a SQLite database",
			"restore it from a backup", `read "Losing the state file" in the README`}},
		{name: "a copy's state", good: true, code: ExitOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "state.db")
			switch {
			case tt.good:
				writeGoodState(t, path)
			case tt.content != nil:
				if err := os.WriteFile(path, tt.content, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			var before []byte
			if tt.content != nil || tt.good {
				if err := os.Chtimes(path, old, old); err != nil {
					t.Fatal(err)
				}
				before, _ = os.ReadFile(path)
			}
			code, out, stderr := run(t, "report", "--in", in, "--copy-results", path, "--format", "json", "--out", filepath.Join(dir, "report"))
			if code != tt.code {
				t.Errorf("exit %d, want %d\n%s%s", code, tt.code, out, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr does not say %q:\n%s", w, stderr)
				}
			}
			fi, err := os.Stat(path)
			switch {
			case tt.content == nil && !tt.good:
				if err == nil {
					t.Errorf("report created %s", path)
				}
			case err != nil:
				t.Fatal(err)
			default:
				if after, _ := os.ReadFile(path); !bytes.Equal(after, before) || !fi.ModTime().Equal(old) {
					t.Errorf("report changed the state file: %d bytes, modified %v; was %d bytes, %v", len(after), fi.ModTime(), len(before), old)
				}
			}
			if !tt.good {
				for _, side := range sideFiles {
					if _, err := os.Stat(path + side); err == nil {
						t.Errorf("report created %s%s", path, side)
					}
				}
			}
		})
	}
}

// writeGoodState writes a state file as a copy leaves it.
func writeGoodState(t *testing.T, path string) {
	t.Helper()
	l, _ := startSmallLab(t, lab.Options{})
	code, out, stderr := run(t, "copy", "--config", l.ConfigPath, "--mailboxes", l.CopyCSV, "--state", path,
		"--audit-log", filepath.Join(filepath.Dir(path), "audit.jsonl"))
	if code != ExitOK {
		t.Fatalf("copy: exit %d\n%s%s", code, out, stderr)
	}
}

// TestCopyRefusesAnEmptyStateFile: copy with an empty state file writes
// nothing to the target and says how to recover without duplicates.
func TestCopyRefusesAnEmptyStateFile(t *testing.T) {
	l, dir := startSmallLab(t, lab.Options{})
	path := filepath.Join(dir, "empty.db")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	writes := l.Graph.Writes()
	code, out, stderr := run(t, "copy", "--config", l.ConfigPath, "--mailboxes", l.CopyCSV, "--state", path)
	if code != ExitFailed {
		t.Errorf("exit %d, want %d\n%s%s", code, ExitFailed, out, stderr)
	}
	for _, w := range []string{"the state file is empty (0 bytes)", "restore it from a backup taken after the last copy pass",
		`read "Losing the state file" in the README before you run copy with a new state file`} {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr does not say %q:\n%s", w, stderr)
		}
	}
	if n := l.Graph.Writes() - writes; n != 0 {
		t.Errorf("copy wrote %d times to the target", n)
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() != 0 {
		t.Errorf("the empty state file became %v %v", fi, err)
	}
}

// TestStateRemediesAsDocumented pins what state.Remedy and the README's
// "Losing the state file" say a remedy does. A new state file: the next
// pass finds what the target holds by its stamps and writes nothing again.
// A backup older than the last pass: that pass's items are written again
// (its folder records say the target folders were listed already). When
// the engine changes either, this test fails: change the remedy and the
// README with it.
func TestStateRemediesAsDocumented(t *testing.T) {
	l, dir := startSmallLab(t, lab.Options{})
	const target = "alex@fabrikam.onmicrosoft.com"
	inbox := func() int { return len(l.Graph.Mailbox(target).Messages("Inbox")) }
	copyWith := func(state string) (writes int) {
		t.Helper()
		before := l.Graph.Writes()
		code, out, stderr := run(t, "copy", "--config", l.ConfigPath, "--mailboxes", l.CopyCSV, "--state", filepath.Join(dir, state))
		if code != ExitOK {
			t.Fatalf("copy with %s: exit %d\n%s%s", state, code, out, stderr)
		}
		return int(l.Graph.Writes() - before)
	}
	fileCopy := func(from, to string) {
		t.Helper()
		data, err := os.ReadFile(filepath.Join(dir, from))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, to), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	copyWith("state.db")
	first := inbox()
	fileCopy("state.db", "backup.db") // no copy runs: the WAL is in the file
	src := l.EWS.AddMailbox("alex@fabrikam.com").Folder("Inbox")
	for _, subject := range []string{"after the backup 1", "after the backup 2"} {
		src.AddItem(ewstest.Item{Subject: subject, Received: time.Now(), Sent: time.Now(),
			MIME: []byte("From: ann@fabrikam.com\r\nTo: alex@fabrikam.com\r\nSubject: " + subject + "\r\n\r\nbody\r\n")})
	}
	copyWith("state.db")
	if got := inbox(); got != first+2 {
		t.Fatalf("the pass after the backup: Inbox holds %d, want %d", got, first+2)
	}

	// A dry run with the new state file says so first: nothing to copy.
	code, out, stderr := run(t, "copy", "--config", l.ConfigPath, "--mailboxes", l.CopyCSV, "--state", filepath.Join(dir, "new.db"), "--dry-run")
	if code != ExitOK || !regexp.MustCompile(`(?m)^alex@fabrikam.com +`+target+` +0 +0 `).MatchString(out) {
		t.Errorf("dry run with a new state file: exit %d\n%s%s", code, out, stderr)
	}
	if n := copyWith("new.db"); n != 0 || inbox() != first+2 {
		t.Errorf("a new state file: %d writes, Inbox holds %d; want 0 writes and %d", n, inbox(), first+2)
	}
	fileCopy("backup.db", "restored.db")
	// The duplicates are written, and the reconciliation says so: the
	// target holds 2 more than the source, an ERROR, exit 1.
	code, out, stderr = run(t, "copy", "--config", l.ConfigPath, "--mailboxes", l.CopyCSV, "--state", filepath.Join(dir, "restored.db"))
	if code != ExitFailed || !strings.Contains(out, "ERROR: the target holds 2 more than the source") {
		t.Errorf("copy with an old backup: exit %d, want %d with the duplicates flagged\n%s%s", code, ExitFailed, out, stderr)
	}
	if got := inbox(); got != first+4 {
		t.Errorf("a backup older than the last pass: Inbox holds %d, want %d (the last pass's 2 items again)", got, first+4)
	}
}
