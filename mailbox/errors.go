package mailbox

import (
	"context"
	"errors"
	"fmt"
	"time"
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
	// ErrWouldSend: the side cannot do this without making the service
	// send a message to someone (a cancellation, an update); it did not.
	ErrWouldSend = errors.New("would make the service send a message")
	// ErrThrottled: the service kept asking to slow down and the adapter,
	// which owns retries after throttling answers, ran out of patience.
	// Nothing above the adapter retries it again.
	ErrThrottled = errors.New("throttled by the service")
	// ErrUnavailable: the service did not answer (connections refused or
	// dropped, 5xx) through all of the adapter's own retries. Not the
	// item's fault, so never a skip; not retried above the adapter either:
	// the job fails and the next run resumes it.
	ErrUnavailable = errors.New("service unavailable")
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
	var p *PermanentError
	return errors.Is(err, ErrItemRejected) || errors.Is(err, ErrNotFound) || errors.As(err, &p)
}

// PermanentError marks an answer that no retry can change: an HTTP 400, a
// schema fault, a refused redirect, an HTML or unparseable answer. Adapters
// wrap such errors with Permanent so the engine neither retries them nor
// mistakes them for a dropped connection.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent marks err as permanent; nil stays nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &PermanentError{Err: err}
}

// RetryableError marks an error that the adapter did not retry itself (a
// write whose answer was lost, which only the engine can retry safely,
// because it looks the stamp up first) and that may succeed after After.
type RetryableError struct {
	Err   error
	After time.Duration // how long the server asked to wait; 0 when it did not say
}

func (e *RetryableError) Error() string { return e.Err.Error() }
func (e *RetryableError) Unwrap() error { return e.Err }

// Retryable marks err as retryable by the caller after the given delay.
func Retryable(err error, after time.Duration) error {
	if err == nil {
		return nil
	}
	return &RetryableError{Err: err, After: after}
}

// ShouldRetry is the one retry decision above the adapters: whether the
// operation that failed with err may be tried again, and after how long at
// least. Adapters retry the throttling answers of their protocol themselves
// (so ErrThrottled is final here); what they mark permanent, and every
// sentinel that states a fact about the mailbox, is never retried. An error
// nobody classified (a dropped connection, a reset) is retried: the engine
// looks up the stamp before it writes again, so a retry never duplicates.
func ShouldRetry(err error) (retry bool, after time.Duration) {
	if err == nil || errors.Is(err, context.Canceled) {
		return false, 0
	}
	var p *PermanentError
	if errors.As(err, &p) {
		return false, 0
	}
	for _, final := range []error{ErrThrottled, ErrUnavailable, ErrItemRejected, ErrNotFound, ErrSyncStateInvalid,
		ErrAuthentication, ErrAccessDenied, ErrMailboxNotFound, ErrNotOnThisSide, ErrQuotaExceeded,
		ErrUnsupported} {
		if errors.Is(err, final) {
			return false, 0
		}
	}
	var r *RetryableError
	if errors.As(err, &r) {
		return true, r.After
	}
	return true, 0
}
