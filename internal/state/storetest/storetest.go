// Package storetest is the conformance suite every engine.Store passes:
// the rules the copy engine relies on (which records are refused, what a
// missing job is, how items are counted, one lease holder per job), run the
// same way against SQLite and PostgreSQL so that the two cannot drift.
//
// A store's test calls Run with an Opener:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) (engine.Store, func(*testing.T) engine.Store) { ... })
//	}
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/engine"
	"github.com/exmigrate/exmigrate/mailbox"
)

// Opener returns a new, empty store, and a function that opens another
// handle on the same data: what a second process (on another machine, for
// a shared store) sees. The suite closes every store it is given; the
// opener registers the cleanup of anything else (files, databases).
type Opener func(t *testing.T) (store engine.Store, another func(t *testing.T) engine.Store)

// Run runs the whole suite, each rule as its own subtest on its own store.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, open Opener)
	}{
		{"Job", testJob},
		{"PutJob", testPutJob},
		{"Folders", testFolders},
		{"PutItemRules", testPutItemRules},
		{"Items", testItems},
		{"ItemsBySource", testItemsBySource},
		{"PendingItems", testPendingItems},
		{"CopiedItems", testCopiedItems},
		{"Counts", testCounts},
		{"DeletedAtSource", testDeletedAtSource},
		{"TargetRecorded", testTargetRecorded},
		{"LossItems", testLossItems},
		{"Probes", testProbes},
		{"Lease", testLease},
		{"LeaseTakeOver", testLeaseTakeOver},
		{"LeaseRace", testLeaseRace},
		{"SharedData", testSharedData},
		{"ConcurrentWriters", testConcurrentWriters},
		{"CanceledContext", testCanceledContext},
		{"Closed", testClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open) })
	}
}

// fresh opens a store and closes it when the test ends.
func fresh(t *testing.T, open Opener) (engine.Store, func(t *testing.T) engine.Store) {
	t.Helper()
	s, another := open(t)
	t.Cleanup(func() { _ = s.Close() })
	return s, func(t *testing.T) engine.Store {
		t.Helper()
		o := another(t)
		t.Cleanup(func() { _ = o.Close() })
		return o
	}
}

var ann = engine.JobKey{SourceAddress: "ann@contoso.com", SourceLocation: "onprem", TargetAddress: "ann@contoso.com", TargetLocation: "cloud"}

func mailboxKey(i int) engine.JobKey {
	a := fmt.Sprintf("user%d@contoso.com", i)
	return engine.JobKey{SourceAddress: a, SourceLocation: "onprem", TargetAddress: a, TargetLocation: "cloud"}
}

func newJob(t *testing.T, s engine.Store, key engine.JobKey) int64 {
	t.Helper()
	j, err := s.Job(context.Background(), key)
	if err != nil {
		t.Fatalf("Job(%v): %v", key, err)
	}
	return j.ID
}

func put(t *testing.T, s engine.Store, rec engine.ItemRecord) {
	t.Helper()
	if err := s.PutItem(context.Background(), rec); err != nil {
		t.Fatalf("PutItem(%s): %v", rec.SourceID, err)
	}
}

// sameTime compares times to the microsecond: what every store keeps
// (PostgreSQL's timestamps have microseconds).
func sameTime(a, b time.Time) bool {
	return a.Truncate(time.Microsecond).Equal(b.Truncate(time.Microsecond))
}

// aTime is a fixed time with nanoseconds a store may drop.
var aTime = time.Date(2026, 11, 3, 9, 30, 15, 123456789, time.UTC)

func testJob(t *testing.T, open Opener) {
	ctx := context.Background()
	s, _ := fresh(t, open)
	first, err := s.Job(ctx, ann)
	if err != nil {
		t.Fatal(err)
	}
	if first.ID == 0 || first.Status != engine.JobNew || first.Key != ann || first.Passes != 0 ||
		!first.LastStart.IsZero() || !first.LastEnd.IsZero() {
		t.Fatalf("new job = %+v, want status new, the key as given, no passes", first)
	}
	cases := []struct {
		name   string
		key    engine.JobKey
		sameAs bool // the same job as ann
	}{
		{"the same key", ann, true},
		{"addresses in another case", engine.JobKey{SourceAddress: "Ann@Contoso.COM", SourceLocation: "onprem", TargetAddress: "ANN@contoso.com", TargetLocation: "cloud"}, true},
		{"spaces and location case", engine.JobKey{SourceAddress: " ann@contoso.com ", SourceLocation: "OnPrem", TargetAddress: "ann@contoso.com", TargetLocation: " cloud"}, true},
		{"the other direction", engine.JobKey{SourceAddress: "ann@contoso.com", SourceLocation: "cloud", TargetAddress: "ann@contoso.com", TargetLocation: "onprem"}, false},
		{"another target", engine.JobKey{SourceAddress: "ann@contoso.com", SourceLocation: "onprem", TargetAddress: "ann2@contoso.com", TargetLocation: "cloud"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			j, err := s.Job(ctx, c.key)
			if err != nil {
				t.Fatal(err)
			}
			if (j.ID == first.ID) != c.sameAs {
				t.Fatalf("Job(%+v).ID = %d, ann's is %d; same job: want %v", c.key, j.ID, first.ID, c.sameAs)
			}
			if c.sameAs && j.Key != ann {
				t.Errorf("key = %+v, want the key the job was created with %+v", j.Key, ann)
			}
		})
	}
	bad := []struct {
		name string
		key  engine.JobKey
	}{
		{"no source", engine.JobKey{SourceLocation: "onprem", TargetAddress: "a@b.c", TargetLocation: "cloud"}},
		{"no target", engine.JobKey{SourceAddress: "a@b.c", SourceLocation: "onprem", TargetLocation: "cloud"}},
		{"blank source", engine.JobKey{SourceAddress: "  ", SourceLocation: "onprem", TargetAddress: "a@b.c", TargetLocation: "cloud"}},
		{"auto location", engine.JobKey{SourceAddress: "a@b.c", SourceLocation: "auto", TargetAddress: "a@b.c", TargetLocation: "cloud"}},
		{"no location", engine.JobKey{SourceAddress: "a@b.c", TargetAddress: "a@b.c", TargetLocation: "cloud"}},
		{"not a name", engine.JobKey{SourceAddress: "a@b.c", SourceLocation: "on prem!", TargetAddress: "a@b.c", TargetLocation: "cloud"}},
	}
	for _, c := range bad {
		t.Run("refuses "+c.name, func(t *testing.T) {
			if j, err := s.Job(ctx, c.key); err == nil {
				t.Fatalf("Job(%+v) = %+v, want an error", c.key, j)
			}
		})
	}
	jobs, err := s.Jobs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 3 {
		t.Errorf("Jobs = %d jobs, want 3 (the refused keys make none)", len(jobs))
	}
}

