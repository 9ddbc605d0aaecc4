package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestDeltaPassRehearsedInTheLab rehearses a delta pass as an engineer
// does with three terminals: `exmigrate lab` runs, a first copy moves the
// mailbox, `exmigrate lab change` plays its user (50 new messages, 10 read,
// 5 moved to a new folder, 5 deleted, a folder renamed) and expires the
// sync states, and
// the second copy gives the documented outcome: the 50 new and the 5
// moved messages copied (a moved message is new in its new folder), the
// 10 read states carried, nothing deleted on the target (the 5 deleted
// and the 5 moved-away copies stay there, noted as deleted at the
// source), the expired sync state resynced without a write. `exmigrate
// lab writes` and the lab's last words count the writes Graph received.
func TestDeltaPassRehearsedInTheLab(t *testing.T) {
	if testing.Short() {
		t.Skip("starts several processes; skipped with -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()
	started, stop := startLabProcess(ctx, t, dir, filepath.Join("..", "..", "testdata", "lab", "small.yaml"))
	if !strings.Contains(started, "exmigrate lab change --dir") {
		t.Errorf("the lab does not say how to change it:\n%s", started)
	}
	cfg, list := filepath.Join(dir, "config.yaml"), filepath.Join(dir, "wave1.csv")
	run := func(want int, args ...string) string {
		t.Helper()
		out, err := command(ctx, args...).CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != want {
			t.Fatalf("exmigrate %s: exit %d, want %d\n%s", strings.Join(args, " "), code, want, out)
		}
		return string(out)
	}
	run(ExitOK, "copy", "--config", cfg, "--mailboxes", list, "--verbose")
	if out := run(ExitOK, "lab", "writes", "--dir", dir); !strings.Contains(out, "EWS 0, Graph 46") {
		t.Errorf("after the first pass (45 messages, 1 folder): %s", out)
	}

	const alex = "alex@fabrikam.com"
	for _, step := range []struct {
		args []string
		want string
	}{
		{[]string{"--add", "50", "--read", "10"}, `onprem +alex@fabrikam\.com +Inbox +add +50 of 50\n.*read +10 of 10`},
		{[]string{"--folder", "Sent Items", "--move", "5", "--to", "Inbox/Moved"}, `Sent Items +move +5 of 5 to Inbox/Moved`},
		{[]string{"--folder", "Inbox/Invoices", "--delete", "5", "--rename-folder", "Bills", "--expire"}, `delete +5 of 5\n.*rename-folder +renamed to Bills\n.*expire +sync states expired`},
	} {
		out := run(ExitOK, append([]string{"lab", "change", "--dir", dir, "--mailbox", alex}, step.args...)...)
		if !regexp.MustCompile(step.want).MatchString(out) {
			t.Errorf("lab change %v: output does not match %s:\n%s", step.args, step.want, out)
		}
	}
	if out := run(ExitUsage, "lab", "change", "--dir", dir, "--mailbox", alex, "--move", "1"); !strings.Contains(out, "--move needs --to") {
		t.Errorf("--move without --to: %s", out)
	}
	if out := run(ExitFailed, "lab", "change", "--dir", dir, "--mailbox", "nobody@fabrikam.com", "--add", "1"); !strings.Contains(out, "no mailbox nobody@fabrikam.com") {
		t.Errorf("an unknown mailbox: %s", out)
	}

	out := run(ExitOK, "copy", "--config", cfg, "--mailboxes", list, "--verbose")
	for _, re := range []string{
		// mailbox, target, copied, bytes, read updates, skipped
		`alex@fabrikam\.com +alex@fabrikam\.onmicrosoft\.com +55 +\S+ \S+ +10 +0 `,
		`(?m)^alex@fabrikam\.com +Inbox +80 +80 +50 +0 *$`,
		`(?m)^alex@fabrikam\.com +Inbox/Moved +5 +5 +5 +0 *$`,
		// Renamed at the source: the copy follows it into the target folder
		// its items were copied to, instead of an empty new one.
		`(?m)^alex@fabrikam\.com +Inbox/Bills +0 +5 +0 +0 +target keeps 5 item\(s\) deleted at the source`,
		`(?m)^alex@fabrikam\.com +Sent Items +5 +10 +0 +0 +target keeps 5 item\(s\) deleted at the source`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("the delta pass's output does not match %s:\n%s", re, out)
		}
	}
	// 55 creates, 10 read updates, 1 folder.
	if w := run(ExitOK, "lab", "writes", "--dir", dir); !strings.Contains(w, "EWS 0, Graph 112") {
		t.Errorf("after the delta pass: %s", w)
	}
	if last := stop(); !strings.Contains(last, "writes received since the lab started: EWS 0, Graph 112") {
		t.Errorf("the lab's last words do not count the writes:\n%s", last)
	}
}
