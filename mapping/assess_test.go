package mapping

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/exmigrate/exmigrate/mailbox"
	"github.com/exmigrate/exmigrate/reports"
)

const addr = "ann@contoso.com"

func boolp(b bool) *bool { return &b }

// cleanInventory is a mailbox with nothing to report.
func cleanInventory() MailboxInventory {
	return MailboxInventory{
		Address:  addr,
		Location: mailbox.LocationOnPrem,
		Type:     mailbox.TypeUser,
		Folders: []mailbox.Folder{
			{ID: "root", Path: "", ChildCount: 3},
			{ID: "inbox", ParentID: "root", Path: "Inbox", DisplayName: "Inbox", WellKnown: mailbox.Inbox, Class: mailbox.ClassMailFolder, ItemCount: 120, ChildCount: 1, SizeBytes: 30 << 20},
			{ID: "proj", ParentID: "inbox", Path: "Inbox/Projects", DisplayName: "Projects", Class: mailbox.ClassMailFolder, ItemCount: 30, SizeBytes: 10 << 20},
			{ID: "sent", ParentID: "root", Path: "Sent Items", DisplayName: "Sent Items", WellKnown: mailbox.SentItems, ItemCount: 50, SizeBytes: 5 << 20},
		},
		Items: ItemStats{
			Items: 200, SizeBytes: 45 << 20,
			ByKind:  map[mailbox.Kind]int64{mailbox.KindMail: 200},
			Largest: []reports.ItemSummary{{Folder: "Inbox", Subject: "slides", Class: "IPM.Note", SizeBytes: 9 << 20}},
		},
		LitigationHold: boolp(false),
	}
}

// deepPath returns a folder path n levels deep.
func deepPath(n int) string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("L%d", i+1)
	}
	return strings.Join(names, "/")
}

