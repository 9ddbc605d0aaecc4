package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// applicationID marks a SQLite file as an exmigrate state file ("EXMG" in
// the file header), so that Open refuses somebody else's database instead
// of adding tables to it.
const applicationID = 0x45584d47

// schemaVersion is the layout this build writes, kept in PRAGMA
// user_version. Raise it with every change and add the step to migrations.
const schemaVersion = 9

// ErrNotStateFile is returned by Open for a file that is not an exmigrate
// state file: not SQLite at all, or a SQLite database of another program.
var ErrNotStateFile = errors.New("not an exmigrate state file")

// ErrEmptyStateFile is returned by Open and OpenReadOnly for a state file
// of 0 bytes, and by OpenReadOnly for a SQLite file with no records in it.
var ErrEmptyStateFile = errors.New("the state file is empty")

// ErrDamaged is returned for a state file SQLite cannot read: damaged
// pages, or a header that is no longer SQLite's.
var ErrDamaged = errors.New("the state file is damaged")

// Remedy is what to do about an empty, damaged or lost state file, as the
// engine behaves today (TestStateRemediesAsDocumented in cmd/exmigrate pins
// it): a backup older than the last pass makes the next pass write that
// pass's items again, because its folder records say the target folders
// were listed already; a new state file makes the next pass list each
// target folder's stamps and adopt what is there, which misses only items
// a user moved to another folder on the target.
const Remedy = `restore it from a backup taken after the last copy pass (an older backup makes the next pass copy again ` +
	`what later passes copied); if there is none, read "Losing the state file" in the README before you run copy ` +
	`with a new state file: the next pass finds what is already on the target by its stamps and copies only what ` +
	`is missing, but it copies again the items a user moved to another folder on the target`

// ErrNewerSchema is returned by Open for a state file written by a newer
// exmigrate: an older build must not write to a layout it does not know.
var ErrNewerSchema = errors.New("state file was written by a newer exmigrate")

