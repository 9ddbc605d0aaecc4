package ews

import (
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/beevik/etree"

	"github.com/exmigrate/exmigrate/mailbox"
)

// Shared wire pieces of the typed kinds (calendar items, tasks, contact
// groups, contact photos): one response shape for every operation that
// answers items, attachments, and the typed items' common properties.

// opMessage is one ResponseMessage of an operation that answers items
// (GetItem, CreateItem, UpdateItem, DeleteItem) or attachments.
type opMessage[T any] struct {
	responseMessage
	Items struct {
		Items []T `xml:",any"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/messages Items"`
	Attachments struct {
		Items []attachmentXML `xml:",any"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/messages Attachments"`
}

type opResponse[T any] struct {
	RM struct {
		Messages []opMessage[T] `xml:",any"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/messages ResponseMessages"`
}

// callOp sends a request that answers n ResponseMessages and returns
// them; the first failed one is the error.
func callOp[T any](ctx context.Context, c *Client, mbx, op string, r *request, idempotent bool, n int) ([]opMessage[T], error) {
	return callBody[T](ctx, c, mbx, op, r.bytes(), idempotent, n)
}

// callBody is callOp for a body already written (a streamed one).
func callBody[T any](ctx context.Context, c *Client, mbx, op string, b *body, idempotent bool, n int) ([]opMessage[T], error) {
	var resp opResponse[T]
	err := c.do(ctx, call{op: op, anchor: mbx, body: b, idempotent: idempotent}, func(rd io.Reader, st int) error {
		if err := decodeResponse(rd, op, st, &resp); err != nil {
			return err
		}
		if len(resp.RM.Messages) != n {
			return fmt.Errorf("EWS %s: %d answers for %d ids", op, len(resp.RM.Messages), n)
		}
		for i := range resp.RM.Messages {
			if err := resp.RM.Messages[i].err(op, i); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return resp.RM.Messages, nil
}

// idOnlyXML is an item element of which only the id is read.
type idOnlyXML struct {
	ItemID idXML `xml:"http://schemas.microsoft.com/exchange/services/2006/types ItemId"`
}

// attachmentXML is a FileAttachment or ItemAttachment as GetItem and
// GetAttachment answer it.
type attachmentXML struct {
	XMLName        xml.Name
	AttachmentID   idXML  `xml:"http://schemas.microsoft.com/exchange/services/2006/types AttachmentId"`
	Name           string `xml:"http://schemas.microsoft.com/exchange/services/2006/types Name"`
	ContentType    string `xml:"http://schemas.microsoft.com/exchange/services/2006/types ContentType"`
	ContentID      string `xml:"http://schemas.microsoft.com/exchange/services/2006/types ContentId"`
	Size           int64  `xml:"http://schemas.microsoft.com/exchange/services/2006/types Size"`
	IsInline       bool   `xml:"http://schemas.microsoft.com/exchange/services/2006/types IsInline"`
	IsContactPhoto bool   `xml:"http://schemas.microsoft.com/exchange/services/2006/types IsContactPhoto"`
	Content        string `xml:"http://schemas.microsoft.com/exchange/services/2006/types Content"`
}

// itemHeadXML are the ItemType properties calendar items and tasks
// share, as GetItem answers them (embedded: encoding/xml reads its
// fields as the outer struct's).
type itemHeadXML struct {
	ItemID        idXML      `xml:"http://schemas.microsoft.com/exchange/services/2006/types ItemId"`
	Subject       string     `xml:"http://schemas.microsoft.com/exchange/services/2006/types Subject"`
	Sensitivity   string     `xml:"http://schemas.microsoft.com/exchange/services/2006/types Sensitivity"`
	Body          bodyXML    `xml:"http://schemas.microsoft.com/exchange/services/2006/types Body"`
	Attachments   attachList `xml:"http://schemas.microsoft.com/exchange/services/2006/types Attachments"`
	Categories    []string   `xml:"http://schemas.microsoft.com/exchange/services/2006/types Categories>String"`
	Importance    string     `xml:"http://schemas.microsoft.com/exchange/services/2006/types Importance"`
	ReminderIsSet bool       `xml:"http://schemas.microsoft.com/exchange/services/2006/types ReminderIsSet"`
}

// sensitivity and importance are the head's values the model knows, ""
// for others.
func (x *itemHeadXML) sensitivity() string {
	if slices.Contains(mailbox.SensitivityValues, x.Sensitivity) {
		return x.Sensitivity
	}
	return ""
}

func (x *itemHeadXML) importance() mailbox.Importance {
	if validImportance(mailbox.Importance(x.Importance)) {
		return mailbox.Importance(x.Importance)
	}
	return ""
}

// bodyXML is item:Body.
type bodyXML struct {
	Type string `xml:"BodyType,attr"`
	Text string `xml:",chardata"`
}

// text is the body as the model holds it: a text body with LF line ends
// (Exchange keeps CRLF), HTML as it is.
func (b bodyXML) text() (string, bool) {
	if strings.EqualFold(b.Type, "HTML") {
		return b.Text, true
	}
	return strings.ReplaceAll(b.Text, "\r\n", "\n"), false
}

type mailboxXML struct {
	Name         string `xml:"http://schemas.microsoft.com/exchange/services/2006/types Name"`
	EmailAddress string `xml:"http://schemas.microsoft.com/exchange/services/2006/types EmailAddress"`
}

// getAttachments reads the content of file attachments by id.
func (c *Client) getAttachments(ctx context.Context, mbx string, ids []string) ([]attachmentXML, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	r := c.newRequest(mbx)
	ga := r.body.CreateElement("m:GetAttachment")
	idList(ga, "m:AttachmentIds", "t:AttachmentId", ids)
	msgs, err := callOp[idOnlyXML](ctx, c, mbx, "GetAttachment", r, true, len(ids))
	if err != nil {
		return nil, err
	}
	var out []attachmentXML
	for _, m := range msgs {
		if len(m.Attachments.Items) != 1 {
			return nil, fmt.Errorf("EWS GetAttachment: %d attachments for one id", len(m.Attachments.Items))
		}
		out = append(out, m.Attachments.Items[0])
	}
	return out, nil
}

// readAttachments fetches the file attachments a typed item carries and
// returns its body with the ones it leaves out (too large, or attached
// items) noted: a reader cannot report a loss, so what is left behind is
// said where a person reading the copy sees it.
func (c *Client) readAttachments(ctx context.Context, mbx string, list []attachmentXML, body string, isHTML bool) ([]mailbox.Attachment, string, error) {
	var ids []string
	var notes []string
	for _, a := range list {
		switch {
		case a.IsContactPhoto:
		case a.XMLName.Local != "FileAttachment":
			notes = append(notes, fmt.Sprintf("[attached item %q not carried]", a.Name))
		case a.Size > mailbox.MaxTypedAttachmentBytes:
			notes = append(notes, fmt.Sprintf("[attachment %q (%.1f MB) not carried]", a.Name, float64(a.Size)/(1<<20)))
		default:
			ids = append(ids, a.AttachmentID.ID)
		}
	}
	got, err := c.getAttachments(ctx, mbx, ids)
	if err != nil {
		return nil, "", err
	}
	var out []mailbox.Attachment
	for _, a := range got {
		data, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(a.Content), ""))
		if err != nil {
			return nil, "", &MalformedError{Operation: "GetAttachment", Status: 200, Reason: "attachment content is not base64: " + err.Error(), Err: err}
		}
		if len(data) > mailbox.MaxTypedAttachmentBytes {
			notes = append(notes, fmt.Sprintf("[attachment %q (%.1f MB) not carried]", a.Name, float64(len(data))/(1<<20)))
			continue
		}
		out = append(out, mailbox.Attachment{Name: a.Name, ContentType: a.ContentType, ContentID: a.ContentID, IsInline: a.IsInline, Data: data})
	}
	return out, withNotes(body, isHTML, notes), nil
}

// withNotes appends notes to a body (text or HTML).
func withNotes(body string, isHTML bool, notes []string) string {
	if len(notes) == 0 {
		return body
	}
	block := strings.Join(notes, "\n")
	if isHTML {
		pre := "<pre>" + htmlEscape(block) + "</pre>"
		if i := strings.LastIndex(strings.ToLower(body), "</body>"); i >= 0 {
			return body[:i] + pre + body[i:]
		}
		return body + pre
	}
	if body != "" && !strings.HasSuffix(body, "\n") {
		body += "\n"
	}
	if body != "" {
		body += "\n"
	}
	return body + block
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

// writeAttachments writes t:Attachments of an item to create: each file
// attachment with its content (CreateItem takes them inline, as in
// "How to: Add attachments by using EWS in Exchange").
func writeAttachments(parent *etree.Element, atts []mailbox.Attachment, photo []byte) {
	if len(atts) == 0 && len(photo) == 0 {
		return
	}
	list := parent.CreateElement("t:Attachments")
	for _, a := range atts {
		fa := list.CreateElement("t:FileAttachment")
		elem(fa, "t:Name", a.Name)
		if a.ContentType != "" {
			elem(fa, "t:ContentType", a.ContentType)
		}
		if a.ContentID != "" {
			elem(fa, "t:ContentId", a.ContentID)
		}
		elem(fa, "t:IsInline", strconv.FormatBool(a.IsInline))
		elem(fa, "t:Content", base64.StdEncoding.EncodeToString(a.Data))
	}
	if len(photo) > 0 {
		fa := list.CreateElement("t:FileAttachment")
		elem(fa, "t:Name", "ContactPicture.jpg")
		elem(fa, "t:ContentType", "image/jpeg")
		elem(fa, "t:IsContactPhoto", "true")
		elem(fa, "t:Content", base64.StdEncoding.EncodeToString(photo))
	}
}

// writeBody writes item:Body.
func writeBody(parent *etree.Element, text string, isHTML bool) {
	if text == "" {
		return
	}
	bt := "Text"
	if isHTML {
		bt = "HTML"
	}
	elem(parent, "t:Body", text).CreateAttr("BodyType", bt)
}

func writeStrings(parent *etree.Element, name string, list []string) {
	if len(list) == 0 {
		return
	}
	e := parent.CreateElement(name)
	for _, s := range list {
		elem(e, "t:String", s)
	}
}

// writeItemHead writes the ItemType properties calendar items and tasks
// share, in schema order (Subject to Importance).
func writeItemHead(it *etree.Element, subject, sensitivity, body string, isHTML bool, atts []mailbox.Attachment, cats []string, imp mailbox.Importance) {
	if subject != "" {
		elem(it, "t:Subject", subject)
	}
	if sensitivity != "" {
		elem(it, "t:Sensitivity", sensitivity)
	}
	writeBody(it, body, isHTML)
	writeAttachments(it, atts, nil)
	writeStrings(it, "t:Categories", cats)
	if validImportance(imp) {
		elem(it, "t:Importance", string(imp))
	}
}

func validImportance(i mailbox.Importance) bool {
	return i == mailbox.ImportanceLow || i == mailbox.ImportanceNormal || i == mailbox.ImportanceHigh
}

// pendingURI is the named property a series carries while its exceptions
// are being written: its stamp moves to the real stamp only once the
// series is complete, so a write interrupted half-way is not taken for a
// copy (FindBySourceID and Stamps do not see it), and the next write of
// the stamp finds and removes it.
func pendingURI(parent *etree.Element) *etree.Element {
	e := parent.CreateElement("t:ExtendedFieldURI")
	e.CreateAttr("PropertySetId", mailbox.SourceIDPropertySet)
	e.CreateAttr("PropertyName", mailbox.SourceIDPropertyName+"-pending")
	e.CreateAttr("PropertyType", "String")
	return e
}

// deleteItems removes items (HardDelete) without sending anything:
// SendMeetingCancellations is SendToNone for every delete, calendar item
// or not.
func (c *Client) deleteItems(ctx context.Context, mbx string, ids ...string) error {
	r := c.newRequest(mbx)
	di := r.body.CreateElement("m:DeleteItem")
	di.CreateAttr("DeleteType", "HardDelete")
	di.CreateAttr("SendMeetingCancellations", "SendToNone")
	di.CreateAttr("AffectedTaskOccurrences", "AllOccurrences")
	idList(di, "m:ItemIds", "t:ItemId", ids)
	_, err := callOp[idOnlyXML](ctx, c, mbx, "DeleteItem", r, false, len(ids))
	return err
}

// removePending deletes the half-written copies of sourceID in a folder,
// each reported as a side write before and after.
func (m *Mailbox) removePending(ctx context.Context, folderID, sourceID string) error {
	var ids []string
	err := m.c.findItems(ctx, m.address, folderID, func(r *etree.Element) {
		eq := r.CreateElement("t:IsEqualTo")
		pendingURI(eq)
		eq.CreateElement("t:FieldURIOrConstant").CreateElement("t:Constant").CreateAttr("Value", sourceID)
	}, func(it mailbox.Item) error { ids = append(ids, it.ID); return nil })
	if err != nil {
		return err
	}
	for _, id := range ids {
		err := m.deleteIncomplete(ctx, ctx, id, sourceID)
		if err != nil && !isNotFound(err) {
			return err
		}
	}
	return nil
}

func isNotFound(err error) bool {
	var re *ResponseError
	return errors.As(err, &re) && re.Code == "ErrorItemNotFound"
}

// idOnlyShape writes an IdOnly m:ItemShape with bodyType ("" for none) and
// fields; it returns AdditionalProperties for a caller that asks more.
func idOnlyShape(parent *etree.Element, bodyType string, fields []string) *etree.Element {
	is := parent.CreateElement("m:ItemShape")
	elem(is, "t:BaseShape", "IdOnly")
	if bodyType != "" {
		elem(is, "t:BodyType", bodyType)
	}
	ap := is.CreateElement("t:AdditionalProperties")
	for _, f := range fields {
		fieldURI(ap, f)
	}
	return ap
}

// getItems reads items by id with GetItem, shape writing the ItemShape:
// one item an id, in order.
func getItems[T any](ctx context.Context, c *Client, mbx string, ids []string, shape func(gi *etree.Element)) ([]T, error) {
	r := c.newRequest(mbx)
	gi := r.body.CreateElement("m:GetItem")
	shape(gi)
	idList(gi, "m:ItemIds", "t:ItemId", ids)
	msgs, err := callOp[T](ctx, c, mbx, "GetItem", r, true, len(ids))
	if err != nil {
		return nil, err
	}
	out := make([]T, 0, len(ids))
	for _, m := range msgs {
		if len(m.Items.Items) != 1 {
			return nil, fmt.Errorf("EWS GetItem: %d items for one id", len(m.Items.Items))
		}
		out = append(out, m.Items.Items[0])
	}
	return out, nil
}

// readAs refuses, for good, to read an item that answers as another
// element than el as a what (the typed readers ask for one type's
// properties only).
func readAs(itemID string, got xml.Name, el, what string) error {
	if got.Local == el {
		return nil
	}
	return mailbox.Permanent(fmt.Errorf("ews: read %s (a %s) as a %s: %w", itemID, got.Local, what, mailbox.ErrUnsupported))
}

// createTyped sends a CreateItem of the one item write adds to m:Items,
// into folderID, and returns its id. A calendar item is saved without
// sending invitations.
func (c *Client) createTyped(ctx context.Context, mbx, folderID string, calendar bool, write func(items *etree.Element)) (string, error) {
	r := c.newRequest(mbx)
	ci := r.body.CreateElement("m:CreateItem")
	if calendar {
		ci.CreateAttr("SendMeetingInvitations", "SendToNone")
	}
	c.folderRef(ci.CreateElement("m:SavedItemFolderId"), folderID, mbx)
	write(ci.CreateElement("m:Items"))
	return createdID(callOp[idOnlyXML](ctx, c, mbx, "CreateItem", r, false, 1))
}

// createdID is the id a CreateItem of one item answers.
func createdID(msgs []opMessage[idOnlyXML], err error) (string, error) {
	if err != nil {
		return "", err
	}
	if len(msgs[0].Items.Items) == 0 {
		return "", fmt.Errorf("EWS CreateItem: no item id in the answer")
	}
	return msgs[0].Items.Items[0].ItemID.ID, nil
}

// sourceStamp writes the source-id stamp into an item to create; nil
// when there is no source id.
func sourceStamp(sourceID string) func(*etree.Element) {
	if sourceID == "" {
		return nil
	}
	return stampWith(sourceIDURI, sourceID)
}

// idList writes ids as list's elements of name el (m:ItemIds of
// t:ItemId ...).
func idList(parent *etree.Element, list, el string, ids []string) {
	l := parent.CreateElement(list)
	for _, id := range ids {
		l.CreateElement(el).CreateAttr("Id", id)
	}
}

// deleteIncomplete deletes a half-written copy with delCtx, reported as
// a side write before and after.
func (m *Mailbox) deleteIncomplete(ctx, delCtx context.Context, id, sourceID string) error {
	mailbox.ReportSideWrite(ctx, mailbox.SideWrite{Action: mailbox.SideWriteDeleteIncomplete, ItemID: id, SourceID: sourceID, Started: true})
	err := m.c.deleteItems(delCtx, m.address, id)
	mailbox.ReportSideWrite(ctx, mailbox.SideWrite{Action: mailbox.SideWriteDeleteIncomplete, ItemID: id, SourceID: sourceID, Err: err})
	return err
}