// findingCases has, for every mailbox finding code, an inventory change that
// triggers it and a close one that does not.
var findingCases = []struct {
	code    string
	trigger func(in *MailboxInventory)
	clear   func(in *MailboxInventory)
}{
	{CodeMailboxUnreadable,
		func(in *MailboxInventory) {
			in.Err = fmt.Errorf("GetFolder msgfolderroot: %w", mailbox.ErrAccessDenied)
		},
		func(in *MailboxInventory) { in.Err = nil }},
	{CodePartUnreadable,
		func(in *MailboxInventory) {
			in.PartErrors = map[Section]error{SectionDelegates: fmt.Errorf("GetDelegate: %w", mailbox.ErrAccessDenied)}
		},
		func(in *MailboxInventory) { in.PartErrors = map[Section]error{SectionDelegates: nil} }},
	{CodeInPlaceHold,
		func(in *MailboxInventory) {
			in.Holds = []mailbox.Hold{{ID: "h1", Name: "Legal-2024", Query: "project:falcon", Status: "OnHold"}}
		},
		func(in *MailboxInventory) { in.Holds = []mailbox.Hold{{ID: "h1", Name: "Old", Status: "NotOnHold"}} }},
	{CodeLitigationHold,
		func(in *MailboxInventory) { in.LitigationHold = boolp(true) },
		func(in *MailboxInventory) { in.LitigationHold = boolp(false) }},
	{CodeLitigationHoldUnknown,
		func(in *MailboxInventory) { in.LitigationHold = nil },
		func(in *MailboxInventory) { in.LitigationHold = boolp(false) }},
	{CodeArchive,
		func(in *MailboxInventory) {
			in.HasArchive = true
			in.ArchiveFolders = []mailbox.Folder{{Path: ""}, {Path: "Inbox", ItemCount: 4000, SizeBytes: 2 << 30}}
		},
		func(in *MailboxInventory) { in.HasArchive = false }},
	{CodeRecoverableItems,
		func(in *MailboxInventory) {
			in.RecoverableFolders = []mailbox.Folder{{Path: ""}, {Path: "Deletions", DisplayName: "Deletions", ItemCount: 12, SizeBytes: 1 << 20}}
		},
		func(in *MailboxInventory) {
			in.RecoverableFolders = []mailbox.Folder{{Path: ""}, {Path: "Deletions", DisplayName: "Deletions"}}
		}},
	{CodeDelegate,
		func(in *MailboxInventory) {
			in.Delegates = []mailbox.Delegate{{User: "bob@contoso.com", Permissions: map[string]string{"Calendar": "Editor"}}}
		},
		func(in *MailboxInventory) { in.Delegates = nil }},
	{CodeFolderPermission,
		func(in *MailboxInventory) {
			in.FolderPermissions = []FolderPermission{{Folder: "Inbox/Projects", User: "bob@contoso.com", Level: "Reviewer"}}
		},
		func(in *MailboxInventory) {
			in.FolderPermissions = []FolderPermission{{Folder: "Inbox", User: "Default", Level: "None"}, {Folder: "Inbox", User: "Anonymous"}}
		}},
	{CodeMailboxPermission,
		func(in *MailboxInventory) {
			in.MailboxPermissions = []MailboxPermission{{User: "eve@contoso.com", Right: RightFullAccess}}
		},
		func(in *MailboxInventory) { in.MailboxPermissions = nil }},
	{CodeItemOverTenantLimit,
		func(in *MailboxInventory) {
			in.Items.OverTenant = 3
			in.Items.Largest = []reports.ItemSummary{{Folder: "Inbox", Subject: "scan", SizeBytes: 40 << 20}}
		},
		func(in *MailboxInventory) { in.Items.OverTenant, in.Items.OverMax = 0, 0 }},
	{CodeItemOver150MB,
		func(in *MailboxInventory) {
			in.Items.OverTenant, in.Items.OverMax = 1, 1
			in.Items.Largest = []reports.ItemSummary{{Folder: "Inbox/Media", Subject: "Q3 video", SizeBytes: 210 << 20}}
		},
		func(in *MailboxInventory) { in.Items.OverTenant, in.Items.OverMax = 2, 0 }},
	{CodeFolderItemsLimit,
		func(in *MailboxInventory) { in.Folders[2].ItemCount = 1_000_001 },
		func(in *MailboxInventory) { in.Folders[2].ItemCount = 1_000_000 }},
	{CodeFolderDepthLimit,
		func(in *MailboxInventory) { in.Folders[2].Path = deepPath(301) },
		func(in *MailboxInventory) { in.Folders[2].Path = deepPath(300) }},
	{CodeFolderChildrenLimit,
		func(in *MailboxInventory) { in.Folders[1].ChildCount = 10_001 },
		func(in *MailboxInventory) { in.Folders[1].ChildCount = 10_000 }},
	{CodeMailboxOverQuota,
		func(in *MailboxInventory) { in.Folders[3].SizeBytes = 101 << 30 },
		func(in *MailboxInventory) { in.Folders[3].SizeBytes = 100<<30 - 40<<20 }},
	{CodeContentNotCopied,
		func(in *MailboxInventory) { in.Items.ByKind[mailbox.KindNotes] = 75 },
		func(in *MailboxInventory) { in.Items.ByKind[mailbox.KindNotes] = 0 }},
	{CodeContentCarriedWithLoss,
		func(in *MailboxInventory) {
			in.Items.ByKind[mailbox.KindCalendar] = 75
			in.NotCarried = map[mailbox.Kind]string{}
			in.CarriedWithLoss = map[mailbox.Kind]string{mailbox.KindCalendar: "meeting attendees and responses (written into the body)"}
		},
		func(in *MailboxInventory) {
			in.Items.ByKind[mailbox.KindCalendar] = 75
			in.NotCarried = map[mailbox.Kind]string{}
			in.CarriedWithLoss = nil
		}},
	{CodeRuleConditionUnmappable,
		func(in *MailboxInventory) {
			in.Rules = []mailbox.Rule{{Name: "old mail", Conditions: mailbox.Predicates{WithinDateRange: &mailbox.DateRange{EndDateTime: "2020-01-01T00:00:00Z"}}, Actions: mailbox.Actions{MarkAsRead: true}}}
		},
		func(in *MailboxInventory) {
			in.Rules = []mailbox.Rule{{Name: "boss", Conditions: mailbox.Predicates{FromAddresses: []string{"boss@contoso.com"}}, Actions: mailbox.Actions{MarkImportance: "High"}}}
		}},
	{CodeRuleExceptionUnmappable,
		func(in *MailboxInventory) {
			in.Rules = []mailbox.Rule{{Name: "no meetings", Exceptions: mailbox.Predicates{ItemClasses: []string{"IPM.Schedule.Meeting.Request"}}, Actions: mailbox.Actions{MarkAsRead: true}}}
		},
		func(in *MailboxInventory) {
			in.Rules = []mailbox.Rule{{Name: "no meetings", Exceptions: mailbox.Predicates{IsMeetingRequest: true}, Actions: mailbox.Actions{MarkAsRead: true}}}
		}},
	{CodeRuleActionUnmappable,
		func(in *MailboxInventory) {
			in.Rules = []mailbox.Rule{{Name: "sms", Actions: mailbox.Actions{SendSMSAlertToRecipients: []string{"+15550100"}, MarkAsRead: true}}}
		},
		func(in *MailboxInventory) {
			in.Rules = []mailbox.Rule{{Name: "fwd", Actions: mailbox.Actions{ForwardToRecipients: []string{"a@contoso.com"}}}}
		}},
	{CodeRuleFolderUnresolved,
		func(in *MailboxInventory) {
			in.Rules = []mailbox.Rule{{Name: "file", Actions: mailbox.Actions{MoveToFolder: "deleted-folder-id"}}}
		},
		func(in *MailboxInventory) {
			in.Rules = []mailbox.Rule{{Name: "file", Actions: mailbox.Actions{MoveToFolder: "proj"}}}
		}},
	{CodeRuleNotSupported,
		func(in *MailboxInventory) {
			in.Rules = []mailbox.Rule{{Name: "client", IsNotSupported: true, Actions: mailbox.Actions{MarkAsRead: true}}}
		},
		func(in *MailboxInventory) {
			in.Rules = []mailbox.Rule{{Name: "client", Actions: mailbox.Actions{MarkAsRead: true}}}
		}},
	{CodeRuleInError,
		func(in *MailboxInventory) {
			in.Rules = []mailbox.Rule{{Name: "broken", IsInError: true, Actions: mailbox.Actions{Delete: true}}}
		},
		func(in *MailboxInventory) {
			in.Rules = []mailbox.Rule{{Name: "broken", Actions: mailbox.Actions{Delete: true}}}
		}},
	{CodeRuleClientOnly,
		func(in *MailboxInventory) { in.ClientOnlyRules = true },
		func(in *MailboxInventory) { in.ClientOnlyRules = false }},
}

func codesOf(fs []reports.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Code)
	}
	return out
}

var digits = regexp.MustCompile(`[0-9]`)

func TestCleanMailboxHasNoFindings(t *testing.T) {
	a, fs := Assess(cleanInventory(), Limits{})
	if len(fs) != 0 {
		t.Fatalf("clean mailbox produced findings: %+v", fs)
	}
	if a.Readiness != reports.Ready {
		t.Fatalf("Readiness = %s, want ready", a.Readiness)
	}
}

