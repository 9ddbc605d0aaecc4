package reports

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"html"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/mailbox"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// fixedTime is the report time of every golden file.
var fixedTime = time.Date(2026, 11, 22, 9, 30, 0, 0, time.UTC)

func goldenOptions() Options {
	return Options{Title: "Contoso migration: wave 1 & 2", Organisation: "Contoso <Ltd>", GeneratedAt: fixedTime}
}

// loadFixture reads the fixed assessment through ReadAssessment, as the
// report command does.
func loadFixture(t testing.TB) *Assessment {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "assessment.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	a, err := ReadAssessment(f)
	if err != nil {
		t.Fatalf("ReadAssessment(testdata/assessment.json): %v", err)
	}
	return a
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./reports -run TestGolden -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		for i := range max(len(gl), len(wl)) {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("%s differs from the golden file at line %d:\n got: %q\nwant: %q\n(run with -update if the change is intended)", name, i+1, truncate(g, 300), truncate(w, 300))
			}
		}
		t.Fatalf("%s differs from the golden file", name)
	}
}

func TestGolden(t *testing.T) {
	a := loadFixture(t)
	cases := []struct {
		name   string
		format Format
		table  CSVTable
	}{
		{"report.html", FormatHTML, ""},
		{"findings.csv", FormatCSV, CSVFindings},
		{"mailboxes.csv", FormatCSV, CSVMailboxes},
		{"skipped.csv", FormatCSV, CSVSkipped},
		{"assessment.json", FormatJSON, ""},
		{"report.md", FormatMarkdown, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opts := goldenOptions()
			opts.CSVTable = tc.table
			var buf bytes.Buffer
			if err := Render(&buf, tc.format, a, opts); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, tc.name, buf.Bytes())
		})
	}
}

func TestFixtureCoversEveryState(t *testing.T) {
	// The golden files are only as good as the fixture: make sure it keeps
	// covering what they are meant to show.
	a := loadFixture(t)
	s := Summarize(a)
	for _, c := range s.Readiness[:4] {
		if c.N == 0 {
			t.Errorf("fixture has no %s mailbox", c.Key)
		}
	}
	for _, c := range s.Severity[:3] {
		if c.N == 0 {
			t.Errorf("fixture has no %s finding", c.Key)
		}
	}
	if s.PublicFolders == nil {
		t.Error("fixture has no public folder statistics")
	}
	if s.Copy == nil {
		t.Fatal("fixture has no copy results")
	}
	for _, c := range s.States {
		if c.N == 0 {
			t.Errorf("fixture has no mailbox in state %s", c.Key)
		}
	}
}