func testPutJob(t *testing.T, open Opener) {
	ctx := context.Background()
	s, _ := fresh(t, open)
	a, b := newJob(t, s, mailboxKey(1)), newJob(t, s, mailboxKey(2))
	want := engine.JobRecord{ID: b, Key: mailboxKey(2), Status: engine.JobPartial, Passes: 3,
		LastStart: aTime, LastEnd: aTime.Add(time.Minute), LastError: "2 items skipped", Paths: "primary/mail=mime"}
	if err := s.PutJob(ctx, want); err != nil {
		t.Fatal(err)
	}
	jobs, err := s.Jobs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 2 || jobs[0].ID != a || jobs[1].ID != b {
		t.Fatalf("Jobs = %+v, want jobs %d and %d in creation order", jobs, a, b)
	}
	got := jobs[1]
	if got.Key != want.Key || got.Status != want.Status || got.Passes != want.Passes || got.LastError != want.LastError ||
		got.Paths != want.Paths || !sameTime(got.LastStart, want.LastStart) || !sameTime(got.LastEnd, want.LastEnd) {
		t.Errorf("after PutJob: %+v, want %+v", got, want)
	}
	// The key is fixed at creation: PutJob does not move a job.
	moved := want
	moved.Key = mailboxKey(9)
	if err := s.PutJob(ctx, moved); err != nil {
		t.Fatal(err)
	}
	if j, _ := s.Job(ctx, mailboxKey(2)); j.ID != b || j.Status != engine.JobPartial {
		t.Errorf("Job after a PutJob with another key = %+v, want job %d unchanged", j, b)
	}

	for _, st := range []string{engine.JobNew, engine.JobRunning, engine.JobDone, engine.JobPartial, engine.JobFailed, engine.JobCompleted} {
		if err := s.PutJob(ctx, engine.JobRecord{ID: a, Status: st}); err != nil {
			t.Errorf("status %q: %v", st, err)
		}
	}
	cases := []struct {
		name     string
		rec      engine.JobRecord
		notFound bool
	}{
		{"unknown status", engine.JobRecord{ID: a, Status: "finished"}, false},
		{"no status", engine.JobRecord{ID: a}, false},
		{"a job that does not exist", engine.JobRecord{ID: b + 1000, Status: engine.JobDone}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := s.PutJob(ctx, c.rec)
			if err == nil {
				t.Fatal("PutJob succeeded, want an error")
			}
			if errors.Is(err, mailbox.ErrNotFound) != c.notFound {
				t.Errorf("err = %v; wraps mailbox.ErrNotFound: want %v", err, c.notFound)
			}
		})
	}
}

