package wavestatus

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/engine"
	"github.com/exmigrate/exmigrate/internal/selection"
	"github.com/exmigrate/exmigrate/internal/state"
)

func openRO(t *testing.T, path string) *state.SQLite {
	t.Helper()
	ro, err := state.OpenReadOnly(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ro.Close() })
	return ro
}

func TestLoadStates(t *testing.T) {
	_, path := fixture(t)
	w, err := Load(context.Background(), openRO(t, path), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		state         selection.State
		copied        int64
		skipped       int64
		failedFolders int
		owner         bool
	}{
		"ann@contoso.com": {selection.Done, 2, 0, 0, false},
		"bob@contoso.com": {selection.Partial, 3, 1, 1, false},
		"cat@contoso.com": {selection.Failed, 0, 0, 1, false},
		"dan@contoso.com": {selection.Running, 1, 0, 1, true},      // 1 of 4 on the target; its pending item is in flight
		"eve@contoso.com": {selection.Interrupted, 1, 0, 1, false}, // expired lease: nobody owns it
		"fay@contoso.com": {selection.NotStarted, 0, 0, 0, false},
		"gus@contoso.com": {selection.Partial, 0, 1, 1, false},
	}
	if len(w.Jobs) != len(want) {
		t.Fatalf("%d jobs, want %d", len(w.Jobs), len(want))
	}
	for _, j := range w.Jobs {
		x := want[j.Mailbox]
		if j.State != x.state || j.ItemsCopied != x.copied || j.ItemsSkipped != x.skipped || j.FailedFolders != x.failedFolders || (j.Owner != nil) != x.owner {
			t.Errorf("%s: state %s copied %d skipped %d failed folders %d owner %v; want %+v", j.Mailbox, j.State, j.ItemsCopied, j.ItemsSkipped, j.FailedFolders, j.Owner, x)
		}
	}
	eve := w.Jobs[slices.IndexFunc(w.Jobs, func(j Job) bool { return j.Mailbox == "eve@contoso.com" })]
	if eve.folders[0].Failed != "1 left pending by a pass that did not end; 1 on the target of 4 at the source" {
		t.Errorf("eve's inbox: %q", eve.folders[0].Failed)
	}
	if got := w.Totals.StateSummary(); got != "1 not-started, 1 running, 1 interrupted, 1 failed, 2 partial, 1 done" {
		t.Errorf("summary = %q", got)
	}
}

