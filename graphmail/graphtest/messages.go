package graphtest

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash"

	"net/http"
	"net/textproto"
	"net/url"
	"regexp"
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
	Attachments                   []wireAttachment `json:"attachments"`
}

var messageProps = []string{"subject", "body", "from", "sender", "toRecipients", "ccRecipients", "bccRecipients", "replyTo", "importance", "categories", "flag", "internetMessageId", "internetMessageHeaders", "isRead", "singleValueExtendedProperties", "attachments", "isDeliveryReceiptRequested", "isReadReceiptRequested", "inferenceClassification"}

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

var (
	expandFilter = regexp.MustCompile(`(?i)^singleValueExtendedProperties\(\$filter=(.*)\)$`)
	expandTerm   = regexp.MustCompile(`(?i)^\s*id eq ('(?:[^']|'')*')\s*$`)
)

// expandIDs parses "id eq 'a' or id eq 'b'" of an $expand filter.
func expandIDs(filter string) ([]string, bool) {
	var ids []string
	for _, term := range regexp.MustCompile(`(?i)\s+or\s+`).Split(filter, -1) {
		mm := expandTerm.FindStringSubmatch(term)
		if mm == nil {
			return nil, false
		}
		id, rest, ok := odataString(mm[1])
		if !ok || rest != "" {
			return nil, false
		}
		ids = append(ids, normPropID(id))
	}
	return ids, true
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

// messageJSON renders m; internetMessageHeaders and extended properties come
// only when asked for, as in Graph.
func (s *Server) messageJSON(q *req, m *Message) map[string]any {
	j := map[string]any{
		"@odata.etag":          fmt.Sprintf(`W/"CQAAABYAAAA%d"`, m.changeKey),
		"id":                   m.ID,
		"createdDateTime":      m.Created.Format(graphTime),
		"lastModifiedDateTime": m.Modified.Format(graphTime),
		"changeKey":            fmt.Sprintf("CQAAABYAAAA%d", m.changeKey),
		"categories":           append([]string{}, m.Categories...),
		"receivedDateTime":     m.Received.Format(graphTime),
		"sentDateTime":         m.Sent.Format(graphTime),
		"hasAttachments":       len(m.Attachments) > 0,
		"internetMessageId":    m.InternetMessageID,
		"subject":              m.Subject,
		"bodyPreview":          preview(m.Body),
		"importance":           m.Importance,
		"parentFolderId":       m.FolderID,
		"isRead":               m.IsRead,
		"isDraft":              m.IsDraft,
		"body":                 map[string]any{"contentType": m.BodyType, "content": m.Body},
		"toRecipients":         recips(m.To),
		"ccRecipients":         recips(m.Cc),
		"bccRecipients":        recips(m.Bcc),
		"flag":                 map[string]any{"flagStatus": m.FlagStatus},
	}
	if m.From != "" {
		j["from"] = recip(m.From)
		j["sender"] = recip(m.From)
	}
	qs := q.r.URL.Query()
	if strings.Contains(strings.ToLower(qs.Get("$select")), "internetmessageheaders") {
		var hs []any
		for k, v := range m.Headers {
			hs = append(hs, map[string]any{"name": k, "value": v})
		}
		j["internetMessageHeaders"] = hs
	}
	j = s.selectFields(q, j)
	if e := qs.Get("$expand"); e != "" {
		if mm := expandFilter.FindStringSubmatch(e); mm != nil {
			wants, _ := expandIDs(mm[1])
			var props []any
			for _, want := range wants {
				if want == "integer 0x0e08" {
					props = append(props, map[string]any{"id": "Integer 0x0E08", "value": strconv.FormatInt(messageSize(m), 10)})
					continue
				}
				for id, v := range m.ExtendedProperties {
					if normPropID(id) == want {
						props = append(props, map[string]any{"id": id, "value": v})
					}
				}
			}
			if props != nil {
				j["singleValueExtendedProperties"] = props
			}
		}
	}
	return j
}

func preview(s string) string {
	if len(s) > 255 {
		return s[:255]
	}
	return s
}

var (
	anyFilter  = regexp.MustCompile(`(?i)^singleValueExtendedProperties/any\((\w+):\s*(\w+)/id eq ('(?:[^']|'')*') and (\w+)/value eq ('(?:[^']|'')*')\)$`)
	imidFilter = regexp.MustCompile(`(?i)^internetMessageId eq ('(?:[^']|'')*')$`)
)

// messageFilter compiles the $filter forms the fake supports.
func messageFilter(f string) (func(*Message) bool, bool) {
	f = strings.TrimSpace(f)
	if f == "" {
		return func(*Message) bool { return true }, true
	}
	if mm := anyFilter.FindStringSubmatch(f); mm != nil && mm[1] == mm[2] && mm[1] == mm[4] {
		id, _, ok1 := odataString(mm[3])
		val, _, ok2 := odataString(mm[5])
		if !ok1 || !ok2 {
			return nil, false
		}
		want := normPropID(id)
		return func(m *Message) bool {
			for k, v := range m.ExtendedProperties {
				if normPropID(k) == want && strings.EqualFold(v, val) {
					return true
				}
			}
			return false
		}, true
	}
	if mm := imidFilter.FindStringSubmatch(f); mm != nil {
		id, _, ok := odataString(mm[1])
		return func(m *Message) bool { return m.InternetMessageID == id }, ok
	}
	return nil, false
}

func (s *Server) messages(q *req, f *folder) {
	switch q.method() {
	case http.MethodGet:
		if !s.need(q, readRoles) {
			return
		}
		size, ok := s.pageSize(q)
		if !ok {
			return
		}
		match, ok := messageFilter(q.r.URL.Query().Get("$filter"))
		if !ok {
			graphError(q.w, http.StatusBadRequest, "ErrorInvalidUrlQueryFilter", "The query filter contains one or more invalid nodes.")
			return
		}
		skip, _ := strconv.Atoi(q.r.URL.Query().Get("$skip"))
		s.mu.Lock()
		var all []map[string]any
		var ms []*Message
		if f != nil {
			ms = q.mb.folderMessages(f.id)
		} else {
			for id := range q.mb.folders {
				ms = append(ms, q.mb.folderMessages(id)...)
			}
		}
		for _, m := range ms {
			if match(m) {
				all = append(all, s.messageJSON(q, m))
			}
		}
		s.mu.Unlock()
		s.writePage(q, all, skip, size)
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
		if f == nil {
			f = q.mb.resolveFolder("drafts")
		}
		m.ID, m.FolderID = s.nextID("AAMkM"), f.id
		for i := range m.Attachments {
			m.Attachments[i].ID = s.nextID("AAMkA")
		}
		s.seq++
		m.seq = s.seq
		m.changeKey = 1
		q.mb.messages[m.ID] = m
		j := s.messageJSON(q, m)
		s.mu.Unlock()
		writeJSON(q.w, http.StatusCreated, j)
	default:
		graphError(q.w, http.StatusMethodNotAllowed, "BadRequest", "Method not allowed.")
	}
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
	s.mu.Lock()
	m := q.mb.messages[id]
	s.mu.Unlock()
	if m == nil {
		graphError(q.w, http.StatusNotFound, "ErrorItemNotFound", "The specified object was not found in the store.")
		return
	}
	switch {
	case len(rest) == 0 && q.method() == http.MethodGet:
		if !s.need(q, readRoles) {
			return
		}
		s.mu.Lock()
		j := s.messageJSON(q, m)
		s.mu.Unlock()
		writeJSON(q.w, http.StatusOK, j)
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
		}
		if !decodeStrict(q.w, q.body, "microsoft.graph.message", append(messageProps, "isDraft"), &in) {
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
			m.ExtendedProperties[p.ID] = p.Value
		}
		s.touch(m)
		j := s.messageJSON(q, m)
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
	default:
		graphError(q.w, http.StatusBadRequest, "BadRequest", "Unsupported segment or method.")
	}
}

