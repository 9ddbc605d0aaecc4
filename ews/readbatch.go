package ews

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/exmigrate/exmigrate/mailbox"
)

// Batched reads (issue 16). One GetItem or ExportItems per item costs a
// round trip per item, which at a WAN's latency is most of a copy's time;
// both operations take many ids and answer one response message per id,
// in the order of the ids (getitem-operation.md), so ReadBatch asks for a
// batch at once and streams each item's content to the caller as its
// message arrives: the XML decoder's buffer and the base64 of one item at
// a time, never a whole answer.

// MaxReadBatch is the most items ReadBatch takes in one call. EWS
// documents no limit on GetItem's ItemIds; Microsoft's guidance on batch
// requests and exchangelib (its default chunk size) use 100, as does
// ExportItems (MaxExportBatch), so a server's throttling policy sees the
// batches it was tuned for. More is refused before any request.
const MaxReadBatch = 100

// ErrBatchTooLarge is ReadBatch's refusal of more than MaxReadBatch items.
var ErrBatchTooLarge = errors.New("more items than MaxReadBatch in one batch")

// ReadBatch reads several items' content (mailbox.BatchReader): one
// GetItem with IncludeMimeContent (FormatMIME) or one ExportItems
// (FormatFullFidelity) for the batch, calling fn once per item, in the
// order given, with its content (valid only during the call: fn must not
// keep it) or with that item's own error and a nil reader: an item
// deleted meanwhile is its mailbox.ErrNotFound, and the others are read.
// A failure of a whole request is ReadBatch's error, and the items fn has
// not seen are not read; a request throttled before fn saw any of its
// items is retried whole. The caller bounds the batch by count and by the
// listing's sizes; more than MaxReadBatch items is refused with
// ErrBatchTooLarge, and known sizes (Item.SizeBytes) over
// MaxExportBatchBytes are split into several requests so that one answer
// a dropped connection loses is not hundreds of megabytes.
//
// FormatTyped reads the batch with two GetItem requests, the items'
// elements then each type's properties (readtyped.go), plus what one item
// needs beyond (a photo, exceptions, attachments) just before fn sees
// it; public folder items are read one by one.
func (m *Mailbox) ReadBatch(ctx context.Context, items []mailbox.Item, format mailbox.Format, fn func(it mailbox.Item, body io.Reader, err error) error) error {
	if len(items) > MaxReadBatch {
		return mailbox.Permanent(fmt.Errorf("ews: read %d items from %s: %w (%d)", len(items), m.address, ErrBatchTooLarge, MaxReadBatch))
	}
	switch format {
	case mailbox.FormatMIME:
		return m.resume(ctx, items, fn, func(items []mailbox.Item, each func(string, io.Reader, error) error) error {
			return m.readMIMEItems(ctx, items, each)
		})
	case mailbox.FormatFullFidelity:
		return m.resume(ctx, items, fn, func(items []mailbox.Item, each func(string, io.Reader, error) error) error {
			return m.ExportBatch(ctx, items, func(id string, data io.Reader, err error) error {
				if err != nil {
					err = fmt.Errorf("export %s from %s: %w", id, m.address, err)
				}
				return each(id, data, err)
			})
		})
	case mailbox.FormatTyped:
		if !slices.ContainsFunc(items, func(it mailbox.Item) bool { _, _, p := splitPF(it.ID); return p }) {
			return m.readTypedItems(ctx, items, fn)
		}
		for _, it := range items { // public folder items route one by one
			if err := m.readOne(ctx, it, format, fn); err != nil {
				return err
			}
		}
		return nil
	}
	return mailbox.Permanent(fmt.Errorf("ews: read %d items from %s as %s: %w", len(items), m.address, format, mailbox.ErrUnsupported))
}

// errStopped aborts the walk of an answer at the first item Exchange
// did not process (resume).
var errStopped = errors.New("ews: the server stopped processing the batch")

