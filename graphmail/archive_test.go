package graphmail_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/graphmail"
	"github.com/exmigrate/exmigrate/graphmail/graphtest"
	"github.com/exmigrate/exmigrate/internal/fakestream"
	"github.com/exmigrate/exmigrate/mailbox"
)

func newArchiveLab(t *testing.T) *lab {
	l := newIELab(t, nil, func(c *graphmail.Config) { c.ArchivePreview = true })
	// Archive folders are made through the import/export API.
	l.srv.AddApp(tenantID, clientID, secret, "MailboxFolder.ReadWrite.All")
	return l
}

// listAll runs Changes from the empty state until More is false.
func listAll(t *testing.T, mb *graphmail.Mailbox, folderID string) ([]mailbox.Item, mailbox.ChangePage) {
	t.Helper()
	var out []mailbox.Item
	state := ""
	for {
		p, err := mb.Changes(ctxT(t), folderID, state)
		if err != nil {
			t.Fatalf("changes of %s: %v", folderID, err)
		}
		for _, c := range p.Changes {
			if c.Kind != mailbox.ChangeCreated {
				t.Errorf("a listing round reported %s", c.Kind)
			}
			out = append(out, c.Item)
		}
		if !p.More {
			return out, p
		}
		state = p.State
	}
}

// byPath maps the folders of a scope by path.
func byPath(t *testing.T, mb *graphmail.Mailbox, scope mailbox.Scope) map[string]mailbox.Folder {
	t.Helper()
	fs, err := mb.Folders(ctxT(t), scope)
	if err != nil {
		t.Fatalf("folders %s: %v", scope, err)
	}
	out := map[string]mailbox.Folder{}
	for _, f := range fs {
		out[f.Path] = f
	}
	return out
}

