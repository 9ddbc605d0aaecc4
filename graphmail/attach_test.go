package graphmail_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/graphmail"
	"github.com/exmigrate/exmigrate/graphmail/graphtest"
	"github.com/exmigrate/exmigrate/mailbox"
)

// attachmentMIME streams a message with one base64 attachment of size
// pseudo-random bytes (seeded), without ever holding it.
func attachmentMIME(name string, size int64, seed uint64) io.Reader {
	head := mimeMessage("with "+name, "<att-"+name+"@x.example>", time.Now(), "PLACEHOLDER")
	head = head[:strings.Index(head, "--BOUNDARY\r\nPLACEHOLDER")]
	data := io.LimitReader(rand.NewChaCha8([32]byte{byte(seed)}), size)
	pr, pw := io.Pipe()
	go func() {
		fmt.Fprintf(pw, "--BOUNDARY\r\nContent-Type: application/pdf; name=\"%s\"\r\nContent-Disposition: attachment; filename=\"%s\"\r\nContent-Transfer-Encoding: base64\r\n\r\n", name, name)
		bw := bufio.NewWriterSize(pw, 64<<10)
		enc := base64.NewEncoder(base64.StdEncoding, &lineWriter{w: bw})
		_, _ = io.Copy(enc, data)
		enc.Close()
		bw.WriteString("\r\n--BOUNDARY--\r\n")
		bw.Flush()
		pw.Close()
	}()
	return io.MultiReader(strings.NewReader(head), pr)
}

// digestOf regenerates the attachment bytes to hash them.
func digestOf(size int64, seed uint64) [32]byte {
	h := sha256.New()
	_, _ = io.Copy(h, io.LimitReader(rand.NewChaCha8([32]byte{byte(seed)}), size))
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}

// lineWriter breaks base64 into 76-character lines as MIME requires.
type lineWriter struct {
	w   io.Writer
	col int
}

func (l *lineWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		k := min(76-l.col, len(p))
		if _, err := l.w.Write(p[:k]); err != nil {
			return n, err
		}
		n += k
		l.col += k
		p = p[k:]
		if l.col == 76 {
			if _, err := l.w.Write([]byte("\r\n")); err != nil {
				return n, err
			}
			l.col = 0
		}
	}
	return n, nil
}

func TestAttachments(t *testing.T) {
	tests := []struct {
		name        string
		size        int64
		wantWrites  int64 // the create, createUploadSession, each range (on the upload host), the final stamp
		wantInline  bool
		skipInShort bool
	}{
		{"small inline", 100 << 10, 1, true, false},
		{"2 MB inline", 2 << 20, 1, true, false},
		{"40 MB upload session", 40 << 20, 1 + 1 + 13 + 1, false, true},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.skipInShort && testing.Short() {
				t.Skip("large upload")
			}
			l := newLab(t)
			fx := l.srv.AddMailbox(alice, mailbox.TypeUser)
			// A 40 MB attachment needs a limit raised from the default
			// 35 MB, as a tenant that migrates large items raises it.
			if err := fx.SetMessageSizeLimits(150<<20, 150<<20); err != nil {
				t.Fatal(err)
			}
			inbox := fx.FolderID("Inbox")
			r := attachmentMIME("report.pdf", tc.size, uint64(i))
			id, err := l.c.Mailbox(alice).CreateMessage(ctxT(t), inbox, mailbox.Message{Item: mailbox.Item{IsRead: true}, SourceID: "att", MIME: r, Size: -1})
			if err != nil {
				t.Fatal(err)
			}
			m, _ := fx.Message(id)
			if m.IsDraft || len(m.Attachments) != 1 {
				t.Fatalf("draft %v, %d attachments", m.IsDraft, len(m.Attachments))
			}
			a := m.Attachments[0]
			if a.Name != "report.pdf" || a.ContentType != "application/pdf" || a.Size != tc.size {
				t.Errorf("attachment %q %q %d", a.Name, a.ContentType, a.Size)
			}
			if sha256.Sum256(a.Data) != digestOf(tc.size, uint64(i)) {
				t.Error("attachment content differs")
			}
			if got := l.srv.Writes() + l.srv.UploadWrites(); got != tc.wantWrites {
				t.Errorf("writes = %d (%d of them upload ranges), want %d", got, l.srv.UploadWrites(), tc.wantWrites)
			}
			if m.Body != "Hello Alice\r\n" && m.Body != "Hello Alice" {
				t.Errorf("body %q", m.Body)
			}
		})
	}
}

