package reports

import (
	"bytes"
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/internal/chromiumtest"
	"github.com/exmigrate/exmigrate/mailbox"
)

// findChromium returns the browser the HTML tests drive, or skips the test
// with what to install (chromiumtest.Find, shared with the status page's).
func findChromium(t *testing.T) string { return chromiumtest.Find(t) }

// consoleLine matches what chromium writes to stderr (with
// --enable-logging=stderr) for every console message, warning or error of
// a page, e.g. `[..:INFO:CONSOLE:12] "Uncaught Error: boom", source: ...`.
var consoleLine = regexp.MustCompile(`:CONSOLE(?:\(\d+\)|:\d+)\] (.*)`)

type browserResult struct {
	DOM      string
	Console  []string // every console message; the report logs none
	Shot     string   // path of the screenshot
	JSErrors string   // what the page's own monitor recorded
	Ready    bool     // the report's script ran to its end
	ReadyMS  string   // milliseconds from navigation to the end of the script
}

// openInChromium loads page in headless chromium twice: once to dump the
// DOM after the scripts ran, once for a screenshot.
func openInChromium(t *testing.T, chromium, page, shot string) browserResult {
	t.Helper()
	u := (&url.URL{Scheme: "file", Path: page}).String()
	run := func(extra ...string) (string, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		args := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
			"--disable-background-networking", "--disable-component-update", "--disable-sync",
			"--user-data-dir=" + t.TempDir(), "--enable-logging=stderr", "--v=0", "--window-size=1280,2000"}
		args = append(append(args, extra...), u)
		cmd := exec.CommandContext(ctx, chromium, args...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("chromium %v: %v\n%s", extra, err, tail(stderr.String(), 2000))
		}
		return stdout.String(), stderr.String()
	}
	var res browserResult
	dom, stderr1 := run("--dump-dom")
	_, stderr2 := run("--screenshot=" + shot)
	res.DOM, res.Shot = dom, shot
	for _, line := range strings.Split(stderr1+stderr2, "\n") {
		if m := consoleLine.FindStringSubmatch(line); m != nil {
			res.Console = append(res.Console, m[1])
		}
	}
	if m := regexp.MustCompile(`<html[^>]*\sdata-js-error="([^"]*)"`).FindStringSubmatch(dom); m != nil {
		res.JSErrors = m[1]
	}
	res.Ready = regexp.MustCompile(`<html[^>]*\sdata-report-ready="1"`).MatchString(dom)
	if m := regexp.MustCompile(`<html[^>]*\sdata-ready-ms="(\d+)"`).FindStringSubmatch(dom); m != nil {
		res.ReadyMS = m[1]
	}
	return res
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

func artifactDir(t *testing.T) string {
	// Kept with `go test -artifacts -outputdir DIR`; removed otherwise.
	return t.ArtifactDir()
}

func writeReport(t *testing.T, dir string, a *Assessment) string {
	t.Helper()
	page := filepath.Join(dir, "report.html")
	f, err := os.Create(page)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := Render(f, FormatHTML, a, goldenOptions()); err != nil {
		t.Fatal(err)
	}
	return page
}