func testFolders(t *testing.T, open Opener) {
	ctx := context.Background()
	s, _ := fresh(t, open)
	job, other := newJob(t, s, ann), newJob(t, s, mailboxKey(1))
	if _, found, err := s.Folder(ctx, job, "f-inbox"); err != nil || found {
		t.Fatalf("Folder before any PutFolder: found %v, err %v; want not found", found, err)
	}
	inbox := engine.FolderRecord{JobID: job, SourceFolderID: "f-inbox", SourcePath: "Inbox", TargetFolderID: "t-inbox",
		TargetPath: "Inbox", SyncState: "H4sIAAAA/state==", SourceCount: 12, TargetCount: 11, WritesOpen: true, Updated: aTime}
	recs := []engine.FolderRecord{
		{JobID: job, SourceFolderID: "f-sent", SourcePath: "Sent Items", TargetFolderID: "t-sent", TargetPath: "Sent Items"},
		inbox,
		{JobID: job, SourceFolderID: "f-a", SourcePath: "Inbox/Archive"},
		{JobID: other, SourceFolderID: "f-inbox", SourcePath: "Inbox"},
	}
	before := time.Now().Add(-time.Minute)
	for _, r := range recs {
		if err := s.PutFolder(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	got, found, err := s.Folder(ctx, job, "f-inbox")
	if err != nil || !found {
		t.Fatalf("Folder: found %v, err %v", found, err)
	}
	if !sameTime(got.Updated, inbox.Updated) {
		t.Errorf("Updated = %v, want %v", got.Updated, inbox.Updated)
	}
	got.Updated = inbox.Updated
	if got != inbox {
		t.Errorf("Folder = %+v, want %+v", got, inbox)
	}
	list, err := s.Folders(ctx, job)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, f := range list {
		paths = append(paths, f.SourcePath)
		if f.JobID != job {
			t.Errorf("Folders(%d) holds a folder of job %d", job, f.JobID)
		}
	}
	if want := []string{"Inbox", "Inbox/Archive", "Sent Items"}; !slices.Equal(paths, want) {
		t.Errorf("Folders paths = %q, want %q (by source path)", paths, want)
	}
	if f, _, _ := s.Folder(ctx, job, "f-sent"); f.Updated.Before(before) || f.Updated.After(time.Now().Add(time.Minute)) {
		t.Errorf("a zero Updated is stored as %v, want about now", f.Updated)
	}

	// A later PutFolder replaces the record: the sync state moves on and
	// the writes of the folder are closed.
	inbox.SyncState, inbox.SourceCount, inbox.WritesOpen = "next", 13, false
	if err := s.PutFolder(ctx, inbox); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := s.Folder(ctx, job, "f-inbox"); got.SyncState != "next" || got.SourceCount != 13 || got.WritesOpen {
		t.Errorf("after replacing: %+v", got)
	}
	if list, _ := s.Folders(ctx, job); len(list) != 3 {
		t.Errorf("Folders after a replace = %d, want 3", len(list))
	}

	bad := []struct {
		name     string
		rec      engine.FolderRecord
		notFound bool
	}{
		{"no source folder id", engine.FolderRecord{JobID: job, SourcePath: "Inbox"}, false},
		{"a job that does not exist", engine.FolderRecord{JobID: other + 1000, SourceFolderID: "f"}, true},
	}
	for _, c := range bad {
		t.Run("refuses "+c.name, func(t *testing.T) {
			err := s.PutFolder(ctx, c.rec)
			if err == nil {
				t.Fatal("PutFolder succeeded, want an error")
			}
			if errors.Is(err, mailbox.ErrNotFound) != c.notFound {
				t.Errorf("err = %v; wraps mailbox.ErrNotFound: want %v", err, c.notFound)
			}
		})
	}
}

func testPutItemRules(t *testing.T, open Opener) {
	ctx := context.Background()
	s, _ := fresh(t, open)
	job := newJob(t, s, ann)
	ok := engine.ItemRecord{JobID: job, SourceID: "s1", SourceItemID: "AAMk1", SourceFolderID: "f", Outcome: engine.ItemPending}
	with := func(f func(*engine.ItemRecord)) engine.ItemRecord { r := ok; f(&r); return r }
	cases := []struct {
		name     string
		rec      engine.ItemRecord
		wantErr  string // part of the message; "" for success
		notFound bool
	}{
		{"pending", ok, "", false},
		{"copied with a target id", with(func(r *engine.ItemRecord) { r.Outcome, r.TargetItemID = engine.ItemCopied, "t1" }), "", false},
		{"skipped with a reason", with(func(r *engine.ItemRecord) { r.Outcome, r.Reason = engine.ItemSkipped, "too large" }), "", false},
		{"copied without a target id", with(func(r *engine.ItemRecord) { r.Outcome = engine.ItemCopied }), "target item id", false},
		{"skipped without a reason", with(func(r *engine.ItemRecord) { r.Outcome = engine.ItemSkipped }), "reason", false},
		{"unknown outcome", with(func(r *engine.ItemRecord) { r.Outcome = "done" }), "outcome", false},
		{"no outcome", with(func(r *engine.ItemRecord) { r.Outcome = "" }), "outcome", false},
		{"no source id", with(func(r *engine.ItemRecord) { r.SourceID = "" }), "source id", false},
		{"no source folder", with(func(r *engine.ItemRecord) { r.SourceFolderID = "" }), "folder", false},
		{"negative size", with(func(r *engine.ItemRecord) { r.SizeBytes = -1 }), "size", false},
		{"a job that does not exist", with(func(r *engine.ItemRecord) { r.JobID = job + 1000 }), "", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := s.PutItem(ctx, c.rec)
			switch {
			case c.wantErr == "" && !c.notFound:
				if err != nil {
					t.Fatalf("PutItem: %v, want success", err)
				}
				got, found, err := s.Item(ctx, c.rec.JobID, c.rec.SourceID)
				if err != nil || !found || got.Outcome != c.rec.Outcome {
					t.Fatalf("Item after PutItem = %+v, %v, %v", got, found, err)
				}
			case c.notFound:
				if !errors.Is(err, mailbox.ErrNotFound) {
					t.Fatalf("err = %v, want one that wraps mailbox.ErrNotFound", err)
				}
			default:
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want one about %q", err, c.wantErr)
				}
				if errors.Is(err, mailbox.ErrNotFound) {
					t.Errorf("err = %v wraps mailbox.ErrNotFound; the job exists", err)
				}
			}
		})
	}
	// A refused record leaves the one before it.
	if err := s.PutItem(ctx, with(func(r *engine.ItemRecord) { r.Outcome = engine.ItemCopied })); err == nil {
		t.Fatal("a copied item without a target id was accepted")
	}
	if got, _, _ := s.Item(ctx, job, "s1"); got.Outcome != engine.ItemSkipped {
		t.Errorf("after a refused PutItem the item is %q, want the last accepted (skipped)", got.Outcome)
	}
}

// itemsLookup is the engine's optional batched lookup (engine/prefetch.go).
type itemsLookup interface {
	ItemsBySource(ctx context.Context, jobID int64, sourceIDs []string) (map[string]engine.ItemRecord, error)
}

// testItemsBySource: the batched lookup answers as Item does for each id,
// across more ids than one query takes, and never with another job's.
func testItemsBySource(t *testing.T, open Opener) {
	ctx := context.Background()
	s, _ := fresh(t, open)
	bl, ok := s.(itemsLookup)
	if !ok {
		t.Skip("the store has no batched lookup; the engine looks items up one by one")
	}
	job, other := newJob(t, s, ann), newJob(t, s, mailboxKey(1))
	var ids []string
	for i := range 1200 {
		id := fmt.Sprintf("stamp-%04d", i)
		ids = append(ids, id)
		switch i % 3 {
		case 0:
			put(t, s, engine.ItemRecord{JobID: job, SourceID: id, SourceFolderID: "f", TargetItemID: "t" + id, Outcome: engine.ItemCopied, Subject: id})
		case 1:
			put(t, s, engine.ItemRecord{JobID: other, SourceID: id, SourceFolderID: "f", Outcome: engine.ItemPending})
		}
	}
	got, err := bl.ItemsBySource(ctx, job, append(ids, "nope", ids[0]))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 400 {
		t.Errorf("%d records, want the job's 400", len(got))
	}
	for _, id := range ids {
		want, found, err := s.Item(ctx, job, id)
		if err != nil {
			t.Fatal(err)
		}
		r, ok := got[id]
		if ok != found || ok && (r.Subject != want.Subject || r.Outcome != want.Outcome || r.TargetItemID != want.TargetItemID || r.JobID != job) {
			t.Fatalf("%s: batched %+v (%v), Item %+v (%v)", id, r, ok, want, found)
		}
	}
	if none, err := bl.ItemsBySource(ctx, job, nil); err != nil || len(none) != 0 {
		t.Errorf("no ids: %v, %v", none, err)
	}
}

