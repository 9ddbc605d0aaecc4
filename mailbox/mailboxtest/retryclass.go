package mailboxtest

import (
	"errors"
	"testing"

	"github.com/exmigrate/exmigrate/mailbox"
)

// RetryClass is what the one retry decision must make of an adapter's
// error; the adapters' failure tests assert it with CheckRetryClass.
type RetryClass int

// Retry classes.
const (
	Permanent    RetryClass = iota // IsPermanent, ShouldRetry false
	Throttled                      // ErrThrottled, ShouldRetry false
	Retryable                      // *mailbox.RetryableError, ShouldRetry true
	Unclassified                   // none of these: ShouldRetry true, the engine's call
)

// CheckRetryClass fails t when err is not of class want.
func CheckRetryClass(t testing.TB, err error, want RetryClass) {
	t.Helper()
	retry, _ := mailbox.ShouldRetry(err)
	var re *mailbox.RetryableError
	switch want {
	case Permanent:
		if !mailbox.IsPermanent(err) || retry || errors.Is(err, mailbox.ErrThrottled) {
			t.Errorf("err = %v: IsPermanent %v, ShouldRetry %v; want permanent, not retried", err, mailbox.IsPermanent(err), retry)
		}
	case Throttled:
		if !errors.Is(err, mailbox.ErrThrottled) || retry || mailbox.IsPermanent(err) {
			t.Errorf("err = %v: ErrThrottled %v, ShouldRetry %v; want ErrThrottled, not retried", err, errors.Is(err, mailbox.ErrThrottled), retry)
		}
	case Retryable:
		if !errors.As(err, &re) || !retry || mailbox.IsPermanent(err) {
			t.Errorf("err = %v: ShouldRetry %v; want a *mailbox.RetryableError", err, retry)
		}
	case Unclassified:
		if errors.As(err, &re) || !retry || mailbox.IsPermanent(err) || errors.Is(err, mailbox.ErrThrottled) {
			t.Errorf("err = %v: ShouldRetry %v; want an error left to the engine", err, retry)
		}
	}
}
