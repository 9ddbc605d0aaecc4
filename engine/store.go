package engine

import (
	"context"
	"errors"
	"time"
)

// Store is what the copy engine keeps between runs: per job and folder the
// target folder and the sync state, per item its source identity, target id
// and outcome. It is the engine's only memory, so a crash at any point loses
// nothing: the engine records an item as pending before it writes it and as
// copied only after the target confirmed it.
//
// The SQLite implementation lives in internal/state; the interface is kept
// small so that PostgreSQL can stand behind it for many workers.
type Store interface {
	// Job returns the job's record, creating it when it is new.
	Job(ctx context.Context, job JobKey) (JobRecord, error)
	// PutJob updates the job's status and timings.
	PutJob(ctx context.Context, rec JobRecord) error
	// Jobs lists every job the store knows, for reports.
	Jobs(ctx context.Context) ([]JobRecord, error)

	// Folder returns the state of one source folder of a job; found is false
	// for a folder not seen before.
	Folder(ctx context.Context, jobID int64, sourceFolderID string) (rec FolderRecord, found bool, err error)
	// PutFolder inserts or replaces a folder's state.
	PutFolder(ctx context.Context, rec FolderRecord) error
	// Folders lists the folders of a job.
	Folders(ctx context.Context, jobID int64) ([]FolderRecord, error)

	// Item returns the record of one source item of a job.
	Item(ctx context.Context, jobID int64, sourceID string) (rec ItemRecord, found bool, err error)
	// PutItem inserts or replaces an item's record.
	PutItem(ctx context.Context, rec ItemRecord) error
	// PendingItems lists the items recorded as pending in a folder: written
	// or maybe written before a crash, to be looked up on the target.
	PendingItems(ctx context.Context, jobID int64, sourceFolderID string) ([]ItemRecord, error)
	// CopiedItems calls fn for each item of a source folder recorded as
	// copied, streaming.
	CopiedItems(ctx context.Context, jobID int64, sourceFolderID string, fn func(ItemRecord) error) error
	// Counts sums a job's items by outcome, and skipped items by reason.
	Counts(ctx context.Context, jobID int64) (ItemCounts, error)
	// DeletedAtSource counts the items copied from a source folder that
	// were deleted there since (copied records whose Reason is
	// ReasonDeletedAtSource): the target keeps them, deletions are not
	// carried over, and the reconciliation must not take them for
	// duplicates.
	DeletedAtSource(ctx context.Context, jobID int64, sourceFolderID string) (int64, error)

	// TargetRecorded says whether a target item id is already the copy of
	// some item of the job: a fingerprint names candidates, and one that
	// another item's record holds is not this item's.
	TargetRecorded(ctx context.Context, jobID int64, targetItemID string) (bool, error)

	// Probe returns the fidelity probe's verdict recorded for a pair of
	// endpoints; PutProbe records one (replacing the last).
	Probe(ctx context.Context, pair string) (rec ProbeRecord, found bool, err error)
	PutProbe(ctx context.Context, rec ProbeRecord) error
	// Probes lists every recorded verdict, for reports.
	Probes(ctx context.Context) ([]ProbeRecord, error)

	// LossItems calls fn for each copied item of a job that lost
	// something on the way (Losses not empty), for the report's findings.
	LossItems(ctx context.Context, jobID int64, fn func(ItemRecord) error) error

	// AcquireLease, RenewLease and ReleaseLease give a job one owner at a
	// time (see lease.go for the contract).
	AcquireLease(ctx context.Context, jobID int64, owner Owner, ttl time.Duration) (Lease, error)
	TakeOverLease(ctx context.Context, jobID int64, from, to Owner, ttl time.Duration) (Lease, error)
	RenewLease(ctx context.Context, lease Lease, ttl time.Duration) (Lease, error)
	ReleaseLease(ctx context.Context, lease Lease) error

	Close() error
}

// JobKey names a copy job: one source mailbox to one target mailbox.
type JobKey struct {
	SourceAddress  string
	SourceLocation string // onprem or cloud
	TargetAddress  string
	TargetLocation string
}

