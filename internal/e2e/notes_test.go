package e2e

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/exmigrate/exmigrate/dispatch"
	"github.com/exmigrate/exmigrate/ews/ewstest"
	"github.com/exmigrate/exmigrate/internal/csvinput"
	"github.com/exmigrate/exmigrate/internal/lab"
	"github.com/exmigrate/exmigrate/mailbox"
)

// An on-prem mailbox with sticky notes and journal entries, and a little
// mail beside them.
const notesScenario = `
domain: contoso.com
cloud_domain: contoso.onmicrosoft.com
seed: 5
mailboxes:
  - address: nina@contoso.com
    location: onprem
    folders: {Inbox: 2}
    non_mail_items: {Notes: 3, Journal: 2}
`

// noteKeys lists a folder of the EWS fake as class, subject and text body,
// sorted, with the items' stamps.
func noteKeys(t *testing.T, f *ewstest.FolderFixture) (keys, stamps []string) {
	t.Helper()
	for _, it := range f.Items() {
		_, body, _ := bytes.Cut(it.MIME, []byte("\r\n\r\n"))
		keys = append(keys, fmt.Sprintf("%s|%s|%q", it.Class, it.Subject, body))
		stamps = append(stamps, it.SourceID)
	}
	slices.Sort(keys)
	return keys, stamps
}

// On-prem to on-prem, notes and journal entries arrive in the target's
// Notes and Journal folders with their classes, subjects and text, each
// stamped; a second pass writes nothing.
func TestNotesOnPremToOnPrem(t *testing.T) {
	e := startLab(t, mustScenario(t, notesScenario), lab.Options{})
	const src, dst = "nina@contoso.com", "nina.new@contoso.com"
	e.lab.EWS.AddMailbox(dst)
	entry := csvinput.Entry{Address: src, Target: dst, Location: mailbox.LocationOnPrem}
	res := e.copyOnce(t, entry, dispatch.OnPremToOnPrem, testOptions())
	if res.ItemsCopied != 7 || res.Skipped != 0 || len(res.NotCarried) != 0 {
		t.Fatalf("copied %d, skipped %d (%v), not carried %+v; want 2 messages, 3 notes and 2 journal entries", res.ItemsCopied, res.Skipped, res.SkipReasons, res.NotCarried)
	}
	for k, n := range map[mailbox.Kind]int64{mailbox.KindNotes: 3, mailbox.KindOther: 2} {
		if r := res.Kinds[k]; r == nil || r.Copied != n {
			t.Errorf("by kind, %s: %+v; want %d copied", k, r, n)
		}
	}
	srcMb, _ := e.lab.EWS.LookupMailbox(src)
	dstMb, _ := e.lab.EWS.LookupMailbox(dst)
	for _, tc := range []struct {
		root, class string
		n           int
	}{{"notes", mailbox.ClassStickyNote, 3}, {"journal", "IPM.Activity", 2}} {
		want, _ := noteKeys(t, srcMb.Root(tc.root))
		got, stamps := noteKeys(t, dstMb.Root(tc.root))
		if len(want) != tc.n || !strings.HasPrefix(want[0], tc.class+"|") {
			t.Fatalf("the source's %s holds %v", tc.root, want)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s on the target:\n%s\nwant:\n%s", tc.root, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		for _, s := range stamps {
			if s == "" {
				t.Errorf("%s: an item carries no stamp", tc.root)
			}
		}
	}
	writes := e.lab.EWS.Writes() + e.lab.Graph.Writes()
	res = e.copyOnce(t, entry, dispatch.OnPremToOnPrem, testOptions())
	if d := e.lab.EWS.Writes() + e.lab.Graph.Writes() - writes; res.ItemsCopied != 0 || d != 0 {
		t.Errorf("second pass: copied %d, %d writes; want none", res.ItemsCopied, d)
	}
}

// Onboarding, Graph has no API for notes or journal entries: neither
// folder is carried, each is reported with EXM-KIND-NOT-CARRIED and
// Graph's reason, and nothing is written for them; the mail goes.
func TestNotesOnboardingNotCarried(t *testing.T) {
	e := startLab(t, mustScenario(t, notesScenario), lab.Options{})
	const src, dst = "nina@contoso.com", "nina@contoso.onmicrosoft.com"
	entry := csvinput.Entry{Address: src, Target: dst, Location: mailbox.LocationOnPrem}
	res := e.copyOnce(t, entry, dispatch.Onboarding, testOptions())
	if res.ItemsCopied != 2 || res.Skipped != 0 {
		t.Errorf("copied %d, skipped %d (%v); want the 2 messages only", res.ItemsCopied, res.Skipped, res.SkipReasons)
	}
	const graphWhy = "Graph has no structured API for notes and journal items"
	notCarried := map[string]mailbox.Kind{}
	for _, f := range res.NotCarried {
		if f.Code != mailbox.CodeKindNotCarried || !strings.Contains(f.NotCopied, graphWhy) || f.Copied != 0 {
			t.Errorf("%s: code %q, reason %q, copied %d", f.SourcePath, f.Code, f.NotCopied, f.Copied)
		}
		notCarried[f.SourcePath] = f.Kind
	}
	if notCarried["Notes"] != mailbox.KindNotes || notCarried["Journal"] != mailbox.KindOther {
		t.Errorf("not carried: %v; want Notes (notes) and Journal (other)", notCarried)
	}
	gaps := map[mailbox.Kind]bool{}
	for _, g := range res.Gaps {
		if g.Store == mailbox.ScopePrimary && g.Code == mailbox.CodeKindNotCarried && strings.Contains(g.Reason, graphWhy) {
			gaps[g.Kind] = true
		}
	}
	if !gaps[mailbox.KindNotes] || !gaps[mailbox.KindOther] {
		t.Errorf("gaps %+v: want notes and other with Graph's reason", res.Gaps)
	}
	fx := e.lab.Graph.Mailbox(dst)
	for _, path := range []string{"Notes", "Journal"} {
		if n := len(fx.Messages(path)); n != 0 {
			t.Errorf("Graph's %s holds %d items", path, n)
		}
	}
	for _, f := range res.Folders {
		if f.SourcePath == "Notes" || f.SourcePath == "Journal" {
			t.Errorf("%s was copied: %+v", f.SourcePath, f)
		}
	}
}
