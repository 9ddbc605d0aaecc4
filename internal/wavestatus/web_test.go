package wavestatus

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/engine"
)

func newTestServer(t *testing.T, o ServerOptions) *httptest.Server {
	t.Helper()
	ts := httptest.NewServer(NewServer(o))
	t.Cleanup(ts.Close)
	return ts
}

func get(t *testing.T, ts *httptest.Server, path string, header ...string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, ts.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i] == "Host" {
			req.Host = header[i+1]
		} else {
			req.Header.Set(header[i], header[i+1])
		}
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

func TestServerPages(t *testing.T) {
	_, path := fixture(t)
	ro := openRO(t, path)
	ts := newTestServer(t, ServerOptions{Store: ro, StateFile: path, List: []ListEntry{
		{Address: "bob@contoso.com", Batch: "Wave 1"}, {Address: "gus@contoso.com", Batch: "Wave 1"},
		{Address: "cat@contoso.com", Batch: "Wave 2"}, {Address: "eve@contoso.com", Batch: "Wave 2"}, {Address: "dan@contoso.com", Batch: "Wave 2"},
	}, ListName: "wave.csv"})
	bob := findJob(t, ro, "bob@contoso.com")
	gus := findJob(t, ro, "gus@contoso.com")
	tests := []struct {
		name       string
		path       string
		header     []string
		wantStatus int
		want       []string
		notWant    []string
	}{
		{name: "overview", path: "/", wantStatus: 200,
			want:    []string{`data-mailbox="bob@contoso.com"`, `data-state="interrupted"`, `href="/mailbox/`, "Wave 2", `<b id="t-items">5</b>`},
			notWant: []string{"<img src=x", "never-shown", "ann@contoso.com"}},
		{name: "filter by state", path: "/?only=failed", wantStatus: 200,
			want: []string{`data-mailbox="cat@contoso.com"`, `data-mailbox="eve@contoso.com"`}, notWant: []string{`data-mailbox="bob@contoso.com"`}},
		{name: "batch chips", path: "/?only=failed", wantStatus: 200,
			want: []string{`aria-label="Filter by batch"`, `href="?batch=Wave&#43;1&amp;only=failed" class="chip">Wave 1 <b>2</b>`, `href="?batch=Wave&#43;2&amp;only=failed" class="chip">Wave 2 <b>3</b>`}},
		{name: "filter by batch", path: "/?batch=wave+1", wantStatus: 200,
			want: []string{`data-mailbox="bob@contoso.com"`, `data-mailbox="gus@contoso.com"`}, notWant: []string{`data-mailbox="cat@contoso.com"`}},
		{name: "unknown state", path: "/?only=fialed", wantStatus: 400, want: []string{`unknown state`, `data-mailbox="bob@contoso.com"`}},
		{name: "unknown batch", path: "/?batch=Wave+9", wantStatus: 400, want: []string{`no mailbox of wave.csv is in this batch`}},
		{name: "drill-down", path: "/mailbox/" + bob, wantStatus: 200,
			want: []string{"huge video", "larger than the 150 MB Graph takes", "1 skipped; 2 on the target of 3 at the source", "Sent Items"}},
		{name: "drill-down escapes", path: "/mailbox/" + gus, wantStatus: 200,
			want: []string{"&lt;img src=x onerror=", "=HYPERLINK"}, notWant: []string{"<img src=x"}},
		{name: "no such job", path: "/mailbox/999", wantStatus: 404, want: []string{"no such job"}},
		{name: "not a number", path: "/mailbox/%3Cb%3E", wantStatus: 404, want: []string{"&#34;&lt;b&gt;&#34; is not a job number"}},
		{name: "json", path: "/api/wave?only=running", wantStatus: 200, want: []string{`"mailbox": "dan@contoso.com"`, `"host": "worker1"`}, notWant: []string{"never-shown"}},
		{name: "json detail", path: "/api/mailbox/" + bob, wantStatus: 200, want: []string{`"reason": "larger than the 150 MB Graph takes"`}},
		{name: "asset", path: "/assets/status.js", wantStatus: 200, want: []string{"DOMParser"}},
		{name: "no other asset", path: "/assets/page.html.tmpl", wantStatus: 404},
		{name: "a rebinding host", path: "/", header: []string{"Host", "evil.example:8080"}, wantStatus: http.StatusMisdirectedRequest},
		{name: "localhost", path: "/", header: []string{"Host", "localhost:1234"}, wantStatus: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, h, body := get(t, ts, tt.path, tt.header...)
			if status != tt.wantStatus {
				t.Fatalf("status %d, want %d:\n%s", status, tt.wantStatus, body)
			}
			if got := h.Get("Content-Security-Policy"); !strings.Contains(got, "default-src 'none'") {
				t.Errorf("CSP = %q", got)
			}
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("the answer lacks %q:\n%s", w, body)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(body, w) {
					t.Errorf("the answer has %q", w)
				}
			}
		})
	}
	// Read-only: nothing but GET and HEAD.
	resp, err := ts.Client().Post(ts.URL+"/", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: status %d, want 405", resp.StatusCode)
	}
}

