package main

import (
	"errors"

	"github.com/exmigrate/exmigrate/internal/config"
)

// stateRefFor is the state of status, serve and state prune: --state, else
// the state of the config (state.path, or the database of state.url),
// found as for every command (./exmigrate.yaml ...), not only when
// --config names it.
func stateRefFor(g *globalOptions, flag string) (stateRef, error) {
	if flag != "" {
		return fileState(flag), nil
	}
	cfg, err := g.loadConfig()
	var nf *config.NotFoundError
	if errors.As(err, &nf) {
		return stateRef{}, usageErrorf("no state file: give --state, or --config whose state.path names it (%v)", err)
	}
	if err != nil {
		return stateRef{}, err
	}
	return configState(cfg, ""), nil
}
