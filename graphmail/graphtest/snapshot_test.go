package graphtest

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/exmigrate/exmigrate/mailbox"
)

const bigAttachment = 5 << 20

func bigBytes() []byte { return bytes.Repeat([]byte("exmigrate"), bigAttachment/9+1)[:bigAttachment] }

// seededForSnapshot fills a fake through its API and fixtures: messages,
// a large attachment uploaded in a session, a rule, a folder, a deletion,
// and a delta link handed out.
func seededForSnapshot(t *testing.T) (f *fixture, deltaLink string) {
	t.Helper()
	f = start(t)
	f.s.AddOnPremUser("onprem@contoso.example")
	fx := f.s.Mailbox(alice)
	fx.Folder("Inbox/Projects")
	for i := range 3 {
		fx.AddMessage("Inbox", Message{Subject: fmt.Sprintf("m%d", i), Body: "Grüße", IsRead: i == 0, Categories: []string{"Blue"},
			ExtendedProperties: map[string]string{"Integer 0x0E07": "1"}, Headers: map[string]string{"x-a": "b"},
			Attachments: []Attachment{{ID: "att", Name: "a.txt", Size: 1, Data: []byte("a"), SHA256: sha256.Sum256([]byte("a"))}}})
	}
	gone := fx.AddMessage("Inbox", Message{Subject: "gone"})
	fx.DeleteMessage(gone)
	fx.AddRule(Rule{"displayName": "r", "sequence": 1.0, "isEnabled": true})
	tok := f.bearer(t, appID, secret)
	m := f.call(t, tok, "POST", "/users/"+alice+"/mailFolders/inbox/messages", []byte(`{"subject":"with a big attachment"}`))
	id := m.body["id"].(string)
	us := f.call(t, tok, "POST", "/users/"+alice+"/messages/"+id+"/attachments/createUploadSession",
		[]byte(`{"AttachmentItem":{"attachmentType":"file","name":"big.bin","size":`+fmt.Sprint(bigAttachment)+`}}`))
	u := us.body["uploadUrl"].(string)
	data := bigBytes()
	for from := 0; from < len(data); from += 3 << 20 {
		to := min(from+3<<20, len(data)) - 1
		if a := f.call(t, "", "PUT", u, data[from:to+1], "Content-Range", fmt.Sprintf("bytes %d-%d/%d", from, to, len(data))); a.status >= 300 {
			t.Fatalf("upload: %d %v", a.status, a.body)
		}
	}
	link := "/users/" + alice + "/mailFolders/inbox/messages/delta"
	for {
		a := f.call(t, tok, "GET", link, nil)
		if a.status != 200 {
			t.Fatalf("delta: %d %v", a.status, a.body)
		}
		if next, ok := a.body["@odata.nextLink"].(string); ok {
			link = next
			continue
		}
		return f, a.body["@odata.deltaLink"].(string)
	}
}

func snapshotBytes(t *testing.T, s *Server, opts ...SnapshotOption) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := s.Snapshot(&buf, opts...); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func resolveBig(sum [32]byte, size int64) ([]byte, error) {
	if b := bigBytes(); size == int64(len(b)) && sha256.Sum256(b) == sum {
		return b, nil
	}
	return nil, errors.New("unknown attachment")
}

func TestSnapshotRestore(t *testing.T) {
	f, deltaLink := seededForSnapshot(t)
	snap := snapshotBytes(t, f.s, ExternalAttachments(1<<20))
	if len(snap) > 16<<10 {
		t.Errorf("snapshot is %d bytes; the %d-byte attachment must be left out", len(snap), bigAttachment)
	}
	got := NewServer()
	if err := got.Restore(bytes.NewReader(snap), ResolveAttachments(resolveBig)); err != nil {
		t.Fatal(err)
	}
	was, is := f.s.Mailbox(alice), got.Mailbox(alice)
	for _, path := range []string{"Inbox", "Inbox/Projects", "Sent Items"} {
		if was.FolderID(path) != is.FolderID(path) {
			t.Errorf("folder %s: id %q, was %q", path, is.FolderID(path), was.FolderID(path))
		}
		if a, b := was.Messages(path), is.Messages(path); !reflect.DeepEqual(a, b) {
			t.Errorf("messages of %s differ after restore:\nwas %+v\nis  %+v", path, a, b)
		}
	}
	if !reflect.DeepEqual(was.Rules(), is.Rules()) {
		t.Errorf("rules: %v, was %v", is.Rules(), was.Rules())
	}

	// The restored server on another port: its app signs in again, the old
	// delta link (moved to the new host) still holds and reports nothing,
	// then reports a later change.
	g := &fixture{s: got, ep: got.StartTLS(t)}
	tok := g.bearer(t, appID, secret)
	if a := g.call(t, tok, "GET", "/users/onprem@contoso.example/messages", nil); a.code() != "MailboxNotEnabledForRESTAPI" {
		t.Errorf("on-prem user after restore: %d %v", a.status, a.body)
	}
	moved := rehost(t, deltaLink, g.ep.BaseURL)
	a := g.call(t, tok, "GET", moved, nil)
	if vals, _ := a.body["value"].([]any); a.status != 200 || len(vals) != 0 {
		t.Fatalf("old delta link after restore: %d, %v", a.status, a.body)
	}
	first := is.Messages("Inbox")[0]
	is.UpdateMessage(first.ID, func(m *Message) { m.IsRead = !m.IsRead })
	a = g.call(t, tok, "GET", rehost(t, a.body["@odata.deltaLink"].(string), g.ep.BaseURL), nil)
	if vals, _ := a.body["value"].([]any); a.status != 200 || len(vals) != 1 || vals[0].(map[string]any)["id"] != first.ID {
		t.Errorf("delta after a change: %d %v", a.status, a.body)
	}
	got.ExpireDeltaTokens()
	if a := g.call(t, tok, "GET", moved, nil); a.status != 410 {
		t.Errorf("expired delta link after restore: %d, want 410", a.status)
	}

	// A snapshot without ExternalAttachments carries the bytes.
	full := snapshotBytes(t, f.s)
	if len(full) < len(snap)+1<<10 {
		t.Errorf("full snapshot %d bytes, external one %d: the attachment bytes are missing", len(full), len(snap))
	}
	again := NewServer()
	if err := again.Restore(bytes.NewReader(full)); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(again.Mailbox(alice).Messages("Inbox"), was.Messages("Inbox")) {
		t.Error("restore of a full snapshot differs")
	}
}

