package engine_test

import (
	"bytes"
	"context"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/engine"
	"github.com/exmigrate/exmigrate/internal/audit"
	"github.com/exmigrate/exmigrate/mailbox"
	"github.com/exmigrate/exmigrate/mailbox/mailboxtest"
	"github.com/exmigrate/exmigrate/mailbox/memory"
)

// typedCaps declares mail as MIME and calendar, contacts and tasks as
// typed only, as the EWS and Graph adapters do.
func typedCaps() mailbox.Capabilities {
	c := memory.DefaultCapabilities()
	keep := func(p mailbox.Path) bool {
		typedKind := p.Kind == mailbox.KindCalendar || p.Kind == mailbox.KindContacts || p.Kind == mailbox.KindTasks
		return typedKind == (p.Format == mailbox.FormatTyped)
	}
	c.Reads = slices.DeleteFunc(c.Reads, func(p mailbox.Path) bool { return !keep(p) })
	c.Writes = slices.DeleteFunc(c.Writes, func(p mailbox.Path) bool { return !keep(p) })
	return c
}

// lossyTarget reports, as the Graph adapter does, that a meeting lost its
// attendees on the way.
type lossyTarget struct{ *memory.Mailbox }

func (l lossyTarget) CreateItem(ctx context.Context, folderID string, p mailbox.Payload) (string, error) {
	if p.Item.Kind() == mailbox.KindCalendar {
		data, err := io.ReadAll(p.Body)
		if err != nil {
			return "", err
		}
		if ev, err := mailbox.DecodeEvent(bytes.NewReader(data)); err == nil && ev.IsMeeting {
			mailbox.ReportLoss(ctx, mailbox.Loss{Code: mailbox.LossMeetingAsAppointment, What: "attendees written into the body"})
		}
		p.Body = bytes.NewReader(data)
	}
	return l.Mailbox.CreateItem(ctx, folderID, p)
}

// enc is for encoding samples, valid by construction.
func enc(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// noUpdates is a target that cannot update items.
type noUpdates struct{ mailbox.Target }

type typedFixture struct {
	*fixture
	cal, tasks, contacts string
	ids                  map[string]string // name -> source item id
}

func newTypedFixture(t *testing.T) *typedFixture {
	t.Helper()
	f := newFixture(t, memory.WithCapabilities(typedCaps()))
	f.src = memory.New(memory.WithPageSize(7), memory.WithCapabilities(typedCaps()))
	f.srcMB = f.src.AddMailbox(key.SourceAddress)
	tf := &typedFixture{fixture: f, ids: map[string]string{}}
	tf.cal = mustFolder(t, f.srcMB, "Calendar")
	tf.tasks = mustFolder(t, f.srcMB, "Tasks")
	tf.contacts = mustFolder(t, f.srcMB, "Contacts")
	return tf
}

func (tf *typedFixture) add(t *testing.T, name, folder, class string, body []byte) {
	t.Helper()
	id, err := tf.srcMB.CreateItem(context.Background(), folder, mailbox.Payload{Item: mailbox.Item{Class: class, Subject: name},
		Format: mailbox.FormatTyped, Body: bytes.NewReader(body), Size: int64(len(body))})
	if err != nil {
		t.Fatal(err)
	}
	tf.ids[name] = id
}

func (tf *typedFixture) change(t *testing.T, name, class string, body []byte) {
	t.Helper()
	if err := tf.srcMB.UpdateItem(context.Background(), tf.ids[name], mailbox.Payload{Item: mailbox.Item{Class: class, Subject: name},
		Format: mailbox.FormatTyped, Body: bytes.NewReader(body), Size: int64(len(body))}); err != nil {
		t.Fatal(err)
	}
}

func (tf *typedFixture) runOn(t *testing.T, dst mailbox.Target) *engine.MailboxResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res := tf.copier(tf.store).Copy(ctx, key, tf.srcMB, dst)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	return res
}

