package graphmail_test

import (
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/graphmail"
	"github.com/exmigrate/exmigrate/graphmail/graphtest"
	"github.com/exmigrate/exmigrate/mailbox"
)

func TestFolderTree(t *testing.T) {
	l := newLab(t)
	fx := l.srv.AddMailbox(alice, mailbox.TypeUser)
	fx.Folder("Inbox/Projects/2024")
	fx.Folder("Inbox/Projects/2025")
	fx.Folder("Inbox/a\\b/c") // a name with a backslash
	fx.HiddenFolder("Inbox/Hidden One")
	for i := range 120 { // more children than one page
		fx.Folder("Bulk/" + strings.Repeat("x", 1+i%7) + string(rune('A'+i%26)) + string(rune('a'+i/26)))
	}

	folders, err := l.c.Mailbox(alice).Folders(ctxT(t), mailbox.ScopePrimary)
	if err != nil {
		t.Fatal(err)
	}
	byPath := map[string]mailbox.Folder{}
	seen := map[string]bool{}
	for i, f := range folders {
		if i > 0 && !seen[f.ParentID] {
			t.Fatalf("folder %q listed before its parent", f.Path)
		}
		seen[f.ID] = true
		byPath[f.Path] = f
	}
	root, ok := byPath[""]
	if !ok || root.WellKnown != mailbox.RootFolder || root.ID != fx.RootID() {
		t.Fatalf("root = %+v", root)
	}
	checks := []struct {
		path   string
		wk     mailbox.WellKnown
		hidden bool
	}{
		{"Inbox", mailbox.Inbox, false},
		{"Sent Items", mailbox.SentItems, false},
		{"Deleted Items", mailbox.DeletedItems, false},
		{"Inbox/Projects/2024", "", false},
		{"Inbox/Projects/2025", "", false},
		{`Inbox/a\\b/c`, "", false},
		{"Inbox/Hidden One", "", true},
		{"Sync Issues", "", true},
	}
	for _, c := range checks {
		f, ok := byPath[c.path]
		if !ok {
			t.Errorf("folder %q missing; have %d folders", c.path, len(folders))
			continue
		}
		if f.WellKnown != c.wk || f.Hidden != c.hidden || f.Class != mailbox.ClassMailFolder {
			t.Errorf("folder %q = %+v, want well-known %q hidden %v", c.path, f, c.wk, c.hidden)
		}
	}
	if got := byPath["Inbox/Projects/2024"].Depth(); got != 3 {
		t.Errorf("depth = %d", got)
	}
	bulk := 0
	for p := range byPath {
		if strings.HasPrefix(p, "Bulk/") {
			bulk++
		}
	}
	if bulk != 120 {
		t.Errorf("Bulk children = %d, want 120 (paging)", bulk)
	}

	// A second listing by the same Mailbox marks the same well-known
	// folders without resolving them again: the $batch of nine steps
	// (each a request to Graph's limits, as the fake counts them) goes.
	first := l.srv.Requests()
	mb := l.c.Mailbox(alice)
	if _, err := mb.Folders(ctxT(t), mailbox.ScopePrimary); err != nil {
		t.Fatal(err)
	}
	fresh := l.srv.Requests() - first
	before := l.srv.Requests()
	again, err := mb.Folders(ctxT(t), mailbox.ScopePrimary)
	if err != nil {
		t.Fatal(err)
	}
	if got := l.srv.Requests() - before; got != fresh-9 {
		t.Errorf("a second listing of one mailbox made %d requests, a first %d: want the nine steps fewer", got, fresh)
	}
	for _, f := range again {
		if want := byPath[f.Path].WellKnown; f.WellKnown != want {
			t.Errorf("second listing: %q well-known %q, want %q", f.Path, f.WellKnown, want)
		}
	}

	_, err = l.c.Mailbox(alice).Folders(ctxT(t), mailbox.ScopeArchive)
	if !errors.Is(err, graphmail.ErrUnsupported) {
		t.Errorf("archive scope: %v, want ErrUnsupported", err)
	}
}

