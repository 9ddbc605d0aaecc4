package graphtest

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/mailbox"
)

// calendarFixture starts the fake with an app that holds
// Calendars.ReadWrite and Tasks.ReadWrite.All.
func calendarFixture(t *testing.T) (*fixture, string) {
	f := start(t)
	f.s.AddApp(tenant, "cal", "c", "Calendars.ReadWrite", "Tasks.ReadWrite.All", "Contacts.ReadWrite")
	return f, f.bearer(t, "cal", "c")
}

const weekly = `{"subject":"Stand-up","body":{"contentType":"text","content":"Agenda"},
	"start":{"dateTime":"2026-11-02T09:00:00","timeZone":"W. Europe Standard Time"},
	"end":{"dateTime":"2026-11-02T09:30:00","timeZone":"W. Europe Standard Time"},
	"recurrence":{"pattern":{"type":"weekly","interval":1,"daysOfWeek":["monday"],"firstDayOfWeek":"monday"},
	"range":{"type":"numbered","startDate":"2026-11-02","numberOfOccurrences":5}}}`

func TestCalendarRequestsAsGraph(t *testing.T) {
	f, tok := calendarFixture(t)
	u := "/users/" + alice
	steps := []struct {
		name, method, path, body string
		status                   int
		code                     string
	}{
		{"create a calendar", "POST", u + "/calendars", `{"name":"Projects"}`, 201, ""},
		{"the same name again", "POST", u + "/calendars", `{"name":"projects"}`, 409, "ErrorFolderExists"},
		{"unknown property", "POST", u + "/events", `{"subject":"x","colour":"red"}`, 400, "RequestBodyRead"},
		{"read-only property", "POST", u + "/events", `{"subject":"x","iCalUId":"u"}`, 400, "RequestBodyRead"},
		{"unknown zone", "POST", u + "/events", `{"start":{"dateTime":"2026-01-01T10:00:00","timeZone":"Mars Standard Time"},"end":{"dateTime":"2026-01-01T11:00:00","timeZone":"UTC"}}`, 400, "TimeZoneNotSupportedException"},
		{"end before start", "POST", u + "/events", `{"start":{"dateTime":"2026-01-01T10:00:00","timeZone":"UTC"},"end":{"dateTime":"2026-01-01T09:00:00","timeZone":"UTC"}}`, 400, "ErrorInvalidRequest"},
		{"all-day not at midnight", "POST", u + "/events", `{"isAllDay":true,"start":{"dateTime":"2026-01-01T10:00:00","timeZone":"UTC"},"end":{"dateTime":"2026-01-02T00:00:00","timeZone":"UTC"}}`, 400, "ErrorInvalidRequest"},
		{"bad showAs", "POST", u + "/events", `{"showAs":"away","start":{"dateTime":"2026-01-01T10:00:00","timeZone":"UTC"},"end":{"dateTime":"2026-01-01T11:00:00","timeZone":"UTC"}}`, 400, "RequestBodyRead"},
		{"calendarView without a window", "GET", u + "/calendarView", "", 400, "ErrorInvalidParameter"},
		{"calendarView delta without a window", "GET", u + "/calendarView/delta", "", 400, "ErrorInvalidParameter"},
		{"calendarView delta with $select", "GET", q(u+"/calendarView/delta", "startDateTime", "2026-01-01T00:00:00Z", "endDateTime", "2026-02-01T00:00:00Z", "$select", "subject"), "", 400, "ErrorInvalidUrlQuery"},
		{"calendarView with a window", "GET", q(u+"/calendarView", "startDateTime", "2026-01-01T00:00:00Z", "endDateTime", "2026-02-01T00:00:00Z"), "", 200, ""},
		{"a series", "POST", u + "/events", weekly, 201, ""},
	}
	var seriesID string
	for _, st := range steps {
		a := f.call(t, tok, st.method, st.path, []byte(st.body))
		if a.status != st.status || a.code() != st.code {
			t.Errorf("%s: %d %q, want %d %q (%v)", st.name, a.status, a.code(), st.status, st.code, a.body)
		}
		if st.name == "a series" {
			seriesID, _ = a.body["id"].(string)
			if a.body["type"] != "seriesMaster" {
				t.Errorf("a series is created as %v", a.body["type"])
			}
		}
	}
	many := `{"subject":"x","start":{"dateTime":"2026-01-01T10:00:00","timeZone":"UTC"},"end":{"dateTime":"2026-01-01T11:00:00","timeZone":"UTC"},"attendees":[`
	for i := range 501 {
		if i > 0 {
			many += ","
		}
		many += `{"type":"required","emailAddress":{"address":"a` + strings.Repeat("x", i%5) + `@b"}}`
	}
	if a := f.call(t, tok, "POST", u+"/events", []byte(many+"]}")); a.status != 400 {
		t.Errorf("501 attendees: %d, want 400", a.status)
	}
	if f.s.MeetingMessagesSent() != 0 {
		t.Errorf("%d meeting messages sent by refused creates", f.s.MeetingMessagesSent())
	}
	inst := u + "/events/" + seriesID + "/instances"
	if a := f.call(t, tok, "GET", inst, nil); a.status != 400 || a.code() != "ErrorInvalidParameter" {
		t.Errorf("instances without a window: %d %q", a.status, a.code())
	}
	all := values(f.call(t, tok, "GET", q(inst, "startDateTime", "2026-11-01T00:00:00Z", "endDateTime", "2026-12-31T00:00:00Z"), nil))
	if len(all) != 5 {
		t.Fatalf("instances = %d, want 5", len(all))
	}
	second, third := all[1]["id"].(string), all[2]["id"].(string)
	if all[1]["originalStart"] != "2026-11-09T08:00:00Z" || all[1]["type"] != "occurrence" || all[1]["seriesMasterId"] != seriesID {
		t.Errorf("second occurrence %v", all[1])
	}
	// Moving an occurrence onto its neighbour's day is refused.
	if a := f.call(t, tok, "PATCH", u+"/events/"+second, []byte(`{"start":{"dateTime":"2026-11-16T07:00:00","timeZone":"UTC"},"end":{"dateTime":"2026-11-16T07:30:00","timeZone":"UTC"}}`)); a.status != 400 || a.code() != "ErrorOccurrenceCrossingBoundary" {
		t.Errorf("crossing move: %d %q", a.status, a.code())
	}
	if a := f.call(t, tok, "PATCH", u+"/events/"+second, []byte(`{"subject":"Moved","start":{"dateTime":"2026-11-10T08:00:00","timeZone":"UTC"},"end":{"dateTime":"2026-11-10T08:30:00","timeZone":"UTC"}}`)); a.status != 200 || a.body["type"] != "exception" {
		t.Errorf("move: %d %v", a.status, a.body)
	}
	if a := f.call(t, tok, "DELETE", u+"/events/"+third, nil); a.status != 204 {
		t.Errorf("delete an occurrence: %d", a.status)
	}
	all = values(f.call(t, tok, "GET", q(inst, "startDateTime", "2026-11-01T00:00:00Z", "endDateTime", "2026-12-31T00:00:00Z"), nil))
	if len(all) != 4 || all[1]["type"] != "exception" || all[1]["subject"] != "Moved" {
		t.Errorf("after the changes: %d instances, second %v", len(all), all[1])
	}
	evs := f.s.Mailbox(alice).Events("")
	if len(evs) != 1 || len(evs[0].Event.Exceptions) != 1 || len(evs[0].Event.Cancelled) != 1 || !evs[0].Event.Cancelled[0].Equal(time.Date(2026, 11, 16, 8, 0, 0, 0, time.UTC)) {
		t.Errorf("stored %+v", evs)
	}
	// transactionId: a second POST of it returns the first event.
	body := `{"subject":"once","transactionId":"t-1","start":{"dateTime":"2026-01-01T10:00:00","timeZone":"UTC"},"end":{"dateTime":"2026-01-01T11:00:00","timeZone":"UTC"}}`
	a1 := f.call(t, tok, "POST", u+"/events", []byte(body))
	a2 := f.call(t, tok, "POST", u+"/events", []byte(body))
	if a1.body["id"] == nil || a1.body["id"] != a2.body["id"] || len(f.s.Mailbox(alice).Events("")) != 2 {
		t.Errorf("transactionId repeated: %v then %v", a1.body["id"], a2.body["id"])
	}
	if a := f.call(t, tok, "GET", u+"/calendars/"+f.s.Mailbox(alice).CalendarID()+"/events/"+seriesID, nil); a.status != 200 || a.body["id"] != seriesID {
		t.Errorf("an event under its calendar: %d %v", a.status, a.body["id"])
	}
	var other string
	for id, name := range f.s.Mailbox(alice).Calendars() {
		if name == "Projects" {
			other = id
		}
	}
	if a := f.call(t, tok, "GET", u+"/calendars/"+other+"/events/"+seriesID, nil); a.status != 404 {
		t.Errorf("an event under another calendar: %d", a.status)
	}
	// Mail.ReadWrite does not reach calendars.
	if a := f.call(t, f.bearer(t, appID, secret), "GET", u+"/calendars", nil); a.status != 403 {
		t.Errorf("calendars with Mail.ReadWrite only: %d, want 403", a.status)
	}
	if f.s.MeetingMessagesSent() != 0 {
		t.Errorf("%d meeting messages sent for events without attendees", f.s.MeetingMessagesSent())
	}
}

