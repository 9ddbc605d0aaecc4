package state

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/engine"
)

// fileState is a file's bytes and modification time, to tell that nothing
// wrote to it.
type fileState struct {
	data  []byte
	mtime time.Time
}

func statFile(t *testing.T, path string) fileState {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fileState{data, fi.ModTime()}
}

// oldTime marks a file so that a write to it cannot go unnoticed within one
// tick of the clock.
var oldTime = time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)

func setOld(t *testing.T, path string) {
	t.Helper()
	if err := os.Chtimes(path, oldTime, oldTime); err != nil {
		t.Fatal(err)
	}
}

// damagedFile is a state file with records whose pages after the first
// were overwritten: SQLite opens it, and fails reading a table.
func damagedFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	job := newJob(t, s, onboard)
	for i := range 200 {
		rec := engine.ItemRecord{JobID: job, SourceID: strings.Repeat("x", 100) + string(rune('a'+i%26)) + strings.Repeat("y", i),
			SourceFolderID: "f", TargetItemID: "t", Outcome: engine.ItemCopied}
		if err := s.PutItem(context.Background(), rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	if fi.Size() < 3*4096 {
		t.Fatalf("state file of %d bytes: too small to damage past its first page", fi.Size())
	}
	if _, err := f.WriteAt(bytes.Repeat([]byte{0xff}, int(fi.Size())-4096), 4096); err != nil {
		t.Fatal(err)
	}
	return path
}

// The remedy a message for an empty or damaged state file gives: never
// just "give another state path", which says nothing of what a new state
// file copies again.
func checkRemedy(t *testing.T, err error) {
	t.Helper()
	for _, want := range []string{"restore it from a backup taken after the last copy pass",
		`read "Losing the state file" in the README before you run copy with a new state file`,
		"finds what is already on the target by its stamps"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the message does not say %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "another state path") {
		t.Errorf("the message sends the engineer to a new state file:\n%v", err)
	}
}

// TestOpenRefusesEmptyOrDamaged: a 0-byte file, a file that is not SQLite
// and a state file with damaged pages are refused by both ways of opening,
// with the remedy that does not lead to duplicates, and left as they were.
func TestOpenRefusesEmptyOrDamaged(t *testing.T) {
	ctx := context.Background()
	openers := []struct {
		name string
		open func(context.Context, string) (*SQLite, error)
	}{{"Open", Open}, {"OpenReadOnly", OpenReadOnly}}
	files := []struct {
		name string
		make func(t *testing.T) string
		want error
	}{
		{"empty", func(t *testing.T) string {
			path := filepath.Join(t.TempDir(), "state.db")
			if err := os.WriteFile(path, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			return path
		}, ErrEmptyStateFile},
		{"not SQLite", func(t *testing.T) string {
			path := filepath.Join(t.TempDir(), "state.db")
			if err := os.WriteFile(path, bytes.Repeat([]byte("damaged "), 1000), 0o600); err != nil {
				t.Fatal(err)
			}
			return path
		}, ErrNotStateFile},
		{"damaged pages", damagedFile, ErrDamaged},
	}
	for _, o := range openers {
		for _, f := range files {
			t.Run(o.name+"/"+f.name, func(t *testing.T) {
				path := f.make(t)
				setOld(t, path)
				before := statFile(t, path)
				s, err := o.open(ctx, path)
				if err == nil {
					// Damage past the first page shows when a table is read.
					_, err = s.Jobs(ctx)
					s.Close()
				}
				if err == nil {
					t.Fatal("opened and read")
				}
				t.Log(err) // the message an engineer sees
				if !errors.Is(err, f.want) || !strings.Contains(err.Error(), path) {
					t.Errorf("err = %v, want %v naming %s", err, f.want, path)
				}
				checkRemedy(t, err)
				if after := statFile(t, path); !bytes.Equal(after.data, before.data) || !after.mtime.Equal(before.mtime) {
					t.Errorf("the file changed: %d bytes, modified %v; was %d bytes, %v", len(after.data), after.mtime, len(before.data), before.mtime)
				}
				if f.name != "damaged pages" {
					for _, side := range []string{"-wal", "-shm", "-journal"} {
						if _, err := os.Stat(path + side); err == nil {
							t.Errorf("%s was created beside a file that was refused", side)
						}
					}
				}
			})
		}
	}
}

// TestOpenReadOnly: OpenReadOnly reads what a copy wrote, beside a writer,
// and never creates or changes the state file.
func TestOpenReadOnly(t *testing.T) {
	ctx := context.Background()

	missing := filepath.Join(t.TempDir(), "state.db")
	if s, err := OpenReadOnly(ctx, missing); err == nil || !errors.Is(err, fs.ErrNotExist) {
		if s != nil {
			s.Close()
		}
		t.Fatalf("a missing file: err = %v, want ErrNotExist", err)
	}
	if entries, _ := os.ReadDir(filepath.Dir(missing)); len(entries) != 0 {
		t.Fatalf("OpenReadOnly of a missing file left %d file(s), first %s", len(entries), entries[0].Name())
	}

	w, path := openTemp(t)
	job := newJob(t, w, onboard)
	if err := w.PutItem(ctx, engine.ItemRecord{JobID: job, SourceID: "i", SourceFolderID: "f", TargetItemID: "t", SizeBytes: 7,
		Outcome: engine.ItemCopied}); err != nil {
		t.Fatal(err)
	}
	// Beside a writer that has the file open: the reader sees what it
	// committed, in its WAL.
	r, err := OpenReadOnly(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := r.Counts(ctx, job); err != nil || c.Copied != 1 || c.CopiedBytes != 7 {
		t.Fatalf("counts beside the writer = %+v %v", c, err)
	}
	r.Close()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	// Alone: nothing it does writes to the file, and it cannot write.
	setOld(t, path)
	before := statFile(t, path)
	r, err = OpenReadOnly(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := r.Jobs(ctx)
	if err != nil || len(jobs) != 1 || jobs[0].ID != job {
		t.Fatalf("jobs = %+v %v", jobs, err)
	}
	if _, err := r.Folders(ctx, job); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Job(ctx, engine.JobKey{SourceAddress: "bob@contoso.com", SourceLocation: "onprem",
		TargetAddress: "bob@contoso.com", TargetLocation: "cloud"}); err == nil {
		t.Error("a read-only store created a job")
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if after := statFile(t, path); !bytes.Equal(after.data, before.data) || !after.mtime.Equal(before.mtime) {
		t.Errorf("OpenReadOnly changed the state file")
	}
}

// TestOpenCreatesWhole: a new state file appears at its path complete, so
// an empty file there is never one that Open was creating; a SQLite file
// with nothing in it (a run stopped before its schema was written, by an
// exmigrate before this one) is still taken as new.
func TestOpenCreatesWhole(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "state.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	var appID int64
	if err := s.read.QueryRowContext(ctx, `PRAGMA application_id`).Scan(&appID); err != nil || appID != applicationID {
		t.Fatalf("application_id = %#x %v", appID, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != "state.db" {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Fatalf("the folder holds %v, want only state.db", names)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file %v %v, want mode 0600", fi, err)
	}

	bare := filepath.Join(dir, "bare.db")
	db, err := sql.Open("sqlite", bare)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`PRAGMA journal_mode = WAL`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s, err = Open(ctx, bare)
	if err != nil {
		t.Fatalf("a SQLite file with no tables: %v", err)
	}
	s.Close()
}
