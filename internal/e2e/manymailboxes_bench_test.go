package e2e

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// BenchmarkManyMailboxes copies N on-prem mailboxes of 100 small messages
// each into the cloud, 16 at a time, with the lab in one process and
// `exmigrate copy` in another, as an engineer runs them: the copy
// process's own CPU time and peak memory are the client's, not the
// fakes'. It reports messages per second, client CPU per message and the
// copy process's peak RSS.
//
//	go test -run XXX -bench BenchmarkManyMailboxes -benchtime 1x ./internal/e2e
func BenchmarkManyMailboxes(b *testing.B) {
	for _, n := range []int{50, 200} {
		b.Run(fmt.Sprintf("mailboxes=%d", n), func(b *testing.B) {
			bin := exmigrateBinary(b)
			var items int64
			var elapsed, cpu time.Duration
			var peakRSS int64
			for range b.N {
				b.StopTimer()
				dir := b.TempDir()
				var sc strings.Builder
				sc.WriteString("domain: contoso.com\ncloud_domain: contoso.onmicrosoft.com\nseed: 3\nmailboxes:\n")
				for i := range n {
					fmt.Fprintf(&sc, "  - address: user%03d@contoso.com\n    location: onprem\n    folders: {Inbox: 70, Sent Items: 30}\n", i)
				}
				scenario := filepath.Join(dir, "many.yaml")
				if err := os.WriteFile(scenario, []byte(sc.String()), 0o600); err != nil {
					b.Fatal(err)
				}
				stop := startLabProcess(b, bin, dir, scenario)
				cfg := filepath.Join(dir, "config.yaml")
				list := filepath.Join(dir, "wave1.csv")
				cmd := exec.Command(bin, "copy", "--config", cfg, "--mailboxes", list, "--parallel", "16", "--stores", "primary", "--log-format", "json")
				var out strings.Builder
				cmd.Stdout, cmd.Stderr = &out, &out
				b.StartTimer()
				t0 := time.Now()
				err := cmd.Run()
				took := time.Since(t0)
				b.StopTimer()
				stop()
				if err != nil {
					b.Fatalf("copy: %v\n%s", err, tail(out.String()))
				}
				ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
				items += int64(n) * 100
				elapsed += took
				cpu += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
				peakRSS = max(peakRSS, ru.Maxrss*1024)
				b.StartTimer()
			}
			b.ReportMetric(float64(items)/elapsed.Seconds(), "msgs/s")
			b.ReportMetric(float64(cpu.Microseconds())/1000/float64(items), "client-cpu-ms/msg")
			b.ReportMetric(float64(peakRSS)/(1<<20), "client-peak-MiB")
		})
	}
}

// startLabProcess runs `exmigrate lab` in a process of its own until stop;
// extra are more flags of lab (--latency).
func startLabProcess(tb testing.TB, bin, dir, scenario string, extra ...string) (stop func()) {
	tb.Helper()
	cmd := exec.Command(bin, append([]string{"lab", "--dir", dir, "--scenario", scenario}, extra...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	ready := false
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "Ctrl-C stops the lab") {
			ready = true
			break
		}
	}
	go func() {
		for sc.Scan() {
		}
	}()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		_ = cmd.Process.Signal(syscall.SIGINT)
		_ = cmd.Wait()
	}
	tb.Cleanup(stop)
	if !ready {
		tb.Fatal("the lab never said it was running")
	}
	return stop
}
