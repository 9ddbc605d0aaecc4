package graphmail

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/emersion/go-message/mail"

	"github.com/exmigrate/exmigrate/mailbox"
)

type jsonAddr struct {
	EmailAddress struct {
		Address string `json:"address"`
		Name    string `json:"name,omitempty"`
	} `json:"emailAddress"`
}

type jsonProp struct {
	ID    string `json:"id"`
	Value string `json:"value"`
}

type jsonHeader struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type jsonAttachment struct {
	ODataType    string `json:"@odata.type"`
	Name         string `json:"name"`
	ContentType  string `json:"contentType,omitempty"`
	ContentBytes string `json:"contentBytes"`
	IsInline     bool   `json:"isInline,omitempty"`
	ContentID    string `json:"contentId,omitempty"`
}

type jsonBody struct {
	ContentType string `json:"contentType"`
	Content     string `json:"content"`
}

type jsonFlag struct {
	FlagStatus string `json:"flagStatus"`
}

// createBody is the JSON of a message create. Only properties Graph lets a
// client set at creation are here.
type createBody struct {
	Subject                       string           `json:"subject"`
	Body                          jsonBody         `json:"body"`
	From                          *jsonAddr        `json:"from,omitempty"`
	ToRecipients                  []jsonAddr       `json:"toRecipients,omitempty"`
	CcRecipients                  []jsonAddr       `json:"ccRecipients,omitempty"`
	BccRecipients                 []jsonAddr       `json:"bccRecipients,omitempty"`
	ReplyTo                       []jsonAddr       `json:"replyTo,omitempty"`
	Importance                    string           `json:"importance,omitempty"`
	Categories                    []string         `json:"categories,omitempty"`
	Flag                          *jsonFlag        `json:"flag,omitempty"`
	InternetMessageID             string           `json:"internetMessageId,omitempty"`
	InternetMessageHeaders        []jsonHeader     `json:"internetMessageHeaders,omitempty"`
	SingleValueExtendedProperties []jsonProp       `json:"singleValueExtendedProperties"`
	Attachments                   []jsonAttachment `json:"attachments,omitempty"`
}

func toAddrs(as []*mail.Address) []jsonAddr {
	var out []jsonAddr
	for _, a := range as {
		if a == nil || a.Address == "" {
			continue
		}
		var j jsonAddr
		j.EmailAddress.Address, j.EmailAddress.Name = a.Address, a.Name
		out = append(out, j)
	}
	return out
}

const systemTime = "2006-01-02T15:04:05Z"

// buildCreate turns the neutral item and its parsed MIME into the JSON
// create body. The read state and dates travel as the extended properties
// that Exchange only accepts at creation: PR_MESSAGE_FLAGS (1 read, 0
// unread; never mfUnsent, which would make a draft), PR_MESSAGE_DELIVERY_TIME
// and PR_CLIENT_SUBMIT_TIME, plus the exmigrate source stamp.
func buildCreate(msg mailbox.Message, p *parsedMessage) createBody {
	it := msg.Item
	cb := createBody{
		Subject:       it.Subject,
		Body:          jsonBody{ContentType: p.bodyType, Content: p.body},
		ToRecipients:  toAddrs(p.to),
		CcRecipients:  toAddrs(p.cc),
		BccRecipients: toAddrs(p.bcc),
		ReplyTo:       toAddrs(p.repl),
		Categories:    it.Categories,
	}
	if cb.Subject == "" {
		cb.Subject = p.subject
	}
	if f := toAddrs(p.from); len(f) > 0 {
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
		cb.Flag = &jsonFlag{"flagged"}
	case mailbox.Complete:
		cb.Flag = &jsonFlag{"complete"}
	}
	cb.InternetMessageID = it.InternetMessageID
	if cb.InternetMessageID == "" {
		cb.InternetMessageID = p.messageID
	}
	for _, h := range p.xHeaders {
		cb.InternetMessageHeaders = append(cb.InternetMessageHeaders, jsonHeader{h[0], h[1]})
	}
	flags := "0"
	if it.IsRead {
		flags = "1"
	}
	cb.SingleValueExtendedProperties = []jsonProp{{"Integer 0x0E07", flags}}
	received, sent := it.Received, it.Sent
	if sent.IsZero() {
		sent = p.date
	}
	if received.IsZero() {
		received = sent
	}
	if !received.IsZero() {
		cb.SingleValueExtendedProperties = append(cb.SingleValueExtendedProperties, jsonProp{"SystemTime 0x0E06", received.UTC().Format(systemTime)})
	}
	if !sent.IsZero() {
		cb.SingleValueExtendedProperties = append(cb.SingleValueExtendedProperties, jsonProp{"SystemTime 0x0039", sent.UTC().Format(systemTime)})
	}
	src := msg.SourceID
	if src == "" {
		src = it.SourceID
	}
	if src != "" {
		cb.SingleValueExtendedProperties = append(cb.SingleValueExtendedProperties, jsonProp{sourceIDProp, src})
	}
	return cb
}