func TestManySmallAttachmentsSplitAcrossRequests(t *testing.T) {
	l := newLab(t)
	fx := l.srv.AddMailbox(alice, mailbox.TypeUser)
	var parts []string
	data := bytes.Repeat([]byte{0xA5}, 1500<<10) // 1.5 MB each, 2 MB as base64
	for i := range 4 {
		parts = append(parts, fmt.Sprintf("Content-Type: image/png\r\nContent-Disposition: inline; filename=\"p%d.png\"\r\nContent-ID: <p%d@x>\r\nContent-Transfer-Encoding: base64\r\n\r\n%s", i, i, base64.StdEncoding.EncodeToString(data)))
	}
	raw := mimeMessage("pictures", "<pics@x.example>", time.Now(), parts...)
	id, err := l.c.Mailbox(alice).CreateMessage(ctxT(t), fx.FolderID("Inbox"), mailbox.Message{SourceID: "pics", MIME: strings.NewReader(raw), Size: int64(len(raw))})
	if err != nil {
		t.Fatal(err)
	}
	m, _ := fx.Message(id)
	if len(m.Attachments) != 4 {
		t.Fatalf("%d attachments", len(m.Attachments))
	}
	for i, a := range m.Attachments {
		if !a.IsInline || a.ContentID != fmt.Sprintf("p%d@x", i) || !bytes.Equal(a.Data, data) {
			t.Errorf("attachment %d: inline %v cid %q size %d", i, a.IsInline, a.ContentID, a.Size)
		}
	}
	// Two attachments (2 MB of base64 each) fit the create request with the
	// body; the other two each need a request of their own to keep every
	// request under 4 MB; then the stamp is made final.
	if got := l.srv.Writes(); got != 4 {
		t.Errorf("writes = %d, want 4", got)
	}
}

func TestTooLargeRefusedBeforeSending(t *testing.T) {
	l := newLab(t)
	fx := l.srv.AddMailbox(alice, mailbox.TypeUser)
	inbox := fx.FolderID("Inbox")
	mb := l.c.Mailbox(alice)
	before := l.srv.Requests()

	// A 160 MB item whose size is known is refused without reading it.
	r := attachmentMIME("huge.bin", 160<<20, 9)
	_, err := mb.CreateMessage(ctxT(t), inbox, mailbox.Message{SourceID: "huge", MIME: r, Size: 160 << 20})
	var tl *mailbox.ItemTooLargeError
	if !errors.As(err, &tl) || tl.Limit != 150<<20 || !errors.Is(err, mailbox.ErrItemRejected) || !mailbox.IsPermanent(err) {
		t.Fatalf("160 MB: %v", err)
	}

	// Of unknown size, the stream is counted and refused as soon as it is
	// over the limit (a tenant limit of 5 MB here).
	small := l.client(t, func(c *graphmail.Config) { c.Limits.MaxItemBytes = 5 << 20 })
	r = attachmentMIME("big.bin", 8<<20, 10)
	_, err = small.Mailbox(alice).CreateMessage(ctxT(t), inbox, mailbox.Message{SourceID: "big", MIME: r, Size: -1})
	if !errors.As(err, &tl) || tl.Limit != 5<<20 {
		t.Fatalf("8 MB of unknown size: %v", err)
	}
	if got := l.srv.Requests(); got != before {
		t.Errorf("%d requests reached Graph for refused items", got-before)
	}
	if n := len(fx.Messages("Inbox")); n != 0 {
		t.Errorf("%d messages written", n)
	}
}

// TestOverMailboxSizeLimitRejected: an attachment that takes a message
// over the target mailbox's message size limit (Exchange Online's default
// 35 MB, here 5 MB) is refused by createUploadSession; the item is
// rejected for good, not retried, and no half-written message stays.
func TestOverMailboxSizeLimitRejected(t *testing.T) {
	l := newLab(t)
	fx := l.srv.AddMailbox(alice, mailbox.TypeUser)
	if err := fx.SetMessageSizeLimits(5<<20, 5<<20); err != nil {
		t.Fatal(err)
	}
	inbox := fx.FolderID("Inbox")
	r := attachmentMIME("scan.bin", 6<<20, 11)
	_, err := l.c.Mailbox(alice).CreateMessage(ctxT(t), inbox, mailbox.Message{SourceID: "scan", MIME: r, Size: -1})
	if !errors.Is(err, mailbox.ErrItemRejected) || !mailbox.IsPermanent(err) || !strings.Contains(err.Error(), "ErrorMessageSizeExceeded") {
		t.Fatalf("6 MB into a 5 MB mailbox: %v, want a permanent ErrItemRejected naming ErrorMessageSizeExceeded", err)
	}
	if n := len(fx.Messages("Inbox")); n != 0 {
		t.Errorf("%d messages left in the Inbox", n)
	}
	if st := l.c.Stats(alice); st.Retries != 0 {
		t.Errorf("%d retries of a refusal no retry changes", st.Retries)
	}
}

func TestUploadBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for upload windows")
	}
	lim := graphtest.DefaultLimits()
	lim.UploadBytesPerWindow, lim.UploadWindow = 8<<20, time.Second
	l := newLab(t, graphtest.WithLimits(lim))
	fx := l.srv.AddMailbox(alice, mailbox.TypeUser)
	c := l.client(t, func(cfg *graphmail.Config) {
		cfg.Limits = graphmail.Limits{UploadBytesPerWindow: 8 << 20, UploadWindow: time.Second}
	})
	r := attachmentMIME("twenty.bin", 20<<20, 3)
	start := time.Now()
	if _, err := c.Mailbox(alice).CreateMessage(ctxT(t), fx.FolderID("Inbox"), mailbox.Message{SourceID: "u", MIME: r, Size: -1}); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 2*time.Second {
		t.Errorf("20 MB at 8 MB/s took %v", el)
	}
	if l.srv.Throttled() != 0 {
		t.Errorf("server answered %d IncomingBytes 429s", l.srv.Throttled())
	}
}

func TestLostAnswers(t *testing.T) {
	l := newLab(t)
	fx := l.srv.AddMailbox(alice, mailbox.TypeUser)
	inbox := fx.FolderID("Inbox")
	mb := l.c.Mailbox(alice)

	// An upload range that arrived but whose answer was lost: the retry is
	// refused with 416 and the upload goes on from nextExpectedRanges.
	l.srv.Inject(graphtest.Fault{Kind: graphtest.FaultDropAfter, Count: 1, Path: "/upload/", Method: "PUT"})
	const size = 7 << 20
	id, err := mb.CreateMessage(ctxT(t), inbox, mailbox.Message{SourceID: "u1", MIME: attachmentMIME("seven.bin", size, 7), Size: -1})
	if err != nil {
		t.Fatal(err)
	}
	m, _ := fx.Message(id)
	if len(m.Attachments) != 1 || sha256.Sum256(m.Attachments[0].Data) != digestOf(size, 7) || l.srv.PendingFaults() != 0 {
		t.Fatalf("attachments %d, faults pending %d", len(m.Attachments), l.srv.PendingFaults())
	}

	// A create whose answer was lost is not retried blindly (it would
	// duplicate); the caller heals by looking the stamp up.
	l.srv.Inject(graphtest.Fault{Kind: graphtest.FaultDropAfter, Count: 1, Path: "/messages", Method: "POST"})
	raw := mimeMessage("lost", "<lost@x.example>", time.Now())
	if _, err := mb.CreateMessage(ctxT(t), inbox, mailbox.Message{SourceID: "lost-1", MIME: strings.NewReader(raw), Size: -1}); err == nil {
		t.Fatal("a create whose answer was lost reported success")
	}
	found, ok, err := mb.FindBySourceID(ctxT(t), inbox, "lost-1")
	if err != nil || !ok || found == "" {
		t.Fatalf("FindBySourceID after a lost answer: %q %v %v", found, ok, err)
	}
	if n := len(fx.Messages("Inbox")); n != 2 {
		t.Errorf("%d messages, want 2 (no duplicate)", n)
	}
}

func TestStampOnlyOnceComplete(t *testing.T) {
	l := newLab(t)
	fx := l.srv.AddMailbox(alice, mailbox.TypeUser)
	inbox := fx.FolderID("Inbox")
	c := l.client(t, func(cfg *graphmail.Config) { cfg.Limits.MaxRetries = 1 })
	mb := c.Mailbox(alice)

	// Upload ranges keep failing: the half-written message is removed.
	l.srv.Inject(graphtest.Fault{Kind: graphtest.FaultUnavailable, Count: 100, Path: "/upload/", RetryAfter: "0.01"})
	_, err := mb.CreateMessage(ctxT(t), inbox, mailbox.Message{SourceID: "fails", MIME: attachmentMIME("f.bin", 4<<20, 1), Size: -1})
	if err == nil {
		t.Fatal("upload failures reported success")
	}
	if n := len(fx.Messages("Inbox")); n != 0 {
		t.Errorf("%d messages left after a failed upload", n)
	}

	l.srv.ClearFaults()

	// With the attachment in, the stamp is final and found.
	id, err := mb.CreateMessage(ctxT(t), inbox, mailbox.Message{SourceID: "ok-1", MIME: attachmentMIME("g.bin", 4<<20, 2), Size: -1})
	if err != nil {
		t.Fatal(err)
	}
	m, _ := fx.Message(id)
	prop := "String {" + mailbox.SourceIDPropertySet + "} Name " + mailbox.SourceIDPropertyName
	if m.ExtendedProperties[prop] != "ok-1" || len(m.Attachments) != 1 || m.IsDraft {
		t.Errorf("stamp %q, %d attachments, draft %v", m.ExtendedProperties[prop], len(m.Attachments), m.IsDraft)
	}
	if got, ok, err := mb.FindBySourceID(ctxT(t), inbox, "ok-1"); err != nil || !ok || got != id {
		t.Errorf("FindBySourceID = %q %v %v", got, ok, err)
	}
}
