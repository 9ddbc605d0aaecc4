package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/engine"
	"github.com/exmigrate/exmigrate/mailbox"
)

var onboard = engine.JobKey{
	SourceAddress: "Alice@Contoso.com", SourceLocation: "onprem",
	TargetAddress: "alice@contoso.onmicrosoft.com", TargetLocation: "cloud",
}

func openTemp(t testing.TB) (*SQLite, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil && !errors.Is(err, engine.ErrStoreClosed) {
			t.Error(err)
		}
	})
	return s, path
}

func newJob(t testing.TB, s *SQLite, key engine.JobKey) int64 {
	t.Helper()
	j, err := s.Job(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	return j.ID
}

func TestJob(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	first, err := s.Job(ctx, onboard)
	if err != nil {
		t.Fatal(err)
	}
	if first.ID == 0 || first.Status != engine.JobNew || first.Key != onboard || first.Passes != 0 ||
		!first.LastStart.IsZero() || !first.LastEnd.IsZero() {
		t.Fatalf("new job = %+v", first)
	}

	tests := []struct {
		name    string
		key     engine.JobKey
		sameAs  int64 // expected id, 0 for a new job
		wantErr string
	}{
		{name: "same key", key: onboard, sameAs: first.ID},
		{name: "addresses differ in case and spaces", key: engine.JobKey{
			SourceAddress: " ALICE@contoso.COM ", SourceLocation: "OnPrem",
			TargetAddress: "Alice@Contoso.OnMicrosoft.com", TargetLocation: "cloud"}, sameAs: first.ID},
		{name: "other direction is another job", key: engine.JobKey{
			SourceAddress: onboard.TargetAddress, SourceLocation: "cloud",
			TargetAddress: onboard.SourceAddress, TargetLocation: "onprem"}},
		{name: "other target location is another job", key: engine.JobKey{
			SourceAddress: onboard.SourceAddress, SourceLocation: "onprem",
			TargetAddress: onboard.TargetAddress, TargetLocation: "onprem"}},
		{name: "empty source", key: engine.JobKey{SourceLocation: "onprem",
			TargetAddress: "b@x", TargetLocation: "cloud"}, wantErr: "address are both required"},
		{name: "auto location", key: engine.JobKey{SourceAddress: "a@x", SourceLocation: "auto",
			TargetAddress: "b@x", TargetLocation: "cloud"}, wantErr: `location "auto"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j, err := s.Job(ctx, tt.key)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "state: job ") {
					t.Fatalf("err = %v, want one naming the job and %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.sameAs != 0 && j.ID != tt.sameAs {
				t.Fatalf("id = %d, want the existing job %d", j.ID, tt.sameAs)
			}
			if tt.sameAs == 0 && j.ID == first.ID {
				t.Fatalf("got the existing job %d for a different key", j.ID)
			}
			if tt.sameAs != 0 && j.Key != onboard {
				t.Fatalf("key = %+v, want the spelling first recorded %+v", j.Key, onboard)
			}
		})
	}
}

func TestPutJobAndJobs(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	a, _ := s.Job(ctx, onboard)
	b, _ := s.Job(ctx, engine.JobKey{SourceAddress: "bob@contoso.com", SourceLocation: "cloud",
		TargetAddress: "bob@contoso.com", TargetLocation: "onprem"})

	start := time.Date(2026, 11, 22, 9, 0, 0, 123456789, time.FixedZone("CET", 3600))
	tests := []struct {
		name    string
		rec     engine.JobRecord
		wantErr error
		errText string
	}{
		{name: "running", rec: engine.JobRecord{ID: a.ID, Status: engine.JobRunning, LastStart: start}},
		{name: "partial with error", rec: engine.JobRecord{ID: a.ID, Status: engine.JobPartial, Passes: 1,
			LastStart: start, LastEnd: start.Add(time.Hour), LastError: "3 items skipped"}},
		{name: "unknown job", rec: engine.JobRecord{ID: 999, Status: engine.JobDone}, wantErr: mailbox.ErrNotFound},
		{name: "unknown status", rec: engine.JobRecord{ID: a.ID, Status: "paused"}, errText: `unknown status "paused"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.PutJob(ctx, tt.rec)
			switch {
			case tt.wantErr != nil || tt.errText != "":
				if err == nil || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) || !strings.Contains(err.Error(), tt.errText) {
					t.Fatalf("err = %v, want %v %q", err, tt.wantErr, tt.errText)
				}
				if !strings.HasPrefix(err.Error(), fmt.Sprintf("state: put job %d", tt.rec.ID)) {
					t.Fatalf("err = %v does not name the operation", err)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			got, err := s.Job(ctx, onboard)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.rec
			want.Key = onboard
			if !got.LastStart.Equal(want.LastStart) || !got.LastEnd.Equal(want.LastEnd) {
				t.Fatalf("times = %v %v, want %v %v", got.LastStart, got.LastEnd, want.LastStart, want.LastEnd)
			}
			if !want.LastStart.IsZero() && got.LastStart.Location() != time.UTC {
				t.Fatalf("time comes back in %v, want UTC", got.LastStart.Location())
			}
			got.LastStart, got.LastEnd, want.LastStart, want.LastEnd = time.Time{}, time.Time{}, time.Time{}, time.Time{}
			if got != want {
				t.Fatalf("got %+v, want %+v", got, want)
			}
		})
	}

	jobs, err := s.Jobs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 2 || jobs[0].ID != a.ID || jobs[1].ID != b.ID {
		t.Fatalf("Jobs = %+v, want jobs %d and %d in order", jobs, a.ID, b.ID)
	}
	if jobs[0].Status != engine.JobPartial || jobs[0].LastError != "3 items skipped" || jobs[1].Status != engine.JobNew {
		t.Fatalf("Jobs = %+v", jobs)
	}
}

func TestFolders(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	job := newJob(t, s, onboard)
	inbox := engine.FolderRecord{JobID: job, SourceFolderID: "AAMk-inbox", SourcePath: "/Inbox",
		TargetFolderID: "AQMk-inbox", TargetPath: "/Inbox", SourceCount: 10}
	synced := inbox
	synced.SyncState = strings.Repeat("H4sIAAAAAAAEAO29B2AcSZ", 400) // EWS sync states run to kilobytes
	synced.TargetCount = 10
	synced.Updated = time.Date(2026, 11, 22, 10, 0, 0, 1, time.UTC)
	projects := engine.FolderRecord{JobID: job, SourceFolderID: "AAMk-proj", SourcePath: "/Inbox/Projects",
		TargetFolderID: "AQMk-proj", TargetPath: "/Inbox/Projects"}

	tests := []struct {
		name    string
		put     engine.FolderRecord
		wantErr error
		errText string
	}{
		{name: "insert", put: inbox},
		{name: "replace", put: synced},
		{name: "second folder", put: projects},
		{name: "unknown job", put: engine.FolderRecord{JobID: 42, SourceFolderID: "x"}, wantErr: mailbox.ErrNotFound},
		{name: "no id", put: engine.FolderRecord{JobID: job}, errText: "source folder id is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := time.Now()
			err := s.PutFolder(ctx, tt.put)
			if tt.wantErr != nil || tt.errText != "" {
				if err == nil || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) || !strings.Contains(err.Error(), tt.errText) ||
					!strings.HasPrefix(err.Error(), "state: put folder") {
					t.Fatalf("err = %v, want %v %q", err, tt.wantErr, tt.errText)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, found, err := s.Folder(ctx, tt.put.JobID, tt.put.SourceFolderID)
			if err != nil || !found {
				t.Fatalf("Folder = %v %v", found, err)
			}
			want := tt.put
			if want.Updated.IsZero() {
				if got.Updated.Before(before.Add(-time.Second)) || got.Updated.After(time.Now().Add(time.Second)) {
					t.Fatalf("Updated = %v, want about now", got.Updated)
				}
				want.Updated = got.Updated
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("got %+v, want %+v", got, want)
			}
		})
	}

	if _, found, err := s.Folder(ctx, job, "never-seen"); found || err != nil {
		t.Fatalf("unknown folder: found=%v err=%v", found, err)
	}
	list, err := s.Folders(ctx, job)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].SourcePath != "/Inbox" || list[0].SyncState != synced.SyncState ||
		list[1].SourcePath != "/Inbox/Projects" {
		t.Fatalf("Folders = %d records %+v", len(list), list)
	}
	if other, err := s.Folders(ctx, job+1); err != nil || len(other) != 0 {
		t.Fatalf("Folders of another job = %v %v", other, err)
	}
}

