package ews_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/ews"
	"github.com/exmigrate/exmigrate/ews/ewstest"
	"github.com/exmigrate/exmigrate/mailbox"
)

func TestFoldersItemsAndMIME(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	proj := e.mb.Folder("Inbox/Projects/2024")
	e.mb.Folder("Inbox/Projects").SetHidden(true)
	want := map[string][]byte{}
	for i := range 5 {
		m := mime(fmt.Sprintf("Report %d", i), 500*(i+1))
		id := proj.AddItem(ewstest.Item{MIME: m, IsRead: i%2 == 0, Received: time.Date(2024, 1, i+1, 8, 0, 0, 0, time.UTC)})
		want[id] = m
	}
	box := e.c.Mailbox(testMailbox)
	folders, err := box.Folders(ctx, mailbox.ScopePrimary)
	if err != nil {
		t.Fatal(err)
	}
	byPath := map[string]mailbox.Folder{}
	for i, f := range folders {
		byPath[f.Path] = f
		if i > 0 {
			if _, ok := byPath[parentPath(f.Path)]; !ok {
				t.Errorf("folder %q listed before its parent", f.Path)
			}
		}
	}
	if folders[0].Path != "" || folders[0].WellKnown != mailbox.RootFolder {
		t.Errorf("first folder = %+v, want the root", folders[0])
	}
	if byPath["Inbox"].WellKnown != mailbox.Inbox || byPath["Sent Items"].WellKnown != mailbox.SentItems {
		t.Errorf("well-known folders not tagged: inbox %+v sent %+v", byPath["Inbox"], byPath["Sent Items"])
	}
	if !byPath["Inbox/Projects"].Hidden {
		t.Errorf("hidden flag (0x10F4) not read")
	}
	p := byPath["Inbox/Projects/2024"]
	if p.ID != proj.ID() || p.ItemCount != 5 || p.Class != "IPF.Note" {
		t.Errorf("folder = %+v", p)
	}
	var total int64
	for _, m := range want {
		total += int64(len(m))
	}
	if p.SizeBytes != total {
		t.Errorf("folder size (0x0E08) = %d, want %d", p.SizeBytes, total)
	}
	if byPath["Calendar"].Class != mailbox.ClassCalendarFolder {
		t.Errorf("calendar class = %q", byPath["Calendar"].Class)
	}

	var items []mailbox.Item
	if err := box.Items(ctx, proj.ID(), func(it mailbox.Item) error { items = append(items, it); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(items) != 5 {
		t.Fatalf("got %d items, want 5", len(items))
	}
	for i, it := range items {
		if it.Subject != fmt.Sprintf("Report %d", i) || it.Class != "IPM.Note" || it.IsRead != (i%2 == 0) ||
			it.SizeBytes != int64(len(want[it.ID])) || !it.Received.Equal(time.Date(2024, 1, i+1, 8, 0, 0, 0, time.UTC)) ||
			it.InternetMessageID != fmt.Sprintf("<Report.%d@contoso.com>", i) || it.FolderID != proj.ID() {
			t.Errorf("item %d = %+v", i, it)
		}
		rc, err := box.OpenMIME(ctx, it.ID)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want[it.ID]) {
			t.Errorf("MIME of item %d differs: got %d bytes, want %d", i, len(got), len(want[it.ID]))
		}
	}
}

func parentPath(p string) string {
	if i := strings.LastIndex(p, "/"); i >= 0 {
		return p[:i]
	}
	return ""
}

func TestPaging(t *testing.T) {
	for _, tc := range []struct {
		name  string
		limit int
		items int
	}{
		{"full pages of 1000", 1000, 2500},
		{"partial pages", 333, 1000},
		{"exact multiple", 1000, 2000},
		{"empty folder", 1000, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, ewstest.WithPageLimit(tc.limit))
			f := e.mb.Folder("Big")
			for i := range tc.items {
				f.AddItem(ewstest.Item{MIME: []byte(fmt.Sprintf("Subject: %d\r\n\r\nx", i))})
			}
			seen := map[string]bool{}
			n := 0
			err := e.c.Mailbox(testMailbox).Items(context.Background(), f.ID(), func(it mailbox.Item) error {
				if seen[it.ID] {
					t.Errorf("item %s returned twice", it.ID)
				}
				seen[it.ID] = true
				if it.Subject != fmt.Sprint(n) {
					t.Errorf("item %d has subject %q", n, it.Subject)
				}
				n++
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if n != tc.items {
				t.Errorf("got %d items, want %d", n, tc.items)
			}
			pages := (tc.items + tc.limit - 1) / tc.limit
			if pages == 0 {
				pages = 1
			}
			if got := e.srv.Requests("FindItem"); got != int64(pages) {
				t.Errorf("FindItem requests = %d, want %d", got, pages)
			}
		})
	}
}

func TestCreateFolderAndMessage(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	box := e.c.Mailbox(testMailbox)
	inbox := e.mb.Root("inbox")
	f1, err := box.CreateFolder(ctx, inbox.ID(), "Migrated", "IPF.Note")
	if err != nil {
		t.Fatal(err)
	}
	f2, err := box.CreateFolder(ctx, inbox.ID(), "migrated", "IPF.Note")
	if err != nil {
		t.Fatal(err)
	}
	if f1.ID != f2.ID || f1.ID == "" {
		t.Errorf("CreateFolder is not idempotent: %q then %q", f1.ID, f2.ID)
	}
	if e.srv.Writes() != 1 {
		t.Errorf("writes = %d, want 1", e.srv.Writes())
	}
	received := time.Date(2023, 5, 6, 7, 8, 9, 0, time.UTC)
	sent := received.Add(-time.Minute)
	for _, read := range []bool{true, false} {
		content := mime(fmt.Sprintf("Imported %t", read), 3000)
		src := fmt.Sprintf("src-%t", read)
		id, err := box.CreateMessage(ctx, f1.ID, mailbox.Message{
			Item: mailbox.Item{IsRead: read, Received: received, Sent: sent}, SourceID: src,
			MIME: bytes.NewReader(content), Size: int64(len(content)),
		})
		if err != nil {
			t.Fatal(err)
		}
		got, found, err := box.FindBySourceID(ctx, f1.ID, src)
		if err != nil || !found || got != id {
			t.Fatalf("FindBySourceID = %q, %v, %v; want %q", got, found, err, id)
		}
	}
	_, found, err := box.FindBySourceID(ctx, f1.ID, "nope")
	if err != nil || found {
		t.Errorf("FindBySourceID(nope) = %v, %v", found, err)
	}
	stored := e.mb.Folder("Inbox/Migrated").Items()
	if len(stored) != 2 {
		t.Fatalf("stored %d items", len(stored))
	}
	for _, s := range stored {
		read := s.SourceID == "src-true"
		wantFlags := "0"
		if read {
			wantFlags = "1"
		}
		if s.IsDraft || s.IsRead != read || s.MessageFlags != wantFlags || !s.Received.Equal(received) || !s.Sent.Equal(sent) {
			t.Errorf("stored item = %+v", s)
		}
	}
	// SetRead flips it back.
	if err := box.SetRead(ctx, stored[1].ID, true); err != nil {
		t.Fatal(err)
	}
	if !e.mb.Folder("Inbox/Migrated").Items()[1].IsRead {
		t.Errorf("SetRead did not mark the item read")
	}
}

func TestLargeMessageGoesThroughTempFile(t *testing.T) {
	e := newEnv(t)
	box := e.c.Mailbox(testMailbox)
	content := mime("Big one", 5<<20)
	// Size -1 (unknown) and a non-seekable reader force the temp-file path.
	id, err := box.CreateMessage(context.Background(), e.mb.Root("inbox").ID(), mailbox.Message{
		SourceID: "big", MIME: io.MultiReader(bytes.NewReader(content)), Size: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	items := e.mb.Root("inbox").Items()
	if len(items) != 1 || items[0].ID != id || !bytes.Equal(items[0].MIME, content) {
		t.Fatalf("stored item differs")
	}
}

func TestWrongPassword(t *testing.T) {
	e := newEnv(t)
	c := e.client(t, func(cfg *ews.Config) { cfg.Password = "wrong" })
	err := c.Check(context.Background())
	want := `EWS authentication failed for CONTOSO\svc at ` + e.url + `: check onprem.username and the password source`
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
	if !errors.Is(err, mailbox.ErrAuthentication) {
		t.Errorf("error does not match mailbox.ErrAuthentication")
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Errorf("error leaks the password")
	}
	if n := e.srv.Requests(""); n != 0 {
		t.Errorf("%d requests got past authentication", n)
	}
	if err := e.c.Check(context.Background()); err != nil {
		t.Errorf("right password: %v", err)
	}
}

func TestConfigValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  ews.Config
		want string
	}{
		{"http remote", ews.Config{URL: "http://mail.contoso.com/EWS/Exchange.asmx", Username: "a", Password: "b"}, "use https"},
		{"no user", ews.Config{URL: "https://mail.contoso.com/EWS/Exchange.asmx", Password: "b"}, "onprem.username"},
		{"no password", ews.Config{URL: "https://mail.contoso.com/EWS/Exchange.asmx", Username: "a"}, "password source"},
		{"bad version", ews.Config{URL: "https://x/EWS/Exchange.asmx", Username: "a", Password: "b", ServerVersion: "Exchange2019"}, "not an EWS RequestServerVersion"},
		{"ftp", ews.Config{URL: "ftp://x/", Username: "a", Password: "b"}, "https://"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ews.NewClient(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
	if _, err := ews.NewClient(ews.Config{URL: "http://127.0.0.1:8080/EWS/Exchange.asmx", Username: "a", Password: "b"}); err != nil {
		t.Errorf("loopback http refused: %v", err)
	}
	cfg := ews.Config{URL: "https://x", Username: "u", Password: "s3cret"}
	if s := fmt.Sprintf("%v %+v %#v %s", cfg, cfg, cfg, cfg); strings.Contains(s, "s3cret") {
		t.Errorf("Config formatting leaks the password: %s", s)
	}
	c, err := ews.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if s := fmt.Sprintf("%v %+v %#v %v", c, c, c, c.Mailbox("a@b")); strings.Contains(s, "s3cret") {
		t.Errorf("Client formatting leaks the password: %s", s)
	}
}

func TestLargeBodyCrossesTheWireOnce(t *testing.T) {
	e := newEnv(t)
	content := mime("Upload", 3<<20)
	before := e.srv.BytesReceived()
	_, err := e.c.Mailbox(testMailbox).CreateMessage(context.Background(), e.mb.Root("inbox").ID(), mailbox.Message{
		SourceID: "up", MIME: bytes.NewReader(content), Size: int64(len(content))})
	if err != nil {
		t.Fatal(err)
	}
	sent := e.srv.BytesReceived() - before
	if limit := int64(len(content)) * 4 / 3 * 3 / 2; sent > limit {
		t.Errorf("server read %d bytes for a %d-byte item: the body was sent more than once", sent, len(content))
	}
}

func TestReadMIMEBatches(t *testing.T) {
	e := newEnv(t)
	f := e.mb.Folder("Batch")
	var ids []string
	want := map[string][]byte{}
	for i := range 120 {
		m := mime(fmt.Sprintf("Batch %d", i), 100+i*37)
		id := f.AddItem(ewstest.Item{MIME: m})
		ids = append(ids, id)
		want[id] = m
	}
	f.DeleteItem(ids[60]) // gone before the copy reads it
	var got []string
	err := e.c.Mailbox(testMailbox).ReadMIME(context.Background(), ids, func(id string, r io.Reader, err error) error {
		got = append(got, id)
		if id == ids[60] {
			if !errors.Is(err, mailbox.ErrNotFound) || r != nil {
				t.Errorf("deleted item: %v", err)
			}
			return nil
		}
		if err != nil {
			return err
		}
		if id == ids[7] {
			return nil // not reading an item must not disturb the next one
		}
		b, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		if !bytes.Equal(b, want[id]) {
			t.Errorf("item %s: %d bytes, want %d", id, len(b), len(want[id]))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(ids) || got[0] != ids[0] || got[119] != ids[119] {
		t.Errorf("fn saw %d items", len(got))
	}
	if n := e.srv.Requests("GetItem"); n != 3 {
		t.Errorf("GetItem requests = %d, want 3 (batches of %d)", n, ews.MaxMIMEBatch)
	}
	stop := errors.New("stop")
	err = e.c.Mailbox(testMailbox).ReadMIME(context.Background(), ids[:5], func(string, io.Reader, error) error { return stop })
	if !errors.Is(err, stop) {
		t.Errorf("fn's error not returned: %v", err)
	}
}

func TestLogsNeverCarryThePassword(t *testing.T) {
	e := newEnv(t)
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := e.client(t, func(cfg *ews.Config) { cfg.Logger = log })
	e.srv.Inject(ewstest.Fault{Kind: ewstest.FaultServerBusy, BackOff: time.Millisecond})
	if _, err := listInbox(context.Background(), e, c); err != nil {
		t.Fatal(err)
	}
	bad := e.client(t, func(cfg *ews.Config) { cfg.Logger = log; cfg.Password = "Wr0ng-Secret" })
	bad.Check(context.Background())
	out := buf.String()
	if !strings.Contains(out, "ews request") || !strings.Contains(out, "waiting before retry") {
		t.Errorf("expected request and retry logs, got:\n%s", out)
	}
	for _, secret := range []string{testPassword, "Wr0ng-Secret"} {
		if strings.Contains(out, secret) {
			t.Errorf("log contains a password:\n%s", out)
		}
	}
}

func TestIllegalXMLCharactersAreDropped(t *testing.T) {
	e := newEnv(t)
	f := e.mb.Folder("Odd")
	f.AddItem(ewstest.Item{MIME: []byte("Subject: x\r\n\r\nbody"), Subject: "Quarterly\x01 report\x0b"})
	var subjects []string
	err := e.c.Mailbox(testMailbox).Items(context.Background(), f.ID(), func(it mailbox.Item) error {
		subjects = append(subjects, it.Subject)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(subjects) != 1 || subjects[0] != "Quarterly report" {
		t.Errorf("subjects = %q, want the control characters dropped", subjects)
	}
}
