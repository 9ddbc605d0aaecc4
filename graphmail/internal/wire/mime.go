// Package wire holds the parts of graphmail that need no Graph SDK: the
// MIME-to-JSON conversion of a message create, the Retry-After parser and
// the token claims reader. Kept apart so they can be fuzzed without
// instrumenting msgraph-sdk-go.
package wire

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	netmail "net/mail"
	"os"
	"strings"
	"time"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // decode non-UTF-8 bodies and headers
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"

	"github.com/exmigrate/exmigrate/mailbox"
)

// The sizes that decide how a part travels to Graph.
const (
	// InlineAttachmentMax: attachments below 3 MB may go in the create
	// request or as one attachment POST; from 3 MB on, an upload session.
	InlineAttachmentMax = 3 << 20
	// MaxRequestBytes is Graph's request size limit, minus headroom.
	MaxRequestBytes = 4<<20 - 64<<10
	// MaxBodyBytes: the body must fit the create request.
	MaxBodyBytes = 3 << 20
	// UploadChunk is each upload-session PUT: under 4 MB and a multiple of
	// 320 KiB (harmless for Outlook, required by OneDrive).
	UploadChunk = 10 * 320 << 10
	// MaxCustomHeaders is how many internetMessageHeaders Graph accepts.
	MaxCustomHeaders = 5
)

// Part is one attachment, held in memory when small and spooled to a
// temporary file when large, so a big attachment is never held in memory.
type Part struct {
	Name, ContentType, ContentID string
	Inline                       bool
	Size                         int64
	Data                         []byte   // when small
	File                         *os.File // when large
}

// Parsed is the MIME of one message as the JSON create needs it.
type Parsed struct {
	subject           string
	from              []*mail.Address
	to, cc, bcc, repl []*mail.Address
	date              time.Time
	messageID         string
	importance        string
	keywords          []string
	xHeaders          [][2]string
	DroppedHeaders    int    // x- headers over the limit Graph accepts
	bodyType          string // text or html
	body              string
	Parts             []*Part
}

// Close removes the spooled files.
func (p *Parsed) Close() {
	for _, a := range p.Parts {
		if a.File != nil {
			name := a.File.Name()
			a.File.Close()
			os.Remove(name)
		}
	}
}

// limitedReader refuses a stream longer than limit with an
// *mailbox.ItemTooLargeError, before anything is sent.
type limitedReader struct {
	r     io.Reader
	n     int64
	limit int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	l.n += int64(n)
	if l.n > l.limit {
		return n, &mailbox.ItemTooLargeError{Size: l.n, Limit: l.limit}
	}
	return n, err
}

// errBodyTooLarge: the body alone does not fit a Graph create request.
var errBodyTooLarge = errors.New("message body is over 3 MB, more than a Graph create request can carry")

// ParseMIME reads an RFC 5322 message as a stream: headers, the body (HTML
// preferred over plain text) and the attachments. limit bounds the MIME
// size; spoolDir is where large attachments go ("" is the system default).
func ParseMIME(r io.Reader, limit int64, spoolDir string) (*Parsed, error) {
	return ParseMIMESized(r, limit, -1, spoolDir)
}

// ParseMIMESized is ParseMIME of a message of about size bytes (the
// listing's size; -1 when unknown): an attachment is read into room for
// what is left of the message, instead of a buffer grown from 512 bytes
// (copied six times over for an attachment of tens of KB).
func ParseMIMESized(r io.Reader, limit, size int64, spoolDir string) (*Parsed, error) {
	lr := &limitedReader{r: r, limit: limit}
	e, err := message.Read(lr)
	if err != nil && !message.IsUnknownCharset(err) {
		var tl *mailbox.ItemTooLargeError
		if errors.As(err, &tl) {
			return nil, tl
		}
		return nil, fmt.Errorf("%w: malformed MIME header: %v", mailbox.ErrItemRejected, err)
	}
	h := mail.Header{Header: e.Header}
	p := &Parsed{}
	p.subject, _ = h.Subject()
	p.from, _ = h.AddressList("From")
	p.to, _ = h.AddressList("To")
	p.cc, _ = h.AddressList("Cc")
	p.bcc, _ = h.AddressList("Bcc")
	p.repl, _ = h.AddressList("Reply-To")
	p.date = parseDate(h.Get("Date"))
	p.messageID = strings.TrimSpace(h.Get("Message-Id"))
	p.importance = importanceOf(h.Get("Importance"), h.Get("X-Priority"))
	if kw := h.Get("Keywords"); kw != "" {
		for _, k := range strings.Split(kw, ",") {
			if k = strings.TrimSpace(k); k != "" {
				p.keywords = append(p.keywords, k)
			}
		}
	}
	fields := h.Fields()
	for fields.Next() {
		k := fields.Key()
		if !strings.HasPrefix(strings.ToLower(k), "x-") {
			continue
		}
		if len(p.xHeaders) >= MaxCustomHeaders {
			p.DroppedHeaders++
			continue
		}
		v, err := fields.Text()
		if err != nil {
			v = fields.Value()
		}
		p.xHeaders = append(p.xHeaders, [2]string{k, v})
	}
	var html, plain *string
	err = walk(e, func(part *message.Entity) error {
		ct, params, _ := part.Header.ContentType()
		disp, dparams, _ := part.Header.ContentDisposition()
		name := dparams["filename"]
		if name == "" {
			name = params["name"]
		}
		isBody := disp != "attachment" && name == ""
		switch {
		case isBody && ct == "text/html" && html == nil:
			s, err := readBody(part.Body)
			if err != nil {
				return err
			}
			html = &s
			return nil
		case isBody && (ct == "text/plain" || ct == "") && plain == nil:
			s, err := readBody(part.Body)
			if err != nil {
				return err
			}
			plain = &s
			return nil
		}
		if name == "" {
			name = fmt.Sprintf("attachment-%d%s", len(p.Parts)+1, extFor(ct))
		}
		a := &Part{Name: name, ContentType: ct, ContentID: strings.Trim(part.Header.Get("Content-Id"), "<> "), Inline: disp == "inline"}
		if a.ContentType == "" {
			a.ContentType = "application/octet-stream"
		}
		// What is left of the message bounds the part (base64 only
		// shrinks it), give or take what the parser read ahead.
		room := int64(0)
		if size > 0 {
			room = min(max(size-lr.n, 0)+4<<10, InlineAttachmentMax)
		}
		if err := spool(a, part.Body, spoolDir, room); err != nil {
			return err
		}
		p.Parts = append(p.Parts, a)
		return nil
	})
	if err != nil {
		p.Close()
		var tl *mailbox.ItemTooLargeError
		if errors.As(err, &tl) || errors.Is(err, mailbox.ErrItemRejected) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: malformed MIME: %v", mailbox.ErrItemRejected, err)
	}
	// Whatever the walk left unread still counts against the limit.
	if _, err := io.Copy(io.Discard, lr); err != nil {
		p.Close()
		return nil, err
	}
	switch {
	case html != nil:
		p.bodyType, p.body = "html", *html
	case plain != nil:
		p.bodyType, p.body = "text", *plain
	default:
		p.bodyType = "text"
	}
	return p, nil
}