func testItems(t *testing.T, open Opener) {
	ctx := context.Background()
	s, _ := fresh(t, open)
	job, other := newJob(t, s, ann), newJob(t, s, mailboxKey(1))
	if _, found, err := s.Item(ctx, job, "nope"); err != nil || found {
		t.Fatalf("Item of an unknown id: found %v, err %v", found, err)
	}
	full := engine.ItemRecord{JobID: job, SourceID: "stamp-1", SourceItemID: "AAMkAD=", SourceFolderID: "f-inbox",
		TargetItemID: "AQMkAD=", SizeBytes: 1 << 33, IsRead: true, Outcome: engine.ItemCopied, Updated: aTime,
		Subject: "Quarterly ✓ numbers", Kind: "calendar", Version: "CQAAABYA", ContentHash: strings.Repeat("ab", 32),
		Losses: "attendees,reminder", Fingerprint: "fp-1"}
	put(t, s, full)
	got, found, err := s.Item(ctx, job, "stamp-1")
	if err != nil || !found {
		t.Fatalf("Item: %v %v", found, err)
	}
	if !sameTime(got.Updated, full.Updated) {
		t.Errorf("Updated = %v, want %v", got.Updated, full.Updated)
	}
	got.Updated = full.Updated
	if got != full {
		t.Errorf("Item = %+v\nwant %+v", got, full)
	}
	// The same source id in another job is another item.
	if _, found, _ := s.Item(ctx, other, "stamp-1"); found {
		t.Error("an item of one job is found in another")
	}
	// Replacing: a pending record becomes copied, and every field follows.
	pend := engine.ItemRecord{JobID: job, SourceID: "stamp-2", SourceFolderID: "f-inbox", Outcome: engine.ItemPending, Fingerprint: "fp"}
	put(t, s, pend)
	now := time.Now()
	done := engine.ItemRecord{JobID: job, SourceID: "stamp-2", SourceFolderID: "f-inbox", TargetItemID: "t2", Outcome: engine.ItemCopied, SizeBytes: 10}
	put(t, s, done)
	got, _, _ = s.Item(ctx, job, "stamp-2")
	if got.Outcome != engine.ItemCopied || got.TargetItemID != "t2" || got.Fingerprint != "" || got.SizeBytes != 10 {
		t.Errorf("after replacing = %+v, want %+v", got, done)
	}
	if got.Updated.Before(now.Add(-time.Minute)) || got.Updated.After(now.Add(time.Minute)) {
		t.Errorf("a zero Updated is stored as %v, want about now", got.Updated)
	}
}

func testPendingItems(t *testing.T, open Opener) {
	ctx := context.Background()
	s, _ := fresh(t, open)
	job, other := newJob(t, s, ann), newJob(t, s, mailboxKey(1))
	// Ids compare byte by byte, as Exchange ids are case-sensitive: "B" < "a".
	for _, r := range []engine.ItemRecord{
		{JobID: job, SourceID: "a", SourceFolderID: "f", Outcome: engine.ItemPending},
		{JobID: job, SourceID: "B", SourceFolderID: "f", Outcome: engine.ItemPending, Fingerprint: "fp-B"},
		{JobID: job, SourceID: "c", SourceFolderID: "f", Outcome: engine.ItemCopied, TargetItemID: "t"},
		{JobID: job, SourceID: "d", SourceFolderID: "f", Outcome: engine.ItemSkipped, Reason: "r"},
		{JobID: job, SourceID: "e", SourceFolderID: "g", Outcome: engine.ItemPending},
		{JobID: other, SourceID: "z", SourceFolderID: "f", Outcome: engine.ItemPending},
	} {
		put(t, s, r)
	}
	cases := []struct {
		job    int64
		folder string
		want   []string
	}{
		{job, "f", []string{"B", "a"}},
		{job, "g", []string{"e"}},
		{job, "none", nil},
		{other, "f", []string{"z"}},
	}
	for _, c := range cases {
		recs, err := s.PendingItems(ctx, c.job, c.folder)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range recs {
			ids = append(ids, r.SourceID)
		}
		if !slices.Equal(ids, c.want) {
			t.Errorf("PendingItems(%d, %q) = %q, want %q", c.job, c.folder, ids, c.want)
		}
	}
	recs, _ := s.PendingItems(ctx, job, "f")
	if len(recs) > 0 && recs[0].Fingerprint != "fp-B" {
		t.Errorf("a pending record lost its fingerprint: %+v", recs[0])
	}
}

// collect streams fn-style listings into ids.
func collect(t *testing.T, list func(fn func(engine.ItemRecord) error) error) []string {
	t.Helper()
	var ids []string
	if err := list(func(r engine.ItemRecord) error { ids = append(ids, r.SourceID); return nil }); err != nil {
		t.Fatal(err)
	}
	return ids
}

func testCopiedItems(t *testing.T, open Opener) {
	ctx := context.Background()
	s, _ := fresh(t, open)
	job := newJob(t, s, ann)
	// More than a page of any reasonable size, so paging is crossed.
	const n = 2100
	var want []string
	for i := range n {
		id := fmt.Sprintf("id-%05d", i)
		outcome := engine.ItemCopied
		if i%7 == 0 {
			outcome = engine.ItemPending
		} else {
			want = append(want, id)
		}
		put(t, s, engine.ItemRecord{JobID: job, SourceID: id, SourceFolderID: "f", TargetItemID: "t-" + id, Outcome: outcome})
	}
	put(t, s, engine.ItemRecord{JobID: job, SourceID: "other-folder", SourceFolderID: "g", TargetItemID: "t", Outcome: engine.ItemCopied})
	got := collect(t, func(fn func(engine.ItemRecord) error) error { return s.CopiedItems(ctx, job, "f", fn) })
	if !slices.Equal(got, want) {
		t.Fatalf("CopiedItems gave %d ids (first %q), want %d in source id order", len(got), got[:min(3, len(got))], len(want))
	}
	// fn may write while the listing runs (the engine marks deletions).
	seen := 0
	err := s.CopiedItems(ctx, job, "f", func(r engine.ItemRecord) error {
		seen++
		r.Reason = engine.ReasonDeletedAtSource
		return s.PutItem(ctx, r)
	})
	if err != nil || seen != len(want) {
		t.Fatalf("CopiedItems writing from fn: %d calls, err %v", seen, err)
	}
	// An error from fn stops the listing and comes back.
	stop := errors.New("stop here")
	calls := 0
	err = s.CopiedItems(ctx, job, "f", func(engine.ItemRecord) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("fn's error: %d calls, err %v; want 1 call and that error", calls, err)
	}
	if got := collect(t, func(fn func(engine.ItemRecord) error) error { return s.CopiedItems(ctx, job, "none", fn) }); len(got) != 0 {
		t.Errorf("an unknown folder lists %q", got)
	}
}

