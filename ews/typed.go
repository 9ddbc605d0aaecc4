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

// itemElement asks GetItem which element an item answers as (Contact,
// DistributionList, CalendarItem, Task, Message ...): the typed read
// that follows asks for that type's properties only.
func (c *Client) itemElement(ctx context.Context, mbx, itemID string) (string, error) {
	type probe struct {
		XMLName xml.Name
	}
	items, err := getItems[probe](ctx, c, mbx, []string{itemID}, func(gi *etree.Element) { idOnlyShape(gi, "", []string{"item:ItemClass"}) })
	if err != nil {
		return "", err
	}
	return items[0].XMLName.Local, nil
}

// openTyped reads an item's typed properties by the element it answers as.
func (m *Mailbox) openTyped(ctx context.Context, itemID string) (io.ReadCloser, error) {
	el, err := m.c.itemElement(ctx, m.address, itemID)
	if err != nil {
		return nil, fmt.Errorf("read %s in %s: %w", itemID, m.address, err)
	}
	switch el {
	case "Contact":
		return m.OpenContact(ctx, itemID)
	case "DistributionList":
		return m.OpenContactGroup(ctx, itemID)
	case "CalendarItem":
		return m.OpenEvent(ctx, itemID)
	case "Task":
		return m.OpenTask(ctx, itemID)
	}
	return nil, mailbox.Permanent(fmt.Errorf("ews: read %s (a %s) in %s as %s: %w", itemID, el, m.address, mailbox.FormatTyped, mailbox.ErrUnsupported))
}

// createContactOrGroup writes a typed contact or contact group, told
// apart by the typed body's kind.
func (m *Mailbox) createContactOrGroup(ctx context.Context, folderID string, p mailbox.Payload) (string, error) {
	data, err := io.ReadAll(io.LimitReader(p.Body, 32<<20))
	if err != nil {
		return "", err
	}
	kind, err := mailbox.TypedKindOf(data)
	if err != nil {
		return "", mailbox.Permanent(fmt.Errorf("create contact %s in %s: %w", p.SourceID, m.address, err))
	}
	p.Body = bytes.NewReader(data)
	if kind == "contactgroup" {
		return m.CreateContactGroup(ctx, folderID, p)
	}
	return m.CreateContact(ctx, folderID, p)
}

// openEncoded reads an item with get and answers it as encode's JSON;
// what names the kind in errors. What the model refuses (Exchange held
// something it does not allow) is permanent: no retry changes it.
func openEncoded[T any](ctx context.Context, m *Mailbox, itemID, what string, get func(context.Context, string, string) (T, error), encode func(T) ([]byte, error)) (io.ReadCloser, error) {
	v, err := get(ctx, m.address, itemID)
	if err != nil {
		return nil, fmt.Errorf("read %s %s in %s: %w", what, itemID, m.address, err)
	}
	body, err := encode(v)
	if err != nil {
		return nil, mailbox.Permanent(fmt.Errorf("read %s %s in %s: %w", what, itemID, m.address, err))
	}
	return io.NopCloser(bytes.NewReader(body)), nil
}
