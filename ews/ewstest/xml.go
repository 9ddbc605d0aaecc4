package ewstest

import (
	"bufio"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
)

// Namespaces.
const (
	nsSOAP     = "http://schemas.xmlsoap.org/soap/envelope/"
	nsMessages = "http://schemas.microsoft.com/exchange/services/2006/messages"
	nsTypes    = "http://schemas.microsoft.com/exchange/services/2006/types"
	nsErrors   = "http://schemas.microsoft.com/exchange/services/2006/errors"
)

// PrefixStyle is how the fake spells namespaces in its responses. Real
// Exchange mixes prefixed and default namespaces; clients must not care.
type PrefixStyle int

// Prefix styles.
const (
	// StyleRotate cycles through the other styles, one per response.
	StyleRotate PrefixStyle = iota
	// StylePrefixed uses s:, m:, t: as Exchange does for most operations.
	StylePrefixed
	// StyleDefault declares a default namespace on each element whose
	// namespace differs from its parent's (as in GetInboxRules responses).
	StyleDefault
	// StyleOdd uses unusual prefixes (env:, x1:, x2:, x3:).
	StyleOdd
)

func (p PrefixStyle) String() string {
	switch p {
	case StylePrefixed:
		return "prefixed"
	case StyleDefault:
		return "default-namespace"
	case StyleOdd:
		return "odd-prefixes"
	}
	return "rotate"
}

var prefixes = map[PrefixStyle]map[string]string{
	StylePrefixed: {nsSOAP: "s", nsMessages: "m", nsTypes: "t", nsErrors: "e"},
	StyleOdd:      {nsSOAP: "env", nsMessages: "x1", nsTypes: "x2", nsErrors: "x3"},
}

// xw writes a response document in one prefix style.
type xw struct {
	w     *bufio.Writer
	style PrefixStyle
	defNS []string // default namespace in scope, per open element
	names []string // open element names, for end tags
	first bool
}

func newXW(w io.Writer, style PrefixStyle) *xw {
	x := &xw{w: bufio.NewWriterSize(w, 32*1024), style: style, first: true}
	x.w.WriteString(`<?xml version="1.0" encoding="utf-8"?>`)
	return x
}

func (x *xw) qname(ns, local string) (name, decl string) {
	cur := ""
	if n := len(x.defNS); n > 0 {
		cur = x.defNS[n-1]
	}
	if x.style == StyleDefault {
		if ns != cur || x.first {
			return local, fmt.Sprintf(` xmlns="%s"`, ns)
		}
		return local, ""
	}
	if ns == "" {
		return local, ""
	}
	p := prefixes[x.style][ns]
	if x.first {
		var b strings.Builder
		for _, u := range []string{nsSOAP, nsMessages, nsTypes} {
			fmt.Fprintf(&b, ` xmlns:%s="%s"`, prefixes[x.style][u], u)
		}
		return p + ":" + local, b.String()
	}
	if ns == nsErrors {
		return p + ":" + local, fmt.Sprintf(` xmlns:%s="%s"`, p, ns)
	}
	return p + ":" + local, ""
}

// start opens an element; attrs are name, value pairs.
func (x *xw) start(ns, local string, attrs ...string) {
	name, decl := x.qname(ns, local)
	x.w.WriteByte('<')
	x.w.WriteString(name)
	x.w.WriteString(decl)
	for i := 0; i+1 < len(attrs); i += 2 {
		x.w.WriteByte(' ')
		x.w.WriteString(attrs[i])
		x.w.WriteString(`="`)
		xml.EscapeText(x.w, []byte(attrs[i+1]))
		x.w.WriteByte('"')
	}
	x.w.WriteByte('>')
	def := ""
	if n := len(x.defNS); n > 0 {
		def = x.defNS[n-1]
	}
	if x.style == StyleDefault {
		def = ns
	}
	x.defNS = append(x.defNS, def)
	x.names = append(x.names, name)
	x.first = false
}

func (x *xw) end() {
	n := len(x.names) - 1
	x.w.WriteString("</")
	x.w.WriteString(x.names[n])
	x.w.WriteByte('>')
	x.names, x.defNS = x.names[:n], x.defNS[:n]
}

// text escapes s. Control characters XML 1.0 forbids are written as
// character references (&#x1;), as Exchange has been seen to do with
// subjects and attachment names: clients must cope with them.
func (x *xw) text(s string) {
	start := 0
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
			xml.EscapeText(x.w, []byte(s[start:i]))
			fmt.Fprintf(x.w, "&#x%X;", c)
			start = i + 1
		}
	}
	xml.EscapeText(x.w, []byte(s[start:]))
}

func (x *xw) leaf(ns, local, text string, attrs ...string) {
	x.start(ns, local, attrs...)
	x.text(text)
	x.end()
}

func (x *xw) empty(ns, local string, attrs ...string) {
	x.start(ns, local, attrs...)
	x.end()
}

func (x *xw) flush() error { return x.w.Flush() }

// node is a namespace-aware DOM of a request, built with encoding/xml.
type node struct {
	name     xml.Name
	attrs    []xml.Attr
	children []*node
	text     strings.Builder
	line     int
	col      int // of the element's name, for a schema fault's LinePosition
}

func (n *node) kids() []*node {
	if n == nil {
		return nil
	}
	return n.children
}

func (n *node) is(ns, local string) bool {
	return n != nil && n.name.Space == ns && n.name.Local == local
}

func (n *node) child(ns, local string) *node {
	if n == nil {
		return nil
	}
	for _, c := range n.children {
		if c.is(ns, local) {
			return c
		}
	}
	return nil
}

func (n *node) all(ns, local string) []*node {
	var out []*node
	if n == nil {
		return nil
	}
	for _, c := range n.children {
		if c.is(ns, local) {
			out = append(out, c)
		}
	}
	return out
}

func (n *node) attr(local string) string {
	if n == nil {
		return ""
	}
	for _, a := range n.attrs {
		if a.Name.Local == local && a.Name.Space == "" {
			return a.Value
		}
	}
	return ""
}

func (n *node) hasAttr(local string) bool {
	for _, a := range n.attrs {
		if a.Name.Local == local && a.Name.Space == "" {
			return true
		}
	}
	return false
}

func (n *node) value() string {
	if n == nil {
		return ""
	}
	return strings.TrimSpace(n.text.String())
}

// parseDOM reads a whole request (requests are bounded by the caller).
func parseDOM(r io.Reader) (*node, error) {
	d := xml.NewDecoder(r)
	var stack []*node
	var root *node
	for {
		// Where the next token starts: the '<' of a start tag.
		line, col := d.InputPos()
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			n := &node{name: t.Name, line: line, col: col + 1}
			for _, a := range t.Attr {
				if a.Name.Space == "xmlns" || a.Name.Local == "xmlns" && a.Name.Space == "" {
					continue
				}
				n.attrs = append(n.attrs, a)
			}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.children = append(p.children, n)
			} else if root == nil {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text.Write(t)
			}
		}
	}
	if root == nil {
		return nil, io.ErrUnexpectedEOF
	}
	return root, nil
}
