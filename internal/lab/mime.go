package lab

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"strings"
	"time"
)

// The lab's mail is realistic MIME: plain and HTML bodies, attachments,
// non-ASCII headers and calendar invitations, deterministic for a seed so
// that two labs with the same scenario hold the same items.

var (
	firstNames = []string{"Ann", "Bob", "Chloé", "Dmitri", "Eva", "François", "Grace", "Hiroshi", "Inès", "Jürgen", "Kofi", "Łukasz", "Mei", "Nuño", "Olga", "Priya"}
	lastNames  = []string{"Smith", "Müller", "García", "Nakamura", "O'Brien", "Kowalski", "Dubois", "Ng", "Østergaard", "Rossi"}
	subjects   = []string{
		"Quarterly figures", "Re: Budget 2025", "Fwd: Contract draft", "Meeting notes", "Lunch on Friday?",
		"Überarbeitete Präsentation", "Réunion de lancement", "Project Phoenix status", "Invoice 4711", "Travel plans",
		"見積もりのご依頼", "Re: Re: Server migration window", "Holiday rota", "Action required: expenses", "Welcome aboard",
	}
	words = strings.Fields("the migration plan covers mailboxes folders rules and archives we will move the first wave next week " +
		"please review the attached document and send your comments before friday the budget was approved by the board " +
		"let us meet in the large conference room to go through the open items and agree on next steps")
)

// messageKind is what a generated message looks like.
type messageKind int

const (
	kindPlain messageKind = iota
	kindHTML
	kindAttachment
	kindInvite
	kinds
)

// message is one generated message: its MIME and the properties the fakes
// need alongside it.
type message struct {
	MIME       []byte
	Categories []string
	Importance string // Low, Normal, High
	Flag       string // NotFlagged, Flagged, Complete
	Class      string
	Subject    string
	From       string
	MessageID  string
	Received   time.Time
	IsRead     bool
}

type generator struct {
	rng    *rand.Rand
	domain string
	start  time.Time
}

func newGenerator(seed uint64, domain string) *generator {
	return &generator{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), domain: domain,
		start: time.Date(2023, 1, 2, 8, 0, 0, 0, time.UTC)}
}

func (g *generator) person() (name, addr string) {
	f, l := firstNames[g.rng.IntN(len(firstNames))], lastNames[g.rng.IntN(len(lastNames))]
	local := strings.ToLower(asciiOnly(f) + "." + asciiOnly(l))
	return f + " " + l, local + "@" + g.domain
}

func asciiOnly(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
			b.WriteRune(r)
		case strings.ContainsRune("éè", r):
			b.WriteByte('e')
		case strings.ContainsRune("üú", r):
			b.WriteByte('u')
		case r == 'ç':
			b.WriteByte('c')
		case r == 'ñ':
			b.WriteByte('n')
		case r == 'ø' || r == 'Ø':
			b.WriteByte('o')
		case r == 'ł' || r == 'Ł':
			b.WriteByte('l')
		}
	}
	return b.String()
}

func (g *generator) sentence(n int) string {
	w := make([]string, n)
	for i := range w {
		w[i] = words[g.rng.IntN(len(words))]
	}
	s := strings.Join(w, " ")
	return strings.ToUpper(s[:1]) + s[1:] + "."
}