// targetEvent reads the copy of a source event back from the target.
func (tf *typedFixture) targetEvent(t *testing.T, name string) mailbox.Event {
	t.Helper()
	id, ok, err := tf.dstMB.FindBySourceID(context.Background(), mustFolder(t, tf.dstMB, "Calendar"), engine.SourceID(key, tf.ids[name]))
	if err != nil || !ok {
		t.Fatalf("the copy of %s is not on the target: %v", name, err)
	}
	rc, err := tf.dstMB.OpenItem(context.Background(), id, mailbox.FormatTyped)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	ev, err := mailbox.DecodeEvent(rc)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// TestTypedKindsCopiedCountedAndUpdated: events, tasks and contacts move
// as typed items, are counted per kind with their losses, a second pass
// writes nothing, a changed item is updated in place (once, on record),
// a new version with the same content writes nothing, and a target that
// cannot update says so.
func TestTypedKindsCopiedCountedAndUpdated(t *testing.T) {
	tf := newTypedFixture(t)
	tf.add(t, "dentist", tf.cal, mailbox.ClassAppointment, enc(mailbox.EncodeEvent(mailboxtest.SampleAppointment())))
	tf.add(t, "stand-up", tf.cal, mailbox.ClassAppointment, enc(mailbox.EncodeEvent(mailboxtest.SampleMeeting(key.SourceAddress))))
	tf.add(t, "checklist", tf.tasks, mailbox.ClassTask, enc(mailbox.EncodeTask(mailboxtest.SampleTask())))
	tf.add(t, "ana", tf.contacts, mailbox.ClassContact, enc(mailbox.EncodeContact(mailboxtest.SampleContact())))
	tf.seed(t, mailbox.ScopePrimary, "Inbox", 3, mailbox.ClassMessage)
	dst := lossyTarget{tf.dstMB}

	res := tf.runOn(t, dst)
	if res.ItemsCopied != 7 {
		t.Fatalf("first pass copied %d items, want 7", res.ItemsCopied)
	}
	cal := res.Kinds[mailbox.KindCalendar]
	if cal == nil || cal.Copied != 2 || cal.Losses[mailbox.LossMeetingAsAppointment] != 1 || res.Kinds[mailbox.KindTasks].Copied != 1 ||
		res.Kinds[mailbox.KindContacts].Copied != 1 || res.Kinds[mailbox.KindMail].Copied != 3 {
		t.Errorf("per-kind results: %+v", res.Kinds)
	}
	if len(res.Losses) != 1 || res.Losses[0].Subject != "stand-up" || res.Losses[0].Code != mailbox.LossMeetingAsAppointment {
		t.Errorf("losses listed: %+v, want the stand-up meeting", res.Losses)
	}
	job, _ := tf.store.Job(context.Background(), key)
	counts, err := tf.store.Counts(context.Background(), job.ID)
	if err != nil {
		t.Fatal(err)
	}
	if k := counts.Kinds["calendar"]; k.Copied != 2 || k.Losses[mailbox.LossMeetingAsAppointment] != 1 {
		t.Errorf("the state's calendar counts: %+v", counts.Kinds)
	}
	if got := tf.targetEvent(t, "dentist"); got.Subject != mailboxtest.SampleAppointment().Subject {
		t.Errorf("the appointment on the target: %+v", got)
	}

	writes := tf.dst.Writes()
	if res := tf.runOn(t, dst); res.ItemsCopied != 0 || res.Updated() != 0 || tf.dst.Writes() != writes {
		t.Fatalf("second pass: copied %d, updated %d, %d writes; want nothing", res.ItemsCopied, res.Updated(), tf.dst.Writes()-writes)
	}

	moved := mailboxtest.SampleAppointment()
	moved.Location, moved.Start, moved.End = "Praxis am Park", moved.Start.Add(24*time.Hour), moved.End.Add(24*time.Hour)
	tf.change(t, "dentist", mailbox.ClassAppointment, enc(mailbox.EncodeEvent(moved)))
	task := mailboxtest.SampleTask()
	task.Status, task.PercentComplete = "Completed", 100
	tf.change(t, "checklist", mailbox.ClassTask, enc(mailbox.EncodeTask(task)))
	res = tf.runOn(t, dst)
	if res.Updated() != 2 || res.ItemsCopied != 0 || res.Kinds[mailbox.KindCalendar].Updated != 1 || res.Kinds[mailbox.KindTasks].Updated != 1 {
		t.Fatalf("pass after two changes: updated %d copied %d kinds %+v, want 2 updates", res.Updated(), res.ItemsCopied, res.Kinds)
	}
	if got := tf.targetEvent(t, "dentist"); got.Location != "Praxis am Park" || !got.Start.Equal(moved.Start) {
		t.Errorf("the updated appointment on the target: %+v", got)
	}
	if n := tf.audit.count(audit.ActionItemUpdate, audit.OutcomeStarted); n != 2 || tf.audit.count(audit.ActionItemUpdate, audit.OutcomeOK) != 2 {
		t.Errorf("audit: %d update started lines, %d ok, want 2 and 2", n, tf.audit.count(audit.ActionItemUpdate, audit.OutcomeOK))
	}
	tf.assertTargetCount(t, "Calendar", 2)

	// A new version with the same content: recorded, nothing written.
	tf.change(t, "dentist", mailbox.ClassAppointment, enc(mailbox.EncodeEvent(moved)))
	writes = tf.dst.Writes()
	if res := tf.runOn(t, dst); res.Updated() != 0 || tf.dst.Writes() != writes {
		t.Errorf("same content, new version: updated %d with %d writes, want none", res.Updated(), tf.dst.Writes()-writes)
	}

	// A target without updates leaves the copy and counts it.
	moved.Subject = "dentist (again)"
	tf.change(t, "dentist", mailbox.ClassAppointment, enc(mailbox.EncodeEvent(moved)))
	if res := tf.runOn(t, noUpdates{dst}); res.NotUpdated != 1 || res.Updated() != 0 {
		t.Errorf("target without updates: not updated %d, updated %d, want 1 and 0", res.NotUpdated, res.Updated())
	}
}

func (tf *typedFixture) assertTargetCount(t *testing.T, path string, want int) {
	t.Helper()
	if got := len(tf.targetItems(t, mailbox.ScopePrimary)[path]); got != want {
		t.Errorf("target %s holds %d items, want %d", path, got, want)
	}
}

// listingSource is a side with no incremental sync for a kind (Graph's
// calendars): each round lists the whole folder.
type listingSource struct{ *memory.Mailbox }

func (l listingSource) Changes(ctx context.Context, folderID, state string) (mailbox.ChangePage, error) {
	page := mailbox.ChangePage{Listing: true, State: "listed"}
	err := l.Items(ctx, folderID, func(it mailbox.Item) error {
		page.Changes = append(page.Changes, mailbox.Change{Kind: mailbox.ChangeCreated, Item: it})
		return nil
	})
	return page, err
}

// TestListingSourceUpdatesAndDeletions: with a side that lists instead of
// syncing, an unchanged second round writes nothing, a changed item is
// updated, and an item no longer listed is counted as deleted at the
// source while the target keeps it.
func TestListingSourceUpdatesAndDeletions(t *testing.T) {
	tf := newTypedFixture(t)
	tf.add(t, "dentist", tf.cal, mailbox.ClassAppointment, enc(mailbox.EncodeEvent(mailboxtest.SampleAppointment())))
	tf.add(t, "holiday", tf.cal, mailbox.ClassAppointment, enc(mailbox.EncodeEvent(mailboxtest.SampleAllDay())))
	src := listingSource{tf.srcMB}
	run := func() *engine.MailboxResult {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		res := tf.copier(tf.store).Copy(ctx, key, src, tf.dstMB)
		if res.Err != nil {
			t.Fatal(res.Err)
		}
		return res
	}
	if res := run(); res.ItemsCopied != 2 {
		t.Fatalf("first pass copied %d, want 2", res.ItemsCopied)
	}
	writes := tf.dst.Writes()
	if res := run(); res.ItemsCopied != 0 || res.Updated() != 0 || res.DeletesIgnored != 0 || tf.dst.Writes() != writes {
		t.Fatalf("unchanged listing: %+v, %d writes", res, tf.dst.Writes()-writes)
	}
	ev := mailboxtest.SampleAllDay()
	ev.Subject = "Company holiday (confirmed)"
	tf.change(t, "holiday", mailbox.ClassAppointment, enc(mailbox.EncodeEvent(ev)))
	if err := tf.srcMB.Delete(tf.ids["dentist"]); err != nil {
		t.Fatal(err)
	}
	res := run()
	if res.Updated() != 1 || res.DeletesIgnored != 1 || res.ItemsCopied != 0 {
		t.Errorf("after a change and a deletion: updated %d, deletions %d, copied %d; want 1, 1, 0", res.Updated(), res.DeletesIgnored, res.ItemsCopied)
	}
	tf.assertTargetCount(t, "Calendar", 2)
	if res := run(); res.DeletesIgnored != 0 || res.Updated() != 0 {
		t.Errorf("the deletion or the update counted again: %+v", res)
	}
}

// refusingTarget declares, as the Graph adapter does, that it writes
// contacts but no contact groups.
type refusingTarget struct{ *memory.Mailbox }

func (r refusingTarget) Capabilities() mailbox.Capabilities {
	c := r.Mailbox.Capabilities()
	c.RefusedClasses = map[string]string{mailbox.ClassContactGroup: "no contact groups"}
	return c
}

// TestRefusedClassSkippedBeforeAnyWrite: an item of a class the target
// declares it does not write is skipped with the reason and a code, with
// no write and no started line, in a dry run too.
func TestRefusedClassSkippedBeforeAnyWrite(t *testing.T) {
	tf := newTypedFixture(t)
	tf.add(t, "ana", tf.contacts, mailbox.ClassContact, enc(mailbox.EncodeContact(mailboxtest.SampleContact())))
	tf.add(t, "team", tf.contacts, mailbox.ClassContactGroup, enc(mailbox.EncodeContactGroup(mailboxtest.SampleContactGroup())))
	dst := refusingTarget{tf.dstMB}
	tf.opts.DryRun = true
	if res := tf.runOn(t, dst); res.ItemsCopied != 1 || res.Skipped != 1 {
		t.Errorf("dry run: would copy %d, skip %d; want 1 and 1", res.ItemsCopied, res.Skipped)
	}
	tf.opts.DryRun = false
	res := tf.runOn(t, dst)
	if res.ItemsCopied != 1 || res.Skipped != 1 || res.Kinds[mailbox.KindContacts].Skipped != 1 {
		t.Fatalf("copied %d, skipped %d (%v)", res.ItemsCopied, res.Skipped, res.SkipReasons)
	}
	for reason := range res.SkipReasons {
		if !strings.Contains(reason, mailbox.CodeKindNotCarried) || !strings.Contains(reason, "no contact groups") {
			t.Errorf("skip reason %q lacks the code or the target's reason", reason)
		}
	}
	if n := tf.audit.count(audit.ActionItemCreate, audit.OutcomeStarted); n != 1 {
		t.Errorf("%d item.create started lines, want 1 (the contact only)", n)
	}
}

// TestPathsOnRecord: the pass says how each kind moves, the dry run too,
// and the job keeps it for the report.
func TestPathsOnRecord(t *testing.T) {
	tf := newTypedFixture(t)
	tf.add(t, "dentist", tf.cal, mailbox.ClassAppointment, enc(mailbox.EncodeEvent(mailboxtest.SampleAppointment())))
	dst := refusingTarget{tf.dstMB}
	tf.opts.DryRun = true
	dry := tf.runOn(t, dst)
	tf.opts.DryRun = false
	res := tf.runOn(t, dst)
	paths := engine.ParsePaths(res.Paths)
	if paths["primary/mail"] != "mime" || paths["primary/calendar"] != "typed" || paths["primary/tasks"] != "typed" || dry.Paths != res.Paths {
		t.Errorf("paths %q (dry run %q)", res.Paths, dry.Paths)
	}
	job, err := tf.store.Job(context.Background(), key)
	if err != nil || job.Paths != res.Paths {
		t.Errorf("the job keeps paths %q (%v), want %q", job.Paths, err, res.Paths)
	}
}
