package e2e

import (
	"bytes"
	"html"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/dispatch"
	"github.com/exmigrate/exmigrate/engine"
	"github.com/exmigrate/exmigrate/internal/csvinput"
	"github.com/exmigrate/exmigrate/internal/lab"
	"github.com/exmigrate/exmigrate/mailbox"
)

// The scenario of the every-kind tests: an on-prem and a cloud mailbox,
// each with the lab's mix of calendar items (a weekly series with a moved
// and a cancelled occurrence, all-day, meetings as organizer and as
// attendee, zones other than UTC), contacts (a photo; on-prem a group)
// and tasks.
const everyKindScenario = `
domain: contoso.com
cloud_domain: contoso.onmicrosoft.com
seed: 11
mailboxes:
  - address: nina@contoso.com
    location: onprem
    folders: {Inbox: 2}
    non_mail_items: {Calendar: 6, Contacts: 4, Tasks: 4}
  - address: olga@contoso.com
    location: cloud
    folders: {Inbox: 2}
    non_mail_items: {Calendar: 6, Contacts: 3, Tasks: 4}
`

// kindSide reads one mailbox's calendar, tasks and contact groups from a
// fake's own store, and changes them as their user would.
type kindSide struct {
	events      func() map[string]storedEvent
	tasks       func() map[string]storedTask
	groups      func() map[string]mailbox.ContactGroup
	photos      func() int // contacts with a photo
	updateEvent func(id string, fn func(*mailbox.Event)) bool
	updateTask  func(id string, fn func(*mailbox.Task)) bool
	// contactIDs lists the contacts; jobTitles their job titles, as the
	// fake stores them.
	contactIDs    func() []string
	jobTitles     func() []string
	updateContact func(id string, fn func(*mailbox.Contact)) bool
}

type storedEvent struct {
	id, stamp string
	ev        mailbox.Event
}

type storedTask struct {
	id, stamp string
	task      mailbox.Task
}

func eventKey(ev mailbox.Event) string { return ev.Subject + "@" + ev.Start.UTC().Format(time.RFC3339) }

