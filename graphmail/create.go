package graphmail

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/exmigrate/exmigrate/graphmail/internal/wire"
	"github.com/exmigrate/exmigrate/internal/netcheck"
	"github.com/exmigrate/exmigrate/mailbox"
)

// CreateMessage writes msg into a folder as a received (not draft) message
// with its read state and dates, stamped with its source identity. The MIME
// is parsed as a stream; attachments under 3 MB go inline while the request
// stays under 4 MB (or in an attachment POST each), larger ones through an
// upload session. An item over Limits.MaxItemBytes is refused with
// *mailbox.ItemTooLargeError before anything is sent. If adding an
// attachment fails, the half-written message is deleted so that
// FindBySourceID never finds an incomplete copy.
func (m *Mailbox) CreateMessage(ctx context.Context, folderID string, msg mailbox.Message) (string, error) {
	ctx = m.ctx(ctx)
	p, err := m.parseMessage(msg)
	if err != nil {
		return "", err
	}
	defer p.Close()
	return m.createParsed(ctx, folderID, msg, p)
}

// parseMessage reads msg's MIME, refusing an item over the size limit
// before it reads anything. The caller closes the result.
func (m *Mailbox) parseMessage(msg mailbox.Message) (*wire.Parsed, error) {
	limit := m.c.sched.limits.MaxItemBytes
	if msg.Size > limit {
		return nil, &mailbox.ItemTooLargeError{Size: msg.Size, Limit: limit}
	}
	if msg.MIME == nil {
		return nil, fmt.Errorf("graph: create message in %s: %w: the message has no MIME content", m.address, mailbox.ErrItemRejected)
	}
	p, err := wire.ParseMIMESized(msg.MIME, limit, msg.Size, "")
	if err != nil {
		return nil, fmt.Errorf("graph: create message %s in %s: %w", msg.SourceID, m.address, err)
	}
	if p.DroppedHeaders > 0 {
		m.c.log.Debug("graph keeps at most 5 x- headers", "mailbox", m.address, "source", msg.SourceID, "dropped", p.DroppedHeaders)
	}
	return p, nil
}

// createParsed is CreateMessage once the MIME is read.
func (m *Mailbox) createParsed(ctx context.Context, folderID string, msg mailbox.Message, p *wire.Parsed) (string, error) {
	body, later, err := wire.PlanCreate(wire.BuildCreate(msg, p, sourceIDProp), p.Parts)
	src := stampOf(msg)
	if err == nil && len(later) > 0 && src != "" {
		// Attachments follow the create: stamp it as pending, so that a
		// crash half-way leaves nothing FindBySourceID takes for a copy.
		pending := msg
		pending.SourceID, pending.Item.SourceID = src+pendingSuffix, ""
		body, later, err = wire.PlanCreate(wire.BuildCreate(pending, p, sourceIDProp), p.Parts)
	}
	if err != nil {
		return "", fmt.Errorf("graph: create message %s in %s: %w", msg.SourceID, m.address, err)
	}
	if len(later) > 0 && src != "" {
		// A crash between an earlier create and its attachments left a
		// message stamped pending: remove it before writing the item again,
		// or the target would keep an incomplete second copy.
		if err := m.removeIncomplete(ctx, folderID, src); err != nil {
			return "", err
		}
	}
	op := fmt.Sprintf("create message %s in folder %s of %s", msg.SourceID, folderID, m.address)
	u := m.c.graphURL(userPath(m.address)+"/mailFolders/"+urlPathEscape(folderID)+"/messages", nil)
	resp, err := m.c.do(ctx, op, http.MethodPost, u, bytes.NewReader(body), int64(len(body)), http.Header{"Content-Type": {"application/json"}})
	if err != nil {
		return "", createRefused(err)
	}
	var created struct{ ID string }
	created.ID, err = decodeID(resp, 8<<20)
	resp.Body.Close()
	if err != nil {
		// The message may exist: a read error is retryable (the engine
		// looks the stamp up first), an answer that is not JSON permanent.
		return "", wrapErr(op, err)
	}
	if created.ID == "" {
		return "", mailbox.Permanent(fmt.Errorf("graph: %s: the answer has no message id", op))
	}
	for _, a := range later {
		if err := m.addAttachment(ctx, created.ID, a); err != nil {
			m.abandon(ctx, created.ID, src, err)
			return "", err
		}
	}
	if len(later) > 0 && src != "" {
		stamp, _ := json.Marshal(map[string]any{"singleValueExtendedProperties": []map[string]string{{"id": sourceIDProp, "value": src}}})
		u := m.c.graphURL(userPath(m.address)+"/messages/"+urlPathEscape(created.ID), nil)
		resp, err := m.c.do(ctx, op+": stamp", http.MethodPatch, u, bytes.NewReader(stamp), int64(len(stamp)), http.Header{"Content-Type": {"application/json"}})
		if err != nil {
			m.abandon(ctx, created.ID, src, err)
			return "", err
		}
		resp.Body.Close()
	}
	return created.ID, nil
}

