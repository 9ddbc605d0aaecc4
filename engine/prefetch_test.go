package engine_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/exmigrate/exmigrate/engine"
	"github.com/exmigrate/exmigrate/mailbox"
	"github.com/exmigrate/exmigrate/mailbox/memory"
)

// TestSmallItemsReadInBatches: from a source that reads many items in one
// request, the small items of each page are read in one batch, a large one
// alone; a batch the service refuses as a whole is read item by item, and
// the copy is exact either way.
func TestSmallItemsReadInBatches(t *testing.T) {
	for _, failFirst := range []bool{false, true} {
		t.Run(fmt.Sprintf("first batch fails %v", failFirst), func(t *testing.T) {
			f := newFixture(t)
			f.seed(t, mailbox.ScopePrimary, "Inbox", 40, mailbox.ClassMessage)
			big := bytes.Repeat([]byte("x"), 600<<10)
			inbox := mustFolder(t, f.srcMB, "Inbox")
			id := f.srcMB.Seed(inbox, mailbox.Item{Class: mailbox.ClassMessage, Subject: "big"}, append([]byte("Subject: big\r\n\r\n"), big...))
			f.sourceInFolder["Inbox"] = append(f.sourceInFolder["Inbox"], id)
			f.sourceItems++
			if failFirst {
				f.src.Inject(memory.Fault{Op: memory.OpReadBatch, Err: mailbox.Permanent(errors.New("ErrorInvalidRequest for the batch"))})
			}
			res := f.run(t, nil)
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			f.assertExactCopy(t, mailbox.ScopePrimary)
			// 41 items in pages of 7: six pages of small items, one batch each.
			if n := f.src.Calls(memory.OpReadBatch); n != 6 {
				t.Errorf("%d batch reads for 40 small items in 6 pages, want 6", n)
			}
			// Each item is read once (in its batch, or alone: the large
			// one, and those of a failed batch); a failed batch costs
			// nothing more.
			if n := f.src.Calls(memory.OpOpenItem); n != 41 {
				t.Errorf("%d item reads for 41 items, want 41", n)
			}
		})
	}
}

// noBatch hides a source's batch reads: its ReadBatch of another
// signature shadows the embedded one, so it is no mailbox.BatchReader.
type noBatch struct{ *memory.Mailbox }

func (n noBatch) ReadBatch() {}

var _ mailbox.Source = noBatch{}

// TestNoBatchReaderReadsItemsAlone: a source without batch reads is read
// one item at a time, as before.
func TestNoBatchReaderReadsItemsAlone(t *testing.T) {
	f := newFixture(t)
	f.seed(t, mailbox.ScopePrimary, "Inbox", 10, mailbox.ClassMessage)
	res := f.copier(f.store).Copy(context.Background(), key, noBatch{f.srcMB}, f.dstMB)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	f.assertExactCopy(t, mailbox.ScopePrimary)
	if n := f.src.Calls(memory.OpReadBatch); n != 0 {
		t.Errorf("%d batch reads from a source without them", n)
	}
}

// TestBatchReadServiceFailureFailsOnce: a batch read that fails because the
// service is unavailable (after the client's own retries) fails the
// mailbox at once; its items are not read again one by one, which would
// only wait as long again for each.
func TestBatchReadServiceFailureFailsOnce(t *testing.T) {
	f := newFixture(t)
	f.seed(t, mailbox.ScopePrimary, "Inbox", 6, mailbox.ClassMessage)
	f.src.Inject(memory.Fault{Op: memory.OpReadBatch, Err: fmt.Errorf("EWS answered 503 six times: %w", mailbox.ErrUnavailable)})
	res := f.run(t, nil)
	if !errors.Is(res.Err, mailbox.ErrUnavailable) {
		t.Fatalf("err = %v, want unavailable", res.Err)
	}
	if n := f.src.Calls(memory.OpOpenItem); n != 0 {
		t.Errorf("%d items read alone after the service failed the batch", n)
	}
	if res := f.run(t, nil); res.Err != nil || res.ItemsCopied != 6 {
		t.Errorf("the next pass: %v, %d copied", res.Err, res.ItemsCopied)
	}
}

// countingStore counts the item record reads.
type countingStore struct {
	engine.Store
	reads atomic.Int64
}

func (s *countingStore) Item(ctx context.Context, jobID int64, sourceID string) (engine.ItemRecord, bool, error) {
	s.reads.Add(1)
	return s.Store.Item(ctx, jobID, sourceID)
}

// TestBatchPlanningReadsEachRecordOnce: the records read to plan a page's
// batches are the ones its workers use; no item's record is read twice.
func TestBatchPlanningReadsEachRecordOnce(t *testing.T) {
	f := newFixture(t)
	f.seed(t, mailbox.ScopePrimary, "Inbox", 30, mailbox.ClassMessage)
	cs := &countingStore{Store: f.store}
	if res := f.run(t, cs); res.Err != nil {
		t.Fatal(res.Err)
	}
	f.assertExactCopy(t, mailbox.ScopePrimary)
	if n := cs.reads.Load(); n != 30 {
		t.Errorf("%d item record reads for 30 new items, want 30", n)
	}
}
