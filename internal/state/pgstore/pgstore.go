// Package pgstore is engine.Store on PostgreSQL (pgx v5), for many workers
// on several machines sharing one state: the same records, rules and lease
// contract as the SQLite file of internal/state (both pass
// internal/state/storetest).
//
// Every write is one statement in its own transaction, so a worker killed
// at any point leaves the database at its last committed write. Leases are
// decided by one conditional upsert and compared with the server's clock
// (now()), never a worker's, so that workers on machines whose clocks
// disagree still agree on who holds a job.
//
// Each Store holds a pool of connections (pgxpool: 4 or the number of CPUs
// by default; pool_max_conns=N in the URL sets it). Count the server's
// max_connections against the workers times that.
package pgstore

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/exmigrate/exmigrate/engine"
	"github.com/exmigrate/exmigrate/internal/secret"
	"github.com/exmigrate/exmigrate/internal/state/records"
	"github.com/exmigrate/exmigrate/mailbox"
)

var _ engine.Store = (*Store)(nil)

// connectTimeout bounds one connection attempt when the URL sets none, so
// that an unreachable server is an error within seconds, not minutes.
const connectTimeout = 10 * time.Second

// Store is the state store on a PostgreSQL database. It is safe for
// concurrent use, and any number of Stores in any number of processes may
// share a database.
type Store struct {
	pool     *pgxpool.Pool
	where    string // "database d on host:port", for messages
	readOnly bool   // opened by OpenReadOnly: the server refuses every write
	closed   atomic.Bool
}

// Open connects to the database the URL names (postgres://user@host:port/db
// with libpq's parameters), brings its schema to this build's version and
// returns the store. A URL without sslmode gets sslmode=verify-full: the
// server's certificate is verified unless the URL says otherwise. password,
// when not empty, is the user's password (the URL should carry none); when
// empty, libpq's PGPASSWORD and password file apply.
//
// Open fails with a message that names the problem and its fix for a URL
// that is not one, an unreachable server, a refused login, a missing
// database, a database of another program (ErrForeignDatabase) and one
// written by a newer exmigrate (ErrNewerSchema).
func Open(ctx context.Context, rawURL string, password secret.Secret) (*Store, error) {
	s, cc, err := connect(ctx, rawURL, password, false)
	if err != nil {
		return nil, err
	}
	if err := migrate(ctx, s.pool, s.where); err != nil {
		s.pool.Close()
		var pg *pgconn.PgError
		if errors.As(err, &pg) && pg.Code == "42501" { // insufficient_privilege
			return nil, fmt.Errorf("state: %s: user %s may not create exmigrate's tables (%s): make it the database's owner "+
				"(ALTER DATABASE %s OWNER TO %s) or GRANT CREATE ON SCHEMA public TO %s: %w",
				s.where, cc.User, pg.Message, cc.Database, cc.User, cc.User, err)
		}
		return nil, fmt.Errorf("state: %s: %w", s.where, err)
	}
	return s, nil
}

// poolConfig is the pool configuration of a state URL: the URL checked (a
// postgres URL naming a database), sslmode=verify-full unless it names
// one, the password set, a connect timeout. Its errors never repeat the
// URL's password.
func poolConfig(rawURL string, password secret.Secret) (*pgxpool.Config, error) {
	u, err := checkURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	cfg, err := pgxpool.ParseConfig(u)
	if err != nil {
		// pgx's message quotes the connection string: never repeat it, it
		// may hold a password. The reason follows the quoted string.
		msg := err.Error()
		if i := strings.LastIndex(msg, "`: "); i >= 0 {
			msg = msg[i+3:]
		} else {
			msg = "check it against postgres://user@host:5432/database?sslmode=verify-full"
		}
		return nil, fmt.Errorf("state: the state URL %s is not valid: %s", redact(rawURL), msg)
	}
	if !password.IsZero() {
		cfg.ConnConfig.Password = password.Reveal()
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = connectTimeout
	}
	if cfg.ConnConfig.Database == "" {
		return nil, fmt.Errorf("state: the state URL names no database: add it as the path, e.g. postgres://%s@%s/exmigrate",
			cfg.ConnConfig.User, cfg.ConnConfig.Host)
	}
	return cfg, nil
}

