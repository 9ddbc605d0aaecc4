package ews

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"

	"github.com/exmigrate/exmigrate/mailbox"
)

// Batched full-fidelity reads. ExportItems takes many ItemIds in one
// request (ExportItemsType's ItemIds is unbounded); Microsoft suggests at
// most 100 items per call (how-to-export-items, items.md E1). Each item's
// data arrives in its own response message, in the order of the ids, and
// is streamed to the caller as it arrives, never held whole.

// MaxExportBatch is the most items ExportBatch asks for in one request:
// Microsoft's suggested bound.
const MaxExportBatch = 100

// MaxExportBatchBytes bounds the sizes (Item.SizeBytes, as the listing
// reports them) of the items of one request, so that one answer does not
// carry hundreds of megabytes that a dropped connection would make the
// client read again. An item over it goes alone.
const MaxExportBatchBytes = 50 << 20

// exportBatches splits items into requests of at most MaxExportBatch
// items whose known sizes sum to at most MaxExportBatchBytes (an item over
// the bound alone; an unknown size, 0 or less, counts as nothing).
func exportBatches(items []mailbox.Item) [][]mailbox.Item {
	var out [][]mailbox.Item
	var cur []mailbox.Item
	var bytes int64
	for _, it := range items {
		size := max(it.SizeBytes, 0)
		if len(cur) > 0 && (len(cur) == MaxExportBatch || bytes+size > MaxExportBatchBytes) {
			out = append(out, cur)
			cur, bytes = nil, 0
		}
		cur = append(cur, it)
		bytes += size
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// ExportBatch reads items in full fidelity with as few ExportItems
// requests as MaxExportBatch and MaxExportBatchBytes allow (the sizes from
// the listing), calling fn in order with each item's id and its data
// stream (the bytes OpenItem(id, FormatFullFidelity) reads), or with its
// own error and a nil reader: an item deleted meanwhile fails alone. fn
// must not keep the reader after it returns; an error fn returns stops
// the export and is returned. A request throttled before any of its items
// reached fn is retried whole; after that, a failure is returned, and the
// items fn has not seen are not exported (the caller exports them again).
// Public folder items are refused: ExportItems is not documented there.
func (m *Mailbox) ExportBatch(ctx context.Context, items []mailbox.Item, fn func(id string, data io.Reader, err error) error) error {
	for _, it := range items {
		if _, _, _, _, ok := m.public(ctx, it.ID); ok {
			return errPublicFullFidelity("export " + it.ID)
		}
	}
	for _, batch := range exportBatches(items) {
		ids := make([]string, len(batch))
		for i, it := range batch {
			ids[i] = it.ID
		}
		if err := m.c.exportBatch(ctx, m.address, ids, fn); err != nil {
			var p *permanent
			if errors.As(err, &p) {
				err = p.err
			}
			return fmt.Errorf("export %d items from %s: %w", len(ids), m.address, err)
		}
	}
	return nil
}

// exportBatch sends one ExportItems for ids and hands each answer to fn
// in order (streamBatch).
func (c *Client) exportBatch(ctx context.Context, mbx string, ids []string, fn func(id string, data io.Reader, err error) error) error {
	r := c.newRequest(mbx)
	idList(r.body.CreateElement("m:ExportItems"), "m:ItemIds", "t:ItemId", ids)
	return c.streamBatch(ctx, call{op: "ExportItems", anchor: mbx, body: r.bytes(), idempotent: true},
		xml.Name{Space: nsMessages, Local: "Data"}, ids, fn)
}
