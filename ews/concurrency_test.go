package ews_test

import (
	"context"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/ews"
	"github.com/exmigrate/exmigrate/ews/ewstest"
	"github.com/exmigrate/exmigrate/mailbox"
)

// TestAdaptiveConcurrency: the requests the client keeps in flight follow
// the server. Eight workers reach the configured eight; after a burst of
// overload answers (ErrorServerBusy with its back-off, HTTP 503,
// ErrorExceededConnectionCount) the client halves its limit once per
// burst and the fake sees at most about half as many at once; after a
// run of successes the limit climbs back to eight and the fake sees
// eight again.
func TestAdaptiveConcurrency(t *testing.T) {
	const workers = 8
	for _, c := range []struct {
		name  string
		fault ewstest.Fault
	}{
		{"ErrorServerBusy", ewstest.Fault{Kind: ewstest.FaultServerBusy, BackOff: 30 * time.Millisecond}},
		{"HTTP503", ewstest.Fault{Kind: ewstest.FaultHTTP503}},
		{"ErrorExceededConnectionCount", ewstest.Fault{Kind: ewstest.FaultCode, Code: "ErrorExceededConnectionCount"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, ewstest.WithLatency(20*time.Millisecond))
			for i := range 20 {
				e.mb.Root("inbox").AddItem(ewstest.Item{MIME: mime(fmt.Sprintf("m%d", i), 500)})
			}
			cl := e.client(t, func(cfg *ews.Config) { cfg.MaxConcurrency = workers })
			box := cl.Mailbox(testMailbox)
			ctx := context.Background()
			var ids []string
			if err := box.Items(ctx, "inbox", func(it mailbox.Item) error { ids = append(ids, it.ID); return nil }); err != nil {
				t.Fatal(err)
			}
			// burst runs workers goroutines reading each items, and
			// returns the most requests the fake held at once.
			burst := func(each int) int {
				e.srv.ResetMaxInFlight()
				var wg sync.WaitGroup
				for w := range workers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for k := range each {
							rc, err := box.OpenItem(ctx, ids[(w*each+k)%len(ids)], mailbox.FormatMIME)
							if err != nil {
								t.Errorf("read: %v", err)
								return
							}
							io.Copy(io.Discard, rc)
							rc.Close()
						}
					}()
				}
				wg.Wait()
				return e.srv.MaxInFlight()
			}
			if got := burst(5); got != workers || cl.Concurrency() != workers {
				t.Fatalf("before any fault: the fake held %d at once, the client allows %d; want %d", got, cl.Concurrency(), workers)
			}
			f := c.fault
			f.Op, f.Times = "GetItem", workers
			e.srv.Inject(f)
			start := time.Now()
			burst(1) // every first attempt overloaded, every retry served
			if f.BackOff > 0 && time.Since(start) < f.BackOff {
				t.Errorf("the burst took %v, less than the server's back-off of %v", time.Since(start), f.BackOff)
			}
			if got := cl.Concurrency(); got != workers/2 {
				t.Errorf("after a burst of %d overload answers the client allows %d, want it halved once to %d", workers, got, workers/2)
			}
			if got := burst(1); got > workers/2+1 {
				t.Errorf("after the overload the fake held %d at once, want at most %d", got, workers/2+1)
			}
			burst(25) // a run of successes
			if got := burst(5); got != workers || cl.Concurrency() != workers {
				t.Errorf("after a run of successes: the fake held %d at once, the client allows %d; want %d again", got, cl.Concurrency(), workers)
			}
		})
	}
}

// TestBackOffHoldsTheClient: the wait ErrorServerBusy asks for
// (BackOffMilliseconds) holds every request of the client, not only the
// one it answered: another operation started during the wait reaches the
// server only after it.
func TestBackOffHoldsTheClient(t *testing.T) {
	const backOff = 400 * time.Millisecond
	e := newEnv(t)
	id := e.mb.Root("inbox").AddItem(ewstest.Item{MIME: mime("busy", 300)})
	box := e.c.Mailbox(testMailbox)
	ctx := context.Background()
	if _, err := box.Folders(ctx, mailbox.ScopePrimary); err != nil { // authenticated connections ready
		t.Fatal(err)
	}
	e.srv.Inject(ewstest.Fault{Op: "GetItem", Kind: ewstest.FaultServerBusy, BackOff: backOff})
	done := make(chan error, 1)
	go func() {
		rc, err := box.OpenItem(ctx, id, mailbox.FormatMIME)
		if err == nil {
			io.Copy(io.Discard, rc)
			rc.Close()
		}
		done <- err
	}()
	for e.srv.Requests("GetItem") == 0 {
		time.Sleep(time.Millisecond)
	}
	busy := time.Now()
	time.Sleep(50 * time.Millisecond) // the busy answer reaches the client
	before := e.srv.Requests("GetFolder") + e.srv.Requests("FindFolder")
	if _, err := box.Folders(ctx, mailbox.ScopePrimary); err != nil {
		t.Fatal(err)
	}
	if held := time.Since(busy); held < backOff*3/4 {
		t.Errorf("a listing started during the back-off was answered %v after ErrorServerBusy, want it held for about %v", held, backOff)
	}
	if e.srv.Requests("GetFolder")+e.srv.Requests("FindFolder") == before {
		t.Error("the listing sent nothing")
	}
	if err := <-done; err != nil {
		t.Errorf("the throttled read: %v, want it retried after the back-off", err)
	}
}
