package e2e

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
)

// frame is one drawing of the progress bar line, when it was read.
type frame struct {
	at          time.Time
	done, total int64
	eta         time.Duration
	etaKnown    bool
}

var (
	barFrame  = regexp.MustCompile(`copying .*?([0-9,]+)/([0-9,]+) items[^\x1b\r\n]*?(?:ETA ([0-9hms.]+)|ETA unknown yet)`)
	mbLine    = regexp.MustCompile(`user\d+@contoso\.com\s+copying\s+[0-9,]+/[0-9,]+ items`)
	finalLine = regexp.MustCompile(`copied ([0-9,]+)/([0-9,]+) items`)
)

func atoi(s string) int64 {
	n, _ := strconv.ParseInt(strings.ReplaceAll(s, ",", ""), 10, 64)
	return n
}

// TestProgressThroughATerminal runs a copy of about two minutes with its
// output on a pseudo-terminal, as an engineer watches it, and reads what
// the terminal shows: after planning, the total never changes; the active
// mailboxes have their own lines; and at the halfway point the ETA is
// within 25% of the time the copy then took.
func TestProgressThroughATerminal(t *testing.T) {
	if testing.Short() {
		t.Skip("a two-minute copy")
	}
	bin := exmigrateBinary(t)
	dir := t.TempDir()
	var sc strings.Builder
	sc.WriteString("domain: contoso.com\ncloud_domain: contoso.onmicrosoft.com\nseed: 5\nmailboxes:\n")
	const mailboxes, perMailbox = 4, 2400
	for i := range mailboxes {
		fmt.Fprintf(&sc, "  - address: user%d@contoso.com\n    location: onprem\n    folders: {Inbox: %d, Sent Items: %d}\n", i, perMailbox*2/3, perMailbox/3)
	}
	scenario := filepath.Join(dir, "wave.yaml")
	if err := os.WriteFile(scenario, []byte(sc.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	// Every request costs 100 ms, as across a real network: the copy is
	// paced by the services, not by this machine's CPU.
	startLabProcess(t, bin, dir, scenario, "--latency", "100ms")

	cmd := exec.Command(bin, "copy", "--config", filepath.Join(dir, "config.yaml"), "--mailboxes", filepath.Join(dir, "wave1.csv"),
		"--parallel", "2", "--stores", "primary")
	cmd.Dir = dir
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 200})
	if err != nil {
		t.Fatal(err)
	}
	defer tty.Close()

	var mu sync.Mutex
	var frames []frame
	var finalAt time.Time
	var final []string
	var screen strings.Builder
	perMailboxLines := 0
	read := make(chan struct{})
	go func() {
		defer close(read)
		r := bufio.NewReader(tty)
		buf := make([]byte, 32<<10)
		var pending string
		for {
			n, err := r.Read(buf)
			now := time.Now()
			if n > 0 {
				mu.Lock()
				screen.Write(buf[:n])
				pending += string(buf[:n])
				// A frame may be split across reads: parse complete lines.
				cut := strings.LastIndexByte(pending, '\n')
				if cut >= 0 {
					chunk := pending[:cut]
					pending = pending[cut+1:]
					for _, m := range barFrame.FindAllStringSubmatch(chunk, -1) {
						f := frame{at: now, done: atoi(m[1]), total: atoi(m[2])}
						if m[3] != "" {
							f.eta, err = time.ParseDuration(m[3])
							f.etaKnown = err == nil
						}
						frames = append(frames, f)
					}
					perMailboxLines += len(mbLine.FindAllString(chunk, -1))
					if m := finalLine.FindStringSubmatch(chunk); m != nil && finalAt.IsZero() {
						finalAt, final = now, m
					}
				}
				mu.Unlock()
			}
			if err != nil {
				return
			}
		}
	}()
	waitErr := cmd.Wait()
	<-read
	mu.Lock()
	defer mu.Unlock()
	if waitErr != nil {
		t.Fatalf("copy: %v\n%s", waitErr, tail(screen.String()))
	}
	if len(frames) < 20 || finalAt.IsZero() {
		t.Fatalf("%d progress frames and no final line read from the terminal:\n%s", len(frames), tail(screen.String()))
	}
	want := int64(mailboxes * perMailbox)
	for _, f := range frames {
		if f.total != want {
			t.Fatalf("a frame shows a total of %d items, want %d in every frame after planning", f.total, want)
		}
	}
	if atoi(final[1]) != want || atoi(final[2]) != want {
		t.Errorf("final line %q, want %d/%d", final[0], want, want)
	}
	if perMailboxLines == 0 {
		t.Error("no frame showed an active mailbox's own line")
	}
	took := finalAt.Sub(frames[0].at)
	var half *frame
	for i := range frames {
		if frames[i].done*2 >= want && frames[i].etaKnown {
			half = &frames[i]
			break
		}
	}
	if half == nil {
		t.Fatal("no frame at the halfway point had an ETA")
	}
	real := finalAt.Sub(half.at)
	off := float64(half.eta-real) / float64(real)
	t.Logf("copy of %d items took %v; at %d done the ETA said %v, the copy took %v more (%+.0f%%)", want, took.Round(time.Second), half.done, half.eta, real.Round(time.Second), off*100)
	if off > 0.25 || off < -0.25 {
		t.Errorf("the ETA at the halfway point was %v, the copy took %v more: off by %+.0f%%, want within 25%%", half.eta, real.Round(time.Second), off*100)
	}
}
