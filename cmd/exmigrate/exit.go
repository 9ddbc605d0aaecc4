package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/exmigrate/exmigrate/internal/backend"
	"github.com/exmigrate/exmigrate/internal/config"
)

// Exit codes, documented in the README and in `exmigrate --help`.
const (
	ExitOK          = 0   // everything done
	ExitFailed      = 1   // something failed
	ExitUsage       = 2   // bad flags, arguments or configuration
	ExitSkipped     = 3   // finished, but some items were skipped
	ExitInterrupted = 130 // stopped by Ctrl-C or SIGTERM; rerun to resume
)

// exitError carries the exit code a command wants.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageError marks bad flags, arguments or configuration (exit 2).
func usageError(err error) error { return &exitError{code: ExitUsage, err: err} }

func usageErrorf(format string, args ...any) error {
	return usageError(fmt.Errorf(format, args...))
}

// errSkipped is returned by a command that finished with skipped items.
var errSkipped = errors.New("finished with skipped items")

func exitCode(err error) int {
	var ee *exitError
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, context.Canceled):
		return ExitInterrupted
	case errors.As(err, &ee):
		return ee.code
	case errors.Is(err, errSkipped):
		return ExitSkipped
	}
	return ExitFailed
}

// connectSides builds the protocol clients; config problems exit 2.
func connectSides(ctx context.Context, cfg *config.Config, log *slog.Logger, opts ...backend.Option) (*backend.Sides, error) {
	s, err := backend.Connect(ctx, cfg, log, opts...)
	var ce *backend.ConfigError
	if errors.As(err, &ce) {
		return nil, usageError(ce.Err)
	}
	return s, err
}