func TestItems(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	job := newJob(t, s, onboard)
	pending := engine.ItemRecord{JobID: job, SourceID: "src-1", SourceItemID: "AAMkAD-1", SourceFolderID: "inbox",
		SizeBytes: 4096, Outcome: engine.ItemPending, Fingerprint: "0f3a9c"}
	copied := pending
	copied.Outcome, copied.TargetItemID, copied.IsRead = engine.ItemCopied, "AQMkAD-t1", true
	copied.Updated = time.Date(2026, 11, 22, 10, 1, 2, 3, time.UTC)

	tests := []struct {
		name    string
		put     engine.ItemRecord
		wantErr error
		errText string
	}{
		{name: "insert pending", put: pending},
		{name: "replace with copied", put: copied},
		{name: "skipped with reason", put: engine.ItemRecord{JobID: job, SourceID: "src-2", SourceFolderID: "inbox",
			SizeBytes: 200 << 20, Outcome: engine.ItemSkipped, Reason: "too large"}},
		{name: "copied without target id", put: engine.ItemRecord{JobID: job, SourceID: "src-3", SourceFolderID: "inbox", Outcome: engine.ItemCopied},
			errText: "needs the target item id"},
		{name: "skipped without reason", put: engine.ItemRecord{JobID: job, SourceID: "src-3", SourceFolderID: "inbox", Outcome: engine.ItemSkipped},
			errText: "needs a reason"},
		{name: "unknown outcome", put: engine.ItemRecord{JobID: job, SourceID: "src-3", SourceFolderID: "inbox", Outcome: "done"},
			errText: `unknown outcome "done"`},
		{name: "no source id", put: engine.ItemRecord{JobID: job, SourceFolderID: "inbox", Outcome: engine.ItemPending},
			errText: "source id is required"},
		{name: "no folder", put: engine.ItemRecord{JobID: job, SourceID: "src-3", Outcome: engine.ItemPending},
			errText: "source folder id is required"},
		{name: "negative size", put: engine.ItemRecord{JobID: job, SourceID: "src-3", SourceFolderID: "inbox", SizeBytes: -1, Outcome: engine.ItemPending},
			errText: "negative size"},
		{name: "unknown job", put: engine.ItemRecord{JobID: 77, SourceID: "src-3", SourceFolderID: "inbox", Outcome: engine.ItemPending},
			wantErr: mailbox.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.PutItem(ctx, tt.put)
			if tt.wantErr != nil || tt.errText != "" {
				if err == nil || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) || !strings.Contains(err.Error(), tt.errText) ||
					!strings.HasPrefix(err.Error(), "state: put item") {
					t.Fatalf("err = %v, want %v %q", err, tt.wantErr, tt.errText)
				}
				if _, found, _ := s.Item(ctx, tt.put.JobID, tt.put.SourceID); found && tt.put.SourceID == "src-3" {
					t.Fatal("a refused record was stored")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, found, err := s.Item(ctx, tt.put.JobID, tt.put.SourceID)
			if err != nil || !found {
				t.Fatalf("Item = %v %v", found, err)
			}
			want := tt.put
			if want.Updated.IsZero() {
				want.Updated = got.Updated
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("got %+v, want %+v", got, want)
			}
		})
	}
	if _, found, err := s.Item(ctx, job, "never-seen"); found || err != nil {
		t.Fatalf("unknown item: found=%v err=%v", found, err)
	}
}

