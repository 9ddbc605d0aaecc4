package e2e

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/exmigrate/exmigrate/internal/audit"
	"github.com/exmigrate/exmigrate/internal/csvinput"

	"github.com/exmigrate/exmigrate/dispatch"
	"github.com/exmigrate/exmigrate/internal/lab"
	"github.com/exmigrate/exmigrate/mailbox"
)

// 1,997 generated messages (plain, HTML, attachments up to 32 KB, meeting
// requests, non-ASCII subjects) in nested folders, plus three large items
// of 3, 10 and 40 MB: 2,000 items.
const onboardingScenario = `
domain: contoso.com
cloud_domain: contoso.onmicrosoft.com
seed: 11
mailboxes:
  - address: olivia@contoso.com
    name: Olivia Onboard
    location: onprem
    folders: {Inbox: 800, Sent Items: 400, Inbox/Projects: 300, Inbox/Projects/2024: 200, Customers: 150, Customers/Europe/Germany: 147}
    large_items:
      - {folder: Inbox/Projects, size: 3MB}
      - {folder: Customers/Europe/Germany, size: 10MB}
      - {folder: Inbox, size: 40MB}
`

var onboardingFolders = []string{"Inbox", "Sent Items", "Inbox/Projects", "Inbox/Projects/2024", "Customers", "Customers/Europe", "Customers/Europe/Germany"}

const (
	onboardSource = "olivia@contoso.com"
	onboardTarget = "olivia@contoso.onmicrosoft.com"
)

// compareOnboarding checks every folder of the on-prem source against its
// cloud counterpart and returns the number of source items.
func (e *env) compareOnboarding(t *testing.T) int {
	t.Helper()
	total := 0
	for _, path := range onboardingFolders {
		src := e.ewsView(t, onboardSource, path)
		dst := e.graphView(t, onboardTarget, path)
		compareFolder(t, path, src, dst)
		total += src.n
	}
	return total
}

