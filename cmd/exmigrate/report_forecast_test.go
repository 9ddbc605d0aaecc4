package main

import (
	"context"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/engine"
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
