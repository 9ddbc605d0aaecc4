package assessment_test

import (
	"os"
	"testing"

	"github.com/exmigrate/exmigrate/mailbox"
	"github.com/exmigrate/exmigrate/mapping"
)

// TestCloudMailboxWithNothingToReportIsReady shows a gap: Graph v1.0 cannot
// reach a cloud mailbox's archive or Recoverable Items, so
// dispatch.Assessor.Inventory records graphmail.ErrUnsupported as a part
// error and every cloud mailbox gets two EXM-PART-UNREADABLE warnings; no
// cloud mailbox can ever be "ready". A limit of the protocol known in
// advance is not a failure to read the mailbox (at most an info finding).
// Skipped unless E2E_BLOCKED=1 until Inventory treats ErrUnsupported apart.
func TestCloudMailboxWithNothingToReportIsReady(t *testing.T) {
	if os.Getenv("E2E_BLOCKED") == "" {
		t.Skip("known gap (cloud archive/Recoverable Items reported as unreadable parts); set E2E_BLOCKED=1 to run")
	}
	const addr = "clean@" + domain
	e := startEnv(t, emptyScenario())
	addCloudMail(e.lab.Graph.AddMailbox(addr, mailbox.TypeUser), "Inbox", 3)
	a := e.assess(t, entries(addr), mapping.Limits{}, false)
	m := mailboxOf(t, a, addr)
	if m.Readiness != mailbox.Ready {
		for _, f := range findings(a, "", addr) {
			t.Logf("%s %s %q: %s", f.Code, f.Severity, f.Object, f.Found)
		}
		t.Errorf("a cloud mailbox with three messages and nothing else is %s, want ready", m.Readiness)
	}
}