func attachmentJSON(a Attachment, withBytes bool) map[string]any {
	j := map[string]any{
		"@odata.type": "#microsoft.graph.fileAttachment",
		"id":          a.ID, "name": a.Name, "contentType": a.ContentType,
		"size": a.Size, "isInline": a.IsInline, "contentId": a.ContentID,
	}
	if withBytes {
		j["contentBytes"] = base64.StdEncoding.EncodeToString(a.Data)
	}
	return j
}

func (s *Server) attachments(q *req, m *Message) {
	switch q.method() {
	case http.MethodGet:
		if !s.need(q, readRoles) {
			return
		}
		s.mu.Lock()
		var all []any
		for _, a := range m.Attachments {
			all = append(all, attachmentJSON(a, true))
		}
		s.mu.Unlock()
		writeJSON(q.w, http.StatusOK, map[string]any{"value": all})
	case http.MethodPost:
		if !s.need(q, writeRoles) {
			return
		}
		var in wireAttachment
		if !decodeStrict(q.w, q.body, "microsoft.graph.fileAttachment", []string{"name", "contentType", "contentBytes", "isInline", "contentId", "size"}, &in) {
			return
		}
		if in.ODataType != "#microsoft.graph.fileAttachment" {
			graphError(q.w, http.StatusBadRequest, "ErrorInvalidRequest", "The @odata.type of the attachment is missing or not supported.")
			return
		}
		data, err := base64.StdEncoding.DecodeString(in.ContentBytes)
		if err != nil {
			graphError(q.w, http.StatusBadRequest, "ErrorInvalidRequest", "The attachment contentBytes are not valid base64.")
			return
		}
		s.mu.Lock()
		a := Attachment{ID: s.nextID("AAMkA"), Name: in.Name, ContentType: in.ContentType, Size: int64(len(data)), IsInline: in.IsInline, ContentID: in.ContentID, Data: data, SHA256: sha256.Sum256(data)}
		m.Attachments = append(m.Attachments, a)
		s.touch(m)
		s.mu.Unlock()
		writeJSON(q.w, http.StatusCreated, attachmentJSON(a, false))
	default:
		graphError(q.w, http.StatusMethodNotAllowed, "BadRequest", "Method not allowed.")
	}
}

