package engine_test

import (
	"context"
	"regexp"
	"sync"
	"testing"

	"github.com/exmigrate/exmigrate/engine"
	"github.com/exmigrate/exmigrate/mailbox"
)

// countingProgress sums what the engine reports, by mailbox.
type countingProgress struct {
	mu                      sync.Mutex
	planned, done, skipped  map[engine.JobKey]int64
	plannedBytes, doneBytes int64
}

func newCountingProgress() *countingProgress {
	return &countingProgress{planned: map[engine.JobKey]int64{}, done: map[engine.JobKey]int64{}, skipped: map[engine.JobKey]int64{}}
}

func (p *countingProgress) Planned(k engine.JobKey, items, bytes int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.planned[k] += items
	p.plannedBytes += bytes
}

func (p *countingProgress) ItemDone(k engine.JobKey, bytes int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done[k]++
	p.doneBytes += bytes
}

func (p *countingProgress) ItemSkipped(k engine.JobKey, _ int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.skipped[k]++
}

// TestPlanIsWhatThePassCopies: Plan gives, before anything moves and
// without writing, the items the pass then copies (excluded folders left
// out), the pass reports the same plan once, and after the pass nothing is
// left to plan.
func TestPlanIsWhatThePassCopies(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.seed(t, mailbox.ScopePrimary, "Inbox", 30, mailbox.ClassMessage)
	f.seed(t, mailbox.ScopePrimary, "Inbox/Projects", 12, mailbox.ClassMessage)
	f.seed(t, mailbox.ScopePrimary, "Junk", 5, mailbox.ClassMessage)
	f.opts.ExcludeFolders = []*regexp.Regexp{regexp.MustCompile(`^Junk$`)}
	c := f.copier(f.store)
	writes := f.dst.Writes()
	plan, err := c.Plan(ctx, key, f.srcMB, f.dstMB)
	if err != nil {
		t.Fatal(err)
	}
	if plan.Items != 42 {
		t.Errorf("planned %d items, want 42 (Junk excluded)", plan.Items)
	}
	if f.dst.Writes() != writes {
		t.Errorf("Plan wrote %d times to the target", f.dst.Writes()-writes)
	}
	p := newCountingProgress()
	c.Progress = p
	res := c.Copy(ctx, key, f.srcMB, f.dstMB)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if p.planned[key] != plan.Items || p.done[key] != res.ItemsCopied || res.ItemsCopied != 42 {
		t.Errorf("progress planned %d, done %d, copied %d; want the plan (%d) = done = copied", p.planned[key], p.done[key], res.ItemsCopied, plan.Items)
	}
	if p.doneBytes != res.BytesCopied {
		t.Errorf("progress bytes %d, copied bytes %d", p.doneBytes, res.BytesCopied)
	}
	again, err := c.Plan(ctx, key, f.srcMB, f.dstMB)
	if err != nil || again.Items != 0 {
		t.Errorf("after the pass: planned %d items (err %v), want 0", again.Items, err)
	}
	f.seed(t, mailbox.ScopePrimary, "Inbox", 4, mailbox.ClassMessage)
	if delta, err := c.Plan(ctx, key, f.srcMB, f.dstMB); err != nil || delta.Items != 4 {
		t.Errorf("after 4 new items: planned %d (err %v), want 4", delta.Items, err)
	}
}

// TestPlanOfTwoStoresCountsTheStateOnce: what the state records is taken
// off the whole mailbox's plan once, not once per store.
func TestPlanOfTwoStoresCountsTheStateOnce(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.seed(t, mailbox.ScopePrimary, "Inbox", 10, mailbox.ClassMessage)
	f.seed(t, mailbox.ScopeArchive, "Old", 6, mailbox.ClassMessage)
	f.opts.Stores = []mailbox.Scope{mailbox.ScopePrimary, mailbox.ScopeArchive}
	c := f.copier(f.store)
	if res := c.Copy(ctx, key, f.srcMB, f.dstMB); res.Err != nil {
		t.Fatal(res.Err)
	}
	f.seed(t, mailbox.ScopePrimary, "Inbox", 3, mailbox.ClassMessage)
	f.seed(t, mailbox.ScopeArchive, "Old", 2, mailbox.ClassMessage)
	plan, err := c.Plan(ctx, key, f.srcMB, f.dstMB)
	if err != nil || plan.Items != 5 {
		t.Errorf("planned %d (err %v), want 5 new items over both stores", plan.Items, err)
	}
	p := newCountingProgress()
	c.Progress = p
	if res := c.Copy(ctx, key, f.srcMB, f.dstMB); res.Err != nil || res.ItemsCopied != 5 {
		t.Fatalf("second pass: copied %d, err %v", res.ItemsCopied, res.Err)
	}
	if p.planned[key] != 5 {
		t.Errorf("the pass told the progress %d planned items, want 5", p.planned[key])
	}
}

// TestCompletedJobIsLeftAlone: a job finalize signed off is neither planned
// nor copied again, even with new mail at the source, until reopened.
func TestCompletedJobIsLeftAlone(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.seed(t, mailbox.ScopePrimary, "Inbox", 5, mailbox.ClassMessage)
	c := f.copier(f.store)
	if res := c.Copy(ctx, key, f.srcMB, f.dstMB); res.Err != nil {
		t.Fatal(res.Err)
	}
	job, err := f.store.Job(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	job.Status = engine.JobCompleted
	if err := f.store.PutJob(ctx, job); err != nil {
		t.Fatal(err)
	}
	f.seed(t, mailbox.ScopePrimary, "Inbox", 3, mailbox.ClassMessage)
	writes := f.dst.Writes()
	if p, err := c.Plan(ctx, key, f.srcMB, f.dstMB); err != nil || p.Items != 0 {
		t.Errorf("a completed job planned %d items (err %v), want 0", p.Items, err)
	}
	res := c.Copy(ctx, key, f.srcMB, f.dstMB)
	if res.Err != nil || !res.Completed || res.ItemsCopied != 0 || f.dst.Writes() != writes {
		t.Fatalf("a completed job: err %v completed %v copied %d writes %d; want it left alone", res.Err, res.Completed, res.ItemsCopied, f.dst.Writes()-writes)
	}
	if j, _ := f.store.Job(ctx, key); j.Status != engine.JobCompleted {
		t.Errorf("status %q after a pass, want it still completed", j.Status)
	}
	c.Options.Reopen = true
	res = c.Copy(ctx, key, f.srcMB, f.dstMB)
	if res.Err != nil || res.ItemsCopied != 3 {
		t.Fatalf("reopened: err %v copied %d, want the 3 new items", res.Err, res.ItemsCopied)
	}
	if j, _ := f.store.Job(ctx, key); j.Status != engine.JobDone {
		t.Errorf("status %q after a reopened pass, want done", j.Status)
	}
}
