// Package mailboxtest is the conformance suite of the mailbox contract:
// every backend (ews against ewstest, graphmail against graphtest, the
// in-memory reference backend, and a real server or tenant when the
// environment names one) runs RunSource and RunTarget from a test named
// TestConformance, so that the copy engine can rely on the same behaviour
// whichever side it talks to. The contracts it pins are listed in
// Contracts, and each subtest is named after one.
package mailboxtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/mailbox"
)

// Mailbox is one side's adapter for one mailbox: what the suite drives.
type Mailbox interface {
	mailbox.Source
	mailbox.Target
}

// Fixture is what the suite needs from a backend besides the contract
// itself. A nil function skips the contracts that need it, saying why: a
// real server cannot be made to lose an answer on demand.
type Fixture struct {
	// NewMailbox returns an empty mailbox of its own (fresh for each call)
	// with the service's well-known folders. Required.
	NewMailbox func(t *testing.T) Mailbox
	// MissingMailbox returns a mailbox that does not exist.
	MissingMailbox func(t *testing.T) Mailbox
	// DeniedMailbox returns a mailbox that exists but that the account may
	// not open.
	DeniedMailbox func(t *testing.T) Mailbox
	// ExpireSyncStates makes every sync state of mb handed out so far
	// invalid (as a mailbox move does).
	ExpireSyncStates func(t *testing.T, mb Mailbox)
	// LoseNextCreateAnswer makes the service carry out the next item
	// create of mb and lose its answer (a dropped connection).
	LoseNextCreateAnswer func(t *testing.T, mb Mailbox)
	// InterruptNextCreate makes the next item create of mb stop half-way
	// (the item created, its attachments not, and no clean-up possible:
	// a crash between the requests of one write); the returned function
	// lets the service answer normally again. Nil for a side whose item
	// write is a single request.
	InterruptNextCreate func(t *testing.T, mb Mailbox) (restore func())
	// ThrottleNext makes the service throttle mb beyond the adapter's own
	// retries for the next requests.
	ThrottleNext func(t *testing.T, mb Mailbox)
	// Unreachable makes every later request of mb go unanswered (the
	// connection dropped each time).
	Unreachable func(t *testing.T, mb Mailbox)
	// MissingItemID returns an item id of mb's kind that names no item.
	MissingItemID func(t *testing.T, mb Mailbox) string
	// SyncPageSize is how many changes one Changes call returns at most in
	// this fixture's configuration; the paging test writes more than that.
	// 0 skips the paging test.
	SyncPageSize int
	// LargeItemBytes is the size of the large-item test's message; 0 skips it.
	LargeItemBytes int64
	// MeasureHeap checks that the large item is streamed: the heap must not
	// grow by half the item's size while it is written and read. Only
	// meaningful when the service does not keep bodies in this process's
	// memory.
	MeasureHeap bool
}