// migrations[v] brings a file from version v to v+1. Version 0 is an empty
// file. Every step runs in the same transaction as the version bump.
var migrations = []string{
	0: `
CREATE TABLE jobs (
	id              INTEGER PRIMARY KEY,
	source_address  TEXT    NOT NULL,
	source_location TEXT    NOT NULL,
	target_address  TEXT    NOT NULL,
	target_location TEXT    NOT NULL,
	-- Addresses compare case-insensitively (RFC 5321 domains are, Exchange
	-- local parts are too); lowered in Go so non-ASCII folds as well.
	source_norm     TEXT    NOT NULL,
	target_norm     TEXT    NOT NULL,
	status          TEXT    NOT NULL,
	passes          INTEGER NOT NULL DEFAULT 0,
	last_start      INTEGER NOT NULL DEFAULT 0, -- unix nanoseconds UTC, 0 for never
	last_end        INTEGER NOT NULL DEFAULT 0,
	last_error      TEXT    NOT NULL DEFAULT '',
	created         INTEGER NOT NULL,
	UNIQUE (source_norm, source_location, target_norm, target_location)
) STRICT;

CREATE TABLE folders (
	job_id           INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
	source_folder_id TEXT    NOT NULL,
	source_path      TEXT    NOT NULL,
	target_folder_id TEXT    NOT NULL,
	target_path      TEXT    NOT NULL,
	sync_state       TEXT    NOT NULL,
	source_count     INTEGER NOT NULL,
	target_count     INTEGER NOT NULL,
	updated          INTEGER NOT NULL,
	PRIMARY KEY (job_id, source_folder_id)
) STRICT;

-- A rowid table, not WITHOUT ROWID: Exchange ids make rows of several
-- hundred bytes, past the size where a clustered key pays off.
CREATE TABLE items (
	job_id           INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
	source_id        TEXT    NOT NULL,
	source_item_id   TEXT    NOT NULL,
	source_folder_id TEXT    NOT NULL,
	target_item_id   TEXT    NOT NULL,
	size_bytes       INTEGER NOT NULL,
	is_read          INTEGER NOT NULL,
	outcome          TEXT    NOT NULL CHECK (outcome IN ('pending', 'copied', 'skipped')),
	reason           TEXT    NOT NULL,
	updated          INTEGER NOT NULL,
	PRIMARY KEY (job_id, source_id)
) STRICT;

-- PendingItems, and per-folder reconciliation counts.
CREATE INDEX items_folder_outcome ON items (job_id, source_folder_id, outcome);
`,
	// One owner per job (engine/lease.go): who holds it and until when.
	1: `
CREATE TABLE leases (
	job_id  INTEGER PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
	token   TEXT    NOT NULL,
	host    TEXT    NOT NULL,
	pid     INTEGER NOT NULL,
	since   INTEGER NOT NULL, -- unix nanoseconds UTC
	expires INTEGER NOT NULL
) STRICT;
`,
	// The subject of each item, so that a later line about it (a read
	// update, whose change from EWS names only the id; a skip listed in a
	// report) names it. Empty for items recorded before.
	2: `
ALTER TABLE items ADD COLUMN subject TEXT NOT NULL DEFAULT '';
`,
	// Every kind moves: per item its kind (per-kind counts), the source
	// version and content hash last written (a changed contact, event or
	// task is updated in place) and what the target could not carry.
	3: `
ALTER TABLE items ADD COLUMN kind TEXT NOT NULL DEFAULT '';
ALTER TABLE items ADD COLUMN version TEXT NOT NULL DEFAULT '';
ALTER TABLE items ADD COLUMN content_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE items ADD COLUMN losses TEXT NOT NULL DEFAULT '';
`,
	// The content path of each kind at the last pass (full-fidelity,
	// mime, typed, or not carried), for the report.
	4: `
ALTER TABLE jobs ADD COLUMN paths TEXT NOT NULL DEFAULT '';
`,
	// An item imported without a stamp (Graph's import API) is found
	// after a crash by its fingerprint, recorded before the write; the
	// index answers whether a target item is already another item's copy.
	// The fidelity probe's verdict per pair of endpoints (JSON).
	5: `
ALTER TABLE items ADD COLUMN fingerprint TEXT NOT NULL DEFAULT '';
CREATE INDEX items_target ON items (job_id, target_item_id) WHERE target_item_id <> '';
CREATE TABLE probes (
	pair TEXT PRIMARY KEY,
	source_address TEXT NOT NULL,
	target_address TEXT NOT NULL,
	at INTEGER NOT NULL,
	result TEXT NOT NULL
) STRICT;
`,
	// finalize's sign-off of a job: who accepted its reconciliation, when,
	// and how many skipped items they approved.
	6: `
CREATE TABLE signoffs (
	job_id          INTEGER PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
	at              INTEGER NOT NULL,
	operator        TEXT    NOT NULL,
	items_on_target INTEGER NOT NULL,
	skipped         INTEGER NOT NULL,
	approved        INTEGER NOT NULL,
	note            TEXT    NOT NULL
) STRICT;
`,
	// The indexes on folder and target ids held the ids themselves (100 to
	// 200 characters each), and keeping them up to date was most of the
	// CPU an item's record cost; they now hold a 64-bit key of the id
	// (keyOf; the queries compare the id as well, so a collision costs a
	// row read, never a wrong answer). backfillKeys fills the keys of
	// the items recorded before.
	7: `
ALTER TABLE items ADD COLUMN folder_key INTEGER NOT NULL DEFAULT 0;
ALTER TABLE items ADD COLUMN target_key INTEGER NOT NULL DEFAULT 0;
DROP INDEX items_folder_outcome;
DROP INDEX items_target;
`,
	// A folder whose items are being written without a pending record
	// each (engine.FolderRecord.WritesOpen): a pass wrote two records per
	// item before, and the first was a third of the state's CPU.
	8: `
ALTER TABLE folders ADD COLUMN writes_open INTEGER NOT NULL DEFAULT 0;
`,
}

// afterMigration[v] runs after migrations[v], in the same transaction: a
// step SQL cannot express.
var afterMigration = map[int]func(context.Context, *sql.Tx) error{
	7: backfillKeys,
}

// itemKeyIndexes are created once the keys are filled (step 7): an index
// built on a full table is built faster than one kept up to date row by
// row.
const itemKeyIndexes = `
CREATE INDEX items_folder_key ON items (job_id, folder_key, outcome);
CREATE INDEX items_target_key ON items (job_id, target_key) WHERE target_key <> 0;
`