func attachmentJSON(a *parsedPart) jsonAttachment {
	return jsonAttachment{
		ODataType: "#microsoft.graph.fileAttachment", Name: a.name, ContentType: a.contentType,
		ContentBytes: base64.StdEncoding.EncodeToString(a.data), IsInline: a.inline, ContentID: a.contentID,
	}
}

// planCreate marshals the create request with as many small attachments
// inline as keep it under Graph's 4 MB request limit, and returns the
// attachments left for later requests.
func planCreate(cb createBody, parts []*parsedPart) ([]byte, []*parsedPart, error) {
	base, err := json.Marshal(cb)
	if err != nil {
		return nil, nil, err
	}
	if len(base) > maxRequestBytes {
		return nil, nil, fmt.Errorf("%w: the message without attachments is %d bytes of JSON, over Graph's 4 MB request limit", mailbox.ErrItemRejected, len(base))
	}
	est := len(base)
	var later []*parsedPart
	for _, a := range parts {
		cost := base64.StdEncoding.EncodedLen(int(a.size)) + len(a.name) + len(a.contentType) + len(a.contentID) + 160
		if a.file == nil && est+cost <= maxRequestBytes {
			cb.Attachments = append(cb.Attachments, attachmentJSON(a))
			est += cost
			continue
		}
		later = append(later, a)
	}
	if len(cb.Attachments) == 0 {
		return base, later, nil
	}
	body, err := json.Marshal(cb)
	return body, later, err
}

// CreateMessage writes msg into a folder as a received (not draft) message
// with its read state and dates, stamped with its source identity. The MIME
// is parsed as a stream; attachments under 3 MB go inline while the request
// stays under 4 MB (or in an attachment POST each), larger ones through an
// upload session. An item over Limits.MaxItemBytes is refused with
// *mailbox.ItemTooLargeError before anything is sent. If adding an
// attachment fails, the half-written message is deleted so that
// FindBySourceID never finds an incomplete copy.
func (m *Mailbox) CreateMessage(ctx context.Context, folderID string, msg mailbox.Message) (string, error) {
	ctx = m.ctx(ctx)
	limit := m.c.sched.limits.MaxItemBytes
	if msg.Size > limit {
		return "", &mailbox.ItemTooLargeError{Size: msg.Size, Limit: limit}
	}
	if msg.MIME == nil {
		return "", fmt.Errorf("graph: create message in %s: %w: the message has no MIME content", m.address, mailbox.ErrItemRejected)
	}
	p, err := parseMIME(msg.MIME, limit, "")
	if err != nil {
		return "", fmt.Errorf("graph: create message %s in %s: %w", msg.SourceID, m.address, err)
	}
	defer p.Close()
	if p.droppedHeaders > 0 {
		m.c.log.Debug("graph keeps at most 5 x- headers", "mailbox", m.address, "source", msg.SourceID, "dropped", p.droppedHeaders)
	}
	body, later, err := planCreate(buildCreate(msg, p), p.parts)
	if err != nil {
		return "", fmt.Errorf("graph: create message %s in %s: %w", msg.SourceID, m.address, err)
	}
	op := fmt.Sprintf("create message %s in folder %s of %s", msg.SourceID, folderID, m.address)
	u := m.c.graphURL(userPath(m.address)+"/mailFolders/"+urlPathEscape(folderID)+"/messages", nil)
	resp, err := m.c.do(ctx, op, http.MethodPost, u, bytes.NewReader(body), int64(len(body)), http.Header{"Content-Type": {"application/json"}})
	if err != nil {
		var ge *Error
		if errors.As(err, &ge) && ge.Status == http.StatusBadRequest && ge.kind == nil {
			ge.kind = mailbox.ErrItemRejected // Graph refused this item's content for good
		}
		return "", err
	}
	var created struct {
		ID string `json:"id"`
	}
	err = json.NewDecoder(io.LimitReader(resp.Body, 8<<20)).Decode(&created)
	resp.Body.Close()
	if err != nil || created.ID == "" {
		return "", fmt.Errorf("graph: %s: the answer has no message id: %v", op, err)
	}
	for _, a := range later {
		if err := m.addAttachment(ctx, created.ID, a); err != nil {
			m.deleteQuietly(ctx, created.ID)
			return "", err
		}
	}
	return created.ID, nil
}

