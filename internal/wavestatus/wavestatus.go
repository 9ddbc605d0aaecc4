// Package wavestatus is the state of a migration wave as the people running
// it watch it: every job of a state file with its copy state, counts and
// owner (Load), one mailbox in detail (LoadDetail), the table, JSON and
// CSV of `exmigrate status`, and the live page of `exmigrate serve`
// (Handler). It only reads: a state file opened read-only, beside copies
// running in other processes.
package wavestatus

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/exmigrate/exmigrate/engine"
	"github.com/exmigrate/exmigrate/internal/selection"
	"github.com/exmigrate/exmigrate/internal/state"
)

// Owner is the process copying a job now: its lease holder.
type Owner struct {
	Host    string    `json:"host"`
	PID     int       `json:"pid"`
	Since   time.Time `json:"since"`
	Expires time.Time `json:"lease_expires"`
}

// Job is one row of a wave: a job of the state file, or a mailbox of the
// list that has none yet (ID 0, not-started).
type Job struct {
	ID             int64           `json:"id,omitempty"`
	Mailbox        string          `json:"mailbox"` // the source mailbox
	SourceLocation string          `json:"source_location,omitempty"`
	Target         string          `json:"target"`
	TargetLocation string          `json:"target_location,omitempty"`
	Batch          string          `json:"batch,omitempty"` // from the mailbox list
	State          selection.State `json:"state"`
	Passes         int             `json:"passes"`
	LastStart      time.Time       `json:"last_start,omitzero"`
	LastPass       time.Time       `json:"last_pass,omitzero"` // end of the last finished pass
	ItemsCopied    int64           `json:"items_copied"`
	BytesCopied    int64           `json:"bytes_copied"`
	ItemsSkipped   int64           `json:"items_skipped"`
	ItemsPending   int64           `json:"items_pending"`
	// FailedFolders counts the folders that do not reconcile (see
	// Folder.Failed).
	FailedFolders int    `json:"failed_folders"`
	Owner         *Owner `json:"owner,omitempty"`
	LastError     string `json:"last_error,omitempty"`

	folders []Folder
}

// Folder is one folder of a job.
type Folder struct {
	ID          string `json:"-"` // opaque and long: not shown
	Source      string `json:"source"`
	Target      string `json:"target"`
	SourceItems int64  `json:"source_items"` // at the last reconciliation
	TargetItems int64  `json:"target_items"`
	Copied      int64  `json:"items_copied"`
	CopiedBytes int64  `json:"bytes_copied"`
	Skipped     int64  `json:"items_skipped"`
	Pending     int64  `json:"items_pending"`
	// Failed says why the folder does not reconcile: items skipped, items
	// left pending by a pass that did not end, or fewer items on the target
	// than at the source at the last reconciliation. Empty when it does.
	Failed string `json:"failed,omitempty"`
}

// Totals sums a wave.
type Totals struct {
	Mailboxes    int                     `json:"mailboxes"`
	States       map[selection.State]int `json:"states"`
	ItemsCopied  int64                   `json:"items_copied"`
	BytesCopied  int64                   `json:"bytes_copied"`
	ItemsSkipped int64                   `json:"items_skipped"`
}

// Wave is what `exmigrate status` prints and the page shows.
type Wave struct {
	StateFile string `json:"state_file"`
	// stateName is Options.StateName: how the table names the state.
	stateName string
	ReadAt    time.Time `json:"read_at"`
	Jobs      []Job     `json:"jobs"`
	Totals    Totals    `json:"totals"`
}

// Options say which rows Load returns.
type Options struct {
	// List is the mailbox list (--mailboxes), if given: then the wave is
	// its mailboxes (with their batch, and a not-started row for each that
	// has no job yet) and jobs of other mailboxes are left out.
	List []ListEntry
	// ListName names the list in errors.
	ListName string
	// Select filters the rows (--mailbox, --batch, --only).
	Select selection.Criteria
	// Now is the clock that decides whether a lease is live; zero is
	// time.Now.
	Now time.Time
	// StateName names the state in errors without a list; empty is "the
	// state file" and its path.
	StateName string
}

// Store is what the status reads from a state store, SQLite's or
// PostgreSQL's (both give these, held to the same results by
// internal/state/storetest).
type Store interface {
	Wave(ctx context.Context) ([]state.JobSummary, error)
	WaveJob(ctx context.Context, jobID int64) (state.JobSummary, bool, error)
	Counts(ctx context.Context, jobID int64) (engine.ItemCounts, error)
	RecentSkipped(ctx context.Context, jobID int64, limit int) ([]engine.ItemRecord, error)
}

