package ewstest

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"math"
	"mime"
	"strings"
	"time"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // decode non-UTF-8 bodies and headers, as Exchange does
	"github.com/emersion/go-message/mail"
)

// mimeProps is what Exchange derives from an item's MIME when it stores
// it, and so what the fake answers from: the addresses, the header block,
// the body, the attachments, and the calendar and contact fields of the
// text/calendar and text/vcard items the lab seeds. Absent values stay
// empty and the property is left out of answers, as Exchange leaves out
// unset properties.
type mimeProps struct {
	headers                  [][2]string // top-level fields in order: name, unfolded raw value
	from, sender             []addr      // zero or one
	to, cc, bcc, replyTo     []addr
	inReplyTo, references    string
	readReceipt              bool // Disposition-Notification-To
	sensitivity              string
	body                     string
	html                     bool
	hasBody                  bool
	attachments              []attachment
	multipartMixed           bool // a streamed item whose parts were not read
	cal                      *calProps
	contact                  *contactProps
	threadTopic, threadIndex string
	partial                  bool // only the header block was read (streamed items)
}

type addr struct{ name, email string }

type attachment struct {
	name, contentType, contentID string
	size                         int64
	inline                       bool
	item                         bool // message/rfc822: an ItemAttachment
	photo                        bool // a contact's picture (IsContactPhoto)
	content                      []byte
}

type calProps struct {
	uid, location, summary        string
	start, end                    time.Time
	allDay                        bool
	organizer                     addr
	required, optional, resources []addr
}

type contactProps struct {
	displayName, given, surname, company, title string
	emails                                      []string
}

// Limits keep a hostile or broken message from costing the fake much: an
// item's parts and the bytes kept per attachment and body.
const (
	maxParts         = 200
	maxKeptBody      = 4 << 20
	maxHeaderScanned = 1 << 20
)

// deriveProps reads raw MIME. It never fails: what cannot be parsed is
// left out, as Exchange keeps a message whose MIME it cannot fully read.
// keepContent keeps attachment bytes (for GetAttachment); decoded, they
// are never longer than raw.
func deriveProps(raw []byte, keepContent bool) *mimeProps {
	return derive(bytes.NewReader(raw), keepContent, false)
}

// deriveHead reads only the header block of a streamed item, whose body
// may be hundreds of megabytes.
func deriveHead(r io.Reader) *mimeProps {
	return derive(r, false, true)
}

func derive(r io.Reader, keepContent, headOnly bool) *mimeProps {
	p := &mimeProps{}
	e, err := message.ReadWithOptions(r, &message.ReadOptions{MaxHeaderBytes: maxHeaderScanned})
	if e == nil {
		return p // not even a header block
	}
	_ = err // an unknown charset still gives an entity that can be read
	h := mail.Header{Header: e.Header}
	fields := h.Fields()
	for fields.Next() {
		k, v := fields.Key(), fields.Value()
		if raw, err := fields.Raw(); err == nil {
			// Keep the name and value as sent (unfolded, not decoded), as
			// InternetMessageHeaders answers them.
			if name, rest, ok := bytes.Cut(raw, []byte(":")); ok {
				k, v = strings.TrimSpace(string(name)), unfold(strings.TrimSpace(string(rest)))
			}
		}
		p.headers = append(p.headers, [2]string{k, v})
	}
	p.from = headerAddrs(&h, "From", 1)
	p.sender = headerAddrs(&h, "Sender", 1)
	p.to = headerAddrs(&h, "To", 0)
	p.cc = headerAddrs(&h, "Cc", 0)
	p.bcc = headerAddrs(&h, "Bcc", 0)
	p.replyTo = headerAddrs(&h, "Reply-To", 0)
	p.inReplyTo = strings.TrimSpace(h.Get("In-Reply-To"))
	p.references = strings.Join(strings.Fields(h.Get("References")), " ")
	p.readReceipt = h.Get("Disposition-Notification-To") != ""
	p.threadTopic, p.threadIndex = decodeWords(h.Get("Thread-Topic")), strings.TrimSpace(h.Get("Thread-Index"))
	switch strings.ToLower(strings.TrimSpace(h.Get("Sensitivity"))) {
	case "personal":
		p.sensitivity = "Personal"
	case "private":
		p.sensitivity = "Private"
	case "company-confidential":
		p.sensitivity = "Confidential"
	}
	if headOnly {
		p.partial = true
		mt, _, _ := e.Header.ContentType()
		p.multipartMixed = mt == "multipart/mixed"
		return p
	}
	parts := 0
	e.Walk(func(path []int, part *message.Entity, err error) error {
		parts++
		if parts > maxParts {
			return errStopWalk
		}
		if part == nil || part.MultipartReader() != nil {
			return nil
		}
		p.addPart(part, len(path) == 0, keepContent)
		return nil
	})
	return p
}

