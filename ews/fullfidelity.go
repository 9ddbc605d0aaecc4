package ews

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/exmigrate/exmigrate/mailbox"
)

// The full-fidelity path of Exchange Server: ExportItems reads an item as
// an opaque stream, UploadItems writes such a stream back (introduced in
// Exchange 2010 SP1; items.md E1). The stream is Exchange's own
// (FastTransfer); the client never parses or changes it: ExportItems'
// base64 m:Data is decoded as it arrives into the reader OpenItem returns,
// and the payload's body is encoded as it is read into UploadItems' t:Data.
// Every property of the item travels, and an upload sends nothing: it is
// not a CreateItem and has no Send* attribute (that UploadItems of a
// meeting makes Exchange send no meeting mail is inferred from Microsoft
// calling it an import; unverified on a server).
//
// One id per ExportItems call: the contract opens one item per OpenItem.
// ExportBatch (exportbatch.go) exports up to 100 ids per call, Microsoft's
// suggested bound (how-to-export-items), for a caller that wires it.
//
// Stamping. UploadItems takes only the stream, so the stamp (the named
// property FindBySourceID looks for) is set by an UpdateItem after the
// upload. The kill window between the two is closed by staging
// (staging.go): a new item is uploaded into a staging folder under
// "root", stamped there, and only then moved (MoveItem, which sends
// nothing) into its target folder, so an item in a target folder is
// always stamped; FindBySourceID and Stamps look only in the target
// folder and never report what lies in staging. When the stamp or the
// move fails, the upload is deleted (HardDelete, SendMeetingCancellations
// SendToNone), reported as a side write; what a killed process (or a
// failed delete) leaves in staging is deleted, also reported, before the
// first full-fidelity write of the next Mailbox value, so "an incomplete
// write is never reported; the next write removes it" holds. The
// remaining assumption: one job writes into a target mailbox at a time
// (the engine's lease is per job, not per target mailbox); two jobs
// writing into one mailbox at once could delete each other's in-flight
// uploads (staging.go). An update (updateFullFidelity) replaces the item
// in place and is not staged.
// A stream of an item that already carried an exmigrate stamp (a copy of
// a copy) uploads with that old stamp until the new one overwrites it.

// MaxUploadBase64 is the largest UploadItems request the client sends:
// Exchange's default limit is about 25 MB of base64 per upload (items.md
// E1; raisable in the EWS web.config). An item whose request would be
// larger is refused before it is sent, before its body is read when
// Payload.Size says so.
const MaxUploadBase64 = 25 << 20

// maxUploadBytes is the largest item (decoded) MaxUploadBase64 holds,
// less room for the envelope.
const maxUploadBytes = (MaxUploadBase64 - 4096) / 4 * 3

