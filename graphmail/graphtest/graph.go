package graphtest

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// req is one Graph request being served.
type req struct {
	w      http.ResponseWriter
	r      *http.Request
	claims tokenClaims
	mb     *mbox
	seg    []string // path segments after users/{id}
	body   []byte
	beta   bool // the request came to /beta (archive.go)
}

func (q *req) method() string { return q.r.Method }

var (
	readRoles  = []string{"Mail.Read", "Mail.ReadWrite", "Mail.ReadBasic.All", "Mail.ReadBasic"}
	writeRoles = []string{"Mail.ReadWrite"}
)

func (s *Server) serveGraph(w http.ResponseWriter, r *http.Request) {
	authz := r.Header.Get("Authorization")
	if !strings.HasPrefix(authz, "Bearer ") {
		graphError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token is empty.")
		return
	}
	claims, err := s.verifyToken(strings.TrimPrefix(authz, "Bearer "), time.Now())
	if err != nil {
		graphError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", err.Error())
		return
	}
	// Split the escaped path, then unescape each segment: an id holding
	// an escaped '/' is one segment, as in Graph.
	version, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.EscapedPath(), "/"), "/")
	beta := version == "beta"
	rawParts := strings.Split(rest, "/")
	parts := make([]string, len(rawParts))
	for i, p := range rawParts {
		u, err := url.PathUnescape(p)
		if err != nil {
			graphError(w, http.StatusBadRequest, "BadRequest", "The request URI is not valid: "+err.Error())
			return
		}
		parts[i] = u
	}
	if len(parts) == 1 && parts[0] == "$batch" {
		if f := s.takeFault(r); f != nil {
			s.applyOneFault(w, r, f)
			return
		}
		s.serveBatch(w, r, claims)
		return
	}
	var mb *mbox
	seg, admin := parts[2:], false
	if parts[0] == "admin" {
		// /admin/exchange/mailboxes/{mbx}/...: the import/export API.
		if len(parts) < 5 || parts[1] != "exchange" || parts[2] != "mailboxes" {
			graphError(w, http.StatusBadRequest, "BadRequest", "Resource not found for the segment '"+strings.Join(parts, "/")+"'.")
			return
		}
		s.mu.Lock()
		mb = s.mailboxByMBX(parts[3])
		s.mu.Unlock()
		if mb != nil && mb.archive && !beta {
			// The archive is served by the beta API only (archive.go).
			mb = nil
		}
		if mb == nil {
			if !strings.HasPrefix(parts[3], "MBX:") {
				graphError(w, http.StatusBadRequest, "ErrorInvalidIdMalformed", "The mailbox id is malformed.")
				return
			}
			graphError(w, http.StatusNotFound, "ErrorMailboxNotFound", "The mailbox '"+parts[3]+"' was not found.")
			return
		}
		seg, admin = parts[4:], true
	} else {
		if beta && !betaServed(parts) {
			graphError(w, http.StatusBadRequest, "BadRequest", "The fake serves only the import/export API and settings/exchange under /beta: use /v1.0 for '"+strings.Join(parts, "/")+"'.")
			return
		}
		if len(parts) < 2 || parts[0] != "users" || parts[1] == "" {
			graphError(w, http.StatusBadRequest, "BadRequest", "Resource not found for the segment '"+parts[0]+"'.")
			return
		}
		user := strings.ToLower(parts[1])
		s.mu.Lock()
		mb = s.mailboxes[user]
		onPrem := s.onPrem[user]
		s.mu.Unlock()
		switch {
		case onPrem && len(parts) > 2:
			graphError(w, http.StatusNotFound, "MailboxNotEnabledForRESTAPI", "The mailbox is either inactive, soft-deleted, or is hosted on-premise.")
			return
		case onPrem:
			writeJSON(w, http.StatusOK, map[string]any{"id": user, "mail": user, "userPrincipalName": user})
			return
		case mb == nil && len(parts) > 2:
			graphError(w, http.StatusNotFound, "ErrorInvalidUser", "The requested user '"+parts[1]+"' is invalid.")
			return
		case mb == nil:
			graphError(w, http.StatusNotFound, "Request_ResourceNotFound", "Resource '"+parts[1]+"' does not exist or one of its queried reference-property objects are not present.")
			return
		}
	}
	if s.applyFault(w, r, claims.AppID, mb) {
		return
	}
	release, th := s.admit(r, claims.AppID, mb)
	if th != nil {
		s.writeThrottle(w, th)
		return
	}
	defer release()
	s.requests.Add(1)
	// Latency is processing time: the request counts as in flight meanwhile.
	if s.latency > 0 {
		select {
		case <-time.After(s.latency):
		case <-r.Context().Done():
			return
		}
	}
	q := &req{w: w, r: r, claims: claims, mb: mb, seg: seg, beta: beta}
	if r.Method == http.MethodPost || r.Method == http.MethodPatch || r.Method == http.MethodPut {
		body, ok := s.readBody(w, r)
		if !ok {
			return
		}
		if th := s.admitUpload(claims.AppID, mb, int64(len(body))); th != nil {
			s.writeThrottle(w, th)
			return
		}
		q.body = body
	}
	rec := &statusRecorder{ResponseWriter: w}
	q.w = rec
	if admin {
		s.routeAdmin(q)
	} else {
		s.route(q)
	}
	if rec.status < 300 && r.Method != http.MethodGet {
		s.writes.Add(1)
	}
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *Server) applyOneFault(w http.ResponseWriter, r *http.Request, f *Fault) {
	s.mu.Lock()
	s.faults = append([]*Fault{{Kind: f.Kind, Count: 1, RetryAfter: f.RetryAfter, Latency: f.Latency,
		Status: f.Status, ContentType: f.ContentType, Body: f.Body}}, s.faults...)
	s.mu.Unlock()
	s.applyFault(w, r, "", nil)
}

