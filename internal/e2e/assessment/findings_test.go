package assessment_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/ews/ewstest"
	"github.com/exmigrate/exmigrate/graphmail/graphtest"
	"github.com/exmigrate/exmigrate/internal/backend"
	"github.com/exmigrate/exmigrate/internal/csvinput"
	"github.com/exmigrate/exmigrate/internal/lab"
	"github.com/exmigrate/exmigrate/mailbox"
	"github.com/exmigrate/exmigrate/mapping"
	"github.com/exmigrate/exmigrate/reports"
)

// Addresses of the findings lab. Each mailbox carries one kind of problem;
// plain@ carries none and is the negative case of most codes.
const (
	plainAddr    = "plain@" + domain
	ghostAddr    = "ghost@" + domain    // on neither side
	missingAddr  = "missing@" + domain  // listed as on-prem, not there
	delegAddr    = "deleg@" + domain    // delegate with Calendar and Inbox access
	delegCalAddr = "delegcal@" + domain // delegate with Calendar access only
	holdAddr     = "hold@" + domain
	archAddr     = "arch@" + domain
	bigAddr      = "big@" + domain
	quotaAddr    = "quota@" + domain
	calAddr      = "cal@" + domain
	deepAddr     = "deep@" + domain
	wideAddr     = "wide@" + domain
	fullAddr     = "full@" + domain
	rulesAddr    = "rules@" + domain
	rulesOKAddr  = "rulesok@" + domain
	partAddr     = "partfail@" + domain
	movingAddr   = "moving@" + domain // a move request holds it
	dualAddr     = "dual@" + domain   // a mailbox on both sides: the list must say which
	cloudGone    = "cloudgone@" + domain
	sharedAddr   = "shared@" + domain // folders shared through their permission sets, no delegate
	cloudAddr    = "cloudy@" + domain
)

// Lowered limits. The code path is the one the Exchange Online limits take
// (mapping.Limits is what `exmigrate assess` passes the Assessor); only the
// numbers are smaller, so that a folder over "1,000,000 items" or a mailbox
// over "100 GB" does not need that much data in the fake. Folder depth (300)
// and sub-folder count (10,000) are tested at their real values.
var testLimits = mapping.Limits{FolderItems: 50, MailboxBytes: 5 << 20}

const deepLevels = 301 // one over Exchange Online's folder depth limit

func deepPath() string {
	segs := make([]string, deepLevels)
	for i := range segs {
		segs[i] = fmt.Sprintf("L%d", i+1)
	}
	return strings.Join(segs, "/")
}

