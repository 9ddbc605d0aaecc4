package ews_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/ews"
	"github.com/exmigrate/exmigrate/ews/ewstest"
	"github.com/exmigrate/exmigrate/mailbox"
	"github.com/exmigrate/exmigrate/mailbox/mailboxtest"
)

// Content mailboxes of the two organisations' public folders.
const (
	srcContentGUID = "1ec2a236-ed93-4f88-b9c6-33e63fa4aa44"
	dstContentGUID = "7d0c0a5e-3b1f-4c2a-9e8d-5a6b7c8d9e0f"
	dstHierarchy   = "pfhierarchy@fabrikam.com"
)

// pfOrg is a second Exchange organisation: its own fake, an account and
// a client whose public folder hierarchy mailbox is dstHierarchy.
func pfOrg(t *testing.T) (*ewstest.Server, *ews.Client) {
	t.Helper()
	srv := ewstest.NewServer()
	srv.AddAccount(testDomain, testUser, testPassword, true)
	srv.AddMailbox("admin@fabrikam.com")
	url, ca := srv.StartTLS(t)
	o := &env{srv: srv, url: url, ca: ca}
	return srv, o.client(t, func(c *ews.Config) { c.PublicFolderMailbox = dstHierarchy })
}

// seedPublicFolders fills the source organisation's public folders: mail
// and a post in Projects (with a content mailbox), a calendar under it, and
// contacts and tasks in folders without a replica list (routed to the
// hierarchy mailbox).
func seedPublicFolders(e *env) map[string]string {
	recv := time.Date(2025, 2, 3, 4, 5, 6, 0, time.UTC)
	projects := e.srv.PublicFolder("Projects")
	projects.SetContentMailbox(srcContentGUID)
	cal := e.srv.PublicFolder("Projects/Meetings")
	cal.SetClass(mailbox.ClassCalendarFolder)
	cal.SetContentMailbox(srcContentGUID)
	contacts := e.srv.PublicFolder("Directory")
	contacts.SetClass(mailbox.ClassContactsFolder)
	tasks := e.srv.PublicFolder("Chores")
	tasks.SetClass(mailbox.ClassTasksFolder)
	post := []byte("From: Bob <bob@contoso.com>\r\nSubject: Canteen menu\r\nMessage-ID: <post-1@contoso.com>\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n\r\nSoup on Monday.\r\n")
	ev := mailboxtest.SampleMeeting(testMailbox)
	ev.Attendees = nil // a public calendar's appointment: no meeting to send
	return map[string]string{
		"mail":    projects.AddItem(ewstest.Item{MIME: mime("Kick-off notes", 300), Received: recv, IsRead: true, Categories: []string{"Project"}}),
		"post":    projects.AddItem(ewstest.Item{MIME: post, Class: "IPM.Post", Received: recv}),
		"event":   cal.AddEvent(ev),
		"contact": contacts.AddContact(fullContact()),
		"task":    tasks.AddTask(mailboxtest.SampleTask()),
	}
}

// formatFor is the format the copy uses for a kind, as the engine's
// planner would from the capabilities.
func formatFor(t *testing.T, caps mailbox.Capabilities, kind mailbox.Kind) mailbox.Format {
	t.Helper()
	r := caps.Reader(mailbox.ScopePublicFolders, kind)
	if len(r) == 0 {
		t.Fatalf("public folders: no read path for %s", kind)
	}
	return r[0].Format
}

