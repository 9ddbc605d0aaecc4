package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/engine"
	"github.com/exmigrate/exmigrate/internal/audit"
	"github.com/exmigrate/exmigrate/internal/config"
	"github.com/exmigrate/exmigrate/internal/secret"
	"github.com/exmigrate/exmigrate/internal/state/pgstore"
	"github.com/exmigrate/exmigrate/internal/state/pgstore/pgtest"
)

// auditConfig writes a config with one side and the given state and
// audit_log lines, and loads it.
func auditConfig(t *testing.T, stateAndAudit string) (string, *config.Config) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "exmigrate.yaml")
	body := "onprem:\n  ews_url: https://mail.contoso.com/EWS/Exchange.asmx\n  domain: CONTOSO\n  username: svc\n  password_env: EXM_PW\n" + stateAndAudit
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, cfg
}

func TestAuditTargetOf(t *testing.T) {
	const url = "postgres://exm@db.contoso.com/exmigrate"
	tests := []struct {
		name             string
		config           string
		stateFlag, audit string
		wantURL          bool
		wantFile         string // base name
	}{
		{name: "state file, default audit_log", config: "state:\n  path: s.db\n", wantFile: config.DefaultAuditLog},
		{name: "no state block", config: "", wantFile: config.DefaultAuditLog},
		{name: "PostgreSQL state, default audit_log", config: "state:\n  url: " + url + "\n", wantURL: true},
		{name: "PostgreSQL state, audit_log of its own", config: "state:\n  url: " + url + "\naudit_log: wave1.jsonl\n", wantFile: "wave1.jsonl"},
		{name: "PostgreSQL state, --audit-log", config: "state:\n  url: " + url + "\n", audit: "/tmp/x/given.jsonl", wantFile: "given.jsonl"},
		{name: "PostgreSQL state, --state file", config: "state:\n  url: " + url + "\n", stateFlag: "s.db", wantFile: config.DefaultAuditLog},
		{name: "state file, --audit-log", config: "state:\n  path: s.db\n", audit: "given.jsonl", wantFile: "given.jsonl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, cfg := auditConfig(t, tt.config)
			got := auditTargetOf(cfg, tt.stateFlag, tt.audit)
			switch {
			case tt.wantURL && (got.url != url || got.file != ""):
				t.Errorf("got %+v, want the table of %s", got, url)
			case !tt.wantURL && (got.url != "" || filepath.Base(got.file) != tt.wantFile):
				t.Errorf("got %+v, want the file %s", got, tt.wantFile)
			}
		})
	}
}

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	cet := time.FixedZone("CET", 3600)
	tests := []struct {
		in      string
		want    time.Time
		wantErr bool
	}{
		{in: "", want: time.Time{}},
		{in: "2026-11-30T08:00:00Z", want: time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)},
		{in: "2026-11-30T08:00:00.5+01:00", want: time.Date(2026, 11, 30, 7, 0, 0, 5e8, time.UTC)},
		{in: "2026-11-30", want: time.Date(2026, 11, 30, 0, 0, 0, 0, cet)},
		{in: " 24h ", want: now.Add(-24 * time.Hour)},
		{in: "7d", want: now.Add(-7 * 24 * time.Hour)},
		{in: "2w", want: now.Add(-14 * 24 * time.Hour)},
		{in: "yesterday", wantErr: true},
		{in: "-3h", wantErr: true},
		{in: "2026-13-01", wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseSince(tt.in, now, cet)
		if (err != nil) != tt.wantErr || !got.Equal(tt.want) {
			t.Errorf("parseSince(%q) = %v, %v; want %v (error %v)", tt.in, got, err, tt.want, tt.wantErr)
		}
		if err != nil && !strings.Contains(err.Error(), "--since") {
			t.Errorf("parseSince(%q): %v does not name the flag", tt.in, err)
		}
	}
}

func FuzzParseSince(f *testing.F) {
	for _, s := range []string{"", "2026-11-30T08:00:00Z", "2026-11-30", "24h", "7d", "0d", "99999999w", "2026-02-30", "1e3h"} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseSince(s, now, time.UTC)
		if err != nil {
			if !got.IsZero() {
				t.Errorf("%q: error %v with a time %v", s, err, got)
			}
			return
		}
		// An age is in the past; no input gives a time after now that is
		// not written as a time or a date.
		if strings.TrimSpace(s) == "" && !got.IsZero() {
			t.Errorf("%q: %v, want no bound", s, got)
		}
		if _, perr := time.Parse(time.RFC3339Nano, strings.TrimSpace(s)); perr != nil && len(strings.TrimSpace(s)) != len(time.DateOnly) && got.After(now) {
			t.Errorf("%q: an age gives %v, after now", s, got)
		}
	})
}

