package graphmail_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/graphmail"
	"github.com/exmigrate/exmigrate/graphmail/graphtest"
	"github.com/exmigrate/exmigrate/internal/fakestream"
	"github.com/exmigrate/exmigrate/mailbox"
)

// folderByPath is the id of a folder Folders lists at path.
func folderByPath(t *testing.T, mb *graphmail.Mailbox, scope mailbox.Scope, path string) string {
	t.Helper()
	fs, err := mb.Folders(ctxT(t), scope)
	if err != nil {
		t.Fatalf("folders %s: %v", scope, err)
	}
	for _, f := range fs {
		if f.Path == path {
			return f.ID
		}
	}
	t.Fatalf("no %s folder %q", scope, path)
	return ""
}

// exported is the stream of an item read through OpenItem in full fidelity.
func exported(t *testing.T, mb *graphmail.Mailbox, id string) ([]byte, fakestream.Item) {
	t.Helper()
	rc, err := mb.OpenItem(ctxT(t), id, mailbox.FormatFullFidelity)
	if err != nil {
		t.Fatalf("export %s: %v", id, err)
	}
	defer rc.Close()
	data, _ := io.ReadAll(rc)
	it, err := fakestream.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	return data, it
}

// A crash between an import and its record: the engine finds the
// imported item by the fingerprint its source gave (Fingerprint on the
// source, Fingerprints on the target folder), and a stamped item is not
// among them.
func TestFingerprints(t *testing.T) {
	l := newIELab(t, nil, nil)
	a := l.srv.AddMailbox(alice, mailbox.TypeUser)
	l.srv.AddMailbox(bob, mailbox.TypeUser)
	day := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	msg := a.AddMessage("Inbox", graphtest.Message{Subject: "found again"})
	contact := a.AddContact("", mailbox.Contact{DisplayName: "Eve Example"})
	event := a.AddEvent("", mailbox.Event{Subject: "review", Start: day, End: day.Add(time.Hour)})
	task := a.AddTask("", mailbox.Task{Subject: "file it"})
	src, dst := l.c.Mailbox(alice), l.c.Mailbox(bob)
	if !dst.Capabilities().UnstampedImports {
		t.Error("a full-fidelity target does not declare UnstampedImports")
	}

	// The source: Fingerprint of what Changes delivered equals what the
	// export carries, for each kind that has extended properties.
	inbox := folderByPath(t, src, mailbox.ScopePrimary, "Inbox")
	page, err := src.Changes(ctxT(t), inbox, "")
	if err != nil || len(page.Changes) != 1 || page.Changes[0].Item.ID != msg {
		t.Fatalf("changes: %v %+v", err, page)
	}
	for _, c := range []struct{ name, id string }{{"message", msg}, {"contact", contact}, {"event", event}} {
		fp, err := src.Fingerprint(ctxT(t), c.id)
		_, st := exported(t, src, a.ImportExportItemID(c.id))
		if err != nil || len(fp) != 32 || fp != st.SearchKey || fp != a.SearchKey(c.id) {
			t.Errorf("%s: fingerprint %q %v, export carries %q", c.name, fp, err, st.SearchKey)
		}
	}
	tasks := folderByPath(t, src, mailbox.ScopePrimary, "Tasks")
	if _, err := src.Changes(ctxT(t), tasks, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := src.Fingerprint(ctxT(t), task); !errors.Is(err, mailbox.ErrUnsupported) {
		t.Errorf("a To Do task's fingerprint: %v, want ErrUnsupported", err)
	}
	if _, err := src.Fingerprint(ctxT(t), "AAMkMissing"); !errors.Is(err, mailbox.ErrNotFound) {
		t.Errorf("a missing item's fingerprint: %v, want ErrNotFound", err)
	}

	// The target: an import keeps the search key; a MIME write (stamped)
	// is not listed.
	data, st := exported(t, src, a.ImportExportItemID(msg))
	target := folderByPath(t, dst, mailbox.ScopePrimary, "Inbox")
	imported, err := dst.CreateItem(ctxT(t), target, ffPayload(bytes.NewReader(data)))
	if err != nil {
		t.Fatal(err)
	}
	mime := mimeMessage("stamped", "<s@x>", day)
	if _, err := dst.CreateItem(ctxT(t), target, mailbox.Payload{Item: mailbox.Item{Subject: "stamped", Class: mailbox.ClassMessage}, SourceID: "src-1",
		Format: mailbox.FormatMIME, Body: strings.NewReader(mime), Size: int64(len(mime))}); err != nil {
		t.Fatal(err)
	}
	if n := len(l.srv.Mailbox(bob).Messages("Inbox")); n != 2 {
		t.Fatalf("target holds %d messages", n)
	}
	got := map[string]string{}
	err = dst.Fingerprints(ctxT(t), target, func(id, fp string) error {
		got[id] = fp
		return nil
	})
	if err != nil || len(got) != 1 || got[imported] != st.SearchKey {
		t.Errorf("fingerprints: %v %v, want only %s -> %s", err, got, imported, st.SearchKey)
	}
	// fn's error stops the listing and is returned.
	stop := errors.New("stop")
	if err := dst.Fingerprints(ctxT(t), target, func(string, string) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("fn's error: %v", err)
	}
}

// Without FullFidelity there is no import/export API to list through.
func TestFingerprintsNeedFullFidelity(t *testing.T) {
	l := newLab(t)
	l.srv.AddMailbox(alice, mailbox.TypeUser)
	mb := l.c.Mailbox(alice)
	if mb.Capabilities().UnstampedImports {
		t.Error("a target without full fidelity declares UnstampedImports")
	}
	err := mb.Fingerprints(ctxT(t), folderByPath(t, mb, mailbox.ScopePrimary, "Inbox"), func(string, string) error { return nil })
	if !errors.Is(err, mailbox.ErrUnsupported) || !strings.Contains(err.Error(), "FullFidelity") {
		t.Errorf("without FullFidelity: %v", err)
	}
}