// TestPublicFolderCopy copies one organisation's public folders into
// another's through the real client, as the engine would: the tree
// (parents first), each folder's listing (FindItem, never SyncFolderItems),
// each item's content, a write with the stamp, and the stamp found again.
// Every content request names the folder's content mailbox, and nothing
// is sent.
func TestPublicFolderCopy(t *testing.T) {
	e := newEnv(t)
	seeded := seedPublicFolders(e)
	dstSrv, dstClient := pfOrg(t)
	dstSrv.PublicFolder("").SetContentMailbox(dstContentGUID) // new folders keep their content with the root's
	ctx := context.Background()
	src, dst := e.c.Mailbox(testMailbox), dstClient.Mailbox("admin@fabrikam.com")

	folders, err := src.Folders(ctx, mailbox.ScopePublicFolders)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, f := range folders {
		paths = append(paths, f.Path)
	}
	if want := []string{"", "Projects", "Directory", "Chores", "Projects/Meetings"}; strings.Join(paths, "|") != strings.Join(want, "|") {
		t.Fatalf("public folder paths %q, want %q (root first, parents before children)", paths, want)
	}
	// Ids carry the content mailbox GUID (none: the hierarchy mailbox),
	// never an address that a change of configuration would change.
	for _, f := range folders {
		want := "pf::"
		if strings.HasPrefix(f.Path, "Projects") {
			want = "pf:" + srcContentGUID + ":"
		}
		if !strings.HasPrefix(f.ID, want) || (f.ParentID != "" && !strings.HasPrefix(f.ParentID, "pf:")) {
			t.Errorf("%q: id %q, parent %q; want the id to start %q", f.Path, f.ID, f.ParentID, want)
		}
	}
	targets, err := dst.Folders(ctx, mailbox.ScopePublicFolders)
	if err != nil || len(targets) != 1 || targets[0].Path != "" {
		t.Fatalf("target public folders: %+v, %v", targets, err)
	}
	mapped := map[string]mailbox.Folder{folders[0].ID: targets[0]}
	srcCaps := src.Capabilities()
	copied := map[string]string{}  // source id -> stamp
	written := map[string]string{} // stamp -> target id
	for _, f := range folders[1:] {
		parent, ok := mapped[f.ParentID]
		if !ok {
			t.Fatalf("%s: parent %s not copied before it", f.Path, f.ParentID)
		}
		tf, err := dst.CreateFolder(ctx, parent.ID, f.DisplayName, f.Class)
		if err != nil {
			t.Fatalf("CreateFolder %s: %v", f.Path, err)
		}
		if tf.Path != f.Path || !strings.HasPrefix(tf.ID, "pf:") {
			t.Errorf("CreateFolder %s: %+v", f.Path, tf)
		}
		again, err := dst.CreateFolder(ctx, parent.ID, f.DisplayName, f.Class)
		if err != nil || again.ID != tf.ID {
			t.Errorf("CreateFolder %s again: %+v, %v; want the same folder", f.Path, again, err)
		}
		mapped[f.ID] = tf
		page, err := src.Changes(ctx, f.ID, "")
		if err != nil {
			t.Fatalf("Changes %s: %v", f.Path, err)
		}
		if !page.Listing || page.More || page.State == "" {
			t.Errorf("Changes %s: Listing %v More %v State %q; want one complete listing", f.Path, page.Listing, page.More, page.State)
		}
		for _, ch := range page.Changes {
			it := ch.Item
			if ch.Kind != mailbox.ChangeCreated || it.Fingerprint == "" || it.FolderID != f.ID {
				t.Errorf("%s: change %+v; want created, with a fingerprint, in the folder", f.Path, ch)
			}
			format := formatFor(t, srcCaps, it.Kind())
			rc, err := src.OpenItem(ctx, it.ID, format)
			if err != nil {
				t.Fatalf("OpenItem %s (%s) as %s: %v", it.Subject, it.Class, format, err)
			}
			body, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			sid := "pf-copy-" + it.Subject
			nid, err := dst.CreateItem(ctx, tf.ID, mailbox.Payload{Item: it, SourceID: sid, Format: format, Body: bytes.NewReader(body), Size: int64(len(body))})
			if err != nil {
				t.Fatalf("CreateItem %s (%s) as %s: %v", it.Subject, it.Class, format, err)
			}
			found, ok, err := dst.FindBySourceID(ctx, tf.ID, sid)
			if err != nil || !ok || found != nid {
				t.Errorf("FindBySourceID %s = %q, %v, %v; want %q", sid, found, ok, err, nid)
			}
			copied[it.ID] = sid
			written[sid] = nid
		}
		stamps := map[string]bool{}
		if err := dst.Stamps(ctx, tf.ID, func(it mailbox.Item) error { stamps[it.SourceID] = true; return nil }); err != nil {
			t.Fatal(err)
		}
		if len(stamps) != len(page.Changes) {
			t.Errorf("%s: Stamps lists %d stamped items, want %d", f.Path, len(stamps), len(page.Changes))
		}
	}
	if len(copied) != len(seeded) {
		t.Errorf("copied %d items, want %d", len(copied), len(seeded))
	}

	// What arrived: the post stays a post, the typed items keep their
	// properties.
	items := dstSrv.PublicFolder("Projects").Items()
	classes := map[string]string{}
	for _, it := range items {
		classes[it.Subject] = it.Class
		if it.IsDraft || it.SourceID == "" {
			t.Errorf("%s: draft %v, stamp %q", it.Subject, it.IsDraft, it.SourceID)
		}
	}
	if classes["Canteen menu"] != "IPM.Post" || classes["Kick-off notes"] != mailbox.ClassMessage {
		t.Errorf("target classes %v; want the post an IPM.Post and the mail an IPM.Note", classes)
	}
	if evs := dstSrv.PublicFolder("Projects/Meetings").Events(); len(evs) != 1 || evs[0].Event.Subject == "" {
		t.Errorf("target calendar: %+v", evs)
	}
	if cs := dstSrv.PublicFolder("Directory").Contacts(); len(cs) != 1 || cs[0].Fields["DisplayName"] != fullContact().DisplayName {
		t.Errorf("target contacts: %+v", cs)
	}
	if ts := dstSrv.PublicFolder("Chores").Tasks(); len(ts) != 1 {
		t.Errorf("target tasks: %+v", ts)
	}

	// Later passes: a read state, a typed update and a removal, routed as
	// the writes were.
	mailID := written["pf-copy-Kick-off notes"]
	if err := dst.SetRead(ctx, mailID, false); err != nil {
		t.Errorf("SetRead: %v", err)
	}
	for _, it := range dstSrv.PublicFolder("Projects").Items() {
		if it.Subject == "Kick-off notes" && it.IsRead {
			t.Error("SetRead false left the copy read")
		}
	}
	task := mailboxtest.SampleTask()
	task.Subject = "Renamed chore"
	body, err := mailbox.EncodeTask(task)
	if err != nil {
		t.Fatal(err)
	}
	taskID := written["pf-copy-"+mailboxtest.SampleTask().Subject]
	if err := dst.UpdateItem(ctx, taskID, mailbox.Payload{Item: mailbox.Item{Class: mailbox.ClassTask}, SourceID: "pf-copy-" + mailboxtest.SampleTask().Subject,
		Format: mailbox.FormatTyped, Body: bytes.NewReader(body), Size: int64(len(body))}); err != nil {
		t.Errorf("UpdateItem: %v", err)
	}
	if ts := dstSrv.PublicFolder("Chores").Tasks(); len(ts) != 1 || ts[0].Task.Subject != "Renamed chore" {
		t.Errorf("the updated task: %+v", ts)
	}
	if err := dst.DeleteItem(ctx, taskID); err != nil {
		t.Errorf("DeleteItem: %v", err)
	}
	if ts := dstSrv.PublicFolder("Chores").Tasks(); len(ts) != 0 {
		t.Errorf("the deleted task is still there: %+v", ts)
	}

	for name, s := range map[string]*ewstest.Server{"source": e.srv, "target": dstSrv} {
		if n := s.PublicFolderRouteMisses(); n != 0 {
			t.Errorf("%s: %d content requests not routed to the folder's content mailbox", name, n)
		}
		if s.SendAttempts() != 0 || s.MeetingMessagesSent() != 0 {
			t.Errorf("%s: %d send attempts, %d meeting messages", name, s.SendAttempts(), s.MeetingMessagesSent())
		}
		if n := s.Requests("SyncFolderItems"); n != 0 {
			t.Errorf("%s: %d SyncFolderItems on public folders", name, n)
		}
	}
	if e.srv.Requests("FindItem") == 0 {
		t.Error("the source was never listed with FindItem")
	}
}

