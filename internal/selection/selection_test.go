package selection

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/exmigrate/exmigrate/engine"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		status string
		live   bool
		want   State
	}{
		{engine.JobNew, false, NotStarted},
		{"", false, NotStarted},
		{engine.JobRunning, true, Running},
		{engine.JobRunning, false, Interrupted},
		{engine.JobFailed, false, Failed},
		{engine.JobPartial, false, Partial},
		{engine.JobDone, false, Done},
		{engine.JobCompleted, false, Completed},
		// A lease is the truth about a process working on the job, whatever
		// the status says (a new pass of a finished job).
		{engine.JobDone, true, Running},
		{"finalized", false, State("finalized")},
	}
	for _, tt := range tests {
		if got := Classify(tt.status, tt.live); got != tt.want {
			t.Errorf("Classify(%q, %v) = %q, want %q", tt.status, tt.live, got, tt.want)
		}
	}
}

func TestParseOnly(t *testing.T) {
	tests := []struct {
		in      []string
		want    []State
		wantErr string
	}{
		{in: nil, want: nil},
		{in: []string{"failed"}, want: []State{Failed}},
		{in: []string{"failed,partial", " Not-Started "}, want: []State{Failed, Partial, NotStarted}},
		{in: []string{"failed", "FAILED"}, want: []State{Failed}},
		{in: []string{"done"}, want: []State{Done}},
		{in: []string{"finalized"}, want: []State{Completed}},
		{in: []string{"new"}, want: []State{NotStarted}},
		{in: []string{"interrupted,running,completed"}, want: []State{Interrupted, Running, Completed}},
		{in: []string{"faild"}, wantErr: `--only "faild": unknown state: use not-started, running, interrupted, failed, partial, done, completed`},
		{in: []string{""}, wantErr: "--only: empty value"},
		{in: []string{"failed,"}, wantErr: "--only: empty value"},
	}
	for _, tt := range tests {
		got, err := ParseOnly(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseOnly(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("ParseOnly(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestSelect(t *testing.T) {
	cands := []Candidate{
		{Address: "ann@contoso.com", Batch: "Wave 1"},
		{Address: "bob@contoso.com", Batch: "Wave 1"},
		{Address: "cat@contoso.com", Batch: "Wave 2"},
		{Address: "dan@contoso.com"},
		{Address: "eve@contoso.com", Batch: "wave 2"},
	}
	states := []State{Completed, Failed, Interrupted, NotStarted, Partial}
	tests := []struct {
		name    string
		c       Criteria
		want    []int
		wantErr string
	}{
		{name: "nothing given selects all", c: Criteria{}, want: []int{0, 1, 2, 3, 4}},
		{name: "one mailbox, any case", c: Criteria{Mailboxes: []string{"BOB@contoso.com"}}, want: []int{1}},
		{name: "two mailboxes keep list order", c: Criteria{Mailboxes: []string{"eve@contoso.com", "ann@contoso.com"}}, want: []int{0, 4}},
		{name: "batch, case-insensitive", c: Criteria{Batches: []string{"WAVE 2"}}, want: []int{2, 4}},
		{name: "two batches", c: Criteria{Batches: []string{"Wave 1", "Wave 2"}}, want: []int{0, 1, 2, 4}},
		{name: "failed includes interrupted", c: Criteria{Only: []State{Failed}}, want: []int{1, 2}},
		{name: "interrupted alone", c: Criteria{Only: []State{Interrupted}}, want: []int{2}},
		{name: "failed or partial", c: Criteria{Only: []State{Failed, Partial}}, want: []int{1, 2, 4}},
		{name: "not-started", c: Criteria{Only: []State{NotStarted}}, want: []int{3}},
		{name: "batch and state intersect", c: Criteria{Batches: []string{"Wave 1"}, Only: []State{Failed}}, want: []int{1}},
		{name: "mailbox and batch intersect", c: Criteria{Mailboxes: []string{"ann@contoso.com"}, Batches: []string{"Wave 2"}}, want: nil},
		{name: "nothing in the state is not an error", c: Criteria{Only: []State{Running}}, want: nil},
		{name: "mailbox not in the list", c: Criteria{Mailboxes: []string{"zed@contoso.com"}},
			wantErr: "--mailbox zed@contoso.com: not in wave1.csv, which lists ann@contoso.com, bob@contoso.com, cat@contoso.com, dan@contoso.com, eve@contoso.com; check the spelling"},
		{name: "empty mailbox", c: Criteria{Mailboxes: []string{" "}}, wantErr: "--mailbox: empty value"},
		{name: "batch nobody has", c: Criteria{Batches: []string{"Wave 9"}},
			wantErr: `--batch "Wave 9": no mailbox of wave1.csv is in this batch; its batches are "Wave 1", "Wave 2"`},
		{name: "empty batch", c: Criteria{Batches: []string{""}}, wantErr: "--batch: empty value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			got, err := tt.c.Select(cands, "wave1.csv", func(i int) State { calls++; return states[i] })
			if tt.wantErr != "" {
				var se *Error
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.As(err, &se) {
					t.Fatalf("error = %v, want a *selection.Error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("selected %v, want %v", got, tt.want)
			}
			if !tt.c.NeedsState() && calls > 0 {
				t.Errorf("the state was asked %d times without --only", calls)
			}
		})
	}
}

func TestSelectBatchWithoutColumn(t *testing.T) {
	_, err := Criteria{Batches: []string{"Wave 1"}}.Select([]Candidate{{Address: "a@b.com"}}, "", nil)
	want := `--batch "Wave 1": the mailbox list has no Batch column values; add a Batch column to it`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("error = %v, want %q", err, want)
	}
}

func TestMailboxErrorNamesEachOnce(t *testing.T) {
	cands := []Candidate{{Address: "ann@contoso.com"}, {Address: "Ann@contoso.com"}, {Address: "bob@contoso.com"}}
	_, err := Criteria{Mailboxes: []string{"zed@contoso.com"}}.Select(cands, "the state file", nil)
	if err == nil || !strings.Contains(err.Error(), "which lists ann@contoso.com, bob@contoso.com;") {
		t.Errorf("error = %v, want each mailbox once", err)
	}
}

func TestSampleIsBounded(t *testing.T) {
	var cands []Candidate
	for i := range 1000 {
		cands = append(cands, Candidate{Address: fmt.Sprintf("user%d@contoso.com", i)})
	}
	_, err := Criteria{Mailboxes: []string{"nobody@contoso.com"}}.Select(cands, "big.csv", nil)
	if err == nil || !strings.Contains(err.Error(), "and 995 more") || len(err.Error()) > 300 {
		t.Fatalf("error = %v, want five addresses and a count", err)
	}
}

func TestIndexStateOf(t *testing.T) {
	x := NewIndex([]Job{
		{ID: 1, Source: "Ann@contoso.com", Target: "ann@contoso.com", SourceLocation: "onprem", TargetLocation: "cloud", State: Done},
		{ID: 5, Source: "ann@contoso.com", Target: "ann@contoso.com", SourceLocation: "cloud", TargetLocation: "onprem", State: Failed},
		{ID: 2, Source: "bob@contoso.com", Target: "bob@fabrikam.com", SourceLocation: "onprem", TargetLocation: "cloud", State: Partial},
		{ID: 3, Source: "cat@contoso.com", Target: "cat@contoso.com", SourceLocation: "onprem", TargetLocation: "cloud", State: Running},
		{ID: 4, Source: "cat@contoso.com", Target: "cat@contoso.com", SourceLocation: "cloud", TargetLocation: "onprem", State: Done},
	})
	tests := []struct {
		source, target, from, to string
		want                     State
	}{
		{"ann@contoso.com", "", "", "", Failed}, // the later job
		{"ANN@contoso.com", "ann@contoso.com", "onprem", "cloud", Done},
		{"ann@contoso.com", "", "cloud", "", Failed},
		{"bob@contoso.com", "bob@fabrikam.com", "", "", Partial},
		{"bob@contoso.com", "bob@contoso.com", "", "", NotStarted}, // another target
		{"cat@contoso.com", "", "", "", Running},                   // running wins over later
		{"cat@contoso.com", "", "cloud", "onprem", Done},
		{"dan@contoso.com", "", "", "", NotStarted},
	}
	for _, tt := range tests {
		if got := x.StateOf(tt.source, tt.target, tt.from, tt.to); got != tt.want {
			t.Errorf("StateOf(%s, %q, %q, %q) = %s, want %s", tt.source, tt.target, tt.from, tt.to, got, tt.want)
		}
	}
}

func FuzzParseOnly(f *testing.F) {
	for _, s := range []string{"failed", "failed,partial", "Not-Started", "", ",", "done, new", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseOnly([]string{s})
		if err != nil {
			if !strings.HasPrefix(err.Error(), "--only") {
				t.Fatalf("error %q does not name the flag", err)
			}
			return
		}
		for _, st := range got {
			if !slices.Contains(States(), st) {
				t.Fatalf("ParseOnly(%q) returned unknown state %q", s, st)
			}
		}
		// Parsing is stable: the parsed states parse to themselves.
		var again []string
		for _, st := range got {
			again = append(again, string(st))
		}
		if len(again) > 0 {
			back, err := ParseOnly([]string{strings.Join(again, ",")})
			if err != nil || !slices.Equal(back, got) {
				t.Fatalf("ParseOnly(%q) = %v, but its output parses to %v, %v", s, got, back, err)
			}
		}
	})
}
