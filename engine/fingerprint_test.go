package engine_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/exmigrate/exmigrate/internal/state"
	"github.com/exmigrate/exmigrate/mailbox"
	"github.com/exmigrate/exmigrate/mailbox/memory"
)

// unstampedFixture copies in full fidelity to a target whose imports carry
// no stamp, as Graph's import API: only fingerprints find them again.
func unstampedFixture(t *testing.T) *fixture {
	t.Helper()
	dst := ffCaps("mem-a", "mem-a")
	dst.UnstampedImports = true
	f := newFixture(t, memory.WithCapabilities(dst))
	f.src = memory.New(memory.WithPageSize(7), memory.WithCapabilities(ffCaps("mem-a", "mem-a")))
	f.srcMB = f.src.AddMailbox(key.SourceAddress)
	return f
}

// assertOnePerFingerprint checks that the target folder holds each source
// item's fingerprint exactly as often as the source does, and no stamp.
func (f *fixture) assertOnePerFingerprint(t *testing.T, path string) {
	t.Helper()
	want := map[string]int{}
	srcID, _ := f.srcMB.FolderByPath(mailbox.ScopePrimary, path)
	f.srcMB.Items(context.Background(), srcID, func(it mailbox.Item) error {
		want[it.Fingerprint]++
		return nil
	})
	got := map[string]int{}
	n := 0
	for _, it := range f.targetItems(t, mailbox.ScopePrimary)[path] {
		if it.SourceID != "" {
			t.Errorf("%s: an imported item carries the stamp %q; the fixture imports without stamps", path, it.SourceID)
		}
		got[it.Fingerprint]++
		n++
	}
	for fp, w := range want {
		if got[fp] != w {
			t.Errorf("%s: fingerprint %s is on the target %d times, at the source %d", path, fp, got[fp], w)
		}
	}
	if n != len(f.sourceInFolder[path]) {
		t.Errorf("%s: the target holds %d items, the source %d", path, n, len(f.sourceInFolder[path]))
	}
}

// TestUnstampedImportCrashBetweenImportAndRecord: a crash after the import
// and before its copied record leaves an item the stamp cannot find; the
// fingerprint recorded with the pending record finds it, and nothing is
// imported twice.
func TestUnstampedImportCrashBetweenImportAndRecord(t *testing.T) {
	for _, after := range []int{0, 6, 13} {
		t.Run(fmt.Sprintf("%d items in", after), func(t *testing.T) {
			f := unstampedFixture(t)
			f.seed(t, mailbox.ScopePrimary, "Inbox", 20, mailbox.ClassMessage)
			res := f.run(t, &crashStore{Store: f.store, at: "before-copied", after: after})
			if !errors.Is(res.Err, errCrash) {
				t.Fatalf("first pass: %v, want the crash", res.Err)
			}
			creates := f.dst.Calls(memory.OpCreateItem)
			res = f.run(t, nil)
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			f.assertOnePerFingerprint(t, "Inbox")
			if res.Healed < 1 {
				t.Errorf("healed %d: the import before the crash was not found by its fingerprint", res.Healed)
			}
			if got := f.dst.Calls(memory.OpCreateItem) - creates; got != 20-creates {
				t.Errorf("%d imports after the crash, want %d (the crashed one not again)", got, 20-creates)
			}
			counts, err := f.store.Counts(context.Background(), 1)
			if err != nil || counts.Copied != 20 || counts.Pending != 0 {
				t.Errorf("state: %+v, %v; want 20 copied, 0 pending", counts, err)
			}
		})
	}
}

// TestUnstampedImportLostAnswer: an import whose answer is lost is found by
// its fingerprint before the engine imports it again.
func TestUnstampedImportLostAnswer(t *testing.T) {
	f := unstampedFixture(t)
	f.seed(t, mailbox.ScopePrimary, "Inbox", 10, mailbox.ClassMessage)
	f.dst.Inject(memory.Fault{Op: memory.OpCreateItem, AfterWrite: true, Times: 3, Err: errors.New("connection reset by peer")})
	if res := f.run(t, nil); res.Err != nil {
		t.Fatal(res.Err)
	}
	f.assertOnePerFingerprint(t, "Inbox")
	if got := f.dst.Calls(memory.OpCreateItem); got != 10 {
		t.Errorf("%d imports for 10 items with 3 lost answers, want 10", got)
	}
}

// TestUnstampedImportsAdoptedByANewState: a copy with a new state adopts
// what the target holds under the source's fingerprints, copies of one
// message (one fingerprint) included, each once.
func TestUnstampedImportsAdoptedByANewState(t *testing.T) {
	f := unstampedFixture(t)
	f.seed(t, mailbox.ScopePrimary, "Inbox", 12, mailbox.ClassMessage)
	// Two copies of one message in the folder share its search key.
	inbox, _ := f.srcMB.FolderByPath(mailbox.ScopePrimary, "Inbox")
	for range 2 {
		f.srcMB.Seed(inbox, mailbox.Item{Class: mailbox.ClassMessage, Subject: "copied twice", Fingerprint: "5ea4c4"}, []byte("Subject: copied twice\r\n\r\nx\r\n"))
	}
	f.sourceInFolder["Inbox"] = append(f.sourceInFolder["Inbox"], "twice-1", "twice-2")
	f.sourceItems += 2
	if res := f.run(t, nil); res.Err != nil || res.ItemsCopied != 14 {
		t.Fatalf("first pass: %v, %d copied", res.Err, res.ItemsCopied)
	}
	fresh, err := state.Open(context.Background(), filepath.Join(t.TempDir(), "new.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	f.seed(t, mailbox.ScopePrimary, "Inbox", 3, mailbox.ClassMessage)
	creates := f.dst.Calls(memory.OpCreateItem)
	res := f.run(t, fresh)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if res.Adopted != 14 || res.ItemsCopied != 3 {
		t.Errorf("with a new state: adopted %d, copied %d; want 14 and 3", res.Adopted, res.ItemsCopied)
	}
	if got := f.dst.Calls(memory.OpCreateItem) - creates; got != 3 {
		t.Errorf("%d imports with a new state, want the 3 new items only", got)
	}
	f.assertOnePerFingerprint(t, "Inbox")
}

// TestUnstampedImportCrashAmongTwins: the crashed item shares its
// fingerprint with one already on record; the candidate that record holds
// is not taken for it, so it is imported (once) instead of lost.
func TestUnstampedImportCrashAmongTwins(t *testing.T) {
	f := unstampedFixture(t)
	inbox := f.ensureFolder(t, mailbox.ScopePrimary, "Inbox", mailbox.ClassMessage)
	for i := range 2 {
		id := f.srcMB.Seed(inbox, mailbox.Item{Class: mailbox.ClassMessage, Subject: "twin", Fingerprint: "7717"}, []byte(fmt.Sprintf("Subject: twin\r\n\r\n%d\r\n", i)))
		f.sourceInFolder["Inbox"] = append(f.sourceInFolder["Inbox"], id)
	}
	f.sourceItems = 2
	f.opts.ItemWorkers = 1
	// The first twin is copied and recorded; the crash hits the second
	// after its pending record, before its import.
	res := f.run(t, &crashStore{Store: f.store, at: "pending", after: 1})
	if !errors.Is(res.Err, errCrash) {
		t.Fatalf("first pass: %v, want the crash", res.Err)
	}
	if res = f.run(t, nil); res.Err != nil {
		t.Fatal(res.Err)
	}
	f.assertOnePerFingerprint(t, "Inbox")
}