// seedFindingsLab fills the fakes with one mailbox per kind of finding.
func seedFindingsLab(t *testing.T, e *env) {
	t.Helper()
	s := e.lab.EWS
	addMail(s.AddMailbox(plainAddr).Folder("Inbox"), 5)

	d := s.AddMailbox(delegAddr)
	addMail(d.Folder("Inbox"), 3)
	d.SetDelegates([]mailbox.Delegate{{User: "bob@" + domain, Permissions: map[string]string{"Calendar": "Editor", "Inbox": "Reviewer"},
		ViewPrivateItems: true}}, "DelegatesAndSendInformationToMe")
	// Exchange keeps a delegate's rights in the folders' permission sets
	// too, where the EWS reader finds them a second time.
	d.Folder("Inbox").SetPermissions([]ewstest.Permission{{User: "bob@" + domain, Level: "Reviewer"}})
	d.Root("calendar").SetPermissions([]ewstest.Permission{{User: ewstest.DefaultUser, Level: "FreeBusyTimeOnly"},
		{User: "bob@" + domain, Level: "Editor"}})
	sh := s.AddMailbox(sharedAddr)
	addMail(sh.Folder("Projects"), 2)
	sh.Folder("Projects").SetPermissions([]ewstest.Permission{{User: ewstest.DefaultUser, Level: "Reviewer"}})
	sh.Folder("Projects/Budget").SetPermissions([]ewstest.Permission{{User: "dave@" + domain, Level: "Editor"},
		{User: ewstest.AnonymousUser, Level: "None"}})
	dc := s.AddMailbox(delegCalAddr)
	addMail(dc.Folder("Inbox"), 3)
	dc.SetDelegates([]mailbox.Delegate{{User: "carol@" + domain, Permissions: map[string]string{"Calendar": "Reviewer"}}},
		"DelegatesAndSendInformationToMe")

	h := s.AddMailbox(holdAddr)
	addMail(h.Folder("Inbox"), 3)
	addMail(h.RecoverableFolder("DiscoveryHolds"), 2) // what a hold keeps: a hint for litigation hold
	s.AddHold(mailbox.Hold{ID: "hold-1", Name: "Investigation 7", Query: `subject:"Phoenix"`, Status: "Active"}, holdAddr)

	a := s.AddMailbox(archAddr)
	addMail(a.Folder("Inbox"), 3)
	addMail(a.ArchiveFolder("Inbox"), 7)
	addMail(a.RecoverableFolder("Deletions"), 4)

	b := s.AddMailbox(bigAddr)
	addMail(b.Folder("Inbox"), 3)
	b.Folder("Scans").AddItem(bigItem("Scan 40MB", 40<<20))
	b.Folder("Scans").AddItem(bigItem("Scan 160MB", 160<<20))

	q := s.AddMailbox(quotaAddr)
	q.Folder("Inbox").AddItem(bigItem("Video 6MB", 6<<20))

	c := s.AddMailbox(calAddr)
	addMail(c.Folder("Inbox"), 2)
	for i := range 4 {
		c.Folder("Calendar").AddItem(ewstest.Item{Class: mailbox.ClassAppointment, Subject: fmt.Sprintf("Meeting %d", i+1),
			MIME: fmt.Appendf(nil, "Subject: Meeting %d\r\nMIME-Version: 1.0\r\nContent-Type: text/calendar\r\n\r\nBEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", i+1)})
	}
	// Sticky notes: Graph has no API for them, so the copy leaves them.
	notes := c.Folder("Notes")
	notes.SetClass("IPF.StickyNote")
	for i := range 2 {
		notes.AddItem(ewstest.Item{Class: mailbox.ClassStickyNote, Subject: fmt.Sprintf("Note %d", i+1),
			MIME: fmt.Appendf(nil, "Subject: Note %d\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nRemember %d\r\n", i+1, i+1)})
	}

	addMail(s.AddMailbox(deepAddr).Folder(deepPath()), 1)

	w := s.AddMailbox(wideAddr)
	for i := range mapping.DefaultFolderChildren + 1 {
		w.Folder(fmt.Sprintf("Inbox/Wide/F%05d", i))
	}

	addMail(s.AddMailbox(fullAddr).Folder("Inbox"), int(testLimits.FolderItems)+1)

	r := s.AddMailbox(rulesAddr)
	r.SetClientOnlyRules(true) // Outlook keeps rules there that no API reads
	addMail(r.Folder("Inbox"), 2)
	projects := r.Folder("Inbox/Projects").ID()
	archived := r.ArchiveFolder("Old").ID() // exists, but not in the primary tree the copy creates
	r.SetRules([]mailbox.Rule{
		{ID: "r1", Name: "Boss to Projects", Priority: 1, Enabled: true,
			Conditions: mailbox.Predicates{FromAddresses: []string{"ceo@" + domain}}, Actions: mailbox.Actions{MoveToFolder: projects}},
		{ID: "r2", Name: "Meeting requests", Priority: 2, Enabled: true,
			Conditions: mailbox.Predicates{ItemClasses: []string{"IPM.Schedule.Meeting.Request"}}, Actions: mailbox.Actions{MarkAsRead: true}},
		{ID: "r3", Name: "Except connected", Priority: 3, Enabled: true,
			Conditions: mailbox.Predicates{ContainsSubjectStrings: []string{"report"}},
			Exceptions: mailbox.Predicates{FromConnectedAccounts: []string{"me@gmail.com"}}, Actions: mailbox.Actions{MarkAsRead: true}},
		{ID: "r4", Name: "Text me", Priority: 4, Enabled: true,
			Conditions: mailbox.Predicates{ContainsSubjectStrings: []string{"outage"}}, Actions: mailbox.Actions{SendSMSAlertToRecipients: []string{"+15550100"}}},
		{ID: "r5", Name: "To the archive", Priority: 5, Enabled: true,
			Conditions: mailbox.Predicates{ContainsSubjectStrings: []string{"old"}}, Actions: mailbox.Actions{MoveToFolder: archived}},
		{ID: "r6", Name: "Client made", Priority: 6, Enabled: true, IsNotSupported: true,
			Conditions: mailbox.Predicates{ContainsSubjectStrings: []string{"x"}}, Actions: mailbox.Actions{MarkAsRead: true}},
		{ID: "r7", Name: "Broken", Priority: 7, Enabled: true, IsInError: true,
			Conditions: mailbox.Predicates{ContainsSubjectStrings: []string{"y"}}, Actions: mailbox.Actions{Delete: true}},
	})
	ok := s.AddMailbox(rulesOKAddr)
	addMail(ok.Folder("Inbox"), 2)
	ok.SetRules([]mailbox.Rule{{ID: "ok1", Name: "Newsletters", Priority: 1, Enabled: true,
		Conditions: mailbox.Predicates{ContainsSubjectStrings: []string{"newsletter"}},
		Actions:    mailbox.Actions{MarkAsRead: true, AssignCategories: []string{"News"}, MoveToFolder: ok.Folder("Inbox/News").ID()}}})

	addMail(s.AddMailbox(partAddr).Folder("Inbox"), 2)
	mv := s.AddMailbox(movingAddr)
	addMail(mv.Folder("Inbox"), 2)
	mv.SetMoveInProgress(true)
	addMail(s.AddMailbox(dualAddr).Folder("Inbox"), 1)
	addCloudMail(e.lab.Graph.AddMailbox(dualAddr, mailbox.TypeUser), "Inbox", 1)

	// A cloud mailbox: read through Graph, its rules too.
	fx := e.lab.Graph.AddMailbox(cloudAddr, mailbox.TypeUser)
	addCloudMail(fx, "Inbox", 12)
	addCloudMail(fx, "Inbox/Team", 3)
	// A 40 MB message (a 30 MB attachment, base64) over the tenant limit.
	fx.AddMessage("Inbox", graphtest.Message{Subject: "Cloud video", BodyType: "text", Body: "See attached.", From: "sender@fabrikam.com",
		To: []string{cloudAddr}, Importance: "normal", FlagStatus: "notFlagged", InternetMessageID: "<cloud-video@assessment.test>",
		Received: time.Date(2024, 3, 4, 9, 0, 0, 0, time.UTC), Sent: time.Date(2024, 3, 4, 8, 59, 0, 0, time.UTC), IsRead: true,
		Attachments: []graphtest.Attachment{{Name: "video.mp4", ContentType: "video/mp4", Size: 30 << 20}}})
	fx.AddRule(graphtest.Rule{"displayName": "Cloud newsletters", "sequence": 1, "isEnabled": true, "hasError": false,
		"conditions": map[string]any{"subjectContains": []any{"newsletter"}}, "actions": map[string]any{"markAsRead": true}})
	fx.AddRule(graphtest.Rule{"displayName": "Cloud broken", "sequence": 2, "isEnabled": true, "hasError": true,
		"conditions": map[string]any{"subjectContains": []any{"zzz"}}, "actions": map[string]any{"delete": true}})
}

