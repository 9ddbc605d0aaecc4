package ews_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/exmigrate/exmigrate/ews/ewstest"
	"github.com/exmigrate/exmigrate/mailbox"
)

// ffStaging is the staging folder of full-fidelity writes in a mailbox of
// the fake (a child of "root"), nil when there is none.
func ffStaging(t *testing.T, srv *ewstest.Server, address string) *ewstest.FolderFixture {
	t.Helper()
	mf, ok := srv.LookupMailbox(address)
	if !ok {
		t.Fatalf("no mailbox %s", address)
	}
	return mf.Root("root").Child("exmigrate staging")
}

// ffSeries is the full-fidelity stream of the source's meeting series.
func ffSeries(t *testing.T, e *env) []byte {
	t.Helper()
	return readAll(t, e.c.Mailbox(testMailbox), ffSource(t, e)["series"].id, mailbox.FormatFullFidelity)
}

func ffPayload(data []byte, sourceID string) mailbox.Payload {
	return mailbox.Payload{Item: mailbox.Item{Class: mailbox.ClassAppointment}, SourceID: sourceID, Format: mailbox.FormatFullFidelity,
		Body: bytes.NewReader(data), Size: int64(len(data))}
}

// TestFullFidelityStagedWrite: a write lands as exactly one stamped item
// in its target folder, under the id the write returns; the staging folder
// (under "root", outside the IPM tree) is left empty; the move sends no
// meeting mail.
func TestFullFidelityStagedWrite(t *testing.T) {
	e := newEnv(t)
	cal := e.srv.AddMailbox(ffTarget).Root("calendar")
	data := ffSeries(t, e)
	dst := e.c.Mailbox(ffTarget)
	ctx := context.Background()
	id, err := dst.CreateItem(ctx, "calendar", ffPayload(data, "ff-staged"))
	if err != nil {
		t.Fatal(err)
	}
	items := cal.Items()
	if len(items) != 1 || items[0].ID != id || items[0].SourceID != "ff-staged" {
		t.Fatalf("the calendar holds %+v, want one item %s stamped ff-staged", items, id)
	}
	st := ffStaging(t, e.srv, ffTarget)
	if st == nil {
		t.Fatal("no staging folder under root")
	}
	if n := len(st.Items()); n != 0 {
		t.Errorf("staging holds %d items after a write", n)
	}
	if n := e.srv.Requests("MoveItem"); n != 1 {
		t.Errorf("%d MoveItem requests, want the write's one", n)
	}
	if got, found, err := dst.FindBySourceID(ctx, cal.ID(), "ff-staged"); err != nil || !found || got != id {
		t.Errorf("FindBySourceID: %s %v %v, want %s", got, found, err, id)
	}
	if evs := cal.Events(); len(evs) != 1 || !evs[0].Event.IsMeeting {
		t.Errorf("the moved series lost its meeting: %+v", evs)
	}
	if n := e.srv.MeetingMessagesSent(); n != 0 {
		t.Errorf("the staged write of a meeting sent %d meeting messages", n)
	}
	if n := e.srv.SendAttempts(); n != 0 {
		t.Errorf("the staged write made %d send attempts", n)
	}
}