// TestPublicFolderListing: a public folder's Changes is a listing in
// pages of 1,000 (FindItem offsets), each round complete, and a state
// that is not a listing's is ErrSyncStateInvalid.
func TestPublicFolderListing(t *testing.T) {
	e := newEnv(t)
	f := e.srv.PublicFolder("Big")
	for i := 0; i < 1001; i++ {
		f.AddItem(ewstest.Item{MIME: []byte("Subject: n\r\n\r\nx")})
	}
	ctx := context.Background()
	box := e.c.Mailbox(testMailbox)
	folders, err := box.Folders(ctx, mailbox.ScopePublicFolders)
	if err != nil || len(folders) != 2 {
		t.Fatalf("folders %+v, %v", folders, err)
	}
	id := folders[1].ID
	seen := map[string]bool{}
	state, rounds := "", 0
	for {
		page, err := box.Changes(ctx, id, state)
		if err != nil {
			t.Fatal(err)
		}
		rounds++
		for _, ch := range page.Changes {
			seen[ch.Item.ID] = true
		}
		state = page.State
		if !page.More {
			break
		}
	}
	if rounds != 2 || len(seen) != 1001 {
		t.Errorf("%d pages, %d items; want 2 pages, 1001 items", rounds, len(seen))
	}
	page, err := box.Changes(ctx, id, state)
	if err != nil || len(page.Changes) != 1000 || !page.More {
		t.Errorf("the round after a complete listing: %d changes, More %v, %v; want the listing again", len(page.Changes), page.More, err)
	}
	for _, bad := range []string{"pf-listing:x", "pf-listing:-4", "H4sIAAAAAAAEAO29B2AcSZYlJi9tynt"} {
		if _, err := box.Changes(ctx, id, bad); !errors.Is(err, mailbox.ErrSyncStateInvalid) {
			t.Errorf("Changes from state %q: %v, want ErrSyncStateInvalid", bad, err)
		}
	}
}

