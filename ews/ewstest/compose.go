package ewstest

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/emersion/go-message/mail"
)

// composeMIME writes the MIME of an item CreateItem made from its
// properties, as Exchange would answer GetItem's MimeContent with: an
// RFC 5322 message for mail, a text/calendar event for calendar items and
// a text/vcard card for contacts. The fake keeps items as MIME, so the
// properties it answers later are read back from this.
func composeMIME(in *node, mb *mbox, now time.Time) []byte {
	var h mail.Header
	h.SetDate(now)
	h.SetSubject(in.child(nsTypes, "Subject").value())
	for _, k := range [][2]string{{"From", "From"}, {"Sender", "Sender"}, {"ToRecipients", "To"}, {"CcRecipients", "Cc"},
		{"BccRecipients", "Bcc"}, {"ReplyTo", "Reply-To"}} {
		if list := requestAddrs(in.child(nsTypes, k[0])); len(list) > 0 {
			h.SetAddressList(k[1], list)
		}
	}
	if id := in.child(nsTypes, "InternetMessageId").value(); id != "" {
		h.Set("Message-Id", id)
	} else if err := h.GenerateMessageIDWithHostname("ewstest.invalid"); err != nil {
		h.Set("Message-Id", fmt.Sprintf("<%d@ewstest.invalid>", now.UnixNano()))
	}
	if v := in.child(nsTypes, "InReplyTo").value(); v != "" {
		h.Set("In-Reply-To", v)
	}
	if v := in.child(nsTypes, "References").value(); v != "" {
		h.Set("References", v)
	}
	switch in.child(nsTypes, "Importance").value() {
	case "High":
		h.Set("Importance", "high")
	case "Low":
		h.Set("Importance", "low")
	}
	switch in.child(nsTypes, "Sensitivity").value() {
	case "Personal":
		h.Set("Sensitivity", "Personal")
	case "Private":
		h.Set("Sensitivity", "Private")
	case "Confidential":
		h.Set("Sensitivity", "Company-Confidential")
	}
	if v := in.child(nsTypes, "IsReadReceiptRequested").value(); (v == "true" || v == "1") && mb != nil {
		h.Set("Disposition-Notification-To", mb.address)
	}
	body := in.child(nsTypes, "Body")
	text := ""
	if body != nil {
		text = body.text.String()
	}
	bodyType := "text/plain"
	if strings.EqualFold(body.attr("BodyType"), "HTML") {
		bodyType = "text/html"
	}
	var buf bytes.Buffer
	var extra []byte
	extraType := ""
	switch in.name.Local {
	case "CalendarItem":
		extra, extraType = icalOf(in, mb, now), "text/calendar"
	case "Contact":
		extra, extraType = vcardOf(in), "text/vcard"
	}
	switch {
	case extra != nil && body == nil:
		h.SetContentType(extraType, map[string]string{"charset": "utf-8"})
		w, err := mail.CreateSingleInlineWriter(&buf, h)
		if err != nil {
			return nil
		}
		w.Write(extra)
		w.Close()
	case extra != nil:
		h.SetContentType("multipart/alternative", nil)
		w, err := mail.CreateInlineWriter(&buf, h)
		if err != nil {
			return nil
		}
		for _, part := range []struct {
			typ  string
			data []byte
		}{{bodyType, []byte(text)}, {extraType, extra}} {
			var ph mail.InlineHeader
			ph.SetContentType(part.typ, map[string]string{"charset": "utf-8"})
			pw, err := w.CreatePart(ph)
			if err != nil {
				return nil
			}
			pw.Write(part.data)
			pw.Close()
		}
		w.Close()
	default:
		h.SetContentType(bodyType, map[string]string{"charset": "utf-8"})
		w, err := mail.CreateSingleInlineWriter(&buf, h)
		if err != nil {
			return nil
		}
		io.WriteString(w, text)
		w.Close()
	}
	return buf.Bytes()
}

// requestAddrs reads the t:Mailbox children of a recipient list or of a
// single-recipient element (From, Sender).
func requestAddrs(n *node) []*mail.Address {
	var out []*mail.Address
	for _, m := range n.all(nsTypes, "Mailbox") {
		a := &mail.Address{Name: m.child(nsTypes, "Name").value(), Address: m.child(nsTypes, "EmailAddress").value()}
		if a.Address != "" {
			out = append(out, a)
		}
	}
	return out
}