// ListEntry is one mailbox of the list.
type ListEntry struct {
	Address, Target, Batch string
}

// Load reads the wave from the store. A --mailbox or --batch that names
// nothing is an error, as for every command that selects.
func Load(ctx context.Context, store Store, path string, o Options) (*Wave, error) {
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	sums, err := store.Wave(ctx)
	if err != nil {
		return nil, err
	}
	jobs := make([]Job, 0, len(sums))
	for _, s := range sums {
		jobs = append(jobs, fromSummary(s, now))
	}
	w := &Wave{StateFile: path, ReadAt: now.UTC(), stateName: o.StateName}
	if o.List != nil {
		jobs = onList(jobs, o.List)
	}
	if len(o.Select.Batches) > 0 && o.List == nil {
		return nil, &selection.Error{Err: errors.New("--batch needs --mailboxes: a mailbox's batch is in the list's Batch column, not in the state file")}
	}
	cands := make([]selection.Candidate, len(jobs))
	for i, j := range jobs {
		cands[i] = selection.Candidate{Address: j.Mailbox, Batch: j.Batch}
	}
	name := o.ListName
	if o.List == nil {
		name = "the state file " + path
		if o.StateName != "" {
			name = o.StateName
		}
	}
	if len(jobs) == 0 && o.Select.IsZero() {
		w.Jobs = []Job{}
		w.Totals = total(w.Jobs)
		return w, nil
	}
	idx, err := o.Select.Select(cands, name, func(i int) selection.State { return jobs[i].State })
	if err != nil {
		return nil, err
	}
	w.Jobs = make([]Job, 0, len(idx))
	for _, i := range idx {
		w.Jobs = append(w.Jobs, jobs[i])
	}
	w.Totals = total(w.Jobs)
	return w, nil
}

// onList keeps the jobs of the list's mailboxes, in list order, with their
// batch, and adds a not-started row for a mailbox with no job.
func onList(jobs []Job, list []ListEntry) []Job {
	var out []Job
	for _, e := range list {
		found := false
		for _, j := range jobs {
			if strings.EqualFold(j.Mailbox, e.Address) && (e.Target == "" || strings.EqualFold(j.Target, e.Target)) {
				j.Batch = e.Batch
				out = append(out, j)
				found = true
			}
		}
		if !found {
			target := e.Target
			if target == "" {
				target = e.Address
			}
			out = append(out, Job{Mailbox: e.Address, Target: target, Batch: e.Batch, State: selection.NotStarted})
		}
	}
	return out
}

func fromSummary(s state.JobSummary, now time.Time) Job {
	live := leaseLive(s.Lease, now)
	j := Job{
		ID: s.ID, Mailbox: s.Key.SourceAddress, SourceLocation: s.Key.SourceLocation,
		Target: s.Key.TargetAddress, TargetLocation: s.Key.TargetLocation,
		State: selection.Classify(s.Status, live), Passes: s.Passes,
		LastStart: s.LastStart, LastPass: s.LastEnd, LastError: s.LastError,
	}
	if live {
		j.Owner = &Owner{Host: s.Lease.Owner.Host, PID: s.Lease.Owner.PID, Since: s.Lease.Owner.Since, Expires: s.Lease.Expires}
	}
	for _, f := range s.Folders {
		fo := Folder{
			ID: f.SourceFolderID, Source: f.SourcePath, Target: f.TargetPath,
			SourceItems: f.SourceCount, TargetItems: f.TargetCount,
			Copied: f.Copied, CopiedBytes: f.CopiedBytes, Skipped: f.Skipped, Pending: f.Pending,
		}
		if fo.Source == "" {
			fo.Source = "(folder not recorded yet)"
		}
		fo.Failed = whyFailed(fo, live)
		if fo.Failed != "" {
			j.FailedFolders++
		}
		j.ItemsCopied += f.Copied
		j.BytesCopied += f.CopiedBytes
		j.ItemsSkipped += f.Skipped
		j.ItemsPending += f.Pending
		j.folders = append(j.folders, fo)
	}
	return j
}

