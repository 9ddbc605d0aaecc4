package mailbox

import (
	"errors"
	"fmt"
)

// Sentinel errors that the protocol packages' typed errors match with
// errors.Is, so that the engines decide without knowing the protocol.
var (
	// ErrNotFound: the item or folder does not exist (any more).
	ErrNotFound = errors.New("not found")
	// ErrMailboxNotFound: no such mailbox on that side.
	ErrMailboxNotFound = errors.New("mailbox not found")
	// ErrNotOnThisSide: the user exists but the mailbox lives on the other
	// side of the hybrid (Graph's MailboxNotEnabledForRESTAPI).
	ErrNotOnThisSide = errors.New("mailbox is not hosted on this side")
	// ErrAccessDenied: the account lacks a permission or role.
	ErrAccessDenied = errors.New("access denied")
	// ErrAuthentication: the credentials were refused.
	ErrAuthentication = errors.New("authentication failed")
	// ErrSyncStateInvalid: the sync state or delta link is no longer valid;
	// the caller restarts the sync from the empty state.
	ErrSyncStateInvalid = errors.New("sync state is no longer valid")
	// ErrItemRejected: the target refused this item for good (corrupt
	// content, a limit of the target); retrying will not help.
	ErrItemRejected = errors.New("item rejected by the target")
	// ErrQuotaExceeded: the target mailbox is full.
	ErrQuotaExceeded = errors.New("mailbox quota exceeded")
	// ErrMailboxBusy: the mailbox is being moved or is locked; try later.
	ErrMailboxBusy = errors.New("mailbox is busy")
	// ErrUnsupported: this side's protocol cannot reach the thing at all
	// (Graph v1.0 and an online archive); nothing is wrong with access.
	ErrUnsupported = errors.New("not supported by this side")
)

// ItemTooLargeError reports an item over a size limit. It matches
// ErrItemRejected: too large is permanent.
type ItemTooLargeError struct {
	Size  int64
	Limit int64
}

func (e *ItemTooLargeError) Error() string {
	return fmt.Sprintf("item of %d bytes is over the limit of %d bytes", e.Size, e.Limit)
}

// Is makes errors.Is(err, ErrItemRejected) true for a too-large item.
func (e *ItemTooLargeError) Is(target error) bool { return target == ErrItemRejected }

// IsPermanent reports whether retrying an operation that failed with err can
// never succeed, so the copy engine skips the item instead of retrying.
func IsPermanent(err error) bool {
	return errors.Is(err, ErrItemRejected) || errors.Is(err, ErrNotFound)
}
