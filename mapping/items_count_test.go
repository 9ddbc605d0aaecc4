package mapping

import (
	"testing"

	"github.com/exmigrate/exmigrate/mailbox"
)

// TestContentFindingsCountItems: each content finding carries its count,
// so that a report summing a code over mailboxes (6 calendar items in one,
// 12 in another) says 18, not the first mailbox's 6.
func TestContentFindingsCountItems(t *testing.T) {
	notCarried := map[mailbox.Kind]string{mailbox.KindCalendar: "the target takes no calendar items", mailbox.KindNotes: "no notes API"}
	var total int64
	for addr, n := range map[string]int64{"a@x": 6, "b@x": 12} {
		fs := contentFindings(addr, map[mailbox.Kind]int64{mailbox.KindCalendar: n, mailbox.KindMail: 100}, notCarried)
		if len(fs) != 1 || fs[0].Code != CodeContentNotCopied || fs[0].Object != "calendar" || fs[0].Items != n {
			t.Fatalf("%s: %+v, want one calendar finding counting %d items", addr, fs, n)
		}
		total += fs[0].Items
	}
	if total != 18 {
		t.Errorf("total %d, want 18", total)
	}
	lf := lossFindings("a@x", map[mailbox.Kind]int64{mailbox.KindContacts: 7}, map[mailbox.Kind]string{mailbox.KindContacts: "photos"})
	if len(lf) != 1 || lf[0].Items != 7 {
		t.Errorf("loss findings %+v, want one counting 7", lf)
	}
}
