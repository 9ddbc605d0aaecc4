package main

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/exmigrate/exmigrate/engine"
)

// copyTotals sums the summary's rows for its TOTAL row.
type copyTotals struct {
	items, bytes, readUpdates, skipped, folders int64
	longest                                     time.Duration
	ok, partial, failed, notStarted             int
}

func (t *copyTotals) add(r *engine.MailboxResult) {
	switch {
	case r == nil:
		t.notStarted++
		return
	case r.Err != nil:
		t.failed++
	case len(r.FailedFolders) > 0 || r.SkippedTotal > 0 || r.Skipped > 0:
		t.partial++
	default:
		t.ok++
	}
	t.items += r.ItemsCopied
	t.bytes += r.BytesCopied
	t.readUpdates += r.ReadUpdates
	t.skipped += max(r.SkippedTotal, r.Skipped)
	t.folders += int64(len(r.FoldersToMake))
	t.longest = max(t.longest, r.Duration)
}

// outcomes is the TOTAL row's result: how many mailboxes ended each way.
func (t *copyTotals) outcomes() string {
	s := fmt.Sprintf("%d ok", t.ok)
	if t.partial > 0 {
		s += fmt.Sprintf(", %d with skips or failed folders", t.partial)
	}
	if t.failed > 0 {
		s += fmt.Sprintf(", %d failed", t.failed)
	}
	if t.notStarted > 0 {
		s += fmt.Sprintf(", %d not started", t.notStarted)
	}
	return s
}

// reconRow is one folder of the reconciliation.
type reconRow struct {
	Mailbox    string `json:"mailbox"`
	Folder     string `json:"folder"`
	Store      string `json:"store,omitempty"`
	Source     *int64 `json:"source"` // null when the side does not count
	Target     *int64 `json:"target"` // null when not counted
	CopiedNow  int64  `json:"copied_now"`
	SkippedNow int64  `json:"skipped_now"`
	Note       string `json:"note,omitempty"`
	Error      bool   `json:"error"` // a difference nothing on record explains
	Reconciled bool   `json:"reconciled"`
}

func (r reconRow) sourceText() string {
	if r.Source == nil {
		return "-"
	}
	return fmt.Sprint(*r.Source)
}

func (r reconRow) targetText() string {
	if r.Target == nil {
		return "-"
	}
	return fmt.Sprint(*r.Target)
}

// reconciliationRows is every folder of the summary with its note, and how
// many of them match exactly (no note). Empty folders on both sides are
// left out: they say nothing.
func reconciliationRows(s copySummary) (rows []reconRow, matching int) {
	for i := range s.Listed {
		r := s.result(i)
		if r == nil {
			continue
		}
		rec := newReconciler(r, s.DateFiltered)
		for _, f := range r.Folders {
			if f.SourceCount == 0 && f.TargetCount == 0 && f.Copied == 0 && f.Skipped == 0 {
				continue
			}
			row := reconRow{Mailbox: r.Key.SourceAddress, Folder: f.SourcePath, Store: string(f.Store), CopiedNow: f.Copied, SkippedNow: f.Skipped}
			if f.CountsKnown {
				src, tgt := f.SourceCount, f.TargetCount
				row.Source = &src
				if r.Err == nil || f.TargetCount != 0 {
					row.Target = &tgt // else the pass stopped before the target was counted
				}
			}
			row.Note, row.Error = rec.note(f)
			row.Reconciled = row.Note == "" && f.CountsKnown
			if row.Note == "" {
				matching++
			}
			rows = append(rows, row)
		}
	}
	return rows, matching
}

// jsonCopySummary is `copy -o json`: everything the tables say, every
// folder included.
type jsonCopySummary struct {
	DryRun         bool                `json:"dry_run"`
	Mailboxes      []jsonCopyMailbox   `json:"mailboxes"`
	Totals         jsonCopyTotals      `json:"totals"`
	Reconciliation []reconRow          `json:"reconciliation"`
	FailedFolders  []jsonFolderProblem `json:"failed_folders"`
	NotCarried     []jsonFolderProblem `json:"not_carried"`
	Differences    int                 `json:"differences"`
}