func TestCreateFolderIdempotent(t *testing.T) {
	l := newLab(t)
	fx := l.srv.AddMailbox(alice, mailbox.TypeUser)
	mb := l.c.Mailbox(alice)
	if _, err := mb.Folders(ctxT(t), mailbox.ScopePrimary); err != nil {
		t.Fatal(err)
	}
	inbox := fx.FolderID("Inbox")
	a, err := mb.CreateFolder(ctxT(t), inbox, "Project O'Hara", "")
	if err != nil {
		t.Fatal(err)
	}
	if a.Path != "Inbox/Project O'Hara" || a.ParentID != inbox || a.ID == "" {
		t.Errorf("created %+v", a)
	}
	b, err := mb.CreateFolder(ctxT(t), inbox, "Project O'Hara", "")
	if err != nil {
		t.Fatalf("second create: %v", err)
	}
	if b.ID != a.ID {
		t.Errorf("second create made a new folder %s, want %s reused", b.ID, a.ID)
	}
	cal, err := mb.CreateFolder(ctxT(t), "", "Old Calendar", mailbox.ClassCalendarFolder)
	if err != nil {
		t.Fatal(err)
	}
	// A calendar folder is a Graph calendar (/calendars), not a mail
	// folder of that class.
	if got := fx.Calendars()[cal.ID]; got != "Old Calendar" || cal.Class != mailbox.ClassCalendarFolder {
		t.Errorf("calendar %s is %q in the fake, class %q", cal.ID, got, cal.Class)
	}
	again, err := mb.CreateFolder(ctxT(t), "", "Old Calendar", mailbox.ClassCalendarFolder)
	if err != nil || again.ID != cal.ID {
		t.Errorf("second calendar create = %+v, %v; want %s reused", again, err, cal.ID)
	}
	if cal.Path != "Old Calendar" {
		t.Errorf("path = %q", cal.Path)
	}
}