func TestEveryFindingCode(t *testing.T) {
	for _, tc := range findingCases {
		t.Run(tc.code, func(t *testing.T) {
			kind, ok := KindByCode(tc.code)
			if !ok {
				t.Fatalf("%s is not in the catalogue", tc.code)
			}
			in := cleanInventory()
			tc.trigger(&in)
			_, fs := Assess(in, Limits{})
			i := slices.IndexFunc(fs, func(f reports.Finding) bool { return f.Code == tc.code })
			if i < 0 {
				t.Fatalf("trigger did not produce %s; got %q", tc.code, codesOf(fs))
			}
			f := fs[i]
			if f.Mailbox != addr || f.Severity != kind.Severity || f.Category != kind.Category ||
				f.Object == "" || f.Found == "" || f.Remedy != kind.Remedy {
				t.Errorf("finding is incomplete or does not match its kind: %+v", f)
			}
			if strings.ContainsAny(f.Fix, "{}") && !strings.Contains(f.Fix, "@{Add=") {
				t.Errorf("fix has an unfilled placeholder: %q", f.Fix)
			}
			// Access fixes grant the service account a role; the others name the mailbox.
			if f.Fix != "" && f.Category != reports.CategoryAccess && !strings.Contains(f.Fix, addr) {
				t.Errorf("fix does not name the mailbox: %q", f.Fix)
			}

			in = cleanInventory()
			tc.clear(&in)
			_, fs = Assess(in, Limits{})
			if slices.Contains(codesOf(fs), tc.code) {
				t.Fatalf("the non-triggering inventory produced %s: %+v", tc.code, fs)
			}
		})
	}
}

// Every catalogued code has a trigger test, here or in the public folder test.
func TestCatalogueCoveredByTests(t *testing.T) {
	covered := map[string]bool{}
	for _, tc := range findingCases {
		covered[tc.code] = true
	}
	for _, tc := range publicFolderCases {
		covered[tc.code] = true
	}
	covered[CodePublicFolderUnreadable] = true // TestPublicFoldersUnreadable
	for _, code := range copyLossCodes {
		covered[code] = true // TestCopyLossFindings
	}
	for _, k := range Catalogue() {
		if !covered[k.Code] {
			t.Errorf("code %s has no trigger test", k.Code)
		}
	}
}

func TestCatalogueWellFormed(t *testing.T) {
	seen := map[string]bool{}
	placeholder := regexp.MustCompile(`\{[a-z]+\}`)
	categories := reports.Categories()
	for _, k := range Catalogue() {
		if seen[k.Code] {
			t.Errorf("duplicate code %s", k.Code)
		}
		seen[k.Code] = true
		if !strings.HasPrefix(k.Code, "EXM-") || k.Code != strings.ToUpper(k.Code) {
			t.Errorf("code %q is not of the form EXM-UPPER-CASE", k.Code)
		}
		if k.Title == "" || k.Remedy == "" {
			t.Errorf("%s lacks a title or remedy", k.Code)
		}
		if k.Severity.Rank() > 2 {
			t.Errorf("%s has unknown severity %q", k.Code, k.Severity)
		}
		if !slices.Contains(categories, k.Category) {
			t.Errorf("%s has unknown category %q", k.Code, k.Category)
		}
		for _, p := range placeholder.FindAllString(k.Fix, -1) {
			if !slices.Contains([]string{"{mailbox}", "{user}", "{folder}", "{rights}", "{object}", "{query}"}, p) {
				t.Errorf("%s fix has unknown placeholder %s", k.Code, p)
			}
		}
	}
	c := Catalogue()
	c[0].Code = "changed"
	if Catalogue()[0].Code == "changed" {
		t.Error("Catalogue shares its backing array")
	}
}

func TestFindingsCarryNumbers(t *testing.T) {
	in := cleanInventory()
	in.Items.OverTenant, in.Items.OverMax = 5, 2
	in.Items.Largest = []reports.ItemSummary{
		{Folder: "Inbox/Media", Subject: "Q3 video", SizeBytes: 210 << 20},
		{Folder: "Inbox", Subject: "scan", SizeBytes: 40 << 20},
	}
	in.Folders[2].ItemCount = 1_200_000
	_, fs := Assess(in, Limits{})
	want := map[string]string{
		CodeItemOver150MB:       "The mailbox has 2 items over 150 MB, which cannot be written to Exchange Online; the largest is 210 MB.",
		CodeItemOverTenantLimit: "The mailbox has 3 items over the 35.0 MB message size limit and under 150 MB; the largest is 40.0 MB.",
		CodeFolderItemsLimit:    "Folder Inbox/Projects holds 1200000 items, over the limit of 1000000 per folder.",
	}
	objects := map[string]string{
		CodeItemOver150MB:       "Inbox/Media: Q3 video",
		CodeItemOverTenantLimit: "Inbox: scan",
		CodeFolderItemsLimit:    "Inbox/Projects",
	}
	for _, f := range fs {
		if w, ok := want[f.Code]; ok {
			if f.Found != w || f.Object != objects[f.Code] {
				t.Errorf("%s: found %q object %q\nwant %q object %q", f.Code, f.Found, f.Object, w, objects[f.Code])
			}
			delete(want, f.Code)
		}
		if f.Severity != reports.SeverityInfo && !digits.MatchString(f.Found) {
			t.Errorf("%s found has no number: %q", f.Code, f.Found)
		}
	}
	if len(want) > 0 {
		t.Errorf("missing findings %v", want)
	}
	// A configured tenant limit moves the threshold in the sentence.
	in.Items.OverMax = 0
	in.Items.OverTenant = 1
	_, fs = Assess(in, Limits{TenantMessageBytes: 25 << 20})
	i := slices.IndexFunc(fs, func(f reports.Finding) bool { return f.Code == CodeItemOverTenantLimit })
	if i < 0 || !strings.Contains(fs[i].Found, "25.0 MB message size limit") {
		t.Errorf("configured limit not used: %+v", fs)
	}
}

