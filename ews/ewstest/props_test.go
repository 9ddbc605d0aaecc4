package ewstest

import (
	"bytes"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"
)

// richMIME is a message with most of what Exchange derives properties
// from: addresses of every kind, threading headers, an HTML and a text
// body, a file attachment, an inline picture and an attached message.
const richMIME = "From: =?utf-8?q?J=C3=B6rg_M=C3=BCller?= <joerg@fabrikam.com>\r\n" +
	"Sender: Assistant <assistant@fabrikam.com>\r\n" +
	"To: Alice <alice@contoso.com>, bob@contoso.com\r\n" +
	"Cc: Carol <carol@contoso.com>\r\n" +
	"Bcc: dave@contoso.com\r\n" +
	"Reply-To: Replies <replies@fabrikam.com>\r\n" +
	"Subject: =?utf-8?q?Quartalsbericht_f=C3=BCr?= Q3\r\n" +
	"Message-ID: <rich-1@fabrikam.com>\r\n" +
	"In-Reply-To: <parent@fabrikam.com>\r\n" +
	"References: <root@fabrikam.com>\r\n <parent@fabrikam.com>\r\n" +
	"Thread-Topic: Quartalsbericht\r\n" +
	"Thread-Index: AQHZ\r\n" +
	"Disposition-Notification-To: joerg@fabrikam.com\r\n" +
	"Sensitivity: Company-Confidential\r\n" +
	"X-Lab-Trace: 42\r\n" +
	"Date: Mon, 03 Mar 2025 10:00:00 +0000\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n" +
	"--outer\r\nContent-Type: multipart/related; boundary=\"rel\"\r\n\r\n" +
	"--rel\r\nContent-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n" +
	"--alt\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSee the figures.\r\n" +
	"--alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body><p>See the <b>figures</b>.</p><img src=\"cid:logo@fabrikam\"></body></html>\r\n" +
	"--alt--\r\n" +
	"--rel\r\nContent-Type: image/png\r\nContent-ID: <logo@fabrikam>\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n" +
	"--rel--\r\n" +
	"--outer\r\nContent-Type: application/pdf; name=\"Q3.pdf\"\r\nContent-Disposition: attachment; filename=\"Q3.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n" +
	"--outer\r\nContent-Type: message/rfc822\r\n\r\nSubject: Forwarded note\r\nFrom: x@y.com\r\n\r\nInner body\r\n" +
	"--outer--\r\n"

const labCalendarMIME = "Subject: Meeting 1 with Ann\r\nMIME-Version: 1.0\r\nContent-Type: text/calendar; charset=\"utf-8\"; method=PUBLISH\r\n\r\n" +
	"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//exmigrate lab//EN\r\nBEGIN:VEVENT\r\nUID:cal-1-ab\r\nDTSTART:20250310T090000Z\r\nDTEND:20250310T100000Z\r\n" +
	"SUMMARY:Meeting 1 with Ann\r\nLOCATION:Room 4\\, floor 2\r\nORGANIZER;CN=Alice:mailto:alice@contoso.com\r\n" +
	"ATTENDEE;ROLE=REQ-PARTICIPANT;CN=\"Lee; Ann: Buyer\":mailto:ann@fabrikam.com\r\nATTENDEE;CUTYPE=RESOURCE;CN=Room 4:mailto:room4@contoso.com\r\n" +
	"END:VEVENT\r\nEND:VCALENDAR\r\n"

const labContactMIME = "Subject: Ann Lee\r\nMIME-Version: 1.0\r\nContent-Type: text/vcard; charset=\"utf-8\"\r\n\r\n" +
	"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ann Lee\r\nN:Lee;Ann;;;\r\nORG:Fabrikam\r\nTITLE:Buyer\r\nEMAIL:ann@fabrikam.com\r\nEMAIL:ann.lee@example.org\r\nEND:VCARD\r\n"

