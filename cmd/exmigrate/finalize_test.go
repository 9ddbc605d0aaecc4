package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/exmigrate/exmigrate/internal/lab"
	"github.com/exmigrate/exmigrate/internal/state"
)

// finalizeScenario: ann copies cleanly; bea's 3 MB message is over her
// cloud mailbox's 2 MB limit, so it is skipped.
const finalizeScenario = `domain: contoso.com
cloud_domain: contoso.onmicrosoft.com
seed: 11
mailboxes:
  - address: ann@contoso.com
    location: onprem
    folders: {Inbox: 6, Sent Items: 2}
  - address: bea@contoso.com
    location: onprem
    folders: {Inbox: 4}
    large_items:
      - {folder: Inbox, size: 3MB}
    max_send_size: 2MB
    max_receive_size: 2MB
  - address: migration@contoso.com
    location: cloud
    folders: {Inbox: 1}
`

// TestFinalizeSignsOff drives a cut-over through the commands: a mailbox
// with a skipped item is refused until its skip is approved, the clean one
// is signed off at once, the sign-offs are in the state, and completed
// mailboxes are left alone by later copies until reopened.
func TestFinalizeSignsOff(t *testing.T) {
	sc, err := lab.ParseScenario([]byte(finalizeScenario))
	if err != nil {
		t.Fatal(err)
	}
	l, dir := startEphemeralLab(t, lab.Options{Scenario: sc})
	base := []string{"--config", l.ConfigPath, "--mailboxes", l.CopyCSV}
	statePath := filepath.Join(dir, "state.db")

	if code, out, errs := run(t, append([]string{"copy"}, base...)...); code != ExitSkipped {
		t.Fatalf("copy: exit %d, want %d (bea's item skipped)\n%s%s", code, ExitSkipped, out, errs)
	}

	code, out, errs := run(t, append([]string{"finalize", "--notify", "lead@contoso.com", "--notify-from", "migration@contoso.com"}, base...)...)
	if code != ExitFailed {
		t.Fatalf("finalize without approval: exit %d, want %d\n%s%s", code, ExitFailed, out, errs)
	}
	matchAll(t, "finalize without approval", out,
		`(?m)^ann@contoso\.com +ann@contoso\.onmicrosoft\.com +0 +0 +completed: signed off\s*$`,
		`(?m)^bea@contoso\.com +bea@contoso\.onmicrosoft\.com +1 +0 +NOT SIGNED OFF: 1 skipped item\(s\) need approval: .*--approve-skipped`,
		`(?m)^Skipped items of bea@contoso\.com \(the latest 1 of 1\):`)
	if !strings.Contains(errs, "1 of 2 mailbox(es) not signed off") {
		t.Errorf("the error does not say what was not signed off: %s", errs)
	}
	sent := l.Graph.Mailbox("migration@contoso.com").SentItems()
	if len(sent) != 1 || sent[0].Subject != "exmigrate finalize wave1.csv: failed" || strings.Join(sent[0].To, ",") != "lead@contoso.com" ||
		!strings.Contains(sent[0].Body, "NOT SIGNED OFF: 1 skipped item(s) need approval") {
		t.Errorf("--notify mailed %d messages; want 1 to lead@contoso.com saying what was not signed off: %+v", len(sent), sent)
	}
	if got := statusStates(t, statePath); got != "ann@contoso.com=completed bea@contoso.com=partial" {
		t.Errorf("status after the first finalize: %s", got)
	}

	code, out, errs = run(t, append([]string{"finalize", "--mailbox", "bea@contoso.com", "--approve-skipped", "--note", "CHG-1042: sent by link"}, base...)...)
	if code != ExitOK {
		t.Fatalf("finalize --approve-skipped: exit %d\n%s%s", code, out, errs)
	}
	matchAll(t, "finalize --approve-skipped", out, `(?m)^bea@contoso\.com +bea@contoso\.onmicrosoft\.com +1 +1 +completed: signed off\s*$`)

	st, err := state.OpenReadOnly(context.Background(), statePath)
	if err != nil {
		t.Fatal(err)
	}
	sos, err := st.SignOffs(context.Background())
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	var notes []string
	for _, so := range sos {
		if so.Operator == "" || so.At.IsZero() {
			t.Errorf("a sign-off without signer or time: %+v", so)
		}
		if so.Approved == 1 {
			notes = append(notes, so.Note)
		}
	}
	if len(sos) != 2 || len(notes) != 1 || notes[0] != "CHG-1042: sent by link" {
		t.Errorf("sign-offs %+v, want ann's and bea's (one approved skip, with the note)", sos)
	}

	// The report shows each sign-off.
	assessment, reportDir := filepath.Join(dir, "assessment.json"), filepath.Join(dir, "report")
	if code, out, errs := run(t, "assess", "--config", l.ConfigPath, "--mailboxes", l.CopyCSV, "--out", assessment); code != ExitOK {
		t.Fatalf("assess: exit %d\n%s%s", code, out, errs)
	}
	if code, out, errs := run(t, "report", "--in", assessment, "--copy-results", statePath, "--format", "json,md", "--out", reportDir); code != ExitOK {
		t.Fatalf("report: exit %d\n%s%s", code, out, errs)
	}
	data, err := os.ReadFile(filepath.Join(reportDir, "assessment.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Mailboxes []struct {
			Address string `json:"address"`
			Copy    *struct {
				Status  string `json:"status"`
				SignOff *struct {
					By       string `json:"by"`
					Approved int64  `json:"skipped_approved"`
					Note     string `json:"note"`
				} `json:"sign_off"`
			} `json:"copy"`
		} `json:"mailboxes"`
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	for _, m := range rep.Mailboxes {
		if m.Address != "bea@contoso.com" {
			continue
		}
		if m.Copy == nil || m.Copy.Status != "completed" || m.Copy.SignOff == nil || m.Copy.SignOff.Approved != 1 || m.Copy.SignOff.Note != "CHG-1042: sent by link" || m.Copy.SignOff.By == "" {
			t.Errorf("bea in the report: %+v, want completed with the sign-off", m.Copy)
		}
	}
	md, err := os.ReadFile(filepath.Join(reportDir, "report.md"))
	if err != nil || !regexp.MustCompile(`(?m)^\| bea@contoso\.com \| .* \| 1 \| CHG-1042: sent by link \|$`).Match(md) {
		t.Errorf("report.md has no sign-off row for bea (%v)", err)
	}

	// New mail at ann's source: a completed mailbox is not copied again.
	if _, err := l.Apply(lab.Change{Mailbox: "ann@contoso.com", Side: "onprem", Op: lab.ChangeAdd, Count: 3}); err != nil {
		t.Fatal(err)
	}
	writes := labWrites(l)
	code, out, errs = run(t, append([]string{"copy"}, base...)...)
	if code != ExitOK || labWrites(l) != writes {
		t.Fatalf("copy of completed mailboxes: exit %d, %d writes; want 0 and none\n%s%s", code, labWrites(l)-writes, out, errs)
	}
	matchAll(t, "copy of completed mailboxes", out, `(?m)^ann@contoso\.com .*completed: signed off by finalize, not copied again`)
	code, out, errs = run(t, append([]string{"copy", "--reopen", "--mailbox", "ann@contoso.com"}, base...)...)
	if code != ExitOK || !regexp.MustCompile(`(?m)^ann@contoso\.com +ann@contoso\.onmicrosoft\.com +3 `).MatchString(out) {
		t.Fatalf("copy --reopen: exit %d, want the 3 new items copied\n%s%s", code, out, errs)
	}
	if got := statusStates(t, statePath); got != "ann@contoso.com=done bea@contoso.com=completed" {
		t.Errorf("status after the reopened copy: %s", got)
	}
}

// statusStates is `status -o json` as mailbox=state pairs.
func statusStates(t *testing.T, statePath string) string {
	t.Helper()
	code, out, errs := run(t, "status", "--state", statePath, "-o", "json")
	if code != ExitOK {
		t.Fatalf("status: exit %d\n%s", code, errs)
	}
	var doc struct {
		Jobs []struct {
			Mailbox string `json:"mailbox"`
			State   string `json:"state"`
		} `json:"jobs"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("status -o json: %v\n%s", err, out)
	}
	var pairs []string
	for _, j := range doc.Jobs {
		pairs = append(pairs, j.Mailbox+"="+j.State)
	}
	slices.Sort(pairs)
	return strings.Join(pairs, " ")
}

// TestNotifyRefusedInADryRun: a dry run writes nothing, so it sends no
// mail either; asked to, it says so before doing anything.
func TestNotifyRefusedInADryRun(t *testing.T) {
	code, _, errs := run(t, "copy", "--mailboxes", "wave.csv", "--dry-run", "--notify", "lead@contoso.com", "--notify-from", "migration@contoso.com")
	if code != ExitUsage || !strings.Contains(errs, "--notify with --dry-run") {
		t.Errorf("exit %d, want %d naming the conflict\n%s", code, ExitUsage, errs)
	}
}
