package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// BenchmarkCopyLargeItemPeakMemory copies one on-prem mailbox of 2,000
// small messages and one message of 140 MB into Exchange Online, the lab in
// one process and `exmigrate copy` in another, and reports the copy
// process's peak RSS: memory must stay bounded whatever the item's size
// (the large item streams through an upload session). Graph's upload
// budget (150 MB per 5 minutes per mailbox) paces the large item, so an
// iteration takes about three minutes.
//
//	go test -run XXX -bench BenchmarkCopyLargeItemPeakMemory -benchtime 1x ./internal/e2e
func BenchmarkCopyLargeItemPeakMemory(b *testing.B) {
	bin := exmigrateBinary(b)
	const scenario = `domain: contoso.com
cloud_domain: contoso.onmicrosoft.com
seed: 9
mailboxes:
  - address: hana@contoso.com
    location: onprem
    folders: {Inbox: 1500, Sent Items: 500}
    large_items:
      - {folder: Inbox, size: 140MB}
    max_send_size: 150MB
    max_receive_size: 150MB
`
	var elapsed, cpu time.Duration
	var peakRSS int64
	for range b.N {
		b.StopTimer()
		dir := b.TempDir()
		sc := filepath.Join(dir, "large.yaml")
		if err := os.WriteFile(sc, []byte(scenario), 0o600); err != nil {
			b.Fatal(err)
		}
		stop := startLabProcess(b, bin, dir, sc)
		cmd := exec.Command(bin, "copy", "--config", filepath.Join(dir, "config.yaml"), "--mailboxes", filepath.Join(dir, "wave1.csv"),
			"--stores", "primary", "--log-format", "json")
		cmd.Dir = dir
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
		if !strings.Contains(out.String(), `"copied":2001`) {
			b.Fatalf("the copy did not copy the 2,001 messages:\n%s", tail(out.String()))
		}
		ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		elapsed += took
		cpu += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		peakRSS = max(peakRSS, ru.Maxrss*1024)
		b.StartTimer()
	}
	b.ReportMetric(elapsed.Seconds()/float64(b.N), "s/copy")
	b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "client-cpu-ms")
	b.ReportMetric(float64(peakRSS)/(1<<20), "client-peak-MiB")
}
