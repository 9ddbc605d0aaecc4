package graphmail

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/exmigrate/exmigrate/mailbox"
)

// A pre-authenticated URL (an upload session's uploadUrl, an import
// session's importUrl) carries its credential in the query:
// https://outlook.office.com/api/v2.0/Users('…')/Messages('…')/AttachmentSessions('…')?authtoken=eyJ…
// Whoever holds it may write to the mailbox until the session expires, so
// it never leaves graphmail whole: errors and log lines name it with
// redactURL (scheme, host and path, which tell an engineer which request
// failed), and the errors of a request to it go through a preauthURL's
// redactErr, which also takes the secret out of text that echoes it (a
// proxy's error page, a Graph error message).

// redactedMark replaces what redactURL and preauthURL remove.
const redactedMark = "REDACTED"

// redactURL is a URL fit for an error or a log line: scheme, host and
// path, with "?REDACTED" for the query and fragment, and no user
// information. A URL that does not parse is cut at its first '?' or '#'.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return redactText(raw)
	}
	safe := url.URL{Scheme: u.Scheme, Opaque: u.Opaque, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
	s := safe.String()
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || u.RawFragment != "" {
		s += "?" + redactedMark
	}
	return s
}

// redactText is redactURL for a string url.Parse refuses.
func redactText(raw string) string {
	s, cut := raw, false
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		s, cut = s[:i], true
	}
	if i := strings.Index(s, "://"); i >= 0 {
		auth := s[i+3:]
		end := strings.IndexByte(auth, '/')
		if end < 0 {
			end = len(auth)
		}
		if at := strings.LastIndexByte(auth[:end], '@'); at >= 0 {
			s = s[:i+3] + auth[at+1:]
		}
	}
	if cut {
		s += "?" + redactedMark
	}
	return s
}

// preauthURL is a pre-authenticated URL with the forms of its secret that
// a text may hold.
type preauthURL struct {
	raw  string
	safe string   // redactURL(raw)
	bits []string // the query, the fragment and each longer query value, raw and escaped, longest first
}

// minSecret is the shortest query value treated as a secret: shorter ones
// (a version number, a flag) would garble the text they are cut from.
const minSecret = 8

func newPreauthURL(raw string) *preauthURL {
	p := &preauthURL{raw: raw, safe: redactURL(raw)}
	add := func(s string) {
		if len(s) >= minSecret && !slices.Contains(p.bits, s) {
			p.bits = append(p.bits, s)
		}
	}
	query, fragment := "", ""
	if u, err := url.Parse(raw); err == nil {
		query, fragment = u.RawQuery, u.EscapedFragment()
		add(u.Fragment)
		for _, vs := range u.Query() {
			for _, v := range vs {
				add(v)
				add(url.QueryEscape(v))
				add(url.PathEscape(v))
			}
		}
	} else {
		rest := raw
		if i := strings.IndexAny(rest, "?#"); i >= 0 {
			query = rest[i+1:]
		}
		for _, kv := range strings.FieldsFunc(query, func(r rune) bool { return r == '&' || r == ';' || r == '#' }) {
			_, v, _ := strings.Cut(kv, "=")
			add(v)
		}
	}
	add(query)
	add(fragment)
	slices.SortStableFunc(p.bits, func(a, b string) int { return len(b) - len(a) })
	return p
}

// String is the redacted URL.
func (p *preauthURL) String() string { return p.safe }

// scrub takes the URL's secrets out of a text: the whole URL becomes the
// redacted one, any other piece of the secret "REDACTED".
func (p *preauthURL) scrub(s string) string {
	if p.raw != "" && p.raw != p.safe {
		s = strings.ReplaceAll(s, p.raw, p.safe)
	}
	for _, b := range p.bits {
		s = strings.ReplaceAll(s, b, redactedMark)
	}
	return s
}

// leaks reports whether a text holds any piece of the secret.
func (p *preauthURL) leaks(s string) bool {
	for _, b := range p.bits {
		if strings.Contains(s, b) {
			return true
		}
	}
	return false
}

// redactErr returns err, about a request to the URL, with the secret out
// of its text. It edits the errors in err's tree that carry a URL or an
// answer's text in fields (a *url.Error, which net/http makes with the
// whole URL; an *Error or *MalformedError, whose message may echo it), so
// call it before the error is wrapped with fmt.Errorf, which freezes the
// text. Should the text still hold the secret (a message frozen lower
// down), err is replaced by one with the scrubbed text that matches what
// err matched, without unwrapping to the text that leaks.
func (p *preauthURL) redactErr(err error) error {
	if err == nil {
		return nil
	}
	leak := false
	walkErr(err, func(e error) {
		switch e := e.(type) {
		case *url.Error:
			e.URL = p.scrub(redactURL(e.URL))
		case *Error:
			e.Op, e.Message = p.scrub(e.Op), p.scrub(e.Message)
		case *MalformedError:
			e.Body = p.scrub(e.Body)
		}
		leak = leak || p.leaks(e.Error())
	})
	if !leak {
		return err
	}
	return &redactedError{msg: p.scrub(err.Error()), err: err, p: p}
}

// walkErr calls f for err and every error it wraps.
func walkErr(err error, f func(error)) {
	for err != nil {
		f(err)
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walkErr(e, f)
			}
			return
		default:
			return
		}
	}
}

// redactedError is an error whose text held a pre-authenticated URL's
// secret where redactErr could not edit it. It matches the sentinels err
// matched and gives scrubbed copies of the classifying errors
// (*mailbox.PermanentError, *mailbox.RetryableError, *Error), but it does
// not unwrap: what it wraps still holds the secret.
type redactedError struct {
	msg string
	err error
	p   *preauthURL
}

func (e *redactedError) Error() string { return e.msg }

// Is matches what the redacted error matched.
func (e *redactedError) Is(target error) bool { return errors.Is(e.err, target) }

// As gives scrubbed copies of the errors that classify a failure.
func (e *redactedError) As(target any) bool {
	switch t := target.(type) {
	case **mailbox.PermanentError:
		var pe *mailbox.PermanentError
		if errors.As(e.err, &pe) {
			*t = &mailbox.PermanentError{Err: errors.New(e.p.scrub(pe.Error()))}
			return true
		}
	case **mailbox.RetryableError:
		var re *mailbox.RetryableError
		if errors.As(e.err, &re) {
			*t = &mailbox.RetryableError{Err: errors.New(e.p.scrub(re.Error())), After: re.After}
			return true
		}
	case **Error:
		var ge *Error
		if errors.As(e.err, &ge) {
			c := *ge
			c.Op, c.Message = e.p.scrub(c.Op), e.p.scrub(c.Message)
			*t = &c
			return true
		}
	}
	return false
}

// doPreauth sends a request to a pre-authenticated URL: through the
// scheduler and its budgets, never with a token (the URL is its own
// credential). An answer of 300 or more is an error unless its status is
// in keep. Every error it returns names the URL redacted.
func (c *Client) doPreauth(p *preauthURL, op string, req *http.Request, keep ...int) (*http.Response, error) {
	resp, err := c.upload.Do(req)
	if err != nil {
		if ue, ok := err.(*url.Error); ok && ue.Err != nil {
			// op names the request, redacted; net/http's *url.Error
			// names it again, whole.
			err = ue.Err
		}
		return nil, p.redactErr(wrapErr(op, p.redactErr(err)))
	}
	if resp.StatusCode >= 300 && !slices.Contains(keep, resp.StatusCode) {
		defer resp.Body.Close()
		return nil, p.redactErr(errorFromResponse(op, resp))
	}
	return resp, nil
}
