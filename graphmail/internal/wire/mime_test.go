package wire

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"

	"github.com/exmigrate/exmigrate/mailbox"
)

var mimeSeeds = []string{
	"Subject: plain\r\nFrom: a@b.example\r\n\r\nhello\r\n",
	"Subject: =?iso-8859-1?q?caf=E9?=\r\nFrom: \"Bob\" <bob@x.example>\r\nTo: a@b.example, c@d.example\r\nDate: Mon, 02 Jan 2006 15:04:05 -0700\r\nX-Priority: 1\r\nKeywords: red, blue\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\r\ncaf\xe9\r\n",
	"Subject: alt\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nplain\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>html</p>\r\n--b--\r\n",
	"Subject: att\r\nContent-Type: multipart/mixed; boundary=m\r\n\r\n--m\r\nContent-Type: text/plain\r\n\r\nbody\r\n--m\r\nContent-Type: application/pdf; name=a.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--m\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\ninner body\r\n--m--\r\n",
	"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: multipart/related; boundary=y\r\n\r\n--y\r\nContent-Type: text/html\r\n\r\n<img src=cid:i1>\r\n--y\r\nContent-Type: image/png\r\nContent-ID: <i1>\r\nContent-Disposition: inline\r\n\r\nPNG\r\n--y--\r\n--x--\r\n",
	"X-A: 1\r\nX-B: 2\r\nX-C: 3\r\nX-D: 4\r\nX-E: 5\r\nX-F: 6\r\n\r\nsix x- headers\r\n",
	"Content-Type: multipart/mixed; boundary=broken\r\n\r\n--broken\r\nContent-Type: text/plain\r\n\r\nno end",
	"",
	"\r\n\r\n",
	"Content-Transfer-Encoding: base64\r\n\r\n!!!!",
}

