package engine_test

import (
	"errors"
	"testing"

	"github.com/exmigrate/exmigrate/mailbox"
	"github.com/exmigrate/exmigrate/mailbox/memory"
)

// TestSmallWritesCombined: into a target that writes many items in one
// request, the item workers' small MIME writes go in groups; a group whose
// answer is lost is looked up by stamp, item by item, and nothing is
// written twice.
func TestSmallWritesCombined(t *testing.T) {
	for _, lost := range []bool{false, true} {
		t.Run(map[bool]string{false: "answers", true: "a lost answer"}[lost], func(t *testing.T) {
			f := newFixture(t)
			f.opts.ItemWorkers = 6
			f.seed(t, mailbox.ScopePrimary, "Inbox", 60, mailbox.ClassMessage)
			if lost {
				f.dst.Inject(memory.Fault{Op: memory.OpCreateBatch, AfterWrite: true, Err: errors.New("connection reset by peer")})
			}
			res := f.run(t, nil)
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			f.assertExactCopy(t, mailbox.ScopePrimary)
			batches, creates := f.dst.Calls(memory.OpCreateBatch), f.dst.Calls(memory.OpCreateItem)
			if batches == 0 || batches >= 60 {
				t.Errorf("%d group writes for 60 items by 6 workers; want some, fewer than the items", batches)
			}
			if creates != 60 {
				t.Errorf("%d item writes for 60 items, want 60 (nothing twice)", creates)
			}
			t.Logf("60 items written in %d group requests", batches)
		})
	}
}