// rehost moves a link handed out by one server to another's host.
func rehost(t *testing.T, link, base string) string {
	t.Helper()
	u, err := url.Parse(link)
	b, err2 := url.Parse(base)
	if err != nil || err2 != nil {
		t.Fatal(err, err2)
	}
	u.Host = b.Host
	return u.String()
}

func TestSnapshotRestoreErrors(t *testing.T) {
	f, _ := seededForSnapshot(t)
	snap := snapshotBytes(t, f.s, ExternalAttachments(1<<20))
	zr, err := gzip.NewReader(bytes.NewReader(snap))
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := io.ReadAll(zr)
	regz := func(b []byte) []byte {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(b)
		zw.Close()
		return buf.Bytes()
	}
	for _, tc := range []struct {
		name string
		data []byte
		opts []SnapshotOption
		want string
	}{
		{"not gzip", []byte("{}"), nil, "not a gzip stream"},
		{"truncated", snap[:len(snap)/2], nil, "corrupt"},
		{"future version", regz(bytes.Replace(doc, []byte(`"version":1`), []byte(`"version":7`), 1)), nil, "version 7"},
		{"no resolver", snap, nil, "no resolver"},
		{"wrong bytes", snap, []SnapshotOption{ResolveAttachments(func([32]byte, int64) ([]byte, error) {
			return make([]byte, bigAttachment), nil
		})}, "other bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := NewServer()
			s.AddMailbox("keep@contoso.example", mailbox.TypeUser)
			err := s.Restore(bytes.NewReader(tc.data), tc.opts...)
			if !errors.Is(err, ErrSnapshot) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Restore: %v, want ErrSnapshot mentioning %q", err, tc.want)
			}
			if s.Mailbox("keep@contoso.example") == nil {
				t.Error("a failed restore changed the server")
			}
		})
	}
}

// ExternalAttachmentsFunc leaves out exactly the attachments the caller
// can give back.
func TestSnapshotExternalAttachmentsFunc(t *testing.T) {
	f, _ := seededForSnapshot(t)
	small := sha256.Sum256([]byte("a"))
	var asked int
	snap := snapshotBytes(t, f.s, ExternalAttachmentsFunc(func(sum [32]byte, size int64) bool {
		asked++
		return sum == small && size == 1
	}))
	zr, err := gzip.NewReader(bytes.NewReader(snap))
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := io.ReadAll(zr)
	if n := strings.Count(string(doc), `"External":[0]`); n != 3 || asked != 4 {
		t.Errorf("%d messages with the small attachment left out (asked %d times), want 3 (4)", n, asked)
	}
	if len(doc) < bigAttachment {
		t.Errorf("the big attachment is not in the snapshot (%d bytes)", len(doc))
	}
	got := NewServer()
	err = got.Restore(bytes.NewReader(snap), ResolveAttachments(func(sum [32]byte, size int64) ([]byte, error) {
		if sum == small {
			return []byte("a"), nil
		}
		return nil, errors.New("unknown")
	}))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Mailbox(alice).Messages("Inbox"), f.s.Mailbox(alice).Messages("Inbox")) {
		t.Error("restore differs")
	}
}

// With a base seeded the same way, messages whose MIME the base holds are
// written without it and restored from the base.
func TestSnapshotAgainstBase(t *testing.T) {
	seedInto := func(s *Server) {
		fx := s.AddMailbox("eve@contoso.example", mailbox.TypeUser)
		for i := range 5 {
			fx.AddMessage("Inbox", Message{Subject: fmt.Sprint("s", i), MIME: []byte(fmt.Sprintf("Subject: s%d\r\n\r\n%s", i, strings.Repeat("seeded ", 200)))})
		}
	}
	srv, base := NewServer(), NewServer()
	seedInto(srv)
	seedInto(base)
	fx := srv.Mailbox("eve@contoso.example")
	fx.AddMessage("Inbox", Message{Subject: "later", MIME: []byte("Subject: later\r\n\r\nnot in the base")})
	snap := snapshotBytes(t, srv, SnapshotBase(base))
	zr, _ := gzip.NewReader(bytes.NewReader(snap))
	doc, _ := io.ReadAll(zr)
	if n := strings.Count(string(doc), `"BaseMIMESHA256"`); n != 5 {
		t.Errorf("%d messages written against the base, want 5", n)
	}
	got := NewServer()
	if err := got.Restore(bytes.NewReader(snap), SnapshotBase(base)); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Mailbox("eve@contoso.example").Messages("Inbox"), fx.Messages("Inbox")) {
		t.Error("restore against the base differs")
	}
	if err := NewServer().Restore(bytes.NewReader(snap)); !errors.Is(err, ErrSnapshot) || !strings.Contains(err.Error(), "SnapshotBase") {
		t.Errorf("restore without the base: %v", err)
	}
}
