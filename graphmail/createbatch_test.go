package graphmail_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/graphmail"
	"github.com/exmigrate/exmigrate/graphmail/graphtest"
	"github.com/exmigrate/exmigrate/mailbox"
)

// countingTransport counts the HTTP requests the client sends, by path.
type countingTransport struct {
	next http.RoundTripper
	mu   sync.Mutex
	n    map[string]int
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	if strings.HasSuffix(r.URL.Path, "/$batch") {
		c.n["$batch"]++
	} else {
		c.n["other"]++
	}
	c.mu.Unlock()
	return c.next.RoundTrip(r)
}

func (c *countingTransport) count(what string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[what]
}

func batchLab(t *testing.T, opts ...graphtest.Option) (*lab, *graphtest.MailboxFixture, *countingTransport, *graphmail.Mailbox) {
	l, fx, ct, _, mb := batchClient(t, opts...)
	return l, fx, ct, mb
}

func batchClient(t *testing.T, opts ...graphtest.Option) (*lab, *graphtest.MailboxFixture, *countingTransport, *graphmail.Client, *graphmail.Mailbox) {
	t.Helper()
	l := newLab(t, opts...)
	fx := l.srv.AddMailbox(alice, mailbox.TypeUser)
	ct := &countingTransport{next: l.ep.Client.Transport}
	c := l.client(t, func(cfg *graphmail.Config) {
		cfg.HTTPClient = &http.Client{Transport: ct}
	})
	return l, fx, ct, c, c.Mailbox(alice)
}

func smallPayload(i int) mailbox.Payload {
	raw := mimeMessage(fmt.Sprintf("batched %02d", i), fmt.Sprintf("<b%d@fabrikam.example>", i), time.Date(2025, 3, 1, 9, i, 0, 0, time.UTC))
	it := neutral(fmt.Sprintf("batched %02d", i), i%2 == 0, time.Date(2025, 3, 1, 9, i, 0, 0, time.UTC))
	it.Class = mailbox.ClassMessage
	return mailbox.Payload{Item: it, SourceID: fmt.Sprintf("exm1-batch-%02d", i), Format: mailbox.FormatMIME,
		Body: strings.NewReader(raw), Size: int64(len(raw))}
}

// TestCreateBatchWritesEachOnce: 23 small messages go in two $batch
// requests (20 steps, then 3); a message over the batched size and one
// with malformed MIME are written (or refused) alone. Every result is in
// its payload's order, each written message carries its stamp and read
// state, and the fake counted one request per message, as Graph does.
func TestCreateBatchWritesEachOnce(t *testing.T) {
	l, fx, ct, mb := batchLab(t)
	inbox := fx.FolderID("Inbox")
	var ps []mailbox.Payload
	for i := range 23 {
		ps = append(ps, smallPayload(i))
	}
	big := smallPayload(90)
	bigRaw := "Subject: big\r\nFrom: a@fabrikam.example\r\nContent-Type: text/plain\r\n\r\n" + strings.Repeat("0123456789abcdef\r\n", 40<<10)
	big.Body, big.Size, big.SourceID = strings.NewReader(bigRaw), int64(len(bigRaw)), "exm1-batch-big"
	bad := smallPayload(91)
	bad.Body, bad.SourceID = strings.NewReader("Subject: x\r\nbroken header without colon\r\n\r\nbody"), "exm1-batch-bad"
	ps = append(ps[:10], append([]mailbox.Payload{big, bad}, ps[10:]...)...)
	before := l.srv.Requests()

	res, err := mb.CreateBatch(ctxT(t), inbox, ps)
	if err != nil {
		t.Fatalf("CreateBatch: %v", err)
	}
	if len(res) != len(ps) {
		t.Fatalf("%d results for %d payloads", len(res), len(ps))
	}
	if got := ct.count("$batch"); got != 2 {
		t.Errorf("%d $batch requests for 23 small messages, want 2 (20 steps, then 3)", got)
	}
	byStamp := map[string]graphtest.Message{}
	for _, m := range fx.Messages("Inbox") {
		byStamp[m.ExtendedProperties["String {"+mailbox.SourceIDPropertySet+"} Name "+mailbox.SourceIDPropertyName]] = m
	}
	for i, r := range res {
		p := ps[i]
		if p.SourceID == "exm1-batch-bad" {
			if r.Err == nil || !errors.Is(r.Err, mailbox.ErrItemRejected) || !mailbox.IsPermanent(r.Err) {
				t.Errorf("malformed MIME: %v, want a permanent ErrItemRejected of its own", r.Err)
			}
			continue
		}
		if r.Err != nil || r.ID == "" {
			t.Errorf("payload %d (%s): id %q, err %v", i, p.SourceID, r.ID, r.Err)
			continue
		}
		m, ok := byStamp[p.SourceID]
		if !ok || m.ID != r.ID {
			t.Errorf("payload %d (%s): the target holds %+v under its stamp, want id %s", i, p.SourceID, m.ID, r.ID)
		}
		if m.IsRead != p.Item.IsRead || m.IsDraft {
			t.Errorf("payload %d: read %v draft %v, want read %v and not a draft", i, m.IsRead, m.IsDraft, p.Item.IsRead)
		}
	}
	if n := len(fx.Messages("Inbox")); n != 24 {
		t.Errorf("Inbox holds %d messages, want 24 (23 batched and the big one)", n)
	}
	if got := l.srv.Requests() - before; got != 24 {
		t.Errorf("the fake counted %d requests, want 24: one per message written, batched or not", got)
	}
}

