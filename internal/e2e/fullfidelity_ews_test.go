package e2e

import (
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/dispatch"
	"github.com/exmigrate/exmigrate/engine"
	"github.com/exmigrate/exmigrate/ews/ewstest"
	"github.com/exmigrate/exmigrate/internal/csvinput"
	"github.com/exmigrate/exmigrate/internal/fakestream"
	"github.com/exmigrate/exmigrate/internal/lab"
	"github.com/exmigrate/exmigrate/mailbox"
)

// fullFidelityScenario is the every-kind scenario with notes and a
// journal entry beside the calendar, contacts (a group among them) and
// tasks of the on-prem mailbox, and an online archive: one item of every
// kind.
var fullFidelityScenario = strings.Replace(everyKindScenario, "non_mail_items: {Calendar: 6, Contacts: 4, Tasks: 4}",
	"non_mail_items: {Calendar: 6, Contacts: 4, Tasks: 4, Notes: 2, Journal: 1}\n    archive: 3", 1)

// streamKey names an item by what it is, not by its id: its class,
// subject, received time, and a calendar item's start or a task's due
// date (a series and its items keep all of them in a copy).
func streamKey(it fakestream.Item) string {
	k := it.Class + "|" + it.Subject + "|" + it.Received.UTC().Format(time.RFC3339)
	if it.Event != nil {
		k += "|" + it.Event.Start.UTC().Format(time.RFC3339)
	}
	if it.Task != nil {
		k += "|" + it.Task.DueDate
	}
	return k
}

// comparable is an item's stream without what a copy must change: the
// stamp (the target's is its own) and the modification time (stamping
// is a write).
func comparable(it fakestream.Item) fakestream.Item {
	it.Ext = maps.Clone(it.Ext)
	for k := range it.Ext {
		if strings.Contains(strings.ToLower(k), strings.ToLower(mailbox.SourceIDPropertySet)) {
			delete(it.Ext, k)
		}
	}
	delete(it.Ext, "0x3008")
	return it
}

