package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/engine"
	"github.com/exmigrate/exmigrate/internal/state"
	"github.com/exmigrate/exmigrate/reports"
)

// observedFake is a state with one job's folders and copied items.
type observedFake struct {
	job   engine.JobRecord
	items []engine.ItemRecord
}

func (f observedFake) Jobs(context.Context) ([]engine.JobRecord, error) {
	return []engine.JobRecord{f.job}, nil
}

func (f observedFake) Folders(context.Context, int64) ([]engine.FolderRecord, error) {
	return []engine.FolderRecord{{SourceFolderID: "inbox"}, {SourceFolderID: "sent"}}, nil
}

func (f observedFake) CopiedItems(_ context.Context, _ int64, folder string, fn func(engine.ItemRecord) error) error {
	for _, it := range f.items {
		if it.SourceFolderID == folder && it.Outcome == engine.ItemCopied {
			if err := fn(it); err != nil {
				return err
			}
		}
	}
	return nil
}

func TestObservedRate(t *testing.T) {
	t0 := time.Date(2026, 11, 30, 1, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	item := func(folder string, size int64, s int) engine.ItemRecord {
		return engine.ItemRecord{SourceFolderID: folder, SizeBytes: size, Outcome: engine.ItemCopied, Updated: at(s)}
	}
	// Two items copied in the pass from 0 to 20 s, one by an earlier
	// failed pass (before 0), one skipped.
	items := []engine.ItemRecord{
		item("inbox", 1_000, 5), item("sent", 3_000, 15), item("inbox", 9_999, -60),
		{SourceFolderID: "inbox", SizeBytes: 5_000, Outcome: engine.ItemSkipped, Updated: at(10)},
	}
	tests := []struct {
		name         string
		job          engine.JobRecord
		status       string
		now          time.Time
		pass         string
		items, bytes int64
		ms           int64
		ips          float64
		unknown      string
	}{
		{name: "first pass", job: engine.JobRecord{Status: engine.JobDone, Passes: 1, LastStart: at(0), LastEnd: at(20)}, status: "done",
			pass: "first", items: 2, bytes: 4_000, ms: 20_000, ips: 0.1},
		{name: "failed first pass", job: engine.JobRecord{Status: engine.JobFailed, LastStart: at(0), LastEnd: at(20)}, status: "failed",
			pass: "first", items: 2, bytes: 4_000, ms: 20_000, ips: 0.1},
		// The pass under way, measured up to now.
		{name: "running", job: engine.JobRecord{Status: engine.JobRunning, LastStart: at(0)}, status: "running", now: at(40),
			pass: "running", items: 2, bytes: 4_000, ms: 40_000, ips: 0.05},
		// Stopped: up to its last record, not up to now.
		{name: "interrupted", job: engine.JobRecord{Status: engine.JobRunning, LastStart: at(0)}, status: "interrupted", now: at(4000),
			pass: "interrupted", items: 2, bytes: 4_000, ms: 15_000, ips: 2.0 / 15},
		{name: "delta pass", job: engine.JobRecord{Status: engine.JobDone, Passes: 2, LastStart: at(0), LastEnd: at(20)}, status: "done",
			unknown: deltaPassUnknown},
		{name: "delta pass running", job: engine.JobRecord{Status: engine.JobRunning, Passes: 1, LastStart: at(0)}, status: "running", now: at(40),
			unknown: deltaPassUnknown},
		{name: "no pass", job: engine.JobRecord{Status: engine.JobNew}, status: "not-started", unknown: "no pass has run"},
		{name: "copied nothing", job: engine.JobRecord{Status: engine.JobDone, Passes: 1, LastStart: at(100), LastEnd: at(120)}, status: "done",
			unknown: "the first pass recorded no item copied"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, err := observedRate(context.Background(), observedFake{tc.job, items}, tc.job, tc.status, tc.now)
			if err != nil {
				t.Fatal(err)
			}
			if o.Unknown != tc.unknown || o.Pass != tc.pass || o.Items != tc.items || o.Bytes != tc.bytes || o.DurationMillis != tc.ms {
				t.Fatalf("observedRate = %+v; want pass %q, %d items, %d bytes in %d ms, unknown %q", o, tc.pass, tc.items, tc.bytes, tc.ms, tc.unknown)
			}
			if d := o.ItemsPerSecond - tc.ips; d > 1e-9 || d < -1e-9 {
				t.Errorf("items/s = %v; want %v", o.ItemsPerSecond, tc.ips)
			}
			if tc.unknown != "" && (o.ItemsPerSecond != 0 || o.BytesPerSecond != 0) {
				t.Errorf("an unknown rate carries figures: %+v", o)
			}
		})
	}
}

// TestObservedFromStateFile: the rates come from what a state file
// records (the job's pass times, the copied items' sizes and times), for
// the summary of the job's source mailbox, and the report shows them.
func TestObservedFromStateFile(t *testing.T) {
	ctx := context.Background()
	st, err := state.Open(ctx, filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	job, err := st.Job(ctx, engine.JobKey{SourceAddress: "Ann@contoso.com", SourceLocation: "onprem", TargetAddress: "ann@contoso.com", TargetLocation: "cloud"})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := st.PutFolder(ctx, engine.FolderRecord{JobID: job.ID, SourceFolderID: "f1", SourcePath: "Inbox", TargetFolderID: "t1", TargetPath: "Inbox", Updated: start}); err != nil {
		t.Fatal(err)
	}
	for i := range 40 {
		rec := engine.ItemRecord{JobID: job.ID, SourceID: "s" + strings.Repeat("x", i+1), SourceItemID: "i", SourceFolderID: "f1", TargetItemID: "t",
			SizeBytes: 50_000, Outcome: engine.ItemCopied, Kind: "mail", Updated: start.Add(time.Duration(i+1) * time.Second)}
		if err := st.PutItem(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}
	job.Status, job.Passes, job.LastStart, job.LastEnd = engine.JobDone, 1, start, start.Add(80*time.Second)
	if err := st.PutJob(ctx, job); err != nil {
		t.Fatal(err)
	}
	summaries := map[string]*reports.CopySummary{"ann@contoso.com": {Status: "done", ItemsCopied: 40}}
	if err := addObserved(ctx, st, summaries, time.Now()); err != nil {
		t.Fatal(err)
	}
	o := summaries["ann@contoso.com"].Observed
	want := reports.ObservedRate{Pass: "first", Items: 40, Bytes: 2_000_000, DurationMillis: 80_000, ItemsPerSecond: 0.5, BytesPerSecond: 25_000}
	if o == nil || *o != want {
		t.Fatalf("observed %+v; want %+v", o, want)
	}
	a := &reports.Assessment{SchemaVersion: 1, Mailboxes: []reports.MailboxAssessment{{Address: "ann@contoso.com", Location: "onprem", Copy: summaries["ann@contoso.com"]}}}
	var b strings.Builder
	if err := reports.Render(&b, reports.FormatMarkdown, a, reports.Options{}); err != nil {
		t.Fatal(err)
	}
	if line := "| 0.5 items/s, 24.4 KB/s (40 items, 1.9 MB in 1 min, first pass) |"; !strings.Contains(b.String(), line) {
		t.Errorf("report.md lacks %q:\n%s", line, b.String())
	}
}
