package graphmail

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/exmigrate/exmigrate/graphmail/internal/wire"
	"github.com/exmigrate/exmigrate/internal/retryafter"
	"github.com/exmigrate/exmigrate/mailbox"
)

// Small messages are written up to MaxBatchSteps in one JSON $batch: Graph
// counts each step against the mailbox's limits as the request it stands
// for (so the budget is spent as before), but the client sends, encrypts,
// paces and reads one HTTP request instead of twenty, which was most of
// the CPU a copied item cost. A batch without dependsOn runs four steps at
// a time against the mailbox, so the scheduler gives it all the mailbox's
// slots (withBatchWeight). Steps answered 429 or 503 were not carried out
// and are sent again, after the longest Retry-After among them.

const (
	// maxBatchedItem is the largest message (by the source's size) written
	// in a batch; a larger one is written alone, its attachments streamed.
	maxBatchedItem = 512 << 10
	// maxBatchRequest bounds one $batch request's body: Graph refuses a
	// request over 4 MB.
	maxBatchRequest = wire.MaxRequestBytes
	// maxBatchAnswer bounds the answer read: every created message comes
	// back whole.
	maxBatchAnswer = 64 << 20
)

// BatchLimits tells the copy engine what to group: at most MaxBatchSteps
// messages of at most maxBatchedItem bytes.
func (m *Mailbox) BatchLimits() (items int, itemBytes int64) { return MaxBatchSteps, maxBatchedItem }

// createStep is one message of a CreateBatch made ready to send.
type createStep struct {
	i    int    // its payload's index
	body []byte // the create request's JSON
}

// CreateBatch writes small MIME messages into one folder, stamped, through
// JSON $batch requests; any other payload is written alone, as CreateItem
// would. Results are in the payloads' order. When a request fails as a whole
// (no answer, or one that cannot be read) its payloads carry its error, as
// do the payloads not sent after it, and CreateBatch returns it: the engine
// looks each up by its stamp before writing it again.
func (m *Mailbox) CreateBatch(ctx context.Context, folderID string, ps []mailbox.Payload) ([]mailbox.BatchResult, error) {
	ctx = m.ctx(ctx)
	out := make([]mailbox.BatchResult, len(ps))
	var steps []createStep
	for i, p := range ps {
		if !m.batchable(folderID, p) {
			id, err := m.CreateItem(ctx, folderID, p)
			out[i] = mailbox.BatchResult{ID: id, Err: err}
			continue
		}
		msg := p.Message()
		parsed, err := m.parseMessage(msg)
		if err != nil {
			out[i].Err = err
			continue
		}
		body, later, err := wire.PlanCreate(wire.BuildCreate(msg, parsed, sourceIDProp), parsed.Parts)
		switch {
		case err != nil:
			out[i].Err = fmt.Errorf("graph: create message %s in %s: %w", msg.SourceID, m.address, err)
		case len(later) > 0:
			// Attachments that must follow the create: the message takes
			// CreateMessage's path.
			out[i].ID, out[i].Err = m.createParsed(ctx, folderID, msg, parsed)
		default:
			steps = append(steps, createStep{i: i, body: body})
		}
		parsed.Close()
	}
	for len(steps) > 0 {
		n, size := 0, 64
		for n < len(steps) && n < MaxBatchSteps && (n == 0 || size+len(steps[n].body)+512 <= maxBatchRequest) {
			size += len(steps[n].body) + 512
			n++
		}
		if err := m.sendCreates(ctx, folderID, steps[:n], out); err != nil {
			for _, s := range steps[n:] {
				out[s.i].Err = fmt.Errorf("graph: create message %s in %s: not sent, an earlier $batch of the group failed: %w", ps[s.i].SourceID, m.address, err)
			}
			return out, err
		}
		steps = steps[n:]
	}
	return out, nil
}

// batchable says whether p goes in a $batch: a small MIME message of known
// size, outside the archive (which takes full-fidelity writes only).
func (m *Mailbox) batchable(folderID string, p mailbox.Payload) bool {
	return p.Format == mailbox.FormatMIME && p.Item.Kind() == mailbox.KindMail && p.Body != nil &&
		p.Size >= 0 && p.Size <= maxBatchedItem && !m.isArchiveFolder(folderID)
}

