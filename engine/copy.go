package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/exmigrate/exmigrate/internal/audit"
	"github.com/exmigrate/exmigrate/mailbox"
)

// CopyOptions say what a copy pass carries.
type CopyOptions struct {
	DryRun bool
	// Reopen copies jobs that finalize completed; without it they are
	// left alone.
	Reopen         bool
	IncludeFolders []*regexp.Regexp // on the source folder path; empty means all
	ExcludeFolders []*regexp.Regexp
	// MapPath rewrites a source folder path to the target path it should
	// land in (the "Old/Path -> New/Path" rules); nil keeps paths.
	MapPath       func(sourcePath string) (targetPath string, mapped bool)
	ReceivedSince time.Time // zero: no lower bound
	ReceivedUntil time.Time // zero: no upper bound
	MaxItemBytes  int64     // 0: no limit of our own (the target still has its own)
	// MaxSkipped fails the mailbox when more items are skipped; negative
	// means no limit.
	MaxSkipped int
	// Stores are the stores copied, each into the same store of the
	// target unless StoreInto says otherwise; empty means the primary
	// mailbox only.
	Stores []mailbox.Scope
	// StoreInto copies a source store into a folder of another target
	// store: Recoverable Items, which neither service documents a way to
	// write into, go into a folder of the target's primary mailbox or
	// archive.
	StoreInto map[mailbox.Scope]StoreTarget
	// FullFidelityRefused are the kinds whose full-fidelity write the
	// fidelity probe refused for this pair of endpoints, with the reason:
	// they take the path they have without it.
	FullFidelityRefused map[mailbox.Kind]string
	// ItemWorkers is how many items of one mailbox are in flight at once.
	// Graph allows 4 requests per mailbox; the Graph client's own scheduler
	// enforces it, so more workers only queue there. 0: 4, or
	// BatchWriterWorkers into a target whose writes go in groups.
	ItemWorkers int
	// Attempts bounds how often a transiently failing operation is tried
	// before the mailbox fails (transient failures are never skipped).
	Attempts    int
	BackoffBase time.Duration
	BackoffMax  time.Duration
}

// BatchWriterWorkers are the items in flight per mailbox by default into a
// target that writes many items a request (Exchange Server, Exchange
// Online's $batch): their writes
// go in groups of up to that many (BenchmarkCopyOnPremToOnPrem: 2.9x the
// messages per second of 4 workers writing one item a request at 20 ms).
const BatchWriterWorkers = 16

// StoreTarget is where a source store lands on the target: a folder (by
// its path below the root) of a store.
type StoreTarget struct {
	Store  mailbox.Scope
	Folder string
}

// into is the target store a source store is copied into, and the folder
// below that store's root that stands for the source store's root ("" for
// the root itself).
func (o *CopyOptions) into(store mailbox.Scope) (mailbox.Scope, string) {
	if t, ok := o.StoreInto[store]; ok && t.Store != "" {
		return t.Store, t.Folder
	}
	return store, ""
}

func (o *CopyOptions) withDefaults() CopyOptions {
	c := *o
	if c.ItemWorkers <= 0 {
		c.ItemWorkers = 4
	}
	if c.Attempts <= 0 {
		c.Attempts = 5
	}
	if len(c.Stores) == 0 {
		c.Stores = []mailbox.Scope{mailbox.ScopePrimary}
	}
	if c.BackoffBase <= 0 {
		c.BackoffBase = 500 * time.Millisecond
	}
	if c.BackoffMax <= 0 {
		c.BackoffMax = 30 * time.Second
	}
	return c
}

// AuditEvent is one write to a mailbox, for the audit log.
type AuditEvent struct {
	Mailbox  string
	Location string // onprem or cloud: which side was written, so the log names its principal
	SourceID string // the stamp of an item
	Size     int64
	Action   string // one of internal/audit's Action constants
	Object   string // folder path, or folder path and subject
	TargetID string
	Outcome  string // ok, error, skipped or started; audit sets ok or error from the error when empty
	Err      string
	Note     string // qualifies the outcome (a write confirmed after a crash)
}

// Auditor records writes. Every write the engine makes goes through it
// twice: a started line before the write is sent, and its outcome after.
type Auditor interface {
	Record(ctx context.Context, e AuditEvent) error
}

// unfinishedAuditor is an Auditor that can tell whether a write was begun
// (a started line) and its outcome never recorded: a process killed in
// between. FileAuditor is one. With it, the engine records a write it
// finds done on the target as that write's ok line, not as an adoption.
type unfinishedAuditor interface {
	Unfinished(ctx context.Context, e AuditEvent) (bool, error)
}

// noteConfirmed is the note of an ok line a later run writes for a write
// whose own run died before recording it.
const noteConfirmed = "written by an interrupted run; its outcome confirmed on the target by this run"

// Progress receives the engine's progress, for a bar or log lines, by
// mailbox.
type Progress interface {
	// Planned is what one store of a mailbox has left to copy in this
	// pass, once its folders are listed (the same figures Plan gives).
	Planned(key JobKey, items, bytes int64)
	ItemDone(key JobKey, bytes int64)
	// ItemSkipped is an item of the plan that is not copied.
	ItemSkipped(key JobKey, bytes int64)
}

// Copier runs copy passes. One Copier serves many mailboxes at once.
type Copier struct {
	Store    Store
	Audit    Auditor
	Progress Progress
	Log      *slog.Logger
	Options  CopyOptions
	// Owner names this process in the jobs' leases; empty: host, pid and
	// a random token, made once per Copier.
	Owner Owner
	// LeaseTTL is how long a job's lease lasts unrenewed (DefaultLeaseTTL).
	LeaseTTL time.Duration

	ownerOnce sync.Once
	owner     Owner
}

// FolderResult is the reconciliation of one folder after a pass.
type FolderResult struct {
	Store       mailbox.Scope
	Kind        mailbox.Kind
	SourceID    string
	SourcePath  string
	TargetPath  string
	SourceCount int64 // items the source folder holds
	TargetCount int64 // items the target folder holds
	Copied      int64 // copied in this pass
	Skipped     int64 // skipped in this pass
	// CountsKnown is false when a side does not declare true item counts:
	// SourceCount and TargetCount then say nothing.
	CountsKnown bool
	// DeletedAtSource counts items copied from this folder in any pass
	// and deleted at the source since: the target keeps them.
	DeletedAtSource int64
	Code            string // finding code when the folder is not carried
	NotCopied       string // why the folder is not carried
	Failed          string // why the folder failed in this pass
}

// MailboxResult is the outcome of one pass over one mailbox.
type MailboxResult struct {
	Key    JobKey
	DryRun bool
	// Completed is true for a job finalize signed off: the pass copied
	// nothing (CopyOptions.Reopen copies it again).
	Completed      bool
	Started        time.Time
	Duration       time.Duration
	FoldersCreated int
	FoldersToMake  []string // dry run: target folders that would be created
	ItemsCopied    int64    // dry run: items that would be copied
	BytesCopied    int64
	ReadUpdates    int64
	Healed         int64 // items found on the target by their stamp after a crash
	// Adopted counts items the state did not know that the target already
	// held under their stamp (a new or lost state file, an earlier run
	// elsewhere): recorded as copied without a write.
	Adopted int64
	// StampListings counts the target folders listed for their stamps.
	StampListings int
	Skipped       int64 // skipped in this pass
	SkipReasons   map[string]int64
	// SkippedTotal counts the items of the job skipped in any pass, with
	// their reasons: an item skipped once stays skipped, and the job stays
	// partial, until the engineer deals with it.
	SkippedTotal     int64
	SkipReasonsTotal map[string]int64
	DeletesIgnored   int64
	// NotCarried are the source folders no route carries to the target,
	// each with its finding code and the reason (from the sides'
	// declared capabilities): never a silent skip.
	NotCarried []FolderResult
	// Gaps are the stores and kinds no route carries, once each.
	Gaps []mailbox.Gap
	// FailedFolders are the folders a permanent error stopped in this pass
	// (Failed says why); the mailbox went on with the others and the job
	// is partial.
	FailedFolders []FolderResult
	Folders       []FolderResult
	// Paths says how each store and kind moves (FormatPaths): the plan,
	// shown by the summary, the dry run and the report.
	Paths string
	// Kinds sums this pass per item kind: what was copied, updated,
	// skipped and carried with a loss.
	Kinds map[mailbox.Kind]*KindResult
	// NotUpdated counts items changed at the source that a target
	// without updates left as first copied.
	NotUpdated int64
	// Losses lists the items of this pass carried with a loss (at most
	// maxLossItems; LossesTotal counts them all).
	Losses []LossItem
	Err    error
}

