package ews

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// tokenizer reads the raw tokens of an EWS answer as encoding/xml's
// Decoder.RawToken does, for xml.NewTokenDecoder, which adds the name
// spaces and the checks of Token on top. encoding/xml reads its input a
// byte at a time through an interface call, and that was a seventh of the
// CPU of a copy of many small mailboxes; this scans the buffered bytes in
// bulk. Its tokens are those of RawToken for the same input (the fuzz test
// holds it to that), except that a DTD or other <!directive is refused:
// no EWS answer has one.
//
// It reads br only as far as the token it returns: after a start tag, br
// is at the byte after its '>', where the GetItem walker reads MIME text.
type tokenizer struct {
	br        *bufio.Reader
	raw       []byte // the current token's bytes when they span reads
	text      []byte // decoded text (CharData, attribute values)
	attrs     []xml.Attr
	needClose bool
	toClose   xml.Name
	err       error
	names     map[string]string // interned names: answers repeat a few dozen
}

// maxNames bounds the interned names, whatever names an answer holds.
const maxNames = 4096

func newTokenizer(br *bufio.Reader) *tokenizer {
	return &tokenizer{br: br, names: map[string]string{}}
}

func (t *tokenizer) reset(br *bufio.Reader) {
	t.br, t.needClose, t.toClose, t.err = br, false, xml.Name{}, nil
	t.raw, t.text, t.attrs = t.raw[:0], t.text[:0], t.attrs[:0]
	if len(t.names) >= maxNames {
		clear(t.names)
	}
}

func (t *tokenizer) syntax(msg string) error {
	t.err = &xml.SyntaxError{Msg: msg}
	return t.err
}

// eof is the error for input that ends inside a token.
func (t *tokenizer) eof(err error) error {
	if err == io.EOF {
		return t.syntax("unexpected EOF")
	}
	t.err = err
	return err
}

// Token returns the next raw token; its bytes are valid until the next call.
func (t *tokenizer) Token() (xml.Token, error) {
	if t.err != nil {
		return nil, t.err
	}
	if t.needClose {
		t.needClose = false
		return xml.EndElement{Name: t.toClose}, nil
	}
	b, err := t.br.Peek(1)
	if err != nil {
		t.err = err
		return nil, err
	}
	if b[0] != '<' {
		raw, err := t.until("<", true)
		if err != nil {
			return nil, err
		}
		data, err := t.decodeText(raw, 0)
		if err != nil {
			return nil, err
		}
		return xml.CharData(data), nil
	}
	t.br.Discard(1)
	b, err = t.br.Peek(1)
	if err != nil {
		return nil, t.eof(err)
	}
	switch b[0] {
	case '/':
		t.br.Discard(1)
		return t.endTag()
	case '?':
		t.br.Discard(1)
		return t.procInst()
	case '!':
		t.br.Discard(1)
		return t.bang()
	}
	return t.startTag()
}

// until reads up to the first occurrence of delim and consumes it; with
// text it stops before delim ('<', which starts the next token) and the
// end of the input ends the text too. Nothing after delim is consumed.
func (t *tokenizer) until(delim string, text bool) ([]byte, error) {
	t.raw = t.raw[:0]
	d := []byte(delim)
	for {
		if t.br.Buffered() < len(d) {
			if _, err := t.br.Peek(len(d)); err != nil {
				if err != io.EOF {
					return nil, t.eof(err)
				}
				rest, _ := t.br.Peek(t.br.Buffered())
				if !text {
					return nil, t.eof(err)
				}
				t.raw = append(t.raw, rest...)
				t.br.Discard(len(rest))
				return t.raw, nil
			}
		}
		buf, _ := t.br.Peek(t.br.Buffered())
		if i := bytes.Index(buf, d); i >= 0 {
			var out []byte
			if len(t.raw) == 0 {
				out = buf[:i:i] // aliases br's buffer until the next read
			} else {
				t.raw = append(t.raw, buf[:i]...)
				out = t.raw
			}
			if !text {
				i += len(d)
			}
			t.br.Discard(i)
			return out, nil
		}
		// Keep what could be the start of delim for the next look.
		take := len(buf) - (len(d) - 1)
		t.raw = append(t.raw, buf[:take]...)
		t.br.Discard(take)
	}
}

