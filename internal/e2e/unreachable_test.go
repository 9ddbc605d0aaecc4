package e2e

import (
	"bytes"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/engine"
	"github.com/exmigrate/exmigrate/internal/lab"
)

// How long each adapter takes, at most, to give up on one request to a
// server that refuses or drops every connection, with the defaults the
// command uses (internal/backend sets no retry tuning). Each attempt fails
// at once on loopback, so the waits between the attempts are the bound.
//
// EWS (ews/client.go retry, backoff): MaxRetries 5, so 6 attempts and 5
// waits; wait n (n = 1..5) is RetryBase·2^(n-1) = 1, 2, 4, 8, 16 s, jittered
// to [d/2, d): at most 31 s, at least 15.5 s.
//
// Graph (graphmail/scheduler.go RoundTrip, backoff): MaxRetries 6, so 7
// attempts and 6 waits; wait n (n = 0..5) is min(500 ms·2^n, MaxBackoff
// 2 min) = 0.5, 1, 2, 4, 8, 16 s, jittered to [d/2, d]: at most 31.5 s, at
// least 15.75 s. A POST (an item's creation) is not resent by the
// scheduler: the engine waits at most BackoffBase 500 ms and looks the stamp
// up first, a GET that gives up in the same 31.5 s: 32 s.
const (
	ewsGiveUp   = 31 * time.Second
	graphGiveUp = 32 * time.Second
	// giveUpMargin covers the requests in flight when the server went
	// away, the process's exit and a loaded test machine.
	giveUpMargin = 10 * time.Second
)

const unreachableScenario = `
domain: contoso.com
cloud_domain: contoso.onmicrosoft.com
seed: 23
mailboxes:
  - address: una@contoso.com
    location: onprem
    folders: {Inbox: 300, Sent Items: 150, Inbox/Sub: 50}
`

// TestUnreachableServer copies part of a mailbox, then makes one side
// unreachable for good, refusing connections or dropping every one it
// accepts, and measures how long `exmigrate copy` takes to fail the
// mailbox: within the adapter's bound plus a margin, exit 1, the mailbox
// FAILED because the service is unavailable, no item skipped. With the
// server back, the next run finishes the copy: nothing lost, no duplicate.
func TestUnreachableServer(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command and waits out the adapters' retries")
	}
	exmigrateBinary(t) // build once, before the parallel cases
	for _, tc := range []struct {
		name  string
		side  string // ews or graph
		mode  proxyMode
		bound time.Duration
	}{
		{"ews-refused", "ews", proxyRefuse, ewsGiveUp},
		{"ews-dropped", "ews", proxyDrop, ewsGiveUp},
		{"graph-refused", "graph", proxyRefuse, graphGiveUp},
		{"graph-dropped", "graph", proxyDrop, graphGiveUp},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := startLab(t, mustScenario(t, unreachableScenario), lab.Options{})
			const src, dst = "una@contoso.com", "una@contoso.onmicrosoft.com"
			ewsProxy := newTCPProxy(t, hostPort(t, e.lab.EWSURL))
			graphProxy := newTCPProxy(t, hostPort(t, e.lab.GraphURL))
			cfg := proxiedConfig(t, e, map[string]string{
				hostPort(t, e.lab.EWSURL): ewsProxy.addr, hostPort(t, e.lab.GraphURL): graphProxy.addr,
			})
			p := ewsProxy
			if tc.side == "graph" {
				p = graphProxy
			}
			args := []string{"copy", "--config", cfg, "--mailboxes", e.lab.CopyCSV}

			cmd := exec.Command(exmigrateBinary(t), args...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()

			// Part of the mailbox first: the server goes away mid-copy.
			deadline := time.Now().Add(30 * time.Second)
			for len(e.lab.Graph.Mailbox(dst).Messages("Inbox")) < 40 {
				if time.Now().After(deadline) {
					_ = cmd.Process.Kill()
					<-done
					t.Fatalf("no 40 items copied within 30 s\n%s\n%s", stdout.String(), tail(stderr.String()))
				}
				time.Sleep(10 * time.Millisecond)
			}
			p.set(tc.mode)
			gone := time.Now()
			var err error
			select {
			case err = <-done:
			case <-time.After(tc.bound + giveUpMargin + 30*time.Second):
				_ = cmd.Process.Kill()
				<-done
				t.Fatalf("copy still running %v after the %s server went away\n%s", time.Since(gone).Round(time.Millisecond), tc.side, tail(stderr.String()))
			}
			took := time.Since(gone)
			copied := len(e.lab.Graph.Mailbox(dst).Messages("Inbox"))
			var failed string
			for _, l := range strings.Split(stdout.String(), "\n") {
				if strings.Contains(l, "FAILED") {
					failed = strings.Join(strings.Fields(l), " ")
					break
				}
			}
			t.Logf("%s %s: copy gave up %v after the server went away (bound %v + %v margin); %d Inbox items on the target; %v\n  %s",
				tc.side, tc.name, took.Round(time.Millisecond), tc.bound, giveUpMargin, copied, err, failed)
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != ExitCodeFailed {
				t.Errorf("exit: %v, want exit status %d\n%s\n%s", err, ExitCodeFailed, stdout.String(), tail(stderr.String()))
			}
			if took > tc.bound+giveUpMargin {
				t.Errorf("the mailbox failed %v after the server went away, over the bound %v + %v", took.Round(time.Millisecond), tc.bound, giveUpMargin)
			}
			if !strings.Contains(failed, src) || !strings.Contains(failed, "service unavailable") {
				t.Errorf("want the mailbox FAILED with \"service unavailable\", got %q\n%s", failed, stdout.String())
			}
			if n := skippedItems(t, e); n != 0 {
				t.Errorf("%d item(s) skipped because the server was unreachable", n)
			}

			// The server is back: the next run finishes the copy.
			p.set(proxyForward)
			code, out, errOut := runBinary(t, args...)
			if code != 0 {
				t.Fatalf("resume: exit %d\n%s\n%s", code, out, tail(errOut))
			}
			for _, path := range []string{"Inbox", "Sent Items", "Inbox/Sub"} {
				compareFolder(t, path, e.ewsView(t, src, path), e.graphView(t, dst, path))
			}
			checkState(t, e, 500)
		})
	}
}

