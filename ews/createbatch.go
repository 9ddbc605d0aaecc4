package ews

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/exmigrate/exmigrate/mailbox"
)

// Batched writes. CreateItem takes many items (NonEmptyArrayOfAllItemsType
// is unbounded) and answers one ItemInfoResponseMessage per item, in
// order: one request writes a batch of MIME items, each with its stamp,
// read state and dates in the same element a single write sends, and
// each succeeds or fails alone.

// MaxCreateBatch is the most payloads CreateBatch takes in one call. EWS
// documents no limit; exchangelib sends 100 per request. Writes take half
// of that: an answer lost to a dropped connection leaves every item of the
// request unknown (the engine then looks each up by its stamp).
const MaxCreateBatch = 50

// MaxCreateBatchBytes bounds the MIME (Payload.Size) of one request:
// base64 makes it 13.3 MB on the wire, far under the 64 MiB
// maxAllowedContentLength of EWS's web.config, and a lost answer costs
// little to send again.
const MaxCreateBatchBytes = 10 << 20

// maxBatchedItem is the largest item sent within a batch; a larger one,
// or one whose size is unknown, is written alone (CreateItem, streamed
// through a temp file).
const maxBatchedItem = 4 << 20

// ErrNotAttempted is the error of the payloads of a batch that were not
// sent because an earlier request of the batch failed as a whole.
var ErrNotAttempted = errors.New("not attempted: an earlier request of the batch failed")

// BatchResult is one payload's outcome in CreateBatch: the new item's id,
// or that payload's error (the engine's mailbox.BatchWriter contract).
type BatchResult = mailbox.BatchResult

var (
	_ mailbox.BatchWriter = (*Mailbox)(nil)
	_ mailbox.BatchReader = (*Mailbox)(nil)
)

// CreateBatch writes payloads into one folder as CreateItem does, MIME
// mail, notes and other items (each at most 4 MB, of known size) several
// to a request, up to MaxCreateBatch items and MaxCreateBatchBytes each,
// and anything else alone, returning one result per payload, in order:
// its new id, or its own error (the server refusing that item alone; the
// others are created and stamped; an item Exchange did not process
// because an earlier one stopped the batch, ErrorBatchProcessingStopped,
// has a mailbox.Retryable error). When a request fails as a whole (a
// lost answer, throttling the client gave up on, a cancelled context),
// its payloads carry that error, the later ones ErrNotAttempted, and
// CreateBatch returns it too: the engine looks up by stamp what it does
// not know. More than MaxCreateBatch payloads is refused with
// ErrBatchTooLarge before anything is read or sent.
func (m *Mailbox) CreateBatch(ctx context.Context, folderID string, ps []mailbox.Payload) ([]BatchResult, error) {
	if len(ps) > MaxCreateBatch {
		return nil, mailbox.Permanent(fmt.Errorf("ews: create %d items in %s: %w (%d)", len(ps), m.address, ErrBatchTooLarge, MaxCreateBatch))
	}
	out := make([]BatchResult, len(ps))
	_, _, _, _, public := m.public(ctx, folderID)
	batchable := func(p mailbox.Payload) bool {
		k := p.Item.Kind()
		return !public && p.Format == mailbox.FormatMIME && (k == mailbox.KindMail || k == mailbox.KindNotes || k == mailbox.KindOther) &&
			p.Size >= 0 && p.Size <= maxBatchedItem && p.Body != nil
	}
	fail := func(from int, err error) ([]BatchResult, error) {
		for i := from; i < len(ps); i++ {
			if out[i].ID == "" && out[i].Err == nil {
				out[i].Err = fmt.Errorf("create %s in %s: %w", ps[i].SourceID, m.address, ErrNotAttempted)
			}
		}
		return out, err
	}
	for i := 0; i < len(ps); {
		if err := ctx.Err(); err != nil {
			return fail(i, err)
		}
		if !batchable(ps[i]) {
			id, err := m.CreateItem(ctx, folderID, ps[i])
			out[i] = BatchResult{ID: id, Err: err}
			if err != nil && !itemOwn(err) {
				return fail(i+1, err)
			}
			i++
			continue
		}
		j, size := i, int64(0)
		for j < len(ps) && batchable(ps[j]) && (j == i || size+ps[j].Size <= MaxCreateBatchBytes) {
			size += ps[j].Size
			j++
		}
		if err := m.createRun(ctx, folderID, ps[i:j], out[i:j]); err != nil {
			return fail(j, err)
		}
		i = j
	}
	return out, nil
}

