package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/exmigrate/exmigrate/internal/audit"
)

// The audit trail of every worker sharing the database: one row per entry
// of internal/audit, the same entries the file holds (audit.Prepare makes
// both), so that an export of the table is the file a single process would
// have written.
//
// Order: seq is one total order of the rows of every worker, and it is
// also the order they became visible in. Each batch takes a transaction
// advisory lock (auditLock) before its rows draw their seq and keeps it
// through its commit, so a reader that sees row n sees every row before it;
// an export or a tail by seq misses nothing that commits later. The lock is
// taken inside the one INSERT statement, so it is held only while the
// server runs that statement and commits, never while a client thinks.
//
// line is the entry as the file's line (audit.Line, without its newline):
// what ReadAudit returns, so that an export is byte for byte the file. The
// other columns are the entry's fields for queries; text cannot hold a NUL
// or invalid UTF-8, which a subject may have, so there they are replaced
// by U+FFFD. at is the entry's time to the microsecond (PostgreSQL's
// resolution); recorded is the server's clock when the row was written
// (clock_timestamp(), after the lock: it rises with seq).
//
// intent is audit.IntentKey of the entry (bytes, NULs in it): the write it
// is about, so that Unfinished finds a started row and any later outcome of
// the same write by index, whichever worker wrote them.
const auditSchema = `
CREATE TABLE audit_entries (
	seq       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	recorded  timestamptz NOT NULL DEFAULT clock_timestamp(),
	at        timestamptz NOT NULL,
	operator  text NOT NULL,
	mailbox   text NOT NULL,
	action    text NOT NULL,
	object    text NOT NULL,
	target_id text NOT NULL,
	outcome   text NOT NULL CHECK (outcome IN ('ok', 'error', 'skipped', 'started')),
	error     text NOT NULL,
	note      text NOT NULL,
	job       bigint NOT NULL,
	source_id text NOT NULL,
	folder    text NOT NULL,
	size      bigint NOT NULL,
	intent    bytea,
	host      text NOT NULL,
	pid       integer NOT NULL,
	line      text NOT NULL
);
CREATE INDEX audit_entries_intent ON audit_entries (intent, seq) WHERE intent IS NOT NULL;
`

// auditLock orders the batches of every worker ("EXMA" in its low bytes;
// migrateLock is "EXMG").
const auditLock = 0x45584d41

// Group commit: Record queues its entry and waits; one goroutine per
// AuditLog writes whatever is queued as one INSERT (up to auditBatchMax
// rows) and answers every caller of the batch when it has committed. While
// one batch commits the next one gathers, so the rows per round grow with
// the load and a copy pays one round trip per batch, not per row.
const (
	auditBatchMax = 1000
	// auditWriteTimeout bounds one batch: a server that does not answer
	// fails the writes waiting on it (the engine then stops them) rather
	// than hanging every copy.
	auditWriteTimeout = 30 * time.Second
)

// AuditLog records audit entries in the database's audit_entries table.
// It is safe for concurrent use; any number of AuditLogs in any number of
// processes may share a database. It implements what engine.SinkAuditor
// needs.
type AuditLog struct {
	s        *Store
	operator string
	host     string
	pid      int

	mu     sync.RWMutex // held for reading while a Record queues; Close takes it to stop
	closed bool
	queue  chan auditReq
	done   chan struct{}
}

type auditReq struct {
	e      audit.Entry
	line   string
	intent []byte // nil: no key
	answer chan error
}

// OpenAudit returns the store's audit log. operator is the principal of
// entries that name none, as for audit.Open. Close the AuditLog before the
// Store.
func (s *Store) OpenAudit(operator string) (*AuditLog, error) {
	if operator == "" {
		return nil, errors.New("audit: open the audit table: operator is required: name the principal that writes (a user or an app id)")
	}
	if err := s.errClosed("open the audit table"); err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	l := &AuditLog{s: s, operator: operator, host: host, pid: os.Getpid(),
		queue: make(chan auditReq, auditBatchMax), done: make(chan struct{})}
	go l.writeLoop()
	return l, nil
}

