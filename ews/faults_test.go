package ews_test

import (
	"context"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/ews"
	"github.com/exmigrate/exmigrate/ews/ewstest"
	"github.com/exmigrate/exmigrate/mailbox"
)

func listInbox(ctx context.Context, e *env, c *ews.Client) (int, error) {
	n := 0
	err := c.Mailbox(testMailbox).Items(ctx, e.mb.Root("inbox").ID(), func(mailbox.Item) error { n++; return nil })
	return n, err
}

func TestInjectedFaults(t *testing.T) {
	for _, tc := range []struct {
		name     string
		fault    ewstest.Fault
		minWait  time.Duration
		requests int64
		prime    bool // authenticate the connection first, so the fault hits an authenticated request
	}{
		{"server busy honours BackOffMilliseconds", ewstest.Fault{Op: "FindItem", Kind: ewstest.FaultServerBusy, BackOff: 300 * time.Millisecond}, 300 * time.Millisecond, 2, false},
		{"server busy twice", ewstest.Fault{Op: "FindItem", Kind: ewstest.FaultServerBusy, BackOff: 50 * time.Millisecond, Times: 2}, 100 * time.Millisecond, 3, false},
		{"HTTP 503 backs off", ewstest.Fault{Op: "FindItem", Kind: ewstest.FaultHTTP503, Times: 2}, 0, 3, false},
		{"dropped connection during the handshake is retried", ewstest.Fault{Op: "FindItem", Kind: ewstest.FaultDrop}, 0, 2, false},
		{"dropped authenticated connection is retried", ewstest.Fault{Op: "FindItem", Kind: ewstest.FaultDrop}, 0, 2, true},
		{"503 with Retry-After", ewstest.Fault{Op: "FindItem", Kind: ewstest.FaultHTTP503, BackOff: 400 * time.Millisecond}, 400 * time.Millisecond, 2, false},
		{"503 on an authenticated connection", ewstest.Fault{Op: "FindItem", Kind: ewstest.FaultHTTP503}, 0, 2, true},
		{"slow response", ewstest.Fault{Op: "FindItem", Kind: ewstest.FaultDelay, Delay: 100 * time.Millisecond}, 100 * time.Millisecond, 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.mb.Root("inbox").AddItem(ewstest.Item{MIME: mime("one", 10)})
			if tc.prime {
				if err := e.c.Check(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			e.srv.Inject(tc.fault)
			start := time.Now()
			n, err := listInbox(context.Background(), e, e.c)
			if err != nil || n != 1 {
				t.Fatalf("Items = %d, %v", n, err)
			}
			if d := time.Since(start); d < tc.minWait {
				t.Errorf("finished after %v, expected to wait at least %v", d, tc.minWait)
			}
			if got := e.srv.Requests("FindItem"); got != tc.requests {
				t.Errorf("FindItem requests = %d, want %d", got, tc.requests)
			}
		})
	}
}

func TestBackOffTooLongIsAnError(t *testing.T) {
	e := newEnv(t)
	e.srv.Inject(ewstest.Fault{Kind: ewstest.FaultServerBusy, BackOff: time.Hour})
	c := e.client(t, func(cfg *ews.Config) { cfg.MaxBackOff = time.Minute })
	start := time.Now()
	_, err := listInbox(context.Background(), e, c)
	var re *ews.ResponseError
	if !errors.As(err, &re) || re.Code != "ErrorServerBusy" || re.BackOff != time.Hour {
		t.Fatalf("err = %v", err)
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("waited %v before giving up", time.Since(start))
	}
}

func TestWaitsRespectContext(t *testing.T) {
	e := newEnv(t)
	e.srv.Inject(ewstest.Fault{Kind: ewstest.FaultServerBusy, BackOff: 30 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := listInbox(ctx, e, e.c)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("cancellation took %v", d)
	}
	// A slow server is cut off by the context too.
	e.srv.Inject(ewstest.Fault{Kind: ewstest.FaultDelay, Delay: 30 * time.Second})
	ctx2, cancel2 := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel2()
	if _, err := listInbox(ctx2, e, e.c); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("slow response: err = %v", err)
	}
}

func TestWritesAreNotRetriedAfterADrop(t *testing.T) {
	e := newEnv(t)
	box := e.c.Mailbox(testMailbox)
	// Prime the connection so the drop hits an authenticated request.
	if _, err := listInbox(context.Background(), e, e.c); err != nil {
		t.Fatal(err)
	}
	e.srv.Inject(ewstest.Fault{Op: "CreateFolder", Kind: ewstest.FaultDrop})
	_, err := box.CreateFolder(context.Background(), e.mb.Root("inbox").ID(), "X", "IPF.Note")
	if err == nil {
		t.Fatal("CreateFolder succeeded through a dropped connection")
	}
	if got := e.srv.Requests("CreateFolder"); got != 1 {
		t.Errorf("CreateFolder sent %d times; a write of unknown outcome must not be resent blindly", got)
	}
}

func TestConcurrencyLimitLowersClient(t *testing.T) {
	e := newEnv(t, ewstest.WithMaxConcurrency(3), ewstest.WithLatency(30*time.Millisecond))
	for i := range 20 {
		e.mb.Root("inbox").AddItem(ewstest.Item{MIME: mime("m", 100+i)})
	}
	c := e.client(t, func(cfg *ews.Config) { cfg.MaxConcurrency = 8 })
	var ids []string
	if err := c.Mailbox(testMailbox).Items(context.Background(), e.mb.Root("inbox").ID(), func(it mailbox.Item) error {
		ids = append(ids, it.ID)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(ids))
	for _, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rc, err := c.Mailbox(testMailbox).OpenMIME(context.Background(), id)
			if err != nil {
				errs <- err
				return
			}
			_, err = io.Copy(io.Discard, rc)
			rc.Close()
			if err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("OpenMIME: %v", err)
	}
	if got := c.Concurrency(); got > 3 || got < 1 {
		t.Errorf("client concurrency = %d after ErrorExceededConnectionCount, want 1..3", got)
	}
}

func TestPrefixStyles(t *testing.T) {
	for _, style := range []ewstest.PrefixStyle{ewstest.StylePrefixed, ewstest.StyleDefault, ewstest.StyleOdd} {
		t.Run(style.String(), func(t *testing.T) {
			resp := &recorder{}
			e := newEnv(t, ewstest.WithPrefixStyle(style), ewstest.WithResponseRecorder(resp.record))
			exerciseAll(t, e, e.c) // every operation parses in this style
			box := e.c.Mailbox(testMailbox)
			ctx := context.Background()
			rules, err := box.Rules(ctx)
			if err != nil || len(rules) != 1 || rules[0].Name != "Move newsletters" || !rules[0].Actions.StopProcessingRules {
				t.Errorf("rules = %+v, %v", rules, err)
			}
			d, err := box.Delegates(ctx)
			if err != nil || len(d) != 1 || d[0].Permissions["Calendar"] != "Editor" {
				t.Errorf("delegates = %+v, %v", d, err)
			}
			h, err := box.Holds(ctx)
			if err != nil || len(h) != 1 || h[0].ID != "hold-1" {
				t.Errorf("holds = %+v, %v", h, err)
			}
			// Faults parse in every style too.
			e.srv.Inject(ewstest.Fault{Kind: ewstest.FaultCode, Code: "ErrorAccessDenied"})
			if _, err := box.Rules(ctx); !errors.Is(err, mailbox.ErrAccessDenied) {
				t.Errorf("error in style %v: %v", style, err)
			}
			e.srv.Inject(ewstest.Fault{Kind: ewstest.FaultServerBusy, BackOff: time.Millisecond})
			if _, err := box.Rules(ctx); err != nil {
				t.Errorf("server busy in style %v: %v", style, err)
			}
			validateWithXmllint(t, "responses in style "+style.String(), resp.reqs)
		})
	}
}
