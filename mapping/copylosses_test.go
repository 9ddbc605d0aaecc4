package mapping

import (
	"strings"
	"testing"

	"github.com/exmigrate/exmigrate/reports"
)

// TestCopyLossFindings: every loss code of a copy result becomes one
// finding per mailbox with the exact count and the items named; an
// unknown code is still reported.
func TestCopyLossFindings(t *testing.T) {
	a := &reports.Assessment{Mailboxes: []reports.MailboxAssessment{
		{Address: "ana@contoso.com", Copy: &reports.CopySummary{
			Kinds: map[string]reports.KindCopy{
				"calendar": {Copied: 10, Losses: map[string]int64{CodeMeetingAsAppointment: 3, "EXM-SOMETHING-NEW": 1}},
				"tasks":    {Copied: 2, Losses: map[string]int64{CodeTaskFieldsLost: 2}},
			},
			Losses: []reports.CopyLoss{{Kind: "calendar", Code: CodeMeetingAsAppointment, Subject: "Stand-up"},
				{Kind: "calendar", Code: CodeMeetingAsAppointment, Subject: "Review"}, {Kind: "tasks", Code: CodeTaskFieldsLost, Subject: "Checklist"}},
		}},
		{Address: "bo@contoso.com", Copy: &reports.CopySummary{Kinds: map[string]reports.KindCopy{"mail": {Copied: 5}}}},
		{Address: "cy@contoso.com"},
	}}
	if n := CopyLossFindings(a); n != 3 {
		t.Fatalf("added %d findings, want 3: %+v", n, a.Findings)
	}
	byCode := map[string]reports.Finding{}
	for _, f := range a.Findings {
		byCode[f.Code] = f
	}
	m := byCode[CodeMeetingAsAppointment]
	if m.Mailbox != "ana@contoso.com" || m.Severity != reports.SeverityWarning || !strings.Contains(m.Found, "3 items") ||
		m.Object != "Stand-up; Review; and 1 item more" || !strings.Contains(m.Remedy, "full-fidelity") {
		t.Errorf("meeting finding: %+v", m)
	}
	if f := byCode[CodeTaskFieldsLost]; !strings.Contains(f.Found, "2 items (tasks)") || f.Object != "Checklist; and 1 item more" {
		t.Errorf("task finding: %+v", f)
	}
	if f := byCode[CodeContentCarriedWithLoss]; !strings.Contains(f.Found, "EXM-SOMETHING-NEW") {
		t.Errorf("unknown code: %+v", f)
	}
}

// copyLossCodes are the catalogued codes a copy result triggers.
var copyLossCodes = []string{CodeMeetingAsAppointment, CodeResponsesInBody, CodeTaskFieldsLost, CodeAttachmentLeftOut,
	CodeZoneUnknown, CodeOccurrenceDetails, CodeContactPhotoLost}

// TestEveryLossCodeBecomesItsFinding: each catalogued loss code of a copy
// result gives a finding of that code with its remedy, and none without
// a loss.
func TestEveryLossCodeBecomesItsFinding(t *testing.T) {
	for _, code := range copyLossCodes {
		a := &reports.Assessment{Mailboxes: []reports.MailboxAssessment{{Address: "ana@contoso.com", Copy: &reports.CopySummary{
			Kinds:  map[string]reports.KindCopy{"calendar": {Copied: 1, Losses: map[string]int64{code: 1}}},
			Losses: []reports.CopyLoss{{Kind: "calendar", Code: code, Subject: "x"}}}}}}
		if n := CopyLossFindings(a); n != 1 || a.Findings[0].Code != code || a.Findings[0].Remedy == "" {
			t.Errorf("%s: %d findings %+v", code, n, a.Findings)
		}
		a.Mailboxes[0].Copy.Kinds = map[string]reports.KindCopy{"calendar": {Copied: 1}}
		a.Findings = nil
		if n := CopyLossFindings(a); n != 0 {
			t.Errorf("%s: a copy without losses gave %d findings", code, n)
		}
	}
}
