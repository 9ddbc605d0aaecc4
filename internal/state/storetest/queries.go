package storetest

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/engine"
	"github.com/exmigrate/exmigrate/internal/state/records"
	"github.com/exmigrate/exmigrate/mailbox"
)

// QueryStore is a store with the queries the commands use beyond
// engine.Store: the wave's overview (status, serve), the report's skipped
// items, prune, and finalize's sign-offs.
type QueryStore interface {
	engine.Store
	Wave(ctx context.Context) ([]records.JobSummary, error)
	WaveJob(ctx context.Context, jobID int64) (records.JobSummary, bool, error)
	RecentSkipped(ctx context.Context, jobID int64, limit int) ([]engine.ItemRecord, error)
	SkippedItems(ctx context.Context, jobID int64, fn func(engine.ItemRecord) error) error
	Prune(ctx context.Context, rule records.PruneRule) ([]engine.JobRecord, error)
	PutSignOff(ctx context.Context, so records.SignOff) error
	SignOffs(ctx context.Context) (map[int64]records.SignOff, error)
}

// QueryOpener returns a new, empty store, and a function that opens the
// same data read-only (as status, serve and report do beside copies).
// The suite closes every store it is given.
type QueryOpener func(t *testing.T) (store QueryStore, readOnly func(t *testing.T) QueryStore)

// RunQueries runs the suite of the commands' queries, each as its own
// subtest on its own store.
func RunQueries(t *testing.T, open QueryOpener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s QueryStore, ro func(t *testing.T) QueryStore)
	}{
		{"Wave", testWave},
		{"WaveJob", testWaveJob},
		{"RecentSkipped", testRecentSkipped},
		{"SkippedItems", testSkippedItems},
		{"PruneRules", testPruneRules},
		{"Prune", testPrune},
		{"SignOffs", testSignOffs},
		{"ReadOnly", testReadOnly},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, ro := open(t)
			t.Cleanup(func() { _ = s.Close() })
			tt.fn(t, s, func(t *testing.T) QueryStore {
				t.Helper()
				r := ro(t)
				t.Cleanup(func() { _ = r.Close() })
				return r
			})
		})
	}
}

func putFolder(t *testing.T, s engine.Store, rec engine.FolderRecord) {
	t.Helper()
	if err := s.PutFolder(context.Background(), rec); err != nil {
		t.Fatalf("PutFolder(%s): %v", rec.SourceFolderID, err)
	}
}

func item(job int64, id, folder, outcome string, size int64, at time.Time) engine.ItemRecord {
	r := engine.ItemRecord{JobID: job, SourceID: id, SourceFolderID: folder, Outcome: outcome, SizeBytes: size, Updated: at, Subject: "subject " + id}
	switch outcome {
	case engine.ItemCopied:
		r.TargetItemID = "t-" + id
	case engine.ItemSkipped:
		r.Reason = "too big"
	}
	return r
}

// waveFixture: job 1 with two recorded folders, one known only by its
// items, items of every outcome and an expired lease; job 2 empty, with a
// live lease.
func waveFixture(t *testing.T, s QueryStore) (j1, j2 int64, live engine.Owner) {
	t.Helper()
	ctx := context.Background()
	j1, j2 = newJob(t, s, ann), newJob(t, s, mailboxKey(2))
	putFolder(t, s, engine.FolderRecord{JobID: j1, SourceFolderID: "f-inbox", SourcePath: "/Inbox", TargetPath: "/Inbox", SourceCount: 4, TargetCount: 2, Updated: aTime})
	putFolder(t, s, engine.FolderRecord{JobID: j1, SourceFolderID: "f-arch", SourcePath: "/Archive", TargetPath: "/Archive", SourceCount: 1, TargetCount: 1, Updated: aTime})
	for _, r := range []engine.ItemRecord{
		item(j1, "a1", "f-inbox", engine.ItemCopied, 10, aTime),
		item(j1, "a2", "f-inbox", engine.ItemCopied, 20, aTime),
		item(j1, "a3", "f-inbox", engine.ItemPending, 5, aTime),
		item(j1, "a4", "f-inbox", engine.ItemSkipped, 7, aTime),
		item(j1, "b1", "f-arch", engine.ItemCopied, 3, aTime),
		item(j1, "c1", "f-zzz", engine.ItemSkipped, 1, aTime),
		item(j1, "c2", "f-aaa", engine.ItemCopied, 2, aTime),
	} {
		put(t, s, r)
	}
	if _, err := s.AcquireLease(ctx, j1, owner(1), time.Millisecond); err != nil {
		t.Fatal(err)
	}
	live = owner(2)
	if _, err := s.AcquireLease(ctx, j2, live, time.Hour); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond) // job 1's lease expires
	return j1, j2, live
}

