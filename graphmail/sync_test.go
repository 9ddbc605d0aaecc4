package graphmail_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/graphmail"
	"github.com/exmigrate/exmigrate/graphmail/graphtest"
	"github.com/exmigrate/exmigrate/mailbox"
)

func TestProbe(t *testing.T) {
	l := newLab(t)
	l.srv.AddMailbox(alice, mailbox.TypeUser)
	l.srv.AddMailbox("shared@contoso.example", mailbox.TypeShared)
	l.srv.AddMailbox("room1@contoso.example", mailbox.TypeRoom)
	l.srv.AddMailbox("beamer@contoso.example", mailbox.TypeEquipment)
	l.srv.AddOnPremUser("onprem@contoso.example")
	tests := []struct {
		addr string
		want graphmail.ProbeResult
	}{
		{alice, graphmail.ProbeResult{Outcome: graphmail.InCloud, Type: mailbox.TypeUser}},
		{"Shared@Contoso.example", graphmail.ProbeResult{Outcome: graphmail.InCloud, Type: mailbox.TypeShared}},
		{"room1@contoso.example", graphmail.ProbeResult{Outcome: graphmail.InCloud, Type: mailbox.TypeRoom}},
		{"beamer@contoso.example", graphmail.ProbeResult{Outcome: graphmail.InCloud, Type: mailbox.TypeEquipment}},
		{"onprem@contoso.example", graphmail.ProbeResult{Outcome: graphmail.NotInCloud}},
		{"nobody@contoso.example", graphmail.ProbeResult{Outcome: graphmail.NoSuchUser}},
	}
	for _, tc := range tests {
		t.Run(tc.addr, func(t *testing.T) {
			got, err := l.c.Probe(ctxT(t), tc.addr)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("Probe(%s) = %+v, want %+v", tc.addr, got, tc.want)
			}
		})
	}
	// Reading an on-prem mailbox's folders says where it lives.
	_, err := l.c.Mailbox("onprem@contoso.example").Folders(ctxT(t), mailbox.ScopePrimary)
	if !errors.Is(err, mailbox.ErrNotOnThisSide) {
		t.Errorf("folders of an on-prem mailbox: %v, want ErrNotOnThisSide", err)
	}
}

