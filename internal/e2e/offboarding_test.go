package e2e

import (
	"strings"
	"testing"

	"github.com/exmigrate/exmigrate/dispatch"
	"github.com/exmigrate/exmigrate/ews/ewstest"
	"github.com/exmigrate/exmigrate/graphmail/graphtest"
	"github.com/exmigrate/exmigrate/internal/csvinput"
	"github.com/exmigrate/exmigrate/internal/lab"
	"github.com/exmigrate/exmigrate/mailbox"
)

// A cloud mailbox seeded with MIME (1,997 generated messages in nested
// folders); the test adds large messages of about 3, 10, 34 and 41 MB.
const offboardingScenario = `
domain: contoso.com
cloud_domain: contoso.onmicrosoft.com
seed: 23
mailboxes:
  - address: oscar@contoso.com
    name: Oscar Offboard
    location: cloud
    folders: {Inbox: 800, Sent Items: 400, Inbox/Projects: 300, Inbox/Projects/2024: 200, Customers/Europe/Germany: 297}
`

var offboardingFolders = []string{"Inbox", "Sent Items", "Inbox/Projects", "Inbox/Projects/2024", "Customers", "Customers/Europe", "Customers/Europe/Germany"}

const (
	offboardSource = "oscar@contoso.com"
	offboardTarget = "oscar.returned@contoso.com"
)