// TestAuditTrailOnPostgres: with a PostgreSQL state, two workers' engines
// record in the state's table; audit export prints their entries as the
// file's lines, in order; audit verify finds the write a killed worker
// left started, until another worker confirms it.
func TestAuditTrailOnPostgres(t *testing.T) {
	ctx := context.Background()
	dbURL := pgtest.NewDatabase(t)
	path, cfg := auditConfig(t, "state:\n  url: "+dbURL+"\n")
	op := func(loc string) string { return "svc-" + loc }

	// Before any copy: reading creates nothing, and says why there is no trail.
	if code, _, stderr := run(t, "audit", "export", "--config", path); code != ExitUsage || !strings.Contains(stderr, "no exmigrate tables") {
		t.Errorf("export before any copy: exit %d: %s", code, stderr)
	}

	a, err := openAuditFor(ctx, cfg, "", "", op, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The second writes through a state store it already holds, as copy
	// and worker do: no second pool, and closing the trail leaves the
	// store open.
	held, err := pgstore.Open(ctx, dbURL, secret.Secret{})
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	b, err := openAuditFor(ctx, cfg, "", "", op, held)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := b.Close(); err != nil {
			t.Error(err)
		}
		if _, err := held.Jobs(ctx); err != nil {
			t.Errorf("the held store after its audit trail closed: %v", err)
		}
	}()
	// The same events in a file, to compare the lines with.
	filePath := filepath.Join(t.TempDir(), "audit.jsonl")
	f, err := openAudit(filePath, op)
	if err != nil {
		t.Fatal(err)
	}
	item := engine.AuditEvent{Mailbox: "alice@contoso.com", Location: "cloud", Action: audit.ActionItemCreate, SourceID: "stamp-1",
		Object: "Inbox: Q3", Outcome: audit.OutcomeStarted}
	itemOK := item
	itemOK.Outcome, itemOK.TargetID = audit.OutcomeOK, "AAMk1"
	folder := engine.AuditEvent{Mailbox: "alice@contoso.com", Location: "cloud", Action: audit.ActionFolderCreate, Object: "Inbox/Projects",
		Outcome: audit.OutcomeStarted}
	bobStarted := engine.AuditEvent{Mailbox: "bob@contoso.com", Location: "onprem", Action: audit.ActionItemCreate, SourceID: "stamp-2",
		Outcome: audit.OutcomeStarted}
	failed := bobStarted
	failed.Outcome, failed.Err = audit.OutcomeError, "PUT https://x.example/upload?tempauth=sekrit failed"
	steps := []struct {
		log *auditLog
		e   engine.AuditEvent
	}{{a, item}, {a, itemOK}, {a, folder}, {b, bobStarted}, {b, failed}}
	for _, s := range steps {
		if err := s.log.Record(ctx, s.e); err != nil {
			t.Fatal(err)
		}
		if err := f.Record(ctx, s.e); err != nil {
			t.Fatal(err)
		}
	}
	// Worker A is killed after starting the folder.
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	code, out, stderr := run(t, "audit", "export", "--config", path)
	if code != ExitOK {
		t.Fatalf("export: exit %d: %s", code, stderr)
	}
	wantLines := withoutTimes(t, mustRead(t, filePath))
	if got := withoutTimes(t, out); got != wantLines {
		t.Errorf("export:\n%s\nwant (the file's):\n%s", got, wantLines)
	}
	if strings.Contains(out, "sekrit") || !strings.Contains(out, "svc-cloud") || !strings.Contains(out, "svc-onprem") {
		t.Errorf("export: a credential, or not the operators:\n%s", out)
	}

	// --out writes a file of mode 0600; --since in the future keeps nothing.
	outFile := filepath.Join(t.TempDir(), "trail.jsonl")
	if code, _, stderr := run(t, "audit", "export", "--config", path, "--out", outFile); code != ExitOK || !strings.Contains(stderr, "exported 5 audit entries") {
		t.Fatalf("export --out: exit %d: %s", code, stderr)
	}
	if fi, err := os.Stat(outFile); err != nil || fi.Mode().Perm() != 0o600 || mustRead(t, outFile) != out {
		t.Errorf("export --out: %v, %v", fi, err)
	}
	if code, out, _ := run(t, "audit", "export", "--config", path, "--since", time.Now().Add(time.Hour).Format(time.RFC3339)); code != ExitOK || out != "" {
		t.Errorf("export --since in an hour: exit %d, %q", code, out)
	}
	if code, _, stderr := run(t, "audit", "export", "--config", path, "--since", "soon"); code != ExitUsage || !strings.Contains(stderr, `--since "soon"`) {
		t.Errorf("export --since soon: exit %d: %s", code, stderr)
	}

	// Unfinished: the folder A started, and bob's item in doubt.
	code, out, stderr = run(t, "audit", "verify", "--config", path)
	if code != ExitFailed || !strings.Contains(out, "Inbox/Projects") || !strings.Contains(out, "stamp-2") || strings.Contains(out, "Inbox: Q3") ||
		!strings.Contains(stderr, "2 of 3 writes without their outcome in the audit table") {
		t.Errorf("verify: exit %d\n%s\n%s", code, out, stderr)
	}
	// The file says the same.
	if code, fout, _ := run(t, "audit", "verify", "--config", path, "--audit-log", filePath); code != ExitFailed || fout != out {
		t.Errorf("verify of the file: exit %d\n%s\nwant\n%s", code, fout, out)
	}
	// Worker B finds the folder A left started, and bob's item, done.
	for _, e := range []engine.AuditEvent{folder, failed} {
		open, err := b.Unfinished(ctx, e)
		if err != nil || !open {
			t.Fatalf("B: %s unfinished %v, %v; want true", e.Action, open, err)
		}
		e.Outcome, e.Err, e.Note = audit.OutcomeOK, "", "written by an interrupted run"
		if err := b.Record(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if code, out, stderr := run(t, "audit", "verify", "--config", path); code != ExitOK || !strings.Contains(out, "7 entries in the audit table of the state database: each of the 3 writes started has its outcome") {
		t.Errorf("verify after B: exit %d\n%s\n%s", code, out, stderr)
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// withoutTimes re-encodes each line with its time cleared: the file and
// the table were written a moment apart.
func withoutTimes(t *testing.T, lines string) string {
	t.Helper()
	var b bytes.Buffer
	err := audit.Read(strings.NewReader(lines), func(e audit.Entry) error {
		e.Time = time.Unix(0, 0)
		line, err := audit.Line(e)
		b.Write(line)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}