// readBody reads a request body, refusing one over the request size limit as
// Graph does, and undoing a gzip Content-Encoding.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	if r.ContentLength > s.limits.MaxRequestBytes {
		graphError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "The maximum request length supported is 4MB.")
		return nil, false
	}
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength) + bytes.MinRead)
	}
	_, err := buf.ReadFrom(io.LimitReader(r.Body, s.limits.MaxRequestBytes+1))
	body := buf.Bytes()
	if err != nil {
		graphError(w, http.StatusBadRequest, "BadRequest", "Could not read the request body.")
		return nil, false
	}
	if int64(len(body)) > s.limits.MaxRequestBytes {
		graphError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "The maximum request length supported is 4MB.")
		return nil, false
	}
	if strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip") {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			graphError(w, http.StatusBadRequest, "BadRequest", "The request body is not valid gzip.")
			return nil, false
		}
		body, err = io.ReadAll(io.LimitReader(zr, 64<<20))
		if err != nil {
			graphError(w, http.StatusBadRequest, "BadRequest", "The request body is not valid gzip.")
			return nil, false
		}
	}
	return body, true
}

func (s *Server) need(q *req, roles []string) bool {
	if hasRole(q.claims.Roles, roles...) {
		return true
	}
	graphError(q.w, http.StatusForbidden, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
	return false
}

func (s *Server) route(q *req) {
	if s.routeContacts(q) || s.routeCalendar(q) || s.routeTodo(q) {
		return
	}
	seg, m := q.seg, q.method()
	n := len(seg)
	switch {
	case n == 0 && m == http.MethodGet:
		s.getSelected(q, []string{"User.Read.All", "User.ReadBasic.All", "Directory.Read.All"}, userDef, func(sel []string) map[string]any {
			return selectJSON(sel, map[string]any{"id": "u-" + q.mb.address, "mail": q.mb.address, "userPrincipalName": q.mb.address, "displayName": q.mb.address})
		})
	case n == 1 && seg[0] == "mailboxSettings" && m == http.MethodGet:
		o, ok := s.readQuery(q, []string{"MailboxSettings.Read", "MailboxSettings.ReadWrite"}, optSelect|optFormat, func(o *queryOptions) *queryError { return mailboxSettingsDef.checkSelect(o.sel) })
		if !ok {
			return
		}
		purpose := string(q.mb.typ)
		if purpose == "" {
			purpose = "user"
		}
		writeJSON(q.w, http.StatusOK, selectJSON(o.sel, map[string]any{
			"userPurpose": purpose, "timeZone": "UTC", "archiveFolder": "", "dateFormat": "yyyy-MM-dd", "timeFormat": "HH:mm",
			"delegateMeetingMessageDeliveryOptions": "sendToDelegateOnly",
			"language":                              map[string]any{"locale": "en-US", "displayName": "English (United States)"},
			"automaticRepliesSetting":               map[string]any{"status": "disabled", "externalAudience": "none", "internalReplyMessage": "", "externalReplyMessage": ""},
			"workingHours": map[string]any{"daysOfWeek": []string{"monday", "tuesday", "wednesday", "thursday", "friday"},
				"startTime": "08:00:00.0000000", "endTime": "17:00:00.0000000", "timeZone": map[string]any{"name": "UTC"}},
		}))
	case n == 2 && seg[0] == "settings" && seg[1] == "exchange" && m == http.MethodGet:
		s.serveSettingsExchange(q)
	case n == 1 && seg[0] == "sendMail" && m == http.MethodPost:
		s.sendMail(q)
	case n == 1 && seg[0] == "mailFolders":
		s.childFolders(q, q.mb.rootID)
	case n == 2 && seg[0] == "mailFolders" && isDelta(seg[1]) && m == http.MethodGet:
		s.folderDelta(q)
	case n >= 2 && seg[0] == "mailFolders":
		s.mu.Lock()
		f := q.mb.resolveFolder(seg[1])
		s.mu.Unlock()
		if f == nil {
			if graphWellKnown[strings.ToLower(seg[1])] {
				// A name Graph knows for a folder this mailbox lacks.
				graphError(q.w, http.StatusNotFound, "ErrorItemNotFound", "The specified object was not found in the store.")
				return
			}
			notFoundOrMalformed(q.w, seg[1])
			return
		}
		switch {
		case n == 2 && m == http.MethodGet:
			s.getOne(q, readRoles, entityOpts, func(o *queryOptions) (func() map[string]any, *queryError) {
				v, qe := folderOpts(o)
				return func() map[string]any { return s.folderJSON(q.mb, f, v) }, qe
			})
		case n == 3 && seg[2] == "childFolders":
			s.childFolders(q, f.id)
		case n == 3 && seg[2] == "messageRules":
			s.rules(q, f)
		case n == 4 && seg[2] == "messageRules":
			s.rule(q, f, seg[3])
		case n == 3 && seg[2] == "messages":
			s.messages(q, f)
		case n == 4 && seg[2] == "messages" && seg[3] == "$count" && m == http.MethodGet:
			s.countMessages(q, f)
		case n == 4 && seg[2] == "messages" && isDelta(seg[3]) && m == http.MethodGet:
			s.messageDelta(q, f)
		case n >= 4 && seg[2] == "messages":
			s.message(q, seg[3], seg[4:])
		default:
			graphError(q.w, http.StatusBadRequest, "BadRequest", "Unsupported segment or method.")
		}
	case n == 1 && seg[0] == "messages":
		s.messages(q, nil)
	case n >= 2 && seg[0] == "messages":
		s.message(q, seg[1], seg[2:])
	default:
		graphError(q.w, http.StatusBadRequest, "BadRequest", "Resource not found for the segment '"+strings.Join(seg, "/")+"'.")
	}
}

// ---------------------------------------------------------------- helpers

// graphWellKnown are the well-known folder names Graph takes in place of an
// id (learn.microsoft.com/graph/api/resources/mailfolder).
var graphWellKnown = map[string]bool{"archive": true, "clutter": true, "conflicts": true, "conversationhistory": true,
	"deleteditems": true, "drafts": true, "inbox": true, "junkemail": true, "localfailures": true, "msgfolderroot": true,
	"outbox": true, "recoverableitemsdeletions": true, "scheduled": true, "searchfolders": true, "sentitems": true,
	"serverfailures": true, "syncissues": true}

// isDelta accepts both spellings of the delta function Graph serves.
func isDelta(seg string) bool { return seg == "delta" || seg == "delta()" }

// preferPageSize reads Prefer: odata.maxpagesize.
func preferPageSize(r *http.Request) (int, bool) {
	size, ok := 0, false
	for _, p := range r.Header.Values("Prefer") {
		for _, part := range strings.Split(p, ",") {
			part = strings.TrimSpace(part)
			if v, found := strings.CutPrefix(part, "odata.maxpagesize="); found {
				if n, err := strconv.Atoi(v); err == nil && n > 0 {
					size, ok = min(n, 1000), true
				}
			}
		}
	}
	return size, ok
}

// pageSize is $top or the Prefer odata.maxpagesize, else the default.
// filterAndPage compiles a list request's $filter against the resource's
// schema and works out its page size: what every list handler does after
// it has checked its view.
func (s *Server) filterAndPage(q *req, o *queryOptions, root *schema) (*compiledFilter, int, *queryError) {
	cf, qe := parseFilter(o.filter, root)
	if qe != nil {
		return nil, 0, qe
	}
	size, qe := s.pageSize(q, o)
	return cf, size, qe
}

func (s *Server) pageSize(q *req, o *queryOptions) (int, *queryError) {
	size := s.defaultPage
	if n, ok := preferPageSize(q.r); ok {
		size = n
	}
	if o.has(optTop) {
		size = o.top
	}
	return size, nil
}

func (q *req) selfURL(params url.Values) string {
	u := *q.r.URL
	u.Scheme = "https"
	if q.r.TLS == nil {
		u.Scheme = "http"
	}
	u.Host = q.r.Host
	u.RawQuery = params.Encode()
	return u.String()
}

// decodeStrict decodes a JSON object, refusing properties outside allowed as
// Graph (OData) does.
func decodeStrict(w http.ResponseWriter, body []byte, typ string, allowed []string, v any) bool {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		graphError(w, http.StatusBadRequest, "BadRequest", "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.")
		return false
	}
	for k := range raw {
		if strings.HasPrefix(k, "@odata.") {
			continue
		}
		if !slices.ContainsFunc(allowed, func(a string) bool { return strings.EqualFold(a, k) }) {
			graphError(w, http.StatusBadRequest, "RequestBodyRead", fmt.Sprintf("The property '%s' does not exist on type '%s'. Make sure to only use property names that are defined by the type or mark the type as open type.", k, typ))
			return false
		}
	}
	if err := json.Unmarshal(body, v); err != nil {
		graphError(w, http.StatusBadRequest, "BadRequest", "Invalid request body: "+err.Error())
		return false
	}
	return true
}

