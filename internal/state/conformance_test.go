package state

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/exmigrate/exmigrate/engine"
	"github.com/exmigrate/exmigrate/internal/state/storetest"
)

// TestConformance runs the store suite on a state file; the second handle
// opens the same file, as a second process would.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) (engine.Store, func(*testing.T) engine.Store) {
		path := filepath.Join(t.TempDir(), "state.db")
		open := func(t *testing.T) engine.Store {
			t.Helper()
			s, err := Open(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		return open(t), open
	})
}

// TestQueryConformance runs the commands' queries on a state file; the
// read-only handle is what status, serve and report open beside a copy.
func TestQueryConformance(t *testing.T) {
	storetest.RunQueries(t, func(t *testing.T) (storetest.QueryStore, func(*testing.T) storetest.QueryStore) {
		path := filepath.Join(t.TempDir(), "state.db")
		s, err := Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		return s, func(t *testing.T) storetest.QueryStore {
			t.Helper()
			r, err := OpenReadOnly(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
	})
}