// connect opens the pool the URL names and checks that the server answers;
// a read-only pool's sessions refuse every write on the server
// (default_transaction_read_only).
func connect(ctx context.Context, rawURL string, password secret.Secret, readOnly bool) (*Store, *pgx.ConnConfig, error) {
	cfg, err := poolConfig(rawURL, password)
	if err != nil {
		return nil, nil, err
	}
	if readOnly {
		cfg.ConnConfig.RuntimeParams["default_transaction_read_only"] = "on"
	}
	s := &Store{where: fmt.Sprintf("database %s on %s", cfg.ConnConfig.Database, hostPort(cfg.ConnConfig)), readOnly: readOnly}
	s.pool, err = pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("state: %s: %w", s.where, err)
	}
	if err := s.pool.Ping(ctx); err != nil {
		s.pool.Close()
		return nil, nil, fmt.Errorf("state: %w", connectProblem(s.where, cfg.ConnConfig, err))
	}
	return s, cfg.ConnConfig, nil
}

// quoted matches the quoted values url.Parse's reasons repeat.
var quoted = regexp.MustCompile(`"[^"]*"`)

// checkURL refuses what is not a postgres URL with a database, and adds
// sslmode=verify-full when the URL names no sslmode.
func checkURL(raw string) (string, error) {
	if raw == "" {
		return "", errors.New("no state URL: give one as postgres://user@host:5432/database")
	}
	u, err := url.Parse(raw)
	var ue *url.Error
	if errors.As(err, &ue) {
		// ue's message quotes the URL, and its reason quotes the part it
		// could not read: "postgres://user:pw/db", a host forgotten, has
		// the password read as the port. Neither is repeated.
		return "", fmt.Errorf("the state URL is not a URL (%s): write it as postgres://user@host:5432/database",
			quoted.ReplaceAllString(ue.Err.Error(), "…"))
	}
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		// Not repeated, not even its scheme: what is not a URL of ours may
		// be a password pasted in the wrong place.
		return "", errors.New("the state URL is not a postgres:// URL: write it as postgres://user@host:5432/database")
	}
	if strings.Trim(u.Path, "/") == "" && u.Query().Get("dbname") == "" {
		return "", errors.New("the state URL names no database: add it as the path, e.g. postgres://user@host:5432/exmigrate")
	}
	q := u.Query()
	if q.Get("sslmode") == "" && q.Get("ssl") == "" {
		q.Set("sslmode", "verify-full")
		u.RawQuery = q.Encode()
	}
	return u.String(), nil
}

func hostPort(c *pgx.ConnConfig) string {
	if strings.HasPrefix(c.Host, "/") {
		return fmt.Sprintf("the socket in %s (port %d)", c.Host, c.Port)
	}
	return net.JoinHostPort(c.Host, fmt.Sprint(c.Port))
}

// connectProblem says what a failed first connection means and what to do.
func connectProblem(where string, c *pgx.ConnConfig, err error) error {
	var pg *pgconn.PgError
	var netErr *net.OpError
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var certErr *tls.CertificateVerificationError
	switch {
	case errors.As(err, &pg) && pg.Code == "28P01": // invalid_password
		return fmt.Errorf("%s: the server refused the password of user %s: set the right one in the environment variable "+
			"or file the config names (state.password_env, state.password_file; EXMIGRATE_STATE_PASSWORD by default): %w", where, c.User, err)
	case errors.As(err, &pg) && pg.Code == "28000": // invalid_authorization_specification: pg_hba.conf
		return fmt.Errorf("%s: the server does not let user %s in from here (%s): add a line for this host to its pg_hba.conf: %w",
			where, c.User, pg.Message, err)
	case errors.As(err, &pg) && pg.Code == "3D000": // invalid_catalog_name
		return fmt.Errorf("%s: the database does not exist: create it (createdb -O %s %s) or fix its name in state.url: %w",
			where, c.User, c.Database, err)
	case errors.As(err, &unknownCA), errors.As(err, &hostErr), errors.As(err, &certErr):
		return fmt.Errorf("%s: the server's TLS certificate was not verified: add sslrootcert=/path/ca.pem to state.url "+
			"with the CA that signed it (sslmode=require encrypts without verifying; not recommended): %w", where, err)
	case strings.Contains(err.Error(), "server refused TLS connection"):
		return fmt.Errorf("%s: the server does not offer TLS: turn on ssl in its postgresql.conf, or, on a trusted network only, "+
			"add sslmode=disable to state.url: %w", where, err)
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr):
		return fmt.Errorf("%s: cannot reach the server: check state.url, and that PostgreSQL runs there and listens on that address "+
			"(listen_addresses, port, firewall): %w", where, err)
	}
	return fmt.Errorf("%s: %w", where, err)
}

