package graphmail

import (
	"context"
	"fmt"

	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/users"
)

// Attachment is a file attached to an outgoing mail.
type Attachment struct {
	Name        string
	ContentType string
	Data        []byte
}

// OutgoingMail is a mail graphmail sends (a report to stakeholders).
type OutgoingMail struct {
	To          []string
	Subject     string
	HTMLBody    string
	Attachments []Attachment
}

// maxSendBytes keeps a sendMail request under Graph's 4 MB request limit
// (base64 grows attachments by a third).
const maxSendBytes = 2900 << 10

// SendMail sends mail from a mailbox and keeps a copy in its Sent Items. It
// needs the Mail.Send application permission. Attachments travel inline, so
// together they must stay under about 2.9 MB.
func (c *Client) SendMail(ctx context.Context, from string, mail OutgoingMail) error {
	ctx = withMailbox(ctx, from)
	op := fmt.Sprintf("send mail %q from %s", mail.Subject, from)
	if len(mail.To) == 0 {
		return fmt.Errorf("graph: %s: no recipients", op)
	}
	total := len(mail.HTMLBody)
	for _, a := range mail.Attachments {
		total += len(a.Data)
	}
	if total > maxSendBytes {
		return fmt.Errorf("graph: %s: body and attachments are %d bytes, over the %d a sendMail request can carry; link large reports instead", op, total, maxSendBytes)
	}
	msg := models.NewMessage()
	msg.SetSubject(&mail.Subject)
	body := models.NewItemBody()
	html := models.HTML_BODYTYPE
	body.SetContentType(&html)
	body.SetContent(&mail.HTMLBody)
	msg.SetBody(body)
	var to []models.Recipientable
	for _, addr := range mail.To {
		r := models.NewRecipient()
		ea := models.NewEmailAddress()
		ea.SetAddress(ptr(addr))
		r.SetEmailAddress(ea)
		to = append(to, r)
	}
	msg.SetToRecipients(to)
	var atts []models.Attachmentable
	for _, a := range mail.Attachments {
		fa := models.NewFileAttachment()
		fa.SetName(ptr(a.Name))
		ct := a.ContentType
		if ct == "" {
			ct = "application/octet-stream"
		}
		fa.SetContentType(&ct)
		fa.SetContentBytes(a.Data)
		atts = append(atts, fa)
	}
	if len(atts) > 0 {
		msg.SetAttachments(atts)
	}
	req := users.NewItemSendMailPostRequestBody()
	req.SetMessage(msg)
	req.SetSaveToSentItems(ptr(true))
	return wrapErr(op, c.users.ByUserId(from).SendMail().Post(ctx, req, nil))
}