func TestSummarize(t *testing.T) {
	a := loadFixture(t)
	s := Summarize(a)
	if s.Mailboxes != 11 || s.ToMove != 10 || s.InCloud != 1 {
		t.Errorf("Mailboxes, ToMove, InCloud = %d, %d, %d, want 11, 10, 1", s.Mailboxes, s.ToMove, s.InCloud)
	}
	want := map[string]int64{"ready": 5, "warnings": 2, "blocked": 3, "unreadable": 1}
	for _, c := range s.Readiness {
		if c.N != want[c.Key] {
			t.Errorf("readiness %s = %d, want %d", c.Key, c.N, want[c.Key])
		}
	}
	var locs []string
	for _, l := range s.ByLocation {
		locs = append(locs, string(l.Location))
		if l.Ready+l.Warnings+l.Blocked+l.Unreadable != l.Mailboxes {
			t.Errorf("location %s: readiness counts do not add up to %d", l.Location, l.Mailboxes)
		}
	}
	if !slices.Equal(locs, []string{"onprem", "cloud", "auto"}) {
		t.Errorf("locations = %v, want onprem, cloud, auto", locs)
	}
	var size int64
	for _, m := range a.Mailboxes {
		size += m.SizeBytes
	}
	if s.SizeBytes != size {
		t.Errorf("SizeBytes = %d, want %d", s.SizeBytes, size)
	}
	if s.Findings != len(a.Findings) {
		t.Errorf("Findings = %d, want %d", s.Findings, len(a.Findings))
	}
	sev := map[string]int64{}
	for _, c := range s.Severity {
		sev[c.Key] = c.N
	}
	if sev["blocker"] != 5 || sev["warning"] != 6 || sev["info"] != 2 || sev["notice"] != 1 {
		t.Errorf("severities = %v", sev)
	}
	cp := s.Copy
	if cp.WithResult != 9 || cp.Finished != 4 || cp.Reconciled != 3 {
		t.Errorf("copy: with result %d, finished %d, reconciled %d; want 9, 4, 3", cp.WithResult, cp.Finished, cp.Reconciled)
	}
	status := map[string]int64{}
	for _, c := range cp.ByStatus {
		status[c.Key] = c.N
	}
	// The mailbox to move without a copy result counts as not started;
	// the one in Exchange Online without a job is not counted at all.
	want = map[string]int64{"completed": 1, "done": 1, "copied-blocked": 1, "copied-unassessed": 1, "partial": 1, "running": 1, "interrupted": 1, "failed": 1, "not-started": 2}
	if len(status) != len(want) {
		t.Errorf("copy states = %v, want %v", status, want)
	}
	for k, n := range want {
		if status[k] != n {
			t.Errorf("copy state %s = %d, want %d", k, status[k], n)
		}
	}
	if got := Gap(a.Mailboxes[1].Copy); got != 27 {
		t.Errorf("Gap(bjorn) = %d, want 91230-3-91200 = 27", got)
	}
}

func TestEffectiveReadinessWhenMissing(t *testing.T) {
	a := &Assessment{
		SchemaVersion: 1,
		Mailboxes: []MailboxAssessment{
			{Address: "a@x"}, {Address: "b@x"}, {Address: "c@x"}, {Address: "d@x", Error: "timeout"},
		},
		Findings: []Finding{
			{Code: "X", Severity: SeverityBlocker, Mailbox: "B@X"},
			{Code: "Y", Severity: SeverityWarning, Mailbox: "c@x"},
			{Code: "Z", Severity: SeverityInfo, Mailbox: "a@x"},
		},
	}
	md := newModel(a)
	want := []Readiness{Ready, Blocked, Warnings, Unreadable}
	for i, w := range want {
		if got := md.mailboxes[i].readiness; got != w {
			t.Errorf("%s: readiness %q, want %q", a.Mailboxes[i].Address, got, w)
		}
	}
}

