package assessment_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/exmigrate/exmigrate/ews"
	"github.com/exmigrate/exmigrate/ews/ewstest"
	"github.com/exmigrate/exmigrate/internal/csvinput"
	"github.com/exmigrate/exmigrate/mailbox"
	"github.com/exmigrate/exmigrate/mapping"
	"github.com/exmigrate/exmigrate/reports"
)

// ewsOps are the EWS operations an assessment may send.
var ewsOps = []string{"ResolveNames", "GetFolder", "FindFolder", "FindItem", "GetItem", "GetInboxRules", "GetDelegate",
	"GetDiscoverySearchConfiguration", "GetHoldOnMailboxes", "SyncFolderItems", "SyncFolderHierarchy"}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// TestRoundTripsEWS assesses one on-prem mailbox of 50,000 items and counts
// the requests the fake Exchange saw, per operation, against the fewest the
// protocol's paging limits allow.
func TestRoundTripsEWS(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 50,000 items")
	}
	const addr = "bulk@" + domain
	// 50,000 items in the primary tree: four large folders that need
	// several FindItem pages (a page holds at most 1,000 items,
	// EWSFindCountLimit) and 50 small ones of one page each.
	primary := map[string]int{"Inbox": 20_000, "Inbox/2023": 12_500, "Sent Items": 8_000, "Projects": 4_500}
	for i := range 50 {
		primary[fmt.Sprintf("Projects/Client %02d", i+1)] = 100
	}
	archive := map[string]int{"Inbox": 2_500} // the online archive is inventoried too
	total := 0
	for _, n := range primary {
		total += n
	}
	if total != 50_000 {
		t.Fatalf("seeding %d items, want 50,000", total)
	}

	e := startEnv(t, emptyScenario())
	fx := e.lab.EWS.AddMailbox(addr)
	seed := func(f *ewstest.FolderFixture, n int) {
		for i := range n {
			f.AddItem(ewstest.Item{MIME: smallMIME(fmt.Sprintf("Bulk %d", i)), Subject: fmt.Sprintf("Bulk %d", i), IsRead: true})
		}
	}
	for path, n := range primary {
		seed(fx.Folder(path), n)
	}
	for path, n := range archive {
		seed(fx.ArchiveFolder(path), n)
	}
	addMail(fx.RecoverableFolder("Deletions"), 10)

	before := map[string]int64{}
	for _, op := range append(ewsOps, "") {
		before[op] = e.lab.EWS.Requests(op)
	}
	a := e.assess(t, []csvinput.Entry{entry(addr)}, mapping.Limits{}, false)
	got := map[string]int64{}
	for _, op := range append(ewsOps, "") {
		got[op] = e.lab.EWS.Requests(op) - before[op]
	}

	m := mailboxOf(t, a, addr)
	if m.Items != 50_000 || m.Archive == nil || m.Archive.Items != 2_500 || m.RecoverableItems != 10 || m.Readiness == reports.Unreadable {
		t.Fatalf("assessment: %d items, archive %+v, recoverable %d, %s (%s); want 50,000, 2,500, 10", m.Items, m.Archive, m.RecoverableItems, m.Readiness, m.Error)
	}

	// The fewest requests a client can make for this mailbox:
	//   ResolveNames 1: the list says Location auto, so the on-prem side is asked once.
	//   GetFolder 1: GetFolder takes many FolderIds, so msgfolderroot, the
	//     well-known folders (to tag them), archivemsgfolderroot and
	//     recoverableitemsroot can all be resolved in one batch.
	//   FindFolder 3: one Deep traversal per tree (primary, archive,
	//     Recoverable Items), each under 1,000 folders, so one page each;
	//     folder counts and sizes come from these pages.
	//   FindItem: per non-empty folder, ceil(items/1,000) pages; item sizes
	//     for the largest items and the size limits come from these pages.
	//   GetFolder + ceil(folders/100): the permission sets of the primary
	//     tree's folders (the root's aside), read with GetFolder
	//     PermissionSet, up to ews.MaxPermissionBatch FolderIds each; only
	//     the primary tree has folder permissions worth reporting, and the
	//     tree listed for the inventory is reused, not listed again.
	//   GetInboxRules 1, GetDelegate 1: one call each, no paging.
	//   GetDiscoverySearchConfiguration 1: the In-Place hold searches; with
	//     no hold there is no GetHoldOnMailboxes.
	//   GetItem 0: never one request per item.
	pages := 0
	for _, n := range primary {
		pages += ceilDiv(n, 1000)
	}
	for _, n := range archive {
		pages += ceilDiv(n, 1000)
	}
	// No FindItem in Recoverable Items: they are counted from the folder
	// totals FindFolder returns, which is all the assessment reports of them.
	permBatches := ceilDiv(m.Folders, ews.MaxPermissionBatch)
	minimum := map[string]int64{"ResolveNames": 1, "GetFolder": 1 + int64(permBatches), "FindFolder": 3, "FindItem": int64(pages),
		"GetInboxRules": 1, "GetDelegate": 1, "GetDiscoverySearchConfiguration": 1}
	var minTotal int64
	for _, n := range minimum {
		minTotal += n
	}

	var report []string
	for _, op := range ewsOps {
		if got[op] != 0 || minimum[op] != 0 {
			report = append(report, fmt.Sprintf("%s %d (minimum %d)", op, got[op], minimum[op]))
		}
	}
	sort.Strings(report)
	t.Logf("EWS requests for a 50,000-item mailbox (+2,500 in the archive, %d primary folders, %d permission batches): total %d, minimum %d (%.1f%% over)\n  %s",
		m.Folders, permBatches, got[""], minTotal, 100*float64(got[""]-minTotal)/float64(minTotal), strings.Join(report, "\n  "))

	if got["FindItem"] != minimum["FindItem"] {
		t.Errorf("FindItem: %d pages, the paging limit allows %d", got["FindItem"], minimum["FindItem"])
	}
	if got["FindFolder"] != minimum["FindFolder"] {
		t.Errorf("FindFolder: %d requests, want %d: one per tree, the primary tree not listed again for its permissions", got["FindFolder"], minimum["FindFolder"])
	}
	if got["GetFolder"] < minimum["GetFolder"] {
		t.Errorf("GetFolder: %d requests, below the %d the permission batches need: were the permission sets read?", got["GetFolder"], minimum["GetFolder"])
	}
	if got["GetItem"] != 0 {
		t.Errorf("GetItem: %d requests; item sizes must come from FindItem pages", got["GetItem"])
	}
	if got[""] < minTotal {
		t.Errorf("total %d below the computed minimum %d: the minimum is wrong", got[""], minTotal)
	}
	if float64(got[""]) > 1.10*float64(minTotal) {
		t.Errorf("total %d requests, more than 10%% over the minimum %d", got[""], minTotal)
	}
}

