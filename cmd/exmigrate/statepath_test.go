package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/exmigrate/exmigrate/internal/lab"
)

// withStateURL writes a copy of the lab's config whose state is the
// PostgreSQL database at stateURL instead of the lab's state file, and
// returns its path.
func withStateURL(t *testing.T, l *lab.Lab, dir, stateURL string) string {
	t.Helper()
	cfg, err := os.ReadFile(l.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	withURL := regexp.MustCompile(`(?m)^state:\n  path: .*$`).ReplaceAllLiteralString(string(cfg), "state:\n  url: "+stateURL)
	if withURL == string(cfg) {
		t.Fatal("the lab's config has no state.path to replace")
	}
	path := filepath.Join(dir, "pg.yaml")
	if err := os.WriteFile(path, []byte(withURL), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestStateURLUnreachable: a config whose state is a PostgreSQL database
// nobody answers for fails every command that uses the state with where
// it tried (host and database, never the password) and what to check;
// --state FILE still wins over the config.
func TestStateURLUnreachable(t *testing.T) {
	const password = "pw-Zq81-never-shown"
	t.Setenv("EXMIGRATE_STATE_PASSWORD", password)
	l, dir := startSmallLab(t, lab.Options{})
	// Port 1 on the loopback: refused at once.
	path := withStateURL(t, l, dir, "postgres://migr@127.0.0.1:1/exmigrate?sslmode=disable&connect_timeout=5")
	for _, args := range [][]string{
		{"copy", "--config", path, "--mailboxes", l.CopyCSV},
		{"finalize", "--config", path, "--mailboxes", l.CopyCSV},
		{"status", "--config", path},
		{"serve", "--config", path, "--listen", "127.0.0.1:0"},
		{"state", "prune", "--config", path, "--completed", "--older-than", "30d"},
		{"copy", "--config", path, "--mailboxes", l.CopyCSV, "--only", "failed"},
	} {
		code, out, errs := run(t, args...)
		if code == ExitOK || !strings.Contains(errs, "database exmigrate on 127.0.0.1:1") || !strings.Contains(errs, "check state.url") {
			t.Errorf("%s: exit %d, want a failure naming the database and what to check\n%s%s", strings.Join(args[:2], " "), code, out, errs)
		}
		if strings.Contains(out+errs, password) {
			t.Errorf("%s: the password is in the output\n%s%s", args[0], out, errs)
		}
	}
	// --state still names a file.
	if code, out, errs := run(t, "status", "--config", path, "--state", filepath.Join(dir, "none.db")); code != ExitUsage || !strings.Contains(errs, "none.db does not exist") {
		t.Errorf("--state with a URL config: exit %d, want the file's error\n%s%s", code, out, errs)
	}
	// A password in the URL is refused by the config, without repeating it.
	bad := withStateURL(t, l, dir, "postgres://migr:"+password+"@127.0.0.1:1/exmigrate")
	if code, out, errs := run(t, "status", "--config", bad); code != ExitUsage || strings.Contains(out+errs, password) || !strings.Contains(errs, "must not carry a password") {
		t.Errorf("a password in state.url: exit %d\n%s%s", code, out, errs)
	}
}
