package ews

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"io"
	"strings"
	"testing"
)

// FuzzBase64Stream holds the MimeContent decoder to the standard library's
// stream decoder over the same character data: the same bytes, and an
// error for the same inputs.
func FuzzBase64Stream(f *testing.F) {
	long := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("From: a@b\r\nSubject: x\r\n\r\nbody\r\n"), 2000))
	for _, s := range []string{
		"SGVsbG8=", "SGVsbG8", "SGVs\r\nbG8=", "SGVs bG8=", "SG=sbG8=", "", "====", "S", "SGVsbG8=SGVsbG8=", "a&#13;b", long,
		long[:len(long)-1], strings.Repeat("QUJD", 5000) + "\n" + strings.Repeat("QUJD", 7),
	} {
		f.Add([]byte(s), uint8(7))
	}
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8) {
		if bytes.IndexByte(data, '<') >= 0 {
			return // the element's end: what follows is not its text
		}
		in := append(append([]byte{}, data...), []byte("</t:MimeContent>")...)
		size := 16 + int(chunk)
		got, gerr := io.ReadAll(newBase64Text(bufio.NewReaderSize(iotestChunks(in, int(chunk%13)+1), size)))
		want, werr := io.ReadAll(base64.NewDecoder(base64.StdEncoding, &base64Text{br: bufio.NewReaderSize(iotestChunks(in, int(chunk%13)+1), size)}))
		if (gerr == nil) != (werr == nil) {
			t.Fatalf("%q: error %v, the standard decoder's %v", data, gerr, werr)
		}
		if gerr == nil && !bytes.Equal(got, want) {
			t.Fatalf("%q: decoded %q, the standard decoder %q", data, got, want)
		}
	})
}

// iotestChunks feeds b in pieces of n bytes, to cross buffer boundaries.
func iotestChunks(b []byte, n int) io.Reader { return &chunkReader{b: b, n: n} }

type chunkReader struct {
	b []byte
	n int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.b) == 0 {
		return 0, io.EOF
	}
	k := copy(p[:min(len(p), c.n)], c.b)
	c.b = c.b[k:]
	return k, nil
}
