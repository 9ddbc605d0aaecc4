package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

const operator = `CONTOSO\svc-migrate`

func openTemp(t testing.TB) (*Log, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l, err := Open(path, operator)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, path
}

func readAll(t testing.TB, path string) []Entry {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []Entry
	if err := Read(f, func(e Entry) error { out = append(out, e); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRecord(t *testing.T) {
	ctx := context.Background()
	when := time.Date(2026, 11, 22, 11, 0, 0, 123456789, time.FixedZone("CET", 3600))
	tests := []struct {
		name    string
		in      Entry
		want    Entry  // zero Time: expect about now
		line    string // exact line, when the test pins it
		wantErr string
	}{
		{
			name: "item created",
			in: Entry{Time: when, Mailbox: "alice@contoso.com", Action: ActionItemCreate, Object: "Q3 budget",
				TargetID: "AAMkAD-t1", Outcome: OutcomeOK, Job: 3, SourceID: "src-1", Folder: "/Inbox", Size: 48213},
			want: Entry{Time: when.UTC(), Operator: operator, Mailbox: "alice@contoso.com", Action: ActionItemCreate,
				Object: "Q3 budget", TargetID: "AAMkAD-t1", Outcome: OutcomeOK, Job: 3, SourceID: "src-1", Folder: "/Inbox", Size: 48213},
			line: `{"time":"2026-11-22T10:00:00.123456789Z","operator":"CONTOSO\\svc-migrate","mailbox":"alice@contoso.com",` +
				`"action":"item.create","object":"Q3 budget","target_id":"AAMkAD-t1","outcome":"ok","job":3,` +
				`"source_id":"src-1","folder":"/Inbox","size":48213}`,
		},
		{
			name: "folder failed, operator of its own, time filled",
			in: Entry{Operator: "4b1e-app-id", Mailbox: "bob@contoso.com", Action: ActionFolderCreate, Object: "/Projects/2026",
				Outcome: OutcomeError, Error: "ErrorFolderExists"},
			want: Entry{Operator: "4b1e-app-id", Mailbox: "bob@contoso.com", Action: ActionFolderCreate, Object: "/Projects/2026",
				Outcome: OutcomeError, Error: "ErrorFolderExists"},
		},
		{
			name: "skipped",
			in:   Entry{Time: when, Mailbox: "a@b", Action: ActionRuleCreate, Object: "Move newsletters", Outcome: OutcomeSkipped, Error: "no Graph equivalent"},
			want: Entry{Time: when.UTC(), Operator: operator, Mailbox: "a@b", Action: ActionRuleCreate, Object: "Move newsletters",
				Outcome: OutcomeSkipped, Error: "no Graph equivalent"},
			line: `{"time":"2026-11-22T10:00:00.123456789Z","operator":"CONTOSO\\svc-migrate","mailbox":"a@b","action":"rule.create",` +
				`"object":"Move newsletters","outcome":"skipped","error":"no Graph equivalent"}`,
		},
		{name: "no mailbox", in: Entry{Action: ActionItemCreate, Outcome: OutcomeOK}, wantErr: "mailbox is required"},
		{name: "no action", in: Entry{Mailbox: "a@b", Outcome: OutcomeOK}, wantErr: "action is required"},
		{name: "bad outcome", in: Entry{Mailbox: "a@b", Action: ActionMailSend, Outcome: "done"}, wantErr: `unknown outcome "done"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, path := openTemp(t)
			before := time.Now()
			err := l.Record(ctx, tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "audit: record") {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if b, _ := os.ReadFile(path); len(b) != 0 {
					t.Fatalf("a refused entry was written: %s", b)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if tt.line != "" && string(raw) != tt.line+"\n" {
				t.Fatalf("line\n got %s\nwant %s", raw, tt.line)
			}
			got := readAll(t, path)
			if len(got) != 1 {
				t.Fatalf("%d entries", len(got))
			}
			want := tt.want
			if want.Time.IsZero() {
				if got[0].Time.Before(before) || got[0].Time.After(time.Now()) || got[0].Time.Location() != time.UTC {
					t.Fatalf("time = %v, want now in UTC", got[0].Time)
				}
				want.Time = got[0].Time
			}
			if !reflect.DeepEqual(got[0], want) {
				t.Fatalf("got %+v\nwant %+v", got[0], want)
			}
		})
	}
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.jsonl")
	if _, err := Open(path, "  "); err == nil || !strings.Contains(err.Error(), "operator is required") {
		t.Fatalf("empty operator: %v", err)
	}
	if _, err := Open(filepath.Join(dir, "missing", "audit.jsonl"), operator); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing directory: %v", err)
	}
	// Appends across opens, and the file is private.
	for i := range 2 {
		l, err := Open(path, operator)
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Record(context.Background(), Entry{Mailbox: "a@b", Action: ActionItemCreate, Object: fmt.Sprint(i), Outcome: OutcomeOK}); err != nil {
			t.Fatal(err)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if got := readAll(t, path); len(got) != 2 || got[0].Object != "0" || got[1].Object != "1" {
		t.Fatalf("after two opens: %+v", got)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode = %v, want 0600", fi.Mode().Perm())
	}
}

func TestClosed(t *testing.T) {
	l, _ := openTemp(t)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Record(context.Background(), Entry{Mailbox: "a@b", Action: ActionItemCreate, Outcome: OutcomeOK}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Record after Close: %v", err)
	}
	if err := l.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Close: %v", err)
	}
}

// A write that happened is recorded even when the run is being canceled.
func TestRecordIgnoresCancel(t *testing.T) {
	l, path := openTemp(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.Record(ctx, Entry{Mailbox: "a@b", Action: ActionItemCreate, Outcome: OutcomeOK}); err != nil {
		t.Fatal(err)
	}
	l.Close()
	if n := len(readAll(t, path)); n != 1 {
		t.Fatalf("%d entries", n)
	}
}

func TestConcurrentRecord(t *testing.T) {
	l, path := openTemp(t)
	const writers, each = 32, 1000
	// A long object makes torn or interleaved lines likely if writes split.
	pad := strings.Repeat("x", 300)
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				e := Entry{Mailbox: fmt.Sprintf("user%02d@contoso.com", w), Action: ActionItemCreate,
					Object: fmt.Sprintf("%d/%d %s", w, i, pad), Outcome: OutcomeOK, Size: int64(i)}
				if err := l.Record(context.Background(), e); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSuffix(raw, []byte("\n")), []byte("\n"))
	if len(lines) != writers*each {
		t.Fatalf("%d lines, want %d", len(lines), writers*each)
	}
	// Every line is valid JSON on its own, and each writer's entries are
	// all there, in its order.
	next := make([]int, writers)
	for n, line := range lines {
		var e Entry
		if err := json.Unmarshal(line, &e); err != nil {
			t.Fatalf("line %d is not JSON: %v: %.120s", n+1, err, line)
		}
		var w, i int
		if _, err := fmt.Sscanf(e.Object, "%d/%d", &w, &i); err != nil || !strings.HasSuffix(e.Object, pad) {
			t.Fatalf("line %d: object %.40q", n+1, e.Object)
		}
		if i != next[w] {
			t.Fatalf("writer %d: entry %d after %d", w, i, next[w]-1)
		}
		next[w]++
	}
}

// TestNoSecrets: Entry has no field for a credential or a body, and the free
// text that may quote one (an error message with a URL or a header) is
// scrubbed before it reaches the file.
func TestNoSecrets(t *testing.T) {
	allowed := map[string]reflect.Kind{
		"Time": reflect.Struct, "Operator": reflect.String, "Mailbox": reflect.String, "Action": reflect.String,
		"Object": reflect.String, "TargetID": reflect.String, "Outcome": reflect.String, "Error": reflect.String, "Note": reflect.String,
		"Job": reflect.Int64, "SourceID": reflect.String, "Folder": reflect.String, "Size": reflect.Int64,
	}
	typ := reflect.TypeFor[Entry]()
	for f := range typ.Fields() {
		if k, ok := allowed[f.Name]; !ok || f.Type.Kind() != k {
			t.Errorf("Entry.%s (%v) is not a documented field: review it for secrets and bodies, then add it here", f.Name, f.Type)
		}
	}

	secrets := []string{"eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.payload.sig", "hunter2-Pa55", "tmp-auth-XYZ123456789",
		"c2VjcmV0OnBhc3N3b3Jk", "s3cr3tV4lue", "TlRMTVNTUAABAAAAB4II"}
	tests := []struct {
		name, object, err string
		keep              []string // what must survive the scrub
	}{
		{name: "upload URL in an error",
			err:  "PUT https://contoso-my.sharepoint.com/personal/upload.aspx?tempauth=tmp-auth-XYZ123456789&x=1: 416",
			keep: []string{"https://contoso-my.sharepoint.com/personal/upload.aspx?REDACTED", " 416"}},
		{name: "bearer header", err: "request failed: Authorization: Bearer eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.payload.sig",
			keep: []string{"request failed"}},
		{name: "basic and ntlm", err: "sent Basic c2VjcmV0OnBhc3N3b3Jk then NTLM TlRMTVNTUAABAAAAB4II",
			keep: []string{"sent Basic REDACTED then NTLM REDACTED"}},
		{name: "password pair", err: `login: password="hunter2-Pa55" user=svc`, keep: []string{"user=svc", "password="}},
		{name: "client secret in form", err: "grant_type=client_credentials&client_secret=s3cr3tV4lue&scope=x",
			keep: []string{"grant_type=client_credentials", "scope=x"}},
		{name: "user info in URL", err: "dial https://svc:hunter2-Pa55@mail.contoso.com/EWS/Exchange.asmx",
			keep: []string{"https://REDACTED@mail.contoso.com/EWS/Exchange.asmx"}},
		{name: "subject that names a token", object: "Your token: s3cr3tV4lue", keep: []string{"Your token: REDACTED"}},
		{name: "api key header", err: "x-api-key: s3cr3tV4lue rejected", keep: []string{"x-api-key: REDACTED rejected"}},
		{name: "OAuth code in a redirect", err: "redirect to https://localhost/cb?code=hunter2-Pa55&state=1", keep: []string{"https://localhost/cb?REDACTED"}},
		{name: "words that contain a secret's name stay", object: "Design: new logo; Tokenizer: v2", keep: []string{"Design: new logo; Tokenizer: v2"}},
		{name: "error codes stay", err: "error code: 500 (ResponseCode: ErrorQuotaExceeded)", keep: []string{"error code: 500 (ResponseCode: ErrorQuotaExceeded)"}},
		{name: "plain subject stays", object: "Re: Q3 budget (final) — 50% done?", keep: []string{"Re: Q3 budget (final) — 50% done?"}},
	}
	l, path := openTemp(t)
	for _, tt := range tests {
		e := Entry{Mailbox: "a@b", Action: ActionItemCreate, Object: tt.object, Outcome: OutcomeError, Error: tt.err}
		if tt.err == "" {
			e.Outcome = OutcomeOK
		}
		if err := l.Record(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets {
		if bytes.Contains(raw, []byte(s)) {
			t.Errorf("secret %q reached the audit file", s)
		}
	}
	got := readAll(t, path)
	for i, tt := range tests {
		text := got[i].Object + " " + got[i].Error
		for _, k := range tt.keep {
			if !strings.Contains(text, k) {
				t.Errorf("%s: %q lost %q", tt.name, text, k)
			}
		}
	}
}

func TestClip(t *testing.T) {
	l, path := openTemp(t)
	body := strings.Repeat("é", 10_000) // a body passed as the object by mistake
	if err := l.Record(context.Background(), Entry{Mailbox: "a@b", Action: ActionItemCreate, Object: body,
		Outcome: OutcomeError, Error: body}); err != nil {
		t.Fatal(err)
	}
	l.Close()
	e := readAll(t, path)[0]
	if n := len([]rune(e.Object)); n != maxObject || !strings.HasSuffix(e.Object, "…") {
		t.Fatalf("object kept %d runes", n)
	}
	if n := len([]rune(e.Error)); n != maxError {
		t.Fatalf("error kept %d runes", n)
	}
}

func TestRead(t *testing.T) {
	good := `{"time":"2026-11-22T10:00:00Z","operator":"op","mailbox":"a@b","action":"item.create","outcome":"ok"}`
	tests := []struct {
		name     string
		in       string
		n        int
		errLine  int
		errIsTxt string
	}{
		{name: "empty", in: ""},
		{name: "two lines and blanks", in: good + "\n\n" + good + "\n  \n", n: 2},
		{name: "last line without newline", in: good + "\n" + good, n: 2},
		{name: "CRLF", in: good + "\r\n" + good + "\r\n", n: 2},
		{name: "torn last line", in: good + "\n" + good[:40], n: 1, errLine: 2, errIsTxt: "unexpected end"},
		{name: "not JSON", in: "time=now\n", errLine: 1, errIsTxt: "invalid character"},
		{name: "two objects on a line", in: good + good + "\n", errLine: 1, errIsTxt: "after top-level value"},
		{name: "missing outcome", in: `{"time":"2026-11-22T10:00:00Z","operator":"op","mailbox":"a@b","action":"x"}` + "\n",
			errLine: 1, errIsTxt: "unknown outcome"},
		{name: "missing time", in: `{"operator":"op","mailbox":"a@b","action":"x","outcome":"ok"}`, errLine: 1, errIsTxt: "time is required"},
		{name: "null", in: "null\n", errLine: 1, errIsTxt: "required"},
		{name: "line too long", in: good + "\n" + `{"object":"` + strings.Repeat("a", maxLine) + `"}` + "\n", n: 1, errLine: 2,
			errIsTxt: ErrLineTooLong.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := 0
			err := Read(strings.NewReader(tt.in), func(Entry) error { n++; return nil })
			if n != tt.n {
				t.Errorf("%d entries, want %d", n, tt.n)
			}
			if tt.errLine == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var le *LineError
			if !errors.As(err, &le) || le.Line != tt.errLine || !strings.Contains(err.Error(), tt.errIsTxt) {
				t.Fatalf("err = %v, want line %d %q", err, tt.errLine, tt.errIsTxt)
			}
		})
	}

	stop := errors.New("enough")
	n := 0
	err := Read(strings.NewReader(good+"\n"+good+"\n"), func(Entry) error { n++; return stop })
	if err != stop || n != 1 {
		t.Fatalf("fn error: got %v after %d entries", err, n)
	}
}

func FuzzRead(f *testing.F) {
	f.Add([]byte(`{"time":"2026-11-22T10:00:00.123456789Z","operator":"CONTOSO\\svc","mailbox":"a@b","action":"item.create","object":"Q3","target_id":"AAMk","outcome":"ok","job":3,"source_id":"s","folder":"/Inbox","size":12}` + "\n"))
	f.Add([]byte(`{"time":"2026-11-22T11:00:00+01:00","operator":"op","mailbox":"a@b","action":"folder.create","outcome":"error","error":"boom"}` + "\r\n\n"))
	f.Add([]byte("\n\n"))
	f.Add([]byte(`{"time":"x"}`))
	f.Add([]byte("null\n{}\n[]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var first []Entry
		err := Read(bytes.NewReader(data), func(e Entry) error { first = append(first, e); return nil })
		if err != nil {
			var le *LineError
			if !errors.As(err, &le) || le.Line < 1 {
				t.Fatalf("error without a line: %v", err)
			}
		}
		// What Read accepted re-encodes into a log Read reads back the same.
		var buf bytes.Buffer
		for _, e := range first {
			b, err := json.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			buf.Write(b)
			buf.WriteByte('\n')
		}
		var second []Entry
		if err := Read(&buf, func(e Entry) error { second = append(second, e); return nil }); err != nil {
			t.Fatalf("re-read: %v", err)
		}
		if len(second) != len(first) {
			t.Fatalf("re-read %d entries of %d", len(second), len(first))
		}
		for i := range first {
			a, b := first[i], second[i]
			if !a.Time.Equal(b.Time) {
				t.Fatalf("entry %d time %v != %v", i, a.Time, b.Time)
			}
			a.Time, b.Time = time.Time{}, time.Time{}
			if a != b {
				t.Fatalf("entry %d: %+v != %+v", i, a, b)
			}
		}
	})
}

// BenchmarkRecord: what the audit log costs a copy per item written.
func BenchmarkRecord(b *testing.B) {
	l, _ := openTemp(b)
	e := Entry{Mailbox: "alice@contoso.com", Action: ActionItemCreate, Object: "Re: Q3 budget review", TargetID: strings.Repeat("A", 150),
		Outcome: OutcomeOK, Job: 3, SourceID: strings.Repeat("s", 60), Folder: "/Inbox/Projects", Size: 48_000}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := l.Record(context.Background(), e); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}

// TestTwoLogsOneFile is two processes appending to one audit file (two
// batches run at once): O_APPEND and one write per line keep every line
// whole across file descriptors, not only across goroutines.
func TestTwoLogsOneFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	logs := make([]*Log, 2)
	for i := range logs {
		l, err := Open(path, fmt.Sprintf("op%d", i))
		if err != nil {
			t.Fatal(err)
		}
		logs[i] = l
	}
	const writers, each = 8, 500
	pad := strings.Repeat("y", 1000)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				if err := logs[w%2].Record(context.Background(), Entry{Mailbox: "a@b", Action: ActionItemCreate,
					Object: fmt.Sprintf("%d/%d %s", w, i, pad), Outcome: OutcomeOK}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	for _, l := range logs {
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
	got := readAll(t, path) // fails on any torn or merged line
	if len(got) != writers*each {
		t.Fatalf("%d entries, want %d", len(got), writers*each)
	}
	per := map[string]int{}
	for _, e := range got {
		per[e.Operator]++
	}
	if per["op0"] != writers*each/2 || per["op1"] != writers*each/2 {
		t.Fatalf("entries per log: %v", per)
	}
}

// TestOpenRefusesAFileOthersCanRead: an existing audit log of mode 0644 is
// refused with the fix; 0600 (and a new file) is taken.
func TestOpenRefusesAFileOthersCanRead(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permission bits")
	}
	dir := t.TempDir()
	for _, tt := range []struct {
		mode os.FileMode
		ok   bool
	}{{0o644, false}, {0o640, false}, {0o602, false}, {0o600, true}, {0o400, false}} {
		path := filepath.Join(dir, fmt.Sprintf("audit-%04o.jsonl", tt.mode))
		if err := os.WriteFile(path, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, tt.mode); err != nil {
			t.Fatal(err)
		}
		l, err := Open(path, "CONTOSO\\svc")
		if l != nil {
			l.Close()
		}
		switch {
		case tt.ok && err != nil:
			t.Errorf("mode %04o: %v", tt.mode, err)
		case !tt.ok && tt.mode&0o077 != 0 && (err == nil || !strings.Contains(err.Error(), "chmod 600")):
			t.Errorf("mode %04o: %v, want a refusal naming chmod 600", tt.mode, err)
		}
	}
	l, err := Open(filepath.Join(dir, "new.jsonl"), "svc")
	if err != nil {
		t.Fatalf("a new log: %v", err)
	}
	l.Close()
	if fi, _ := os.Stat(filepath.Join(dir, "new.jsonl")); fi.Mode().Perm() != 0o600 {
		t.Errorf("a new log has mode %04o, want 0600", fi.Mode().Perm())
	}
}

// lineByMarshal is Line by encoding/json: the reference.
func lineByMarshal(t testing.TB, e Entry) []byte {
	t.Helper()
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

func TestLineAsMarshal(t *testing.T) {
	at := time.Date(2026, 11, 30, 5, 40, 1, 123456789, time.UTC)
	for _, e := range []Entry{
		{Time: at, Operator: `CONTOSO\svc`, Mailbox: "ann@contoso.com", Action: ActionItemCreate, Outcome: OutcomeStarted},
		{Time: at.Truncate(time.Second), Operator: "app", Mailbox: "a@b.c", Action: ActionItemCreate, Object: "Inbox: <Quarterly> & \"figures\" \u2028 ü \x01",
			TargetID: "AAMk=", Outcome: OutcomeOK, Error: "e", Note: noteForTest, Job: -7, SourceID: "exm1-ab", Folder: "Inbox/Sub", Size: 1 << 40},
		{Time: time.Date(9999, 12, 31, 23, 59, 59, 0, time.FixedZone("", 3600)), Operator: "o", Mailbox: "m", Action: "a", Outcome: "ok", Object: "bad \xff utf-8"},
	} {
		got, err := Line(e)
		if err != nil {
			t.Fatal(err)
		}
		if want := lineByMarshal(t, e); !bytes.Equal(got, want) {
			t.Errorf("Line:\n got %s\nwant %s", got, want)
		}
	}
	if _, err := Line(Entry{Time: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), Operator: "o", Mailbox: "m", Action: "a", Outcome: "ok"}); err == nil {
		t.Error("a time past year 9999 made a line; encoding/json refuses it")
	}
}

const noteForTest = "written by an interrupted run"

// FuzzLineAsMarshal: for any entry, Line writes what json.Marshal writes.
func FuzzLineAsMarshal(f *testing.F) {
	f.Add(int64(1764480000123456789), "CONTOSO\\svc", "ann@contoso.com", "item.create", "Inbox: s", "ok", "", "exm1-1", int64(3), int64(6600))
	f.Add(int64(0), "<o>", "m&", "a\"", "\x00\xff\u2029", "", "err\n", "", int64(-1), int64(0))
	f.Fuzz(func(t *testing.T, nanos int64, operator, mbx, action, object, outcome, errText, sid string, job, size int64) {
		e := Entry{Time: time.Unix(0, nanos).In(time.FixedZone("", int(nanos%50000))), Operator: operator, Mailbox: mbx, Action: action,
			Object: object, TargetID: sid, Outcome: outcome, Error: errText, Note: object, Job: job, SourceID: sid, Folder: mbx, Size: size}
		got, err := Line(e)
		want, werr := json.Marshal(e)
		if (err == nil) != (werr == nil) {
			t.Fatalf("errors differ: %v, json %v", err, werr)
		}
		if err == nil && !bytes.Equal(got, append(want, '\n')) {
			t.Fatalf("Line:\n got %s\nwant %s", got, want)
		}
	})
}