// createRefused marks a create's 400 as the item's own refusal: Graph
// refused this item's content for good.
func createRefused(err error) error {
	var ge *Error
	if errors.As(err, &ge) && ge.Status == http.StatusBadRequest && ge.kind == nil {
		ge.kind = mailbox.ErrItemRejected
	}
	return err
}

// pendingSuffix marks the stamp of a message whose attachments are still
// being added. FindBySourceID compares with eq, so it does not match; an
// orphan left by a crash can be found with startswith and removed.
const pendingSuffix = "#pending"

// removeIncomplete deletes the messages in a folder that carry the pending
// stamp of src. There is at most one per crash, so the loop is short.
func (m *Mailbox) removeIncomplete(ctx context.Context, folderID, src string) error {
	for range 16 {
		id, found, err := m.FindBySourceID(ctx, folderID, src+pendingSuffix)
		if err != nil || !found {
			return err
		}
		u := m.c.graphURL(userPath(m.address)+"/messages/"+urlPathEscape(id), nil)
		mailbox.ReportSideWrite(ctx, mailbox.SideWrite{Action: mailbox.SideWriteDeleteIncomplete, ItemID: id, SourceID: src, Started: true})
		resp, err := m.c.do(ctx, "delete incomplete message "+id, http.MethodDelete, u, nil, -1, nil)
		if err != nil && !errors.Is(err, mailbox.ErrNotFound) {
			err = fmt.Errorf("graph: remove the incomplete copy %s of %s in %s: %w", id, src, m.address, err)
			mailbox.ReportSideWrite(ctx, mailbox.SideWrite{Action: mailbox.SideWriteDeleteIncomplete, ItemID: id, SourceID: src, Err: err})
			return err
		}
		if err == nil {
			mailbox.ReportSideWrite(ctx, mailbox.SideWrite{Action: mailbox.SideWriteDeleteIncomplete, ItemID: id, SourceID: src})
		}
		if resp != nil {
			resp.Body.Close()
		}
		m.c.log.Info("removed an incomplete copy left by an interrupted run", "mailbox", m.address, "id", id, "source", src)
	}
	return fmt.Errorf("graph: more than 16 incomplete copies of %s in %s; delete the messages stamped %s by hand", src, m.address, src+pendingSuffix)
}

func stampOf(msg mailbox.Message) string {
	if msg.SourceID != "" {
		return msg.SourceID
	}
	return msg.Item.SourceID
}

// abandon deals with the message a write left half-done because of err.
// When Graph is unreachable (the scheduler's retries are spent), a removal
// would only spend as long again before the mailbox fails: the message
// keeps its pending stamp, which hides it from FindBySourceID and Stamps,
// and the next write of the item removes it first (removeIncomplete).
// Otherwise it is removed now.
func (m *Mailbox) abandon(ctx context.Context, id, src string, err error) {
	if errors.Is(err, mailbox.ErrUnavailable) || ctx.Err() != nil && src != "" {
		m.c.log.Warn("left an incomplete copy for the next run to remove", "mailbox", m.address, "id", id, "source", src, "err", err)
		return
	}
	m.deleteQuietly(ctx, id, src)
}

// deleteQuietly removes the message a failed write created half-way, and
// reports the removal (or its failure) as a side write of the call.
func (m *Mailbox) deleteQuietly(ctx context.Context, id, src string) {
	// The caller's context may be what failed; the clean-up gets its own.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	u := m.c.graphURL(userPath(m.address)+"/messages/"+urlPathEscape(id), nil)
	mailbox.ReportSideWrite(ctx, mailbox.SideWrite{Action: mailbox.SideWriteDeleteIncomplete, ItemID: id, SourceID: src, Started: true})
	resp, err := m.c.do(cctx, "delete incomplete message "+id, http.MethodDelete, u, nil, -1, nil)
	if err == nil {
		resp.Body.Close()
	} else {
		m.c.log.Warn("could not delete an incomplete message; delete it by hand", "mailbox", m.address, "id", id, "err", err)
	}
	mailbox.ReportSideWrite(ctx, mailbox.SideWrite{Action: mailbox.SideWriteDeleteIncomplete, ItemID: id, SourceID: src, Err: err})
}