// TestFullFidelityOnPremToOnPrem copies a mailbox of every kind on-prem
// to a new on-prem mailbox: the planner takes full fidelity (ExportItems,
// UploadItems) for every kind, and the target's store holds every item
// with every property of its source (organizer, attendees and their
// responses, a task's owner, percent and complete date, the UID ...):
// no loss at all, nothing sent, and a second pass writes nothing.
func TestFullFidelityOnPremToOnPrem(t *testing.T) {
	const src, dst = "nina@contoso.com", "nina.ff@contoso.com"
	e := startLab(t, mustScenario(t, fullFidelityScenario), lab.Options{FullFidelity: true})
	e.lab.EWS.AddMailbox(dst).EnableArchive()
	srcMB, _ := e.lab.EWS.LookupMailbox(src)
	dstMB, _ := e.lab.EWS.LookupMailbox(dst)
	// Something of each kind only full fidelity carries: a task's owner,
	// percent and complete date as the source holds them.
	srcTasks := srcMB.Folder("Tasks")
	for _, s := range srcTasks.Tasks() {
		srcTasks.UpdateTask(s.ID, func(k *mailbox.Task) {
			k.Owner, k.PercentComplete, k.Status, k.CompleteDate = "Nina Source", 100, "Completed", "2026-11-02"
		})
		break
	}
	type place struct {
		path string
		of   func(*ewstest.MailboxFixture) *ewstest.FolderFixture
	}
	var folders []place
	for _, p := range []string{"Inbox", "Calendar", "Contacts", "Tasks", "Notes", "Journal"} {
		folders = append(folders, place{p, func(m *ewstest.MailboxFixture) *ewstest.FolderFixture { return m.Folder(p) }})
	}
	folders = append(folders, place{"archive Inbox", func(m *ewstest.MailboxFixture) *ewstest.FolderFixture { return m.ArchiveFolder("Inbox") }})
	entry := csvinput.Entry{Address: src, Target: dst, Location: mailbox.LocationOnPrem}
	uploads, creates := e.lab.EWS.Requests("UploadItems"), e.lab.EWS.Requests("CreateItem")

	opts := testOptions()
	opts.Stores = []mailbox.Scope{mailbox.ScopePrimary, mailbox.ScopeArchive}
	res := e.copyOnce(t, entry, dispatch.OnPremToOnPrem, opts)

	paths := engine.ParsePaths(res.Paths)
	for _, k := range mailbox.Kinds() {
		if p := paths["primary/"+string(k)]; p != string(mailbox.FormatFullFidelity) {
			t.Errorf("primary/%s moved as %q, want full fidelity (paths %s)", k, p, res.Paths)
		}
	}
	if p := paths["archive/mail"]; p != string(mailbox.FormatFullFidelity) {
		t.Errorf("archive/mail moved as %q, want full fidelity (paths %s)", p, res.Paths)
	}
	if len(res.Losses) != 0 || res.LossesTotal() != 0 {
		t.Errorf("full fidelity reported %d losses: %+v", res.LossesTotal(), res.Losses)
	}
	total, archived := 0, 0
	for _, pl := range folders {
		path := pl.path
		sf, df := pl.of(srcMB), pl.of(dstMB)
		ss, err := sf.Streams()
		if err != nil {
			t.Fatal(err)
		}
		ds, err := df.Streams()
		if err != nil {
			t.Fatal(err)
		}
		if len(ss) == 0 || len(ds) != len(ss) {
			t.Errorf("%s: source holds %d items, target %d", path, len(ss), len(ds))
			continue
		}
		byKey := map[string]ewstest.StoredStream{}
		for _, d := range ds {
			byKey[streamKey(d.Item)] = d
		}
		for _, s := range ss {
			k := streamKey(s.Item)
			d, ok := byKey[k]
			if !ok {
				t.Errorf("%s: %s is not on the target", path, k)
				continue
			}
			if d.SourceID == "" {
				t.Errorf("%s: %s carries no stamp on the target", path, k)
			}
			diffStruct(t, fmt.Sprintf("%s: %s", path, k), comparable(d.Item), comparable(s.Item))
			if s.Item.Event != nil && s.Item.Event.IsMeeting && (d.Item.Event.Organizer == nil || len(d.Item.Event.Attendees) == 0) {
				t.Errorf("%s: the meeting %s lost its organizer or attendees", path, k)
			}
			total++
			if strings.HasPrefix(path, "archive") {
				archived++
			}
		}
	}
	t.Logf("%d items compared; paths %s", total, res.Paths)
	if n := e.lab.EWS.Requests("UploadItems") - uploads; n != int64(total) || res.ItemsCopied != int64(total) {
		t.Errorf("%d uploads and %d items copied for %d items", n, res.ItemsCopied, total)
	}
	if n := e.lab.EWS.Requests("CreateItem") - creates; n != 0 {
		t.Errorf("%d CreateItem requests: an item went another way than full fidelity", n)
	}
	if n := e.lab.EWS.MeetingMessagesSent() + e.lab.Graph.MeetingMessagesSent(); n != 0 {
		t.Fatalf("the copy made the services send %d meeting messages", n)
	}

	writes := e.lab.EWS.Writes()
	if again := e.copyOnce(t, entry, dispatch.OnPremToOnPrem, opts); again.ItemsCopied != 0 || again.Updated() != 0 || e.lab.EWS.Writes() != writes {
		t.Errorf("second pass: copied %d, updated %d, %d writes; want none", again.ItemsCopied, again.Updated(), e.lab.EWS.Writes()-writes)
	}
	// The stamps on the target are the truth: a new state adopts every
	// copy (of the primary store, which copyWithNewState copies).
	fresh := e.copyWithNewState(t, entry, dispatch.OnPremToOnPrem)
	var adopted int64
	for _, k := range fresh.Kinds {
		adopted += k.Adopted
	}
	if adopted != int64(total-archived) {
		t.Errorf("a new state adopted %d items, want %d", adopted, total-archived)
	}
}
