package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// SchemaVersion is the layout this build writes, kept in the one row of
// exmigrate_schema. Raise it with every change and add the step to
// migrations.
const SchemaVersion = 4

// ErrNewerSchema is returned by Open for a database written by a newer
// exmigrate: an older build must not write to a layout it does not know.
var ErrNewerSchema = errors.New("the state database was written by a newer exmigrate")

// ErrForeignDatabase is returned by Open for a database that holds tables
// of another program and no exmigrate schema.
var ErrForeignDatabase = errors.New("the state database belongs to another program")

// migrateLock is the advisory lock that serializes Open's schema work
// between processes starting at once ("EXMG" in its low bytes), so that two
// workers opening a new database do not both create the tables.
const migrateLock = 0x45584d47

// migrations[v] brings a database from version v to v+1; version 0 is an
// empty database. Every step runs in the same transaction as the version
// bump, so a failed step leaves the database as it was.
//
// Identifiers compare byte by byte (COLLATE "C"), as in SQLite: Exchange
// ids are case-sensitive, and listings page by source id, which must sort
// the same on every server whatever its locale. Times are timestamptz, NULL
// for the zero time; a lease's expiry is always the server's clock.
var migrations = []string{
	0: `
CREATE TABLE jobs (
	id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	source_address  text NOT NULL,
	source_location text NOT NULL,
	target_address  text NOT NULL,
	target_location text NOT NULL,
	source_norm     text COLLATE "C" NOT NULL,
	target_norm     text COLLATE "C" NOT NULL,
	status          text NOT NULL,
	passes          integer NOT NULL DEFAULT 0,
	last_start      timestamptz,
	last_end        timestamptz,
	last_error      text NOT NULL DEFAULT '',
	paths           text NOT NULL DEFAULT '',
	created         timestamptz NOT NULL DEFAULT now(),
	UNIQUE (source_norm, source_location, target_norm, target_location)
);

CREATE TABLE folders (
	job_id           bigint NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
	source_folder_id text COLLATE "C" NOT NULL,
	source_path      text COLLATE "C" NOT NULL,
	target_folder_id text NOT NULL,
	target_path      text NOT NULL,
	sync_state       text NOT NULL,
	source_count     bigint NOT NULL,
	target_count     bigint NOT NULL,
	updated          timestamptz NOT NULL,
	PRIMARY KEY (job_id, source_folder_id)
);

CREATE TABLE items (
	job_id           bigint NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
	source_id        text COLLATE "C" NOT NULL,
	source_item_id   text NOT NULL,
	source_folder_id text COLLATE "C" NOT NULL,
	target_item_id   text COLLATE "C" NOT NULL,
	size_bytes       bigint NOT NULL CHECK (size_bytes >= 0),
	is_read          boolean NOT NULL,
	outcome          text NOT NULL CHECK (outcome IN ('pending', 'copied', 'skipped')),
	reason           text NOT NULL,
	updated          timestamptz NOT NULL,
	subject          text NOT NULL,
	kind             text NOT NULL,
	version          text NOT NULL,
	content_hash     text NOT NULL,
	losses           text NOT NULL,
	fingerprint      text NOT NULL,
	PRIMARY KEY (job_id, source_id)
);
-- PendingItems and CopiedItems page through one folder's outcome by id.
CREATE INDEX items_folder_outcome ON items (job_id, source_folder_id, outcome, source_id);
-- TargetRecorded: is a target item already another item's copy?
CREATE INDEX items_target ON items (job_id, target_item_id) WHERE target_item_id <> '';

-- One owner per job (engine/lease.go): who holds it and until when, by
-- the server's clock.
CREATE TABLE leases (
	job_id  bigint PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
	token   text NOT NULL,
	host    text NOT NULL,
	pid     integer NOT NULL,
	since   timestamptz,
	expires timestamptz NOT NULL
);

-- The fidelity probe's verdict per pair of endpoints.
CREATE TABLE probes (
	pair           text COLLATE "C" PRIMARY KEY,
	source_address text NOT NULL,
	target_address text NOT NULL,
	at             timestamptz,
	result         jsonb NOT NULL
);
`,
	// Step 1 to 2: finalize's sign-offs (signoff.go), as in the SQLite file.
	1: `
CREATE TABLE signoffs (
	job_id          bigint PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
	at              timestamptz NOT NULL,
	operator        text NOT NULL,
	items_on_target bigint NOT NULL,
	skipped         bigint NOT NULL,
	approved        bigint NOT NULL,
	note            text NOT NULL
);
`,
	// Step 2 to 3: the audit trail of every worker (audit.go).
	2: auditSchema,
	// Step 3 to 4: a folder whose items are being written without a
	// pending record each (engine.FolderRecord.WritesOpen).
	3: `ALTER TABLE folders ADD COLUMN writes_open boolean NOT NULL DEFAULT false;`,
}

// migrate creates or upgrades the schema in one transaction under an
// advisory lock. It refuses a database with a newer schema, and one that
// holds another program's tables, before it writes anything.
func migrate(ctx context.Context, conn interface {
	Begin(context.Context) (pgx.Tx, error)
}, where string) error {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // a no-op after Commit

	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrateLock)); err != nil {
		return err
	}
	var schema *string
	if err := tx.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return err
	}
	if schema == nil {
		return fmt.Errorf("%s has no schema to create tables in (search_path names none that exists): "+
			"create one or fix the user's search_path", where)
	}
	var table *string
	if err := tx.QueryRow(ctx, `SELECT to_regclass('exmigrate_schema')::text`).Scan(&table); err != nil {
		return err
	}
	version := 0
	if table == nil {
		// No exmigrate schema: a new database is empty; anything else in
		// it is somebody else's, and exmigrate adds no tables beside them.
		var n int
		var names *string
		err := tx.QueryRow(ctx, `SELECT count(*), string_agg(c.relname, ', ' ORDER BY c.relname)
			FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'f')`).Scan(&n, &names)
		if err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%w: %s holds %d tables (%s) and no exmigrate_schema table: "+
				"give exmigrate a database of its own (createdb exmigrate) and name it in state.url",
				ErrForeignDatabase, where, n, shorten(*names))
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE exmigrate_schema (
			one     boolean PRIMARY KEY DEFAULT true CHECK (one),
			version integer NOT NULL,
			updated timestamptz NOT NULL DEFAULT now())`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO exmigrate_schema (version) VALUES (0)`); err != nil {
			return err
		}
	} else if err := tx.QueryRow(ctx, `SELECT version FROM exmigrate_schema`).Scan(&version); err != nil {
		return fmt.Errorf("%s: reading the schema version: %w", where, err)
	}
	if version > SchemaVersion {
		return fmt.Errorf("%w: %s has schema version %d, this build knows up to %d: upgrade exmigrate on this machine "+
			"(every worker on a database must run the same version)", ErrNewerSchema, where, version, SchemaVersion)
	}
	if version == SchemaVersion {
		return nil // nothing to write; the rollback ends the read
	}
	for v := version; v < SchemaVersion; v++ {
		if _, err := tx.Exec(ctx, migrations[v]); err != nil {
			return fmt.Errorf("schema step %d to %d: %w", v, v+1, err)
		}
	}
	if _, err := tx.Exec(ctx, `UPDATE exmigrate_schema SET version = $1, updated = now()`, SchemaVersion); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// shorten keeps an error message readable for a database of many tables.
func shorten(s string) string {
	const max = 120
	if len(s) <= max {
		return s
	}
	return s[:max] + ", ..."
}
