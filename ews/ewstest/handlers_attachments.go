package ewstest

import (
	"bytes"
	"encoding/base64"
	"strconv"
	"strings"
)

// parseAttachmentID reads an id written by attachmentID.
func parseAttachmentID(id string) (itemID string, index int, ok bool) {
	raw, err := base64.StdEncoding.DecodeString(id)
	if err != nil {
		return "", 0, false
	}
	i := bytes.LastIndex(raw, []byte("|att|"))
	if i < 0 {
		return "", 0, false
	}
	n, err := strconv.Atoi(string(raw[i+len("|att|"):]))
	if err != nil || n < 0 {
		return "", 0, false
	}
	return string(raw[:i]), n, true
}

// getAttachment answers the attachments of items the fake holds as MIME,
// with their content (getattachment-operation.md). An id it did not hand
// out is ErrorInvalidAttachmentId (responsecode.md).
func (rc *reqCtx) getAttachment(op *node, x *xw) error {
	shapeNode := op.child(nsMessages, "AttachmentShape")
	v := shapeNode.child(nsTypes, "IncludeMimeContent").value()
	withMIME := v == "true" || v == "1"
	x.start(nsMessages, "GetAttachmentResponse")
	x.start(nsMessages, "ResponseMessages")
	for _, ref := range op.child(nsMessages, "AttachmentIds").children {
		it, idx, a, err := rc.attachmentByID(ref.attr("Id"))
		if rc.msgStart(x, "GetAttachmentResponseMessage", err) {
			x.start(nsMessages, "Attachments")
			rc.writeAttachment(x, it, idx, a, true, withMIME)
			x.end()
		} else {
			x.empty(nsMessages, "Attachments") // required by AttachmentInfoResponseMessageType
		}
		x.end()
	}
	x.end()
	x.end()
	return nil
}

func (rc *reqCtx) attachmentByID(id string) (*item, int, attachment, error) {
	invalid := errf("ErrorInvalidAttachmentId", "The attachment ID is not valid.")
	itemID, idx, ok := parseAttachmentID(id)
	if !ok {
		return nil, 0, attachment{}, invalid
	}
	it, err := rc.itemByID(itemID)
	if err != nil {
		return nil, 0, attachment{}, err
	}
	if typed := it.typedAttachments(); typed != nil {
		if idx >= len(typed) {
			return nil, 0, attachment{}, invalid
		}
		a := typed[idx]
		return it, idx, attachment{name: a.Name, contentType: a.ContentType, contentID: a.ContentID, inline: a.IsInline,
			size: int64(len(a.Data)), content: a.Data}, nil
	}
	if it.contact != nil && len(it.contact.Photo) > 0 && idx == 0 {
		return it, 0, attachment{name: "ContactPicture.jpg", contentType: "image/jpeg", size: int64(len(it.contact.Photo)),
			content: it.contact.Photo, photo: true}, nil
	}
	var atts []attachment
	if it.mime != nil { // a streamed item lists no attachments
		atts = deriveProps(it.mime, true).attachments
	}
	if idx >= len(atts) {
		return nil, 0, attachment{}, invalid
	}
	return it, idx, atts[idx], nil
}

// writeAttachment writes a FileAttachment or ItemAttachment; with content
// (GetAttachment) a file's bytes, or an attached message's subject and,
// when asked for, its MIME.
func (rc *reqCtx) writeAttachment(x *xw, it *item, i int, a attachment, content, withMIME bool) {
	el := "FileAttachment"
	if a.item {
		el = "ItemAttachment"
	}
	x.start(nsTypes, el)
	x.empty(nsTypes, "AttachmentId", "Id", attachmentID(it.id, i))
	x.leaf(nsTypes, "Name", a.name)
	x.leaf(nsTypes, "ContentType", a.contentType)
	if a.contentID != "" {
		x.leaf(nsTypes, "ContentId", a.contentID)
	}
	x.leaf(nsTypes, "Size", strconv.FormatInt(min(a.size, 1<<31-1), 10))
	x.leaf(nsTypes, "LastModifiedTime", it.modifiedAt().UTC().Format("2006-01-02T15:04:05"))
	x.leaf(nsTypes, "IsInline", strconv.FormatBool(a.inline))
	switch {
	case !a.item:
		x.leaf(nsTypes, "IsContactPhoto", strconv.FormatBool(a.photo))
		if content {
			x.leaf(nsTypes, "Content", base64.StdEncoding.EncodeToString(a.content))
		}
	case content:
		inner := deriveProps(a.content, false)
		x.start(nsTypes, "Message")
		if withMIME {
			x.leaf(nsTypes, "MimeContent", base64.StdEncoding.EncodeToString(a.content), "CharacterSet", "UTF-8")
		}
		for _, h := range inner.headers {
			if strings.EqualFold(h[0], "Subject") {
				x.leaf(nsTypes, "Subject", decodeWords(h[1]))
				break
			}
		}
		x.end()
	}
	x.end()
}
