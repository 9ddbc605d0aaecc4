package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/dispatch"
	"github.com/exmigrate/exmigrate/engine"
	"github.com/exmigrate/exmigrate/graphmail/graphtest"
	"github.com/exmigrate/exmigrate/internal/csvinput"
	"github.com/exmigrate/exmigrate/internal/lab"
	"github.com/exmigrate/exmigrate/mailbox"
)

const storesScenario = `
domain: contoso.com
cloud_domain: contoso.onmicrosoft.com
seed: 5
mailboxes:
  - address: bob@contoso.com
    name: Bob Müller
    location: onprem
    folders: {Inbox: 6}
    archive: 9
    recoverable_items: 7
`

// TestRecoverableItemsIntoTheCloud: on request, an on-prem mailbox's
// Recoverable Items go over EWS and Graph into a folder of the cloud
// mailbox (neither service documents a write into Recoverable Items),
// once; the archive, which Graph v1.0 cannot reach, is a gap that says so.
func TestRecoverableItemsIntoTheCloud(t *testing.T) {
	e := startLab(t, mustScenario(t, storesScenario), lab.Options{})
	entry := csvinput.Entry{Address: "bob@contoso.com", Target: "bob@contoso.onmicrosoft.com", Location: mailbox.LocationOnPrem}
	opts := testOptions()
	opts.Stores = []mailbox.Scope{mailbox.ScopePrimary, mailbox.ScopeArchive, mailbox.ScopeRecoverable}
	opts.StoreInto = map[mailbox.Scope]engine.StoreTarget{mailbox.ScopeRecoverable: {Store: mailbox.ScopePrimary, Folder: "Recoverable Items (migrated)"}}
	res := e.copyOnce(t, entry, dispatch.Onboarding, opts)

	want := len(e.lab.EWS.AddMailbox("bob@contoso.com").RecoverableFolder("Deletions").Items())
	if want != 7 {
		t.Fatalf("the lab's Recoverable Items hold %d, want 7", want)
	}
	fx := e.lab.Graph.Mailbox(entry.Target)
	got := fx.Messages("Recoverable Items (migrated)/Deletions")
	if len(got) != want {
		t.Errorf("the cloud folder holds %d of the %d Recoverable Items", len(got), want)
	}
	if n := len(fx.Messages("Inbox")); n != 6 {
		t.Errorf("the cloud Inbox holds %d, want 6", n)
	}
	archiveGap := false
	for _, g := range res.Gaps {
		archiveGap = archiveGap || (g.Store == mailbox.ScopeArchive && g.Kind == "")
	}
	if !archiveGap {
		t.Errorf("the archive, which the target cannot reach, is not a gap: %+v", res.Gaps)
	}
	if p := engine.ParsePaths(res.Paths)["recoverable/mail"]; p != string(mailbox.FormatMIME) {
		t.Errorf("recoverable/mail moved as %q (paths %s)", p, res.Paths)
	}
	// A second pass writes nothing.
	w := e.lab.Graph.Writes()
	if res := e.copyOnce(t, entry, dispatch.Onboarding, opts); res.ItemsCopied != 0 || e.lab.Graph.Writes() != w {
		t.Errorf("second pass copied %d, wrote %d", res.ItemsCopied, e.lab.Graph.Writes()-w)
	}
}

