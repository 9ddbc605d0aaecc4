package reports

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/exmigrate/exmigrate/mailbox"
)

// syntheticAssessment builds a deterministic assessment of n mailboxes with
// the spread a large organisation shows: most ready, some with warnings, a
// few blocked or unreadable, sizes from megabytes to tens of gigabytes,
// findings in every category, folder statistics and copy results.
func syntheticAssessment(n int) *Assessment {
	r := rand.New(rand.NewPCG(7, uint64(n)))
	a := &Assessment{
		SchemaVersion: AssessmentSchemaVersion,
		GeneratedAt:   time.Date(2026, 11, 21, 6, 0, 0, 0, time.UTC),
		Tool:          "exmigrate synthetic",
		PublicFolders: &PublicFolderStats{Folders: 12000, Items: 4_500_000, SizeBytes: 310 << 30, MaxDepth: 23},
	}
	lastPass := time.Date(2026, 11, 21, 3, 0, 0, 0, time.UTC)
	folders := []string{"Inbox", "Sent Items", "Deleted Items", "Calendar", "Contacts", "Inbox/Projects", "Inbox/Projects/2025", "Archive/2019", "Archive/2020", "Notes", "Tasks", "Drafts", "Junk Email"}
	for i := range n {
		addr := fmt.Sprintf("user%05d@contoso.com", i)
		size := int64(r.ExpFloat64() * float64(4<<30))
		items := size/(60<<10) + int64(r.IntN(500))
		m := MailboxAssessment{
			Address:  addr,
			Location: []mailbox.Location{mailbox.LocationOnPrem, mailbox.LocationOnPrem, mailbox.LocationCloud}[r.IntN(3)],
			Type:     []mailbox.MailboxType{mailbox.TypeUser, mailbox.TypeUser, mailbox.TypeUser, mailbox.TypeShared, mailbox.TypeRoom}[r.IntN(5)],
			Batch:    fmt.Sprintf("wave-%d", 1+i%8),
			Folders:  20 + r.IntN(400), MaxDepth: 2 + r.IntN(10), MaxChildFolders: int64(r.IntN(300)), MaxFolderItems: items / 3,
			Items: items, SizeBytes: size,
			ItemsByKind:      map[mailbox.Kind]int64{mailbox.KindMail: items * 9 / 10, mailbox.KindCalendar: items / 20, mailbox.KindContacts: items / 40, mailbox.KindTasks: items - items*9/10 - items/20 - items/40},
			RecoverableBytes: size / 25, RecoverableItems: items / 30,
			Rules: r.IntN(15), Delegates: r.IntN(3),
		}
		m.RulesMappable = m.Rules - r.IntN(m.Rules/4+1)
		if r.IntN(5) == 0 {
			m.Archive = &ArchiveStats{Folders: 50 + r.IntN(200), Items: items * 2, SizeBytes: size * 2}
		}
		for j := range 8 {
			m.LargestItems = append(m.LargestItems, ItemSummary{Folder: folders[j], Subject: fmt.Sprintf("Quarterly figures %d <draft> & notes", j), Class: "IPM.Note", SizeBytes: int64(40-j) << 20, Received: lastPass.AddDate(0, -j, 0)})
		}
		for j, f := range folders {
			m.FolderStats = append(m.FolderStats, FolderSummary{Path: f, Class: "IPF.Note", Items: items / int64(j+2), SizeBytes: size / int64(j+2), ChildCount: int64(j % 4)})
		}
		var sev []Severity
		switch p := r.IntN(100); {
		case p < 3:
			m.Readiness, m.Error = Unreadable, "access denied"
			sev = append(sev, SeverityBlocker)
		case p < 12:
			m.Readiness = Blocked
			sev = append(sev, SeverityBlocker, SeverityWarning)
		case p < 40:
			m.Readiness = Warnings
			sev = append(sev, SeverityWarning, SeverityInfo)
		default:
			m.Readiness = Ready
			if p < 60 {
				sev = append(sev, SeverityInfo)
			}
		}
		for k, s := range sev {
			cat := categoryOrder[(i+k)%len(categoryOrder)]
			a.Findings = append(a.Findings, Finding{
				Code: fmt.Sprintf("EXM-%s-%s", cat, s), Severity: s, Category: cat, Mailbox: addr,
				Object: fmt.Sprintf("Inbox/Folder %d", k), Found: "Something the target cannot hold as it is, described in one sentence.",
				Remedy: "What to do about it, in one sentence.", Fix: "Set-Mailbox -Identity " + addr + " -Something $true",
			})
		}
		switch p := r.IntN(10); {
		case p < 5:
			m.Copy = &CopySummary{Status: "done", ItemsCopied: items, BytesCopied: size, SourceItems: items, TargetItems: items, LastPass: lastPass, DurationMillis: size / (500 << 10)}
			if p == 0 {
				m.Copy.ItemsSkipped = 2
				m.Copy.SkipReasons = map[string]int64{"item over 150 MB": 1, "corrupt item": 1}
				m.Copy.TargetItems -= 2 + int64(r.IntN(3))
			}
		case p < 7:
			m.Copy = &CopySummary{Status: "partial", ItemsCopied: items / 2, BytesCopied: size / 2, SourceItems: items, TargetItems: items / 2, LastPass: lastPass}
		case p < 8:
			m.Copy = &CopySummary{Status: "failed", SourceItems: items, LastPass: lastPass}
		}
		a.Mailboxes = append(a.Mailboxes, m)
	}
	a.Findings = append(a.Findings, Finding{Code: "EXM-PF-PRESENT", Severity: SeverityInfo, Category: "public-folders", Object: `\`, Found: "The organisation has public folders.", Remedy: "Plan a public folder migration."})
	return a
}
