package ewstest_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/ews"
	"github.com/exmigrate/exmigrate/ews/ewstest"
	"github.com/exmigrate/exmigrate/mailbox"
)

// bigStream is a streamed item's content: n bytes of a repeating line,
// never held in memory as a whole.
func bigStream(n int64) func() (io.ReadCloser, error) {
	head := "Subject: Big\r\nMessage-ID: <big@contoso.com>\r\n\r\n"
	return func() (io.ReadCloser, error) {
		body := io.LimitReader(repeatReader("0123456789abcdef\r\n"), n-int64(len(head)))
		return io.NopCloser(io.MultiReader(strings.NewReader(head), body)), nil
	}
}

type repeatReader string

func (r repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = r[i%len(r)]
	}
	return len(p), nil
}

const bigSize = 48 << 20

func seededServer(t *testing.T) *ewstest.Server {
	t.Helper()
	srv := ewstest.NewServer()
	srv.AddAccount("CONTOSO", "svc", "pw-123", true)
	srv.GrantDiscovery("CONTOSO", "svc")
	a := srv.AddMailbox("a@contoso.com")
	a.SetDisplayName("Alice")
	inbox := a.Folder("Inbox")
	for i, subj := range []string{"one", "two", "Grüße"} {
		inbox.AddItem(ewstest.Item{MIME: []byte("Subject: " + subj + "\r\n\r\nbody"), IsRead: i%2 == 0,
			Received: time.Date(2024, 1, i+1, 9, 0, 0, 0, time.UTC), SourceID: "src-" + subj})
	}
	a.Folder("Inbox/Projects/2024").AddItem(ewstest.Item{MIME: []byte("Subject: deep\r\n\r\nx")})
	a.Folder("Inbox").AddItem(ewstest.Item{Open: bigStream(bigSize), Size: bigSize, StreamKey: "big-1", Subject: "Big"})
	a.ArchiveFolder("Inbox").AddItem(ewstest.Item{MIME: []byte("Subject: archived\r\n\r\nx")})
	a.RecoverableFolder("Deletions").AddItem(ewstest.Item{MIME: []byte("Subject: deleted\r\n\r\nx")})
	gone := inbox.AddItem(ewstest.Item{MIME: []byte("Subject: gone\r\n\r\nx")})
	inbox.DeleteItem(gone)
	a.SetRules([]mailbox.Rule{{ID: "r1", Name: "Move", Priority: 1, Enabled: true,
		Actions: mailbox.Actions{MoveToFolder: a.Folder("Inbox/Projects").ID()}}})
	a.SetDelegates([]mailbox.Delegate{{User: "b@contoso.com", Permissions: map[string]string{"Calendar": "Editor"}}}, "DelegatesOnly")
	a.Folder("Inbox/Projects").SetPermissions([]ewstest.Permission{{User: ewstest.DefaultUser, Level: "Reviewer"},
		{User: "b@contoso.com", Level: "Editor"}, {SID: "S-1-5-21-9-9-9-1104", DisplayName: "Old account", Level: "Author"}})
	a.Root("calendar").SetPermissions([]ewstest.Permission{{User: ewstest.DefaultUser, Level: "FreeBusyTimeOnly"}})
	srv.AddMailbox("b@contoso.com")
	srv.AddHold(mailbox.Hold{ID: "h1", Name: "Legal", Status: "Active"}, "a@contoso.com")
	pf := srv.PublicFolder("Company/Announcements")
	pf.SetClass("IPF.Post")
	pf.AddItem(ewstest.Item{MIME: []byte("Subject: welcome\r\n\r\nx"), Class: "IPM.Post"})
	return srv
}