func TestPendingAndCounts(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	job := newJob(t, s, onboard)
	other := newJob(t, s, engine.JobKey{SourceAddress: "bob@x", SourceLocation: "onprem", TargetAddress: "bob@y", TargetLocation: "cloud"})

	put := func(job int64, id, folder, outcome, reason string, size int64) {
		t.Helper()
		r := engine.ItemRecord{JobID: job, SourceID: id, SourceFolderID: folder, Outcome: outcome, Reason: reason, SizeBytes: size}
		if outcome == engine.ItemCopied {
			r.TargetItemID = "t-" + id
		}
		if err := s.PutItem(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	put(job, "c1", "inbox", engine.ItemCopied, "", 100)
	put(job, "c2", "sent", engine.ItemCopied, "", 250)
	put(job, "p2", "inbox", engine.ItemPending, "", 7)
	put(job, "p1", "inbox", engine.ItemPending, "", 9)
	put(job, "p3", "sent", engine.ItemPending, "", 1)
	put(job, "s1", "inbox", engine.ItemSkipped, "too large", 1<<30)
	put(job, "s2", "sent", engine.ItemSkipped, "too large", 1<<30)
	put(job, "s3", "inbox", engine.ItemSkipped, "corrupt MIME", 10)
	put(other, "p9", "inbox", engine.ItemPending, "", 1)
	put(other, "c9", "inbox", engine.ItemCopied, "", 1000)
	// A pending item confirmed later leaves the pending list.
	put(job, "p3", "sent", engine.ItemCopied, "", 1)

	pendingTests := []struct {
		job    int64
		folder string
		want   []string
	}{
		{job, "inbox", []string{"p1", "p2"}},
		{job, "sent", nil},
		{job, "drafts", nil},
		{other, "inbox", []string{"p9"}},
	}
	for _, tt := range pendingTests {
		t.Run(fmt.Sprintf("pending job %d %s", tt.job, tt.folder), func(t *testing.T) {
			recs, err := s.PendingItems(ctx, tt.job, tt.folder)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, r := range recs {
				if r.Outcome != engine.ItemPending || r.JobID != tt.job || r.SourceFolderID != tt.folder {
					t.Fatalf("listed %+v", r)
				}
				ids = append(ids, r.SourceID)
			}
			if !reflect.DeepEqual(ids, tt.want) {
				t.Fatalf("pending = %v, want %v", ids, tt.want)
			}
		})
	}

	countTests := []struct {
		job  int64
		want engine.ItemCounts
	}{
		{job, engine.ItemCounts{Copied: 3, CopiedBytes: 351, Pending: 2, Skipped: 3,
			SkipReasons: map[string]int64{"too large": 2, "corrupt MIME": 1},
			Kinds:       map[string]engine.KindCounts{"": {Copied: 3, CopiedBytes: 351, Skipped: 3}}}},
		{other, engine.ItemCounts{Copied: 1, CopiedBytes: 1000, Pending: 1, SkipReasons: map[string]int64{},
			Kinds: map[string]engine.KindCounts{"": {Copied: 1, CopiedBytes: 1000}}}},
		{12345, engine.ItemCounts{SkipReasons: map[string]int64{}, Kinds: map[string]engine.KindCounts{}}},
	}
	for _, tt := range countTests {
		t.Run(fmt.Sprintf("counts job %d", tt.job), func(t *testing.T) {
			got, err := s.Counts(ctx, tt.job)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Counts = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestCountsPerKind: copied, skipped and lost items are summed per kind,
// an item with two losses counts under each code, and LossItems lists
// exactly the copied items that lost something.
func TestCountsPerKind(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	job, err := s.Job(ctx, engine.JobKey{SourceAddress: "a@x", SourceLocation: "onprem", TargetAddress: "a@y", TargetLocation: "cloud"})
	if err != nil {
		t.Fatal(err)
	}
	recs := []engine.ItemRecord{
		{SourceID: "m1", Kind: "mail", Outcome: engine.ItemCopied, TargetItemID: "t1", SizeBytes: 10},
		{SourceID: "c1", Kind: "calendar", Outcome: engine.ItemCopied, TargetItemID: "t2", SizeBytes: 5, Losses: "EXM-CAL-MEETING-AS-APPOINTMENT"},
		{SourceID: "c2", Kind: "calendar", Outcome: engine.ItemCopied, TargetItemID: "t3", SizeBytes: 5, Losses: "EXM-CAL-MEETING-AS-APPOINTMENT,EXM-CAL-ZONE-UNKNOWN", Version: "v1", ContentHash: "h"},
		{SourceID: "c3", Kind: "calendar", Outcome: engine.ItemCopied, TargetItemID: "t4", SizeBytes: 5},
		{SourceID: "g1", Kind: "contacts", Outcome: engine.ItemSkipped, Reason: "no contact groups"},
		{SourceID: "k1", Kind: "tasks", Outcome: engine.ItemPending},
	}
	for _, r := range recs {
		r.JobID, r.SourceFolderID, r.SourceItemID = job.ID, "f", r.SourceID
		if err := s.PutItem(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Counts(ctx, job.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]engine.KindCounts{
		"mail":     {Copied: 1, CopiedBytes: 10},
		"calendar": {Copied: 3, CopiedBytes: 15, Losses: map[string]int64{"EXM-CAL-MEETING-AS-APPOINTMENT": 2, "EXM-CAL-ZONE-UNKNOWN": 1}},
		"contacts": {Skipped: 1},
	}
	if !reflect.DeepEqual(got.Kinds, want) {
		t.Errorf("Kinds = %+v, want %+v", got.Kinds, want)
	}
	var lost []string
	if err := s.LossItems(ctx, job.ID, func(r engine.ItemRecord) error {
		lost = append(lost, r.SourceID+":"+r.Losses)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if w := []string{"c1:EXM-CAL-MEETING-AS-APPOINTMENT", "c2:EXM-CAL-MEETING-AS-APPOINTMENT,EXM-CAL-ZONE-UNKNOWN"}; !reflect.DeepEqual(lost, w) {
		t.Errorf("LossItems = %v, want %v", lost, w)
	}
	r, _, err := s.Item(ctx, job.ID, "c2")
	if err != nil || r.Version != "v1" || r.ContentHash != "h" || r.Kind != "calendar" {
		t.Errorf("Item c2 = %+v, %v: version, hash and kind not kept", r, err)
	}
}

func TestReopenKeepsData(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sub dir?#", "state.db") // characters a URI must escape
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	job := newJob(t, s, onboard)
	folder := engine.FolderRecord{JobID: job, SourceFolderID: "f", SourcePath: "/Inbox", SyncState: "state-1",
		Updated: time.Unix(1700000000, 5).UTC()}
	item := engine.ItemRecord{JobID: job, SourceID: "i", SourceFolderID: "f", TargetItemID: "t", SizeBytes: 1,
		Outcome: engine.ItemCopied, Updated: time.Unix(1700000000, 6).UTC()}
	if err := s.PutFolder(ctx, folder); err != nil {
		t.Fatal(err)
	}
	if err := s.PutItem(ctx, item); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("the state file is not where it was asked: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file mode %v, want 0600: it names every mailbox", fi.Mode().Perm())
	}

	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if fi, err := os.Stat(path + "-wal"); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("WAL file: %v %v, want mode 0600", fi, err)
	}
	if j, err := s.Job(ctx, onboard); err != nil || j.ID != job {
		t.Fatalf("job after reopen = %+v %v, want id %d", j, err, job)
	}
	if f, found, err := s.Folder(ctx, job, "f"); err != nil || !found || !reflect.DeepEqual(f, folder) {
		t.Fatalf("folder after reopen = %+v %v %v", f, found, err)
	}
	if i, found, err := s.Item(ctx, job, "i"); err != nil || !found || !reflect.DeepEqual(i, item) {
		t.Fatalf("item after reopen = %+v %v %v", i, found, err)
	}
}

func TestOpenRefuses(t *testing.T) {
	ctx := context.Background()
	sqliteFile := func(t *testing.T, stmts ...string) string {
		path := filepath.Join(t.TempDir(), "x.db")
		db, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		for _, q := range stmts {
			if _, err := db.Exec(q); err != nil {
				t.Fatal(err)
			}
		}
		return path
	}
	newer := func(t *testing.T) string {
		s, path := openTemp(t)
		s.Close()
		db, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := db.Exec(fmt.Sprintf("PRAGMA user_version = %d", schemaVersion+1)); err != nil {
			t.Fatal(err)
		}
		return path
	}
	text := func(t *testing.T) string {
		path := filepath.Join(t.TempDir(), "mailboxes.csv")
		if err := os.WriteFile(path, []byte(strings.Repeat("EmailAddress,Location\nalice@contoso.com,onprem\n", 200)), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}

	tests := []struct {
		name    string
		file    func(t *testing.T) string
		want    error
		errText string
	}{
		{name: "newer schema", file: newer, want: ErrNewerSchema, errText: "upgrade exmigrate"},
		{name: "text file", file: text, want: ErrNotStateFile},
		{name: "another program's database", file: func(t *testing.T) string {
			return sqliteFile(t, "CREATE TABLE notes (body TEXT)")
		}, want: ErrNotStateFile, errText: "another program"},
		{name: "another program's application id", file: func(t *testing.T) string {
			return sqliteFile(t, "PRAGMA application_id = 1")
		}, want: ErrNotStateFile},
		{name: "missing directory", file: func(t *testing.T) string {
			return filepath.Join(t.TempDir(), "no", "such", "dir", "state.db")
		}, errText: "state: open"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.file(t)
			before, _ := os.ReadFile(path)
			s, err := Open(ctx, path)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			t.Log(err) // the message an engineer sees
			if (tt.want != nil && !errors.Is(err, tt.want)) || !strings.Contains(err.Error(), tt.errText) ||
				!strings.Contains(err.Error(), path) {
				t.Fatalf("err = %v, want %v naming the path and %q", err, tt.want, tt.errText)
			}
			if after, _ := os.ReadFile(path); !reflect.DeepEqual(before, after) {
				t.Fatal("Open changed a file it refused")
			}
		})
	}
	if _, err := Open(ctx, ""); err == nil {
		t.Fatal("Open(\"\") succeeded")
	}
}

func TestClosed(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	job := newJob(t, s, onboard)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	calls := map[string]func() error{
		"Job":       func() error { _, err := s.Job(ctx, onboard); return err },
		"PutJob":    func() error { return s.PutJob(ctx, engine.JobRecord{ID: job, Status: engine.JobDone}) },
		"Jobs":      func() error { _, err := s.Jobs(ctx); return err },
		"Folder":    func() error { _, _, err := s.Folder(ctx, job, "f"); return err },
		"PutFolder": func() error { return s.PutFolder(ctx, engine.FolderRecord{JobID: job, SourceFolderID: "f"}) },
		"Folders":   func() error { _, err := s.Folders(ctx, job); return err },
		"Item":      func() error { _, _, err := s.Item(ctx, job, "i"); return err },
		"PutItem": func() error {
			return s.PutItem(ctx, engine.ItemRecord{JobID: job, SourceID: "i", SourceFolderID: "f", Outcome: "pending"})
		},
		"PendingItems": func() error { _, err := s.PendingItems(ctx, job, "f"); return err },
		"Counts":       func() error { _, err := s.Counts(ctx, job); return err },
		"Close":        s.Close,
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			err := call()
			if !errors.Is(err, engine.ErrStoreClosed) || !strings.HasPrefix(err.Error(), "state: ") {
				t.Fatalf("err = %v, want ErrStoreClosed", err)
			}
		})
	}
}

func TestCanceledContext(t *testing.T) {
	s, _ := openTemp(t)
	job := newJob(t, s, onboard)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := s.PutItem(ctx, engine.ItemRecord{JobID: job, SourceID: "i", SourceFolderID: "f", Outcome: engine.ItemPending})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

// TestConcurrentWriters is the engine's pattern: several mailboxes, each with
// workers writing pending then copied records while others read. Run it
// under -race; no call may fail with SQLITE_BUSY.
func TestConcurrentWriters(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	const goroutines, perG, mailboxes = 16, 100, 4
	jobs := make([]int64, mailboxes)
	for m := range jobs {
		jobs[m] = newJob(t, s, engine.JobKey{SourceAddress: fmt.Sprintf("user%d@contoso.com", m), SourceLocation: "onprem",
			TargetAddress: fmt.Sprintf("user%d@contoso.com", m), TargetLocation: "cloud"})
	}
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Go(func() {
			job := jobs[g%mailboxes]
			folder := fmt.Sprintf("folder-%d", g)
			for i := range perG {
				id := fmt.Sprintf("g%d-i%d", g, i)
				rec := engine.ItemRecord{JobID: job, SourceID: id, SourceFolderID: folder, SizeBytes: int64(i), Outcome: engine.ItemPending}
				if err := s.PutItem(ctx, rec); err != nil {
					errs <- err
					return
				}
				rec.Outcome, rec.TargetItemID = engine.ItemCopied, "t-"+id
				if err := s.PutItem(ctx, rec); err != nil {
					errs <- err
					return
				}
				if _, found, err := s.Item(ctx, job, id); err != nil || !found {
					errs <- fmt.Errorf("read back %s: found=%v err=%v", id, found, err)
					return
				}
				if i%50 == 0 {
					if err := s.PutFolder(ctx, engine.FolderRecord{JobID: job, SourceFolderID: folder, SyncState: id}); err != nil {
						errs <- err
						return
					}
					if _, err := s.Counts(ctx, job); err != nil {
						errs <- err
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	var total int64
	for _, job := range jobs {
		c, err := s.Counts(ctx, job)
		if err != nil {
			t.Fatal(err)
		}
		if c.Pending != 0 {
			t.Errorf("job %d: %d pending after every item was copied", job, c.Pending)
		}
		total += c.Copied
	}
	if total != goroutines*perG {
		t.Fatalf("copied = %d, want %d", total, goroutines*perG)
	}
}

// TestPragmas checks the per-connection settings on both pools: a pragma
// the driver silently dropped would cost either speed or safety.
func TestPragmas(t *testing.T) {
	s, _ := openTemp(t)
	for name, db := range map[string]*sql.DB{"write": s.write, "read": s.read} {
		for pragma, want := range map[string]string{
			"journal_mode": "wal", "synchronous": "1", "foreign_keys": "1", "busy_timeout": "10000",
		} {
			var got string
			if err := db.QueryRow("PRAGMA " + pragma).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("%s pool: %s = %s, want %s", name, pragma, got, want)
			}
		}
	}
	var qo string
	if err := s.read.QueryRow("PRAGMA query_only").Scan(&qo); err != nil || qo != "1" {
		t.Errorf("read pool query_only = %q %v", qo, err)
	}
}

// TestTwoStoresOneFile is two processes on one state file (a copy and a
// report, or two copies of different batches): their writes contend for
// SQLite's write lock, which busy_timeout must absorb.
func TestTwoStoresOneFile(t *testing.T) {
	ctx := context.Background()
	a, path := openTemp(t)
	b, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	job := newJob(t, a, onboard)
	if j := newJob(t, b, onboard); j != job {
		t.Fatalf("second store sees job %d, want %d", j, job)
	}
	start := time.Now()
	var wg sync.WaitGroup
	// Small: SQLite's busy handler backs off in steps up to 100 ms, so
	// contention between processes is correct but slow, and slower still
	// under -race.
	const writers, each = 4, 100
	errs := make(chan error, writers)
	for g := range writers {
		s := a
		if g%2 == 1 {
			s = b
		}
		wg.Go(func() {
			for i := range each {
				id := fmt.Sprintf("g%d-%d", g, i)
				if err := s.PutItem(ctx, engine.ItemRecord{JobID: job, SourceID: id, SourceFolderID: "f", Outcome: engine.ItemPending}); err != nil {
					errs <- err
					return
				}
				if _, err := s.Counts(ctx, job); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	c, err := b.Counts(ctx, job)
	if err != nil {
		t.Fatal(err)
	}
	if c.Pending != writers*each {
		t.Fatalf("pending = %d, want %d", c.Pending, writers*each)
	}
	t.Logf("%d writes from two stores in %v", writers*each, time.Since(start))
}

// TestCloseDuringWrites: calls racing Close either finish or fail with
// ErrStoreClosed, never with a driver error.
func TestCloseDuringWrites(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	job := newJob(t, s, onboard)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				var err error
				if i%2 == 0 {
					err = s.PutItem(ctx, engine.ItemRecord{JobID: job, SourceID: fmt.Sprintf("g%d-%d", g, i), SourceFolderID: "f", Outcome: engine.ItemPending})
				} else {
					_, _, err = s.Item(ctx, job, fmt.Sprintf("g%d-%d", g, i-1))
				}
				if err != nil {
					if !errors.Is(err, engine.ErrStoreClosed) {
						errs <- err
					}
					return
				}
			}
		})
	}
	time.Sleep(50 * time.Millisecond)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestUpgradeKeepsItems: a state file of schema version 2 (before items had
// a subject) opens with this build, keeps its items (subject empty) and
// takes subjects from then on.
// TestTargetRecorded: a target id is known once any item of the job (copied
// or pending) holds it, and only in that job.
func TestTargetRecorded(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	job := newJob(t, s, onboard)
	other := newJob(t, s, engine.JobKey{SourceAddress: "b@contoso.com", SourceLocation: "onprem", TargetAddress: "b@contoso.com", TargetLocation: "cloud"})
	for _, r := range []engine.ItemRecord{
		{JobID: job, SourceID: "s1", SourceFolderID: "f", TargetItemID: "t1", Outcome: engine.ItemCopied},
		{JobID: job, SourceID: "s2", SourceFolderID: "f", Outcome: engine.ItemPending, Fingerprint: "aa"},
		{JobID: other, SourceID: "s3", SourceFolderID: "f", TargetItemID: "t3", Outcome: engine.ItemCopied},
	} {
		if err := s.PutItem(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct {
		job    int64
		target string
		want   bool
	}{{job, "t1", true}, {job, "t3", false}, {other, "t3", true}, {job, "", false}, {job, "t9", false}} {
		got, err := s.TargetRecorded(ctx, tt.job, tt.target)
		if err != nil || got != tt.want {
			t.Errorf("TargetRecorded(%d, %q) = %v, %v; want %v", tt.job, tt.target, got, err, tt.want)
		}
	}
}

func TestUpgradeKeepsItems(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v2.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{migrations[0], migrations[1],
		fmt.Sprintf("PRAGMA application_id = %d", applicationID), "PRAGMA user_version = 2",
		`INSERT INTO jobs (id, source_address, source_location, target_address, target_location, source_norm, target_norm, status, created)
			VALUES (1, 'a@contoso.com', 'onprem', 'a@contoso.com', 'cloud', 'a@contoso.com', 'a@contoso.com', 'partial', 1)`,
		`INSERT INTO items VALUES (1, 'exm1-old', 'AAMk-1', 'inbox', 'AAMk-t1', 120, 1, 'copied', '', 0)`} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()

	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	old, found, err := s.Item(ctx, 1, "exm1-old")
	if err != nil || !found || old.TargetItemID != "AAMk-t1" || old.Subject != "" {
		t.Fatalf("item of the v2 file: %+v, %v, %v", old, found, err)
	}
	rec := engine.ItemRecord{JobID: 1, SourceID: "exm1-new", SourceItemID: "AAMk-2", SourceFolderID: "inbox",
		TargetItemID: "AAMk-t2", SizeBytes: 7, Outcome: engine.ItemCopied, Subject: "Quarterly figures"}
	if err := s.PutItem(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if got, _, err := s.Item(ctx, 1, "exm1-new"); err != nil || got.Subject != "Quarterly figures" {
		t.Fatalf("subject after the upgrade: %q, %v", got.Subject, err)
	}
	// The queries by folder and by target find the item recorded before
	// the upgrade (its keys were filled by step 7).
	var copied []string
	if err := s.CopiedItems(ctx, 1, "inbox", func(r engine.ItemRecord) error {
		copied = append(copied, r.SourceID)
		return nil
	}); err != nil || !slices.Equal(copied, []string{"exm1-new", "exm1-old"}) {
		t.Errorf("copied items of inbox after the upgrade: %v, %v", copied, err)
	}
	for _, target := range []string{"AAMk-t1", "AAMk-t2"} {
		if ok, err := s.TargetRecorded(ctx, 1, target); err != nil || !ok {
			t.Errorf("TargetRecorded(%q) after the upgrade = %v, %v", target, ok, err)
		}
	}
}

// TestKeyOf: the index keys are stable (a state file written by one build
// is read by the next), never 0 for an id, 0 for no id.
func TestKeyOf(t *testing.T) {
	for _, tt := range []struct {
		id   string
		want int64
	}{
		{"", 0},
		{"a", -5808556873153909620},
		{"AAMkAGI2-inbox", 6131896398417398253},
	} {
		if got := keyOf(tt.id); got != tt.want {
			t.Errorf("keyOf(%q) = %d, want %d", tt.id, got, tt.want)
		}
	}
	if keyOf("inbox") == keyOf("sent") {
		t.Error("two folder ids share a key")
	}
}

// TestCopiedItems pages through a folder's copied items: each once, in
// source id order, nothing pending, skipped or of another folder.
func TestCopiedItems(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	job := newJob(t, s, onboard)
	want := map[string]bool{}
	for i := range 2345 {
		rec := engine.ItemRecord{JobID: job, SourceID: fmt.Sprintf("exm1-%05d", i), SourceFolderID: "inbox", TargetItemID: "t", Outcome: engine.ItemCopied}
		switch i % 10 {
		case 7:
			rec.Outcome, rec.TargetItemID = engine.ItemPending, ""
		case 8:
			rec.Outcome, rec.TargetItemID, rec.Reason = engine.ItemSkipped, "", "too large"
		case 9:
			rec.SourceFolderID = "sent"
		default:
			want[rec.SourceID] = true
		}
		if err := s.PutItem(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}
	last := ""
	n := 0
	err := s.CopiedItems(ctx, job, "inbox", func(r engine.ItemRecord) error {
		if !want[r.SourceID] || r.SourceID <= last {
			t.Fatalf("item %s (after %s): not a copied item of the folder, or out of order", r.SourceID, last)
		}
		last = r.SourceID
		n++
		return nil
	})
	if err != nil || n != len(want) {
		t.Fatalf("CopiedItems: %d items, %v; want %d", n, err, len(want))
	}
}

// TestProbeVerdicts: a verdict is kept per pair of endpoints, replaced by
// the next probe of the pair, and survives a reopen.
func TestProbeVerdicts(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t)
	if _, found, err := s.Probe(ctx, "onprem -> cloud"); found || err != nil {
		t.Fatalf("before any probe: %v %v", found, err)
	}
	at := time.Date(2026, 11, 29, 23, 0, 0, 0, time.UTC)
	first := engine.ProbeRecord{Pair: "onprem -> cloud", Source: "ann@contoso.com", Target: "ann@contoso.onmicrosoft.com", At: at,
		Result: engine.ProbeResult{Dialect: "ews-export", Kinds: []engine.ProbeKind{{Kind: mailbox.KindCalendar, Path: "typed", Why: "refused"}}}}
	second := first
	second.At = at.Add(time.Hour)
	second.Result.Kinds = []engine.ProbeKind{{Kind: mailbox.KindCalendar, Path: "full-fidelity", Accepted: true, Subject: "Standup"}}
	other := engine.ProbeRecord{Pair: "cloud -> onprem", Source: "eve@contoso.com", Target: "eve@contoso.com", At: at}
	for _, r := range []engine.ProbeRecord{first, other, second} {
		if err := s.PutProbe(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PutProbe(ctx, engine.ProbeRecord{}); err == nil {
		t.Error("a verdict without a pair was recorded")
	}
	s.Close()
	s2, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	got, found, err := s2.Probe(ctx, "onprem -> cloud")
	if err != nil || !found || !reflect.DeepEqual(got, second) {
		t.Fatalf("got %+v %v %v, want %+v", got, found, err, second)
	}
	if got, _, _ := s2.Probe(ctx, "cloud -> onprem"); got.Source != "eve@contoso.com" {
		t.Errorf("the other pair: %+v", got)
	}
	all, err := s2.Probes(ctx)
	if err != nil || len(all) != 2 || all[0].Pair != "cloud -> onprem" || !reflect.DeepEqual(all[1], second) {
		t.Errorf("Probes = %+v, %v", all, err)
	}
}