// Updated counts the items rewritten in place in this pass because their
// source changed, over every kind.
func (m *MailboxResult) Updated() int64 {
	var n int64
	for _, k := range m.Kinds {
		n += k.Updated
	}
	return n
}

// LossesTotal counts what this pass carried with a loss (an item once per
// loss code), over every kind.
func (m *MailboxResult) LossesTotal() int64 {
	var n int64
	for _, k := range m.Kinds {
		for _, c := range k.Losses {
			n += c
		}
	}
	return n
}

// KindResult is one kind's share of a pass.
type KindResult struct {
	Copied  int64
	Bytes   int64
	Updated int64
	Skipped int64
	Adopted int64
	// Losses counts the items carried with a loss, by loss code.
	Losses map[string]int64
}

// LossItem is one item carried with a loss.
type LossItem struct {
	Kind    mailbox.Kind
	Folder  string
	Subject string
	Code    string
	What    string
}

// maxLossItems bounds the losses a result lists; the counts stay exact.
const maxLossItems = 1000

// kind returns the pass's counters of a kind; the caller holds r.mu.
func (r *mailboxRun) kind(k mailbox.Kind) *KindResult {
	if r.res.Kinds == nil {
		r.res.Kinds = map[mailbox.Kind]*KindResult{}
	}
	kr := r.res.Kinds[k]
	if kr == nil {
		kr = &KindResult{}
		r.res.Kinds[k] = kr
	}
	return kr
}

// noteLosses counts what one write could not carry and returns the codes
// for the item's record.
func (r *mailboxRun) noteLosses(it mailbox.Item, folder string, losses []mailbox.Loss) string {
	if len(losses) == 0 {
		return ""
	}
	var codes []string
	r.count(func() {
		kr := r.kind(it.Kind())
		if kr.Losses == nil {
			kr.Losses = map[string]int64{}
		}
		for _, l := range losses {
			if slices.Contains(codes, l.Code) {
				continue
			}
			codes = append(codes, l.Code)
			kr.Losses[l.Code]++
			if len(r.res.Losses) < maxLossItems {
				r.res.Losses = append(r.res.Losses, LossItem{Kind: it.Kind(), Folder: folder, Subject: it.Subject, Code: l.Code, What: l.What})
			}
		}
	})
	return strings.Join(codes, ",")
}

// lossCollector gathers the losses one write reports.
type lossCollector struct {
	mu sync.Mutex
	l  []mailbox.Loss
}

func (c *lossCollector) watch(ctx context.Context) context.Context {
	return mailbox.WithLosses(ctx, func(l mailbox.Loss) { c.mu.Lock(); c.l = append(c.l, l); c.mu.Unlock() })
}

func (c *lossCollector) take() []mailbox.Loss {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.l
	c.l = nil
	return out
}

// SourceID is the stamp that names a source item on the target: stable for
// the item, and not revealing the mailbox's address.
func SourceID(key JobKey, itemID string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(key.SourceLocation+"|"+key.SourceAddress) + "|" + itemID))
	return "exm1-" + hex.EncodeToString(sum[:20])
}

// errTooManySkipped fails a mailbox over --max-skipped.
var errTooManySkipped = errors.New("too many items skipped")

// Copy runs one pass from src to dst: folders first, then the items of each
// mail folder from where the last pass stopped.
func (c *Copier) Copy(ctx context.Context, key JobKey, src mailbox.Source, dst mailbox.Target) *MailboxResult {
	o := c.Options
	if _, groups := dst.(mailbox.BatchWriter); groups && o.ItemWorkers <= 0 {
		// A target that takes many writes a request is kept busy by more
		// items in flight: the workers' writes go in one request.
		o.ItemWorkers = BatchWriterWorkers
	}
	opts := o.withDefaults()
	res := &MailboxResult{Key: key, DryRun: opts.DryRun, Started: time.Now(), SkipReasons: map[string]int64{}}
	run := &mailboxRun{c: c, opts: opts, key: key, src: src, dst: dst, res: res}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	// The writes a side makes on its own inside a call (removing an
	// incomplete copy) go on record like the engine's.
	ctx = mailbox.WithSideWrites(ctx, func(w mailbox.SideWrite) {
		action := audit.ActionItemDeleteIncomplete
		if w.Action != mailbox.SideWriteDeleteIncomplete {
			action = w.Action
		}
		e := AuditEvent{Action: action, TargetID: w.ItemID, SourceID: w.SourceID, Object: "incomplete copy"}
		if w.Started {
			if err := run.begin(ctx, e); err != nil {
				run.log().Error("audit log write failed", "err", err)
			}
			return
		}
		run.audit(ctx, e, w.Err)
	})
	res.Err = run.copy(ctx, cancel)
	if cause := context.Cause(ctx); errors.Is(cause, ErrLeaseLost) && res.Err != nil {
		res.Err = cause
	}
	res.Duration = time.Since(res.Started)
	return res
}

type mailboxRun struct {
	c    *Copier
	opts CopyOptions
	key  JobKey
	src  mailbox.Source
	dst  mailbox.Target
	// comb groups the item workers' small MIME writes (combine.go).
	comb *combiner
	res  *MailboxResult
	job  JobRecord

	mu        sync.Mutex // guards res counters updated by item workers
	targetIdx map[string]mailbox.Folder
	// createdNow are the target folders this pass created: they hold no
	// stamps, so they are not listed for them.
	createdNow map[string]bool
	// folderAsked are the target paths whose unfinished creation this
	// pass has looked for in the audit log.
	folderAsked map[string]bool
	srcCaps     mailbox.Capabilities
	dstCaps     mailbox.Capabilities
	// leftPending: an earlier run left items recorded as pending, which
	// each folder's end settles; without any, it has nothing to look up.
	leftPending bool
	routes      map[mailbox.StoreKind]routeOrGap
}

type routeOrGap struct {
	route mailbox.Route
	gap   *mailbox.Gap
}

// route plans how one kind of one store moves, once per pass, and keeps
// each gap once for the result.
func (r *mailboxRun) route(store mailbox.Scope, kind mailbox.Kind) (mailbox.Route, *mailbox.Gap) {
	r.mu.Lock()
	defer r.mu.Unlock()
	sk := mailbox.StoreKind{Store: store, Kind: kind}
	if rg, ok := r.routes[sk]; ok {
		return rg.route, rg.gap
	}
	target, _ := r.opts.into(store)
	route, gap := mailbox.PlanRoute(r.srcCaps, r.dstCaps, store, target, kind)
	r.routes[sk] = routeOrGap{route, gap}
	if gap != nil {
		r.res.Gaps = append(r.res.Gaps, *gap)
	}
	return route, gap
}

func (r *mailboxRun) log() *slog.Logger {
	if r.c.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.c.Log.With("mailbox", r.key.SourceAddress)
}

func (r *mailboxRun) copy(ctx context.Context, cancel context.CancelCauseFunc) error {
	job, err := r.c.Store.Job(ctx, r.key)
	if err != nil {
		return err
	}
	r.job = job
	if job.Status == JobCompleted && !r.opts.Reopen {
		r.res.Completed = true
		r.log().Info("mailbox completed by finalize: not copied again", "mailbox", r.key.SourceAddress)
		return nil
	}
	if !r.opts.DryRun {
		// One owner per job: nothing is written without the lease.
		release, err := r.c.hold(ctx, job.ID, func(err error) {
			r.log().Error("another process took the job over; stopping this run", "err", err)
			cancel(err)
		})
		if err != nil {
			return err
		}
		defer release()
	}
	if !r.opts.DryRun {
		job.Status, job.LastStart, job.LastError = JobRunning, r.res.Started, ""
		if err := r.c.Store.PutJob(ctx, job); err != nil {
			return err
		}
	}
	err = r.pass(ctx)
	if r.opts.DryRun {
		return err
	}
	if errors.Is(err, context.Canceled) && len(r.res.Folders) > 0 {
		// Interrupted (Ctrl-C, SIGTERM): the summary still shows what each
		// folder begun holds on both sides, with a bounded wait, so that it
		// never reports an empty target that is not.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
		r.reconcile(rctx)
		cancel()
	}
	// Record the outcome even when the context was cancelled, so the next
	// run and the report know where this one stopped.
	job.LastEnd = time.Now()
	if r.res.Paths != "" {
		job.Paths = r.res.Paths
	}
	if counts, cerr := r.c.Store.Counts(context.WithoutCancel(ctx), job.ID); cerr == nil {
		r.res.SkippedTotal, r.res.SkipReasonsTotal = counts.Skipped, counts.SkipReasons
	} else if err == nil {
		err = cerr
	}
	switch {
	case err != nil:
		job.Status, job.LastError = JobFailed, err.Error()
	case r.res.SkippedTotal > 0 || len(r.res.FailedFolders) > 0:
		job.Status, job.Passes = JobPartial, job.Passes+1
		if n := len(r.res.FailedFolders); n > 0 {
			job.LastError = fmt.Sprintf("%d folder(s) failed, first %s: %s", n, r.res.FailedFolders[0].SourcePath, r.res.FailedFolders[0].Failed)
		}
	default:
		job.Status, job.Passes = JobDone, job.Passes+1
	}
	if perr := r.c.Store.PutJob(context.WithoutCancel(ctx), job); perr != nil && err == nil {
		err = perr
	}
	return err
}