// Job statuses.
const (
	JobNew     = "new"
	JobRunning = "running"
	JobDone    = "done"    // the last pass finished with nothing skipped
	JobPartial = "partial" // the last pass finished with skipped items
	JobFailed  = "failed"
	// JobCompleted is a job signed off by finalize: cut over, its
	// reconciliation accepted. Later passes leave it alone.
	JobCompleted = "completed"
)

// JobRecord is a job's row.
type JobRecord struct {
	ID        int64
	Key       JobKey
	Status    string
	Passes    int       // finished passes
	LastStart time.Time // start of the last pass
	LastEnd   time.Time // end of the last finished pass
	LastError string
	// Paths says how each store and kind moved at the last pass, e.g.
	// "primary/mail=mime; primary/calendar=typed; primary/notes=not carried"
	// (see FormatPaths).
	Paths string
}

// ProbeRecord is the fidelity probe's verdict for one pair of endpoints
// (copy probes once per pair and plans every mailbox of it from this).
type ProbeRecord struct {
	Pair           string // e.g. "onprem -> cloud", by endpoint names
	Source, Target string // the mailboxes probed
	At             time.Time
	Result         ProbeResult
}

// FolderRecord is one source folder of a job and its counterpart.
type FolderRecord struct {
	JobID          int64
	SourceFolderID string
	SourcePath     string
	TargetFolderID string
	TargetPath     string
	SyncState      string // opaque: EWS SyncState or Graph delta link; empty before the first pass
	SourceCount    int64  // items the source reported at the last pass
	TargetCount    int64  // items the target reported at the last pass
	// WritesOpen: items of the folder are being written without a pending
	// record each (their writes carry the stamp). Until the pass records
	// them all and clears it, the target's stamps tell what was written:
	// the run after a crash lists them before it writes anything.
	WritesOpen bool
	Updated    time.Time
}

// Item outcomes.
const (
	ItemPending = "pending" // about to be written, or written before a crash
	ItemCopied  = "copied"  // the target confirmed it
	ItemSkipped = "skipped" // failed for good; Reason says why
)

// ReasonDeletedAtSource marks a copied item whose source was deleted
// after the copy (the target keeps it).
const ReasonDeletedAtSource = "deleted at the source"

// ItemRecord is one source item of a job.
type ItemRecord struct {
	JobID          int64
	SourceID       string // the stamp written to the target
	SourceItemID   string
	SourceFolderID string
	TargetItemID   string
	SizeBytes      int64
	IsRead         bool
	Outcome        string
	Reason         string // why it was skipped
	Updated        time.Time
	// Subject names the item in later audit lines and reports (a read
	// change from EWS carries only the id).
	Subject string
	// Kind is the item's kind (mail, calendar, contacts, tasks ...), for
	// per-kind counts.
	Kind string
	// Version is the source item's ChangeKey at its last copy or update:
	// a typed item whose version moved on is updated on the target.
	Version string
	// ContentHash is the SHA-256 (hex) of the typed body last written, so
	// that a new version with the same content writes nothing.
	ContentHash string
	// Losses are the codes of what the target could not carry of the
	// item (mailbox.Loss), comma-separated; empty when nothing was lost.
	Losses string
	// Fingerprint is the source item's mailbox.Item.Fingerprint, recorded
	// with the pending record of a write to a target that does not stamp
	// it (mailbox.Fingerprinter), so that a crash before the copied
	// record leaves a way to find the item there.
	Fingerprint string
}

// ItemCounts sums a job's items.
type ItemCounts struct {
	Copied      int64
	CopiedBytes int64
	Pending     int64
	Skipped     int64
	SkipReasons map[string]int64
	// Kinds sums the same per item kind (items recorded before kinds were
	// kept count under "").
	Kinds map[string]KindCounts
}

// KindCounts sums one kind of a job's items.
type KindCounts struct {
	Copied      int64
	CopiedBytes int64
	Skipped     int64
	// Losses counts copied items by what they lost (loss code).
	Losses map[string]int64
}

// ErrStoreClosed is returned after Close.
var ErrStoreClosed = errors.New("state store is closed")