// odataString reads a single-quoted OData literal (” escapes a quote) at the
// start of s and returns it with the rest of s.
func odataString(s string) (string, string, bool) {
	if !strings.HasPrefix(s, "'") {
		return "", s, false
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		if s[i] == '\'' {
			if i+1 < len(s) && s[i+1] == '\'' {
				b.WriteByte('\'')
				i++
				continue
			}
			return b.String(), s[i+1:], true
		}
		b.WriteByte(s[i])
	}
	return "", s, false
}

// ---------------------------------------------------------------- folders

// folderViewOpts is how a request asks for folders: $select and $expand.
type folderViewOpts struct {
	sel                      []string
	sv                       *compiledFilter
	mv                       bool
	children, msgs, msgRules bool
}

func folderOpts(o *queryOptions) (*folderViewOpts, *queryError) {
	v := &folderViewOpts{}
	if qe := folderDef.checkView(o); qe != nil {
		return nil, qe
	}
	v.sel = o.sel
	for _, it := range o.expand {
		var qe *queryError
		switch strings.ToLower(it.name) {
		case "singlevalueextendedproperties":
			v.sv, qe = parseFilter(it.filter, singleValuePropSchema)
		case "multivalueextendedproperties":
			_, qe = parseFilter(it.filter, multiValuePropSchema)
			v.mv = true
		case "childfolders":
			v.children = true
		case "messages":
			v.msgs = true
		case "messagerules":
			v.msgRules = true
		}
		if qe != nil {
			return nil, qe
		}
	}
	return v, nil
}

