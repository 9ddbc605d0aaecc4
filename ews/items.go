package ews

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/beevik/etree"

	"github.com/exmigrate/exmigrate/mailbox"
)

type itemXML struct {
	XMLName           xml.Name
	AttrID            string       `xml:"Id,attr"` // when the element is a bare ItemId (sync Delete)
	AttrChangeKey     string       `xml:"ChangeKey,attr"`
	ItemID            idXML        `xml:"http://schemas.microsoft.com/exchange/services/2006/types ItemId"`
	ParentFolderID    idXML        `xml:"http://schemas.microsoft.com/exchange/services/2006/types ParentFolderId"`
	ItemClass         string       `xml:"http://schemas.microsoft.com/exchange/services/2006/types ItemClass"`
	Subject           string       `xml:"http://schemas.microsoft.com/exchange/services/2006/types Subject"`
	DateTimeReceived  string       `xml:"http://schemas.microsoft.com/exchange/services/2006/types DateTimeReceived"`
	Size              int64        `xml:"http://schemas.microsoft.com/exchange/services/2006/types Size"`
	Categories        []string     `xml:"http://schemas.microsoft.com/exchange/services/2006/types Categories>String"`
	Importance        string       `xml:"http://schemas.microsoft.com/exchange/services/2006/types Importance"`
	IsDraft           bool         `xml:"http://schemas.microsoft.com/exchange/services/2006/types IsDraft"`
	HasAttachments    bool         `xml:"http://schemas.microsoft.com/exchange/services/2006/types HasAttachments"`
	DateTimeSent      string       `xml:"http://schemas.microsoft.com/exchange/services/2006/types DateTimeSent"`
	ExtendedProperty  []extPropXML `xml:"http://schemas.microsoft.com/exchange/services/2006/types ExtendedProperty"`
	InternetMessageID string       `xml:"http://schemas.microsoft.com/exchange/services/2006/types InternetMessageId"`
	IsRead            bool         `xml:"http://schemas.microsoft.com/exchange/services/2006/types IsRead"`
}

func (it *itemXML) item() mailbox.Item {
	out := mailbox.Item{
		ID: it.ItemID.ID, ChangeKey: it.ItemID.ChangeKey, FolderID: it.ParentFolderID.ID,
		Class: it.ItemClass, Subject: it.Subject, InternetMessageID: it.InternetMessageID,
		SizeBytes: it.Size, Received: parseTime(it.DateTimeReceived), Sent: parseTime(it.DateTimeSent),
		IsRead: it.IsRead, IsDraft: it.IsDraft, Importance: mailbox.Importance(it.Importance),
		Categories: it.Categories, HasAttachments: it.HasAttachments,
	}
	if out.Class == "" {
		out.Class = itemClassOf(it.XMLName.Local)
	}
	out.Flag = mailbox.NotFlagged
	for _, p := range it.ExtendedProperty {
		if strings.EqualFold(p.URI.SetID, mailbox.SourceIDPropertySet) && p.URI.Name == mailbox.SourceIDPropertyName {
			out.SourceID = p.Value
			continue
		}
		if p.tag() == 0x300B { // PR_SEARCH_KEY, base64 on the wire; Fingerprint is hex
			out.Fingerprint = fingerprintOf(p.Value)
			continue
		}
		if p.tag() == 0x1090 { // PR_FLAG_STATUS: 1 complete, 2 flagged
			switch strings.TrimSpace(p.Value) {
			case "1":
				out.Flag = mailbox.Complete
			case "2":
				out.Flag = mailbox.Flagged
			}
		}
	}
	return out
}

// fingerprintOf is a PR_SEARCH_KEY value (xs:base64Binary) as
// Item.Fingerprint spells it: lowercase hex. A value that is not base64
// is no fingerprint: the item is listed without one, not refused, since
// the fingerprint only helps find an import a crash left unrecorded.
func fingerprintOf(b64 string) string {
	raw, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(b64), ""))
	if err != nil || len(raw) == 0 {
		return ""
	}
	return hex.EncodeToString(raw)
}

func itemClassOf(element string) string {
	switch element {
	case "CalendarItem":
		return mailbox.ClassAppointment
	case "Contact":
		return mailbox.ClassContact
	case "Task":
		return mailbox.ClassTask
	case "DistributionList":
		return mailbox.ClassContactGroup
	}
	return mailbox.ClassMessage
}

type itemsXML struct {
	Items []itemXML `xml:",any"`
}

// --- FindItem ---

