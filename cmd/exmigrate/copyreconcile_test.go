package main

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/exmigrate/exmigrate/graphmail/graphtest"
	"github.com/exmigrate/exmigrate/internal/lab"
)

// TestCopyReconciliationFlagsATargetHoldingMore: the target's Inbox holds
// mail the copy did not write (three messages without a stamp) before the
// first pass. The pass copies everything; the reconciliation then finds the
// target's Inbox holding 3 more than the source, says ERROR, and the
// command fails (exit 1) saying where to look.
func TestCopyReconciliationFlagsATargetHoldingMore(t *testing.T) {
	l, _ := startSmallLab(t, lab.Options{})
	const target = "alex@fabrikam.onmicrosoft.com"
	tgt := l.Graph.Mailbox(target)
	if tgt == nil {
		t.Fatalf("the lab has no Graph mailbox %s", target)
	}
	for i := range 3 {
		tgt.AddMessage("Inbox", graphtest.Message{Subject: fmt.Sprintf("already there %d", i), From: "ann@fabrikam.com",
			To: []string{target}, Body: "not from the source"})
	}
	source := len(l.EWS.AddMailbox("alex@fabrikam.com").Folder("Inbox").Items())

	code, out, stderr := run(t, "copy", "--config", l.ConfigPath, "--mailboxes", l.CopyCSV)
	if code != ExitFailed {
		t.Errorf("exit %d, want %d (failed)", code, ExitFailed)
	}
	if got := len(tgt.Messages("Inbox")); got != source+3 {
		t.Fatalf("the target's Inbox holds %d, want %d (the source's %d and the 3 already there)\n%s", got, source+3, source, out)
	}
	// The mailbox itself copied fine; the reconciliation is what fails.
	if !regexp.MustCompile(`(?m)^alex@fabrikam\.com +` + target + ` +\d+ .* ok$`).MatchString(out) {
		t.Errorf("the mailbox's row is not ok:\n%s", out)
	}
	inbox := regexp.MustCompile(fmt.Sprintf(`(?m)^alex@fabrikam\.com +Inbox +%d +%d +%d +0 +ERROR: the target holds 3 more than the source$`, source, source+3, source))
	if !inbox.MatchString(out) {
		t.Errorf("the reconciliation does not flag the Inbox:\n%s", out)
	}
	if n := strings.Count(out, "ERROR"); n != 1 {
		t.Errorf("%d ERROR notes, want 1 (the Inbox only):\n%s", n, out)
	}
	if !strings.Contains(stderr, "the reconciliation found 1 folder(s) whose target does not match the source") ||
		!strings.Contains(stderr, "NOTE column") {
		t.Errorf("the error does not say what differs and where to look:\n%s", stderr)
	}
}
