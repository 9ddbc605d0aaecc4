package main

import (
	"os"
	"runtime/debug"
)

// copyGCPercent is the garbage collector's target for a copy: the heap may
// grow to five times what is live before a collection, against Go's
// default of twice. A copy's live heap is small (tens of MiB, bounded by
// the batches in flight), and collecting at the default pace was about a
// tenth of its CPU in a 200-mailbox copy.
const copyGCPercent = 400

// copyMemoryLimit makes the collector work harder as the heap approaches
// it, so that the higher target never costs more than this.
const copyMemoryLimit = 1 << 30

// tuneGCForCopy sets the collector for a long copy, unless the user set
// GOGC or GOMEMLIMIT, which then decide as Go documents.
func tuneGCForCopy() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(copyGCPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(copyMemoryLimit)
	}
}