var errStopWalk = errors.New("too many parts")

// addPart classifies one leaf: the message body, an attachment, or the
// text/calendar or text/vcard payload of a lab item.
func (p *mimeProps) addPart(part *message.Entity, top, keepContent bool) {
	mt, params, _ := part.Header.ContentType()
	if mt == "" {
		mt = "text/plain"
	}
	disp, dparams, _ := part.Header.ContentDisposition()
	name := dparams["filename"]
	if name == "" {
		name = params["name"]
	}
	if d, err := new(mime.WordDecoder).DecodeHeader(name); err == nil {
		name = d
	}
	attached := disp == "attachment" || (name != "" && !strings.HasPrefix(mt, "text/"))
	switch {
	case !attached && (mt == "text/plain" || mt == "text/html") && (!p.hasBody || (mt == "text/html" && !p.html)):
		b, _ := io.ReadAll(io.LimitReader(part.Body, maxKeptBody))
		p.body, p.html, p.hasBody = string(b), mt == "text/html", true
		return
	case !attached && mt == "text/calendar":
		b, _ := io.ReadAll(io.LimitReader(part.Body, maxKeptBody))
		p.cal = parseICal(b)
		return
	case !attached && (mt == "text/vcard" || mt == "text/x-vcard"):
		b, _ := io.ReadAll(io.LimitReader(part.Body, maxKeptBody))
		p.contact = parseVCard(b)
		return
	case top:
		return // a single-part message's body in a type no client reads as text
	}
	a := attachment{name: name, contentType: mt, contentID: strings.Trim(part.Header.Get("Content-Id"), "<> "),
		inline: disp == "inline" || (disp == "" && part.Header.Get("Content-Id") != ""), item: mt == "message/rfc822"}
	var buf bytes.Buffer
	keep := int64(0)
	switch {
	case keepContent:
		keep = math.MaxInt64 // the item is in memory: its parts are no bigger
	case a.item:
		keep = maxHeaderScanned // enough for the attached message's subject
	}
	n, _ := io.Copy(&limitedWriter{w: &buf, n: keep}, part.Body)
	a.size = n
	if a.item && a.name == "" {
		if inner, err := message.Read(bytes.NewReader(buf.Bytes())); inner != nil && (err == nil || message.IsUnknownCharset(err)) {
			a.name = decodeWords(inner.Header.Get("Subject"))
		}
	}
	if keepContent {
		a.content = buf.Bytes()
	}
	if a.name == "" {
		a.name = "Untitled attachment"
	}
	p.attachments = append(p.attachments, a)
}

// hasAttachments is PR_HASATTACH as Exchange sets it: attachments that are
// not inline pictures of the body. A streamed item whose parts were not
// read counts by its top-level type.
func (p *mimeProps) hasAttachments() bool {
	if p.partial {
		return p.multipartMixed
	}
	for _, a := range p.attachments {
		if !a.inline {
			return true
		}
	}
	return false
}

type limitedWriter struct {
	w io.Writer
	n int64
}

func (l *limitedWriter) Write(b []byte) (int, error) {
	if int64(len(b)) > l.n {
		l.w.Write(b[:l.n])
		l.n = 0
		return len(b), nil
	}
	l.n -= int64(len(b))
	return l.w.Write(b)
}

func headerAddrs(h *mail.Header, key string, max int) []addr {
	list, err := h.AddressList(key)
	if err != nil || len(list) == 0 {
		// A header that is not a valid address list still names someone
		// for Exchange; keep its text as the address.
		if v := strings.TrimSpace(h.Get(key)); v != "" && len(list) == 0 {
			list = []*mail.Address{{Address: v}}
		}
	}
	var out []addr
	for _, a := range list {
		out = append(out, addr{name: a.Name, email: a.Address})
		if max > 0 && len(out) == max {
			break
		}
	}
	return out
}

func decodeWords(s string) string {
	s = strings.TrimSpace(s)
	if d, err := new(mime.WordDecoder).DecodeHeader(s); err == nil {
		return d
	}
	return s
}

func unfold(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "")
	return strings.ReplaceAll(s, "\n", "")
}