// Close closes the store's connections. Calls after the first return
// ErrStoreClosed.
func (s *Store) Close() error {
	if !s.closed.CompareAndSwap(false, true) {
		return fmt.Errorf("state: close: %w", engine.ErrStoreClosed)
	}
	s.pool.Close()
	return nil
}

func (s *Store) errClosed(op string) error {
	if s.closed.Load() {
		return fmt.Errorf("state: %s: %w", op, engine.ErrStoreClosed)
	}
	return nil
}

// fail wraps err with the operation; a call racing Close fails with
// ErrStoreClosed, and a reference to a job that does not exist with
// mailbox.ErrNotFound.
func (s *Store) fail(op string, err error) error {
	if s.closed.Load() {
		return fmt.Errorf("state: %s: %w", op, engine.ErrStoreClosed)
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) && pg.Code == "23503" { // foreign_key_violation: the job id is unknown
		return fmt.Errorf("state: %s: job %w (call Job first)", op, mailbox.ErrNotFound)
	}
	if errors.As(err, &pg) && pg.Code == "25006" { // read_only_sql_transaction: a store OpenReadOnly opened
		return fmt.Errorf("state: %s: %w", op, records.ErrReadOnly)
	}
	return fmt.Errorf("state: %s: %s: %w", op, s.where, err)
}