func snapshotOf(t *testing.T, srv *ewstest.Server) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := srv.Snapshot(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func resolver(t *testing.T) ewstest.RestoreOption {
	return ewstest.ResolveStreams(func(key string) (func() (io.ReadCloser, error), error) {
		if key != "big-1" {
			return nil, errors.New("unknown stream")
		}
		return bigStream(bigSize), nil
	})
}

// view is what the inspection API shows of a server.
func view(srv *ewstest.Server) map[string]any {
	out := map[string]any{}
	for _, addr := range []string{"a@contoso.com", "b@contoso.com"} {
		m := srv.AddMailbox(addr) // returns the existing mailbox
		for _, root := range []string{"inbox", "archiveinbox", "recoverableitemsdeletions", "msgfolderroot"} {
			if f := m.Root(root); f != nil {
				out[addr+"/"+root] = []any{f.ID(), f.Items()}
			}
		}
		if p := m.Root("inbox").Child("Projects"); p != nil {
			out[addr+"/projects"] = []any{p.ID(), p.Child("2024").ID(), p.Child("2024").Items(), p.Permissions()}
		}
		out[addr+"/calendar-permissions"] = m.Root("calendar").Permissions()
	}
	pf := srv.PublicFolder("Company/Announcements")
	out["pf"] = []any{pf.ID(), pf.Items()}
	return out
}

func TestSnapshotRoundTrip(t *testing.T) {
	srv := seededServer(t)
	snap := snapshotOf(t, srv)
	if len(snap) > 64<<10 {
		t.Errorf("snapshot is %d bytes; the streamed item must not be in it", len(snap))
	}
	before := view(srv)

	got := ewstest.NewServer()
	if err := got.Restore(bytes.NewReader(snap), resolver(t)); err != nil {
		t.Fatal(err)
	}
	after := view(got)
	if !reflect.DeepEqual(before, after) {
		t.Errorf("restored server differs:\nbefore %v\nafter  %v", before, after)
	}
	// A second snapshot of the restored server is the same document.
	if again := snapshotOf(t, got); !bytes.Equal(gunzip(t, again), gunzip(t, snap)) {
		t.Error("snapshot of the restored server differs from the original snapshot")
	}
}

// The real client sees the same mailbox after a restore: rules, delegates,
// holds, the streamed item's bytes, and sync states handed out before the
// snapshot still hold.
func TestSnapshotClientContinues(t *testing.T) {
	ctx := context.Background()
	srv := seededServer(t)
	url, ca := srv.StartTLS(t)
	box := client(t, url, ca).Mailbox("a@contoso.com")
	inboxID := srv.AddMailbox("a@contoso.com").Root("inbox").ID()
	var state string
	n := 0
	for {
		page, err := box.Changes(ctx, inboxID, state)
		if err != nil {
			t.Fatal(err)
		}
		n += len(page.Changes)
		state = page.State
		if !page.More {
			break
		}
	}
	if n != 4 {
		t.Fatalf("first sync: %d changes, want 4", n)
	}
	snap := snapshotOf(t, srv)

	got := ewstest.NewServer()
	if err := got.Restore(bytes.NewReader(snap), resolver(t)); err != nil {
		t.Fatal(err)
	}
	url2, ca2 := got.StartTLS(t)
	box2 := client(t, url2, ca2).Mailbox("a@contoso.com")
	page, err := box2.Changes(ctx, inboxID, state)
	if err != nil {
		t.Fatalf("sync state from before the snapshot: %v", err)
	}
	if len(page.Changes) != 0 {
		t.Errorf("incremental sync after restore: %d changes, want 0", len(page.Changes))
	}
	items := got.AddMailbox("a@contoso.com").Root("inbox").Items()
	got.AddMailbox("a@contoso.com").Root("inbox").SetRead(items[1].ID, true)
	if page, err = box2.Changes(ctx, inboxID, page.State); err != nil || len(page.Changes) != 1 || page.Changes[0].Kind != mailbox.ChangeReadFlag {
		t.Errorf("after a read change: %+v, %v; want one read-flag change", page.Changes, err)
	}
	rules, err := box2.Rules(ctx)
	if err != nil || len(rules) != 1 || rules[0].Actions.MoveToFolder != srv.AddMailbox("a@contoso.com").Root("inbox").Child("Projects").ID() {
		t.Errorf("rules after restore: %+v, %v", rules, err)
	}
	dels, err := box2.Delegates(ctx)
	if err != nil || len(dels) != 1 || dels[0].User != "b@contoso.com" {
		t.Errorf("delegates after restore: %+v, %v", dels, err)
	}
	holds, err := box2.Holds(ctx)
	if err != nil || len(holds) != 1 || holds[0].Name != "Legal" {
		t.Errorf("holds after restore: %+v, %v", holds, err)
	}
	var big string
	for _, it := range items {
		if it.Subject == "Big" {
			big = it.ID
		}
	}
	rc, err := box2.OpenMIME(ctx, big)
	if err != nil {
		t.Fatal(err)
	}
	nb, err := io.Copy(io.Discard, rc)
	rc.Close()
	if err != nil || nb != bigSize {
		t.Errorf("streamed item after restore: %d bytes, %v; want %d", nb, err, bigSize)
	}

	// A mailbox move after the restore invalidates the old state cleanly.
	got.AddMailbox("a@contoso.com").InvalidateSyncStates()
	if _, err := box2.Changes(ctx, inboxID, state); !errors.Is(err, mailbox.ErrSyncStateInvalid) {
		t.Errorf("after invalidation: %v, want ErrSyncStateInvalid", err)
	}
}

func client(t *testing.T, url string, ca []byte) *ews.Client {
	t.Helper()
	c, err := ews.NewClient(ews.Config{URL: url, Username: `CONTOSO\svc`, Password: "pw-123", CABundlePEM: ca, Impersonation: true})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzipReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSnapshotErrors(t *testing.T) {
	srv := seededServer(t)
	snap := snapshotOf(t, srv)
	doc := gunzip(t, snap)
	for _, tc := range []struct {
		name string
		data []byte
		opts []ewstest.RestoreOption
		want string
	}{
		{"not gzip", []byte("hello"), nil, "not a gzip stream"},
		{"truncated", snap[:len(snap)/2], nil, "corrupt"},
		{"future version", gzipOf(t, bytes.Replace(doc, []byte(`"version":1`), []byte(`"version":99`), 1)), nil, "version 99"},
		{"other format", gzipOf(t, bytes.Replace(doc, []byte(`ewstest-snapshot`), []byte(`other`), 1)), nil, "format"},
		{"unknown permission level", gzipOf(t, bytes.Replace(doc, []byte(`"Level":"Editor"`), []byte(`"Level":"Delegate"`), 1)), nil, "permission entry"},
		{"free/busy on a mail folder", gzipOf(t, bytes.Replace(doc, []byte(`"Level":"Reviewer"`), []byte(`"Level":"FreeBusyTimeOnly"`), 1)), nil, "permission entry"},
		{"no resolver", snap, nil, "no stream resolver"},
		{"unknown stream", snap, []ewstest.RestoreOption{ewstest.ResolveStreams(func(string) (func() (io.ReadCloser, error), error) {
			return nil, errors.New("gone")
		})}, "cannot be resolved"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := ewstest.NewServer()
			s.AddMailbox("keep@contoso.com").Root("inbox").AddItem(ewstest.Item{MIME: []byte("Subject: keep\r\n\r\nx")})
			err := s.Restore(bytes.NewReader(tc.data), tc.opts...)
			if !errors.Is(err, ewstest.ErrSnapshot) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Restore: %v, want ErrSnapshot mentioning %q", err, tc.want)
			}
			if len(s.AddMailbox("keep@contoso.com").Root("inbox").Items()) != 1 {
				t.Error("a failed restore changed the server")
			}
		})
	}

	s := ewstest.NewServer()
	s.AddMailbox("a@contoso.com").Folder("Inbox").AddItem(ewstest.Item{Open: bigStream(1 << 20), Size: 1 << 20})
	if err := s.Snapshot(io.Discard); err == nil || !strings.Contains(err.Error(), "StreamKey") {
		t.Errorf("snapshot of a stream without a key: %v, want an error naming StreamKey", err)
	}
}

