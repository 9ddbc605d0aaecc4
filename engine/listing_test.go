package engine_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/exmigrate/exmigrate/mailbox"
	"github.com/exmigrate/exmigrate/mailbox/memory"
)

// pagedListing is a source without incremental sync: each round lists a
// folder whole, three items a page, as Graph's calendars and EWS public
// folders do (ChangePage.Listing); failAt makes the call for that offset
// fail once, as a run stopped in the middle of a round.
type pagedListing struct {
	*memory.Mailbox
	failAt atomic.Int64
}

func (s *pagedListing) Changes(ctx context.Context, folderID, state string) (mailbox.ChangePage, error) {
	offset := 0
	if rest, ok := strings.CutPrefix(state, "at:"); ok {
		offset, _ = strconv.Atoi(rest)
	}
	if offset > 0 && s.failAt.CompareAndSwap(int64(offset), 0) {
		return mailbox.ChangePage{}, mailbox.Permanent(errors.New("the run stops here"))
	}
	var all []mailbox.Item
	if err := s.Items(ctx, folderID, func(it mailbox.Item) error { all = append(all, it); return nil }); err != nil {
		return mailbox.ChangePage{}, err
	}
	page := mailbox.ChangePage{Listing: true, Resumed: offset > 0, State: "done"}
	end := min(offset+3, len(all))
	for _, it := range all[offset:end] {
		page.Changes = append(page.Changes, mailbox.Change{Kind: mailbox.ChangeCreated, Item: it})
	}
	if end < len(all) {
		page.State, page.More = fmt.Sprintf("at:%d", end), true
	}
	return page, nil
}

// TestListingResumedMidRoundMarksNothingGone: a run that starts in the
// middle of a listing round (the last one stopped there) has not seen the
// round's first pages; it must not take their items for deleted at the
// source. The next whole round still finds a real deletion.
func TestListingResumedMidRoundMarksNothingGone(t *testing.T) {
	f := newFixture(t)
	ids := f.seed(t, mailbox.ScopePrimary, "Inbox", 8, mailbox.ClassMessage)
	src := &pagedListing{Mailbox: f.srcMB}
	run := func() {
		t.Helper()
		ctx := context.Background()
		if res := f.copier(f.store).Copy(ctx, key, src, f.dstMB); res.Err != nil && len(res.FailedFolders) == 0 {
			t.Fatal(res.Err)
		}
	}
	deleted := func() int64 {
		t.Helper()
		n, err := f.store.DeletedAtSource(context.Background(), 1, mustFolder(t, f.srcMB, "Inbox"))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	run() // a whole round: everything copied
	src.failAt.Store(6)
	run() // the next round stops after two pages
	run() // and this run resumes at the third page
	if n := deleted(); n != 0 {
		t.Fatalf("a run that resumed mid-round marked %d items deleted at the source; none is", n)
	}
	if err := f.srcMB.Delete(ids[0]); err != nil {
		t.Fatal(err)
	}
	run() // a whole round again
	if n := deleted(); n != 1 {
		t.Errorf("after a deletion and a whole round, %d items are marked deleted at the source, want 1", n)
	}
}
