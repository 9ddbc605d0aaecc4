package ews

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/beevik/etree"

	"github.com/exmigrate/exmigrate/mailbox"
)

// request is an envelope under construction.
type request struct {
	doc  *etree.Document
	body *etree.Element
}

// newRequest starts an envelope. impersonate is the SMTP address to act as
// when impersonation is configured; empty for requests that are not
// mailbox-scoped.
func (c *Client) newRequest(impersonate string) *request {
	doc := etree.NewDocument()
	doc.CreateProcInst("xml", `version="1.0" encoding="utf-8"`)
	env := doc.CreateElement("s:Envelope")
	env.CreateAttr("xmlns:s", nsSOAP)
	env.CreateAttr("xmlns:m", nsMessages)
	env.CreateAttr("xmlns:t", nsTypes)
	hdr := env.CreateElement("s:Header")
	hdr.CreateElement("t:RequestServerVersion").CreateAttr("Version", c.cfg.ServerVersion)
	if c.cfg.Impersonation && impersonate != "" {
		hdr.CreateElement("t:ExchangeImpersonation").CreateElement("t:ConnectingSID").
			CreateElement("t:PrimarySmtpAddress").SetText(impersonate)
	}
	return &request{doc: doc, body: env.CreateElement("s:Body")}
}

func (r *request) bytes() *body {
	var buf bytes.Buffer
	r.doc.WriteTo(&buf)
	return &body{data: buf.Bytes(), size: int64(buf.Len())}
}

// elem adds a child with text.
func elem(parent *etree.Element, tag, text string) *etree.Element {
	e := parent.CreateElement(tag)
	e.SetText(text)
	return e
}

// distinguished folder names the adapter accepts in place of folder ids.
var distinguished = map[string]bool{
	"msgfolderroot": true, "root": true, "inbox": true, "sentitems": true, "deleteditems": true,
	"drafts": true, "junkemail": true, "outbox": true, "archive": true, "conversationhistory": true,
	"calendar": true, "contacts": true, "tasks": true, "notes": true, "journal": true,
	"publicfoldersroot": true, "archiveroot": true, "archivemsgfolderroot": true,
	"archiveinbox": true, "archivedeleteditems": true, "recoverableitemsroot": true,
	"recoverableitemsdeletions": true, "recoverableitemspurges": true, "recoverableitemsversions": true,
	"recoverableitemsdiscoveryholds": true, "archiverecoverableitemsroot": true,
	"archiverecoverableitemsdeletions": true, "archiverecoverableitemspurges": true,
	"archiverecoverableitemsversions": true, "archiverecoverableitemsdiscoveryholds": true,
	"searchfolders": true, "syncissues": true, "conflicts": true, "localfailures": true, "serverfailures": true,
}

// folderRef writes a FolderId or DistinguishedFolderId (with the mailbox it
// belongs to when not impersonating, so delegate access reaches it).
func (c *Client) folderRef(parent *etree.Element, id, mbx string) {
	if distinguished[id] {
		d := parent.CreateElement("t:DistinguishedFolderId")
		d.CreateAttr("Id", id)
		if mbx != "" && !c.cfg.Impersonation && id != "publicfoldersroot" {
			d.CreateElement("t:Mailbox").CreateElement("t:EmailAddress").SetText(mbx)
		}
		return
	}
	parent.CreateElement("t:FolderId").CreateAttr("Id", id)
}

func fieldURI(parent *etree.Element, uri string) {
	parent.CreateElement("t:FieldURI").CreateAttr("FieldURI", uri)
}

func extTag(parent *etree.Element, tag, typ string) *etree.Element {
	e := parent.CreateElement("t:ExtendedFieldURI")
	e.CreateAttr("PropertyTag", tag)
	e.CreateAttr("PropertyType", typ)
	return e
}

func sourceIDURI(parent *etree.Element) *etree.Element {
	e := parent.CreateElement("t:ExtendedFieldURI")
	e.CreateAttr("PropertySetId", mailbox.SourceIDPropertySet)
	e.CreateAttr("PropertyName", mailbox.SourceIDPropertyName)
	e.CreateAttr("PropertyType", "String")
	return e
}