func TestParseMIME(t *testing.T) {
	p, err := ParseMIME(strings.NewReader(mimeSeeds[1]), 1<<20, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if p.subject != "café" || p.body != "café\r\n" || p.importance != "high" || strings.Join(p.keywords, "|") != "red|blue" {
		t.Errorf("parsed %q %q %q %v", p.subject, p.body, p.importance, p.keywords)
	}
	if len(p.to) != 2 || p.from[0].Name != "Bob" || p.date.IsZero() {
		t.Errorf("addresses %v %v date %v", p.to, p.from, p.date)
	}
	p2, err := ParseMIME(strings.NewReader(mimeSeeds[3]), 1<<20, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer p2.Close()
	if len(p2.Parts) != 2 || p2.Parts[0].Name != "a.pdf" || string(p2.Parts[0].Data) != "%PDF-1.4\n" || p2.Parts[1].Name != "attachment-2.eml" {
		t.Errorf("parts %+v", p2.Parts)
	}
	p3, err := ParseMIME(strings.NewReader(mimeSeeds[5]), 1<<20, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if len(p3.xHeaders) != MaxCustomHeaders || p3.DroppedHeaders != 1 {
		t.Errorf("x- headers %v dropped %d", p3.xHeaders, p3.DroppedHeaders)
	}
	if _, err := ParseMIME(strings.NewReader(mimeSeeds[0]+strings.Repeat("x", 200)), 100, ""); !errors.As(err, new(*mailbox.ItemTooLargeError)) {
		t.Errorf("over the limit: %v", err)
	}
}

// FuzzMIMEToCreate checks that any MIME either is refused as a rejected or
// too-large item or becomes a create request that is valid JSON under
// Graph's 4 MB limit, never with the unsent bit.
func FuzzMIMEToCreate(f *testing.F) {
	for _, s := range mimeSeeds {
		f.Add(s, true)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, raw string, read bool) {
		p, err := ParseMIME(strings.NewReader(raw), 1<<20, dir)
		if err != nil {
			if !errors.Is(err, mailbox.ErrItemRejected) {
				t.Fatalf("error not marked as a rejected item: %v", err)
			}
			return
		}
		defer p.Close()
		msg := mailbox.Message{Item: mailbox.Item{IsRead: read, Received: time.Unix(1e9, 0)}, SourceID: "s"}
		body, _, err := PlanCreate(BuildCreate(msg, p, "String {x} Name y"), p.Parts)
		if err != nil {
			if !errors.Is(err, mailbox.ErrItemRejected) {
				t.Fatalf("plan error not marked as a rejected item: %v", err)
			}
			return
		}
		if len(body) > MaxRequestBytes {
			t.Fatalf("create request of %d bytes", len(body))
		}
		var cb CreateBody
		if err := json.Unmarshal(body, &cb); err != nil {
			t.Fatalf("invalid JSON: %v", err)
		}
		if cb.SingleValueExtendedProperties[0].ID != "Integer 0x0E07" || (cb.SingleValueExtendedProperties[0].Value != "1" && cb.SingleValueExtendedProperties[0].Value != "0") {
			t.Fatalf("flags %v", cb.SingleValueExtendedProperties[0])
		}
		if len(cb.InternetMessageHeaders) > MaxCustomHeaders {
			t.Fatalf("%d x- headers", len(cb.InternetMessageHeaders))
		}
	})
}

func FuzzTokenRoles(f *testing.F) {
	f.Add("a.eyJyb2xlcyI6WyJNYWlsLlJlYWQiXX0.c")
	f.Add("not a jwt")
	f.Add("..")
	f.Fuzz(func(t *testing.T, tok string) {
		roles, ok := TokenRoles(tok)
		if !ok && roles != nil {
			t.Fatal("roles without ok")
		}
	})
}

// TestParseDateAsGoMessage: the fast path reads every date as go-message's
// Header.Date does.
func TestParseDateAsGoMessage(t *testing.T) {
	for _, v := range []string{
		"", "Wed, 01 May 2019 09:59:00 +0000", "Wed, 1 May 2019 09:59:00 +0200", "01 May 2019 09:59 -0700",
		"Wed, 01 May 2019 09:59:00 +0000 (UTC)", "Wed, 01 May 2019 09:59:00 GMT", "Tue, 31 Dec 2024 23:59:60 +0000",
		"Mon, 02 Jan 2006 15:04:05 -0700", "Thu, 01 May 2019 09:59:00 +0000", "not a date", "Wed, 01 May 2019 25:59:00 +0000",
	} {
		var h mail.Header
		h.Set("Date", v)
		want, _ := h.Date()
		if got := parseDate(v); !got.Equal(want) || got.Location().String() != want.Location().String() {
			t.Errorf("parseDate(%q) = %v, go-message %v", v, got, want)
		}
	}
}

// TestParseMIMESizedAsUnsized: the size hint changes only how attachments
// are buffered: a hint that is right, too small or too large gives the
// create request an unknown size does.
func TestParseMIMESizedAsUnsized(t *testing.T) {
	plan := func(raw string, size int64) string {
		t.Helper()
		p, err := ParseMIMESized(strings.NewReader(raw), 1<<20, size, t.TempDir())
		if err != nil {
			return "error: " + err.Error()
		}
		defer p.Close()
		body, later, err := PlanCreate(BuildCreate(mailbox.Message{SourceID: "ews:1"}, p, "String {x} Name y"), p.Parts)
		if err != nil {
			return "error: " + err.Error()
		}
		return fmt.Sprintf("%s +%d later", body, len(later))
	}
	for _, raw := range append(mimeSeeds, labAttachmentMessage()) {
		want := plan(raw, -1)
		for _, size := range []int64{int64(len(raw)), 10, 1 << 30} {
			if got := plan(raw, size); got != want {
				t.Errorf("size hint %d of a %d-byte message:\n got %.200s\nwant %.200s", size, len(raw), got, want)
			}
		}
	}
}
