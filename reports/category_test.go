package reports

import (
	"slices"
	"testing"
)

// TestCategoriesFromMailbox: the report orders and labels exactly the
// categories Categories lists, in that order.
func TestCategoriesFromMailbox(t *testing.T) {
	cats := Categories()
	if !slices.Equal(categoryOrder, cats) {
		t.Errorf("categoryOrder = %q, want Categories() %q", categoryOrder, cats)
	}
	if len(categoryLabels) != len(cats) {
		t.Errorf("%d category labels for %d categories", len(categoryLabels), len(cats))
	}
	for i, c := range cats {
		if categoryLabels[c] == "" {
			t.Errorf("category %q has no label", c)
		}
		if categoryRank(c) != i {
			t.Errorf("categoryRank(%q) = %d, want %d", c, categoryRank(c), i)
		}
	}
	if got := categoryLabel(""); got != "Uncategorised" {
		t.Errorf(`categoryLabel("") = %q`, got)
	}
	if got := categoryLabel("mail-flow"); got != "Mail flow" {
		t.Errorf(`categoryLabel("mail-flow") = %q`, got)
	}
}