// TestOnboarding copies a 2,000-item on-prem mailbox to the cloud, then
// runs again (nothing to do), then again after new mail and read-state
// changes at the source (exactly those are carried over).
func TestOnboarding(t *testing.T) {
	if testing.Short() {
		t.Skip("2,000 items and 53 MB through both fakes")
	}
	e := startLab(t, mustScenario(t, onboardingScenario), lab.Options{})
	entry := csvinput.Entry{Address: onboardSource, Target: onboardTarget, Location: mailbox.LocationAuto}

	res := e.copyOnce(t, entry, dispatch.Onboarding, testOptions())
	if res.ItemsCopied != 2000 || res.Skipped != 0 || res.Healed != 0 {
		t.Fatalf("first pass: copied %d, skipped %d (%v), healed %d; want 2000, 0, 0", res.ItemsCopied, res.Skipped, res.SkipReasons, res.Healed)
	}
	if n := e.compareOnboarding(t); n != 2000 {
		t.Errorf("the source holds %d items in the compared folders, want 2000", n)
	}
	for _, f := range res.Folders {
		if f.SourceCount != f.TargetCount {
			t.Errorf("reconciliation of %s: source %d, target %d", f.SourcePath, f.SourceCount, f.TargetCount)
		}
	}
	checkAudit(t, e, onboardTarget, "app "+lab.ClientID, 2000, res.FoldersCreated)
	t.Logf("first pass: %d items, %.1f MB in %v, %d folders created", res.ItemsCopied, float64(res.BytesCopied)/1e6, res.Duration, res.FoldersCreated)
	if t.Failed() {
		t.FailNow()
	}

	var noopSyncs int64
	t.Run("second run copies nothing", func(t *testing.T) {
		ewsW, graphW := e.lab.EWS.Writes(), e.lab.Graph.Writes()
		syncs := e.lab.EWS.Requests("SyncFolderItems")
		res := e.copyOnce(t, entry, dispatch.Onboarding, testOptions())
		noopSyncs = e.lab.EWS.Requests("SyncFolderItems") - syncs
		if res.ItemsCopied != 0 || res.ReadUpdates != 0 || res.FoldersCreated != 0 || res.Healed != 0 || res.Skipped != 0 {
			t.Errorf("second pass: copied %d, read updates %d, folders %d, healed %d, skipped %d; want all 0",
				res.ItemsCopied, res.ReadUpdates, res.FoldersCreated, res.Healed, res.Skipped)
		}
		if d := e.lab.EWS.Writes() - ewsW; d != 0 {
			t.Errorf("EWS saw %d writes", d)
		}
		if d := e.lab.Graph.Writes() - graphW; d != 0 {
			t.Errorf("Graph saw %d writes", d)
		}
		t.Logf("second pass in %v", res.Duration)
	})

	t.Run("expired sync state resyncs without writing", func(t *testing.T) {
		e.lab.EWS.AddMailbox(onboardSource).InvalidateSyncStates()
		ewsW, graphW := e.lab.EWS.Writes(), e.lab.Graph.Writes()
		syncs := e.lab.EWS.Requests("SyncFolderItems")
		res := e.copyOnce(t, entry, dispatch.Onboarding, testOptions())
		// A real resync pages through every item again.
		if d := e.lab.EWS.Requests("SyncFolderItems") - syncs; d <= noopSyncs {
			t.Errorf("the resync took %d SyncFolderItems requests, a pass with nothing to do %d: the states were not invalidated", d, noopSyncs)
		}
		if res.ItemsCopied != 0 || res.ReadUpdates != 0 || res.Healed != 0 || res.Skipped != 0 {
			t.Errorf("resync pass: copied %d, read updates %d, healed %d, skipped %d; want all 0",
				res.ItemsCopied, res.ReadUpdates, res.Healed, res.Skipped)
		}
		if d := e.lab.Graph.Writes() - graphW + e.lab.EWS.Writes() - ewsW; d != 0 {
			t.Errorf("the full resync wrote %d times", d)
		}
		t.Logf("full resync in %v", res.Duration)
	})

	t.Run("incremental 50 new and 10 read changes", func(t *testing.T) {
		mb := e.lab.EWS.AddMailbox(onboardSource)
		g := newMailGen(99, "contoso.com")
		for i := range 50 {
			path := []string{"Inbox", "Inbox/Projects/2024", "Customers/Europe/Germany"}[i%3]
			attach := 0
			if i%5 == 0 {
				attach = 20000 + i*1000
			}
			mb.Folder(path).AddItem(g.next(onboardSource, attach).ewsItem())
		}
		// Flip the read state of 10 items copied in the first pass.
		flipped := 0
		for _, path := range []string{"Sent Items", "Inbox/Projects"} {
			f := mb.Folder(path)
			for _, it := range f.Items()[:5] {
				f.SetRead(it.ID, !it.IsRead)
				flipped++
			}
		}
		graphW := e.lab.Graph.Writes()
		res := e.copyOnce(t, entry, dispatch.Onboarding, testOptions())
		if res.ItemsCopied != 50 || res.ReadUpdates != int64(flipped) || res.Skipped != 0 || res.FoldersCreated != 0 {
			t.Errorf("incremental pass: copied %d, read updates %d, skipped %d, folders %d; want 50, %d, 0, 0",
				res.ItemsCopied, res.ReadUpdates, res.Skipped, res.FoldersCreated, flipped)
		}
		if n := e.compareOnboarding(t); n != 2050 {
			t.Errorf("the source holds %d items, want 2050", n)
		}
		t.Logf("incremental pass: %d copied, %d read updates, %d Graph writes, in %v", res.ItemsCopied, res.ReadUpdates, e.lab.Graph.Writes()-graphW, res.Duration)
	})

	// The stamps on the target are the truth: with a new state file (the
	// old one lost) the pass lists each target folder's stamps once, adopts
	// every item and writes nothing.
	t.Run("new state file adopts by stamp", func(t *testing.T) {
		graphReqs := e.lab.Graph.Requests()
		res := e.copyWithNewState(t, entry, dispatch.Onboarding)
		if res.ItemsCopied != 0 || res.Adopted != 2050 || res.Healed != 0 || res.Skipped != 0 {
			t.Errorf("new state: copied %d, adopted %d, healed %d, skipped %d; want 0, 2050, 0, 0", res.ItemsCopied, res.Adopted, res.Healed, res.Skipped)
		}
		reqs := e.lab.Graph.Requests() - graphReqs
		perK := float64(reqs) * 1000 / float64(res.Adopted)
		// The folder trees (a few requests), one stamp listing per folder in
		// pages of 100 (graphmail asks for 100 a page), the reconciliation:
		// about 10 per 1,000 items plus a constant, never one per item.
		if limit := int64(res.StampListings + int(res.Adopted)/100 + 20); reqs > limit {
			t.Errorf("%d Graph requests to adopt %d items (%.1f per 1,000), more than %d: not a paged listing", reqs, res.Adopted, perK, limit)
		}
		t.Logf("new state: %d items adopted with %d Graph requests (%.1f per 1,000 items), %d folders listed, in %v",
			res.Adopted, reqs, perK, res.StampListings, res.Duration)
	})
}

// checkAudit reads the audit log: one successful item.create per item
// copied, each with a distinct stamp, one folder.create per folder made,
// all naming the principal of the side written to.
func checkAudit(t *testing.T, e *env, mailboxAddr, operator string, items, folders int) {
	t.Helper()
	f, err := os.Open(filepath.Join(e.lab.Dir, "audit.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	stamps := map[string]bool{}
	begun := map[string]int{} // started lines by action and stamp or path
	nFolders := 0
	err = audit.Read(f, func(en audit.Entry) error {
		if en.Outcome == audit.OutcomeStarted {
			begun[en.Action+" "+en.SourceID+en.Object]++
			return nil
		}
		if en.Action != audit.ActionItemAdopt && begun[en.Action+" "+en.SourceID+en.Object] != 1 {
			t.Errorf("audit: %s %s has %d started lines before it, want 1", en.Action, en.Object, begun[en.Action+" "+en.SourceID+en.Object])
		}
		if en.Outcome != "ok" {
			t.Errorf("audit: %s %s: %s %s", en.Action, en.Object, en.Outcome, en.Error)
		}
		if en.Mailbox != mailboxAddr || en.Operator != operator {
			t.Errorf("audit: %s by %q on %q, want %q on %q", en.Action, en.Operator, en.Mailbox, operator, mailboxAddr)
		}
		switch en.Action {
		case "item.create":
			if en.SourceID == "" || stamps[en.SourceID] {
				t.Errorf("audit: item.create %q has stamp %q (empty or seen before)", en.Object, en.SourceID)
			}
			stamps[en.SourceID] = true
		case "folder.create":
			nFolders++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(stamps) != items || nFolders != folders {
		t.Errorf("audit: %d items and %d folders created, want %d and %d", len(stamps), nFolders, items, folders)
	}
}
