package reports

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"html"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/exmigrate/exmigrate/internal/forecast"
	"github.com/exmigrate/exmigrate/internal/humanize"
)

// TestHeadlinesAgreeWithTables recomputes every headline of the HTML
// report from the rows of mailboxes.csv and findings.csv, as a reader
// checking the report in a spreadsheet would, following the definitions
// of SCHEMA.md: a headline that disagrees with the tables fails.
func TestHeadlinesAgreeWithTables(t *testing.T) {
	fixtures := map[string]*Assessment{"fixture": loadFixture(t), "mid-run": midRunAssessment()}
	for name, a := range fixtures {
		t.Run(name, func(t *testing.T) {
			kpis, states := htmlHeadlines(t, a)
			rows := csvRows(t, a, CSVMailboxes)
			findings := csvRows(t, a, CSVFindings)

			var toMove, inCloud, ready, blocked, unreadable, toCopy, onTarget, size, items int64
			stateCount := map[string]int64{}
			for _, r := range rows {
				size += num(t, r["size_bytes"])
				items += num(t, r["items"])
				if r["state"] == string(StateInCloud) {
					inCloud++
					continue
				}
				toMove++
				stateCount[r["state"]]++
				switch r["readiness"] {
				case "ready", "warnings":
					ready++
				case "blocked":
					blocked++
				case "unreadable":
					unreadable++
				}
				toCopy += num(t, r["items_to_copy"])
				onTarget += num(t, r["items_on_target"])
			}
			want := map[string]string{
				"Mailboxes":     formatInt(int64(len(rows))),
				"Ready to move": formatPercent(percent(ready, toMove)),
				"Blocked":       formatInt(blocked),
				"Data volume":   humanize.Bytes(size),
				"Findings":      formatInt(int64(len(findings))),
				"Copied":        formatPercent(percent(onTarget, toCopy)),
			}
			wantSub := map[string]string{
				"Mailboxes":   formatInt(toMove) + " to move · " + formatInt(inCloud) + " already in Exchange Online",
				"Blocked":     formatInt(unreadable) + " unreadable, of " + formatInt(toMove) + " to move",
				"Data volume": formatInt(items) + " items in all mailboxes",
			}
			for label, w := range want {
				got, ok := kpis[label]
				if !ok {
					t.Errorf("no %q headline", label)
					continue
				}
				if got[0] != w {
					t.Errorf("%s = %q, the tables say %q", label, got[0], w)
				}
				if ws, ok := wantSub[label]; ok && got[1] != ws {
					t.Errorf("%s: %q, the tables say %q", label, got[1], ws)
				}
			}
			if sub := kpis["Copied"][1]; !regexp.MustCompile(`^` + regexp.QuoteMeta(formatInt(onTarget)+" of "+formatInt(toCopy)+" items to copy on the target")).MatchString(sub) {
				t.Errorf("Copied: %q, the tables say %s of %s", sub, formatInt(onTarget), formatInt(toCopy))
			}
			// The Markdown summary says the same.
			var md bytes.Buffer
			if err := Render(&md, FormatMarkdown, a, goldenOptions()); err != nil {
				t.Fatal(err)
			}
			for _, line := range []string{
				"| Mailboxes | " + want["Mailboxes"] + " (" + formatInt(toMove) + " to move, " + formatInt(inCloud) + " already in Exchange Online) |",
				"| Ready to move | " + want["Ready to move"] + " |",
				"| — Blocked | " + formatInt(blocked) + " (",
				"| Copied | " + want["Copied"] + ": " + formatInt(onTarget) + " of " + formatInt(toCopy) + " items to copy on the target",
			} {
				if !strings.Contains(md.String(), line) {
					t.Errorf("report.md lacks %q", line)
				}
			}
			if a.Wave != nil {
				// The wave's forecast schedules the table's forecasts of the
				// mailboxes to move, in the table's order, Parallel at a time.
				var mbs []forecast.Mailbox
				var unknown int
				for _, r := range rows {
					if r["state"] == string(StateInCloud) {
						continue
					}
					if r["forecast_seconds"] == "" {
						unknown++
						continue
					}
					mbs = append(mbs, forecast.Mailbox{Items: num(t, r["forecast_seconds"]), Ceiling: forecast.Ceiling{ItemsPerSecond: 1}})
				}
				total := forecast.About(forecast.Wave(mbs, a.Wave.Parallel).Total)
				got := kpis["Copy forecast"]
				wantSub := fmt.Sprintf("%s to move, %d at a time, at the services' ceilings", plural(len(mbs), "mailbox", "mailboxes"), a.Wave.Parallel)
				if unknown > 0 {
					wantSub += "; " + plural(unknown, "mailbox", "mailboxes") + " without a forecast"
				}
				if got[0] != total || got[1] != wantSub {
					t.Errorf("Copy forecast = %q, %q; the table says %q, %q", got[0], got[1], total, wantSub)
				}
				line := "| Copy forecast | at the services' ceilings, " + plural(len(mbs), "mailbox", "mailboxes") + " " + strconv.Itoa(a.Wave.Parallel) + " at a time: " + total
				if !strings.Contains(md.String(), line) {
					t.Errorf("report.md lacks %q", line)
				}
			}
			var sum int64
			for k, n := range states {
				sum += n
				if stateCount[k] != n {
					t.Errorf("state %q: chart %d, table %d", k, n, stateCount[k])
				}
			}
			if sum != toMove {
				t.Errorf("the state chart counts %d mailboxes, the table %d to move", sum, toMove)
			}
		})
	}
}

