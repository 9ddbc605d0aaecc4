package assessment_test

import (
	"strings"
	"testing"

	"github.com/exmigrate/exmigrate/mailbox"
	"github.com/exmigrate/exmigrate/mapping"
	"github.com/exmigrate/exmigrate/reports"
)

// TestCloudMailboxWithNothingToReportIsReady: Graph v1.0 cannot reach a
// cloud mailbox's archive or Recoverable Items. That limit of the protocol
// is reported (EXM-PART-UNREADABLE at info, with the PowerShell command
// that checks the part) but is not a failure to read the mailbox, which
// stays ready.
func TestCloudMailboxWithNothingToReportIsReady(t *testing.T) {
	const addr = "clean@" + domain
	e := startEnv(t, emptyScenario())
	addCloudMail(e.lab.Graph.AddMailbox(addr, mailbox.TypeUser), "Inbox", 3)
	a := e.assess(t, entries(addr), mapping.Limits{}, false)
	m := mailboxOf(t, a, addr)
	if m.Readiness != reports.Ready || m.Items != 3 || m.Location != mailbox.LocationCloud {
		for _, f := range findings(a, "", addr) {
			t.Logf("%s %s %q: %s", f.Code, f.Severity, f.Object, f.Found)
		}
		t.Errorf("a cloud mailbox with three messages and nothing else: %s, %d items, %s; want ready, 3, cloud", m.Readiness, m.Items, m.Location)
	}
	parts := findings(a, mapping.CodePartUnreadable, addr)
	if len(parts) != 2 || !hasObject(parts, string(mapping.SectionArchive)) || !hasObject(parts, string(mapping.SectionRecoverable)) {
		t.Fatalf("part findings %+v, want the archive and Recoverable Items", parts)
	}
	for _, f := range parts {
		if f.Severity != reports.SeverityInfo || !strings.Contains(f.Fix, "'"+addr+"'") {
			t.Errorf("%s: severity %s, fix %q; want info with the PowerShell check for this mailbox", f.Object, f.Severity, f.Fix)
		}
	}
}
