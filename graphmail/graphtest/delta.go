package graphtest

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// Message delta of a folder (learn.microsoft.com/graph/api/message-delta):
// $select, $top and $expand; $filter only receivedDateTime ge|gt {value}
// (at most 5,000 messages, learn.microsoft.com/graph/delta-query-messages);
// $orderby only receivedDateTime desc; no $search; the custom option
// changeType=created|updated|deleted. The options of the first request are
// encoded in the tokens of its nextLink and deltaLink.

// deltaToken is the state behind a $skiptoken or $deltatoken. Fields are
// only ever added, so that links saved by an older fake still work.
type deltaToken struct {
	Gen    int64  `json:"g"`
	Folder string `json:"f"`
	Since  int64  `json:"s"`
	Upto   int64  `json:"u,omitempty"`
	After  int64  `json:"a,omitempty"`  // the cursor: the last entry's first sort key
	After2 int64  `json:"a2,omitempty"` // and its second
	Cur    bool   `json:"cur,omitempty"`
	Select string `json:"sel,omitempty"`
	Expand string `json:"exp,omitempty"`
	Top    int    `json:"t,omitempty"`
	Change string `json:"c,omitempty"`
	Filter string `json:"fl,omitempty"`
	Desc   bool   `json:"o,omitempty"` // $orderby=receivedDateTime desc
	Served int    `json:"n,omitempty"` // messages given this round
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
	k1, k2  int64 // sort keys
	m       *Message
	removed string
}

// maxFilteredDelta is how many messages a delta round with $filter gives.
const maxFilteredDelta = 5000

// deltaRequest checks the options of a first delta request and puts them
// into tok.
func deltaRequest(q *req, tok *deltaToken) *queryError {
	o, qe := parseQueryOptions(q.r, optSelect|optExpand|optTop|optFilter|optOrderby|optSkiptoken|optDeltatoken)
	if qe != nil {
		return qe
	}
	if o.skiptoken != "" || o.deltatoken != "" {
		return nil // the token's options stand
	}
	if _, qe := messageView(o); qe != nil {
		return qe
	}
	if o.has(optFilter) {
		f, qe := parseFilter(o.filter, messageSchema)
		if qe != nil {
			return qe
		}
		c, ok := f.root.(*cmpNode)
		if !ok || c.flip || len(c.path.steps) != 1 || c.path.steps[0].name != "receivedDateTime" || (c.op != "ge" && c.op != "gt") {
			// Reported, microsoft-graph-docs-contrib#1771.
			return badRequest("ErrorInvalidUrlQuery", "The '$filter' parameter value is not supported for 'Messages' resource; only a value of 'receivedDateTime ge value' is supported.")
		}
		tok.Filter = o.filter
	}
	if o.has(optOrderby) {
		if len(o.orderby) != 1 || !strings.EqualFold(o.orderby[0].path, "receivedDateTime") || !o.orderby[0].desc {
			return badRequest("ErrorInvalidUrlQuery", "The '$orderby' parameter value is not supported for 'Messages' resource; only a value of 'receivedDateTime desc' is supported.")
		}
		tok.Desc = true
	}
	if ct := o.custom.Get("changeType"); ct != "" {
		switch strings.ToLower(ct) {
		case "created", "updated", "deleted":
			tok.Change = strings.ToLower(ct)
		default:
			return badRequest("ErrorInvalidUrlQuery", "The value '%s' of the changeType query option is not supported; supported values are created, updated or deleted.", ct)
		}
	}
	tok.Select = strings.Join(o.sel, ",")
	if len(o.expand) > 0 {
		vals, _ := url.ParseQuery(q.r.URL.RawQuery)
		for k, v := range vals {
			if strings.EqualFold(strings.TrimPrefix(k, "$"), "expand") {
				tok.Expand = v[0]
			}
		}
	}
	if o.has(optTop) {
		tok.Top = o.top
	}
	return nil
}

// tokenView rebuilds the $select and $expand a token carries.
func tokenView(tok deltaToken) *msgView {
	o := &queryOptions{}
	if tok.Select != "" {
		o.sel, _ = splitSelect(tok.Select)
	}
	if tok.Expand != "" {
		o.expand, _ = parseExpand(tok.Expand)
	}
	v, qe := messageView(o)
	if qe != nil {
		return &msgView{}
	}
	return v
}

