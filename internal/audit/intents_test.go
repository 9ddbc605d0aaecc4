package audit

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUnfinished: a started line is open until an ok or skipped line about
// the same thing closes it; an error leaves it in doubt; the families do
// not mix and the mailbox is compared without case.
func TestUnfinished(t *testing.T) {
	long := strings.Repeat("Projekt/", 100) // clipped in the file: the query is clipped alike
	tests := []struct {
		name  string
		lines []Entry
		ask   Entry
		want  bool
	}{
		{"no line", nil, Entry{Mailbox: "a@b", Action: ActionItemCreate, SourceID: "s1"}, false},
		{"started only", []Entry{{Mailbox: "a@b", Action: ActionItemCreate, SourceID: "s1", Outcome: OutcomeStarted}},
			Entry{Mailbox: "A@B", Action: ActionItemCreate, SourceID: "s1"}, true},
		{"started then ok", []Entry{
			{Mailbox: "a@b", Action: ActionItemCreate, SourceID: "s1", Outcome: OutcomeStarted},
			{Mailbox: "a@b", Action: ActionItemCreate, SourceID: "s1", Outcome: OutcomeOK}},
			Entry{Mailbox: "a@b", Action: ActionItemCreate, SourceID: "s1"}, false},
		{"started then error: in doubt", []Entry{
			{Mailbox: "a@b", Action: ActionItemCreate, SourceID: "s1", Outcome: OutcomeStarted},
			{Mailbox: "a@b", Action: ActionItemCreate, SourceID: "s1", Outcome: OutcomeError, Error: "timeout"}},
			Entry{Mailbox: "a@b", Action: ActionItemCreate, SourceID: "s1"}, true},
		{"started then skipped", []Entry{
			{Mailbox: "a@b", Action: ActionItemCreate, SourceID: "s1", Outcome: OutcomeStarted},
			{Mailbox: "a@b", Action: ActionItemSkip, SourceID: "s1", Outcome: OutcomeSkipped, Error: "too large"}},
			Entry{Mailbox: "a@b", Action: ActionItemCreate, SourceID: "s1"}, false},
		{"started then adopted", []Entry{
			{Mailbox: "a@b", Action: ActionItemCreate, SourceID: "s1", Outcome: OutcomeStarted},
			{Mailbox: "a@b", Action: ActionItemAdopt, SourceID: "s1", Outcome: OutcomeOK}},
			Entry{Mailbox: "a@b", Action: ActionItemCreate, SourceID: "s1"}, false},
		{"another stamp", []Entry{{Mailbox: "a@b", Action: ActionItemCreate, SourceID: "s1", Outcome: OutcomeStarted}},
			Entry{Mailbox: "a@b", Action: ActionItemCreate, SourceID: "s2"}, false},
		{"another mailbox", []Entry{{Mailbox: "a@b", Action: ActionItemCreate, SourceID: "s1", Outcome: OutcomeStarted}},
			Entry{Mailbox: "c@d", Action: ActionItemCreate, SourceID: "s1"}, false},
		{"folder by path", []Entry{{Mailbox: "a@b", Action: ActionFolderCreate, Object: long, Outcome: OutcomeStarted}},
			Entry{Mailbox: "a@b", Action: ActionFolderCreate, Object: long}, true},
		{"a folder is not an item", []Entry{{Mailbox: "a@b", Action: ActionFolderCreate, Object: "s1", Outcome: OutcomeStarted}},
			Entry{Mailbox: "a@b", Action: ActionItemCreate, SourceID: "s1"}, false},
		{"started twice, one ok closes both", []Entry{
			{Mailbox: "a@b", Action: ActionFolderCreate, Object: "X", Outcome: OutcomeStarted},
			{Mailbox: "a@b", Action: ActionFolderCreate, Object: "X", Outcome: OutcomeStarted},
			{Mailbox: "a@b", Action: ActionFolderCreate, Object: "X", Outcome: OutcomeOK}},
			Entry{Mailbox: "a@b", Action: ActionFolderCreate, Object: "X"}, false},
		{"no key: no answer", []Entry{{Mailbox: "a@b", Action: ActionItemCreate, Outcome: OutcomeStarted}},
			Entry{Mailbox: "a@b", Action: ActionItemCreate}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, path := openTemp(t)
			for _, e := range tt.lines {
				if err := l.Record(context.Background(), e); err != nil {
					t.Fatal(err)
				}
			}
			got, err := l.Unfinished(tt.ask)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Unfinished = %v, want %v", got, tt.want)
			}
			// A log opened afterwards, as by the next run, reads the same.
			l2, err := Open(path, operator)
			if err != nil {
				t.Fatal(err)
			}
			defer l2.Close()
			if got, err := l2.Unfinished(tt.ask); err != nil || got != tt.want {
				t.Errorf("reopened: Unfinished = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

// TestUnfinishedSeesOtherProcesses: a log opened before another process
// wrote its lines still sees them, and a line being written (no newline
// yet) is read once complete.
func TestUnfinishedSeesOtherProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	mine, err := Open(path, operator)
	if err != nil {
		t.Fatal(err)
	}
	defer mine.Close()
	other, err := Open(path, "other")
	if err != nil {
		t.Fatal(err)
	}
	ask := Entry{Mailbox: "a@b", Action: ActionItemCreate, SourceID: "s1"}
	if err := other.Record(context.Background(), Entry{Mailbox: "a@b", Action: ActionItemCreate, SourceID: "s1", Outcome: OutcomeStarted}); err != nil {
		t.Fatal(err)
	}
	other.Close() // as if killed: no outcome line
	if got, err := mine.Unfinished(ask); err != nil || !got {
		t.Fatalf("after another log's started line: Unfinished = %v, %v; want true", got, err)
	}

	// Half a line at the end is not read until its newline is there.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	line := `{"time":"2026-11-29T10:00:00Z","operator":"x","mailbox":"a@b","action":"item.create","outcome":"ok","source_id":"s1"}`
	if _, err := f.WriteString(line[:40]); err != nil {
		t.Fatal(err)
	}
	if got, err := mine.Unfinished(ask); err != nil || !got {
		t.Fatalf("with half an ok line: Unfinished = %v, %v; want true", got, err)
	}
	if _, err := f.WriteString(line[40:] + "\n"); err != nil {
		t.Fatal(err)
	}
	if got, err := mine.Unfinished(ask); err != nil || got {
		t.Fatalf("with the ok line complete: Unfinished = %v, %v; want false", got, err)
	}
}

// BenchmarkOpenLargeLog measures what opening a log costs when it holds a
// long history: one pass over the file, decoding only the started lines
// while no write is open.
func BenchmarkOpenLargeLog(b *testing.B) {
	path := filepath.Join(b.TempDir(), "audit.jsonl")
	l, err := Open(path, operator)
	if err != nil {
		b.Fatal(err)
	}
	const lines = 200_000
	ctx := context.Background()
	for i := range lines / 2 {
		sid := "AAMkAGI2TG93AAA=" + string(rune('a'+i%26))
		for _, o := range []string{OutcomeStarted, OutcomeOK} {
			if err := l.Record(ctx, Entry{Mailbox: "annie@contoso.com", Action: ActionItemCreate, Object: "Inbox/Projects: Quarterly figures",
				SourceID: sid, TargetID: "AAMkADEx", Size: 6600, Outcome: o}); err != nil {
				b.Fatal(err)
			}
		}
	}
	l.Close()
	fi, _ := os.Stat(path)
	b.SetBytes(fi.Size())
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		l, err := Open(path, operator)
		if err != nil {
			b.Fatal(err)
		}
		l.Close()
	}
	b.ReportMetric(float64(lines), "lines/op")
}

// FuzzKeyFieldsOf: for any line Record could write, the field scan reads
// the same values as a full decode.
func FuzzKeyFieldsOf(f *testing.F) {
	f.Add("a@b", "Inbox: \"quoted\" <b>", "src\\1", "AAMk=", "bad news")
	f.Add("ä@b", "action\":\"x", "\"outcome\":\"started\"", "", "\u2028")
	f.Fuzz(func(t *testing.T, mailbox, object, sourceID, targetID, errText string) {
		in := Entry{Operator: `"mailbox":"x"`, Mailbox: mailbox, Action: ActionItemCreate, Object: object, SourceID: sourceID,
			TargetID: targetID, Error: errText, Outcome: OutcomeStarted}
		line, err := json.Marshal(in)
		if err != nil {
			t.Skip()
		}
		var want Entry
		if err := json.Unmarshal(line, &want); err != nil {
			t.Fatal(err)
		}
		got, ok := keyFieldsOf(line)
		if !ok {
			t.Fatalf("keyFieldsOf refused %s", line)
		}
		if got.Mailbox != want.Mailbox || got.Action != want.Action || got.Outcome != want.Outcome ||
			got.Object != want.Object || got.SourceID != want.SourceID || got.TargetID != want.TargetID {
			t.Fatalf("line %s\nscan   %+v\ndecode %+v", line, got, want)
		}
	})
}
