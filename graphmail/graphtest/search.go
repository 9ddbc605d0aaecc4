package graphtest

import (
	"strconv"
	"strings"
	"time"
)

// $search on messages (learn.microsoft.com/graph/search-query-parameter):
// a KQL query, usually in double quotes. Words alone look in from, subject
// and body; property restrictions name one of the searchable email
// properties (subject, body, from, to, cc, bcc, participants, recipients,
// attachment, hasAttachments, importance, received, sent, kind, size).
// Terms are joined by AND (implicitly, or written) and OR, and NOT negates
// one. Exchange matches words by prefix within tokens; the fake matches
// substrings, which finds what Exchange finds and sometimes more.

type searchTerm func(*Message) bool

// parseSearch compiles a $search value.
func parseSearch(q string) (func(*Message) bool, *queryError) {
	v := strings.TrimSpace(q)
	if strings.HasPrefix(v, `"`) {
		if len(v) < 2 || !strings.HasSuffix(v, `"`) {
			return nil, badRequest("BadRequest", "Syntax error: the $search value %s has an unterminated quote.", q)
		}
		v = v[1 : len(v)-1]
	}
	words := searchWords(v)
	if len(words) == 0 {
		return nil, badRequest("BadRequest", "The $search value is empty.")
	}
	p := &searchParser{words: words}
	t := p.or()
	if p.i < len(p.words) {
		return nil, badRequest("BadRequest", "Syntax error: '%s' is not valid at this position in the $search value %s.", p.words[p.i], q)
	}
	return t, nil
}

// searchWords splits at spaces outside quotes and parentheses' words.
func searchWords(s string) []string {
	var out []string
	var cur strings.Builder
	quoted := false
	flush := func() {
		if cur.Len() > 0 {
			out = append(out, cur.String())
			cur.Reset()
		}
	}
	for _, r := range s {
		switch {
		case r == '"' || r == '\'':
			quoted = !quoted
		case (r == ' ' || r == '\t') && !quoted:
			flush()
		default:
			cur.WriteRune(r)
		}
	}
	flush()
	return out
}

type searchParser struct {
	words []string
	i     int
}

func (p *searchParser) or() searchTerm {
	l := p.and()
	for p.i < len(p.words) && p.words[p.i] == "OR" {
		p.i++
		r := p.and()
		ll := l
		l = func(m *Message) bool { return ll(m) || r(m) }
	}
	return l
}

func (p *searchParser) and() searchTerm {
	l := p.unary()
	for p.i < len(p.words) && p.words[p.i] != "OR" {
		if p.words[p.i] == "AND" {
			p.i++
		}
		r := p.unary()
		ll := l
		l = func(m *Message) bool { return ll(m) && r(m) }
	}
	return l
}

func (p *searchParser) unary() searchTerm {
	if p.i < len(p.words) && p.words[p.i] == "NOT" {
		p.i++
		x := p.unary()
		return func(m *Message) bool { return !x(m) }
	}
	if p.i >= len(p.words) {
		return func(*Message) bool { return true }
	}
	w := p.words[p.i]
	p.i++
	return searchTermOf(w)
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}

func anyContains(list []string, sub string) bool {
	for _, s := range list {
		if containsFold(s, sub) {
			return true
		}
	}
	return false
}

func searchTermOf(w string) searchTerm {
	prop, val, ok := strings.Cut(w, ":")
	if !ok || val == "" {
		return func(m *Message) bool {
			return containsFold(m.Subject, w) || containsFold(m.Body, w) || containsFold(m.From, w)
		}
	}
	switch strings.ToLower(prop) {
	case "subject":
		return func(m *Message) bool { return containsFold(m.Subject, val) }
	case "body":
		return func(m *Message) bool { return containsFold(m.Body, val) }
	case "from":
		return func(m *Message) bool { return containsFold(m.From, val) }
	case "to":
		return func(m *Message) bool { return anyContains(m.To, val) }
	case "cc":
		return func(m *Message) bool { return anyContains(m.Cc, val) }
	case "bcc":
		return func(m *Message) bool { return anyContains(m.Bcc, val) }
	case "recipients":
		return func(m *Message) bool {
			return anyContains(m.To, val) || anyContains(m.Cc, val) || anyContains(m.Bcc, val)
		}
	case "participants":
		return func(m *Message) bool {
			return containsFold(m.From, val) || anyContains(m.To, val) || anyContains(m.Cc, val) || anyContains(m.Bcc, val)
		}
	case "attachment":
		return func(m *Message) bool {
			for _, a := range m.Attachments {
				if containsFold(a.Name, val) {
					return true
				}
			}
			return false
		}
	case "hasattachment", "hasattachments":
		want := strings.EqualFold(val, "true")
		return func(m *Message) bool { return (len(m.Attachments) > 0) == want }
	case "importance":
		if strings.EqualFold(val, "medium") {
			val = "normal"
		}
		return func(m *Message) bool { return strings.EqualFold(m.Importance, val) }
	case "kind":
		return func(*Message) bool { return strings.EqualFold(val, "email") }
	case "received", "sent":
		from, to, ok := searchDates(val)
		if !ok {
			return func(*Message) bool { return false }
		}
		sent := strings.EqualFold(prop, "sent")
		return func(m *Message) bool {
			t := m.Received
			if sent {
				t = m.Sent
			}
			return !t.Before(from) && t.Before(to)
		}
	case "size":
		lo, hi, ok := searchRange(val)
		return func(m *Message) bool { n := messageSize(m); return ok && n >= lo && n <= hi }
	}
	return func(m *Message) bool {
		return containsFold(m.Subject, w) || containsFold(m.Body, w) || containsFold(m.From, w)
	}
}

// searchDates reads a KQL date (2024-07-23 or 07/23/2024) or range
// (a..b) as [from, to) in UTC days.
func searchDates(v string) (time.Time, time.Time, bool) {
	a, b, isRange := strings.Cut(v, "..")
	day := func(s string) (time.Time, bool) {
		for _, layout := range []string{"2006-01-02", "01/02/2006", "1/2/2006"} {
			if t, err := time.Parse(layout, s); err == nil {
				return t, true
			}
		}
		return time.Time{}, false
	}
	from, ok := day(a)
	if !ok {
		return time.Time{}, time.Time{}, false
	}
	if !isRange {
		return from, from.AddDate(0, 0, 1), true
	}
	to, ok := day(b)
	return from, to.AddDate(0, 0, 1), ok
}

func searchRange(v string) (int64, int64, bool) {
	a, b, ok := strings.Cut(v, "..")
	lo, err1 := strconv.ParseInt(a, 10, 64)
	if !ok {
		return lo, lo, err1 == nil
	}
	hi, err2 := strconv.ParseInt(b, 10, 64)
	return lo, hi, err1 == nil && err2 == nil
}