// TestArchiveIntoTheCloudPreview: with archive: preview on the cloud
// endpoint, an on-prem online archive goes over EWS ExportItems and Graph's
// beta import API into the cloud mailbox's archive, once: a second pass
// writes nothing, and a pass with a new state finds every import by its
// fingerprint instead of importing it again.
func TestArchiveIntoTheCloudPreview(t *testing.T) {
	e := startLab(t, mustScenario(t, storesScenario), lab.Options{GraphFullFidelity: true, GraphTakesEWSStreams: true, GraphArchivePreview: true})
	entry := csvinput.Entry{Address: "bob@contoso.com", Target: "bob@contoso.onmicrosoft.com", Location: mailbox.LocationOnPrem}
	opts := testOptions()
	opts.Stores = []mailbox.Scope{mailbox.ScopePrimary, mailbox.ScopeArchive}
	res := e.copyOnce(t, entry, dispatch.Onboarding, opts)
	if p := engine.ParsePaths(res.Paths)["archive/mail"]; p != string(mailbox.FormatFullFidelity) {
		t.Fatalf("archive/mail moved as %q (paths %s; gaps %+v)", p, res.Paths, res.Gaps)
	}
	want := len(e.lab.EWS.AddMailbox("bob@contoso.com").ArchiveFolder("Inbox").Items())
	arch := e.lab.Graph.Mailbox(entry.Target).Archive()
	if arch == nil {
		t.Fatal("the lab gave the cloud target no archive")
	}
	if got := len(arch.Messages("Inbox")); want != 9 || got != want {
		t.Errorf("the cloud archive's Inbox holds %d of the on-prem archive's %d", got, want)
	}
	w := e.lab.Graph.Writes()
	if res := e.copyOnce(t, entry, dispatch.Onboarding, opts); res.ItemsCopied != 0 || e.lab.Graph.Writes() != w {
		t.Errorf("second pass copied %d, wrote %d", res.ItemsCopied, e.lab.Graph.Writes()-w)
	}
	res = e.copyWithNewStateOpts(t, entry, dispatch.Onboarding, opts)
	if res.Adopted < int64(want) {
		t.Errorf("a new state adopted %d items, want at least the archive's %d", res.Adopted, want)
	}
	if got := len(arch.Messages("Inbox")); got != want {
		t.Errorf("after a pass with a new state the cloud archive's Inbox holds %d, want %d", got, want)
	}
}

const cloudArchiveScenario = `
domain: contoso.com
cloud_domain: contoso.onmicrosoft.com
seed: 8
mailboxes:
  - address: olga@contoso.com
    location: cloud
    folders: {Inbox: 4}
`

// TestArchiveBackFromTheCloudPreview: the other way, a cloud archive read
// through Graph's beta export goes into an on-prem archive with
// UploadItems, once the fidelity probe found that the Exchange server
// takes Graph's data (which Microsoft does not document: the lab's server
// decides); when it does not, the archive is a gap and nothing is written.
func TestArchiveBackFromTheCloudPreview(t *testing.T) {
	for _, takes := range []bool{true, false} {
		t.Run(map[bool]string{true: "server takes Graph data", false: "server refuses Graph data"}[takes], func(t *testing.T) {
			e := startLab(t, mustScenario(t, cloudArchiveScenario), lab.Options{FullFidelity: true, GraphFullFidelity: true, GraphArchivePreview: true})
			const src, dst = "olga@contoso.com", "olga.returned@contoso.com"
			arch := e.lab.Graph.Mailbox(src).AddArchive()
			for i := range 5 {
				arch.AddMessage("Inbox", graphtest.Message{Subject: fmt.Sprintf("archived %d", i), From: "ann@contoso.com", To: []string{src}, Body: "old mail"})
			}
			e.lab.EWS.AddMailbox(dst).EnableArchive()
			e.lab.EWS.AcceptForeignStreams(takes)
			entry := csvinput.Entry{Address: src, Target: dst, Location: mailbox.LocationCloud}
			ctx := context.Background()
			route, err := e.disp.Locate(ctx, entry)
			if err != nil {
				t.Fatal(err)
			}
			s, d, _, err := e.disp.Open(route, dispatch.Offboarding)
			if err != nil {
				t.Fatal(err)
			}
			probe, err := engine.Probe(ctx, s, d, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if probe.AcceptedDialect() != takes {
				t.Fatalf("the probe says %v, the lab's server %v: %+v", probe.AcceptedDialect(), takes, probe.Kinds)
			}
			if takes {
				d.(mailbox.DialectAccepter).AcceptDialect(probe.Dialect) // as copy does
			}
			opts := testOptions()
			opts.Stores = []mailbox.Scope{mailbox.ScopePrimary, mailbox.ScopeArchive}
			res := e.copyOnce(t, entry, dispatch.Offboarding, opts)
			got := len(e.lab.EWS.AddMailbox(dst).ArchiveFolder("Inbox").Items())
			path := engine.ParsePaths(res.Paths)["archive/mail"]
			if takes && (got != 5 || path != string(mailbox.FormatFullFidelity)) {
				t.Errorf("the on-prem archive's Inbox holds %d of 5 (archive/mail %q, gaps %+v)", got, path, res.Gaps)
			}
			if !takes && (got != 0 || path != engine.PathNotCarried) {
				t.Errorf("a server that refuses Graph data: %d archived items written, archive/mail %q", got, path)
			}
		})
	}
}
