package graphtest

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

const graphTime = "2006-01-02T15:04:05Z"

type wireRecipient struct {
	EmailAddress struct {
		Address string `json:"address"`
		Name    string `json:"name,omitempty"`
	} `json:"emailAddress"`
}

type wireAttachment struct {
	ODataType    string `json:"@odata.type"`
	Name         string `json:"name"`
	ContentType  string `json:"contentType"`
	ContentBytes string `json:"contentBytes"`
	IsInline     bool   `json:"isInline"`
	ContentID    string `json:"contentId"`
	Size         int64  `json:"size"`
}

type extProp struct {
	ID    string `json:"id"`
	Value string `json:"value"`
}

type wireMessage struct {
	Subject *string `json:"subject"`
	Body    *struct {
		ContentType string `json:"contentType"`
		Content     string `json:"content"`
	} `json:"body"`
	From          *wireRecipient  `json:"from"`
	Sender        *wireRecipient  `json:"sender"`
	ToRecipients  []wireRecipient `json:"toRecipients"`
	CcRecipients  []wireRecipient `json:"ccRecipients"`
	BccRecipients []wireRecipient `json:"bccRecipients"`
	ReplyTo       []wireRecipient `json:"replyTo"`
	Importance    string          `json:"importance"`
	Categories    []string        `json:"categories"`
	Flag          *struct {
		FlagStatus string `json:"flagStatus"`
	} `json:"flag"`
	InternetMessageID      string `json:"internetMessageId"`
	InternetMessageHeaders []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	} `json:"internetMessageHeaders"`
	IsRead                        *bool            `json:"isRead"`
	SingleValueExtendedProperties []extProp        `json:"singleValueExtendedProperties"`
	MultiValueExtendedProperties  []mvProp         `json:"multiValueExtendedProperties"`
	Attachments                   []wireAttachment `json:"attachments"`
}

var messageProps = []string{"subject", "body", "from", "sender", "toRecipients", "ccRecipients", "bccRecipients", "replyTo", "importance", "categories", "flag", "internetMessageId", "internetMessageHeaders", "isRead", "singleValueExtendedProperties", "multiValueExtendedProperties", "attachments", "isDeliveryReceiptRequested", "isReadReceiptRequested", "inferenceClassification"}

func addrs(rs []wireRecipient) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.EmailAddress.Address)
	}
	return out
}

// normPropID lower-cases the type and tag or GUID part of an extended
// property id; a Name stays case-sensitive as in Exchange.
func normPropID(id string) string {
	f := strings.Fields(id)
	if len(f) >= 4 && strings.EqualFold(f[2], "Name") {
		return strings.ToLower(f[0]+" "+strings.Trim(f[1], "{}")) + " Name " + strings.Join(f[3:], " ")
	}
	return strings.ToLower(strings.Join(f, " "))
}

