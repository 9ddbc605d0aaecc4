package graphmail_test

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/graphmail/graphtest"
	"github.com/exmigrate/exmigrate/mailbox"
)

// BenchmarkCreate2000 writes 2,000 messages into one mailbox from 16
// goroutines against the fake with Graph's real limits (4 in flight,
// 10,000 requests per 10 minutes, 150 MB per 5 minutes), with no added
// latency and with 50 ms of processing per request (closer to Exchange
// Online). It reports messages/s and the fraction of each budget used.
//
//	go test ./graphmail -run XXX -bench Create2000 -benchtime 1x -benchmem
func BenchmarkCreate2000(b *testing.B) {
	for _, latency := range []time.Duration{0, 50 * time.Millisecond} {
		b.Run(fmt.Sprintf("latency=%v", latency), func(b *testing.B) {
			const total, workers = 2000, 16
			raw := mimeMessage("benchmark", "<bench@x.example>", time.Now())
			var elapsed time.Duration
			var reqs int
			var upload int64
			var l *lab
			for range b.N {
				b.StopTimer()
				l = newLab(b, graphtest.WithLatency(latency))
				fx := l.srv.AddMailbox(alice, mailbox.TypeUser)
				mb := l.c.Mailbox(alice)
				inbox := fx.FolderID("Inbox")
				var next atomic.Int64
				var failed atomic.Int64
				var wg sync.WaitGroup
				b.StartTimer()
				start := time.Now()
				for range workers {
					wg.Go(func() {
						for {
							i := next.Add(1)
							if i > total {
								return
							}
							_, err := mb.CreateMessage(ctxT(b), inbox, mailbox.Message{
								Item: mailbox.Item{IsRead: i%2 == 0, Received: time.Now()}, SourceID: fmt.Sprint("bench-", i),
								MIME: strings.NewReader(raw), Size: int64(len(raw)),
							})
							if err != nil {
								failed.Add(1)
							}
						}
					})
				}
				wg.Wait()
				elapsed += time.Since(start)
				b.StopTimer()
				if failed.Load() > 0 {
					b.Fatalf("%d creates failed", failed.Load())
				}
				if n := len(fx.Messages("Inbox")); n != total {
					b.Fatalf("%d messages stored", n)
				}
				reqs, upload = l.srv.UsedBudget(clientID, alice)
				if l.srv.MaxInFlightSeen(alice) > 4 || l.srv.Throttled() != 0 {
					b.Fatalf("max in flight %d, %d 429s", l.srv.MaxInFlightSeen(alice), l.srv.Throttled())
				}
				b.StartTimer()
			}
			lim := graphtest.DefaultLimits()
			b.ReportMetric(float64(total*b.N)/elapsed.Seconds(), "msgs/s")
			b.ReportMetric(float64(reqs)/float64(lim.RequestsPerWindow), "req-budget-used")
			b.ReportMetric(float64(upload)/float64(lim.UploadBytesPerWindow), "upload-budget-used")
			b.ReportMetric(float64(l.srv.MaxInFlightSeen(alice)), "max-in-flight")
		})
	}
}