func TestCreateMessageIsNotDraft(t *testing.T) {
	l := newLab(t)
	fx := l.srv.AddMailbox(alice, mailbox.TypeUser)
	mb := l.c.Mailbox(alice)
	received := time.Date(2019, 5, 1, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		read bool
	}{{"read", true}, {"unread", false}}
	folder := fx.Folder("Inbox/Migrated")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := "ews:" + tc.name
			raw := mimeMessage("Quarterly "+tc.name, "<q-"+tc.name+"@fabrikam.example>", received.Add(-time.Minute))
			id, err := mb.CreateMessage(ctxT(t), folder, mailbox.Message{
				Item: neutral("Quarterly "+tc.name, tc.read, received), SourceID: src, MIME: strings.NewReader(raw), Size: int64(len(raw)),
			})
			if err != nil {
				t.Fatal(err)
			}
			m, ok := fx.Message(id)
			if !ok {
				t.Fatalf("message %s not stored", id)
			}
			if m.IsDraft {
				t.Error("created message is a draft")
			}
			if m.IsRead != tc.read {
				t.Errorf("isRead = %v", m.IsRead)
			}
			if !m.Received.Equal(received) || !m.Sent.Equal(received.Add(-time.Minute)) {
				t.Errorf("dates received %v sent %v", m.Received, m.Sent)
			}
			want := map[string]string{
				"String {" + mailbox.SourceIDPropertySet + "} Name " + mailbox.SourceIDPropertyName: src,
			}
			for k, v := range want {
				if m.ExtendedProperties[k] != v {
					t.Errorf("extended property %s = %q, want %q (all: %v)", k, m.ExtendedProperties[k], v, m.ExtendedProperties)
				}
			}
			if f := m.ExtendedProperties["Integer 0x0E07"]; f != map[bool]string{true: "1", false: "0"}[tc.read] {
				t.Errorf("PR_MESSAGE_FLAGS = %q", f)
			}
			if m.InternetMessageID != "<q-"+tc.name+"@fabrikam.example>" || m.Subject != "Quarterly "+tc.name {
				t.Errorf("id %q subject %q", m.InternetMessageID, m.Subject)
			}
			if m.From != "bob@fabrikam.example" || !slices.Equal(m.To, []string{"alice@contoso.example"}) || !slices.Equal(m.Cc, []string{"carol@contoso.example"}) {
				t.Errorf("from %q to %v cc %v", m.From, m.To, m.Cc)
			}
			if m.BodyType != "html" || !strings.Contains(m.Body, "<b>Alice</b>") {
				t.Errorf("body %s %q", m.BodyType, m.Body)
			}
			if m.Importance != "high" || !slices.Equal(m.Categories, []string{"Blue"}) || m.FlagStatus != "flagged" {
				t.Errorf("importance %q categories %v flag %q", m.Importance, m.Categories, m.FlagStatus)
			}
			if m.Headers["X-Exm-Trace"] != "t-1" {
				t.Errorf("x- headers %v", m.Headers)
			}
		})
	}

	var items []mailbox.Item
	if err := mb.Items(ctxT(t), folder, func(it mailbox.Item) error { items = append(items, it); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(items) != 2 {
		t.Fatalf("listed %d items", len(items))
	}
	for _, it := range items {
		if it.IsDraft || it.SourceID == "" || !it.Received.Equal(received) || it.FolderID != folder || it.SizeBytes <= 0 || it.Class != mailbox.ClassMessage {
			t.Errorf("listed item %+v", it)
		}
	}
}

func TestOpenMIMEStreams(t *testing.T) {
	l := newLab(t)
	fx := l.srv.AddMailbox(alice, mailbox.TypeUser)
	raw := []byte("Subject: hi\r\nFrom: a@b.example\r\n\r\n" + strings.Repeat("line of text\r\n", 200000))
	id := fx.AddMessage("Inbox", graphtest.Message{Subject: "hi", MIME: raw})
	rc, err := l.c.Mailbox(alice).OpenMIME(ctxT(t), id)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || string(got) != string(raw) {
		t.Fatalf("read %d bytes, err %v; want %d", len(got), err, len(raw))
	}
	// A well-formed id that names nothing (Graph: 404 ErrorItemNotFound).
	if _, err := l.c.Mailbox(alice).OpenMIME(ctxT(t), "AAMkAGI2TG93AAA-missing="); !errors.Is(err, mailbox.ErrNotFound) {
		t.Errorf("missing item: %v, want ErrNotFound", err)
	}
}

// TestCopyBetweenMailboxes reads a message from one mailbox as a Source
// (delta, MIME) and writes it to another as a Target, the way the copy
// engine does, and heals a rerun through the stamp.
func TestCopyBetweenMailboxes(t *testing.T) {
	l := newLab(t)
	src := l.srv.AddMailbox("src@contoso.example", mailbox.TypeUser)
	dst := l.srv.AddMailbox("dst@contoso.example", mailbox.TypeUser)
	raw := mimeMessage("Copied", "<copied@x.example>", time.Date(2020, 2, 2, 2, 2, 2, 0, time.UTC))
	src.AddMessage("Inbox", graphtest.Message{Subject: "Copied", MIME: []byte(raw), IsRead: false,
		Received: time.Date(2020, 2, 2, 2, 3, 0, 0, time.UTC), Sent: time.Date(2020, 2, 2, 2, 2, 2, 0, time.UTC)})
	var s mailbox.Source = l.c.Mailbox("src@contoso.example")
	var d mailbox.Target = l.c.Mailbox("dst@contoso.example")
	page, err := s.Changes(ctxT(t), src.FolderID("Inbox"), "")
	if err != nil || len(page.Changes) != 1 {
		t.Fatalf("changes %v %v", page, err)
	}
	it := page.Changes[0].Item
	for range 2 { // the second pass finds the stamp and writes nothing
		if _, found, err := d.FindBySourceID(ctxT(t), dst.FolderID("Inbox"), it.ID); err != nil || found {
			if err != nil {
				t.Fatal(err)
			}
			continue
		}
		rc, err := s.OpenItem(ctxT(t), it.ID, mailbox.FormatMIME)
		if err != nil {
			t.Fatal(err)
		}
		_, err = d.CreateItem(ctxT(t), dst.FolderID("Inbox"), mailbox.Payload{Item: it, SourceID: it.ID, Format: mailbox.FormatMIME, Body: rc, Size: -1})
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	got := dst.Messages("Inbox")
	if len(got) != 1 {
		t.Fatalf("%d messages in the target", len(got))
	}
	m := got[0]
	if m.IsDraft || m.IsRead || m.Subject != "Copied" || !m.Received.Equal(it.Received) || !m.Sent.Equal(it.Sent) || m.InternetMessageID != "<copied@x.example>" {
		t.Errorf("copied %+v", m)
	}
}
