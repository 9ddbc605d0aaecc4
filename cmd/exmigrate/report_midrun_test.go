package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/engine"
	"github.com/exmigrate/exmigrate/internal/logging"
	"github.com/exmigrate/exmigrate/internal/selection"
	"github.com/exmigrate/exmigrate/internal/state"
	"github.com/exmigrate/exmigrate/reports"
)

// TestReportMidRun reports on a state file whose first pass is under way
// (no folder reconciled yet: source and target counts 0) and expects the
// items to copy planned from the assessment and the items recorded, not
// "0 of 0 to copy", with the pending items from the state; the CSV files
// follow --csv-locale.
func TestReportMidRun(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := state.Open(ctx, filepath.Join(dir, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	job, err := st.Job(ctx, engine.JobKey{SourceAddress: "ann@contoso.com", SourceLocation: "onprem", TargetAddress: "ann@contoso.com", TargetLocation: "cloud"})
	if err != nil {
		t.Fatal(err)
	}
	job.Status, job.LastStart = engine.JobRunning, time.Now()
	if err := st.PutJob(ctx, job); err != nil {
		t.Fatal(err)
	}
	// ann's copy holds its job; bob's stopped mid-pass and holds nothing.
	if _, err := st.AcquireLease(ctx, job.ID, engine.NewOwner(), 10*time.Minute); err != nil {
		t.Fatal(err)
	}
	bob, err := st.Job(ctx, engine.JobKey{SourceAddress: "bob@contoso.com", SourceLocation: "onprem", TargetAddress: "bob@contoso.com", TargetLocation: "cloud"})
	if err != nil {
		t.Fatal(err)
	}
	bob.Status, bob.LastStart = engine.JobRunning, time.Now().Add(-time.Hour)
	if err := st.PutJob(ctx, bob); err != nil {
		t.Fatal(err)
	}
	if err := st.PutFolder(ctx, engine.FolderRecord{JobID: job.ID, SourceFolderID: "f1", SourcePath: "Inbox", TargetFolderID: "t1", TargetPath: "Inbox", Updated: time.Now()}); err != nil {
		t.Fatal(err)
	}
	put := func(n int, outcome string) {
		for i := range n {
			rec := engine.ItemRecord{JobID: job.ID, SourceID: fmt.Sprintf("%s-%d", outcome, i), SourceItemID: "x", SourceFolderID: "f1",
				SizeBytes: 1000, Outcome: outcome, Kind: "mail", Subject: "s", Updated: time.Now()}
			switch outcome {
			case engine.ItemCopied:
				rec.TargetItemID = "t"
			case engine.ItemSkipped:
				rec.Reason = "corrupt item"
			}
			if err := st.PutItem(ctx, rec); err != nil {
				t.Fatal(err)
			}
		}
	}
	put(40, engine.ItemCopied)
	put(3, engine.ItemPending)
	put(1, engine.ItemSkipped)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	a := &reports.Assessment{SchemaVersion: 1, Mailboxes: []reports.MailboxAssessment{
		{Address: "ann@contoso.com", Location: "onprem", Readiness: reports.Ready, Items: 200},
		{Address: "moved@contoso.com", Location: "cloud", Readiness: reports.Ready, Items: 999},
		{Address: "bob@contoso.com", Location: "onprem", Readiness: reports.Ready, Items: 10},
	}}
	in := filepath.Join(dir, "assessment.json")
	var b bytes.Buffer
	if err := reports.Render(&b, reports.FormatJSON, a, reports.Options{}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	g := &globalOptions{io: Streams{Out: &out, Err: &errb}, logger: logging.Discard()}
	outDir := filepath.Join(dir, "report")
	err = reportRun(ctx, &reportOptions{g: g, In: in, CopyResults: filepath.Join(dir, "state.db"), Formats: "html,csv,md", Out: outDir,
		CSVLocale: "auto", getenv: func(k string) string { return map[string]string{"LANG": "de_DE.UTF-8"}[k] }})
	if err != nil {
		t.Fatalf("report: %v\n%s", err, errb.String())
	}
	data, err := os.ReadFile(filepath.Join(outDir, "mailboxes.csv"))
	if err != nil {
		t.Fatal(err)
	}
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\uFEFF"))))
	r.Comma = ';' // de_DE from $LANG
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("mailboxes.csv is not ;-separated: %v", err)
	}
	row := map[string]string{}
	for i, h := range recs[0] {
		row[h] = recs[1][i]
	}
	// 200 assessed, 44 recorded, 1 skipped: 199 to copy, 40 on the target.
	if row["state"] != "running" || row["items_to_copy"] != "199" || row["items_on_target"] != "40" || row["items_pending"] != "3" {
		t.Errorf("ann's row: state %q, to copy %q, on target %q, pending %q; want running, 199, 40, 3",
			row["state"], row["items_to_copy"], row["items_on_target"], row["items_pending"])
	}
	if recs[2][slicesIndexOf(recs[0], "state")] != "in-cloud" {
		t.Errorf("the mailbox in Exchange Online is %q, want in-cloud", recs[2][slicesIndexOf(recs[0], "state")])
	}
	if got := recs[3][slicesIndexOf(recs[0], "state")]; got != "interrupted" {
		t.Errorf("bob's copy, running with no copy holding it, is %q, want interrupted", got)
	}
	html, err := os.ReadFile(filepath.Join(outDir, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(html), "40 of 209 items to copy on the target") || strings.Contains(string(html), "0 of 0 to copy") {
		t.Errorf("report.html does not say 40 of 209 (199 for ann, 10 for bob) items to copy")
	}
	skippedCSV, err := os.ReadFile(filepath.Join(outDir, "skipped.csv"))
	_, lists := any(&state.SQLite{}).(skippedLister)
	if err != nil || (lists && !strings.Contains(string(skippedCSV), "ann@contoso.com;Inbox;s;mail;1000;0,00;corrupt item")) {
		t.Errorf("skipped.csv (the state file lists skipped items: %t): %v\n%s", lists, err, skippedCSV)
	}
}

// TestReportCSVFlags parses the CSV flags as the command line gives them.
func TestReportCSVFlags(t *testing.T) {
	tests := []struct {
		args []string
		env  map[string]string
		want reports.CSVFormat
		err  string
	}{
		{nil, nil, reports.CSVFormat{}, ""},
		{[]string{"--csv-locale", "fr_FR.UTF-8"}, nil, reports.CSVFormat{Separator: ';', DecimalComma: true}, ""},
		{[]string{"--csv-locale", "auto"}, map[string]string{"LC_ALL": "de_DE", "LANG": "en_US"}, reports.CSVFormat{Separator: ';', DecimalComma: true}, ""},
		{[]string{"--csv-locale", "auto"}, map[string]string{"LC_NUMERIC": "en_US", "LANG": "de_DE"}, reports.CSVFormat{}, ""},
		{[]string{"--csv-locale", "auto"}, nil, reports.CSVFormat{}, ""},
		{[]string{"--csv-locale", "de_DE", "--csv-separator", "tab"}, nil, reports.CSVFormat{Separator: '\t', DecimalComma: true}, ""},
		{[]string{"--csv-bom=false"}, nil, reports.CSVFormat{NoBOM: true}, ""},
		{[]string{"--csv-bom"}, nil, reports.CSVFormat{}, ""},
		{[]string{"--csv-locale", "german"}, nil, reports.CSVFormat{}, "--csv-locale"},
		{[]string{"--csv-locale", "auto"}, map[string]string{"LANG": "bogus"}, reports.CSVFormat{}, "environment"},
		{[]string{"--csv-separator", "x"}, nil, reports.CSVFormat{}, "--csv-separator"},
	}
	for _, tc := range tests {
		var got *reportOptions
		cmd := newReportCommand(&globalOptions{}, func(_ context.Context, o *reportOptions) error { got = o; return nil })
		cmd.SetArgs(append([]string{"--in", "a.json"}, tc.args...))
		cmd.SetOut(&bytes.Buffer{})
		cmd.SetErr(&bytes.Buffer{})
		if err := cmd.Execute(); err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		got.getenv = func(k string) string { return tc.env[k] }
		f, err := got.csvFormat()
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%v: error %v, want one about %s", tc.args, err, tc.err)
		case tc.err == "" && (err != nil || f != tc.want):
			t.Errorf("%v: %+v, %v; want %+v", tc.args, f, err, tc.want)
		}
	}
}

func slicesIndexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

// skippedStore is a state file whose store can list skipped items, as
// skippedLister asks.
type skippedStore struct {
	*state.SQLite
	items []engine.ItemRecord
}

func (s skippedStore) SkippedItems(_ context.Context, jobID int64, fn func(engine.ItemRecord) error) error {
	for _, it := range s.items {
		if it.JobID == jobID {
			if err := fn(it); err != nil {
				return err
			}
		}
	}
	return nil
}

// TestSkippedItemsNamed: with a store that lists skipped items, each job's
// summary names them with their folder path, and skipped.csv lists them.
func TestSkippedItemsNamed(t *testing.T) {
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
	if err := st.PutFolder(ctx, engine.FolderRecord{JobID: job.ID, SourceFolderID: "f1", SourcePath: "Inbox/Big", TargetFolderID: "t1", TargetPath: "Inbox/Big", Updated: time.Now()}); err != nil {
		t.Fatal(err)
	}
	skipped := engine.ItemRecord{JobID: job.ID, SourceID: "s1", SourceItemID: "x", SourceFolderID: "f1", SizeBytes: 160 << 20,
		Outcome: engine.ItemSkipped, Reason: "over 150 MB", Kind: "mail", Subject: "=video", Updated: time.Now()}
	if err := st.PutItem(ctx, skipped); err != nil {
		t.Fatal(err)
	}
	summaries := map[string]*reports.CopySummary{"ann@contoso.com": {Status: "partial", ItemsSkipped: 1}}
	if err := addRecorded(ctx, skippedStore{st, []engine.ItemRecord{skipped}}, summaries, selection.NewIndex(nil)); err != nil {
		t.Fatal(err)
	}
	got := summaries["ann@contoso.com"].Skipped
	want := []reports.SkippedItem{{Folder: "Inbox/Big", Subject: "=video", Kind: "mail", SizeBytes: 160 << 20, Reason: "over 150 MB"}}
	if len(got) != 1 || got[0] != want[0] {
		t.Fatalf("skipped items %+v, want %+v", got, want)
	}
	a := &reports.Assessment{SchemaVersion: 1, Mailboxes: []reports.MailboxAssessment{{Address: "ann@contoso.com", Location: "onprem", Copy: summaries["ann@contoso.com"]}}}
	var b bytes.Buffer
	if err := reports.Render(&b, reports.FormatCSV, a, reports.Options{CSVTable: reports.CSVSkipped, CSV: reports.CSVFormat{NoBOM: true}}); err != nil {
		t.Fatal(err)
	}
	if want := "mailbox,folder,subject,kind,size_bytes,size_mb,reason\r\nann@contoso.com,Inbox/Big,'=video,mail,167772160,160.00,over 150 MB\r\n"; b.String() != want {
		t.Errorf("skipped.csv:\n%s\nwant\n%s", b.String(), want)
	}

	// The state file names them itself once it has the query (it is a
	// skippedLister); until then the summary keeps none rather than failing.
	summaries["ann@contoso.com"].Skipped = nil
	err = addRecorded(ctx, st, summaries, selection.NewIndex(nil))
	got = summaries["ann@contoso.com"].Skipped
	if _, lists := any(st).(skippedLister); err != nil || (lists && (len(got) != 1 || got[0] != want[0])) || (!lists && got != nil) {
		t.Errorf("from the state file (lists skipped items: %t): %v, %+v", lists, err, got)
	}
}