func TestAssessmentFigures(t *testing.T) {
	in := cleanInventory()
	in.Items = ItemStats{} // items not listed: kinds come from folder classes
	in.Folders = append(in.Folders,
		mailbox.Folder{ID: "cal", ParentID: "root", Path: "Calendar", Class: mailbox.ClassCalendarFolder, ItemCount: 40, SizeBytes: 1 << 20},
		mailbox.Folder{ID: "con", ParentID: "root", Path: "Contacts", Class: "IPF.Contact.MOC.QuickContacts", ItemCount: 7},
		mailbox.Folder{ID: "not", ParentID: "root", Path: "Notes", Class: "IPF.StickyNote", ItemCount: 2},
		mailbox.Folder{ID: "deep", ParentID: "proj", Path: "Inbox/Projects/2024/Q1", Class: mailbox.ClassMailFolder, ItemCount: 3},
	)
	in.Folders[0].ChildCount = 5
	in.HasArchive = true
	in.ArchiveFolders = []mailbox.Folder{{Path: ""}, {Path: "Inbox", ItemCount: 900, SizeBytes: 3 << 30}, {Path: "Sent Items", ItemCount: 100, SizeBytes: 1 << 30}}
	in.RecoverableFolders = []mailbox.Folder{{Path: ""}, {Path: "Deletions", DisplayName: "Deletions", ItemCount: 10, SizeBytes: 2048},
		{Path: "DiscoveryHolds", DisplayName: "DiscoveryHolds", ItemCount: 5, SizeBytes: 1024}}
	in.LitigationHold = nil
	in.Rules = []mailbox.Rule{
		{Name: "ok", Conditions: mailbox.Predicates{SentToMe: true}, Actions: mailbox.Actions{MarkAsRead: true}},
		{Name: "bad", IsInError: true, Actions: mailbox.Actions{MarkAsRead: true}},
	}
	in.Delegates = []mailbox.Delegate{{User: "bob@contoso.com"}}
	in.Holds = []mailbox.Hold{{Name: "h", Status: "PartialHold"}, {Name: "failed", Status: "Failed"}, {Name: "gone", Status: "NotOnHold"}}

	a, fs := Assess(in, Limits{})
	if a.Folders != 7 || a.MaxDepth != 4 || a.MaxChildFolders != 5 || a.MaxFolderItems != 120 {
		t.Errorf("folders=%d depth=%d children=%d maxitems=%d", a.Folders, a.MaxDepth, a.MaxChildFolders, a.MaxFolderItems)
	}
	if a.Items != 252 || a.SizeBytes != 46<<20 {
		t.Errorf("items=%d size=%d", a.Items, a.SizeBytes)
	}
	wantKinds := map[mailbox.Kind]int64{mailbox.KindMail: 203, mailbox.KindCalendar: 40, mailbox.KindContacts: 7, mailbox.KindNotes: 2}
	if !maps_equal(a.ItemsByKind, wantKinds) {
		t.Errorf("ItemsByKind = %v, want %v", a.ItemsByKind, wantKinds)
	}
	if a.Archive == nil || *a.Archive != (reports.ArchiveStats{Folders: 2, Items: 1000, SizeBytes: 4 << 30}) {
		t.Errorf("Archive = %+v", a.Archive)
	}
	if a.RecoverableItems != 15 || a.RecoverableBytes != 3072 {
		t.Errorf("recoverable %d items %d bytes", a.RecoverableItems, a.RecoverableBytes)
	}
	if a.Rules != 2 || a.RulesMappable != 1 || a.Delegates != 1 || a.Holds != 2 {
		t.Errorf("rules=%d mappable=%d delegates=%d holds=%d", a.Rules, a.RulesMappable, a.Delegates, a.Holds)
	}
	if len(a.FolderStats) != 7 || a.FolderStats[0].Path != "Inbox" {
		t.Errorf("FolderStats = %+v", a.FolderStats)
	}
	if a.Readiness != reports.Blocked {
		t.Errorf("Readiness = %s, want blocked (In-Place hold)", a.Readiness)
	}
	// Most serious first.
	for i := 1; i < len(fs); i++ {
		if fs[i-1].Severity.Rank() > fs[i].Severity.Rank() {
			t.Fatalf("findings not ordered by severity: %q", codesOf(fs))
		}
	}
	i := slices.IndexFunc(fs, func(f reports.Finding) bool { return f.Code == CodeLitigationHoldUnknown })
	if i < 0 || !strings.Contains(fs[i].Found, "DiscoveryHolds folder holds 5 items") {
		t.Errorf("litigation hold finding does not give the DiscoveryHolds hint: %+v", fs)
	}
	if fs[i].Fix != "Get-Mailbox -Identity 'ann@contoso.com' | Format-List LitigationHoldEnabled,LitigationHoldDuration,InPlaceHolds" {
		t.Errorf("litigation fix = %q", fs[i].Fix)
	}
	for _, code := range []string{CodeContentNotCopied, CodeArchive, CodeRecoverableItems, CodeInPlaceHold, CodeRuleInError, CodeDelegate} {
		if !slices.Contains(codesOf(fs), code) {
			t.Errorf("missing %s in %q", code, codesOf(fs))
		}
	}
}

func maps_equal(a, b map[mailbox.Kind]int64) bool {
	for k, v := range a {
		if v != 0 && b[k] != v {
			return false
		}
	}
	for k, v := range b {
		if a[k] != v {
			return false
		}
	}
	return true
}