func testCounts(t *testing.T, open Opener) {
	ctx := context.Background()
	s, _ := fresh(t, open)
	job, other := newJob(t, s, ann), newJob(t, s, mailboxKey(1))
	c, err := s.Counts(ctx, job)
	if err != nil || c.SkipReasons == nil || c.Kinds == nil || c.Copied+c.Pending+c.Skipped != 0 {
		t.Fatalf("Counts of an empty job = %+v, %v; want zeros and non-nil maps", c, err)
	}
	recs := []engine.ItemRecord{
		{SourceID: "1", Outcome: engine.ItemCopied, TargetItemID: "t1", SizeBytes: 100, Kind: "mail"},
		{SourceID: "2", Outcome: engine.ItemCopied, TargetItemID: "t2", SizeBytes: 50, Kind: "mail", Losses: "categories"},
		{SourceID: "3", Outcome: engine.ItemCopied, TargetItemID: "t3", SizeBytes: 7, Kind: "calendar", Losses: "attendees,reminder"},
		{SourceID: "4", Outcome: engine.ItemCopied, TargetItemID: "t4", SizeBytes: 3, Kind: "calendar", Losses: "attendees"},
		{SourceID: "5", Outcome: engine.ItemCopied, TargetItemID: "t5", SizeBytes: 1},
		{SourceID: "6", Outcome: engine.ItemPending, SizeBytes: 1000, Kind: "mail"},
		{SourceID: "7", Outcome: engine.ItemSkipped, Reason: "too large", SizeBytes: 200 << 20, Kind: "mail", Losses: "ignored"},
		{SourceID: "8", Outcome: engine.ItemSkipped, Reason: "too large", Kind: "mail"},
		{SourceID: "9", Outcome: engine.ItemSkipped, Reason: "corrupt", Kind: "contacts"},
	}
	for _, r := range recs {
		r.JobID, r.SourceFolderID = job, "f"
		put(t, s, r)
	}
	put(t, s, engine.ItemRecord{JobID: other, SourceID: "x", SourceFolderID: "f", Outcome: engine.ItemCopied, TargetItemID: "t", SizeBytes: 1 << 40})
	c, err = s.Counts(ctx, job)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		what      string
		got, want int64
	}{
		{"copied", c.Copied, 5},
		{"copied bytes", c.CopiedBytes, 161},
		{"pending", c.Pending, 1},
		{"skipped", c.Skipped, 3},
		{"skipped too large", c.SkipReasons["too large"], 2},
		{"skipped corrupt", c.SkipReasons["corrupt"], 1},
		{"mail copied", c.Kinds["mail"].Copied, 2},
		{"mail bytes", c.Kinds["mail"].CopiedBytes, 150},
		{"mail skipped", c.Kinds["mail"].Skipped, 2},
		{"mail lost categories", c.Kinds["mail"].Losses["categories"], 1},
		{"calendar copied", c.Kinds["calendar"].Copied, 2},
		{"calendar lost attendees", c.Kinds["calendar"].Losses["attendees"], 2},
		{"calendar lost reminder", c.Kinds["calendar"].Losses["reminder"], 1},
		{"contacts skipped", c.Kinds["contacts"].Skipped, 1},
		{"no kind copied", c.Kinds[""].Copied, 1},
		{"no kind bytes", c.Kinds[""].CopiedBytes, 1},
		{"skip reasons", int64(len(c.SkipReasons)), 2},
		{"kinds", int64(len(c.Kinds)), 4},
	}
	for _, ck := range checks {
		if ck.got != ck.want {
			t.Errorf("%s = %d, want %d", ck.what, ck.got, ck.want)
		}
	}
	if l := c.Kinds["mail"].Losses; l["ignored"] != 0 {
		t.Errorf("a skipped item's losses count: %v", l)
	}
}

func testDeletedAtSource(t *testing.T, open Opener) {
	ctx := context.Background()
	s, _ := fresh(t, open)
	job := newJob(t, s, ann)
	for i, r := range []engine.ItemRecord{
		{SourceFolderID: "f", Outcome: engine.ItemCopied, TargetItemID: "t", Reason: engine.ReasonDeletedAtSource},
		{SourceFolderID: "f", Outcome: engine.ItemCopied, TargetItemID: "t", Reason: engine.ReasonDeletedAtSource},
		{SourceFolderID: "f", Outcome: engine.ItemCopied, TargetItemID: "t"},
		{SourceFolderID: "f", Outcome: engine.ItemSkipped, Reason: engine.ReasonDeletedAtSource},
		{SourceFolderID: "g", Outcome: engine.ItemCopied, TargetItemID: "t", Reason: engine.ReasonDeletedAtSource},
	} {
		r.JobID, r.SourceID = job, fmt.Sprint(i)
		put(t, s, r)
	}
	for folder, want := range map[string]int64{"f": 2, "g": 1, "h": 0} {
		if n, err := s.DeletedAtSource(ctx, job, folder); err != nil || n != want {
			t.Errorf("DeletedAtSource(%q) = %d, %v; want %d", folder, n, err, want)
		}
	}
}