// sendCreates sends one $batch of creates and sets each step's result in
// out. Its error is the request's as a whole, also set on every step.
func (m *Mailbox) sendCreates(ctx context.Context, folderID string, steps []createStep, out []mailbox.BatchResult) error {
	url := userPath(m.address) + "/mailFolders/" + urlPathEscape(folderID) + "/messages"
	// Headers of the $batch request do not reach its steps: each asks for
	// immutable ids itself.
	headers := map[string]string{"Content-Type": "application/json", "Prefer": `IdType="ImmutableId"`}
	b := m.c.sched.box(strings.ToLower(m.address))
	pending := steps
	for attempt := 0; ; attempt++ {
		op := fmt.Sprintf("create %d messages in folder %s of %s", len(pending), folderID, m.address)
		bs := make([]wire.BatchStep, len(pending))
		size := 64
		for j, s := range pending {
			bs[j] = wire.BatchStep{ID: strconv.Itoa(s.i), Method: http.MethodPost, URL: url, Headers: headers, Body: s.body}
			size += len(s.body) + 256
		}
		req := wire.AppendBatch(make([]byte, 0, size), bs)
		answers, err := m.postBatch(withBatchWeight(ctx, len(pending)), op, req)
		if err != nil {
			for _, s := range pending {
				out[s.i].Err = err
			}
			return err
		}
		byID := make(map[string]wire.BatchAnswer, len(answers))
		for _, a := range answers {
			byID[a.ID] = a
		}
		var retry []createStep
		var wait time.Duration
		for _, s := range pending {
			a, ok := byID[strconv.Itoa(s.i)]
			if !ok {
				// Its outcome is unknown: not permanent, so the engine
				// looks for the stamp before writing it again.
				out[s.i].Err = fmt.Errorf("graph: %s: the $batch answer has no response for step %d", op, s.i)
				continue
			}
			switch {
			case a.Status >= 200 && a.Status < 300:
				id, err := wire.BodyID(a.Body)
				switch {
				case err != nil:
					out[s.i].Err = wrapErr(op, &MalformedError{ContentType: a.Header("Content-Type"), Body: snippet(a.Body), Err: err})
				case id == "":
					out[s.i].Err = mailbox.Permanent(fmt.Errorf("graph: %s: the answer to step %d has no message id", op, s.i))
				default:
					out[s.i] = mailbox.BatchResult{ID: id}
				}
			case a.Status == http.StatusTooManyRequests || a.Status == http.StatusServiceUnavailable:
				// Refused, not carried out: sent again, unless the retries
				// are spent or Graph asks for a longer wait than one.
				if a.Status == http.StatusTooManyRequests {
					b.stats.throttled.Add(1)
				}
				d, ok := retryafter.Parse(a.Header("Retry-After"), time.Now())
				switch {
				case attempt >= m.c.sched.limits.MaxRetries:
					e := stepError(op, a)
					e.kind, e.retries = mailbox.ErrThrottled, attempt
					out[s.i].Err = e
				case ok && d > m.c.sched.limits.MaxBackoff:
					e := stepError(op, a)
					e.kind = nil
					out[s.i].Err = mailbox.Retryable(e, d)
				default:
					if !ok {
						d = m.c.sched.backoff(attempt)
					}
					wait = max(wait, d)
					retry = append(retry, s)
				}
			default:
				e := stepError(op, a)
				if e.Status == http.StatusBadRequest && e.kind == nil {
					e.kind = mailbox.ErrItemRejected // Graph refused this item's content for good
				}
				out[s.i].Err = e.verdict()
			}
		}
		if len(retry) == 0 {
			return nil
		}
		m.c.log.Debug("graph $batch steps throttled, sending them again", "mailbox", m.address, "steps", len(retry), "wait", wait)
		b.pause(wait) // the scheduler holds the next request until then
		b.stats.retries.Add(int64(len(retry)))
		pending = retry
	}
}

// postBatch sends a $batch and reads its answers.
func (m *Mailbox) postBatch(ctx context.Context, op string, req []byte) ([]wire.BatchAnswer, error) {
	resp, err := m.c.do(ctx, op, http.MethodPost, m.c.graphURL("/$batch", nil), bytes.NewReader(req), int64(len(req)),
		http.Header{"Content-Type": {"application/json"}})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBatchAnswer+1))
	if err != nil {
		// The messages may exist: retryable (the engine looks the stamps
		// up first).
		return nil, wrapErr(op, err)
	}
	if len(data) > maxBatchAnswer {
		return nil, wrapErr(op, &MalformedError{ContentType: resp.Header.Get("Content-Type"), Body: snippet(data), Err: fmt.Errorf("the answer is over %d MB", maxBatchAnswer>>20)})
	}
	answers, err := wire.ParseBatchAnswers(data)
	if err != nil {
		return nil, wrapErr(op, &MalformedError{ContentType: resp.Header.Get("Content-Type"), Body: snippet(data), Err: err})
	}
	return answers, nil
}

// stepError is a step's error answer as an *Error.
func stepError(op string, a wire.BatchAnswer) *Error {
	var env struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	e := &Error{Op: op, Status: a.Status}
	if json.Unmarshal(a.Body, &env) == nil && (env.Error.Code != "" || env.Error.Message != "") {
		e.Code, e.Message = env.Error.Code, env.Error.Message
	} else if len(a.Body) > 0 {
		e.Message = "the step's answer is not Graph's JSON: " + snippet(a.Body)
	}
	e.kind = classify(e.Status, e.Code)
	return e
}

var _ mailbox.BatchWriter = (*Mailbox)(nil)
