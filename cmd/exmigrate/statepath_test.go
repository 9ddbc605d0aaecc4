package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/exmigrate/exmigrate/internal/lab"
)

// TestStateURLNotYetUsedByTheCommands: a config whose state is a
// PostgreSQL URL is refused by the commands that use the state, saying
// what to do, instead of failing on an empty file name.
func TestStateURLNotYetUsedByTheCommands(t *testing.T) {
	l, dir := startSmallLab(t, lab.Options{})
	cfg, err := os.ReadFile(l.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	withURL := regexp.MustCompile(`(?m)^state:\n  path: .*$`).ReplaceAllString(string(cfg), "state:\n  url: postgres://migr@db.contoso.com:5432/exmigrate")
	if withURL == string(cfg) {
		t.Fatal("the lab's config has no state.path to replace")
	}
	path := filepath.Join(dir, "pg.yaml")
	if err := os.WriteFile(path, []byte(withURL), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"copy", "--config", path, "--mailboxes", l.CopyCSV},
		{"finalize", "--config", path, "--mailboxes", l.CopyCSV},
		{"status", "--config", path},
	} {
		code, out, errs := run(t, args...)
		if code != ExitUsage || !strings.Contains(errs, "state.url names a PostgreSQL state") {
			t.Errorf("%s: exit %d, want %d with the reason\n%s%s", args[0], code, ExitUsage, out, errs)
		}
	}
	// --state still names a file.
	if code, out, errs := run(t, "status", "--config", path, "--state", filepath.Join(dir, "none.db")); code == ExitUsage && strings.Contains(errs, "state.url") {
		t.Errorf("--state with a URL config: exit %d\n%s%s", code, out, errs)
	}
}