// whyFailed says why a folder does not reconcile. Pending items of a
// running job are the ones in flight, not a failure.
func whyFailed(f Folder, running bool) string {
	var why []string
	if f.Skipped > 0 {
		why = append(why, fmt.Sprintf("%d skipped", f.Skipped))
	}
	if f.Pending > 0 && !running {
		why = append(why, fmt.Sprintf("%d left pending by a pass that did not end", f.Pending))
	}
	if f.TargetItems < f.SourceItems {
		why = append(why, fmt.Sprintf("%d on the target of %d at the source", f.TargetItems, f.SourceItems))
	}
	return strings.Join(why, "; ")
}

func total(jobs []Job) Totals {
	t := Totals{Mailboxes: len(jobs), States: map[selection.State]int{}}
	for _, j := range jobs {
		t.States[j.State]++
		t.ItemsCopied += j.ItemsCopied
		t.BytesCopied += j.BytesCopied
		t.ItemsSkipped += j.ItemsSkipped
	}
	return t
}

// StateSummary says how many mailboxes are in each state, in the order a
// wave moves through them, e.g. "3 completed, 1 failed".
func (t Totals) StateSummary() string {
	var parts []string
	states := selection.States()
	for s := range t.States {
		if !slices.Contains(states, s) {
			states = append(states, s) // a status a newer build wrote
		}
	}
	for _, s := range states {
		if n := t.States[s]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, s))
		}
	}
	if len(parts) == 0 {
		return "no mailboxes"
	}
	return strings.Join(parts, ", ")
}

// Detail is one job in full: the drill-down page.
type Detail struct {
	Job
	Folders      []Folder         `json:"folders"`
	SkipReasons  map[string]int64 `json:"skip_reasons"`
	SkippedItems []SkippedItem    `json:"skipped_items"` // the latest MaxSkippedItems
}

// SkippedItem is one skipped item and why.
type SkippedItem struct {
	Folder  string    `json:"folder"`
	Subject string    `json:"subject"`
	Kind    string    `json:"kind,omitempty"`
	Size    int64     `json:"size_bytes"`
	Reason  string    `json:"reason"`
	At      time.Time `json:"at"`
}

// MaxSkippedItems bounds the skipped items a detail lists: a mailbox with
// thousands has a problem the reasons' counts already name.
const MaxSkippedItems = 200

// ErrNoJob is returned by LoadDetail for a job id the state file does not
// hold (pruned, or another state file).
var ErrNoJob = errors.New("no such job in the state file")

// LoadDetail reads one job in full.
func LoadDetail(ctx context.Context, store Store, id int64, now time.Time) (*Detail, error) {
	if now.IsZero() {
		now = time.Now()
	}
	sum, found, err := store.WaveJob(ctx, id)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("job %d: %w", id, ErrNoJob)
	}
	d := &Detail{Job: fromSummary(sum, now)}
	d.Folders = d.folders
	if d.Folders == nil {
		d.Folders = []Folder{}
	}
	counts, err := store.Counts(ctx, id)
	if err != nil {
		return nil, err
	}
	d.SkipReasons = counts.SkipReasons
	skipped, err := store.RecentSkipped(ctx, id, MaxSkippedItems)
	if err != nil {
		return nil, err
	}
	path := map[string]string{}
	for _, f := range d.Folders {
		path[f.ID] = f.Source
	}
	d.SkippedItems = make([]SkippedItem, 0, len(skipped))
	for _, it := range skipped {
		d.SkippedItems = append(d.SkippedItems, SkippedItem{Folder: path[it.SourceFolderID], Subject: it.Subject, Kind: it.Kind,
			Size: it.SizeBytes, Reason: it.Reason, At: it.Updated})
	}
	return d, nil
}

// Index reads the copy state of every job of the store, for selecting
// by --only.
func Index(ctx context.Context, store Store, now time.Time) (*selection.Index, error) {
	sums, err := store.Wave(ctx)
	if err != nil {
		return nil, err
	}
	jobs := make([]selection.Job, len(sums))
	for i, s := range sums {
		live := leaseLive(s.Lease, now)
		jobs[i] = selection.Job{ID: s.ID, Source: s.Key.SourceAddress, Target: s.Key.TargetAddress,
			SourceLocation: s.Key.SourceLocation, TargetLocation: s.Key.TargetLocation, State: selection.Classify(s.Status, live)}
	}
	return selection.NewIndex(jobs), nil
}
