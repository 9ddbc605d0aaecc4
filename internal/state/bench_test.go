package state

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/exmigrate/exmigrate/engine"
)

// benchItem is a record of realistic size: EWS ids are ~150 characters.
func benchItem(job int64, n int64, outcome string) engine.ItemRecord {
	id := strconv.FormatInt(n, 10)
	r := engine.ItemRecord{JobID: job, SourceID: "src" + id + strings.Repeat("x", 60),
		SourceItemID: "AAMkAGI2" + id + strings.Repeat("A", 140), SourceFolderID: "AAMkAGI2-inbox" + strings.Repeat("F", 130),
		SizeBytes: 48_000, Outcome: outcome}
	if outcome == engine.ItemCopied {
		r.TargetItemID = "AQMkADAw" + id + strings.Repeat("B", 140)
	}
	return r
}

func benchStore(b *testing.B, nread int) (*SQLite, int64) {
	s, err := open(context.Background(), filepath.Join(b.TempDir(), "state.db"), nread)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s, newJob(b, s, onboard)
}

func reportRate(b *testing.B, items int) {
	b.ReportMetric(float64(items)/b.Elapsed().Seconds(), "items/s")
}

// BenchmarkPutItem measures one PutItem of a new record, one at a time and
// from 8 goroutines at once (the engine's workers of two mailboxes).
func BenchmarkPutItem(b *testing.B) {
	ctx := context.Background()
	b.Run("sequential", func(b *testing.B) {
		s, job := benchStore(b, readers)
		b.ReportAllocs()
		for i := range b.N {
			if err := s.PutItem(ctx, benchItem(job, int64(i), engine.ItemPending)); err != nil {
				b.Fatal(err)
			}
		}
		reportRate(b, b.N)
	})
	b.Run("parallel", func(b *testing.B) {
		s, job := benchStore(b, readers)
		var n atomic.Int64
		b.ReportAllocs()
		b.SetParallelism(4) // 4 x GOMAXPROCS goroutines
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := s.PutItem(ctx, benchItem(job, n.Add(1), engine.ItemPending)); err != nil {
					b.Error(err)
					return
				}
			}
		})
		reportRate(b, b.N)
	})
}

// BenchmarkItemLifecycle is what the engine does per item: look it up,
// record it pending, record it copied. It compares the read pool against
// reads sharing the single write connection.
func BenchmarkItemLifecycle(b *testing.B) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		nread int
	}{{"readpool", readers}, {"onedb", 0}} {
		b.Run(tc.name, func(b *testing.B) {
			s, job := benchStore(b, tc.nread)
			var n atomic.Int64
			b.ReportAllocs()
			b.SetParallelism(4)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1)
					rec := benchItem(job, i, engine.ItemPending)
					if _, _, err := s.Item(ctx, job, rec.SourceID); err != nil {
						b.Error(err)
						return
					}
					if err := s.PutItem(ctx, rec); err != nil {
						b.Error(err)
						return
					}
					if err := s.PutItem(ctx, benchItem(job, i, engine.ItemCopied)); err != nil {
						b.Error(err)
						return
					}
				}
			})
			reportRate(b, b.N)
		})
	}
}

// BenchmarkPutItemBesideCounts writes while a report sums a 50,000-item job
// over and over: the case the read pool is for, since with one connection
// every write would queue behind each scan.
func BenchmarkPutItemBesideCounts(b *testing.B) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		nread int
	}{{"readpool", readers}, {"onedb", 0}} {
		b.Run(tc.name, func(b *testing.B) {
			s, job := benchStore(b, tc.nread)
			tx, err := s.write.BeginTx(ctx, nil)
			if err != nil {
				b.Fatal(err)
			}
			for i := range 50_000 {
				r := benchItem(job, int64(-1-i), engine.ItemCopied)
				if _, err := tx.ExecContext(ctx, sqlPutItem, putItemArgs(r)...); err != nil {
					b.Fatal(err)
				}
			}
			if err := tx.Commit(); err != nil {
				b.Fatal(err)
			}
			stop := make(chan struct{})
			done := make(chan struct{})
			go func() {
				defer close(done)
				for {
					select {
					case <-stop:
						return
					default:
					}
					if _, err := s.Counts(ctx, job); err != nil {
						b.Error(err)
						return
					}
				}
			}()
			b.ResetTimer()
			b.ReportAllocs()
			for i := range b.N {
				if err := s.PutItem(ctx, benchItem(job, int64(i), engine.ItemPending)); err != nil {
					b.Fatal(err)
				}
			}
			reportRate(b, b.N)
			b.StopTimer()
			close(stop)
			<-done
		})
	}
}
