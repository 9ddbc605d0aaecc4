package ews

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Namespaces. Responses are matched on these URIs, never on prefixes.
const (
	nsSOAP     = "http://schemas.xmlsoap.org/soap/envelope/"
	nsMessages = "http://schemas.microsoft.com/exchange/services/2006/messages"
	nsTypes    = "http://schemas.microsoft.com/exchange/services/2006/types"
	nsErrors   = "http://schemas.microsoft.com/exchange/services/2006/errors"
)

// sanitizer drops what XML 1.0 forbids (raw control characters and
// character references to them, e.g. &#x0; or &#x11;) so that one bad
// subject does not fail a whole page. It streams: memory is its buffer.
type sanitizer struct {
	src        io.Reader
	buf        []byte
	start, end int
	err        error
}

func newSanitizer(r io.Reader) *sanitizer {
	return &sanitizer{src: r, buf: make([]byte, 32*1024)}
}

const maxCharRef = 12 // "&#x10FFFF;" plus slack

func (s *sanitizer) fill() {
	if s.start > 0 {
		copy(s.buf, s.buf[s.start:s.end])
		s.end -= s.start
		s.start = 0
	}
	for s.end < len(s.buf) && s.err == nil {
		n, err := s.src.Read(s.buf[s.end:])
		s.end += n
		if err != nil {
			s.err = err
		}
		if n > 0 {
			return
		}
	}
}

func (s *sanitizer) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		if s.start == s.end {
			if s.err != nil {
				return 0, s.err
			}
			s.fill()
			continue
		}
		data := s.buf[s.start:s.end]
		n, i := 0, 0
		needMore := false
		for i < len(data) && n < len(p) {
			// Copy the run of ordinary bytes up to the next one to look at
			// in bulk: a byte-by-byte copy of every answer (megabytes of
			// base64 per batched GetItem) was a tenth of a read's CPU.
			run := data[i:min(len(data), i+len(p)-n)]
			k := ordinaryRun(run)
			if k > 0 {
				copy(p[n:], run[:k])
				n += k
				i += k
				continue
			}
			b := data[i]
			if b >= 0x20 && b != '&' || b == '\t' || b == '\n' || b == '\r' {
				p[n] = b
				n++
				i++
				continue
			}
			if b < 0x20 {
				i++ // illegal raw control character
				continue
			}
			// '&': drop the character reference if it names an illegal character.
			rest := data[i:]
			semi := bytes.IndexByte(rest[:min(len(rest), maxCharRef)], ';')
			if semi < 0 && len(rest) < maxCharRef && s.err == nil {
				needMore = true
				break
			}
			if semi > 0 && illegalCharRef(rest[:semi+1]) {
				i += semi + 1
				continue
			}
			p[n] = '&'
			n++
			i++
		}
		s.start += i
		if n > 0 {
			return n, nil
		}
		if needMore {
			s.fill()
			continue
		}
	}
}

// ordinaryRun is the length of the run at the start of b of bytes the
// sanitizer copies as they are (not special). It looks at eight bytes at
// a time: a word with no byte under 0x20 and no '&' is ordinary whole,
// which is nearly every word of an answer (base64 and text); a word with
// one is finished byte by byte. Byte by byte throughout, the check was a
// quarter of a batched read's parse.
func ordinaryRun(b []byte) int {
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
		amps  = 0x2626262626262626 // '&' in every byte
	)
	k := 0
	for ; k+8 <= len(b); k += 8 {
		w := binary.LittleEndian.Uint64(b[k:])
		// A byte under 0x20 (tab, LF and CR included: the slow path lets
		// those through), or a byte equal to '&' (zero after the xor).
		low := (w - 0x20*ones) &^ w & highs
		x := w ^ amps
		amp := (x - ones) &^ x & highs
		if low|amp != 0 {
			break
		}
	}
	for k < len(b) && !special[b[k]] {
		k++
	}
	return k
}

// special marks the bytes the sanitizer must look at: raw control
// characters XML 1.0 forbids, and '&' (a character reference may name one).
var special = func() (t [256]bool) {
	for b := range 0x20 {
		t[b] = b != '\t' && b != '\n' && b != '\r'
	}
	t['&'] = true
	return t
}()

