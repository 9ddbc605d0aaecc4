package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse: no input panics, every error names something, and an accepted
// config has its defaults and no secret value in it.
func FuzzParse(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "config", "*.yaml"))
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(string(b))
		}
	}
	f.Add("onprem:\n  password: x\n")
	f.Add("filters:\n  max_item_size: 1.5GB\n")
	f.Fuzz(func(t *testing.T, doc string) {
		cfg, err := Parse([]byte(doc))
		if err != nil {
			if strings.TrimSpace(err.Error()) == "" {
				t.Fatal("empty error")
			}
			return
		}
		if cfg.OnPrem == nil && cfg.Cloud == nil {
			t.Fatal("accepted a config with neither side")
		}
		if cfg.State.Path == "" || cfg.AuditLog == "" || cfg.Concurrency.Mailboxes < 1 {
			t.Fatalf("defaults missing: %+v", cfg)
		}
		if cfg.OnPrem != nil && cfg.OnPrem.PasswordEnv == "" && cfg.OnPrem.PasswordFile == "" {
			t.Fatal("accepted an on-prem side without a password source")
		}
	})
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"35MB", "150 MB", "1.5GB", "1048576", "-1", "MB", "9e99GB"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseSize(s)
		if err == nil && (n < 0 || n > 1<<50) {
			t.Fatalf("ParseSize(%q) = %d", s, n)
		}
	})
}