// batchStopped reports whether an item's error says Exchange did not
// process it: ResponseClass Warning, ErrorBatchProcessingStopped, which
// follows an error that stopped the batch midway (responsemessage.md:
// the store offline, a mailbox move, a quota).
func batchStopped(err error) bool {
	var re *ResponseError
	return errors.As(err, &re) && re.Code == "ErrorBatchProcessingStopped"
}

// resume runs read over items, handing fn each item in order, and asks
// again for the rest of an answer from its first item that Exchange
// stopped processing (batchStopped), or answered busy alone after fn saw
// others (the client retries a request throttled before that), so that
// they are read instead of failing: a stop at once, a busy item after its
// back-off and at most MaxRetries times. Each round hands fn at least one
// item (a first item answered so is handed over with its error), so it
// ends.
func (m *Mailbox) resume(ctx context.Context, items []mailbox.Item, fn func(mailbox.Item, io.Reader, error) error,
	read func(items []mailbox.Item, each func(id string, r io.Reader, err error) error) error) error {
	cfg := m.c.cfg
	busyRounds := 0
	for len(items) > 0 {
		i := 0
		var wait time.Duration
		err := read(items, func(_ string, r io.Reader, err error) error {
			var re *ResponseError
			switch {
			case i == 0:
			case batchStopped(err):
				return errStopped
			case busyRounds < cfg.MaxRetries && errors.As(err, &re) && re.throttling() && re.BackOff <= cfg.MaxBackOff:
				wait = max(re.BackOff, jitter(cfg.RetryBase))
				return errStopped
			}
			it := items[i]
			i++
			if err != nil {
				r = nil
			}
			return fn(it, r, err)
		})
		if errors.Is(err, errStopped) {
			if wait > 0 {
				busyRounds++
				m.c.pool.pause(wait)
				if err := sleep(ctx, wait); err != nil {
					return fmt.Errorf("read %d items from %s: %w", len(items)-i, m.address, err)
				}
			}
			items = items[i:]
			continue
		}
		return err
	}
	return nil
}

// readMIMEItems is ReadBatch's MIME path: one GetItem per run of items
// that exportBatches keeps together (all of them but for their sizes);
// public folder items go by their folder's route (readPublicMIME).
func (m *Mailbox) readMIMEItems(ctx context.Context, items []mailbox.Item, fn func(id string, r io.Reader, err error) error) error {
	each := func(id string, r io.Reader, err error) error {
		if err != nil {
			err = fmt.Errorf("read %s from %s: %w", id, m.address, err)
		}
		return fn(id, r, err)
	}
	ids := make([]string, len(items))
	public := false
	for k, it := range items {
		ids[k] = it.ID
		_, _, p := splitPF(it.ID)
		public = public || p
	}
	if public && m.address != "" {
		return m.readPublicMIME(ctx, ids, each)
	}
	off := 0
	for _, batch := range exportBatches(items) {
		run := ids[off : off+len(batch)]
		off += len(batch)
		if err := m.c.readMIMEBatch(ctx, m.address, run, each); err != nil {
			var p *permanent
			if errors.As(err, &p) {
				err = p.err
			}
			return fmt.Errorf("read %d items from %s: %w", len(batch), m.address, err)
		}
	}
	return nil
}

// readOne reads one item as OpenItem does for ReadBatch: an answer about
// the item itself (not found, refused, unsupported: mailbox.IsPermanent)
// is the item's error, for fn; anything else (throttling the client gave
// up on, a dropped connection, a cancelled context) is the batch's.
func (m *Mailbox) readOne(ctx context.Context, it mailbox.Item, format mailbox.Format, fn func(it mailbox.Item, body io.Reader, err error) error) error {
	rc, err := m.OpenItem(ctx, it.ID, format)
	if err != nil {
		if mailbox.IsPermanent(err) && ctx.Err() == nil {
			return fn(it, nil, err)
		}
		return err
	}
	defer rc.Close()
	return fn(it, rc, nil)
}
