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
	"time"

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
// others are created and stamped). Items Exchange did not process
// because an earlier one stopped the batch (ErrorBatchProcessingStopped),
// or answered busy alone, are sent again (see createRun); one still
// unprocessed after that has a mailbox.Retryable error. When a request
// fails as a whole (a lost answer, throttling the client gave up on, a
// cancelled context), its payloads carry that error, the later ones
// ErrNotAttempted, and CreateBatch returns it too: the engine looks up by
// stamp what it does not know. More than MaxCreateBatch payloads is refused with
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
// whole request is returned, and set on every payload it carried. The
// items Exchange did not process (ErrorBatchProcessingStopped after
// another item's error) or answered busy alone are sent again, from the
// spooled MIME, in a request of their own: after the wait the server asked
// for, at most MaxRetries times; the first item of a request is never
// sent again for being stopped, so every round settles at least one.
func (m *Mailbox) createRun(ctx context.Context, folderID string, ps []mailbox.Payload, out []BatchResult) error {
	c := m.c
	batch, err := c.spoolBatch(ps, out)
	if err != nil {
		for k := range out {
			if out[k].Err == nil {
				out[k].Err = fmt.Errorf("create %s in %s: %w", ps[k].SourceID, m.address, err)
			}
		}
		return err
	}
	defer batch.cleanup()
	pending := batch.read
	for round := 0; len(pending) > 0; round++ {
		b, err := c.batchBody(m.address, folderID, ps, batch, pending)
		if err != nil {
			return m.failRun(ps, out, pending, err)
		}
		var resp opResponse[idOnlyXML]
		err = c.do(ctx, call{op: "CreateItem", anchor: m.address, body: b}, func(rd io.Reader, st int) error {
			if err := decodeResponse(rd, "CreateItem", st, &resp); err != nil {
				return err
			}
			if n := len(resp.RM.Messages); n != len(pending) {
				return &MalformedError{Operation: "CreateItem", Status: st, Reason: fmt.Sprintf("%d answers for %d items", n, len(pending))}
			}
			return nil
		})
		b.cleanup()
		if err != nil {
			return m.failRun(ps, out, pending, err)
		}
		var again []int
		var wait time.Duration
		for i, r := range createdResults(resp.RM.Messages) {
			k := pending[i]
			if w, ok := resendable(r.Err, i, round, c.cfg); ok {
				again = append(again, k)
				wait = max(wait, w)
				continue
			}
			out[k].ID = r.ID
			if r.Err != nil {
				out[k].Err = fmt.Errorf("create %s in %s: %w", ps[k].SourceID, m.address, r.Err)
			}
		}
		if len(again) > 0 && wait > 0 {
			c.pool.pause(wait)
			if err := sleep(ctx, wait); err != nil {
				return m.failRun(ps, out, again, err)
			}
		}
		pending = again
	}
	return nil
}

// resendable says whether the answer to the item at position i of a
// request of round round is sent again, and after how long: an item
// Exchange did not process (not the request's first, whose stop would
// repeat) or answered busy, within MaxRetries rounds.
func resendable(err error, i, round int, cfg Config) (time.Duration, bool) {
	var re *ResponseError
	if round >= cfg.MaxRetries || !errors.As(err, &re) {
		return 0, false
	}
	switch {
	case batchStopped(err):
		return 0, i > 0
	case re.throttling():
		return max(re.BackOff, jitter(cfg.RetryBase)), re.BackOff <= cfg.MaxBackOff
	}
	return 0, false
}

// failRun sets a whole request's failure on the payloads it carried.
func (m *Mailbox) failRun(ps []mailbox.Payload, out []BatchResult, idx []int, err error) error {
	err = fmt.Errorf("create %d items in %s: %w", len(idx), m.address, err)
	for _, k := range idx {
		out[k].Err = err
	}
	return err
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

// spooled is the MIME of a run of payloads, in base64, ready to be sent
// (and sent again) in CreateItem requests.
type spooled struct {
	sp    *spool
	parts [][2]int64 // of each payload, its base64's place in sp
	read  []int      // the payloads whose MIME was read, in order
}

func (s *spooled) cleanup() { s.sp.cleanup() }

// spoolBatch reads each payload's MIME into a spool, in base64, so that a
// failing body costs only its own item (its error is set in out) and the
// items can be sent again; in memory when small, else in a temp file (as
// streamBody does): a batch is never held whole in memory.
func (c *Client) spoolBatch(ps []mailbox.Payload, out []BatchResult) (*spooled, error) {
	var declared int64
	for _, p := range ps {
		declared += p.Size
	}
	sp, err := newSpool(declared * 4 / 3)
	if err != nil {
		return nil, err
	}
	s := &spooled{sp: sp, parts: make([][2]int64, len(ps))}
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
				sp.cleanup()
				return nil, terr
			}
			out[k].Err = fmt.Errorf("ews: reading the MIME of %s: %w", strconv.Quote(p.SourceID), err)
			continue
		}
		s.parts[k] = [2]int64{from, sp.n}
		s.read = append(s.read, k)
	}
	return s, nil
}

// batchBody builds one CreateItem of the spooled payloads idx, in order.
func (c *Client) batchBody(mbx, folderID string, ps []mailbox.Payload, s *spooled, idx []int) (*body, error) {
	r := c.newRequest(mbx)
	ci := r.body.CreateElement("m:CreateItem")
	ci.CreateAttr("MessageDisposition", "SaveOnly")
	c.folderRef(ci.CreateElement("m:SavedItemFolderId"), folderID, mbx)
	items := ci.CreateElement("m:Items")
	const marker = "MIMEMARKER-EXMIGRATE"
	for _, k := range idx {
		messageElement(items, ps[k].Message(), marker)
	}
	var buf strings.Builder
	r.doc.WriteTo(&buf)
	segs := strings.Split(buf.String(), marker)
	if len(segs) != len(idx)+1 {
		return nil, fmt.Errorf("ews: internal error: %d MIME markers for %d items", len(segs)-1, len(idx))
	}
	total := int64(0)
	for _, s := range segs {
		total += int64(len(s))
	}
	for _, k := range idx {
		total += s.parts[k][1] - s.parts[k][0]
	}
	dst, err := newSpool(total)
	if err != nil {
		return nil, err
	}
	for i, k := range idx {
		io.WriteString(dst, segs[i])
		if _, err := io.Copy(dst, s.sp.section(s.parts[k][0], s.parts[k][1])); err != nil && dst.err == nil {
			dst.err = err
		}
	}
	io.WriteString(dst, segs[len(segs)-1])
	if dst.err != nil {
		dst.cleanup()
		return nil, fmt.Errorf("ews: writing a batch: %w", dst.err)
	}
	if dst.f == nil {
		return &body{data: dst.mem.Bytes(), size: dst.n}, nil
	}
	return &body{file: dst.f, size: dst.n}, nil
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