// next generates the i-th message of a folder owned by owner.
func (g *generator) next(owner string, i int, readRatio float64) message {
	fromName, from := g.person()
	subject := subjects[g.rng.IntN(len(subjects))]
	received := g.start.Add(time.Duration(g.rng.IntN(700*24)) * time.Hour).Add(time.Duration(i) * time.Minute)
	msgID := fmt.Sprintf("<%x.%d@%s>", g.rng.Uint64(), i, g.domain)
	kind := messageKind(g.rng.IntN(int(kinds)))
	m := message{Class: "IPM.Note", Subject: subject, From: from, MessageID: msgID, Received: received,
		IsRead: g.rng.Float64() < readRatio}
	m.Categories, m.Importance, m.Flag = properties(i)

	var b bytes.Buffer
	header := func(contentType string) {
		fmt.Fprintf(&b, "From: %s <%s>\r\n", mime.QEncoding.Encode("utf-8", fromName), from)
		fmt.Fprintf(&b, "To: <%s>\r\n", owner)
		fmt.Fprintf(&b, "Subject: %s\r\n", mime.BEncoding.Encode("utf-8", subject))
		fmt.Fprintf(&b, "Date: %s\r\n", received.Format(time.RFC1123Z))
		fmt.Fprintf(&b, "Message-ID: %s\r\n", msgID)
		b.WriteString("MIME-Version: 1.0\r\n")
		if g.rng.IntN(4) == 0 {
			b.WriteString("X-Exmigrate-Lab: generated\r\n")
		}
		fmt.Fprintf(&b, "Content-Type: %s\r\n\r\n", contentType)
	}
	body := g.sentence(20 + g.rng.IntN(60))
	switch kind {
	case kindPlain:
		header(`text/plain; charset="utf-8"`)
		b.WriteString(body + "\r\n")
	case kindHTML:
		header(`multipart/alternative; boundary="alt"`)
		fmt.Fprintf(&b, "--alt\r\nContent-Type: text/plain; charset=\"utf-8\"\r\n\r\n%s\r\n", body)
		fmt.Fprintf(&b, "--alt\r\nContent-Type: text/html; charset=\"utf-8\"\r\n\r\n<html><body><p>%s</p><p><b>%s</b></p></body></html>\r\n--alt--\r\n", body, fromName)
	case kindAttachment:
		header(`multipart/mixed; boundary="mix"`)
		fmt.Fprintf(&b, "--mix\r\nContent-Type: text/plain; charset=\"utf-8\"\r\n\r\n%s\r\n", body)
		data := make([]byte, 2048+g.rng.IntN(30000))
		for j := range data {
			data[j] = byte(g.rng.IntN(256))
		}
		name := mime.QEncoding.Encode("utf-8", fmt.Sprintf("Bericht %d – Übersicht.pdf", i))
		fmt.Fprintf(&b, "--mix\r\nContent-Type: application/pdf; name=\"%s\"\r\nContent-Disposition: attachment; filename=\"%s\"\r\nContent-Transfer-Encoding: base64\r\n\r\n", name, name)
		writeBase64Lines(&b, data)
		b.WriteString("--mix--\r\n")
	case kindInvite:
		m.Class = "IPM.Schedule.Meeting.Request"
		m.Subject = "Invitation: " + subject
		start := received.Add(72 * time.Hour)
		header(`multipart/alternative; boundary="inv"`)
		fmt.Fprintf(&b, "--inv\r\nContent-Type: text/plain; charset=\"utf-8\"\r\n\r\n%s\r\n", body)
		fmt.Fprintf(&b, "--inv\r\nContent-Type: text/calendar; charset=\"utf-8\"; method=REQUEST\r\n\r\n"+
			"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//exmigrate lab//EN\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\n"+
			"UID:%x@%s\r\nDTSTART:%s\r\nDTEND:%s\r\nSUMMARY:%s\r\nORGANIZER:mailto:%s\r\nATTENDEE;RSVP=TRUE:mailto:%s\r\n"+
			"END:VEVENT\r\nEND:VCALENDAR\r\n--inv--\r\n",
			g.rng.Uint64(), g.domain, start.Format("20060102T150405Z"), start.Add(time.Hour).Format("20060102T150405Z"),
			subject, from, owner)
		// The subject header was written before the prefix was added.
		mimeBytes := bytes.Replace(b.Bytes(), []byte("Subject: "+mime.BEncoding.Encode("utf-8", subject)),
			[]byte("Subject: "+mime.BEncoding.Encode("utf-8", m.Subject)), 1)
		m.MIME = mimeBytes
		return m
	}
	m.MIME = b.Bytes()
	return m
}