// TestHTMLInChromium opens the golden report (hostile strings included) in
// headless chromium, fails on any console message, script error or CSP
// violation, checks that the hostile markup stayed text, and takes a
// screenshot.
func TestHTMLInChromium(t *testing.T) {
	chromium := findChromium(t)
	dir := artifactDir(t)
	a := loadFixture(t)
	// Markup in every kind of field: if any of it became markup, the
	// marker attribute would appear in the DOM (and the CSP would complain).
	hostile := `<img src=x onerror="document.documentElement.setAttribute('data-pwned','1')"><script>document.documentElement.setAttribute('data-pwned','2')</script>`
	a.Mailboxes = append(a.Mailboxes, MailboxAssessment{
		Address: hostile + "@contoso.com", Location: mailbox.LocationCloud, Readiness: Blocked, Batch: hostile,
		Error:        hostile,
		LargestItems: []ItemSummary{{Folder: hostile, Subject: hostile, Class: hostile, SizeBytes: 1 << 20}},
		FolderStats:  []FolderSummary{{Path: hostile, Class: hostile}},
		Copy:         &CopySummary{Status: hostile, SkipReasons: map[string]int64{hostile: 1}},
	})
	a.Findings = append(a.Findings, Finding{Code: hostile, Severity: Severity(hostile), Category: Category(hostile), Mailbox: hostile + "@contoso.com", Object: hostile, Found: hostile, Remedy: hostile, Fix: hostile})
	page := writeReport(t, dir, a)
	res := openInChromium(t, chromium, page, filepath.Join(dir, "report.png"))
	if len(res.Console) > 0 {
		t.Errorf("the report wrote %d console messages:\n%s", len(res.Console), strings.Join(res.Console, "\n"))
	}
	if res.JSErrors != "" {
		t.Errorf("the page recorded script errors: %s", res.JSErrors)
	}
	if !res.Ready {
		t.Error("the report's script did not run to its end (no data-report-ready on <html>)")
	}
	if regexp.MustCompile(`data-pwned="`).MatchString(res.DOM) {
		t.Error("hostile markup set an attribute: it was parsed as markup, not text")
	}
	if st, err := os.Stat(res.Shot); err != nil || st.Size() < 10_000 {
		t.Fatalf("no usable screenshot at %s: %v", res.Shot, err)
	}
	t.Logf("screenshot: %s", res.Shot)
}

// TestChromiumDetectsErrors proves the checks above can fail: a report
// with an external image (which the CSP blocks) and a throwing script must
// be caught both by the console scrape and by the page's own monitor.
func TestChromiumDetectsErrors(t *testing.T) {
	chromium := findChromium(t)
	dir := t.TempDir()
	page := writeReport(t, dir, loadFixture(t))
	data, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(string(data), "<main", `<img src="https://example.invalid/pixel.png"><main`, 1)
	if err := os.WriteFile(page, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	res := openInChromium(t, chromium, page, filepath.Join(dir, "broken.png"))
	if len(res.Console) == 0 {
		t.Error("the console scrape saw nothing on a page that loads an external image")
	}
	if !strings.Contains(res.JSErrors, "content security policy") {
		t.Errorf("the page monitor recorded %q, want a CSP violation", res.JSErrors)
	}
}

// TestHTMLInChromiumLarge opens a report of 5,000 mailboxes: it must load
// cleanly in the browser, not only render in Go.
func TestHTMLInChromiumLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("large report in chromium: skipped with -short")
	}
	chromium := findChromium(t)
	dir := artifactDir(t)
	page := writeReport(t, dir, syntheticAssessment(5000))
	start := time.Now()
	res := openInChromium(t, chromium, page, filepath.Join(dir, "report-5000.png"))
	if len(res.Console) > 0 || res.JSErrors != "" || !res.Ready {
		t.Errorf("console %q, errors %q, ready %v", res.Console, res.JSErrors, res.Ready)
	}
	st, _ := os.Stat(page)
	t.Logf("5,000 mailboxes: %d bytes of HTML; the page was ready %s ms after navigation; two chromium runs (DOM dump, screenshot) took %v", st.Size(), res.ReadyMS, time.Since(start).Round(time.Millisecond))
}