// ---------------------------------------------------------- upload sessions

type uploadSession struct {
	id, token string
	appID     string
	mb        *mbox
	messageID string
	att       Attachment
	total     int64
	buf       bytes.Buffer // the bytes, unless the server keeps digests only
	received  int64
	hash      hash.Hash
	expires   time.Time
}

func (s *Server) createUploadSession(q *req, m *Message) {
	if !s.need(q, writeRoles) {
		return
	}
	var in struct {
		AttachmentItem struct {
			AttachmentType string `json:"attachmentType"`
			Name           string `json:"name"`
			Size           int64  `json:"size"`
			ContentType    string `json:"contentType"`
			IsInline       bool   `json:"isInline"`
			ContentID      string `json:"contentId"`
		} `json:"AttachmentItem"`
	}
	if !decodeStrict(q.w, q.body, "microsoft.graph.createUploadSession", []string{"AttachmentItem"}, &in) {
		return
	}
	it := in.AttachmentItem
	if !strings.EqualFold(it.AttachmentType, "file") || it.Name == "" || it.Size <= 0 {
		graphError(q.w, http.StatusBadRequest, "ErrorInvalidRequest", "AttachmentItem needs attachmentType file, a name and a size.")
		return
	}
	if it.Size > s.limits.MaxAttachmentBytes {
		graphError(q.w, http.StatusRequestEntityTooLarge, "ErrorAttachmentSizeLimitExceeded", "The attachment exceeds the maximum size of 150 MB.")
		return
	}
	s.mu.Lock()
	us := &uploadSession{id: s.nextID("US"), token: base64.RawURLEncoding.EncodeToString([]byte(s.nextID("T"))), appID: q.claims.AppID, mb: q.mb, messageID: m.ID,
		att: Attachment{Name: it.Name, ContentType: it.ContentType, IsInline: it.IsInline, ContentID: it.ContentID}, total: it.Size, expires: time.Now().Add(time.Hour), hash: sha256.New()}
	s.uploads[us.id] = us
	s.issued = append(s.issued, us.token)
	s.mu.Unlock()
	u := origin(q.r) + "/upload/" + us.id + "?authtoken=" + url.QueryEscape(us.token)
	writeJSON(q.w, http.StatusCreated, map[string]any{
		"@odata.context":     origin(q.r) + "/v1.0/$metadata#microsoft.graph.uploadSession",
		"uploadUrl":          u,
		"expirationDateTime": us.expires.UTC().Format(graphTime),
		"nextExpectedRanges": []string{"0-"},
	})
}