// endTag reads the rest of </name >.
func (t *tokenizer) endTag() (xml.Token, error) {
	raw, err := t.until(">", false)
	if err != nil {
		return nil, err
	}
	i, name, ok := t.nsname(raw, 0)
	if !ok {
		return nil, t.syntax("expected element name after </")
	}
	i = skipSpace(raw, i)
	if i != len(raw) {
		return nil, t.syntax("invalid characters between </" + nameString(name) + " and >")
	}
	return xml.EndElement{Name: name}, nil
}

func nameString(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return n.Space + ":" + n.Local
}

// startTag reads <name attr="v" ...> or its empty form; '>' inside a
// quoted value does not end it.
func (t *tokenizer) startTag() (xml.Token, error) {
	raw, err := t.tagBytes()
	if err != nil {
		return nil, err
	}
	i, name, ok := t.nsname(raw, 0)
	if !ok {
		return nil, t.syntax("expected element name after <")
	}
	t.attrs = t.attrs[:0]
	empty := false
	for {
		i = skipSpace(raw, i)
		if i == len(raw) {
			break
		}
		if raw[i] == '/' {
			if i != len(raw)-1 {
				return nil, t.syntax("expected /> in element")
			}
			empty = true
			break
		}
		var a xml.Attr
		if i, a.Name, ok = t.nsname(raw, i); !ok {
			return nil, t.syntax("expected attribute name in element")
		}
		i = skipSpace(raw, i)
		if i == len(raw) || raw[i] != '=' {
			return nil, t.syntax("attribute name without = in element")
		}
		i = skipSpace(raw, i+1)
		if i == len(raw) || raw[i] != '"' && raw[i] != '\'' {
			return nil, t.syntax("unquoted or missing attribute value in element")
		}
		q := raw[i]
		j := bytes.IndexByte(raw[i+1:], q)
		if j < 0 {
			return nil, t.syntax("unexpected EOF") // tagBytes matched the quotes
		}
		v, err := t.decodeText(raw[i+1:i+1+j], q)
		if err != nil {
			return nil, err
		}
		a.Value = string(v)
		t.attrs = append(t.attrs, a)
		i += j + 2
	}
	if empty {
		t.needClose, t.toClose = true, name
	}
	var attrs []xml.Attr
	if len(t.attrs) > 0 {
		attrs = append([]xml.Attr(nil), t.attrs...) // Token keeps them
	}
	return xml.StartElement{Name: name, Attr: attrs}, nil
}

// tagBytes reads a start tag's bytes up to its '>', past quoted values.
func (t *tokenizer) tagBytes() ([]byte, error) {
	t.raw = t.raw[:0]
	var quote byte
	for {
		n := t.br.Buffered()
		if n == 0 {
			if _, err := t.br.Peek(1); err != nil {
				return nil, t.eof(err)
			}
			n = t.br.Buffered()
		}
		buf, _ := t.br.Peek(n)
		for i := 0; i < len(buf); {
			if quote != 0 {
				j := bytes.IndexByte(buf[i:], quote)
				if j < 0 {
					break
				}
				i += j + 1
				quote = 0
				continue
			}
			j := bytes.IndexAny(buf[i:], `>"'`)
			if j < 0 {
				break
			}
			i += j
			if buf[i] == '>' {
				t.raw = append(t.raw, buf[:i]...)
				t.br.Discard(i + 1)
				return t.raw, nil
			}
			quote = buf[i]
			i++
		}
		t.raw = append(t.raw, buf...)
		t.br.Discard(n)
	}
}

