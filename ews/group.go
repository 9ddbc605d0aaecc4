package ews

import (
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
	items, err := getItems[groupXML](ctx, c, mbx, []string{itemID}, groupShape)
	if err != nil {
		return mailbox.ContactGroup{}, err
	}
	return finishGroup(itemID, &items[0])
}

func groupShape(gi *etree.Element) { idOnlyShape(gi, "Text", groupFields) }

// finishGroup makes a contact group of GetItem's answer.
func finishGroup(itemID string, x *groupXML) (mailbox.ContactGroup, error) {
	if err := readAs(itemID, x.XMLName, "DistributionList", "contact group"); err != nil {
		return mailbox.ContactGroup{}, err
	}
	return x.group(), nil
}

// OpenContactGroup reads a contact group as EncodeContactGroup's JSON.
func (m *Mailbox) OpenContactGroup(ctx context.Context, itemID string) (io.ReadCloser, error) {
	return openEncoded(ctx, m, itemID, "contact group", m.c.getGroup, mailbox.EncodeContactGroup)
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
	id, err := m.c.createTyped(ctx, m.address, folderID, false, func(items *etree.Element) { groupItem(items, g, sourceStamp(p.SourceID)) })
	if err != nil {
		return "", fmt.Errorf("create contact group %s in %s: %w", p.SourceID, m.address, err)
	}
	return id, nil
}

// nameOf is a mailbox's display name, empty when Exchange answers the
// address in its place.
func nameOf(m mailboxXML) string {
	if m.Name == m.EmailAddress {
		return ""
	}
	return m.Name
}
