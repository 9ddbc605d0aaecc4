package wavestatus

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/engine"
	"github.com/exmigrate/exmigrate/internal/state"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// t0 is the fixture's clock for everything the test writes.
var t0 = time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)

// hostile is markup and a formula in every text a state file holds that
// came from a mailbox or a server: the page must show it as text, and the
// CSV must not run it.
const hostile = `=HYPERLINK("x")<img src=x onerror="document.documentElement.setAttribute('data-pwned','1')">`

// fixture writes a state file with one job in each state and returns it
// open for writing (a copy in progress) with its path.
func fixture(t testing.TB) (*state.SQLite, string) {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := state.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	type item struct {
		folder, outcome, reason, subject string
		size                             int64
	}
	jobs := []struct {
		addr, status string
		lease        time.Duration // > 0 a live lease, < 0 an expired one
		err          string
		folders      map[string][2]int64 // id -> source, target count
		items        []item
	}{
		{addr: "ann@contoso.com", status: engine.JobDone, folders: map[string][2]int64{"inbox": {2, 2}},
			items: []item{{"inbox", engine.ItemCopied, "", "hello", 1000}, {"inbox", engine.ItemCopied, "", "again", 2000}}},
		{addr: "bob@contoso.com", status: engine.JobPartial, folders: map[string][2]int64{"inbox": {3, 2}, "sent": {1, 1}},
			items: []item{{"inbox", engine.ItemCopied, "", "a", 500}, {"inbox", engine.ItemCopied, "", "b", 500},
				{"inbox", engine.ItemSkipped, "larger than the 150 MB Graph takes", "huge video", 200 << 20}, {"sent", engine.ItemCopied, "", "c", 10}}},
		{addr: "cat@contoso.com", status: engine.JobFailed, err: "EWS: ErrorMailboxMoveInProgress: the mailbox is being moved",
			folders: map[string][2]int64{"inbox": {5, 0}}},
		{addr: "dan@contoso.com", status: engine.JobRunning, lease: time.Hour, folders: map[string][2]int64{"inbox": {4, 1}},
			items: []item{{"inbox", engine.ItemCopied, "", "x", 100}, {"inbox", engine.ItemPending, "", "y", 100}}},
		{addr: "eve@contoso.com", status: engine.JobRunning, lease: -time.Minute, folders: map[string][2]int64{"inbox": {4, 1}},
			items: []item{{"inbox", engine.ItemCopied, "", "x", 100}, {"inbox", engine.ItemPending, "", "y", 100}}},
		{addr: "fay@contoso.com", status: engine.JobNew},
		{addr: "gus@contoso.com", status: engine.JobPartial, err: hostile,
			folders: map[string][2]int64{"inbox": {1, 0}},
			items:   []item{{"inbox", engine.ItemSkipped, hostile, hostile, 1}}},
	}
	for n, j := range jobs {
		key := engine.JobKey{SourceAddress: j.addr, SourceLocation: "onprem", TargetAddress: j.addr, TargetLocation: "cloud"}
		rec, err := s.Job(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		rec.Status, rec.LastError = j.status, j.err
		if j.status != engine.JobNew {
			rec.LastStart = t0.Add(time.Duration(n) * time.Minute)
		}
		if j.status != engine.JobNew && j.status != engine.JobRunning {
			rec.Passes, rec.LastEnd = 1, rec.LastStart.Add(30*time.Second)
		}
		if err := s.PutJob(ctx, rec); err != nil {
			t.Fatal(err)
		}
		for id, c := range j.folders {
			path := map[string]string{"inbox": "Inbox", "sent": "Sent Items"}[id]
			if j.addr == "gus@contoso.com" {
				path = hostile
			}
			if err := s.PutFolder(ctx, engine.FolderRecord{JobID: rec.ID, SourceFolderID: id, SourcePath: path, TargetPath: path,
				SourceCount: c[0], TargetCount: c[1], Updated: t0}); err != nil {
				t.Fatal(err)
			}
		}
		for i, it := range j.items {
			r := engine.ItemRecord{JobID: rec.ID, SourceID: j.addr + string(rune('a'+i)), SourceFolderID: it.folder, Outcome: it.outcome,
				Reason: it.reason, Subject: it.subject, SizeBytes: it.size, Kind: "mail", Updated: t0.Add(time.Duration(i) * time.Second)}
			if it.outcome == engine.ItemCopied {
				r.TargetItemID = "t-" + r.SourceID
			}
			if err := s.PutItem(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		if j.lease != 0 {
			owner := engine.Owner{Token: "never-shown-" + j.addr, Host: "worker1", PID: 4242, Since: t0}
			if _, err := s.AcquireLease(ctx, rec.ID, owner, j.lease); err != nil {
				t.Fatal(err)
			}
		}
	}
	return s, path
}

// stable fixes what the fixture cannot: the clock of a lease's expiry.
func stable(w *Wave) *Wave {
	w.ReadAt = t0.Add(time.Hour)
	w.StateFile = "state.db"
	for i := range w.Jobs {
		if o := w.Jobs[i].Owner; o != nil {
			o.Expires = t0.Add(2 * time.Hour)
		}
	}
	return w
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}