// TestPublicFolderCapabilities: with the hierarchy mailbox configured,
// public folders read and write every kind as MIME or typed, never in
// full fidelity (undocumented for public folders, and refused); without
// it, every kind is unsupported with the fix.
func TestPublicFolderCapabilities(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	caps := e.c.Mailbox(testMailbox).Capabilities()
	for _, k := range mailbox.Kinds() {
		r, w := caps.Reader(mailbox.ScopePublicFolders, k), caps.Writer(mailbox.ScopePublicFolders, k)
		if len(r) != 1 || len(w) != 1 || r[0].Format == mailbox.FormatFullFidelity || r[0].Format != w[0].Format {
			t.Errorf("public folders/%s: reads %v, writes %v; want one MIME or typed path each way", k, r, w)
		}
		if why := caps.Unsupported[mailbox.StoreKind{Store: mailbox.ScopePublicFolders, Kind: k}]; why != "" {
			t.Errorf("public folders/%s still unsupported: %s", k, why)
		}
	}
	id := e.srv.PublicFolder("Projects").AddItem(ewstest.Item{MIME: mime("ff", 100)})
	box := e.c.Mailbox(testMailbox)
	folders, err := box.Folders(ctx, mailbox.ScopePublicFolders)
	if err != nil {
		t.Fatal(err)
	}
	var itemID string
	if err := box.Items(ctx, folders[1].ID, func(it mailbox.Item) error { itemID = it.ID; return nil }); err != nil || !strings.HasSuffix(itemID, id) {
		t.Fatalf("Items: %q, %v; want the item %s", itemID, err, id)
	}
	if _, err := box.OpenItem(ctx, itemID, mailbox.FormatFullFidelity); !errors.Is(err, mailbox.ErrUnsupported) || retryable(err) {
		t.Errorf("export from a public folder: %v, want a permanent ErrUnsupported", err)
	}
	if _, err := box.CreateItem(ctx, folders[1].ID, mailbox.Payload{Item: mailbox.Item{Class: mailbox.ClassMessage}, SourceID: "x",
		Format: mailbox.FormatFullFidelity, Body: strings.NewReader("x"), Size: 1}); !errors.Is(err, mailbox.ErrUnsupported) {
		t.Errorf("upload into a public folder: %v, want ErrUnsupported", err)
	}

	bare := e.client(t, func(c *ews.Config) { c.PublicFolderMailbox = "" }).Mailbox(testMailbox)
	caps = bare.Capabilities()
	for _, k := range mailbox.Kinds() {
		why := caps.Unsupported[mailbox.StoreKind{Store: mailbox.ScopePublicFolders, Kind: k}]
		if len(caps.Reader(mailbox.ScopePublicFolders, k)) != 0 || !strings.Contains(why, "public_folder_mailbox") {
			t.Errorf("without the hierarchy mailbox, public folders/%s: reads %v, reason %q", k, caps.Reader(mailbox.ScopePublicFolders, k), why)
		}
	}
	if _, err := bare.Folders(ctx, mailbox.ScopePublicFolders); !errors.Is(err, mailbox.ErrUnsupported) || !strings.Contains(err.Error(), "public_folder_mailbox") {
		t.Errorf("Folders(public) without the hierarchy mailbox: %v", err)
	}
}