func TestLoadSelect(t *testing.T) {
	_, path := fixture(t)
	ro := openRO(t, path)
	list := []ListEntry{
		{Address: "ann@contoso.com", Batch: "Wave 1"},
		{Address: "bob@contoso.com", Batch: "Wave 1"},
		{Address: "cat@contoso.com", Batch: "Wave 2"},
		{Address: "eve@contoso.com", Batch: "Wave 2"},
		{Address: "new@contoso.com", Batch: "Wave 2"}, // no job yet
	}
	tests := []struct {
		name    string
		o       Options
		want    []string
		wantErr string
	}{
		{"all jobs", Options{}, []string{"ann", "bob", "cat", "dan", "eve", "fay", "gus"}, ""},
		{"the list only, with a row for a mailbox not started", Options{List: list}, []string{"ann", "bob", "cat", "eve", "new"}, ""},
		{"only failed (interrupted too)", Options{Select: selection.Criteria{Only: []selection.State{selection.Failed}}}, []string{"cat", "eve"}, ""},
		{"only running", Options{Select: selection.Criteria{Only: []selection.State{selection.Running}}}, []string{"dan"}, ""},
		{"batch", Options{List: list, Select: selection.Criteria{Batches: []string{"wave 2"}}}, []string{"cat", "eve", "new"}, ""},
		{"batch and not-started", Options{List: list, Select: selection.Criteria{Batches: []string{"Wave 2"}, Only: []selection.State{selection.NotStarted}}}, []string{"new"}, ""},
		{"mailbox", Options{Select: selection.Criteria{Mailboxes: []string{"DAN@contoso.com"}}}, []string{"dan"}, ""},
		{"mailbox with no job", Options{Select: selection.Criteria{Mailboxes: []string{"zed@contoso.com"}}}, nil, "--mailbox zed@contoso.com: not in the state file"},
		{"batch without a list", Options{Select: selection.Criteria{Batches: []string{"Wave 1"}}}, nil, "--batch needs --mailboxes"},
		{"batch nobody has", Options{List: list, ListName: "wave.csv", Select: selection.Criteria{Batches: []string{"Wave 3"}}}, nil, `--batch "Wave 3": no mailbox of wave.csv is in this batch`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := Load(context.Background(), ro, path, tt.o)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, j := range w.Jobs {
				got = append(got, strings.TrimSuffix(j.Mailbox, "@contoso.com"))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("rows %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRenderGolden(t *testing.T) {
	_, path := fixture(t)
	w, err := Load(context.Background(), openRO(t, path), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	stable(w)
	for _, f := range []Format{FormatTable, FormatJSON, FormatCSV} {
		var b bytes.Buffer
		if err := Write(&b, f, w); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(b.String(), "never-shown") {
			t.Errorf("%s output shows a lease token", f)
		}
		golden(t, "status."+string(f), b.Bytes())
	}
}

func TestLoadDetail(t *testing.T) {
	_, path := fixture(t)
	ro := openRO(t, path)
	w, err := Load(context.Background(), ro, path, Options{Select: selection.Criteria{Mailboxes: []string{"bob@contoso.com"}}})
	if err != nil {
		t.Fatal(err)
	}
	d, err := LoadDetail(context.Background(), ro, w.Jobs[0].ID, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Folders) != 2 || d.Folders[0].Source != "Inbox" || d.Folders[0].Failed != "1 skipped; 2 on the target of 3 at the source" || d.Folders[1].Failed != "" {
		t.Errorf("folders = %+v", d.Folders)
	}
	if len(d.SkippedItems) != 1 || d.SkippedItems[0].Subject != "huge video" || d.SkippedItems[0].Folder != "Inbox" ||
		d.SkipReasons["larger than the 150 MB Graph takes"] != 1 {
		t.Errorf("skipped = %+v, reasons %v", d.SkippedItems, d.SkipReasons)
	}
	if _, err := LoadDetail(context.Background(), ro, 999, time.Time{}); !errors.Is(err, ErrNoJob) {
		t.Errorf("unknown job: err = %v, want ErrNoJob", err)
	}
}

// TestLoadBesideAWriter reads the wave through a read-only store while
// another connection (a copy) keeps writing items: every read succeeds
// and sees the count grow.
func TestLoadBesideAWriter(t *testing.T) {
	ctx := context.Background()
	s, path := fixture(t)
	ro := openRO(t, path)
	jobs, err := s.Jobs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	id := jobs[0].ID
	done := make(chan error, 1)
	go func() {
		for i := range 300 {
			err := s.PutItem(ctx, engine.ItemRecord{JobID: id, SourceID: "w" + string(rune(0x1000+i)), SourceFolderID: "inbox",
				Outcome: engine.ItemCopied, TargetItemID: "t", SizeBytes: 1})
			if err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	last := int64(-1)
	for reading := true; reading; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			reading = false
		default:
		}
		w, err := Load(ctx, ro, path, Options{})
		if err != nil {
			t.Fatalf("read beside a writer: %v", err)
		}
		n := w.Jobs[0].ItemsCopied
		if n < last {
			t.Fatalf("copied went back from %d to %d", last, n)
		}
		last = n
	}
	if last != 302 {
		w, _ := Load(ctx, ro, path, Options{})
		if got := w.Jobs[0].ItemsCopied; got != 302 {
			t.Errorf("after the writer: %d copied, want 302", got)
		}
	}
}
