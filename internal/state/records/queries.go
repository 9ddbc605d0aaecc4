package records

import (
	"errors"
	"fmt"
	"time"

	"github.com/exmigrate/exmigrate/engine"
)

// The types below are what the stores' own queries (beyond engine.Store)
// return: the wave's overview (status, serve), pruning and finalize's
// sign-offs. They live here so that both stores return the same types
// (pgstore cannot import internal/state); state keeps aliases.

// FolderCounts sums one folder's item records by outcome.
type FolderCounts struct {
	Copied, Pending, Skipped int64
	CopiedBytes              int64
}

// JobSummary is one job as a wave's overview shows it.
type JobSummary struct {
	engine.JobRecord
	// Lease is the job's lease row, nil when it has none; live or not is
	// the caller's comparison of Expires with its clock.
	Lease   *engine.Lease
	Folders []FolderSummary
}

// FolderSummary is one folder of a job: its record and its items' counts.
// A folder whose items are recorded before its folder record (a pass
// stopped early) has only SourceFolderID set in its record.
type FolderSummary struct {
	engine.FolderRecord
	FolderCounts
}

// PruneRule says which jobs Prune removes.
type PruneRule struct {
	// Completed selects jobs whose last pass ended with nothing skipped.
	Completed bool
	// Abandoned selects every other job (never started, failed, partial,
	// interrupted) that nobody touched since Before: a mailbox taken out
	// of the wave, or a dry run's leftovers.
	Abandoned bool
	// Before: only jobs whose last activity (the start or end of their
	// last pass, or their creation when no pass ran) is older than this
	// are removed.
	Before time.Time
	// DryRun lists what would be removed and removes nothing.
	DryRun bool
}

// ErrNoPruneRule is returned by Prune when the rule selects nothing.
var ErrNoPruneRule = errors.New("prune: say which jobs to remove: completed, abandoned or both")

// CheckPruneRule refuses a rule that selects no kind of job or no age.
func CheckPruneRule(rule PruneRule) error {
	if !rule.Completed && !rule.Abandoned {
		return ErrNoPruneRule
	}
	if rule.Before.IsZero() {
		return errors.New("prune: give an age (older than) so that recent jobs stay")
	}
	return nil
}

// PruneSlice is how many item records one delete of Prune removes, so
// that a copy of other jobs never waits long for the rows it writes.
const PruneSlice = 5000

// SignOff is finalize's acceptance of a job: its final pass reconciled, and
// the skipped items (if any) approved by the operator.
type SignOff struct {
	JobID         int64
	At            time.Time
	Operator      string
	ItemsOnTarget int64
	Skipped       int64 // items of the job skipped over all its passes
	Approved      int64 // of those, how many the operator approved (all of them, or the sign-off is refused)
	Note          string
}

// CheckSignOff refuses a sign-off without an operator or with a skipped
// item not approved.
func CheckSignOff(so SignOff) error {
	switch {
	case so.Operator == "":
		return errors.New("a sign-off names who signed it off")
	case so.Approved != so.Skipped:
		return fmt.Errorf("%d skipped item(s) but %d approved: every skipped item must be approved", so.Skipped, so.Approved)
	}
	return nil
}

// ErrReadOnly is the error of a write to a store opened read-only (to
// report on it beside copies): every store wraps it.
var ErrReadOnly = errors.New("the state was opened read-only, to report on it")

// PruneEach prunes the candidates in order with prune (which takes the
// job's lease and removes it if it still qualifies) and returns the jobs
// removed; it stops at the first error, returning those removed before.
func PruneEach(candidates []engine.JobRecord, prune func(jobID int64) (bool, error)) ([]engine.JobRecord, error) {
	var removed []engine.JobRecord
	for _, j := range candidates {
		gone, err := prune(j.ID)
		if err != nil {
			return removed, err
		}
		if gone {
			removed = append(removed, j)
		}
	}
	return removed, nil
}

// WaveBuilder assembles the job summaries of Wave from the rows each
// store reads with its own driver: jobs first (in the order wanted), then
// leases, folders (in path order) and item counts by folder and outcome.
// A folder known only by its items is added after the recorded ones.
type WaveBuilder struct {
	out      []JobSummary
	byID     map[int64]int
	folderAt map[int64]map[string]int // job -> folder id -> index in its Folders
}

// Job adds a job.
func (w *WaveBuilder) Job(j engine.JobRecord) {
	if w.byID == nil {
		w.byID, w.folderAt = map[int64]int{}, map[int64]map[string]int{}
	}
	w.byID[j.ID] = len(w.out)
	w.out = append(w.out, JobSummary{JobRecord: j})
}

// Lease sets the lease of its job, if the job was added.
func (w *WaveBuilder) Lease(l engine.Lease) {
	if i, ok := w.byID[l.JobID]; ok {
		w.out[i].Lease = &l
	}
}

// Folder sets a folder's record in its job, if the job was added.
func (w *WaveBuilder) Folder(f engine.FolderRecord) {
	if fs := w.folder(f.JobID, f.SourceFolderID); fs != nil {
		fs.FolderRecord = f
	}
}

// Count adds the count of a folder's items of one outcome.
func (w *WaveBuilder) Count(jobID int64, folder, outcome string, n, bytes int64) {
	fs := w.folder(jobID, folder)
	if fs == nil {
		return
	}
	switch outcome {
	case engine.ItemCopied:
		fs.Copied, fs.CopiedBytes = n, bytes
	case engine.ItemPending:
		fs.Pending = n
	case engine.ItemSkipped:
		fs.Skipped = n
	}
}

func (w *WaveBuilder) folder(jobID int64, folder string) *FolderSummary {
	i, ok := w.byID[jobID]
	if !ok {
		return nil
	}
	if w.folderAt[jobID] == nil {
		w.folderAt[jobID] = map[string]int{}
	}
	fi, ok := w.folderAt[jobID][folder]
	if !ok {
		fi = len(w.out[i].Folders)
		w.folderAt[jobID][folder] = fi
		w.out[i].Folders = append(w.out[i].Folders, FolderSummary{FolderRecord: engine.FolderRecord{JobID: jobID, SourceFolderID: folder}})
	}
	return &w.out[i].Folders[fi]
}

// Summaries is the wave, in the order the jobs were added.
func (w *WaveBuilder) Summaries() []JobSummary { return w.out }