func retryable(err error) bool { r, _ := mailbox.ShouldRetry(err); return r }

// The hierarchy mailbox must be an address: its domain names the content
// mailboxes, and public ids end the route at the first ':'.
func TestPublicFolderMailboxConfig(t *testing.T) {
	for _, pf := range []string{"pfmbx", "pf:mbx@contoso.com", "@contoso.com", "pfmbx@", "pf mbx@contoso.com"} {
		_, err := ews.NewClient(ews.Config{URL: "https://mail.contoso.com/EWS/Exchange.asmx", Username: `CONTOSO\svc`, Password: "x", PublicFolderMailbox: pf})
		if err == nil || !strings.Contains(err.Error(), "public_folder_mailbox") {
			t.Errorf("PublicFolderMailbox %q: %v, want a refusal naming the setting", pf, err)
		}
	}
	if _, err := ews.NewClient(ews.Config{URL: "https://mail.contoso.com/EWS/Exchange.asmx", Username: `CONTOSO\svc`, Password: "x", PublicFolderMailbox: "pfmbx@contoso.com"}); err != nil {
		t.Errorf("a valid hierarchy mailbox refused: %v", err)
	}
}

// TestPublicFolderCreateFresh: CreateFolder on a Mailbox that never listed
// the public folders still fills the new folder's path, and refuses a
// parent that is not in the tree.
func TestPublicFolderCreateFresh(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.srv.PublicFolder("Sales/2024").SetContentMailbox(srcContentGUID)
	fs, err := e.c.Mailbox(testMailbox).Folders(ctx, mailbox.ScopePublicFolders)
	if err != nil {
		t.Fatal(err)
	}
	parent := fs[len(fs)-1]
	f, err := e.c.Mailbox(testMailbox).CreateFolder(ctx, parent.ID, "Q1", mailbox.ClassMailFolder)
	if err != nil || f.Path != "Sales/2024/Q1" || f.ParentID != parent.ID || !strings.HasPrefix(f.ID, "pf:"+srcContentGUID+":") {
		t.Errorf("CreateFolder: %+v, %v; want Sales/2024/Q1 under %s, with its content mailbox", f, err, parent.ID)
	}
	if _, err := e.c.Mailbox(testMailbox).CreateFolder(ctx, "pf::QUFNa0FERnxub3RoZXJl", "X", ""); !errors.Is(err, mailbox.ErrNotFound) {
		t.Errorf("CreateFolder under a folder that is not there: %v, want ErrNotFound", err)
	}
}

// TestPublicFolderReadMIME: ReadMIME takes public item ids, mixed with a
// mailbox's, reads each run with its own routing, and hands fn the ids as
// given, in order.
func TestPublicFolderReadMIME(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := e.srv.PublicFolder("A")
	a.SetContentMailbox(srcContentGUID)
	a.AddItem(ewstest.Item{MIME: mime("in A", 100)})
	e.srv.PublicFolder("B").AddItem(ewstest.Item{MIME: mime("in B", 100)})
	own := e.mb.Root("inbox").AddItem(ewstest.Item{MIME: mime("in the inbox", 100)})
	box := e.c.Mailbox(testMailbox)
	fs, err := box.Folders(ctx, mailbox.ScopePublicFolders)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, f := range fs[1:] {
		if err := box.Items(ctx, f.ID, func(it mailbox.Item) error { ids = append(ids, it.ID); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	ids = []string{ids[0], own, ids[1]}
	var got []string
	err = box.ReadMIME(ctx, ids, func(id string, r io.Reader, err error) error {
		if err != nil {
			return err
		}
		b, _ := io.ReadAll(r)
		got = append(got, id+"="+strings.SplitN(strings.SplitN(string(b), "Subject: ", 2)[1], "\r\n", 2)[0])
		return nil
	})
	want := []string{ids[0] + "=in A", own + "=in the inbox", ids[2] + "=in B"}
	if err != nil || strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("ReadMIME: %q, %v; want %q", got, err, want)
	}
	if n := e.srv.PublicFolderRouteMisses(); n != 0 {
		t.Errorf("%d misrouted content requests", n)
	}
}