// The side effects of Graph: requests on create, updates on change,
// cancellations on delete, for every attendee.
func TestMeetingSideEffects(t *testing.T) {
	f, tok := calendarFixture(t)
	bob := f.s.AddMailbox("bob@contoso.example", mailbox.TypeUser)
	u := "/users/" + alice
	body := `{"subject":"Sync","start":{"dateTime":"2026-01-01T10:00:00","timeZone":"UTC"},"end":{"dateTime":"2026-01-01T11:00:00","timeZone":"UTC"},
		"attendees":[{"type":"required","emailAddress":{"address":"bob@contoso.example"}},{"type":"optional","emailAddress":{"address":"x@fabrikam.example"}}]}`
	a := f.call(t, tok, "POST", u+"/events", []byte(body))
	if a.status != 201 {
		t.Fatal(a.status, a.body)
	}
	id := a.body["id"].(string)
	if n := f.s.MeetingMessagesSent(); n != 2 {
		t.Errorf("after create: %d messages, want 2", n)
	}
	f.call(t, tok, "PATCH", u+"/events/"+id, []byte(`{"subject":"Sync (moved)"}`))
	if n := f.s.MeetingMessagesSent(); n != 4 {
		t.Errorf("after update: %d messages, want 4", n)
	}
	f.call(t, tok, "DELETE", u+"/events/"+id, nil)
	if n := f.s.MeetingMessagesSent(); n != 6 {
		t.Errorf("after delete: %d messages, want 6", n)
	}
	in := bob.Messages("Inbox")
	if len(in) != 3 || in[2].Subject != "Canceled: Sync (moved)" || in[0].MeetingMessageType != "meetingRequest" || in[2].MeetingMessageType != "meetingCancelled" {
		t.Errorf("bob's Inbox: %+v", in)
	}
}

