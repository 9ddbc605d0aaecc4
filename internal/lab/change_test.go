package lab

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func startSmall(t *testing.T) *Lab {
	t.Helper()
	sc, err := LoadScenario(filepath.Join("..", "..", "testdata", "lab", "small.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	l, err := Start(context.Background(), Options{Dir: t.TempDir(), Scenario: sc, Ephemeral: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// TestChangesThroughTheAdminEndpoint: each operation, on each side, made
// through the endpoint another terminal uses, shows in the fake's own
// state; bad changes are refused with what to fix, and changes before
// a refused one stay done.
func TestChangesThroughTheAdminEndpoint(t *testing.T) {
	l := startSmall(t)
	c, err := DialAdmin(l.Dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const onprem, cloud = "alex@fabrikam.com", "megan@fabrikam.com"
	alex, _ := l.EWS.LookupMailbox(onprem)
	inbox, _ := alex.FindFolder("Inbox")
	unreadBefore := 0
	for _, it := range inbox.Items() {
		if !it.IsRead {
			unreadBefore++
		}
	}
	res, err := c.Change(ctx, []Change{
		{Mailbox: onprem, Op: ChangeAdd, Count: 7},
		{Mailbox: onprem, Op: ChangeRead, Count: 3},
		{Mailbox: onprem, Op: ChangeMove, Count: 2, To: "Inbox/Moved"},
		{Mailbox: onprem, Op: ChangeDelete, Count: 4},
		{Mailbox: onprem, Op: ChangeExpire},
		{Mailbox: cloud, Op: ChangeAdd, Count: 5, Folder: "Inbox/New"},
		{Mailbox: cloud, Op: ChangeDelete, Count: 2},
		{Mailbox: cloud, Op: ChangeMove, Count: 1, To: "Archive"},
		{Mailbox: cloud, Op: ChangeUnread, Count: 50},
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []struct {
		side string
		done int
	}{{"onprem", 7}, {"onprem", 3}, {"onprem", 2}, {"onprem", 4}, {"onprem", 1}, {"cloud", 5}, {"cloud", 2}, {"cloud", 1}} {
		if res[i].Side != want.side || res[i].Done != want.done {
			t.Errorf("change %d (%s): side %s done %d, want %s %d", i, res[i].Op, res[i].Side, res[i].Done, want.side, want.done)
		}
	}
	if n := len(inbox.Items()); n != 30+7-2-4 {
		t.Errorf("alex's Inbox holds %d, want %d", n, 30+7-2-4)
	}
	moved, ok := alex.FindFolder("Inbox/Moved")
	if !ok || len(moved.Items()) != 2 {
		t.Errorf("Inbox/Moved: found %v", ok)
	}
	unread := 0
	for _, it := range inbox.Items() {
		if !it.IsRead {
			unread++
		}
	}
	// 7 unread added; 3 made read; moves and deletes take the oldest.
	if unread > unreadBefore+7-3 || unread < unreadBefore+7-3-6 {
		t.Errorf("alex's Inbox has %d unread, %d before the changes", unread, unreadBefore)
	}
	megan := l.Graph.Mailbox(cloud)
	if n := len(megan.Messages("Inbox/New")); n != 5 {
		t.Errorf("megan's Inbox/New holds %d, want 5", n)
	}
	if n := len(megan.Messages("Inbox")); n != 20-2-1 {
		t.Errorf("megan's Inbox holds %d, want %d", n, 20-2-1)
	}
	if n := len(megan.Messages("Archive")); n != 1 {
		t.Errorf("megan's Archive holds %d, want 1", n)
	}
	for _, m := range megan.Messages("Inbox") {
		if m.IsRead {
			t.Errorf("megan's %q still read after unread 50", m.Subject)
		}
	}

	// Edits and a folder rename, on each side.
	res, err = c.Change(ctx, []Change{
		{Mailbox: onprem, Op: ChangeEdit, Count: 2},
		{Mailbox: onprem, Op: ChangeRenameFolder, Folder: "Inbox/Moved", To: "Relocated"},
		{Mailbox: cloud, Op: ChangeEdit, Count: 1},
		{Mailbox: cloud, Op: ChangeRenameFolder, Folder: "Archive", To: "Old Mail"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []int{2, 1, 1, 1} {
		if i >= len(res) || res[i].Done != want {
			t.Errorf("edit/rename change %d: %+v, want %d done", i, res, want)
		}
	}
	edited := 0
	for _, it := range inbox.Items() {
		if strings.HasSuffix(it.Subject, editedSuffix) {
			edited++
		}
	}
	if edited != 2 {
		t.Errorf("%d of alex's Inbox subjects edited, want 2", edited)
	}
	if _, ok := alex.FindFolder("Inbox/Relocated"); !ok {
		t.Error("alex's Inbox/Moved was not renamed to Relocated")
	}
	if megan.FolderID("Old Mail") == "" || megan.FolderID("Archive") != "" {
		t.Error("megan's Archive was not renamed to Old Mail")
	}
	edited = 0
	for _, m := range megan.Messages("Inbox") {
		if strings.HasSuffix(m.Subject, editedSuffix) {
			edited++
		}
	}
	if edited != 1 {
		t.Errorf("%d of megan's Inbox subjects edited, want 1", edited)
	}

	bad := []struct {
		change Change
		want   string
	}{
		{Change{Mailbox: onprem, Op: ChangeRenameFolder, Folder: "Inbox"}, "needs the new name"},
		{Change{Mailbox: onprem, Op: ChangeRenameFolder, Folder: "Sent Items", To: "inbox"}, `a folder named "inbox" is already beside`},
		{Change{Mailbox: cloud, Op: ChangeRenameFolder, Folder: "Old Mail", To: "Inbox"}, `a folder named "Inbox" is already beside`},
		{Change{Mailbox: "nobody@fabrikam.com", Op: ChangeAdd, Count: 1}, "no mailbox nobody@fabrikam.com"},
		{Change{Mailbox: onprem, Op: "shred", Count: 1}, `unknown operation "shred"`},
		{Change{Mailbox: onprem, Op: ChangeDelete}, "needs a count"},
		{Change{Mailbox: onprem, Op: ChangeMove, Count: 1}, "a folder to move to"},
		{Change{Mailbox: onprem, Op: ChangeRead, Count: 1, Folder: "Nowhere"}, `no folder "Nowhere"`},
		{Change{Mailbox: cloud, Side: "onprem", Op: ChangeAdd, Count: 1}, "no mailbox megan@fabrikam.com in the lab (onprem)"},
	}
	for _, b := range bad {
		done, err := c.Change(ctx, []Change{{Mailbox: onprem, Op: ChangeAdd, Count: 1}, b.change})
		if !errors.Is(err, ErrBadChange) || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%+v: err = %v, want %q", b.change, err, b.want)
		}
		if len(done) != 1 {
			t.Errorf("%+v: %d changes reported done before the refusal, want 1", b.change, len(done))
		}
	}
	w, err := c.Writes(ctx)
	if err != nil || w.EWS != 0 || w.Graph != 0 {
		t.Errorf("writes = %+v, %v; the lab's own changes are not client writes", w, err)
	}
}

// TestAdminNeedsTheToken: the endpoint refuses a request without the
// token from the lab's folder; the files go when the lab stops.
func TestAdminNeedsTheToken(t *testing.T) {
	l := startSmall(t)
	c, err := DialAdmin(l.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(l.Dir, adminTokenFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v, %v", fi, err)
	}
	c.token = "guess"
	if _, err := c.Writes(context.Background()); err == nil || !strings.Contains(err.Error(), "wrong token") {
		t.Errorf("with a wrong token: %v", err)
	}
	l.Close()
	if _, err := DialAdmin(l.Dir); err == nil || !strings.Contains(err.Error(), "no lab runs") {
		t.Errorf("after Close: %v", err)
	}
}

// TestScenarioSizeLimits: max_send_size and max_receive_size reach the
// Graph fake's mailbox (a cloud mailbox, or an on-prem mailbox's target);
// out-of-range values are refused by key.
func TestScenarioSizeLimits(t *testing.T) {
	sc, err := ParseScenario([]byte(`
domain: fabrikam.com
mailboxes:
  - {address: alex@fabrikam.com, location: onprem, folders: {Inbox: 1}, max_receive_size: 10MB}
  - {address: megan@fabrikam.com, location: cloud, folders: {Inbox: 1}, max_send_size: 20MB, max_receive_size: 25MB}
  - {address: room@fabrikam.com, location: cloud, type: room}
`))
	if err != nil {
		t.Fatal(err)
	}
	l, err := Start(context.Background(), Options{Dir: t.TempDir(), Scenario: sc, Ephemeral: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for addr, want := range map[string][2]int64{
		"alex@fabrikam.onmicrosoft.com": {35 << 20, 10 << 20}, // Exchange Online defaults: send 35 MB, receive 36 MB
		"megan@fabrikam.com":            {20 << 20, 25 << 20},
		"room@fabrikam.com":             {35 << 20, 36 << 20},
	} {
		send, recv := l.Graph.Mailbox(addr).MessageSizeLimits()
		if send != want[0] || recv != want[1] {
			t.Errorf("%s: limits %d/%d, want %d/%d", addr, send, recv, want[0], want[1])
		}
	}
	for doc, wantErr := range map[string]string{
		"mailboxes: [{address: a@b.com, location: cloud, max_send_size: 200MB}]":   "mailboxes[0].max_send_size",
		"mailboxes: [{address: a@b.com, target: none, max_receive_size: 10MB}]":    "target: none",
		"mailboxes: [{address: a@b.com, location: cloud, max_receive_size: lots}]": `"lots" is not a size`,
	} {
		if _, err := ParseScenario([]byte(doc)); err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("%s: err = %v, want %q", doc, err, wantErr)
		}
	}
}
