package mapping_test

import (
	"fmt"
	"os"

	"github.com/exmigrate/exmigrate/mailbox"
	"github.com/exmigrate/exmigrate/mapping"
)

func ExampleTranslateRule() {
	r := mailbox.Rule{Name: "Newsletters", Priority: 1, Enabled: true}
	r.Conditions.ContainsSubjectStrings = []string{"newsletter"}
	r.Conditions.WithinDateRange = &mailbox.DateRange{StartDateTime: "2024-01-01T00:00:00Z"}
	r.Actions.MoveToFolder = "src-news"

	target := mapping.FolderMapOf(map[string]string{"src-news": "tgt-news"})
	t := mapping.TranslateRule(r, target)
	fmt.Println("mappable:", t.Mappable)
	for _, m := range t.Mapped {
		fmt.Println("mapped:", m)
	}
	for _, g := range t.Unmappable {
		fmt.Println("lost:", g.Part, "-", g.Reason)
	}
	fmt.Println("move to:", t.Rule.Actions.MoveToFolder)
	// Output:
	// mappable: false
	// mapped: conditions.ContainsSubjectStrings -> subjectContains
	// mapped: actions.MoveToFolder -> moveToFolder
	// lost: conditions.WithinDateRange - Graph messageRulePredicates has no received-date range condition
	// move to: tgt-news
}

func ExampleFolderMappings_Apply() {
	m, err := mapping.ParseFolderMappings([]string{
		"Inbox/Old Projects -> Archive/Projects",
		`Reports\/2024 -> Reports/2024`, // one folder named "Reports/2024" becomes two levels
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(m.Apply("Inbox/Old Projects/Falcon"))
	fmt.Println(m.Apply(`Reports\/2024`))
	fmt.Println(m.Apply("Inbox"))
	// Output:
	// Archive/Projects/Falcon
	// Reports/2024
	// Inbox
}

func ExampleAssess() {
	in := mapping.MailboxInventory{
		Address:  "ann@contoso.com",
		Location: mailbox.LocationOnPrem,
		Folders: []mailbox.Folder{
			{ID: "root"},
			{ID: "inbox", Path: "Inbox", ItemCount: 1200, SizeBytes: 900 << 20},
		},
		Delegates: []mailbox.Delegate{{User: "pa@contoso.com", Permissions: map[string]string{"Calendar": "Editor"}}},
	}
	a, findings := mapping.Assess(in, mapping.Limits{})
	fmt.Println(a.Readiness, a.Items, "items")
	for _, f := range findings {
		fmt.Printf("%s %s: %s\n", f.Severity, f.Code, f.Fix)
	}
	// Output:
	// warnings 1200 items
	// warning EXM-DELEGATE: Add-MailboxFolderPermission -Identity 'ann@contoso.com:\Calendar' -User 'pa@contoso.com' -AccessRights Editor -SharingPermissionFlags Delegate
	// info EXM-HOLD-LITIGATION-UNKNOWN: Get-Mailbox -Identity 'ann@contoso.com' | Format-List LitigationHoldEnabled,LitigationHoldDuration,InPlaceHolds
}

func ExampleWriteCapabilitiesTable() {
	caps := []mapping.Capability{}
	for _, c := range mapping.Capabilities() {
		if c.Area == "archive" {
			caps = append(caps, c)
		}
	}
	for i := range caps {
		caps[i].Remedy = "" // keep the example narrow
	}
	_ = mapping.WriteCapabilitiesTable(os.Stdout, caps)
	// Output:
	// STATUS   ID                 EWS                                                                                   GRAPH                                        REMEDY
	// none     archive.mailbox    archiveroot / archivemsgfolderroot (online archive)                                   -                                            -
	// partial  recoverable.items  recoverableitemsroot, recoverableitemsdeletions / purges / versions / discoveryholds  well-known folder recoverableitemsdeletions  -
	//
	// 2 capabilities: 0 direct, 1 partial, 1 none
}
