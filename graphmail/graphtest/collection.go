package graphtest

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// The plumbing every collection of the fake shares: a list GET with
// $filter and paging, looking a member up and a GET of it, the name check
// of a new folder, tombstones, and the delta of a collection whose
// members carry change sequence numbers. What differs (who may read,
// which options, how a member renders, error codes) is passed in, so
// that the wire behaviour of each resource stays its own.

// collection is one kind of list GET: roles may read it, opts are the
// query options it takes, schema is what $filter (and $orderby) read
// (nil for a list that takes neither).
// view checks a request's $select/$expand and gives how a member renders;
// members are the candidates in their order. Both run under s.mu.
type collection[T any] struct {
	roles   []string
	opts    queryOpt
	schema  *schema
	view    func(o *queryOptions) (func(T) map[string]any, *queryError)
	members func(o *queryOptions) []T
	ordered bool // $orderby is served
}

// readQuery checks a read: the caller's roles, then the query options it
// takes (opts) and what check (nil: nothing more) says of them. It
// answers the first failure and reports false.
func (s *Server) readQuery(q *req, roles []string, opts queryOpt, check func(*queryOptions) *queryError) (*queryOptions, bool) {
	if !s.need(q, roles) {
		return nil, false
	}
	o, qe := parseQueryOptions(q.r, opts)
	if qe == nil && check != nil {
		qe = check(o)
	}
	if qe != nil {
		writeQueryError(q.w, qe)
		return nil, false
	}
	return o, true
}

// list serves the collection: the members $filter keeps, sorted by
// $orderby where it is served, one page of $skip/$top.
func (c collection[T]) list(s *Server, q *req) {
	var render func(T) map[string]any
	var cf *compiledFilter
	size := 0
	o, ok := s.readQuery(q, c.roles, c.opts, func(o *queryOptions) (qe *queryError) {
		if render, qe = c.view(o); qe == nil {
			cf, size, qe = s.filterAndPage(q, o, c.schema)
		}
		return qe
	})
	if !ok {
		return
	}
	var qe *queryError
	s.mu.Lock()
	var rows []T
	for _, m := range c.members(o) {
		if cf.match(m) {
			rows = append(rows, m)
		}
	}
	if c.ordered {
		qe = orderJSON(rows, o.orderby, c.schema, func(m T) any { return m })
	}
	all := make([]map[string]any, 0, len(rows))
	for _, m := range rows {
		all = append(all, render(m))
	}
	s.mu.Unlock()
	if qe != nil {
		writeQueryError(q.w, qe)
		return
	}
	s.writePage(q, all, o, size)
}

// inOrder is the members of byID that ids names, in that order; an id
// whose member is gone is passed over.
func inOrder[T any](ids []string, byID map[string]*T) []*T {
	out := make([]*T, 0, len(ids))
	for _, id := range ids {
		if m := byID[id]; m != nil {
			out = append(out, m)
		}
	}
	return out
}

// lookup is the member get gives, read under s.mu; when there is none it
// answers 404 (400 for an id that is malformed) and gives nil.
func lookup[T any](s *Server, q *req, id string, get func() *T) *T {
	s.mu.Lock()
	v := get()
	s.mu.Unlock()
	if v == nil {
		notFoundOrMalformed(q.w, id)
	}
	return v
}

// nameInUse answers 409 ErrorFolderExists, as Exchange does, when one of
// the siblings a new folder would have already bears its name (without
// case); it reports whether it did.
func nameInUse[T any](q *req, name string, siblings []*T, nameOf func(*T) string) bool {
	if !slices.ContainsFunc(siblings, func(v *T) bool { return strings.EqualFold(nameOf(v), name) }) {
		return false
	}
	graphError(q.w, http.StatusConflict, "ErrorFolderExists", "A folder with the specified name already exists.")
	return true
}

// bySeq is the members of byID that in keeps, oldest change first: the
// order a folder lists and its delta pages in.
func bySeq[T any](byID map[string]*T, in func(*T) bool, seq func(*T) int64) []*T {
	var out []*T
	for _, m := range byID {
		if in(m) {
			out = append(out, m)
		}
	}
	slices.SortFunc(out, func(a, b *T) int { return int(seq(a) - seq(b)) })
	return out
}

// getOne serves GET of a single member: view checks the options and gives
// the member's JSON, rendered under s.mu.
func (s *Server) getOne(q *req, roles []string, opts queryOpt, view func(o *queryOptions) (func() map[string]any, *queryError)) {
	var render func() map[string]any
	if _, ok := s.readQuery(q, roles, opts, func(o *queryOptions) (qe *queryError) { render, qe = view(o); return qe }); !ok {
		return
	}
	s.mu.Lock()
	j := render()
	s.mu.Unlock()
	writeJSON(q.w, http.StatusOK, j)
}

