package wire

import (
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/emersion/go-message/mail"

	"github.com/exmigrate/exmigrate/mailbox"
)

type Address struct {
	EmailAddress struct {
		Address string `json:"address"`
		Name    string `json:"name,omitempty"`
	} `json:"emailAddress"`
}

type Property struct {
	ID    string `json:"id"`
	Value string `json:"value"`
}

type Header struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type Attachment struct {
	ODataType    string `json:"@odata.type"`
	Name         string `json:"name"`
	ContentType  string `json:"contentType,omitempty"`
	ContentBytes string `json:"contentBytes"`
	IsInline     bool   `json:"isInline,omitempty"`
	ContentID    string `json:"contentId,omitempty"`
}

type Body struct {
	ContentType string `json:"contentType"`
	Content     string `json:"content"`
}

type Flag struct {
	FlagStatus string `json:"flagStatus"`
}

// CreateBody is the JSON of a message create. Only properties Graph lets a
// client set at creation are here.
type CreateBody struct {
	Subject                       string       `json:"subject"`
	Body                          Body         `json:"body"`
	From                          *Address     `json:"from,omitempty"`
	ToRecipients                  []Address    `json:"toRecipients,omitempty"`
	CcRecipients                  []Address    `json:"ccRecipients,omitempty"`
	BccRecipients                 []Address    `json:"bccRecipients,omitempty"`
	ReplyTo                       []Address    `json:"replyTo,omitempty"`
	Importance                    string       `json:"importance,omitempty"`
	Categories                    []string     `json:"categories,omitempty"`
	Flag                          *Flag        `json:"flag,omitempty"`
	InternetMessageID             string       `json:"internetMessageId,omitempty"`
	InternetMessageHeaders        []Header     `json:"internetMessageHeaders,omitempty"`
	SingleValueExtendedProperties []Property   `json:"singleValueExtendedProperties"`
	Attachments                   []Attachment `json:"attachments,omitempty"`
}

func ToAddresses(as []*mail.Address) []Address {
	var out []Address
	for _, a := range as {
		if a == nil || a.Address == "" {
			continue
		}
		var j Address
		j.EmailAddress.Address, j.EmailAddress.Name = a.Address, a.Name
		out = append(out, j)
	}
	return out
}

const SystemTimeLayout = "2006-01-02T15:04:05Z"

// BuildCreate turns the neutral item and its parsed MIME into the JSON
// create body. The read state and dates travel as the extended properties
// that Exchange only accepts at creation: PR_MESSAGE_FLAGS (1 read, 0
// unread; never mfUnsent, which would make a draft), PR_MESSAGE_DELIVERY_TIME
// and PR_CLIENT_SUBMIT_TIME, plus the exmigrate source stamp.
func BuildCreate(msg mailbox.Message, p *Parsed, sourceIDProp string) CreateBody {
	it := msg.Item
	cb := CreateBody{
		Subject:       it.Subject,
		Body:          Body{ContentType: p.bodyType, Content: p.body},
		ToRecipients:  ToAddresses(p.to),
		CcRecipients:  ToAddresses(p.cc),
		BccRecipients: ToAddresses(p.bcc),
		ReplyTo:       ToAddresses(p.repl),
		Categories:    it.Categories,
	}
	if cb.Subject == "" {
		cb.Subject = p.subject
	}
	if f := ToAddresses(p.from); len(f) > 0 {
		cb.From = &f[0]
	}
	switch it.Importance {
	case mailbox.ImportanceHigh:
		cb.Importance = "high"
	case mailbox.ImportanceLow:
		cb.Importance = "low"
	case mailbox.ImportanceNormal:
		cb.Importance = "normal"
	default:
		cb.Importance = p.importance
	}
	if len(cb.Categories) == 0 {
		cb.Categories = p.keywords
	}
	switch it.Flag {
	case mailbox.Flagged:
		cb.Flag = &Flag{"flagged"}
	case mailbox.Complete:
		cb.Flag = &Flag{"complete"}
	}
	cb.InternetMessageID = it.InternetMessageID
	if cb.InternetMessageID == "" {
		cb.InternetMessageID = p.messageID
	}
	for _, h := range p.xHeaders {
		cb.InternetMessageHeaders = append(cb.InternetMessageHeaders, Header{h[0], h[1]})
	}
	flags := "0"
	if it.IsRead {
		flags = "1"
	}
	cb.SingleValueExtendedProperties = []Property{{"Integer 0x0E07", flags}}
	received, sent := it.Received, it.Sent
	if sent.IsZero() {
		sent = p.date
	}
	if received.IsZero() {
		received = sent
	}
	if !received.IsZero() {
		cb.SingleValueExtendedProperties = append(cb.SingleValueExtendedProperties, Property{"SystemTime 0x0E06", received.UTC().Format(SystemTimeLayout)})
	}
	if !sent.IsZero() {
		cb.SingleValueExtendedProperties = append(cb.SingleValueExtendedProperties, Property{"SystemTime 0x0039", sent.UTC().Format(SystemTimeLayout)})
	}
	src := msg.SourceID
	if src == "" {
		src = it.SourceID
	}
	if src != "" {
		cb.SingleValueExtendedProperties = append(cb.SingleValueExtendedProperties, Property{sourceIDProp, src})
	}
	return cb
}