// midRunAssessment is a wave in its first pass: no folder reconciled yet
// (source and target counts 0), items copied and pending.
func midRunAssessment() *Assessment {
	return &Assessment{SchemaVersion: 1, Mailboxes: []MailboxAssessment{
		{Address: "a@x", Location: "onprem", Readiness: Ready, Items: 6576, SizeBytes: 1 << 30,
			Copy:     &CopySummary{Status: "running", ItemsCopied: 1923, ItemsPending: 4},
			Forecast: &Forecast{Known: true, Seconds: 2148}},
		{Address: "b@x", Location: "onprem", Readiness: Warnings, Items: 100,
			Copy:     &CopySummary{Status: "running", ItemsCopied: 150, ItemsSkipped: 2},
			Forecast: &Forecast{Known: true, Seconds: 6}},
		{Address: "c@x", Location: "onprem", Readiness: Blocked, Items: 50, Forecast: &Forecast{Unknown: NoPublishedCeiling}},
		{Address: "d@x", Location: "cloud", Readiness: Ready, Items: 999, Forecast: &Forecast{Known: true, Seconds: 60}},
	}, Wave: &WaveForecast{Parallel: 1}}
}

// TestMidRunReportIsMeaningful: a report of a wave whose first pass is
// under way plans from the assessment and the items recorded, instead of
// "0 of 0 to copy".
func TestMidRunReportIsMeaningful(t *testing.T) {
	cp := Summarize(midRunAssessment()).Copy
	// a: 6,576 assessed, 1,923 on the target; b: 152 recorded > 100
	// assessed, less 2 skipped; c: 50 assessed, no job; d: in the cloud.
	if cp.ItemsToCopy != 6576+150+50 || cp.ItemsOnTarget != 1923+150 || cp.Planned != 3 {
		t.Errorf("to copy %d, on target %d, planned %d; want %d, %d, 3", cp.ItemsToCopy, cp.ItemsOnTarget, cp.Planned, 6576+150+50, 1923+150)
	}
	if p := cp.ItemsPercent(); p < 30 || p > 31 {
		t.Errorf("Copied %.1f%%, want about 30.6%%", p)
	}
}