// The archive of one mailbox goes to the archive of another through the
// beta import/export API: every kind the archive holds, folder by folder,
// with the fingerprint of each item kept.
func TestArchiveRoundTrip(t *testing.T) {
	l := newArchiveLab(t)
	srcArch := l.srv.AddMailbox(alice, mailbox.TypeUser).AddArchive()
	dstFx := l.srv.AddMailbox(bob, mailbox.TypeUser)
	dstArch := dstFx.AddArchive()
	day := time.Date(2019, 3, 2, 9, 0, 0, 0, time.UTC)
	msg := srcArch.AddMessage("Old/2019", graphtest.Message{Subject: "archived", Received: day, IsRead: true})
	srcArch.AddEvent("", mailbox.Event{Subject: "old meeting", Start: day, End: day.Add(time.Hour)})
	srcArch.AddContact("", mailbox.Contact{DisplayName: "Old Contact"})
	srcArch.AddTask("", mailbox.Task{Subject: "old task"})
	src, dst := l.c.Mailbox(alice), l.c.Mailbox(bob)

	// Capabilities: every full-fidelity kind, read and written, in the archive.
	caps := src.Capabilities()
	for _, k := range []mailbox.Kind{mailbox.KindMail, mailbox.KindCalendar, mailbox.KindContacts, mailbox.KindTasks, mailbox.KindNotes} {
		r, w := caps.Reader(mailbox.ScopeArchive, k), caps.Writer(mailbox.ScopeArchive, k)
		if len(r) != 1 || r[0].Format != mailbox.FormatFullFidelity || r[0].Dialect != mailbox.DialectGraph || len(w) != 1 || w[0].Dialect != mailbox.DialectGraph ||
			caps.Unsupported[mailbox.StoreKind{Store: mailbox.ScopeArchive, Kind: k}] != "" {
			t.Errorf("archive %s: reads %+v writes %+v unsupported %q", k, r, w, caps.Unsupported[mailbox.StoreKind{Store: mailbox.ScopeArchive, Kind: k}])
		}
	}
	if caps.Unsupported[mailbox.StoreKind{Store: mailbox.ScopeArchive, Kind: mailbox.KindOther}] == "" {
		t.Error("archive/other has no reason")
	}
	route, gap := mailbox.PlanRoute(caps, dst.Capabilities(), mailbox.ScopeArchive, mailbox.ScopeArchive, mailbox.KindCalendar)
	if gap != nil || route.Format != mailbox.FormatFullFidelity {
		t.Errorf("archive route: %+v %v", route, gap)
	}

	// The folder tree: the root first, parents before children, kinds and counts.
	fs, err := src.Folders(ctxT(t), mailbox.ScopeArchive)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for i, f := range fs {
		if (i == 0) != (f.Path == "") || i > 0 && !seen[f.ParentID] {
			t.Fatalf("folder %d %q: root first, parents before children: %+v", i, f.Path, fs)
		}
		seen[f.ID] = true
	}
	tree := byPath(t, src, mailbox.ScopeArchive)
	if tree["Old/2019"].ItemCount != 1 || tree["Calendar"].Kind() != mailbox.KindCalendar || tree["Contacts"].Kind() != mailbox.KindContacts || tree["Tasks"].Kind() != mailbox.KindTasks {
		t.Fatalf("archive tree: %+v", tree)
	}
	if tree["Old/2019"].ID == byPath(t, src, mailbox.ScopePrimary)["Inbox"].ID {
		t.Fatal("archive and primary share folder ids")
	}

	// Changes is a listing carrying fingerprints; a finished round's
	// state starts a new one.
	items, last := listAll(t, src, tree["Old/2019"].ID)
	if len(items) != 1 || !last.Listing || items[0].Class != mailbox.ClassMessage || items[0].Fingerprint != srcArch.SearchKey(msg) || items[0].ChangeKey == "" {
		t.Fatalf("archive listing: %+v %+v", items, last)
	}
	again, err := src.Changes(ctxT(t), tree["Old/2019"].ID, last.State)
	if err != nil || len(again.Changes) != 1 {
		t.Errorf("a new listing round: %v %+v", err, again)
	}
	if _, err := src.OpenItem(ctxT(t), items[0].ID, mailbox.FormatMIME); !errors.Is(err, mailbox.ErrUnsupported) {
		t.Errorf("MIME of an archive item: %v", err)
	}
	before := l.srv.Requests()
	if err := src.UpdateItem(ctxT(t), items[0].ID, mailbox.Payload{Item: items[0], Format: mailbox.FormatTyped}); !errors.Is(err, mailbox.ErrUnsupported) || l.srv.Requests() != before {
		t.Errorf("a typed update of an archive item: %v", err)
	}
	if err := src.SetRead(ctxT(t), items[0].ID, false); !errors.Is(err, mailbox.ErrUnsupported) || l.srv.Requests() != before {
		t.Errorf("SetRead of an archive item: %v", err)
	}

	// Copy every folder: CreateFolder under the target archive's root
	// (idempotent), OpenItem, CreateItem.
	dtree := byPath(t, dst, mailbox.ScopeArchive)
	old, err := dst.CreateFolder(ctxT(t), dtree[""].ID, "Old", mailbox.ClassMailFolder)
	if err != nil || old.Path != "Old" {
		t.Fatalf("create Old: %+v %v", old, err)
	}
	if again, err := dst.CreateFolder(ctxT(t), dtree[""].ID, "old", mailbox.ClassMailFolder); err != nil || again.ID != old.ID {
		t.Errorf("create Old again: %+v %v, want %s", again, err, old.ID)
	}
	y2019, err := dst.CreateFolder(ctxT(t), old.ID, "2019", "")
	if err != nil || y2019.Path != "Old/2019" || y2019.ParentID != old.ID {
		t.Fatalf("create Old/2019: %+v %v", y2019, err)
	}
	if dstArch.FolderID("Old/2019") == "" || dstFx.FolderID("Old") != "" {
		t.Fatal("the folders were not made in the target's archive only")
	}
	targets := map[string]string{"Old/2019": y2019.ID, "Calendar": dtree["Calendar"].ID, "Contacts": dtree["Contacts"].ID, "Tasks": dtree["Tasks"].ID}
	for path, target := range targets {
		items, _ := listAll(t, src, tree[path].ID)
		if len(items) != 1 {
			t.Fatalf("%s: %d items", path, len(items))
		}
		rc, err := src.OpenItem(ctxT(t), items[0].ID, mailbox.FormatFullFidelity)
		if err != nil {
			t.Fatalf("export %s: %v", path, err)
		}
		data, _ := io.ReadAll(rc)
		rc.Close()
		if st, err := fakestream.Decode(data); err != nil || st.SearchKey != items[0].Fingerprint {
			t.Fatalf("%s stream: %v %+v", path, err, st)
		}
		p := ffPayload(strings.NewReader(string(data)))
		p.Item = items[0]
		id, err := dst.CreateItem(ctxT(t), target, p)
		if err != nil {
			t.Fatalf("import %s: %v", path, err)
		}
		// Nothing stamped; Fingerprints finds the import.
		if _, found, err := dst.FindBySourceID(ctxT(t), target, "any"); found || err != nil {
			t.Errorf("%s: FindBySourceID %v %v", path, found, err)
		}
		n := 0
		if err := dst.Stamps(ctxT(t), target, func(mailbox.Item) error { n++; return nil }); err != nil || n != 0 {
			t.Errorf("%s: Stamps %d %v", path, n, err)
		}
		fps := map[string]string{}
		if err := dst.Fingerprints(ctxT(t), target, func(id, fp string) error { fps[id] = fp; return nil }); err != nil || len(fps) != 1 || fps[id] != items[0].Fingerprint {
			t.Errorf("%s: fingerprints %v %v, want %s -> %s", path, fps, err, id, items[0].Fingerprint)
		}
		copied, _ := listAll(t, dst, target)
		if len(copied) != 1 || copied[0].ID != id || copied[0].Class != items[0].Class || copied[0].Fingerprint != items[0].Fingerprint {
			t.Errorf("%s: the target archive lists %+v", path, copied)
		}
	}
	if len(dstArch.Messages("Old/2019")) != 1 || len(dstArch.Events("")) != 1 || len(dstArch.Contacts(dstArch.ContactsFolderID())) != 1 || len(dstArch.Tasks("")) != 1 {
		t.Error("the target archive does not hold one item of each kind")
	}
	if len(dstFx.Events("")) != 0 || len(dstFx.Tasks("")) != 0 {
		t.Error("the target's primary got archive items")
	}
	if _, err := dst.CreateItem(ctxT(t), y2019.ID, mailbox.Payload{Item: mailbox.Item{Class: mailbox.ClassMessage}, Format: mailbox.FormatMIME, Body: strings.NewReader("x"), Size: 1}); !errors.Is(err, mailbox.ErrUnsupported) {
		t.Errorf("MIME into the archive: %v", err)
	}
}