// Record writes e as one row and returns when the row has committed. It
// fills Time and Operator, scrubs and clips and validates exactly as the
// file's Record does (audit.Prepare).
//
// A canceled ctx does not stop the entry: it records a write that already
// happened, and a Ctrl-C must not lose it.
func (l *AuditLog) Record(_ context.Context, e audit.Entry) error {
	// The key of the entry as given, as Unfinished computes it from the
	// entry it is asked about.
	var intent []byte
	if k, ok := audit.IntentKey(e); ok {
		intent = []byte(k)
	}
	e, err := audit.Prepare(e, l.operator)
	if err != nil {
		return err
	}
	line, err := audit.Line(e)
	if err != nil {
		return err
	}
	answer := make(chan error, 1)
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return fmt.Errorf("audit: record: %w", audit.ErrClosed)
	}
	l.queue <- auditReq{e: e, line: string(line[:len(line)-1]), intent: intent, answer: answer}
	l.mu.RUnlock()
	if err := <-answer; err != nil {
		return fmt.Errorf("audit: record %s on %s: %w", e.Action, e.Mailbox, err)
	}
	return nil
}

// writeLoop writes the queued entries, a batch at a time, until Close
// closes the queue and every entry queued before it is written.
func (l *AuditLog) writeLoop() {
	defer close(l.done)
	batch := make([]auditReq, 0, auditBatchMax)
	for {
		r, ok := <-l.queue
		if !ok {
			return
		}
		batch = append(batch[:0], r)
		open := true
	gather:
		for len(batch) < auditBatchMax {
			select {
			case r, ok := <-l.queue:
				if !ok {
					open = false
					break gather
				}
				batch = append(batch, r)
			default:
				break gather
			}
		}
		err := l.insert(batch)
		for _, r := range batch {
			r.answer <- err
		}
		if !open {
			return
		}
	}
}

// sqlInsertAudit writes a batch: the lock first (a MATERIALIZED CTE the
// SELECT joins, so it runs before any row exists to draw a seq), then the
// rows in the order they were queued.
const sqlInsertAudit = `WITH ordered AS MATERIALIZED (SELECT pg_advisory_xact_lock($1))
INSERT INTO audit_entries (at, operator, mailbox, action, object, target_id, outcome,
	error, note, job, source_id, folder, size, intent, line, host, pid)
SELECT u.at, u.operator, u.mailbox, u.action, u.object, u.target_id, u.outcome,
	u.error, u.note, u.job, u.source_id, u.folder, u.size, u.intent, u.line, $17, $18
FROM ordered, unnest($2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
	$9::text[], $10::text[], $11::bigint[], $12::text[], $13::text[], $14::bigint[], $15::bytea[], $16::text[])
	WITH ORDINALITY AS u(at, operator, mailbox, action, object, target_id, outcome,
		error, note, job, source_id, folder, size, intent, line, n)
ORDER BY u.n`

func (l *AuditLog) insert(batch []auditReq) error {
	if err := l.s.errClosed("record in the audit table"); err != nil {
		return err
	}
	n := len(batch)
	at := make([]time.Time, n)
	cols := make([][]string, 11) // the text columns, in the statement's order
	for c := range cols {
		cols[c] = make([]string, n)
	}
	job, size := make([]int64, n), make([]int64, n)
	intent := make([][]byte, n)
	for i, r := range batch {
		e := r.e
		at[i] = e.Time
		for c, v := range []string{e.Operator, e.Mailbox, e.Action, e.Object, e.TargetID, e.Outcome, e.Error, e.Note, e.SourceID, e.Folder} {
			cols[c][i] = textColumn(v)
		}
		cols[10][i] = r.line // JSON: valid UTF-8, NUL escaped
		job[i], size[i], intent[i] = e.Job, e.Size, r.intent
	}
	ctx, cancel := context.WithTimeout(context.Background(), auditWriteTimeout)
	defer cancel()
	_, err := l.s.pool.Exec(ctx, sqlInsertAudit, int64(auditLock), at, cols[0], cols[1], cols[2], cols[3], cols[4],
		cols[5], cols[6], cols[7], job, cols[8], cols[9], size, intent, cols[10], l.host, int32(l.pid))
	if err != nil {
		return l.s.fail(fmt.Sprintf("record %d entries in the audit table", n), err)
	}
	return nil
}

