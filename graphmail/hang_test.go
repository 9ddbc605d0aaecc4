package graphmail_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/graphmail"
	"github.com/exmigrate/exmigrate/graphmail/graphtest"
	"github.com/exmigrate/exmigrate/mailbox"
)

// TestHungServerIsUnavailable: a Graph that accepts requests and never
// answers fails each after the transport's answer timeout, and after the
// scheduler's retries the caller gets ErrUnavailable instead of waiting for
// ever. graphmail's own transport sets that timeout (ResponseHeaderTimeout);
// here a lab client with the same setting, shortened, stands for it.
func TestHungServerIsUnavailable(t *testing.T) {
	if graphmail.ResponseHeaderTimeout <= 0 || graphmail.ResponseHeaderTimeout > 5*time.Minute {
		t.Fatalf("ResponseHeaderTimeout %v: a hung server must fail within minutes", graphmail.ResponseHeaderTimeout)
	}
	l := newLab(t)
	l.srv.AddMailbox(alice, mailbox.TypeUser)
	tr := l.ep.Client.Transport.(*http.Transport).Clone()
	tr.ResponseHeaderTimeout = 150 * time.Millisecond
	c := l.client(t, func(c *graphmail.Config) {
		c.HTTPClient = &http.Client{Transport: tr}
		c.Limits.MaxBackoff = 20 * time.Millisecond
	})
	mb := c.Mailbox(alice)
	inbox, err := mb.Folders(ctxT(t), mailbox.ScopePrimary) // token and folders first, answered
	if err != nil {
		t.Fatal(err)
	}
	l.srv.Inject(graphtest.Fault{Kind: graphtest.FaultLatency, Latency: time.Minute, Count: 1000, Path: "/delta"})
	start := time.Now()
	_, err = mb.Changes(context.Background(), inbox[1].ID, "")
	took := time.Since(start)
	if !errors.Is(err, mailbox.ErrUnavailable) {
		t.Fatalf("a hung server: %v, want ErrUnavailable", err)
	}
	if took > 10*time.Second {
		t.Errorf("gave up after %v", took)
	}
	t.Logf("gave up after %v: %v", took, err)
}