// canonical passes an event through its typed encoding, as a copy does:
// empty lists are nil, times UTC, the UTC zone empty.
func canonical(t *testing.T, ev mailbox.Event) mailbox.Event {
	t.Helper()
	b, err := mailbox.EncodeEvent(ev)
	if err != nil {
		t.Fatalf("%s: %v", ev.Subject, err)
	}
	out, err := mailbox.DecodeEvent(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func canonicalTask(t *testing.T, k mailbox.Task) mailbox.Task {
	t.Helper()
	b, err := mailbox.EncodeTask(k)
	if err != nil {
		t.Fatalf("%s: %v", k.Subject, err)
	}
	out, err := mailbox.DecodeTask(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (e *env) ewsSide(t *testing.T, addr string) kindSide {
	t.Helper()
	mb, ok := e.lab.EWS.LookupMailbox(addr)
	if !ok {
		t.Fatalf("no EWS mailbox %s", addr)
	}
	return kindSide{
		events: func() map[string]storedEvent {
			out := map[string]storedEvent{}
			for _, s := range mb.Folder("Calendar").Events() {
				out[eventKey(s.Event)] = storedEvent{s.ID, s.SourceID, s.Event}
			}
			return out
		},
		tasks: func() map[string]storedTask {
			out := map[string]storedTask{}
			for _, s := range mb.Folder("Tasks").Tasks() {
				out[s.Task.Subject+"@"+s.Task.DueDate] = storedTask{s.ID, s.SourceID, s.Task}
			}
			return out
		},
		groups: func() map[string]mailbox.ContactGroup {
			out := map[string]mailbox.ContactGroup{}
			for _, s := range mb.Folder("Contacts").ContactGroups() {
				out[s.Group.DisplayName] = s.Group
			}
			return out
		},
		photos: func() int {
			n := 0
			for _, c := range mb.Folder("Contacts").Contacts() {
				if len(c.Photo) > 0 {
					n++
				}
			}
			return n
		},
		updateEvent: mb.Folder("Calendar").UpdateEvent,
		updateTask:  mb.Folder("Tasks").UpdateTask,
		contactIDs: func() (ids []string) {
			for _, c := range mb.Folder("Contacts").Contacts() {
				ids = append(ids, c.ID)
			}
			return ids
		},
		jobTitles: func() (out []string) {
			for _, c := range mb.Folder("Contacts").Contacts() {
				out = append(out, c.Fields["JobTitle"])
			}
			return out
		},
		updateContact: mb.Folder("Contacts").UpdateContact,
	}
}

func (e *env) graphSide(t *testing.T, addr string) kindSide {
	t.Helper()
	fx := e.lab.Graph.Mailbox(addr)
	if fx == nil {
		t.Fatalf("no Graph mailbox %s", addr)
	}
	return kindSide{
		events: func() map[string]storedEvent {
			out := map[string]storedEvent{}
			for _, s := range fx.Events(fx.CalendarID()) {
				out[eventKey(s.Event)] = storedEvent{s.ID, s.SourceID, s.Event}
			}
			return out
		},
		tasks: func() map[string]storedTask {
			out := map[string]storedTask{}
			for _, s := range fx.Tasks(fx.TaskListID()) {
				out[s.Task.Subject+"@"+s.Task.DueDate] = storedTask{s.ID, s.SourceID, s.Task}
			}
			return out
		},
		groups: func() map[string]mailbox.ContactGroup { return nil },
		photos: func() int {
			n := 0
			for _, c := range fx.Contacts(fx.ContactsFolderID()) {
				if len(c.Photo) > 0 {
					n++
				}
			}
			return n
		},
		updateEvent: fx.UpdateEvent,
		updateTask:  fx.UpdateTask,
		contactIDs: func() (ids []string) {
			for _, c := range fx.Contacts(fx.ContactsFolderID()) {
				ids = append(ids, c.ID)
			}
			return ids
		},
		jobTitles: func() (out []string) {
			for _, c := range fx.Contacts(fx.ContactsFolderID()) {
				title, _ := c.Props["jobTitle"].(string)
				out = append(out, title)
			}
			return out
		},
		updateContact: fx.UpdateContact,
	}
}

// lossesBySubject indexes the losses a pass reported.
func lossesBySubject(res *engine.MailboxResult) map[string][]string {
	out := map[string][]string{}
	for _, l := range res.Losses {
		out[l.Subject] = append(out[l.Subject], l.Code)
	}
	return out
}

// expectEvent is what the target must hold of a source event, given the
// losses the write reported for it; it fails the test where the target
// does not hold what a reported loss promises (a meeting's attendees in
// the appointment's body).
func expectEvent(t *testing.T, src, got mailbox.Event, codes []string, graphTarget bool, target string) mailbox.Event {
	t.Helper()
	w := src
	// The UID is the service's: Graph's iCalUId is read-only, and the EWS
	// adapter lets Exchange make a new one so that the copy never links
	// to the original meeting in the same organisation (items.md E5).
	w.UID = got.UID
	if graphTarget && src.OnlineMeetingURL != "" {
		// Graph's onlineMeeting is read-only: the join link travels as
		// text in the body.
		if !strings.Contains(got.Body, src.OnlineMeetingURL) {
			t.Errorf("%s: the online meeting link %s is not in the body", src.Subject, src.OnlineMeetingURL)
		}
		w.OnlineMeetingURL = got.OnlineMeetingURL
	}
	if slices.Contains(codes, mailbox.LossMeetingAsAppointment) {
		if len(got.Attendees) != 0 {
			t.Errorf("%s: written as an appointment but holds %d attendees", src.Subject, len(got.Attendees))
		}
		for _, a := range src.Attendees {
			if !strings.Contains(got.Body, a.Address) || !strings.Contains(got.Body, a.Response) {
				t.Errorf("%s: the body does not name attendee %s (%s):\n%s", src.Subject, a.Address, a.Response, got.Body)
			}
		}
		if src.Organizer != nil && !strings.Contains(got.Body, src.Organizer.Address) {
			t.Errorf("%s: the body does not name the organizer %s", src.Subject, src.Organizer.Address)
		}
		w.Attendees, w.Organizer, w.IsMeeting, w.MyResponse, w.Body, w.BodyHTML = got.Attendees, got.Organizer, got.IsMeeting, got.MyResponse, got.Body, got.BodyHTML
	}
	if !graphTarget && src.MyResponse == "Organizer" && got.Organizer != nil && strings.EqualFold(got.Organizer.Address, target) {
		// The owner's meeting is the target owner's: Exchange makes the
		// writing mailbox the organizer.
		w.Organizer = got.Organizer
	}
	if slices.Contains(codes, mailbox.LossResponsesInBody) {
		for _, a := range src.Attendees {
			if !strings.Contains(got.Body, a.Address) || !strings.Contains(got.Body, a.Response) {
				t.Errorf("%s: responses in the body, but not %s (%s):\n%s", src.Subject, a.Address, a.Response, got.Body)
			}
		}
		for i := range got.Attendees {
			if i < len(w.Attendees) {
				w.Attendees[i].Response = got.Attendees[i].Response
			}
		}
		w.Body, w.BodyHTML = got.Body, got.BodyHTML
	}
	if slices.Contains(codes, mailbox.LossTimeZone) {
		w.TimeZone = got.TimeZone
	}
	if got.BodyHTML && !w.BodyHTML && bodyText(got.Body) == bodyText(w.Body) {
		// Graph serves every event body as HTML unless told otherwise:
		// the text is the same.
		w.Body, w.BodyHTML = got.Body, got.BodyHTML
	}
	return w
}

var tags = regexp.MustCompile(`(?s)<head>.*?</head>|<[^>]*>`)

// bodyText is the words of a body, text or HTML.
func bodyText(s string) string {
	return strings.Join(strings.Fields(html.UnescapeString(tags.ReplaceAllString(s, " "))), " ")
}

// eachPair calls fn for each source item and its counterpart on the
// target, by key, after checking that both sides hold the same number
// and the source holds some.
func eachPair[T any](t *testing.T, what string, src, dst map[string]T, fn func(key string, s, d T)) {
	t.Helper()
	if len(src) == 0 || len(dst) != len(src) {
		t.Fatalf("the source holds %d of %s, the target %d", len(src), what, len(dst))
	}
	for k, s := range src {
		d, ok := dst[k]
		if !ok {
			t.Errorf("%s %s is not on the target", what, k)
			continue
		}
		fn(k, s, d)
	}
}

func diffStruct(t *testing.T, what string, got, want any) {
	t.Helper()
	if reflect.DeepEqual(got, want) {
		return
	}
	gv, wv := reflect.ValueOf(got), reflect.ValueOf(want)
	for i := range gv.NumField() {
		if !reflect.DeepEqual(gv.Field(i).Interface(), wv.Field(i).Interface()) {
			t.Errorf("%s %s: target %#v, source %#v", what, gv.Type().Field(i).Name, gv.Field(i).Interface(), wv.Field(i).Interface())
		}
	}
}

// TestEveryKindEveryDirection copies calendars, contacts and tasks in the
// four directions and compares the target fake's own store with the
// source fake's item by item, property by property, allowing only what a
// loss reported for that item explains. Neither fake sends a meeting
// message at any point; a second pass writes nothing; a changed event and
// task are updated in place, still sending nothing.
func TestEveryKindEveryDirection(t *testing.T) {
	tests := []struct {
		name     string
		dir      dispatch.Direction
		src, dst string
		loc      mailbox.Location
		newDst   func(e *env, addr string)
		srcSide  func(e *env, t *testing.T, addr string) kindSide
		dstSide  func(e *env, t *testing.T, addr string) kindSide
		toGraph  bool
	}{
		{"onboarding", dispatch.Onboarding, "nina@contoso.com", "nina@contoso.onmicrosoft.com", mailbox.LocationOnPrem, nil,
			(*env).ewsSide, (*env).graphSide, true},
		{"offboarding", dispatch.Offboarding, "olga@contoso.com", "olga.returned@contoso.com", mailbox.LocationCloud,
			func(e *env, addr string) { e.lab.EWS.AddMailbox(addr) }, (*env).graphSide, (*env).ewsSide, false},
		{"on-prem to on-prem", dispatch.OnPremToOnPrem, "nina@contoso.com", "nina.new@contoso.com", mailbox.LocationOnPrem,
			func(e *env, addr string) { e.lab.EWS.AddMailbox(addr) }, (*env).ewsSide, (*env).ewsSide, false},
		{"cloud to cloud", dispatch.CloudToCloud, "olga@contoso.com", "olga.new@contoso.onmicrosoft.com", mailbox.LocationCloud,
			func(e *env, addr string) { e.lab.Graph.AddMailbox(addr, mailbox.TypeUser) }, (*env).graphSide, (*env).graphSide, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := startLab(t, mustScenario(t, everyKindScenario), lab.Options{})
			if tt.newDst != nil {
				tt.newDst(e, tt.dst)
			}
			sent := func() int64 { return e.lab.EWS.MeetingMessagesSent() + e.lab.Graph.MeetingMessagesSent() }
			src, dst := tt.srcSide(e, t, tt.src), tt.dstSide(e, t, tt.dst)
			entry := csvinput.Entry{Address: tt.src, Target: tt.dst, Location: tt.loc}

			res := e.copyOnce(t, entry, tt.dir, testOptions())
			losses := lossesBySubject(res)
			srcEvents := src.events()
			eachPair(t, "calendar item", srcEvents, dst.events(), func(k string, s, d storedEvent) {
				if d.stamp == "" {
					t.Errorf("event %s carries no stamp on the target", k)
				}
				se, de := canonical(t, s.ev), canonical(t, d.ev)
				diffStruct(t, "event "+k, de, expectEvent(t, se, de, losses[s.ev.Subject], tt.toGraph, tt.dst))
			})
			srcTasks := src.tasks()
			eachPair(t, "task", srcTasks, dst.tasks(), func(k string, s, d storedTask) {
				w, got := canonicalTask(t, s.task), canonicalTask(t, d.task)
				if slices.Contains(losses[w.Subject], mailbox.LossTaskFields) {
					w.PercentComplete, w.Owner, w.Delegator, w.Sensitivity, w.CompleteDate = got.PercentComplete, got.Owner, got.Delegator, got.Sensitivity, got.CompleteDate
				}
				if tt.toGraph && w.Sensitivity == "Normal" {
					w.Sensitivity = got.Sensitivity // To Do has none; normal is the default
				}
				if !tt.toGraph {
					w.Owner = got.Owner // Exchange makes the mailbox that holds a task its owner
				}
				diffStruct(t, "task "+k, got, w)
			})
			groups := src.groups()
			if tt.toGraph {
				if n := res.Kinds[mailbox.KindContacts]; len(groups) > 0 && (n == nil || n.Skipped != int64(len(groups))) {
					t.Errorf("contact groups into Graph: %d in the source, result %+v; want each skipped with its reason", len(groups), n)
				}
			} else {
				got := dst.groups()
				if !reflect.DeepEqual(got, groups) && !(len(got) == 0 && len(groups) == 0) {
					t.Errorf("contact groups: target %+v, source %+v", got, groups)
				}
			}
			if s, d := src.photos(), dst.photos(); s == 0 || d != s {
				t.Errorf("contacts with a photo: source %d, target %d", s, d)
			}
			if n := sent(); n != 0 {
				t.Fatalf("the copy made the services send %d meeting messages", n)
			}

			writes := e.lab.Graph.Writes() + e.lab.EWS.Writes()
			if again := e.copyOnce(t, entry, tt.dir, testOptions()); again.ItemsCopied != 0 || again.Updated() != 0 || e.lab.Graph.Writes()+e.lab.EWS.Writes() != writes {
				t.Fatalf("second pass: copied %d, updated %d, %d writes; want none", again.ItemsCopied, again.Updated(), e.lab.Graph.Writes()+e.lab.EWS.Writes()-writes)
			}

			// The stamps on the target are the truth: a new state file
			// adopts every typed copy and writes nothing.
			fresh := e.copyWithNewState(t, entry, tt.dir)
			if n := fresh.Kinds[mailbox.KindCalendar]; n == nil || n.Adopted != int64(len(srcEvents)) || fresh.Kinds[mailbox.KindTasks].Adopted != int64(len(srcTasks)) {
				t.Errorf("a new state adopted %+v calendar and %+v task items, want %d and %d", n, fresh.Kinds[mailbox.KindTasks], len(srcEvents), len(srcTasks))
			}

			// A changed event, task and contact are updated in place.
			var evID, evKey string
			for k, s := range srcEvents {
				if s.ev.Recurrence == nil && !s.ev.IsAllDay {
					evID, evKey = s.id, k
					break
				}
			}
			var taskID, taskKey string
			for k, s := range srcTasks {
				taskID, taskKey = s.id, k
				break
			}
			const newTitle = "Chief Migration Officer"
			if !src.updateEvent(evID, func(ev *mailbox.Event) { ev.Location = "Moved to the roof terrace" }) ||
				!src.updateTask(taskID, func(k *mailbox.Task) { k.Status, k.CompleteDate = "Completed", "2026-11-30" }) ||
				!src.updateContact(src.contactIDs()[0], func(c *mailbox.Contact) { c.JobTitle = newTitle }) {
				t.Fatal("the source fixture did not change the items")
			}
			upd := e.copyOnce(t, entry, tt.dir, testOptions())
			if upd.Updated() != 3 || upd.ItemsCopied != 0 {
				t.Errorf("pass after three changes: updated %d, copied %d; want 3 and 0", upd.Updated(), upd.ItemsCopied)
			}
			if titles := dst.jobTitles(); !slices.Contains(titles, newTitle) || len(titles) != len(src.contactIDs()) {
				t.Errorf("the target's contacts after the update: job titles %q, want %q among %d", titles, newTitle, len(src.contactIDs()))
			}
			if d := dst.events()[evKey]; d.ev.Location != "Moved to the roof terrace" {
				t.Errorf("the target's event %s has location %q after the update", evKey, d.ev.Location)
			}
			if d := dst.tasks()[taskKey]; d.task.Status != "Completed" {
				t.Errorf("the target's task %s has status %q after the update", taskKey, d.task.Status)
			}
			if n := len(dst.events()); n != len(srcEvents) {
				t.Errorf("after the update the target holds %d events, want %d", n, len(srcEvents))
			}
			if n := sent(); n != 0 {
				t.Errorf("the updates made the services send %d meeting messages", n)
			}
		})
	}
}
