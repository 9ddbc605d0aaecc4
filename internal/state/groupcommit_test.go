package state

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/exmigrate/exmigrate/engine"
	"github.com/exmigrate/exmigrate/mailbox"
)

// TestGroupWithABadRecord: when one record of a group cannot be written
// (its job does not exist), the others are still committed and only its
// caller is told, with the error PutItem gives alone.
func TestGroupWithABadRecord(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	job := newJob(t, s, onboard)
	group := make([]itemWrite, 0, 5)
	for i := range 5 {
		rec := engine.ItemRecord{JobID: job, SourceID: fmt.Sprintf("i%d", i), SourceFolderID: "f", Outcome: engine.ItemPending}
		if i == 2 {
			rec.JobID = job + 100
		}
		group = append(group, itemWrite{ctx: ctx, rec: rec, err: make(chan error, 1)})
	}
	s.commitGroup(group)
	for i, w := range group {
		err := <-w.err
		if i == 2 {
			if !errors.Is(err, mailbox.ErrNotFound) {
				t.Errorf("record of a missing job: err = %v, want ErrNotFound", err)
			}
			continue
		}
		if err != nil {
			t.Errorf("record %d: %v", i, err)
		}
		if _, ok, err := s.Item(ctx, job, w.rec.SourceID); err != nil || !ok {
			t.Errorf("record %d not committed: ok=%v err=%v", i, ok, err)
		}
	}
}

// TestGroupCommitUnderLoad: many writers at once all get their records
// committed, and the writer does group them (one transaction for several
// callers), which is what makes the engine's two records per item cheap.
func TestGroupCommitUnderLoad(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	job := newJob(t, s, onboard)
	const writers, each = 32, 40
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				rec := engine.ItemRecord{JobID: job, SourceID: fmt.Sprintf("w%d-%d", w, i), SourceFolderID: "f", Outcome: engine.ItemPending}
				if err := s.PutItem(ctx, rec); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	pending, err := s.PendingItems(ctx, job, "f")
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != writers*each {
		t.Fatalf("%d records committed, want %d", len(pending), writers*each)
	}
	if g := s.items.grouped.Load(); g == 0 {
		t.Errorf("no group of more than one record was committed by %d concurrent writers", writers)
	}
}

// TestCloseWhileWriting: Close during writes ends with every call either
// committed or failed with ErrStoreClosed, never hanging.
func TestCloseWhileWriting(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t)
	job := newJob(t, s, onboard)
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := map[string]bool{}
	for w := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				id := fmt.Sprintf("w%d-%d", w, i)
				err := s.PutItem(ctx, engine.ItemRecord{JobID: job, SourceID: id, SourceFolderID: "f", Outcome: engine.ItemPending})
				if errors.Is(err, engine.ErrStoreClosed) {
					return
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				ok[id] = true
				mu.Unlock()
			}
		})
	}
	for n := 0; n < 50; {
		// let the writers get going
		mu.Lock()
		n = len(ok)
		mu.Unlock()
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	r, err := OpenReadOnly(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	pending, err := r.PendingItems(ctx, job, "f")
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, p := range pending {
		have[p.SourceID] = true
	}
	for id := range ok {
		if !have[id] {
			t.Errorf("%s was reported committed but is not in the file", id)
		}
	}
}
