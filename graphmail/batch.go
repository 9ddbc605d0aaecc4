package graphmail

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	core "github.com/microsoftgraph/msgraph-sdk-go-core"

	"github.com/exmigrate/exmigrate/internal/retryafter"
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

type batchResult struct {
	status        int
	body          map[string]any
	code, message string
}

// sendBatch sends a JSON $batch for one mailbox and retries the steps that
// came back 429, 503 or 504 on their own (the SDK does not), after the
// longest Retry-After among them. It returns every step's final answer.
func (c *Client) sendBatch(ctx context.Context, address string, batch core.BatchRequest) (map[string]batchResult, error) {
	if n := len(batch.GetRequests()); n > MaxBatchSteps {
		return nil, fmt.Errorf("a $batch holds at most %d requests, not %d", MaxBatchSteps, n)
	}
	ctx = withMailbox(ctx, address)
	out := map[string]batchResult{}
	b := c.sched.box(strings.ToLower(address)) // the scheduler keys mailboxes lowercased (withMailbox)
	for attempt := 0; ; attempt++ {
		steps := batch.GetRequests()
		resp, err := batch.Send(withBatchWeight(ctx, len(steps)), c.adapter)
		if err != nil {
			return nil, err
		}
		var retry []core.BatchItem
		var wait time.Duration
		byID := map[string]core.BatchItem{}
		for _, s := range steps {
			byID[deref(s.GetId())] = s
		}
		for _, r := range resp.GetResponses() {
			id := deref(r.GetId())
			st := int(deref(r.GetStatus()))
			res := batchResult{status: st, body: map[string]any(r.GetBody())}
			if e, ok := res.body["error"].(map[string]any); ok {
				res.code, res.message = anyString(e["code"]), anyString(e["message"])
			}
			out[id] = res
			if (st == http.StatusTooManyRequests || st == http.StatusServiceUnavailable || st == http.StatusGatewayTimeout) && attempt < c.sched.limits.MaxRetries {
				d, ok := retryafter.Parse(r.GetHeaders()["Retry-After"], time.Now())
				if st == http.StatusTooManyRequests {
					b.stats.throttled.Add(1)
				}
				if ok && d > c.sched.limits.MaxBackoff {
					// Longer than one wait: not cut short (as the
					// scheduler); the step's answer stands.
					continue
				}
				if !ok {
					d = c.sched.backoff(attempt)
				}
				wait = max(wait, d)
				if s, ok := byID[id]; ok {
					retry = append(retry, s)
				}
			}
		}
		if len(retry) == 0 {
			return out, nil
		}
		b.pause(wait)
		b.stats.retries.Add(int64(len(retry)))
		batch.SetRequests(retry)
	}
}

// anyString reads a string from a batch body, where the SDK's JSON decoder
// leaves *string values.
func anyString(v any) string {
	switch s := v.(type) {
	case string:
		return s
	case *string:
		return deref(s)
	}
	return ""
}
