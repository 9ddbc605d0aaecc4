package ews

import (
	"bufio"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
)

// --- GetItem MIME, streamed ---

// openMIME sends GetItem for one id with IncludeMimeContent and returns the
// decoded MIME as a stream read straight off the connection: base64 text
// is decoded as it arrives, so memory stays bounded whatever the size.
func (c *Client) openMIME(ctx context.Context, mbx, itemID string) (io.ReadCloser, error) {
	r := c.newRequest(mbx)
	gi := r.body.CreateElement("m:GetItem")
	is := gi.CreateElement("m:ItemShape")
	elem(is, "t:BaseShape", "IdOnly")
	elem(is, "t:IncludeMimeContent", "true")
	gi.CreateElement("m:ItemIds").CreateElement("t:ItemId").CreateAttr("Id", itemID)
	var out io.ReadCloser
	err := c.retry(ctx, call{op: "GetItem", anchor: mbx, body: r.bytes(), idempotent: true}, func(resp *response) (bool, error) {
		rc, err := mimeStream(resp)
		if err != nil {
			return false, err
		}
		out = rc
		return true, nil
	})
	return out, err
}

// mimeWalker reads a GetItem response message by message, handing out the
// MimeContent of each as a stream straight off the connection.
type mimeWalker struct {
	// op is the operation, msg its response message element and content
	// the element whose base64 text is streamed (t:MimeContent of
	// GetItem, m:Data of ExportItems).
	op, msg string
	content xml.Name
	d       *xml.Decoder
	br      *bufio.Reader
	cur     io.Reader // the MIME stream handed out last, drained before moving on
	done    bool
	// reported: the current message was returned at its MimeContent, so
	// its end tag closes nothing new.
	reported bool
}

func newMIMEWalker(d *xml.Decoder, br *bufio.Reader, status int) (*mimeWalker, error) {
	return newContentWalker(d, br, status, "GetItem", xml.Name{Space: nsTypes, Local: "MimeContent"})
}

// newContentWalker walks the response messages of op, streaming the
// base64 text of each one's content element.
func newContentWalker(d *xml.Decoder, br *bufio.Reader, status int, op string, content xml.Name) (*mimeWalker, error) {
	se, err := openEnvelope(d, op, status)
	if err != nil {
		return nil, err
	}
	if se.Name.Space != nsMessages || se.Name.Local != op+"Response" {
		return nil, fmt.Errorf("EWS %s: unexpected response element {%s}%s", op, se.Name.Space, se.Name.Local)
	}
	return &mimeWalker{op: op, msg: op + "ResponseMessage", content: content, d: d, br: br}, nil
}

