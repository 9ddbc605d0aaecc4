package engine

import (
	"bytes"
	"context"
	"io"
	"sync"

	"github.com/exmigrate/exmigrate/mailbox"
)

// A source that reads many items in one request (mailbox.BatchReader: EWS
// GetItem and ExportItems take many ids) is read in batches: at a real
// network's latency one request per item is most of a copy's time. The
// small items of a page that will be written are grouped in page order,
// by the format their kind moves in, up to batchItems items and
// batchBytes bytes (from the listing's sizes); the first worker that
// needs an item of a batch reads the whole batch, and the others take
// their item's body from it. A body is handed out once (a retry reads
// the item alone), and a batch is dropped as soon as its last body is
// taken, so at most about one batch per worker is held in memory.

const (
	// batchItems and batchBytes bound one batch read.
	batchItems = 100
	batchBytes = 4 << 20
	// batchItemMax is the largest item read in a batch; a larger one is
	// streamed alone.
	batchItemMax = 512 << 10
)

// itemsLookup is a Store that reads the records of many items in one
// call (both state stores are): one query per page instead of one per
// item. The map holds the items recorded; an item not in it has no record.
type itemsLookup interface {
	ItemsBySource(ctx context.Context, jobID int64, sourceIDs []string) (map[string]ItemRecord, error)
}

// prefetch holds the batches of one page.
type prefetch struct {
	src     mailbox.BatchReader
	mu      sync.Mutex
	batchOf map[string]*batch // item id -> its batch
	// recs are the item records read to plan the batches, by stamp, for
	// the item's worker to take instead of reading them again: only that
	// worker writes its item's record, after it took it.
	recs map[string]recLookup
}

type recLookup struct {
	rec   ItemRecord
	found bool
}

type batch struct {
	items  []mailbox.Item
	format mailbox.Format
	once   sync.Once
	err    error
	// bodies are the fetched contents by item id, or the item's own error.
	bodies map[string][]byte
	errs   map[string]error
	left   int
}

// newPrefetch plans the batches of a page's items that need a body read;
// nil when the source does not read in batches or nothing qualifies.
func (r *mailboxRun) newPrefetch(ctx context.Context, store mailbox.Scope, changes []mailbox.Change) *prefetch {
	br, ok := r.src.(mailbox.BatchReader)
	if !ok || r.opts.DryRun {
		return nil
	}
	p := &prefetch{src: br, batchOf: map[string]*batch{}, recs: map[string]recLookup{}}
	// An item changed twice in one page is read by two workers: its
	// record is not kept for them (the first may write it first).
	twice := map[string]bool{}
	seen := map[string]bool{}
	for _, ch := range changes {
		twice[ch.Item.ID] = seen[ch.Item.ID]
		seen[ch.Item.ID] = true
	}
	open := map[mailbox.Format]*batch{}
	var openBytes = map[mailbox.Format]int64{}
	qualifies := func(ch mailbox.Change) bool {
		it := ch.Item
		return (ch.Kind == mailbox.ChangeCreated || ch.Kind == mailbox.ChangeUpdated) && it.ID != "" && !twice[it.ID] &&
			it.SizeBytes > 0 && it.SizeBytes <= batchItemMax
	}
	// The records of the page's items, in one query where the store can.
	var sids []string
	for _, ch := range changes {
		if qualifies(ch) {
			sids = append(sids, SourceID(r.key, ch.Item.ID))
		}
	}
	known, err := r.records(ctx, sids)
	if err != nil {
		known = nil // each item is looked up alone, below
	}
	for _, ch := range changes {
		it := ch.Item
		if !qualifies(ch) {
			continue
		}
		route, gap := r.route(store, it.Kind())
		if gap != nil {
			continue
		}
		// Only an item that is not copied yet needs its body (a typed
		// item's update reads its own).
		sid := SourceID(r.key, it.ID)
		var rec ItemRecord
		var found bool
		if known != nil {
			rec, found = known[sid]
		} else {
			var err error
			if rec, found, err = r.c.Store.Item(ctx, r.job.ID, sid); err != nil {
				continue
			}
		}
		p.recs[sid] = recLookup{rec, found}
		if found && rec.Outcome != ItemPending {
			continue
		}
		b := open[route.Format]
		if b == nil || len(b.items) >= batchItems || openBytes[route.Format]+it.SizeBytes > batchBytes {
			b = &batch{format: route.Format}
			open[route.Format], openBytes[route.Format] = b, 0
		}
		b.items = append(b.items, it)
		b.left++
		openBytes[route.Format] += it.SizeBytes
		p.batchOf[it.ID] = b
	}
	if len(p.batchOf) == 0 && len(p.recs) == 0 {
		return nil
	}
	return p
}