func (s *Server) folderJSON(mb *mbox, f *folder, v *folderViewOpts) map[string]any {
	total, unread := mb.folderCounts(f)
	j := map[string]any{
		"id":               f.id,
		"displayName":      f.name,
		"parentFolderId":   f.parentID,
		"childFolderCount": len(f.children),
		"unreadItemCount":  unread,
		"totalItemCount":   total,
		"isHidden":         f.hidden,
	}
	if v == nil {
		return j
	}
	j = selectJSON(v.sel, j)
	if f.class != "" {
		addExtProps(j, v.sv, map[string]string{"String 0x3613": f.class}) // PR_CONTAINER_CLASS
	}
	if v.children {
		cs := []any{}
		for _, id := range f.children {
			if c := mb.folders[id]; c != nil && !c.hidden {
				cs = append(cs, s.folderJSON(mb, c, nil))
			}
		}
		j["childFolders"] = cs
	}
	if v.msgs {
		ms := []any{}
		for _, m := range mb.folderMessages(f.id) {
			if len(ms) == s.defaultPage {
				break
			}
			ms = append(ms, s.messageJSON(m, &msgView{}))
		}
		j["messages"] = ms
	}
	if v.msgRules {
		rs := []any{}
		if f.wellKnown == "inbox" {
			for _, r := range mb.rules {
				rs = append(rs, map[string]any(r))
			}
		}
		j["messageRules"] = rs
	}
	return j
}