// itemOwn reports whether a single write's error is about that item (the
// server refused it: permanent) rather than the request or the service.
func itemOwn(err error) bool { return mailbox.IsPermanent(err) }

// createRun writes ps with one CreateItem and fills out; a failure of the
// whole request is returned, and set on every payload of the run.
func (m *Mailbox) createRun(ctx context.Context, folderID string, ps []mailbox.Payload, out []BatchResult) error {
	b, sent, err := m.c.createBatchBody(m.address, folderID, ps, out)
	if err != nil {
		for k := range out {
			if out[k].Err == nil {
				out[k].Err = fmt.Errorf("create %s in %s: %w", ps[k].SourceID, m.address, err)
			}
		}
		return err
	}
	if len(sent) == 0 {
		return nil // every payload failed to read: each has its error
	}
	defer b.cleanup()
	var resp opResponse[idOnlyXML]
	err = m.c.do(ctx, call{op: "CreateItem", anchor: m.address, body: b}, func(rd io.Reader, st int) error {
		if err := decodeResponse(rd, "CreateItem", st, &resp); err != nil {
			return err
		}
		if n := len(resp.RM.Messages); n != len(sent) {
			return &MalformedError{Operation: "CreateItem", Status: st, Reason: fmt.Sprintf("%d answers for %d items", n, len(sent))}
		}
		return nil
	})
	if err != nil {
		err = fmt.Errorf("create %d items in %s: %w", len(sent), m.address, err)
		for _, k := range sent {
			out[k].Err = err
		}
		return err
	}
	for i, r := range createdResults(resp.RM.Messages) {
		k := sent[i]
		out[k].ID = r.ID
		if r.Err != nil {
			out[k].Err = fmt.Errorf("create %s in %s: %w", ps[k].SourceID, m.address, r.Err)
		}
	}
	return nil
}

// createdResults reads CreateItem's answer, one message per item: the new
// item's id, or its error. An item Exchange did not process because an
// earlier one stopped the batch (ErrorBatchProcessingStopped) was not
// created, and is mailbox.Retryable: the engine writes it again (its body
// was consumed).
func createdResults(msgs []opMessage[idOnlyXML]) []BatchResult {
	out := make([]BatchResult, len(msgs))
	for i, msg := range msgs {
		switch ierr := msg.err("CreateItem", i); {
		case batchStopped(ierr):
			out[i].Err = mailbox.Retryable(ierr, 0)
		case ierr != nil:
			out[i].Err = verdict(ierr)
		case len(msg.Items.Items) == 0 || msg.Items.Items[0].ItemID.ID == "":
			out[i].Err = &MalformedError{Operation: "CreateItem", Status: 200, Reason: "no item id in the answer"}
		default:
			out[i].ID = msg.Items.Items[0].ItemID.ID
		}
	}
	return out
}