// ExitCodeFailed is cmd/exmigrate's ExitFailed.
const ExitCodeFailed = 1

func tail(s string) string {
	if len(s) > 3000 {
		return s[len(s)-3000:]
	}
	return s
}

func hostPort(t testing.TB, rawURL string) string {
	t.Helper()
	s := strings.TrimPrefix(rawURL, "https://")
	if i := strings.IndexByte(s, '/'); i >= 0 {
		s = s[:i]
	}
	return s
}

// proxiedConfig writes a copy of the lab's config, in the lab's folder so
// that its relative paths (CA bundle, state file) stay the same, with each
// server's host:port replaced.
func proxiedConfig(t testing.TB, e *env, replace map[string]string) string {
	t.Helper()
	data, err := os.ReadFile(e.lab.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	for from, to := range replace {
		if !strings.Contains(s, from) {
			t.Fatalf("the lab's config does not name %s", from)
		}
		s = strings.ReplaceAll(s, from, to)
	}
	path := filepath.Join(e.lab.Dir, "proxied.yaml")
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// skippedItems counts the items the state file records as skipped.
func skippedItems(t testing.TB, e *env) int64 {
	t.Helper()
	var n int64
	eachJob(t, e, func(_ engine.JobRecord, c engine.ItemCounts) { n += c.Skipped })
	return n
}

// ------------------------------------------------------------ TCP proxy

type proxyMode int

const (
	proxyForward proxyMode = iota // pass the bytes on
	proxyRefuse                   // no listener: connections are refused
	proxyDrop                     // accept each connection and reset it at once
)

// tcpProxy stands between the command and one of the lab's servers (TLS
// passes through it untouched), so that a test can take that server off
// the network while the lab keeps its mailboxes.
type tcpProxy struct {
	addr, backend string

	mu    sync.Mutex
	mode  proxyMode
	ln    net.Listener
	conns map[net.Conn]bool
}

func newTCPProxy(t testing.TB, backend string) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{addr: ln.Addr().String(), backend: backend, conns: map[net.Conn]bool{}}
	p.serve(ln)
	t.Cleanup(func() { p.set(proxyRefuse) })
	return p
}

// serve accepts on ln; the caller holds mu or owns p alone.
func (p *tcpProxy) serve(ln net.Listener) {
	p.ln = ln
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			mode := p.mode
			if mode == proxyForward {
				p.conns[c] = true
			}
			p.mu.Unlock()
			if mode != proxyForward {
				reset(c)
				continue
			}
			go p.pipe(c)
		}
	}()
}

func (p *tcpProxy) pipe(c net.Conn) {
	b, err := net.Dial("tcp", p.backend)
	if err != nil {
		p.forget(c)
		reset(c)
		return
	}
	p.mu.Lock()
	if p.mode != proxyForward || !p.conns[c] {
		p.mu.Unlock()
		reset(c)
		b.Close()
		return
	}
	p.conns[b] = true
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(b, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, b); done <- struct{}{} }()
	<-done
	c.Close()
	b.Close()
	p.forget(c, b)
}

func (p *tcpProxy) forget(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		delete(p.conns, c)
	}
}

// reset closes c with an RST, as a server that drops the connection does.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	c.Close()
}

// set switches the mode. Leaving proxyForward resets every connection in
// flight; proxyRefuse closes the listener, and leaving it listens on the
// same port again.
func (p *tcpProxy) set(m proxyMode) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode = m
	if m != proxyForward {
		for c := range p.conns {
			reset(c)
		}
		clear(p.conns)
	}
	switch {
	case m == proxyRefuse && p.ln != nil:
		p.ln.Close()
		p.ln = nil
	case m != proxyRefuse && p.ln == nil:
		ln, err := net.Listen("tcp", p.addr)
		if err != nil {
			panic("proxy: listen on " + p.addr + " again: " + err.Error())
		}
		p.serve(ln)
	}
}