// TestOffboarding copies a 2,000-item cloud mailbox back to an on-prem
// mailbox, then checks that a second run writes nothing and that new mail
// and read-state changes in the cloud are carried over exactly.
func TestOffboarding(t *testing.T) {
	if testing.Short() {
		t.Skip("2,000 items and 53 MB through both fakes")
	}
	e := startLab(t, mustScenario(t, offboardingScenario), lab.Options{})
	fx := e.lab.Graph.Mailbox(offboardSource)
	g := newMailGen(5, "contoso.com")
	// Large messages whose MIME is about 3, 10 and 34 MB: under the on-prem
	// organisation's 35 MB limit (ewstest.MaxMessageSize, Exchange's
	// default). One more of about 41 MB is over it: Exchange refuses it for
	// good, so the engine must skip it with its reason and go on.
	for _, li := range []struct {
		path string
		size int
	}{{"Inbox/Projects", 3 << 20 * 3 / 4}, {"Customers/Europe/Germany", 10 << 20 * 3 / 4}, {"Inbox", 24 << 20}} {
		fx.AddMessage(li.path, g.next(offboardSource, li.size).graphMessage(offboardSource))
	}
	tooBig := g.next(offboardSource, 29<<20)
	if len(tooBig.MIME) <= ewstest.MaxMessageSize {
		t.Fatalf("the oversized message is only %d bytes", len(tooBig.MIME))
	}
	fx.AddMessage("Inbox", tooBig.graphMessage(offboardSource))
	e.lab.EWS.AddMailbox(offboardTarget).SetDisplayName("Oscar (returned)")
	entry := csvinput.Entry{Address: offboardSource, Target: offboardTarget, Location: mailbox.LocationCloud}

	compare := func(t *testing.T) int {
		t.Helper()
		total := 0
		for _, path := range offboardingFolders {
			src := e.graphView(t, offboardSource, path)
			total += src.n
			src.remove(t, tooBig.Subject) // skipped: not expected on the target
			dst := e.ewsView(t, offboardTarget, path)
			compareFolder(t, path, src, dst)
		}
		return total
	}

	res := e.copyOnce(t, entry, dispatch.Offboarding, testOptions())
	if res.ItemsCopied != 2000 || res.Skipped != 1 || res.Healed != 0 {
		t.Fatalf("first pass: copied %d, skipped %d (%v), healed %d; want 2000, 1, 0", res.ItemsCopied, res.Skipped, res.SkipReasons, res.Healed)
	}
	for reason := range res.SkipReasons {
		if !strings.Contains(reason, "ErrorMessageSizeExceeded") {
			t.Errorf("skip reason %q does not say the target refused the size", reason)
		}
	}
	if n := compare(t); n != 2001 {
		t.Errorf("the source holds %d items in the compared folders, want 2001", n)
	}
	for _, f := range res.Folders {
		want := f.SourceCount
		if f.SourcePath == "Inbox" {
			want-- // the oversized message
		}
		if want != f.TargetCount {
			t.Errorf("reconciliation of %s: source %d, target %d", f.SourcePath, f.SourceCount, f.TargetCount)
		}
	}
	t.Logf("first pass: %d items, %.1f MB in %v, %d folders created", res.ItemsCopied, float64(res.BytesCopied)/1e6, res.Duration, res.FoldersCreated)
	if t.Failed() {
		t.FailNow()
	}

	// The stamps on an EWS target are the truth too: with a new state file
	// the pass lists each target folder's stamps with FindItem pages,
	// adopts every item and writes nothing.
	t.Run("new state file adopts by stamp", func(t *testing.T) {
		ewsReqs, finds := e.lab.EWS.Requests(""), e.lab.EWS.Requests("FindItem")
		res := e.copyWithNewState(t, entry, dispatch.Offboarding)
		if res.ItemsCopied != 0 || res.Adopted != 2000 || res.Healed != 0 {
			t.Errorf("new state: copied %d, adopted %d, healed %d; want 0, 2000, 0", res.ItemsCopied, res.Adopted, res.Healed)
		}
		reqs := e.lab.EWS.Requests("") - ewsReqs
		perK := float64(reqs) * 1000 / float64(res.Adopted)
		// Folder trees, one FindItem listing per folder in pages of 1,000,
		// the reconciliation's counts: a constant plus about one per 1,000
		// items, never one per item.
		if limit := int64(res.StampListings + int(res.Adopted)/1000 + 30); reqs > limit {
			t.Errorf("%d EWS requests to adopt %d items (%.1f per 1,000), more than %d: not a paged listing", reqs, res.Adopted, perK, limit)
		}
		t.Logf("new state: %d items adopted with %d EWS requests (%d FindItem; %.1f per 1,000 items), %d folders listed, in %v",
			res.Adopted, reqs, e.lab.EWS.Requests("FindItem")-finds, perK, res.StampListings, res.Duration)
	})

	t.Run("second run copies nothing", func(t *testing.T) {
		ewsW, graphW := e.lab.EWS.Writes(), e.lab.Graph.Writes()
		res := e.copyOnce(t, entry, dispatch.Offboarding, testOptions())
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
	})

	t.Run("expired delta links resync without writing", func(t *testing.T) {
		e.lab.Graph.ExpireDeltaTokens()
		ewsW, graphW := e.lab.EWS.Writes(), e.lab.Graph.Writes()
		res := e.copyOnce(t, entry, dispatch.Offboarding, testOptions())
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
		for i := range 50 {
			path := []string{"Inbox", "Inbox/Projects/2024", "Customers/Europe/Germany"}[i%3]
			attach := 0
			if i%5 == 0 {
				attach = 20000 + i*1000
			}
			fx.AddMessage(path, g.next(offboardSource, attach).graphMessage(offboardSource))
		}
		flipped := 0
		for _, path := range []string{"Sent Items", "Inbox/Projects"} {
			for _, m := range fx.Messages(path)[:5] {
				fx.UpdateMessage(m.ID, func(m *graphtest.Message) { m.IsRead = !m.IsRead })
				flipped++
			}
		}
		res := e.copyOnce(t, entry, dispatch.Offboarding, testOptions())
		if res.ItemsCopied != 50 || res.ReadUpdates != int64(flipped) || res.Skipped != 0 || res.FoldersCreated != 0 {
			t.Errorf("incremental pass: copied %d, read updates %d, skipped %d, folders %d; want 50, %d, 0, 0",
				res.ItemsCopied, res.ReadUpdates, res.Skipped, res.FoldersCreated, flipped)
		}
		if n := compare(t); n != 2051 {
			t.Errorf("the source holds %d items, want 2051", n)
		}
	})
}
