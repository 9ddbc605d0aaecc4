package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/exmigrate/exmigrate/internal/csvinput"
	"github.com/exmigrate/exmigrate/internal/lab"
	"github.com/exmigrate/exmigrate/internal/logging"
	"github.com/exmigrate/exmigrate/internal/wavestatus"
	"github.com/exmigrate/exmigrate/reports"
)

func testGlobals() (*globalOptions, *strings.Builder) {
	var out strings.Builder
	return &globalOptions{io: Streams{Out: &out, Err: &out}, logger: logging.Discard()}, &out
}

// TestSelectEntries drives the selection every list command shares, with
// the state --only reads.
func TestSelectEntries(t *testing.T) {
	statePath, list := statusFixture(t)
	entries, err := csvinput.LoadList(list)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		o        selectOptions
		from, to string
		want     []string
		wantErr  string
		wantSaid string
	}{
		{name: "no flags", want: []string{"ann", "bob", "cat", "dan"}},
		{name: "mailbox", o: selectOptions{Mailboxes: []string{"cat@contoso.com"}}, want: []string{"cat"}},
		{name: "batch", o: selectOptions{Batches: []string{"Wave 1"}}, want: []string{"ann", "bob"}},
		{name: "failed or partial", o: selectOptions{Only: []string{"failed,partial"}}, want: []string{"bob", "cat"}},
		{name: "not-started", o: selectOptions{Only: []string{"not-started"}}, want: []string{"dan"}},
		{name: "the other direction has no jobs", o: selectOptions{Only: []string{"not-started"}}, from: "cloud", to: "onprem", want: []string{"ann", "bob", "cat", "dan"}},
		{name: "nothing selected is said", o: selectOptions{Batches: []string{"Wave 1"}, Only: []string{"failed"}},
			wantSaid: "nothing to do: no mailbox of " + list + ` matches --batch "Wave 1" --only failed`},
		{name: "unknown state", o: selectOptions{Only: []string{"faild"}}, wantErr: `--only "faild": unknown state`},
		{name: "mailbox not listed", o: selectOptions{Mailboxes: []string{"zed@contoso.com"}}, wantErr: "--mailbox zed@contoso.com: not in " + list},
		{name: "batch not listed", o: selectOptions{Batches: []string{"Wave 3"}}, wantErr: `--batch "Wave 3": no mailbox of ` + list},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, out := testGlobals()
			got, err := tt.o.selectEntries(context.Background(), g, entries, list, fileState(statePath), tt.from, tt.to)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || exitCode(err) != ExitUsage {
					t.Fatalf("err = %v (exit %d), want a usage error with %q", err, exitCode(err), tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, e := range got {
				names = append(names, strings.TrimSuffix(e.Address, "@contoso.com"))
			}
			if !slices.Equal(names, tt.want) {
				t.Errorf("selected %v, want %v", names, tt.want)
			}
			if tt.wantSaid != "" && !strings.Contains(out.String(), tt.wantSaid) {
				t.Errorf("said %q, want %q", out.String(), tt.wantSaid)
			}
		})
	}
	g, _ := testGlobals()
	missing := filepath.Join(t.TempDir(), "none.db")
	_, err = (&selectOptions{Only: []string{"failed"}}).selectEntries(context.Background(), g, entries, list, fileState(missing), "", "")
	if err == nil || !strings.Contains(err.Error(), "--only: the state file "+missing+" does not exist") || exitCode(err) != ExitUsage {
		t.Errorf("--only with a missing state file: %v", err)
	}
	_, err = (&selectOptions{Mailboxes: []string{"ann@contoso.com"}}).selectEntries(context.Background(), g, nil, "", fileState(statePath), "", "")
	if err == nil || !strings.Contains(err.Error(), "selects from a mailbox list: give --mailboxes") {
		t.Errorf("selection without a list: %v", err)
	}
}

func TestSelectAssessment(t *testing.T) {
	statePath, _ := statusFixture(t)
	a := &reports.Assessment{
		Mailboxes: []reports.MailboxAssessment{{Address: "ann@contoso.com", Batch: "Wave 1"}, {Address: "bob@contoso.com", Batch: "Wave 1"},
			{Address: "cat@contoso.com", Batch: "Wave 2"}},
		Findings: []reports.Finding{{Code: "A", Mailbox: "ann@contoso.com"}, {Code: "C", Mailbox: "CAT@contoso.com"}, {Code: "ORG"}},
	}
	g, _ := testGlobals()
	if err := (&selectOptions{Only: []string{"failed"}}).selectAssessment(context.Background(), g, a, "a.json", stateRef{}); err == nil ||
		!strings.Contains(err.Error(), "give --copy-results") {
		t.Fatalf("--only without --copy-results: %v", err)
	}
	if err := (&selectOptions{Batches: []string{"wave 2"}}).selectAssessment(context.Background(), g, a, "a.json", fileState(statePath)); err != nil {
		t.Fatal(err)
	}
	if len(a.Mailboxes) != 1 || a.Mailboxes[0].Address != "cat@contoso.com" || len(a.Findings) != 2 || a.Findings[0].Code != "C" || a.Findings[1].Code != "ORG" {
		t.Errorf("selected %+v, findings %+v", a.Mailboxes, a.Findings)
	}
}

