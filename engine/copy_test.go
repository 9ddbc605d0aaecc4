package engine_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/engine"
	"github.com/exmigrate/exmigrate/internal/audit"
	"github.com/exmigrate/exmigrate/internal/state"
	"github.com/exmigrate/exmigrate/mailbox"
	"github.com/exmigrate/exmigrate/mailbox/memory"
)

// The engine's tests run on the in-memory backend and a real SQLite state
// store, so every path between pending, write and record is exercised in
// seconds, without a protocol.

var key = engine.JobKey{SourceAddress: "alice@contoso.com", SourceLocation: "onprem", TargetAddress: "alice@fabrikam.com", TargetLocation: "cloud"}

// errCrash stands for the process dying at a point: nothing after it runs.
var errCrash = errors.New("simulated crash")

// crashStore wraps the state store and crashes at one point of an item's
// life: after the pending record, or instead of / after the copied record.
type crashStore struct {
	engine.Store
	mu sync.Mutex
	// at is "writes-open" (crash once the folder is marked as being
	// written, before the first write), "pending" (after recording an
	// item pending, before its write: a fingerprinted import),
	// "before-copied" (after the write, before recording it) or
	// "after-copied" (after recording it, before the page's sync state).
	at    string
	after int // items that pass before the crash
	seen  int
	fired bool
}

func (s *crashStore) PutFolder(ctx context.Context, rec engine.FolderRecord) error {
	s.mu.Lock()
	fire := !s.fired && s.at == "writes-open" && rec.WritesOpen
	s.fired = s.fired || fire
	s.mu.Unlock()
	if err := s.Store.PutFolder(ctx, rec); err != nil {
		return err
	}
	if fire {
		return errCrash
	}
	return nil
}

func (s *crashStore) PutItem(ctx context.Context, rec engine.ItemRecord) error {
	s.mu.Lock()
	fire := false
	if !s.fired && s.at != "" {
		switch {
		case s.at == "pending" && rec.Outcome == engine.ItemPending,
			(s.at == "before-copied" || s.at == "after-copied") && rec.Outcome == engine.ItemCopied:
			s.seen++
			fire = s.seen > s.after
		}
		s.fired = fire
	}
	s.mu.Unlock()
	if fire && s.at == "before-copied" {
		return errCrash
	}
	if err := s.Store.PutItem(ctx, rec); err != nil {
		return err
	}
	if fire {
		return errCrash
	}
	return nil
}

type fixture struct {
	src, dst       *memory.Service
	srcMB, dstMB   *memory.Mailbox
	store          engine.Store
	opts           engine.CopyOptions
	audit          *auditLog
	sourceItems    int
	sourceInFolder map[string][]string // path -> ids
}

