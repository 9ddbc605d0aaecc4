package state

import (
	"context"
	"fmt"

	"github.com/exmigrate/exmigrate/engine"
	"github.com/exmigrate/exmigrate/internal/config"
	"github.com/exmigrate/exmigrate/internal/state/pgstore"
)

// OpenConfigured opens the state store the configuration names: the
// PostgreSQL database of state.url (its password from state.password_env,
// state.password_file or EXMIGRATE_STATE_PASSWORD), or else the SQLite
// file of state.path, relative to the config file. path, when not empty,
// is a state file given on the command line (copy --state): it wins over
// the config, so that one run can use a file of its own.
//
// The store's Close releases it. Both stores also give the commands' own
// queries (Wave, Prune, SignOffs ...; storetest.QueryStore), which the
// commands reach through an interface of their own.
func OpenConfigured(ctx context.Context, cfg *config.Config, path string) (engine.Store, error) {
	if path == "" && cfg.State.URL != "" {
		pw, err := cfg.StatePassword()
		if err != nil {
			return nil, fmt.Errorf("state: %w", err)
		}
		return pgstore.Open(ctx, cfg.State.URL, pw)
	}
	if path == "" {
		path = cfg.Path(cfg.State.Path)
	}
	return Open(ctx, path)
}
