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

// Contact groups travel as mailbox.ContactGroup (FormatTyped):
// t:DistributionList with DisplayName, FileAs and Members (items.md E6),
// each member a Mailbox with its name and address.

var groupFields = []string{"item:ItemClass", "item:Body", "item:Categories", "contacts:DisplayName", "contacts:FileAs", "distributionlist:Members"}

type groupXML struct {
	XMLName     xml.Name
	ItemID      idXML    `xml:"http://schemas.microsoft.com/exchange/services/2006/types ItemId"`
	Body        bodyXML  `xml:"http://schemas.microsoft.com/exchange/services/2006/types Body"`
	Categories  []string `xml:"http://schemas.microsoft.com/exchange/services/2006/types Categories>String"`
	DisplayName string   `xml:"http://schemas.microsoft.com/exchange/services/2006/types DisplayName"`
	FileAs      string   `xml:"http://schemas.microsoft.com/exchange/services/2006/types FileAs"`
	Members     []struct {
		Mailbox mailboxXML `xml:"http://schemas.microsoft.com/exchange/services/2006/types Mailbox"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/types Members>Member"`
}

func (x *groupXML) group() mailbox.ContactGroup {
	g := mailbox.ContactGroup{DisplayName: x.DisplayName, FileAs: x.FileAs, Categories: x.Categories}
	g.Body, _ = x.Body.text()
	for _, m := range x.Members {
		if m.Mailbox.EmailAddress == "" {
			continue // a member without an address (a nested group's) has no place in the model
		}
		g.Members = append(g.Members, mailbox.ContactEmail{Name: nameOf(m.Mailbox), Address: m.Mailbox.EmailAddress})
	}
	return g
}

func (c *Client) getGroup(ctx context.Context, mbx, itemID string) (mailbox.ContactGroup, error) {
	r := c.newRequest(mbx)
	gi := r.body.CreateElement("m:GetItem")
	is := gi.CreateElement("m:ItemShape")
	elem(is, "t:BaseShape", "IdOnly")
	elem(is, "t:BodyType", "Text")
	ap := is.CreateElement("t:AdditionalProperties")
	for _, f := range groupFields {
		fieldURI(ap, f)
	}
	gi.CreateElement("m:ItemIds").CreateElement("t:ItemId").CreateAttr("Id", itemID)
	msgs, err := callOp[groupXML](ctx, c, mbx, "GetItem", r, true, 1)
	if err != nil {
		return mailbox.ContactGroup{}, err
	}
	if len(msgs[0].Items.Items) != 1 {
		return mailbox.ContactGroup{}, fmt.Errorf("EWS GetItem: %d items for one id", len(msgs[0].Items.Items))
	}
	x := &msgs[0].Items.Items[0]
	if x.XMLName.Local != "DistributionList" {
		return mailbox.ContactGroup{}, mailbox.Permanent(fmt.Errorf("ews: read %s (a %s) as a contact group: %w", itemID, x.XMLName.Local, mailbox.ErrUnsupported))
	}
	return x.group(), nil
}

// OpenContactGroup reads a contact group as EncodeContactGroup's JSON.
func (m *Mailbox) OpenContactGroup(ctx context.Context, itemID string) (io.ReadCloser, error) {
	g, err := m.c.getGroup(ctx, m.address, itemID)
	if err != nil {
		return nil, fmt.Errorf("read contact group %s in %s: %w", itemID, m.address, err)
	}
	body, err := mailbox.EncodeContactGroup(g)
	if err != nil {
		return nil, mailbox.Permanent(fmt.Errorf("read contact group %s in %s: %w", itemID, m.address, err))
	}
	return io.NopCloser(bytes.NewReader(body)), nil
}

// groupItem writes g as a t:DistributionList in DistributionListType order.
func groupItem(parent *etree.Element, g mailbox.ContactGroup, stamp func(*etree.Element)) {
	dl := parent.CreateElement("t:DistributionList")
	elem(dl, "t:Subject", g.DisplayName)
	writeBody(dl, g.Body, false)
	writeStrings(dl, "t:Categories", g.Categories)
	if stamp != nil {
		stamp(dl)
	}
	elem(dl, "t:DisplayName", g.DisplayName)
	if g.FileAs != "" {
		elem(dl, "t:FileAs", g.FileAs)
	}
	if len(g.Members) > 0 {
		ms := dl.CreateElement("t:Members")
		for _, m := range g.Members {
			mb := ms.CreateElement("t:Member").CreateElement("t:Mailbox")
			if m.Name != "" {
				elem(mb, "t:Name", m.Name)
			}
			elem(mb, "t:EmailAddress", m.Address)
			elem(mb, "t:RoutingType", "SMTP")
			elem(mb, "t:MailboxType", "OneOff")
		}
	}
}

// CreateContactGroup writes a typed contact group payload.
func (m *Mailbox) CreateContactGroup(ctx context.Context, folderID string, p mailbox.Payload) (string, error) {
	g, err := mailbox.DecodeContactGroup(p.Body)
	if err != nil {
		return "", mailbox.Permanent(fmt.Errorf("create contact group %s in %s: %w", p.SourceID, m.address, err))
	}
	r := m.c.newRequest(m.address)
	ci := r.body.CreateElement("m:CreateItem")
	m.c.folderRef(ci.CreateElement("m:SavedItemFolderId"), folderID, m.address)
	var stamp func(*etree.Element)
	if p.SourceID != "" {
		stamp = stampWith(sourceIDURI, p.SourceID)
	}
	groupItem(ci.CreateElement("m:Items"), g, stamp)
	msgs, err := callOp[idOnlyXML](ctx, m.c, m.address, "CreateItem", r, false, 1)
	if err != nil {
		return "", fmt.Errorf("create contact group %s in %s: %w", p.SourceID, m.address, err)
	}
	if len(msgs[0].Items.Items) == 0 {
		return "", fmt.Errorf("create contact group %s in %s: EWS CreateItem: no item id in the answer", p.SourceID, m.address)
	}
	return msgs[0].Items.Items[0].ItemID.ID, nil
}

// nameOf is a mailbox's display name, empty when Exchange answers the
// address in its place.
func nameOf(m mailboxXML) string {
	if m.Name == m.EmailAddress {
		return ""
	}
	return m.Name
}
