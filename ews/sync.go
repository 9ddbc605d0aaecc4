package ews

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"

	"github.com/exmigrate/exmigrate/mailbox"
)

// MaxSyncChanges is the most MaxChangesReturned may be (MaxSyncChangesReturnedType).
const MaxSyncChanges = 512

// --- SyncFolderItems ---

type syncItemsResponse struct {
	Messages []struct {
		responseMessage
		SyncState               string `xml:"http://schemas.microsoft.com/exchange/services/2006/messages SyncState"`
		IncludesLastItemInRange bool   `xml:"http://schemas.microsoft.com/exchange/services/2006/messages IncludesLastItemInRange"`
		Changes                 struct {
			Entries []syncChangeXML `xml:",any"`
		} `xml:"http://schemas.microsoft.com/exchange/services/2006/messages Changes"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/messages ResponseMessages>SyncFolderItemsResponseMessage"`
}

// syncChangeXML is Create/Update (an item), Delete (ItemId) or ReadFlagChange.
type syncChangeXML struct {
	XMLName xml.Name
	Items   []itemXML `xml:",any"`
	IsRead  bool      `xml:"http://schemas.microsoft.com/exchange/services/2006/types IsRead"`
}

func (c *Client) syncItems(ctx context.Context, mbx, folderID, state string, max int) (mailbox.ChangePage, error) {
	if max <= 0 || max > MaxSyncChanges {
		max = MaxSyncChanges
	}
	r := c.newRequest(mbx)
	sf := r.body.CreateElement("m:SyncFolderItems")
	itemShape(sf)
	c.folderRef(sf.CreateElement("m:SyncFolderId"), folderID, mbx)
	if state != "" {
		elem(sf, "m:SyncState", state)
	}
	elem(sf, "m:MaxChangesReturned", strconv.Itoa(max))
	elem(sf, "m:SyncScope", "NormalItems")
	var resp syncItemsResponse
	err := c.do(ctx, call{op: "SyncFolderItems", anchor: mbx, body: r.bytes(), idempotent: true}, func(rd io.Reader, st int) error {
		if err := decodeResponse(rd, "SyncFolderItems", st, &resp); err != nil {
			return err
		}
		if len(resp.Messages) != 1 {
			return fmt.Errorf("EWS SyncFolderItems: %d answers for one folder", len(resp.Messages))
		}
		return resp.Messages[0].err("SyncFolderItems", -1)
	})
	if err != nil {
		return mailbox.ChangePage{}, err
	}
	m := &resp.Messages[0]
	page := mailbox.ChangePage{State: m.SyncState, More: !m.IncludesLastItemInRange}
	for _, ch := range m.Changes.Entries {
		var kind mailbox.ChangeKind
		switch ch.XMLName.Local {
		case "Create":
			kind = mailbox.ChangeCreated
		case "Update":
			kind = mailbox.ChangeUpdated
		case "Delete":
			kind = mailbox.ChangeDeleted
		case "ReadFlagChange":
			kind = mailbox.ChangeReadFlag
		default:
			continue
		}
		var it mailbox.Item
		for i := range ch.Items {
			x := &ch.Items[i]
			if x.XMLName.Local == "ItemId" { // Delete and ReadFlagChange hold a bare ItemId
				it.ID, it.ChangeKey = x.AttrID, x.AttrChangeKey
				continue
			}
			if x.XMLName.Local == "IsRead" {
				continue
			}
			it = x.item()
		}
		if kind == mailbox.ChangeReadFlag {
			it.IsRead = ch.IsRead
		}
		if it.FolderID == "" {
			it.FolderID = folderID
		}
		page.Changes = append(page.Changes, mailbox.Change{Kind: kind, Item: it})
	}
	return page, nil
}