func requestTime(n *node) (time.Time, bool) {
	v := n.value()
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// icalText escapes a TEXT value (RFC 5545 3.3.11).
func icalText(s string) string {
	return strings.NewReplacer(`\`, `\\`, ";", `\;`, ",", `\,`, "\n", `\n`, "\r", "").Replace(s)
}

// icalParam quotes a parameter value (RFC 5545 3.2), which cannot hold
// a double quote.
func icalParam(s string) string {
	return `"` + strings.NewReplacer(`"`, "", "\r", "", "\n", " ").Replace(s) + `"`
}

func icalOf(in *node, mb *mbox, now time.Time) []byte {
	var b strings.Builder
	b.WriteString("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//exmigrate ewstest//EN\r\nMETHOD:PUBLISH\r\nBEGIN:VEVENT\r\n")
	uid := in.child(nsTypes, "UID").value()
	if uid == "" {
		uid = fmt.Sprintf("ewstest-%d", now.UnixNano())
	}
	fmt.Fprintf(&b, "UID:%s\r\n", icalText(uid))
	allDay := in.child(nsTypes, "IsAllDayEvent").value() == "true"
	for _, k := range [][2]string{{"Start", "DTSTART"}, {"End", "DTEND"}} {
		if t, ok := requestTime(in.child(nsTypes, k[0])); ok {
			if allDay {
				fmt.Fprintf(&b, "%s;VALUE=DATE:%s\r\n", k[1], t.Format("20060102"))
			} else {
				fmt.Fprintf(&b, "%s:%s\r\n", k[1], t.Format("20060102T150405Z"))
			}
		}
	}
	fmt.Fprintf(&b, "SUMMARY:%s\r\n", icalText(in.child(nsTypes, "Subject").value()))
	if v := in.child(nsTypes, "Location").value(); v != "" {
		fmt.Fprintf(&b, "LOCATION:%s\r\n", icalText(v))
	}
	if mb != nil {
		fmt.Fprintf(&b, "ORGANIZER;CN=%s:mailto:%s\r\n", icalParam(mb.display), mb.address)
	}
	for _, k := range [][2]string{{"RequiredAttendees", "ROLE=REQ-PARTICIPANT"}, {"OptionalAttendees", "ROLE=OPT-PARTICIPANT"}, {"Resources", "CUTYPE=RESOURCE"}} {
		for _, a := range in.child(nsTypes, k[0]).all(nsTypes, "Attendee") {
			for _, m := range requestAddrs(a) {
				fmt.Fprintf(&b, "ATTENDEE;%s;CN=%s:mailto:%s\r\n", k[1], icalParam(m.Name), m.Address)
			}
		}
	}
	b.WriteString("END:VEVENT\r\nEND:VCALENDAR\r\n")
	return []byte(b.String())
}

func vcardOf(in *node) []byte {
	var b strings.Builder
	b.WriteString("BEGIN:VCARD\r\nVERSION:3.0\r\n")
	given, sur := in.child(nsTypes, "GivenName").value(), in.child(nsTypes, "Surname").value()
	fn := in.child(nsTypes, "DisplayName").value()
	if fn == "" {
		fn = strings.TrimSpace(given + " " + sur)
	}
	fmt.Fprintf(&b, "FN:%s\r\nN:%s;%s;;;\r\n", icalText(fn), icalText(sur), icalText(given))
	if v := in.child(nsTypes, "CompanyName").value(); v != "" {
		fmt.Fprintf(&b, "ORG:%s\r\n", icalText(v))
	}
	if v := in.child(nsTypes, "JobTitle").value(); v != "" {
		fmt.Fprintf(&b, "TITLE:%s\r\n", icalText(v))
	}
	for _, e := range in.child(nsTypes, "EmailAddresses").all(nsTypes, "Entry") {
		if v := e.value(); v != "" {
			fmt.Fprintf(&b, "EMAIL;TYPE=INTERNET:%s\r\n", v)
		}
	}
	b.WriteString("END:VCARD\r\n")
	return []byte(b.String())
}
