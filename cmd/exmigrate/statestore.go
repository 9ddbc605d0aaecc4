package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/exmigrate/exmigrate/engine"
	"github.com/exmigrate/exmigrate/internal/config"
	"github.com/exmigrate/exmigrate/internal/state"
	"github.com/exmigrate/exmigrate/internal/state/pgstore"
)

// stateStore is what the commands need of the state: the engine's store,
// the queries of status, serve, prune, report and finalize, and a name for
// messages. The SQLite file and the PostgreSQL database both give it, held
// to the same results by internal/state/storetest.
type stateStore interface {
	engine.Store
	// Where names the state: the file's path, or "database d on
	// host:port" (never the URL, which may hold a password).
	Where() string
	Wave(ctx context.Context) ([]state.JobSummary, error)
	WaveJob(ctx context.Context, jobID int64) (state.JobSummary, bool, error)
	RecentSkipped(ctx context.Context, jobID int64, limit int) ([]engine.ItemRecord, error)
	SkippedItems(ctx context.Context, jobID int64, fn func(engine.ItemRecord) error) error
	Prune(ctx context.Context, rule state.PruneRule) ([]engine.JobRecord, error)
	PutSignOff(ctx context.Context, so state.SignOff) error
	SignOffs(ctx context.Context) (map[int64]state.SignOff, error)
}

var (
	_ stateStore = (*state.SQLite)(nil)
	_ stateStore = (*pgstore.Store)(nil)
)

// stateRef is the state a command uses: a file (--state, or state.path of
// the config), or the PostgreSQL database of the config's state.url.
type stateRef struct {
	path string         // the file; "" when the state is the database
	cfg  *config.Config // the config whose state.url names the database
}

// fileState is a state file named on the command line.
func fileState(path string) stateRef { return stateRef{path: path} }

// configState is the state a loaded config names; flag, a file given on
// the command line (--state), wins over it.
func configState(cfg *config.Config, flag string) stateRef {
	switch {
	case flag != "":
		return stateRef{path: flag}
	case cfg.State.URL != "":
		return stateRef{cfg: cfg}
	}
	return stateRef{path: cfg.Path(cfg.State.Path)}
}

// isZero: no state named (no --state and no config).
func (r stateRef) isZero() bool { return r.path == "" && r.cfg == nil }

// isDB: the state is the PostgreSQL database of state.url.
func (r stateRef) isDB() bool { return r.path == "" && r.cfg != nil }

// open opens the state to write (copy, finalize, state prune --yes): a
// file is created when missing, a database's schema brought to this
// build's version.
func (r stateRef) open(ctx context.Context) (stateStore, error) {
	if !r.isDB() {
		return state.Open(ctx, r.path)
	}
	return asStateStore(state.OpenConfigured(ctx, r.cfg, ""))
}

// openReadOnly opens the state to read it beside copies; a missing file
// or a database without exmigrate's tables is a usage error that says
// which state and where its name comes from. flag names what asks
// (status, --only ...).
func (r stateRef) openReadOnly(ctx context.Context, flag string) (stateStore, error) {
	if r.isZero() {
		return nil, usageErrorf("%s: no state file: give --state, or --config whose state.path (or state.url) names it", flag)
	}
	if !r.isDB() {
		store, err := state.OpenReadOnly(ctx, r.path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, usageErrorf("%s: the state file %s does not exist: give the one copy wrote (--state, or state.path in the config); "+
				"before the first copy every mailbox is not-started", flag, r.path)
		}
		return store, err
	}
	store, err := asStateStore(state.OpenConfiguredReadOnly(ctx, r.cfg, ""))
	if errors.Is(err, pgstore.ErrNoState) {
		return nil, usageErrorf("%s: %w", flag, err)
	}
	return store, err
}

// asStateStore gives the commands' view of what state.OpenConfigured
// opened; both stores are one (see the assertions above).
func asStateStore(s engine.Store, err error) (stateStore, error) {
	if err != nil {
		return nil, err
	}
	st, ok := s.(stateStore)
	if !ok {
		s.Close()
		return nil, fmt.Errorf("state: the store %T lacks the queries the commands need", s)
	}
	return st, nil
}

// stateName names the state in status's errors: the file as before, or
// the database where it is.
func stateName(ref stateRef, store stateStore) string {
	if ref.isDB() {
		return "the state " + store.Where()
	}
	return ""
}
