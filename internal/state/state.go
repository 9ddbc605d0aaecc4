// Package state is the copy engine's memory: engine.Store on an embedded
// SQLite file (modernc.org/sqlite, pure Go, no cgo).
//
// One file holds every job of a state directory. Writes go through a single
// connection, so goroutines of one process queue in database/sql instead of
// spinning in SQLite's busy handler; reads use a small pool of read-only
// connections that WAL lets run beside the writer. Every write is its own
// transaction: a process killed at any point leaves the file at the last
// committed write, and synchronous=NORMAL in WAL mode keeps that across a
// process kill (only a power loss may drop the last few commits).
package state

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/exmigrate/exmigrate/engine"
	"github.com/exmigrate/exmigrate/internal/state/records"
	"github.com/exmigrate/exmigrate/mailbox"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

var _ engine.Store = (*SQLite)(nil)

// busyTimeout is how long a statement waits for another process holding the
// write lock (a report run beside a copy) before SQLITE_BUSY. Inside one
// process writes never contend: they share one connection.
const busyTimeout = 10 * time.Second

// readers is the size of the read pool. More than the machine's cores buys
// nothing; fewer than the engine's workers only queues cheap point reads.
const readers = 4

// SQLite is the state store. It is safe for concurrent use.
type SQLite struct {
	readOnly bool // opened by OpenReadOnly: every write fails
	path     string
	write    *sql.DB // exactly one connection
	read     *sql.DB // read-only connections; == write when readers is 0
	closed   atomic.Bool

	putItem *sql.Stmt
	getItem *sql.Stmt
	// The statements run per folder and per page, prepared once: parsing
	// and planning took two thirds of a folder lookup.
	getFolder, putFolder, deletedAtSource, counts *sql.Stmt
	items                                         *itemWrites // group commit of PutItem; nil when read-only
}

// Open opens the state file at path, creating it and its schema when it
// does not exist. A new file appears at path whole (see create), so a file
// there is one a copy wrote: Open fails with ErrEmptyStateFile for an empty
// one, ErrDamaged for one SQLite cannot read, ErrNotStateFile for a file
// that is not an exmigrate state file and ErrNewerSchema for one written by
// a newer exmigrate. It never writes to a file it refuses.
func Open(ctx context.Context, path string) (*SQLite, error) {
	return open(ctx, path, readers)
}

// OpenReadOnly opens an existing state file to read it, for the commands
// that only report on it: it never creates, migrates or writes the file
// (its bytes and modification time stay as they were), and every write
// through the store fails. It refuses what Open refuses, and a missing file
// with an error that wraps fs.ErrNotExist.
func OpenReadOnly(ctx context.Context, path string) (*SQLite, error) {
	if path == "" {
		return nil, errors.New("state: open: empty path: give the state file's name")
	}
	if err := checkExisting(path); err != nil {
		return nil, fmt.Errorf("state: open %s: %w", path, err)
	}
	s := &SQLite{path: path, readOnly: true}
	fail := func(err error) (*SQLite, error) {
		s.closeDBs()
		return nil, fmt.Errorf("state: open %s: %w", path, err)
	}
	var err error
	if s.read, err = sql.Open("sqlite", dsn(path, modeReadOnlyFile)); err != nil {
		return fail(err)
	}
	s.read.SetMaxOpenConns(readers)
	s.read.SetMaxIdleConns(readers)
	s.read.SetConnMaxLifetime(0)
	s.write = s.read
	if err := checkIdentity(ctx, s.read); err != nil {
		return fail(err)
	}
	var appID, version int64
	if err := s.read.QueryRowContext(ctx, `PRAGMA application_id`).Scan(&appID); err != nil {
		return fail(damaged(path, err))
	}
	if err := s.read.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&version); err != nil {
		return fail(damaged(path, err))
	}
	switch {
	case appID != applicationID:
		// checkIdentity let it pass as new: a SQLite file with nothing in it.
		return fail(fmt.Errorf("%w: a SQLite file with no exmigrate records in it; no copy has written to it", ErrEmptyStateFile))
	case version < schemaVersion:
		return fail(fmt.Errorf("written by an older exmigrate (schema version %d): run copy with this build once to bring it to version %d", version, schemaVersion))
	}
	if s.putItem, err = s.read.PrepareContext(ctx, sqlPutItem); err != nil {
		return fail(damaged(path, err))
	}
	if s.getItem, err = s.read.PrepareContext(ctx, sqlGetItem); err != nil {
		return fail(damaged(path, err))
	}
	if err := s.prepareFolderStmts(ctx, s.read); err != nil {
		return fail(damaged(path, err))
	}
	return s, nil
}