// toMessage applies Graph's create semantics: a message is a draft unless
// PR_MESSAGE_FLAGS (Integer 0x0E07) is in the create body without mfUnsent
// (0x08); PR_MESSAGE_DELIVERY_TIME and PR_CLIENT_SUBMIT_TIME set the dates.
func (in *wireMessage) toMessage() (*Message, string) {
	now := time.Now().UTC()
	m := &Message{IsDraft: true, IsRead: true, Importance: "normal", FlagStatus: "notFlagged", BodyType: "text", Received: now, Sent: now, Created: now, Modified: now, ExtendedProperties: map[string]string{}}
	if in.Subject != nil {
		m.Subject = *in.Subject
	}
	if in.Body != nil {
		m.BodyType = strings.ToLower(in.Body.ContentType)
		if m.BodyType != "text" && m.BodyType != "html" {
			return nil, "Invalid body contentType '" + in.Body.ContentType + "'."
		}
		m.Body = in.Body.Content
	}
	if in.From != nil {
		m.From = in.From.EmailAddress.Address
	}
	m.To, m.Cc, m.Bcc = addrs(in.ToRecipients), addrs(in.CcRecipients), addrs(in.BccRecipients)
	if in.Importance != "" {
		switch strings.ToLower(in.Importance) {
		case "low", "normal", "high":
			m.Importance = strings.ToLower(in.Importance)
		default:
			return nil, "Invalid importance '" + in.Importance + "'."
		}
	}
	m.Categories = in.Categories
	if in.Flag != nil && in.Flag.FlagStatus != "" {
		m.FlagStatus = in.Flag.FlagStatus
	}
	m.InternetMessageID = in.InternetMessageID
	if len(in.InternetMessageHeaders) > 5 {
		return nil, "InvalidInternetMessageHeaderCollection: Maximum number of headers in one message should be less than or equal to 5."
	}
	for _, h := range in.InternetMessageHeaders {
		if !strings.HasPrefix(strings.ToLower(h.Name), "x-") {
			return nil, "The internet message header name '" + h.Name + "' should start with 'x-' or 'X-'."
		}
		if m.Headers == nil {
			m.Headers = map[string]string{}
		}
		m.Headers[h.Name] = h.Value
	}
	if in.IsRead != nil {
		m.IsRead = *in.IsRead
	}
	for _, p := range in.SingleValueExtendedProperties {
		id := normPropID(p.ID)
		switch id {
		case "integer 0x0e07":
			flags, err := strconv.ParseInt(p.Value, 10, 32)
			if err != nil {
				return nil, "The value '" + p.Value + "' of the extended property 'Integer 0x0E07' is not a valid Integer."
			}
			m.IsDraft = flags&0x08 != 0
			m.IsRead = flags&0x01 != 0
		case "systemtime 0x0e06", "systemtime 0x0039":
			t, err := time.Parse(time.RFC3339, p.Value)
			if err != nil {
				return nil, "The value '" + p.Value + "' of the extended property '" + p.ID + "' is not a valid SystemTime."
			}
			if id == "systemtime 0x0e06" {
				m.Received = t.UTC()
			} else {
				m.Sent = t.UTC()
			}
		}
		m.ExtendedProperties[p.ID] = p.Value
	}
	for _, p := range in.MultiValueExtendedProperties {
		// A multi-value property's type is an array type
		// (learn.microsoft.com/graph/api/resources/extended-properties-overview).
		typ, _, _ := strings.Cut(strings.TrimSpace(p.ID), " ")
		if !strings.HasSuffix(strings.ToLower(typ), "array") || p.Value == nil {
			return nil, "The multi-value extended property '" + p.ID + "' needs an array type and an array of values."
		}
		if m.MultiValueExtendedProperties == nil {
			m.MultiValueExtendedProperties = map[string][]string{}
		}
		m.MultiValueExtendedProperties[p.ID] = slices.Clone(p.Value)
	}
	for _, a := range in.Attachments {
		if a.ODataType != "#microsoft.graph.fileAttachment" {
			return nil, "Only file attachments are supported by the fake (got '" + a.ODataType + "')."
		}
		data, err := base64.StdEncoding.DecodeString(a.ContentBytes)
		if err != nil {
			return nil, "The attachment contentBytes are not valid base64."
		}
		m.Attachments = append(m.Attachments, Attachment{Name: a.Name, ContentType: a.ContentType, Size: int64(len(data)), IsInline: a.IsInline, ContentID: a.ContentID, Data: data, SHA256: sha256.Sum256(data)})
	}
	return m, ""
}

func recip(addr string) map[string]any {
	return map[string]any{"emailAddress": map[string]any{"address": addr, "name": addr}}
}

func recips(as []string) []any {
	out := []any{}
	for _, a := range as {
		out = append(out, recip(a))
	}
	return out
}

// conversationID is the same for messages of the same thread, as Exchange's
// is: here, of the same subject without its reply and forward prefixes.
func conversationID(m *Message) string {
	subj := strings.ToLower(strings.TrimSpace(m.Subject))
	for {
		t := strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(strings.TrimPrefix(subj, "re:"), "fw:"), "fwd:"))
		if t == subj {
			break
		}
		subj = t
	}
	sum := sha256.Sum256([]byte(subj))
	b := append([]byte{0x00, 0x03, 0x24, 0x00, 0x10}, sum[:19]...)
	return base64.URLEncoding.EncodeToString(b)
}

// messageSize is PR_MESSAGE_SIZE as Exchange would report it, roughly.
func messageSize(m *Message) int64 {
	n := int64(len(m.MIME))
	if m.MIME == nil {
		n = int64(len(renderMIME(m)))
	}
	for _, a := range m.Attachments {
		n += a.Size * 4 / 3
	}
	return n
}