// item is the record of the item with stamp sid: the one read to plan the
// batches, handed out once, or read now.
func (r *mailboxRun) item(ctx context.Context, p *prefetch, sid string) (ItemRecord, bool, error) {
	if p != nil {
		p.mu.Lock()
		l, ok := p.recs[sid]
		delete(p.recs, sid)
		p.mu.Unlock()
		if ok {
			return l.rec, l.found, nil
		}
	}
	return r.c.Store.Item(ctx, r.job.ID, sid)
}

// take returns the body of an item read in its batch, reading the batch
// first if no worker has; ok is false when the item is not in a batch or
// its body was taken before (the caller reads it alone).
func (p *prefetch) take(ctx context.Context, it mailbox.Item, format mailbox.Format) (io.ReadCloser, bool, error) {
	if p == nil {
		return nil, false, nil
	}
	p.mu.Lock()
	b := p.batchOf[it.ID]
	delete(p.batchOf, it.ID) // handed out once
	p.mu.Unlock()
	if b == nil || b.format != format {
		return nil, false, nil
	}
	b.once.Do(func() { b.err = b.read(ctx, p.src) })
	p.mu.Lock()
	defer p.mu.Unlock()
	body, have := b.bodies[it.ID]
	ierr := b.errs[it.ID]
	delete(b.bodies, it.ID)
	delete(b.errs, it.ID)
	if b.left--; b.left == 0 {
		b.bodies, b.errs = nil, nil
	}
	switch {
	case b.err != nil && mailbox.IsPermanent(b.err):
		// The batch request was refused as a whole (one item can spoil
		// it): the item is read alone.
		return nil, false, nil
	case b.err != nil:
		// The service failed (unavailable, throttled, cancelled): after
		// the client's own retries, reading alone would only wait as
		// long again.
		return nil, true, b.err
	case ierr != nil:
		return nil, true, ierr
	case !have:
		return nil, false, nil
	}
	return io.NopCloser(bytes.NewReader(body)), true, nil
}

// read fetches the batch's bodies.
func (b *batch) read(ctx context.Context, src mailbox.BatchReader) error {
	bodies := make(map[string][]byte, len(b.items))
	errs := map[string]error{}
	err := src.ReadBatch(ctx, b.items, b.format, func(it mailbox.Item, body io.Reader, err error) error {
		if err != nil {
			errs[it.ID] = err
			return nil
		}
		data, rerr := readAllSized(body, it.SizeBytes)
		if rerr != nil {
			errs[it.ID] = rerr
			return nil
		}
		bodies[it.ID] = data
		return nil
	})
	b.bodies, b.errs = bodies, errs
	return err
}

// readAllSized is io.ReadAll with room for about size bytes from the
// start: the listing's size of a batched item (at most batchItemMax, and
// a batch's sizes sum to at most batchBytes, so the room is bounded). From
// io.ReadAll's 512 bytes, a body of tens of KB was copied over six times
// as the slice grew.
func readAllSized(r io.Reader, size int64) ([]byte, error) {
	size = min(max(size, 0), batchItemMax)
	b := make([]byte, 0, size+size/8+512)
	for {
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)] // let append grow it
		}
	}
}