// contentLines unfolds RFC 5545 / RFC 6350 content lines and splits each
// into its name, parameters and value.
func contentLines(b []byte) []contentLine {
	var out []contentLine
	var cur strings.Builder
	flush := func() {
		if cur.Len() == 0 {
			return
		}
		line := cur.String()
		cur.Reset()
		// The name and parameters end at the first colon outside a quoted
		// parameter value; parameters are split at semicolons alike.
		var fields []string
		quoted, start, end := false, 0, -1
		for i := 0; i < len(line) && end < 0; i++ {
			switch c := line[i]; {
			case c == '"':
				quoted = !quoted
			case !quoted && (c == ';' || c == ':'):
				fields = append(fields, line[start:i])
				start = i + 1
				if c == ':' {
					end = i
				}
			}
		}
		if end < 0 || len(fields) == 0 {
			return
		}
		cl := contentLine{name: strings.ToUpper(strings.TrimSpace(fields[0])), value: line[end+1:], params: map[string]string{}}
		for _, p := range fields[1:] {
			if k, v, ok := strings.Cut(p, "="); ok {
				cl.params[strings.ToUpper(k)] = strings.Trim(v, `"`)
			}
		}
		out = append(out, cl)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4096), maxKeptBody)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t") {
			cur.WriteString(line[1:])
			continue
		}
		flush()
		cur.WriteString(line)
	}
	flush()
	return out
}

type contentLine struct {
	name, value string
	params      map[string]string
}

// parseICal reads the first VEVENT of a text/calendar body.
func parseICal(b []byte) *calProps {
	c := &calProps{}
	in := false
	for _, l := range contentLines(b) {
		switch {
		case l.name == "BEGIN" && strings.EqualFold(l.value, "VEVENT"):
			in = true
		case l.name == "END" && strings.EqualFold(l.value, "VEVENT"):
			return c
		case !in:
		case l.name == "UID":
			c.uid = l.value
		case l.name == "SUMMARY":
			c.summary = unescapeText(l.value)
		case l.name == "LOCATION":
			c.location = unescapeText(l.value)
		case l.name == "DTSTART":
			c.start, c.allDay = icalTime(l)
		case l.name == "DTEND":
			c.end, _ = icalTime(l)
		case l.name == "ORGANIZER":
			c.organizer = calAddr(l)
		case l.name == "ATTENDEE":
			switch {
			case strings.EqualFold(l.params["CUTYPE"], "RESOURCE") || strings.EqualFold(l.params["CUTYPE"], "ROOM"):
				c.resources = append(c.resources, calAddr(l))
			case strings.EqualFold(l.params["ROLE"], "OPT-PARTICIPANT"):
				c.optional = append(c.optional, calAddr(l))
			default:
				c.required = append(c.required, calAddr(l))
			}
		}
	}
	if !in {
		return nil
	}
	return c
}

func calAddr(l contentLine) addr {
	v := l.value
	if len(v) >= 7 && strings.EqualFold(v[:7], "mailto:") {
		v = v[7:]
	}
	return addr{name: l.params["CN"], email: v}
}

// icalTime reads a DATE-TIME (UTC, or floating and TZID times taken as
// UTC: the fake keeps no time zones) or a DATE (an all-day event).
func icalTime(l contentLine) (time.Time, bool) {
	v := strings.TrimSpace(l.value)
	if t, err := time.Parse("20060102T150405Z", v); err == nil {
		return t, false
	}
	if t, err := time.Parse("20060102T150405", v); err == nil {
		return t, false
	}
	if t, err := time.Parse("20060102", v); err == nil {
		return t, true
	}
	return time.Time{}, false
}

// parseVCard reads a text/vcard body.
func parseVCard(b []byte) *contactProps {
	c := &contactProps{}
	seen := false
	for _, l := range contentLines(b) {
		switch l.name {
		case "BEGIN":
			seen = true
		case "FN":
			c.displayName = unescapeText(l.value)
		case "N":
			parts := strings.Split(l.value, ";")
			c.surname = unescapeText(parts[0])
			if len(parts) > 1 {
				c.given = unescapeText(parts[1])
			}
		case "ORG":
			c.company = unescapeText(strings.Split(l.value, ";")[0])
		case "TITLE":
			c.title = unescapeText(l.value)
		case "EMAIL":
			if len(c.emails) < 3 { // Exchange keeps EmailAddress1 to 3
				c.emails = append(c.emails, strings.TrimSpace(l.value))
			}
		}
	}
	if !seen {
		return nil
	}
	return c
}

func unescapeText(s string) string {
	r := strings.NewReplacer(`\n`, "\n", `\N`, "\n", `\,`, ",", `\;`, ";", `\\`, `\`)
	return r.Replace(s)
}