// htmlHeadlines reads the headline tiles (label -> value, sub) and the
// legend of the state chart (state label -> mailboxes, by State key).
func htmlHeadlines(t *testing.T, a *Assessment) (map[string][2]string, map[string]int64) {
	t.Helper()
	var buf bytes.Buffer
	if err := Render(&buf, FormatHTML, a, goldenOptions()); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	kpis := map[string][2]string{}
	for _, m := range regexp.MustCompile(`<div class="kpi-label">(.*?)</div><div class="kpi-value">(.*?)</div><div class="kpi-sub">(.*?)</div>`).FindAllStringSubmatch(page, -1) {
		kpis[html.UnescapeString(m[1])] = [2]string{html.UnescapeString(m[2]), html.UnescapeString(m[3])}
	}
	labels := map[string]string{}
	for _, s := range States() {
		labels[s.Label()] = string(s)
	}
	states := map[string]int64{}
	if i := bytes.Index(buf.Bytes(), []byte(`<div id="copy-states">`)); i >= 0 {
		legend := page[i:]
		legend = legend[:bytes.Index([]byte(legend), []byte("</ul>"))]
		for _, m := range regexp.MustCompile(`<span class="legend-label">(.*?)</span><span class="legend-value">(.*?)</span>`).FindAllStringSubmatch(legend, -1) {
			n, err := strconv.ParseInt(stripCommas(m[2]), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			states[labels[html.UnescapeString(m[1])]] = n
		}
	}
	return kpis, states
}

func csvRows(t *testing.T, a *Assessment, table CSVTable) []map[string]string {
	t.Helper()
	var buf bytes.Buffer
	if err := Render(&buf, FormatCSV, a, Options{CSVTable: table, CSV: CSVFormat{NoBOM: true}}); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]string
	for _, rec := range recs[1:] {
		row := map[string]string{}
		for i, h := range recs[0] {
			row[h] = rec[i]
		}
		out = append(out, row)
	}
	return out
}

func num(t *testing.T, s string) int64 {
	t.Helper()
	if s == "" {
		return 0
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func stripCommas(s string) string { return string(bytes.ReplaceAll([]byte(s), []byte(","), nil)) }

// TestCodeSummedAcrossMailboxes: the dashboard line of a code found in two
// mailboxes sums their items (6 + 12 calendar items), rather than quoting
// the first mailbox's 6 beside "2 mailboxes".
func TestCodeSummedAcrossMailboxes(t *testing.T) {
	f := func(mbx, object string, n int64, found string) Finding {
		return Finding{Code: "EXM-CONTENT-NOT-COPIED", Severity: SeverityWarning, Category: CategoryContent, Mailbox: mbx, Object: object, Found: found, Items: n}
	}
	tests := []struct {
		name     string
		findings []Finding
		want     string
	}{
		{"one mailbox", []Finding{f("a@x", "calendar", 6, "The mailbox has 6 calendar items.")}, "The mailbox has 6 calendar items."},
		{"two mailboxes", []Finding{f("a@x", "calendar", 6, "The mailbox has 6 calendar items."), f("b@x", "calendar", 12, "The mailbox has 12 calendar items.")},
			"18 calendar items in 2 mailboxes."},
		{"two kinds", []Finding{f("a@x", "calendar", 6, "6"), f("b@x", "notes", 4, "4"), f("b@x", "calendar", 12, "12")},
			"22 items in 2 mailboxes: calendar 18, notes 4."},
		{"objects that are not kinds", []Finding{f("a@x", "Inbox: big", 1, "1"), f("b@x", "Inbox: bigger", 2, "2")}, "3 items in 2 mailboxes."},
		{"uncounted", []Finding{f("a@x", "r1", 0, "Rule one."), f("b@x", "r2", 0, "Rule two.")}, "For example a@x: Rule one."},
	}
	for _, tc := range tests {
		a := &Assessment{SchemaVersion: 1, Findings: tc.findings}
		for _, fd := range tc.findings {
			if !slicesContainsAddr(a.Mailboxes, fd.Mailbox) {
				a.Mailboxes = append(a.Mailboxes, MailboxAssessment{Address: fd.Mailbox, Location: "onprem"})
			}
		}
		v := buildView(newModel(a), Options{})
		if len(v.TopWarnings) != 1 || v.TopWarnings[0].Example != tc.want {
			t.Errorf("%s: %+v, want the example %q", tc.name, v.TopWarnings, tc.want)
		}
	}
}

func slicesContainsAddr(ms []MailboxAssessment, addr string) bool {
	for _, m := range ms {
		if m.Address == addr {
			return true
		}
	}
	return false
}