func testTargetRecorded(t *testing.T, open Opener) {
	ctx := context.Background()
	s, _ := fresh(t, open)
	job, other := newJob(t, s, ann), newJob(t, s, mailboxKey(1))
	put(t, s, engine.ItemRecord{JobID: job, SourceID: "1", SourceFolderID: "f", Outcome: engine.ItemCopied, TargetItemID: "t-copied"})
	put(t, s, engine.ItemRecord{JobID: job, SourceID: "2", SourceFolderID: "f", Outcome: engine.ItemPending, TargetItemID: "t-pending"})
	put(t, s, engine.ItemRecord{JobID: job, SourceID: "3", SourceFolderID: "f", Outcome: engine.ItemPending})
	cases := []struct {
		job    int64
		target string
		want   bool
	}{
		{job, "t-copied", true},
		{job, "t-pending", true},
		{job, "T-COPIED", false}, // ids are case-sensitive
		{job, "t-none", false},
		{job, "", false}, // an item with no target id yet is nobody's copy
		{other, "t-copied", false},
	}
	for _, c := range cases {
		if got, err := s.TargetRecorded(ctx, c.job, c.target); err != nil || got != c.want {
			t.Errorf("TargetRecorded(%d, %q) = %v, %v; want %v", c.job, c.target, got, err, c.want)
		}
	}
}

func testLossItems(t *testing.T, open Opener) {
	ctx := context.Background()
	s, _ := fresh(t, open)
	job := newJob(t, s, ann)
	for _, r := range []engine.ItemRecord{
		{SourceID: "b", Outcome: engine.ItemCopied, TargetItemID: "t", Losses: "attendees"},
		{SourceID: "a", Outcome: engine.ItemCopied, TargetItemID: "t", Losses: "reminder,categories"},
		{SourceID: "c", Outcome: engine.ItemCopied, TargetItemID: "t"},
		{SourceID: "d", Outcome: engine.ItemSkipped, Reason: "r", Losses: "attendees"},
		{SourceID: "e", Outcome: engine.ItemPending, Losses: "attendees"},
	} {
		r.JobID, r.SourceFolderID = job, "f"
		put(t, s, r)
	}
	got := collect(t, func(fn func(engine.ItemRecord) error) error { return s.LossItems(ctx, job, fn) })
	if want := []string{"a", "b"}; !slices.Equal(got, want) {
		t.Errorf("LossItems = %q, want %q", got, want)
	}
}

