package ewstest

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/mailbox"
)

const labMeeting = `<t:CalendarItem><t:Subject>Review</t:Subject><t:Start>2026-11-02T08:00:00Z</t:Start><t:End>2026-11-02T08:30:00Z</t:End>` +
	`<t:RequiredAttendees><t:Attendee><t:Mailbox><t:EmailAddress>bob@contoso.com</t:EmailAddress></t:Mailbox></t:Attendee>` +
	`<t:Attendee><t:Mailbox><t:EmailAddress>ext@fabrikam.example</t:EmailAddress></t:Mailbox></t:Attendee></t:RequiredAttendees>` +
	`<t:Recurrence><t:WeeklyRecurrence><t:Interval>1</t:Interval><t:DaysOfWeek>Monday</t:DaysOfWeek></t:WeeklyRecurrence>` +
	`<t:NumberedRecurrence><t:StartDate>2026-11-02</t:StartDate><t:NumberOfOccurrences>4</t:NumberOfOccurrences></t:NumberedRecurrence></t:Recurrence>` +
	`</t:CalendarItem>`

func classes(f *FolderFixture) []string {
	var out []string
	for _, it := range f.Items() {
		out = append(out, it.Class)
	}
	return out
}

// TestMeetingMessagesSent: the fake sends as Exchange does for every
// Send* value but SendToNone (one message per attendee, a copy in Sent
// Items with SaveCopy), and sends nothing for SendToNone, so that a
// client's zero count means something.
func TestMeetingMessagesSent(t *testing.T) {
	l := newLab(t)
	bob := l.srv.AddMailbox("bob@contoso.com")
	create := func(attr string) string {
		t.Helper()
		status, resp := l.do(t, `<m:CreateItem `+attr+`><m:SavedItemFolderId><t:DistinguishedFolderId Id="calendar"/></m:SavedItemFolderId><m:Items>`+labMeeting+`</m:Items></m:CreateItem>`)
		if ms := messages(t, resp); status != http.StatusOK || len(ms) != 1 || ms[0][0] != "Success" {
			t.Fatalf("CreateItem %s: HTTP %d %v %s", attr, status, ms, resp)
		}
		return findAll(t, resp, "ItemId")[0].attr("Id")
	}
	id := create(`SendMeetingInvitations="SendToNone"`)
	if n := l.srv.MeetingMessagesSent(); n != 0 || len(bob.Root("inbox").Items()) != 0 {
		t.Fatalf("SendToNone sent %d meeting messages, bob's inbox %v", n, classes(bob.Root("inbox")))
	}
	create(`SendMeetingInvitations="SendToAllAndSaveCopy"`)
	if n := l.srv.MeetingMessagesSent(); n != 2 {
		t.Errorf("SendToAllAndSaveCopy to 2 attendees: %d meeting messages, want 2", n)
	}
	if got := classes(bob.Root("inbox")); len(got) != 1 || got[0] != "IPM.Schedule.Meeting.Request" {
		t.Errorf("bob's inbox after the invitation: %v", got)
	}
	if got := classes(l.mb.Root("sentitems")); len(got) != 1 || got[0] != "IPM.Schedule.Meeting.Request" {
		t.Errorf("alice's Sent Items after SendToAllAndSaveCopy: %v", got)
	}
	if l.srv.SendAttempts() != 2 {
		t.Errorf("SendAttempts = %d, want the 2 meeting messages", l.srv.SendAttempts())
	}

	// UpdateItem and DeleteItem of a calendar item need their Send* attribute.
	upd := func(attr, ref string) (int, []byte) {
		return l.do(t, `<m:UpdateItem ConflictResolution="AlwaysOverwrite" `+attr+`><m:ItemChanges><t:ItemChange>`+ref+
			`<t:Updates><t:SetItemField><t:FieldURI FieldURI="calendar:Location"/><t:CalendarItem><t:Location>Room 2</t:Location></t:CalendarItem></t:SetItemField></t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>`)
	}
	_, resp := upd("", `<t:ItemId Id="`+id+`"/>`)
	if ms := messages(t, resp); len(ms) != 1 || ms[0][1] != "ErrorSendMeetingInvitationsOrCancellationsRequired" {
		t.Errorf("UpdateItem without SendMeetingInvitationsOrCancellations: %v", ms)
	}
	_, resp = l.do(t, `<m:DeleteItem DeleteType="HardDelete"><m:ItemIds><t:OccurrenceItemId RecurringMasterId="`+id+`" InstanceIndex="2"/></m:ItemIds></m:DeleteItem>`)
	if ms := messages(t, resp); len(ms) != 1 || ms[0][1] != "ErrorSendMeetingCancellationsRequired" {
		t.Errorf("DeleteItem without SendMeetingCancellations: %v", ms)
	}
	before := l.srv.MeetingMessagesSent()
	_, resp = upd(`SendMeetingInvitationsOrCancellations="SendToNone"`, `<t:OccurrenceItemId RecurringMasterId="`+id+`" InstanceIndex="3"/>`)
	if ms := messages(t, resp); len(ms) != 1 || ms[0][0] != "Success" {
		t.Fatalf("UpdateItem of occurrence 3: %v %s", ms, resp)
	}
	_, resp = l.do(t, `<m:DeleteItem DeleteType="HardDelete" SendMeetingCancellations="SendToNone"><m:ItemIds><t:OccurrenceItemId RecurringMasterId="`+id+`" InstanceIndex="2"/></m:ItemIds></m:DeleteItem>`)
	if ms := messages(t, resp); len(ms) != 1 || ms[0][0] != "Success" {
		t.Fatalf("DeleteItem of occurrence 2: %v %s", ms, resp)
	}
	if n := l.srv.MeetingMessagesSent(); n != before {
		t.Errorf("SendToNone updates and deletes sent %d meeting messages", n-before)
	}
	var ev *mailbox.Event
	for _, s := range l.mb.Root("calendar").Events() {
		if s.ID == id {
			ev = &s.Event
		}
	}
	berlin := func(d int, h int) time.Time { return time.Date(2026, 11, d, h, 0, 0, 0, time.UTC) }
	if ev == nil || len(ev.Exceptions) != 1 || !ev.Exceptions[0].OriginalStart.Equal(berlin(16, 8)) || ev.Exceptions[0].Location != "Room 2" ||
		len(ev.Cancelled) != 1 || !ev.Cancelled[0].Equal(berlin(9, 8)) {
		t.Fatalf("the series after an exception on occurrence 3 and a deletion of occurrence 2: %+v", ev)
	}
	// An occurrence already cancelled, or outside the series, is refused.
	_, resp = l.do(t, `<m:DeleteItem DeleteType="HardDelete" SendMeetingCancellations="SendToNone"><m:ItemIds><t:OccurrenceItemId RecurringMasterId="`+id+`" InstanceIndex="2"/><t:OccurrenceItemId RecurringMasterId="`+id+`" InstanceIndex="5"/></m:ItemIds></m:DeleteItem>`)
	if ms := messages(t, resp); len(ms) != 2 || ms[0][1] != "ErrorCalendarOccurrenceIsDeletedFromRecurrence" || ms[1][1] != "ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange" {
		t.Errorf("deleting a cancelled and a missing occurrence: %v", ms)
	}
	// A cancellation sent for an occurrence reaches the attendees.
	_, resp = l.do(t, `<m:DeleteItem DeleteType="HardDelete" SendMeetingCancellations="SendOnlyToAll"><m:ItemIds><t:OccurrenceItemId RecurringMasterId="`+id+`" InstanceIndex="4"/></m:ItemIds></m:DeleteItem>`)
	if ms := messages(t, resp); len(ms) != 1 || ms[0][0] != "Success" || l.srv.MeetingMessagesSent() != before+2 {
		t.Errorf("a cancellation to all: %v, %d messages sent", ms, l.srv.MeetingMessagesSent()-before)
	}
	if got := strings.Join(classes(bob.Root("inbox")), ","); got != "IPM.Schedule.Meeting.Request,IPM.Schedule.Meeting.Canceled" {
		t.Errorf("bob's inbox: %s", got)
	}
}