func (m *Mailbox) deleteQuietly(ctx context.Context, id string) {
	// The caller's context may be what failed; the clean-up gets its own.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	u := m.c.graphURL(userPath(m.address)+"/messages/"+urlPathEscape(id), nil)
	if resp, err := m.c.do(ctx, "delete incomplete message "+id, http.MethodDelete, u, nil, -1, nil); err == nil {
		resp.Body.Close()
	} else {
		m.c.log.Warn("could not delete an incomplete message; delete it by hand", "mailbox", m.address, "id", id, "err", err)
	}
}

func (m *Mailbox) addAttachment(ctx context.Context, msgID string, a *parsedPart) error {
	base := userPath(m.address) + "/messages/" + urlPathEscape(msgID) + "/attachments"
	op := fmt.Sprintf("attach %q (%d bytes) to %s in %s", a.name, a.size, msgID, m.address)
	if a.file == nil {
		body, err := json.Marshal(attachmentJSON(a))
		if err != nil {
			return err
		}
		resp, err := m.c.do(ctx, op, http.MethodPost, m.c.graphURL(base, nil), bytes.NewReader(body), int64(len(body)), http.Header{"Content-Type": {"application/json"}})
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	}
	return m.uploadAttachment(ctx, base, op, a)
}

// uploadAttachment sends a large attachment through an upload session: the
// ranges in order, each under 4 MB, to the pre-authenticated URL with no
// Authorization header.
func (m *Mailbox) uploadAttachment(ctx context.Context, base, op string, a *parsedPart) error {
	var sess struct {
		AttachmentItem struct {
			AttachmentType string `json:"attachmentType"`
			Name           string `json:"name"`
			Size           int64  `json:"size"`
			ContentType    string `json:"contentType,omitempty"`
			IsInline       bool   `json:"isInline"`
			ContentID      string `json:"contentId,omitempty"`
		} `json:"AttachmentItem"`
	}
	sess.AttachmentItem.AttachmentType, sess.AttachmentItem.Name, sess.AttachmentItem.Size = "file", a.name, a.size
	sess.AttachmentItem.ContentType, sess.AttachmentItem.IsInline, sess.AttachmentItem.ContentID = a.contentType, a.inline, a.contentID
	body, _ := json.Marshal(sess)
	resp, err := m.c.do(ctx, op+": create upload session", http.MethodPost, m.c.graphURL(base+"/createUploadSession", nil), bytes.NewReader(body), int64(len(body)), http.Header{"Content-Type": {"application/json"}})
	if err != nil {
		return err
	}
	var us struct {
		UploadURL string `json:"uploadUrl"`
	}
	err = json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&us)
	resp.Body.Close()
	if err != nil || us.UploadURL == "" {
		return fmt.Errorf("graph: %s: the upload session has no uploadUrl: %v", op, err)
	}
	uu, err := url.Parse(us.UploadURL)
	if err != nil || (uu.Scheme != "https" && !(uu.Scheme == "http" && isLoopback(uu.Hostname()))) {
		return fmt.Errorf("graph: %s: refusing upload URL that is not https", op)
	}
	for off := int64(0); off < a.size; off += uploadChunk {
		n := min(uploadChunk, a.size-off)
		sr := io.NewSectionReader(a.file, off, n)
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, us.UploadURL, sr)
		if err != nil {
			return fmt.Errorf("graph: %s: %w", op, err)
		}
		req.ContentLength = n
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(io.NewSectionReader(a.file, off, n)), nil }
		req.Header.Set("Content-Type", "application/octet-stream")
		req.Header.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", off, off+n-1, a.size))
		// The upload URL carries its own authtoken: never a bearer token.
		resp, err := m.c.upload.Do(req)
		if err != nil {
			return fmt.Errorf("graph: %s: upload bytes %d-%d: %w", op, off, off+n-1, err)
		}
		if resp.StatusCode >= 300 {
			err := errorFromResponse(fmt.Sprintf("%s: upload bytes %d-%d", op, off, off+n-1), resp)
			resp.Body.Close()
			return err
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
	}
	return nil
}

// urlPathEscape escapes an id for a URL path segment. Graph ids may hold
// '/', '+' and '=', which must not split the path.
func urlPathEscape(id string) string {
	return strings.ReplaceAll(url.PathEscape(id), "+", "%2B")
}