type folderLine struct {
	ID, Path                        string
	Copied, Bytes, Pending, Skipped int64
}

func folderLines(fs []records.FolderSummary) []folderLine {
	var out []folderLine
	for _, f := range fs {
		out = append(out, folderLine{f.SourceFolderID, f.SourcePath, f.Copied, f.CopiedBytes, f.Pending, f.Skipped})
	}
	return out
}

func testWave(t *testing.T, s QueryStore, ro func(*testing.T) QueryStore) {
	j1, j2, live := waveFixture(t, s)
	for name, st := range map[string]QueryStore{"writer": s, "read-only": ro(t)} {
		t.Run(name, func(t *testing.T) {
			sums, err := st.Wave(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(sums) != 2 || sums[0].ID != j1 || sums[1].ID != j2 {
				t.Fatalf("Wave = %d jobs %+v, want jobs %d and %d in id order", len(sums), sums, j1, j2)
			}
			// Recorded folders by path, then those known only by items, by id.
			want := []folderLine{
				{"f-arch", "/Archive", 1, 3, 0, 0},
				{"f-inbox", "/Inbox", 2, 30, 1, 1},
				{"f-aaa", "", 1, 2, 0, 0},
				{"f-zzz", "", 0, 0, 0, 1},
			}
			if got := folderLines(sums[0].Folders); !slices.Equal(got, want) {
				t.Errorf("job 1 folders\n got %+v\nwant %+v", got, want)
			}
			if f := sums[0].Folders[1]; f.SourceCount != 4 || f.TargetCount != 2 || !sameTime(f.Updated, aTime) {
				t.Errorf("job 1 inbox record = %+v, want the folder as put", f.FolderRecord)
			}
			// The expired lease is there (interrupted, not running, is the
			// caller's call from Expires); the live one names its owner.
			if l := sums[0].Lease; l == nil || l.Owner.PID != 1 || !l.Expires.Before(time.Now()) {
				t.Errorf("job 1 lease = %+v, want the expired lease of pid 1", l)
			}
			if l := sums[1].Lease; l == nil || l.Owner.Host != live.Host || l.Owner.PID != live.PID || !sameTime(l.Owner.Since, live.Since) ||
				!l.Expires.After(time.Now().Add(50*time.Minute)) {
				t.Errorf("job 2 lease = %+v, want the live lease of %+v", l, live)
			}
			if len(sums[1].Folders) != 0 || sums[1].Key != mailboxKey(2) || sums[1].Status != engine.JobNew {
				t.Errorf("job 2 = %+v, want a new job without folders", sums[1])
			}
		})
	}
}

func testWaveJob(t *testing.T, s QueryStore, _ func(*testing.T) QueryStore) {
	j1, j2, _ := waveFixture(t, s)
	ctx := context.Background()
	all, err := s.Wave(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		id    int64
		found bool
		want  int // index in Wave
	}{
		{"first", j1, true, 0},
		{"second", j2, true, 1},
		{"zero", 0, false, 0},
		{"negative", -1, false, 0},
		{"unknown", j2 + 100, false, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sum, found, err := s.WaveJob(ctx, tc.id)
			if err != nil || found != tc.found {
				t.Fatalf("WaveJob(%d) = found %v, %v; want found %v", tc.id, found, err, tc.found)
			}
			if !found {
				return
			}
			w := all[tc.want]
			if sum.ID != w.ID || !slices.Equal(folderLines(sum.Folders), folderLines(w.Folders)) || (sum.Lease == nil) != (w.Lease == nil) {
				t.Errorf("WaveJob(%d) = %+v, want Wave's row %+v", tc.id, sum, w)
			}
		})
	}
}

