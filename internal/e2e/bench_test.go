package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/dispatch"
	"github.com/exmigrate/exmigrate/engine"
	"github.com/exmigrate/exmigrate/internal/csvinput"
	"github.com/exmigrate/exmigrate/internal/lab"
	"github.com/exmigrate/exmigrate/mailbox"
)

// 2,000 generated messages (plain, HTML, meeting requests, attachments of
// 2-32 KB) in nested folders.
const benchScenario = `
domain: contoso.com
cloud_domain: contoso.onmicrosoft.com
seed: 31
mailboxes:
  - address: bella@contoso.com
    location: onprem
    folders: {Inbox: 900, Sent Items: 500, Inbox/Projects: 300, Inbox/Projects/2024: 200, Customers: 100}
`

// BenchmarkCopyOnPremToCloud copies 2,000 messages on-prem to cloud through
// both fakes over HTTPS, with 20 ms added to every request and Graph's real
// per-mailbox limits (4 requests in flight, 10,000 requests per 10 minutes,
// 150 MB uploaded per 5 minutes). Each iteration copies into a fresh lab;
// only the copy pass is timed.
//
//	go test -run XXX -bench BenchmarkCopyOnPremToCloud -benchtime 1x -benchmem ./internal/e2e
func BenchmarkCopyOnPremToCloud(b *testing.B) {
	const (
		src = "bella@contoso.com"
		dst = "bella@contoso.onmicrosoft.com"
	)
	var items, bytes int64
	var elapsed time.Duration
	var reqsPer10Min, uploadPer5Min float64
	maxInFlight := 0
	for range b.N {
		b.StopTimer()
		e := startLab(b, mustScenario(b, benchScenario), lab.Options{Latency: 20 * time.Millisecond})
		route, err := e.disp.Locate(context.Background(), csvinput.Entry{Address: src, Target: dst, Location: mailbox.LocationOnPrem})
		if err != nil {
			b.Fatal(err)
		}
		s, d, key, err := e.disp.Open(route, dispatch.Onboarding)
		if err != nil {
			b.Fatal(err)
		}
		// The command's defaults: 4 items in flight per mailbox.
		c := &engine.Copier{Store: e.store, Audit: e.audit, Log: e.log,
			Options: engine.CopyOptions{MaxSkipped: -1, ItemWorkers: 4}}
		b.StartTimer()
		t0 := time.Now()
		res := c.Copy(context.Background(), key, s, d)
		took := time.Since(t0)
		b.StopTimer()
		if res.Err != nil || res.ItemsCopied != 2000 {
			b.Fatalf("copied %d items: %v", res.ItemsCopied, res.Err)
		}
		items += res.ItemsCopied
		bytes += res.BytesCopied
		elapsed += took
		reqs, up := e.lab.Graph.UsedBudget(lab.ClientID, dst)
		// Within one window every request of the run is still counted.
		reqsPer10Min += float64(reqs) * float64(10*time.Minute) / float64(took)
		uploadPer5Min += float64(up) * float64(5*time.Minute) / float64(took)
		maxInFlight = max(maxInFlight, e.lab.Graph.MaxInFlightSeen(dst))
		b.StartTimer()
	}
	n := float64(b.N)
	secs := elapsed.Seconds()
	b.ReportMetric(float64(items)/secs, "msgs/s")
	b.ReportMetric(float64(bytes)/1e6/secs, "MB/s")
	b.ReportMetric(reqsPer10Min/n, "graph-req/10min")
	b.ReportMetric(reqsPer10Min/n/10000, "frac-req-limit")
	b.ReportMetric(uploadPer5Min/n/float64(150<<20), "frac-upload-limit")
	b.ReportMetric(float64(maxInFlight), "max-in-flight")
	b.ReportMetric(float64(maxInFlight)/4, "frac-concurrency-limit")
}

// perItem hides a side's batch reads and writes: the copy as it was before
// them, one request per item read and per item written.
type perItemSource struct{ mailbox.Source }
type perItemTarget struct{ mailbox.Target }

// BenchmarkCopyOnPremToOnPrem copies the 2,000 messages of benchScenario
// from one Exchange mailbox into another (the offboarding and
// consolidation case: EWS on both sides) at 0 and 20 ms per request, with
// and without batch reads and writes, and reports messages per second and
// EWS requests per message. Each iteration copies into a fresh lab.
//
//	go test -run XXX -bench BenchmarkCopyOnPremToOnPrem -benchtime 1x -benchmem ./internal/e2e
func BenchmarkCopyOnPremToOnPrem(b *testing.B) {
	for _, latency := range []time.Duration{0, 20 * time.Millisecond} {
		for _, mode := range []struct {
			name    string
			batched bool
			workers int
		}{{"per-item", false, 4}, {"batched", true, 4}, {"batched-16-workers", true, 16}} {
			b.Run(fmt.Sprintf("latency=%v/%s", latency, mode.name), func(b *testing.B) {
				var items int64
				var elapsed time.Duration
				var requests int64
				for range b.N {
					b.StopTimer()
					e := startLab(b, mustScenario(b, benchScenario), lab.Options{Latency: latency})
					const src, dst = "bella@contoso.com", "bella.new@contoso.com"
					e.lab.EWS.AddMailbox(dst)
					route, err := e.disp.Locate(context.Background(), csvinput.Entry{Address: src, Target: dst, Location: mailbox.LocationOnPrem})
					if err != nil {
						b.Fatal(err)
					}
					s, d, key, err := e.disp.Open(route, dispatch.OnPremToOnPrem)
					if err != nil {
						b.Fatal(err)
					}
					var from mailbox.Source = s
					var to mailbox.Target = d
					if !mode.batched {
						from, to = perItemSource{s}, perItemTarget{d}
					}
					c := &engine.Copier{Store: e.store, Audit: e.audit, Log: e.log,
						Options: engine.CopyOptions{MaxSkipped: -1, ItemWorkers: mode.workers}}
					before := ewsRequests(e)
					b.StartTimer()
					t0 := time.Now()
					res := c.Copy(context.Background(), key, from, to)
					took := time.Since(t0)
					b.StopTimer()
					if res.Err != nil || res.ItemsCopied != 2000 {
						b.Fatalf("copied %d items: %v", res.ItemsCopied, res.Err)
					}
					items += res.ItemsCopied
					elapsed += took
					requests += ewsRequests(e) - before
					b.StartTimer()
				}
				b.ReportMetric(float64(items)/elapsed.Seconds(), "msgs/s")
				b.ReportMetric(float64(requests)/float64(items), "ews-req/msg")
			})
		}
	}
}

// ewsRequests sums the EWS fake's requests of the operations a copy sends.
func ewsRequests(e *env) int64 {
	var n int64
	for _, op := range []string{"GetItem", "CreateItem", "UpdateItem", "DeleteItem", "SyncFolderItems", "SyncFolderHierarchy", "FindItem",
		"FindFolder", "GetFolder", "CreateFolder", "ExportItems", "UploadItems", "MoveItem", "ResolveNames", "ConvertId"} {
		n += e.lab.EWS.Requests(op)
	}
	return n
}