func open(ctx context.Context, path string, nread int) (*SQLite, error) {
	if path == "" {
		return nil, errors.New("state: open: empty path: give the state file's name")
	}
	s := &SQLite{path: path}
	fail := func(err error) (*SQLite, error) {
		s.closeDBs()
		return nil, fmt.Errorf("state: open %s: %w", path, err)
	}
	err := checkExisting(path)
	if errors.Is(err, fs.ErrNotExist) {
		err = create(ctx, path)
	}
	if err != nil {
		return fail(err)
	}

	// The identity check runs before the journal mode is set: switching a
	// foreign database to WAL would change somebody else's file.
	s.write, err = sql.Open("sqlite", dsn(path, modeWrite))
	if err != nil {
		return fail(err)
	}
	s.write.SetMaxOpenConns(1)
	s.write.SetMaxIdleConns(1)
	s.write.SetConnMaxLifetime(0) // keep the connection: each new one reruns the pragmas

	if err := checkIdentity(ctx, s.write); err != nil {
		return fail(err)
	}
	if err := initialize(ctx, s.write); err != nil {
		return fail(err)
	}

	if nread > 0 {
		s.read, err = sql.Open("sqlite", dsn(path, modeReadPool))
		if err != nil {
			return fail(err)
		}
		s.read.SetMaxOpenConns(nread)
		s.read.SetMaxIdleConns(nread)
		s.read.SetConnMaxLifetime(0)
	} else {
		s.read = s.write
	}

	if s.putItem, err = s.write.PrepareContext(ctx, sqlPutItem); err != nil {
		return fail(err)
	}
	if s.getItem, err = s.read.PrepareContext(ctx, sqlGetItem); err != nil {
		return fail(err)
	}
	if err := s.prepareFolderStmts(ctx, s.write); err != nil {
		return fail(err)
	}
	s.startItemWrites()
	return s, nil
}

// initialize puts a state file in WAL mode and brings its schema to this
// build's version.
func initialize(ctx context.Context, db *sql.DB) error {
	var mode string
	// WAL is persistent in the file; setting it once covers every connection.
	if err := db.QueryRowContext(ctx, `PRAGMA journal_mode = WAL`).Scan(&mode); err != nil {
		return err
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("the file system refused WAL journal mode (got %q): put the state file on a local disk", mode)
	}
	return migrate(ctx, db)
}

// checkExisting refuses an empty file: exmigrate never leaves one (create
// puts a new file in place whole), so an empty state file was truncated or
// replaced: taking it for new would drop the record of every pass without
// a word (see Remedy for what that costs). A file of 0
// bytes whose WAL holds commits is not empty: SQLite reads them. A missing
// file is an error that wraps fs.ErrNotExist.
func checkExisting(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return errors.New("a folder, not a file: give the state file's path")
	}
	if fi.Size() > 0 {
		return nil
	}
	if wal, err := os.Stat(path + "-wal"); err == nil && wal.Size() > 0 {
		return nil
	}
	return fmt.Errorf("%w (0 bytes): exmigrate never leaves a state file empty, so it was truncated or replaced; %s", ErrEmptyStateFile, Remedy)
}

// create makes a new state file at path: it builds the schema in a
// private temporary file beside it, then links that into place, so the file
// appears at path whole or not at all. A process killed meanwhile leaves no
// empty file at path (only a temporary one); when another process put a
// state file at path first, create leaves it and Open opens that one.
func create(ctx context.Context, path string) error {
	// Private: the file names every mailbox copied. SQLite gives its -wal
	// and -shm files the same mode.
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".new-*")
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: create the directory first", err)
	}
	if err != nil {
		return err
	}
	name := tmp.Name()
	tmp.Close()
	defer os.Remove(name)
	db, err := sql.Open("sqlite", dsn(name, modeWrite))
	if err != nil {
		return err
	}
	db.SetMaxOpenConns(1)
	err = initialize(ctx, db)
	// Closing the last connection checkpoints the WAL into the file and
	// removes the -wal and -shm files.
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	err = os.Link(name, path)
	switch {
	case err == nil || errors.Is(err, fs.ErrExist):
		return nil
	case errors.Is(err, fs.ErrNotExist):
		return err
	}
	// A file system without hard links: rename, unless a state file
	// appeared at path meanwhile.
	if _, serr := os.Lstat(path); serr == nil {
		return nil
	}
	return os.Rename(name, path)
}

