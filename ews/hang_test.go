package ews_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/ews"
	"github.com/exmigrate/exmigrate/ews/ewstest"
	"github.com/exmigrate/exmigrate/mailbox"
)

// TestHungServerIsUnavailable: a server that accepts a request and never
// answers fails it after HTTPTimeout, and after the client's retries the
// caller gets ErrUnavailable (not retried above the client) instead of
// waiting for ever. Without a default timeout the copy hung.
func TestHungServerIsUnavailable(t *testing.T) {
	if ews.DefaultHTTPTimeout <= 0 || ews.DefaultHTTPTimeout > 5*time.Minute {
		t.Fatalf("DefaultHTTPTimeout %v: a hung server must fail within minutes", ews.DefaultHTTPTimeout)
	}
	e := newEnv(t)
	c := e.client(t, func(c *ews.Config) { c.HTTPTimeout = 150 * time.Millisecond })
	e.srv.Inject(ewstest.Fault{Op: "GetFolder", Kind: ewstest.FaultDelay, Delay: time.Minute, Times: -1})
	start := time.Now()
	_, err := c.Mailbox(testMailbox).Folders(context.Background(), mailbox.ScopePrimary)
	took := time.Since(start)
	if !errors.Is(err, mailbox.ErrUnavailable) {
		t.Fatalf("a hung server: %v, want ErrUnavailable", err)
	}
	if retry, _ := mailbox.ShouldRetry(err); retry {
		t.Error("ErrUnavailable is retried above the client")
	}
	// Six attempts of 150 ms plus the test client's short back-off.
	if took > 10*time.Second {
		t.Errorf("gave up after %v", took)
	}
	t.Logf("gave up after %v: %v", took, err)
}