func TestTodoRequestsAsGraph(t *testing.T) {
	f, tok := calendarFixture(t)
	u := "/users/" + alice + "/todo/lists"
	lists := values(f.call(t, tok, "GET", u, nil))
	if len(lists) != 1 || lists[0]["wellknownListName"] != "defaultList" || lists[0]["id"] != f.s.Mailbox(alice).TaskListID() {
		t.Fatalf("lists = %v", lists)
	}
	tasks := u + "/" + f.s.Mailbox(alice).TaskListID() + "/tasks"
	for _, st := range []struct {
		name, body string
		status     int
	}{
		{"unknown property", `{"title":"x","percentComplete":5}`, 400},
		{"bad status", `{"title":"x","status":"started"}`, 400},
		{"recurrence without a due date", `{"title":"x","recurrence":{"pattern":{"type":"daily","interval":1},"range":{"type":"noEnd","startDate":"2026-01-01"}}}`, 400},
		{"extension without a name", `{"title":"x","extensions":[{"@odata.type":"microsoft.graph.openTypeExtension"}]}`, 400},
	} {
		if a := f.call(t, tok, "POST", tasks, []byte(st.body)); a.status != st.status {
			t.Errorf("%s: %d, want %d (%v)", st.name, a.status, st.status, a.body)
		}
	}
	a := f.call(t, tok, "POST", tasks, []byte(`{"title":"Plan","status":"inProgress","importance":"high","dueDateTime":{"dateTime":"2026-12-04T00:00:00","timeZone":"UTC"},
		"extensions":[{"@odata.type":"microsoft.graph.openTypeExtension","extensionName":"`+TodoExtensionName+`","`+TodoSourceIDField+`":"s-1"}]}`))
	if a.status != 201 || a.body["extensions"] != nil {
		t.Fatalf("create: %d %v (extensions are not in the create answer)", a.status, a.body)
	}
	id := a.body["id"].(string)
	got := values(f.call(t, tok, "GET", q(tasks, "$expand", "extensions"), nil))
	if len(got) != 1 || got[0]["status"] != "inProgress" {
		t.Fatalf("list: %v", got)
	}
	ext, _ := got[0]["extensions"].([]any)
	if len(ext) != 1 || ext[0].(map[string]any)[TodoSourceIDField] != "s-1" {
		t.Errorf("extensions = %v", got[0]["extensions"])
	}
	if st := f.s.Mailbox(alice).Tasks(""); len(st) != 1 || st[0].SourceID != "s-1" || st[0].Task.DueDate != "2026-12-04" {
		t.Errorf("stored %+v", st)
	}
	dl := f.call(t, tok, "GET", tasks+"/delta", nil).body["@odata.deltaLink"].(string)
	f.call(t, tok, "PATCH", tasks+"/"+id, []byte(`{"status":"completed"}`))
	if vs := values(f.call(t, tok, "GET", dl, nil)); len(vs) != 1 || vs[0]["status"] != "completed" {
		t.Errorf("delta after an update: %v", vs)
	}
	if a := f.call(t, f.bearer(t, appID, secret), "GET", u, nil); a.status != 403 {
		t.Errorf("To Do with Mail.ReadWrite only: %d, want 403", a.status)
	}
}