// storedSize is what a message weighs against the mailbox's message size
// limit: its content and the attachments' bytes as stored, not their
// base64 in MIME. Graph attaches files of up to 150 MB to a mailbox whose
// limit is 150 MB (learn.microsoft.com/graph/outlook-large-attachments), so
// the limit cannot count the encoding.
func storedSize(m *Message) int64 {
	if m.MIME != nil {
		return int64(len(m.MIME))
	}
	n := int64(len(m.Subject) + len(m.Body) + len(m.From) + len(m.InternetMessageID))
	for _, a := range m.Attachments {
		n += a.Size
	}
	return n
}

// msgView is how a request asks for messages: $select and $expand.
type msgView struct {
	sel         []string
	sv, mv      *compiledFilter
	attachments bool
	attachSel   []string
	extensions  bool
}

func messageView(o *queryOptions) (*msgView, *queryError) {
	v := &msgView{}
	if o == nil {
		return v, nil
	}
	if qe := messageDef.checkView(o); qe != nil {
		return nil, qe
	}
	v.sel = o.sel
	for _, it := range o.expand {
		var qe *queryError
		switch strings.ToLower(it.name) {
		case "singlevalueextendedproperties":
			v.sv, qe = parseFilter(it.filter, singleValuePropSchema)
		case "multivalueextendedproperties":
			v.mv, qe = parseFilter(it.filter, multiValuePropSchema)
		case "attachments":
			v.attachments, v.attachSel = true, it.sel
			qe = attachmentDef.checkSelect(it.sel)
		case "extensions":
			v.extensions = true
		}
		if qe != nil {
			return nil, qe
		}
	}
	return v, nil
}

// messageJSON renders m as v asks; internetMessageHeaders, uniqueBody and
// extended properties come only when asked for, as in Graph.
func (s *Server) messageJSON(m *Message, v *msgView) map[string]any {
	j := map[string]any{
		"@odata.etag":                fmt.Sprintf(`W/"CQAAABYAAAA%d"`, m.changeKey),
		"id":                         m.ID,
		"createdDateTime":            m.Created.Format(graphTime),
		"lastModifiedDateTime":       m.Modified.Format(graphTime),
		"changeKey":                  fmt.Sprintf("CQAAABYAAAA%d", m.changeKey),
		"categories":                 append([]string{}, m.Categories...),
		"receivedDateTime":           m.Received.Format(graphTime),
		"sentDateTime":               m.Sent.Format(graphTime),
		"hasAttachments":             len(m.Attachments) > 0,
		"internetMessageId":          m.InternetMessageID,
		"subject":                    m.Subject,
		"bodyPreview":                preview(m.Body),
		"importance":                 m.Importance,
		"parentFolderId":             m.FolderID,
		"conversationId":             conversationID(m),
		"conversationIndex":          base64.StdEncoding.EncodeToString([]byte(conversationID(m))[:22]),
		"isDeliveryReceiptRequested": false,
		"isReadReceiptRequested":     false,
		"isRead":                     m.IsRead,
		"isDraft":                    m.IsDraft,
		"webLink":                    "https://outlook.office365.com/owa/?ItemID=" + url.QueryEscape(m.ID) + "&exvsurl=1&viewmodel=ReadMessageItem",
		"inferenceClassification":    "focused",
		"body":                       map[string]any{"contentType": m.BodyType, "content": m.Body},
		"toRecipients":               recips(m.To),
		"ccRecipients":               recips(m.Cc),
		"bccRecipients":              recips(m.Bcc),
		"replyTo":                    []any{},
		"flag":                       map[string]any{"flagStatus": m.FlagStatus},
	}
	if m.From != "" {
		j["from"] = recip(m.From)
		j["sender"] = recip(m.From)
	}
	if m.MeetingMessageType != "" {
		// An eventMessage: the message type Graph sends a meeting as
		// (resources/eventmessage), with its derived type's properties.
		j["@odata.type"] = "#microsoft.graph.eventMessage"
		j["meetingMessageType"] = m.MeetingMessageType
	}
	if hasFold(v.sel, "internetMessageHeaders") {
		hs := []any{}
		for k, val := range m.Headers {
			hs = append(hs, map[string]any{"name": k, "value": val})
		}
		j["internetMessageHeaders"] = hs
	}
	if hasFold(v.sel, "uniqueBody") {
		j["uniqueBody"] = j["body"]
	}
	j = selectJSON(v.sel, j)
	if v.sv != nil {
		var props []any
		cands := make([]any, 0, len(m.ExtendedProperties)+1)
		for id, val := range m.ExtendedProperties {
			cands = append(cands, extProp{ID: id, Value: val})
		}
		// PR_MESSAGE_SIZE is computed, not stored: Graph has no size property.
		if _, stored := m.ExtendedProperties["Integer 0x0E08"]; !stored {
			cands = append(cands, extProp{ID: "Integer 0x0E08", Value: strconv.FormatInt(messageSize(m), 10)})
		}
		if len(m.SearchKey) > 0 {
			cands = append(cands, extProp{ID: searchKeyProp, Value: base64.StdEncoding.EncodeToString(m.SearchKey)})
		}
		for _, c := range cands {
			if v.sv.match(c) {
				p := c.(extProp)
				props = append(props, map[string]any{"id": p.ID, "value": p.Value})
			}
		}
		if props != nil {
			j["singleValueExtendedProperties"] = props
		}
	}
	if v.mv != nil {
		var props []any
		for id, vals := range m.MultiValueExtendedProperties {
			if p := (mvProp{ID: id, Value: vals}); v.mv.match(p) {
				props = append(props, map[string]any{"id": id, "value": slices.Clone(vals)})
			}
		}
		if props != nil {
			j["multiValueExtendedProperties"] = props
		}
	}
	if v.attachments {
		as := []any{}
		for _, a := range m.Attachments {
			as = append(as, selectJSON(v.attachSel, attachmentJSON(a, true)))
		}
		j["attachments"] = as
	}
	if v.extensions {
		j["extensions"] = []any{}
	}
	return j
}