func testProbes(t *testing.T, open Opener) {
	ctx := context.Background()
	s, _ := fresh(t, open)
	if _, found, err := s.Probe(ctx, "onprem -> cloud"); err != nil || found {
		t.Fatalf("Probe before any: found %v, err %v", found, err)
	}
	if list, err := s.Probes(ctx); err != nil || len(list) != 0 {
		t.Fatalf("Probes before any = %v, %v", list, err)
	}
	rec := engine.ProbeRecord{Pair: "onprem -> cloud", Source: "probe@contoso.com", Target: "probe@contoso.onmicrosoft.com", At: aTime,
		Result: engine.ProbeResult{Dialect: "ews", Folder: "exmigrate-probe", Kinds: []engine.ProbeKind{{}}}}
	for _, r := range []engine.ProbeRecord{rec, {Pair: "cloud -> onprem", At: aTime}} {
		if err := s.PutProbe(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	got, found, err := s.Probe(ctx, rec.Pair)
	if err != nil || !found {
		t.Fatalf("Probe: %v %v", found, err)
	}
	if got.Source != rec.Source || got.Target != rec.Target || !sameTime(got.At, rec.At) ||
		got.Result.Dialect != "ews" || got.Result.Folder != "exmigrate-probe" || len(got.Result.Kinds) != 1 {
		t.Errorf("Probe = %+v, want %+v", got, rec)
	}
	rec.Result.Dialect = ""
	if err := s.PutProbe(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := s.Probe(ctx, rec.Pair); got.Result.Dialect != "" {
		t.Errorf("PutProbe did not replace the verdict: %+v", got)
	}
	list, err := s.Probes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var pairs []string
	for _, p := range list {
		pairs = append(pairs, p.Pair)
	}
	if want := []string{"cloud -> onprem", "onprem -> cloud"}; !slices.Equal(pairs, want) {
		t.Errorf("Probes = %q, want %q (by pair)", pairs, want)
	}
	if err := s.PutProbe(ctx, engine.ProbeRecord{}); err == nil {
		t.Error("a verdict without a pair was accepted")
	}
}

func owner(pid int) engine.Owner {
	o := engine.NewOwner()
	o.PID, o.Host, o.Since = pid, fmt.Sprintf("worker-%d", pid), aTime
	return o
}

// testLease is the contract of engine/lease.go, between two handles on the
// same data (two processes).
func testLease(t *testing.T, open Opener) {
	ctx := context.Background()
	a, another := fresh(t, open)
	b := another(t)
	job := newJob(t, a, ann)
	oa, ob := owner(101), owner(202)

	start := time.Now()
	la, err := a.AcquireLease(ctx, job, oa, time.Hour)
	if err != nil {
		t.Fatalf("acquiring a free job: %v", err)
	}
	if la.JobID != job || la.Owner.Token != oa.Token {
		t.Errorf("lease = %+v", la)
	}
	// The store's clock decides; allow for a database server's clock skew.
	if d := la.Expires.Sub(start); d < 50*time.Minute || d > 70*time.Minute {
		t.Errorf("a lease of 1h expires in %v", d)
	}
	_, err = b.AcquireLease(ctx, job, ob, time.Hour)
	var le *engine.LeasedError
	if !errors.As(err, &le) {
		t.Fatalf("another owner acquires a held job: %v, want a *engine.LeasedError", err)
	}
	if le.JobID != job || le.Holder.Token != oa.Token || le.Holder.PID != 101 || le.Holder.Host != "worker-101" ||
		!sameTime(le.Holder.Since, aTime) || !sameTime(le.Expires, la.Expires) {
		t.Errorf("LeasedError = %+v, want holder %+v until %v", le, oa, la.Expires)
	}
	if _, err := a.AcquireLease(ctx, job, oa, time.Hour); err != nil {
		t.Errorf("the holder acquires again: %v", err)
	}
	if la, err = a.RenewLease(ctx, la, 2*time.Hour); err != nil || la.Expires.Sub(start) < 110*time.Minute {
		t.Errorf("renewing: %+v, %v", la, err)
	}
	// Releasing a lease one does not hold changes nothing.
	if err := b.ReleaseLease(ctx, engine.Lease{JobID: job, Owner: ob}); err != nil {
		t.Errorf("releasing a lease not held: %v", err)
	}
	if _, err := b.AcquireLease(ctx, job, ob, time.Hour); !errors.As(err, &le) {
		t.Fatalf("after another owner's release the job is free: %v", err)
	}

	// The holder is killed: its lease expires, the other owner takes it,
	// and the first finds it lost.
	if _, err := a.RenewLease(ctx, la, -time.Second); err != nil {
		t.Fatal(err)
	}
	lb, err := b.AcquireLease(ctx, job, ob, time.Hour)
	if err != nil {
		t.Fatalf("acquiring an expired lease: %v", err)
	}
	if _, err := a.RenewLease(ctx, la, time.Hour); !errors.Is(err, engine.ErrLeaseLost) {
		t.Fatalf("renewing a lease taken by another = %v, want ErrLeaseLost", err)
	}
	if err := a.ReleaseLease(ctx, la); err != nil {
		t.Errorf("releasing a lost lease: %v", err)
	}
	if _, err := a.AcquireLease(ctx, job, oa, time.Hour); !errors.As(err, &le) || le.Holder.Token != ob.Token {
		t.Fatalf("the lost owner releasing did not leave the new holder: %v", err)
	}
	if err := b.ReleaseLease(ctx, lb); err != nil {
		t.Fatal(err)
	}
	if _, err := b.RenewLease(ctx, lb, time.Hour); !errors.Is(err, engine.ErrLeaseLost) {
		t.Errorf("renewing a released lease = %v, want ErrLeaseLost", err)
	}
	if _, err := a.AcquireLease(ctx, job, oa, time.Hour); err != nil {
		t.Errorf("acquiring a released job: %v", err)
	}

	// Leases are per job.
	job2 := newJob(t, a, mailboxKey(2))
	if _, err := b.AcquireLease(ctx, job2, ob, time.Hour); err != nil {
		t.Errorf("another job is free: %v", err)
	}
	if _, err := a.AcquireLease(ctx, job2+1000, oa, time.Hour); err == nil {
		t.Error("a lease on a job that does not exist was given")
	}
}

func testLeaseTakeOver(t *testing.T, open Opener) {
	ctx := context.Background()
	a, another := fresh(t, open)
	b := another(t)
	job := newJob(t, a, ann)
	gone, oa, ob := owner(11), owner(22), owner(33)
	if _, err := a.AcquireLease(ctx, job, gone, time.Hour); err != nil {
		t.Fatal(err)
	}
	// Two owners both see the gone holder; only the first takes over.
	la, err := a.TakeOverLease(ctx, job, gone, oa, time.Hour)
	if err != nil || la.Owner.Token != oa.Token {
		t.Fatalf("taking over from the holder: %+v, %v", la, err)
	}
	var le *engine.LeasedError
	if _, err := b.TakeOverLease(ctx, job, gone, ob, time.Hour); !errors.As(err, &le) || le.Holder.Token != oa.Token {
		t.Fatalf("taking over from a former holder = %v, want a LeasedError naming the new holder", err)
	}
	if _, err := a.RenewLease(ctx, la, time.Hour); err != nil {
		t.Errorf("the new holder renews: %v", err)
	}
	// From a holder that released meanwhile: TakeOver acquires.
	if err := a.ReleaseLease(ctx, la); err != nil {
		t.Fatal(err)
	}
	lb, err := b.TakeOverLease(ctx, job, oa, ob, time.Hour)
	if err != nil || lb.Owner.Token != ob.Token {
		t.Fatalf("taking over a free job: %+v, %v", lb, err)
	}
}

// testLeaseRace: owners on two handles ask for the same free job at once;
// exactly one wins, every other is told who.
func testLeaseRace(t *testing.T, open Opener) {
	ctx := context.Background()
	a, another := fresh(t, open)
	b := another(t)
	const rounds, racers = 5, 8
	for r := range rounds {
		job := newJob(t, a, mailboxKey(r))
		var wg sync.WaitGroup
		results := make(chan error, racers)
		for i := range racers {
			s := a
			if i%2 == 1 {
				s = b
			}
			wg.Go(func() {
				_, err := s.AcquireLease(ctx, job, owner(1000+i), time.Hour)
				results <- err
			})
		}
		wg.Wait()
		close(results)
		won := 0
		for err := range results {
			var le *engine.LeasedError
			switch {
			case err == nil:
				won++
			case !errors.As(err, &le):
				t.Errorf("round %d: %v, want success or a LeasedError", r, err)
			}
		}
		if won != 1 {
			t.Fatalf("round %d: %d owners acquired the job, want exactly 1", r, won)
		}
	}
}

// testSharedData: what one handle writes, another reads.
func testSharedData(t *testing.T, open Opener) {
	ctx := context.Background()
	a, another := fresh(t, open)
	b := another(t)
	ja, err := a.Job(ctx, ann)
	if err != nil {
		t.Fatal(err)
	}
	jb, err := b.Job(ctx, ann)
	if err != nil || jb.ID != ja.ID {
		t.Fatalf("the second handle's job = %+v, %v; want job %d", jb, err, ja.ID)
	}
	if err := a.PutFolder(ctx, engine.FolderRecord{JobID: ja.ID, SourceFolderID: "f", SyncState: "s1"}); err != nil {
		t.Fatal(err)
	}
	put(t, a, engine.ItemRecord{JobID: ja.ID, SourceID: "1", SourceFolderID: "f", Outcome: engine.ItemCopied, TargetItemID: "t"})
	if f, found, err := b.Folder(ctx, ja.ID, "f"); err != nil || !found || f.SyncState != "s1" {
		t.Errorf("the second handle's folder = %+v, %v, %v", f, found, err)
	}
	if c, err := b.Counts(ctx, ja.ID); err != nil || c.Copied != 1 {
		t.Errorf("the second handle's counts = %+v, %v", c, err)
	}
}

// testConcurrentWriters is the engine's pattern: many workers, several
// mailboxes, pending then copied records, reads in between; no call fails.
func testConcurrentWriters(t *testing.T, open Opener) {
	ctx := context.Background()
	s, another := fresh(t, open)
	o := another(t)
	const workers, perWorker, mailboxes = 8, 60, 3
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	ids := make(chan int64, workers)
	for w := range workers {
		st := s
		if w%2 == 1 {
			st = o
		}
		wg.Go(func() {
			// Every worker asks for its job itself, as processes do.
			job, err := st.Job(ctx, mailboxKey(w%mailboxes))
			if err != nil {
				errs <- err
				return
			}
			ids <- job.ID
			folder := fmt.Sprintf("f%d", w)
			for i := range perWorker {
				id := fmt.Sprintf("w%d-%d", w, i)
				rec := engine.ItemRecord{JobID: job.ID, SourceID: id, SourceFolderID: folder, Outcome: engine.ItemPending, SizeBytes: 10}
				if err := st.PutItem(ctx, rec); err != nil {
					errs <- err
					return
				}
				rec.Outcome, rec.TargetItemID = engine.ItemCopied, "t-"+id
				if err := st.PutItem(ctx, rec); err != nil {
					errs <- err
					return
				}
				if _, _, err := st.Item(ctx, job.ID, id); err != nil {
					errs <- err
					return
				}
			}
			errs <- st.PutFolder(ctx, engine.FolderRecord{JobID: job.ID, SourceFolderID: folder, SourceCount: perWorker})
		})
	}
	wg.Wait()
	close(errs)
	close(ids)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	jobs := map[int64]bool{}
	for id := range ids {
		jobs[id] = true
	}
	if len(jobs) != mailboxes {
		t.Errorf("%d workers on %d mailboxes made %d jobs", workers, mailboxes, len(jobs))
	}
	var copied int64
	for id := range jobs {
		c, err := s.Counts(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		copied += c.Copied
		if c.Pending != 0 {
			t.Errorf("job %d: %d pending left", id, c.Pending)
		}
	}
	if copied != workers*perWorker {
		t.Errorf("copied = %d, want %d", copied, workers*perWorker)
	}
}

func testCanceledContext(t *testing.T, open Opener) {
	s, _ := fresh(t, open)
	job := newJob(t, s, ann)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	calls := map[string]func() error{
		"PutItem": func() error {
			return s.PutItem(ctx, engine.ItemRecord{JobID: job, SourceID: "i", SourceFolderID: "f", Outcome: engine.ItemPending})
		},
		"PutJob": func() error { return s.PutJob(ctx, engine.JobRecord{ID: job, Status: engine.JobDone}) },
		"Counts": func() error { _, err := s.Counts(ctx, job); return err },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a canceled context: %v, want context.Canceled", name, err)
		}
	}
	if _, found, _ := s.Item(context.Background(), job, "i"); found {
		t.Error("a PutItem with a canceled context was recorded")
	}
}

func testClosed(t *testing.T, open Opener) {
	ctx := context.Background()
	s, _ := open(t)
	job := newJob(t, s, ann)
	lease, err := s.AcquireLease(ctx, job, owner(1), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	nop := func(engine.ItemRecord) error { return nil }
	calls := map[string]func() error{
		"Job":       func() error { _, err := s.Job(ctx, ann); return err },
		"PutJob":    func() error { return s.PutJob(ctx, engine.JobRecord{ID: job, Status: engine.JobDone}) },
		"Jobs":      func() error { _, err := s.Jobs(ctx); return err },
		"Folder":    func() error { _, _, err := s.Folder(ctx, job, "f"); return err },
		"PutFolder": func() error { return s.PutFolder(ctx, engine.FolderRecord{JobID: job, SourceFolderID: "f"}) },
		"Folders":   func() error { _, err := s.Folders(ctx, job); return err },
		"Item":      func() error { _, _, err := s.Item(ctx, job, "i"); return err },
		"PutItem": func() error {
			return s.PutItem(ctx, engine.ItemRecord{JobID: job, SourceID: "i", SourceFolderID: "f", Outcome: "pending"})
		},
		"PendingItems":    func() error { _, err := s.PendingItems(ctx, job, "f"); return err },
		"CopiedItems":     func() error { return s.CopiedItems(ctx, job, "f", nop) },
		"Counts":          func() error { _, err := s.Counts(ctx, job); return err },
		"DeletedAtSource": func() error { _, err := s.DeletedAtSource(ctx, job, "f"); return err },
		"TargetRecorded":  func() error { _, err := s.TargetRecorded(ctx, job, "t"); return err },
		"Probe":           func() error { _, _, err := s.Probe(ctx, "p"); return err },
		"PutProbe":        func() error { return s.PutProbe(ctx, engine.ProbeRecord{Pair: "p"}) },
		"Probes":          func() error { _, err := s.Probes(ctx); return err },
		"LossItems":       func() error { return s.LossItems(ctx, job, nop) },
		"AcquireLease":    func() error { _, err := s.AcquireLease(ctx, job, owner(2), time.Hour); return err },
		"TakeOverLease":   func() error { _, err := s.TakeOverLease(ctx, job, owner(1), owner(2), time.Hour); return err },
		"RenewLease":      func() error { _, err := s.RenewLease(ctx, lease, time.Hour); return err },
		"Close":           s.Close,
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			if err := call(); !errors.Is(err, engine.ErrStoreClosed) {
				t.Fatalf("err = %v, want engine.ErrStoreClosed", err)
			}
		})
	}
	// Closing ends the process's claims anyway: a release after Close
	// (a deferred one) is not an error.
	if err := s.ReleaseLease(ctx, lease); err != nil {
		t.Errorf("ReleaseLease after Close: %v", err)
	}
}