func TestParseFormats(t *testing.T) {
	tests := []struct {
		in      string
		want    []Format
		wantErr string
	}{
		{"html,csv,json,md", []Format{FormatHTML, FormatCSV, FormatJSON, FormatMarkdown}, ""},
		{" HTML , markdown ", []Format{FormatHTML, FormatMarkdown}, ""},
		{"csv,csv", []Format{FormatCSV}, ""},
		{"all", AllFormats(), ""},
		{"html,pdf", nil, `unknown report format "pdf"`},
		{"", nil, "no report format given"},
		{" , ", nil, "no report format given"},
	}
	for _, tt := range tests {
		got, err := ParseFormats(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseFormats(%q) error = %v, want one containing %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("ParseFormats(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestRenderErrors(t *testing.T) {
	a := loadFixture(t)
	var buf bytes.Buffer
	if err := Render(&buf, "pdf", a, Options{}); err == nil || !strings.Contains(err.Error(), `"pdf"`) {
		t.Errorf("unknown format: %v", err)
	}
	if err := Render(&buf, FormatCSV, a, Options{CSVTable: "rules"}); err == nil || !strings.Contains(err.Error(), `"rules"`) {
		t.Errorf("unknown CSV table: %v", err)
	}
	if err := Render(&buf, FormatHTML, nil, Options{}); err == nil {
		t.Error("nil assessment: no error")
	}
	// A failing writer surfaces its error.
	boom := errors.New("disk full")
	for _, f := range AllFormats() {
		if err := Render(failWriter{boom}, f, a, Options{GeneratedAt: fixedTime}); !errors.Is(err, boom) {
			t.Errorf("%s: error %v, want the writer's", f, err)
		}
	}
}

type failWriter struct{ err error }

func (f failWriter) Write([]byte) (int, error) { return 0, f.err }

func TestOptionsTime(t *testing.T) {
	clock := time.Date(2030, 1, 2, 3, 4, 0, 0, time.FixedZone("CET", 3600))
	if got := (Options{Now: func() time.Time { return clock }}).generatedAt(); !got.Equal(clock) || got.Location() != time.UTC {
		t.Errorf("Now: %v", got)
	}
	if got := (Options{GeneratedAt: fixedTime, Now: func() time.Time { return clock }}).generatedAt(); !got.Equal(fixedTime) {
		t.Errorf("GeneratedAt must win over Now: %v", got)
	}
}

func TestWriteAll(t *testing.T) {
	a := loadFixture(t)
	dir := filepath.Join(t.TempDir(), "out")
	paths, err := WriteAll(context.Background(), dir, AllFormats(), a, goldenOptions())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range paths {
		names = append(names, filepath.Base(p))
		if filepath.Dir(p) != dir {
			t.Errorf("%s written outside %s", p, dir)
		}
	}
	want := []string{"report.html", "findings.csv", "mailboxes.csv", "skipped.csv", "assessment.json", "report.md"}
	if !slices.Equal(names, want) {
		t.Fatalf("written %v, want %v", names, want)
	}
	// The files are the golden files: WriteAll adds nothing of its own.
	for _, n := range want {
		got, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		golden, err := os.ReadFile(filepath.Join("testdata", n+".golden"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, golden) {
			t.Errorf("%s differs from testdata/%s.golden", n, n)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != len(want) {
		t.Errorf("directory holds %d entries, want %d (temporary files left behind?)", len(entries), len(want))
	}
}

func TestWriteAllCancelled(t *testing.T) {
	a := loadFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dir := t.TempDir()
	paths, err := WriteAll(ctx, dir, AllFormats(), a, Options{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if len(paths) != 0 {
		t.Errorf("paths %v written after cancellation", paths)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("%d files left in the output directory", len(entries))
	}
}

func TestWriteAllUnknownFormat(t *testing.T) {
	_, err := WriteAll(context.Background(), t.TempDir(), []Format{FormatHTML, "pdf"}, loadFixture(t), Options{})
	if err == nil || !strings.Contains(err.Error(), `"pdf"`) {
		t.Errorf("error %v, want one naming pdf", err)
	}
}

func TestCSVNeutralisesFormulas(t *testing.T) {
	tests := map[string]string{
		"=1+1":        "'=1+1",
		"+cmd":        "'+cmd",
		"-2+3":        "'-2+3",
		"@SUM(A1)":    "'@SUM(A1)",
		"\t=1":        "'\t=1",
		"\rx":         "'\rx",
		"plain":       "plain",
		"":            "",
		"a=b":         "a=b",
		"'quoted":     "'quoted",
		"  =indented": "  =indented",
	}
	for in, want := range tests {
		if got := neutralise(in); got != want {
			t.Errorf("neutralise(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCSVOutput(t *testing.T) {
	a := loadFixture(t)
	for _, table := range []CSVTable{CSVFindings, CSVMailboxes, CSVSkipped} {
		t.Run(string(table), func(t *testing.T) {
			var buf bytes.Buffer
			if err := Render(&buf, FormatCSV, a, Options{CSVTable: table}); err != nil {
				t.Fatal(err)
			}
			data := buf.Bytes()
			if !bytes.HasPrefix(data, []byte(utf8BOM)) {
				t.Fatal("no UTF-8 byte order mark")
			}
			records, err := csv.NewReader(bytes.NewReader(data[len(utf8BOM):])).ReadAll()
			if err != nil {
				t.Fatalf("output is not valid CSV: %v", err)
			}
			wantRows := len(a.Findings)
			switch table {
			case CSVMailboxes:
				wantRows = len(a.Mailboxes)
			case CSVSkipped:
				wantRows = 4
			}
			if len(records) != wantRows+1 {
				t.Fatalf("%d records, want a header and %d rows", len(records), wantRows)
			}
			for r, rec := range records {
				if len(rec) != len(records[0]) {
					t.Errorf("row %d has %d cells, header %d", r, len(rec), len(records[0]))
				}
				for c, cell := range rec {
					if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
						t.Errorf("row %d column %s starts with %q: a spreadsheet would evaluate it", r, records[0][c], cell[0])
					}
				}
			}
			// The hostile cells are there, defused, with their text intact.
			hostile := `'=HYPERLINK(""http://evil.example"")@contoso.com`
			if table == CSVSkipped {
				hostile = `'=cmd|' /C calc'!A0`
			}
			if !bytes.Contains(data, []byte(hostile)) {
				t.Error("hostile cell is missing or not neutralised")
			}
		})
	}
}

func TestJSONRoundTrip(t *testing.T) {
	a := loadFixture(t)
	var first bytes.Buffer
	if err := Render(&first, FormatJSON, a, Options{}); err != nil {
		t.Fatal(err)
	}
	b, err := ReadAssessment(bytes.NewReader(first.Bytes()))
	if err != nil {
		t.Fatalf("the JSON report does not read back: %v", err)
	}
	var second bytes.Buffer
	if err := Render(&second, FormatJSON, b, Options{}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first.Bytes(), second.Bytes()) {
		t.Error("JSON is not stable across a round trip")
	}
	// Empty lists are [] rather than null.
	var empty bytes.Buffer
	if err := Render(&empty, FormatJSON, &Assessment{SchemaVersion: 1}, Options{}); err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(empty.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	if string(m["mailboxes"]) != "[]" || string(m["findings"]) != "[]" {
		t.Errorf("empty lists: mailboxes %s, findings %s; want []", m["mailboxes"], m["findings"])
	}
}

func TestReadAssessmentErrors(t *testing.T) {
	tests := []struct {
		name, in string
		wantErr  string
		newer    bool
		notAsmt  bool
	}{
		{"empty", "", "the input is empty", false, true},
		{"malformed", "{\n  \"schema_version\": 1,\n  \"mailboxes\": [\n}", "malformed JSON at line 4, column 1", false, true},
		{"not an object", `[1,2]`, "holds a JSON array", false, true},
		{"no version", `{"mailboxes":[]}`, "has no schema_version", false, false},
		{"newer", `{"schema_version":2,"mailboxes":{"changed":"shape"}}`, "schema_version 2 is newer than this exmigrate reads (1): upgrade exmigrate", true, false},
		{"zero", `{"schema_version":0}`, "schema_version 0 is not a valid version", false, false},
		{"string version", `{"schema_version":"1"}`, "schema_version must be an integer", false, true},
		{"wrong type", `{"schema_version":1,"mailboxes":[{"items":"many"}]}`, `line 1, column 48, mailboxes.items holds a JSON string where int64 was expected`, false, true},
		{"trailing garbage", `{"schema_version":1} x`, "malformed JSON", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadAssessment(strings.NewReader(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			}
			var sv *SchemaVersionError
			if errors.As(err, &sv) && tt.newer != (sv.Got > sv.Supported) {
				t.Errorf("SchemaVersionError %+v", sv)
			}
			if tt.newer && !errors.As(err, &sv) {
				t.Error("a newer version is not a *SchemaVersionError")
			}
			if errors.Is(err, ErrNotAssessment) != tt.notAsmt {
				t.Errorf("errors.Is(err, ErrNotAssessment) = %v, want %v", !tt.notAsmt, tt.notAsmt)
			}
		})
	}
}

func TestReadAssessmentIgnoresUnknownFields(t *testing.T) {
	a, err := ReadAssessment(strings.NewReader(`{"schema_version":1,"future_field":{"x":1},"mailboxes":[{"address":"a@x","new":true}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Mailboxes) != 1 || a.Mailboxes[0].Address != "a@x" {
		t.Errorf("mailboxes %+v", a.Mailboxes)
	}
}

func FuzzReadAssessment(f *testing.F) {
	golden, err := os.ReadFile(filepath.Join("testdata", "assessment.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(golden)
	f.Add([]byte(`{"schema_version":1}`))
	f.Add([]byte(`{"schema_version":2}`))
	f.Add([]byte(`{"schema_version":1,"mailboxes":[{"address":"a","copy":{"status":"done"}}],"findings":[{"severity":"blocker"}]}`))
	f.Add([]byte(`{"schema_version":1e400}`))
	f.Add([]byte("{\"schema_version\":1,\"mailboxes\":[\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := ReadAssessment(bytes.NewReader(data))
		if err != nil {
			if a != nil {
				t.Fatal("an error with an assessment")
			}
			var sv *SchemaVersionError
			if !errors.Is(err, ErrNotAssessment) && !errors.As(err, &sv) {
				t.Fatalf("error of no known kind: %v", err)
			}
			return
		}
		if a.SchemaVersion != AssessmentSchemaVersion {
			t.Fatalf("accepted schema_version %d", a.SchemaVersion)
		}
		// Whatever was accepted must render in every format.
		for _, format := range AllFormats() {
			if err := Render(discard{}, format, a, Options{GeneratedAt: fixedTime}); err != nil {
				t.Fatalf("render %s of an accepted assessment: %v", format, err)
			}
		}
	})
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func TestFormatting(t *testing.T) {
	tests := []struct {
		got, want string
	}{
		{formatInt(0), "0"},
		{formatInt(999), "999"},
		{formatInt(1000), "1,000"},
		{formatInt(1234567), "1,234,567"},
		{formatInt(-1234567), "-1,234,567"},
		{formatInt(math.MinInt64), "-9,223,372,036,854,775,808"},
		{formatInt(math.MaxInt64), "9,223,372,036,854,775,807"},
		{formatPercent(0), "0%"},
		{formatPercent(0.01), "<0.1%"},
		{formatPercent(99.95), ">99.9%"},
		{formatPercent(100), "100%"},
		{formatPercent(28.571), "28.6%"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestHeadline(t *testing.T) {
	got := Summarize(loadFixture(t)).Headline()
	want := "11 mailboxes (61.4 GB), 10 to move: 4 ready, 2 with warnings, 3 blocked, 1 unreadable; 14 findings (5 blockers); copy: 20.2% of the items to copy on the target, 3 of 4 finished copies reconcile."
	if got != want {
		t.Errorf("Headline:\n got %s\nwant %s", got, want)
	}
	if got := Summarize(&Assessment{SchemaVersion: 1}).Headline(); got != "0 mailboxes (0 B); 0 findings (0 blockers)." {
		t.Errorf("empty Headline: %s", got)
	}
}

// TestHTMLSelfContained checks that the report can load nothing: no src or
// external href attribute, no CSS url() or @import, and a CSP that allows
// no source at all.
func TestHTMLSelfContained(t *testing.T) {
	var buf bytes.Buffer
	if err := Render(&buf, FormatHTML, loadFixture(t), goldenOptions()); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, re := range []string{`(?i)<[a-z][^>]*\ssrc\s*=`, `(?i)<[a-z][^>]*\shref\s*=\s*"(?:https?:|//|javascript:)`, `(?i)url\(`, `(?i)@import`, `(?i)<link\b`, `(?i)<iframe\b`, `(?i)<object\b`} {
		if m := regexp.MustCompile(re).FindString(out); m != "" {
			t.Errorf("the report references something outside itself: %q", m)
		}
	}
	csp := regexp.MustCompile(`<meta http-equiv="Content-Security-Policy" content="([^"]*)">`).FindStringSubmatch(out)
	if csp == nil {
		t.Fatal("no Content-Security-Policy")
	}
	policy := html.UnescapeString(csp[1])
	for _, want := range []string{"default-src 'none'", "script-src 'sha256-", "base-uri 'none'", "form-action 'none'"} {
		if !strings.Contains(policy, want) {
			t.Errorf("CSP %q lacks %q", policy, want)
		}
	}
	if strings.Contains(policy, "script-src 'unsafe-inline'") || strings.Contains(policy, "http") {
		t.Errorf("CSP too lenient: %q", policy)
	}
}

// TestWriteAllStopsWhenCancelled cancels the context once the first file is
// written: WriteAll returns that file only, and leaves no temporary files.
func TestWriteAllStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := slog.New(cancelHandler{cancel})
	dir := t.TempDir()
	paths, err := WriteAll(ctx, dir, AllFormats(), loadFixture(t), Options{Logger: log})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if len(paths) != 1 || filepath.Base(paths[0]) != "report.html" {
		t.Errorf("paths %v, want report.html only", paths)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("directory holds %v, want report.html only", names)
	}
}

// cancelHandler cancels a context on the first log record.
type cancelHandler struct{ cancel context.CancelFunc }

func (h cancelHandler) Enabled(context.Context, slog.Level) bool  { return true }
func (h cancelHandler) Handle(context.Context, slog.Record) error { h.cancel(); return nil }
func (h cancelHandler) WithAttrs([]slog.Attr) slog.Handler        { return h }
func (h cancelHandler) WithGroup(string) slog.Handler             { return h }

// TestJSONStreamingMatchesEncodingJSON compares the streamed JSON with what
// encoding/json writes for the whole document at once.
func TestJSONStreamingMatchesEncodingJSON(t *testing.T) {
	reference := func(a *Assessment) []byte {
		out := *a
		out.SchemaVersion = AssessmentSchemaVersion
		out.GeneratedAt = out.GeneratedAt.UTC()
		out.Mailboxes = slices.Clone(a.Mailboxes)
		if out.Mailboxes == nil {
			out.Mailboxes = []MailboxAssessment{}
		}
		for i := range out.Mailboxes {
			if out.Mailboxes[i].ItemsByKind == nil {
				out.Mailboxes[i].ItemsByKind = map[mailbox.Kind]int64{}
			}
		}
		if out.Findings == nil {
			out.Findings = []Finding{}
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(&out); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	cases := map[string]*Assessment{
		"fixture":   loadFixture(t),
		"synthetic": syntheticAssessment(200),
		"empty":     {},
		"no kinds":  {Mailboxes: []MailboxAssessment{{Address: "a@x"}}, Findings: []Finding{{Code: "X"}}},
		"tricky strings": {Tool: "\n  \"mailboxes\": []", Mailboxes: []MailboxAssessment{{Address: "\n  \"findings\": []"}},
			Findings: []Finding{{Found: "<&>\u2028"}}},
	}
	for name, a := range cases {
		var got bytes.Buffer
		if err := Render(&got, FormatJSON, a, Options{}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if want := reference(a); !bytes.Equal(got.Bytes(), want) {
			t.Errorf("%s: streamed JSON differs from encoding/json:\n got %s\nwant %s", name, truncate(got.String(), 400), truncate(string(want), 400))
		}
	}
}

// TestPageSizeMatchesStylesheet: the page size lives in Go (for the text)
// and in the CSS and JS (for the paging); they must agree.
func TestPageSizeMatchesStylesheet(t *testing.T) {
	if want := fmt.Sprintf("nth-child(n+%d)", mailboxPageSize+1); !strings.Contains(reportCSS, want) {
		t.Errorf("report.css does not hide sections from %s", want)
	}
	if want := fmt.Sprintf("nth-child(-n+%d)", mailboxPageSize); !strings.Contains(reportJS, want) {
		t.Errorf("report.js does not expand the first page with %s", want)
	}
}
