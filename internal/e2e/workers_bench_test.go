package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/exmigrate/exmigrate/internal/state/pgstore/pgtest"
)

// BenchmarkWorkers copies N on-prem mailboxes of 100 small messages each
// into the cloud through the queue, with 1, 2 and 4 exmigrate worker
// processes (each --concurrency 4) against one PostgreSQL state and one
// lab process, and reports the aggregate messages per second for each
// worker count: where it stops growing is where the machine (or the
// database) is the limit, not the workers.
//
//	EXMIGRATE_TEST_POSTGRES_URL=... go test -run XXX -bench BenchmarkWorkers -benchtime 1x ./internal/e2e
//
// EXMIGRATE_BENCH_MAILBOXES sets N (default 200); EXMIGRATE_BENCH_LATENCY
// the lab's latency per request (default 5ms: a fast LAN server; Exchange
// Online answers in tens of milliseconds, where more workers gain more).
func BenchmarkWorkers(b *testing.B) {
	n := 200
	if v := os.Getenv("EXMIGRATE_BENCH_MAILBOXES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			b.Fatalf("EXMIGRATE_BENCH_MAILBOXES=%q: a number of mailboxes", v)
		}
	}
	latency := "5ms"
	if v := os.Getenv("EXMIGRATE_BENCH_LATENCY"); v != "" {
		latency = v
	}
	pgtest.ServerURL(b)       // skip at once without a server
	bin := exmigrateBinary(b) // built before any timing
	for _, workers := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			var items int64
			var elapsed time.Duration
			for range b.N {
				b.StopTimer()
				dbURL := pgtest.NewDatabase(b)
				dir := b.TempDir()
				scenario := filepath.Join(dir, "many.yaml")
				if err := os.WriteFile(scenario, []byte(manyScenario(n, 70, 30)), 0o600); err != nil {
					b.Fatal(err)
				}
				stopLab := startLabProcess(b, bin, dir, scenario, "--latency", latency)
				f := &workerFleet{t: b, bin: bin, dbURL: dbURL, dir: dir, cfg: filepath.Join(dir, "workers.yaml")}
				pgConfig(b, filepath.Join(dir, "config.yaml"), f.cfg, dbURL)
				if code, out, errOut := runBinary(b, "copy", "--enqueue", "--config", f.cfg, "--mailboxes", filepath.Join(dir, "wave1.csv"), "--stores", "primary"); code != 0 {
					b.Fatalf("copy --enqueue: exit %d\n%s\n%s", code, out, errOut)
				}
				conn, err := pgx.Connect(context.Background(), dbURL)
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				t0 := time.Now()
				for i := range workers {
					f.start(i, "--concurrency", "4")
				}
				for {
					all, done := riverJobs(b, conn)
					if all == n && done == n {
						break
					}
					for _, w := range f.workers {
						select {
						case <-w.done:
							data, _ := os.ReadFile(w.log)
							b.Fatalf("a worker exited (%v) with %d of %d jobs done:\n%s", w.err, done, all, tail(string(data)))
						default:
						}
					}
					time.Sleep(20 * time.Millisecond)
				}
				took := time.Since(t0)
				b.StopTimer()
				for _, w := range f.workers {
					w.stop(b)
				}
				conn.Close(context.Background())
				stopLab()
				items += int64(n) * 100
				elapsed += took
				b.StartTimer()
			}
			b.ReportMetric(float64(items)/elapsed.Seconds(), "msgs/s")
		})
	}
}
