package state

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/engine"
)

// The crash test re-runs this test binary as a child that writes records in
// a loop until the parent kills it with SIGKILL, at random points: during
// Open and schema creation, between the pending and the copied record of an
// item, in the middle of a commit.
const (
	crashChildEnv = "EXMIGRATE_STATE_CRASH_CHILD" // the state file the child writes
	crashStartEnv = "EXMIGRATE_STATE_CRASH_START" // the first item index the child writes
)

var crashKey = engine.JobKey{SourceAddress: "crash@contoso.com", SourceLocation: "onprem",
	TargetAddress: "crash@contoso.com", TargetLocation: "cloud"}

// crashItem is item i as the child writes it: every field derives from i, so
// the parent can tell a complete record from a torn one.
func crashItem(job int64, i int, outcome string) engine.ItemRecord {
	id := fmt.Sprintf("s%07d", i)
	r := engine.ItemRecord{
		JobID: job, SourceID: id,
		SourceItemID:   strings.Repeat("AAMkAGI2"+id, 12), // Exchange-sized ids
		SourceFolderID: fmt.Sprintf("folder-%d", i%5),
		SizeBytes:      int64(i) * 7,
		IsRead:         i%2 == 0,
		Outcome:        outcome,
		Updated:        time.Unix(1_700_000_000, int64(i)).UTC(),
	}
	if outcome == engine.ItemCopied {
		r.TargetItemID = strings.Repeat("AQMkADAw"+id, 12)
	}
	return r
}

// crashFolder is the folder state after item i: a sync state of several
// pages, so that a commit spans overflow pages.
func crashFolder(job int64, i int) engine.FolderRecord {
	return engine.FolderRecord{JobID: job, SourceFolderID: fmt.Sprintf("folder-%d", i%5),
		SourcePath: fmt.Sprintf("/Inbox/%d", i%5), TargetFolderID: fmt.Sprintf("target-%d", i%5),
		SyncState: strings.Repeat(fmt.Sprintf("sync%07d|", i), 1200), SourceCount: int64(i),
		Updated: time.Unix(1_700_000_000, int64(i)).UTC()}
}

func crashChild(path string) error {
	ctx := context.Background()
	start, err := strconv.Atoi(os.Getenv(crashStartEnv))
	if err != nil {
		return err
	}
	s, err := Open(ctx, path)
	if err != nil {
		return err
	}
	defer s.Close()
	job, err := s.Job(ctx, crashKey)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(30 * time.Second) // the parent kills long before; this bounds a lost child
	for i := start; time.Now().Before(deadline); i++ {
		if err := s.PutItem(ctx, crashItem(job.ID, i, engine.ItemPending)); err != nil {
			return err
		}
		if err := s.PutItem(ctx, crashItem(job.ID, i, engine.ItemCopied)); err != nil {
			return err
		}
		if i%3 == 0 {
			if err := s.PutFolder(ctx, crashFolder(job.ID, i)); err != nil {
				return err
			}
		}
		// Acknowledged only after the commit returned: the parent holds the
		// store to every acknowledged item.
		if _, err := fmt.Printf("ack %d\n", i); err != nil {
			return err
		}
	}
	return nil
}

func TestCrashSafety(t *testing.T) {
	if path := os.Getenv(crashChildEnv); path != "" {
		if err := crashChild(path); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(3)
		}
		return
	}
	if testing.Short() {
		t.Skip("runs child processes")
	}
	path := filepath.Join(t.TempDir(), "state.db")
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	next, acked := 0, -1
	const rounds = 8
	for round := range rounds {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashSafety$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+path, crashStartEnv+"="+strconv.Itoa(next))
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Kill points: the first round at a random moment after start, so
		// inside Open or the schema's creation; the others after a random
		// number of acknowledged items plus a random few hundred
		// microseconds, so inside a commit as often as between two. Counting
		// acknowledgements rather than time keeps every round useful on a
		// slow or loaded machine (and under -race).
		kill := func() { cmd.Process.Signal(syscall.SIGKILL) }
		var timer *time.Timer
		target := -1
		if round == 0 {
			timer = time.AfterFunc(time.Duration(rng.IntN(40))*time.Millisecond, kill)
		} else {
			target = 1 + rng.IntN(300)
		}
		sc := bufio.NewScanner(out)
		for n := 0; sc.Scan(); {
			var i int
			if _, err := fmt.Sscanf(sc.Text(), "ack %d", &i); err != nil {
				t.Fatalf("child said %q", sc.Text())
			}
			acked = max(acked, i)
			if n++; n == target {
				timer = time.AfterFunc(time.Duration(rng.IntN(500))*time.Microsecond, kill)
			}
		}
		err = cmd.Wait()
		if timer != nil {
			timer.Stop()
		}
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
			t.Fatalf("round %d: child ended by itself (%v): %s", round, err, stderr.String())
		}
		t.Logf("round %d: killed after %d acknowledgements (target %d), %d items acknowledged in all", round, acked+1-next, target, acked+1)
		next = acked + 1
	}

	ctx := context.Background()
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("reopen after kills: %v", err)
	}
	defer s.Close()
	var check string
	if err := s.write.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check = %q %v", check, err)
	}
	var fkErrors int
	if err := s.write.QueryRowContext(ctx, `SELECT count(*) FROM pragma_foreign_key_check`).Scan(&fkErrors); err != nil || fkErrors != 0 {
		t.Fatalf("foreign_key_check: %d rows %v", fkErrors, err)
	}
	if acked < 0 {
		t.Fatal("no child acknowledged a write")
	}
	job, err := s.Job(ctx, crashKey)
	if err != nil {
		t.Fatal(err)
	}

	// Every acknowledged item is there and copied; every record at all is
	// one the child wrote whole.
	rows, err := s.read.QueryContext(ctx, `SELECT `+itemColumns+` FROM items ORDER BY source_id`)
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for rows.Next() {
		got, err := scanItem(rows)
		if err != nil {
			t.Fatal(err)
		}
		i, err := strconv.Atoi(strings.TrimPrefix(got.SourceID, "s"))
		if err != nil {
			t.Fatalf("item id %q", got.SourceID)
		}
		if want := crashItem(job.ID, i, got.Outcome); got != want {
			t.Fatalf("torn record:\n got %+v\nwant %+v", got, want)
		}
		if i <= acked && got.Outcome != engine.ItemCopied {
			t.Fatalf("item %d was acknowledged as copied but is %s", i, got.Outcome)
		}
		if i != seen {
			t.Fatalf("item %d missing (next on file is %d)", seen, i)
		}
		seen++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if seen <= acked {
		t.Fatalf("%d items on file, %d acknowledged", seen, acked+1)
	}
	folders, err := s.Folders(ctx, job.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range folders {
		if want := crashFolder(job.ID, int(f.SourceCount)); f != want {
			t.Fatalf("torn folder record %q (count %d)", f.SourceFolderID, f.SourceCount)
		}
	}
	// And the file takes writes again.
	if err := s.PutItem(ctx, crashItem(job.ID, seen, engine.ItemCopied)); err != nil {
		t.Fatalf("write after the kills: %v", err)
	}
	t.Logf("%d rounds killed; %d items on file, %d acknowledged, %d folders; integrity ok", rounds, seen, acked+1, len(folders))
}