// illegalCharRef reports whether ref ("&#...;") references a character XML 1.0 forbids.
func illegalCharRef(ref []byte) bool {
	if len(ref) < 4 || ref[1] != '#' {
		return false
	}
	body := string(ref[2 : len(ref)-1])
	base := 10
	if body != "" && body[0] == 'x' { // XML allows only a lower-case x
		body, base = body[1:], 16
	}
	v, err := strconv.ParseUint(body, base, 32)
	if err != nil {
		return false
	}
	return !legalXMLChar(rune(v))
}

func legalXMLChar(r rune) bool {
	return r == 0x9 || r == 0xA || r == 0xD || (r >= 0x20 && r <= 0xD7FF) ||
		(r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF)
}

// messageXML is MessageXml: name/value pairs such as BackOffMilliseconds;
// in an ErrorSchemaValidation fault, LineNumber, LinePosition and
// Violation elements (as Exchange sends them: exchangelib issue 501); in
// ErrorInvalidPropertyRequest, the path of the property.
type messageXML struct {
	Values []struct {
		Name  string `xml:"Name,attr"`
		Value string `xml:",chardata"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/types Value"`
	LineNumber   string `xml:"http://schemas.microsoft.com/exchange/services/2006/types LineNumber"`
	LinePosition string `xml:"http://schemas.microsoft.com/exchange/services/2006/types LinePosition"`
	Violation    string `xml:"http://schemas.microsoft.com/exchange/services/2006/types Violation"`
	FieldURI     struct {
		URI string `xml:"FieldURI,attr"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/types FieldURI"`
}

func (m messageXML) apply(e *ResponseError) {
	set := func(k, v string) {
		if v = strings.TrimSpace(v); v == "" {
			return
		}
		if e.Values == nil {
			e.Values = map[string]string{}
		}
		e.Values[k] = v
	}
	set("LineNumber", m.LineNumber)
	set("LinePosition", m.LinePosition)
	set("Violation", m.Violation)
	set("FieldURI", m.FieldURI.URI)
	for _, v := range m.Values {
		if e.Values == nil {
			e.Values = map[string]string{}
		}
		e.Values[v.Name] = strings.TrimSpace(v.Value)
		if v.Name == "BackOffMilliseconds" {
			if ms, err := strconv.ParseInt(strings.TrimSpace(v.Value), 10, 64); err == nil && ms >= 0 {
				e.BackOff = time.Duration(ms) * time.Millisecond
			}
		}
	}
}

// soapFault is a SOAP 1.1 fault; its faultcode/faultstring/detail children
// are unqualified, the detail's children are in the errors and types namespaces.
type soapFault struct {
	Code   string `xml:"faultcode"`
	String string `xml:"faultstring"`
	Detail struct {
		ResponseCode string     `xml:"http://schemas.microsoft.com/exchange/services/2006/errors ResponseCode"`
		Message      string     `xml:"http://schemas.microsoft.com/exchange/services/2006/errors Message"`
		Line         string     `xml:"http://schemas.microsoft.com/exchange/services/2006/errors Line"`
		Position     string     `xml:"http://schemas.microsoft.com/exchange/services/2006/errors Position"`
		Violation    string     `xml:"http://schemas.microsoft.com/exchange/services/2006/errors Violation"`
		MessageXML   messageXML `xml:"http://schemas.microsoft.com/exchange/services/2006/types MessageXml"`
	} `xml:"detail"`
}

func (f *soapFault) toError(op string, status int) *ResponseError {
	code := f.Detail.ResponseCode
	if code == "" {
		// faultcode is a QName (a:ErrorServerBusy); the local part is the code.
		code = f.Code
		if i := strings.LastIndexByte(code, ':'); i >= 0 {
			code = code[i+1:]
		}
	}
	msg := f.Detail.Message
	if msg == "" {
		msg = f.String
	}
	e := &ResponseError{Operation: op, Code: strings.TrimSpace(code), Message: strings.TrimSpace(msg), Class: "Fault", Index: -1, HTTPStatus: status,
		FaultCode: strings.TrimSpace(f.Code)}
	f.Detail.MessageXML.apply(e)
	if f.Detail.Violation != "" {
		if e.Values == nil {
			e.Values = map[string]string{}
		}
		e.Values["Violation"] = f.Detail.Violation
	}
	return e
}

// responseMessage is the part every ResponseMessage (and the unwrapped
// responses) share.
type responseMessage struct {
	Class       string     `xml:"ResponseClass,attr"`
	MessageText string     `xml:"http://schemas.microsoft.com/exchange/services/2006/messages MessageText"`
	Code        string     `xml:"http://schemas.microsoft.com/exchange/services/2006/messages ResponseCode"`
	MessageXML  messageXML `xml:"http://schemas.microsoft.com/exchange/services/2006/messages MessageXml"`
}

// err turns a non-Success message into a *ResponseError.
func (m *responseMessage) err(op string, index int) error {
	if m.Class == "Success" || (m.Class == "" && (m.Code == "" || m.Code == "NoError")) {
		return nil
	}
	e := &ResponseError{Operation: op, Code: strings.TrimSpace(m.Code), Message: strings.TrimSpace(m.MessageText), Class: m.Class, Index: index, HTTPStatus: 200}
	m.MessageXML.apply(e)
	return e
}

// readError turns an error of the XML decoder into the error of a
// response: a document that is not well-formed, or whose values do not
// fit their types, is a *MalformedError (permanent); anything else came from reading the connection (a drop
// mid-answer) and stays as it is, for the retry logic to judge.
func readError(op string, status int, what string, err error) error {
	var se *xml.SyntaxError
	var ne *strconv.NumError
	var ue xml.UnmarshalError
	if errors.As(err, &se) || errors.As(err, &ne) || errors.As(err, &ue) {
		return &MalformedError{Operation: op, Status: status, Reason: what + ": " + err.Error(), Err: err}
	}
	return fmt.Errorf("EWS %s: reading the response: %w", op, err)
}

// openEnvelope reads up to the first child of soap:Body. A fault there is
// returned as a *ResponseError; otherwise the decoder is positioned after
// that child's start element, which is returned.
func openEnvelope(d *xml.Decoder, op string, status int) (xml.StartElement, error) {
	inBody := false
	for {
		tok, err := d.Token()
		if err != nil {
			if err == io.EOF {
				return xml.StartElement{}, &MalformedError{Operation: op, Status: status, Reason: "no SOAP Body in the response"}
			}
			return xml.StartElement{}, readError(op, status, "not well-formed XML", err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		if !inBody {
			if se.Name.Space == nsSOAP && se.Name.Local == "Body" {
				inBody = true
			}
			continue
		}
		if se.Name.Space == nsSOAP && se.Name.Local == "Fault" {
			var f soapFault
			if err := d.DecodeElement(&f, &se); err != nil {
				return xml.StartElement{}, readError(op, status, "malformed SOAP fault", err)
			}
			return xml.StartElement{}, f.toError(op, status)
		}
		return se, nil
	}
}

// newDecoder wraps a response body: sanitised, buffered, namespace-aware.
// The bufio.Reader is returned too because the tokenizer (xmltoken.go)
// consumes it only to the end of each token, so MIME can be streamed from
// it directly after its start tag.
// Its buffers come from a pool: release hands them back once the decoder
// and the reader are no longer used.
func newDecoder(r io.Reader) (d *xml.Decoder, br *bufio.Reader, release func()) {
	st := decoderPool.Get().(*decoderState)
	st.san.reset(r)
	st.br.Reset(st.san)
	st.tz.reset(st.br)
	return xml.NewTokenDecoder(st.tz), st.br, func() {
		st.san.reset(nil)
		st.br.Reset(nil)
		st.tz.reset(nil)
		decoderPool.Put(st)
	}
}

type decoderState struct {
	san *sanitizer
	br  *bufio.Reader
	tz  *tokenizer
}

var decoderPool = sync.Pool{New: func() any {
	san := newSanitizer(nil)
	br := bufio.NewReaderSize(san, 32*1024)
	return &decoderState{san: san, br: br, tz: newTokenizer(br)}
}}

func (s *sanitizer) reset(r io.Reader) {
	s.src, s.start, s.end, s.err = r, 0, 0, nil
}

// decodeResponse decodes the first Body child of a response into v after
// checking that it is the expected element. v is zeroed first: the
// operations declare v outside the function they hand to do, so a retry
// decodes into the value of the failed attempt, and encoding/xml appends
// to slices ("2 answers for one folder" after a throttled message).
func decodeResponse(r io.Reader, op string, status int, v any) error {
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && !rv.IsNil() {
		rv.Elem().SetZero()
	}
	d, _, release := newDecoder(r)
	defer release()
	se, err := openEnvelope(d, op, status)
	if err != nil {
		return err
	}
	if se.Name.Space != nsMessages || se.Name.Local != op+"Response" {
		return &MalformedError{Operation: op, Status: status, Reason: fmt.Sprintf("unexpected response element {%s}%s", se.Name.Space, se.Name.Local)}
	}
	if err := d.DecodeElement(v, &se); err != nil {
		return readError(op, status, "not well-formed XML", err)
	}
	return nil
}

// ParseFault parses a SOAP fault document and returns it as a *ResponseError,
// or nil when the document holds no fault. Exported for tools and fuzzing.
func ParseFault(r io.Reader, op string) (*ResponseError, error) {
	d, _, release := newDecoder(r)
	defer release()
	_, err := openEnvelope(d, op, 500)
	var re *ResponseError
	if errors.As(err, &re) {
		return re, nil
	}
	return nil, err
}

func parseTime(s string) time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// plainBase64Run is the length of the run at the start of b that
// base64Text passes on as it is: up to the element's end, a character
// reference or white space. Each is found with bytes.IndexByte, which
// scans many bytes an instruction; anything else that is not base64 is the
// decoder's to refuse.
func plainBase64Run(b []byte) int {
	k := len(b)
	for _, c := range []byte{'<', '&', '\n', '\r', ' ', '\t'} {
		if j := bytes.IndexByte(b[:k], c); j >= 0 {
			k = j
		}
	}
	return k
}

// base64Text reads the character data of a base64 element (MimeContent)
// straight from the buffered response, stopping at the next '<', skipping
// whitespace, and decodes it as it goes.
type base64Text struct {
	br  *bufio.Reader
	end bool
}

func newBase64Text(br *bufio.Reader) io.Reader {
	return &base64Stream{src: &base64Text{br: br}}
}

// base64Stream decodes standard base64 from a reader that yields no white
// space (base64Text drops it), a buffer of whole quads at a time.
// base64.NewDecoder filters line breaks byte by byte, again, and its copy
// showed in the profile of every batched read.
type base64Stream struct {
	src  io.Reader
	in   [4 << 10]byte
	n    int    // bytes of in not yet decoded
	out  []byte // decoded, not yet returned
	outb [3 << 10]byte
	err  error
}

func (d *base64Stream) Read(p []byte) (int, error) {
	for len(d.out) == 0 {
		if d.err != nil {
			return 0, d.err
		}
		for d.n < 4 && d.err == nil {
			m, err := d.src.Read(d.in[d.n:])
			d.n += m
			if err != nil {
				d.err = err
			}
		}
		if d.err != nil && d.err != io.EOF {
			return 0, d.err
		}
		whole := d.n / 4 * 4
		if whole == 0 {
			if d.n > 0 {
				d.err = io.ErrUnexpectedEOF // a quad cut short
				return 0, d.err
			}
			return 0, d.err // io.EOF
		}
		m, err := base64.StdEncoding.Decode(d.outb[:], d.in[:whole])
		if err != nil {
			d.err = err
			return 0, err
		}
		d.out = d.outb[:m]
		d.n = copy(d.in[:], d.in[whole:d.n])
	}
	n := copy(p, d.out)
	d.out = d.out[n:]
	return n, nil
}

func (b *base64Text) Read(p []byte) (int, error) {
	if b.end {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) {
		if n > 0 && b.br.Buffered() == 0 {
			break // return what we have instead of blocking on the network
		}
		// Peek of what is buffered never fails; an empty chunk means
		// nothing is buffered, and the Peek(1) below says why.
		chunk, _ := b.br.Peek(min(b.br.Buffered(), len(p)-n))
		if len(chunk) == 0 {
			if _, err := b.br.Peek(1); err != nil {
				if err == io.EOF {
					return n, io.ErrUnexpectedEOF
				}
				return n, err
			}
			continue
		}
		i := 0
		for ; i < len(chunk); i++ {
			// A run of base64 characters is copied whole: most answers
			// carry MimeContent as one line without breaks.
			if k := plainBase64Run(chunk[i:]); k > 0 {
				copy(p[n:], chunk[i:i+k])
				n += k
				i += k - 1
				continue
			}
			c := chunk[i]
			switch {
			case c == '<':
				b.end = true
			case c == ' ' || c == '\t' || c == '\r' || c == '\n':
				continue
			case c == '&':
				b.br.Discard(i)
				return n, errors.New("EWS GetItem: unexpected character reference in MimeContent")
			default:
				p[n] = c
				n++
				continue
			}
			break
		}
		b.br.Discard(i)
		if b.end {
			if n == 0 {
				return 0, io.EOF
			}
			return n, nil
		}
	}
	return n, nil
}