// procInst reads <?target inst?>.
func (t *tokenizer) procInst() (xml.Token, error) {
	raw, err := t.until("?>", false)
	if err != nil {
		return nil, err
	}
	i, target, ok := t.name(raw, 0)
	if !ok {
		return nil, t.syntax("expected target name after <?")
	}
	inst := bytes.Clone(raw[skipSpace(raw, i):])
	if target == "xml" {
		content := string(inst)
		if ver := procInstParam("version", content); ver != "" && ver != "1.0" {
			t.err = fmt.Errorf("xml: unsupported version %q; only version 1.0 is supported", ver)
			return nil, t.err
		}
		if enc := procInstParam("encoding", content); enc != "" && !strings.EqualFold(enc, "utf-8") {
			t.err = fmt.Errorf("xml: encoding %q declared but Decoder.CharsetReader is nil", enc)
			return nil, t.err
		}
	}
	return xml.ProcInst{Target: target, Inst: inst}, nil
}

// procInstParam is the value of param="v" (or 'v') in a processing
// instruction's content, read as encoding/xml reads it.
func procInstParam(param, s string) string {
	param += "="
	i := 0
	var sep byte
	for i < len(s) {
		sub := s[i:]
		k := strings.Index(sub, param)
		if k < 0 || len(param)+k >= len(sub) {
			return ""
		}
		i += len(param) + k + 1
		if c := sub[len(param)+k]; c == '\'' || c == '"' {
			sep = c
			break
		}
	}
	if sep == 0 {
		return ""
	}
	j := strings.IndexByte(s[i:], sep)
	if j < 0 {
		return ""
	}
	return s[i : i+j]
}

// bang reads a comment or a CDATA section; a DTD or other directive is
// refused.
func (t *tokenizer) bang() (xml.Token, error) {
	b, err := t.br.Peek(2)
	if err != nil && len(b) == 0 {
		return nil, t.eof(err)
	}
	switch {
	case b[0] == '-':
		if len(b) < 2 {
			return nil, t.eof(err)
		}
		if b[1] != '-' {
			return nil, t.syntax("invalid sequence <!- not part of <!--")
		}
		t.br.Discard(2)
		raw, err := t.until("--", false)
		if err != nil {
			return nil, err
		}
		comment := bytes.Clone(raw) // before the next read moves br's buffer
		c, err := t.br.Peek(1)
		if err != nil {
			return nil, t.eof(err)
		}
		if c[0] != '>' {
			return nil, t.syntax(`invalid sequence "--" not allowed in comments`)
		}
		t.br.Discard(1)
		return xml.Comment(comment), nil
	case b[0] == '[':
		head, err := t.br.Peek(7)
		if err != nil {
			if err == io.EOF {
				return nil, t.syntax("unexpected EOF")
			}
			return nil, t.eof(err)
		}
		if string(head) != "[CDATA[" {
			return nil, t.syntax("invalid <![ sequence")
		}
		t.br.Discard(7)
		raw, err := t.until("]]>", false)
		if err != nil {
			return nil, err
		}
		data, err := t.decodeText(raw, 'c')
		if err != nil {
			return nil, err
		}
		return xml.CharData(data), nil
	}
	return nil, t.syntax("the answer holds a DTD or other <! directive, which no EWS answer has")
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\r' || b[i] == '\n' || b[i] == '\t') {
		i++
	}
	return i
}

func isNameByte(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == ':' || c == '.' || c == '-'
}

// name reads an XML name at b[i:] as encoding/xml does: the bytes that may
// be in a name, then the check of the whole.
func (t *tokenizer) name(b []byte, i int) (int, string, bool) {
	j, ascii := i, true
	for j < len(b) && (b[j] >= utf8.RuneSelf || isNameByte(b[j])) {
		ascii = ascii && b[j] < utf8.RuneSelf
		j++
	}
	if j == i {
		return i, "", false
	}
	s := b[i:j]
	if ascii {
		if c := s[0]; !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || c == '_' || c == ':') {
			t.syntax("invalid XML name: " + string(s))
			return i, "", false
		}
	} else if !validName(s) {
		t.syntax("invalid XML name: " + string(s))
		return i, "", false
	}
	if v, ok := t.names[string(s)]; ok {
		return j, v, true
	}
	v := string(s)
	if len(t.names) < maxNames {
		t.names[v] = v
	}
	return j, v, true
}

// validName checks a name holding non-ASCII letters with encoding/xml's
// own tables (rare: EWS names are ASCII).
func validName(s []byte) bool {
	_, err := xml.NewDecoder(bytes.NewReader(append(append([]byte("<"), s...), "/>"...))).RawToken()
	return err == nil
}

