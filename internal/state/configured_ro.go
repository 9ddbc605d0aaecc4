package state

import (
	"context"
	"fmt"

	"github.com/exmigrate/exmigrate/engine"
	"github.com/exmigrate/exmigrate/internal/config"
	"github.com/exmigrate/exmigrate/internal/state/pgstore"
)

// OpenConfiguredReadOnly is OpenConfigured for the commands that only
// report on the state (status, serve, report, --only): it opens the
// PostgreSQL database of state.url with pgstore.OpenReadOnly, or the file
// (path, when not empty, else state.path) with OpenReadOnly. Neither
// creates nor migrates anything, and every write fails.
func OpenConfiguredReadOnly(ctx context.Context, cfg *config.Config, path string) (engine.Store, error) {
	if path == "" && cfg.State.URL != "" {
		pw, err := cfg.StatePassword()
		if err != nil {
			return nil, fmt.Errorf("state: %w", err)
		}
		return pgstore.OpenReadOnly(ctx, cfg.State.URL, pw)
	}
	if path == "" {
		path = cfg.Path(cfg.State.Path)
	}
	return OpenReadOnly(ctx, path)
}