func preview(s string) string {
	if len(s) > 255 {
		return s[:255]
	}
	return s
}

func (s *Server) messages(q *req, f *folder) {
	switch q.method() {
	case http.MethodGet:
		if !s.need(q, readRoles) {
			return
		}
		o, qe := parseQueryOptions(q.r, listOpts|optSearch)
		if qe != nil {
			writeQueryError(q.w, qe)
			return
		}
		s.listMessages(q, f, o)
	case http.MethodPost:
		if !s.need(q, writeRoles) {
			return
		}
		var m *Message
		if ct := q.r.Header.Get("Content-Type"); strings.HasPrefix(ct, "text/plain") {
			raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(q.body)))
			if err != nil {
				graphError(q.w, http.StatusBadRequest, "ErrorMimeContentInvalidBase64String", "Invalid base64 string for MIME content.")
				return
			}
			m = mimeMessage(raw)
		} else {
			var in wireMessage
			if !decodeStrict(q.w, q.body, "microsoft.graph.message", messageProps, &in) {
				return
			}
			var msg string
			if m, msg = in.toMessage(); msg != "" {
				code := "ErrorInvalidRequest"
				if c, rest, ok := strings.Cut(msg, ": "); ok && !strings.ContainsAny(c, " '") {
					code, msg = c, rest
				}
				graphError(q.w, http.StatusBadRequest, code, msg)
				return
			}
		}
		s.mu.Lock()
		if storedSize(m) > q.mb.messageSizeLimit() {
			s.mu.Unlock()
			messageTooLarge(q.w)
			return
		}
		if f == nil {
			f = q.mb.resolveFolder("drafts")
		}
		m.ID, m.FolderID = s.nextID("AAMkM"), f.id
		for i := range m.Attachments {
			m.Attachments[i].ID = s.nextID("AAMkA")
		}
		s.seq++
		m.seq, m.createdSeq = s.seq, s.seq
		m.changeKey = 1
		ensureSearchKey(&m.SearchKey)
		q.mb.messages[m.ID] = m
		j := s.messageJSON(m, &msgView{})
		s.mu.Unlock()
		writeJSON(q.w, http.StatusCreated, j)
	default:
		graphError(q.w, http.StatusMethodNotAllowed, "BadRequest", "Method not allowed.")
	}
}

// messageTooLarge is Exchange's refusal of a message over the mailbox's
// limit (reported: 400 ErrorMessageSizeExceeded, microsoft-graph-docs-contrib
// #2561; the status from Exchange's OData error table).
func messageTooLarge(w http.ResponseWriter) {
	graphError(w, http.StatusBadRequest, "ErrorMessageSizeExceeded", "The message exceeds the maximum supported size.")
}