func newFixture(t *testing.T, dstOpts ...memory.Option) *fixture {
	t.Helper()
	f := &fixture{
		src:            memory.New(memory.WithPageSize(7)),
		dst:            memory.New(append([]memory.Option{memory.WithPageSize(7)}, dstOpts...)...),
		audit:          &auditLog{},
		sourceInFolder: map[string][]string{},
	}
	f.srcMB = f.src.AddMailbox(key.SourceAddress)
	f.dstMB = f.dst.AddMailbox(key.TargetAddress)
	st, err := state.Open(context.Background(), filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f.store = st
	f.opts = engine.CopyOptions{ItemWorkers: 3, Attempts: 4, BackoffBase: time.Millisecond, BackoffMax: 5 * time.Millisecond, MaxSkipped: -1}
	return f
}

var day = time.Date(2025, 6, 1, 8, 0, 0, 0, time.UTC)

// seed puts n mail items in a folder of the source (created when absent).
func (f *fixture) seed(t *testing.T, store mailbox.Scope, path string, n int, class string) []string {
	t.Helper()
	id := f.ensureFolder(t, store, path, class)
	var ids []string
	for i := range n {
		subject := fmt.Sprintf("%s %d", path, len(f.sourceInFolder[path])+i)
		body := []byte("Subject: " + subject + "\r\n\r\nbody " + subject + "\r\n")
		ids = append(ids, f.srcMB.Seed(id, mailbox.Item{Class: class, Subject: subject, Received: day.Add(time.Duration(i) * time.Hour),
			Sent: day.Add(time.Duration(i)*time.Hour - time.Minute), IsRead: i%2 == 0, Importance: mailbox.ImportanceNormal, Flag: mailbox.NotFlagged}, body))
	}
	f.sourceInFolder[path] = append(f.sourceInFolder[path], ids...)
	f.sourceItems += n
	return ids
}

// ensureFolder creates each level of path in a store of the source.
func (f *fixture) ensureFolder(t *testing.T, store mailbox.Scope, path, class string) string {
	t.Helper()
	parent, _ := f.srcMB.FolderByPath(store, "")
	sofar := ""
	for _, name := range strings.Split(path, "/") {
		sofar = mailbox.JoinPath(sofar, name)
		if id, ok := f.srcMB.FolderByPath(store, sofar); ok {
			parent = id
			continue
		}
		fc := mailbox.ClassMailFolder
		switch mailbox.KindOf(class) {
		case mailbox.KindCalendar:
			fc = mailbox.ClassCalendarFolder
		case mailbox.KindContacts:
			fc = mailbox.ClassContactsFolder
		}
		fd, err := f.srcMB.CreateFolder(context.Background(), parent, name, fc)
		if err != nil {
			t.Fatal(err)
		}
		parent = fd.ID
	}
	return parent
}

func (f *fixture) copier(store engine.Store) *engine.Copier {
	return &engine.Copier{Store: store, Audit: f.audit, Options: f.opts}
}

func (f *fixture) run(t *testing.T, store engine.Store) *engine.MailboxResult {
	t.Helper()
	if store == nil {
		store = f.store
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return f.copier(store).Copy(ctx, key, f.srcMB, f.dstMB)
}

// targetItems lists the target's items per folder path of a store.
func (f *fixture) targetItems(t *testing.T, store mailbox.Scope) map[string][]mailbox.Item {
	t.Helper()
	tree, err := f.dstMB.Folders(context.Background(), store)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]mailbox.Item{}
	for _, fd := range tree {
		f.dstMB.Items(context.Background(), fd.ID, func(it mailbox.Item) error {
			out[fd.Path] = append(out[fd.Path], it)
			return nil
		})
	}
	return out
}

// assertExactCopy checks that every source item is on the target once,
// in the folder of the same path, stamped, with its read state.
func (f *fixture) assertExactCopy(t *testing.T, store mailbox.Scope) {
	t.Helper()
	got := f.targetItems(t, store)
	total := 0
	for path, ids := range f.sourceInFolder {
		items := got[path]
		total += len(items)
		stamps := map[string]int{}
		for _, it := range items {
			stamps[it.SourceID]++
		}
		for _, id := range ids {
			sid := engine.SourceID(key, id)
			if stamps[sid] != 1 {
				t.Errorf("%s: source item %s is on the target %d times, want once", path, id, stamps[sid])
			}
		}
		if len(items) != len(ids) {
			t.Errorf("%s: target holds %d items, source %d", path, len(items), len(ids))
		}
	}
	if total != f.sourceItems {
		t.Errorf("target holds %d items in the copied folders, source %d", total, f.sourceItems)
	}
}

type auditLog struct {
	mu     sync.Mutex
	events []engine.AuditEvent
}

func (a *auditLog) Record(_ context.Context, e engine.AuditEvent) error {
	a.mu.Lock()
	a.events = append(a.events, e)
	a.mu.Unlock()
	return nil
}

func (a *auditLog) countAction(action string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, e := range a.events {
		if e.Action == action {
			n++
		}
	}
	return n
}

func (a *auditLog) count(action, outcome string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, e := range a.events {
		if e.Action == action && e.Outcome == outcome {
			n++
		}
	}
	return n
}

func TestCopyAndSecondPassWritesNothing(t *testing.T) {
	f := newFixture(t)
	f.seed(t, mailbox.ScopePrimary, "Inbox", 30, mailbox.ClassMessage)
	f.seed(t, mailbox.ScopePrimary, "Inbox/Projects/2025", 12, mailbox.ClassMessage)
	res := f.run(t, nil)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if res.ItemsCopied != 42 || res.Skipped != 0 {
		t.Fatalf("copied %d, skipped %d; want 42, 0", res.ItemsCopied, res.Skipped)
	}
	f.assertExactCopy(t, mailbox.ScopePrimary)
	if n := f.audit.count(audit.ActionItemCreate, audit.OutcomeOK); n != 42 {
		t.Errorf("%d item.create audit lines, want 42", n)
	}
	writes := f.dst.Writes()
	res = f.run(t, nil)
	if res.Err != nil || res.ItemsCopied != 0 || f.dst.Writes() != writes {
		t.Fatalf("second pass: err %v, copied %d, %d new writes; want nothing", res.Err, res.ItemsCopied, f.dst.Writes()-writes)
	}
	for _, fr := range res.Folders {
		if fr.CountsKnown && fr.SourceCount != fr.TargetCount {
			t.Errorf("reconciliation of %s: source %d target %d", fr.SourcePath, fr.SourceCount, fr.TargetCount)
		}
	}
}

// TestCrashPoints kills the pass at each point of an item's life and then
// runs it again: nothing is lost, nothing is duplicated.
func TestCrashPoints(t *testing.T) {
	tests := []struct {
		name  string
		at    string
		after []int
	}{
		{"after the folder is marked, before the first write", "writes-open", []int{0}},
		{"after the write, before the copied record", "before-copied", []int{0, 5, 11}},
		{"after the copied record, before the sync state", "after-copied", []int{0, 5, 11}},
	}
	for _, tt := range tests {
		for _, after := range tt.after {
			t.Run(fmt.Sprintf("%s/%d items in", tt.name, after), func(t *testing.T) {
				f := newFixture(t)
				f.seed(t, mailbox.ScopePrimary, "Inbox", 25, mailbox.ClassMessage)
				cs := &crashStore{Store: f.store, at: tt.at, after: after}
				res := f.run(t, cs)
				if !errors.Is(res.Err, errCrash) {
					t.Fatalf("first pass: %v, want the crash", res.Err)
				}
				res = f.run(t, nil)
				if res.Err != nil {
					t.Fatalf("pass after the crash: %v", res.Err)
				}
				f.assertExactCopy(t, mailbox.ScopePrimary)
				if tt.at == "before-copied" && res.Healed < 1 {
					t.Errorf("the item written before the crash was not healed by its stamp (healed %d)", res.Healed)
				}
				counts, err := f.store.Counts(context.Background(), 1)
				if err != nil {
					t.Fatal(err)
				}
				if counts.Copied != 25 || counts.Pending != 0 {
					t.Errorf("state: %d copied, %d pending; want 25, 0", counts.Copied, counts.Pending)
				}
			})
		}
	}
}

func TestLostAnswerIsNotDuplicated(t *testing.T) {
	f := newFixture(t)
	f.seed(t, mailbox.ScopePrimary, "Inbox", 10, mailbox.ClassMessage)
	f.dst.Inject(memory.Fault{Op: memory.OpCreateItem, AfterWrite: true, Times: 3, Err: errors.New("connection reset by peer")})
	res := f.run(t, nil)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	f.assertExactCopy(t, mailbox.ScopePrimary)
	if f.dst.Calls(memory.OpCreateItem) != 10 {
		t.Errorf("%d creates for 10 items with 3 lost answers: the engine wrote again instead of finding the stamp", f.dst.Calls(memory.OpCreateItem))
	}
}

func TestHalfWrittenItemIsReplaced(t *testing.T) {
	f := newFixture(t)
	f.seed(t, mailbox.ScopePrimary, "Inbox", 4, mailbox.ClassMessage)
	// The first create dies half way (an item without its attachments):
	// the stamp must not find it, and the next write replaces it.
	f.dst.Inject(memory.Fault{Op: memory.OpCreateItem, Incomplete: true, Err: mailbox.ErrUnavailable})
	res := f.run(t, nil)
	if !errors.Is(res.Err, mailbox.ErrUnavailable) {
		t.Fatalf("first pass: %v, want ErrUnavailable (not retried by the engine)", res.Err)
	}
	res = f.run(t, nil)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	f.assertExactCopy(t, mailbox.ScopePrimary)
	if n := f.audit.count(audit.ActionItemDeleteIncomplete, audit.OutcomeOK); n != 1 {
		t.Errorf("%d item.delete-incomplete audit lines, want 1 (the half-written copy removed)", n)
	}
}

func TestPendingItemsSettled(t *testing.T) {
	f := newFixture(t)
	ids := f.seed(t, mailbox.ScopePrimary, "Inbox", 6, mailbox.ClassMessage)
	f.opts.ItemWorkers = 1 // one worker, so the order of the items is known
	// Run A dies after writing ids[1], before recording it (its write had
	// no pending record: the folder's WritesOpen stands for it); then
	// ids[1] leaves the source.
	if res := f.run(t, &crashStore{Store: f.store, at: "before-copied", after: 1}); !errors.Is(res.Err, errCrash) {
		t.Fatal(res.Err)
	}
	if err := f.srcMB.Delete(ids[1]); err != nil {
		t.Fatal(err)
	}
	// An older exmigrate (or a fingerprinted import) recorded ids[2]
	// pending before writing it, and died before the write; then ids[2]
	// leaves the source.
	if err := f.store.PutItem(context.Background(), engine.ItemRecord{JobID: 1, SourceID: engine.SourceID(key, ids[2]),
		SourceItemID: ids[2], SourceFolderID: mustFolder(t, f.srcMB, "Inbox"), Outcome: engine.ItemPending, Subject: "two"}); err != nil {
		t.Fatal(err)
	}
	if err := f.srcMB.Delete(ids[2]); err != nil {
		t.Fatal(err)
	}
	// The sync never delivers either again: the end of the folder's pass
	// settles them by the target's stamps.
	res := f.run(t, nil)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	counts, err := f.store.Counts(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if counts.Pending != 0 || counts.Copied != 5 || counts.Skipped != 1 {
		t.Fatalf("state after settling: %d copied, %d pending, %d skipped (%v); want 5, 0, 1", counts.Copied, counts.Pending, counts.Skipped, counts.SkipReasons)
	}
	if counts.SkipReasons["gone from the source before it was copied"] != 1 {
		t.Errorf("skip reasons %v", counts.SkipReasons)
	}
	if res.Healed != 1 || f.audit.count(audit.ActionItemAdopt, audit.OutcomeOK) != 1 || f.audit.count(audit.ActionItemSkip, audit.OutcomeSkipped) != 1 {
		t.Errorf("healed %d, %d adopt and %d skip audit lines; want 1 each", res.Healed,
			f.audit.count(audit.ActionItemAdopt, audit.OutcomeOK), f.audit.count(audit.ActionItemSkip, audit.OutcomeSkipped))
	}
	if n := len(f.targetItems(t, mailbox.ScopePrimary)["Inbox"]); n != 5 {
		t.Errorf("target Inbox holds %d, want 5", n)
	}
}

func TestSkipsWithReasons(t *testing.T) {
	caps := memory.DefaultCapabilities()
	caps.MaxItemBytes = 100
	f := newFixture(t, memory.WithCapabilities(caps))
	f.seed(t, mailbox.ScopePrimary, "Inbox", 3, mailbox.ClassMessage)
	big := f.srcMB.Seed(mustFolder(t, f.srcMB, "Inbox"), mailbox.Item{Class: mailbox.ClassMessage, Subject: "big"}, []byte(strings.Repeat("x", 500)))
	res := f.run(t, nil)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if res.ItemsCopied != 3 || res.Skipped != 1 {
		t.Fatalf("copied %d skipped %d, want 3 and 1", res.ItemsCopied, res.Skipped)
	}
	if res.SkipReasons["too large for the target (limit 0 MB)"] != 1 {
		t.Errorf("skip reasons %v", res.SkipReasons)
	}
	if _, found, _ := f.dstMB.FindBySourceID(context.Background(), mustFolder(t, f.dstMB, "Inbox"), engine.SourceID(key, big)); found {
		t.Error("the too-large item is on the target")
	}
	if n := f.audit.count(audit.ActionItemSkip, audit.OutcomeSkipped); n != 1 {
		t.Errorf("%d item.skip audit lines, want 1", n)
	}
}

func mustFolder(t *testing.T, mb *memory.Mailbox, path string) string {
	t.Helper()
	id, ok := mb.FolderByPath(mailbox.ScopePrimary, path)
	if !ok {
		t.Fatalf("no folder %q", path)
	}
	return id
}

func TestPermanentErrorSkipsOneItemWithoutRetry(t *testing.T) {
	f := newFixture(t)
	f.seed(t, mailbox.ScopePrimary, "Inbox", 5, mailbox.ClassMessage)
	f.opts.ItemWorkers = 1
	f.dst.Inject(memory.Fault{Op: memory.OpCreateItem, Err: mailbox.Permanent(errors.New("HTTP 400: The message is malformed."))})
	res := f.run(t, nil)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if res.ItemsCopied != 4 || res.Skipped != 1 {
		t.Fatalf("copied %d skipped %d, want 4 and 1", res.ItemsCopied, res.Skipped)
	}
	if c := f.dst.Calls(memory.OpCreateItem); c != 5 {
		t.Errorf("%d creates for 5 items: the permanent error was retried", c)
	}
	var reason string
	for r := range res.SkipReasons {
		reason = r
	}
	if !strings.Contains(reason, "The message is malformed") {
		t.Errorf("skip reason %q does not carry the server's answer", reason)
	}
}

func TestThrottledIsNotRetriedByTheEngine(t *testing.T) {
	f := newFixture(t)
	f.seed(t, mailbox.ScopePrimary, "Inbox", 3, mailbox.ClassMessage)
	f.src.Inject(memory.Fault{Op: memory.OpChanges, Err: fmt.Errorf("429 after 6 retries: %w", mailbox.ErrThrottled)})
	res := f.run(t, nil)
	if !errors.Is(res.Err, mailbox.ErrThrottled) {
		t.Fatalf("err %v, want ErrThrottled", res.Err)
	}
	if c := f.src.Calls(memory.OpChanges); c != 1 {
		t.Errorf("Changes called %d times: the engine retried what the adapter had retried", c)
	}
	// An unclassified error (a reset connection) is retried.
	f.src.Inject(memory.Fault{Op: memory.OpChanges, Err: errors.New("connection reset"), Times: 2})
	res = f.run(t, nil)
	if res.Err != nil {
		t.Fatalf("after two resets: %v", res.Err)
	}
	f.assertExactCopy(t, mailbox.ScopePrimary)
}

func TestReadStateUpdates(t *testing.T) {
	f := newFixture(t)
	ids := f.seed(t, mailbox.ScopePrimary, "Inbox", 4, mailbox.ClassMessage)
	if res := f.run(t, nil); res.Err != nil {
		t.Fatal(res.Err)
	}
	// ids[0] was read, ids[1] unread: flip both.
	ctx := context.Background()
	if err := f.srcMB.SetRead(ctx, ids[0], false); err != nil {
		t.Fatal(err)
	}
	if err := f.srcMB.SetRead(ctx, ids[1], true); err != nil {
		t.Fatal(err)
	}
	res := f.run(t, nil)
	if res.Err != nil || res.ReadUpdates != 2 || res.ItemsCopied != 0 {
		t.Fatalf("err %v, %d read updates, %d copied; want 2 and 0", res.Err, res.ReadUpdates, res.ItemsCopied)
	}
	for _, it := range f.targetItems(t, mailbox.ScopePrimary)["Inbox"] {
		switch it.SourceID {
		case engine.SourceID(key, ids[0]):
			if it.IsRead {
				t.Error("ids[0] is still read on the target")
			}
		case engine.SourceID(key, ids[1]):
			if !it.IsRead {
				t.Error("ids[1] is still unread on the target")
			}
		}
	}
	if n := f.audit.count(audit.ActionItemUpdateRead, audit.OutcomeOK); n != 2 {
		t.Errorf("%d item.update-read audit lines, want 2", n)
	}
}

func TestExpiredSyncStateResyncsWithoutWriting(t *testing.T) {
	f := newFixture(t)
	f.seed(t, mailbox.ScopePrimary, "Inbox", 9, mailbox.ClassMessage)
	if res := f.run(t, nil); res.Err != nil {
		t.Fatal(res.Err)
	}
	f.src.ExpireSyncStates()
	f.seed(t, mailbox.ScopePrimary, "Inbox", 2, mailbox.ClassMessage)
	res := f.run(t, nil)
	if res.Err != nil || res.ItemsCopied != 2 {
		t.Fatalf("after expiry: err %v, copied %d; want the 2 new ones", res.Err, res.ItemsCopied)
	}
	f.assertExactCopy(t, mailbox.ScopePrimary)
}

// TestKindsAndStoresPlannedFromCapabilities: what the target does not
// declare is reported with a code, never silently dropped.
func TestKindsAndStoresPlannedFromCapabilities(t *testing.T) {
	// A target like Graph today: primary mail only, calendar writes would
	// send invitations.
	caps := mailbox.Capabilities{Backend: "graph-like", ItemCounts: true,
		Reads:       []mailbox.Path{{Store: mailbox.ScopePrimary, Kind: mailbox.KindMail, Format: mailbox.FormatMIME}},
		Writes:      []mailbox.Path{{Store: mailbox.ScopePrimary, Kind: mailbox.KindMail, Format: mailbox.FormatMIME}, {Store: mailbox.ScopePrimary, Kind: mailbox.KindCalendar, Format: mailbox.FormatMIME, SideEffects: []mailbox.SideEffect{mailbox.SendsMeetingMessages}}},
		Unsupported: map[mailbox.StoreKind]string{{Store: mailbox.ScopeArchive, Kind: mailbox.KindMail}: "Graph v1.0 cannot reach an online archive"}}
	f := newFixture(t, memory.WithCapabilities(caps))
	f.seed(t, mailbox.ScopePrimary, "Inbox", 3, mailbox.ClassMessage)
	f.seed(t, mailbox.ScopePrimary, "Calendar", 2, mailbox.ClassAppointment)
	f.seed(t, mailbox.ScopeArchive, "Old mail", 4, mailbox.ClassMessage)
	// An appointment that sits in a mail folder.
	stray := f.srcMB.Seed(mustFolder(t, f.srcMB, "Inbox"), mailbox.Item{Class: mailbox.ClassAppointment, Subject: "stray"}, []byte("x"))
	f.opts.Stores = []mailbox.Scope{mailbox.ScopePrimary, mailbox.ScopeArchive}
	res := f.run(t, nil)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if res.ItemsCopied != 3 || res.Skipped != 1 {
		t.Fatalf("copied %d skipped %d; want the 3 mails and the stray appointment skipped", res.ItemsCopied, res.Skipped)
	}
	var codes []string
	for _, g := range res.Gaps {
		codes = append(codes, string(g.Store)+"/"+string(g.Kind)+" "+g.Code)
	}
	slices.Sort(codes)
	// The memory mailbox's empty Contacts and Tasks folders are reported
	// too: nothing carries them to this target.
	want := []string{"archive/ " + mailbox.CodeStoreNotCarried, "primary/calendar " + mailbox.CodeWouldSend,
		"primary/contacts " + mailbox.CodeKindNotCarried, "primary/tasks " + mailbox.CodeKindNotCarried}
	if !slices.Equal(codes, want) {
		t.Errorf("gaps %q, want %q", codes, want)
	}
	var cal *engine.FolderResult
	for i, fr := range res.NotCarried {
		if fr.SourcePath == "Calendar" {
			cal = &res.NotCarried[i]
		}
	}
	if cal == nil || cal.Code != mailbox.CodeWouldSend || cal.SourceCount != 2 || !strings.Contains(cal.NotCopied, "never sends") {
		t.Errorf("Calendar not reported as not carried with the would-send code: %+v", cal)
	}
	for reason := range res.SkipReasons {
		if !strings.HasPrefix(reason, mailbox.CodeWouldSend) {
			t.Errorf("the stray appointment's skip reason %q lacks the code", reason)
		}
	}
	if _, found, _ := f.dstMB.FindBySourceID(context.Background(), mustFolder(t, f.dstMB, "Inbox"), engine.SourceID(key, stray)); found {
		t.Error("the appointment was written through a path that sends invitations")
	}
}

func TestArchiveCopiedWhenBothSidesCarryIt(t *testing.T) {
	f := newFixture(t)
	f.seed(t, mailbox.ScopePrimary, "Inbox", 3, mailbox.ClassMessage)
	f.seed(t, mailbox.ScopeArchive, "Inbox", 5, mailbox.ClassMessage)
	f.opts.Stores = []mailbox.Scope{mailbox.ScopePrimary, mailbox.ScopeArchive}
	res := f.run(t, nil)
	if res.Err != nil || res.ItemsCopied != 8 || len(res.Gaps) != 0 {
		t.Fatalf("err %v copied %d gaps %v; want 8 and none", res.Err, res.ItemsCopied, res.Gaps)
	}
	arch := f.targetItems(t, mailbox.ScopeArchive)["Inbox"]
	prim := f.targetItems(t, mailbox.ScopePrimary)["Inbox"]
	if len(arch) != 5 || len(prim) != 3 {
		t.Fatalf("target archive Inbox %d, primary Inbox %d; want 5 and 3 (each store into its own)", len(arch), len(prim))
	}
}

func TestDryRunWritesNothing(t *testing.T) {
	f := newFixture(t)
	f.seed(t, mailbox.ScopePrimary, "Inbox/Deep/Er", 5, mailbox.ClassMessage)
	f.opts.DryRun = true
	res := f.run(t, nil)
	if res.Err != nil || res.ItemsCopied != 5 || f.dst.Writes() != 0 {
		t.Fatalf("dry run: err %v, planned %d, %d writes", res.Err, res.ItemsCopied, f.dst.Writes())
	}
	if !slices.Contains(res.FoldersToMake, "Inbox/Deep/Er") {
		t.Errorf("folders to make %q", res.FoldersToMake)
	}
}

// TestNewStateAdoptsByStamp: the stamps on the target are the truth. A
// copy with a new state file (lost, deleted, another machine) learns what
// each target folder holds with one stamp listing per folder and writes
// only what is missing.
func TestNewStateAdoptsByStamp(t *testing.T) {
	f := newFixture(t)
	ids := f.seed(t, mailbox.ScopePrimary, "Inbox", 40, mailbox.ClassMessage)
	f.seed(t, mailbox.ScopePrimary, "Inbox/Projects", 15, mailbox.ClassMessage)
	if res := f.run(t, nil); res.Err != nil {
		t.Fatal(res.Err)
	}
	// Meanwhile: 5 new items, and one read state changed at the source.
	f.seed(t, mailbox.ScopePrimary, "Inbox", 5, mailbox.ClassMessage)
	if err := f.srcMB.SetRead(context.Background(), ids[0], false); err != nil {
		t.Fatal(err)
	}
	fresh, err := state.Open(context.Background(), filepath.Join(t.TempDir(), "new.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	creates, finds := f.dst.Calls(memory.OpCreateItem), f.dst.Calls(memory.OpFindBySourceID)

	// A dry run with the new state already knows what is there.
	f.opts.DryRun = true
	plan := f.run(t, fresh)
	f.opts.DryRun = false
	if plan.Err != nil || plan.ItemsCopied != 5 || plan.Adopted != 55 {
		t.Fatalf("dry run with a new state: err %v, would copy %d and adopt %d; want 5 and 55", plan.Err, plan.ItemsCopied, plan.Adopted)
	}

	res := f.run(t, fresh)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if res.Adopted != 55 || res.ItemsCopied != 5 || res.ReadUpdates != 1 {
		t.Fatalf("adopted %d, copied %d, read updates %d; want 55, 5, 1", res.Adopted, res.ItemsCopied, res.ReadUpdates)
	}
	if got := f.dst.Calls(memory.OpCreateItem) - creates; got != 5 {
		t.Errorf("%d creates with a new state, want only the 5 new items", got)
	}
	if got := f.dst.Calls(memory.OpFindBySourceID) - finds; got != 0 {
		t.Errorf("%d stamp lookups: the listing should have answered them all", got)
	}
	// One listing per folder that holds items; a folder the target's
	// listing counts empty holds nothing to adopt and is not listed.
	if res.StampListings != 2 {
		t.Errorf("%d stamp listings, want one per folder holding items (2)", res.StampListings)
	}
	f.sourceItems = 60
	f.assertExactCopy(t, mailbox.ScopePrimary)
	if n := f.audit.count(audit.ActionItemAdopt, audit.OutcomeOK); n != 55 {
		t.Errorf("%d item.adopt audit lines, want 55", n)
	}
	// The pass after that writes and lists nothing: the state knows it all.
	listings, writes := f.dst.Calls(memory.OpStamps), f.dst.Writes()
	res = f.run(t, fresh)
	if res.Err != nil || res.ItemsCopied != 0 || res.Adopted != 0 || f.dst.Calls(memory.OpStamps) != listings || f.dst.Writes() != writes {
		t.Fatalf("third pass: err %v, copied %d, adopted %d, %d listings, %d writes; want nothing", res.Err, res.ItemsCopied, res.Adopted,
			f.dst.Calls(memory.OpStamps)-listings, f.dst.Writes()-writes)
	}
}

// TestFolderFailuresStaySmall: a permanent error about one folder fails
// that folder, without retries, and the mailbox goes on with the others.
func TestFolderFailuresStaySmall(t *testing.T) {
	tests := []struct {
		name  string
		fault memory.Fault
		side  string
		want  string
	}{
		{"target refuses to create the folder", memory.Fault{Op: memory.OpCreateFolder,
			Err: mailbox.Permanent(errors.New("HTTP 400: The folder display name is missing."))}, "dst", "display name is missing"},
		{"source folder gone mid-pass", memory.Fault{Op: memory.OpChanges,
			Err: fmt.Errorf("folder: %w", mailbox.ErrNotFound)}, "src", "not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.seed(t, mailbox.ScopePrimary, "A first", 3, mailbox.ClassMessage)
			f.seed(t, mailbox.ScopePrimary, "B second", 4, mailbox.ClassMessage)
			f.seed(t, mailbox.ScopePrimary, "Inbox", 5, mailbox.ClassMessage)
			svc := f.dst
			if tt.side == "src" {
				svc = f.src
			}
			before := svc.Calls(tt.fault.Op)
			svc.Inject(tt.fault)
			res := f.run(t, nil)
			if res.Err != nil {
				t.Fatalf("the mailbox failed: %v", res.Err)
			}
			if len(res.FailedFolders) != 1 || !strings.Contains(res.FailedFolders[0].Failed, tt.want) {
				t.Fatalf("failed folders %+v, want one failing with %q", res.FailedFolders, tt.want)
			}
			if res.ItemsCopied != 12-int64(len(f.sourceInFolder[res.FailedFolders[0].SourcePath])) {
				t.Errorf("copied %d; the other folders should have been copied whole", res.ItemsCopied)
			}
			if got := svc.Calls(tt.fault.Op) - before; tt.side == "dst" && got != 2 {
				t.Errorf("%d CreateFolder calls for two new folders: the refused one was retried", got)
			}
			job, err := f.store.Job(context.Background(), key)
			if err != nil {
				t.Fatal(err)
			}
			if job.Status != engine.JobPartial || !strings.Contains(job.LastError, tt.want) {
				t.Errorf("job %s (%q), want partial naming the folder", job.Status, job.LastError)
			}
			// The next pass, with the fault gone, completes the job.
			res = f.run(t, nil)
			if res.Err != nil || len(res.FailedFolders) != 0 {
				t.Fatalf("next pass: err %v, failed folders %d", res.Err, len(res.FailedFolders))
			}
			f.assertExactCopy(t, mailbox.ScopePrimary)
		})
	}
}

// TestOneOwnerPerJob: two processes copy the same job at once (two store
// handles on one state file). One copies; the other refuses, naming the
// owner, and writes nothing. Before leases this duplicated items.
func TestOneOwnerPerJob(t *testing.T) {
	f := newFixture(t)
	f.seed(t, mailbox.ScopePrimary, "Inbox", 60, mailbox.ClassMessage)
	path := filepath.Join(t.TempDir(), "shared.db")
	results := make([]*engine.MailboxResult, 2)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range results {
		st, err := state.Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			// A slow source keeps the first run busy (60 × 20 ms with one
			// worker) long after the second has asked.
			c := f.copier(st)
			c.Options.ItemWorkers = 1
			results[i] = c.Copy(context.Background(), key, slowSource{f.srcMB}, f.dstMB)
		}()
	}
	close(start)
	wg.Wait()
	var copied, refused int
	for _, r := range results {
		var le *engine.LeasedError
		switch {
		case r.Err == nil:
			copied++
		case errors.As(r.Err, &le):
			refused++
			if le.Holder.PID == 0 || le.Holder.Host == "" || !strings.Contains(le.Error(), "is being copied by process") {
				t.Errorf("the refusal does not name the owner: %v", le)
			}
			if r.ItemsCopied != 0 {
				t.Errorf("the refused run copied %d items", r.ItemsCopied)
			}
		default:
			t.Errorf("unexpected result: %v", r.Err)
		}
	}
	if copied != 1 || refused != 1 {
		t.Fatalf("%d copied, %d refused; want one of each", copied, refused)
	}
	if n := results[0].ItemsCopied + results[1].ItemsCopied; n != 60 {
		t.Errorf("%d items copied by the two runs together, want 60", n)
	}
	f.assertExactCopy(t, mailbox.ScopePrimary)
}

// lostLeaseStore loses the job's lease at the first renewal, as when
// another process took it over after this one stalled past its expiry.
type lostLeaseStore struct {
	engine.Store
	renewals chan struct{}
}

func (s *lostLeaseStore) RenewLease(ctx context.Context, l engine.Lease, ttl time.Duration) (engine.Lease, error) {
	select {
	case s.renewals <- struct{}{}:
	default:
	}
	return l, engine.ErrLeaseLost
}

// slowSource delays each content read so the pass outlives a renewal.
type slowSource struct{ *memory.Mailbox }

func (s slowSource) OpenItem(ctx context.Context, id string, f mailbox.Format) (io.ReadCloser, error) {
	select {
	case <-time.After(20 * time.Millisecond):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return s.Mailbox.OpenItem(ctx, id, f)
}

// ReadBatch is slowed as much per item as OpenItem: the engine reads
// through it whenever the source can batch (memory.Mailbox can), and
// without it the pass ended in milliseconds, before a second copier of the
// same job had asked for the lease, so both copied (CI saw this once).
func (s slowSource) ReadBatch(ctx context.Context, items []mailbox.Item, format mailbox.Format, fn func(mailbox.Item, io.Reader, error) error) error {
	select {
	case <-time.After(time.Duration(len(items)) * 20 * time.Millisecond):
	case <-ctx.Done():
		return ctx.Err()
	}
	return s.Mailbox.ReadBatch(ctx, items, format, fn)
}

func TestLostLeaseStopsTheRun(t *testing.T) {
	f := newFixture(t)
	f.seed(t, mailbox.ScopePrimary, "Inbox", 200, mailbox.ClassMessage)
	st := &lostLeaseStore{Store: f.store, renewals: make(chan struct{}, 1)}
	c := f.copier(st)
	c.LeaseTTL = 90 * time.Millisecond
	c.Options.ItemWorkers = 1
	res := c.Copy(context.Background(), key, slowSource{f.srcMB}, f.dstMB)
	if !errors.Is(res.Err, engine.ErrLeaseLost) {
		t.Fatalf("err %v, want ErrLeaseLost", res.Err)
	}
	if res.ItemsCopied >= 200 {
		t.Errorf("the run copied all %d items after losing its lease", res.ItemsCopied)
	}
	t.Logf("stopped after %d items", res.ItemsCopied)
}

// TestLeaseOfAKilledProcessIsTakenOver: a process of this machine killed
// while it held the job (kill -9) no longer exists; the next run takes the
// job over at once instead of waiting for the lease to expire. A holder
// that still exists is waited for.
func TestLeaseOfAKilledProcessIsTakenOver(t *testing.T) {
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Skipf("cannot start a process to stand for a dead one: %v", err)
	}
	host, _ := os.Hostname()
	for _, tt := range []struct {
		name string
		pid  int
		want bool // taken over
	}{
		{"holder gone", dead.ProcessState.Pid(), true},
		{"holder alive", os.Getppid(), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.seed(t, mailbox.ScopePrimary, "Inbox", 5, mailbox.ClassMessage)
			job, err := f.store.Job(context.Background(), key)
			if err != nil {
				t.Fatal(err)
			}
			holder := engine.Owner{Token: "killed-run", Host: host, PID: tt.pid, Since: time.Now()}
			if _, err := f.store.AcquireLease(context.Background(), job.ID, holder, time.Hour); err != nil {
				t.Fatal(err)
			}
			res := f.run(t, nil)
			var le *engine.LeasedError
			switch {
			case tt.want && res.Err != nil:
				t.Fatalf("a dead holder's lease was not taken over: %v", res.Err)
			case !tt.want && !errors.As(res.Err, &le):
				t.Fatalf("a live holder's lease was taken: %v (copied %d)", res.Err, res.ItemsCopied)
			}
		})
	}
}

// TestDryRunPredictsSkips: a dry run names the skips the copy that follows
// makes (the target's declared size limit, max_item_size), with the same
// reasons, and the copy does not send the refused item at all.
func TestDryRunPredictsSkips(t *testing.T) {
	caps := memory.DefaultCapabilities()
	caps.MaxItemBytes = 400
	f := newFixture(t, memory.WithCapabilities(caps))
	f.seed(t, mailbox.ScopePrimary, "Inbox", 4, mailbox.ClassMessage)
	inbox := mustFolder(t, f.srcMB, "Inbox")
	f.srcMB.Seed(inbox, mailbox.Item{Class: mailbox.ClassMessage, Subject: "over the target's limit"}, []byte(strings.Repeat("x", 500)))
	f.srcMB.Seed(inbox, mailbox.Item{Class: mailbox.ClassMessage, Subject: "over max_item_size"}, []byte(strings.Repeat("y", 300)))
	f.opts.MaxItemBytes = 250
	f.opts.DryRun = true
	plan := f.run(t, nil)
	f.opts.DryRun = false
	res := f.run(t, nil)
	if plan.Err != nil || res.Err != nil {
		t.Fatal(plan.Err, res.Err)
	}
	if plan.Skipped != 2 || res.Skipped != 2 || plan.ItemsCopied != res.ItemsCopied {
		t.Fatalf("dry run: %d to copy, %d skipped %v; copy: %d copied, %d skipped %v", plan.ItemsCopied, plan.Skipped, plan.SkipReasons,
			res.ItemsCopied, res.Skipped, res.SkipReasons)
	}
	for reason, n := range res.SkipReasons {
		if plan.SkipReasons[reason] != n {
			t.Errorf("the copy skipped %d for %q, the dry run predicted %d", n, reason, plan.SkipReasons[reason])
		}
	}
	if c := f.dst.Calls(memory.OpCreateItem); c != 4 {
		t.Errorf("%d creates: the items over the limits were sent to the target", c)
	}
}

// TestDeletionsAtTheSourceAreCounted: deletions are not carried over; the
// state remembers which copied items left the source, per folder, so that
// the reconciliation can tell them from duplicates in every later pass.
//
// The same holds for deletions made while the sync state was lost (it
// expired, so the next pass reads the folder again from scratch and the
// service no longer reports what left it): the resync finds them missing.
func TestDeletionsAtTheSourceAreCounted(t *testing.T) {
	for _, expire := range []bool{false, true} {
		t.Run(fmt.Sprintf("sync state expired %v", expire), func(t *testing.T) {
			f := newFixture(t)
			ids := f.seed(t, mailbox.ScopePrimary, "Inbox", 10, mailbox.ClassMessage)
			if res := f.run(t, nil); res.Err != nil {
				t.Fatal(res.Err)
			}
			for _, id := range ids[:3] {
				if err := f.srcMB.Delete(id); err != nil {
					t.Fatal(err)
				}
			}
			if expire {
				f.src.ExpireSyncStates()
			}
			for pass := range 2 { // the count holds in later passes too
				res := f.run(t, nil)
				if res.Err != nil {
					t.Fatal(res.Err)
				}
				var inbox *engine.FolderResult
				for i := range res.Folders {
					if res.Folders[i].SourcePath == "Inbox" {
						inbox = &res.Folders[i]
					}
				}
				if inbox == nil || inbox.SourceCount != 7 || inbox.TargetCount != 10 || inbox.DeletedAtSource != 3 {
					t.Fatalf("pass %d: Inbox %+v; want source 7, target 10, 3 deleted at the source", pass, inbox)
				}
			}
			if n := len(f.targetItems(t, mailbox.ScopePrimary)["Inbox"]); n != 10 {
				t.Errorf("the target holds %d; deletions must not be carried over", n)
			}
		})
	}
}

// cancelAfter cancels a context after n items were written to the target.
type cancelAfter struct {
	*memory.Mailbox
	n      int
	cancel context.CancelFunc
	mu     sync.Mutex
}

func (c *cancelAfter) CreateItem(ctx context.Context, folderID string, p mailbox.Payload) (string, error) {
	id, err := c.Mailbox.CreateItem(ctx, folderID, p)
	c.mu.Lock()
	if c.n--; c.n == 0 {
		c.cancel()
	}
	c.mu.Unlock()
	return id, err
}

// TestInterruptedPassReportsTrueCounts: after Ctrl-C the folders begun
// carry what source and target hold, not a target of 0.
func TestInterruptedPassReportsTrueCounts(t *testing.T) {
	f := newFixture(t)
	f.seed(t, mailbox.ScopePrimary, "Inbox", 50, mailbox.ClassMessage)
	f.opts.ItemWorkers = 1
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dst := &cancelAfter{Mailbox: f.dstMB, n: 20, cancel: cancel}
	res := f.copier(f.store).Copy(ctx, key, f.srcMB, dst)
	if !errors.Is(res.Err, context.Canceled) {
		t.Fatalf("err %v, want the interruption", res.Err)
	}
	onTarget := len(f.targetItems(t, mailbox.ScopePrimary)["Inbox"])
	for _, fr := range res.Folders {
		if fr.SourcePath != "Inbox" {
			continue
		}
		if fr.SourceCount != 50 || fr.TargetCount != int64(onTarget) || onTarget < 20 {
			t.Fatalf("Inbox after the interruption: source %d, target %d; the target holds %d", fr.SourceCount, fr.TargetCount, onTarget)
		}
		return
	}
	t.Fatal("the interrupted folder is not in the result")
}

// dropOutcomes writes to an audit file as a process would that is killed
// after each write it was told to lose and before that write's outcome
// line: the started line is there, the outcome is not.
type dropOutcomes struct {
	engine.FileAuditor
	lose func(engine.AuditEvent) bool
}

func (d dropOutcomes) Record(ctx context.Context, e engine.AuditEvent) error {
	if e.Outcome != audit.OutcomeStarted && d.lose(e) {
		return nil
	}
	return d.FileAuditor.Record(ctx, e)
}

// TestKilledWritesConfirmed: writes whose process died before their
// outcome line (started line only) are recorded by the next run, which
// finds them on the target, as item.create and folder.create ok lines
// with a note, not as adoptions; the rest of what it finds is adopted.
// Each write then has exactly one ok line, and the pass writes nothing.
func TestKilledWritesConfirmed(t *testing.T) {
	f := newFixture(t)
	inbox := f.seed(t, mailbox.ScopePrimary, "Inbox", 10, mailbox.ClassMessage)
	f.seed(t, mailbox.ScopePrimary, "Inbox/Projects", 5, mailbox.ClassMessage)
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l, err := audit.Open(path, "svc")
	if err != nil {
		t.Fatal(err)
	}
	lost := map[string]bool{engine.SourceID(key, inbox[3]): true, engine.SourceID(key, inbox[7]): true}
	first := &engine.Copier{Store: f.store, Options: f.opts, Audit: dropOutcomes{engine.FileAuditor{Log: l}, func(e engine.AuditEvent) bool {
		return lost[e.SourceID] || (e.Action == audit.ActionFolderCreate && e.Object == "Inbox/Projects")
	}}}
	if res := first.Copy(context.Background(), key, f.srcMB, f.dstMB); res.Err != nil || res.ItemsCopied != 15 {
		t.Fatalf("first pass: copied %d, err %v", res.ItemsCopied, res.Err)
	}
	l.Close()

	// The next run: a new process (the log opened again) with a new state.
	l, err = audit.Open(path, "svc")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	fresh, err := state.Open(context.Background(), filepath.Join(t.TempDir(), "new.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	writes := f.dst.Writes()
	second := &engine.Copier{Store: fresh, Options: f.opts, Audit: engine.FileAuditor{Log: l}}
	res := second.Copy(context.Background(), key, f.srcMB, f.dstMB)
	if res.Err != nil || res.ItemsCopied != 0 || res.Adopted != 15 {
		t.Fatalf("second pass: copied %d, adopted %d, err %v; want 0 and 15", res.ItemsCopied, res.Adopted, res.Err)
	}
	if got := f.dst.Writes() - writes; got != 0 {
		t.Errorf("second pass made %d writes, want 0", got)
	}

	okCreates := map[string]int{}
	var confirmed, adopted, folderOK, folderConfirmed, started int
	file, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	err = audit.Read(file, func(e audit.Entry) error {
		switch {
		case e.Outcome == audit.OutcomeStarted:
			started++
		case e.Action == audit.ActionItemCreate && e.Outcome == audit.OutcomeOK:
			okCreates[e.SourceID]++
			if e.Note != "" {
				confirmed++
				if !lost[e.SourceID] || e.TargetID == "" {
					t.Errorf("confirmation of %s (target id %q), which was not lost", e.SourceID, e.TargetID)
				}
			}
		case e.Action == audit.ActionItemAdopt:
			adopted++
			if lost[e.SourceID] {
				t.Errorf("a write whose line was lost is adopted, not confirmed: %s", e.SourceID)
			}
		case e.Action == audit.ActionFolderCreate && e.Outcome == audit.OutcomeOK:
			folderOK++
			if e.Note != "" {
				folderConfirmed++
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, ids := range f.sourceInFolder {
		for _, id := range ids {
			if sid := engine.SourceID(key, id); okCreates[sid] != 1 {
				t.Errorf("item %s has %d item.create ok lines, want 1", sid, okCreates[sid])
			}
		}
	}
	if confirmed != 2 || adopted != 13 || folderOK != 1 || folderConfirmed != 1 || started != 16 {
		t.Errorf("confirmed %d, adopted %d, folder.create ok %d (confirmed %d), started lines %d; want 2, 13, 1 (1), 16",
			confirmed, adopted, folderOK, folderConfirmed, started)
	}
}

// TestReadFailuresAreNotWrites: a source read that fails is no write, so
// it has no item.create line (neither started nor error): a cancelled or
// failing read ends the pass with the item pending, an item gone from the
// source is an item.skip only. The next pass copies the rest once.
func TestReadFailuresAreNotWrites(t *testing.T) {
	tests := []struct {
		name  string
		err   error
		skips int
	}{
		{"cancelled", context.Canceled, 0},
		{"source unavailable", fmt.Errorf("EWS answered 503 six times: %w", mailbox.ErrUnavailable), 0},
		{"gone from the source", fmt.Errorf("ErrorItemNotFound: %w", mailbox.ErrNotFound), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.opts.ItemWorkers, f.opts.Attempts = 1, 1
			f.seed(t, mailbox.ScopePrimary, "Inbox", 5, mailbox.ClassMessage)
			f.src.Inject(memory.Fault{Op: memory.OpOpenItem, Err: tt.err})
			f.run(t, nil)
			started, ok := f.audit.count(audit.ActionItemCreate, audit.OutcomeStarted), f.audit.count(audit.ActionItemCreate, audit.OutcomeOK)
			if n := f.audit.countAction(audit.ActionItemCreate); started != ok || n != started+ok {
				t.Errorf("item.create lines: %d started, %d ok, %d in all; want a started and an ok line for each item written, nothing else", started, ok, n)
			}
			if n := f.audit.count(audit.ActionItemSkip, audit.OutcomeSkipped); n != tt.skips {
				t.Errorf("%d item.skip lines, want %d", n, tt.skips)
			}
			res := f.run(t, nil)
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			if n := f.audit.count(audit.ActionItemCreate, audit.OutcomeOK); n != 5-tt.skips {
				t.Errorf("after the next pass %d item.create ok lines, want %d", n, 5-tt.skips)
			}
		})
	}
}

// TestReadStateOnlyForMail: contacts are copied through their route, and a
// change of an item's read flag (which EWS reports for any item) is not
// carried for them: Graph has no read flag on a contact to set.
func TestReadStateOnlyForMail(t *testing.T) {
	f := newFixture(t)
	ids := f.seed(t, mailbox.ScopePrimary, "Contacts", 5, mailbox.ClassContact)
	res := f.run(t, nil)
	if res.Err != nil || res.ItemsCopied != 5 {
		t.Fatalf("first pass: copied %d, err %v", res.ItemsCopied, res.Err)
	}
	if err := f.srcMB.SetRead(context.Background(), ids[1], !(1%2 == 0)); err != nil {
		t.Fatal(err)
	}
	writes := f.dst.Writes()
	res = f.run(t, nil)
	if res.Err != nil || res.ReadUpdates != 0 || f.dst.Writes() != writes {
		t.Fatalf("second pass: read updates %d, writes %d, err %v; want none", res.ReadUpdates, f.dst.Writes()-writes, res.Err)
	}
}

// TestRecoverableItemsIntoAFolder: Recoverable Items, which no service
// documents a way to write into, go into a folder of the target's primary
// mailbox on request, tree kept, once.
func TestRecoverableItemsIntoAFolder(t *testing.T) {
	f := newFixture(t)
	f.seed(t, mailbox.ScopePrimary, "Inbox", 2, mailbox.ClassMessage)
	f.seed(t, mailbox.ScopeRecoverable, "Deletions", 4, mailbox.ClassMessage)
	f.seed(t, mailbox.ScopeRecoverable, "Purges", 2, mailbox.ClassMessage)
	f.opts.Stores = []mailbox.Scope{mailbox.ScopePrimary, mailbox.ScopeRecoverable}
	f.opts.StoreInto = map[mailbox.Scope]engine.StoreTarget{mailbox.ScopeRecoverable: {Store: mailbox.ScopePrimary, Folder: "Recoverable Items (migrated)"}}
	res := f.run(t, nil)
	if res.Err != nil || res.ItemsCopied != 8 || len(res.Gaps) != 0 {
		t.Fatalf("err %v, copied %d, gaps %v; want 8 and none", res.Err, res.ItemsCopied, res.Gaps)
	}
	prim := f.targetItems(t, mailbox.ScopePrimary)
	if len(prim["Recoverable Items (migrated)/Deletions"]) != 4 || len(prim["Recoverable Items (migrated)/Purges"]) != 2 || len(prim["Inbox"]) != 2 {
		t.Errorf("target primary: Deletions %d, Purges %d, Inbox %d; want 4, 2, 2", len(prim["Recoverable Items (migrated)/Deletions"]),
			len(prim["Recoverable Items (migrated)/Purges"]), len(prim["Inbox"]))
	}
	for path, items := range f.targetItems(t, mailbox.ScopeRecoverable) {
		if len(items) > 0 {
			t.Errorf("the target's own Recoverable Items were written: %s holds %d", path, len(items))
		}
	}
	if !strings.Contains(res.Paths, "recoverable/mail=mime") {
		t.Errorf("paths %q do not say how Recoverable Items move", res.Paths)
	}
	writes := f.dst.Writes()
	if res := f.run(t, nil); res.Err != nil || res.ItemsCopied != 0 || f.dst.Writes() != writes {
		t.Errorf("second pass: err %v, copied %d, %d writes; want nothing", res.Err, res.ItemsCopied, f.dst.Writes()-writes)
	}
}

// noArchive is a mailbox without an online archive: its archive store
// answers not found, as both adapters do.
type noArchive struct{ *memory.Mailbox }

func (m noArchive) Folders(ctx context.Context, scope mailbox.Scope) ([]mailbox.Folder, error) {
	if scope == mailbox.ScopeArchive {
		return nil, fmt.Errorf("no archive: %w", mailbox.ErrNotFound)
	}
	return m.Mailbox.Folders(ctx, scope)
}

// TestMailboxWithoutArchive: asking for the archive of a mailbox that has
// none copies the rest; a target without one while the source has one is
// a gap that names it, not a failed mailbox.
func TestMailboxWithoutArchive(t *testing.T) {
	for _, tt := range []struct {
		name        string
		srcHas      bool
		wantGap     bool
		wantCopied  int64
		wantInGapOf string
	}{
		{"source without archive", false, false, 2, ""},
		{"target without archive", true, true, 2, key.TargetAddress},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.seed(t, mailbox.ScopePrimary, "Inbox", 2, mailbox.ClassMessage)
			f.seed(t, mailbox.ScopeArchive, "Old", 3, mailbox.ClassMessage)
			var src mailbox.Source = noArchive{f.srcMB}
			var dst mailbox.Target = f.dstMB
			if tt.srcHas {
				src, dst = f.srcMB, noArchive{f.dstMB}
			}
			f.opts.Stores = []mailbox.Scope{mailbox.ScopePrimary, mailbox.ScopeArchive}
			res := f.copier(f.store).Copy(context.Background(), key, src, dst)
			if res.Err != nil || res.ItemsCopied != tt.wantCopied {
				t.Fatalf("err %v, copied %d; want %d", res.Err, res.ItemsCopied, tt.wantCopied)
			}
			if got := len(res.Gaps) > 0; got != tt.wantGap {
				t.Fatalf("gaps %+v, want a gap: %v", res.Gaps, tt.wantGap)
			}
			if tt.wantGap && !strings.Contains(res.Gaps[0].Reason, tt.wantInGapOf) {
				t.Errorf("gap %q does not name %s", res.Gaps[0].Reason, tt.wantInGapOf)
			}
		})
	}
}