// TestCreateBatchStepThrottled: steps that come back 429 (with their own
// Retry-After) are sent again, alone, after it; nothing is written twice.
func TestCreateBatchStepThrottled(t *testing.T) {
	l, fx, ct, c, mb := batchClient(t)
	inbox := fx.FolderID("Inbox")
	l.srv.Inject(graphtest.Fault{Kind: graphtest.FaultThrottle, Count: 3, Path: "/messages", Method: http.MethodPost, RetryAfter: "1"})
	var ps []mailbox.Payload
	for i := range 8 {
		ps = append(ps, smallPayload(i))
	}
	t0 := time.Now()
	res, err := mb.CreateBatch(ctxT(t), inbox, ps)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Err != nil || r.ID == "" {
			t.Errorf("payload %d: %q %v", i, r.ID, r.Err)
		}
	}
	if n := len(fx.Messages("Inbox")); n != 8 {
		t.Errorf("Inbox holds %d, want 8", n)
	}
	if got := ct.count("$batch"); got != 2 {
		t.Errorf("%d $batch requests, want 2 (the 3 throttled steps sent again together)", got)
	}
	if took := time.Since(t0); took < 900*time.Millisecond {
		t.Errorf("the throttled steps were sent again after %v, before their Retry-After of 1 s", took)
	}
	if st := c.Stats(alice); st.Throttled != 3 {
		t.Errorf("stats count %d throttled answers, want 3", st.Throttled)
	}
}

// TestCreateBatchStepRefused: a step Graph refuses (400) fails alone and
// for good; the others are written.
func TestCreateBatchStepRefused(t *testing.T) {
	l, fx, _, mb := batchLab(t)
	inbox := fx.FolderID("Inbox")
	l.srv.Inject(graphtest.Fault{Kind: graphtest.FaultAnswer, Count: 1, Path: "/messages", Method: http.MethodPost, Status: http.StatusBadRequest,
		Body: `{"error":{"code":"ErrorInvalidRecipients","message":"At least one recipient is not valid."}}`})
	var ps []mailbox.Payload
	for i := range 5 {
		ps = append(ps, smallPayload(i))
	}
	res, err := mb.CreateBatch(ctxT(t), inbox, ps)
	if err != nil {
		t.Fatal(err)
	}
	refused := 0
	for _, r := range res {
		if r.Err != nil {
			refused++
			if !mailbox.IsPermanent(r.Err) || !errors.Is(r.Err, mailbox.ErrItemRejected) || !strings.Contains(r.Err.Error(), "ErrorInvalidRecipients") {
				t.Errorf("refused step: %v, want a permanent ErrItemRejected naming Graph's code", r.Err)
			}
		}
	}
	if refused != 1 || len(fx.Messages("Inbox")) != 4 {
		t.Errorf("%d refused, %d written; want 1 and 4", refused, len(fx.Messages("Inbox")))
	}
}

// TestCreateBatchAnswerLost: the $batch is carried out but its answer is
// lost: every payload carries the error, which is not permanent, and each
// message is found by its stamp, as the engine looks before writing again.
func TestCreateBatchAnswerLost(t *testing.T) {
	l, fx, _, mb := batchLab(t)
	inbox := fx.FolderID("Inbox")
	l.srv.Inject(graphtest.Fault{Kind: graphtest.FaultDropAfter, Count: 1, Path: "/$batch"})
	var ps []mailbox.Payload
	for i := range 6 {
		ps = append(ps, smallPayload(i))
	}
	res, err := mb.CreateBatch(ctxT(t), inbox, ps)
	if err == nil || mailbox.IsPermanent(err) {
		t.Fatalf("CreateBatch after a lost answer: %v, want a retryable error", err)
	}
	for i, r := range res {
		if r.Err == nil || r.ID != "" {
			t.Errorf("payload %d: %q %v, want the request's error", i, r.ID, r.Err)
		}
		id, found, ferr := mb.FindBySourceID(ctxT(t), inbox, ps[i].SourceID)
		if ferr != nil || !found || id == "" {
			t.Errorf("payload %d not found by its stamp after the lost answer: %v %v", i, found, ferr)
		}
	}
	if n := len(fx.Messages("Inbox")); n != 6 {
		t.Errorf("Inbox holds %d, want 6", n)
	}
}

// TestCreateBatchMalformedAnswer: an answer that is not a $batch answer (a
// proxy's page) fails the request as a whole with what came back.
func TestCreateBatchMalformedAnswer(t *testing.T) {
	l, fx, _, mb := batchLab(t)
	l.srv.Inject(graphtest.Fault{Kind: graphtest.FaultAnswer, Count: 1, Path: "/$batch", Status: http.StatusOK, ContentType: "text/html", Body: "<html>proxy says hello</html>"})
	res, err := mb.CreateBatch(ctxT(t), fx.FolderID("Inbox"), []mailbox.Payload{smallPayload(1), smallPayload(2)})
	var me *graphmail.MalformedError
	if !errors.As(err, &me) || !strings.Contains(err.Error(), "proxy says hello") {
		t.Fatalf("CreateBatch with an HTML answer: %v, want a *MalformedError quoting it", err)
	}
	for i, r := range res {
		if r.Err == nil {
			t.Errorf("payload %d has no error", i)
		}
	}
}