// messageDelta pages the changes of one folder since a delta token: every
// message on the first round, then changed ones and @removed entries, with
// @odata.nextLink between pages and @odata.deltaLink at the end.
func (s *Server) messageDelta(q *req, f *folder) {
	if !s.need(q, readRoles) {
		return
	}
	qs := q.r.URL.Query()
	tok := deltaToken{Folder: f.id}
	if qe := deltaRequest(q, &tok); qe != nil {
		writeQueryError(q.w, qe)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tok.Gen = s.deltaGen
	raw := qs.Get("$skiptoken")
	if raw == "" {
		raw = qs.Get("$deltatoken")
	}
	if !s.resumeDelta(q, &tok, raw, qs.Get("$deltatoken") != "", "ErrorInvalidUrlQuery") {
		return
	}
	if tok.Upto == 0 {
		tok.Upto = s.seq
		tok.After = tok.Since
	}
	size := s.deltaPageSize(q, tok)
	var match func(*Message) bool
	if tok.Filter != "" {
		if cf, qe := parseFilter(tok.Filter, messageSchema); qe == nil {
			match = func(m *Message) bool { return cf.match(m) }
		}
	}
	key := func(m *Message) (int64, int64) {
		if tok.Desc {
			return -m.Received.UnixNano(), -m.seq
		}
		return m.seq, 0
	}
	after := func(k1, k2 int64) bool {
		if !tok.Desc {
			return k1 > tok.After
		}
		return !tok.Cur || k1 > tok.After || (k1 == tok.After && k2 > tok.After2)
	}
	var entries []deltaEntry
	if tok.Change != "deleted" {
		for _, m := range q.mb.folderMessages(f.id) {
			if m.seq <= tok.Since || m.seq > tok.Upto || (match != nil && !match(m)) {
				continue
			}
			// created: new to the folder since the last round; updated:
			// there before it, changed since.
			created := m.createdSeq > tok.Since
			if (tok.Change == "created" && !created) || (tok.Change == "updated" && created) {
				continue
			}
			if k1, k2 := key(m); after(k1, k2) {
				entries = append(entries, deltaEntry{k1: k1, k2: k2, m: m})
			}
		}
	}
	if tok.Since > 0 && (tok.Change == "" || tok.Change == "deleted") {
		for _, t := range q.mb.removed[f.id] {
			if t.seq <= tok.Since || t.seq > tok.Upto {
				continue
			}
			k1, k2 := t.seq, int64(0)
			if tok.Desc {
				k1, k2 = math.MaxInt64, t.seq
			}
			if after(k1, k2) {
				entries = append(entries, deltaEntry{k1: k1, k2: k2, removed: t.id})
			}
		}
	}
	slices.SortFunc(entries, func(a, b deltaEntry) int {
		if a.k1 != b.k1 {
			if a.k1 < b.k1 {
				return -1
			}
			return 1
		}
		switch {
		case a.k2 < b.k2:
			return -1
		case a.k2 > b.k2:
			return 1
		}
		return 0
	})
	more := len(entries) > size
	if more {
		entries = entries[:size]
	}
	if tok.Filter != "" && tok.Served+len(entries) >= maxFilteredDelta {
		entries = entries[:maxFilteredDelta-tok.Served]
		more = false
	}
	v := tokenView(tok)
	vals := []any{}
	for _, e := range entries {
		if e.m != nil {
			vals = append(vals, s.messageJSON(e.m, v))
		} else {
			vals = append(vals, map[string]any{"@odata.type": "#microsoft.graph.message", "id": e.removed, "@removed": map[string]any{"reason": "deleted"}})
		}
	}
	next := tok
	if more {
		last := entries[len(entries)-1]
		next.After, next.After2, next.Cur = last.k1, last.k2, true
		next.Served += len(entries)
	}
	writeDelta(q, vals, more, next, deltaToken{Gen: tok.Gen, Folder: f.id, Since: tok.Upto, Select: tok.Select, Expand: tok.Expand, Top: tok.Top,
		Change: tok.Change, Filter: tok.Filter, Desc: tok.Desc})
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