func testRecentSkipped(t *testing.T, s QueryStore, _ func(*testing.T) QueryStore) {
	ctx := context.Background()
	j := newJob(t, s, ann)
	other := newJob(t, s, mailboxKey(3))
	t0 := aTime
	for _, r := range []engine.ItemRecord{
		item(j, "s1", "f", engine.ItemSkipped, 1, t0),
		item(j, "s2", "f", engine.ItemSkipped, 1, t0.Add(2*time.Second)),
		item(j, "s4", "f", engine.ItemSkipped, 1, t0.Add(time.Second)),
		item(j, "s3", "f", engine.ItemSkipped, 1, t0.Add(time.Second)),
		item(j, "c1", "f", engine.ItemCopied, 1, t0.Add(time.Hour)),
		item(other, "x1", "f", engine.ItemSkipped, 1, t0.Add(time.Hour)),
	} {
		put(t, s, r)
	}
	tests := []struct {
		limit int
		want  []string
	}{
		{0, nil},
		{-1, nil},
		{1, []string{"s2"}},
		{3, []string{"s2", "s3", "s4"}}, // the latest first; the same time by id
		{10, []string{"s2", "s3", "s4", "s1"}},
	}
	for _, tc := range tests {
		got, err := s.RecentSkipped(ctx, j, tc.limit)
		if err != nil {
			t.Fatalf("RecentSkipped(%d): %v", tc.limit, err)
		}
		var ids []string
		for _, r := range got {
			ids = append(ids, r.SourceID)
			if r.Reason == "" || r.Subject == "" {
				t.Errorf("RecentSkipped: %+v lacks its reason or subject", r)
			}
		}
		if !slices.Equal(ids, tc.want) {
			t.Errorf("RecentSkipped(limit %d) = %v, want %v", tc.limit, ids, tc.want)
		}
	}
}

func testSkippedItems(t *testing.T, s QueryStore, _ func(*testing.T) QueryStore) {
	ctx := context.Background()
	j := newJob(t, s, ann)
	for _, r := range []engine.ItemRecord{
		item(j, "k3", "f2", engine.ItemSkipped, 1, aTime),
		item(j, "k1", "f1", engine.ItemSkipped, 1, aTime.Add(time.Hour)),
		item(j, "k2", "f1", engine.ItemCopied, 1, aTime),
		item(j, "K0", "f1", engine.ItemSkipped, 1, aTime), // ids compare byte by byte: "K" < "k"
		item(j, "k4", "f1", engine.ItemPending, 1, aTime),
	} {
		put(t, s, r)
	}
	if got := collect(t, func(fn func(engine.ItemRecord) error) error { return s.SkippedItems(ctx, j, fn) }); !slices.Equal(got, []string{"K0", "k1", "k3"}) {
		t.Errorf("SkippedItems = %v, want the skipped ones by source id: [K0 k1 k3]", got)
	}
	stop := errors.New("stop")
	n := 0
	err := s.SkippedItems(ctx, j, func(engine.ItemRecord) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Errorf("SkippedItems with fn failing: %d calls, %v; want 1 call and fn's error", n, err)
	}
	if got := collect(t, func(fn func(engine.ItemRecord) error) error { return s.SkippedItems(ctx, j+100, fn) }); len(got) != 0 {
		t.Errorf("SkippedItems of an unknown job = %v, want none", got)
	}
}