func TestFixCommands(t *testing.T) {
	in := cleanInventory()
	in.Address = "o'brien@contoso.com"
	in.Holds = []mailbox.Hold{{Name: "Case 7", Query: "subject:'merger'", Status: "OnHold"}, {ID: "h2"}}
	in.Delegates = []mailbox.Delegate{
		{User: "pa@contoso.com", Permissions: map[string]string{"Calendar": "Editor", "Inbox": "Reviewer", "Tasks": "None"}, ViewPrivateItems: true},
		{User: "viewer@contoso.com", Permissions: map[string]string{"Calendar": "Reviewer"}},
	}
	in.FolderPermissions = []FolderPermission{{Folder: `Inbox/A\/B`, User: "team@contoso.com", Level: "Author"}}
	in.MailboxPermissions = []MailboxPermission{
		{User: "x@contoso.com", Right: RightFullAccess},
		{User: "y@contoso.com", Right: RightSendAs},
		{User: "z@contoso.com", Right: RightSendOnBehalf},
	}
	in.Items.OverTenant = 1
	in.HasArchive = true
	_, fs := Assess(in, Limits{})
	var fixes []string
	for _, f := range fs {
		if f.Fix != "" {
			fixes = append(fixes, f.Fix)
		}
	}
	want := []string{
		"New-CaseHoldPolicy -Name 'Case 7' -Case '<eDiscovery case>' -ExchangeLocation 'o''brien@contoso.com'; New-CaseHoldRule -Name 'Case 7' -Policy 'Case 7' -ContentMatchQuery 'subject:''merger'''",
		"New-CaseHoldPolicy -Name 'h2' -Case '<eDiscovery case>' -ExchangeLocation 'o''brien@contoso.com'; New-CaseHoldRule -Name 'h2' -Policy 'h2'",
		"New-MoveRequest -Identity 'o''brien@contoso.com' -Remote -ArchiveOnly -RemoteHostName '<hybrid endpoint>' -TargetDeliveryDomain '<tenant>.mail.onmicrosoft.com' -RemoteCredential (Get-Credential)",
		"Add-MailboxFolderPermission -Identity 'o''brien@contoso.com:\\Calendar' -User 'pa@contoso.com' -AccessRights Editor -SharingPermissionFlags Delegate,CanViewPrivateItems",
		"Add-MailboxFolderPermission -Identity 'o''brien@contoso.com:\\Inbox' -User 'pa@contoso.com' -AccessRights 'Reviewer'",
		"Add-MailboxFolderPermission -Identity 'o''brien@contoso.com:\\Calendar' -User 'viewer@contoso.com' -AccessRights 'Reviewer'",
		"Add-MailboxFolderPermission -Identity 'o''brien@contoso.com:\\Inbox\\A/B' -User 'team@contoso.com' -AccessRights 'Author'",
		"Add-MailboxPermission -Identity 'o''brien@contoso.com' -User 'x@contoso.com' -AccessRights FullAccess -InheritanceType All",
		"Add-RecipientPermission -Identity 'o''brien@contoso.com' -Trustee 'y@contoso.com' -AccessRights SendAs -Confirm:$false",
		"Set-Mailbox -Identity 'o''brien@contoso.com' -GrantSendOnBehalfTo @{Add='z@contoso.com'}",
		"Set-Mailbox -Identity 'o''brien@contoso.com' -MaxReceiveSize 150MB -MaxSendSize 150MB",
	}
	for _, w := range want {
		if !slices.Contains(fixes, w) {
			t.Errorf("missing fix\n%s\nin\n%s", w, strings.Join(fixes, "\n"))
		}
	}
	if len(fixes) != len(want) {
		t.Errorf("got %d fixes, want %d:\n%s", len(fixes), len(want), strings.Join(fixes, "\n"))
	}
}

func TestUnreadableReasons(t *testing.T) {
	tests := []struct {
		err     error
		hint    string
		withFix bool
	}{
		{fmt.Errorf("FindFolder: %w", mailbox.ErrAccessDenied), "ApplicationImpersonation", true},
		{fmt.Errorf("resolve: %w", mailbox.ErrMailboxNotFound), "check the address", false},
		{fmt.Errorf("probe: %w", mailbox.ErrNotOnThisSide), "other side of the hybrid", false},
		{fmt.Errorf("ntlm: %w", mailbox.ErrAuthentication), "credentials", false},
		{fmt.Errorf("move: %w", mailbox.ErrMailboxBusy), "later", false},
		{errors.New("connection reset by peer"), "connection reset by peer", false},
	}
	for _, tc := range tests {
		in := cleanInventory()
		in.Err = tc.err
		a, fs := Assess(in, Limits{})
		if a.Readiness != reports.Unreadable || a.Error != tc.err.Error() {
			t.Errorf("%v: readiness %s error %q", tc.err, a.Readiness, a.Error)
		}
		if len(fs) != 1 || fs[0].Code != CodeMailboxUnreadable {
			t.Fatalf("%v: findings %+v", tc.err, fs)
		}
		if !strings.Contains(fs[0].Found, tc.err.Error()) || !strings.Contains(fs[0].Found, tc.hint) {
			t.Errorf("%v: found %q lacks the reason or %q", tc.err, fs[0].Found, tc.hint)
		}
		if (fs[0].Fix != "") != tc.withFix {
			t.Errorf("%v: fix %q", tc.err, fs[0].Fix)
		}
	}
	// In Exchange Online there is no impersonation role to grant.
	in := cleanInventory()
	in.Location = mailbox.LocationCloud
	in.Err = fmt.Errorf("GET /users/x/mailFolders: %w", mailbox.ErrAccessDenied)
	if _, fs := Assess(in, Limits{}); fs[0].Fix != "" || !strings.Contains(fs[0].Found, "Mail.ReadWrite application permission") {
		t.Errorf("cloud access denied: %+v", fs[0])
	}

	// A holds part that is denied points at the eDiscovery role group.
	in = cleanInventory()
	in.PartErrors = map[Section]error{
		SectionHolds: fmt.Errorf("GetDiscoverySearchConfiguration: %w", mailbox.ErrAccessDenied),
		SectionRules: errors.New("timeout"),
	}
	a, fs := Assess(in, Limits{})
	if len(fs) != 2 || fs[0].Object != "rules" || fs[1].Object != "holds" ||
		fs[1].Fix != fixDiscovery || fs[0].Fix != "" || a.Readiness != reports.Warnings {
		t.Errorf("part errors: %+v readiness %s", fs, a.Readiness)
	}
}