// A mailbox without an archive, and a client without the preview.
func TestArchiveMissingOrOff(t *testing.T) {
	l := newArchiveLab(t)
	l.srv.AddMailbox(alice, mailbox.TypeUser)
	_, err := l.c.Mailbox(alice).Folders(ctxT(t), mailbox.ScopeArchive)
	if !errors.Is(err, graphmail.ErrNoArchive) || !errors.Is(err, mailbox.ErrNotFound) || !strings.Contains(err.Error(), alice) || !strings.Contains(err.Error(), "Enable-Mailbox -Archive") {
		t.Errorf("no archive: %v", err)
	}
	off := l.client(t, func(c *graphmail.Config) { c.FullFidelity = true })
	mb := off.Mailbox(alice)
	if _, err := mb.Folders(ctxT(t), mailbox.ScopeArchive); !errors.Is(err, mailbox.ErrUnsupported) || !strings.Contains(err.Error(), "archive: preview") {
		t.Errorf("archive without the preview: %v", err)
	}
	caps := mb.Capabilities()
	if why := caps.Unsupported[mailbox.StoreKind{Store: mailbox.ScopeArchive, Kind: mailbox.KindMail}]; !strings.Contains(why, "Graph v1.0 cannot reach an online archive") || !strings.Contains(why, "archive: preview") || caps.HasStore(mailbox.ScopeArchive) {
		t.Errorf("archive without the preview: %q", why)
	}
	for _, c := range []struct {
		name string
		edit func(*graphmail.Config)
	}{
		{"without FullFidelity", func(c *graphmail.Config) { c.ArchivePreview = true }},
		{"a base URL without /v1.0", func(c *graphmail.Config) {
			c.FullFidelity, c.ArchivePreview = true, true
			c.BaseURL = strings.TrimSuffix(c.BaseURL, "/v1.0") + "/graph"
		}},
	} {
		cfg := l.config()
		c.edit(&cfg)
		if _, err := graphmail.NewClient(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "ArchivePreview") {
			t.Errorf("ArchivePreview %s: %v", c.name, err)
		}
	}
}

