package main

import (
	"os"
	"runtime/debug"
)

// copyGCPercent is the garbage collector's target for a copy: the heap may
// grow to nine times what is live before a collection, against Go's
// default of twice. A copy's live heap is small (about 30 MiB with 200
// mailboxes in parallel, bounded by the batches in flight), and collecting
// at the default pace was about a tenth of its CPU. Measured on the
// 200-mailbox lab copy: 400 gave 0.72-0.77 ms of CPU per message and
// 170-180 MB peak, 800 gave 0.64-0.68 ms and 260-315 MB.
const copyGCPercent = 800

// copyMemoryLimit makes the collector work harder as the heap approaches
// it, so that the higher target never takes a copy's memory past it: the
// peak stays under 500 MB whatever the target would allow.
const copyMemoryLimit = 450 << 20

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
