package main

import "github.com/exmigrate/exmigrate/internal/config"

// stateFile is the SQLite state file the commands use: --state, else
// state.path of the config. A config whose state is a PostgreSQL URL is
// refused with what to do: the PostgreSQL store exists (pgstore) and
// passes the store suite, but the commands do not use it yet (issue 18),
// and an empty path would fail with a message that says nothing of it.
func stateFile(cfg *config.Config, flag string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	if cfg.State.URL != "" && cfg.State.Path == "" {
		return "", usageErrorf("state.url names a PostgreSQL state, which this build's commands do not use yet (the store exists; the commands are wired to it next): use state.path for a state file, or give --state FILE")
	}
	return cfg.Path(cfg.State.Path), nil
}