// createBatchBody builds one CreateItem of the payloads whose MIME reads
// (a payload whose body fails to read gets that error in out and is left
// out), and returns the indexes of ps it holds, in order. Each MIME is
// spooled first, in base64, so that a failing body costs only its own
// item; the envelope is then written around the spooled parts. Both stay
// in memory when small, else go to temp files (as streamBody does): a
// batch is never held whole in memory.
func (c *Client) createBatchBody(mbx, folderID string, ps []mailbox.Payload, out []BatchResult) (*body, []int, error) {
	var declared int64
	for _, p := range ps {
		declared += p.Size
	}
	sp, err := newSpool(declared * 4 / 3)
	if err != nil {
		return nil, nil, err
	}
	defer sp.cleanup()
	type part struct{ from, to int64 }
	parts := make([]part, len(ps))
	var sent []int
	for k, p := range ps {
		from := sp.n
		enc := base64.NewEncoder(base64.StdEncoding, sp)
		// Size is close to the MIME's length, not exact: read up to twice
		// the largest batched item, and refuse what is larger still.
		n, err := io.Copy(enc, io.LimitReader(p.Body, 2*maxBatchedItem+1))
		if err == nil {
			err = enc.Close()
		}
		if err == nil && n > 2*maxBatchedItem {
			err = fmt.Errorf("the MIME is far larger than its declared %d bytes: %w", p.Size, &mailbox.ItemTooLargeError{Size: n, Limit: 2 * maxBatchedItem})
		}
		if err == nil {
			err = sp.err
		}
		if err != nil {
			if terr := sp.truncate(from); terr != nil {
				return nil, nil, terr
			}
			out[k].Err = fmt.Errorf("ews: reading the MIME of %s: %w", strconv.Quote(p.SourceID), err)
			continue
		}
		parts[k] = part{from, sp.n}
		sent = append(sent, k)
	}
	if len(sent) == 0 {
		return nil, nil, nil
	}
	r := c.newRequest(mbx)
	ci := r.body.CreateElement("m:CreateItem")
	ci.CreateAttr("MessageDisposition", "SaveOnly")
	c.folderRef(ci.CreateElement("m:SavedItemFolderId"), folderID, mbx)
	items := ci.CreateElement("m:Items")
	const marker = "MIMEMARKER-EXMIGRATE"
	for _, k := range sent {
		messageElement(items, ps[k].Message(), marker)
	}
	var buf strings.Builder
	r.doc.WriteTo(&buf)
	segs := strings.Split(buf.String(), marker)
	if len(segs) != len(sent)+1 {
		return nil, nil, fmt.Errorf("ews: internal error: %d MIME markers for %d items", len(segs)-1, len(sent))
	}
	total := sp.n
	for _, s := range segs {
		total += int64(len(s))
	}
	dst, err := newSpool(total)
	if err != nil {
		return nil, nil, err
	}
	for i, k := range sent {
		io.WriteString(dst, segs[i])
		if _, err := io.Copy(dst, sp.section(parts[k].from, parts[k].to)); err != nil && dst.err == nil {
			dst.err = err
		}
	}
	io.WriteString(dst, segs[len(segs)-1])
	if dst.err != nil {
		dst.cleanup()
		return nil, nil, fmt.Errorf("ews: writing a batch: %w", dst.err)
	}
	if dst.f == nil {
		return &body{data: dst.mem.Bytes(), size: dst.n}, sent, nil
	}
	return &body{file: dst.f, size: dst.n}, sent, nil
}

// spool is a write-once buffer in memory when its expected size is
// small, else in a temp file; its first write error sticks.
type spool struct {
	mem bytes.Buffer
	f   *os.File
	n   int64
	err error
}

func newSpool(expected int64) (*spool, error) {
	s := &spool{}
	if expected <= 2<<20 {
		s.mem.Grow(int(max(expected, 0)) + 4096) // one allocation, not a doubling series
		return s, nil
	}
	f, err := os.CreateTemp("", "exmigrate-ews-*.xml")
	if err != nil {
		return nil, fmt.Errorf("ews: temp file for a batch: %w", err)
	}
	s.f = f
	return s, nil
}

func (s *spool) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	var n int
	if s.f != nil {
		n, s.err = s.f.Write(p)
	} else {
		n, _ = s.mem.Write(p)
	}
	s.n += int64(n)
	return n, s.err
}

// truncate drops what was written after from.
func (s *spool) truncate(from int64) error {
	s.n, s.err = from, nil
	if s.f == nil {
		s.mem.Truncate(int(from))
		return nil
	}
	if err := s.f.Truncate(from); err != nil {
		return fmt.Errorf("ews: truncating a batch's temp file: %w", err)
	}
	if _, err := s.f.Seek(from, io.SeekStart); err != nil {
		return fmt.Errorf("ews: truncating a batch's temp file: %w", err)
	}
	return nil
}

func (s *spool) section(from, to int64) io.Reader {
	if s.f == nil {
		return bytes.NewReader(s.mem.Bytes()[from:to])
	}
	return io.NewSectionReader(s.f, from, to-from)
}

func (s *spool) cleanup() {
	if s.f != nil {
		name := s.f.Name()
		s.f.Close()
		os.Remove(name)
	}
}