// Times are timestamptz; NULL is the zero time.
func ts(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func fromTS(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

type scanner interface{ Scan(...any) error }

const sqlSelectJob = `SELECT id, source_address, source_location, target_address, target_location,
	status, passes, last_start, last_end, last_error, paths FROM jobs`

func scanJob(row scanner) (engine.JobRecord, error) {
	var r engine.JobRecord
	var start, end *time.Time
	err := row.Scan(&r.ID, &r.Key.SourceAddress, &r.Key.SourceLocation, &r.Key.TargetAddress, &r.Key.TargetLocation,
		&r.Status, &r.Passes, &start, &end, &r.LastError, &r.Paths)
	r.LastStart, r.LastEnd = fromTS(start), fromTS(end)
	return r, err
}

// Job returns the job's record, creating it with status new when it is new.
// Workers asking for the same new job at once get the same record.
func (s *Store) Job(ctx context.Context, key engine.JobKey) (engine.JobRecord, error) {
	op := fmt.Sprintf("job %s (%s) -> %s (%s)", key.SourceAddress, key.SourceLocation, key.TargetAddress, key.TargetLocation)
	if err := s.errClosed(op); err != nil {
		return engine.JobRecord{}, err
	}
	key, err := records.NormalizeKey(key)
	if err != nil {
		return engine.JobRecord{}, fmt.Errorf("state: %s: %w", op, err)
	}
	src, dst := records.AddressKey(key.SourceAddress), records.AddressKey(key.TargetAddress)
	// DO NOTHING waits for a concurrent insert of the same key to commit;
	// the SELECT after it then sees that row.
	rec, err := scanJob(s.pool.QueryRow(ctx, `INSERT INTO jobs
		(source_address, source_location, target_address, target_location, source_norm, target_norm, status)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (source_norm, source_location, target_norm, target_location) DO NOTHING
		RETURNING id, source_address, source_location, target_address, target_location,
			status, passes, last_start, last_end, last_error, paths`,
		key.SourceAddress, key.SourceLocation, key.TargetAddress, key.TargetLocation, src, dst, engine.JobNew))
	if errors.Is(err, pgx.ErrNoRows) {
		rec, err = scanJob(s.pool.QueryRow(ctx, sqlSelectJob+` WHERE source_norm = $1 AND source_location = $2
			AND target_norm = $3 AND target_location = $4`, src, key.SourceLocation, dst, key.TargetLocation))
	}
	if err != nil {
		return engine.JobRecord{}, s.fail(op, err)
	}
	return rec, nil
}

// PutJob updates the job's status, passes, timings and last error. The key
// is fixed when the job is created.
func (s *Store) PutJob(ctx context.Context, rec engine.JobRecord) error {
	op := fmt.Sprintf("put job %d", rec.ID)
	if err := s.errClosed(op); err != nil {
		return err
	}
	if err := records.CheckStatus(rec.Status); err != nil {
		return fmt.Errorf("state: %s: %w", op, err)
	}
	tag, err := s.pool.Exec(ctx, `UPDATE jobs SET status = $1, passes = $2, last_start = $3, last_end = $4, last_error = $5, paths = $6
		WHERE id = $7`, rec.Status, rec.Passes, ts(rec.LastStart), ts(rec.LastEnd), rec.LastError, rec.Paths, rec.ID)
	if err != nil {
		return s.fail(op, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("state: %s: job %w", op, mailbox.ErrNotFound)
	}
	return nil
}

// Jobs lists every job in creation order.
func (s *Store) Jobs(ctx context.Context) ([]engine.JobRecord, error) {
	const op = "list jobs"
	if err := s.errClosed(op); err != nil {
		return nil, err
	}
	return queryAll(ctx, s, op, scanJob, sqlSelectJob+` ORDER BY id`)
}

const sqlSelectFolder = `SELECT job_id, source_folder_id, source_path, target_folder_id, target_path,
	sync_state, source_count, target_count, writes_open, updated FROM folders`

func scanFolder(row scanner) (engine.FolderRecord, error) {
	var r engine.FolderRecord
	var updated *time.Time
	err := row.Scan(&r.JobID, &r.SourceFolderID, &r.SourcePath, &r.TargetFolderID, &r.TargetPath,
		&r.SyncState, &r.SourceCount, &r.TargetCount, &r.WritesOpen, &updated)
	r.Updated = fromTS(updated)
	return r, err
}

// Folder returns one source folder's state; found is false for a folder
// not recorded before.
func (s *Store) Folder(ctx context.Context, jobID int64, sourceFolderID string) (engine.FolderRecord, bool, error) {
	op := fmt.Sprintf("folder job %d source %q", jobID, sourceFolderID)
	if err := s.errClosed(op); err != nil {
		return engine.FolderRecord{}, false, err
	}
	r, err := scanFolder(s.pool.QueryRow(ctx, sqlSelectFolder+` WHERE job_id = $1 AND source_folder_id = $2`, jobID, sourceFolderID))
	if errors.Is(err, pgx.ErrNoRows) {
		return engine.FolderRecord{}, false, nil
	}
	if err != nil {
		return engine.FolderRecord{}, false, s.fail(op, err)
	}
	return r, true, nil
}

// PutFolder inserts or replaces a folder's state. A zero Updated is set to
// the current time.
func (s *Store) PutFolder(ctx context.Context, rec engine.FolderRecord) error {
	op := fmt.Sprintf("put folder job %d source %q", rec.JobID, rec.SourceFolderID)
	if err := s.errClosed(op); err != nil {
		return err
	}
	if rec.SourceFolderID == "" {
		return fmt.Errorf("state: %s: source folder id is required", op)
	}
	if rec.Updated.IsZero() {
		rec.Updated = time.Now()
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO folders
		(job_id, source_folder_id, source_path, target_folder_id, target_path, sync_state, source_count, target_count, writes_open, updated)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (job_id, source_folder_id) DO UPDATE SET
			source_path = excluded.source_path, target_folder_id = excluded.target_folder_id,
			target_path = excluded.target_path, sync_state = excluded.sync_state,
			source_count = excluded.source_count, target_count = excluded.target_count,
			writes_open = excluded.writes_open, updated = excluded.updated`,
		rec.JobID, rec.SourceFolderID, rec.SourcePath, rec.TargetFolderID, rec.TargetPath, rec.SyncState,
		rec.SourceCount, rec.TargetCount, rec.WritesOpen, rec.Updated)
	if err != nil {
		return s.fail(op, err)
	}
	return nil
}

// Folders lists a job's folders by source path.
func (s *Store) Folders(ctx context.Context, jobID int64) ([]engine.FolderRecord, error) {
	op := fmt.Sprintf("list folders job %d", jobID)
	if err := s.errClosed(op); err != nil {
		return nil, err
	}
	return queryAll(ctx, s, op, scanFolder, sqlSelectFolder+` WHERE job_id = $1 ORDER BY source_path, source_folder_id`, jobID)
}

const itemColumns = `job_id, source_id, source_item_id, source_folder_id, target_item_id,
	size_bytes, is_read, outcome, reason, updated, subject, kind, version, content_hash, losses, fingerprint`

func scanItem(row scanner) (engine.ItemRecord, error) {
	var r engine.ItemRecord
	var updated *time.Time
	err := row.Scan(&r.JobID, &r.SourceID, &r.SourceItemID, &r.SourceFolderID, &r.TargetItemID,
		&r.SizeBytes, &r.IsRead, &r.Outcome, &r.Reason, &updated, &r.Subject, &r.Kind, &r.Version, &r.ContentHash, &r.Losses, &r.Fingerprint)
	r.Updated = fromTS(updated)
	return r, err
}

// Item returns one source item's record; found is false for an item not
// recorded before.
func (s *Store) Item(ctx context.Context, jobID int64, sourceID string) (engine.ItemRecord, bool, error) {
	op := fmt.Sprintf("item job %d source %q", jobID, sourceID)
	if err := s.errClosed(op); err != nil {
		return engine.ItemRecord{}, false, err
	}
	r, err := scanItem(s.pool.QueryRow(ctx, `SELECT `+itemColumns+` FROM items WHERE job_id = $1 AND source_id = $2`, jobID, sourceID))
	if errors.Is(err, pgx.ErrNoRows) {
		return engine.ItemRecord{}, false, nil
	}
	if err != nil {
		return engine.ItemRecord{}, false, s.fail(op, err)
	}
	return r, true, nil
}

// ItemsBySource returns the records of the items among sourceIDs that
// have one, by source id, in one query.
func (s *Store) ItemsBySource(ctx context.Context, jobID int64, sourceIDs []string) (map[string]engine.ItemRecord, error) {
	op := fmt.Sprintf("items job %d", jobID)
	if err := s.errClosed(op); err != nil {
		return nil, err
	}
	out := make(map[string]engine.ItemRecord, len(sourceIDs))
	if len(sourceIDs) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT `+itemColumns+` FROM items WHERE job_id = $1 AND source_id = ANY($2)`, jobID, sourceIDs)
	if err != nil {
		return nil, s.fail(op, err)
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanItem(rows)
		if err != nil {
			return nil, s.fail(op, err)
		}
		out[r.SourceID] = r
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(op, err)
	}
	return out, nil
}

// PutItem inserts or replaces an item's record. It refuses a copied item
// without a target id and a skipped item without a reason (see
// records.CheckItem). A zero Updated is set to now. It returns once the
// record is committed.
func (s *Store) PutItem(ctx context.Context, rec engine.ItemRecord) error {
	op := fmt.Sprintf("put item job %d source %q", rec.JobID, rec.SourceID)
	if err := s.errClosed(op); err != nil {
		return err
	}
	if err := records.CheckItem(rec); err != nil {
		return fmt.Errorf("state: %s: %w", op, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("state: %s: %w", op, err)
	}
	if rec.Updated.IsZero() {
		rec.Updated = time.Now()
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO items (`+itemColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
		ON CONFLICT (job_id, source_id) DO UPDATE SET
			source_item_id = excluded.source_item_id, source_folder_id = excluded.source_folder_id,
			target_item_id = excluded.target_item_id, size_bytes = excluded.size_bytes,
			is_read = excluded.is_read, outcome = excluded.outcome, reason = excluded.reason,
			updated = excluded.updated, subject = excluded.subject, kind = excluded.kind,
			version = excluded.version, content_hash = excluded.content_hash, losses = excluded.losses,
			fingerprint = excluded.fingerprint`,
		rec.JobID, rec.SourceID, rec.SourceItemID, rec.SourceFolderID, rec.TargetItemID, rec.SizeBytes, rec.IsRead,
		rec.Outcome, rec.Reason, rec.Updated, rec.Subject, rec.Kind, rec.Version, rec.ContentHash, rec.Losses, rec.Fingerprint)
	if err != nil {
		return s.fail(op, err)
	}
	return nil
}

// PendingItems lists the items recorded as pending in a folder, by source
// id.
func (s *Store) PendingItems(ctx context.Context, jobID int64, sourceFolderID string) ([]engine.ItemRecord, error) {
	op := fmt.Sprintf("pending items job %d folder %q", jobID, sourceFolderID)
	if err := s.errClosed(op); err != nil {
		return nil, err
	}
	return queryAll(ctx, s, op, scanItem, `SELECT `+itemColumns+` FROM items
		WHERE job_id = $1 AND source_folder_id = $2 AND outcome = 'pending' ORDER BY source_id`, jobID, sourceFolderID)
}

// CopiedItems calls fn for each copied item of a source folder, in source
// id order.
func (s *Store) CopiedItems(ctx context.Context, jobID int64, sourceFolderID string, fn func(engine.ItemRecord) error) error {
	op := fmt.Sprintf("copied items job %d folder %q", jobID, sourceFolderID)
	if err := s.errClosed(op); err != nil {
		return err
	}
	return s.itemPages(ctx, op, `job_id = $1 AND source_folder_id = $2 AND outcome = 'copied'`, fn, jobID, sourceFolderID)
}

// LossItems calls fn for each copied item of a job that lost something
// on its way to the target, in source id order.
func (s *Store) LossItems(ctx context.Context, jobID int64, fn func(engine.ItemRecord) error) error {
	op := fmt.Sprintf("loss items job %d", jobID)
	if err := s.errClosed(op); err != nil {
		return err
	}
	return s.itemPages(ctx, op, `job_id = $1 AND outcome = 'copied' AND losses <> ''`, fn, jobID)
}

// itemPages calls fn for each item the condition selects, in source id
// order, a page at a time: no connection is held while fn runs, so fn may
// write, and a slow fn never holds a snapshot open on the server.
func (s *Store) itemPages(ctx context.Context, op, where string, fn func(engine.ItemRecord) error, args ...any) error {
	n := len(args)
	return records.ItemPages(func(after string, limit int) ([]engine.ItemRecord, error) {
		return queryAll(ctx, s, op, scanItem, `SELECT `+itemColumns+` FROM items
			WHERE `+where+fmt.Sprintf(` AND source_id > $%d ORDER BY source_id LIMIT $%d`, n+1, n+2), append(args, after, limit)...)
	}, fn)
}

// Counts sums a job's items by outcome, and skipped items by reason, in
// all and per kind. SkipReasons and Kinds are never nil.
func (s *Store) Counts(ctx context.Context, jobID int64) (engine.ItemCounts, error) {
	op := fmt.Sprintf("counts job %d", jobID)
	c := records.NewCounts()
	if err := s.errClosed(op); err != nil {
		return c, err
	}
	rows, err := s.pool.Query(ctx, `SELECT outcome, kind,
		CASE outcome WHEN 'skipped' THEN reason ELSE '' END AS why,
		CASE outcome WHEN 'copied' THEN losses ELSE '' END AS lost,
		count(*), sum(size_bytes)::bigint FROM items WHERE job_id = $1 GROUP BY outcome, kind, why, lost`, jobID)
	if err != nil {
		return c, s.fail(op, err)
	}
	defer rows.Close()
	for rows.Next() {
		var outcome, kind, why, lost string
		var n, bytes int64
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

// DeletedAtSource counts the copied items of a source folder whose source
// was deleted since.
func (s *Store) DeletedAtSource(ctx context.Context, jobID int64, sourceFolderID string) (int64, error) {
	op := fmt.Sprintf("count deletions at the source in job %d", jobID)
	if err := s.errClosed(op); err != nil {
		return 0, err
	}
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM items WHERE job_id = $1 AND source_folder_id = $2 AND outcome = $3 AND reason = $4`,
		jobID, sourceFolderID, engine.ItemCopied, engine.ReasonDeletedAtSource).Scan(&n)
	if err != nil {
		return 0, s.fail(op, err)
	}
	return n, nil
}

// TargetRecorded says whether a target item id is the recorded copy of an
// item of the job (copied or pending).
func (s *Store) TargetRecorded(ctx context.Context, jobID int64, targetItemID string) (bool, error) {
	op := fmt.Sprintf("look up target item in job %d", jobID)
	if err := s.errClosed(op); err != nil {
		return false, err
	}
	if targetItemID == "" {
		return false, nil
	}
	var found bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM items WHERE job_id = $1 AND target_item_id = $2 AND target_item_id <> '')`,
		jobID, targetItemID).Scan(&found)
	if err != nil {
		return false, s.fail(op, err)
	}
	return found, nil
}

// Probe returns the fidelity probe's verdict recorded for a pair of
// endpoints.
func (s *Store) Probe(ctx context.Context, pair string) (engine.ProbeRecord, bool, error) {
	op := fmt.Sprintf("probe verdict %q", pair)
	if err := s.errClosed(op); err != nil {
		return engine.ProbeRecord{}, false, err
	}
	rec, err := scanProbe(s.pool.QueryRow(ctx, `SELECT pair, source_address, target_address, at, result FROM probes WHERE pair = $1`, pair))
	if errors.Is(err, pgx.ErrNoRows) {
		return engine.ProbeRecord{}, false, nil
	}
	if err != nil {
		return engine.ProbeRecord{}, false, s.fail(op, err)
	}
	return rec, true, nil
}

func scanProbe(row scanner) (engine.ProbeRecord, error) {
	var rec engine.ProbeRecord
	var at *time.Time
	var result []byte
	if err := row.Scan(&rec.Pair, &rec.Source, &rec.Target, &at, &result); err != nil {
		return rec, err
	}
	rec.At = fromTS(at)
	if err := json.Unmarshal(result, &rec.Result); err != nil {
		return rec, fmt.Errorf("the recorded verdict is damaged (%v): run copy with --reprobe", err)
	}
	return rec, nil
}

// PutProbe records the fidelity probe's verdict for a pair of endpoints,
// replacing the last.
func (s *Store) PutProbe(ctx context.Context, rec engine.ProbeRecord) error {
	op := fmt.Sprintf("put probe verdict %q", rec.Pair)
	if err := s.errClosed(op); err != nil {
		return err
	}
	if rec.Pair == "" {
		return fmt.Errorf("state: %s: the pair of endpoints is required", op)
	}
	result, err := json.Marshal(rec.Result)
	if err != nil {
		return fmt.Errorf("state: %s: %w", op, err)
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO probes (pair, source_address, target_address, at, result) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (pair) DO UPDATE SET source_address = excluded.source_address, target_address = excluded.target_address,
			at = excluded.at, result = excluded.result`, rec.Pair, rec.Source, rec.Target, ts(rec.At), string(result))
	if err != nil {
		return s.fail(op, err)
	}
	return nil
}

// Probes lists every recorded fidelity verdict, by pair.
func (s *Store) Probes(ctx context.Context) ([]engine.ProbeRecord, error) {
	const op = "list probe verdicts"
	if err := s.errClosed(op); err != nil {
		return nil, err
	}
	return queryAll(ctx, s, op, scanProbe, `SELECT pair, source_address, target_address, at, result FROM probes ORDER BY pair`)
}

// queryAll runs a query and scans every row.
func queryAll[T any](ctx context.Context, s *Store, op string, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := s.pool.Query(ctx, query, args...)
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

// redact renders a postgres URL for a message: scheme, user, host and
// database only. The password becomes REDACTED; the query (which may hold
// password= or sslpassword=) and anything opaque are left out.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" {
		return "(as given)"
	}
	out := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			out.User = url.UserPassword(u.User.Username(), secret.Redacted)
		} else {
			out.User = url.User(u.User.Username())
		}
	}
	return out.String()
}
