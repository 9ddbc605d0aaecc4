package mapping

import (
	"maps"
	"slices"

	"github.com/exmigrate/exmigrate/mailbox"
	"github.com/exmigrate/exmigrate/reports"
)

// ItemStats sums up the items of one folder tree, as read from item pages.
type ItemStats struct {
	Items      int64
	SizeBytes  int64
	ByKind     map[mailbox.Kind]int64
	Largest    []reports.ItemSummary // largest first, at most the tally's keep
	OverTenant int64                 // items over Limits.TenantMessageBytes (including those over MaxItemBytes)
	OverMax    int64                 // items over Limits.MaxItemBytes (150 MB)
}

// ItemTally accumulates ItemStats one item at a time in bounded memory, so
// that the dispatcher can feed it straight from item pages. It is not safe
// for concurrent use; use one per mailbox and folder tree.
type ItemTally struct {
	limits Limits
	keep   int
	st     ItemStats
	kinds  map[string]mailbox.Kind // class -> kind, bounded by maxCachedClasses
}

// maxCachedClasses bounds the class cache: a mailbox has a handful of
// classes, but a hostile one could have millions.
const maxCachedClasses = 256

// NewItemTally returns a tally that counts items over limits and keeps the
// keep largest (DefaultLargestItems when keep <= 0).
func NewItemTally(limits Limits, keep int) *ItemTally {
	if keep <= 0 {
		keep = DefaultLargestItems
	}
	return &ItemTally{
		limits: limits.WithDefaults(),
		keep:   keep,
		st:     ItemStats{ByKind: map[mailbox.Kind]int64{}},
		kinds:  map[string]mailbox.Kind{},
	}
}

// Add counts one item of the folder at folderPath.
func (t *ItemTally) Add(folderPath string, it mailbox.Item) {
	t.st.Items++
	t.st.SizeBytes += it.SizeBytes
	t.st.ByKind[t.kindOf(it.Class)]++
	if it.SizeBytes > t.limits.TenantMessageBytes {
		t.st.OverTenant++
	}
	if it.SizeBytes > t.limits.MaxItemBytes {
		t.st.OverMax++
	}
	l := t.st.Largest
	if len(l) == t.keep && it.SizeBytes <= l[len(l)-1].SizeBytes {
		return
	}
	s := reports.ItemSummary{
		Folder: folderPath, Subject: it.Subject, Class: it.Class,
		SizeBytes: it.SizeBytes, Received: it.Received,
	}
	// Insert after the items of the same size: the first seen stays first.
	i, _ := slices.BinarySearchFunc(l, it.SizeBytes, func(e reports.ItemSummary, size int64) int {
		if e.SizeBytes >= size {
			return -1
		}
		return 1
	})
	l = slices.Insert(l, i, s)
	if len(l) > t.keep {
		l = l[:t.keep]
	}
	t.st.Largest = l
}

// kindOf caches mailbox.KindOf, which allocates on every call.
func (t *ItemTally) kindOf(class string) mailbox.Kind {
	if k, ok := t.kinds[class]; ok {
		return k
	}
	k := mailbox.KindOf(class)
	if len(t.kinds) < maxCachedClasses {
		t.kinds[class] = k
	}
	return k
}

// Stats returns what was counted so far; the result does not change when
// more items are added.
func (t *ItemTally) Stats() ItemStats {
	st := t.st
	st.ByKind = maps.Clone(t.st.ByKind)
	st.Largest = slices.Clone(t.st.Largest)
	return st
}