func TestDeltaPagesResumesAndExpires(t *testing.T) {
	l := newLab(t)
	fx := l.srv.AddMailbox(alice, mailbox.TypeUser)
	old := time.Now().Add(-time.Hour).UTC()
	var ids []string
	for i := range 230 {
		ids = append(ids, fx.AddMessage("Inbox", graphtest.Message{Subject: fmt.Sprintf("m%03d", i), Created: old, Modified: old, IsRead: i%2 == 0}))
	}
	mb := l.c.Mailbox(alice)
	inbox := fx.FolderID("Inbox")

	// Full sync: three pages (100 + 100 + 30), nextLink then deltaLink.
	state, pages, got := "", 0, map[string]mailbox.Change{}
	for {
		p, err := mb.Changes(ctxT(t), inbox, state)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, c := range p.Changes {
			got[c.Item.ID] = c
		}
		if p.More != strings.Contains(p.State, "skiptoken") {
			t.Errorf("page %d: More=%v with state %s", pages, p.More, p.State)
		}
		state = p.State
		if !p.More {
			break
		}
	}
	if pages != 3 || len(got) != 230 {
		t.Fatalf("full sync: %d pages, %d items", pages, len(got))
	}
	for _, c := range got {
		if c.Kind != mailbox.ChangeCreated || c.Item.Subject == "" || c.Item.FolderID != inbox || c.Item.SizeBytes <= 0 {
			t.Fatalf("full sync change %+v", c)
		}
	}
	if !strings.Contains(state, "deltatoken") {
		t.Fatalf("final state %q is not a deltaLink", state)
	}

	// Changes since: two new, one read-state change, one deletion.
	n1 := fx.AddMessage("Inbox", graphtest.Message{Subject: "new1"})
	n2 := fx.AddMessage("Inbox", graphtest.Message{Subject: "new2"})
	fx.UpdateMessage(ids[7], func(m *graphtest.Message) { m.IsRead = true })
	fx.DeleteMessage(ids[9])
	p, err := mb.Changes(ctxT(t), inbox, state)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]mailbox.ChangeKind{}
	for _, c := range p.Changes {
		kinds[c.Item.ID] = c.Kind
	}
	want := map[string]mailbox.ChangeKind{n1: mailbox.ChangeCreated, n2: mailbox.ChangeCreated, ids[7]: mailbox.ChangeUpdated, ids[9]: mailbox.ChangeDeleted}
	if len(kinds) != len(want) || p.More {
		t.Errorf("incremental: %v (more %v), want %v", kinds, p.More, want)
	}
	for id, k := range want {
		if kinds[id] != k {
			t.Errorf("change of %s = %q, want %q", id, kinds[id], k)
		}
	}
	// Nothing changed since: empty page, a new deltaLink.
	p2, err := mb.Changes(ctxT(t), inbox, p.State)
	if err != nil || len(p2.Changes) != 0 || p2.More {
		t.Errorf("quiet round: %+v, %v", p2, err)
	}

	// An expired state asks for a full resync.
	l.srv.ExpireDeltaTokens()
	if _, err := mb.Changes(ctxT(t), inbox, p2.State); !errors.Is(err, mailbox.ErrSyncStateInvalid) {
		t.Fatalf("expired state: %v, want ErrSyncStateInvalid", err)
	}
	p3, err := mb.Changes(ctxT(t), inbox, "")
	if err != nil || len(p3.Changes) != 100 || !p3.More {
		t.Errorf("resync first page: %d changes, more %v, %v", len(p3.Changes), p3.More, err)
	}
	// A state that points at another host is refused, never followed.
	if _, err := mb.Changes(ctxT(t), inbox, "https://evil.example/v1.0/users/x/mailFolders/y/messages/delta?$deltatoken=z"); !errors.Is(err, mailbox.ErrSyncStateInvalid) {
		t.Errorf("foreign state: %v", err)
	}
}

func TestFindBySourceIDAndSetRead(t *testing.T) {
	l := newLab(t)
	fx := l.srv.AddMailbox(alice, mailbox.TypeUser)
	mb := l.c.Mailbox(alice)
	folder := fx.Folder("Inbox")
	other := fx.Folder("Archive")
	src := "ews:AAMk'quote/+="
	raw := mimeMessage("find me", "<f@x.example>", time.Now())
	id, err := mb.CreateMessage(ctxT(t), folder, mailbox.Message{Item: mailbox.Item{IsRead: false}, SourceID: src, MIME: strings.NewReader(raw), Size: -1})
	if err != nil {
		t.Fatal(err)
	}
	got, found, err := mb.FindBySourceID(ctxT(t), folder, src)
	if err != nil || !found || got != id {
		t.Fatalf("FindBySourceID = %q %v %v, want %q", got, found, err, id)
	}
	if _, found, err := mb.FindBySourceID(ctxT(t), folder, "ews:other"); err != nil || found {
		t.Errorf("unknown source id found=%v err=%v", found, err)
	}
	if _, found, err := mb.FindBySourceID(ctxT(t), other, src); err != nil || found {
		t.Errorf("other folder found=%v err=%v", found, err)
	}
	if err := mb.SetRead(ctxT(t), id, true); err != nil {
		t.Fatal(err)
	}
	if m, _ := fx.Message(id); !m.IsRead || m.IsDraft {
		t.Errorf("after SetRead: read %v draft %v", m.IsRead, m.IsDraft)
	}
	if err := mb.SetRead(ctxT(t), "AAMkMmissing", true); !errors.Is(err, mailbox.ErrNotFound) {
		t.Errorf("SetRead of a missing item: %v", err)
	}
}