type jsonCopyMailbox struct {
	Mailbox         string `json:"mailbox"`
	Target          string `json:"target"`
	Result          string `json:"result"`
	Started         bool   `json:"started"`
	ItemsCopied     int64  `json:"items_copied"`
	BytesCopied     int64  `json:"bytes_copied"`
	ReadUpdates     int64  `json:"read_updates"`
	Skipped         int64  `json:"skipped"`
	FoldersToCreate int    `json:"folders_to_create,omitempty"`
	DurationMS      int64  `json:"duration_ms"`
	Error           string `json:"error,omitempty"`
}

type jsonCopyTotals struct {
	Mailboxes   int   `json:"mailboxes"`
	OK          int   `json:"ok"`
	Partial     int   `json:"partial"`
	Failed      int   `json:"failed"`
	NotStarted  int   `json:"not_started"`
	ItemsCopied int64 `json:"items_copied"`
	BytesCopied int64 `json:"bytes_copied"`
	ReadUpdates int64 `json:"read_updates"`
	Skipped     int64 `json:"skipped"`
}

type jsonFolderProblem struct {
	Mailbox string `json:"mailbox"`
	Folder  string `json:"folder"`
	Source  int64  `json:"source"`
	Code    string `json:"code,omitempty"`
	Reason  string `json:"reason"`
}

// writeCopySummaryJSON writes the summary as one JSON document and returns
// the unexplained differences, as printCopySummary does.
func writeCopySummaryJSON(w io.Writer, s copySummary) (int, error) {
	out := jsonCopySummary{DryRun: s.DryRun, Mailboxes: []jsonCopyMailbox{}, FailedFolders: []jsonFolderProblem{}, NotCarried: []jsonFolderProblem{}}
	var tot copyTotals
	for i, e := range s.Listed {
		r := s.result(i)
		tot.add(r)
		m := jsonCopyMailbox{Mailbox: e.Address, Target: e.Target, Result: mailboxOutcome(r)}
		if r != nil {
			m.Mailbox, m.Target, m.Started = r.Key.SourceAddress, r.Key.TargetAddress, true
			m.ItemsCopied, m.BytesCopied, m.ReadUpdates = r.ItemsCopied, r.BytesCopied, r.ReadUpdates
			m.Skipped, m.FoldersToCreate, m.DurationMS = max(r.SkippedTotal, r.Skipped), len(r.FoldersToMake), r.Duration.Milliseconds()
			if r.Err != nil {
				m.Error = stripURLQueries(r.Err.Error())
			}
			for _, f := range r.FailedFolders {
				out.FailedFolders = append(out.FailedFolders, jsonFolderProblem{Mailbox: r.Key.SourceAddress, Folder: f.SourcePath, Source: f.SourceCount, Reason: stripURLQueries(f.Failed)})
			}
			for _, f := range r.NotCarried {
				if f.SourceCount > 0 {
					out.NotCarried = append(out.NotCarried, jsonFolderProblem{Mailbox: r.Key.SourceAddress, Folder: f.SourcePath, Source: f.SourceCount, Code: f.Code, Reason: f.NotCopied})
				}
			}
		}
		out.Mailboxes = append(out.Mailboxes, m)
	}
	out.Totals = jsonCopyTotals{Mailboxes: len(s.Listed), OK: tot.ok, Partial: tot.partial, Failed: tot.failed, NotStarted: tot.notStarted,
		ItemsCopied: tot.items, BytesCopied: tot.bytes, ReadUpdates: tot.readUpdates, Skipped: tot.skipped}
	out.Reconciliation, _ = reconciliationRows(s)
	if out.Reconciliation == nil || s.DryRun {
		out.Reconciliation = []reconRow{}
	}
	for _, r := range out.Reconciliation {
		if r.Error {
			out.Differences++
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return out.Differences, fmt.Errorf("write the summary: %w", err)
	}
	return out.Differences, nil
}
