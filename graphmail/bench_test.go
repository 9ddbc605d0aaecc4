package graphmail_test

import (
	"fmt"
	"runtime"
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

// BenchmarkCreate40MBAttachment writes one message with a 40 MB attachment
// (an upload session of 13 ranges) and reports the peak Go heap in use
// above the baseline during the write: the client streams the MIME and
// spools the attachment to disk, so the peak stays far below 40 MB. The
// fake keeps only digests, so the figure is the client's (plus the fake's
// one 3.2 MB range buffer per request in flight).
//
//	go test ./graphmail -run XXX -bench 40MB -benchtime 3x -benchmem
func BenchmarkCreate40MBAttachment(b *testing.B) {
	const size = 40 << 20
	l := newLab(b, graphtest.WithAttachmentDigestsOnly())
	fx := l.srv.AddMailbox(alice, mailbox.TypeUser)
	mb := l.c.Mailbox(alice)
	inbox := fx.FolderID("Inbox")
	want := digestOf(size, 4)
	var peak uint64
	b.SetBytes(size)
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		base := ms.HeapInuse
		done := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			t := time.NewTicker(5 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-done:
					return
				case <-t.C:
					var m runtime.MemStats
					runtime.ReadMemStats(&m)
					if m.HeapInuse > base && m.HeapInuse-base > peak {
						peak = m.HeapInuse - base
					}
				}
			}
		})
		b.StartTimer()
		id, err := mb.CreateMessage(ctxT(b), inbox, mailbox.Message{SourceID: fmt.Sprint("big-", i), MIME: attachmentMIME("forty.bin", size, 4), Size: -1})
		b.StopTimer()
		close(done)
		wg.Wait()
		if err != nil {
			b.Fatal(err)
		}
		if m, _ := fx.Message(id); len(m.Attachments) != 1 || m.Attachments[0].SHA256 != want {
			b.Fatal("attachment differs")
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
}