// How dsn opens the file.
const (
	modeWrite        = iota // the one writer: read-write, never creates the file
	modeReadPool            // Open's readers: query-only connections beside the writer
	modeReadOnlyFile        // OpenReadOnly: SQLite opens the file read-only
)

// dsn builds a file: URI, so that a path holding '?' or '#' stays a path.
// The pragmas are per connection and are rerun by the driver on each one.
func dsn(path string, mode int) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	p := filepath.ToSlash(abs)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // a Windows drive letter
	}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	// Write transactions take the write lock at BEGIN, so they wait in the
	// busy handler instead of failing when they would upgrade a read lock.
	q.Set("_txlock", "immediate")
	switch mode {
	case modeWrite:
		q.Set("mode", "rw") // only create makes a state file
	case modeReadPool:
		q.Set("mode", "rw")
		q.Set("_query_only", "1")
	case modeReadOnlyFile:
		q.Set("mode", "ro")
		q.Set("_query_only", "1")
	}
	return (&url.URL{Scheme: "file", Path: p, RawQuery: q.Encode()}).String()
}

// Close closes the store. Calls after the first return ErrStoreClosed.
func (s *SQLite) Close() error {
	if !s.closed.CompareAndSwap(false, true) {
		return fmt.Errorf("state: close: %w", engine.ErrStoreClosed)
	}
	s.stopItemWrites()
	if err := s.closeDBs(); err != nil {
		return fmt.Errorf("state: close %s: %w", s.path, err)
	}
	return nil
}

func (s *SQLite) closeDBs() error {
	var errs []error
	for _, st := range []*sql.Stmt{s.putItem, s.getItem, s.getFolder, s.putFolder, s.deletedAtSource, s.counts} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	if s.read != nil && s.read != s.write {
		errs = append(errs, s.read.Close())
	}
	if s.write != nil {
		// The last connection to close checkpoints the WAL into the file.
		errs = append(errs, s.write.Close())
	}
	return errors.Join(errs...)
}

// fail wraps err with the operation, and turns any error of a closed store
// (including "sql: database is closed" from a call racing Close) into
// ErrStoreClosed.
func (s *SQLite) fail(op string, err error) error {
	if s.closed.Load() {
		return fmt.Errorf("state: %s: %w", op, engine.ErrStoreClosed)
	}
	return fmt.Errorf("state: %s: %w", op, damaged(s.path, err))
}

// errClosed is checked first by every method, so that a closed store fails
// the same way whether or not validation would have.
func (s *SQLite) errClosed(op string) error {
	if s.closed.Load() {
		return fmt.Errorf("state: %s: %w", op, engine.ErrStoreClosed)
	}
	return nil
}

// errReadOnly is the error of a write to a store OpenReadOnly opened: the
// one every store wraps.
var errReadOnly = records.ErrReadOnly

// errWrite is errClosed for the methods that write, which a read-only
// store refuses before SQLite would.
func (s *SQLite) errWrite(op string) error {
	if err := s.errClosed(op); err != nil {
		return err
	}
	if s.readOnly {
		return fmt.Errorf("state: %s: %w", op, errReadOnly)
	}
	return nil
}