// next returns the next response message and, when it has one, a reader
// of its decoded MIME. ok is false after the last message.
func (w *mimeWalker) next() (msg responseMessage, mime io.Reader, ok bool, err error) {
	if w.cur != nil {
		// The tokenizer never saw the base64 text; finish it so the decoder
		// resumes at the end tag.
		if _, err := io.Copy(io.Discard, w.cur); err != nil {
			return msg, nil, false, fmt.Errorf("EWS %s: reading content: %w", w.op, err)
		}
		w.cur = nil
	}
	inMsg := false
	for !w.done {
		tok, err := w.d.Token()
		if err != nil {
			return msg, nil, false, fmt.Errorf("EWS %s: malformed response: %w", w.op, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch {
			case t.Name.Space == nsMessages && t.Name.Local == w.msg:
				inMsg = true
				msg = responseMessage{}
				for _, a := range t.Attr {
					if a.Name.Local == "ResponseClass" {
						msg.Class = a.Value
					}
				}
			case inMsg && t.Name.Space == nsMessages && (t.Name.Local == "MessageText" || t.Name.Local == "ResponseCode"):
				var s string
				if err := w.d.DecodeElement(&s, &t); err != nil {
					return msg, nil, false, fmt.Errorf("EWS %s: malformed response: %w", w.op, err)
				}
				if t.Name.Local == "ResponseCode" {
					msg.Code = s
				} else {
					msg.MessageText = s
				}
			case inMsg && t.Name.Space == nsMessages && t.Name.Local == "MessageXml":
				if err := w.d.DecodeElement(&msg.MessageXML, &t); err != nil {
					return msg, nil, false, fmt.Errorf("EWS %s: malformed response: %w", w.op, err)
				}
			case inMsg && t.Name == w.content:
				// The tokenizer reads br only to the end of a token, so br sits right
				// after the start tag: the base64 text follows.
				w.cur = newBase64Text(w.br)
				w.reported = true
				return msg, w.cur, true, nil
			}
		case xml.EndElement:
			switch {
			case t.Name.Space == nsMessages && t.Name.Local == w.msg:
				if w.reported {
					w.reported, inMsg = false, false
					continue
				}
				return msg, nil, true, nil
			case t.Name.Space == nsMessages && t.Name.Local == w.op+"Response":
				w.done = true
			}
		}
	}
	return msg, nil, false, nil
}

// mimeStream returns the MIME of the single item of a GetItem response.
func mimeStream(resp *response) (io.ReadCloser, error) {
	d, br, release := newDecoder(resp.Body)
	w, err := newMIMEWalker(d, br, resp.StatusCode)
	if err != nil {
		release()
		return nil, err
	}
	msg, mime, ok, err := w.next()
	if err == nil && !ok {
		err = fmt.Errorf("EWS GetItem: empty response")
	}
	if err == nil {
		err = msg.err("GetItem", -1)
	}
	if err == nil && mime == nil {
		err = fmt.Errorf("EWS GetItem: the item has no MIME content")
	}
	if err != nil {
		release()
		return nil, err
	}
	return &mimeReader{resp: resp, dec: mime, release: release}, nil
}

// readMIMEBatch sends one GetItem for several ids and calls fn for each in
// order with its MIME stream, or with its own error (per-item errors stay
// per item: ErrorItemNotFound for one id does not fail the others).
func (c *Client) readMIMEBatch(ctx context.Context, mbx string, ids []string, fn func(id string, mime io.Reader, err error) error) error {
	r := c.newRequest(mbx)
	gi := r.body.CreateElement("m:GetItem")
	is := gi.CreateElement("m:ItemShape")
	elem(is, "t:BaseShape", "IdOnly")
	elem(is, "t:IncludeMimeContent", "true")
	idList(gi, "m:ItemIds", "t:ItemId", ids)
	return c.streamBatch(ctx, call{op: "GetItem", anchor: mbx, body: r.bytes(), idempotent: true},
		xml.Name{Space: nsTypes, Local: "MimeContent"}, ids, fn)
}

// streamBatch sends a request for several ids (GetItem with MIME,
// ExportItems) and hands each answer's content element, streamed from its
// base64, or that answer's own error, to fn in order. A batch throttled
// before anything was handed out is retried whole; once fn has seen an
// item, a retry would repeat it, so later failures are final.
func (c *Client) streamBatch(ctx context.Context, cl call, content xml.Name, ids []string, fn func(id string, data io.Reader, err error) error) error {
	op := cl.op
	started := false
	return c.retry(ctx, cl, func(resp *response) (bool, error) {
		d, br, release := newDecoder(resp.Body)
		defer release()
		w, err := newContentWalker(d, br, resp.StatusCode, op, content)
		if err != nil {
			return false, err
		}
		malformed := func(reason string) error {
			return &permanent{&MalformedError{Operation: op, Status: resp.StatusCode, Reason: reason}}
		}
		for i := 0; ; i++ {
			msg, data, ok, err := w.next()
			if err != nil {
				if started {
					return false, &permanent{err}
				}
				return false, err
			}
			if !ok {
				if i != len(ids) {
					return false, malformed(fmt.Sprintf("%d answers for %d ids", i, len(ids)))
				}
				return false, nil
			}
			if i >= len(ids) {
				return false, malformed("more answers than ids")
			}
			ierr := msg.err(op, i)
			if re, ok := ierr.(*ResponseError); ok && re.throttling() && !started {
				return false, re // throttled before anything was handed out: retry the batch
			}
			if ierr == nil && data == nil {
				ierr = &MalformedError{Operation: op, Status: resp.StatusCode, Reason: fmt.Sprintf("answer %d (item %s) holds no %s", i, ids[i], content.Local)}
			}
			started = true
			if ierr != nil {
				data = nil
			}
			if err := fn(ids[i], data, ierr); err != nil {
				return false, &permanent{err}
			}
		}
	})
}

// permanent stops retry: the error is the caller's or comes after items were delivered.
type permanent struct{ err error }

func (p *permanent) Error() string { return p.err.Error() }

func (p *permanent) Unwrap() error { return p.err }

type mimeReader struct {
	resp    *response
	dec     io.Reader
	release func()
	closed  bool
}

func (m *mimeReader) Read(p []byte) (int, error) {
	if m.closed {
		return 0, errors.New("ews: read from a closed MIME stream")
	}
	return m.dec.Read(p)
}

// Close releases the connection; an unfinished stream breaks it rather than
// reading megabytes only to throw them away.
func (m *mimeReader) Close() error {
	if m.closed {
		return nil
	}
	m.closed = true
	defer m.release()
	var probe [1]byte
	n, err := m.dec.Read(probe[:])
	broken := n > 0 || err != io.EOF
	m.resp.finish(broken)
	return nil
}
