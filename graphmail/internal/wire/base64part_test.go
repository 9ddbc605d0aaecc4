package wire

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/textproto"
)

// goMessageBase64 decodes body as go-message decodes a base64 part: the
// reference base64Part must agree with.
func goMessageBase64(body []byte) ([]byte, error) {
	var h textproto.Header
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Transfer-Encoding", "base64")
	e, err := message.New(message.Header{Header: h}, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(e.Body)
}

func readBase64Part(body []byte, chunk bool) ([]byte, error) {
	var r io.Reader = bytes.NewReader(body)
	if chunk {
		r = iotest.OneByteReader(r) // the source hands out a byte at a time
	}
	return io.ReadAll(iotest.HalfReader(newBase64Part(r)))
}

func TestBase64Part(t *testing.T) {
	data := make([]byte, 40000)
	for i := range data {
		data[i] = byte(i * 31)
	}
	lines := base64Lines(data)
	for _, tt := range []struct {
		name    string
		body    string
		want    []byte
		wantErr error // nil: decodes to want
	}{
		{"crlf lines", lines, data, nil},
		{"lf lines", strings.ReplaceAll(lines, "\r\n", "\n"), data, nil},
		{"no line ends", base64.StdEncoding.EncodeToString(data), data, nil},
		{"indented continuation", strings.ReplaceAll(lines, "\r\n", "\r\n \t"), data, nil},
		{"spaces inside lines", "aGVs bG8g\td29y\rbGQ=\r\n", []byte("hello world"), nil},
		{"empty", "", nil, nil},
		{"only line ends", "\r\n\r\n", nil, nil},
		{"a quantum cut short", "aGVsbG8gd29ybGQ", nil, io.ErrUnexpectedEOF},
		{"outside the alphabet", "aGVs*G8=\r\n", nil, base64.CorruptInputError(0)},
	} {
		for _, chunk := range []bool{false, true} {
			got, err := readBase64Part([]byte(tt.body), chunk)
			ref, refErr := goMessageBase64([]byte(tt.body))
			if (err == nil) != (refErr == nil) {
				t.Errorf("%s (byte reads %v): error %v, go-message's %v", tt.name, chunk, err, refErr)
			}
			switch want := tt.wantErr; {
			case want == io.ErrUnexpectedEOF && !errors.Is(err, io.ErrUnexpectedEOF):
				t.Errorf("%s: error %v, want io.ErrUnexpectedEOF", tt.name, err)
			case want != nil && err == nil:
				t.Errorf("%s: no error, want one", tt.name)
			case want == nil && (err != nil || !bytes.Equal(got, tt.want) || !bytes.Equal(got, ref)):
				t.Errorf("%s (byte reads %v): %d bytes, %v; want %d bytes (go-message: %d)", tt.name, chunk, len(got), err, len(tt.want), len(ref))
			}
		}
	}
}

// FuzzBase64PartAsGoMessage: whatever the body, base64Part and go-message
// agree on whether it decodes and on the bytes. Bodies with data after a
// padding character are left out: the standard decoder's answer to those
// depends on where its reads split the body.
func FuzzBase64PartAsGoMessage(f *testing.F) {
	f.Add([]byte("aGVsbG8gd29ybGQ=\r\n"), false)
	f.Add([]byte("aGVs bG8g\td29y\rbGQ=\r\n"), true)
	f.Add([]byte("aGVsbG8gd29ybGQ"), false)
	f.Add([]byte("aGVs*G8=\r\n"), true)
	f.Fuzz(func(t *testing.T, body []byte, chunk bool) {
		if i := bytes.IndexByte(body, '='); i >= 0 && len(bytes.TrimRight(bytes.TrimSpace(body[i:]), "= \t\r\n")) > 0 {
			t.Skip()
		}
		got, err := readBase64Part(body, chunk)
		ref, refErr := goMessageBase64(body)
		if (err == nil) != (refErr == nil) {
			t.Fatalf("error %v, go-message's %v", err, refErr)
		}
		if err == nil && !bytes.Equal(got, ref) {
			t.Fatalf("decoded %x, go-message %x", got, ref)
		}
	})
}

// BenchmarkBase64Part decodes a 1 MB attachment in its mail form.
func BenchmarkBase64Part(b *testing.B) {
	data := make([]byte, 1<<20)
	for i := range data {
		data[i] = byte(i * 31)
	}
	body := []byte(base64Lines(data))
	for _, tc := range []struct {
		name string
		dec  func([]byte) ([]byte, error)
	}{
		{"base64Part", func(b []byte) ([]byte, error) { return readBase64Part(b, false) }},
		{"go-message", goMessageBase64},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tc.dec(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
