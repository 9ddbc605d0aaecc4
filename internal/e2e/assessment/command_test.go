package assessment_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/exmigrate/exmigrate/dispatch"
	"github.com/exmigrate/exmigrate/internal/csvinput"
	"github.com/exmigrate/exmigrate/internal/lab"
	"github.com/exmigrate/exmigrate/mailbox"
	"github.com/exmigrate/exmigrate/mapping"
	"github.com/exmigrate/exmigrate/reports"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var (
	buildOnce sync.Once
	binPath   string
	buildOut  []byte
	buildErr  error
)

// exmigrate builds the command once per test binary run.
func exmigrate(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "exmigrate-assess-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "exmigrate")
		buildOut, buildErr = exec.Command("go", "build", "-o", binPath, "../../../cmd/exmigrate").CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("go build ./cmd/exmigrate: %v\n%s", buildErr, buildOut)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		_ = os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// TestAssessCommandDefaultLab runs the built `exmigrate assess` against the
// default lab (the list `exmigrate lab` writes, every location detected),
// then reads the written JSON back through reports.ReadAssessment and checks
// every mailbox, every finding and the printed summary against what the
// default scenario holds.
func TestAssessCommandDefaultLab(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command")
	}
	bin := exmigrate(t)
	e := startEnv(t, nil) // nil: the default scenario
	out := filepath.Join(t.TempDir(), "out", "assessment.json")
	cmd := exec.Command(bin, "assess", "--config", e.lab.ConfigPath, "--mailboxes", e.lab.MailboxesCSV, "--out", out)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("exmigrate assess: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	a, err := reports.ReadAssessment(f)
	if err != nil {
		t.Fatalf("the written assessment does not validate: %v", err)
	}
	if a.SchemaVersion != reports.AssessmentSchemaVersion || !strings.HasPrefix(a.Tool, "exmigrate ") || a.GeneratedAt.IsZero() {
		t.Errorf("header: schema %d, tool %q, generated %v", a.SchemaVersion, a.Tool, a.GeneratedAt)
	}

	type want struct {
		loc       mailbox.Location
		readiness reports.Readiness
		items     int64
		codes     []string // the findings' codes, sorted
	}
	lit := mapping.CodeLitigationHoldUnknown
	// Graph v1.0 cannot read a cloud mailbox's archive or Recoverable Items:
	// the assessment says so as two unreadable parts, at info severity
	// (a limit of the protocol, not a failure), so the mailbox is ready.
	cloudParts := []string{mapping.CodePartUnreadable, mapping.CodePartUnreadable}
	wants := map[string]want{
		// 265 mail items in six folders, 6 calendar items, 4 contacts (one
		// a group) and 4 tasks; five rules of which two map; a delegate
		// with Inbox access. Calendar, contacts and tasks are carried with
		// the losses the route declares (info).
		"ann@contoso.com": {mailbox.LocationOnPrem, reports.Warnings, 279, []string{mapping.CodeRuleConditionUnmappable, mapping.CodeRuleConditionUnmappable,
			mapping.CodeRuleActionUnmappable, mapping.CodeDelegate, mapping.CodeFolderPermission, lit,
			mapping.CodeContentCarriedWithLoss, mapping.CodeContentCarriedWithLoss, mapping.CodeContentCarriedWithLoss}},
		"bob@contoso.com":   {mailbox.LocationOnPrem, reports.Warnings, 122, []string{mapping.CodeArchive, mapping.CodeRecoverableItems, lit}},
		"carol@contoso.com": {mailbox.LocationOnPrem, reports.Blocked, 70, []string{mapping.CodeInPlaceHold, lit}},
		// Inbox 40, Scans 2 plus the 40 MB and 160 MB items.
		"dan@contoso.com":      {mailbox.LocationOnPrem, reports.Blocked, 44, []string{mapping.CodeItemOverTenantLimit, mapping.CodeItemOver150MB, lit}},
		"helpdesk@contoso.com": {mailbox.LocationOnPrem, reports.Ready, 75, []string{lit}},
		// A room: its calendar is carried, meetings as appointments.
		"room-paris@contoso.com": {mailbox.LocationOnPrem, reports.Ready, 12, []string{mapping.CodeContentCarriedWithLoss, lit}},
		// 55 messages, 4 calendar items, 2 contacts and 2 tasks.
		"eve@contoso.com": {mailbox.LocationCloud, reports.Ready, 63, append(slices.Clone(cloudParts), lit,
			mapping.CodeContentCarriedWithLoss, mapping.CodeContentCarriedWithLoss, mapping.CodeContentCarriedWithLoss)},
		"sales@contoso.com": {mailbox.LocationCloud, reports.Ready, 25, append(slices.Clone(cloudParts), lit)},
	}
	if len(a.Mailboxes) != len(wants) {
		t.Errorf("%d mailboxes, want %d", len(a.Mailboxes), len(wants))
	}
	for _, m := range a.Mailboxes {
		w, ok := wants[m.Address]
		if !ok {
			t.Errorf("unexpected mailbox %s", m.Address)
			continue
		}
		if m.Location != w.loc || m.Readiness != w.readiness || m.Items != w.items || m.Error != "" {
			t.Errorf("%s: %s %s %d items (error %q); want %s %s %d", m.Address, m.Location, m.Readiness, m.Items, m.Error, w.loc, w.readiness, w.items)
		}
		var got []string
		for _, f := range findings(a, "", m.Address) {
			got = append(got, f.Code)
		}
		slices.Sort(got)
		wc := slices.Clone(w.codes)
		slices.Sort(wc)
		if !slices.Equal(got, wc) {
			t.Errorf("%s findings:\n got %v\nwant %v", m.Address, got, wc)
		}
	}
	ann := mailboxOf(t, a, "ann@contoso.com")
	if ann.Rules != 5 || ann.RulesMappable != 2 || ann.Delegates != 1 || ann.ItemsByKind[mailbox.KindCalendar] != 6 || ann.ItemsByKind[mailbox.KindContacts] != 4 {
		t.Errorf("ann: %d rules (%d mappable), %d delegates, by kind %v", ann.Rules, ann.RulesMappable, ann.Delegates, ann.ItemsByKind)
	}
	if bob := mailboxOf(t, a, "bob@contoso.com"); bob.Archive == nil || bob.Archive.Items != 60 || bob.RecoverableItems != 25 {
		t.Errorf("bob: archive %+v, recoverable %d; want 60 and 25", bob.Archive, bob.RecoverableItems)
	}
	if dan := mailboxOf(t, a, "dan@contoso.com"); dan.ItemsOverTenant != 2 || dan.ItemsOver150MB != 1 {
		t.Errorf("dan: %d over the tenant limit, %d over 150 MB; want 2 and 1", dan.ItemsOverTenant, dan.ItemsOver150MB)
	}
	// The lab lists its room in a room list, so EWS names it a room.
	if room := mailboxOf(t, a, "room-paris@contoso.com"); room.Type != mailbox.TypeRoom || !strings.Contains(room.TypeDetail, "rooms@contoso.com") {
		t.Errorf("room-paris: type %q (%s); want room, from the room list rooms@contoso.com", room.Type, room.TypeDetail)
	}
	checkForecasts(t, a, stdout.String())

	// Public folders: Company{HR,Finance}, Projects/Phoenix/Design, Calendars/Holidays.
	if pf := a.PublicFolders; pf == nil || pf.Folders != 8 || pf.Items != 58 || pf.MaxDepth != 3 {
		t.Errorf("public folders %+v; want 8 folders, 58 items, depth 3", pf)
	}
	var org []string
	for _, f := range findings(a, "", "") {
		if f.Mailbox == "" {
			org = append(org, f.Code)
		}
	}
	slices.Sort(org)
	if want := []string{mapping.CodePublicFolderCalendars, mapping.CodePublicFolders}; !slices.Equal(org, want) {
		t.Errorf("organisation findings %v, want %v", org, want)
	}

	// The whole file against the golden copy (timestamp and version
	// normalised): `go test ./internal/e2e/assessment -run TestAssessCommand -update`
	// rewrites it after a deliberate change.
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "default-lab.assessment.json", normalise(t, raw))

	// The summary the command prints agrees with the file.
	bySev := map[reports.Severity]int{}
	for _, f := range a.Findings {
		bySev[f.Severity]++
	}
	if len(a.Findings) != 31 || bySev[reports.SeverityBlocker] != 2 || bySev[reports.SeverityInfo] != 20 {
		t.Errorf("%d findings (%v); want 31: 2 blockers, 9 warnings, 20 info", len(a.Findings), bySev)
	}
	line := fmt.Sprintf("%d mailbox(es), %d finding(s): %d blocker, %d warning, %d info", len(a.Mailboxes), len(a.Findings),
		bySev[reports.SeverityBlocker], bySev[reports.SeverityWarning], bySev[reports.SeverityInfo])
	for _, s := range []string{line, "public folders: 8 folders, 58 items", "assessment written to " + out} {
		if !strings.Contains(stdout.String(), s) {
			t.Errorf("summary lacks %q:\n%s", s, stdout.String())
		}
	}
}

