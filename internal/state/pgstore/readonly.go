package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/exmigrate/exmigrate/internal/secret"
)

// ErrNoState is returned by OpenReadOnly for a database that holds no
// exmigrate state: no copy has written to it yet (or state.url names the
// wrong database).
var ErrNoState = errors.New("the state database holds no exmigrate state")

// OpenReadOnly opens the state database to read it, for the commands that
// only report on it (status, serve, report): it never creates or migrates
// the schema, and every write fails with records.ErrReadOnly (its sessions
// are read-only on the server, so no write gets through whatever the
// code path). It refuses a database without exmigrate's schema
// (ErrNoState), one written by a newer exmigrate (ErrNewerSchema) and one
// an older build wrote, with what to do.
func OpenReadOnly(ctx context.Context, rawURL string, password secret.Secret) (*Store, error) {
	s, _, err := connect(ctx, rawURL, password, true)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*Store, error) {
		s.pool.Close()
		return nil, fmt.Errorf("state: %w", err)
	}
	var table *string
	if err := s.pool.QueryRow(ctx, `SELECT to_regclass('exmigrate_schema')::text`).Scan(&table); err != nil {
		return fail(fmt.Errorf("%s: %w", s.where, err))
	}
	if table == nil {
		return fail(fmt.Errorf("%w: %s has no exmigrate tables: run copy with this config first (before the first copy every mailbox is not-started), "+
			"or check that state.url names the database the copies use", ErrNoState, s.where))
	}
	var version int
	if err := s.pool.QueryRow(ctx, `SELECT version FROM exmigrate_schema`).Scan(&version); err != nil {
		return fail(fmt.Errorf("%s: reading the schema version: %w", s.where, err))
	}
	switch {
	case version > SchemaVersion:
		return fail(fmt.Errorf("%w: %s has schema version %d, this build knows up to %d: upgrade exmigrate on this machine",
			ErrNewerSchema, s.where, version, SchemaVersion))
	case version < SchemaVersion:
		return fail(fmt.Errorf("%s was written by an older exmigrate (schema version %d): run copy with this build once to bring it to version %d",
			s.where, version, SchemaVersion))
	}
	return s, nil
}
