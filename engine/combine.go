package engine

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/exmigrate/exmigrate/mailbox"
)

// A target that writes several items in one request (mailbox.BatchWriter:
// EWS CreateItem takes many) gets the small MIME items that the item
// workers of one mailbox write into one folder at about the same time in
// one request: at a network's latency a request per item is most of the
// time a write takes. Each worker keeps its own item's life (pending
// record, audit lines, retries, the stamp lookup after a lost answer); it
// only waits, for at most combineLinger, for the others to join, and a
// group is sent as soon as every worker is in it.

const (
	// combineLinger is how long a write waits for others to join.
	combineLinger = 3 * time.Millisecond
	// combineItemMax is the largest item written in a group.
	combineItemMax = 4 << 20
	// combineMax bounds a group (EWS: 50 items a request).
	combineMax = 50
)

type combiner struct {
	target  mailbox.Target
	dst     mailbox.BatchWriter
	max     int
	itemMax int64
	linger  time.Duration
	mu      sync.Mutex
	open    map[string]*writeGroup // by folder
}

type writeGroup struct {
	ctx    context.Context
	folder string
	ps     []mailbox.Payload
	done   []chan mailbox.BatchResult
	timer  *time.Timer
}

// newCombiner is nil when the target writes one item a request or only
// one worker writes.
func newCombiner(dst mailbox.Target, workers int) *combiner {
	bw, ok := dst.(mailbox.BatchWriter)
	if !ok || workers < 2 {
		return nil
	}
	c := &combiner{target: dst, dst: bw, max: min(workers, combineMax), itemMax: combineItemMax, linger: combineLinger, open: map[string]*writeGroup{}}
	if bl, ok := dst.(mailbox.BatchLimiter); ok {
		items, itemBytes := bl.BatchLimits()
		c.max, c.itemMax = max(min(c.max, items), 1), min(c.itemMax, itemBytes)
	}
	return c
}

// combinable says whether a payload may be written in a group: small MIME
// mail, notes and other items of known size.
func (c *combiner) combinable(p mailbox.Payload) bool {
	k := p.Item.Kind()
	return p.Format == mailbox.FormatMIME && (k == mailbox.KindMail || k == mailbox.KindNotes || k == mailbox.KindOther) &&
		p.Size > 0 && p.Size <= c.itemMax
}

// create writes p, in a group when it can. The payload's body is read by
// whichever worker sends the group, so create returns only once the group
// is done with it.
// The group's request carries the first member's context: what a write
// reports through it (mailbox.ReportLoss) is for MIME items nothing.
func (c *combiner) create(ctx context.Context, dst mailbox.Target, folderID string, p mailbox.Payload) (string, error) {
	if c == nil || !c.combinable(p) {
		return dst.CreateItem(ctx, folderID, p)
	}
	ch := make(chan mailbox.BatchResult, 1)
	c.mu.Lock()
	g := c.open[folderID]
	if g == nil {
		g = &writeGroup{ctx: ctx, folder: folderID}
		c.open[folderID] = g
		g.timer = time.AfterFunc(c.linger, func() {
			if c.detach(g) {
				c.send(g)
			}
		})
	}
	g.ps = append(g.ps, p)
	g.done = append(g.done, ch)
	full := len(g.ps) >= c.max
	if full {
		delete(c.open, folderID)
	}
	c.mu.Unlock()
	if full && g.timer.Stop() {
		c.send(g)
	} else if full {
		// The timer fired as the group filled; its detach found the
		// group gone, so this worker sends it.
		c.send(g)
	}
	r := <-ch
	return r.ID, r.Err
}

// detach takes the group out of the open ones; false when a worker that
// filled it took it first.
func (c *combiner) detach(g *writeGroup) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.open[g.folder] != g {
		return false
	}
	delete(c.open, g.folder)
	return true
}

// send writes the group and hands each worker its result.
func (c *combiner) send(g *writeGroup) {
	if len(g.ps) == 1 {
		id, err := c.target.CreateItem(g.ctx, g.folder, g.ps[0])
		g.done[0] <- mailbox.BatchResult{ID: id, Err: err}
		return
	}
	res, err := c.dst.CreateBatch(g.ctx, g.folder, g.ps)
	for i, ch := range g.done {
		switch {
		case i < len(res) && (res[i].ID != "" || res[i].Err != nil):
			ch <- res[i]
		case err != nil:
			ch <- mailbox.BatchResult{Err: err}
		default:
			ch <- mailbox.BatchResult{Err: fmt.Errorf("the target's batch answer has no result for item %d of %d", i+1, len(g.ps))}
		}
	}
}