// pruneFixture puts one job of each kind; the names are their source
// addresses' local parts.
func pruneFixture(t *testing.T, s QueryStore) (ids map[string]int64, holder engine.Lease) {
	t.Helper()
	ctx := context.Background()
	old := time.Now().Add(-48 * time.Hour)
	ids = map[string]int64{}
	for _, j := range []struct {
		name, status string
		start, end   time.Time
	}{
		{"done-old", engine.JobDone, old.Add(-time.Hour), old},
		{"completed-old", engine.JobCompleted, old, old},
		{"partial-old", engine.JobPartial, old, old},
		{"failed-recent", engine.JobFailed, old, time.Now()},
		{"interrupted-old", engine.JobRunning, old, time.Time{}},
		{"new", engine.JobNew, time.Time{}, time.Time{}},
		{"done-leased", engine.JobDone, old, old},
	} {
		k := engine.JobKey{SourceAddress: j.name + "@contoso.com", SourceLocation: "onprem", TargetAddress: j.name + "@contoso.com", TargetLocation: "cloud"}
		rec, err := s.Job(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		rec.Status, rec.LastStart, rec.LastEnd = j.status, j.start, j.end
		if j.status != engine.JobNew {
			rec.Passes = 1
		}
		if err := s.PutJob(ctx, rec); err != nil {
			t.Fatal(err)
		}
		put(t, s, item(rec.ID, "i1", "f", engine.ItemCopied, 1, old))
		put(t, s, item(rec.ID, "i2", "f", engine.ItemSkipped, 1, old))
		putFolder(t, s, engine.FolderRecord{JobID: rec.ID, SourceFolderID: "f", SourcePath: "/Inbox"})
		ids[j.name] = rec.ID
	}
	var err error
	if holder, err = s.AcquireLease(ctx, ids["done-leased"], owner(7), time.Hour); err != nil {
		t.Fatal(err)
	}
	return ids, holder
}

func jobNames(jobs []engine.JobRecord) []string {
	var out []string
	for _, j := range jobs {
		out = append(out, strings.TrimSuffix(j.Key.SourceAddress, "@contoso.com"))
	}
	return out
}

func testPruneRules(t *testing.T, s QueryStore, _ func(*testing.T) QueryStore) {
	ctx := context.Background()
	pruneFixture(t, s)
	hourAgo, inAnHour := time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	tests := []struct {
		name string
		rule records.PruneRule
		want []string // in id order
		err  string
	}{
		{"completed", records.PruneRule{Completed: true, Before: hourAgo}, []string{"done-old", "completed-old"}, ""},
		{"abandoned", records.PruneRule{Abandoned: true, Before: hourAgo}, []string{"partial-old", "interrupted-old"}, ""},
		{"both", records.PruneRule{Completed: true, Abandoned: true, Before: hourAgo}, []string{"done-old", "completed-old", "partial-old", "interrupted-old"}, ""},
		{"both, everything old enough", records.PruneRule{Completed: true, Abandoned: true, Before: inAnHour},
			[]string{"done-old", "completed-old", "partial-old", "failed-recent", "interrupted-old", "new"}, ""},
		{"older than all", records.PruneRule{Completed: true, Abandoned: true, Before: time.Now().Add(-72 * time.Hour)}, nil, ""},
		{"no kind", records.PruneRule{Before: hourAgo}, nil, "say which jobs to remove"},
		{"no age", records.PruneRule{Completed: true}, nil, "give an age"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.rule.DryRun = true
			got, err := s.Prune(ctx, tc.rule)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Prune = %v, want an error with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if names := jobNames(got); !slices.Equal(names, tc.want) {
				t.Errorf("Prune dry run = %v, want %v", names, tc.want)
			}
		})
	}
	if jobs, err := s.Jobs(ctx); err != nil || len(jobs) != 7 {
		t.Errorf("after dry runs: %d jobs, %v; want all 7", len(jobs), err)
	}
}