func TestContactPhotoAsGraph(t *testing.T) {
	f, tok := calendarFixture(t)
	c := f.call(t, tok, "POST", "/users/"+alice+"/contacts", []byte(`{"displayName":"Ana"}`)).body["id"].(string)
	photo := "/users/" + alice + "/contacts/" + c + "/photo/$value"
	if a := f.call(t, tok, "GET", photo, nil); a.status != 404 || a.code() != "ErrorItemNotFound" {
		t.Errorf("photo of a contact without one: %d %q", a.status, a.code())
	}
	if a := f.call(t, tok, "PUT", photo, []byte("\xff\xd8\xffjpeg"), "Content-Type", "text/plain"); a.status != 400 {
		t.Errorf("photo as text/plain: %d", a.status)
	}
	if a := f.call(t, tok, "PUT", photo, []byte("\xff\xd8\xffjpeg"), "Content-Type", "image/jpeg"); a.status != 200 {
		t.Errorf("photo: %d", a.status)
	}
	if cs := f.s.Mailbox(alice).Contacts(f.s.Mailbox(alice).ContactsFolderID()); len(cs) != 1 || string(cs[0].Photo) != "\xff\xd8\xffjpeg" {
		t.Errorf("stored %+v", cs)
	}
}

// Events and tasks survive a snapshot.
func TestCalendarAndTodoSnapshot(t *testing.T) {
	f, tok := calendarFixture(t)
	u := "/users/" + alice
	f.call(t, tok, "POST", u+"/calendars", []byte(`{"name":"Projects"}`))
	f.call(t, tok, "POST", u+"/events", []byte(weekly))
	fx := f.s.Mailbox(alice)
	fx.AddEvent("", mailbox.Event{Subject: "seeded", Start: time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC), End: time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC),
		Attendees:   []mailbox.Attendee{{Address: "bob@contoso.example", Type: "Required"}},
		Attachments: []mailbox.Attachment{{Name: "a.txt", Data: []byte("x")}}})
	fx.AddTask("", mailbox.Task{Subject: "seeded task", DueDate: "2026-02-01"})
	got := NewServer()
	if err := got.Restore(bytes.NewReader(snapshotBytes(t, f.s))); err != nil {
		t.Fatal(err)
	}
	is := got.Mailbox(alice)
	if is.CalendarID() != fx.CalendarID() || is.TaskListID() != fx.TaskListID() || !reflect.DeepEqual(is.Calendars(), fx.Calendars()) {
		t.Errorf("calendars %v / list %s after restore, was %v / %s", is.Calendars(), is.TaskListID(), fx.Calendars(), fx.TaskListID())
	}
	a, b := fx.Events(""), is.Events("")
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if len(a) != 2 || string(ja) != string(jb) {
		t.Errorf("events after restore:\nwas %s\nis  %s", ja, jb)
	}
	if ta, tb := fx.Tasks(""), is.Tasks(""); len(ta) != 1 || !reflect.DeepEqual(ta, tb) {
		t.Errorf("tasks after restore:\nwas %+v\nis  %+v", ta, tb)
	}
	if got.MeetingMessagesSent() != 0 {
		t.Error("a restore sent meeting messages")
	}
}