func TestDeriveProps(t *testing.T) {
	p := deriveProps([]byte(richMIME), true)
	if got := p.from; len(got) != 1 || got[0] != (addr{"Jörg Müller", "joerg@fabrikam.com"}) {
		t.Errorf("from = %+v", got)
	}
	if len(p.to) != 2 || p.to[1].email != "bob@contoso.com" || len(p.cc) != 1 || len(p.bcc) != 1 || len(p.replyTo) != 1 || len(p.sender) != 1 {
		t.Errorf("recipients: to %+v cc %+v bcc %+v reply-to %+v sender %+v", p.to, p.cc, p.bcc, p.replyTo, p.sender)
	}
	if p.inReplyTo != "<parent@fabrikam.com>" || p.references != "<root@fabrikam.com> <parent@fabrikam.com>" {
		t.Errorf("threading: %q %q", p.inReplyTo, p.references)
	}
	if !p.readReceipt || p.sensitivity != "Confidential" || p.threadTopic != "Quartalsbericht" || p.threadIndex != "AQHZ" {
		t.Errorf("receipt %v sensitivity %q topic %q index %q", p.readReceipt, p.sensitivity, p.threadTopic, p.threadIndex)
	}
	if !p.html || !strings.Contains(p.body, "<b>figures</b>") {
		t.Errorf("body (html %v) = %q", p.html, p.body)
	}
	want := []attachment{
		{name: "Untitled attachment", contentType: "image/png", contentID: "logo@fabrikam", size: 8, inline: true},
		{name: "Q3.pdf", contentType: "application/pdf", size: 9},
		{name: "Forwarded note", contentType: "message/rfc822", size: 52, item: true},
	}
	if len(p.attachments) != len(want) {
		t.Fatalf("attachments = %+v", p.attachments)
	}
	for i, w := range want {
		g := p.attachments[i]
		g.content = nil
		if !reflect.DeepEqual(g, w) {
			t.Errorf("attachment %d = %+v, want %+v", i, g, w)
		}
	}
	if !p.hasAttachments() {
		t.Error("hasAttachments false")
	}
	var names []string
	for _, h := range p.headers {
		names = append(names, h[0])
	}
	if got := strings.Join(names, ","); !strings.HasPrefix(got, "From,Sender,To,Cc,Bcc,Reply-To,Subject,Message-ID") || !strings.Contains(got, "MIME-Version") {
		t.Errorf("header names in order and as sent: %s", got)
	}
	for _, h := range p.headers {
		if h[0] == "References" && h[1] != "<root@fabrikam.com> <parent@fabrikam.com>" {
			t.Errorf("References unfolded = %q", h[1])
		}
	}

	cal := deriveProps([]byte(labCalendarMIME), false).cal
	if cal == nil || cal.uid != "cal-1-ab" || !cal.start.Equal(time.Date(2025, 3, 10, 9, 0, 0, 0, time.UTC)) ||
		!cal.end.Equal(time.Date(2025, 3, 10, 10, 0, 0, 0, time.UTC)) || cal.location != "Room 4, floor 2" ||
		cal.organizer != (addr{"Alice", "alice@contoso.com"}) || fmt.Sprint(cal.required) != "[{Lee; Ann: Buyer ann@fabrikam.com}]" ||
		fmt.Sprint(cal.resources) != "[{Room 4 room4@contoso.com}]" {
		t.Errorf("calendar = %+v", cal)
	}
	c := deriveProps([]byte(labContactMIME), false).contact
	if c == nil || c.displayName != "Ann Lee" || c.given != "Ann" || c.surname != "Lee" || c.company != "Fabrikam" ||
		c.title != "Buyer" || len(c.emails) != 2 {
		t.Errorf("contact = %+v", c)
	}

	// A streamed item: only its header block is read.
	head := deriveHead(io.MultiReader(strings.NewReader("Subject: big\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n"), neverRead{t}))
	if !head.partial || !head.hasAttachments() || len(head.attachments) != 0 {
		t.Errorf("streamed head = %+v", head)
	}
	if p := deriveProps([]byte("not a message"), false); p == nil {
		t.Error("nil props for garbage")
	}
}

// neverRead fails the test if the body of a streamed item is read.
type neverRead struct{ t *testing.T }

func (n neverRead) Read([]byte) (int, error) {
	n.t.Error("the body of a streamed item was read")
	return 0, io.EOF
}

// FuzzDeriveProps: any MIME, calendar or vCard gives properties, never a
// panic, within the limits.
func FuzzDeriveProps(f *testing.F) {
	for _, s := range []string{richMIME, labCalendarMIME, labContactMIME, "", "Subject: x\r\n\r\n",
		"Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\nContent-Type: multipart/mixed; boundary=a\r\n\r\n--a--\r\n",
		"Content-Type: text/calendar\r\n\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20250101\r\n X\r\nORGANIZER:mailto:\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p := deriveProps(data, true)
		if len(p.attachments) > maxParts {
			t.Fatalf("%d attachments", len(p.attachments))
		}
		for _, a := range p.attachments {
			// Decoding shrinks; only a text part's charset conversion
			// to UTF-8 can grow it, at most fourfold.
			if len(a.content) > 4*len(data) || a.name == "" {
				t.Fatalf("attachment %q keeps %d bytes", a.name, len(a.content))
			}
		}
		if p.contact != nil && len(p.contact.emails) > 3 {
			t.Fatalf("%d contact emails", len(p.contact.emails))
		}
		deriveHead(bytes.NewReader(data))
	})
}