// TestCalendarItemReadOnly: the organizer and the other computed
// properties cannot be set (ErrorInvalidPropertySet), and nothing is saved.
func TestCalendarItemReadOnly(t *testing.T) {
	l := newLab(t)
	before := len(l.mb.Root("calendar").Items())
	_, resp := l.do(t, `<m:CreateItem SendMeetingInvitations="SendToNone"><m:SavedItemFolderId><t:DistinguishedFolderId Id="calendar"/></m:SavedItemFolderId><m:Items>`+
		`<t:CalendarItem><t:Subject>x</t:Subject><t:Start>2026-11-02T08:00:00Z</t:Start><t:End>2026-11-02T08:30:00Z</t:End><t:Organizer><t:Mailbox><t:EmailAddress>boss@contoso.com</t:EmailAddress></t:Mailbox></t:Organizer></t:CalendarItem></m:Items></m:CreateItem>`)
	if ms := messages(t, resp); len(ms) != 1 || ms[0][1] != "ErrorInvalidPropertySet" || len(l.mb.Root("calendar").Items()) != before {
		t.Errorf("a calendar item with an organizer: %v", ms)
	}
}

// TestTaskAsExchangeKeepsIt: Owner cannot be set; CompleteDate is
// ignored and set on completion, with 100 percent.
func TestTaskAsExchangeKeepsIt(t *testing.T) {
	l := newLab(t)
	create := func(item string) []byte {
		_, resp := l.do(t, `<m:CreateItem><m:SavedItemFolderId><t:DistinguishedFolderId Id="tasks"/></m:SavedItemFolderId><m:Items>`+item+`</m:Items></m:CreateItem>`)
		return resp
	}
	if ms := messages(t, create(`<t:Task><t:Subject>x</t:Subject><t:Owner>Boss</t:Owner></t:Task>`)); len(ms) != 1 || ms[0][1] != "ErrorInvalidPropertySet" {
		t.Errorf("a task with an owner: %v", ms)
	}
	resp := create(`<t:Task><t:Subject>y</t:Subject><t:CompleteDate>2020-01-01T00:00:00Z</t:CompleteDate><t:PercentComplete>30</t:PercentComplete><t:Status>InProgress</t:Status></t:Task>`)
	id := findAll(t, resp, "ItemId")[0].attr("Id")
	got := l.mb.Root("tasks").Tasks()
	if len(got) != 1 || got[0].Task.CompleteDate != "" || got[0].Task.PercentComplete != 30 || got[0].Task.Owner != "Alice" {
		t.Fatalf("the task stored: %+v", got)
	}
	_, resp = l.do(t, `<m:UpdateItem ConflictResolution="AlwaysOverwrite"><m:ItemChanges><t:ItemChange><t:ItemId Id="`+id+`"/><t:Updates>`+
		`<t:SetItemField><t:FieldURI FieldURI="task:Status"/><t:Task><t:Status>Completed</t:Status></t:Task></t:SetItemField></t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>`)
	if ms := messages(t, resp); len(ms) != 1 || ms[0][0] != "Success" {
		t.Fatalf("UpdateItem: %v", ms)
	}
	got = l.mb.Root("tasks").Tasks()
	if got[0].Task.Status != "Completed" || got[0].Task.PercentComplete != 100 || got[0].Task.CompleteDate != l.srv.now().Format(time.DateOnly) {
		t.Errorf("the completed task: %+v", got[0].Task)
	}
	// All or nothing: a refused change in an UpdateItem changes nothing.
	_, resp = l.do(t, `<m:UpdateItem ConflictResolution="AlwaysOverwrite"><m:ItemChanges><t:ItemChange><t:ItemId Id="`+id+`"/><t:Updates>`+
		`<t:SetItemField><t:FieldURI FieldURI="item:Subject"/><t:Task><t:Subject>z</t:Subject></t:Task></t:SetItemField>`+
		`<t:SetItemField><t:FieldURI FieldURI="task:Owner"/><t:Task><t:Owner>Boss</t:Owner></t:Task></t:SetItemField></t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>`)
	if ms := messages(t, resp); len(ms) != 1 || ms[0][1] != "ErrorInvalidPropertySet" || l.mb.Root("tasks").Tasks()[0].Task.Subject != "y" {
		t.Errorf("a refused update: %v, subject %q", ms, l.mb.Root("tasks").Tasks()[0].Task.Subject)
	}
	// DeleteItem of a task needs AffectedTaskOccurrences, as Exchange.
	_, resp = l.do(t, `<m:DeleteItem DeleteType="HardDelete"><m:ItemIds><t:ItemId Id="`+id+`"/></m:ItemIds></m:DeleteItem>`)
	if ms := messages(t, resp); len(ms) != 1 || ms[0][1] != "ErrorAffectedTaskOccurrencesRequired" || len(l.mb.Root("tasks").Tasks()) != 1 {
		t.Errorf("DeleteItem of a task without AffectedTaskOccurrences: %v", ms)
	}
	_, resp = l.do(t, `<m:DeleteItem DeleteType="HardDelete" AffectedTaskOccurrences="AllOccurrences"><m:ItemIds><t:ItemId Id="`+id+`"/></m:ItemIds></m:DeleteItem>`)
	if ms := messages(t, resp); len(ms) != 1 || ms[0][0] != "Success" || len(l.mb.Root("tasks").Tasks()) != 0 {
		t.Errorf("DeleteItem of a task with AffectedTaskOccurrences: %v", ms)
	}
}
