package graphtest

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"hash"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Upload sessions (learn.microsoft.com/graph/api/attachment-createuploadsession,
// learn.microsoft.com/graph/outlook-large-attachments): createUploadSession on
// Graph answers a pre-authenticated uploadUrl on Outlook's host
// (outlook.office.com/api/gv1.0/users('...')/messages('...')/AttachmentSessions('...')
// ?authtoken=...); the client PUTs the ranges there in order, without an
// Authorization header. The fake's URLs have the same shape under /upload/
// on another host name than Graph's (see uploadHost).

type uploadSession struct {
	id, token string
	host      string // host:port the session's URL names
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
	s.mu.Lock()
	// The attachment must fit in the message under the mailbox's limit
	// (createUploadSession: "By default, this message size limit is 35 MB").
	if storedSize(m)+it.Size > q.mb.messageSizeLimit() {
		s.mu.Unlock()
		messageTooLarge(q.w)
		return
	}
	s.mu.Unlock()
	if it.Size > s.limits.MaxAttachmentBytes {
		graphError(q.w, http.StatusRequestEntityTooLarge, "ErrorAttachmentSizeLimitExceeded", "The attachment exceeds the maximum size of 150 MB.")
		return
	}
	host := uploadHost(q.r)
	s.mu.Lock()
	us := &uploadSession{id: s.nextID("US"), token: base64.RawURLEncoding.EncodeToString([]byte(s.nextID("T"))), host: host, appID: q.claims.AppID, mb: q.mb, messageID: m.ID,
		att: Attachment{Name: it.Name, ContentType: it.ContentType, IsInline: it.IsInline, ContentID: it.ContentID}, total: it.Size, expires: time.Now().Add(time.Hour), hash: sha256.New()}
	s.uploads[us.id] = us
	s.issued = append(s.issued, us.token)
	s.mu.Unlock()
	scheme := "https"
	if q.r.TLS == nil {
		scheme = "http"
	}
	u := scheme + "://" + host + "/upload/api/gv1.0/users('" + url.PathEscape(q.mb.address) + "')/messages('" + m.ID + "')/AttachmentSessions('" + us.id + "')?authtoken=" + url.QueryEscape(us.token)
	writeJSON(q.w, http.StatusCreated, map[string]any{
		"@odata.context":     origin(q.r) + "/v1.0/$metadata#microsoft.graph.uploadSession",
		"uploadUrl":          u,
		"expirationDateTime": us.expires.UTC().Format(graphTime),
		"nextExpectedRanges": []string{"0-"},
	})
}

var (
	contentRange   = regexp.MustCompile(`^bytes (\d+)-(\d+)/(\d+)$`)
	sessionSegment = regexp.MustCompile(`/AttachmentSessions\('([^'/]+)'\)$`)
)

// serveUpload takes the ranges of an upload session. The URL is
// pre-authenticated: a request with an Authorization header is refused as
// Outlook refuses a Graph token (reported: 401 InvalidAudienceForResource,
// msgraph-sdk-java#409, microsoft-graph-docs-contrib#1579).
func (s *Server) serveUpload(w http.ResponseWriter, r *http.Request) {
	var id string
	if mm := sessionSegment.FindStringSubmatch(r.URL.Path); mm != nil {
		id = mm[1]
	}
	s.mu.Lock()
	us := s.uploads[id]
	s.mu.Unlock()
	// Graph's host does not serve upload URLs: a client that sends the
	// ranges there instead of to the URL it got finds nothing.
	if us == nil || r.URL.Query().Get("authtoken") != us.token || !strings.EqualFold(r.Host, us.host) {
		graphError(w, http.StatusNotFound, "ErrorItemNotFound", "The upload session was not found or has expired.")
		return
	}
	if authz := r.Header.Get("Authorization"); authz != "" {
		aud := "(none)"
		if c, err := s.verifyToken(strings.TrimPrefix(authz, "Bearer "), time.Now()); err == nil {
			aud = c.Aud
		}
		u := *r.URL
		u.RawQuery = ""
		graphError(w, http.StatusUnauthorized, "InvalidAudienceForResource", fmt.Sprintf("The audience claim value is invalid for current resource. Audience claim is '%s', request url is '%s' and resource type is 'Exchange'.", aud, origin(r)+u.EscapedPath()))
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
	s.uploadWrites.Add(1)
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
	// Other attachments may have been added since the session began.
	if storedSize(m)+us.received > us.mb.messageSizeLimit() {
		messageTooLarge(w)
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
	// Outlook's Location names the attachment in its own API.
	w.Header().Set("Location", origin(r)+"/api/v2.0/Users('"+url.PathEscape(us.mb.address)+"')/Messages('"+m.ID+"')/Attachments('"+a.ID+"')")
	w.WriteHeader(http.StatusCreated)
}
