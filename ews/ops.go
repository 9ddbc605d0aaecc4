package ews

import (
	"bufio"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/beevik/etree"

	"github.com/exmigrate/exmigrate/mailbox"
)

// Exchange's EWSFindCountLimit: a page asks for at most this many entries.
const pageSize = 1000

// MaxSyncChanges is the most MaxChangesReturned may be (MaxSyncChangesReturnedType).
const MaxSyncChanges = 512

type idXML struct {
	ID        string `xml:"Id,attr"`
	ChangeKey string `xml:"ChangeKey,attr"`
}

type extPropXML struct {
	URI struct {
		Tag   string `xml:"PropertyTag,attr"`
		SetID string `xml:"PropertySetId,attr"`
		Name  string `xml:"PropertyName,attr"`
		Type  string `xml:"PropertyType,attr"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/types ExtendedFieldURI"`
	Value string `xml:"http://schemas.microsoft.com/exchange/services/2006/types Value"`
}

func (p extPropXML) tag() int64 {
	v, err := strconv.ParseInt(strings.TrimPrefix(strings.ToLower(p.URI.Tag), "0x"), 16, 64)
	if err != nil {
		return -1
	}
	return v
}

type folderXML struct {
	XMLName          xml.Name
	AttrID           string       `xml:"Id,attr"` // when the element is a bare FolderId (sync Delete)
	FolderID         idXML        `xml:"http://schemas.microsoft.com/exchange/services/2006/types FolderId"`
	ParentFolderID   idXML        `xml:"http://schemas.microsoft.com/exchange/services/2006/types ParentFolderId"`
	FolderClass      string       `xml:"http://schemas.microsoft.com/exchange/services/2006/types FolderClass"`
	DisplayName      string       `xml:"http://schemas.microsoft.com/exchange/services/2006/types DisplayName"`
	TotalCount       int64        `xml:"http://schemas.microsoft.com/exchange/services/2006/types TotalCount"`
	ChildFolderCount int64        `xml:"http://schemas.microsoft.com/exchange/services/2006/types ChildFolderCount"`
	ExtendedProperty []extPropXML `xml:"http://schemas.microsoft.com/exchange/services/2006/types ExtendedProperty"`
}

func (f *folderXML) folder() mailbox.Folder {
	out := mailbox.Folder{
		ID: f.FolderID.ID, ParentID: f.ParentFolderID.ID, DisplayName: f.DisplayName,
		Class: f.FolderClass, ItemCount: f.TotalCount, ChildCount: f.ChildFolderCount,
	}
	for _, p := range f.ExtendedProperty {
		switch p.tag() {
		case 0x0E08:
			out.SizeBytes, _ = strconv.ParseInt(strings.TrimSpace(p.Value), 10, 64)
		case 0x10F4:
			out.Hidden = strings.TrimSpace(p.Value) == "true"
		}
	}
	return out
}

// foldersXML holds any folder element (Folder, CalendarFolder, SearchFolder ...).
type foldersXML struct {
	Folders []folderXML `xml:",any"`
}

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

func itemClassOf(element string) string {
	switch element {
	case "CalendarItem":
		return mailbox.ClassAppointment
	case "Contact":
		return mailbox.ClassContact
	case "Task":
		return mailbox.ClassTask
	}
	return mailbox.ClassMessage
}

type itemsXML struct {
	Items []itemXML `xml:",any"`
}

type rootFolderXML struct {
	IndexedPagingOffset     int  `xml:"IndexedPagingOffset,attr"`
	IncludesLastItemInRange bool `xml:"IncludesLastItemInRange,attr"`
	TotalItemsInView        int  `xml:"TotalItemsInView,attr"`
}

// --- GetFolder ---

type getFolderResponse struct {
	Messages []struct {
		responseMessage
		Folders foldersXML `xml:"http://schemas.microsoft.com/exchange/services/2006/messages Folders"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/messages ResponseMessages>GetFolderResponseMessage"`
}

// folderResult is one entry of a batch: per-item errors stay per item.
type folderResult struct {
	Folder mailbox.Folder
	Err    error
}

func (c *Client) getFolders(ctx context.Context, mbx string, ids []string) ([]folderResult, error) {
	r := c.newRequest(mbx)
	gf := r.body.CreateElement("m:GetFolder")
	folderShape(gf)
	fids := gf.CreateElement("m:FolderIds")
	for _, id := range ids {
		c.folderRef(fids, id, mbx)
	}
	var resp getFolderResponse
	err := c.do(ctx, call{op: "GetFolder", anchor: mbx, body: r.bytes(), idempotent: true}, func(rd io.Reader, st int) error {
		if err := decodeResponse(rd, "GetFolder", st, &resp); err != nil {
			return err
		}
		return batchThrottle(resp.Messages, func(i int) *responseMessage { return &resp.Messages[i].responseMessage }, "GetFolder")
	})
	if err != nil {
		return nil, err
	}
	if len(resp.Messages) != len(ids) {
		return nil, fmt.Errorf("EWS GetFolder: %d answers for %d folder ids", len(resp.Messages), len(ids))
	}
	out := make([]folderResult, len(ids))
	for i := range resp.Messages {
		m := &resp.Messages[i]
		if err := m.err("GetFolder", i); err != nil {
			out[i].Err = err
			continue
		}
		if len(m.Folders.Folders) == 0 {
			out[i].Err = fmt.Errorf("EWS GetFolder: no folder in answer %d", i)
			continue
		}
		out[i].Folder = m.Folders.Folders[0].folder()
	}
	return out, nil
}

// batchThrottle retries a whole batch when every entry was throttled, and
// surfaces a single throttled entry so the caller retries it.
func batchThrottle[T any](msgs []T, at func(int) *responseMessage, op string) error {
	for i := range msgs {
		if err := at(i).err(op, i); err != nil {
			if re, ok := err.(*ResponseError); ok && re.throttling() {
				return re
			}
		}
	}
	return nil
}

func (c *Client) getFolder(ctx context.Context, mbx, id string) (mailbox.Folder, error) {
	res, err := c.getFolders(ctx, mbx, []string{id})
	if err != nil {
		return mailbox.Folder{}, err
	}
	return res[0].Folder, res[0].Err
}

// --- FindFolder ---

type findFolderResponse struct {
	Messages []struct {
		responseMessage
		RootFolder struct {
			rootFolderXML
			Folders foldersXML `xml:"http://schemas.microsoft.com/exchange/services/2006/types Folders"`
		} `xml:"http://schemas.microsoft.com/exchange/services/2006/messages RootFolder"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/messages ResponseMessages>FindFolderResponseMessage"`
}

// findFolders pages through FindFolder below parentID.
func (c *Client) findFolders(ctx context.Context, mbx, parentID string, deep bool, public bool) ([]mailbox.Folder, error) {
	var out []mailbox.Folder
	offset := 0
	cl := call{op: "FindFolder", anchor: mbx, idempotent: true}
	imp := mbx
	if public {
		cl.anchor, cl.publicMbx, imp = c.cfg.PublicFolderMailbox, c.cfg.PublicFolderMailbox, ""
	}
	for {
		r := c.newRequest(imp)
		ff := r.body.CreateElement("m:FindFolder")
		if deep {
			ff.CreateAttr("Traversal", "Deep")
		} else {
			ff.CreateAttr("Traversal", "Shallow")
		}
		folderShape(ff)
		view := ff.CreateElement("m:IndexedPageFolderView")
		view.CreateAttr("MaxEntriesReturned", strconv.Itoa(pageSize))
		view.CreateAttr("Offset", strconv.Itoa(offset))
		view.CreateAttr("BasePoint", "Beginning")
		c.folderRef(ff.CreateElement("m:ParentFolderIds"), parentID, mbx)
		cl.body = r.bytes()
		var resp findFolderResponse
		err := c.do(ctx, cl, func(rd io.Reader, st int) error {
			if err := decodeResponse(rd, "FindFolder", st, &resp); err != nil {
				return err
			}
			if len(resp.Messages) != 1 {
				return fmt.Errorf("EWS FindFolder: %d answers for one parent", len(resp.Messages))
			}
			return resp.Messages[0].err("FindFolder", -1)
		})
		if err != nil {
			return nil, err
		}
		rf := resp.Messages[0].RootFolder
		for i := range rf.Folders.Folders {
			out = append(out, rf.Folders.Folders[i].folder())
		}
		if rf.IncludesLastItemInRange || len(rf.Folders.Folders) == 0 {
			return out, nil
		}
		next := rf.IndexedPagingOffset
		if next <= offset {
			next = offset + len(rf.Folders.Folders)
		}
		offset = next
	}
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
			return err
		}
		rf := &resp.Messages[0].RootFolder
		for i := range rf.Items.Items {
			it := rf.Items.Items[i].item()
			if it.FolderID == "" {
				it.FolderID = folderID
			}
			if err := fn(it); err != nil {
				return err
			}
		}
		if rf.IncludesLastItemInRange || len(rf.Items.Items) == 0 {
			return nil
		}
		next := rf.IndexedPagingOffset
		if next <= offset {
			next = offset + len(rf.Items.Items)
		}
		offset = next
	}
}

// --- GetItem MIME, streamed ---

// openMIME sends GetItem for one id with IncludeMimeContent and returns the
// decoded MIME as a stream read straight off the connection: base64 text
// is decoded as it arrives, so memory stays bounded whatever the size.
func (c *Client) openMIME(ctx context.Context, mbx, itemID string) (io.ReadCloser, error) {
	r := c.newRequest(mbx)
	gi := r.body.CreateElement("m:GetItem")
	is := gi.CreateElement("m:ItemShape")
	elem(is, "t:BaseShape", "IdOnly")
	elem(is, "t:IncludeMimeContent", "true")
	gi.CreateElement("m:ItemIds").CreateElement("t:ItemId").CreateAttr("Id", itemID)
	var out io.ReadCloser
	err := c.retry(ctx, call{op: "GetItem", anchor: mbx, body: r.bytes(), idempotent: true}, func(resp *response) (bool, error) {
		rc, err := mimeStream(resp)
		if err != nil {
			return false, err
		}
		out = rc
		return true, nil
	})
	return out, err
}

// mimeWalker reads a GetItem response message by message, handing out the
// MimeContent of each as a stream straight off the connection.
type mimeWalker struct {
	d    *xml.Decoder
	br   *bufio.Reader
	cur  io.Reader // the MIME stream handed out last, drained before moving on
	done bool
	// reported: the current message was returned at its MimeContent, so
	// its end tag closes nothing new.
	reported bool
}

func newMIMEWalker(d *xml.Decoder, br *bufio.Reader, status int) (*mimeWalker, error) {
	se, err := openEnvelope(d, "GetItem", status)
	if err != nil {
		return nil, err
	}
	if se.Name.Space != nsMessages || se.Name.Local != "GetItemResponse" {
		return nil, fmt.Errorf("EWS GetItem: unexpected response element {%s}%s", se.Name.Space, se.Name.Local)
	}
	return &mimeWalker{d: d, br: br}, nil
}

// next returns the next response message and, when it has one, a reader
// of its decoded MIME. ok is false after the last message.
func (w *mimeWalker) next() (msg responseMessage, mime io.Reader, ok bool, err error) {
	if w.cur != nil {
		// encoding/xml never saw the base64 text; finish it so the decoder
		// resumes at the end tag.
		if _, err := io.Copy(io.Discard, w.cur); err != nil {
			return msg, nil, false, fmt.Errorf("EWS GetItem: reading MIME: %w", err)
		}
		w.cur = nil
	}
	inMsg := false
	for !w.done {
		tok, err := w.d.Token()
		if err != nil {
			return msg, nil, false, fmt.Errorf("EWS GetItem: malformed response: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch {
			case t.Name.Space == nsMessages && t.Name.Local == "GetItemResponseMessage":
				inMsg = true
				msg = responseMessage{}
				for _, a := range t.Attr {
					if a.Name.Local == "ResponseClass" {
						msg.Class = a.Value
					}
				}
			case inMsg && t.Name.Space == nsMessages && (t.Name.Local == "MessageText" || t.Name.Local == "ResponseCode"):
				var s string
				if err := w.d.DecodeElement(&s, &t); err != nil {
					return msg, nil, false, fmt.Errorf("EWS GetItem: malformed response: %w", err)
				}
				if t.Name.Local == "ResponseCode" {
					msg.Code = s
				} else {
					msg.MessageText = s
				}
			case inMsg && t.Name.Space == nsMessages && t.Name.Local == "MessageXml":
				if err := w.d.DecodeElement(&msg.MessageXML, &t); err != nil {
					return msg, nil, false, fmt.Errorf("EWS GetItem: malformed response: %w", err)
				}
			case inMsg && t.Name.Space == nsTypes && t.Name.Local == "MimeContent":
				// encoding/xml reads br byte by byte, so br now sits right
				// after the start tag: the base64 text follows.
				w.cur = newBase64Text(w.br)
				w.reported = true
				return msg, w.cur, true, nil
			}
		case xml.EndElement:
			switch {
			case t.Name.Space == nsMessages && t.Name.Local == "GetItemResponseMessage":
				if w.reported {
					w.reported, inMsg = false, false
					continue
				}
				return msg, nil, true, nil
			case t.Name.Space == nsMessages && t.Name.Local == "GetItemResponse":
				w.done = true
			}
		}
	}
	return msg, nil, false, nil
}

// mimeStream returns the MIME of the single item of a GetItem response.
func mimeStream(resp *response) (io.ReadCloser, error) {
	d, br, release := newDecoder(resp.Body)
	w, err := newMIMEWalker(d, br, resp.StatusCode)
	if err != nil {
		release()
		return nil, err
	}
	msg, mime, ok, err := w.next()
	if err == nil && !ok {
		err = fmt.Errorf("EWS GetItem: empty response")
	}
	if err == nil {
		err = msg.err("GetItem", -1)
	}
	if err == nil && mime == nil {
		err = fmt.Errorf("EWS GetItem: the item has no MIME content")
	}
	if err != nil {
		release()
		return nil, err
	}
	return &mimeReader{resp: resp, dec: mime, release: release}, nil
}

// readMIMEBatch sends one GetItem for several ids and calls fn for each in
// order with its MIME stream, or with its own error (per-item errors stay
// per item: ErrorItemNotFound for one id does not fail the others).
func (c *Client) readMIMEBatch(ctx context.Context, mbx string, ids []string, fn func(id string, mime io.Reader, err error) error) error {
	r := c.newRequest(mbx)
	gi := r.body.CreateElement("m:GetItem")
	is := gi.CreateElement("m:ItemShape")
	elem(is, "t:BaseShape", "IdOnly")
	elem(is, "t:IncludeMimeContent", "true")
	iids := gi.CreateElement("m:ItemIds")
	for _, id := range ids {
		iids.CreateElement("t:ItemId").CreateAttr("Id", id)
	}
	started := false // once fn has seen an item, a retry would repeat it
	return c.retry(ctx, call{op: "GetItem", anchor: mbx, body: r.bytes(), idempotent: true}, func(resp *response) (bool, error) {
		d, br, release := newDecoder(resp.Body)
		defer release()
		w, err := newMIMEWalker(d, br, resp.StatusCode)
		if err != nil {
			return false, err
		}
		for i := 0; ; i++ {
			msg, mime, ok, err := w.next()
			if err != nil {
				if started {
					return false, &permanent{err}
				}
				return false, err
			}
			if !ok {
				if i != len(ids) {
					return false, fmt.Errorf("EWS GetItem: %d answers for %d ids", i, len(ids))
				}
				return false, nil
			}
			if i >= len(ids) {
				return false, fmt.Errorf("EWS GetItem: more answers than ids")
			}
			ierr := msg.err("GetItem", i)
			if re, ok := ierr.(*ResponseError); ok && re.throttling() && !started {
				return false, re // throttled before anything was handed out: retry the batch
			}
			if ierr == nil && mime == nil {
				ierr = fmt.Errorf("EWS GetItem: item %s has no MIME content", ids[i])
			}
			started = true
			if ierr != nil {
				mime = nil
			}
			if err := fn(ids[i], mime, ierr); err != nil {
				return false, &permanent{err}
			}
		}
	})
}

// permanent stops retry: the error is the caller's or comes after items were delivered.
type permanent struct{ err error }

func (p *permanent) Error() string { return p.err.Error() }
func (p *permanent) Unwrap() error { return p.err }

type mimeReader struct {
	resp    *response
	dec     io.Reader
	release func()
	closed  bool
}

func (m *mimeReader) Read(p []byte) (int, error) {
	if m.closed {
		return 0, errors.New("ews: read from a closed MIME stream")
	}
	return m.dec.Read(p)
}

// Close releases the connection; an unfinished stream breaks it rather than
// reading megabytes only to throw them away.
func (m *mimeReader) Close() error {
	if m.closed {
		return nil
	}
	m.closed = true
	defer m.release()
	var probe [1]byte
	n, err := m.dec.Read(probe[:])
	broken := n > 0 || err != io.EOF
	m.resp.finish(broken)
	return nil
}

// --- CreateFolder ---

type createFolderResponse struct {
	Messages []struct {
		responseMessage
		Folders foldersXML `xml:"http://schemas.microsoft.com/exchange/services/2006/messages Folders"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/messages ResponseMessages>CreateFolderResponseMessage"`
}

func (c *Client) createFolder(ctx context.Context, mbx, parentID, name, class string) (string, error) {
	r := c.newRequest(mbx)
	cf := r.body.CreateElement("m:CreateFolder")
	c.folderRef(cf.CreateElement("m:ParentFolderId"), parentID, mbx)
	f := cf.CreateElement("m:Folders").CreateElement("t:Folder")
	if class != "" {
		elem(f, "t:FolderClass", class) // FolderClass precedes DisplayName in FolderType
	}
	elem(f, "t:DisplayName", name)
	var resp createFolderResponse
	err := c.do(ctx, call{op: "CreateFolder", anchor: mbx, body: r.bytes()}, func(rd io.Reader, st int) error {
		if err := decodeResponse(rd, "CreateFolder", st, &resp); err != nil {
			return err
		}
		if len(resp.Messages) != 1 {
			return fmt.Errorf("EWS CreateFolder: %d answers for one folder", len(resp.Messages))
		}
		return resp.Messages[0].err("CreateFolder", -1)
	})
	if err != nil {
		return "", err
	}
	if len(resp.Messages[0].Folders.Folders) == 0 {
		return "", fmt.Errorf("EWS CreateFolder: no folder id in the answer")
	}
	return resp.Messages[0].Folders.Folders[0].FolderID.ID, nil
}

// --- CreateItem ---

type createItemResponse struct {
	Messages []struct {
		responseMessage
		Items itemsXML `xml:"http://schemas.microsoft.com/exchange/services/2006/messages Items"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/messages ResponseMessages>CreateItemResponseMessage"`
}

func (c *Client) createItem(ctx context.Context, mbx, folderID string, msg mailbox.Message) (string, error) {
	b, err := c.createItemBody(mbx, folderID, msg)
	if err != nil {
		return "", err
	}
	defer b.cleanup()
	var resp createItemResponse
	err = c.do(ctx, call{op: "CreateItem", anchor: mbx, body: b}, func(rd io.Reader, st int) error {
		if err := decodeResponse(rd, "CreateItem", st, &resp); err != nil {
			return err
		}
		if len(resp.Messages) != 1 {
			return fmt.Errorf("EWS CreateItem: %d answers for one item", len(resp.Messages))
		}
		return resp.Messages[0].err("CreateItem", -1)
	})
	if err != nil {
		return "", err
	}
	if len(resp.Messages[0].Items.Items) == 0 {
		return "", fmt.Errorf("EWS CreateItem: no item id in the answer")
	}
	return resp.Messages[0].Items.Items[0].ItemID.ID, nil
}

// --- UpdateItem (read state) ---

type updateItemResponse struct {
	Messages []struct {
		responseMessage
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/messages ResponseMessages>UpdateItemResponseMessage"`
}

func (c *Client) setRead(ctx context.Context, mbx, itemID string, read bool) error {
	r := c.newRequest(mbx)
	ui := r.body.CreateElement("m:UpdateItem")
	ui.CreateAttr("MessageDisposition", "SaveOnly")
	ui.CreateAttr("ConflictResolution", "AlwaysOverwrite")
	ic := ui.CreateElement("m:ItemChanges").CreateElement("t:ItemChange")
	ic.CreateElement("t:ItemId").CreateAttr("Id", itemID)
	set := ic.CreateElement("t:Updates").CreateElement("t:SetItemField")
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

// --- SyncFolderHierarchy ---

// HierarchyChange is one folder change of SyncFolderHierarchy.
type HierarchyChange struct {
	Kind   mailbox.ChangeKind // created, updated, deleted
	Folder mailbox.Folder     // only ID for deletions
}

// HierarchyPage is one round of SyncFolderHierarchy.
type HierarchyPage struct {
	Changes []HierarchyChange
	State   string
	More    bool
}

type syncHierarchyResponse struct {
	Messages []struct {
		responseMessage
		SyncState                 string `xml:"http://schemas.microsoft.com/exchange/services/2006/messages SyncState"`
		IncludesLastFolderInRange bool   `xml:"http://schemas.microsoft.com/exchange/services/2006/messages IncludesLastFolderInRange"`
		Changes                   struct {
			Entries []struct {
				XMLName xml.Name
				Folders []folderXML `xml:",any"`
			} `xml:",any"`
		} `xml:"http://schemas.microsoft.com/exchange/services/2006/messages Changes"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/messages ResponseMessages>SyncFolderHierarchyResponseMessage"`
}

func (c *Client) syncHierarchy(ctx context.Context, mbx, rootID, state string) (HierarchyPage, error) {
	r := c.newRequest(mbx)
	sf := r.body.CreateElement("m:SyncFolderHierarchy")
	folderShape(sf)
	if rootID != "" {
		c.folderRef(sf.CreateElement("m:SyncFolderId"), rootID, mbx)
	}
	if state != "" {
		elem(sf, "m:SyncState", state)
	}
	var resp syncHierarchyResponse
	err := c.do(ctx, call{op: "SyncFolderHierarchy", anchor: mbx, body: r.bytes(), idempotent: true}, func(rd io.Reader, st int) error {
		if err := decodeResponse(rd, "SyncFolderHierarchy", st, &resp); err != nil {
			return err
		}
		if len(resp.Messages) != 1 {
			return fmt.Errorf("EWS SyncFolderHierarchy: %d answers", len(resp.Messages))
		}
		return resp.Messages[0].err("SyncFolderHierarchy", -1)
	})
	if err != nil {
		return HierarchyPage{}, err
	}
	m := &resp.Messages[0]
	page := HierarchyPage{State: m.SyncState, More: !m.IncludesLastFolderInRange}
	for _, ch := range m.Changes.Entries {
		var hc HierarchyChange
		switch ch.XMLName.Local {
		case "Create":
			hc.Kind = mailbox.ChangeCreated
		case "Update":
			hc.Kind = mailbox.ChangeUpdated
		case "Delete":
			hc.Kind = mailbox.ChangeDeleted
		default:
			continue
		}
		for i := range ch.Folders {
			x := &ch.Folders[i]
			if x.XMLName.Local == "FolderId" {
				hc.Folder.ID = x.AttrID
				continue
			}
			hc.Folder = x.folder()
		}
		page.Changes = append(page.Changes, hc)
	}
	return page, nil
}

// --- ResolveNames ---

// Resolution is one answer of ResolveNames.
type Resolution struct {
	SMTPAddress string
	DisplayName string
	RoutingType string
	MailboxType string // Mailbox, PublicDL, PrivateDL, Contact, PublicFolder, GroupMailbox ...
}

type resolveNamesResponse struct {
	Messages []struct {
		responseMessage
		ResolutionSet struct {
			Resolutions []struct {
				Mailbox struct {
					Name         string `xml:"http://schemas.microsoft.com/exchange/services/2006/types Name"`
					EmailAddress string `xml:"http://schemas.microsoft.com/exchange/services/2006/types EmailAddress"`
					RoutingType  string `xml:"http://schemas.microsoft.com/exchange/services/2006/types RoutingType"`
					MailboxType  string `xml:"http://schemas.microsoft.com/exchange/services/2006/types MailboxType"`
				} `xml:"http://schemas.microsoft.com/exchange/services/2006/types Mailbox"`
			} `xml:"http://schemas.microsoft.com/exchange/services/2006/types Resolution"`
		} `xml:"http://schemas.microsoft.com/exchange/services/2006/messages ResolutionSet"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/messages ResponseMessages>ResolveNamesResponseMessage"`
}

// ResolveNames looks an address or name up in the directory. No match is an
// empty result, not an error; several matches are all returned.
func (c *Client) ResolveNames(ctx context.Context, address string) ([]Resolution, error) {
	r := c.newRequest("")
	rn := r.body.CreateElement("m:ResolveNames")
	rn.CreateAttr("ReturnFullContactData", "false")
	rn.CreateAttr("SearchScope", "ActiveDirectory")
	elem(rn, "m:UnresolvedEntry", address)
	var resp resolveNamesResponse
	err := c.do(ctx, call{op: "ResolveNames", body: r.bytes(), idempotent: true}, func(rd io.Reader, st int) error {
		if err := decodeResponse(rd, "ResolveNames", st, &resp); err != nil {
			return err
		}
		if len(resp.Messages) != 1 {
			return fmt.Errorf("EWS ResolveNames: %d answers for one name", len(resp.Messages))
		}
		m := &resp.Messages[0]
		switch m.Code {
		case "ErrorNameResolutionNoResults", "ErrorNameResolutionMultipleResults":
			return nil // no match, or a Warning listing the candidates
		}
		return m.err("ResolveNames", -1)
	})
	if err != nil {
		return nil, err
	}
	var out []Resolution
	for _, res := range resp.Messages[0].ResolutionSet.Resolutions {
		out = append(out, Resolution{
			SMTPAddress: res.Mailbox.EmailAddress, DisplayName: res.Mailbox.Name,
			RoutingType: res.Mailbox.RoutingType, MailboxType: res.Mailbox.MailboxType,
		})
	}
	return out, nil
}

// Check proves the URL and the credentials with one cheap authenticated call.
func (c *Client) Check(ctx context.Context) error {
	user := c.cfg.Username
	if i := strings.LastIndexByte(user, '\\'); i >= 0 {
		user = user[i+1:]
	}
	_, err := c.ResolveNames(ctx, user)
	return err
}