func (m *Mailbox) addAttachment(ctx context.Context, msgID string, a *wire.Part) error {
	base := userPath(m.address) + "/messages/" + urlPathEscape(msgID) + "/attachments"
	op := fmt.Sprintf("attach %q (%d bytes) to %s in %s", a.Name, a.Size, msgID, m.address)
	if a.File == nil {
		body, err := json.Marshal(wire.AttachmentJSON(a))
		if err != nil {
			return err
		}
		resp, err := m.c.do(ctx, op, http.MethodPost, m.c.graphURL(base, nil), bytes.NewReader(body), int64(len(body)), http.Header{"Content-Type": {"application/json"}})
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	}
	return m.uploadAttachment(ctx, base, op, a)
}

// uploadAttachment sends a large attachment through an upload session: the
// ranges in order, each under 4 MB, to the pre-authenticated URL with no
// Authorization header.
func (m *Mailbox) uploadAttachment(ctx context.Context, base, op string, a *wire.Part) error {
	var sess struct {
		AttachmentItem struct {
			AttachmentType string `json:"attachmentType"`
			Name           string `json:"name"`
			Size           int64  `json:"size"`
			ContentType    string `json:"contentType,omitempty"`
			IsInline       bool   `json:"isInline"`
			ContentID      string `json:"contentId,omitempty"`
		} `json:"AttachmentItem"`
	}
	sess.AttachmentItem.AttachmentType, sess.AttachmentItem.Name, sess.AttachmentItem.Size = "file", a.Name, a.Size
	sess.AttachmentItem.ContentType, sess.AttachmentItem.IsInline, sess.AttachmentItem.ContentID = a.ContentType, a.Inline, a.ContentID
	body, _ := json.Marshal(sess)
	resp, err := m.c.do(ctx, op+": create upload session", http.MethodPost, m.c.graphURL(base+"/createUploadSession", nil), bytes.NewReader(body), int64(len(body)), http.Header{"Content-Type": {"application/json"}})
	if err != nil {
		return err
	}
	var us struct {
		UploadURL string `json:"uploadUrl"`
	}
	err = decodeAnswer(resp, 1<<20, &us)
	resp.Body.Close()
	if err != nil {
		return wrapErr(op+": create upload session", err)
	}
	if us.UploadURL == "" {
		return mailbox.Permanent(fmt.Errorf("graph: %s: the upload session has no uploadUrl", op))
	}
	// The upload URL is pre-authenticated (?authtoken=…): the errors below
	// name it redacted, never whole.
	pu := newPreauthURL(us.UploadURL)
	uu, err := url.Parse(us.UploadURL)
	if err != nil || (uu.Scheme != "https" && !(uu.Scheme == "http" && netcheck.IsLoopback(uu.Hostname()))) {
		return fmt.Errorf("graph: %s: refusing upload URL %s that is not https", op, pu)
	}
	for off := int64(0); off < a.Size; {
		n := min(wire.UploadChunk, a.Size-off)
		chunkOp := fmt.Sprintf("%s: upload bytes %d-%d to %s", op, off, off+n-1, pu)
		sr := io.NewSectionReader(a.File, off, n)
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, us.UploadURL, sr)
		if err != nil {
			return fmt.Errorf("graph: %s: %w", chunkOp, pu.redactErr(err))
		}
		req.ContentLength = n
		start := off
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(io.NewSectionReader(a.File, start, n)), nil }
		req.Header.Set("Content-Type", "application/octet-stream")
		req.Header.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", off, off+n-1, a.Size))
		resp, err := m.c.doPreauth(pu, chunkOp, req, http.StatusRequestedRangeNotSatisfiable)
		if err != nil {
			return err
		}
		if resp.StatusCode == http.StatusRequestedRangeNotSatisfiable {
			// A range whose answer was lost arrived after all (the retry
			// of it is refused): go on from where the server is.
			next, ok := nextExpected(resp.Body)
			resp.Body.Close()
			if !ok || next <= off || next > a.Size {
				return fmt.Errorf("graph: %s: range refused and no usable nextExpectedRanges", chunkOp)
			}
			off = next
			continue
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		off += n
	}
	return nil
}

// nextExpected reads the start of the first of an upload session's
// nextExpectedRanges ("1234-").
func nextExpected(r io.Reader) (int64, bool) {
	var body struct {
		NextExpectedRanges []string `json:"nextExpectedRanges"`
	}
	if json.NewDecoder(io.LimitReader(r, 64<<10)).Decode(&body) != nil || len(body.NextExpectedRanges) == 0 {
		return 0, false
	}
	startStr, _, _ := strings.Cut(body.NextExpectedRanges[0], "-")
	n, err := strconv.ParseInt(startStr, 10, 64)
	return n, err == nil
}

// urlPathEscape escapes an id for a URL path segment. Graph ids may hold
// '/', '+' and '=', which must not split the path.
func urlPathEscape(id string) string {
	return strings.ReplaceAll(url.PathEscape(id), "+", "%2B")
}
