package mapping

import (
	"slices"
	"testing"

	"github.com/exmigrate/exmigrate/mailbox"
)

func TestLostParts(t *testing.T) {
	sent := mailbox.Rule{Name: "Projects", Priority: 2, Enabled: true}
	sent.Conditions.FromAddresses = []string{"PM@contoso.com", "lead@contoso.com"}
	sent.Conditions.Importance = mailbox.ImportanceHigh
	sent.Conditions.WithinSizeRange = &mailbox.SizeRange{MinimumSizeKB: 10}
	sent.Exceptions.IsAutomaticReply = true
	sent.Actions.MoveToFolder = "AAMkTgt="
	sent.Actions.AssignCategories = []string{"Projects"}

	tests := []struct {
		name string
		got  func(r *mailbox.Rule)
		lost []string
	}{
		{"identical", func(*mailbox.Rule) {}, nil},
		{"spelling and order differ", func(r *mailbox.Rule) {
			r.Conditions.FromAddresses = []string{"lead@contoso.com", "pm@contoso.com"}
			r.Conditions.Importance = "high"
			r.Name = "projects"
			r.Priority = 7 // renumbered by the service
		}, nil},
		{"conditions emptied", func(r *mailbox.Rule) { r.Conditions = mailbox.Predicates{} },
			[]string{"conditions.FromAddresses", "conditions.Importance", "conditions.WithinSizeRange"}},
		{"exception dropped by PATCH", func(r *mailbox.Rule) { r.Exceptions.IsAutomaticReply = false },
			[]string{"exceptions.IsAutomaticReply"}},
		{"size changed", func(r *mailbox.Rule) { r.Conditions.WithinSizeRange = &mailbox.SizeRange{MinimumSizeKB: 11} },
			[]string{"conditions.WithinSizeRange"}},
		{"address missing", func(r *mailbox.Rule) { r.Conditions.FromAddresses = r.Conditions.FromAddresses[:1] },
			[]string{"conditions.FromAddresses"}},
		{"folder id differs only in case", func(r *mailbox.Rule) { r.Actions.MoveToFolder = "AAMKTGT=" },
			[]string{"actions.MoveToFolder"}},
		{"disabled and renamed", func(r *mailbox.Rule) { r.Enabled = false; r.Name = "Other" },
			[]string{"rule.Name", "rule.Enabled"}},
		{"extra parts on the target are not losses", func(r *mailbox.Rule) { r.Actions.MarkAsRead = true }, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := sent
			got.Conditions.FromAddresses = slices.Clone(sent.Conditions.FromAddresses)
			tc.got(&got)
			if lost := LostParts(sent, got); !slices.Equal(lost, tc.lost) {
				t.Fatalf("LostParts = %q, want %q", lost, tc.lost)
			}
		})
	}
}

// Every predicate and action the translation maps is checked by LostParts.
func TestLostPartsCoversEveryMappedPart(t *testing.T) {
	for _, tc := range predicateCases {
		if tc.graph == "" {
			continue
		}
		var sent mailbox.Rule
		tc.set(&sent.Conditions)
		if lost := LostParts(sent, mailbox.Rule{}); !slices.Equal(lost, []string{"conditions." + tc.name}) {
			t.Errorf("%s: LostParts = %q", tc.name, lost)
		}
	}
	for _, tc := range actionCases {
		if tc.graph == "" {
			continue
		}
		var sent mailbox.Rule
		tc.set(&sent.Actions)
		if lost := LostParts(sent, mailbox.Rule{}); !slices.Equal(lost, []string{"actions." + tc.name}) {
			t.Errorf("%s: LostParts = %q", tc.name, lost)
		}
	}
}
