package wavestatus

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/engine"
	"github.com/exmigrate/exmigrate/internal/chromiumtest"
)

// The browser helpers are chromiumtest's; these names keep the tests short.
func chromium(t *testing.T) string { return chromiumtest.Find(t) }

func shotDir(t *testing.T) string { return chromiumtest.ShotDir(t) }

func browse(t *testing.T, browser, url string, budget time.Duration, shot string) (string, []string) {
	return chromiumtest.Browse(t, browser, url, budget, shot)
}

// TestPageInChromium opens the status page in headless chromium while
// another connection writes to the state file (a copy in progress): the
// page must pick the new items up by itself, log nothing (a CSP violation
// or script error would be logged), and keep the hostile strings text.
func TestPageInChromium(t *testing.T) {
	browser := chromium(t)
	s, path := fixture(t)
	ro := openRO(t, path)
	gus := findJob(t, ro, "gus@contoso.com")
	ann := findJob(t, ro, "ann@contoso.com")
	annID, _ := strconv.ParseInt(ann, 10, 64)

	// Between the page's first load and its first refresh, a copy writes 7
	// more items.
	var (
		mu     sync.Mutex
		loads  int
		writes error
	)
	srv := NewServer(ServerOptions{Store: ro, StateFile: path, Refresh: time.Second})
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" {
			mu.Lock()
			loads++
			if loads == 2 {
				for i := range 7 {
					err := s.PutItem(r.Context(), engine.ItemRecord{JobID: annID, SourceID: "live" + strconv.Itoa(i), SourceFolderID: "inbox",
						Outcome: engine.ItemCopied, TargetItemID: "t", SizeBytes: 10})
					if err != nil && writes == nil {
						writes = err
					}
				}
			}
			mu.Unlock()
		}
		srv.ServeHTTP(w, r)
	}))
	defer ts.Close()

	dom, msgs := browse(t, browser, ts.URL+"/", 4*time.Second, "")
	if writes != nil {
		t.Fatal(writes)
	}
	if len(msgs) > 0 {
		t.Errorf("the page logged %d console messages:\n%s", len(msgs), strings.Join(msgs, "\n"))
	}
	if !strings.Contains(dom, `data-status-ready="1"`) {
		t.Error("the page's script did not run (no data-status-ready)")
	}
	if !regexp.MustCompile(`data-refreshes="[1-9]`).MatchString(dom) {
		t.Errorf("the page did not refresh itself (%d loads)", loads)
	}
	// 7 copied by the fixture + 7 written while the page was open.
	if !strings.Contains(dom, `<b id="t-items">14</b>`) {
		m := regexp.MustCompile(`<b id="t-items">\d+</b>`).FindString(dom)
		t.Errorf("items copied on the page: %s, want 14 after the refresh", m)
	}
	if strings.Contains(dom, `data-pwned="`) {
		t.Error("hostile markup ran")
	}

	dom, msgs = browse(t, browser, ts.URL+"/mailbox/"+gus, 2*time.Second, "")
	if len(msgs) > 0 {
		t.Errorf("the drill-down logged:\n%s", strings.Join(msgs, "\n"))
	}
	if strings.Contains(dom, `data-pwned="`) || !strings.Contains(dom, "onerror=") {
		t.Error("the drill-down did not show the hostile subject as text")
	}

	dir := shotDir(t)
	for name, url := range map[string]string{"status.png": ts.URL + "/", "status-mailbox.png": ts.URL + "/mailbox/" + findJob(t, ro, "bob@contoso.com")} {
		shot := filepath.Join(dir, name)
		browse(t, browser, url, time.Second, shot)
		if st, err := os.Stat(shot); err != nil || st.Size() < 10_000 {
			t.Fatalf("no usable screenshot at %s: %v", shot, err)
		}
		t.Logf("screenshot: %s", shot)
	}
}
