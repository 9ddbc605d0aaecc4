package ews_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/exmigrate/exmigrate/ews"
	"github.com/exmigrate/exmigrate/ews/ewstest"
	"github.com/exmigrate/exmigrate/mailbox"
)

// syncAll runs Changes until More is false and returns every change and the final state.
func syncAll(t *testing.T, box *ews.Mailbox, folderID, state string) ([]mailbox.Change, string, int) {
	t.Helper()
	var all []mailbox.Change
	rounds := 0
	for {
		page, err := box.Changes(context.Background(), folderID, state)
		if err != nil {
			t.Fatalf("round %d: %v", rounds, err)
		}
		rounds++
		if len(page.Changes) > ews.MaxSyncChanges {
			t.Fatalf("round %d returned %d changes", rounds, len(page.Changes))
		}
		all = append(all, page.Changes...)
		state = page.State
		if !page.More {
			return all, state, rounds
		}
	}
}

func TestSyncFolderItemsRounds(t *testing.T) {
	e := newEnv(t)
	f := e.mb.Folder("Inbox/Sync")
	var ids []string
	for i := range 1200 {
		ids = append(ids, f.AddItem(ewstest.Item{MIME: []byte(fmt.Sprintf("Subject: s%d\r\n\r\nbody", i))}))
	}
	box := e.c.Mailbox(testMailbox)
	changes, state, rounds := syncAll(t, box, f.ID(), "")
	if rounds != 3 || len(changes) != 1200 {
		t.Fatalf("full sync: %d changes in %d rounds, want 1200 in 3 (512 per round)", len(changes), rounds)
	}
	for i, c := range changes {
		if c.Kind != mailbox.ChangeCreated || c.Item.ID != ids[i] || c.Item.Subject != fmt.Sprintf("s%d", i) {
			t.Fatalf("change %d = %+v", i, c)
		}
	}
	// Nothing new: one empty round.
	if changes, _, _ := syncAll(t, box, f.ID(), state); len(changes) != 0 {
		t.Fatalf("idle sync returned %d changes", len(changes))
	}
	// A user works in the mailbox.
	newID := f.AddItem(ewstest.Item{MIME: []byte("Subject: new\r\n\r\nx")})
	f.DeleteItem(ids[0])
	f.SetRead(ids[1], true)
	f.SetSubject(ids[2], "renamed")
	changes, state, _ = syncAll(t, box, f.ID(), state)
	got := map[string]mailbox.Change{}
	for _, c := range changes {
		got[c.Item.ID] = c
	}
	if len(changes) != 4 {
		t.Fatalf("delta = %+v, want 4 changes", changes)
	}
	if c := got[newID]; c.Kind != mailbox.ChangeCreated || c.Item.Subject != "new" {
		t.Errorf("new item: %+v", c)
	}
	if c := got[ids[0]]; c.Kind != mailbox.ChangeDeleted {
		t.Errorf("deleted item: %+v", c)
	}
	if c := got[ids[1]]; c.Kind != mailbox.ChangeReadFlag || !c.Item.IsRead {
		t.Errorf("read flag: %+v", c)
	}
	if c := got[ids[2]]; c.Kind != mailbox.ChangeUpdated || c.Item.Subject != "renamed" {
		t.Errorf("update: %+v", c)
	}

	// After a mailbox move the state is invalid: typed error, then a full resync works.
	e.mb.InvalidateSyncStates()
	_, err := box.Changes(context.Background(), f.ID(), state)
	if !errors.Is(err, mailbox.ErrSyncStateInvalid) {
		t.Fatalf("err = %v, want ErrSyncStateInvalid", err)
	}
	var re *ews.ResponseError
	if !errors.As(err, &re) || re.Code != "ErrorInvalidSyncStateData" {
		t.Errorf("err = %#v", err)
	}
	changes, _, _ = syncAll(t, box, f.ID(), "")
	kinds := map[mailbox.ChangeKind]int{}
	for _, c := range changes {
		kinds[c.Kind]++
	}
	if len(changes) != 1200 { // 1200 + 1 new - 1 deleted
		t.Logf("kinds %v", kinds)
		t.Errorf("resync returned %d changes, want 1200", len(changes))
	}
}

func TestSyncItemsResyncsOnInvalidState(t *testing.T) {
	e := newEnv(t)
	f := e.mb.Folder("Inbox/Resync")
	for i := range 600 {
		f.AddItem(ewstest.Item{MIME: []byte(fmt.Sprintf("Subject: %d\r\n\r\nx", i))})
	}
	box := e.c.Mailbox(testMailbox)
	n := 0
	count := func(mailbox.Change) error { n++; return nil }
	state, resynced, err := box.SyncItems(context.Background(), f.ID(), "", count)
	if err != nil || resynced || n != 600 {
		t.Fatalf("first sync: %d changes, resynced %v, %v", n, resynced, err)
	}
	e.mb.InvalidateSyncStates()
	n = 0
	_, resynced, err = box.SyncItems(context.Background(), f.ID(), state, count)
	if err != nil || !resynced || n != 600 {
		t.Errorf("after invalidation: %d changes, resynced %v, %v; want a full resync of 600", n, resynced, err)
	}
}

func TestSyncFolderHierarchy(t *testing.T) {
	e := newEnv(t)
	box := e.c.Mailbox(testMailbox)
	page, err := box.FolderChanges(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, c := range page.Changes {
		if c.Kind != mailbox.ChangeCreated {
			t.Errorf("first sync change %+v", c)
		}
		names[c.Folder.DisplayName] = true
	}
	if !names["Inbox"] || !names["Calendar"] || page.More {
		t.Errorf("first hierarchy sync: %v more=%v", names, page.More)
	}
	e.mb.Folder("Inbox/Added")
	page2, err := box.FolderChanges(context.Background(), page.State)
	if err != nil {
		t.Fatal(err)
	}
	var created []string
	for _, c := range page2.Changes {
		if c.Kind == mailbox.ChangeCreated {
			created = append(created, c.Folder.DisplayName)
		}
	}
	if len(created) != 1 || created[0] != "Added" {
		t.Errorf("second hierarchy sync created %v, want [Added]", created)
	}
}