// runDriver loads the report of a in chromium with a test script appended
// that records its observations as data-test-* attributes on <html>, and
// returns them. The page's CSP is dropped, since it rightly blocks the
// added script; everything else is the report as written.
func runDriver(t *testing.T, chromium string, a *Assessment, driver string) map[string]string {
	t.Helper()
	dir := t.TempDir()
	page := writeReport(t, dir, a)
	data, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	html := regexp.MustCompile(`<meta http-equiv="Content-Security-Policy"[^>]*>`).ReplaceAllString(string(data), "")
	html = strings.Replace(html, "</body>", "<script>"+driver+"</script></body>", 1)
	if err := os.WriteFile(page, []byte(html), 0o644); err != nil {
		t.Fatal(err)
	}
	u := (&url.URL{Scheme: "file", Path: page}).String()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--user-data-dir="+t.TempDir(),
		"--virtual-time-budget=5000", "--dump-dom", u).Output()
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	m := regexp.MustCompile(`<html([^>]*)>`).FindStringSubmatch(string(out))
	if m == nil {
		t.Fatal("no <html> element in the dumped DOM")
	}
	attrs := map[string]string{}
	for _, kv := range regexp.MustCompile(`\s(data-test-[a-z-]+)="([^"]*)"`).FindAllStringSubmatch(m[1], -1) {
		attrs[kv[1]] = kv[2]
	}
	return attrs
}

// TestHTMLScriptsInChromium drives the report's own script in the browser:
// sorting a table, filtering mailboxes, and opening a mailbox from a link.
func TestHTMLScriptsInChromium(t *testing.T) {
	chromium := findChromium(t)
	got := runDriver(t, chromium, loadFixture(t), `
(function () {
  var root = document.documentElement;
  function order() {
    return Array.prototype.map.call(document.querySelectorAll("#mbtable tbody tr"), function (r) { return r.cells[0].textContent; }).join(",");
  }
  var size = document.querySelectorAll("#mbtable thead th")[5];
  size.click();
  root.setAttribute("data-test-desc", order());
  size.click();
  root.setAttribute("data-test-asc", order());
  var f = document.getElementById("mbfilter");
  f.value = "WAVE-1";
  f.dispatchEvent(new Event("input"));
  setTimeout(function () {
    root.setAttribute("data-test-visible", String(document.querySelectorAll("#mblist details.mb:not(.hidden)").length));
    location.hash = "#mb-1";
    setTimeout(function () { root.setAttribute("data-test-open", String(document.getElementById("mb-1").open)); }, 50);
  }, 400);
})();`)
	want := map[string]string{
		"data-test-desc":    "finance@contoso.com,bjorn.lund@contoso.com,anna.berg@contoso.com,carla.diaz@contoso.com,projects@contoso.com,dave.kim@contoso.com,moved.earlier@contoso.com,room.oslo@contoso.com,erin.moss@contoso.com,=HYPERLINK(&quot;http://evil.example&quot;)@contoso.com,legacy.app@contoso.com",
		"data-test-asc":     "legacy.app@contoso.com,=HYPERLINK(&quot;http://evil.example&quot;)@contoso.com,erin.moss@contoso.com,room.oslo@contoso.com,moved.earlier@contoso.com,dave.kim@contoso.com,projects@contoso.com,carla.diaz@contoso.com,anna.berg@contoso.com,bjorn.lund@contoso.com,finance@contoso.com",
		"data-test-visible": "2", // filter WAVE-1
		"data-test-open":    "true",
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s:\n got %q\nwant %q", k, got[k], w)
		}
	}
}

// TestHTMLPagingInChromium checks the first page of a long mailbox list,
// "show all", and that a link into the hidden part still opens its section.
func TestHTMLPagingInChromium(t *testing.T) {
	chromium := findChromium(t)
	a := syntheticAssessment(450)
	got := runDriver(t, chromium, a, `
(function () {
  var root = document.documentElement;
  function shown() {
    return String(Array.prototype.filter.call(document.querySelectorAll("#mblist details.mb"), function (d) { return d.offsetParent !== null; }).length);
  }
  root.setAttribute("data-test-first", shown());
  var last = document.querySelectorAll("#mblist details.mb")[449];
  location.hash = "#" + last.id;
  setTimeout(function () {
    root.setAttribute("data-test-linked", shown() + " " + last.open);
  }, 200);
})();`)
	if got["data-test-first"] != "200" {
		t.Errorf("first page shows %q sections, want 200", got["data-test-first"])
	}
	if got["data-test-linked"] != "450 true" {
		t.Errorf("after following a link to the last section: %q, want all 450 shown and it open", got["data-test-linked"])
	}
}