// folderShape asks for what mailbox.Folder needs, including the folder size
// (PR_MESSAGE_SIZE_EXTENDED, 64-bit) and the hidden flag. It returns the
// AdditionalProperties, for a caller that asks for more.
func folderShape(parent *etree.Element) *etree.Element {
	fs := parent.CreateElement("m:FolderShape")
	elem(fs, "t:BaseShape", "IdOnly")
	ap := fs.CreateElement("t:AdditionalProperties")
	for _, f := range []string{"folder:ParentFolderId", "folder:FolderClass", "folder:DisplayName", "folder:TotalCount", "folder:ChildFolderCount"} {
		fieldURI(ap, f)
	}
	extTag(ap, "0x0E08", "Long")
	extTag(ap, "0x10F4", "Boolean")
	return ap
}

// itemShape asks for what mailbox.Item needs.
func itemShape(parent *etree.Element) {
	is := parent.CreateElement("m:ItemShape")
	elem(is, "t:BaseShape", "IdOnly")
	ap := is.CreateElement("t:AdditionalProperties")
	for _, f := range []string{"item:ParentFolderId", "item:ItemClass", "item:Subject", "item:DateTimeReceived", "item:Size",
		"item:Categories", "item:Importance", "item:IsDraft", "item:HasAttachments", "item:DateTimeSent",
		"message:InternetMessageId", "message:IsRead"} {
		fieldURI(ap, f)
	}
	extTag(ap, "0x1090", "Integer") // PR_FLAG_STATUS: the follow-up flag on every Exchange version
	// PR_SEARCH_KEY: Item.Fingerprint, in the listing so that finding an
	// unstamped import costs no request per item.
	extTag(ap, "0x300B", "Binary")
	sourceIDURI(ap)
}

// messageElement writes the item CreateItem makes of msg into items,
// with marker in place of its MimeContent's base64 (streamed in later).
func messageElement(items *etree.Element, msg mailbox.Message, marker string) {
	// A note, journal entry or other non-mail item is written as a generic
	// t:Item that keeps its class: MIME says nothing of the class, and
	// without ItemClass Exchange would make the item a message (IPM.Note).
	// Not a t:Message: the ItemClass reference (learn.microsoft.com,
	// exchange/client-developer/web-service-reference/itemclass) says a
	// message needs a class consistent with a message and that an
	// inconsistent one is an error, while an item may take any class; EWS
	// answers notes and journal entries as t:Item. ItemType order:
	// MimeContent, ItemId, ParentFolderId, ItemClass. That Exchange keeps
	// an ItemClass given beside MimeContent is UNVERIFIED: no document
	// found says either way; the lab's fake keeps it.
	nonMail := false
	switch msg.Item.Kind() {
	case mailbox.KindNotes, mailbox.KindOther:
		nonMail = true
	}
	el := "t:Message"
	if nonMail {
		el = "t:Item"
	}
	// A post (IPM.Post, the items of public folder discussions) is a
	// t:PostItem, the element CreateItem documents for posts
	// (public-folder-access-with-ews-in-exchange), keeping its class: as
	// a t:Message it would become a message (IPM.Note). That Exchange
	// takes MimeContent in a PostItem is UNVERIFIED (the schema allows it,
	// PostItemType extends ItemType; no document shows it).
	post := isPost(msg.Item.Class)
	if post {
		el = "t:PostItem"
	}
	m := items.CreateElement(el)
	mc := m.CreateElement("t:MimeContent")
	mc.CreateAttr("CharacterSet", "UTF-8")
	mc.SetText(marker)
	if nonMail || post {
		elem(m, "t:ItemClass", msg.Item.Class)
	}
	// Then Categories, Importance ... ExtendedProperty;
	// IsRead would come later but the read bit of PR_MESSAGE_FLAGS says it.
	if len(msg.Item.Categories) > 0 {
		cats := m.CreateElement("t:Categories")
		for _, c := range msg.Item.Categories {
			elem(cats, "t:String", c)
		}
	}
	switch msg.Item.Importance {
	case mailbox.ImportanceLow, mailbox.ImportanceNormal, mailbox.ImportanceHigh:
		elem(m, "t:Importance", string(msg.Item.Importance))
	}
	flags := 0
	if msg.Item.IsRead {
		flags = 1 // MSGFLAG_READ; never MSGFLAG_UNSENT, which would make a draft
	}
	ext := func(uri func(*etree.Element) *etree.Element, val string) {
		ep := m.CreateElement("t:ExtendedProperty")
		uri(ep)
		elem(ep, "t:Value", val)
	}
	ext(func(p *etree.Element) *etree.Element { return extTag(p, "0x0E07", "Integer") }, strconv.Itoa(flags))
	if !msg.Item.Received.IsZero() {
		ext(func(p *etree.Element) *etree.Element { return extTag(p, "0x0E06", "SystemTime") }, msg.Item.Received.UTC().Format("2006-01-02T15:04:05Z"))
	}
	if !msg.Item.Sent.IsZero() {
		ext(func(p *etree.Element) *etree.Element { return extTag(p, "0x0039", "SystemTime") }, msg.Item.Sent.UTC().Format("2006-01-02T15:04:05Z"))
	}
	switch msg.Item.Flag {
	case mailbox.Flagged:
		ext(func(p *etree.Element) *etree.Element { return extTag(p, "0x1090", "Integer") }, "2")
	case mailbox.Complete:
		ext(func(p *etree.Element) *etree.Element { return extTag(p, "0x1090", "Integer") }, "1")
	}
	if msg.SourceID != "" {
		ext(sourceIDURI, msg.SourceID)
	}
}

