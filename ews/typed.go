package ews

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"

	"github.com/exmigrate/exmigrate/mailbox"
)

// itemElement asks GetItem which element an item answers as (Contact,
// DistributionList, CalendarItem, Task, Message ...): the typed read
// that follows asks for that type's properties only.
func (c *Client) itemElement(ctx context.Context, mbx, itemID string) (string, error) {
	r := c.newRequest(mbx)
	gi := r.body.CreateElement("m:GetItem")
	is := gi.CreateElement("m:ItemShape")
	elem(is, "t:BaseShape", "IdOnly")
	fieldURI(is.CreateElement("t:AdditionalProperties"), "item:ItemClass")
	gi.CreateElement("m:ItemIds").CreateElement("t:ItemId").CreateAttr("Id", itemID)
	type probe struct {
		XMLName xml.Name
	}
	msgs, err := callOp[probe](ctx, c, mbx, "GetItem", r, true, 1)
	if err != nil {
		return "", err
	}
	if len(msgs[0].Items.Items) != 1 {
		return "", fmt.Errorf("EWS GetItem: %d items for one id", len(msgs[0].Items.Items))
	}
	return msgs[0].Items.Items[0].XMLName.Local, nil
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