func gzipReader(r io.Reader) (io.Reader, error) { return gzip.NewReader(r) }

func gzipOf(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkSnapshotLargeHierarchy snapshots and restores 250,001 public
// folders (the public folder migration limit, plus one).
func BenchmarkSnapshotLargeHierarchy(b *testing.B) {
	srv := ewstest.NewServer()
	for p := range 500 {
		parent := fmt.Sprintf("P%03d", p)
		for c := range 499 {
			srv.PublicFolder(parent + "/" + strconv.Itoa(c))
		}
	}
	srv.PublicFolder("Seed")
	b.ReportAllocs()
	var size int
	for b.Loop() {
		var buf bytes.Buffer
		if err := srv.Snapshot(&buf); err != nil {
			b.Fatal(err)
		}
		size = buf.Len()
		if err := ewstest.NewServer().Restore(&buf); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(size), "snapshot-bytes")
}

// With a base seeded the same way, a snapshot holds only what changed
// since seeding, and restores to the same server.
func TestSnapshotAgainstBase(t *testing.T) {
	srv := seededServer(t)
	inbox := srv.AddMailbox("a@contoso.com").Root("inbox")
	inbox.SetRead(inbox.Items()[1].ID, true)
	added := inbox.AddItem(ewstest.Item{MIME: []byte("Subject: after seeding\r\n\r\n" + strings.Repeat("new content ", 500))})
	full := snapshotOf(t, srv)
	var buf bytes.Buffer
	if err := srv.Snapshot(&buf, ewstest.SnapshotBase(seededServer(t))); err != nil {
		t.Fatal(err)
	}
	delta := buf.Bytes()
	doc := string(gunzip(t, delta))
	if strings.Contains(doc, "U3ViamVjdDogb25l") { // base64 of "Subject: one"
		t.Error("the delta snapshot holds the MIME of a seeded item")
	}
	// Only the item added after seeding carries its MIME.
	if n, all := strings.Count(doc, `"MIME":`), strings.Count(string(gunzip(t, full)), `"MIME":`); n != 1 || all < 8 {
		t.Errorf("delta snapshot carries the MIME of %d items (full: %d), want 1", n, all)
	}

	got := ewstest.NewServer()
	if err := got.Restore(bytes.NewReader(delta), resolver(t), ewstest.SnapshotBase(seededServer(t))); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(view(srv), view(got)) {
		t.Error("restore against the base differs from the server snapshotted")
	}
	var found bool
	for _, it := range got.AddMailbox("a@contoso.com").Root("inbox").Items() {
		found = found || it.ID == added
	}
	if !found {
		t.Error("the item added after seeding is missing")
	}

	for name, opts := range map[string][]ewstest.SnapshotOption{
		"no base":    {resolver(t)},
		"other base": {resolver(t), ewstest.SnapshotBase(otherContent(t))},
	} {
		err := ewstest.NewServer().Restore(bytes.NewReader(delta), opts...)
		if !errors.Is(err, ewstest.ErrSnapshot) || !strings.Contains(err.Error(), "base") {
			t.Errorf("%s: %v, want ErrSnapshot naming the base", name, err)
		}
	}
}

// otherContent is a server whose item ids match seededServer's but whose
// first item has other MIME.
func otherContent(t *testing.T) *ewstest.Server {
	t.Helper()
	srv := ewstest.NewServer()
	a := srv.AddMailbox("a@contoso.com")
	a.Folder("Inbox").AddItem(ewstest.Item{MIME: []byte("Subject: not one\r\n\r\nbody")})
	return srv
}

func TestEachItem(t *testing.T) {
	srv := seededServer(t)
	var subjects []string
	srv.EachItem(func(it ewstest.StoredItem) { subjects = append(subjects, it.Subject) })
	want := []string{"one", "two", "Grüße", "deep", "Big", "archived", "deleted", "welcome"}
	if strings.Join(subjects, ",") != strings.Join(want, ",") {
		t.Errorf("EachItem: %v, want %v", subjects, want)
	}
}
