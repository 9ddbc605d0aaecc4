package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/dispatch"
	"github.com/exmigrate/exmigrate/graphmail"
	"github.com/exmigrate/exmigrate/graphmail/graphtest"
	"github.com/exmigrate/exmigrate/internal/backend"
	"github.com/exmigrate/exmigrate/internal/csvinput"
	"github.com/exmigrate/exmigrate/internal/lab"
	"github.com/exmigrate/exmigrate/mailbox"
)

// TestCreateRetriedAfterLostAnswer loses the answer to a message creation
// that Graph did carry out: the client gives up waiting for the response
// headers and drops the connection, and the fake, like a real server that
// already took the request, still stores the message. The engine retries
// the transient failure; it must find its stamp on the target instead of
// writing the message a second time.
func TestCreateRetriedAfterLostAnswer(t *testing.T) {
	e := startLab(t, mustScenario(t, `
domain: contoso.com
cloud_domain: contoso.onmicrosoft.com
seed: 8
mailboxes:
  - address: lena@contoso.com
    location: onprem
    folders: {Inbox: 6}
`), lab.Options{})
	const src, dst = "lena@contoso.com", "lena@contoso.onmicrosoft.com"

	// The real Graph client, with a transport that waits at most 500 ms
	// for response headers (a proxy's or a load balancer's timeout).
	gc := e.graphClient(t, func(tr *http.Transport, _ *graphmail.Config) { tr.ResponseHeaderTimeout = 500 * time.Millisecond })
	sides := &backend.Sides{EWS: e.sides.EWS, Graph: gc}
	e.disp = sides.Dispatcher(e.log)

	// The first message creation is held for 1 s: the client gives up
	// after 500 ms, the fake then stores the message anyway. The engine's
	// first retry comes 2 to 4 s after the failure (backoff 4 s with
	// jitter), so its stamp lookup comes after the store. (It used a 2 s
	// hold with a backoff capped at 2 s by testOptions: 1 to 2 s, so a
	// loaded CI run once looked the stamp up before the fake stored it and
	// wrote the message twice: the test measured the server's timing.)
	e.lab.Graph.Inject(graphtest.Fault{Kind: graphtest.FaultLatency, Method: http.MethodPost, Path: "/messages", Count: 1, Latency: time.Second})
	opts := testOptions()
	opts.ItemWorkers = 1 // one write at a time, so the held one is the only one in flight
	opts.BackoffBase, opts.BackoffMax = 4*time.Second, 4*time.Second
	res := e.copyOnce(t, csvinput.Entry{Address: src, Target: dst, Location: mailbox.LocationOnPrem}, dispatch.Onboarding, opts)
	if res.ItemsCopied+res.Healed != 6 {
		t.Errorf("copied %d, healed %d; want 6 in all", res.ItemsCopied, res.Healed)
	}
	if e.lab.Graph.PendingFaults() != 0 {
		t.Fatal("the held creation never happened: the test proves nothing")
	}
	compareFolder(t, "Inbox", e.ewsView(t, src, "Inbox"), e.graphView(t, dst, "Inbox"))
}
