package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/exmigrate/exmigrate/dispatch"
	"github.com/exmigrate/exmigrate/engine"
	"github.com/exmigrate/exmigrate/internal/csvinput"
	"github.com/exmigrate/exmigrate/internal/lab"
	"github.com/exmigrate/exmigrate/mailbox"
)

// TestPendingItemsSettled: a crash can leave an item recorded as pending
// whose source item is deleted before the next run, so the sync never
// delivers it again. The pass settles it by the target's stamp: copied when
// the write had landed, skipped with the reason when it had not.
func TestPendingItemsSettled(t *testing.T) {
	e := startLab(t, mustScenario(t, `
domain: contoso.com
cloud_domain: contoso.onmicrosoft.com
seed: 11
mailboxes:
  - address: pia@contoso.com
    location: onprem
    folders: {Inbox: 4}
`), lab.Options{})
	const src, dst = "pia@contoso.com", "pia@contoso.onmicrosoft.com"
	entry := csvinput.Entry{Address: src, Target: dst, Location: mailbox.LocationOnPrem}
	e.copyOnce(t, entry, dispatch.Onboarding, testOptions())

	ctx := context.Background()
	key := engine.JobKey{SourceAddress: src, SourceLocation: "onprem", TargetAddress: dst, TargetLocation: "cloud"}
	job, err := e.store.Job(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	inbox := e.lab.EWS.AddMailbox(src).Folder("Inbox").ID()
	target := e.sides.Graph.Mailbox(dst)
	targetInbox := e.lab.Graph.Mailbox(dst).FolderID("Inbox")

	// Two items of a run that died: one whose write reached the target
	// (its stamp is there), one whose write did not. Both have since been
	// deleted at the source.
	landed, lost := "exm1-landed-before-the-crash", "exm1-never-written"
	raw := "Subject: written before the crash\r\nMessage-ID: <crash@contoso.com>\r\n\r\nbody\r\n"
	id, err := target.CreateMessage(ctx, targetInbox, mailbox.Message{SourceID: landed, MIME: strings.NewReader(raw), Size: int64(len(raw))})
	if err != nil {
		t.Fatal(err)
	}
	for _, sid := range []string{landed, lost} {
		if err := e.store.PutItem(ctx, engine.ItemRecord{JobID: job.ID, SourceID: sid, SourceItemID: "deleted-" + sid,
			SourceFolderID: inbox, Outcome: engine.ItemPending}); err != nil {
			t.Fatal(err)
		}
	}

	res := e.copyOnce(t, entry, dispatch.Onboarding, testOptions())
	if res.ItemsCopied != 0 || res.Healed != 1 {
		t.Errorf("second pass: %d copied, %d healed; want 0 and 1", res.ItemsCopied, res.Healed)
	}
	rec, _, err := e.store.Item(ctx, job.ID, landed)
	if err != nil || rec.Outcome != engine.ItemCopied || rec.TargetItemID != id {
		t.Errorf("landed item: %+v, %v; want copied as %s", rec, err, id)
	}
	rec, _, err = e.store.Item(ctx, job.ID, lost)
	if err != nil || rec.Outcome != engine.ItemSkipped || rec.Reason != "gone from the source before it was copied" {
		t.Errorf("lost item: %+v, %v; want skipped as gone from the source", rec, err)
	}
	if left, err := e.store.PendingItems(ctx, job.ID, inbox); err != nil || len(left) != 0 {
		t.Errorf("still pending: %+v, %v", left, err)
	}
}