// TestRoundTripsGraph assesses one cloud mailbox of 5,000 messages and
// counts the Graph requests the fake saw against the fewest Graph's paging
// allows: message listings of $top=1000, Graph's maximum, which graphmail
// asks for (the listing selects a few small properties). (5,000 rather than 50,000:
// the fake Graph renders every message of a folder for each page it
// serves, so its cost grows with the square of the folder size.)
func TestRoundTripsGraph(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 5,000 messages")
	}
	const addr = "cloudbulk@" + domain
	folders := map[string]int{"Inbox": 3_000, "Inbox/Customers": 1_250, "Sent Items": 700}
	for i := range 5 {
		folders[fmt.Sprintf("Projects/P%d", i+1)] = 10
	}
	e := startEnv(t, emptyScenario())
	fx := e.lab.Graph.AddMailbox(addr, mailbox.TypeUser)
	for path, n := range folders {
		addCloudMail(fx, path, n)
	}
	fx.AddRule(map[string]any{"displayName": "Newsletters", "sequence": 1, "isEnabled": true,
		"conditions": map[string]any{"subjectContains": []any{"newsletter"}}, "actions": map[string]any{"markAsRead": true}})

	// The client's token is fetched before counting, so that only Graph
	// requests are compared.
	if _, err := e.sides.Graph.Probe(context.Background(), addr); err != nil {
		t.Fatal(err)
	}
	before := e.lab.Graph.Requests()
	a := e.assess(t, []csvinput.Entry{entry(addr)}, mapping.Limits{}, false)
	got := e.lab.Graph.Requests() - before

	m := mailboxOf(t, a, addr)
	if m.Items != 5_000 || m.Location != mailbox.LocationCloud || m.Rules != 1 {
		t.Fatalf("assessment: %+v; want a cloud mailbox of 5,000 items and 1 rule", m)
	}

	// The fewest requests:
	//   probe 2: Location auto asks Graph for the Inbox (is the mailbox in
	//     Exchange Online?) and mailboxSettings.userPurpose (user, shared, room).
	//   well-known folders 9: one JSON $batch (one round trip) of nine
	//     steps; the fake counts each step, as Graph charges each step of a
	//     batch to the mailbox's request budget.
	//   child folders: one listing per folder that has children, one page
	//     each here (at most 100 children): the root, Inbox and Projects.
	//   messages: ceil(n/page) per non-empty folder.
	//   rules 1. Archive and Recoverable Items: none (not reachable through
	//     Graph v1.0, refused without a request). Delegates and holds: Graph
	//     has no read for them, so none.
	//   calendars 3: the list of calendars, the default calendar's $count,
	//     and its events (one page, the calendar is empty).
	//   To Do 3: the list of task lists, the default list's tasks for its
	//     count (To Do has no $count), and its tasks for the inventory.
	parents := int64(3)
	var pages int64
	for _, n := range folders {
		pages += int64(ceilDiv(n, 1000))
	}
	fixed := 2 + 9 + parents + 1 + 3 + 3
	minimum := fixed + pages
	t.Logf("Graph requests (batch steps counted one by one) for a 5,000-message mailbox: %d; minimum %d (%d message pages of 1,000 + %d fixed), %.1f%% over; HTTP round trips %d (the $batch is one)",
		got, minimum, pages, fixed, 100*float64(got-minimum)/float64(minimum), got-8)
	if got < minimum {
		t.Errorf("%d requests, below the computed minimum %d: the minimum is wrong", got, minimum)
	}
	// Folders are listed a few at once, but never past Graph's four
	// concurrent requests per app and mailbox (a 429 would cost retries).
	if n, th := e.lab.Graph.MaxInFlightSeen(addr), e.lab.Graph.Throttled(); n > 4 || th != 0 {
		t.Errorf("%d requests in flight at most, %d throttled; want at most 4 and none", n, th)
	}
	if float64(got) > 1.10*float64(minimum) {
		t.Errorf("%d requests, more than 10%% over the minimum %d", got, minimum)
	}
}
