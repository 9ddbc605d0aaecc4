package mailbox

import "context"

// SideWrite is a write a side makes on its own inside one of the
// contract's calls, which the caller did not ask for by name: the removal
// of an incomplete copy before an item is written again, the clean-up of a
// write that failed half-way. The engine puts each one on record.
type SideWrite struct {
	Action   string // e.g. "item.delete-incomplete"
	ItemID   string // the item written or removed
	SourceID string // the stamp concerned
	Err      error  // nil when it succeeded
	// Started marks the report made before the write is sent, so that it
	// is on record even if the process dies before it ends; the report of
	// its outcome follows.
	Started bool
}

// SideWriteDeleteIncomplete: an incomplete copy was removed.
const SideWriteDeleteIncomplete = "item.delete-incomplete"

type observerKey struct{}

// WithSideWrites returns a context whose calls report their side writes to
// fn; fn must be safe for concurrent use.
func WithSideWrites(ctx context.Context, fn func(SideWrite)) context.Context {
	return context.WithValue(ctx, observerKey{}, fn)
}

// ReportSideWrite tells the caller of the current call about a side write;
// without an observer it does nothing.
func ReportSideWrite(ctx context.Context, w SideWrite) {
	if fn, ok := ctx.Value(observerKey{}).(func(SideWrite)); ok && fn != nil {
		fn(w)
	}
}