func testPrune(t *testing.T, s QueryStore, _ func(*testing.T) QueryStore) {
	ctx := context.Background()
	ids, holder := pruneFixture(t, s)
	if err := s.PutSignOff(ctx, records.SignOff{JobID: ids["completed-old"], Operator: "pat", Skipped: 1, Approved: 1}); err != nil {
		t.Fatal(err)
	}
	// Everything old enough, of every kind: all but the job being copied.
	got, err := s.Prune(ctx, records.PruneRule{Completed: true, Abandoned: true, Before: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if names := jobNames(got); !slices.Equal(names, []string{"done-old", "completed-old", "partial-old", "failed-recent", "interrupted-old", "new"}) {
		t.Errorf("Prune removed %v, want every job but the leased one", names)
	}
	jobs, err := s.Jobs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if names := jobNames(jobs); !slices.Equal(names, []string{"done-leased"}) {
		t.Errorf("left after Prune: %v, want only the job being copied", names)
	}
	for name, id := range ids {
		c, err := s.Counts(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		folders, err := s.Folders(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		kept := name == "done-leased"
		if (c.Copied+c.Skipped > 0) != kept || (len(folders) > 0) != kept {
			t.Errorf("%s: %d items, %d folders after Prune; kept = %v", name, c.Copied+c.Skipped, len(folders), kept)
		}
	}
	if sos, err := s.SignOffs(ctx); err != nil || len(sos) != 0 {
		t.Errorf("sign-offs after Prune = %v, %v; want the pruned job's gone", sos, err)
	}
	// The holder still holds the job it copies.
	if _, err := s.RenewLease(ctx, holder, time.Hour); err != nil {
		t.Errorf("the copier's lease after Prune: %v", err)
	}
	// A job recreated after Prune is new, with nothing of the old one.
	j, err := s.Job(ctx, engine.JobKey{SourceAddress: "done-old@contoso.com", SourceLocation: "onprem", TargetAddress: "done-old@contoso.com", TargetLocation: "cloud"})
	if err != nil || j.Status != engine.JobNew || j.Passes != 0 {
		t.Errorf("a pruned mailbox again = %+v, %v; want a new job", j, err)
	}
}

func testSignOffs(t *testing.T, s QueryStore, ro func(*testing.T) QueryStore) {
	ctx := context.Background()
	job := newJob(t, s, ann)
	at := time.Date(2026, 11, 30, 10, 0, 0, 123456000, time.UTC)
	tests := []struct {
		name string
		so   records.SignOff
		err  string
		is   error
	}{
		{name: "no operator", so: records.SignOff{JobID: job, At: at, Skipped: 1, Approved: 1}, err: "names who signed it off"},
		{name: "a skip not approved", so: records.SignOff{JobID: job, At: at, Operator: `CONTOSO\pat`, Skipped: 2, Approved: 1}, err: "every skipped item must be approved"},
		{name: "no such job", so: records.SignOff{JobID: job + 9, At: at, Operator: "pat"}, is: mailbox.ErrNotFound},
		{name: "signed off", so: records.SignOff{JobID: job, At: at.Add(-time.Hour), Operator: "first"}},
		{name: "signed off again", so: records.SignOff{JobID: job, At: at, Operator: `CONTOSO\pat`, ItemsOnTarget: 41, Skipped: 1, Approved: 1, Note: "one video over 150 MB, sent by link"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := s.PutSignOff(ctx, tc.so)
			switch {
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("err = %v, want %q", err, tc.err)
			case tc.is != nil && !errors.Is(err, tc.is):
				t.Fatalf("err = %v, want %v", err, tc.is)
			case tc.err == "" && tc.is == nil && err != nil:
				t.Fatal(err)
			}
		})
	}
	got, err := ro(t).SignOffs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := records.SignOff{JobID: job, At: at, Operator: `CONTOSO\pat`, ItemsOnTarget: 41, Skipped: 1, Approved: 1, Note: "one video over 150 MB, sent by link"}
	so, ok := got[job]
	if !ok || len(got) != 1 || !sameTime(so.At, at) || so.At.Location() != time.UTC {
		t.Fatalf("sign-offs read back %+v, want the last one written, in UTC", got)
	}
	so.At = want.At
	if so != want {
		t.Errorf("sign-off read back %+v, want %+v", so, want)
	}
}

func testReadOnly(t *testing.T, s QueryStore, ro func(*testing.T) QueryStore) {
	ctx := context.Background()
	j := newJob(t, s, ann)
	put(t, s, item(j, "i1", "f", engine.ItemCopied, 1, aTime))
	held, err := s.AcquireLease(ctx, j, owner(3), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	r := ro(t)
	writes := []struct {
		name string
		fn   func() error
	}{
		{"Job", func() error { _, err := r.Job(ctx, mailboxKey(9)); return err }},
		{"PutJob", func() error { return r.PutJob(ctx, engine.JobRecord{ID: j, Status: engine.JobDone}) }},
		{"PutFolder", func() error { return r.PutFolder(ctx, engine.FolderRecord{JobID: j, SourceFolderID: "f"}) }},
		{"PutItem", func() error { return r.PutItem(ctx, item(j, "i2", "f", engine.ItemCopied, 1, aTime)) }},
		{"PutProbe", func() error { return r.PutProbe(ctx, engine.ProbeRecord{Pair: "onprem->cloud"}) }},
		{"AcquireLease", func() error { _, err := r.AcquireLease(ctx, j, owner(4), time.Minute); return err }},
		{"RenewLease", func() error { _, err := r.RenewLease(ctx, held, time.Minute); return err }},
		{"PutSignOff", func() error { return r.PutSignOff(ctx, records.SignOff{JobID: j, Operator: "pat"}) }},
		{"Prune", func() error {
			_, err := r.Prune(ctx, records.PruneRule{Completed: true, Abandoned: true, Before: time.Now().Add(time.Hour)})
			return err
		}},
	}
	for _, w := range writes {
		if err := w.fn(); !errors.Is(err, records.ErrReadOnly) {
			t.Errorf("%s on a read-only store: %v, want records.ErrReadOnly", w.name, err)
		}
	}
	// Reads work, and nothing was written.
	if got, err := r.Prune(ctx, records.PruneRule{Completed: true, Abandoned: true, Before: time.Now().Add(time.Hour), DryRun: true}); err != nil || len(got) != 0 {
		t.Errorf("a dry run on a read-only store = %v, %v; want nothing (the job is leased)", jobNames(got), err)
	}
	sums, err := r.Wave(ctx)
	if err != nil || len(sums) != 1 || len(sums[0].Folders) != 1 || sums[0].Folders[0].Copied != 1 || sums[0].Status != engine.JobNew {
		t.Errorf("Wave on the read-only store = %+v, %v; want the one job as written", sums, err)
	}
	if _, err := s.RenewLease(ctx, held, time.Hour); err != nil {
		t.Errorf("the writer's lease after the read-only store's tries: %v", err)
	}
}