func (r *mailboxRun) pass(ctx context.Context) error {
	r.prepare()
	stores, trees, err := r.listStores(ctx)
	if err != nil {
		return err
	}
	counts, err := r.c.Store.Counts(ctx, r.job.ID)
	if err != nil {
		return err
	}
	r.leftPending = counts.Pending > 0
	if r.c.Progress != nil && !r.opts.DryRun {
		items, bytes := r.remaining(stores, trees, counts)
		r.c.Progress.Planned(r.key, items, bytes)
	}
	r.res.Paths = FormatPaths(r.srcCaps, r.dstCaps, stores, func(s mailbox.Scope) mailbox.Scope { t, _ := r.opts.into(s); return t })
	for _, store := range stores {
		if !r.srcCaps.HasStore(store) {
			r.res.Gaps = append(r.res.Gaps, mailbox.Gap{Store: store, Code: mailbox.CodeStoreNotCarried,
				Reason: fmt.Sprintf("the source (%s) cannot read the %s store", r.srcCaps.Backend, store)})
			continue
		}
		if target, _ := r.opts.into(store); !r.dstCaps.HasStore(target) {
			why := fmt.Sprintf("the target (%s) cannot write to the %s store", r.dstCaps.Backend, target)
			if u := r.dstCaps.Unsupported[mailbox.StoreKind{Store: target, Kind: mailbox.KindMail}]; u != "" {
				why += ": " + u
			}
			r.res.Gaps = append(r.res.Gaps, mailbox.Gap{Store: store, Code: mailbox.CodeStoreNotCarried, Reason: why})
			continue
		}
		if err := r.passStore(ctx, store, trees[store]); err != nil {
			return err
		}
	}
	if !r.opts.DryRun {
		r.reconcile(ctx)
	}
	return nil
}

// prepare reads both sides' capabilities and plans nothing yet.
func (r *mailboxRun) prepare() {
	r.srcCaps, r.dstCaps = r.src.Capabilities(), r.dst.Capabilities()
	r.dstCaps = withoutFullFidelityFor(r.dstCaps, r.opts.FullFidelityRefused)
	r.comb = newCombiner(r.dst, r.opts.ItemWorkers)
	r.routes = map[mailbox.StoreKind]routeOrGap{}
}

