package state

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/engine"
)

func jobKey(addr string) engine.JobKey {
	return engine.JobKey{SourceAddress: addr, SourceLocation: "onprem", TargetAddress: addr, TargetLocation: "cloud"}
}

// setJob gives a job a status and the time of its last activity.
func setJob(t *testing.T, s *SQLite, id int64, status string, at time.Time) {
	t.Helper()
	rec := engine.JobRecord{ID: id, Status: status, LastStart: at}
	if status != engine.JobRunning && status != engine.JobNew {
		rec.LastEnd = at.Add(time.Second)
	}
	if err := s.PutJob(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
}

func TestLeasesFolderCountsSkipped(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t)
	a, b := newJob(t, s, jobKey("ann@contoso.com")), newJob(t, s, jobKey("bob@contoso.com"))
	owner := engine.Owner{Token: "secret-token", Host: "host1", PID: 42, Since: time.Now().UTC()}
	if _, err := s.AcquireLease(ctx, a, owner, time.Minute); err != nil {
		t.Fatal(err)
	}
	put := func(job int64, id, folder, outcome, reason string, size int64, at time.Time) {
		t.Helper()
		rec := engine.ItemRecord{JobID: job, SourceID: id, SourceFolderID: folder, Outcome: outcome, Reason: reason, SizeBytes: size, Updated: at, Subject: "subject " + id}
		if outcome == engine.ItemCopied {
			rec.TargetItemID = "t-" + id
		}
		if err := s.PutItem(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	put(a, "1", "inbox", engine.ItemCopied, "", 100, t0)
	put(a, "2", "inbox", engine.ItemCopied, "", 50, t0)
	put(a, "3", "inbox", engine.ItemSkipped, "too large", 10, t0.Add(time.Hour))
	put(a, "4", "sent", engine.ItemPending, "", 7, t0)
	put(a, "5", "sent", engine.ItemSkipped, "corrupt", 1, t0.Add(2*time.Hour))
	put(b, "1", "inbox", engine.ItemSkipped, "other job", 1, t0)
	if err := s.PutFolder(ctx, engine.FolderRecord{JobID: a, SourceFolderID: "inbox", SourcePath: "Inbox", SourceCount: 3, TargetCount: 2}); err != nil {
		t.Fatal(err)
	}

	// Read through a second, read-only store, as status does beside a copy.
	ro, err := OpenReadOnly(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	wave, err := ro.Wave(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(wave) != 2 || wave[0].ID != a || wave[1].ID != b {
		t.Fatalf("wave = %+v, want jobs %d and %d", wave, a, b)
	}
	l := wave[0].Lease
	if l == nil || l.Owner.Host != "host1" || l.Owner.PID != 42 || l.Owner.Token != "" || !l.Expires.After(time.Now()) {
		t.Fatalf("lease = %+v; want one held by host1 pid 42, without its token", l)
	}
	if wave[1].Lease != nil {
		t.Errorf("job %d has lease %+v, want none", b, wave[1].Lease)
	}
	fc := map[string]FolderCounts{}
	for _, f := range wave[0].Folders {
		fc[f.SourceFolderID] = f.FolderCounts
	}
	if f := wave[0].Folders[0]; f.SourceFolderID != "inbox" || f.SourcePath != "Inbox" || f.SourceCount != 3 || f.TargetCount != 2 {
		t.Errorf("first folder = %+v, want the recorded Inbox first, then folders known only from their items", f)
	}
	want := map[string]FolderCounts{"inbox": {Copied: 2, CopiedBytes: 150, Skipped: 1}, "sent": {Pending: 1, Skipped: 1}}
	if len(fc) != len(want) || fc["inbox"] != want["inbox"] || fc["sent"] != want["sent"] {
		t.Errorf("folder counts = %+v, want %+v", fc, want)
	}
	if len(wave[1].Folders) != 1 || wave[1].Folders[0].Skipped != 1 {
		t.Errorf("job %d folders = %+v, want one with one skipped item", b, wave[1].Folders)
	}
	for _, tt := range []struct {
		limit int
		want  []string
	}{{0, nil}, {1, []string{"5"}}, {10, []string{"5", "3"}}} {
		items, err := ro.RecentSkipped(ctx, a, tt.limit)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, it := range items {
			got = append(got, it.SourceID)
			if it.Reason == "" || it.Subject == "" {
				t.Errorf("skipped item %+v has no reason or subject", it)
			}
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("RecentSkipped(limit %d) = %v, want %v (latest first)", tt.limit, got, tt.want)
		}
	}
	var all []string
	err = ro.SkippedItems(ctx, a, func(it engine.ItemRecord) error { all = append(all, it.SourceID+"="+it.Reason); return nil })
	if err != nil || !slices.Equal(all, []string{"3=too large", "5=corrupt"}) {
		t.Errorf("SkippedItems = %v, %v; want both of the job's, by source id", all, err)
	}
	// A read-only store refuses to prune for real, but lists.
	if _, err := ro.Prune(ctx, PruneRule{Completed: true, Before: time.Now()}); err == nil {
		t.Error("a read-only store pruned")
	}
	if _, err := ro.Prune(ctx, PruneRule{Completed: true, Before: time.Now(), DryRun: true}); err != nil {
		t.Errorf("dry run on a read-only store: %v", err)
	}
}

func TestPrune(t *testing.T) {
	ctx := context.Background()
	old := time.Now().Add(-60 * 24 * time.Hour)
	recent := time.Now().Add(-time.Hour)
	type job struct {
		addr   string
		status string
		at     time.Time
		leased bool // a live lease
		stale  bool // a lease that expired
	}
	jobs := []job{
		{"done-old@contoso.com", engine.JobDone, old, false, false},
		{"done-recent@contoso.com", engine.JobDone, recent, false, false},
		{"done-old-leased@contoso.com", engine.JobDone, old, true, false},
		{"failed-old@contoso.com", engine.JobFailed, old, false, false},
		{"partial-old@contoso.com", engine.JobPartial, old, false, false},
		{"interrupted-old@contoso.com", engine.JobRunning, old, false, true},
		{"running-old@contoso.com", engine.JobRunning, old, true, false},
		{"failed-recent@contoso.com", engine.JobFailed, recent, false, false},
	}
	tests := []struct {
		name string
		rule PruneRule
		want []string
	}{
		{"completed", PruneRule{Completed: true}, []string{"done-old@contoso.com"}},
		{"abandoned", PruneRule{Abandoned: true}, []string{"failed-old@contoso.com", "partial-old@contoso.com", "interrupted-old@contoso.com"}},
		{"both", PruneRule{Completed: true, Abandoned: true}, []string{"done-old@contoso.com", "failed-old@contoso.com", "partial-old@contoso.com", "interrupted-old@contoso.com"}},
	}
	for _, tt := range tests {
		for _, dry := range []bool{true, false} {
			name := tt.name
			if dry {
				name += " dry run"
			}
			t.Run(name, func(t *testing.T) {
				s, _ := openTemp(t)
				ids := map[string]int64{}
				for _, j := range jobs {
					id := newJob(t, s, jobKey(j.addr))
					ids[j.addr] = id
					setJob(t, s, id, j.status, j.at)
					if err := s.PutItem(ctx, engine.ItemRecord{JobID: id, SourceID: "x", SourceFolderID: "f", Outcome: engine.ItemPending}); err != nil {
						t.Fatal(err)
					}
					if j.leased || j.stale {
						ttl := time.Hour
						if j.stale {
							ttl = -time.Minute
						}
						if _, err := s.AcquireLease(ctx, id, engine.Owner{Token: j.addr, Host: "h", PID: 1}, ttl); err != nil {
							t.Fatal(err)
						}
					}
				}
				rule := tt.rule
				rule.Before, rule.DryRun = time.Now().Add(-30*24*time.Hour), dry
				got, err := s.Prune(ctx, rule)
				if err != nil {
					t.Fatal(err)
				}
				var addrs []string
				for _, j := range got {
					addrs = append(addrs, j.Key.SourceAddress)
				}
				if !slices.Equal(addrs, tt.want) {
					t.Fatalf("pruned %v, want %v", addrs, tt.want)
				}
				left, err := s.Jobs(ctx)
				if err != nil {
					t.Fatal(err)
				}
				wantLeft := len(jobs) - len(tt.want)
				if dry {
					wantLeft = len(jobs)
				}
				if len(left) != wantLeft {
					t.Errorf("%d jobs left, want %d", len(left), wantLeft)
				}
				if !dry {
					// The job's rows went with it.
					for _, a := range tt.want {
						c, err := s.Counts(ctx, ids[a])
						if err != nil || c.Pending != 0 {
							t.Errorf("items of pruned job %s: %+v, %v", a, c, err)
						}
					}
				}
			})
		}
	}
}

func TestPruneRefusesNoRule(t *testing.T) {
	s, _ := openTemp(t)
	if _, err := s.Prune(context.Background(), PruneRule{Before: time.Now()}); !errors.Is(err, ErrNoPruneRule) {
		t.Errorf("err = %v, want ErrNoPruneRule", err)
	}
	if _, err := s.Prune(context.Background(), PruneRule{Completed: true}); err == nil {
		t.Error("a rule without an age pruned")
	}
}

// TestPruneManyItems removes a job of more items than one slice, and
// leaves the other jobs' items alone.
func TestPruneManyItems(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	old := time.Now().Add(-48 * time.Hour)
	big, keep := newJob(t, s, jobKey("big@contoso.com")), newJob(t, s, jobKey("keep@contoso.com"))
	setJob(t, s, big, engine.JobDone, old)
	setJob(t, s, keep, engine.JobDone, time.Now())
	for i := range 2*pruneSlice + 7 {
		if err := s.PutItem(ctx, engine.ItemRecord{JobID: big, SourceID: fmt.Sprint(i), SourceFolderID: "f", Outcome: engine.ItemPending}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PutItem(ctx, engine.ItemRecord{JobID: keep, SourceID: "1", SourceFolderID: "f", Outcome: engine.ItemPending}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Prune(ctx, PruneRule{Completed: true, Before: time.Now().Add(-time.Hour)})
	if err != nil || len(got) != 1 || got[0].ID != big {
		t.Fatalf("pruned %+v, %v; want the big job", got, err)
	}
	var left, leases int64
	if err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM items`).Scan(&left); err != nil || left != 1 {
		t.Errorf("%d item records left (%v), want the other job's 1", left, err)
	}
	if err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM leases`).Scan(&leases); err != nil || leases != 0 {
		t.Errorf("%d leases left (%v), want none: prune's own went with the job", leases, err)
	}
}

func TestWaveJob(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	a, b := newJob(t, s, jobKey("ann@contoso.com")), newJob(t, s, jobKey("bob@contoso.com"))
	for _, id := range []int64{a, b} {
		if err := s.PutItem(ctx, engine.ItemRecord{JobID: id, SourceID: "1", SourceFolderID: "inbox", Outcome: engine.ItemSkipped, Reason: "r"}); err != nil {
			t.Fatal(err)
		}
	}
	got, found, err := s.WaveJob(ctx, b)
	if err != nil || !found || got.ID != b || len(got.Folders) != 1 || got.Folders[0].Skipped != 1 {
		t.Fatalf("WaveJob(%d) = %+v, %v, %v", b, got, found, err)
	}
	for _, id := range []int64{0, -1, 99} {
		if _, found, err := s.WaveJob(ctx, id); found || err != nil {
			t.Errorf("WaveJob(%d): found %v, err %v; want not found", id, found, err)
		}
	}
	// The job's item counts are read through the index, not by a scan.
	var plan string
	rows, err := s.read.QueryContext(ctx, `EXPLAIN QUERY PLAN SELECT job_id, source_folder_id, outcome, count(*), sum(size_bytes) FROM items WHERE job_id = ? GROUP BY job_id, source_folder_id, outcome`, b)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan += detail + "\n"
	}
	rows.Close()
	if !strings.Contains(plan, "USING INDEX") {
		t.Errorf("the drill-down scans the items:\n%s", plan)
	}
}