// openFullFidelity reads an item with ExportItems, streaming its data.
func (c *Client) openFullFidelity(ctx context.Context, mbx, itemID string) (io.ReadCloser, error) {
	r := c.newRequest(mbx)
	ei := r.body.CreateElement("m:ExportItems")
	ei.CreateElement("m:ItemIds").CreateElement("t:ItemId").CreateAttr("Id", itemID)
	var out io.ReadCloser
	err := c.retry(ctx, call{op: "ExportItems", anchor: mbx, body: r.bytes(), idempotent: true}, func(resp *response) (bool, error) {
		d, br, release := newDecoder(resp.Body)
		w, err := newContentWalker(d, br, resp.StatusCode, "ExportItems", xml.Name{Space: nsMessages, Local: "Data"})
		if err == nil {
			var msg responseMessage
			var data io.Reader
			var ok bool
			msg, data, ok, err = w.next()
			switch {
			case err != nil:
			case !ok:
				err = fmt.Errorf("EWS ExportItems: empty response")
			default:
				if err = msg.err("ExportItems", -1); err == nil && data == nil {
					err = &MalformedError{Operation: "ExportItems", Status: resp.StatusCode, Reason: "the answer holds no Data"}
				}
			}
			if err == nil {
				out = &mimeReader{resp: resp, dec: data, release: release}
				return true, nil
			}
		}
		release()
		return false, err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// uploadResponse is UploadItems' answer: one message per item, holding
// the new item's id.
type uploadResponse struct {
	Messages []struct {
		responseMessage
		ItemID idXML `xml:"http://schemas.microsoft.com/exchange/services/2006/messages ItemId"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/messages ResponseMessages>UploadItemsResponseMessage"`
}

// upload sends one UploadItems for p's stream into folderID (a folder
// id: UploadItemType takes no distinguished folder) and returns the
// item's id. itemID is empty for CreateNew, the item to replace for
// Update.
func (c *Client) upload(ctx context.Context, mbx, folderID, itemID string, p mailbox.Payload) (string, error) {
	if p.Size >= 0 && p.Size > maxUploadBytes {
		return "", &mailbox.ItemTooLargeError{Size: p.Size, Limit: maxUploadBytes}
	}
	if p.Body == nil {
		return "", mailbox.Permanent(fmt.Errorf("ews: item %q has no full-fidelity data", p.SourceID))
	}
	r := c.newRequest(mbx)
	it := r.body.CreateElement("m:UploadItems").CreateElement("m:Items").CreateElement("t:Item")
	action := "CreateNew"
	if itemID != "" {
		action = "Update"
	}
	it.CreateAttr("CreateAction", action)
	it.CreateElement("t:ParentFolderId").CreateAttr("Id", folderID)
	if itemID != "" {
		it.CreateElement("t:ItemId").CreateAttr("Id", itemID)
	}
	elem(it, "t:Data", "DATAMARKER")
	var buf strings.Builder
	r.doc.WriteTo(&buf)
	head, tail, ok := strings.Cut(buf.String(), "DATAMARKER")
	if !ok {
		return "", fmt.Errorf("ews: internal error: data marker lost")
	}
	b, err := streamBody(head, tail, p.Body, p.Size, "the full-fidelity data of "+fmt.Sprintf("%q", p.SourceID))
	if err != nil {
		return "", err
	}
	defer b.cleanup()
	if b.size > MaxUploadBase64 {
		// The size was unknown or wrong: the stream was read, nothing sent.
		return "", &mailbox.ItemTooLargeError{Size: (b.size - int64(len(head)+len(tail))) / 4 * 3, Limit: maxUploadBytes}
	}
	var resp uploadResponse
	err = c.do(ctx, call{op: "UploadItems", anchor: mbx, body: b}, func(rd io.Reader, st int) error {
		if err := decodeResponse(rd, "UploadItems", st, &resp); err != nil {
			return err
		}
		if len(resp.Messages) != 1 {
			return fmt.Errorf("EWS UploadItems: %d answers for one item", len(resp.Messages))
		}
		return resp.Messages[0].err("UploadItems", -1)
	})
	if err != nil {
		return "", err
	}
	id := resp.Messages[0].ItemID.ID
	if id == "" {
		return "", fmt.Errorf("EWS UploadItems: no item id in the answer")
	}
	return id, nil
}

// folderIDOf is a folder's id: UploadItems takes no distinguished name.
func (m *Mailbox) folderIDOf(ctx context.Context, folderID string) (string, error) {
	if !distinguished[folderID] {
		return folderID, nil
	}
	f, err := m.c.getFolder(ctx, m.address, folderID)
	if err != nil {
		return "", err
	}
	return f.ID, nil
}

// updateElement is the item element an UpdateItem of an item of this
// class sets a property through (ItemChange's partial item is of the
// item's type), and whether the item is a message (MessageDisposition).
func updateElement(class string) (el string, message bool) {
	c := strings.ToLower(class)
	has := func(p string) bool { return c == p || strings.HasPrefix(c, p+".") }
	switch {
	case has("ipm.schedule.meeting.request"):
		return "t:MeetingRequest", true
	case has("ipm.schedule.meeting.resp.pos"), has("ipm.schedule.meeting.resp.neg"), has("ipm.schedule.meeting.resp.tent"), has("ipm.schedule.meeting.resp"):
		return "t:MeetingResponse", true
	case has("ipm.schedule.meeting.canceled"):
		return "t:MeetingCancellation", true
	case has("ipm.schedule.meeting"):
		return "t:MeetingMessage", true
	case has("ipm.note"), strings.HasPrefix(c, "report."):
		return "t:Message", true
	case has("ipm.post"):
		return "t:PostItem", false
	case has("ipm.appointment"):
		return "t:CalendarItem", false
	case has("ipm.contact"):
		return "t:Contact", false
	case has("ipm.distlist"):
		return "t:DistributionList", false
	case has("ipm.task"):
		return "t:Task", false
	}
	return "t:Item", false
}

// stamp sets the source-id stamp on an uploaded item, sending nothing.
func (c *Client) stamp(ctx context.Context, mbx, itemID, class, sourceID string) error {
	el, message := updateElement(class)
	r, up := c.newUpdate(mbx, message, el == "t:CalendarItem", itemIDRef(itemID))
	setStampField(up, el, sourceID)
	_, err := callOp[idOnlyXML](ctx, c, mbx, "UpdateItem", r, true, 1)
	return err
}

// createFullFidelity uploads a full-fidelity payload as a new item into
// staging, stamps it and moves it into folderID; a failed stamp or move
// removes the upload (see the comment above and staging.go).
func (m *Mailbox) createFullFidelity(ctx context.Context, folderID string, p mailbox.Payload) (string, error) {
	if err := m.checkDialect(ctx, p); err != nil {
		return "", err
	}
	if p.Size >= 0 && p.Size > maxUploadBytes {
		return "", &mailbox.ItemTooLargeError{Size: p.Size, Limit: maxUploadBytes}
	}
	fid, err := m.folderIDOf(ctx, folderID)
	if err != nil {
		return "", fmt.Errorf("upload %s into %s of %s: %w", p.SourceID, folderID, m.address, err)
	}
	if p.SourceID == "" {
		// Nothing to stamp, nothing a later write could recognise: the
		// upload goes straight into the target folder.
		id, err := m.c.upload(ctx, m.address, fid, "", p)
		if err != nil {
			return "", fmt.Errorf("upload %s into %s: %w", p.SourceID, m.address, err)
		}
		return id, nil
	}
	// Upload into staging, stamp there, then move into the target folder
	// (staging.go): a process killed before the move leaves its item in
	// staging, which the next Mailbox's first write clears.
	stage, err := m.staging(ctx)
	if err != nil {
		return "", fmt.Errorf("upload %s into %s: %w", p.SourceID, m.address, err)
	}
	id, err := m.c.upload(ctx, m.address, stage, "", p)
	if err != nil {
		return "", fmt.Errorf("upload %s into %s: %w", p.SourceID, m.address, err)
	}
	if err := m.c.stamp(ctx, m.address, id, p.Item.Class, p.SourceID); err != nil {
		m.dropIncomplete(ctx, id, p.SourceID)
		return "", fmt.Errorf("stamp the upload of %s in %s: %w", p.SourceID, m.address, err)
	}
	newID, err := m.c.moveItem(ctx, m.address, id, fid)
	if err != nil {
		// A move whose answer was lost may have happened: the delete
		// then finds nothing (ErrorItemNotFound) and the stamped item in
		// the target folder is found by the next FindBySourceID.
		m.dropIncomplete(ctx, id, p.SourceID)
		return "", fmt.Errorf("move the upload of %s into %s of %s: %w", p.SourceID, folderID, m.address, err)
	}
	return newID, nil
}

// updateFullFidelity replaces an item written earlier with a new stream
// of its source (UploadItems CreateAction Update, in the item's folder),
// then sets its stamp again: the stream carries the source's properties,
// not the copy's stamp. A failure between the two leaves the item with
// its new content and no stamp; it is not deleted (it holds the copy),
// and the caller, which knows the item's id, updates it again.
func (m *Mailbox) updateFullFidelity(ctx context.Context, itemID string, p mailbox.Payload) error {
	if err := m.checkDialect(ctx, p); err != nil {
		return err
	}
	if p.Size >= 0 && p.Size > maxUploadBytes {
		return &mailbox.ItemTooLargeError{Size: p.Size, Limit: maxUploadBytes}
	}
	r := m.c.newRequest(m.address)
	gi := r.body.CreateElement("m:GetItem")
	is := gi.CreateElement("m:ItemShape")
	elem(is, "t:BaseShape", "IdOnly")
	ap := is.CreateElement("t:AdditionalProperties")
	fieldURI(ap, "item:ParentFolderId")
	fieldURI(ap, "item:ItemClass")
	gi.CreateElement("m:ItemIds").CreateElement("t:ItemId").CreateAttr("Id", itemID)
	msgs, err := callOp[itemXML](ctx, m.c, m.address, "GetItem", r, true, 1)
	if err != nil {
		return fmt.Errorf("update %s in %s: %w", itemID, m.address, err)
	}
	if len(msgs[0].Items.Items) != 1 || msgs[0].Items.Items[0].ParentFolderID.ID == "" {
		return fmt.Errorf("update %s in %s: EWS GetItem answered no parent folder", itemID, m.address)
	}
	cur := msgs[0].Items.Items[0]
	id, err := m.c.upload(ctx, m.address, cur.ParentFolderID.ID, itemID, p)
	if err != nil {
		return fmt.Errorf("update %s in %s: %w", itemID, m.address, err)
	}
	if p.SourceID == "" {
		return nil
	}
	class := p.Item.Class
	if class == "" {
		class = cur.ItemClass
	}
	if err := m.c.stamp(ctx, m.address, id, class, p.SourceID); err != nil {
		return fmt.Errorf("stamp %s again after its update in %s: %w", itemID, m.address, err)
	}
	return nil
}

// dialectSet is the foreign dialects a client was told to accept: set
// once by the probe's verdict, read by every write and Capabilities from
// any goroutine.
type dialectSet struct {
	mu  sync.RWMutex
	set map[string]bool
}

func (d *dialectSet) add(dialect string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.set == nil {
		d.set = map[string]bool{}
	}
	d.set[dialect] = true
}

func (d *dialectSet) has(dialect string) bool {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.set[dialect]
}

// list is the accepted dialects, sorted so Capabilities is stable.
func (d *dialectSet) list() []string {
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := make([]string, 0, len(d.set))
	for k := range d.set {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// AcceptDialect makes the client (every Mailbox of it, from now on) take
// full-fidelity streams of another service's dialect, once the fidelity
// probe found the server's UploadItems takes them (Microsoft documents
// only ExportItems output, items.md E1): Capabilities then declare those
// writes where EWS data is written, and CreateItem and UpdateItem send
// them. EWS's own dialect and the empty name change nothing.
func (m *Mailbox) AcceptDialect(dialect string) {
	if dialect == "" || dialect == mailbox.DialectEWS {
		return
	}
	m.c.dialects.add(dialect)
}

// checkDialect refuses, before anything is read or sent, a stream of
// another dialect: UploadItems is documented to take ExportItems output
// only (items.md E1). A foreign stream goes to the server when the client
// was told to accept its dialect (AcceptDialect), or within the fidelity
// probe (mailbox.IsProbe), whose scratch write lets the server's answer
// decide. A payload that names no dialect is taken as EWS data.
func (m *Mailbox) checkDialect(ctx context.Context, p mailbox.Payload) error {
	if p.Dialect == "" || p.Dialect == mailbox.DialectEWS || m.c.dialects.has(p.Dialect) || mailbox.IsProbe(ctx) {
		return nil
	}
	return mailbox.Permanent(fmt.Errorf("ews: upload %s: a %s stream: UploadItems takes ExportItems data only (unless a fidelity probe found this server takes it): %w", p.SourceID, p.Dialect, mailbox.ErrUnsupported))
}

// DeleteItem removes an item the tool wrote (mailbox.Deleter): DeleteItem
// with HardDelete and SendMeetingCancellations SendToNone, so a meeting
// is removed without a cancellation and nothing lands in Deleted Items.
// It never needs to send, so it never fails with mailbox.ErrWouldSend.
func (m *Mailbox) DeleteItem(ctx context.Context, itemID string) error {
	if pctx, pm, raw, _, ok := m.public(ctx, itemID); ok {
		return pm.DeleteItem(pctx, raw)
	}
	if err := m.c.deleteItems(ctx, m.address, itemID); err != nil {
		return fmt.Errorf("delete %s in %s: %w", itemID, m.address, err)
	}
	return nil
}