// calendarView/delta: the window is kept in the links; a later round
// gives the instances of the events changed since, and removals.
func TestCalendarViewDelta(t *testing.T) {
	f, tok := calendarFixture(t)
	u := "/users/" + alice
	one := f.call(t, tok, "POST", u+"/events", []byte(`{"subject":"one","start":{"dateTime":"2026-01-05T10:00:00","timeZone":"UTC"},"end":{"dateTime":"2026-01-05T11:00:00","timeZone":"UTC"}}`)).body["id"].(string)
	f.call(t, tok, "POST", u+"/events", []byte(`{"subject":"later","start":{"dateTime":"2026-06-05T10:00:00","timeZone":"UTC"},"end":{"dateTime":"2026-06-05T11:00:00","timeZone":"UTC"}}`))
	first := f.call(t, tok, "GET", q(u+"/calendarView/delta", "startDateTime", "2026-01-01T00:00:00Z", "endDateTime", "2026-02-01T00:00:00Z"), nil)
	if vs := values(first); len(vs) != 1 || vs[0]["subject"] != "one" {
		t.Fatalf("first round: %v", vs)
	}
	dl := first.body["@odata.deltaLink"].(string)
	if vs := values(f.call(t, tok, "GET", dl, nil)); len(vs) != 0 {
		t.Errorf("a round without changes: %v", vs)
	}
	f.call(t, tok, "PATCH", u+"/events/"+one, []byte(`{"subject":"one (renamed)"}`))
	next := f.call(t, tok, "GET", dl, nil)
	if vs := values(next); len(vs) != 1 || vs[0]["subject"] != "one (renamed)" {
		t.Errorf("after a change: %v", vs)
	}
	f.call(t, tok, "DELETE", u+"/events/"+one, nil)
	if vs := values(f.call(t, tok, "GET", next.body["@odata.deltaLink"].(string), nil)); len(vs) != 1 || vs[0]["@removed"] == nil {
		t.Errorf("after a delete: %v", vs)
	}
	f.s.ExpireDeltaTokens()
	if a := f.call(t, tok, "GET", dl, nil); a.status != 410 || a.code() != "SyncStateNotFound" {
		t.Errorf("an expired link: %d %q", a.status, a.code())
	}
}
