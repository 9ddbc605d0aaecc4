package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/exmigrate/exmigrate/internal/audit"
	"github.com/exmigrate/exmigrate/internal/lab"
	"github.com/exmigrate/exmigrate/internal/secret"
	"github.com/exmigrate/exmigrate/internal/state/pgstore"
	"github.com/exmigrate/exmigrate/internal/state/pgstore/pgtest"
	"github.com/exmigrate/exmigrate/internal/wavestatus"
)

// TestPostgresStateLikeSQLite drives the same wave once with the lab's
// state file and once with a config whose state.url is a PostgreSQL
// database: status shows the same jobs and counts; finalize signs off in
// the database; report --copy-results config reads it; state prune
// removes from it; --state FILE still wins over the config. The password
// (given as EXMIGRATE_STATE_PASSWORD) never appears in any output.
func TestPostgresStateLikeSQLite(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	const password = "pw-Xk42-never-shown"
	t.Setenv("EXMIGRATE_STATE_PASSWORD", password)
	sc, err := lab.ParseScenario([]byte(finalizeScenario))
	if err != nil {
		t.Fatal(err)
	}
	var outputs strings.Builder
	runPG := func(t *testing.T, args ...string) (int, string, string) {
		t.Helper()
		code, out, errs := run(t, args...)
		outputs.WriteString(out + errs)
		return code, out, errs
	}

	// The same wave on SQLite, in a lab of its own.
	sl, sdir := startEphemeralLab(t, lab.Options{Scenario: sc})
	if code, out, errs := run(t, "copy", "--config", sl.ConfigPath, "--mailboxes", sl.CopyCSV); code != ExitSkipped {
		t.Fatalf("copy on SQLite: exit %d, want %d\n%s%s", code, ExitSkipped, out, errs)
	}
	sqliteWave := statusJSON(t, "--state", filepath.Join(sdir, "state.db"))
	if len(sqliteWave.Jobs) != 2 || sqliteWave.Totals.ItemsCopied == 0 || sqliteWave.Totals.ItemsSkipped != 1 {
		t.Fatalf("the wave on SQLite: %s, want ann and bea, items copied, bea's one skipped", waveShape(sqliteWave))
	}

	l, dir := startEphemeralLab(t, lab.Options{Scenario: sc})
	cfg := withStateURL(t, l, dir, dbURL)
	// Without an audit_log of its own, a PostgreSQL state's audit goes to
	// its table: one trail for every worker.
	withoutAuditLog(t, cfg)
	base := []string{"--config", cfg, "--mailboxes", l.CopyCSV}
	if code, out, errs := runPG(t, append([]string{"copy"}, base...)...); code != ExitSkipped {
		t.Fatalf("copy on PostgreSQL: exit %d, want %d\n%s%s", code, ExitSkipped, out, errs)
	}
	if _, err := os.Stat(filepath.Join(dir, "state.db")); err == nil {
		t.Error("the copy with state.url wrote a state file")
	}
	if _, err := os.Stat(filepath.Join(dir, "audit.jsonl")); err == nil {
		t.Error("the copy with state.url and no audit_log wrote an audit file")
	}
	if code, out, errs := runPG(t, "audit", "verify", "--config", cfg); code != ExitOK {
		t.Errorf("audit verify on the table: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs := runPG(t, "audit", "export", "--config", cfg)
	if code != ExitOK {
		t.Fatalf("audit export: exit %d\n%s%s", code, out, errs)
	}
	creates := 0
	if err := audit.Read(strings.NewReader(out), func(e audit.Entry) error {
		if e.Action == audit.ActionItemCreate && e.Outcome == audit.OutcomeOK {
			creates++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if want := statusJSON(t, "--config", cfg).Totals.ItemsCopied; int64(creates) != want || creates == 0 {
		t.Errorf("the audit table holds %d item creates, the state %d items copied", creates, want)
	}
	code, out, errs = runPG(t, "status", "--config", cfg, "-o", "json")
	if code != ExitOK {
		t.Fatalf("status on PostgreSQL: exit %d\n%s%s", code, out, errs)
	}
	var pgWave wavestatus.Wave
	if err := json.Unmarshal([]byte(out), &pgWave); err != nil {
		t.Fatal(err)
	}
	if got, want := waveShape(&pgWave), waveShape(sqliteWave); got != want {
		t.Errorf("status on PostgreSQL\n got %s\nwant %s (as on SQLite)", got, want)
	}
	if !strings.HasPrefix(pgWave.StateFile, "database exmigrate_test_") {
		t.Errorf("status names the state %q, want the database", pgWave.StateFile)
	}
	if code, out, errs := runPG(t, "status", "--config", cfg); code != ExitOK || !strings.Contains(out, "(the state database exmigrate_test_") {
		t.Errorf("status table: exit %d, want it to name the database\n%s%s", code, out, errs)
	}
	// --state FILE wins over the config's database.
	if w := statusJSON(t, "--config", cfg, "--state", filepath.Join(sdir, "state.db")); w.StateFile != filepath.Join(sdir, "state.db") || waveShape(w) != waveShape(sqliteWave) {
		t.Errorf("status --state with a URL config read %s", w.StateFile)
	}
	// Status selects from the database (--only) and says what it names.
	code, out, errs = runPG(t, "status", "--config", cfg, "--mailbox", "zed@contoso.com")
	if code != ExitUsage || !strings.Contains(errs, "not in the state database exmigrate_test_") {
		t.Errorf("status --mailbox unknown: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs = runPG(t, append([]string{"copy", "--only", "partial", "--dry-run"}, base...)...)
	if code != ExitOK || !strings.Contains(out, "bea@contoso.com") || strings.Contains(out, "ann@contoso.com") {
		t.Errorf("copy --only partial: exit %d, want bea only\n%s%s", code, out, errs)
	}

	// finalize signs off in the database.
	if code, out, errs := runPG(t, append([]string{"finalize", "--approve-skipped", "--note", "CHG-7"}, base...)...); code != ExitOK {
		t.Fatalf("finalize on PostgreSQL: exit %d\n%s%s", code, out, errs)
	}
	ro, err := pgstore.OpenReadOnly(context.Background(), dbURL, secret.Secret{})
	if err != nil {
		t.Fatal(err)
	}
	sos, err := ro.SignOffs(context.Background())
	ro.Close()
	if err != nil || len(sos) != 2 {
		t.Fatalf("sign-offs in the database: %+v, %v; want ann's and bea's", sos, err)
	}
	if w := statusJSON(t, "--config", cfg); len(w.Jobs) != 2 || w.Totals.States["completed"] != 2 {
		t.Errorf("status after finalize: %s, want both completed", mailboxes(w))
	}

	// serve shows the database's wave.
	outputs.WriteString(servePage(t, cfg, "/api/wave", `"state": "completed"`, `"mailbox": "bea@contoso.com"`))

	// report --copy-results config reads the database.
	assessment, reportDir := filepath.Join(dir, "assessment.json"), filepath.Join(dir, "report")
	if code, out, errs := runPG(t, "assess", "--config", cfg, "--mailboxes", l.CopyCSV, "--out", assessment); code != ExitOK {
		t.Fatalf("assess: exit %d\n%s%s", code, out, errs)
	}
	if code, out, errs := runPG(t, "report", "--config", cfg, "--in", assessment, "--copy-results", "config", "--only", "completed",
		"--format", "json", "--out", reportDir); code != ExitOK {
		t.Fatalf("report --copy-results config: exit %d\n%s%s", code, out, errs)
	}
	data, err := os.ReadFile(filepath.Join(reportDir, "assessment.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Mailboxes []struct {
			Address string `json:"address"`
			Copy    *struct {
				Status  string `json:"status"`
				SignOff *struct {
					Note string `json:"note"`
				} `json:"sign_off"`
			} `json:"copy"`
		} `json:"mailboxes"`
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	signed := 0
	for _, m := range rep.Mailboxes {
		if m.Copy != nil && m.Copy.Status == "completed" && m.Copy.SignOff != nil {
			signed++
		}
	}
	if len(rep.Mailboxes) != 2 || signed != 2 {
		t.Errorf("report from the database: %d mailboxes, %d signed off; want 2 and 2: %s", len(rep.Mailboxes), signed, data)
	}

	// state prune: nothing is old enough yet; made old, the jobs go.
	code, out, errs = runPG(t, "state", "prune", "--config", cfg, "--completed", "--older-than", "1d", "--yes")
	if code != ExitOK || !strings.Contains(out, "removed 0 job(s) from database exmigrate_test_") {
		t.Fatalf("state prune of recent jobs: exit %d\n%s%s", code, out, errs)
	}
	ageJobs(t, dbURL)
	code, out, errs = runPG(t, "state", "prune", "--config", cfg, "--completed", "--older-than", "1d")
	if code != ExitOK || !strings.Contains(out, "would remove 2 job(s)") {
		t.Fatalf("state prune dry run: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs = runPG(t, "state", "prune", "--config", cfg, "--completed", "--older-than", "1d", "--yes")
	if code != ExitOK || !strings.Contains(out, "removed 2 job(s)") {
		t.Fatalf("state prune: exit %d\n%s%s", code, out, errs)
	}
	if w := statusJSON(t, "--config", cfg); len(w.Jobs) != 0 {
		t.Errorf("status after prune: %s", mailboxes(w))
	}
	if strings.Contains(outputs.String(), password) {
		t.Error("the state password is in the output")
	}
}

// waveShape is what must agree between stores: each job's mailbox,
// state, passes and counts, and the totals (not times or where).
func waveShape(w *wavestatus.Wave) string {
	type job struct {
		Mailbox, Target, State                   string
		Passes                                   int
		Copied, Bytes, Skipped, Pending, Folders int64
	}
	var jobs []job
	for _, j := range w.Jobs {
		jobs = append(jobs, job{j.Mailbox, j.Target, string(j.State), j.Passes, j.ItemsCopied, j.BytesCopied, j.ItemsSkipped, j.ItemsPending, int64(j.FailedFolders)})
	}
	// Jobs are in id order: the order parallel copies created them.
	slices.SortFunc(jobs, func(a, b job) int { return strings.Compare(a.Mailbox, b.Mailbox) })
	b, _ := json.Marshal(struct {
		Jobs   []job
		Totals wavestatus.Totals
	}{jobs, w.Totals})
	return string(b)
}

// ageJobs moves every job's passes two days back.
func ageJobs(t *testing.T, dbURL string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `UPDATE jobs SET last_start = last_start - interval '2 days', last_end = last_end - interval '2 days'`); err != nil {
		t.Fatal(err)
	}
}

// servePage runs serve with the config, GETs path, checks that the answer
// holds want, stops serve and returns what it said and served.
func servePage(t *testing.T, cfg, path string, want ...string) string {
	t.Helper()
	g, out := testGlobals()
	g.ConfigPath = cfg
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr := make(chan string, 1)
	done := make(chan error, 1)
	opts := &serveOptions{g: g, Listen: "127.0.0.1:0", Refresh: time.Second, ready: func(a string) { addr <- a }}
	go func() { done <- serveRun(ctx, opts) }()
	var base string
	select {
	case a := <-addr:
		base = "http://" + a
	case err := <-done:
		t.Fatalf("serve ended: %v\n%s", err, out)
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not start")
	}
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
			t.Errorf("GET %s lacks %q:\n%s", path, w, b)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve after Ctrl-C: %v", err)
	}
	if !strings.Contains(out.String(), "serving the status of database exmigrate_test_") {
		t.Errorf("serve said %q, want it to name the database", out.String())
	}
	return out.String() + string(b)
}

// withoutAuditLog removes the lab config's audit_log line.
func withoutAuditLog(t *testing.T, cfg string) {
	t.Helper()
	data, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	without := regexp.MustCompile(`(?m)^audit_log: .*\n`).ReplaceAll(data, nil)
	if len(without) == len(data) {
		t.Fatal("the lab's config has no audit_log line")
	}
	if err := os.WriteFile(cfg, without, 0o600); err != nil {
		t.Fatal(err)
	}
}