// assessments are the runs the table refers to.
type assessments map[string]*reports.Assessment

// findingCase is one finding code: a mailbox (in a named run) that triggers
// it and one that does not. Mailbox "" is the organisation (public folders).
type findingCase struct {
	code           string
	severity       reports.Severity
	run, mailbox   string
	object         string
	negRun, negMbx string
	elsewhere      string // the test that covers the code, when it needs a lab of its own
}

func TestFindings(t *testing.T) {
	e := startEnv(t, emptyScenario(
		lab.PublicFolderSpec{Path: "Company/HR", Items: 4},
		lab.PublicFolderSpec{Path: "Calendars/Holidays", Items: 2, Class: "IPF.Appointment"},
		lab.PublicFolderSpec{Path: "Deep/" + deepPath(), Items: 1},
	))
	seedFindingsLab(t, e)
	ctx := context.Background()

	// What only Exchange PowerShell shows comes from its exports, as with
	// `exmigrate assess --mailbox-export --permissions-export`.
	e.exports = &mapping.Exports{}
	if err := e.exports.ReadMailboxExport(strings.NewReader("PrimarySmtpAddress,LitigationHoldEnabled\n"+
		bigAddr+",True\n"+archAddr+",False\n"), "mailbox-export.csv"); err != nil {
		t.Fatal(err)
	}
	if err := e.exports.ReadPermissionExport(strings.NewReader("Mailbox,User,AccessRights\n"+
		delegAddr+",CONTOSO\\assistant,FullAccess\n"), "permissions-export.csv"); err != nil {
		t.Fatal(err)
	}
	runs := assessments{}
	list := entries(plainAddr, ghostAddr, delegAddr, delegCalAddr, holdAddr, archAddr, bigAddr, quotaAddr, calAddr,
		deepAddr, wideAddr, fullAddr, rulesAddr, rulesOKAddr, cloudAddr, movingAddr, sharedAddr)
	list = append(list, entry(dualAddr),
		csvinput.Entry{Address: missingAddr, Target: missingAddr, Location: mailbox.LocationOnPrem},
		csvinput.Entry{Address: cloudGone, Target: cloudGone, Location: mailbox.LocationCloud})
	runs["main"] = e.assess(t, list, testLimits, true)

	// Parts that fail: GetDelegate and FindItem answer ErrorAccessDenied
	// for this mailbox only (it is assessed alone, so the one-shot faults
	// hit it).
	e.lab.EWS.Inject(ewstest.Fault{Op: "GetDelegate", Kind: ewstest.FaultCode, Code: "ErrorAccessDenied"})
	e.lab.EWS.Inject(ewstest.Fault{Op: "FindItem", Kind: ewstest.FaultCode, Code: "ErrorAccessDenied"})
	runs["part"] = e.assess(t, entries(partAddr), testLimits, false)
	if n := e.lab.EWS.Requests("GetDelegate"); n == 0 {
		t.Fatal("no GetDelegate request was made")
	}

	// Another organisation: public folders without calendars or deep
	// folders, and a second one whose tree cannot be read.
	e2 := startEnv(t, emptyScenario(lab.PublicFolderSpec{Path: "Company/HR", Items: 3}))
	addMail(e2.lab.EWS.AddMailbox(plainAddr).Folder("Inbox"), 2)
	runs["pf-plain"] = e2.assess(t, entries(plainAddr), testLimits, true)
	// The first GetFolder of the run is the public folder root: refuse it.
	e2.lab.EWS.Inject(ewstest.Fault{Op: "GetFolder", Kind: ewstest.FaultCode, Code: "ErrorAccessDenied"})
	runs["pf-denied"] = e2.assess(t, nil, testLimits, true)

	// An organisation with a public folder mailbox configured and no
	// public folder: the lab writes no public_folder_mailbox then, so the
	// config is given one and the clients are connected again from it.
	e3 := startEnv(t, emptyScenario())
	addMail(e3.lab.EWS.AddMailbox(plainAddr).Folder("Inbox"), 1)
	e3.cfg.OnPrem.PublicFolderMailbox = "pf-hierarchy@" + domain
	var err error
	if e3.sides, err = backend.Connect(ctx, e3.cfg, e3.log); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e3.sides.Close)
	e3.disp = e3.sides.Dispatcher(e3.log)
	runs["pf-empty"] = e3.assess(t, entries(plainAddr), testLimits, true)
	if pf := runs["pf-empty"].PublicFolders; pf == nil || pf.Folders != 0 {
		t.Fatalf("empty public folder tree: %+v, want read with no folder", pf)
	}

	cases := []findingCase{
		{code: mapping.CodeMailboxUnreadable, severity: reports.SeverityBlocker, run: "main", mailbox: ghostAddr, object: ghostAddr, negRun: "main", negMbx: plainAddr},
		{code: mapping.CodePartUnreadable, severity: reports.SeverityWarning, run: "part", mailbox: partAddr, object: string(mapping.SectionDelegates), negRun: "main", negMbx: plainAddr},
		{code: mapping.CodePublicFolders, severity: reports.SeverityWarning, run: "main", object: "Public Folders", negRun: "pf-empty"},
		{code: mapping.CodePublicFolderCalendars, severity: reports.SeverityWarning, run: "main", object: "Calendars/Holidays", negRun: "pf-plain"},
		{code: mapping.CodePublicFolderHierarchyLimit, elsewhere: "TestPublicFolderHierarchyLimit (250,001 folders read over EWS: the blocker; 250,000: none)"},
		{code: mapping.CodePublicFolderUnreadable, severity: reports.SeverityWarning, run: "pf-denied", object: "Public Folders", negRun: "pf-plain"},
		{code: mapping.CodeInPlaceHold, severity: reports.SeverityBlocker, run: "main", mailbox: holdAddr, object: "Investigation 7", negRun: "main", negMbx: plainAddr},
		{code: mapping.CodeLitigationHold, severity: reports.SeverityBlocker, run: "main", mailbox: bigAddr, object: "litigation hold", negRun: "main", negMbx: archAddr},
		// Every readable mailbox gets it (litigation hold is never known), so
		// the only mailbox without it is one that could not be read.
		{code: mapping.CodeLitigationHoldUnknown, severity: reports.SeverityInfo, run: "main", mailbox: plainAddr, object: "litigation hold", negRun: "main", negMbx: archAddr},
		{code: mapping.CodeArchive, severity: reports.SeverityWarning, run: "main", mailbox: archAddr, object: "online archive", negRun: "main", negMbx: plainAddr},
		{code: mapping.CodeRecoverableItems, severity: reports.SeverityInfo, run: "main", mailbox: archAddr, object: "Recoverable Items", negRun: "main", negMbx: plainAddr},
		{code: mapping.CodeDelegate, severity: reports.SeverityWarning, run: "main", mailbox: delegAddr, object: "bob@" + domain, negRun: "main", negMbx: plainAddr},
		{code: mapping.CodeFolderPermission, severity: reports.SeverityWarning, run: "main", mailbox: delegAddr, object: "Inbox (bob@" + domain + ")", negRun: "main", negMbx: delegCalAddr},
		{code: mapping.CodeMailboxPermission, severity: reports.SeverityWarning, run: "main", mailbox: delegAddr, object: "CONTOSO\\assistant (FullAccess)", negRun: "main", negMbx: plainAddr},
		{code: mapping.CodeItemOverTenantLimit, severity: reports.SeverityWarning, run: "main", mailbox: bigAddr, object: "Scans: Scan 40MB", negRun: "main", negMbx: quotaAddr},
		{code: mapping.CodeItemOver150MB, severity: reports.SeverityBlocker, run: "main", mailbox: bigAddr, object: "Scans: Scan 160MB", negRun: "main", negMbx: quotaAddr},
		{code: mapping.CodeFolderItemsLimit, severity: reports.SeverityBlocker, run: "main", mailbox: fullAddr, object: "Inbox", negRun: "main", negMbx: plainAddr},
		{code: mapping.CodeFolderDepthLimit, severity: reports.SeverityBlocker, run: "main", mailbox: deepAddr, object: deepPath(), negRun: "main", negMbx: plainAddr},
		{code: mapping.CodeFolderChildrenLimit, severity: reports.SeverityBlocker, run: "main", mailbox: wideAddr, object: "Inbox/Wide", negRun: "main", negMbx: plainAddr},
		{code: mapping.CodeMailboxOverQuota, severity: reports.SeverityWarning, run: "main", mailbox: quotaAddr, object: "primary mailbox", negRun: "main", negMbx: plainAddr},
		{code: mapping.CodeContentNotCopied, severity: reports.SeverityWarning, run: "main", mailbox: calAddr, object: string(mailbox.KindNotes), negRun: "main", negMbx: plainAddr},
		{code: mapping.CodeContentCarriedWithLoss, severity: reports.SeverityInfo, run: "main", mailbox: calAddr, object: string(mailbox.KindCalendar), negRun: "main", negMbx: plainAddr},
		// What a copy carried with a loss comes from its results, not the
		// assessment.
		{code: mapping.CodeMeetingAsAppointment, elsewhere: "cmd/exmigrate TestDemo (the demo's report) and mapping TestCopyLossFindings"},
		{code: mapping.CodeTaskFieldsLost, elsewhere: "cmd/exmigrate TestDemo (the demo's report) and mapping TestEveryLossCodeBecomesItsFinding"},
		{code: mapping.CodeResponsesInBody, elsewhere: "mapping TestEveryLossCodeBecomesItsFinding; the loss itself: internal/e2e TestEveryKindEveryDirection"},
		{code: mapping.CodeAttachmentLeftOut, elsewhere: "mapping TestEveryLossCodeBecomesItsFinding"},
		{code: mapping.CodeZoneUnknown, elsewhere: "mapping TestEveryLossCodeBecomesItsFinding"},
		{code: mapping.CodeOccurrenceDetails, elsewhere: "mapping TestEveryLossCodeBecomesItsFinding"},
		{code: mapping.CodeContactPhotoLost, elsewhere: "mapping TestEveryLossCodeBecomesItsFinding"},
		{code: mapping.CodeRuleConditionUnmappable, severity: reports.SeverityWarning, run: "main", mailbox: rulesAddr, object: "Meeting requests", negRun: "main", negMbx: rulesOKAddr},
		{code: mapping.CodeRuleExceptionUnmappable, severity: reports.SeverityWarning, run: "main", mailbox: rulesAddr, object: "Except connected", negRun: "main", negMbx: rulesOKAddr},
		{code: mapping.CodeRuleActionUnmappable, severity: reports.SeverityWarning, run: "main", mailbox: rulesAddr, object: "Text me", negRun: "main", negMbx: rulesOKAddr},
		{code: mapping.CodeRuleFolderUnresolved, severity: reports.SeverityWarning, run: "main", mailbox: rulesAddr, object: "To the archive", negRun: "main", negMbx: rulesOKAddr},
		{code: mapping.CodeRuleNotSupported, severity: reports.SeverityWarning, run: "main", mailbox: rulesAddr, object: "Client made", negRun: "main", negMbx: rulesOKAddr},
		{code: mapping.CodeRuleInError, severity: reports.SeverityInfo, run: "main", mailbox: rulesAddr, object: "Broken", negRun: "main", negMbx: rulesOKAddr},
		{code: mapping.CodeRuleClientOnly, severity: reports.SeverityWarning, run: "main", mailbox: rulesAddr, object: "Outlook rule blob", negRun: "main", negMbx: rulesOKAddr},
	}

	// Every catalogued code has a case, and no case names an unknown code.
	byCode := map[string]findingCase{}
	for _, c := range cases {
		if _, ok := mapping.KindByCode(c.code); !ok {
			t.Errorf("case for %s: not in mapping.Catalogue()", c.code)
		}
		byCode[c.code] = c
	}
	for _, k := range mapping.Catalogue() {
		if _, ok := byCode[k.Code]; !ok {
			t.Errorf("finding %s has no test case", k.Code)
		}
	}

	for _, c := range cases {
		t.Run(c.code, func(t *testing.T) {
			if c.elsewhere != "" {
				t.Skip("covered by " + c.elsewhere)
			}
			pos := findings(runs[c.run], c.code, c.mailbox)
			var hit *reports.Finding
			for i := range pos {
				if pos[i].Object == c.object {
					hit = &pos[i]
				}
			}
			if hit == nil {
				t.Fatalf("%s: no finding for mailbox %q object %q in run %s; got %+v", c.code, c.mailbox, c.object, c.run, pos)
			}
			if hit.Severity != c.severity {
				t.Errorf("severity %s, want %s", hit.Severity, c.severity)
			}
			if !strings.EqualFold(hit.Mailbox, c.mailbox) {
				t.Errorf("mailbox %q, want %q", hit.Mailbox, c.mailbox)
			}
			k, _ := mapping.KindByCode(c.code)
			if hit.Category != k.Category || hit.Remedy != k.Remedy || hit.Found == "" {
				t.Errorf("finding %+v does not carry the catalogue's category/remedy or says nothing found", hit)
			}
			if strings.Contains(hit.Fix, "{") {
				t.Errorf("fix has an unfilled placeholder: %s", hit.Fix)
			}
			if c.negMbx == "" {
				if neg := findings(runs[c.negRun], c.code, ""); len(neg) > 0 {
					t.Errorf("run %s should have no %s, got %+v", c.negRun, c.code, neg)
				}
			} else if neg := findings(runs[c.negRun], c.code, c.negMbx); len(neg) > 0 {
				t.Errorf("%s should have no %s, got %+v", c.negMbx, c.code, neg)
			}
		})
	}

	// EXM-FOLDER-PERMISSION from the permission sets read over EWS (no
	// delegate, no export): a shared folder open to Default, a named
	// user's Editor; Default at free/busy on the calendar. The negative
	// case is plain@, whose sets are Default and Anonymous at None. A
	// delegate's rights, in the sets too, are reported once, by the
	// delegate finding.
	t.Run("folder permissions over EWS", func(t *testing.T) {
		a := runs["main"]
		got := findings(a, mapping.CodeFolderPermission, sharedAddr)
		want := map[string]string{
			"Projects (Default)":                    `-Identity 'shared@` + domain + `:\Projects' -User 'Default' -AccessRights 'Reviewer'`,
			"Projects/Budget (dave@" + domain + ")": `-Identity 'shared@` + domain + `:\Projects\Budget' -User 'dave@` + domain + `' -AccessRights 'Editor'`,
		}
		if len(got) != len(want) {
			t.Errorf("shared: %d folder permission findings, want %d: %+v", len(got), len(want), got)
		}
		for _, f := range got {
			fix, ok := want[f.Object]
			if !ok {
				t.Errorf("shared: unexpected finding %+v", f)
				continue
			}
			if f.Severity != reports.SeverityWarning || !strings.Contains(f.Fix, fix) {
				t.Errorf("shared: %+v, want a warning whose fix holds %q", f, fix)
			}
		}
		if neg := findings(a, mapping.CodeFolderPermission, plainAddr); len(neg) > 0 {
			t.Errorf("plain: %+v, want no folder permission (Default and Anonymous at None)", neg)
		}
		var objs []string
		for _, f := range findings(a, mapping.CodeFolderPermission, delegAddr) {
			objs = append(objs, f.Object)
		}
		slices.Sort(objs)
		if w := []string{"Calendar (Default)", "Inbox (bob@" + domain + ")"}; !slices.Equal(objs, w) {
			t.Errorf("deleg: folder permission findings %q, want %q (bob's once, by the delegate finding)", objs, w)
		}
		if m := mailboxOf(t, a, sharedAddr); m.Readiness != reports.Warnings {
			t.Errorf("shared: readiness %s, want warnings", m.Readiness)
		}
	})

	t.Run("readiness", func(t *testing.T) {
		for addr, want := range map[string]reports.Readiness{
			plainAddr: reports.Ready, rulesOKAddr: reports.Ready, delegAddr: reports.Warnings, calAddr: reports.Warnings,
			holdAddr: reports.Blocked, bigAddr: reports.Blocked, deepAddr: reports.Blocked,
			ghostAddr: reports.Unreadable, missingAddr: reports.Unreadable, movingAddr: reports.Unreadable,
			dualAddr: reports.Unreadable, cloudGone: reports.Unreadable,
		} {
			if m := mailboxOf(t, runs["main"], addr); m.Readiness != want {
				t.Errorf("%s: readiness %s, want %s (error %q)", addr, m.Readiness, want, m.Error)
			}
		}
		if m := mailboxOf(t, runs["part"], partAddr); m.Readiness != reports.Warnings {
			t.Errorf("%s: readiness %s, want warnings (a part could not be read, the rest was)", partAddr, m.Readiness)
		}
		// A mailbox that does not exist names the reason.
		g := mailboxOf(t, runs["main"], ghostAddr)
		if !strings.Contains(g.Error, "neither side") {
			t.Errorf("ghost: error %q does not say it was found on neither side", g.Error)
		}
		m := mailboxOf(t, runs["main"], missingAddr)
		if m.Error == "" || m.Location != mailbox.LocationOnPrem {
			t.Errorf("missing: %+v, want an on-prem mailbox with the reason it could not be read", m)
		}
		f := findings(runs["main"], mapping.CodeMailboxUnreadable, missingAddr)
		if len(f) != 1 || !strings.Contains(f[0].Found, "check the address") {
			t.Errorf("missing: finding %+v should tell to check the address", f)
		}
		if m := mailboxOf(t, runs["main"], dualAddr); !strings.Contains(m.Error, "both sides") {
			t.Errorf("dual: error %q should say the mailbox is on both sides", m.Error)
		}
		if m := mailboxOf(t, runs["main"], cloudGone); m.Location != mailbox.LocationCloud || m.Error == "" {
			t.Errorf("cloudgone: %+v, want a cloud mailbox with the reason it could not be read", m)
		}
		if f := findings(runs["main"], mapping.CodeMailboxUnreadable, movingAddr); len(f) != 1 || !strings.Contains(f[0].Found, "being moved") {
			t.Errorf("moving: finding %+v should say the mailbox is being moved", f)
		}
		p := findings(runs["part"], mapping.CodePartUnreadable, partAddr)
		if len(p) != 2 || !hasObject(p, string(mapping.SectionItems)) || !hasObject(p, string(mapping.SectionDelegates)) {
			t.Errorf("partfail: %+v, want the items and the delegates unreadable", p)
		}
		for _, f := range p {
			if !strings.Contains(f.Found, "ErrorAccessDenied") || f.Fix == "" {
				t.Errorf("partfail: %+v should name ErrorAccessDenied and give the impersonation fix", f)
			}
		}
		if mb := mailboxOf(t, runs["part"], partAddr); mb.Items != 2 {
			t.Errorf("partfail: %d items, want 2: the other parts are still read", mb.Items)
		}
	})

	t.Run("inventory", func(t *testing.T) {
		a := runs["main"]
		if m := mailboxOf(t, a, archAddr); m.Archive == nil || m.Archive.Items != 7 || m.RecoverableItems != 4 || m.Items != 3 {
			t.Errorf("arch: items %d, archive %+v, recoverable %d; want 3, 7, 4", m.Items, m.Archive, m.RecoverableItems)
		}
		if m := mailboxOf(t, a, bigAddr); m.ItemsOverTenant != 2 || m.ItemsOver150MB != 1 || len(m.LargestItems) == 0 ||
			m.LargestItems[0].SizeBytes != 160<<20 {
			t.Errorf("big: over tenant %d, over 150 MB %d, largest %+v", m.ItemsOverTenant, m.ItemsOver150MB, m.LargestItems)
		}
		if m := mailboxOf(t, a, deepAddr); m.MaxDepth != deepLevels {
			t.Errorf("deep: max depth %d, want %d", m.MaxDepth, deepLevels)
		}
		if m := mailboxOf(t, a, wideAddr); m.MaxChildFolders != mapping.DefaultFolderChildren+1 {
			t.Errorf("wide: max child folders %d, want %d", m.MaxChildFolders, mapping.DefaultFolderChildren+1)
		}
		if m := mailboxOf(t, a, calAddr); m.ItemsByKind[mailbox.KindCalendar] != 4 || m.ItemsByKind[mailbox.KindMail] != 2 {
			t.Errorf("cal: items by kind %v", m.ItemsByKind)
		}
		if m := mailboxOf(t, a, rulesAddr); m.Rules != 7 || m.RulesMappable != 1 {
			t.Errorf("rules: %d rules, %d mappable; want 7, 1", m.Rules, m.RulesMappable)
		}
		if a.PublicFolders == nil || a.PublicFolders.Items != 7 || a.PublicFolders.MaxDepth != deepLevels+1 {
			t.Errorf("public folders %+v: want 7 items, depth %d", a.PublicFolders, deepLevels+1)
		}
		// Items kept in DiscoveryHolds hint that a hold applies.
		if f := findings(a, mapping.CodeLitigationHoldUnknown, holdAddr); len(f) != 1 || !strings.Contains(f[0].Found, "DiscoveryHolds folder holds 2 items") {
			t.Errorf("hold: %+v, want the DiscoveryHolds hint", f)
		}
		if f := findings(a, mapping.CodeLitigationHoldUnknown, plainAddr); len(f) != 1 || strings.Contains(f[0].Found, "DiscoveryHolds") {
			t.Errorf("plain: %+v, want no DiscoveryHolds hint", f)
		}
		// The deep public folder is over the depth limit too.
		if f := findings(a, mapping.CodeFolderDepthLimit, ""); !hasObject(f, "Public Folders/Deep/"+deepPath()) {
			t.Errorf("no depth finding for the deep public folder: %+v", f)
		}
	})

	t.Run("cloud", func(t *testing.T) {
		a := runs["main"]
		m := mailboxOf(t, a, cloudAddr)
		if m.Location != mailbox.LocationCloud || m.Items != 16 || m.Rules != 2 || m.RulesMappable != 1 {
			t.Errorf("cloud mailbox: %+v; want cloud, 16 items, 2 rules read through Graph, 1 mappable", m)
		}
		// Item sizes come from Graph's message pages (PR_MESSAGE_SIZE).
		if f := findings(a, mapping.CodeItemOverTenantLimit, cloudAddr); !hasObject(f, "Inbox: Cloud video") || m.ItemsOverTenant != 1 {
			t.Errorf("the 40 MB cloud message gives %+v (over tenant %d), want one %s", f, m.ItemsOverTenant, mapping.CodeItemOverTenantLimit)
		}
		if f := findings(a, mapping.CodeRuleInError, cloudAddr); !hasObject(f, "Cloud broken") {
			t.Errorf("the Graph rule with hasError gives no %s: %+v", mapping.CodeRuleInError, f)
		}
		if m.Archive != nil {
			t.Errorf("cloud archive reported as read: %+v", m.Archive)
		}
		for _, f := range a.Findings {
			if strings.EqualFold(f.Mailbox, cloudAddr) {
				t.Logf("cloud finding: %s %s %q: %s", f.Code, f.Severity, f.Object, f.Found)
			}
		}
	})
}

func hasObject(fs []reports.Finding, object string) bool {
	for _, f := range fs {
		if f.Object == object {
			return true
		}
	}
	return false
}