func (s *Server) childFolders(q *req, parentID string) {
	switch q.method() {
	case http.MethodGet:
		collection[*folderView]{roles: readRoles, opts: listOpts, schema: folderSchema, ordered: true,
			view: func(o *queryOptions) (func(*folderView) map[string]any, *queryError) {
				v, qe := folderOpts(o)
				return func(fv *folderView) map[string]any { return s.folderJSON(q.mb, fv.f, v) }, qe
			},
			members: func(o *queryOptions) []*folderView {
				hidden := strings.EqualFold(o.custom.Get("includeHiddenFolders"), "true")
				var views []*folderView
				for _, c := range inOrder(q.mb.folders[parentID].children, q.mb.folders) {
					if !c.hidden || hidden {
						views = append(views, q.mb.folderView(c))
					}
				}
				return views
			},
		}.list(s, q)
	case http.MethodPost:
		if !s.need(q, writeRoles) {
			return
		}
		var in struct {
			DisplayName                   string `json:"displayName"`
			IsHidden                      bool   `json:"isHidden"`
			SingleValueExtendedProperties []struct {
				ID    string `json:"id"`
				Value string `json:"value"`
			} `json:"singleValueExtendedProperties"`
		}
		if !decodeStrict(q.w, q.body, "microsoft.graph.mailFolder", []string{"displayName", "isHidden", "singleValueExtendedProperties"}, &in) {
			return
		}
		if strings.TrimSpace(in.DisplayName) == "" {
			graphError(q.w, http.StatusBadRequest, "ErrorInvalidRequest", "The folder display name is missing.")
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		parent := q.mb.folders[parentID]
		if nameInUse(q, in.DisplayName, inOrder(parent.children, q.mb.folders), func(f *folder) string { return f.name }) {
			return
		}
		f := &folder{id: s.nextID("AAMkF"), parentID: parentID, name: in.DisplayName, hidden: in.IsHidden, class: "IPF.Note"}
		for _, p := range in.SingleValueExtendedProperties {
			if strings.EqualFold(p.ID, "String 0x3613") {
				f.class = p.Value
			}
		}
		q.mb.folders[f.id] = f
		parent.children = append(parent.children, f.id)
		writeJSON(q.w, http.StatusCreated, s.folderJSON(q.mb, f, nil))
	default:
		graphError(q.w, http.StatusMethodNotAllowed, "BadRequest", "Method not allowed.")
	}
}

// folderDelta returns the whole folder hierarchy and a deltaLink; later rounds
// return every folder again (the fake does not track folder changes).
func (s *Server) folderDelta(q *req) {
	o, ok := s.readQuery(q, readRoles, optSelect|optTop|optSkiptoken|optDeltatoken, func(o *queryOptions) *queryError { return folderDef.checkSelect(o.sel) })
	if !ok {
		return
	}
	v := &folderViewOpts{sel: o.sel}
	s.mu.Lock()
	var all []map[string]any
	var walk func(id string)
	walk = func(id string) {
		for _, c := range q.mb.folders[id].children {
			all = append(all, s.folderJSON(q.mb, q.mb.folders[c], v))
			walk(c)
		}
	}
	walk(q.mb.rootID)
	s.mu.Unlock()
	writeJSON(q.w, http.StatusOK, map[string]any{"value": all, "@odata.deltaLink": q.selfURL(url.Values{"$deltatoken": {"folders"}})})
}

func (s *Server) writePage(q *req, all []map[string]any, o *queryOptions, size int) {
	skip := min(max(o.skip, 0), len(all))
	end := min(skip+size, len(all))
	out := map[string]any{"value": all[skip:end]}
	if all[skip:end] == nil {
		out["value"] = []any{}
	}
	if o.count {
		out["@odata.count"] = len(all)
	}
	if end < len(all) {
		qs := q.r.URL.Query()
		for k := range qs {
			if strings.EqualFold(strings.TrimPrefix(k, "$"), "skip") {
				qs.Del(k)
			}
		}
		qs.Set("$skip", strconv.Itoa(end))
		out["@odata.nextLink"] = q.selfURL(qs)
	}
	writeJSON(q.w, http.StatusOK, out)
}

// ------------------------------------------------------------------- rules

func (s *Server) rules(q *req, f *folder) {
	if f.wellKnown != "inbox" {
		graphError(q.w, http.StatusBadRequest, "ErrorInvalidRequest", "Message rules are only supported on the Inbox.")
		return
	}
	switch q.method() {
	case http.MethodGet:
		o, ok := s.readQuery(q, []string{"MailboxSettings.Read", "MailboxSettings.ReadWrite"}, optSelect|optFormat, func(o *queryOptions) *queryError { return ruleDef.checkSelect(o.sel) })
		if !ok {
			return
		}
		s.mu.Lock()
		all := make([]map[string]any, 0, len(q.mb.rules))
		for _, r := range q.mb.rules {
			all = append(all, selectJSON(o.sel, map[string]any(r)))
		}
		s.mu.Unlock()
		writeJSON(q.w, http.StatusOK, map[string]any{"value": all})
	case http.MethodPost:
		if !s.need(q, []string{"MailboxSettings.ReadWrite"}) {
			return
		}
		var in map[string]any
		if !decodeStrict(q.w, q.body, "microsoft.graph.messageRule", []string{"displayName", "sequence", "isEnabled", "conditions", "exceptions", "actions", "hasError", "isReadOnly"}, &in) {
			return
		}
		if err := validateRule(in); err != "" {
			graphError(q.w, http.StatusBadRequest, "ErrorInvalidRequest", err)
			return
		}
		s.mu.Lock()
		in["id"] = s.nextID("AQAAAJ")
		in["hasError"], in["isReadOnly"] = false, false
		q.mb.rules = append(q.mb.rules, in)
		s.mu.Unlock()
		writeJSON(q.w, http.StatusCreated, in)
	default:
		graphError(q.w, http.StatusMethodNotAllowed, "BadRequest", "Method not allowed.")
	}
}

// rule serves one inbox rule by id: GET (learn.microsoft.com/graph/api/
// messagerule-get), PATCH (messagerule-update) and DELETE (messagerule-delete).
func (s *Server) rule(q *req, f *folder, id string) {
	if f.wellKnown != "inbox" {
		graphError(q.w, http.StatusBadRequest, "ErrorInvalidRequest", "Message rules are only supported on the Inbox.")
		return
	}
	s.mu.Lock()
	i := slices.IndexFunc(q.mb.rules, func(r Rule) bool { return r["id"] == id })
	var cur Rule
	if i >= 0 {
		cur = maps.Clone(q.mb.rules[i])
	}
	s.mu.Unlock()
	if i < 0 {
		notFoundOrMalformed(q.w, id)
		return
	}
	switch q.method() {
	case http.MethodGet:
		s.getSelected(q, []string{"MailboxSettings.Read", "MailboxSettings.ReadWrite"}, ruleDef, func(sel []string) map[string]any { return selectJSON(sel, map[string]any(cur)) })
	case http.MethodPatch:
		if !s.need(q, []string{"MailboxSettings.ReadWrite"}) {
			return
		}
		var in map[string]any
		if !decodeStrict(q.w, q.body, "microsoft.graph.messageRule", []string{"displayName", "sequence", "isEnabled", "conditions", "exceptions", "actions", "hasError", "isReadOnly"}, &in) {
			return
		}
		for k, v := range in {
			if k != "hasError" && k != "isReadOnly" && !strings.HasPrefix(k, "@odata") {
				cur[k] = v
			}
		}
		if err := validateRule(cur); err != "" {
			graphError(q.w, http.StatusBadRequest, "ErrorInvalidRequest", err)
			return
		}
		s.mu.Lock()
		if i := slices.IndexFunc(q.mb.rules, func(r Rule) bool { return r["id"] == id }); i >= 0 {
			q.mb.rules[i] = cur
		}
		s.mu.Unlock()
		writeJSON(q.w, http.StatusOK, map[string]any(cur))
	case http.MethodDelete:
		if !s.need(q, []string{"MailboxSettings.ReadWrite"}) {
			return
		}
		s.mu.Lock()
		if i := slices.IndexFunc(q.mb.rules, func(r Rule) bool { return r["id"] == id }); i >= 0 {
			q.mb.rules = slices.Delete(q.mb.rules, i, i+1)
		}
		s.mu.Unlock()
		q.w.WriteHeader(http.StatusNoContent)
	default:
		graphError(q.w, http.StatusMethodNotAllowed, "BadRequest", "Method not allowed.")
	}
}

var (
	rulePredicates = []string{"bodyContains", "bodyOrSubjectContains", "categories", "fromAddresses", "hasAttachments", "headerContains", "importance", "isApprovalRequest", "isAutomaticForward", "isAutomaticReply", "isEncrypted", "isMeetingRequest", "isMeetingResponse", "isNonDeliveryReport", "isPermissionControlled", "isReadReceipt", "isSigned", "isVoicemail", "messageActionFlag", "notSentToMe", "recipientContains", "senderContains", "sensitivity", "sentCcMe", "sentOnlyToMe", "sentToAddresses", "sentToMe", "sentToOrCcMe", "subjectContains", "withinSizeRange"}
	ruleActions    = []string{"assignCategories", "copyToFolder", "delete", "forwardAsAttachmentTo", "forwardTo", "markAsRead", "markImportance", "moveToFolder", "permanentDelete", "redirectTo", "stopProcessingRules"}
)

func validateRule(in map[string]any) string {
	if name, _ := in["displayName"].(string); name == "" {
		return "The displayName property is required."
	}
	if _, ok := in["sequence"].(float64); !ok {
		return "The sequence property is required."
	}
	acts, ok := in["actions"].(map[string]any)
	if !ok || len(acts) == 0 {
		return "The actions property is required."
	}
	for k := range acts {
		if !slices.Contains(ruleActions, k) && !strings.HasPrefix(k, "@odata") {
			return "The property '" + k + "' does not exist on type 'microsoft.graph.messageRuleActions'."
		}
	}
	for _, part := range []string{"conditions", "exceptions"} {
		p, _ := in[part].(map[string]any)
		for k := range p {
			if !slices.Contains(rulePredicates, k) && !strings.HasPrefix(k, "@odata") {
				return "The property '" + k + "' does not exist on type 'microsoft.graph.messageRulePredicates'."
			}
		}
	}
	return ""
}

// --------------------------------------------------------------- sendMail

func (s *Server) sendMail(q *req) {
	if !s.need(q, []string{"Mail.Send"}) {
		return
	}
	var in struct {
		Message         wireMessage `json:"message"`
		SaveToSentItems *bool       `json:"saveToSentItems"`
	}
	if !decodeStrict(q.w, q.body, "microsoft.graph.sendMail", []string{"message", "saveToSentItems"}, &in) {
		return
	}
	if len(in.Message.ToRecipients)+len(in.Message.CcRecipients)+len(in.Message.BccRecipients) == 0 {
		graphError(q.w, http.StatusBadRequest, "ErrorInvalidRecipients", "At least one recipient is not valid., A message can't be sent because it contains no recipients.")
		return
	}
	m, errMsg := in.Message.toMessage()
	if errMsg != "" {
		graphError(q.w, http.StatusBadRequest, "ErrorInvalidRequest", errMsg)
		return
	}
	if in.SaveToSentItems == nil || *in.SaveToSentItems {
		s.mu.Lock()
		f := q.mb.resolveFolder("sentitems")
		now := time.Now().UTC()
		m.ID, m.FolderID = s.nextID("AAMkM"), f.id
		m.From = q.mb.address
		m.IsDraft, m.IsRead = false, true
		m.Received, m.Sent, m.Created, m.Modified = now, now, now, now
		s.seq++
		m.seq, m.createdSeq = s.seq, s.seq
		ensureSearchKey(&m.SearchKey)
		q.mb.messages[m.ID] = m
		s.mu.Unlock()
	}
	q.w.WriteHeader(http.StatusAccepted)
}

// ----------------------------------------------------------------- $batch

// batchStep is one request of a JSON $batch.
type batchStep struct {
	ID        string            `json:"id"`
	Method    string            `json:"method"`
	URL       string            `json:"url"`
	Headers   map[string]string `json:"headers"`
	Body      json.RawMessage   `json:"body"`
	DependsOn []string          `json:"dependsOn"`
}

// maxBatchParallel is how many steps of a batch without dependsOn Graph
// runs at once against Outlook (learn.microsoft.com/graph/throttling-limits#
// outlook-service-limits: "up to four requests ... at a time"); each step
// counts against the mailbox's limits on its own, so steps beside other
// requests in flight can be throttled.
const maxBatchParallel = 4

func (s *Server) serveBatch(w http.ResponseWriter, r *http.Request, claims tokenClaims) {
	if r.Method != http.MethodPost {
		graphError(w, http.StatusMethodNotAllowed, "BadRequest", "Method not allowed.")
		return
	}
	body, ok := s.readBody(w, r)
	if !ok {
		return
	}
	var in struct {
		Requests []batchStep `json:"requests"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		graphError(w, http.StatusBadRequest, "BadRequest", "Invalid batch payload format.")
		return
	}
	if len(in.Requests) == 0 || len(in.Requests) > s.limits.MaxBatchRequests {
		graphError(w, http.StatusBadRequest, "BadRequest", fmt.Sprintf("Number of batch request steps exceeds the maximum value of %d.", s.limits.MaxBatchRequests))
		return
	}
	seen := map[string]bool{}
	sequential := false
	for _, st := range in.Requests {
		if st.ID == "" || seen[st.ID] {
			graphError(w, http.StatusBadRequest, "BadRequest", "Batch request step ids must be unique and not empty.")
			return
		}
		seen[st.ID] = true
		// Each step names its method and a URL relative to the version
		// root (json-batching: "method", "url"), as a client must.
		switch st.Method {
		case http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete:
		default:
			graphError(w, http.StatusBadRequest, "BadRequest", fmt.Sprintf("Batch request step %q has no valid method (%q).", st.ID, st.Method))
			return
		}
		if st.URL == "" || strings.Contains(st.URL, "://") {
			graphError(w, http.StatusBadRequest, "BadRequest", fmt.Sprintf("Batch request step %q needs a relative URL, not %q.", st.ID, st.URL))
			return
		}
		if len(st.Body) > 0 && string(st.Body) != "null" && st.Headers["Content-Type"] == "" && st.Headers["content-type"] == "" {
			graphError(w, http.StatusBadRequest, "BadRequest", "Content-Type header must be specified for a request step with a body.")
			return
		}
		sequential = sequential || len(st.DependsOn) > 0
	}
	for _, st := range in.Requests {
		for _, d := range st.DependsOn {
			if !seen[d] {
				graphError(w, http.StatusBadRequest, "BadRequest", fmt.Sprintf("Batch request step %q depends on %q, which the batch does not hold.", st.ID, d))
				return
			}
		}
	}
	// Answers come in the order the steps finish, which the docs allow
	// ("possibly in a different order").
	var responses []map[string]any
	if sequential {
		// With dependsOn, Graph sends Outlook one step at a time.
		status := map[string]int{}
		for _, st := range in.Requests {
			failedDep := false
			for _, d := range st.DependsOn {
				if code, ok := status[d]; !ok || code >= 400 {
					failedDep = true
				}
			}
			if failedDep {
				status[st.ID] = http.StatusFailedDependency
				responses = append(responses, map[string]any{"id": st.ID, "status": http.StatusFailedDependency, "body": map[string]any{"error": map[string]any{"code": "FailedDependency", "message": "A request this one depends on failed."}}})
				continue
			}
			resp := s.runStep(r, st)
			status[st.ID] = resp["status"].(int)
			responses = append(responses, resp)
		}
	} else {
		var mu sync.Mutex
		var wg sync.WaitGroup
		sem := make(chan struct{}, maxBatchParallel)
		for _, st := range in.Requests {
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				resp := s.runStep(r, st)
				mu.Lock()
				responses = append(responses, resp)
				mu.Unlock()
			})
		}
		wg.Wait()
	}
	writeJSON(w, http.StatusOK, map[string]any{"responses": responses})
}

// runStep serves one batch step as the request it stands for.
func (s *Server) runStep(r *http.Request, st batchStep) map[string]any {
	var rb io.Reader = http.NoBody
	if len(st.Body) > 0 && string(st.Body) != "null" {
		rb = bytes.NewReader(st.Body)
	}
	rel := st.URL
	if !strings.HasPrefix(rel, "/") {
		rel = "/" + rel
	}
	sub, err := http.NewRequestWithContext(r.Context(), st.Method, "/v1.0"+rel, rb)
	if err != nil {
		return map[string]any{"id": st.ID, "status": http.StatusBadRequest, "body": map[string]any{"error": map[string]any{"code": "BadRequest", "message": "Invalid request URL."}}}
	}
	sub.Host, sub.TLS = r.Host, r.TLS
	for k, v := range st.Headers {
		sub.Header.Set(k, v)
	}
	sub.Header.Set("Authorization", r.Header.Get("Authorization"))
	rec := newRecorder()
	stampRequestIDs(rec.h, sub, "request-id")
	s.serveGraph(rec, sub)
	resp := map[string]any{"id": st.ID, "status": rec.code, "headers": flatHeaders(rec.h)}
	if rec.buf.Len() > 0 {
		if json.Valid(rec.buf.Bytes()) {
			resp["body"] = json.RawMessage(bytes.Clone(rec.buf.Bytes()))
		} else {
			resp["body"] = base64.StdEncoding.EncodeToString(rec.buf.Bytes())
		}
	}
	return resp
}

type recorder struct {
	h    http.Header
	code int
	buf  bytes.Buffer
}

func newRecorder() *recorder                    { return &recorder{h: http.Header{}} }
func (r *recorder) Header() http.Header         { return r.h }
func (r *recorder) Write(b []byte) (int, error) { r.WriteHeader(200); return r.buf.Write(b) }
func (r *recorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
}

func flatHeaders(h http.Header) map[string]string {
	out := map[string]string{}
	for k, v := range h {
		out[k] = strings.Join(v, ", ")
	}
	return out
}