// createItemBody builds a CreateItem envelope whose MimeContent is msg.MIME
// in base64. Small messages stay in memory; large ones are written to a
// temp file that the NTLM negotiator can rewind without buffering.
func (c *Client) createItemBody(mbx, folderID string, msg mailbox.Message) (*body, error) {
	r := c.newRequest(mbx)
	ci := r.body.CreateElement("m:CreateItem")
	ci.CreateAttr("MessageDisposition", "SaveOnly")
	c.folderRef(ci.CreateElement("m:SavedItemFolderId"), folderID, mbx)
	messageElement(ci.CreateElement("m:Items"), msg, "MIMEMARKER")
	var buf bytes.Buffer
	r.doc.WriteTo(&buf)
	head, tail, ok := strings.Cut(buf.String(), "MIMEMARKER")
	if !ok {
		return nil, fmt.Errorf("ews: internal error: MIME marker lost")
	}
	if msg.MIME == nil {
		return nil, fmt.Errorf("ews: message %q has no MIME content", msg.SourceID)
	}
	return streamBody(head, tail, msg.MIME, msg.Size, "the MIME of "+strconv.Quote(msg.SourceID))
}

// isPost reports whether a class is IPM.Post or one of its subclasses.
func isPost(class string) bool {
	c := strings.ToUpper(class)
	return c == "IPM.POST" || strings.HasPrefix(c, "IPM.POST.")
}

// streamBody is head, then r in base64, then tail: in memory when size
// says r is small, else in a temp file that the NTLM negotiator can
// rewind without buffering. what names r in errors.
func streamBody(head, tail string, r io.Reader, size int64, what string) (*body, error) {
	const inMemory = 2 << 20
	if size >= 0 && size <= inMemory {
		var out bytes.Buffer
		out.Grow(len(head) + len(tail) + int(size)*4/3 + 4)
		out.WriteString(head)
		enc := base64.NewEncoder(base64.StdEncoding, &out)
		if _, err := io.Copy(enc, r); err != nil {
			return nil, fmt.Errorf("ews: reading %s: %w", what, err)
		}
		enc.Close()
		out.WriteString(tail)
		return &body{data: out.Bytes(), size: int64(out.Len())}, nil
	}
	f, err := os.CreateTemp("", "exmigrate-ews-*.xml")
	if err != nil {
		return nil, fmt.Errorf("ews: temp file for a large item: %w", err)
	}
	b := &body{file: f}
	fail := func(err error) (*body, error) { b.cleanup(); return nil, err }
	if _, err := io.WriteString(f, head); err != nil {
		return fail(err)
	}
	enc := base64.NewEncoder(base64.StdEncoding, f)
	if _, err := io.Copy(enc, r); err != nil {
		return fail(fmt.Errorf("ews: reading %s: %w", what, err))
	}
	if err := enc.Close(); err != nil {
		return fail(err)
	}
	if _, err := io.WriteString(f, tail); err != nil {
		return fail(err)
	}
	st, err := f.Stat()
	if err != nil {
		return fail(err)
	}
	b.size = st.Size()
	return b, nil
}