// checkForecasts recomputes each mailbox's forecast from its counts and
// Exchange Online's published limits (10,000 requests per 10 minutes, an
// item a request; 150 MB of uploads per 5 minutes, writing into it only),
// and checks the wave line the command prints. The lab config copies 4
// mailboxes at a time. The lab's mailboxes are small: each is within one
// window of the limits, so the forecast is "no wait", which the demo's
// copy (a few seconds a mailbox) does not contradict.
func checkForecasts(t *testing.T, a *reports.Assessment, stdout string) {
	t.Helper()
	ceil := func(n, d int64) int64 { return (n + d - 1) / d }
	toMove := 0
	for _, m := range a.Mailboxes {
		f := m.Forecast
		if f == nil {
			t.Errorf("%s: no forecast", m.Address)
			continue
		}
		items, size := m.Items, m.SizeBytes
		if m.Archive != nil {
			items, size = items+m.Archive.Items, size+m.Archive.SizeBytes
		}
		from, to := "Exchange Server", "Exchange Online"
		if m.Location == mailbox.LocationCloud {
			from, to = to, from // offboarding reads: no byte limit
		} else {
			// Into Exchange Online, the items over the tenant's limit (35
			// MB by default: dan's 40 MB and 160 MB) are skipped, not sent.
			for _, it := range m.LargestItems {
				if it.SizeBytes > 35<<20 {
					items, size = items-1, size-it.SizeBytes
				}
			}
		}
		// A window's budget goes at once; only what is beyond it waits.
		want := ceil(max(items-10_000, 0)*600, 10_000) // requests
		if to == "Exchange Online" {
			toMove++
			want = max(want, ceil(max(size-150_000_000, 0)*300, 150_000_000)) // uploads
		}
		// Seconds round up once; the two ceilings above may each round up.
		if !f.Known || f.From != from || f.To != to || f.Items != items || f.Bytes != size || f.Seconds < want-1 || f.Seconds > want {
			t.Errorf("%s: forecast %+v; want %s -> %s, %d items, %d bytes, %d s", m.Address, f, from, to, items, size, want)
		}
	}
	w := a.Wave
	if w == nil || w.Parallel != 4 || w.Mailboxes != toMove || w.Unknown != 0 {
		t.Fatalf("wave forecast %+v; want %d mailboxes to move, 4 at a time", w, toMove)
	}
	line := "forecast: " + w.Line() + " (" + reports.LowerBoundNote + ")"
	if !strings.Contains(stdout, line) || !strings.Contains(w.Line(), fmt.Sprintf("at the services' ceilings, %d mailboxes 4 at a time: no wait", toMove)) {
		t.Errorf("summary lacks %q:\n%s", line, stdout)
	}
	t.Logf("forecasts: %s", w.Line())
	for _, m := range a.Mailboxes {
		t.Logf("  %s: %d items, %d bytes: %d s (%s decide)", m.Address, m.Forecast.Items, m.Forecast.Bytes, m.Forecast.Seconds, m.Forecast.Decides)
	}
}