type findItemResponse struct {
	Messages []struct {
		responseMessage
		RootFolder struct {
			rootFolderXML
			Items itemsXML `xml:"http://schemas.microsoft.com/exchange/services/2006/types Items"`
		} `xml:"http://schemas.microsoft.com/exchange/services/2006/messages RootFolder"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/messages ResponseMessages>FindItemResponseMessage"`
}

// findItems pages through the items of a folder until IncludesLastItemInRange,
// using IndexedPagingOffset as the next offset (Exchange may return partial pages).
func (c *Client) findItems(ctx context.Context, mbx, folderID string, restrict func(*etree.Element), fn func(mailbox.Item) error) error {
	offset := 0
	for {
		items, next, last, err := c.findItemsPage(ctx, mbx, folderID, restrict, offset)
		if err != nil {
			return err
		}
		for _, it := range items {
			if err := fn(it); err != nil {
				return err
			}
		}
		if last {
			return nil
		}
		offset = next
	}
}

// findItemsPage is one FindItem page from offset: its items, the offset
// of the next page, and whether this page holds the folder's last item.
func (c *Client) findItemsPage(ctx context.Context, mbx, folderID string, restrict func(*etree.Element), offset int) ([]mailbox.Item, int, bool, error) {
	r := c.newRequest(mbx)
	fi := r.body.CreateElement("m:FindItem")
	fi.CreateAttr("Traversal", "Shallow")
	itemShape(fi)
	view := fi.CreateElement("m:IndexedPageItemView")
	view.CreateAttr("MaxEntriesReturned", strconv.Itoa(pageSize))
	view.CreateAttr("Offset", strconv.Itoa(offset))
	view.CreateAttr("BasePoint", "Beginning")
	if restrict != nil {
		restrict(fi.CreateElement("m:Restriction"))
	}
	c.folderRef(fi.CreateElement("m:ParentFolderIds"), folderID, mbx)
	var resp findItemResponse
	err := c.do(ctx, call{op: "FindItem", anchor: mbx, body: r.bytes(), idempotent: true}, func(rd io.Reader, st int) error {
		if err := decodeResponse(rd, "FindItem", st, &resp); err != nil {
			return err
		}
		if len(resp.Messages) != 1 {
			return fmt.Errorf("EWS FindItem: %d answers for one folder", len(resp.Messages))
		}
		return resp.Messages[0].err("FindItem", -1)
	})
	if err != nil {
		return nil, 0, false, err
	}
	rf := &resp.Messages[0].RootFolder
	items := make([]mailbox.Item, 0, len(rf.Items.Items))
	for i := range rf.Items.Items {
		it := rf.Items.Items[i].item()
		if it.FolderID == "" {
			it.FolderID = folderID
		}
		items = append(items, it)
	}
	// Exchange may answer a partial page: IndexedPagingOffset is
	// where the next one starts.
	next := rf.IndexedPagingOffset
	if next <= offset {
		next = offset + len(rf.Items.Items)
	}
	return items, next, rf.IncludesLastItemInRange || len(rf.Items.Items) == 0, nil
}

// --- CreateItem ---

func (c *Client) createItem(ctx context.Context, mbx, folderID string, msg mailbox.Message) (string, error) {
	b, err := c.createItemBody(mbx, folderID, msg)
	if err != nil {
		return "", err
	}
	defer b.cleanup()
	return createdID(callBody[idOnlyXML](ctx, c, mbx, "CreateItem", b, false, 1))
}

// --- UpdateItem (read state) ---

type updateItemResponse struct {
	Messages []struct {
		responseMessage
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/messages ResponseMessages>UpdateItemResponseMessage"`
}

func (c *Client) setRead(ctx context.Context, mbx, itemID string, read bool) error {
	r, up := c.newUpdate(mbx, true, false, itemIDRef(itemID))
	set := up.CreateElement("t:SetItemField")
	fieldURI(set, "message:IsRead")
	elem(set.CreateElement("t:Message"), "t:IsRead", strconv.FormatBool(read))
	var resp updateItemResponse
	return c.do(ctx, call{op: "UpdateItem", anchor: mbx, body: r.bytes(), idempotent: true}, func(rd io.Reader, st int) error {
		if err := decodeResponse(rd, "UpdateItem", st, &resp); err != nil {
			return err
		}
		if len(resp.Messages) != 1 {
			return fmt.Errorf("EWS UpdateItem: %d answers for one item", len(resp.Messages))
		}
		return resp.Messages[0].err("UpdateItem", -1)
	})
}