// An expanded folder of an auto-expanding archive: its reads are
// redirected (308) to the auxiliary archive, its export points there,
// and an import into it takes a session of the auxiliary.
func TestArchiveAuxiliary(t *testing.T) {
	l := newArchiveLab(t)
	srcArch := l.srv.AddMailbox(alice, mailbox.TypeUser).AddArchive()
	dstArch := l.srv.AddMailbox(bob, mailbox.TypeUser).AddArchive()
	msg := srcArch.AddMessage("Big", graphtest.Message{Subject: "in an auxiliary"})
	srcAux := srcArch.ExpandFolder("Big")
	dstArch.Folder("Big")
	dstAux := dstArch.ExpandFolder("Big")
	src, dst := l.c.Mailbox(alice), l.c.Mailbox(bob)

	big := byPath(t, src, mailbox.ScopeArchive)["Big"]
	items, _ := listAll(t, src, big.ID)
	if len(items) != 1 || items[0].Fingerprint != srcAux.SearchKey(msg) {
		t.Fatalf("listing of an expanded folder: %+v", items)
	}
	if fp, err := src.Fingerprint(ctxT(t), items[0].ID); err != nil || fp != items[0].Fingerprint {
		t.Errorf("fingerprint of an item of the auxiliary: %q %v", fp, err)
	}
	rc, err := src.OpenItem(ctxT(t), items[0].ID, mailbox.FormatFullFidelity)
	if err != nil {
		t.Fatalf("export of an item of the auxiliary: %v", err)
	}
	data, _ := io.ReadAll(rc)
	rc.Close()
	target := byPath(t, dst, mailbox.ScopeArchive)["Big"]
	for i := range 2 {
		if _, err := dst.CreateItem(ctxT(t), target.ID, ffPayload(strings.NewReader(string(data)))); err != nil {
			t.Fatalf("import %d into an expanded folder: %v", i, err)
		}
	}
	if n := len(dstAux.Messages("Big")); n != 2 || len(dstArch.Messages("Big")) != 0 {
		t.Errorf("the target's auxiliary holds %d, its main archive %d", n, len(dstArch.Messages("Big")))
	}
	fps := map[string]string{}
	if err := dst.Fingerprints(ctxT(t), target.ID, func(id, fp string) error { fps[id] = fp; return nil }); err != nil || len(fps) != 2 {
		t.Errorf("fingerprints of an expanded folder: %v %v", fps, err)
	}
}

// Listings of more than a page: Changes pages with More, Fingerprints
// follows the nextLinks.
func TestArchivePaging(t *testing.T) {
	l := newArchiveLab(t)
	arch := l.srv.AddMailbox(alice, mailbox.TypeUser).AddArchive()
	const n = graphmail.SyncPageSize + 5
	for i := range n {
		arch.AddMessage("Many", graphtest.Message{Subject: fmt.Sprint("m", i)})
	}
	mb := l.c.Mailbox(alice)
	many := byPath(t, mb, mailbox.ScopeArchive)["Many"]
	first, err := mb.Changes(ctxT(t), many.ID, "")
	if err != nil || !first.More || len(first.Changes) != graphmail.SyncPageSize {
		t.Fatalf("first page: %v more %v, %d changes", err, first.More, len(first.Changes))
	}
	items, _ := listAll(t, mb, many.ID)
	seen := map[string]bool{}
	for _, it := range items {
		seen[it.ID] = true
	}
	if len(items) != n || len(seen) != n {
		t.Errorf("listing: %d items, %d distinct, want %d", len(items), len(seen), n)
	}
	fps := 0
	if err := mb.Fingerprints(ctxT(t), many.ID, func(id, fp string) error {
		if !seen[id] || fp == "" {
			t.Errorf("fingerprint of %s: %q", id, fp)
		}
		fps++
		return nil
	}); err != nil || fps != n {
		t.Errorf("fingerprints: %d, %v", fps, err)
	}
}