// listMessages answers a message listing of a folder (nil: the mailbox):
// $filter or $search, $orderby, $count, $select, $expand, paging.
func (s *Server) listMessages(q *req, f *folder, o *queryOptions) {
	v, qe := messageView(o)
	if qe == nil && o.has(optSearch) {
		// Outlook refuses $filter and $orderby with $search (reported in
		// the Outlook REST reference: "The query parameter 'OrderBy' is
		// invalid.").
		switch {
		case o.has(optFilter):
			qe = badRequest("ErrorInvalidUrlQuery", "The query parameter 'Filter' is invalid.")
		case o.has(optOrderby):
			qe = badRequest("ErrorInvalidUrlQuery", "The query parameter 'OrderBy' is invalid.")
		}
	}
	var cf *compiledFilter
	if qe == nil {
		cf, qe = parseFilter(o.filter, messageSchema)
	}
	if qe == nil {
		qe = checkFilterOrder(cf, o.orderby)
	}
	var search func(*Message) bool
	if qe == nil && o.has(optSearch) {
		search, qe = parseSearch(o.search)
	}
	size := 0
	if qe == nil {
		size, qe = s.pageSize(q, o)
	}
	if qe != nil {
		writeQueryError(q.w, qe)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var ms []*Message
	if f != nil {
		ms = q.mb.folderMessages(f.id)
	} else {
		for id := range q.mb.folders {
			ms = append(ms, q.mb.folderMessages(id)...)
		}
		slices.SortFunc(ms, func(a, b *Message) int { return int(a.seq - b.seq) })
	}
	var hits []*Message
	for _, m := range ms {
		if cf.match(m) && (search == nil || search(m)) {
			hits = append(hits, m)
		}
	}
	if search != nil {
		// Search results are sorted by sent time and capped at 1,000
		// (learn.microsoft.com/graph/search-query-parameter).
		slices.SortStableFunc(hits, func(a, b *Message) int { return b.Sent.Compare(a.Sent) })
		hits = hits[:min(len(hits), 1000)]
	}
	if qe := orderJSON(hits, o.orderby, messageSchema, func(m *Message) any { return m }); qe != nil {
		writeQueryError(q.w, qe)
		return
	}
	rows := make([]map[string]any, 0, len(hits))
	for _, m := range hits {
		rows = append(rows, s.messageJSON(m, v))
	}
	s.writePage(q, rows, o, size)
}

// mimeMessage is what a MIME create produces: a draft with the MIME kept.
func mimeMessage(raw []byte) *Message {
	now := time.Now().UTC()
	m := &Message{IsDraft: true, IsRead: true, Importance: "normal", FlagStatus: "notFlagged", BodyType: "text", Received: now, Sent: now, Created: now, Modified: now, MIME: raw, ExtendedProperties: map[string]string{}}
	tp := textproto.NewReader(bufio.NewReader(bytes.NewReader(raw)))
	if h, err := tp.ReadMIMEHeader(); err == nil {
		m.Subject = h.Get("Subject")
		m.From = h.Get("From")
		m.InternetMessageID = h.Get("Message-Id")
		if t, err := http.ParseTime(h.Get("Date")); err == nil {
			m.Sent = t.UTC()
		} else if t, err := time.Parse(time.RFC1123Z, h.Get("Date")); err == nil {
			m.Sent = t.UTC()
		}
	}
	return m
}

func (s *Server) message(q *req, id string, rest []string) {
	if id == "$count" && len(rest) == 0 && q.method() == http.MethodGet {
		s.countMessages(q, nil)
		return
	}
	if isDelta(id) && len(rest) == 0 {
		// Delta is per folder (learn.microsoft.com/graph/api/message-delta).
		graphError(q.w, http.StatusBadRequest, "BadRequest", "Unsupported request: Change tracking is not supported against 'microsoft.graph.message'.")
		return
	}
	m := lookup(s, q, id, func() *Message { return q.mb.messages[id] })
	if m == nil {
		return
	}
	switch {
	case len(rest) == 0 && q.method() == http.MethodGet:
		s.getOne(q, readRoles, entityOpts, func(o *queryOptions) (func() map[string]any, *queryError) {
			v, qe := messageView(o)
			return func() map[string]any { return s.messageJSON(m, v) }, qe
		})
	case len(rest) == 0 && q.method() == http.MethodPatch:
		if !s.need(q, writeRoles) {
			return
		}
		var in struct {
			IsRead     *bool     `json:"isRead"`
			Categories *[]string `json:"categories"`
			Importance *string   `json:"importance"`
			Flag       *struct {
				FlagStatus string `json:"flagStatus"`
			} `json:"flag"`
			InternetMessageID             *string   `json:"internetMessageId"`
			Subject                       *string   `json:"subject"`
			SingleValueExtendedProperties []extProp `json:"singleValueExtendedProperties"`
			MultiValueExtendedProperties  []mvProp  `json:"multiValueExtendedProperties"`
		}
		if !decodeStrict(q.w, q.body, "microsoft.graph.message", append(slices.Clone(messageProps), "isDraft"), &in) {
			return
		}
		s.mu.Lock()
		if in.IsRead != nil {
			m.IsRead = *in.IsRead
		}
		if in.Categories != nil {
			m.Categories = *in.Categories
		}
		if in.Importance != nil {
			m.Importance = strings.ToLower(*in.Importance)
		}
		if in.Flag != nil {
			m.FlagStatus = in.Flag.FlagStatus
		}
		if in.InternetMessageID != nil && m.IsDraft {
			m.InternetMessageID = *in.InternetMessageID
		}
		if in.Subject != nil && m.IsDraft {
			m.Subject = *in.Subject
		}
		// Extended properties are stored, but the message flags and dates
		// cannot change after the first save: Exchange ignores them.
		for _, p := range in.SingleValueExtendedProperties {
			if m.ExtendedProperties == nil {
				m.ExtendedProperties = map[string]string{}
			}
			m.ExtendedProperties[p.ID] = p.Value
		}
		for _, p := range in.MultiValueExtendedProperties {
			if m.MultiValueExtendedProperties == nil {
				m.MultiValueExtendedProperties = map[string][]string{}
			}
			m.MultiValueExtendedProperties[p.ID] = slices.Clone(p.Value)
		}
		s.touch(m)
		j := s.messageJSON(m, &msgView{})
		s.mu.Unlock()
		writeJSON(q.w, http.StatusOK, j)
	case len(rest) == 0 && q.method() == http.MethodDelete:
		if !s.need(q, writeRoles) {
			return
		}
		s.mu.Lock()
		s.deleteLocked(q.mb, id)
		s.mu.Unlock()
		q.w.WriteHeader(http.StatusNoContent)
	case len(rest) == 1 && rest[0] == "$value" && q.method() == http.MethodGet:
		if !s.need(q, readRoles) {
			return
		}
		if _, qe := parseQueryOptions(q.r, 0); qe != nil {
			writeQueryError(q.w, qe)
			return
		}
		s.mu.Lock()
		raw := m.MIME
		if raw == nil {
			raw = renderMIME(m)
		}
		s.mu.Unlock()
		q.w.Header().Set("Content-Type", "text/plain")
		q.w.Header().Set("Content-Length", strconv.Itoa(len(raw)))
		q.w.WriteHeader(http.StatusOK)
		_, _ = q.w.Write(raw)
	case len(rest) == 1 && rest[0] == "attachments":
		s.attachments(q, m)
	case len(rest) == 2 && rest[0] == "attachments" && rest[1] == "createUploadSession" && q.method() == http.MethodPost:
		s.createUploadSession(q, m)
	case len(rest) == 2 && rest[0] == "attachments":
		s.attachment(q, m, rest[1])
	default:
		graphError(q.w, http.StatusBadRequest, "BadRequest", "Unsupported segment or method.")
	}
}

// countMessages answers .../messages/$count: the number as text
// (learn.microsoft.com/graph/query-parameters#other-odata-url-capabilities).
func (s *Server) countMessages(q *req, f *folder) {
	if !s.need(q, readRoles) {
		return
	}
	o, qe := parseQueryOptions(q.r, optFilter|optSearch)
	var cf *compiledFilter
	if qe == nil {
		cf, qe = parseFilter(o.filter, messageSchema)
	}
	var search func(*Message) bool
	if qe == nil && o.has(optSearch) {
		search, qe = parseSearch(o.search)
	}
	if qe != nil {
		writeQueryError(q.w, qe)
		return
	}
	s.mu.Lock()
	n := 0
	for id := range q.mb.folders {
		if f != nil && id != f.id {
			continue
		}
		for _, m := range q.mb.folderMessages(id) {
			if cf.match(m) && (search == nil || search(m)) {
				n++
			}
		}
	}
	s.mu.Unlock()
	q.w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	q.w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(q.w, strconv.Itoa(n))
}

func attachmentJSON(a Attachment, withBytes bool) map[string]any {
	j := map[string]any{
		"@odata.type": "#microsoft.graph.fileAttachment",
		"id":          a.ID, "name": a.Name, "contentType": a.ContentType,
		"size": a.Size, "isInline": a.IsInline, "contentId": a.ContentID,
		"contentLocation": nil, "lastModifiedDateTime": time.Now().UTC().Format(graphTime),
	}
	if withBytes {
		j["contentBytes"] = base64.StdEncoding.EncodeToString(a.Data)
	}
	return j
}

// fileAttachment reads the body of an attachment POST: a
// microsoft.graph.fileAttachment with base64 contentBytes. It reports
// false when it has answered 400.
func fileAttachment(q *req) (wireAttachment, []byte, bool) {
	var in wireAttachment
	if !decodeStrict(q.w, q.body, "microsoft.graph.fileAttachment", []string{"name", "contentType", "contentBytes", "isInline", "contentId", "size"}, &in) {
		return in, nil, false
	}
	if in.ODataType != "#microsoft.graph.fileAttachment" {
		graphError(q.w, http.StatusBadRequest, "ErrorInvalidRequest", "The @odata.type of the attachment is missing or not supported.")
		return in, nil, false
	}
	data, err := base64.StdEncoding.DecodeString(in.ContentBytes)
	if err != nil {
		graphError(q.w, http.StatusBadRequest, "ErrorInvalidRequest", "The attachment contentBytes are not valid base64.")
		return in, nil, false
	}
	return in, data, true
}

func (s *Server) attachments(q *req, m *Message) {
	switch q.method() {
	case http.MethodGet:
		collection[Attachment]{roles: readRoles, opts: optSelect | optTop | optSkip | optCount | optFormat,
			view: func(o *queryOptions) (func(Attachment) map[string]any, *queryError) {
				return func(a Attachment) map[string]any { return selectJSON(o.sel, attachmentJSON(a, true)) }, attachmentDef.checkSelect(o.sel)
			},
			members: func(*queryOptions) []Attachment { return m.Attachments },
		}.list(s, q)
	case http.MethodPost:
		if !s.need(q, writeRoles) {
			return
		}
		in, data, ok := fileAttachment(q)
		if !ok {
			return
		}
		s.mu.Lock()
		if storedSize(m)+int64(len(data)) > q.mb.messageSizeLimit() {
			s.mu.Unlock()
			messageTooLarge(q.w)
			return
		}
		a := Attachment{ID: s.nextID("AAMkA"), Name: in.Name, ContentType: in.ContentType, Size: int64(len(data)), IsInline: in.IsInline, ContentID: in.ContentID, Data: data, SHA256: sha256.Sum256(data)}
		m.Attachments = append(m.Attachments, a)
		s.touch(m)
		s.mu.Unlock()
		writeJSON(q.w, http.StatusCreated, attachmentJSON(a, false))
	default:
		graphError(q.w, http.StatusMethodNotAllowed, "BadRequest", "Method not allowed.")
	}
}

// attachment serves one attachment by id: GET (learn.microsoft.com/graph/
// api/attachment-get) and DELETE (attachment-delete).
func (s *Server) attachment(q *req, m *Message, id string) {
	s.mu.Lock()
	i := slices.IndexFunc(m.Attachments, func(a Attachment) bool { return a.ID == id })
	var a Attachment
	if i >= 0 {
		a = m.Attachments[i]
	}
	s.mu.Unlock()
	if i < 0 {
		notFoundOrMalformed(q.w, id)
		return
	}
	switch q.method() {
	case http.MethodGet:
		s.getSelected(q, readRoles, attachmentDef, func(sel []string) map[string]any { return selectJSON(sel, attachmentJSON(a, true)) })
	case http.MethodDelete:
		if !s.need(q, writeRoles) {
			return
		}
		s.mu.Lock()
		if i := slices.IndexFunc(m.Attachments, func(a Attachment) bool { return a.ID == id }); i >= 0 {
			m.Attachments = slices.Delete(m.Attachments, i, i+1)
			s.touch(m)
		}
		s.mu.Unlock()
		q.w.WriteHeader(http.StatusNoContent)
	default:
		graphError(q.w, http.StatusMethodNotAllowed, "BadRequest", "Method not allowed.")
	}
}