// parseDate reads a Date header as go-message's Header.Date does (the
// zero time when absent or unreadable), trying the form nearly every
// mail has first: net/mail tries its layouts in turn, and each miss
// allocates an error, a tenth of the header's parse.
func parseDate(v string) time.Time {
	if v == "" {
		return time.Time{}
	}
	if t, err := time.Parse(time.RFC1123Z, v); err == nil {
		return t
	}
	t, _ := netmail.ParseDate(v)
	return t
}

// walk calls fn for every leaf part of e, depth first, in order. An
// attached message (message/rfc822) is a leaf.
//
// It reads the parts as go-message's MultipartReader does, except that a
// base64 part's body is decoded by base64Part: message.New then sees no
// transfer encoding and applies only the charset, as it would have.
func walk(e *message.Entity, fn func(*message.Entity) error) error {
	mt, params, _ := e.Header.ContentType()
	if !strings.HasPrefix(mt, "multipart/") {
		return fn(e)
	}
	mr := textproto.NewMultipartReader(e.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		var body io.Reader = p
		// The tests message.New makes before it decodes a body.
		if pt, _, _ := (&message.Header{Header: p.Header}).ContentType(); !strings.HasPrefix(pt, "multipart/") &&
			strings.ToLower(p.Header.Get("Content-Transfer-Encoding")) == "base64" {
			p.Header.Del("Content-Transfer-Encoding")
			body = newBase64Part(p)
		}
		part, err := message.New(message.Header{Header: p.Header}, body)
		if err != nil && !message.IsUnknownCharset(err) {
			return err
		}
		if err := walk(part, fn); err != nil {
			return err
		}
	}
}

func readBody(r io.Reader) (string, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxBodyBytes+1))
	if err != nil && !message.IsUnknownCharset(err) {
		return "", err
	}
	if len(b) > MaxBodyBytes {
		return "", fmt.Errorf("%w: %w", mailbox.ErrItemRejected, errBodyTooLarge)
	}
	return string(b), nil
}

// spool keeps a part under the inline limit in memory and writes a larger
// one to a temporary file as it streams.
func spool(a *Part, r io.Reader, dir string, room int64) error {
	buf := bytes.NewBuffer(make([]byte, 0, room))
	n, err := io.Copy(buf, io.LimitReader(r, InlineAttachmentMax))
	if err != nil && !message.IsUnknownCharset(err) {
		return err
	}
	if n < InlineAttachmentMax {
		a.Data, a.Size = buf.Bytes(), n
		return nil
	}
	f, err := os.CreateTemp(dir, "exmigrate-attachment-*")
	if err != nil {
		return fmt.Errorf("spool attachment %q: %w", a.Name, err)
	}
	a.File = f
	if _, err := f.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("spool attachment %q: %w", a.Name, err)
	}
	buf = nil
	m, err := io.Copy(f, r)
	if err != nil && !message.IsUnknownCharset(err) {
		return err
	}
	a.Size = n + m
	return nil
}

func extFor(ct string) string {
	if ct == "message/rfc822" {
		return ".eml"
	}
	if exts, _ := mime.ExtensionsByType(ct); len(exts) > 0 {
		return exts[0]
	}
	return ".bin"
}

// importanceOf reads the Importance header, or X-Priority (1-2 high, 4-5 low).
func importanceOf(imp, prio string) string {
	switch strings.ToLower(strings.TrimSpace(imp)) {
	case "high":
		return "high"
	case "low":
		return "low"
	case "normal":
		return "normal"
	}
	prio = strings.TrimSpace(prio)
	if prio != "" {
		switch prio[0] {
		case '1', '2':
			return "high"
		case '4', '5':
			return "low"
		}
	}
	return ""
}