// textColumn is s as a text column can hold it: NUL and invalid UTF-8
// become U+FFFD. The line keeps the entry exactly.
func textColumn(s string) string {
	if utf8.ValidString(s) && !strings.Contains(s, "\x00") {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// Unfinished reports whether the table holds a started row for the write e
// describes that no later ok or skipped row closed, whoever wrote them: the
// file's Unfinished, across every worker of the database.
func (l *AuditLog) Unfinished(ctx context.Context, e audit.Entry) (bool, error) {
	key, ok := audit.IntentKey(e)
	if !ok {
		return false, nil
	}
	if err := l.s.errClosed("read the audit table"); err != nil {
		return false, err
	}
	var last string
	err := l.s.pool.QueryRow(ctx, `SELECT outcome FROM audit_entries WHERE intent = $1 AND outcome = ANY($2)
		ORDER BY seq DESC LIMIT 1`, []byte(key), decisiveOutcomes()).Scan(&last)
	if err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return false, nil
		}
		return false, l.s.fail("read the audit table", err)
	}
	return audit.Opens(last), nil
}

// decisiveOutcomes are the outcomes that open or close a write; the others
// (an error) leave it as it was.
func decisiveOutcomes() []string {
	var out []string
	for _, o := range []string{audit.OutcomeOK, audit.OutcomeError, audit.OutcomeSkipped, audit.OutcomeStarted} {
		if audit.Opens(o) || audit.Closes(o) {
			out = append(out, o)
		}
	}
	return out
}

// Close writes what is queued and stops. It does not close the Store.
// Calls after the first return audit.ErrClosed.
func (l *AuditLog) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return fmt.Errorf("audit: close: %w", audit.ErrClosed)
	}
	l.closed = true
	close(l.queue)
	l.mu.Unlock()
	<-l.done
	return nil
}

// AuditRow is one row of the audit table: the entry, and where and when
// the database got it.
type AuditRow struct {
	Seq      int64     // the total order of every worker's rows
	Recorded time.Time // the server's clock when the row was written
	Host     string    // the writer's host name
	PID      int       // the writer's process id
	Entry    audit.Entry
	// Line is Entry as the file's line, without its newline: an export
	// writes it as is.
	Line []byte
}

// AuditQuery selects rows to read; the zero value is every row.
type AuditQuery struct {
	Since    time.Time // entries whose Time is at or after it
	AfterSeq int64     // rows after this seq
}

// ReadAudit calls fn for each row q selects in seq order, streaming. It
// stops at the first error fn returns and returns it as is.
func (s *Store) ReadAudit(ctx context.Context, q AuditQuery, fn func(r AuditRow) error) error {
	const op = "read the audit table"
	if err := s.errClosed(op); err != nil {
		return err
	}
	var since *time.Time
	if !q.Since.IsZero() {
		// at is cut to the microsecond: an entry in Since's microsecond
		// but before it is left out below, from its exact time.
		t := q.Since.Truncate(time.Microsecond)
		since = &t
	}
	rows, err := s.pool.Query(ctx, `SELECT seq, recorded, host, pid, line FROM audit_entries
		WHERE seq > $1 AND ($2::timestamptz IS NULL OR at >= $2) ORDER BY seq`, q.AfterSeq, since)
	if err != nil {
		return s.fail(op, err)
	}
	defer rows.Close()
	for rows.Next() {
		var r AuditRow
		if err := rows.Scan(&r.Seq, &r.Recorded, &r.Host, &r.PID, &r.Line); err != nil {
			return s.fail(op, err)
		}
		r.Recorded = r.Recorded.UTC()
		if err := json.Unmarshal(r.Line, &r.Entry); err != nil {
			return fmt.Errorf("state: %s: row %d: %w", op, r.Seq, err)
		}
		if !q.Since.IsZero() && r.Entry.Time.Before(q.Since) {
			continue
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return s.fail(op, err)
	}
	return nil
}