func AttachmentJSON(a *Part) Attachment {
	return Attachment{
		ODataType: "#microsoft.graph.fileAttachment", Name: a.Name, ContentType: a.ContentType,
		ContentBytes: base64.StdEncoding.EncodeToString(a.Data), IsInline: a.Inline, ContentID: a.ContentID,
	}
}

// PlanCreate marshals the create request with as many small attachments
// inline as keep it under Graph's 4 MB request limit, and returns the
// attachments left for later requests.
func PlanCreate(cb CreateBody, parts []*Part) ([]byte, []*Part, error) {
	base, err := json.Marshal(cb)
	if err != nil {
		return nil, nil, err
	}
	if len(base) > MaxRequestBytes {
		return nil, nil, fmt.Errorf("%w: the message without attachments is %d bytes of JSON, over Graph's 4 MB request limit", mailbox.ErrItemRejected, len(base))
	}
	est := len(base)
	var later, inline []*Part
	for _, a := range parts {
		cost := base64.StdEncoding.EncodedLen(int(a.Size)) + len(a.Name) + len(a.ContentType) + len(a.ContentID) + 160
		if a.File == nil && est+cost <= MaxRequestBytes {
			inline = append(inline, a)
			est += cost
			continue
		}
		later = append(later, a)
	}
	if len(inline) == 0 {
		return base, later, nil
	}
	return appendAttachments(base, inline), later, nil
}

// appendAttachments writes the attachments into base, the JSON of a
// CreateBody without them (whose last byte is its closing brace), as
// json.Marshal of the body with them would
// (attachments is its last field; TestAppendAttachmentsAsMarshal pins the
// equality). Marshalling the body a second time, and its attachments'
// base64 as Go strings that the encoder then scans for characters to
// escape, was a tenth of a small message's CPU: the base64 goes straight
// into the buffer (its alphabet needs no escaping).
func appendAttachments(base []byte, parts []*Part) []byte {
	n := len(base) + 16
	for _, a := range parts {
		n += base64.StdEncoding.EncodedLen(len(a.Data)) + 2*(len(a.Name)+len(a.ContentType)+len(a.ContentID)) + 128
	}
	out := make([]byte, 0, n)
	out = append(out, base[:len(base)-1]...)
	out = append(out, `,"attachments":[`...)
	for i, a := range parts {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, `{"@odata.type":"#microsoft.graph.fileAttachment","name":`...)
		out = appendJSONString(out, a.Name)
		if a.ContentType != "" {
			out = append(out, `,"contentType":`...)
			out = appendJSONString(out, a.ContentType)
		}
		out = append(out, `,"contentBytes":"`...)
		out = base64.StdEncoding.AppendEncode(out, a.Data)
		out = append(out, '"')
		if a.Inline {
			out = append(out, `,"isInline":true`...)
		}
		if a.ContentID != "" {
			out = append(out, `,"contentId":`...)
			out = appendJSONString(out, a.ContentID)
		}
		out = append(out, '}')
	}
	return append(out, "]}"...)
}

// appendJSONString appends s as encoding/json writes it (HTML characters
// escaped, invalid UTF-8 replaced): names are short, so the encoder's
// cost does not matter here, only that the bytes are its bytes.
func appendJSONString(out []byte, s string) []byte {
	b, _ := json.Marshal(s) // a string always marshals
	return append(out, b...)
}