// Contracts lists every contract the suite pins, one per subtest.
var Contracts = []string{
	"FoldersParentsFirst: the root (empty path) comes first and every folder after its parent, with Path filled",
	"CreateFolderEmptyParent: an empty parent id creates under the primary root",
	"CreateFolderIdempotent: the same name under the same parent returns the existing folder, with Path filled",
	"CreateItemKeepsProperties: read state, received and sent dates, importance, categories and flag are kept, never a draft",
	"StampFound: an item is found by its stamp in its folder, and an unknown stamp is not",
	"StampsListed: Stamps lists every complete item's stamp of a folder once, with its id, and nothing of other folders",
	"StampFoundAfterLostAnswer: a create whose answer was lost is found by its stamp, and the error is retryable",
	"HalfWrittenHidden: a write interrupted half-way is not found by its stamp, and the next write of the stamp removes it (reported as a side write) and leaves exactly one item",
	"ReadStateRoundTrip: SetRead is reported by the next Changes round with the new read state",
	"ChangesPageToTheEnd: Changes pages until More is false and reports every item once",
	"ExpiredSyncState: an expired state fails with ErrSyncStateInvalid",
	"ItemCounts: folders report true item counts when the side declares them",
	"OpenItemMIME: an item's MIME streams back with its subject and body",
	"UnsupportedFormat: a format or kind the side does not declare fails with ErrUnsupported, permanently",
	"LargeItemStreamed: a large item is written and read as a stream, never held whole in memory",
	"ErrNotFound: an unknown item maps to ErrNotFound",
	"ErrMailboxNotFound: a mailbox that does not exist maps to ErrMailboxNotFound",
	"ErrAccessDenied: a mailbox the account may not open maps to ErrAccessDenied",
	"ErrThrottled: throttling beyond the adapter's retries maps to ErrThrottled and is not retried above it",
	"ErrUnavailable: a service that never answers maps to ErrUnavailable after the adapter's own retries, not retried above it",
	"TooLarge: an item over the side's limit fails with *ItemTooLargeError before its body is read",
	"ContactsTyped: a side declaring contacts as typed writes a contact and reads every property back, finds and lists its stamp, and reports it as a contact",
	"EventsTyped: a side declaring calendar items as typed keeps every property of an appointment and an all-day event; a meeting is kept whole or becomes an appointment whose body names every attendee and response, with the loss reported",
	"TasksTyped: a side declaring tasks as typed keeps every property it does not report as lost",
	"ContactGroupTyped: a contact group is kept with its members, or refused with a permanent ErrUnsupported",
	"UpdateTyped: a side that updates items rewrites a contact, an event and a task in place, with a new version and its stamp kept",
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func need(t *testing.T, ok bool, what string) {
	t.Helper()
	if !ok {
		t.Skipf("the fixture cannot %s", what)
	}
}

// RunTarget runs the contracts of a mailbox.Target.
func RunTarget(t *testing.T, f Fixture) {
	t.Run("CreateFolderEmptyParent", func(t *testing.T) { testCreateFolderEmptyParent(t, f) })
	t.Run("CreateFolderIdempotent", func(t *testing.T) { testCreateFolderIdempotent(t, f) })
	t.Run("CreateItemKeepsProperties", func(t *testing.T) { testCreateItemKeepsProperties(t, f) })
	t.Run("StampFound", func(t *testing.T) { testStampFound(t, f) })
	t.Run("StampsListed", func(t *testing.T) { testStampsListed(t, f) })
	t.Run("StampFoundAfterLostAnswer", func(t *testing.T) { testLostAnswer(t, f) })
	t.Run("HalfWrittenHidden", func(t *testing.T) { testHalfWritten(t, f) })
	t.Run("ReadStateRoundTrip", func(t *testing.T) { testReadState(t, f) })
	t.Run("UnsupportedFormat", func(t *testing.T) { testUnsupported(t, f) })
	t.Run("TooLarge", func(t *testing.T) { testTooLarge(t, f) })
	t.Run("LargeItemStreamed", func(t *testing.T) { testLargeItem(t, f) })
	t.Run("ErrNotFound", func(t *testing.T) { testNotFound(t, f) })
	t.Run("ContactsTyped", func(t *testing.T) { testContactsTyped(t, f) })
	t.Run("EventsTyped", func(t *testing.T) { testEventsTyped(t, f) })
	t.Run("TasksTyped", func(t *testing.T) { testTasksTyped(t, f) })
	t.Run("ContactGroupTyped", func(t *testing.T) { testContactGroupTyped(t, f) })
	t.Run("UpdateTyped", func(t *testing.T) { testUpdateTyped(t, f) })
}

// RunSource runs the contracts of a mailbox.Source. Items are written
// through the same backend's Target first.
func RunSource(t *testing.T, f Fixture) {
	t.Run("FoldersParentsFirst", func(t *testing.T) { testFoldersParentsFirst(t, f) })
	t.Run("ChangesPageToTheEnd", func(t *testing.T) { testPaging(t, f) })
	t.Run("ExpiredSyncState", func(t *testing.T) { testExpired(t, f) })
	t.Run("ItemCounts", func(t *testing.T) { testItemCounts(t, f) })
	t.Run("OpenItemMIME", func(t *testing.T) { testOpenItem(t, f) })
	t.Run("ErrMailboxNotFound", func(t *testing.T) { testMissingMailbox(t, f) })
	t.Run("ErrAccessDenied", func(t *testing.T) { testDenied(t, f) })
	t.Run("ErrThrottled", func(t *testing.T) { testThrottled(t, f) })
	t.Run("ErrUnavailable", func(t *testing.T) { testUnavailable(t, f) })
}

func testUnavailable(t *testing.T, f Fixture) {
	need(t, f.Unreachable != nil, "stop answering on demand")
	mb := f.NewMailbox(t)
	fd := folder(t, mb, "Unreachable")
	f.Unreachable(t, mb)
	_, err := mb.Changes(ctxT(t), fd.ID, "")
	if !errors.Is(err, mailbox.ErrUnavailable) {
		t.Fatalf("Changes of an unreachable service = %v, want ErrUnavailable", err)
	}
	if retry, _ := mailbox.ShouldRetry(err); retry {
		t.Error("ErrUnavailable is retried above the adapter, which already retried it")
	}
	if mailbox.IsPermanent(err) {
		t.Error("an unreachable service is taken for the item's fault (permanent): the item would be skipped")
	}
}

// --- helpers -------------------------------------------------------------

// folder creates (or finds) a mail folder under the primary root.
func folder(t *testing.T, mb Mailbox, name string) mailbox.Folder {
	t.Helper()
	fd, err := mb.CreateFolder(ctxT(t), "", name, mailbox.ClassMailFolder)
	if err != nil {
		t.Fatalf("CreateFolder(%q): %v", name, err)
	}
	return fd
}

func stamp() string {
	b := make([]byte, 10)
	rand.Read(b)
	return "exm1-test-" + hex.EncodeToString(b)
}

// Message builds a small RFC 5322 message for the suite's items.
func Message(subject, body string, date time.Time) string {
	id := stamp()
	return "From: Alice Example <alice@example.com>\r\n" +
		"To: Bob Example <bob@example.com>\r\n" +
		"Subject: " + subject + "\r\n" +
		"Date: " + date.UTC().Format(time.RFC1123Z) + "\r\n" +
		"Message-ID: <" + id + "@example.com>\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n" +
		"\r\n" + body + "\r\n"
}

var base = time.Date(2024, 3, 14, 9, 26, 53, 0, time.UTC)

type written struct {
	id    string
	stamp string
	item  mailbox.Item
}

func write(t *testing.T, mb Mailbox, fd mailbox.Folder, it mailbox.Item) written {
	t.Helper()
	if it.Class == "" {
		it.Class = mailbox.ClassMessage
	}
	if it.Received.IsZero() {
		it.Received = base
		it.Sent = base.Add(-time.Minute)
	}
	if it.Importance == "" {
		it.Importance = mailbox.ImportanceNormal
	}
	if it.Flag == "" {
		it.Flag = mailbox.NotFlagged
	}
	raw := Message(it.Subject, "body of "+it.Subject, it.Sent)
	sid := stamp()
	id, err := mb.CreateItem(ctxT(t), fd.ID, mailbox.Payload{Item: it, SourceID: sid, Format: mailbox.FormatMIME,
		Body: strings.NewReader(raw), Size: int64(len(raw))})
	if err != nil {
		t.Fatalf("CreateItem(%q): %v", it.Subject, err)
	}
	if id == "" {
		t.Fatalf("CreateItem(%q) returned an empty id", it.Subject)
	}
	return written{id: id, stamp: sid, item: it}
}

// syncAll runs Changes from state to the end and returns the changes and
// the new state.
func syncAll(t *testing.T, mb Mailbox, folderID, state string) ([]mailbox.Change, string, int) {
	t.Helper()
	var all []mailbox.Change
	rounds := 0
	for {
		page, err := mb.Changes(ctxT(t), folderID, state)
		if err != nil {
			t.Fatalf("Changes (round %d): %v", rounds+1, err)
		}
		rounds++
		all = append(all, page.Changes...)
		if page.State == "" {
			t.Fatal("Changes returned an empty state")
		}
		state = page.State
		if !page.More {
			return all, state, rounds
		}
		if rounds > 10000 {
			t.Fatal("Changes never ended")
		}
	}
}

func byID(changes []mailbox.Change, id string) (mailbox.Change, bool) {
	for i := len(changes) - 1; i >= 0; i-- {
		if changes[i].Item.ID == id {
			return changes[i], true
		}
	}
	return mailbox.Change{}, false
}

// --- target contracts ----------------------------------------------------

func testCreateFolderEmptyParent(t *testing.T, f Fixture) {
	mb := f.NewMailbox(t)
	name := "Conformance " + stamp()[10:18]
	fd := folder(t, mb, name)
	if fd.ID == "" || fd.Path != mailbox.EscapeName(name) {
		t.Fatalf("CreateFolder(\"\", %q) = ID %q Path %q; want an id and Path %q", name, fd.ID, fd.Path, name)
	}
	tree, err := mb.Folders(ctxT(t), mailbox.ScopePrimary)
	if err != nil {
		t.Fatal(err)
	}
	if len(tree) == 0 || tree[0].Path != "" {
		t.Fatal("Folders: the root does not come first")
	}
	for _, x := range tree {
		if x.ID == fd.ID {
			if x.ParentID != tree[0].ID || x.Path != fd.Path {
				t.Fatalf("the folder is listed with parent %q path %q; want the root %q and %q", x.ParentID, x.Path, tree[0].ID, fd.Path)
			}
			return
		}
	}
	t.Fatalf("the created folder %q is not listed", name)
}

func testCreateFolderIdempotent(t *testing.T, f Fixture) {
	mb := f.NewMailbox(t)
	parent := folder(t, mb, "Projects")
	child, err := mb.CreateFolder(ctxT(t), parent.ID, "2024/Q1", mailbox.ClassMailFolder)
	if err != nil {
		t.Fatal(err)
	}
	wantPath := mailbox.JoinPath("Projects", "2024/Q1")
	if child.Path != wantPath {
		t.Fatalf("nested CreateFolder Path = %q, want %q", child.Path, wantPath)
	}
	again, err := mb.CreateFolder(ctxT(t), parent.ID, "2024/Q1", mailbox.ClassMailFolder)
	if err != nil {
		t.Fatalf("second CreateFolder: %v", err)
	}
	if again.ID != child.ID || again.Path != wantPath {
		t.Fatalf("second CreateFolder = (%q, %q), want the existing (%q, %q)", again.ID, again.Path, child.ID, wantPath)
	}
	top := folder(t, mb, "Projects")
	if top.ID != parent.ID || top.Path != "Projects" {
		t.Fatalf("CreateFolder of an existing top folder = (%q, %q), want (%q, Projects)", top.ID, top.Path, parent.ID)
	}
	tree, err := mb.Folders(ctxT(t), mailbox.ScopePrimary)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, x := range tree {
		if x.Path == wantPath {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d folders at %q after two creates, want 1", n, wantPath)
	}
}

func testCreateItemKeepsProperties(t *testing.T, f Fixture) {
	mb := f.NewMailbox(t)
	fd := folder(t, mb, "Kept")
	cases := []mailbox.Item{
		{Subject: "read, high, flagged", IsRead: true, Importance: mailbox.ImportanceHigh, Flag: mailbox.Flagged,
			Categories: []string{"Blue category", "Red category"}, Received: base, Sent: base.Add(-time.Hour)},
		{Subject: "unread, low, complete", IsRead: false, Importance: mailbox.ImportanceLow, Flag: mailbox.Complete,
			Received: base.AddDate(-3, 2, 1), Sent: base.AddDate(-3, 2, 1).Add(-90 * time.Second)},
		{Subject: "plain", IsRead: true, Received: base.Add(24 * time.Hour), Sent: base.Add(23 * time.Hour)},
	}
	var ws []written
	for _, c := range cases {
		ws = append(ws, write(t, mb, fd, c))
	}
	changes, _, _ := syncAll(t, mb, fd.ID, "")
	for _, w := range ws {
		ch, ok := byID(changes, w.id)
		if !ok {
			t.Errorf("%q: not reported by a full sync", w.item.Subject)
			continue
		}
		got, want := ch.Item, w.item
		if ch.Kind != mailbox.ChangeCreated {
			t.Errorf("%q: first sync reports %s, want created", want.Subject, ch.Kind)
		}
		if got.Subject != want.Subject {
			t.Errorf("subject %q, want %q", got.Subject, want.Subject)
		}
		if got.IsRead != want.IsRead || got.IsDraft {
			t.Errorf("%q: read %v draft %v, want read %v and never a draft", want.Subject, got.IsRead, got.IsDraft, want.IsRead)
		}
		if !got.Received.Equal(want.Received) {
			t.Errorf("%q: received %v, want %v", want.Subject, got.Received, want.Received)
		}
		if !got.Sent.IsZero() && !got.Sent.Equal(want.Sent) {
			t.Errorf("%q: sent %v, want %v", want.Subject, got.Sent, want.Sent)
		}
		if got.Importance != want.Importance {
			t.Errorf("%q: importance %q, want %q", want.Subject, got.Importance, want.Importance)
		}
		if got.Flag != want.Flag {
			t.Errorf("%q: flag %q, want %q", want.Subject, got.Flag, want.Flag)
		}
		gc, wc := slices.Clone(got.Categories), slices.Clone(want.Categories)
		slices.Sort(gc)
		slices.Sort(wc)
		if !slices.Equal(gc, wc) {
			t.Errorf("%q: categories %q, want %q", want.Subject, gc, wc)
		}
		if got.Kind() != mailbox.KindMail {
			t.Errorf("%q: kind %s (class %q), want mail", want.Subject, got.Kind(), got.Class)
		}
	}
}

func testStampFound(t *testing.T, f Fixture) {
	mb := f.NewMailbox(t)
	fd := folder(t, mb, "Stamped")
	other := folder(t, mb, "Elsewhere")
	w := write(t, mb, fd, mailbox.Item{Subject: "stamped"})
	id, found, err := mb.FindBySourceID(ctxT(t), fd.ID, w.stamp)
	if err != nil || !found || id != w.id {
		t.Fatalf("FindBySourceID = (%q, %v, %v), want (%q, true, nil)", id, found, err, w.id)
	}
	if _, found, err := mb.FindBySourceID(ctxT(t), fd.ID, stamp()); err != nil || found {
		t.Fatalf("FindBySourceID of an unknown stamp = (%v, %v), want (false, nil)", found, err)
	}
	if _, found, err := mb.FindBySourceID(ctxT(t), other.ID, w.stamp); err != nil || found {
		t.Fatalf("FindBySourceID in another folder = (%v, %v), want (false, nil): stamps are looked up per folder", found, err)
	}
}

func stampsOf(t *testing.T, mb Mailbox, folderID string) map[string][]string {
	t.Helper()
	got := map[string][]string{}
	if err := mb.Stamps(ctxT(t), folderID, func(it mailbox.Item) error {
		got[it.SourceID] = append(got[it.SourceID], it.ID)
		return nil
	}); err != nil {
		t.Fatalf("Stamps: %v", err)
	}
	return got
}

func testStampsListed(t *testing.T, f Fixture) {
	mb := f.NewMailbox(t)
	fd := folder(t, mb, "Listed")
	other := folder(t, mb, "Not listed")
	want := map[string]string{}
	read := map[string]bool{}
	for i := range 5 {
		w := write(t, mb, fd, mailbox.Item{Subject: fmt.Sprintf("listed %d", i), IsRead: i%2 == 0})
		want[w.stamp], read[w.id] = w.id, i%2 == 0
	}
	write(t, mb, other, mailbox.Item{Subject: "elsewhere"})
	got := stampsOf(t, mb, fd.ID)
	if len(got) != len(want) {
		t.Errorf("Stamps listed %d stamps, want %d", len(got), len(want))
	}
	for sid, id := range want {
		if ids := got[sid]; len(ids) != 1 || ids[0] != id {
			t.Errorf("stamp %s listed with %q, want once with %q", sid, ids, id)
		}
	}
	if err := mb.Stamps(ctxT(t), fd.ID, func(it mailbox.Item) error {
		if it.IsRead != read[it.ID] {
			t.Errorf("Stamps lists %q with read %v, written %v", it.Subject, it.IsRead, read[it.ID])
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	errStop := errors.New("stop")
	n := 0
	if err := mb.Stamps(ctxT(t), fd.ID, func(mailbox.Item) error { n++; return errStop }); !errors.Is(err, errStop) || n != 1 {
		t.Errorf("Stamps after fn failed: %v after %d calls, want fn's error after 1", err, n)
	}
}

func testLostAnswer(t *testing.T, f Fixture) {
	need(t, f.LoseNextCreateAnswer != nil, "lose an answer on demand")
	mb := f.NewMailbox(t)
	fd := folder(t, mb, "Lost answers")
	f.LoseNextCreateAnswer(t, mb)
	raw := Message("lost answer", "written, answer lost", base)
	sid := stamp()
	_, err := mb.CreateItem(ctxT(t), fd.ID, mailbox.Payload{Item: mailbox.Item{Subject: "lost answer", Class: mailbox.ClassMessage,
		Received: base, Sent: base, IsRead: true}, SourceID: sid, Format: mailbox.FormatMIME, Body: strings.NewReader(raw), Size: int64(len(raw))})
	if err == nil {
		t.Fatal("CreateItem succeeded although its answer was to be lost")
	}
	if retry, _ := mailbox.ShouldRetry(err); !retry {
		t.Errorf("a lost answer is not retryable: %v", err)
	}
	id, found, ferr := mb.FindBySourceID(ctxT(t), fd.ID, sid)
	if ferr != nil || !found || id == "" {
		t.Fatalf("after a lost answer FindBySourceID = (%q, %v, %v), want the item the service wrote", id, found, ferr)
	}
	changes, _, _ := syncAll(t, mb, fd.ID, "")
	if len(changes) != 1 {
		t.Fatalf("%d items in the folder after one lost answer, want 1", len(changes))
	}
}

func testHalfWritten(t *testing.T, f Fixture) {
	need(t, f.InterruptNextCreate != nil, "interrupt a write half-way (its item writes are single requests)")
	mb := f.NewMailbox(t)
	fd := folder(t, mb, "Half written")
	const size = 6 << 20 // an attachment over Graph's 3 MB inline limit: an upload session follows the create
	payload := func(sid string) mailbox.Payload {
		return mailbox.Payload{Item: mailbox.Item{Subject: "half written", Class: mailbox.ClassMessage, Received: base, Sent: base,
			HasAttachments: true, SizeBytes: size}, SourceID: sid, Format: mailbox.FormatMIME, Body: largeMessage("half written", size), Size: size}
	}
	sid := stamp()
	restore := f.InterruptNextCreate(t, mb)
	_, err := mb.CreateItem(ctxT(t), fd.ID, payload(sid))
	restore()
	if err == nil {
		t.Fatal("the interrupted create succeeded")
	}
	if id, found, err := mb.FindBySourceID(ctxT(t), fd.ID, sid); err != nil || found {
		t.Fatalf("after an interrupted write FindBySourceID = (%q, %v, %v): a half-written item is taken for a copy", id, found, err)
	}
	if got := stampsOf(t, mb, fd.ID); len(got) != 0 {
		t.Fatalf("after an interrupted write Stamps lists %v: a half-written item is taken for a copy", got)
	}
	var removed []mailbox.SideWrite
	var mu sync.Mutex
	ctx := mailbox.WithSideWrites(ctxT(t), func(w mailbox.SideWrite) {
		mu.Lock()
		removed = append(removed, w)
		mu.Unlock()
	})
	id, err := mb.CreateItem(ctx, fd.ID, payload(sid))
	if err != nil {
		t.Fatalf("writing the stamp again: %v", err)
	}
	// The half-done copy is removed, and the removal reported twice so
	// that it goes on record: before the request (Started), and after.
	if len(removed) != 2 || !removed[0].Started || removed[1].Started || removed[0].ItemID != removed[1].ItemID ||
		removed[1].Action != mailbox.SideWriteDeleteIncomplete || removed[1].Err != nil || removed[1].SourceID != sid {
		t.Errorf("side writes while writing the stamp again: %+v, want one removal of the incomplete copy of %s, reported started then done", removed, sid)
	}
	if got, found, err := mb.FindBySourceID(ctxT(t), fd.ID, sid); err != nil || !found || got != id {
		t.Fatalf("FindBySourceID = (%q, %v, %v), want (%q, true, nil)", got, found, err, id)
	}
	changes, _, _ := syncAll(t, mb, fd.ID, "")
	if len(changes) != 1 {
		t.Fatalf("%d items in the folder after an interrupted and a complete write, want 1", len(changes))
	}
}

func testReadState(t *testing.T, f Fixture) {
	mb := f.NewMailbox(t)
	fd := folder(t, mb, "Read state")
	w := write(t, mb, fd, mailbox.Item{Subject: "to be unread", IsRead: true})
	_, state, _ := syncAll(t, mb, fd.ID, "")
	for _, read := range []bool{false, true} {
		if err := mb.SetRead(ctxT(t), w.id, read); err != nil {
			t.Fatalf("SetRead(%v): %v", read, err)
		}
		changes, next, _ := syncAll(t, mb, fd.ID, state)
		state = next
		ch, ok := byID(changes, w.id)
		if !ok {
			t.Fatalf("SetRead(%v) is not reported by the next Changes round (%d changes)", read, len(changes))
		}
		// A side that declares read-flag changes reports them as such; one
		// that does not (Graph delta tells no kind of change) may report
		// the item as created or updated: the engine compares the state.
		kindOK := ch.Kind == mailbox.ChangeReadFlag
		if !mb.Capabilities().ReadFlagChanges {
			kindOK = ch.Kind == mailbox.ChangeUpdated || ch.Kind == mailbox.ChangeCreated
		}
		if !kindOK || ch.Item.IsRead != read {
			t.Fatalf("after SetRead(%v): %s with read %v (read-flag changes declared: %v)", read, ch.Kind, ch.Item.IsRead, mb.Capabilities().ReadFlagChanges)
		}
	}
}

func testUnsupported(t *testing.T, f Fixture) {
	mb := f.NewMailbox(t)
	caps := mb.Capabilities()
	if len(caps.Writer(mailbox.ScopePrimary, mailbox.KindMail)) == 0 || len(caps.Reader(mailbox.ScopePrimary, mailbox.KindMail)) == 0 {
		t.Fatal("the side declares no primary mail path")
	}
	if caps.Backend == "" {
		t.Error("Capabilities.Backend is empty")
	}
	fd := folder(t, mb, "Unsupported")
	for _, fm := range []mailbox.Format{mailbox.FormatFullFidelity, mailbox.FormatTyped, "bogus"} {
		declared := false
		for _, w := range caps.Writer(mailbox.ScopePrimary, mailbox.KindMail) {
			declared = declared || w.Format == fm
		}
		if declared {
			continue
		}
		_, err := mb.CreateItem(ctxT(t), fd.ID, mailbox.Payload{Item: mailbox.Item{Subject: "x", Class: mailbox.ClassMessage},
			SourceID: stamp(), Format: fm, Body: failReader{t}, Size: 10})
		if !errors.Is(err, mailbox.ErrUnsupported) || !mailbox.IsPermanent(err) {
			t.Errorf("CreateItem as undeclared %q = %v, want a permanent ErrUnsupported", fm, err)
		}
	}
}

// failReader fails the test when read: the side must decide before it
// reads the body.
type failReader struct{ t *testing.T }

func (r failReader) Read([]byte) (int, error) {
	r.t.Error("the body was read although the write was to be refused first")
	return 0, io.ErrUnexpectedEOF
}

func testTooLarge(t *testing.T, f Fixture) {
	mb := f.NewMailbox(t)
	limit := mb.Capabilities().MaxItemBytes
	need(t, limit > 0, "name a size limit (Capabilities.MaxItemBytes is 0)")
	fd := folder(t, mb, "Too large")
	_, err := mb.CreateItem(ctxT(t), fd.ID, mailbox.Payload{Item: mailbox.Item{Subject: "too large", Class: mailbox.ClassMessage, SizeBytes: limit + 1},
		SourceID: stamp(), Format: mailbox.FormatMIME, Body: failReader{t}, Size: limit + 1})
	var tl *mailbox.ItemTooLargeError
	if !errors.As(err, &tl) || !errors.Is(err, mailbox.ErrItemRejected) || !mailbox.IsPermanent(err) {
		t.Fatalf("CreateItem over the limit = %v, want *ItemTooLargeError", err)
	}
	if tl.Limit != limit {
		t.Errorf("the error names limit %d, the side declares %d", tl.Limit, limit)
	}
}

// largeMessage streams a message with one attachment of about size bytes,
// generating it as it is read.
func largeMessage(subject string, size int64) io.Reader {
	head := "From: alice@example.com\r\nTo: bob@example.com\r\nSubject: " + subject + "\r\n" +
		"Date: " + base.Format(time.RFC1123Z) + "\r\nMessage-ID: <" + stamp() + "@example.com>\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nlarge item\r\n" +
		"--b1\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"large.bin\"\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\n"
	tail := "\r\n--b1--\r\n"
	line := strings.Repeat("QUJD", 19) + "\r\n" // "ABC" repeated, 76 columns as RFC 2045 wants
	n := (size - int64(len(head)+len(tail))) / int64(len(line))
	return io.MultiReader(strings.NewReader(head), &repeatReader{line: line, n: n}, strings.NewReader(tail))
}

type repeatReader struct {
	line string
	n    int64
	off  int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	w := 0
	for w < len(p) && r.n > 0 {
		c := copy(p[w:], r.line[r.off:])
		w += c
		r.off += c
		if r.off == len(r.line) {
			r.off = 0
			r.n--
		}
	}
	return w, nil
}

// heapPeak samples the heap until stop is called and returns the peak
// growth over the starting point.
func heapPeak() (stop func() uint64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	start := ms.HeapAlloc
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			if m.HeapAlloc > start && m.HeapAlloc-start > peak.Load() {
				peak.Store(m.HeapAlloc - start)
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() uint64 { close(done); wg.Wait(); return peak.Load() }
}

func testLargeItem(t *testing.T, f Fixture) {
	need(t, f.LargeItemBytes > 0, "hold a large item (LargeItemBytes is 0)")
	mb := f.NewMailbox(t)
	fd := folder(t, mb, "Large")
	var stop func() uint64
	if f.MeasureHeap {
		stop = heapPeak()
	}
	sid := stamp()
	id, err := mb.CreateItem(ctxT(t), fd.ID, mailbox.Payload{Item: mailbox.Item{Subject: "large item", Class: mailbox.ClassMessage,
		Received: base, Sent: base, HasAttachments: true, SizeBytes: f.LargeItemBytes}, SourceID: sid, Format: mailbox.FormatMIME,
		Body: largeMessage("large item", f.LargeItemBytes), Size: f.LargeItemBytes})
	if err != nil {
		t.Fatalf("CreateItem of %d bytes: %v", f.LargeItemBytes, err)
	}
	rc, err := mb.OpenItem(ctxT(t), id, mailbox.FormatMIME)
	if err != nil {
		t.Fatalf("OpenItem of the large item: %v", err)
	}
	n, err := io.Copy(io.Discard, rc)
	rc.Close()
	if err != nil {
		t.Fatalf("reading the large item: %v", err)
	}
	if n < f.LargeItemBytes*9/10 {
		t.Fatalf("the large item read back as %d bytes, written %d", n, f.LargeItemBytes)
	}
	if stop != nil {
		if peak := stop(); peak > uint64(f.LargeItemBytes/2) {
			t.Fatalf("the heap grew by %d bytes while a %d-byte item was written and read: it is not streamed", peak, f.LargeItemBytes)
		} else {
			t.Logf("heap peak growth %d bytes for a %d-byte item", peak, f.LargeItemBytes)
		}
	}
}

func testNotFound(t *testing.T, f Fixture) {
	need(t, f.MissingItemID != nil, "name a missing item")
	mb := f.NewMailbox(t)
	folder(t, mb, "Missing")
	missing := f.MissingItemID(t, mb)
	if err := mb.SetRead(ctxT(t), missing, true); !errors.Is(err, mailbox.ErrNotFound) {
		t.Errorf("SetRead of a missing item = %v, want ErrNotFound", err)
	}
	if rc, err := mb.OpenItem(ctxT(t), missing, mailbox.FormatMIME); !errors.Is(err, mailbox.ErrNotFound) {
		if rc != nil {
			rc.Close()
		}
		t.Errorf("OpenItem of a missing item = %v, want ErrNotFound", err)
	}
}

// --- source contracts ----------------------------------------------------

func testFoldersParentsFirst(t *testing.T, f Fixture) {
	mb := f.NewMailbox(t)
	a := folder(t, mb, "A parent")
	b, err := mb.CreateFolder(ctxT(t), a.ID, "B child", mailbox.ClassMailFolder)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mb.CreateFolder(ctxT(t), b.ID, "C grandchild", mailbox.ClassMailFolder); err != nil {
		t.Fatal(err)
	}
	tree, err := mb.Folders(ctxT(t), mailbox.ScopePrimary)
	if err != nil {
		t.Fatal(err)
	}
	if len(tree) < 4 || tree[0].Path != "" {
		t.Fatalf("Folders: %d folders, root first %v", len(tree), len(tree) > 0 && tree[0].Path == "")
	}
	seen := map[string]string{} // id -> path
	for i, fd := range tree {
		if i > 0 {
			pp, ok := seen[fd.ParentID]
			if !ok {
				t.Fatalf("folder %q comes before its parent", fd.Path)
			}
			if fd.Path != mailbox.JoinPath(pp, fd.DisplayName) {
				t.Fatalf("folder %q has Path %q, want %q", fd.DisplayName, fd.Path, mailbox.JoinPath(pp, fd.DisplayName))
			}
		}
		seen[fd.ID] = fd.Path
	}
	found := false
	for _, fd := range tree {
		found = found || fd.Path == "A parent/B child/C grandchild"
		if fd.WellKnown == mailbox.Inbox && fd.Path == "" {
			t.Error("the Inbox has an empty path")
		}
	}
	if !found {
		t.Fatal("the grandchild is not listed with its full path")
	}
}

func testPaging(t *testing.T, f Fixture) {
	need(t, f.SyncPageSize > 0, "name its sync page size")
	mb := f.NewMailbox(t)
	fd := folder(t, mb, "Paging")
	n := f.SyncPageSize + f.SyncPageSize/2 + 1
	ids := map[string]bool{}
	for i := range n {
		w := write(t, mb, fd, mailbox.Item{Subject: fmt.Sprintf("page item %04d", i), Received: base.Add(time.Duration(i) * time.Minute),
			Sent: base.Add(time.Duration(i)*time.Minute - time.Second)})
		ids[w.id] = true
	}
	changes, state, rounds := syncAll(t, mb, fd.ID, "")
	if rounds < 2 {
		t.Errorf("%d items came in %d round(s) with a page size of %d", n, rounds, f.SyncPageSize)
	}
	got := map[string]int{}
	for _, c := range changes {
		got[c.Item.ID]++
		if c.Kind != mailbox.ChangeCreated {
			t.Errorf("a full sync reported %s for %q", c.Kind, c.Item.Subject)
		}
	}
	for id := range ids {
		if got[id] != 1 {
			t.Errorf("item %s reported %d times by the full sync, want once", id, got[id])
		}
	}
	if len(got) != n {
		t.Errorf("the full sync reported %d items, %d were written", len(got), n)
	}
	more, _, _ := syncAll(t, mb, fd.ID, state)
	if len(more) != 0 {
		t.Errorf("a sync from the final state reported %d changes, want 0", len(more))
	}
	w := write(t, mb, fd, mailbox.Item{Subject: "after the sync"})
	more, _, _ = syncAll(t, mb, fd.ID, state)
	if c, ok := byID(more, w.id); !ok || c.Kind != mailbox.ChangeCreated || len(more) != 1 {
		t.Errorf("after one new item the next round reported %d changes (new one found %v), want 1 created", len(more), ok)
	}
}

func testExpired(t *testing.T, f Fixture) {
	need(t, f.ExpireSyncStates != nil, "expire sync states")
	mb := f.NewMailbox(t)
	fd := folder(t, mb, "Expiring")
	write(t, mb, fd, mailbox.Item{Subject: "before expiry"})
	_, state, _ := syncAll(t, mb, fd.ID, "")
	f.ExpireSyncStates(t, mb)
	_, err := mb.Changes(ctxT(t), fd.ID, state)
	if !errors.Is(err, mailbox.ErrSyncStateInvalid) {
		t.Fatalf("Changes with an expired state = %v, want ErrSyncStateInvalid", err)
	}
	if retry, _ := mailbox.ShouldRetry(err); retry {
		t.Error("an expired sync state is retried as is; the caller must start again from the empty state")
	}
	changes, _, _ := syncAll(t, mb, fd.ID, "")
	if len(changes) != 1 {
		t.Fatalf("a full resync after expiry reported %d items, want 1", len(changes))
	}
}

func testItemCounts(t *testing.T, f Fixture) {
	mb := f.NewMailbox(t)
	fd := folder(t, mb, "Counted")
	for i := range 3 {
		write(t, mb, fd, mailbox.Item{Subject: fmt.Sprintf("counted %d", i)})
	}
	tree, err := mb.Folders(ctxT(t), mailbox.ScopePrimary)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range tree {
		if x.ID != fd.ID {
			continue
		}
		if !mb.Capabilities().ItemCounts {
			t.Skipf("the side declares no item counts (reported %d)", x.ItemCount)
		}
		if x.ItemCount != 3 {
			t.Fatalf("ItemCount %d, want 3", x.ItemCount)
		}
		return
	}
	t.Fatal("the folder is not listed")
}

func testOpenItem(t *testing.T, f Fixture) {
	mb := f.NewMailbox(t)
	fd := folder(t, mb, "Content")
	w := write(t, mb, fd, mailbox.Item{Subject: "content check"})
	rc, err := mb.OpenItem(ctxT(t), w.id, mailbox.FormatMIME)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if !strings.Contains(s, "content check") || !strings.Contains(s, "body of content check") {
		t.Fatalf("the MIME read back lacks the subject or body:\n%.600s", s)
	}
	if rc, err := mb.OpenItem(ctxT(t), w.id, "bogus"); !errors.Is(err, mailbox.ErrUnsupported) {
		if rc != nil {
			rc.Close()
		}
		t.Errorf("OpenItem in an unknown format = %v, want ErrUnsupported", err)
	}
}

func testMissingMailbox(t *testing.T, f Fixture) {
	need(t, f.MissingMailbox != nil, "name a missing mailbox")
	mb := f.MissingMailbox(t)
	_, err := mb.Folders(ctxT(t), mailbox.ScopePrimary)
	if !errors.Is(err, mailbox.ErrMailboxNotFound) {
		t.Fatalf("Folders of a missing mailbox = %v, want ErrMailboxNotFound", err)
	}
	if retry, _ := mailbox.ShouldRetry(err); retry {
		t.Error("a missing mailbox is retried")
	}
}

func testDenied(t *testing.T, f Fixture) {
	need(t, f.DeniedMailbox != nil, "name a mailbox the account may not open")
	mb := f.DeniedMailbox(t)
	_, err := mb.Folders(ctxT(t), mailbox.ScopePrimary)
	if !errors.Is(err, mailbox.ErrAccessDenied) {
		t.Fatalf("Folders of a denied mailbox = %v, want ErrAccessDenied", err)
	}
	if retry, _ := mailbox.ShouldRetry(err); retry {
		t.Error("access denied is retried")
	}
}

func testThrottled(t *testing.T, f Fixture) {
	need(t, f.ThrottleNext != nil, "throttle on demand")
	mb := f.NewMailbox(t)
	fd := folder(t, mb, "Throttled")
	f.ThrottleNext(t, mb)
	_, err := mb.Changes(ctxT(t), fd.ID, "")
	if !errors.Is(err, mailbox.ErrThrottled) {
		t.Fatalf("Changes while throttled = %v, want ErrThrottled", err)
	}
	if retry, _ := mailbox.ShouldRetry(err); retry {
		t.Error("ErrThrottled is retried above the adapter, which already retried it")
	}
}
