package ews

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

// rawTokens reads every raw token of data with encoding/xml, then with the
// tokenizer over a bufio.Reader of size bufSize (fed a byte at a time when
// oneByte, so that every token spans reads). Each returns its tokens
// (copied) and whether it ended with an error other than io.EOF.
func rawTokens(data []byte, bufSize int, oneByte bool) (std, ours []xml.Token, stdErr, ourErr error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := d.RawToken()
		if err != nil {
			if err != io.EOF {
				stdErr = err
			}
			break
		}
		std = append(std, xml.CopyToken(tok))
	}
	var r io.Reader = bytes.NewReader(data)
	if oneByte {
		r = iotest.OneByteReader(r)
	}
	tz := newTokenizer(bufio.NewReaderSize(r, bufSize))
	for {
		tok, err := tz.Token()
		if err != nil {
			if err != io.EOF {
				ourErr = err
			}
			break
		}
		ours = append(ours, xml.CopyToken(tok))
	}
	return std, ours, stdErr, ourErr
}

// directive says whether data holds a <! that is neither a comment nor a
// CDATA section: the tokenizer refuses those, encoding/xml reads them.
func directive(data []byte) bool {
	for i := 0; ; {
		j := bytes.Index(data[i:], []byte("<!"))
		if j < 0 {
			return false
		}
		rest := data[i+j+2:]
		if !bytes.HasPrefix(rest, []byte("--")) && !bytes.HasPrefix(rest, []byte("[CDATA[")) {
			return true
		}
		i += j + 2
	}
}

func sameTokens(t *testing.T, data []byte, bufSize int, oneByte bool) {
	t.Helper()
	std, ours, stdErr, ourErr := rawTokens(data, bufSize, oneByte)
	if stdErr != nil && directive(data) {
		return
	}
	// Up to encoding/xml's error, the same tokens; then an error too.
	n := min(len(std), len(ours))
	for i := range n {
		if !reflect.DeepEqual(normalize(std[i]), normalize(ours[i])) {
			t.Fatalf("%q (buffer %d): token %d = %#v, encoding/xml %#v", data, bufSize, i, ours[i], std[i])
		}
	}
	switch {
	case stdErr == nil && directive(data) && ourErr != nil:
		// refused on purpose
	case (stdErr == nil) != (ourErr == nil):
		t.Fatalf("%q (buffer %d): error %v, encoding/xml %v (tokens %d and %d)", data, bufSize, ourErr, stdErr, len(ours), len(std))
	case len(std) != len(ours):
		t.Fatalf("%q (buffer %d): %d tokens, encoding/xml %d", data, bufSize, len(ours), len(std))
	}
}

// normalize makes empty and nil attribute lists and byte slices compare
// equal.
func normalize(tok xml.Token) xml.Token {
	switch t := tok.(type) {
	case xml.StartElement:
		if len(t.Attr) == 0 {
			t.Attr = nil
		}
		return t
	case xml.CharData:
		return string(t)
	case xml.Comment:
		return "comment:" + string(t)
	case xml.ProcInst:
		return "pi:" + t.Target + ":" + string(t.Inst)
	}
	return tok
}

var tokenSeeds = []string{
	`<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><m:A xmlns:m="u" m:x='1' y="a&amp;b&#x41;&#66;&lt;&quot;&apos;&gt;"><t:Subject>R&#xE9;union &amp; caf&#233; ]] &gt;</t:Subject><t:E/><t:MimeContent CharacterSet="UTF-8">SGVsbG8=</t:MimeContent></m:A></s:Body></s:Envelope>`,
	"<a>line\r\nbreak\rcr</a>",
	"<a b=\"x\r\ny\">t</a >",
	"<a><!-- a comment - with dashes --><![CDATA[<raw> & ]] stuff\r\n]]></a>",
	"<a>]]></a>",
	"<a>&unknown;</a>",
	"<a>&#0;</a>",
	"<a>&#xD800;</a>",
	"<a>& </a>",
	"<a b=\"<\"/>",
	"<a b=c/>",
	"<a b/>",
	"<a:b:c/>",
	"<:a/>",
	"<a: b='1'/>",
	"<1a/>",
	"<é/>",
	"<a>\xff</a>",
	"<a",
	"<a b='1",
	"<!-- x -- y -->",
	"<?pi some data?><?xml version=\"2.0\"?>",
	"<?xml encoding=\"latin1\"?>",
	"</a  >",
	"</a b>",
	"text only",
	"<a>x</b>",
	"<a/ >",
	"<a  b = 'v' c=\"w\"  />",
	"<![CDATA[x]]",
	"<!DOCTYPE a>",
}

func TestTokenizerMatchesEncodingXML(t *testing.T) {
	for _, s := range tokenSeeds {
		for _, size := range []int{16, 4096} {
			sameTokens(t, []byte(s), size, false)
			sameTokens(t, []byte(s), size, true)
		}
	}
}

func TestTokenizerRefusesDirectives(t *testing.T) {
	_, _, _, err := rawTokens([]byte(`<!DOCTYPE x [<!ENTITY e "boom">]><x>&e;</x>`), 4096, false)
	var se *xml.SyntaxError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "directive") {
		t.Fatalf("a DTD: %v, want a syntax error naming the directive", err)
	}
}

// TestTokenizerLeavesTheReaderAfterTheStartTag: the GetItem walker reads
// the MIME text from the reader right after the start tag's '>'.
func TestTokenizerLeavesTheReaderAfterTheStartTag(t *testing.T) {
	br := bufio.NewReaderSize(strings.NewReader(`<t:MimeContent a=">">SGVsbG8=</t:MimeContent>`), 16)
	tz := newTokenizer(br)
	if _, err := tz.Token(); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(br)
	if string(rest) != "SGVsbG8=</t:MimeContent>" {
		t.Fatalf("after the start tag the reader holds %q", rest)
	}
}

func FuzzTokenizer(f *testing.F) {
	for _, s := range tokenSeeds {
		f.Add([]byte(s), uint8(0))
	}
	f.Fuzz(func(t *testing.T, data []byte, size uint8) {
		sameTokens(t, data, 16+int(size), size%2 == 1)
	})
}