var contentRange = regexp.MustCompile(`^bytes (\d+)-(\d+)/(\d+)$`)

// serveUpload takes the ranges of an upload session. The URL is
// pre-authenticated: an Authorization header is refused, as Outlook does.
func (s *Server) serveUpload(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimPrefix(r.URL.Path, "/upload/")
	s.mu.Lock()
	us := s.uploads[id]
	s.mu.Unlock()
	if us == nil || r.URL.Query().Get("authtoken") != us.token {
		graphError(w, http.StatusNotFound, "ErrorItemNotFound", "The upload session was not found or has expired.")
		return
	}
	if r.Header.Get("Authorization") != "" {
		graphError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "The upload URL is pre-authenticated; an Authorization header must not be sent.")
		return
	}
	if r.Method == http.MethodDelete {
		s.mu.Lock()
		delete(s.uploads, id)
		s.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if r.Method != http.MethodPut {
		graphError(w, http.StatusMethodNotAllowed, "BadRequest", "Method not allowed.")
		return
	}
	if s.applyFault(w, r, us.appID, us.mb) {
		return
	}
	release, th := s.admit(r, us.appID, us.mb)
	if th != nil {
		s.writeThrottle(w, th)
		return
	}
	defer release()
	s.requests.Add(1)
	mm := contentRange.FindStringSubmatch(r.Header.Get("Content-Range"))
	if mm == nil {
		graphError(w, http.StatusBadRequest, "InvalidContentRange", "The Content-Range header is missing or malformed.")
		return
	}
	start, _ := strconv.ParseInt(mm[1], 10, 64)
	end, _ := strconv.ParseInt(mm[2], 10, 64)
	total, _ := strconv.ParseInt(mm[3], 10, 64)
	if total != us.total || end < start || end >= total || r.ContentLength != end-start+1 {
		graphError(w, http.StatusBadRequest, "InvalidContentRange", "The Content-Range does not match the session size or the Content-Length.")
		return
	}
	body, ok := s.readBody(w, r)
	if !ok {
		return
	}
	if int64(len(body)) != end-start+1 {
		graphError(w, http.StatusBadRequest, "InvalidContentRange", "The body length does not match the Content-Range.")
		return
	}
	if th := s.admitUpload(us.appID, us.mb, int64(len(body))); th != nil {
		s.writeThrottle(w, th)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if start != us.received {
		writeJSON(w, http.StatusRequestedRangeNotSatisfiable, map[string]any{"error": map[string]any{"code": "InvalidRange", "message": fmt.Sprintf("Expected range %d-.", us.received)}, "nextExpectedRanges": []string{fmt.Sprintf("%d-", us.received)}})
		return
	}
	if !s.digestsOnly {
		us.buf.Write(body)
	}
	us.hash.Write(body)
	us.received += int64(len(body))
	s.writes.Add(1)
	if us.received < us.total {
		writeJSON(w, http.StatusOK, map[string]any{"expirationDateTime": us.expires.UTC().Format(graphTime), "nextExpectedRanges": []string{fmt.Sprintf("%d-", us.received)}})
		return
	}
	delete(s.uploads, id)
	m := us.mb.messages[us.messageID]
	if m == nil {
		graphError(w, http.StatusNotFound, "ErrorItemNotFound", "The message of the upload session no longer exists.")
		return
	}
	a := us.att
	a.ID = s.nextID("AAMkA")
	if !s.digestsOnly {
		a.Data = bytes.Clone(us.buf.Bytes())
	}
	a.Size = us.received
	copy(a.SHA256[:], us.hash.Sum(nil))
	m.Attachments = append(m.Attachments, a)
	s.touch(m)
	w.Header().Set("Location", origin(r)+"/v1.0/users/"+url.PathEscape(us.mb.address)+"/messages/"+m.ID+"/attachments/"+a.ID)
	w.WriteHeader(http.StatusCreated)
}

// ------------------------------------------------------------------ delta

type deltaToken struct {
	Gen    int64  `json:"g"`
	Folder string `json:"f"`
	Since  int64  `json:"s"`
	Upto   int64  `json:"u,omitempty"`
	After  int64  `json:"a,omitempty"`
	Select string `json:"sel,omitempty"`
	Expand string `json:"exp,omitempty"`
}

func encodeToken(t deltaToken) string {
	b, _ := json.Marshal(t)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeToken(s string) (deltaToken, bool) {
	var t deltaToken
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(b, &t) != nil {
		return t, false
	}
	return t, true
}

type deltaEntry struct {
	seq     int64
	m       *Message
	removed string
}

// messageDelta pages the changes of one folder since a delta token: every
// message on the first round, then changed ones and @removed entries, with
// @odata.nextLink between pages and @odata.deltaLink at the end.
func (s *Server) messageDelta(q *req, f *folder) {
	if !s.need(q, readRoles) {
		return
	}
	size, ok := s.pageSize(q)
	if !ok {
		return
	}
	qs := q.r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	tok := deltaToken{Gen: s.deltaGen, Folder: f.id, Select: qs.Get("$select"), Expand: qs.Get("$expand")}
	raw := qs.Get("$skiptoken")
	if raw == "" {
		raw = qs.Get("$deltatoken")
	}
	if raw != "" {
		t, ok := decodeToken(raw)
		if !ok || t.Folder != f.id {
			graphError(q.w, http.StatusBadRequest, "ErrorInvalidUrlQuery", "The delta or skip token is malformed.")
			return
		}
		if t.Gen != s.deltaGen {
			graphError(q.w, http.StatusGone, "SyncStateNotFound", "The sync state generation is not found. Please restart the sync with an empty state.")
			return
		}
		tok = t
		if qs.Get("$deltatoken") != "" {
			tok.Upto, tok.After = 0, 0
		}
	}
	if tok.Upto == 0 {
		tok.Upto = s.seq
		tok.After = tok.Since
	}
	var entries []deltaEntry
	for _, m := range q.mb.folderMessages(f.id) {
		if m.seq > tok.After && m.seq <= tok.Upto && m.seq > tok.Since {
			entries = append(entries, deltaEntry{seq: m.seq, m: m})
		}
	}
	if tok.Since > 0 {
		for _, t := range q.mb.removed[f.id] {
			if t.seq > tok.After && t.seq <= tok.Upto {
				entries = append(entries, deltaEntry{seq: t.seq, removed: t.id})
			}
		}
	}
	sortEntries(entries)
	more := len(entries) > size
	if more {
		entries = entries[:size]
	}
	// The token carries the first request's $select and $expand, as Graph's do.
	if tok.Select != "" || tok.Expand != "" {
		qq := *q
		rr := *q.r
		u := *q.r.URL
		v := url.Values{}
		if tok.Select != "" {
			v.Set("$select", tok.Select)
		}
		if tok.Expand != "" {
			v.Set("$expand", tok.Expand)
		}
		u.RawQuery = v.Encode()
		rr.URL = &u
		qq.r = &rr
		q = &qq
	}
	vals := []any{}
	for _, e := range entries {
		if e.m != nil {
			vals = append(vals, s.messageJSON(q, e.m))
		} else {
			vals = append(vals, map[string]any{"@odata.type": "#microsoft.graph.message", "id": e.removed, "@removed": map[string]any{"reason": "deleted"}})
		}
	}
	out := map[string]any{"value": vals}
	base := *q.r.URL
	if more {
		nt := tok
		nt.After = entries[len(entries)-1].seq
		base.RawQuery = url.Values{"$skiptoken": {encodeToken(nt)}}.Encode()
		out["@odata.nextLink"] = linkOf(q.r, &base)
	} else {
		nt := deltaToken{Gen: tok.Gen, Folder: f.id, Since: tok.Upto, Select: tok.Select, Expand: tok.Expand}
		base.RawQuery = url.Values{"$deltatoken": {encodeToken(nt)}}.Encode()
		out["@odata.deltaLink"] = linkOf(q.r, &base)
	}
	writeJSON(q.w, http.StatusOK, out)
}

func linkOf(r *http.Request, u *url.URL) string {
	c := *u
	c.Scheme = "https"
	if r.TLS == nil {
		c.Scheme = "http"
	}
	c.Host = r.Host
	return c.String()
}

func sortEntries(es []deltaEntry) {
	for i := 1; i < len(es); i++ {
		for j := i; j > 0 && es[j].seq < es[j-1].seq; j-- {
			es[j], es[j-1] = es[j-1], es[j]
		}
	}
}
