package pgstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/engine"
	"github.com/exmigrate/exmigrate/internal/audit"
	"github.com/exmigrate/exmigrate/internal/secret"
)

func openAuditLog(t testing.TB, s *Store, operator string) *AuditLog {
	t.Helper()
	l, err := s.OpenAudit(operator)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func readAll(t testing.TB, s *Store, q AuditQuery) []AuditRow {
	t.Helper()
	var out []AuditRow
	if err := s.ReadAudit(context.Background(), q, func(r AuditRow) error { out = append(out, r); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestAuditSameAsFile: the same Records give the same entries, line for
// line, in the file and in the table, credentials scrubbed in both, and
// the same refusals.
func TestAuditSameAsFile(t *testing.T) {
	ctx := context.Background()
	s := open(t, newDatabase(t))
	defer s.Close()
	when := time.Date(2026, 11, 22, 11, 0, 0, 123456789, time.FixedZone("CET", 3600))
	long := strings.Repeat("é", 600)
	cases := []struct {
		name    string
		in      audit.Entry
		wantErr string
		// secret must not survive in the entry
		secret string
	}{
		{name: "item", in: audit.Entry{Time: when, Mailbox: "alice@contoso.com", Action: audit.ActionItemCreate, Object: "Inbox: Q3 budget",
			Outcome: audit.OutcomeOK, TargetID: "AAMk=", SourceID: "src-1", Folder: "Inbox", Size: 12345, Job: 7}},
		{name: "started, operator given", in: audit.Entry{Time: when.Add(time.Nanosecond), Operator: "CONTOSO\\svc", Mailbox: "a@b",
			Action: audit.ActionFolderCreate, Object: "Inbox/Projects", Outcome: audit.OutcomeStarted}},
		{name: "credential in error", in: audit.Entry{Time: when, Mailbox: "a@b", Action: audit.ActionItemCreate, Outcome: audit.OutcomeError,
			Error: "PUT https://outlook.office.com/api/upload?tempauth=eyJ0eXAiOiJKV1Qi.sekrit: 401; Authorization: Bearer abcdefgh12345678; password=hunter2"},
			secret: "hunter2"},
		{name: "token in object", in: audit.Entry{Time: when, Mailbox: "a@b", Action: audit.ActionMailSend, Object: "client_secret=s3cr3tvalue report",
			Outcome: audit.OutcomeOK}, secret: "s3cr3tvalue"},
		{name: "clipped", in: audit.Entry{Time: when, Mailbox: "a@b", Action: audit.ActionRuleCreate, Object: long, Outcome: audit.OutcomeSkipped,
			Error: "no Graph equivalent", Note: "fixed text"}},
		{name: "NUL and invalid UTF-8", in: audit.Entry{Time: when, Mailbox: "a@b", Action: audit.ActionItemCreate, Object: "Inbox: a\x00b\xffc",
			SourceID: "s\x00id", Outcome: audit.OutcomeStarted, Error: "bad \xc3 byte"}},
		{name: "no mailbox", in: audit.Entry{Time: when, Action: audit.ActionItemCreate, Outcome: audit.OutcomeOK}, wantErr: "mailbox is required"},
		{name: "unknown outcome", in: audit.Entry{Time: when, Mailbox: "a@b", Action: audit.ActionItemCreate, Outcome: "done"}, wantErr: "unknown outcome"},
	}
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	file, err := audit.Open(path, "svc-migrate")
	if err != nil {
		t.Fatal(err)
	}
	table := openAuditLog(t, s, "svc-migrate")
	for _, c := range cases {
		ferr, terr := file.Record(ctx, c.in), table.Record(ctx, c.in)
		switch {
		case c.wantErr == "" && (ferr != nil || terr != nil):
			t.Fatalf("%s: file %v, table %v", c.name, ferr, terr)
		case c.wantErr != "" && (ferr == nil || terr == nil || ferr.Error() != terr.Error() || !strings.Contains(terr.Error(), c.wantErr)):
			t.Fatalf("%s: file %v, table %v, want both %q", c.name, ferr, terr, c.wantErr)
		}
	}
	if err := file.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var fromFile []audit.Entry
	if err := audit.Read(bytes.NewReader(raw), func(e audit.Entry) error { fromFile = append(fromFile, e); return nil }); err != nil {
		t.Fatal(err)
	}
	rows := readAll(t, s, AuditQuery{})
	var lines bytes.Buffer
	for _, r := range rows {
		lines.Write(r.Line)
		lines.WriteByte('\n')
	}
	if len(rows) != len(fromFile) || len(rows) != 6 {
		t.Fatalf("%d rows, %d file entries, want 6", len(rows), len(fromFile))
	}
	for i, r := range rows {
		if !reflect.DeepEqual(r.Entry, fromFile[i]) {
			t.Errorf("entry %d:\ntable %+v\nfile  %+v", i, r.Entry, fromFile[i])
		}
	}
	if lines.String() != string(raw) {
		t.Errorf("the table's lines differ from the file's:\n%s\nfile:\n%s", lines.String(), raw)
	}
	for _, c := range cases {
		if c.secret != "" && strings.Contains(lines.String(), c.secret) {
			t.Errorf("%s: %q is in the table's entries", c.name, c.secret)
		}
	}
	host, _ := os.Hostname()
	for i, r := range rows {
		if r.Host != host || r.PID != os.Getpid() || r.Recorded.IsZero() || (i > 0 && r.Seq <= rows[i-1].Seq) {
			t.Errorf("row %d: seq %d host %q pid %d recorded %v", i, r.Seq, r.Host, r.PID, r.Recorded)
		}
	}
	// --since: the entries at or after a time, to the nanosecond.
	got := readAll(t, s, AuditQuery{Since: when.Add(time.Nanosecond)})
	if len(got) != 1 || got[0].Entry.Action != audit.ActionFolderCreate {
		t.Errorf("since %v: %d rows %+v, want the folder's", when.Add(time.Nanosecond), len(got), got)
	}
}

// TestAuditConcurrentWriters: workers on two store handles writing at once
// keep every row, once, each writer's rows in the order it wrote them, in
// one total order; a reader tailing by seq while they write misses none.
func TestAuditConcurrentWriters(t *testing.T) {
	ctx := context.Background()
	dbURL := newDatabase(t)
	const writers, each = 8, 150
	handles := []*Store{open(t, dbURL), open(t, dbURL)}
	for _, h := range handles {
		defer h.Close()
	}
	logs := []*AuditLog{openAuditLog(t, handles[0], "worker-a"), openAuditLog(t, handles[1], "worker-b")}

	// The tail: reads after the last seq it saw, over and over, until the
	// writers are done; then once more.
	var writing atomic.Bool
	writing.Store(true)
	tailed := map[int64]bool{}
	tailDone := make(chan error, 1)
	go func() {
		reader := open(t, dbURL)
		defer reader.Close()
		var last int64
		for {
			still := writing.Load()
			err := reader.ReadAudit(ctx, AuditQuery{AfterSeq: last}, func(r AuditRow) error {
				if tailed[r.Seq] {
					return fmt.Errorf("seq %d read twice", r.Seq)
				}
				tailed[r.Seq], last = true, r.Seq
				return nil
			})
			if err != nil || !still {
				tailDone <- err
				return
			}
		}
	}()

	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		l := logs[w%2]
		wg.Go(func() {
			for i := range each {
				e := audit.Entry{Mailbox: fmt.Sprintf("w%d@contoso.com", w), Action: audit.ActionItemCreate, Outcome: audit.OutcomeOK,
					SourceID: fmt.Sprint(i), Object: fmt.Sprintf("%d/%d", w, i)}
				if err := l.Record(ctx, e); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	writing.Store(false)
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if err := <-tailDone; err != nil {
		t.Fatal(err)
	}
	rows := readAll(t, handles[0], AuditQuery{})
	if len(rows) != writers*each {
		t.Fatalf("%d rows, want %d", len(rows), writers*each)
	}
	next := make([]int, writers)
	for i, r := range rows {
		if i > 0 && (r.Seq <= rows[i-1].Seq || r.Recorded.Before(rows[i-1].Recorded)) {
			t.Fatalf("row %d: seq %d recorded %v after seq %d recorded %v", i, r.Seq, r.Recorded, rows[i-1].Seq, rows[i-1].Recorded)
		}
		var w, n int
		if _, err := fmt.Sscanf(r.Entry.Object, "%d/%d", &w, &n); err != nil {
			t.Fatal(err)
		}
		if n != next[w] {
			t.Fatalf("writer %d: entry %d at seq %d, want %d next", w, n, r.Seq, next[w])
		}
		next[w]++
		if want := []string{"worker-a", "worker-b"}[w%2]; r.Entry.Operator != want {
			t.Errorf("writer %d: operator %q, want %q", w, r.Entry.Operator, want)
		}
		if !tailed[r.Seq] {
			t.Errorf("the tail missed seq %d: a row became visible after a later one", r.Seq)
		}
	}
	var batches int
	if err := handles[0].pool.QueryRow(ctx, `SELECT count(DISTINCT (host, pid, recorded::date, xmin::text)) FROM audit_entries`).Scan(&batches); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d rows in %d transactions", len(rows), batches)
}

// TestAuditUnfinished: a started row with no later ok or skipped row for
// the same write is unfinished, whichever handle wrote it and whichever
// asks; an error leaves it open.
func TestAuditUnfinished(t *testing.T) {
	ctx := context.Background()
	dbURL := newDatabase(t)
	a, b := open(t, dbURL), open(t, dbURL)
	defer b.Close()
	la, lb := openAuditLog(t, a, "worker-a"), openAuditLog(t, b, "worker-b")

	item := audit.Entry{Mailbox: "Alice@Contoso.com", Action: audit.ActionItemCreate, SourceID: "stamp-1", Object: "Inbox: hello"}
	folder := audit.Entry{Mailbox: "alice@contoso.com", Action: audit.ActionFolderCreate, Object: "Inbox/Projects"}
	with := func(e audit.Entry, outcome string) audit.Entry { e.Outcome = outcome; return e }
	unfinished := func(l *AuditLog, e audit.Entry) bool {
		t.Helper()
		open, err := l.Unfinished(ctx, e)
		if err != nil {
			t.Fatal(err)
		}
		return open
	}

	if unfinished(lb, item) {
		t.Fatal("unfinished before any row")
	}
	for _, e := range []audit.Entry{with(item, audit.OutcomeStarted), with(folder, audit.OutcomeStarted)} {
		if err := la.Record(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	// Worker A is killed: its handle goes away with no outcome.
	if err := la.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	// The mailbox matches whatever its case; the stamp must be the same.
	other := item
	other.SourceID = "stamp-2"
	lower := item
	lower.Mailbox = "alice@contoso.com"
	steps := []struct {
		record *audit.Entry
		ask    audit.Entry
		want   bool
	}{
		{ask: lower, want: true},
		{ask: other, want: false},
		{ask: folder, want: true},
		{record: ptr(with(item, audit.OutcomeError)), ask: item, want: true},
		{record: ptr(with(item, audit.OutcomeOK)), ask: item, want: false},
		{ask: folder, want: true},
		{record: ptr(with(folder, audit.OutcomeSkipped)), ask: folder, want: false},
		{record: ptr(with(item, audit.OutcomeStarted)), ask: item, want: true},
		{record: ptr(with(audit.Entry{Mailbox: item.Mailbox, Action: audit.ActionItemSkip, SourceID: item.SourceID}, audit.OutcomeSkipped)), ask: item, want: false},
	}
	for i, st := range steps {
		if st.record != nil {
			if err := lb.Record(ctx, *st.record); err != nil {
				t.Fatal(err)
			}
		}
		if got := unfinished(lb, st.ask); got != st.want {
			t.Errorf("step %d: unfinished %v, want %v", i, got, st.want)
		}
	}
	// The file says the same of the same lines.
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	f, err := audit.Open(path, "x")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, r := range readAll(t, b, AuditQuery{}) {
		if err := f.Record(ctx, r.Entry); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range []audit.Entry{item, folder, other} {
		fo, err := f.Unfinished(e)
		if err != nil {
			t.Fatal(err)
		}
		if to := unfinished(lb, e); fo != to {
			t.Errorf("%s %s: file says unfinished %v, table %v", e.Action, e.Object, fo, to)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// TestMigrateAudit: a database of schema version 2 (before the audit
// table) gets it when a writer opens it, keeping its jobs; a reader of the
// older version is told to run a copy first.
func TestMigrateAudit(t *testing.T) {
	ctx := context.Background()
	u := newDatabase(t)
	s := open(t, u)
	if _, err := s.Job(ctx, engineKey("ann@contoso.com")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, `DROP TABLE audit_entries; ALTER TABLE folders DROP COLUMN writes_open; UPDATE exmigrate_schema SET version = 2`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := OpenReadOnly(ctx, u, secret.Secret{}); err == nil || !strings.Contains(err.Error(), "older exmigrate (schema version 2)") {
		t.Errorf("a reader of version 2: %v", err)
	}
	s = open(t, u)
	defer s.Close()
	l := openAuditLog(t, s, "svc")
	if err := l.Record(ctx, audit.Entry{Mailbox: "ann@contoso.com", Action: audit.ActionItemCreate, Outcome: audit.OutcomeOK}); err != nil {
		t.Fatalf("a record after the upgrade: %v", err)
	}
	jobs, err := s.Jobs(ctx)
	if err != nil || len(jobs) != 1 {
		t.Errorf("jobs after the upgrade: %v, %v", jobs, err)
	}
}

// TestAuditClosed: Record after Close is refused; entries queued before
// Close are written.
func TestAuditClosed(t *testing.T) {
	ctx := context.Background()
	s := open(t, newDatabase(t))
	defer s.Close()
	l, err := s.OpenAudit("svc")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var ok atomic.Int64
	for i := range 50 {
		wg.Go(func() {
			if l.Record(ctx, audit.Entry{Mailbox: "a@b", Action: audit.ActionItemCreate, Outcome: audit.OutcomeOK, SourceID: fmt.Sprint(i)}) == nil {
				ok.Add(1)
			}
		})
	}
	time.Sleep(time.Millisecond)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if err := l.Record(ctx, audit.Entry{Mailbox: "a@b", Action: audit.ActionItemCreate, Outcome: audit.OutcomeOK}); !errors.Is(err, audit.ErrClosed) {
		t.Errorf("record after close: %v, want ErrClosed", err)
	}
	if err := l.Close(); !errors.Is(err, audit.ErrClosed) {
		t.Errorf("second close: %v", err)
	}
	if n := len(readAll(t, s, AuditQuery{})); int64(n) != ok.Load() {
		t.Errorf("%d rows for %d Records that returned nil", n, ok.Load())
	}
	if _, err := s.OpenAudit(""); err == nil {
		t.Error("an audit log with no operator was opened")
	}
	// A closed store fails the Record (the write is then not made), at once.
	l2 := openAuditLog(t, s, "svc")
	s.Close()
	if err := l2.Record(ctx, audit.Entry{Mailbox: "a@b", Action: audit.ActionItemCreate, Outcome: audit.OutcomeStarted}); !errors.Is(err, engine.ErrStoreClosed) {
		t.Errorf("record on a closed store: %v, want ErrStoreClosed", err)
	}
	if _, err := l2.Unfinished(ctx, audit.Entry{Mailbox: "a@b", Action: audit.ActionItemCreate, SourceID: "x"}); !errors.Is(err, engine.ErrStoreClosed) {
		t.Errorf("unfinished on a closed store: %v, want ErrStoreClosed", err)
	}
}

// BenchmarkAuditRecord: Records from many goroutines at once, as a copy
// of many mailboxes makes them (two per item), on two store handles as two
// workers would. rows/commit says how well the group commit gathers.
func BenchmarkAuditRecord(b *testing.B) {
	for _, writers := range []int{16, 64, 256} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) { benchmarkAuditRecord(b, writers) })
	}
}

func benchmarkAuditRecord(b *testing.B, writers int) {
	ctx := context.Background()
	dbURL := newDatabase(b)
	s1, s2 := open(b, dbURL), open(b, dbURL)
	defer s1.Close()
	defer s2.Close()
	logs := []*AuditLog{openAuditLog(b, s1, "worker-a"), openAuditLog(b, s2, "worker-b")}
	var n atomic.Int64
	// RunParallel starts parallelism × GOMAXPROCS goroutines: a copy's
	// writers wait on the network, not the CPU.
	b.SetParallelism(max(1, writers/runtime.GOMAXPROCS(0)))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := n.Add(1)
		l := logs[i%2]
		e := audit.Entry{Mailbox: fmt.Sprintf("user%d@contoso.com", i), Action: audit.ActionItemCreate, Outcome: audit.OutcomeStarted,
			Object: "Inbox: Quarterly figures for review", Folder: "Inbox", Size: 48213}
		for k := 0; pb.Next(); k++ {
			e.SourceID = fmt.Sprint(k)
			if err := l.Record(ctx, e); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	var rows, txns float64
	if err := s1.pool.QueryRow(ctx, `SELECT count(*), count(DISTINCT xmin::text) FROM audit_entries`).Scan(&rows, &txns); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(rows/txns, "rows/commit")
}

// BenchmarkAuditRowPerCommit is the baseline the group commit replaces:
// one INSERT, one commit, per row, from as many writers.
func BenchmarkAuditRowPerCommit(b *testing.B) {
	ctx := context.Background()
	s := open(b, newDatabase(b))
	defer s.Close()
	b.SetParallelism(max(1, 64/runtime.GOMAXPROCS(0)))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for k := 0; pb.Next(); k++ {
			_, err := s.pool.Exec(ctx, `INSERT INTO audit_entries (at, operator, mailbox, action, object, target_id, outcome,
				error, note, job, source_id, folder, size, intent, line, host, pid)
				VALUES (now(), 'w', 'a@b', 'item.create', 'Inbox: x', '', 'started', '', '', 0, $1, 'Inbox', 1, NULL, '{}', 'h', 1)`, fmt.Sprint(k))
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
