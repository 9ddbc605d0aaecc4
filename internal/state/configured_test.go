package state

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/exmigrate/exmigrate/internal/config"
	"github.com/exmigrate/exmigrate/internal/state/pgstore"
	"github.com/exmigrate/exmigrate/internal/state/pgstore/pgtest"
	"github.com/exmigrate/exmigrate/internal/state/records"
)

const onprem = "onprem:\n  ews_url: https://mail.contoso.com/EWS/Exchange.asmx\n  username: svc@contoso.com\n  password_env: PW\n"

func loadConfig(t *testing.T, dir, doc string) *config.Config {
	t.Helper()
	p := filepath.Join(dir, "exmigrate.yaml")
	if err := os.WriteFile(p, []byte(onprem+doc), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestOpenConfigured(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cases := []struct {
		name, doc, path string
		wantFile        string // the SQLite file expected; "" for PostgreSQL
		wantErr         string
	}{
		{"the default file beside the config", "", "", filepath.Join(dir, "exmigrate-state.db"), ""},
		{"state.path", "state:\n  path: jobs.db\n", "", filepath.Join(dir, "jobs.db"), ""},
		{"--state wins over state.url", "state:\n  url: postgres://exm@127.0.0.1:1/exm\n", filepath.Join(dir, "flag.db"), filepath.Join(dir, "flag.db"), ""},
		// Nothing listens on port 1: the database is what Open tried.
		{"state.url", "state:\n  url: postgres://exm@127.0.0.1:1/exm?sslmode=disable\n", "", "", "cannot reach the server"},
		{"state.url with an unset password variable", "state:\n  url: postgres://exm@127.0.0.1:1/exm\n  password_env: EXM_TEST_UNSET_PW\n", "", "",
			"state: state.password_env: environment variable EXM_TEST_UNSET_PW"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := OpenConfigured(ctx, loadConfig(t, dir, c.doc), c.path)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			sq, ok := s.(*SQLite)
			if !ok || sq.path != c.wantFile {
				t.Fatalf("opened %T %+v, want the SQLite file %s", s, s, c.wantFile)
			}
		})
	}
}

// TestOpenConfiguredPostgres opens the database of state.url with the
// password from the environment, when a server is there to test against.
func TestOpenConfiguredPostgres(t *testing.T) {
	u := pgtest.NewDatabase(t)
	t.Setenv(config.DefaultStatePasswordEnv, "")
	cfg := loadConfig(t, t.TempDir(), "state:\n  url: "+u+"\n")
	s, err := OpenConfigured(context.Background(), cfg, "")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, ok := s.(*pgstore.Store); !ok {
		t.Fatalf("opened %T, want *pgstore.Store", s)
	}
}

// TestOpenConfiguredReadOnly: the read-only open takes the same state as
// OpenConfigured, creates nothing, and refuses writes; a database without
// exmigrate's tables is refused, not set up.
func TestOpenConfiguredReadOnly(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := loadConfig(t, dir, "state:\n  path: jobs.db\n")
	if _, err := OpenConfiguredReadOnly(ctx, cfg, ""); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a missing file: %v, want fs.ErrNotExist", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "jobs.db")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the read-only open created the file (%v)", err)
	}
	w, err := OpenConfigured(ctx, cfg, "")
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	s, err := OpenConfiguredReadOnly(ctx, cfg, "")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Job(ctx, onboard); !errors.Is(err, records.ErrReadOnly) {
		t.Errorf("a write through the read-only store: %v, want records.ErrReadOnly", err)
	}

	u := pgtest.NewDatabase(t)
	pg := loadConfig(t, t.TempDir(), "state:\n  url: "+u+"\n")
	if _, err := OpenConfiguredReadOnly(ctx, pg, ""); !errors.Is(err, pgstore.ErrNoState) {
		t.Fatalf("an empty database: %v, want pgstore.ErrNoState", err)
	}
	pw, err := OpenConfigured(ctx, pg, "")
	if err != nil {
		t.Fatal(err)
	}
	pw.Close()
	ro, err := OpenConfiguredReadOnly(ctx, pg, "")
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if _, err := ro.Job(ctx, onboard); !errors.Is(err, records.ErrReadOnly) {
		t.Errorf("a write through the read-only database: %v, want records.ErrReadOnly", err)
	}
}
