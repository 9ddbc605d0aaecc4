package wire

import (
	"bytes"
	"encoding/base64"
	"io"
)

// base64Part decodes a MIME part's base64 body (lines of 76 characters
// ended by CRLF) as go-message does, in bulk. go-message wraps the body in
// two readers that look at every byte (one turns spaces and tabs into line
// feeds, the other drops line feeds) under the standard decoder's small
// reads: a third of the CPU of parsing a message with an attachment. Here
// each read takes a block, copies the runs between line ends with a
// vectorised search, and decodes the whole quanta at once.
//
// What it accepts and refuses is go-message's: space, tab, CR and LF are
// ignored anywhere, any other character outside the base64 alphabet is an
// error, and a last quantum cut short is io.ErrUnexpectedEOF
// (FuzzBase64PartAsGoMessage holds the two to the same results).
type base64Part struct {
	src io.Reader
	q   []byte // base64 characters not yet decoded, white space removed
	out []byte // decoded, not yet returned
	err error  // of src, once seen
	raw [base64PartBlock]byte
	qb  [base64PartBlock]byte
	ob  [base64PartBlock / 4 * 3]byte
}

// base64PartBlock is what one read takes: the part's buffers are one
// allocation of 10 KB, less than a typical attachment.
const base64PartBlock = 4 << 10

func newBase64Part(src io.Reader) *base64Part {
	d := &base64Part{src: src}
	d.q = d.qb[:0]
	return d
}

func (d *base64Part) Read(p []byte) (int, error) {
	for len(d.out) == 0 {
		if d.err != nil {
			if d.err == io.EOF && len(dropWhiteSpace(d.q)) > 0 {
				return 0, io.ErrUnexpectedEOF // a quantum cut short
			}
			return 0, d.err
		}
		n, err := d.src.Read(d.raw[:base64PartBlock-len(d.q)])
		if err != nil {
			d.err = err
		}
		d.q = appendBase64Runs(d.q, d.raw[:n])
		whole := len(d.q) / 4 * 4
		if whole == 0 {
			continue
		}
		m, derr := base64.StdEncoding.Decode(d.ob[:], d.q[:whole])
		if derr != nil {
			// A space or a tab inside a line (against the standard, but
			// go-message takes it), or a character no decoder takes: drop
			// the white space and decode again, which settles which.
			d.q = dropWhiteSpace(d.q)
			whole = len(d.q) / 4 * 4
			if m, derr = base64.StdEncoding.Decode(d.ob[:], d.q[:whole]); derr != nil {
				d.err = derr
				return 0, derr
			}
		}
		d.out = d.ob[:m]
		d.q = d.q[:copy(d.q, d.q[whole:])]
	}
	n := copy(p, d.out)
	d.out = d.out[n:]
	return n, nil
}

// appendBase64Runs appends b to q without its line ends (CR and LF).
func appendBase64Runs(q, b []byte) []byte {
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			i = len(b)
		}
		line := b[:i]
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		q = append(q, line...)
		if i < len(b) {
			i++
		}
		b = b[i:]
	}
	// A CR not before a LF stays; the decoder ignores it, but it would
	// count as a character of a quantum: drop it here.
	if bytes.IndexByte(q, '\r') >= 0 {
		q = dropWhiteSpace(q)
	}
	return q
}

// dropWhiteSpace removes space, tab, CR and LF from q, in place.
func dropWhiteSpace(q []byte) []byte {
	out := q[:0]
	for _, c := range q {
		switch c {
		case ' ', '\t', '\r', '\n':
		default:
			out = append(out, c)
		}
	}
	return out
}
