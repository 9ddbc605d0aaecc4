package graphmail

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"github.com/exmigrate/exmigrate/graphmail/internal/wire"
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
	bs := make([]wire.BatchStep, len(steps))
	for j, s := range steps {
		bs[j] = wire.BatchStep{ID: strconv.Itoa(s.i), Method: http.MethodPost, URL: url, Headers: headers, Body: s.body}
	}
	op := fmt.Sprintf("create %d messages in folder %s of %s", len(steps), folderID, m.address)
	answers, attempts, err := m.runBatch(ctx, op, bs)
	if err != nil {
		for _, s := range steps {
			out[s.i].Err = err
		}
		return err
	}
	for _, s := range steps {
		a, ok := answers[strconv.Itoa(s.i)]
		switch {
		case !ok:
			// Its outcome is unknown: not permanent, so the engine looks
			// for the stamp before writing it again.
			out[s.i].Err = fmt.Errorf("graph: %s: the $batch answer has no response for step %d", op, s.i)
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
		default:
			out[s.i].Err = createRefused(m.stepError(op, a, attempts))
		}
	}
	return nil
}
