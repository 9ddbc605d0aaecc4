package wire

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/mailbox"
)

// marshalWith is the body PlanCreate's splice must equal: json.Marshal of
// the create with its attachments set.
func marshalWith(t testing.TB, cb CreateBody, parts []*Part) []byte {
	t.Helper()
	for _, a := range parts {
		cb.Attachments = append(cb.Attachments, AttachmentJSON(a))
	}
	b, err := json.Marshal(cb)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestAppendAttachmentsAsMarshal(t *testing.T) {
	cb := CreateBody{Subject: "Figures <Q1> & \"more\"", Body: Body{ContentType: "html", Content: "<p>x</p>"},
		SingleValueExtendedProperties: []Property{{ID: "Integer 0x0E07", Value: "1"}}}
	for _, tt := range []struct {
		name  string
		parts []*Part
	}{
		{"one", []*Part{{Name: "q1.csv", ContentType: "text/csv", Data: []byte("a,b\r\n1,2\r\n")}}},
		{"escaped names", []*Part{{Name: `Bericht "1" – <Übersicht> & co.pdf`, ContentType: "application/pdf", Data: []byte{0, 1, 2, 255}}}},
		{"invalid utf-8 and controls", []*Part{{Name: "bad\xff\xfe\x01\t\u2028name", ContentType: "x/y", Data: []byte("z")}}},
		{"no content type, inline with id", []*Part{{Name: "logo.png", Inline: true, ContentID: "logo@x<y>", Data: bytes.Repeat([]byte{7}, 1000)}}},
		{"empty data", []*Part{{Name: "empty.txt", ContentType: "text/plain"}}},
		{"several", []*Part{{Name: "a", Data: []byte("1")}, {Name: "b", ContentType: "c/d", Inline: true, Data: []byte("22")}, {Name: "c", ContentID: "id", Data: []byte("333")}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			base, err := json.Marshal(cb)
			if err != nil {
				t.Fatal(err)
			}
			got := appendAttachments(base, tt.parts)
			if want := marshalWith(t, cb, tt.parts); !bytes.Equal(got, want) {
				t.Errorf("spliced JSON differs from json.Marshal:\n got %s\nwant %s", got, want)
			}
		})
	}
}

// FuzzAppendAttachments: for any attachment, the splice is what
// json.Marshal writes.
func FuzzAppendAttachments(f *testing.F) {
	f.Add("q1.csv", "text/csv", "", []byte("a,b"), false)
	f.Add("<x>&\"y\"\xff", "", "cid@x", []byte{0, 255}, true)
	f.Fuzz(func(t *testing.T, name, ct, cid string, data []byte, inline bool) {
		cb := CreateBody{Subject: "s", SingleValueExtendedProperties: []Property{}}
		parts := []*Part{{Name: name, ContentType: ct, ContentID: cid, Data: data, Inline: inline}}
		base, err := json.Marshal(cb)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := appendAttachments(base, parts), marshalWith(t, cb, parts); !bytes.Equal(got, want) {
			t.Errorf("spliced JSON differs from json.Marshal:\n got %s\nwant %s", got, want)
		}
	})
}

// labAttachmentMessage is like the lab's messages with an attachment (a
// quarter of them): a plain body and a base64 PDF of about 17 KB.
func labAttachmentMessage() string {
	data := make([]byte, 17000)
	for i := range data {
		data[i] = byte(i * 7)
	}
	var b strings.Builder
	b.WriteString("From: =?utf-8?q?Bob_Sender?= <bob@fabrikam.example>\r\nTo: <alice@contoso.example>\r\n" +
		"Subject: =?utf-8?b?UXVhcnRlcmx5IGZpZ3VyZXM=?=\r\nDate: Wed, 01 May 2019 09:59:00 +0000\r\n" +
		"Message-ID: <1f.1@contoso.example>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"mix\"\r\n\r\n" +
		"--mix\r\nContent-Type: text/plain; charset=\"utf-8\"\r\n\r\n" + strings.Repeat("Figures for the quarter attached. ", 8) + "\r\n" +
		"--mix\r\nContent-Type: application/pdf; name=\"=?utf-8?q?Bericht_1_=E2=80=93_=C3=9Cbersicht.pdf?=\"\r\n" +
		"Content-Disposition: attachment; filename=\"=?utf-8?q?Bericht_1_=E2=80=93_=C3=9Cbersicht.pdf?=\"\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	enc := base64Lines(data)
	b.WriteString(enc)
	b.WriteString("--mix--\r\n")
	return b.String()
}

// BenchmarkParseAndPlan is the Graph side of copying one small message
// with an attachment: parse its MIME and build the create request.
func BenchmarkParseAndPlan(b *testing.B) {
	raw := labAttachmentMessage()
	item := mailbox.Item{IsRead: true, Received: time.Date(2019, 5, 1, 10, 0, 0, 0, time.UTC)}
	dir := b.TempDir()
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		p, err := ParseMIMESized(strings.NewReader(raw), 1<<20, int64(len(raw)), dir)
		if err != nil {
			b.Fatal(err)
		}
		body, later, err := PlanCreate(BuildCreate(mailbox.Message{Item: item, SourceID: "ews:AAMkQ1"}, p, "String {x} Name y"), p.Parts)
		if err != nil || len(later) != 0 || len(body) < 17000 {
			b.Fatalf("plan: %d bytes, %d left, %v", len(body), len(later), err)
		}
		p.Close()
	}
}

// base64Lines is data in base64 lines of 76 characters, as mail carries it.
func base64Lines(data []byte) string {
	enc := base64.StdEncoding.EncodeToString(data)
	var b strings.Builder
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n")
	return b.String()
}