// listStores lists each store the source reads once: a store the mailbox
// does not have (no archive) is neither planned nor reported, and
// passStore copies from this listing. A store the source cannot read is
// returned without a tree, to be reported as a gap.
func (r *mailboxRun) listStores(ctx context.Context) ([]mailbox.Scope, map[mailbox.Scope][]mailbox.Folder, error) {
	var stores []mailbox.Scope
	trees := map[mailbox.Scope][]mailbox.Folder{}
	for _, store := range r.opts.Stores {
		if !r.srcCaps.HasStore(store) {
			stores = append(stores, store) // reported as a gap
			continue
		}
		var fs []mailbox.Folder
		err := r.retry(ctx, "list source folders", func() (err error) {
			fs, err = r.src.Folders(ctx, store)
			return err
		})
		if store != mailbox.ScopePrimary && (errors.Is(err, mailbox.ErrNotFound) || errors.Is(err, mailbox.ErrMailboxNotFound)) {
			r.log().Info("the source mailbox has no "+string(store)+" store", "err", err)
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		stores, trees[store] = append(stores, store), fs
	}
	return stores, trees, nil
}

// remaining is what this pass has left to copy: the items (and bytes,
// where the source reports folder sizes) of the folders it will copy,
// less what the state records as copied or skipped (counts). A side that
// reports no counts gives 0.
func (r *mailboxRun) remaining(stores []mailbox.Scope, trees map[mailbox.Scope][]mailbox.Folder, counts ItemCounts) (items, bytes int64) {
	for _, store := range stores {
		if target, _ := r.opts.into(store); !r.srcCaps.HasStore(store) || !r.dstCaps.HasStore(target) {
			continue
		}
		for _, f := range trees[store] {
			if f.Path == "" || !r.included(f.Path) {
				continue
			}
			if _, gap := r.route(store, f.Kind()); gap != nil {
				continue
			}
			if r.srcCaps.ItemCounts {
				items += f.ItemCount
			}
			if r.srcCaps.FolderSizes {
				bytes += f.SizeBytes
			}
		}
	}
	return max(items-counts.Copied-counts.Skipped, 0), max(bytes-counts.CopiedBytes, 0)
}

// PlanTotals is what a pass of one mailbox has left to copy.
type PlanTotals struct {
	Items, Bytes int64
}

// Plan lists the source's folders as a pass would and returns what the
// pass has left to copy, writing nothing to either side: a copy of many
// mailboxes plans them all before the first item moves, so that its
// progress total does not grow as mailboxes start.
func (c *Copier) Plan(ctx context.Context, key JobKey, src mailbox.Source, dst mailbox.Target) (PlanTotals, error) {
	opts := c.Options.withDefaults()
	r := &mailboxRun{c: c, opts: opts, key: key, src: src, dst: dst, res: &MailboxResult{Key: key, SkipReasons: map[string]int64{}}}
	// The job is the copy's: it is created here if new, as the copy
	// would a moment later.
	job, err := c.Store.Job(ctx, key)
	if err != nil {
		return PlanTotals{}, err
	}
	r.job = job
	if job.Status == JobCompleted && !opts.Reopen {
		return PlanTotals{}, nil
	}
	r.prepare()
	stores, trees, err := r.listStores(ctx)
	if err != nil {
		return PlanTotals{}, err
	}
	counts, err := c.Store.Counts(ctx, job.ID)
	if err != nil {
		return PlanTotals{}, err
	}
	items, bytes := r.remaining(stores, trees, counts)
	return PlanTotals{Items: items, Bytes: bytes}, nil
}

// passStore copies one store, listed as srcFolders, into its store of the
// target.
func (r *mailboxRun) passStore(ctx context.Context, store mailbox.Scope, srcFolders []mailbox.Folder) error {
	var dstFolders []mailbox.Folder
	absent := func(err error) bool {
		return store != mailbox.ScopePrimary && (errors.Is(err, mailbox.ErrNotFound) || errors.Is(err, mailbox.ErrMailboxNotFound))
	}
	targetStore, rootPath := r.opts.into(store)
	if err := r.retry(ctx, "list target folders", func() (err error) {
		dstFolders, err = r.dst.Folders(ctx, targetStore)
		return err
	}); err != nil {
		if absent(err) {
			r.res.Gaps = append(r.res.Gaps, mailbox.Gap{Store: store, Code: mailbox.CodeStoreNotCarried,
				Reason: fmt.Sprintf("the source has a %s store and the target %s has none: %v", store, r.key.TargetAddress, err)})
			return nil
		}
		return err
	}
	r.targetIdx = indexFolders(dstFolders)
	if _, ok := r.targetIdx[""]; !ok {
		return fmt.Errorf("target %s: the folder list has no root folder", r.key.TargetAddress)
	}
	byWellKnown := map[mailbox.WellKnown]mailbox.Folder{}
	for _, f := range dstFolders {
		if f.WellKnown != mailbox.NotWellKnown {
			byWellKnown[f.WellKnown] = f
		}
	}

	// Plan every included mail folder before copying anything, so the
	// progress total is known and a dry run can say what it would create.
	srcPathOf := map[string]string{}
	tgtPathOf := map[string]string{}
	type planned struct {
		src     mailbox.Folder
		tgtPath string
		tgt     mailbox.Folder
	}
	var plan []planned
	if rootPath != "" {
		// Another store's tree goes below a folder of its own: the source's
		// well-known folders are not the target store's.
		byWellKnown = nil
	}
	for _, f := range srcFolders {
		srcPathOf[f.ID] = f.Path
		if f.Path == "" {
			tgtPathOf[f.ID] = rootPath
			continue
		}
		tgtPath := r.targetPath(f, tgtPathOf, byWellKnown)
		tgtPathOf[f.ID] = tgtPath
		if !r.included(f.Path) {
			continue
		}
		if _, gap := r.route(store, f.Kind()); gap != nil {
			r.res.NotCarried = append(r.res.NotCarried, FolderResult{Store: store, Kind: f.Kind(),
				SourceID: f.ID, SourcePath: f.Path, SourceCount: f.ItemCount, CountsKnown: r.srcCaps.ItemCounts,
				Code: gap.Code, NotCopied: gap.Reason})
			continue
		}
		plan = append(plan, planned{src: f, tgtPath: tgtPath})
	}

	// A failure that concerns one folder (its creation refused, the folder
	// gone from the source) fails that folder; the others go on. Anything
	// else (credentials, throttling, an unreachable service, the state
	// store) stops the mailbox.
	failed := map[int]bool{}
	for i := range plan {
		p := &plan[i]
		if tgt, ok, err := r.followed(ctx, p.src); err != nil {
			return err
		} else if ok {
			p.tgt, p.tgtPath = tgt, tgt.Path
			continue
		}
		tgt, err := r.ensurePath(ctx, p.tgtPath, p.src.Class)
		if err != nil {
			if !folderLocal(err) {
				return err
			}
			r.failFolder(FolderResult{Store: store, Kind: p.src.Kind(), SourceID: p.src.ID, SourcePath: p.src.Path, TargetPath: p.tgtPath,
				SourceCount: p.src.ItemCount}, err)
			failed[i] = true
			continue
		}
		p.tgt = tgt
	}
	for i, p := range plan {
		if failed[i] {
			continue
		}
		fr, err := r.copyFolder(ctx, store, p.src, p.tgt, p.tgtPath)
		if err != nil && folderLocal(err) {
			r.failFolder(fr, err)
			continue
		}
		r.res.Folders = append(r.res.Folders, fr)
		if err != nil {
			return err
		}
	}
	return nil
}

// folderLocal reports whether err concerns one folder only: an answer no
// retry changes (a refused folder name, a folder gone from the source),
// not the mailbox, the service or the state.
func folderLocal(err error) bool {
	return mailbox.IsPermanent(err) && !errors.Is(err, errTooManySkipped) && !errors.Is(err, context.Canceled)
}

func (r *mailboxRun) failFolder(fr FolderResult, err error) {
	fr.Failed = err.Error()
	r.res.FailedFolders = append(r.res.FailedFolders, fr)
	r.log().Error("folder failed; the other folders go on", "folder", fr.SourcePath, "err", err)
}

// targetPath is where a source folder lands: a well-known folder on its
// counterpart whatever the display language, a mapped path where a mapping
// rule says so, else under its parent's target path by display name.
func (r *mailboxRun) targetPath(f mailbox.Folder, tgtPathOf map[string]string, byWellKnown map[mailbox.WellKnown]mailbox.Folder) string {
	if f.WellKnown != mailbox.NotWellKnown {
		if t, ok := byWellKnown[f.WellKnown]; ok {
			return t.Path
		}
	}
	if r.opts.MapPath != nil {
		if p, ok := r.opts.MapPath(f.Path); ok {
			return p
		}
	}
	parent, ok := tgtPathOf[f.ParentID]
	if !ok {
		// Parent not listed (hidden or filtered by the side): keep the path.
		return f.Path
	}
	return mailbox.JoinPath(parent, f.DisplayName)
}

func (r *mailboxRun) included(path string) bool {
	for _, re := range r.opts.ExcludeFolders {
		if re.MatchString(path) {
			return false
		}
	}
	if len(r.opts.IncludeFolders) == 0 {
		return true
	}
	for _, re := range r.opts.IncludeFolders {
		if re.MatchString(path) {
			return true
		}
	}
	return false
}

// ensurePath returns the target folder at path, creating it and any missing
// parent. In a dry run it only notes what it would create.
func (r *mailboxRun) ensurePath(ctx context.Context, path, class string) (mailbox.Folder, error) {
	if f, ok := r.targetIdx[path]; ok {
		if err := r.confirmFolder(ctx, path, f); err != nil {
			return mailbox.Folder{}, err
		}
		return f, nil
	}
	parentPath, name := splitPath(path)
	parent, err := r.ensurePath(ctx, parentPath, "")
	if err != nil {
		return mailbox.Folder{}, err
	}
	if class == "" {
		class = mailbox.ClassMailFolder
	}
	if r.opts.DryRun {
		r.res.FoldersToMake = append(r.res.FoldersToMake, path)
		f := mailbox.Folder{Path: path, DisplayName: name, Class: class}
		r.targetIdx[path] = f
		return f, nil
	}
	var created mailbox.Folder
	if err := r.begin(ctx, AuditEvent{Action: audit.ActionFolderCreate, Object: path}); err != nil {
		return mailbox.Folder{}, err
	}
	err = r.retry(ctx, "create folder "+path, func() (err error) {
		created, err = r.dst.CreateFolder(ctx, parent.ID, name, class)
		return err
	})
	r.audit(ctx, AuditEvent{Action: audit.ActionFolderCreate, Object: path, TargetID: created.ID}, err)
	if err != nil {
		return mailbox.Folder{}, fmt.Errorf("create folder %q on %s: %w", path, r.key.TargetAddress, err)
	}
	created.Path = path
	r.targetIdx[path] = created
	if r.createdNow == nil {
		r.createdNow = map[string]bool{}
	}
	r.createdNow[created.ID] = true
	r.res.FoldersCreated++
	r.log().Info("folder created", "path", path)
	return created, nil
}

// followed returns the target folder a source folder was copied into, when
// the source folder has been renamed or moved since (same id, another
// path): its items are there, so the copy goes on into it. Following the
// new path instead would create an empty folder and count the items
// already copied as missing.
func (r *mailboxRun) followed(ctx context.Context, src mailbox.Folder) (mailbox.Folder, bool, error) {
	rec, found, err := r.c.Store.Folder(ctx, r.job.ID, src.ID)
	if err != nil || !found || rec.TargetFolderID == "" || rec.SourcePath == src.Path {
		return mailbox.Folder{}, false, err
	}
	for path, f := range r.targetIdx {
		if f.ID == rec.TargetFolderID {
			f.Path = path
			r.log().Info("folder renamed or moved at the source; copying on into the target folder it was copied to",
				"source_was", rec.SourcePath, "source_now", src.Path, "target", path)
			return f, true, nil
		}
	}
	return mailbox.Folder{}, false, nil // gone from the target: its new path is made
}

// confirmFolder records the creation of a target folder that a killed
// run began (a started line with no outcome) and this run found made.
// Asked once per folder and pass.
func (r *mailboxRun) confirmFolder(ctx context.Context, path string, f mailbox.Folder) error {
	if r.opts.DryRun || path == "" || f.ID == "" || r.createdNow[f.ID] || r.folderAsked[path] {
		return nil
	}
	if r.folderAsked == nil {
		r.folderAsked = map[string]bool{}
	}
	r.folderAsked[path] = true
	e := AuditEvent{Action: audit.ActionFolderCreate, Object: path, TargetID: f.ID}
	open, err := r.unfinished(ctx, e)
	if err != nil || !open {
		return err
	}
	e.Note = noteConfirmed
	r.audit(ctx, e, nil)
	return nil
}

func splitPath(path string) (parent, name string) {
	// Find the last separator that is not escaped.
	last := -1
	for i := 0; i < len(path); i++ {
		switch path[i] {
		case '\\':
			i++
		case '/':
			last = i
		}
	}
	name = path[last+1:]
	if last >= 0 {
		parent = path[:last]
	}
	return parent, strings.NewReplacer(`\/`, `/`, `\\`, `\`).Replace(name)
}

func indexFolders(fs []mailbox.Folder) map[string]mailbox.Folder {
	idx := make(map[string]mailbox.Folder, len(fs))
	for _, f := range fs {
		idx[f.Path] = f
	}
	return idx
}

// copyFolder syncs one folder page by page. The sync state is saved only
// after every item of a page is recorded, so a crash replays at most one
// page, and the item records make the replay write nothing twice.
func (r *mailboxRun) copyFolder(ctx context.Context, store mailbox.Scope, src, tgt mailbox.Folder, tgtPath string) (FolderResult, error) {
	fr := FolderResult{Store: store, Kind: src.Kind(), SourceID: src.ID, SourcePath: src.Path, TargetPath: tgtPath,
		SourceCount: src.ItemCount, CountsKnown: r.srcCaps.ItemCounts && r.dstCaps.ItemCounts}
	rec, found, err := r.c.Store.Folder(ctx, r.job.ID, src.ID)
	if err != nil {
		return fr, err
	}
	// The stamps on the target are the truth: when the state knows nothing
	// of this folder pair, one paged listing tells what the target folder
	// already holds, and those items are adopted instead of written again.
	var onTarget *targetIndex
	// An earlier run stopped while it wrote items of this folder with no
	// pending record: what it wrote is known by the stamps alone.
	unrecorded := found && rec.WritesOpen && rec.TargetFolderID == tgt.ID
	if !found || rec.TargetFolderID != tgt.ID || unrecorded {
		if !unrecorded {
			rec = FolderRecord{JobID: r.job.ID, SourceFolderID: src.ID, SourcePath: src.Path,
				TargetFolderID: tgt.ID, TargetPath: tgtPath, SyncState: rec.SyncState}
		}
		// A folder this run made, or one the listing at the pass's start
		// counted empty, holds nothing of an earlier run: this job has
		// one owner, so nothing of its own was written there since.
		empty := r.dstCaps.ItemCounts && tgt.ItemCount == 0
		if tgt.ID != "" && !r.createdNow[tgt.ID] && !empty {
			onTarget = &targetIndex{stamps: map[string]mailbox.Item{}, healing: unrecorded}
			err := r.retry(ctx, "list stamps of "+tgtPath, func() error {
				clear(onTarget.stamps)
				return r.dst.Stamps(ctx, tgt.ID, func(it mailbox.Item) error {
					onTarget.stamps[it.SourceID] = mailbox.Item{ID: it.ID, IsRead: it.IsRead}
					return nil
				})
			})
			if err != nil {
				return fr, fmt.Errorf("list the stamps of %s on %s: %w", tgtPath, r.key.TargetAddress, err)
			}
			r.count(func() { r.res.StampListings++ })
			if fp := r.fingerprinter(store); fp != nil && !r.opts.DryRun {
				if err := r.listPrints(ctx, fp, onTarget, tgt.ID, tgtPath); err != nil {
					return fr, err
				}
			}
		}
	}
	state := rec.SyncState
	// A resync from scratch lists what the folder holds, not what left it:
	// seen collects what it delivers, so that the copied items it did not
	// deliver are known deleted (or moved away) at the source.
	var seen *sourceSet
	resumedRound := false
	for {
		var page mailbox.ChangePage
		err := r.retry(ctx, "sync "+src.Path, func() (err error) {
			page, err = r.src.Changes(ctx, src.ID, state)
			return err
		})
		if errors.Is(err, mailbox.ErrSyncStateInvalid) && state != "" {
			// The server forgot our state: start over. The item records
			// keep the full resync from writing anything twice.
			r.log().Warn("sync state expired; full resync of the folder", "folder", src.Path)
			state, seen = "", &sourceSet{ids: map[string]struct{}{}}
			continue
		}
		if err != nil {
			return fr, err
		}
		if page.Listing && seen == nil && !resumedRound {
			if page.Resumed {
				// This run starts in the middle of a listing round (an
				// earlier run stopped there): it has not seen the round's
				// first pages, so it marks nothing gone; the next round
				// does.
				resumedRound = true
			} else {
				// A side without incremental sync for this kind lists the
				// whole folder each round: what it does not list is gone.
				seen = &sourceSet{ids: map[string]struct{}{}}
			}
		}
		if !r.opts.DryRun && !rec.WritesOpen && writes(page) {
			// On record before the first write that has no pending
			// record of its own (applyChange).
			rec.WritesOpen, rec.Updated = true, time.Now()
			if err := r.c.Store.PutFolder(ctx, rec); err != nil {
				return fr, err
			}
		}
		if err := r.applyPage(ctx, src, tgt, tgtPath, page, onTarget, &fr, seen); err != nil {
			return fr, err
		}
		state = page.State
		if !r.opts.DryRun {
			if !page.More && rec.WritesOpen {
				if unrecorded && onTarget != nil {
					if err := r.settleUnrecorded(ctx, src, tgt, onTarget); err != nil {
						return fr, err
					}
				}
				rec.WritesOpen = false // every item of the folder is on record
			}
			rec.SyncState, rec.Updated = state, time.Now()
			if err := r.c.Store.PutFolder(ctx, rec); err != nil {
				return fr, err
			}
		}
		if !page.More {
			if r.opts.DryRun {
				return fr, nil
			}
			if err := r.markGone(ctx, src, seen); err != nil {
				return fr, err
			}
			if !r.leftPending {
				// No earlier run left an item pending, and this pass
				// settles each of its own before the page ends.
				return fr, nil
			}
			return fr, r.settlePending(ctx, src, tgt)
		}
	}
}

// writes says whether applying page may write items.
func writes(page mailbox.ChangePage) bool {
	for _, ch := range page.Changes {
		if ch.Kind == mailbox.ChangeCreated || ch.Kind == mailbox.ChangeUpdated {
			return true
		}
	}
	return false
}

// settleUnrecorded records the items an interrupted run wrote into a
// folder with no record (WritesOpen) whose source left before this run
// came to them: the sync never delivers them again, so their stamps are
// all that is known. They stay on the target, as copies of items since
// deleted at the source.
func (r *mailboxRun) settleUnrecorded(ctx context.Context, src, tgt mailbox.Folder, onTarget *targetIndex) error {
	sids := make([]string, 0, len(onTarget.stamps))
	for sid := range onTarget.stamps {
		sids = append(sids, sid)
	}
	slices.Sort(sids)
	settled := 0
	for chunk := range slices.Chunk(sids, 500) {
		known, err := r.records(ctx, chunk)
		if err != nil {
			return err
		}
		for _, sid := range chunk {
			if _, ok := known[sid]; ok {
				continue
			}
			have := onTarget.stamps[sid]
			rec := ItemRecord{JobID: r.job.ID, SourceID: sid, SourceFolderID: src.ID, TargetItemID: have.ID,
				IsRead: have.IsRead, Outcome: ItemCopied, Reason: ReasonDeletedAtSource, Updated: time.Now()}
			if err := r.c.Store.PutItem(ctx, rec); err != nil {
				return err
			}
			if err := r.recordFound(ctx, AuditEvent{Object: tgt.Path, TargetID: have.ID, SourceID: sid}); err != nil {
				return err
			}
			settled++
		}
	}
	if settled > 0 {
		r.count(func() { r.res.Healed += int64(settled) })
		r.log().Info("recorded items an interrupted run wrote whose source is gone since", "folder", src.Path, "items", settled)
	}
	return nil
}

// records looks up the records of sids, in one query when the store can.
func (r *mailboxRun) records(ctx context.Context, sids []string) (map[string]ItemRecord, error) {
	if bl, ok := r.c.Store.(itemsLookup); ok {
		return bl.ItemsBySource(ctx, r.job.ID, sids)
	}
	known := map[string]ItemRecord{}
	for _, sid := range sids {
		rec, found, err := r.c.Store.Item(ctx, r.job.ID, sid)
		if err != nil {
			return nil, err
		}
		if found {
			known[sid] = rec
		}
	}
	return known, nil
}

// sourceSet is the stamps of the items a full resync delivered. Its memory
// is about 100 bytes per item of the folder, only while a folder whose
// sync state expired is read again from scratch.
type sourceSet struct {
	mu  sync.Mutex
	ids map[string]struct{}
}

func (s *sourceSet) add(ch mailbox.Change, key JobKey) {
	if s == nil || ch.Kind == mailbox.ChangeDeleted || ch.Item.ID == "" {
		return
	}
	sid := SourceID(key, ch.Item.ID)
	s.mu.Lock()
	s.ids[sid] = struct{}{}
	s.mu.Unlock()
}

// markGone records as deleted at the source the copied items of a folder
// that a complete resync from scratch did not deliver: the deletions (and
// moves away) that happened while the sync state was lost, which the
// service no longer reports. The target keeps them, as for a deletion
// reported by the sync.
func (r *mailboxRun) markGone(ctx context.Context, src mailbox.Folder, seen *sourceSet) error {
	if seen == nil {
		return nil
	}
	var gone []ItemRecord
	err := r.c.Store.CopiedItems(ctx, r.job.ID, src.ID, func(rec ItemRecord) error {
		if _, ok := seen.ids[rec.SourceID]; !ok && rec.Reason != ReasonDeletedAtSource {
			gone = append(gone, rec)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, rec := range gone {
		rec.Reason, rec.Updated = ReasonDeletedAtSource, time.Now()
		if err := r.c.Store.PutItem(ctx, rec); err != nil {
			return err
		}
	}
	if len(gone) > 0 {
		r.log().Info("items gone from the source since they were copied; the target keeps them", "folder", src.Path, "items", len(gone))
		r.count(func() { r.res.DeletesIgnored += int64(len(gone)) })
	}
	return nil
}

func (r *mailboxRun) applyPage(ctx context.Context, src, tgt mailbox.Folder, tgtPath string, page mailbox.ChangePage, onTarget *targetIndex, fr *FolderResult, seen *sourceSet) error {
	pf := r.newPrefetch(ctx, fr.Store, page.Changes)
	work := make(chan mailbox.Change)
	errs := make(chan error, r.opts.ItemWorkers)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for range r.opts.ItemWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ch := range work {
				seen.add(ch, r.key)
				if err := r.applyChange(ctx, src, tgt, tgtPath, ch, onTarget, pf, fr); err != nil {
					errs <- err
					cancel()
					return
				}
			}
		}()
	}
	var sendErr error
feed:
	for _, ch := range page.Changes {
		select {
		case work <- ch:
		case <-ctx.Done():
			sendErr = ctx.Err()
			break feed
		}
	}
	close(work)
	wg.Wait()
	close(errs)
	if err, ok := <-errs; ok {
		return err
	}
	return sendErr
}

func (r *mailboxRun) applyChange(ctx context.Context, src, tgt mailbox.Folder, tgtPath string, ch mailbox.Change, onTarget *targetIndex, pf *prefetch, fr *FolderResult) error {
	it := ch.Item
	switch ch.Kind {
	case mailbox.ChangeDeleted:
		r.count(func() { r.res.DeletesIgnored++ })
		return r.markDeleted(ctx, it)
	case mailbox.ChangeCreated, mailbox.ChangeUpdated, mailbox.ChangeReadFlag:
	default:
		return nil
	}
	sid := SourceID(r.key, it.ID)
	rec, found, err := r.item(ctx, pf, sid)
	if err != nil {
		return err
	}
	if found && rec.Outcome == ItemCopied {
		if !readStateCarried(it) {
			return r.maybeUpdate(ctx, ch, rec, it, tgtPath, fr)
		}
		if it.IsRead == rec.IsRead {
			return nil
		}
		return r.updateRead(ctx, rec, it, tgtPath)
	}
	if found && rec.Outcome == ItemSkipped {
		return nil
	}
	if ch.Kind == mailbox.ChangeReadFlag {
		return nil // a read-state change of an item we never copied: it comes as created first
	}
	if have, ok := onTarget.stamped(sid); ok && !found {
		return r.adopt(ctx, sid, it, have, src, tgtPath, fr, onTarget.healing)
	}
	if !found && onTarget != nil && len(onTarget.prints) > 0 && !r.opts.DryRun {
		// A copy without state over unstamped imports: the fingerprint
		// finds this item's, if one is there.
		if route, gap := r.route(fr.Store, it.Kind()); gap == nil && route.Format == mailbox.FormatFullFidelity {
			print, err := r.fingerprintOf(ctx, it)
			if err != nil {
				return err
			}
			if id, ok := onTarget.takePrint(print); ok {
				return r.adopt(ctx, sid, it, mailbox.Item{ID: id, IsRead: it.IsRead}, src, tgtPath, fr, false)
			}
		}
	}
	if reason := r.filterReason(it); reason != "" {
		if reason == filteredOut {
			return nil
		}
		return r.skip(ctx, sid, it, src, reason, fr)
	}
	// An item of another kind than its folder (an appointment in a mail
	// folder) takes its own route, or is skipped with the gap's reason.
	route, gap := r.route(fr.Store, it.Kind())
	if gap != nil {
		return r.skip(ctx, sid, it, src, gap.Code+": "+gap.Reason, fr)
	}
	if why := r.dstCaps.Refuses(it.Class); why != "" {
		return r.skip(ctx, sid, it, src, fmt.Sprintf("%s: the target (%s) does not write %s items: %s", mailbox.CodeKindNotCarried, r.dstCaps.Backend, it.Class, why), fr)
	}
	if r.opts.DryRun {
		r.count(func() { r.res.ItemsCopied++; r.res.BytesCopied += it.SizeBytes })
		return nil
	}
	if found && rec.Outcome == ItemPending {
		// Written, or maybe written, before a crash: look for the stamp
		// (or the fingerprint of an unstamped import).
		id, ok, err := r.findWritten(ctx, tgt.ID, sid, rec.Fingerprint)
		if err != nil {
			return err
		}
		if ok {
			rec.TargetItemID, rec.Outcome, rec.Updated = id, ItemCopied, time.Now()
			rec.Kind, rec.Version = string(it.Kind()), it.ChangeKey
			if err := r.c.Store.PutItem(ctx, rec); err != nil {
				return err
			}
			r.count(func() { r.res.Healed++ })
			if err := r.recordFound(ctx, AuditEvent{Object: tgtPath + ": " + it.Subject, TargetID: id, SourceID: sid, Size: rec.SizeBytes}); err != nil {
				return err
			}
			if rec.IsRead != it.IsRead && readStateCarried(it) {
				return r.updateRead(ctx, rec, it, tgtPath)
			}
			return nil
		}
	}
	var print string
	if r.dstCaps.UnstampedImports && route.Format == mailbox.FormatFullFidelity {
		// The import will carry no stamp: its fingerprint goes on record
		// first, or the item takes the stamped path the kind has without
		// full fidelity.
		if r.unstamped() != nil {
			if print, err = r.fingerprintOf(ctx, it); err != nil {
				return err
			}
		}
		if print == "" {
			fallback, gap := mailbox.PlanRoute(r.srcCaps, withoutFullFidelity(r.dstCaps), fr.Store, fr.Store, it.Kind())
			if gap != nil {
				return r.skip(ctx, sid, it, src, fmt.Sprintf("%s: the source gives no fingerprint for this item, without which an import into %s could be duplicated after a crash, and the kind has no other path: %s",
					mailbox.CodeKindNotCarried, r.dstCaps.Backend, gap.Reason), fr)
			}
			r.log().Info("no fingerprint for a full-fidelity import; copied on the "+string(fallback.Format)+" path", "folder", tgtPath, "subject", it.Subject)
			route = fallback
		}
	}
	rec = ItemRecord{JobID: r.job.ID, SourceID: sid, SourceItemID: it.ID, SourceFolderID: src.ID,
		SizeBytes: it.SizeBytes, IsRead: it.IsRead, Outcome: ItemPending, Updated: time.Now(), Subject: it.Subject,
		Kind: string(it.Kind()), Version: it.ChangeKey, Fingerprint: print}
	if print != "" {
		// An unstamped import is found again by this record's fingerprint
		// only. A stamped write needs no record before it: the folder's
		// WritesOpen has the stamps listed after a crash.
		if err := r.c.Store.PutItem(ctx, rec); err != nil {
			return err
		}
	}
	var targetID string
	var size int64
	var digest hash.Hash
	var losses lossCollector
	attempt := 0
	object := tgtPath + ": " + it.Subject
	// The started line goes in just before the first write request, not
	// before the read: a read that fails (a cancel, a source error) is
	// not a write and has no line.
	begun := false
	var auditErr error
	for {
		err = r.retry(ctx, "copy item", func() error {
			attempt++
			if attempt > 1 && begun {
				// The failed attempt may have been carried out with its answer
				// lost (a timeout, a dropped connection): look for the stamp
				// before writing the item a second time.
				id, ok, err := r.findWrittenOnce(ctx, tgt.ID, sid, print)
				if err != nil {
					return err
				}
				if ok {
					targetID, size = id, it.SizeBytes
					return nil
				}
			}
			body, batched, err := pf.take(ctx, it, route.Format)
			if !batched && err == nil {
				body, err = r.src.OpenItem(ctx, it.ID, route.Format)
			}
			if err != nil {
				return err
			}
			defer body.Close()
			if !begun {
				if auditErr = r.begin(ctx, AuditEvent{Action: audit.ActionItemCreate, Object: object, SourceID: sid, Size: it.SizeBytes}); auditErr != nil {
					return mailbox.Permanent(auditErr)
				}
				begun = true
			}
			counted := &countingReader{r: body}
			if route.Format != mailbox.FormatMIME && it.Kind() != mailbox.KindMail {
				// The typed or full-fidelity body's hash tells a later
				// version with the same content from a real change.
				digest = sha256.New()
				counted.r = io.TeeReader(body, digest)
			}
			hint := it.SizeBytes
			if hint <= 0 {
				hint = -1
			}
			losses.take() // an earlier attempt's losses are not this one's
			targetID, err = r.comb.create(losses.watch(ctx), r.dst, tgt.ID, mailbox.Payload{Item: it, SourceID: sid, Format: route.Format, Dialect: route.Dialect, Body: counted, Size: hint})
			size = counted.n
			return err
		})
		var tooLarge *mailbox.ItemTooLargeError
		if err == nil || auditErr != nil || route.Format != mailbox.FormatFullFidelity || !errors.As(err, &tooLarge) {
			break
		}
		// Too large for the full-fidelity stream (EWS UploadItems takes
		// about 25 MB): the item goes on the path the kind would take
		// without it (MIME for mail), as a new write on record.
		fallback, gap := mailbox.PlanRoute(r.srcCaps, withoutFullFidelity(r.dstCaps), fr.Store, fr.Store, it.Kind())
		if gap != nil {
			break
		}
		if begun {
			r.audit(ctx, AuditEvent{Action: audit.ActionItemCreate, Object: object, SourceID: sid, Size: it.SizeBytes}, err)
		}
		r.log().Info("item too large for the full-fidelity stream; copied on the "+string(fallback.Format)+" path", "folder", tgtPath, "subject", it.Subject, "size", it.SizeBytes)
		route, begun, attempt, digest = fallback, false, 0, nil
	}
	switch {
	case auditErr != nil:
		return auditErr
	case !begun && err != nil && mailbox.IsPermanent(err):
		return r.skip(ctx, sid, it, src, skipReason(err), fr)
	case !begun && err != nil:
		return fmt.Errorf("read %q from %s: %w", it.Subject, src.Path, err)
	case err != nil && mailbox.IsPermanent(err):
		r.audit(ctx, AuditEvent{Action: audit.ActionItemCreate, Object: object, SourceID: sid, Size: it.SizeBytes}, err)
		return r.skip(ctx, sid, it, src, skipReason(err), fr)
	}
	r.audit(ctx, AuditEvent{Action: audit.ActionItemCreate, Object: object, TargetID: targetID, SourceID: sid, Size: size}, err)
	if err != nil {
		return fmt.Errorf("copy %q from %s: %w", it.Subject, src.Path, err)
	}
	if size == 0 {
		size = it.SizeBytes
	}
	rec.TargetItemID, rec.Outcome, rec.SizeBytes, rec.Updated = targetID, ItemCopied, size, time.Now()
	if digest != nil {
		rec.ContentHash = hex.EncodeToString(digest.Sum(nil))
	}
	rec.Losses = r.noteLosses(it, tgtPath, losses.take())
	if err := r.c.Store.PutItem(ctx, rec); err != nil {
		return err
	}
	r.count(func() {
		r.res.ItemsCopied++
		r.res.BytesCopied += size
		fr.Copied++
		kr := r.kind(it.Kind())
		kr.Copied++
		kr.Bytes += size
	})
	if r.c.Progress != nil {
		r.c.Progress.ItemDone(r.key, size)
	}
	return nil
}

// readStateCarried reports whether an item's read state is carried: for
// mail only. A contact, a task or an appointment has no read state a user
// sees, and Graph has no read flag on them to set.
func readStateCarried(it mailbox.Item) bool { return it.Kind() == mailbox.KindMail }

// markDeleted notes on the record of a copied item that its source is
// gone: the target keeps it (deletions are not carried over) and the
// reconciliation counts it as such, not as a duplicate.
func (r *mailboxRun) markDeleted(ctx context.Context, it mailbox.Item) error {
	if r.opts.DryRun || it.ID == "" {
		return nil
	}
	sid := SourceID(r.key, it.ID)
	rec, found, err := r.c.Store.Item(ctx, r.job.ID, sid)
	if err != nil || !found || rec.Outcome != ItemCopied || rec.Reason == ReasonDeletedAtSource {
		return err
	}
	rec.Reason, rec.Updated = ReasonDeletedAtSource, time.Now()
	return r.c.Store.PutItem(ctx, rec)
}

// adopt records an item the target already holds under its stamp as
// copied, without writing it again, and brings its read state along.
// healed is an item an interrupted run wrote and did not record.
func (r *mailboxRun) adopt(ctx context.Context, sid string, it, have mailbox.Item, src mailbox.Folder, tgtPath string, fr *FolderResult, healed bool) error {
	if r.opts.DryRun {
		r.count(func() { r.res.Adopted++ })
		return nil
	}
	rec := ItemRecord{JobID: r.job.ID, SourceID: sid, SourceItemID: it.ID, SourceFolderID: src.ID, TargetItemID: have.ID,
		SizeBytes: it.SizeBytes, IsRead: have.IsRead, Outcome: ItemCopied, Updated: time.Now(), Subject: it.Subject,
		Kind: string(it.Kind()), Version: it.ChangeKey}
	if err := r.c.Store.PutItem(ctx, rec); err != nil {
		return err
	}
	if err := r.recordFound(ctx, AuditEvent{Object: tgtPath + ": " + it.Subject, TargetID: have.ID, SourceID: sid, Size: it.SizeBytes}); err != nil {
		return err
	}
	if healed {
		r.count(func() { r.res.Healed++ })
	} else {
		r.count(func() { r.res.Adopted++; r.kind(it.Kind()).Adopted++ })
	}
	if have.IsRead != it.IsRead && readStateCarried(it) {
		return r.updateRead(ctx, rec, it, tgtPath)
	}
	return nil
}

// settlePending resolves the items still recorded as pending once a
// folder's sync is complete. A pending item the sync delivered again was
// settled when it came; one still pending was written (or not) before a
// crash and has since left the source, so the sync never delivers it
// again: the target's stamp says which.
func (r *mailboxRun) settlePending(ctx context.Context, src, tgt mailbox.Folder) error {
	pending, err := r.c.Store.PendingItems(ctx, r.job.ID, src.ID)
	if err != nil || len(pending) == 0 {
		return err
	}
	for _, rec := range pending {
		id, found, err := r.findWritten(ctx, tgt.ID, rec.SourceID, rec.Fingerprint)
		if err != nil {
			return err
		}
		rec.Updated = time.Now()
		if found {
			rec.TargetItemID, rec.Outcome = id, ItemCopied
			r.count(func() { r.res.Healed++ })
		} else {
			rec.Outcome, rec.Reason = ItemSkipped, "gone from the source before it was copied"
		}
		if err := r.c.Store.PutItem(ctx, rec); err != nil {
			return err
		}
		if found {
			if err := r.recordFound(ctx, AuditEvent{Object: tgt.Path, TargetID: id, SourceID: rec.SourceID, Size: rec.SizeBytes}); err != nil {
				return err
			}
		} else {
			r.audit(ctx, AuditEvent{Action: audit.ActionItemSkip, Outcome: audit.OutcomeSkipped, Object: src.Path, SourceID: rec.SourceID, Err: rec.Reason}, nil)
		}
	}
	r.log().Info("settled items left pending by an interrupted run", "folder", src.Path, "items", len(pending))
	return nil
}

func (r *mailboxRun) updateRead(ctx context.Context, rec ItemRecord, it mailbox.Item, tgtPath string) error {
	if r.opts.DryRun {
		r.count(func() { r.res.ReadUpdates++ })
		return nil
	}
	// A read change from EWS names the item by id only: the subject the
	// state kept when the item was copied names it on record.
	if it.Subject == "" {
		it.Subject = rec.Subject
	} else if rec.Subject == "" {
		rec.Subject = it.Subject
	}
	e := AuditEvent{Action: audit.ActionItemUpdateRead, Object: fmt.Sprintf("%s: %s (read=%v)", tgtPath, it.Subject, it.IsRead), TargetID: rec.TargetItemID}
	if err := r.begin(ctx, e); err != nil {
		return err
	}
	err := r.retry(ctx, "update read state", func() error {
		return r.dst.SetRead(ctx, rec.TargetItemID, it.IsRead)
	})
	r.audit(ctx, e, err)
	if err != nil {
		if errors.Is(err, mailbox.ErrNotFound) {
			return nil // deleted on the target by its user: not ours to recreate
		}
		return fmt.Errorf("update read state of %q: %w", it.Subject, err)
	}
	rec.IsRead, rec.Updated = it.IsRead, time.Now()
	if err := r.c.Store.PutItem(ctx, rec); err != nil {
		return err
	}
	r.count(func() { r.res.ReadUpdates++ })
	return nil
}

const filteredOut = "filtered out"

// filterReason says why an item is not copied: filteredOut for the
// engineer's date filters (not a skip), or a skip reason.
func (r *mailboxRun) filterReason(it mailbox.Item) string {
	if !r.opts.ReceivedSince.IsZero() && !it.Received.IsZero() && it.Received.Before(r.opts.ReceivedSince) {
		return filteredOut
	}
	if !r.opts.ReceivedUntil.IsZero() && !it.Received.IsZero() && !it.Received.Before(r.opts.ReceivedUntil) {
		return filteredOut
	}
	if r.opts.MaxItemBytes > 0 && it.SizeBytes > r.opts.MaxItemBytes {
		return fmt.Sprintf("larger than max_item_size (%d MB)", r.opts.MaxItemBytes>>20)
	}
	// The target's declared limit: the same decision (and words) the
	// target's write would make, made before any byte is read, so that a
	// dry run predicts it.
	if limit := r.dstCaps.MaxItemBytes; limit > 0 && it.SizeBytes > limit {
		return skipReason(&mailbox.ItemTooLargeError{Size: it.SizeBytes, Limit: limit})
	}
	return ""
}

func (r *mailboxRun) skip(ctx context.Context, sid string, it mailbox.Item, src mailbox.Folder, reason string, fr *FolderResult) error {
	if !r.opts.DryRun {
		rec := ItemRecord{JobID: r.job.ID, SourceID: sid, SourceItemID: it.ID, SourceFolderID: src.ID,
			SizeBytes: it.SizeBytes, IsRead: it.IsRead, Outcome: ItemSkipped, Reason: reason, Updated: time.Now(), Subject: it.Subject,
			Kind: string(it.Kind())}
		if err := r.c.Store.PutItem(ctx, rec); err != nil {
			return err
		}
	}
	var over bool
	r.count(func() {
		r.res.Skipped++
		r.res.SkipReasons[reason]++
		fr.Skipped++
		r.kind(it.Kind()).Skipped++
		over = r.opts.MaxSkipped >= 0 && r.res.Skipped > int64(r.opts.MaxSkipped)
	})
	r.log().Warn("item skipped", "folder", src.Path, "subject", it.Subject, "size", it.SizeBytes, "reason", reason)
	if !r.opts.DryRun {
		r.audit(ctx, AuditEvent{Action: audit.ActionItemSkip, Outcome: audit.OutcomeSkipped, Object: src.Path + ": " + it.Subject,
			SourceID: sid, Size: it.SizeBytes, Err: reason}, nil)
	}
	if r.c.Progress != nil && !r.opts.DryRun {
		r.c.Progress.ItemSkipped(r.key, it.SizeBytes)
	}
	if over {
		return fmt.Errorf("%w: %d skipped, over --max-skipped %d", errTooManySkipped, r.res.Skipped, r.opts.MaxSkipped)
	}
	return nil
}

func skipReason(err error) string {
	var tl *mailbox.ItemTooLargeError
	switch {
	case errors.As(err, &tl):
		return fmt.Sprintf("too large for the target (limit %d MB)", tl.Limit>>20)
	case errors.Is(err, mailbox.ErrNotFound):
		return "gone from the source before it was copied"
	}
	msg := err.Error()
	if len(msg) > 200 {
		msg = msg[:200]
	}
	return "rejected by the target: " + msg
}

func (r *mailboxRun) count(f func()) {
	r.mu.Lock()
	f()
	r.mu.Unlock()
}

// recordFound puts on record an item found on the target under its stamp
// (e names it; Action is set here). When a killed run began writing it (an
// unfinished started line), this is that write's ok line; otherwise the
// item was written by a run that recorded it, or outside this audit log,
// and it is adopted.
func (r *mailboxRun) recordFound(ctx context.Context, e AuditEvent) error {
	e.Action = audit.ActionItemCreate
	open, err := r.unfinished(ctx, e)
	if err != nil {
		return err
	}
	if open {
		e.Note = noteConfirmed
	} else {
		e.Action = audit.ActionItemAdopt
	}
	r.audit(ctx, e, nil)
	return nil
}

// unfinished asks the auditor whether the write e describes was begun and
// never recorded; an auditor that cannot tell answers no.
func (r *mailboxRun) unfinished(ctx context.Context, e AuditEvent) (bool, error) {
	u, ok := r.c.Audit.(unfinishedAuditor)
	if !ok {
		return false, nil
	}
	e.Mailbox, e.Location = r.key.TargetAddress, r.key.TargetLocation
	open, err := u.Unfinished(ctx, e)
	if err != nil {
		return false, fmt.Errorf("read the audit log back: %w", err)
	}
	return open, nil
}

// begin records that the write e describes is about to be sent, so that
// it stays on record if the process dies before its outcome line. A write
// whose started line cannot be written is not made.
func (r *mailboxRun) begin(ctx context.Context, e AuditEvent) error {
	if r.opts.DryRun || r.c.Audit == nil {
		return nil
	}
	e.Mailbox, e.Location, e.Outcome = r.key.TargetAddress, r.key.TargetLocation, audit.OutcomeStarted
	if err := r.c.Audit.Record(context.WithoutCancel(ctx), e); err != nil {
		return fmt.Errorf("%w: %s %s not made, so that no write goes unrecorded", err, e.Action, e.Object)
	}
	return nil
}

func (r *mailboxRun) audit(ctx context.Context, e AuditEvent, err error) {
	if r.c.Audit == nil {
		return
	}
	e.Mailbox, e.Location = r.key.TargetAddress, r.key.TargetLocation
	switch {
	case err != nil:
		e.Outcome, e.Err = audit.OutcomeError, err.Error()
	case e.Outcome == "":
		e.Outcome = audit.OutcomeOK
	}
	if aerr := r.c.Audit.Record(context.WithoutCancel(ctx), e); aerr != nil {
		r.log().Error("audit log write failed", "err", aerr)
	}
}

// retry runs op until it succeeds, fails for good, or the attempts run
// out. Whether an error is retried is mailbox.ShouldRetry's one decision:
// the adapters already retried their services' throttling answers
// (ErrThrottled) and unanswered requests (ErrUnavailable), and marked what
// no retry changes; this covers what is left, chiefly a write whose answer
// was lost, which only the engine can retry safely because it looks the
// stamp up first.
func (r *mailboxRun) retry(ctx context.Context, what string, op func() error) error {
	var err error
	for attempt := 1; ; attempt++ {
		err = op()
		again, after := retryable(err)
		if err == nil || !again || attempt >= r.opts.Attempts || ctx.Err() != nil {
			return err
		}
		wait := r.opts.BackoffBase << (attempt - 1)
		if wait > r.opts.BackoffMax || wait <= 0 {
			wait = r.opts.BackoffMax
		}
		wait = wait/2 + rand.N(wait/2+1)
		wait = max(wait, after)
		r.log().Warn("retrying after a transient error", "op", what, "attempt", attempt, "wait", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// retryable is mailbox.ShouldRetry plus the engine's own final errors. A
// deadline that is not the caller's (retry checks ctx itself) is a
// transport timeout: net/http's "timeout awaiting response headers"
// matches context.DeadlineExceeded, and ShouldRetry retries it.
func retryable(err error) (bool, time.Duration) {
	if errors.Is(err, ErrStoreClosed) || errors.Is(err, errTooManySkipped) {
		return false, 0
	}
	return mailbox.ShouldRetry(err)
}

// reconcile compares what each folder holds on both sides after the pass.
func (r *mailboxRun) reconcile(ctx context.Context) {
	type idx struct{ src, dst map[string]mailbox.Folder }
	trees := map[mailbox.Scope]idx{}
	for i := range r.res.Folders {
		f := &r.res.Folders[i]
		if !f.CountsKnown {
			continue // a side that does not report counts: nothing to compare
		}
		t, ok := trees[f.Store]
		if !ok {
			target, _ := r.opts.into(f.Store) // Recoverable Items: a folder of another store
			src, err1 := r.src.Folders(ctx, f.Store)
			dst, err2 := r.dst.Folders(ctx, target)
			if err := errors.Join(err1, err2); err != nil {
				r.log().Warn("reconciliation skipped: folders could not be listed again", "store", f.Store, "err", err)
				return
			}
			t = idx{indexFolders(src), indexFolders(dst)}
			trees[f.Store] = t
		}
		if s, ok := t.src[f.SourcePath]; ok {
			f.SourceCount = s.ItemCount
		}
		if d, ok := t.dst[f.TargetPath]; ok {
			f.TargetCount = d.ItemCount
		}
		if n, err := r.c.Store.DeletedAtSource(ctx, r.job.ID, f.SourceID); err == nil {
			f.DeletedAtSource = n
		}
		// Keep the counts for the report's reconciliation.
		rec, found, err := r.c.Store.Folder(ctx, r.job.ID, f.SourceID)
		if err != nil || !found {
			continue
		}
		rec.SourceCount, rec.TargetCount, rec.Updated = f.SourceCount, f.TargetCount, time.Now()
		if err := r.c.Store.PutFolder(ctx, rec); err != nil {
			r.log().Warn("reconciliation not saved", "folder", f.SourcePath, "err", err)
		}
	}
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