// backfillKeys computes folder_key and target_key for every item, in Go
// (SQLite has no hash function), then creates the indexes on them.
func backfillKeys(ctx context.Context, tx *sql.Tx) error {
	type row struct {
		id             int64
		folder, target string
	}
	var rows []row
	q, err := tx.QueryContext(ctx, `SELECT rowid, source_folder_id, target_item_id FROM items`)
	if err != nil {
		return err
	}
	for q.Next() {
		var r row
		if err := q.Scan(&r.id, &r.folder, &r.target); err != nil {
			q.Close()
			return err
		}
		rows = append(rows, r)
	}
	q.Close()
	if err := q.Err(); err != nil {
		return err
	}
	st, err := tx.PrepareContext(ctx, `UPDATE items SET folder_key = ?, target_key = ? WHERE rowid = ?`)
	if err != nil {
		return err
	}
	defer st.Close()
	for _, r := range rows {
		if _, err := st.ExecContext(ctx, keyOf(r.folder), keyOf(r.target), r.id); err != nil {
			return err
		}
	}
	_, err = tx.ExecContext(ctx, itemKeyIndexes)
	return err
}

// keyOf is the 64-bit key the indexes hold for an id: FNV-1a, never 0
// for an id that is not empty; 0 for the empty id (an item with no target
// yet), which the partial index leaves out.
func keyOf(id string) int64 {
	if id == "" {
		return 0
	}
	h := uint64(14695981039346656037)
	for i := 0; i < len(id); i++ {
		h ^= uint64(id[i])
		h *= 1099511628211
	}
	if h == 0 {
		h = 1
	}
	return int64(h)
}

// checkIdentity refuses a file that is not ours before anything is written
// to it, including the journal mode change, which would be persistent. An
// empty file passes: migrate creates the schema.
func checkIdentity(ctx context.Context, db *sql.DB) error {
	var appID, version, tables int64
	// The first read is where SQLite notices a file that is not a database.
	if err := db.QueryRowContext(ctx, `PRAGMA application_id`).Scan(&appID); err != nil {
		if isNotADB(err) {
			return fmt.Errorf("%w (not a SQLite database): if it is the state file earlier copies wrote, it is damaged: %s; "+
				"if the path is wrong, give the right one (state.path in the config, or copy --state)", ErrNotStateFile, Remedy)
		}
		if isCorrupt(err) {
			return fmt.Errorf("%w (%v): %s", ErrDamaged, err, Remedy)
		}
		if isCantOpen(err) {
			return fmt.Errorf("%w: check that the directory exists and is writable", err)
		}
		return err
	}
	if err := db.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&version); err != nil {
		return err
	}
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema`).Scan(&tables); err != nil {
		if isCorrupt(err) || isNotADB(err) {
			return fmt.Errorf("%w (%v): %s", ErrDamaged, err, Remedy)
		}
		return err
	}
	switch {
	case appID == 0 && version == 0 && tables == 0:
		return nil
	case appID != applicationID:
		return fmt.Errorf("%w (a SQLite database of another program): check the path (state.path in the config, or copy --state); "+
			"exmigrate writes nothing into another program's database", ErrNotStateFile)
	case version > schemaVersion:
		return fmt.Errorf("%w (schema version %d, this build knows up to %d): upgrade exmigrate",
			ErrNewerSchema, version, schemaVersion)
	}
	return nil
}

// migrate creates or upgrades the schema in one immediate transaction, so
// two processes opening a new file at once do not both create it.
func migrate(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil) // BEGIN IMMEDIATE: see the writer DSN
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit

	var version int
	if err := tx.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&version); err != nil {
		return err
	}
	if version > schemaVersion {
		return fmt.Errorf("%w (schema version %d, this build knows up to %d): upgrade exmigrate",
			ErrNewerSchema, version, schemaVersion)
	}
	if version == schemaVersion {
		return nil
	}
	for v := version; v < schemaVersion; v++ {
		if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
			return fmt.Errorf("schema step %d to %d: %w", v, v+1, err)
		}
		if after := afterMigration[v]; after != nil {
			if err := after(ctx, tx); err != nil {
				return fmt.Errorf("schema step %d to %d: %w", v, v+1, err)
			}
		}
	}
	// PRAGMA takes no bound parameters; both values are constants.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA application_id = %d`, applicationID)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, schemaVersion)); err != nil {
		return err
	}
	return tx.Commit()
}