// TestFullFidelityKilledWriteRecovered simulates a process killed between
// the upload and the stamp (the upload's answer is lost: the client never
// learns the id and cannot clean up) and one killed between the stamp and
// the move (the move fails and so does the client's delete). Neither
// leftover is found in the calendar. A new client's first write clears
// staging, each removal reported as a side write, and the writes done
// again leave exactly one stamped copy of each.
func TestFullFidelityKilledWriteRecovered(t *testing.T) {
	e := newEnv(t)
	cal := e.srv.AddMailbox(ffTarget).Root("calendar")
	data := ffSeries(t, e)
	ctx := context.Background()
	first := e.c.Mailbox(ffTarget)

	e.srv.Inject(ewstest.Fault{Op: "UploadItems", Kind: ewstest.FaultDropAfter})
	if _, err := first.CreateItem(ctx, "calendar", ffPayload(data, "ff-killed")); err == nil {
		t.Fatal("an upload whose answer was lost succeeded")
	}
	e.srv.Inject(ewstest.Fault{Op: "MoveItem", Kind: ewstest.FaultCode, Code: "ErrorAccessDenied"})
	e.srv.Inject(ewstest.Fault{Op: "DeleteItem", Kind: ewstest.FaultCode, Code: "ErrorAccessDenied"})
	if _, err := first.CreateItem(ctx, "calendar", ffPayload(data, "ff-unmoved")); err == nil {
		t.Fatal("a write whose move failed succeeded")
	}
	st := ffStaging(t, e.srv, ffTarget)
	left := st.Items()
	if len(left) != 2 || left[0].SourceID != "" || left[1].SourceID != "ff-unmoved" {
		t.Fatalf("staging holds %+v, want an unstamped and a stamped leftover", left)
	}
	if n := len(cal.Items()); n != 0 {
		t.Fatalf("the calendar holds %d items after two killed writes", n)
	}
	for _, sid := range []string{"ff-killed", "ff-unmoved"} {
		if _, found, err := first.FindBySourceID(ctx, cal.ID(), sid); found || err != nil {
			t.Errorf("FindBySourceID reports the leftover %s: %v %v", sid, found, err)
		}
	}
	if err := first.Stamps(ctx, cal.ID(), func(it mailbox.Item) error { return fmt.Errorf("Stamps reports %+v", it) }); err != nil {
		t.Error(err)
	}

	// The next run: a new client, a new Mailbox.
	next := e.client(t, nil).Mailbox(ffTarget)
	var sw sideWrites
	id, err := next.CreateItem(sw.ctx(), "calendar", ffPayload(data, "ff-killed"))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(st.Items()); n != 0 {
		t.Errorf("staging holds %d items after the next run's first write", n)
	}
	deleted := map[string]bool{}
	for i := 0; i+1 < len(sw.l); i += 2 {
		a, b := sw.l[i], sw.l[i+1]
		if a.Action != mailbox.SideWriteDeleteIncomplete || !a.Started || b.Started || b.Err != nil || a.ItemID != b.ItemID {
			t.Errorf("side writes %d,%d: %+v %+v, want a delete reported before and after", i, i+1, a, b)
		}
		deleted[a.ItemID] = true
	}
	if len(sw.l) != 4 || !deleted[left[0].ID] || !deleted[left[1].ID] {
		t.Errorf("side writes %+v, want the deletes of %s and %s", sw.l, left[0].ID, left[1].ID)
	}
	if _, err := next.CreateItem(ctx, "calendar", ffPayload(data, "ff-unmoved")); err != nil {
		t.Fatal(err)
	}
	items := cal.Items()
	count := map[string]int{}
	for _, it := range items {
		count[it.SourceID]++
	}
	if len(items) != 2 || count["ff-killed"] != 1 || count["ff-unmoved"] != 1 {
		t.Errorf("the calendar holds %+v, want one stamped copy of each write", items)
	}
	if got, found, _ := next.FindBySourceID(ctx, cal.ID(), "ff-killed"); !found || got != id {
		t.Errorf("FindBySourceID: %s %v, want %s", got, found, id)
	}
	if n := e.srv.MeetingMessagesSent(); n != 0 {
		t.Errorf("%d meeting messages sent", n)
	}
}

// TestFullFidelityStagingOnce: concurrent first writes of one Mailbox
// wait for one recovery: one staging folder is created, staging is cleared
// once, and every write lands.
func TestFullFidelityStagingOnce(t *testing.T) {
	e := newEnv(t)
	cal := e.srv.AddMailbox(ffTarget).Root("calendar")
	data := ffSeries(t, e)
	dst := e.c.Mailbox(ffTarget)
	const n = 6
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = dst.CreateItem(context.Background(), "calendar", ffPayload(data, fmt.Sprintf("ff-%d", i)))
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if c := e.srv.Requests("CreateFolder"); c != 1 {
		t.Errorf("%d CreateFolder requests, want one staging folder", c)
	}
	if c := e.srv.Requests("FindItem"); c != 1 {
		t.Errorf("%d FindItem requests, want staging cleared once", c)
	}
	if got := len(cal.Items()); got != n {
		t.Errorf("the calendar holds %d items, want %d", got, n)
	}
	// A second Mailbox value finds the folder rather than creating one.
	if _, err := e.c.Mailbox(ffTarget).CreateItem(context.Background(), "calendar", ffPayload(data, "ff-again")); err != nil {
		t.Fatal(err)
	}
	if c := e.srv.Requests("CreateFolder"); c != 1 {
		t.Errorf("%d CreateFolder requests after a second Mailbox, want the folder found", c)
	}
}
