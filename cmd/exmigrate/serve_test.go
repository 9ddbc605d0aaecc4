package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestServeCommand starts serve on a free port, reads its page and JSON,
// and stops it as Ctrl-C would: a clean exit, not an error.
func TestServeCommand(t *testing.T) {
	statePath, list := statusFixture(t)
	g, out := testGlobals()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr := make(chan string, 1)
	opts := &serveOptions{g: g, StatePath: statePath, Mailboxes: list, Listen: "127.0.0.1:0", Refresh: time.Second,
		ready: func(a string) { addr <- a }}
	done := make(chan error, 1)
	go func() { done <- serveRun(ctx, opts) }()
	var base string
	select {
	case a := <-addr:
		base = "http://" + a
	case err := <-done:
		t.Fatalf("serve ended: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not start")
	}
	for path, want := range map[string][]string{
		"/":                      {`data-mailbox="dan@contoso.com" data-state="not-started"`, "Wave 2", `data-refresh="1"`},
		"/?only=failed":          {`data-mailbox="cat@contoso.com"`},
		"/api/wave?batch=Wave+1": {`"mailbox": "ann@contoso.com"`, `"mailbox": "bob@contoso.com"`},
	} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d\n%s", path, resp.StatusCode, b)
		}
		for _, w := range want {
			if !strings.Contains(string(b), w) {
				t.Errorf("GET %s lacks %q", path, w)
			}
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve after Ctrl-C: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop")
	}
	if !strings.Contains(out.String(), "serving the status of "+statePath+" at http://127.0.0.1:") {
		t.Errorf("serve said %q", out.String())
	}
}