// TestSelectionThroughTheCommands copies one batch of a list from the lab,
// then only what is not started, and sees status, assess and report select
// the same way.
func TestSelectionThroughTheCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("copies mailboxes through the lab")
	}
	l, dir := startEphemeralLab(t, lab.Options{})
	wave, err := os.ReadFile(l.CopyCSV)
	if err != nil {
		t.Fatal(err)
	}
	// bob in Wave 1, carol in Wave 2, from the lab's own list.
	var rows []string
	for _, line := range strings.Split(string(wave), "\n") {
		switch {
		case strings.HasPrefix(line, "EmailAddress"), strings.HasPrefix(line, "bob@"):
			rows = append(rows, line)
		case strings.HasPrefix(line, "carol@"):
			rows = append(rows, strings.Replace(line, "Wave 1", "Wave 2", 1))
		}
	}
	list := filepath.Join(dir, "two.csv")
	if err := os.WriteFile(list, []byte(strings.Join(rows, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	status := func() map[string]wavestatus.Job {
		t.Helper()
		jobs := map[string]wavestatus.Job{}
		for _, j := range statusJSON(t, "--config", l.ConfigPath, "--mailboxes", list).Jobs {
			jobs[strings.TrimSuffix(j.Mailbox, "@contoso.com")] = j
		}
		return jobs
	}
	done := func(j wavestatus.Job) bool { return j.State == "done" || j.State == "partial" }

	code, out, errOut := run(t, "copy", "--config", l.ConfigPath, "--mailboxes", list, "--batch", "Wave 1")
	if code != ExitOK && code != ExitSkipped {
		t.Fatalf("copy --batch: exit %d\n%s%s", code, out, errOut)
	}
	if got := status(); len(got) != 2 || !done(got["bob"]) || got["carol"].State != "not-started" || got["carol"].Batch != "Wave 2" {
		t.Fatalf("after copy --batch \"Wave 1\": %+v", got)
	}
	code, out, errOut = run(t, "copy", "--config", l.ConfigPath, "--mailboxes", list, "--only", "not-started")
	if code != ExitOK && code != ExitSkipped {
		t.Fatalf("copy --only not-started: exit %d\n%s%s", code, out, errOut)
	}
	// carol copied once, bob not again.
	if got := status(); !done(got["bob"]) || !done(got["carol"]) || got["bob"].Passes != 1 || got["carol"].Passes != 1 {
		t.Fatalf("after copy --only not-started: %+v", got)
	}
	code, out, _ = run(t, "copy", "--config", l.ConfigPath, "--mailboxes", list, "--only", "failed")
	if code != ExitOK || !strings.Contains(out, "nothing to do: no mailbox of "+list+" matches --only failed") {
		t.Fatalf("copy --only failed with nothing failed: exit %d\n%s", code, out)
	}
	code, _, errOut = run(t, "copy", "--config", l.ConfigPath, "--mailboxes", list, "--mailbox", "zed@contoso.com")
	if code != ExitUsage || !strings.Contains(errOut, "--mailbox zed@contoso.com: not in "+list) {
		t.Fatalf("copy --mailbox zed: exit %d\n%s", code, errOut)
	}

	assessment := filepath.Join(dir, "assessment.json")
	code, out, errOut = run(t, "assess", "--config", l.ConfigPath, "--mailboxes", list, "--mailbox", "carol@contoso.com", "--out", assessment)
	if code != ExitOK {
		t.Fatalf("assess --mailbox: exit %d\n%s%s", code, out, errOut)
	}
	data, err := os.ReadFile(assessment)
	if err != nil {
		t.Fatal(err)
	}
	var a reports.Assessment
	if err := json.Unmarshal(data, &a); err != nil || len(a.Mailboxes) != 1 || a.Mailboxes[0].Address != "carol@contoso.com" || a.Mailboxes[0].Batch != "Wave 2" {
		t.Fatalf("assess --mailbox carol: %v %+v", err, a.Mailboxes)
	}
	code, _, errOut = run(t, "report", "--in", assessment, "--out", filepath.Join(dir, "r"), "--batch", "Wave 1")
	if code != ExitUsage || !strings.Contains(errOut, `--batch "Wave 1": no mailbox of `+assessment+` is in this batch; its batches are "Wave 2"`) {
		t.Fatalf("report --batch naming no batch of the assessment: exit %d\n%s", code, errOut)
	}
}
