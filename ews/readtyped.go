package ews

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"

	"github.com/beevik/etree"

	"github.com/exmigrate/exmigrate/mailbox"
)

// Typed reads in batches. A typed item is read in two steps, each one
// GetItem for the whole batch: which element each item answers as
// (Contact, DistributionList, CalendarItem, Task ...), then, per element,
// that type's properties. What an item needs beyond (a contact's photo, an
// event's exceptions, attachments) is read for that item alone, just
// before fn sees it, so that the batch never holds those in memory.

// getItemsEach is getItems for a batch whose items fail alone: one
// GetItem for ids, each item's answer or its own error, in order. An item
// answered with a throttling code makes the request retried whole (the
// client's retry, nothing handed out yet); the items Exchange stopped
// processing (ErrorBatchProcessingStopped) are asked for again.
func getItemsEach[T any](ctx context.Context, c *Client, mbx string, ids []string, shape func(gi *etree.Element)) ([]T, []error, error) {
	out := make([]T, len(ids))
	errs := make([]error, len(ids))
	for start := 0; start < len(ids); {
		r := c.newRequest(mbx)
		gi := r.body.CreateElement("m:GetItem")
		shape(gi)
		idList(gi, "m:ItemIds", "t:ItemId", ids[start:])
		n := len(ids) - start
		var resp opResponse[T]
		err := c.do(ctx, call{op: "GetItem", anchor: mbx, body: r.bytes(), idempotent: true}, func(rd io.Reader, st int) error {
			if err := decodeResponse(rd, "GetItem", st, &resp); err != nil {
				return err
			}
			if len(resp.RM.Messages) != n {
				return &MalformedError{Operation: "GetItem", Status: st, Reason: fmt.Sprintf("%d answers for %d ids", len(resp.RM.Messages), n)}
			}
			for i := range resp.RM.Messages {
				if re, ok := resp.RM.Messages[i].err("GetItem", i).(*ResponseError); ok && re.throttling() {
					return re
				}
			}
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
		start += eachAnswer(resp.RM.Messages, out[start:], errs[start:])
	}
	return out, errs, nil
}

// eachAnswer reads GetItem's messages, one per id, into out (the item)
// or errs (its own error), and returns how many it read: the messages
// from the first one Exchange stopped processing on
// (ErrorBatchProcessingStopped, not the first message) are left for the
// next request. It reads at least one message when there is one.
func eachAnswer[T any](msgs []opMessage[T], out []T, errs []error) int {
	for i, msg := range msgs {
		if i >= len(out) {
			return i
		}
		ierr := msg.err("GetItem", i)
		if i > 0 && batchStopped(ierr) {
			return i // ask again from here
		}
		switch {
		case ierr != nil:
			errs[i] = ierr
		case len(msg.Items.Items) != 1:
			errs[i] = &MalformedError{Operation: "GetItem", Status: 200, Reason: fmt.Sprintf("%d items for one id", len(msg.Items.Items))}
		default:
			out[i] = msg.Items.Items[0]
		}
	}
	return len(msgs)
}

// typedOf reads the properties of the items at idx (of ids) of one type
// with one GetItem, keyed by their index.
func typedOf[T any](ctx context.Context, c *Client, mbx string, ids []string, idx []int, shape func(gi *etree.Element)) (map[int]*T, map[int]error, error) {
	if len(idx) == 0 {
		return nil, nil, nil
	}
	sub := make([]string, len(idx))
	for i, k := range idx {
		sub[i] = ids[k]
	}
	got, errs, err := getItemsEach[T](ctx, c, mbx, sub, shape)
	if err != nil {
		return nil, nil, err
	}
	vals, ierrs := map[int]*T{}, map[int]error{}
	for i, k := range idx {
		if errs[i] != nil {
			ierrs[k] = errs[i]
		} else {
			vals[k] = &got[i]
		}
	}
	return vals, ierrs, nil
}

// readTypedItems is ReadBatch's typed path (see the comment above). An
// answer about one item (not found, refused, a kind that has no typed
// form: mailbox.IsPermanent) is that item's error; anything else is the
// batch's, and the items fn has not seen are not read.
func (m *Mailbox) readTypedItems(ctx context.Context, items []mailbox.Item, fn func(it mailbox.Item, body io.Reader, err error) error) error {
	c, mbx := m.c, m.address
	ids := make([]string, len(items))
	for k, it := range items {
		ids[k] = it.ID
	}
	type probe struct {
		XMLName xml.Name
	}
	batchErr := func(err error) error { return fmt.Errorf("read %d items from %s: %w", len(items), mbx, err) }
	els, errs, err := getItemsEach[probe](ctx, c, mbx, ids, func(gi *etree.Element) { idOnlyShape(gi, "", []string{"item:ItemClass"}) })
	if err != nil {
		return batchErr(err)
	}
	byEl := map[string][]int{}
	for k := range items {
		if errs[k] == nil {
			byEl[els[k].XMLName.Local] = append(byEl[els[k].XMLName.Local], k)
		}
	}
	contacts, cerrs, err := typedOf[contactXML](ctx, c, mbx, ids, byEl["Contact"], contactShape)
	if err != nil {
		return batchErr(err)
	}
	groups, gerrs, err := typedOf[groupXML](ctx, c, mbx, ids, byEl["DistributionList"], groupShape)
	if err != nil {
		return batchErr(err)
	}
	events, eerrs, err := typedOf[calendarItemXML](ctx, c, mbx, ids, byEl["CalendarItem"], func(gi *etree.Element) { calendarShape(gi, calendarFields) })
	if err != nil {
		return batchErr(err)
	}
	tasks, terrs, err := typedOf[taskXML](ctx, c, mbx, ids, byEl["Task"], taskShape)
	if err != nil {
		return batchErr(err)
	}
	for k, it := range items {
		var body []byte
		err := errs[k]
		if err == nil {
			body, err = m.finishTyped(ctx, it.ID, els[k].XMLName.Local, k, contacts, groups, events, tasks, cerrs, gerrs, eerrs, terrs)
		}
		if err != nil {
			err = fmt.Errorf("read %s in %s: %w", it.ID, mbx, err)
			if !mailbox.IsPermanent(err) || ctx.Err() != nil {
				return err
			}
			if err := fn(it, nil, err); err != nil {
				return err
			}
			continue
		}
		if err := fn(it, bytes.NewReader(body), nil); err != nil {
			return err
		}
	}
	return nil
}

// finishTyped encodes item k, read as el, as its kind's JSON.
func (m *Mailbox) finishTyped(ctx context.Context, id, el string, k int, contacts map[int]*contactXML, groups map[int]*groupXML,
	events map[int]*calendarItemXML, tasks map[int]*taskXML, cerrs, gerrs, eerrs, terrs map[int]error) ([]byte, error) {
	c, mbx := m.c, m.address
	encoded := func(b []byte, err error) ([]byte, error) {
		if err != nil {
			return nil, mailbox.Permanent(err)
		}
		return b, nil
	}
	switch el {
	case "Contact":
		if err := cerrs[k]; err != nil {
			return nil, err
		}
		ct, err := c.finishContact(ctx, mbx, id, contacts[k])
		if err != nil {
			return nil, err
		}
		return encoded(mailbox.EncodeContact(ct))
	case "DistributionList":
		if err := gerrs[k]; err != nil {
			return nil, err
		}
		g, err := finishGroup(id, groups[k])
		if err != nil {
			return nil, err
		}
		return encoded(mailbox.EncodeContactGroup(g))
	case "CalendarItem":
		if err := eerrs[k]; err != nil {
			return nil, err
		}
		e, err := c.finishEvent(ctx, mbx, id, events[k])
		if err != nil {
			return nil, err
		}
		return encoded(mailbox.EncodeEvent(e))
	case "Task":
		if err := terrs[k]; err != nil {
			return nil, err
		}
		t, err := c.finishTask(ctx, mbx, id, tasks[k])
		if err != nil {
			return nil, err
		}
		return encoded(mailbox.EncodeTask(t))
	}
	return nil, mailbox.Permanent(fmt.Errorf("ews: read %s (a %s) as %s: %w", id, el, mailbox.FormatTyped, mailbox.ErrUnsupported))
}