// Job returns the job's record, creating it with status new when it is new.
func (s *SQLite) Job(ctx context.Context, key engine.JobKey) (engine.JobRecord, error) {
	op := fmt.Sprintf("job %s (%s) -> %s (%s)", key.SourceAddress, key.SourceLocation, key.TargetAddress, key.TargetLocation)
	if err := s.errWrite(op); err != nil {
		return engine.JobRecord{}, err
	}
	key, err := normalizeKey(key)
	if err != nil {
		return engine.JobRecord{}, s.fail(op, err)
	}
	src, dst := strings.ToLower(key.SourceAddress), strings.ToLower(key.TargetAddress)

	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return engine.JobRecord{}, s.fail(op, err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit

	row := tx.QueryRowContext(ctx, sqlSelectJob+` WHERE source_norm = ? AND source_location = ? AND target_norm = ? AND target_location = ?`,
		src, key.SourceLocation, dst, key.TargetLocation)
	rec, err := scanJob(row)
	if errors.Is(err, sql.ErrNoRows) {
		rec = engine.JobRecord{Key: key, Status: engine.JobNew}
		err = tx.QueryRowContext(ctx, `INSERT INTO jobs
			(source_address, source_location, target_address, target_location, source_norm, target_norm, status, created)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			key.SourceAddress, key.SourceLocation, key.TargetAddress, key.TargetLocation, src, dst,
			engine.JobNew, time.Now().UnixNano()).Scan(&rec.ID)
	}
	if err != nil {
		return engine.JobRecord{}, s.fail(op, err)
	}
	if err := tx.Commit(); err != nil {
		return engine.JobRecord{}, s.fail(op, err)
	}
	return rec, nil
}

func normalizeKey(k engine.JobKey) (engine.JobKey, error) { return records.NormalizeKey(k) }

const sqlSelectJob = `SELECT id, source_address, source_location, target_address, target_location,
	status, passes, last_start, last_end, last_error, paths FROM jobs`

func scanJob(row interface{ Scan(...any) error }) (engine.JobRecord, error) {
	var r engine.JobRecord
	var start, end int64
	err := row.Scan(&r.ID, &r.Key.SourceAddress, &r.Key.SourceLocation, &r.Key.TargetAddress, &r.Key.TargetLocation,
		&r.Status, &r.Passes, &start, &end, &r.LastError, &r.Paths)
	r.LastStart, r.LastEnd = fromNanos(start), fromNanos(end)
	return r, err
}

// PutJob updates the job's status, passes, timings and last error. The key
// is fixed when the job is created.
func (s *SQLite) PutJob(ctx context.Context, rec engine.JobRecord) error {
	op := fmt.Sprintf("put job %d", rec.ID)
	if err := s.errWrite(op); err != nil {
		return err
	}
	if err := records.CheckStatus(rec.Status); err != nil {
		return s.fail(op, err)
	}
	res, err := s.write.ExecContext(ctx, `UPDATE jobs SET status = ?, passes = ?, last_start = ?, last_end = ?, last_error = ?, paths = ?
		WHERE id = ?`, rec.Status, rec.Passes, toNanos(rec.LastStart), toNanos(rec.LastEnd), rec.LastError, rec.Paths, rec.ID)
	if err != nil {
		return s.fail(op, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return s.fail(op, err)
	} else if n == 0 {
		return s.fail(op, fmt.Errorf("job %w", mailbox.ErrNotFound))
	}
	return nil
}

// Jobs lists every job in creation order.
func (s *SQLite) Jobs(ctx context.Context) ([]engine.JobRecord, error) {
	const op = "list jobs"
	if err := s.errClosed(op); err != nil {
		return nil, err
	}
	return queryAll(ctx, s, op, scanJob, sqlSelectJob+` ORDER BY id`)
}

const sqlSelectFolder = `SELECT job_id, source_folder_id, source_path, target_folder_id, target_path,
	sync_state, source_count, target_count, writes_open, updated FROM folders`

const (
	sqlGetFolder = sqlSelectFolder + ` WHERE job_id = ? AND source_folder_id = ?`
	sqlPutFolder = `INSERT INTO folders
		(job_id, source_folder_id, source_path, target_folder_id, target_path, sync_state, source_count, target_count, writes_open, updated)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (job_id, source_folder_id) DO UPDATE SET
			source_path = excluded.source_path, target_folder_id = excluded.target_folder_id,
			target_path = excluded.target_path, sync_state = excluded.sync_state,
			source_count = excluded.source_count, target_count = excluded.target_count,
			writes_open = excluded.writes_open, updated = excluded.updated`
	// sqlCounts adds up a job's items (Counts), three times a pass.
	sqlCounts = `SELECT outcome, kind, CASE outcome WHEN 'skipped' THEN reason ELSE '' END AS why,
		CASE outcome WHEN 'copied' THEN losses ELSE '' END AS lost,
		count(*), sum(size_bytes) FROM items WHERE job_id = ? GROUP BY outcome, kind, why, lost`
	sqlDeletedAtSource = `SELECT count(*) FROM items WHERE job_id = ? AND folder_key = ? AND source_folder_id = ? AND outcome = ? AND reason = ?`
)

// prepareFolderStmts prepares the folder statements: the reads on the
// read pool, the write on write (the read pool of a read-only store,
// where it is never run).
func (s *SQLite) prepareFolderStmts(ctx context.Context, write *sql.DB) error {
	var err error
	if s.getFolder, err = s.read.PrepareContext(ctx, sqlGetFolder); err != nil {
		return err
	}
	if s.deletedAtSource, err = s.read.PrepareContext(ctx, sqlDeletedAtSource); err != nil {
		return err
	}
	if s.counts, err = s.read.PrepareContext(ctx, sqlCounts); err != nil {
		return err
	}
	s.putFolder, err = write.PrepareContext(ctx, sqlPutFolder)
	return err
}

func scanFolder(row interface{ Scan(...any) error }) (engine.FolderRecord, error) {
	var r engine.FolderRecord
	var updated int64
	err := row.Scan(&r.JobID, &r.SourceFolderID, &r.SourcePath, &r.TargetFolderID, &r.TargetPath,
		&r.SyncState, &r.SourceCount, &r.TargetCount, &r.WritesOpen, &updated)
	r.Updated = fromNanos(updated)
	return r, err
}

// Folder returns one source folder's state; found is false for a folder
// not recorded before.
func (s *SQLite) Folder(ctx context.Context, jobID int64, sourceFolderID string) (engine.FolderRecord, bool, error) {
	op := fmt.Sprintf("folder job %d source %q", jobID, sourceFolderID)
	if err := s.errClosed(op); err != nil {
		return engine.FolderRecord{}, false, err
	}
	r, err := scanFolder(s.getFolder.QueryRowContext(ctx, jobID, sourceFolderID))
	if errors.Is(err, sql.ErrNoRows) {
		return engine.FolderRecord{}, false, nil
	}
	if err != nil {
		return engine.FolderRecord{}, false, s.fail(op, err)
	}
	return r, true, nil
}

// PutFolder inserts or replaces a folder's state. A zero Updated is set to
// the current time.
func (s *SQLite) PutFolder(ctx context.Context, rec engine.FolderRecord) error {
	op := fmt.Sprintf("put folder job %d source %q", rec.JobID, rec.SourceFolderID)
	if err := s.errWrite(op); err != nil {
		return err
	}
	if rec.SourceFolderID == "" {
		return s.fail(op, errors.New("source folder id is required"))
	}
	if rec.Updated.IsZero() {
		rec.Updated = time.Now()
	}
	return s.putFolderGrouped(ctx, rec)
}

func (s *SQLite) execPutFolder(ctx context.Context, st *sql.Stmt, rec engine.FolderRecord) error {
	_, err := st.ExecContext(ctx, rec.JobID, rec.SourceFolderID, rec.SourcePath, rec.TargetFolderID, rec.TargetPath, rec.SyncState,
		rec.SourceCount, rec.TargetCount, rec.WritesOpen, toNanos(rec.Updated))
	if err != nil {
		return s.fail(fmt.Sprintf("put folder job %d source %q", rec.JobID, rec.SourceFolderID), noJob(err, rec.JobID))
	}
	return nil
}

// Folders lists a job's folders by source path.
func (s *SQLite) Folders(ctx context.Context, jobID int64) ([]engine.FolderRecord, error) {
	op := fmt.Sprintf("list folders job %d", jobID)
	if err := s.errClosed(op); err != nil {
		return nil, err
	}
	return queryAll(ctx, s, op, scanFolder, sqlSelectFolder+` WHERE job_id = ? ORDER BY source_path, source_folder_id`, jobID)
}

const (
	itemColumns = `job_id, source_id, source_item_id, source_folder_id, target_item_id,
	size_bytes, is_read, outcome, reason, updated, subject, kind, version, content_hash, losses, fingerprint`
	sqlGetItem = `SELECT ` + itemColumns + ` FROM items WHERE job_id = ? AND source_id = ?`
	// folder_key and target_key are short stand-ins for the long ids in
	// the indexes (see keyOf): the two last parameters.
	sqlPutItem = `INSERT INTO items (` + itemColumns + `, folder_key, target_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (job_id, source_id) DO UPDATE SET
			source_item_id = excluded.source_item_id, source_folder_id = excluded.source_folder_id,
			folder_key = excluded.folder_key, target_key = excluded.target_key,
			target_item_id = excluded.target_item_id, size_bytes = excluded.size_bytes,
			is_read = excluded.is_read, outcome = excluded.outcome, reason = excluded.reason,
			updated = excluded.updated, subject = excluded.subject, kind = excluded.kind,
			version = excluded.version, content_hash = excluded.content_hash, losses = excluded.losses,
			fingerprint = excluded.fingerprint`
)

func scanItem(row interface{ Scan(...any) error }) (engine.ItemRecord, error) {
	var r engine.ItemRecord
	var updated int64
	err := row.Scan(&r.JobID, &r.SourceID, &r.SourceItemID, &r.SourceFolderID, &r.TargetItemID,
		&r.SizeBytes, &r.IsRead, &r.Outcome, &r.Reason, &updated, &r.Subject, &r.Kind, &r.Version, &r.ContentHash, &r.Losses, &r.Fingerprint)
	r.Updated = fromNanos(updated)
	return r, err
}

// Item returns one source item's record; found is false for an item not
// recorded before.
func (s *SQLite) Item(ctx context.Context, jobID int64, sourceID string) (engine.ItemRecord, bool, error) {
	op := fmt.Sprintf("item job %d source %q", jobID, sourceID)
	if err := s.errClosed(op); err != nil {
		return engine.ItemRecord{}, false, err
	}
	r, err := scanItem(s.getItem.QueryRowContext(ctx, jobID, sourceID))
	if errors.Is(err, sql.ErrNoRows) {
		return engine.ItemRecord{}, false, nil
	}
	if err != nil {
		return engine.ItemRecord{}, false, s.fail(op, err)
	}
	return r, true, nil
}

// ItemsBySource returns the records of the items among sourceIDs that
// have one, by source id, reading them in slices of itemsPerLookup ids.
func (s *SQLite) ItemsBySource(ctx context.Context, jobID int64, sourceIDs []string) (map[string]engine.ItemRecord, error) {
	op := fmt.Sprintf("items job %d", jobID)
	if err := s.errClosed(op); err != nil {
		return nil, err
	}
	out := make(map[string]engine.ItemRecord, len(sourceIDs))
	for len(sourceIDs) > 0 {
		n := min(len(sourceIDs), itemsPerLookup)
		args := make([]any, 0, n+1)
		args = append(args, jobID)
		for _, id := range sourceIDs[:n] {
			args = append(args, id)
		}
		recs, err := queryAll(ctx, s, op, scanItem, `SELECT `+itemColumns+` FROM items WHERE job_id = ? AND source_id IN (?`+
			strings.Repeat(", ?", n-1)+`)`, args...)
		if err != nil {
			return nil, err
		}
		for _, r := range recs {
			out[r.SourceID] = r
		}
		sourceIDs = sourceIDs[n:]
	}
	return out, nil
}

// itemsPerLookup bounds the ids of one ItemsBySource query (SQLite
// allows 32,766 parameters; a page of SyncFolderItems has up to 512).
const itemsPerLookup = 512

// PutItem inserts or replaces an item's record. It refuses a copied item
// without a target id (only the target's confirmation makes an item copied)
// and a skipped item without a reason. A zero Updated is set to now.
func (s *SQLite) PutItem(ctx context.Context, rec engine.ItemRecord) error {
	if err := s.errWrite("put item"); err != nil {
		return err
	}
	if err := checkItem(rec); err != nil {
		return s.fail(fmt.Sprintf("put item job %d source %q", rec.JobID, rec.SourceID), err)
	}
	if rec.Updated.IsZero() {
		rec.Updated = time.Now()
	}
	return s.putItemGrouped(ctx, rec)
}

func checkItem(rec engine.ItemRecord) error { return records.CheckItem(rec) }

// PendingItems lists the items recorded as pending in a folder, by source
// id. There are at most as many as were in flight when a run stopped.
func (s *SQLite) PendingItems(ctx context.Context, jobID int64, sourceFolderID string) ([]engine.ItemRecord, error) {
	op := fmt.Sprintf("pending items job %d folder %q", jobID, sourceFolderID)
	if err := s.errClosed(op); err != nil {
		return nil, err
	}
	return queryAll(ctx, s, op, scanItem, `SELECT `+itemColumns+` FROM items
		WHERE job_id = ? AND folder_key = ? AND source_folder_id = ? AND outcome = 'pending' ORDER BY source_id`, jobID, keyOf(sourceFolderID), sourceFolderID)
}

// CopiedItems calls fn for each copied item of a source folder, in source
// id order, reading in pages so that no cursor stays open while fn runs
// (fn may write).
func (s *SQLite) CopiedItems(ctx context.Context, jobID int64, sourceFolderID string, fn func(engine.ItemRecord) error) error {
	op := fmt.Sprintf("copied items job %d folder %q", jobID, sourceFolderID)
	if err := s.errClosed(op); err != nil {
		return err
	}
	return s.itemPages(ctx, op, `job_id = ? AND folder_key = ? AND source_folder_id = ? AND outcome = 'copied'`, fn, jobID, keyOf(sourceFolderID), sourceFolderID)
}

// itemPages calls fn for each item the condition selects, in source id
// order, reading in pages so that no cursor stays open while fn runs (fn
// may write).
func (s *SQLite) itemPages(ctx context.Context, op, where string, fn func(engine.ItemRecord) error, args ...any) error {
	return records.ItemPages(func(after string, limit int) ([]engine.ItemRecord, error) {
		return queryAll(ctx, s, op, scanItem, `SELECT `+itemColumns+` FROM items
			WHERE `+where+` AND source_id > ? ORDER BY source_id LIMIT ?`, append(args, after, limit)...)
	}, fn)
}

// Counts sums a job's items by outcome, and skipped items by reason, in
// all and per kind. SkipReasons and Kinds are never nil.
func (s *SQLite) Counts(ctx context.Context, jobID int64) (engine.ItemCounts, error) {
	op := fmt.Sprintf("counts job %d", jobID)
	c := records.NewCounts()
	if err := s.errClosed(op); err != nil {
		return c, err
	}
	rows, err := s.counts.QueryContext(ctx, jobID)
	if err != nil {
		return c, s.fail(op, err)
	}
	defer rows.Close()
	for rows.Next() {
		var outcome, kind, why, lost string
		var n, bytes int64 // a group has rows, so sum() is never NULL
		if err := rows.Scan(&outcome, &kind, &why, &lost, &n, &bytes); err != nil {
			return c, s.fail(op, err)
		}
		records.AddCount(&c, outcome, kind, why, lost, n, bytes)
	}
	if err := rows.Err(); err != nil {
		return c, s.fail(op, err)
	}
	return c, nil
}

// LossItems calls fn for each copied item of a job that lost something
// on its way to the target, in source id order.
func (s *SQLite) LossItems(ctx context.Context, jobID int64, fn func(engine.ItemRecord) error) error {
	op := fmt.Sprintf("loss items job %d", jobID)
	if err := s.errClosed(op); err != nil {
		return err
	}
	return s.itemPages(ctx, op, `job_id = ? AND outcome = 'copied' AND losses <> ''`, fn, jobID)
}

// noJob names a foreign key failure for what it is: the job id is unknown.
func noJob(err error, jobID int64) error {
	var se *sqlite.Error
	if errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY {
		return fmt.Errorf("job %d %w (call Job first)", jobID, mailbox.ErrNotFound)
	}
	return err
}

func isCantOpen(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_CANTOPEN
}

func isCorrupt(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_CORRUPT
}

// damaged says what a SQLite error that means a damaged file means, and
// what to do; it returns other errors as they are.
func damaged(path string, err error) error {
	if isCorrupt(err) || isNotADB(err) {
		return fmt.Errorf("%s: %w (%v); %s", path, ErrDamaged, err, Remedy)
	}
	return err
}

func isNotADB(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_NOTADB
}

// Times are stored as UTC unix nanoseconds, 0 for the zero time, so they
// sort and compare as integers and need no parsing.
func toNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// queryAll runs a query on the read pool and scans every row.
func queryAll[T any](ctx context.Context, s *SQLite, op string, scan func(interface{ Scan(...any) error }) (T, error), query string, args ...any) ([]T, error) {
	rows, err := s.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, s.fail(op, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		r, err := scan(rows)
		if err != nil {
			return nil, s.fail(op, err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(op, err)
	}
	return out, nil
}

// DeletedAtSource counts the copied items of a source folder whose source
// was deleted since.
func (s *SQLite) DeletedAtSource(ctx context.Context, jobID int64, sourceFolderID string) (int64, error) {
	op := fmt.Sprintf("count deletions at the source in job %d", jobID)
	if err := s.errClosed(op); err != nil {
		return 0, err
	}
	var n int64
	err := s.deletedAtSource.QueryRowContext(ctx, jobID, keyOf(sourceFolderID), sourceFolderID, engine.ItemCopied, engine.ReasonDeletedAtSource).Scan(&n)
	if err != nil {
		return 0, s.fail(op, err)
	}
	return n, nil
}

// TargetRecorded says whether a target item id is the recorded copy of an
// item of the job (copied or pending).
func (s *SQLite) TargetRecorded(ctx context.Context, jobID int64, targetItemID string) (bool, error) {
	op := fmt.Sprintf("look up target item in job %d", jobID)
	if err := s.errClosed(op); err != nil {
		return false, err
	}
	if targetItemID == "" {
		return false, nil
	}
	var n int64
	err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM items WHERE job_id = ? AND target_key = ? AND target_item_id = ?`,
		jobID, keyOf(targetItemID), targetItemID).Scan(&n)
	if err != nil {
		return false, s.fail(op, err)
	}
	return n > 0, nil
}

// Probe returns the fidelity probe's verdict recorded for a pair of
// endpoints.
func (s *SQLite) Probe(ctx context.Context, pair string) (engine.ProbeRecord, bool, error) {
	op := fmt.Sprintf("probe verdict %q", pair)
	if err := s.errClosed(op); err != nil {
		return engine.ProbeRecord{}, false, err
	}
	rec := engine.ProbeRecord{Pair: pair}
	var at int64
	var result string
	err := s.read.QueryRowContext(ctx, `SELECT source_address, target_address, at, result FROM probes WHERE pair = ?`, pair).
		Scan(&rec.Source, &rec.Target, &at, &result)
	if errors.Is(err, sql.ErrNoRows) {
		return engine.ProbeRecord{}, false, nil
	}
	if err != nil {
		return engine.ProbeRecord{}, false, s.fail(op, err)
	}
	rec.At = fromNanos(at)
	if err := json.Unmarshal([]byte(result), &rec.Result); err != nil {
		return engine.ProbeRecord{}, false, s.fail(op, fmt.Errorf("the recorded verdict is damaged (%v): run copy with --reprobe", err))
	}
	return rec, true, nil
}

// PutProbe records the fidelity probe's verdict for a pair of endpoints,
// replacing the last.
func (s *SQLite) PutProbe(ctx context.Context, rec engine.ProbeRecord) error {
	op := fmt.Sprintf("put probe verdict %q", rec.Pair)
	if err := s.errWrite(op); err != nil {
		return err
	}
	if rec.Pair == "" {
		return s.fail(op, errors.New("the pair of endpoints is required"))
	}
	result, err := json.Marshal(rec.Result)
	if err != nil {
		return s.fail(op, err)
	}
	_, err = s.write.ExecContext(ctx, `INSERT INTO probes (pair, source_address, target_address, at, result) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (pair) DO UPDATE SET source_address = excluded.source_address, target_address = excluded.target_address,
			at = excluded.at, result = excluded.result`, rec.Pair, rec.Source, rec.Target, toNanos(rec.At), string(result))
	if err != nil {
		return s.fail(op, err)
	}
	return nil
}

// Probes lists every recorded fidelity verdict, by pair.
func (s *SQLite) Probes(ctx context.Context) ([]engine.ProbeRecord, error) {
	op := "list probe verdicts"
	if err := s.errClosed(op); err != nil {
		return nil, err
	}
	rows, err := s.read.QueryContext(ctx, `SELECT pair FROM probes ORDER BY pair`)
	if err != nil {
		return nil, s.fail(op, err)
	}
	var pairs []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			rows.Close()
			return nil, s.fail(op, err)
		}
		pairs = append(pairs, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, s.fail(op, err)
	}
	out := make([]engine.ProbeRecord, 0, len(pairs))
	for _, p := range pairs {
		rec, found, err := s.Probe(ctx, p)
		if err != nil {
			return nil, err
		}
		if found {
			out = append(out, rec)
		}
	}
	return out, nil
}
