package mapping

import (
	"fmt"
	"testing"

	"github.com/exmigrate/exmigrate/mailbox"
	"github.com/exmigrate/exmigrate/reports"
)

// A part the protocol cannot reach (Graph v1.0 and the archive) is worth
// knowing, not a warning: the mailbox stays ready.
func TestUnsupportedPartIsInfo(t *testing.T) {
	unsupported := fmt.Errorf("graph: folders, scope archive: %w", mailbox.ErrUnsupported)
	in := MailboxInventory{Address: "eve@contoso.com", Location: mailbox.LocationCloud,
		Folders:    []mailbox.Folder{{ID: "root"}, {ID: "in", ParentID: "root", Path: "Inbox", WellKnown: mailbox.Inbox, ItemCount: 3}},
		PartErrors: map[Section]error{SectionArchive: unsupported, SectionRecoverable: unsupported}}
	a, findings := Assess(in, Limits{})
	var seen int
	for _, f := range findings {
		if f.Code != CodePartUnreadable {
			continue
		}
		seen++
		if f.Severity != reports.SeverityInfo || f.Fix == "" {
			t.Errorf("%s: severity %s, fix %q; want info with a PowerShell check", f.Object, f.Severity, f.Fix)
		}
	}
	if seen != 2 {
		t.Errorf("want 2 part findings, got %d: %+v", seen, findings)
	}
	if a.Readiness != reports.Ready {
		t.Errorf("readiness %s, want ready", a.Readiness)
	}
	// A real failure stays a warning.
	in.PartErrors = map[Section]error{SectionArchive: fmt.Errorf("x: %w", mailbox.ErrAccessDenied)}
	a, _ = Assess(in, Limits{})
	if a.Readiness != reports.Warnings {
		t.Errorf("access denied: readiness %s, want warnings", a.Readiness)
	}
}