// properties gives some messages categories, a non-normal importance and a
// follow-up flag, from the index alone so that the random sequence (and so
// every other generated property) stays the same.
func properties(i int) (categories []string, importance, flag string) {
	importance, flag = "Normal", "NotFlagged"
	switch {
	case i%7 == 3:
		categories = []string{"Projects"}
	case i%11 == 5:
		categories = []string{"Red category", "Kunden"}
	}
	switch {
	case i%9 == 4:
		importance = "High"
	case i%13 == 6:
		importance = "Low"
	}
	switch {
	case i%10 == 2:
		flag = "Flagged"
	case i%17 == 8:
		flag = "Complete"
	}
	return categories, importance, flag
}

func writeBase64Lines(w *bytes.Buffer, data []byte) {
	enc := base64.StdEncoding.EncodeToString(data)
	for len(enc) > 76 {
		w.WriteString(enc[:76])
		w.WriteString("\r\n")
		enc = enc[76:]
	}
	w.WriteString(enc)
	w.WriteString("\r\n")
}

// largeMessage is a message with one attachment of about size bytes in
// total, produced as a stream so that a 160 MB item never sits in memory.
func largeMessage(owner, domain string, size int64, seed uint64) (open func() (io.ReadCloser, error), total int64, subject string) {
	head, tail, lines, subject := largeParts(owner, domain, size, seed)
	total = int64(len(head)) + lines*78 + int64(len(tail))
	open = func() (io.ReadCloser, error) {
		body := &base64Lines{rng: rand.New(rand.NewPCG(seed, 7)), lines: lines}
		return io.NopCloser(io.MultiReader(strings.NewReader(head), body, strings.NewReader(tail))), nil
	}
	return open, total, subject
}

// largeParts lays out a large message: its header block, its closing
// boundary and the number of base64 lines of its attachment.
func largeParts(owner, domain string, size int64, seed uint64) (head, tail string, lines int64, subject string) {
	subject = fmt.Sprintf("Large attachment (%d MB)", size>>20)
	head = fmt.Sprintf("From: Scanner <scanner@%s>\r\nTo: <%s>\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <large-%d@%s>\r\n"+
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"big\"\r\n\r\n"+
		"--big\r\nContent-Type: text/plain; charset=\"utf-8\"\r\n\r\nThe scan you asked for is attached.\r\n"+
		"--big\r\nContent-Type: application/octet-stream; name=\"scan.bin\"\r\nContent-Disposition: attachment; filename=\"scan.bin\"\r\n"+
		"Content-Transfer-Encoding: base64\r\n\r\n",
		domain, owner, subject, time.Date(2024, 3, 1, 9, 0, 0, 0, time.UTC).Format(time.RFC1123Z), seed, domain)
	tail = "\r\n--big--\r\n"
	// Each 57 raw bytes become one 76-character line plus CRLF.
	lines = (size - int64(len(head)) - int64(len(tail))) / 78
	if lines < 1 {
		lines = 1
	}
	return head, tail, lines, subject
}

// largeAttachment is the decoded attachment of a large message: the bytes
// a target stores when it keeps the attachment apart from the message.
func largeAttachment(seed uint64, lines int64) []byte {
	rng := rand.New(rand.NewPCG(seed, 7))
	out := make([]byte, 0, lines*57)
	for range lines {
		for range 57 {
			out = append(out, byte(rng.Uint32()))
		}
	}
	return out
}

// base64Lines yields lines of base64 of pseudo-random bytes, one line at a
// time.
type base64Lines struct {
	rng   *rand.Rand
	lines int64
	buf   []byte
}

func (b *base64Lines) Read(p []byte) (int, error) {
	if len(b.buf) == 0 {
		if b.lines == 0 {
			return 0, io.EOF
		}
		var raw [57]byte
		for i := range raw {
			raw[i] = byte(b.rng.Uint32())
		}
		line := make([]byte, 78)
		base64.StdEncoding.Encode(line, raw[:])
		line[76], line[77] = '\r', '\n'
		b.buf = line
		b.lines--
	}
	n := copy(p, b.buf)
	b.buf = b.buf[n:]
	return n, nil
}
