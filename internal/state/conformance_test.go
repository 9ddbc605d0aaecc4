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