// getSelected serves GET of a member that takes $select only (a folder, a
// list): def checks it, render gives the JSON.
func (s *Server) getSelected(q *req, roles []string, def *entityDef, render func(sel []string) map[string]any) {
	s.getOne(q, roles, optSelect|optFormat, func(o *queryOptions) (func() map[string]any, *queryError) {
		return func() map[string]any { return render(o.sel) }, def.checkSelect(o.sel)
	})
}

// removeLocked deletes a member and leaves the tombstone a later delta
// round reports as @removed.
func removeLocked[T any](s *Server, members map[string]T, removed map[string][]tombstone, folder, id string) {
	delete(members, id)
	s.seq++
	removed[folder] = append(removed[folder], tombstone{id: id, seq: s.seq})
}

// roundToken is the token a delta request carries: its $skiptoken, else
// its $deltatoken, which starts a new round.
func (o *queryOptions) roundToken() (raw string, isDeltaTok bool) {
	if o.skiptoken != "" {
		return o.skiptoken, false
	}
	return o.deltatoken, o.deltatoken != ""
}

// resumeDelta takes up the $skiptoken or $deltatoken (raw; "" is a first
// round, tok stays) of a later delta round in place of tok: a token of
// another folder, or one that does not decode, is 400 badCode; one of an
// older generation is 410. A $deltatoken starts a new round, so its cursor
// is cleared. It reports false when it wrote the error. s.mu is held.
func (s *Server) resumeDelta(q *req, tok *deltaToken, raw string, isDeltaTok bool, badCode string) bool {
	if raw == "" {
		return true
	}
	t, ok := decodeToken(raw)
	if !ok || t.Folder != tok.Folder {
		graphError(q.w, http.StatusBadRequest, badCode, "The delta or skip token is malformed.")
		return false
	}
	if t.Gen != s.deltaGen {
		graphError(q.w, http.StatusGone, "SyncStateNotFound", "The sync state generation is not found. Please restart the sync with an empty state.")
		return false
	}
	*tok = t
	if isDeltaTok {
		tok.Upto, tok.After, tok.After2, tok.Cur, tok.Served = 0, 0, 0, false, 0
	}
	return true
}

// deltaPageSize is a round's page: the token's $top, else the default,
// either overridden by Prefer: odata.maxpagesize.
func (s *Server) deltaPageSize(q *req, tok deltaToken) int {
	size := s.defaultPage
	if tok.Top > 0 {
		size = tok.Top
	}
	if n, ok := preferPageSize(q.r); ok {
		size = n
	}
	return size
}

// writeDelta writes one delta page: with more to come an
// @odata.nextLink carrying next, else an @odata.deltaLink carrying final.
func writeDelta(q *req, vals []any, more bool, next, final deltaToken) {
	out := map[string]any{"value": vals}
	base := *q.r.URL
	if more {
		base.RawQuery = url.Values{"$skiptoken": {encodeToken(next)}}.Encode()
		out["@odata.nextLink"] = linkOf(q.r, &base)
	} else {
		base.RawQuery = url.Values{"$deltatoken": {encodeToken(final)}}.Encode()
		out["@odata.deltaLink"] = linkOf(q.r, &base)
	}
	writeJSON(q.w, http.StatusOK, out)
}

// seqDelta serves one round of the delta of a collection ordered by its
// members' change sequence numbers (contacts, To Do tasks): every member
// on the first round, then those changed since and @removed entries for
// removed (whose @odata.type is typ). tok is the round's token, resumed
// or new; s.mu is held.
func seqDelta[T any](s *Server, q *req, tok deltaToken, members []T, seq func(T) int64, removed []tombstone, typ string, render func(T) map[string]any) {
	if tok.Upto == 0 {
		tok.Upto = s.seq
		tok.After = tok.Since
	}
	size := s.deltaPageSize(q, tok)
	in := func(k int64) bool { return k > tok.Since && k <= tok.Upto && k > tok.After }
	var entries []deltaEntry
	byKey := map[int64]T{}
	for _, m := range members {
		if k := seq(m); in(k) {
			entries = append(entries, deltaEntry{k1: k})
			byKey[k] = m
		}
	}
	if tok.Since > 0 {
		for _, t := range removed {
			if in(t.seq) {
				entries = append(entries, deltaEntry{k1: t.seq, removed: t.id})
			}
		}
	}
	slices.SortFunc(entries, func(a, b deltaEntry) int { return int(a.k1 - b.k1) })
	more := len(entries) > size
	if more {
		entries = entries[:size]
	}
	vals := []any{}
	for _, e := range entries {
		if e.removed != "" {
			vals = append(vals, map[string]any{"@odata.type": typ, "id": e.removed, "@removed": map[string]any{"reason": "deleted"}})
			continue
		}
		vals = append(vals, render(byKey[e.k1]))
	}
	next := tok
	if more {
		next.After = entries[len(entries)-1].k1
	}
	writeDelta(q, vals, more, next, deltaToken{Gen: tok.Gen, Folder: tok.Folder, Since: tok.Upto, Select: tok.Select, Expand: tok.Expand, Top: tok.Top})
}