func (t *tokenizer) nsname(b []byte, i int) (int, xml.Name, bool) {
	j, s, ok := t.name(b, i)
	if !ok {
		return i, xml.Name{}, false
	}
	if strings.Count(s, ":") > 1 {
		t.syntax("expected element name after <")
		return i, xml.Name{}, false
	}
	space, local, found := strings.Cut(s, ":")
	if !found || space == "" || local == "" {
		return j, xml.Name{Local: s}, true
	}
	return j, xml.Name{Space: space, Local: local}, true
}

// decodeText turns raw text into its characters as encoding/xml does:
// entities decoded (not in CDATA), line ends made \n, and each character
// checked. quote is the attribute value's quote ('<' is refused in one),
// 'c' for CDATA, 0 for text.
func (t *tokenizer) decodeText(raw []byte, quote byte) ([]byte, error) {
	plain := true
	for _, c := range raw {
		if c < 0x20 && c != '\t' && c != '\n' || c >= utf8.RuneSelf || c == '&' || c == '<' || c == ']' {
			plain = false
			break
		}
	}
	if plain {
		return raw, nil
	}
	cdata := quote == 'c'
	out := t.text[:0]
	var b0, b1 byte
	for i := 0; i < len(raw); i++ {
		b := raw[i]
		switch {
		case b == '<' && !cdata:
			return nil, t.syntax("unescaped < inside quoted string")
		case quote == 0 && b0 == ']' && b1 == ']' && b == '>':
			return nil, t.syntax("unescaped ]]> not in CDATA section")
		case b == '&' && !cdata:
			n, text, ok := entity(raw[i:])
			if !ok {
				ent := string(raw[i : i+n])
				if !strings.HasSuffix(ent, ";") {
					ent += " (no semicolon)"
				}
				return nil, t.syntax("invalid character entity " + ent)
			}
			out = append(out, text...)
			i += n - 1
			b0, b1 = 0, 0
			continue
		}
		switch {
		case b == '\r':
			out = append(out, '\n')
		case b1 == '\r' && b == '\n':
			// \r\n: the \n is written already
		default:
			out = append(out, b)
		}
		b0, b1 = b1, b
	}
	t.text = out
	for buf := out; len(buf) > 0; {
		r, size := utf8.DecodeRune(buf)
		if r == utf8.RuneError && size == 1 {
			return nil, t.syntax("invalid UTF-8")
		}
		buf = buf[size:]
		if !isInCharacterRange(r) {
			return nil, t.syntax(fmt.Sprintf("illegal character code %U", r))
		}
	}
	return out, nil
}

// entity decodes the reference at the start of b ("&..."): its length in
// b and its text. On failure n is what encoding/xml quotes in its error.
func entity(b []byte) (n int, text string, ok bool) {
	i := 1
	if i < len(b) && b[i] == '#' {
		i++
		base := 10
		if i < len(b) && b[i] == 'x' {
			base = 16
			i++
		}
		start := i
		for i < len(b) && ('0' <= b[i] && b[i] <= '9' || base == 16 && ('a' <= b[i] && b[i] <= 'f' || 'A' <= b[i] && b[i] <= 'F')) {
			i++
		}
		if i == len(b) || b[i] != ';' {
			return i, "", false
		}
		v, err := strconv.ParseUint(string(b[start:i]), base, 64)
		if err != nil || v > utf8.MaxRune {
			return i + 1, "", false
		}
		return i + 1, string(rune(v)), true
	}
	start := i
	for i < len(b) && (b[i] >= utf8.RuneSelf || isNameByte(b[i])) {
		i++
	}
	if i == len(b) || b[i] != ';' {
		return i, "", false
	}
	switch string(b[start:i]) {
	case "lt":
		return i + 1, "<", true
	case "gt":
		return i + 1, ">", true
	case "amp":
		return i + 1, "&", true
	case "apos":
		return i + 1, "'", true
	case "quot":
		return i + 1, `"`, true
	}
	return i + 1, "", false
}

func isInCharacterRange(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}

var _ xml.TokenReader = (*tokenizer)(nil)
