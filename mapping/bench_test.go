package mapping

import (
	"fmt"
	"testing"

	"github.com/exmigrate/exmigrate/mailbox"
)

// bigInventory is a heavy but plausible mailbox: 20,000 folders, 500 rules,
// 20 delegates.
func bigInventory() MailboxInventory {
	in := cleanInventory()
	in.Folders = []mailbox.Folder{{ID: "root", ChildCount: 100}}
	for i := range 20_000 {
		parent := fmt.Sprintf("F%d", i%100)
		in.Folders = append(in.Folders, mailbox.Folder{
			ID: fmt.Sprint("f", i), Path: parent + "/" + fmt.Sprint("Sub", i), Class: mailbox.ClassMailFolder,
			ItemCount: int64(i % 5000), SizeBytes: int64(i%5000) * 50 << 10,
		})
	}
	for i := range 500 {
		r := mailbox.Rule{Name: fmt.Sprint("rule ", i), Enabled: true}
		r.Conditions.ContainsSubjectStrings = []string{"x"}
		r.Actions.MoveToFolder = fmt.Sprint("f", i)
		if i%10 == 0 {
			r.Conditions.WithinDateRange = &mailbox.DateRange{StartDateTime: "2024-01-01T00:00:00Z"}
		}
		in.Rules = append(in.Rules, r)
	}
	for i := range 20 {
		in.Delegates = append(in.Delegates, mailbox.Delegate{User: fmt.Sprintf("d%d@contoso.com", i),
			Permissions: map[string]string{"Calendar": "Editor", "Inbox": "Reviewer"}})
	}
	return in
}

func BenchmarkAssess(b *testing.B) {
	in := bigInventory()
	b.ReportAllocs()
	for b.Loop() {
		a, fs := Assess(in, Limits{})
		if a.Folders != 20_000 || len(fs) == 0 {
			b.Fatalf("folders %d findings %d", a.Folders, len(fs))
		}
	}
}

func BenchmarkTranslateRule(b *testing.B) {
	r := mailbox.Rule{Name: "r", Enabled: true}
	r.Conditions.FromAddresses = []string{"a@contoso.com"}
	r.Conditions.ContainsSubjectStrings = []string{"x", "y"}
	r.Exceptions.IsAutomaticReply = true
	r.Actions.MoveToFolder = "src-projects"
	r.Actions.StopProcessingRules = true
	b.ReportAllocs()
	for b.Loop() {
		if t := TranslateRule(r, testFolders); !t.Mappable {
			b.Fatal("not mappable")
		}
	}
}
