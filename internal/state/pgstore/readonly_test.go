package pgstore

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/exmigrate/exmigrate/engine"
	"github.com/exmigrate/exmigrate/internal/secret"
	"github.com/exmigrate/exmigrate/internal/state/records"
)

// TestOpenReadOnlyRefuses: the read-only open never creates or migrates
// the schema; it refuses an empty database, a newer and an older schema
// with what to do, and leaves each as it was.
func TestOpenReadOnlyRefuses(t *testing.T) {
	ctx := context.Background()
	setVersion := func(v int) func(t *testing.T) string {
		return func(t *testing.T) string {
			u := newDatabase(t)
			s := open(t, u)
			defer s.Close()
			if _, err := s.pool.Exec(ctx, `UPDATE exmigrate_schema SET version = $1`, v); err != nil {
				t.Fatal(err)
			}
			return u
		}
	}
	cases := []struct {
		name    string
		prepare func(t *testing.T) string
		is      error
		says    []string
		version int // the version left in the database; -1: no schema table
	}{
		{"an empty database", func(t *testing.T) string { return newDatabase(t) }, ErrNoState, []string{"no exmigrate tables", "run copy"}, -1},
		{"a newer schema", setVersion(99), ErrNewerSchema, []string{"schema version 99", "upgrade exmigrate"}, 99},
		{"an older schema", setVersion(1), nil, []string{"older exmigrate (schema version 1)", "run copy with this build once"}, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			u := c.prepare(t)
			s, err := OpenReadOnly(ctx, u, secret.Secret{})
			if err == nil {
				s.Close()
				t.Fatal("OpenReadOnly succeeded")
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("err = %v, want %v", err, c.is)
			}
			for _, w := range c.says {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %v, want it to say %q", err, w)
				}
			}
			// Nothing was written: no schema created, no version changed.
			conn, err := connectAdmin(ctx, u)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			version := -1
			var table *string
			if err := conn.QueryRow(ctx, `SELECT to_regclass('exmigrate_schema')::text`).Scan(&table); err != nil {
				t.Fatal(err)
			}
			if table != nil {
				if err := conn.QueryRow(ctx, `SELECT version FROM exmigrate_schema`).Scan(&version); err != nil {
					t.Fatal(err)
				}
			}
			if version != c.version {
				t.Errorf("schema version after OpenReadOnly = %d, want %d as it was", version, c.version)
			}
		})
	}
}

// TestMigrateSignOffs: a database of schema version 1 (before sign-offs,
// and the audit table after them) gets the sign-offs table when a writer
// opens it, keeping its jobs.
func TestMigrateSignOffs(t *testing.T) {
	ctx := context.Background()
	u := newDatabase(t)
	s := open(t, u)
	j, err := s.Job(ctx, engineKey("ann@contoso.com"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, `DROP TABLE signoffs, audit_entries; ALTER TABLE folders DROP COLUMN writes_open; UPDATE exmigrate_schema SET version = 1`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open(t, u)
	defer s.Close()
	if err := s.PutSignOff(ctx, signOff(j.ID)); err != nil {
		t.Fatalf("a sign-off after the upgrade: %v", err)
	}
	var version int
	if err := s.pool.QueryRow(ctx, `SELECT version FROM exmigrate_schema`).Scan(&version); err != nil || version != SchemaVersion {
		t.Errorf("version after the upgrade = %d, %v; want %d", version, err, SchemaVersion)
	}
}

func engineKey(a string) engine.JobKey {
	return engine.JobKey{SourceAddress: a, SourceLocation: "onprem", TargetAddress: a, TargetLocation: "cloud"}
}

func signOff(job int64) records.SignOff {
	return records.SignOff{JobID: job, Operator: "pat"}
}

// connectAdmin opens one plain connection to look at a database as it is.
func connectAdmin(ctx context.Context, u string) (*pgxpool.Pool, error) {
	return pgxpool.New(ctx, u)
}

// TestPruneInSlices: a job with more items than one delete removes goes
// whole, slice by slice, and other jobs' items stay.
func TestPruneInSlices(t *testing.T) {
	ctx := context.Background()
	s := open(t, newDatabase(t))
	defer s.Close()
	big, err := s.Job(ctx, engineKey("big@contoso.com"))
	if err != nil {
		t.Fatal(err)
	}
	other, err := s.Job(ctx, engineKey("other@contoso.com"))
	if err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-48 * time.Hour)
	big.Status, big.LastStart, big.LastEnd = engine.JobDone, old, old
	if err := s.PutJob(ctx, big); err != nil {
		t.Fatal(err)
	}
	n := 2*records.PruneSlice + 7
	for _, j := range []struct {
		id int64
		n  int
	}{{big.ID, n}, {other.ID, 3}} {
		if _, err := s.pool.Exec(ctx, `INSERT INTO items (job_id, source_id, source_item_id, source_folder_id, target_item_id, size_bytes,
			is_read, outcome, reason, updated, subject, kind, version, content_hash, losses, fingerprint)
			SELECT $1, 'id' || g, '', 'f', 't' || g, 1, false, 'copied', '', now(), '', '', '', '', '', '' FROM generate_series(1, $2) g`, j.id, j.n); err != nil {
			t.Fatal(err)
		}
	}
	removed, err := s.Prune(ctx, records.PruneRule{Completed: true, Before: time.Now().Add(-time.Hour)})
	if err != nil || len(removed) != 1 || removed[0].ID != big.ID {
		t.Fatalf("Prune = %+v, %v; want the big job", removed, err)
	}
	var left, others int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE job_id = $1), count(*) FILTER (WHERE job_id = $2) FROM items`, big.ID, other.ID).Scan(&left, &others); err != nil {
		t.Fatal(err)
	}
	if left != 0 || others != 3 {
		t.Errorf("after Prune: %d items of the pruned job, %d of the other; want 0 and 3", left, others)
	}
}