func TestDeriveReadiness(t *testing.T) {
	f := func(code string, sev reports.Severity) reports.Finding {
		return reports.Finding{Code: code, Severity: sev}
	}
	tests := []struct {
		name string
		fs   []reports.Finding
		want reports.Readiness
	}{
		{"none", nil, reports.Ready},
		{"info only", []reports.Finding{f(CodeLitigationHoldUnknown, reports.SeverityInfo)}, reports.Ready},
		{"warning", []reports.Finding{f(CodeRecoverableItems, reports.SeverityInfo), f(CodeArchive, reports.SeverityWarning)}, reports.Warnings},
		{"blocker after warning", []reports.Finding{f(CodeArchive, reports.SeverityWarning), f(CodeInPlaceHold, reports.SeverityBlocker)}, reports.Blocked},
		{"warning after blocker", []reports.Finding{f(CodeInPlaceHold, reports.SeverityBlocker), f(CodeArchive, reports.SeverityWarning)}, reports.Blocked},
		{"unreadable wins", []reports.Finding{f(CodeInPlaceHold, reports.SeverityBlocker), f(CodeMailboxUnreadable, reports.SeverityBlocker)}, reports.Unreadable},
	}
	for _, tc := range tests {
		if got := DeriveReadiness(tc.fs); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
	// Through Assess.
	for _, tc := range []struct {
		set  func(*MailboxInventory)
		want reports.Readiness
	}{
		{func(*MailboxInventory) {}, reports.Ready},
		{func(in *MailboxInventory) { in.LitigationHold = nil }, reports.Ready},
		{func(in *MailboxInventory) { in.ClientOnlyRules = true }, reports.Warnings},
		{func(in *MailboxInventory) { in.Items.OverMax = 1; in.Items.OverTenant = 1 }, reports.Blocked},
		{func(in *MailboxInventory) { in.Err = errors.New("boom") }, reports.Unreadable},
	} {
		in := cleanInventory()
		tc.set(&in)
		if a, _ := Assess(in, Limits{}); a.Readiness != tc.want {
			t.Errorf("readiness %s, want %s", a.Readiness, tc.want)
		}
	}
}

func TestRuleFindings(t *testing.T) {
	in := cleanInventory()
	in.Rules = []mailbox.Rule{{
		Name:       "mixed",
		Conditions: mailbox.Predicates{FromConnectedAccounts: []string{"x@gmail.com"}, SentToMe: true},
		Exceptions: mailbox.Predicates{MessageClassifications: []string{"Secret"}},
		Actions:    mailbox.Actions{ServerReplyWithMessage: "tmpl", CopyToFolder: "nowhere"},
	}, {
		ID:      "AQAA",
		Actions: mailbox.Actions{SendSMSAlertToRecipients: []string{"+1555"}},
	}}
	in.RuleFolders = FolderMapOf(map[string]string{"inbox": "tgt-inbox"})
	a, fs := Assess(in, Limits{})
	var got []string
	for _, f := range fs {
		got = append(got, f.Code+" "+f.Object)
	}
	want := []string{
		CodeRuleConditionUnmappable + " mixed",
		CodeRuleExceptionUnmappable + " mixed",
		CodeRuleFolderUnresolved + " mixed",
		CodeRuleActionUnmappable + " mixed",
		CodeRuleActionUnmappable + " AQAA", // the SMS action; "no action left" is not repeated
	}
	if !slices.Equal(got, want) {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
	if a.Rules != 2 || a.RulesMappable != 0 {
		t.Errorf("rules %d mappable %d", a.Rules, a.RulesMappable)
	}
	if !strings.Contains(fs[0].Found, "conditions.FromConnectedAccounts") || !strings.Contains(fs[0].Found, reasonFromConnectedAccounts) {
		t.Errorf("found %q does not name the part and reason", fs[0].Found)
	}
}

// publicFolderCases has, for every public folder code, a tree that triggers
// it and one that does not.
var publicFolderCases = []struct {
	code    string
	trigger []mailbox.Folder
	clear   []mailbox.Folder
}{
	{CodePublicFolders,
		[]mailbox.Folder{{Path: ""}, {Path: "Sales", ItemCount: 10, SizeBytes: 1 << 20}},
		[]mailbox.Folder{{Path: ""}}},
	{CodePublicFolderCalendars,
		[]mailbox.Folder{{Path: ""}, {Path: "Sales"}, {Path: "Sales/Holidays", Class: mailbox.ClassCalendarFolder}},
		[]mailbox.Folder{{Path: ""}, {Path: "Sales"}, {Path: "Sales/Contacts", Class: mailbox.ClassContactsFolder}}},
	{CodePublicFolderHierarchyLimit, manyFolders(PublicFolderHierarchyMax + 1), manyFolders(PublicFolderHierarchyMax)},
}

func manyFolders(n int) []mailbox.Folder {
	fs := make([]mailbox.Folder, n+1)
	for i := 1; i <= n; i++ {
		fs[i] = mailbox.Folder{Path: "F" + fmt.Sprint(i)}
	}
	return fs
}

func TestAssessPublicFolders(t *testing.T) {
	for _, tc := range publicFolderCases {
		t.Run(tc.code, func(t *testing.T) {
			_, fs := AssessPublicFolders(tc.trigger, Limits{})
			i := slices.IndexFunc(fs, func(f reports.Finding) bool { return f.Code == tc.code })
			if i < 0 {
				t.Fatalf("no %s in %q", tc.code, codesOf(fs))
			}
			k, _ := KindByCode(tc.code)
			if f := fs[i]; f.Mailbox != "" || f.Severity != k.Severity || f.Category != reports.CategoryPublicFolders || !digits.MatchString(f.Found) {
				t.Errorf("finding %+v", f)
			}
			_, fs = AssessPublicFolders(tc.clear, Limits{})
			if slices.Contains(codesOf(fs), tc.code) {
				t.Fatalf("non-triggering tree produced %s", tc.code)
			}
		})
	}

	tree := []mailbox.Folder{
		{Path: "", ChildCount: 2},
		{Path: "Sales", ItemCount: 100, SizeBytes: 5 << 20, ChildCount: 10_001},
		{Path: "Sales/EMEA", ItemCount: 1_000_001, SizeBytes: 1 << 30, Class: "IPF.Note"},
		{Path: "Sales/EMEA/Cal", Class: "IPF.Appointment", ItemCount: 3},
		{Path: "HR", ItemCount: 0},
	}
	st, fs := AssessPublicFolders(tree, Limits{})
	if st.Folders != 4 || st.Items != 1_000_104 || st.SizeBytes != 1<<30+5<<20 || st.MaxDepth != 3 {
		t.Errorf("stats = %+v", st)
	}
	// Per folder, largest first; an empty folder is left out.
	var largest []string
	for _, f := range st.Largest {
		largest = append(largest, fmt.Sprintf("%s %d %d", f.Path, f.Items, f.SizeBytes))
	}
	if want := []string{"Sales/EMEA 1000001 1073741824", "Sales 100 5242880", "Sales/EMEA/Cal 3 0"}; !slices.Equal(largest, want) {
		t.Errorf("largest folders %q, want %q", largest, want)
	}
	want := []string{
		CodeFolderChildrenLimit + " Public Folders/Sales",
		CodeFolderItemsLimit + " Public Folders/Sales/EMEA",
		CodePublicFolders + " Public Folders",
		CodePublicFolderCalendars + " Sales/EMEA/Cal",
	}
	var got []string
	for _, f := range fs {
		got = append(got, f.Code+" "+f.Object)
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
	if st, fs := AssessPublicFolders(nil, Limits{}); st.Folders != 0 || st.Largest != nil || fs != nil {
		t.Errorf("empty tree: %+v %+v", st, fs)
	}
}

// The assessment of a realistic mailbox, as the assess command writes it:
// the golden file documents the shape for the reports.
func TestAssessGolden(t *testing.T) {
	tally := NewItemTally(Limits{}, 3)
	for i, it := range []mailbox.Item{
		{Subject: "Quarterly deck", Class: "IPM.Note", SizeBytes: 48 << 20},
		{Subject: "Site survey video", Class: "IPM.Note", SizeBytes: 162 << 20},
		{Subject: "Weekly sync", Class: "IPM.Appointment", SizeBytes: 20 << 10},
		{Subject: "Re: budget", Class: "IPM.Note", SizeBytes: 80 << 10},
		{Subject: "Call back", Class: "IPM.Task", SizeBytes: 4 << 10},
	} {
		folder := []string{"Inbox", "Inbox/Projects", "Calendar", "Inbox", "Tasks"}[i]
		tally.Add(folder, it)
	}
	in := cleanInventory()
	in.Batch = "wave-1"
	in.Items = tally.Stats()
	in.Folders = []mailbox.Folder{ // consistent with the items above
		{ID: "root", ChildCount: 3},
		{ID: "inbox", ParentID: "root", Path: "Inbox", Class: mailbox.ClassMailFolder, ItemCount: 2, ChildCount: 1, SizeBytes: 48<<20 + 80<<10},
		{ID: "proj", ParentID: "inbox", Path: "Inbox/Projects", Class: mailbox.ClassMailFolder, ItemCount: 1, SizeBytes: 162 << 20},
		{ID: "cal", ParentID: "root", Path: "Calendar", Class: mailbox.ClassCalendarFolder, ItemCount: 1, SizeBytes: 20 << 10},
		{ID: "tasks", ParentID: "root", Path: "Tasks", Class: mailbox.ClassTasksFolder, ItemCount: 1, SizeBytes: 4 << 10},
	}
	in.LitigationHold = nil
	in.HasArchive = true
	in.ArchiveFolders = []mailbox.Folder{{Path: ""}, {Path: "Inbox", ItemCount: 5000, SizeBytes: 3 << 30}}
	in.Rules = []mailbox.Rule{
		{Name: "From boss", Priority: 1, Enabled: true, Conditions: mailbox.Predicates{FromAddresses: []string{"boss@contoso.com"}}, Actions: mailbox.Actions{MarkImportance: "High"}},
		{Name: "Old newsletters", Priority: 2, Enabled: true, Conditions: mailbox.Predicates{ContainsSubjectStrings: []string{"newsletter"}, WithinDateRange: &mailbox.DateRange{EndDateTime: "2023-01-01T00:00:00Z"}}, Actions: mailbox.Actions{MoveToFolder: "proj"}},
	}
	in.Delegates = []mailbox.Delegate{{User: "pa@contoso.com", Permissions: map[string]string{"Calendar": "Editor", "Inbox": "Reviewer"}, ReceiveCopiesOfMeetings: true}}

	a, fs := Assess(in, Limits{})
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // the fixes hold <placeholders> for the administrator
	if err := enc.Encode(struct {
		Mailbox  reports.MailboxAssessment `json:"mailbox"`
		Findings []reports.Finding         `json:"findings"`
	}{a, fs}); err != nil {
		t.Fatal(err)
	}
	golden(t, "assessment.golden.json", out.Bytes())
}

func TestPublicFoldersUnreadable(t *testing.T) {
	f := PublicFoldersUnreadable(fmt.Errorf("FindFolder publicfoldersroot: %w", mailbox.ErrAccessDenied))
	if f.Code != CodePublicFolderUnreadable || f.Severity != reports.SeverityWarning || f.Category != reports.CategoryPublicFolders ||
		!strings.Contains(f.Found, "FindFolder publicfoldersroot: access denied") || f.Fix != fixImpersonation || f.Remedy == "" {
		t.Fatalf("finding %+v", f)
	}
	if f := PublicFoldersUnreadable(errors.New("X-PublicFolderMailbox not configured")); f.Fix != "" || !strings.Contains(f.Found, "not configured") {
		t.Fatalf("finding %+v", f)
	}
	// A readable tree never yields it.
	for _, tc := range publicFolderCases {
		if _, fs := AssessPublicFolders(tc.trigger, Limits{}); slices.Contains(codesOf(fs), CodePublicFolderUnreadable) {
			t.Fatal("a readable tree produced EXM-PF-UNREADABLE")
		}
	}
}

// Counts without the items themselves still name an object.
func TestItemFindingsWithoutSamples(t *testing.T) {
	in := cleanInventory()
	in.Items.Largest = []reports.ItemSummary{{Folder: "Inbox", Subject: "huge", SizeBytes: 200 << 20}}
	in.Items.OverTenant, in.Items.OverMax = 4, 1
	in.HasArchive = true
	in.ArchiveItems = ItemStats{OverTenant: 1, OverMax: 1}
	_, fs := Assess(in, Limits{})
	var got []string
	for _, f := range fs {
		if f.Code == CodeItemOverTenantLimit || f.Code == CodeItemOver150MB {
			got = append(got, f.Code+" "+f.Object)
		}
	}
	want := []string{
		CodeItemOver150MB + " Inbox: huge",
		CodeItemOver150MB + " Archive/items over 150 MB",
		CodeItemOverTenantLimit + " items over 35.0 MB",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
}

func TestFolderKindAndCalendarPermission(t *testing.T) {
	for class, want := range map[string]mailbox.Kind{
		"": mailbox.KindMail, "IPF.Note.OutlookHomepage": mailbox.KindMail, "IPF.Appointment": mailbox.KindCalendar,
		"ipf.contact": mailbox.KindContacts, "IPF.Task": mailbox.KindTasks, "IPF.StickyNote": mailbox.KindNotes,
		"IPF.Journal": mailbox.KindOther, "IPF.Notebook": mailbox.KindOther,
	} {
		if got := folderKind(class); got != want {
			t.Errorf("folderKind(%q) = %s, want %s", class, got, want)
		}
	}
	in := cleanInventory()
	in.FolderPermissions = []FolderPermission{{Folder: "Calendar", User: "team@contoso.com", Level: "Reviewer"}}
	_, fs := Assess(in, Limits{})
	if len(fs) != 1 || !strings.Contains(fs[0].Found, "calendarPermission") ||
		fs[0].Fix != "Add-MailboxFolderPermission -Identity 'ann@contoso.com:\\Calendar' -User 'team@contoso.com' -AccessRights 'Reviewer'" {
		t.Fatalf("calendar permission: %+v", fs)
	}
}

func TestDelegateWithoutCalendar(t *testing.T) {
	in := cleanInventory()
	in.Delegates = []mailbox.Delegate{{User: "asst@contoso.com", Permissions: map[string]string{"Calendar": "None", "Inbox": "Editor"}}}
	_, fs := Assess(in, Limits{})
	if len(fs) != 2 || fs[0].Code != CodeDelegate || fs[0].Fix != "" || fs[1].Code != CodeFolderPermission ||
		fs[1].Fix != "Add-MailboxFolderPermission -Identity 'ann@contoso.com:\\Inbox' -User 'asst@contoso.com' -AccessRights 'Editor'" {
		t.Fatalf("%+v", fs)
	}
	if strings.Contains(fs[0].Found, "Calendar") {
		t.Errorf("a None level is reported: %q", fs[0].Found)
	}
}

// TestContentFindingsFromDeclarations: with the sides' declarations, a
// kind the route carries raises no finding, and one it does not is named
// with the planner's reason; without them (the target unknown), only notes
// and other items, which Exchange Online cannot take, are named.
func TestContentFindingsFromDeclarations(t *testing.T) {
	byKind := map[mailbox.Kind]int64{mailbox.KindMail: 40, mailbox.KindCalendar: 6, mailbox.KindContacts: 4, mailbox.KindNotes: 3}
	tests := []struct {
		name       string
		notCarried map[mailbox.Kind]string
		want       map[string]string // object -> part of the sentence
	}{
		{"unknown target", nil, map[string]string{"notes": "3 notes; Exchange Online (Graph) has no API for them"}},
		{"contacts carried", map[mailbox.Kind]string{mailbox.KindCalendar: "writing would send invitations (EXM-WRITE-WOULD-SEND)"},
			map[string]string{"calendar": "6 calendar items; writing would send invitations (EXM-WRITE-WOULD-SEND)."}},
		{"everything carried", map[mailbox.Kind]string{}, map[string]string{}},
		{"mail not carried", map[mailbox.Kind]string{mailbox.KindMail: "no store", mailbox.KindCalendar: "no", mailbox.KindContacts: "no", mailbox.KindNotes: "no"},
			map[string]string{"mail": "40 mail items; no store.", "calendar": "no.", "contacts": "no.", "notes": "no."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := contentFindings("a@contoso.com", byKind, tt.notCarried)
			if len(got) != len(tt.want) {
				t.Fatalf("%d findings, want %d: %+v", len(got), len(tt.want), got)
			}
			for _, f := range got {
				if f.Code != CodeContentNotCopied || !strings.Contains(f.Found, tt.want[f.Object]) || tt.want[f.Object] == "" {
					t.Errorf("finding %s on %q: %q, want it to contain %q", f.Code, f.Object, f.Found, tt.want[f.Object])
				}
			}
		})
	}
}

// TestArchiveRootItemsCounted: items directly in the archive root count
// (an archive of 10 items in its root was reported as 0 items in 0
// folders against a real-shaped server).
func TestArchiveRootItemsCounted(t *testing.T) {
	for name, tc := range map[string]struct {
		folders []mailbox.Folder
		listed  int64
	}{
		"counts from the folders": {[]mailbox.Folder{{Path: "", ItemCount: 10, SizeBytes: 2458}}, 0},
		"counts from the listing": {[]mailbox.Folder{{Path: ""}}, 10},
	} {
		in := cleanInventory()
		in.HasArchive = true
		in.ArchiveFolders = tc.folders
		in.ArchiveItems = ItemStats{Items: tc.listed, SizeBytes: 2458}
		a, fs := Assess(in, Limits{})
		if a.Archive == nil || a.Archive.Items != 10 || a.Archive.Folders != 0 || a.Archive.SizeBytes != 2458 {
			t.Errorf("%s: archive %+v, want 10 items, 0 folders, 2458 bytes", name, a.Archive)
		}
		for _, f := range fs {
			if f.Code == CodeArchive && !strings.Contains(f.Found, "10 items") {
				t.Errorf("%s: %q", name, f.Found)
			}
		}
	}
}
