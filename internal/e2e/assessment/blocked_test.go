package assessment_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/exmigrate/exmigrate/internal/lab"
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

// TestPublicFolderHierarchyLimit builds a public folder tree one folder over
// the 250,000 a public folder migration supports and reads it through the
// EWS client. mapping.AssessPublicFolders takes no Limits, so the threshold
// cannot be lowered; the test is heavy and runs only with E2E_HEAVY=1.
func TestPublicFolderHierarchyLimit(t *testing.T) {
	if os.Getenv("E2E_HEAVY") == "" {
		t.Skip("builds 250,001 public folders; set E2E_HEAVY=1 to run")
	}
	e := startEnv(t, emptyScenario(lab.PublicFolderSpec{Path: "Seed", Items: 0}))
	// 500 parents of 499 children each, plus the parents and "Seed":
	// 500 + 500*499 + 1 = 250,001 folders.
	const parents, children = 500, 499
	for p := range parents {
		for c := range children {
			e.lab.EWS.PublicFolder(fmt.Sprintf("P%03d/C%03d", p, c))
		}
	}
	a := e.assess(t, nil, mapping.Limits{}, true)
	if a.PublicFolders == nil || a.PublicFolders.Folders != mapping.PublicFolderHierarchyMax+1 {
		t.Fatalf("public folders %+v, want %d folders", a.PublicFolders, mapping.PublicFolderHierarchyMax+1)
	}
	f := findings(a, mapping.CodePublicFolderHierarchyLimit, "")
	if len(f) != 1 || f[0].Severity != mailbox.SeverityBlocker || f[0].Object != "Public Folders" {
		t.Errorf("findings %+v, want one blocker for the hierarchy", f)
	}
	t.Logf("EWS requests to read the tree: FindFolder %d, GetFolder %d", e.lab.EWS.Requests("FindFolder"), e.lab.EWS.Requests("GetFolder"))
}
