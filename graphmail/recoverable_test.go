package graphmail_test

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/exmigrate/exmigrate/graphmail"
	"github.com/exmigrate/exmigrate/graphmail/graphtest"
	"github.com/exmigrate/exmigrate/mailbox"
)

// Recoverable Items\Deletions is read as a mail folder: Folders names its
// root and Deletions, Changes and OpenItem (MIME) read it; nothing is
// written there, and Versions and Purges are named as not carried.
func TestRecoverableItemsRead(t *testing.T) {
	l := newLab(t)
	fx := l.srv.AddMailbox(alice, mailbox.TypeUser)
	id := fx.AddRecoverableItem(graphtest.Message{Subject: "hard deleted", Body: "gone but kept"})
	fx.AddMessage("Inbox", graphtest.Message{Subject: "in the inbox"})

	// Off by default: the store is not declared and not listed.
	off := l.c.Mailbox(alice)
	if _, err := off.Folders(ctxT(t), mailbox.ScopeRecoverable); !errors.Is(err, mailbox.ErrUnsupported) || !strings.Contains(err.Error(), "ReadRecoverableItems") {
		t.Errorf("without ReadRecoverableItems: %v", err)
	}
	if caps := off.Capabilities(); caps.HasStore(mailbox.ScopeRecoverable) || !strings.Contains(caps.Unsupported[mailbox.StoreKind{Store: mailbox.ScopeRecoverable, Kind: mailbox.KindMail}], "ReadRecoverableItems") {
		t.Errorf("without ReadRecoverableItems: %+v", caps.Unsupported)
	}
	mb := l.client(t, func(c *graphmail.Config) { c.ReadRecoverableItems = true }).Mailbox(alice)

	caps := mb.Capabilities()
	r := caps.Reader(mailbox.ScopeRecoverable, mailbox.KindMail)
	if len(r) != 1 || r[0].Format != mailbox.FormatMIME || len(caps.Writer(mailbox.ScopeRecoverable, mailbox.KindMail)) != 0 {
		t.Errorf("recoverable mail: reads %+v writes %+v", r, caps.Writer(mailbox.ScopeRecoverable, mailbox.KindMail))
	}
	for _, k := range []mailbox.Kind{mailbox.KindMail, mailbox.KindCalendar} {
		if why := caps.Unsupported[mailbox.StoreKind{Store: mailbox.ScopeRecoverable, Kind: k}]; !strings.Contains(why, "Versions and Purges") || !strings.Contains(why, "no write") {
			t.Errorf("recoverable %s: reason %q", k, why)
		}
	}

	fs, err := mb.Folders(ctxT(t), mailbox.ScopeRecoverable)
	if err != nil || len(fs) != 2 || fs[0].Path != "" || fs[1].Path != "Deletions" || fs[1].ParentID != fs[0].ID || fs[1].ItemCount != 1 || fs[1].Kind() != mailbox.KindMail {
		t.Fatalf("recoverable folders: %v %+v", err, fs)
	}
	primary, err := mb.Folders(ctxT(t), mailbox.ScopePrimary)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range primary {
		if f.ID == fs[0].ID || f.ID == fs[1].ID {
			t.Errorf("the primary tree lists %q", f.Path)
		}
	}
	// The root holds nothing of its own.
	if p, err := mb.Changes(ctxT(t), fs[0].ID, ""); err != nil || len(p.Changes) != 0 || p.More || p.State == "" {
		t.Errorf("changes of the root: %v %+v", err, p)
	}
	items, first := listAll(t, mb, fs[1].ID)
	if len(items) != 1 || items[0].ID != id || items[0].Subject != "hard deleted" {
		t.Fatalf("changes of Deletions: %+v", items)
	}
	rc, err := mb.OpenItem(ctxT(t), id, mailbox.FormatMIME)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(rc)
	rc.Close()
	if !strings.Contains(string(body), "gone but kept") {
		t.Errorf("MIME: %q", body)
	}
	// A later round reports what changed since.
	fx.UpdateMessage(id, func(m *graphtest.Message) { m.IsRead = true })
	next, err := mb.Changes(ctxT(t), fs[1].ID, first.State)
	if err != nil || len(next.Changes) != 1 || next.Changes[0].Item.ID != id || !next.Changes[0].Item.IsRead {
		t.Errorf("a round after the first: %v %+v", err, next)
	}
	if _, err := mb.Folders(ctxT(t), mailbox.ScopePublicFolders); !errors.Is(err, mailbox.ErrUnsupported) {
		t.Errorf("public folders: %v", err)
	}
}