// normalise blanks what changes from run to run: the time and the version.
func normalise(t *testing.T, raw []byte) []byte {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	doc["generated_at"] = "(normalised)"
	doc["tool"] = "exmigrate (normalised)"
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(out, '\n')
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
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
				t.Errorf("%s differs from the golden file at line %d:\n got %s\nwant %s\n(run with -update after a deliberate change)", path, i+1, g, w)
				break
			}
		}
	}
}

// TestAssessUnderFaults assesses the default lab in-process, wired as
// cmd/exmigrate/assess.go wires it, while both fakes answer 5% of requests
// with transient faults (ErrorServerBusy and 503 on EWS, 429 and 503 on
// Graph). The clients retry them, so the assessment must be the golden one.
func TestAssessUnderFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out Retry-After")
	}
	e := startEnvOpts(t, nil, lab.Options{FaultRate: 0.05})
	list, err := csvinput.LoadList(e.lab.MailboxesCSV)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	located := e.locate(ctx, list)
	pf, pfErr := e.sides.EWS.PublicFolders(ctx)
	a := &dispatch.Assessor{Limits: mapping.Limits{TenantMessageBytes: e.cfg.Assessment.TenantMessageLimit.Bytes()},
		Parallel: e.cfg.Concurrency.Mailboxes, Log: e.log, Tool: "exmigrate test", Target: e.disp.Counterpart, Services: e.disp.Services}
	res, err := a.Assess(ctx, located, pf, pfErr)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "default-lab.assessment.json", normalise(t, raw))
	t.Logf("faults answered: EWS saw %d requests, Graph throttled %d", e.lab.EWS.Requests(""), e.lab.Graph.Throttled())
}
