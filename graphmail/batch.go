package graphmail

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/exmigrate/exmigrate/graphmail/internal/wire"
	"github.com/exmigrate/exmigrate/internal/retryafter"
	"github.com/exmigrate/exmigrate/mailbox"
)

type batchWeightKey struct{}

// withBatchWeight tells the scheduler that a request is a $batch of n steps:
// Graph counts every step against the mailbox's budget and runs up to four
// of them at once against the mailbox.
func withBatchWeight(ctx context.Context, n int) context.Context {
	return context.WithValue(ctx, batchWeightKey{}, n)
}

func batchWeight(ctx context.Context) int {
	if n, ok := ctx.Value(batchWeightKey{}).(int); ok && n > 1 {
		return n
	}
	return 1
}

// MaxBatchSteps is Graph's limit of requests in one JSON $batch.
const MaxBatchSteps = 20

// maxBatchAnswer bounds a $batch answer read: created messages come back
// whole.
const maxBatchAnswer = 64 << 20

// runBatch sends steps (at most MaxBatchSteps, all for this mailbox) as one
// JSON $batch, and sends again the steps answered 429 or 503 (refused, not
// carried out; the SDKs do not retry them) after the longest Retry-After
// among them, while retries remain and no step asks for a longer wait than
// the scheduler makes. It returns each step's last answer by id (a step the
// answer left out is missing) and the attempts made. Its error is the
// request's as a whole: no answer, or one that is not a $batch answer.
func (m *Mailbox) runBatch(ctx context.Context, op string, steps []wire.BatchStep) (map[string]wire.BatchAnswer, int, error) {
	if len(steps) > MaxBatchSteps {
		return nil, 0, fmt.Errorf("graph: %s: a $batch holds at most %d requests, not %d", op, MaxBatchSteps, len(steps))
	}
	ctx = m.ctx(ctx)
	b := m.c.sched.box(m.address)
	lim := m.c.sched.limits
	out := make(map[string]wire.BatchAnswer, len(steps))
	pending := steps
	for attempt := 0; ; attempt++ {
		size := 64
		for _, s := range pending {
			size += len(s.Body) + len(s.URL) + 256
		}
		req := wire.AppendBatch(make([]byte, 0, size), pending)
		answers, err := m.postBatch(withBatchWeight(ctx, len(pending)), op, req)
		if err != nil {
			return out, attempt + 1, err
		}
		byID := make(map[string]wire.BatchAnswer, len(answers))
		for _, a := range answers {
			byID[a.ID] = a
		}
		var retry []wire.BatchStep
		var wait time.Duration
		for _, s := range pending {
			a, ok := byID[s.ID]
			if !ok {
				delete(out, s.ID)
				continue
			}
			out[s.ID] = a
			if a.Status != http.StatusTooManyRequests && a.Status != http.StatusServiceUnavailable {
				continue
			}
			if a.Status == http.StatusTooManyRequests {
				b.stats.throttled.Add(1)
			}
			d, ok := retryafter.Parse(a.Header("Retry-After"), time.Now())
			if attempt >= lim.MaxRetries || ok && d > lim.MaxBackoff {
				continue // the answer stands: the caller turns it into an error
			}
			if !ok {
				d = m.c.sched.backoff(attempt)
			}
			wait = max(wait, d)
			retry = append(retry, s)
		}
		if len(retry) == 0 {
			return out, attempt + 1, nil
		}
		m.c.log.Debug("graph $batch steps refused, sending them again", "mailbox", m.address, "steps", len(retry), "wait", wait)
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
		// What was asked may have been done: retryable (the engine looks
		// a create's stamp up first).
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

// stepError is a step's error answer as an *Error, final: a refusal whose
// retries are spent is ErrThrottled, one that asks for a longer wait than
// the scheduler makes is retryable after it.
func (m *Mailbox) stepError(op string, a wire.BatchAnswer, attempts int) error {
	e := &Error{Op: op, Status: a.Status}
	var env struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(a.Body, &env) == nil && (env.Error.Code != "" || env.Error.Message != "") {
		e.Code, e.Message = env.Error.Code, env.Error.Message
	} else if len(a.Body) > 0 {
		e.Message = "the step's answer is not Graph's JSON: " + snippet(a.Body)
	}
	e.kind = classify(e.Status, e.Code)
	if a.Status == http.StatusTooManyRequests || a.Status == http.StatusServiceUnavailable {
		if d, ok := retryafter.Parse(a.Header("Retry-After"), time.Now()); ok && d > m.c.sched.limits.MaxBackoff {
			e.kind = nil
			return mailbox.Retryable(e, d)
		}
		e.kind, e.retries = mailbox.ErrThrottled, attempts-1
		return e
	}
	return e.verdict()
}