func findJob(t *testing.T, ro interface {
	Jobs(context.Context) ([]engine.JobRecord, error)
}, addr string) string {
	t.Helper()
	jobs, err := ro.Jobs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		if j.Key.SourceAddress == addr {
			return itoa(j.ID)
		}
	}
	t.Fatalf("no job for %s", addr)
	return ""
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

// TestServerRereads: the page shows what another connection wrote since
// the last read, once MinRead has passed.
func TestServerRereads(t *testing.T) {
	ctx := context.Background()
	s, path := fixture(t)
	ro := openRO(t, path)
	now := time.Now()
	clock := func() time.Time { return now }
	ts := newTestServer(t, ServerOptions{Store: ro, StateFile: path, MinRead: time.Second, Now: clock})
	_, _, body := get(t, ts, "/api/wave")
	var w Wave
	if err := json.Unmarshal([]byte(body), &w); err != nil {
		t.Fatal(err)
	}
	before := w.Totals.ItemsCopied
	id := w.Jobs[0].ID
	for i := range 5 {
		if err := s.PutItem(ctx, engine.ItemRecord{JobID: id, SourceID: "new" + itoa(int64(i)), SourceFolderID: "inbox", Outcome: engine.ItemCopied, TargetItemID: "t"}); err != nil {
			t.Fatal(err)
		}
	}
	_, _, body = get(t, ts, "/api/wave")
	json.Unmarshal([]byte(body), &w)
	if w.Totals.ItemsCopied != before {
		t.Errorf("read again within MinRead: %d, want the cached %d", w.Totals.ItemsCopied, before)
	}
	now = now.Add(2 * time.Second)
	_, _, body = get(t, ts, "/api/wave")
	json.Unmarshal([]byte(body), &w)
	if w.Totals.ItemsCopied != before+5 {
		t.Errorf("after MinRead: %d copied, want %d", w.Totals.ItemsCopied, before+5)
	}
}

func TestLoopbackHost(t *testing.T) {
	for host, want := range map[string]bool{
		"127.0.0.1:8080": true, "127.0.0.1": true, "[::1]:80": true, "localhost:1": true, "LOCALHOST": true, "127.1.2.3:9": true,
		"evil.example": false, "10.0.0.1:80": false, "localhost.evil.example:80": false, "": false,
	} {
		if got := loopbackHost(host); got != want {
			t.Errorf("loopbackHost(%q) = %v, want %v", host, got, want)
		}
	}
}

func FuzzLoopbackHost(f *testing.F) {
	for _, s := range []string{"127.0.0.1:8080", "[::1]:80", "localhost", "evil.example", "127.0.0.1.evil.example:80", "[::ffff:127.0.0.1]:1", ":80", "["} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, host string) {
		if !loopbackHost(host) {
			return
		}
		// Whatever it accepts names this machine: localhost, or a loopback IP.
		h := host
		if x, _, err := net.SplitHostPort(host); err == nil {
			h = x
		}
		h = strings.Trim(h, "[]")
		if ip := net.ParseIP(h); !strings.EqualFold(h, "localhost") && (ip == nil || !ip.IsLoopback()) {
			t.Fatalf("loopbackHost(%q) accepted %q", host, h)
		}
	})
}

// TestPagesGolden pins the overview and a drill-down as served, with the
// clock fixed (go test -update rewrites them).
func TestPagesGolden(t *testing.T) {
	_, path := fixture(t)
	ro := openRO(t, path)
	clock := func() time.Time { return t0.Add(time.Hour) }
	// The live lease expires an hour from the real now: the fixed clock,
	// earlier, sees it live.
	ts := newTestServer(t, ServerOptions{Store: ro, StateFile: "state.db", Now: clock, List: []ListEntry{
		{Address: "bob@contoso.com", Batch: "Wave 1"}, {Address: "dan@contoso.com", Batch: "Wave 1"}, {Address: "new@contoso.com", Batch: "Wave 2"},
	}, ListName: "wave.csv"})
	for name, p := range map[string]string{"page-overview.html": "/", "page-mailbox.html": "/mailbox/" + findJob(t, ro, "bob@contoso.com")} {
		status, _, body := get(t, ts, p)
		if status != http.StatusOK {
			t.Fatalf("GET %s: %d", p, status)
		}
		golden(t, name, []byte(body))
	}
}
