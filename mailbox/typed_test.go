package mailbox

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"time"
)

func sampleSeries() Event {
	loc, _ := ZoneLocation("W. Europe Standard Time")
	at := func(d, h int) time.Time { return time.Date(2026, 11, d, h, 0, 0, 0, loc).UTC() }
	return Event{Subject: "Stand-up", Start: at(2, 9), End: at(2, 10), TimeZone: "W. Europe Standard Time", IsMeeting: true,
		Organizer: &Attendee{Address: "lead@contoso.example"}, MyResponse: "Organizer",
		Attendees:  []Attendee{{Name: "Ana", Address: "ana@fabrikam.example", Type: "Required", Response: "Accept"}},
		Recurrence: &Recurrence{Pattern: "weekly", Interval: 1, DaysOfWeek: []string{"monday"}, Range: "numbered", StartDate: "2026-11-02", Occurrences: 10},
		Exceptions: []Occurrence{{OriginalStart: at(9, 9), Start: at(9, 11), End: at(9, 12), Subject: "Stand-up (moved)"}},
		Cancelled:  []time.Time{at(16, 9)}}
}

func TestTypedRoundTrips(t *testing.T) {
	ev := sampleSeries()
	task := Task{Subject: "Check", Status: "InProgress", PercentComplete: 40, DueDate: "2026-12-04", Owner: "Lead"}
	group := ContactGroup{DisplayName: "Team", Members: []ContactEmail{{Address: "a@x.example"}}}
	for name, c := range map[string]struct {
		enc func() ([]byte, error)
		dec func([]byte) (any, error)
		v   any
	}{
		"event": {func() ([]byte, error) { return EncodeEvent(ev) }, func(b []byte) (any, error) { return DecodeEvent(bytes.NewReader(b)) }, ev},
		"task":  {func() ([]byte, error) { return EncodeTask(task) }, func(b []byte) (any, error) { return DecodeTask(bytes.NewReader(b)) }, task},
		"group": {func() ([]byte, error) { return EncodeContactGroup(group) }, func(b []byte) (any, error) { return DecodeContactGroup(bytes.NewReader(b)) }, group},
	} {
		data, err := c.enc()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, err := c.dec(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(got, c.v) {
			t.Errorf("%s round trip:\n got %+v\nwant %+v", name, got, c.v)
		}
	}
}

func TestTypedRefused(t *testing.T) {
	noon := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	bad := map[string]error{}
	_, bad["ends before it starts"] = EncodeEvent(Event{Start: noon, End: noon.Add(-time.Hour)})
	_, bad["all-day not at midnight"] = EncodeEvent(Event{Start: noon, End: noon.Add(24 * time.Hour), IsAllDay: true})
	_, bad["unknown zone"] = EncodeEvent(Event{Start: noon, End: noon, TimeZone: "tzone://Microsoft/Custom"})
	_, bad["weekly without days"] = EncodeEvent(Event{Start: noon, End: noon, Recurrence: &Recurrence{Pattern: "weekly", Range: "noEnd", StartDate: "2026-01-01"}})
	_, bad["exceptions without a series"] = EncodeEvent(Event{Start: noon, End: noon, Cancelled: []time.Time{noon}})
	_, bad["attendee without address"] = EncodeEvent(Event{Start: noon, End: noon, Attendees: []Attendee{{Name: "x"}}})
	_, bad["bad response"] = EncodeEvent(Event{Start: noon, End: noon, MyResponse: "Maybe"})
	_, bad["attachment too large"] = EncodeEvent(Event{Start: noon, End: noon, Attachments: []Attachment{{Name: "a", Data: make([]byte, MaxTypedAttachmentBytes+1)}}})
	_, bad["task status"] = EncodeTask(Task{Status: "Done"})
	_, bad["task percent"] = EncodeTask(Task{PercentComplete: 101})
	_, bad["task due date"] = EncodeTask(Task{DueDate: "04.12.2026"})
	_, bad["group without name"] = EncodeContactGroup(ContactGroup{})
	_, bad["group member without address"] = EncodeContactGroup(ContactGroup{DisplayName: "x", Members: []ContactEmail{{Name: "y"}}})
	ev, _ := EncodeEvent(sampleSeries())
	_, bad["an event read as a task"] = DecodeTask(bytes.NewReader(ev))
	_, bad["an event read as a contact"] = DecodeContact(bytes.NewReader(ev))
	for name, err := range bad {
		if !errors.Is(err, ErrBadTyped) {
			t.Errorf("%s: err = %v, want ErrBadTyped", name, err)
		}
	}
}

// FuzzDecodeTyped: any input is decoded or refused with ErrBadTyped by
// every typed decoder, and what decodes encodes to the same value.
func FuzzDecodeTyped(f *testing.F) {
	ev, _ := EncodeEvent(sampleSeries())
	task, _ := EncodeTask(Task{Subject: "x", Status: "Deferred", Recurrence: &Recurrence{Pattern: "daily", Range: "noEnd", StartDate: "2026-01-01"}})
	group, _ := EncodeContactGroup(ContactGroup{DisplayName: "g"})
	f.Add(ev)
	f.Add(task)
	f.Add(group)
	f.Add([]byte(`{"kind":"calendar","v":1,"item":{"start":"2026-01-01T00:00:00Z","end":"2026-01-01T00:00:00Z"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if e, err := DecodeEvent(bytes.NewReader(data)); err == nil {
			again, err := EncodeEvent(e)
			if err != nil {
				t.Fatalf("a decoded event does not encode: %v", err)
			}
			e2, err := DecodeEvent(bytes.NewReader(again))
			if err != nil || !reflect.DeepEqual(e, e2) {
				t.Fatalf("event round trip: %v\n%+v\n%+v", err, e, e2)
			}
		} else if !errors.Is(err, ErrBadTyped) {
			t.Fatalf("DecodeEvent: %v, want ErrBadTyped", err)
		}
		if k, err := DecodeTask(bytes.NewReader(data)); err == nil {
			again, err := EncodeTask(k)
			if err != nil {
				t.Fatalf("a decoded task does not encode: %v", err)
			}
			if k2, err := DecodeTask(bytes.NewReader(again)); err != nil || !reflect.DeepEqual(k, k2) {
				t.Fatalf("task round trip: %v", err)
			}
		} else if !errors.Is(err, ErrBadTyped) {
			t.Fatalf("DecodeTask: %v, want ErrBadTyped", err)
		}
		if _, err := DecodeContactGroup(bytes.NewReader(data)); err != nil && !errors.Is(err, ErrBadTyped) {
			t.Fatalf("DecodeContactGroup: %v, want ErrBadTyped", err)
		}
	})
}

func TestExpand(t *testing.T) {
	loc, _ := ZoneLocation("W. Europe Standard Time")
	first := time.Date(2026, 10, 19, 9, 0, 0, 0, loc)
	day := func(y int, m time.Month, d int) string {
		return time.Date(y, m, d, 9, 0, 0, 0, loc).UTC().Format(time.RFC3339)
	}
	far := time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		r    Recurrence
		want []string
	}{
		{"weekly across summer time keeps 09:00 local", Recurrence{Pattern: "weekly", Interval: 1, DaysOfWeek: []string{"monday"}, Range: "numbered", StartDate: "2026-10-19", Occurrences: 3},
			[]string{day(2026, 10, 19), day(2026, 10, 26), day(2026, 11, 2)}},
		{"every other week, two days", Recurrence{Pattern: "weekly", Interval: 2, DaysOfWeek: []string{"monday", "wednesday"}, FirstDayOfWeek: "monday", Range: "endDate", StartDate: "2026-10-19", EndDate: "2026-11-04"},
			[]string{day(2026, 10, 19), day(2026, 10, 21), day(2026, 11, 2), day(2026, 11, 4)}},
		{"daily by 3", Recurrence{Pattern: "daily", Interval: 3, Range: "numbered", StartDate: "2026-10-19", Occurrences: 2},
			[]string{day(2026, 10, 19), day(2026, 10, 22)}},
		{"the 31st, clamped", Recurrence{Pattern: "absoluteMonthly", Interval: 1, DayOfMonth: 31, Range: "numbered", StartDate: "2026-10-19", Occurrences: 3},
			[]string{day(2026, 10, 31), day(2026, 11, 30), day(2026, 12, 31)}},
		{"last friday", Recurrence{Pattern: "relativeMonthly", Interval: 1, DaysOfWeek: []string{"friday"}, Index: "last", Range: "numbered", StartDate: "2026-10-19", Occurrences: 2},
			[]string{day(2026, 10, 30), day(2026, 11, 27)}},
		{"yearly", Recurrence{Pattern: "absoluteYearly", Interval: 1, Month: 12, DayOfMonth: 24, Range: "numbered", StartDate: "2026-10-19", Occurrences: 2},
			[]string{day(2026, 12, 24), day(2027, 12, 24)}},
	}
	for _, tc := range tests {
		got, err := Expand(tc.r, first, "W. Europe Standard Time", far, 100)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var gs []string
		for _, g := range got {
			gs = append(gs, g.Format(time.RFC3339))
		}
		if !reflect.DeepEqual(gs, tc.want) {
			t.Errorf("%s:\n got %v\nwant %v", tc.name, gs, tc.want)
		}
	}
	noEnd, _ := Expand(Recurrence{Pattern: "daily", Range: "noEnd", StartDate: "2026-10-19"}, first, "W. Europe Standard Time", far, 50)
	if len(noEnd) != 50 {
		t.Errorf("a series without end gave %d occurrences under a limit of 50", len(noEnd))
	}
	ev := sampleSeries()
	occ, err := ev.Occurrences(far, 100)
	if err != nil || len(occ) != 9 || occ[1].Subject != "Stand-up (moved)" {
		t.Errorf("Occurrences: %d (%v), want 10 less 1 cancelled with the moved one second: %+v", len(occ), err, occ)
	}
}

// TestPlanRouteFullFidelityDialects: full fidelity is planned only when
// the target accepts the source's dialect; otherwise the next format both
// sides share is taken, and a path that would send mail never is.
func TestPlanRouteFullFidelityDialects(t *testing.T) {
	ff := func(d string) Path {
		return Path{Store: ScopePrimary, Kind: KindCalendar, Format: FormatFullFidelity, Dialect: d}
	}
	typed := Path{Store: ScopePrimary, Kind: KindCalendar, Format: FormatTyped, Loses: "attendees"}
	sends := Path{Store: ScopePrimary, Kind: KindCalendar, Format: FormatFullFidelity, Dialect: DialectEWS, SideEffects: []SideEffect{SendsMeetingMessages}}
	ews := Capabilities{Backend: "ews", Reads: []Path{ff(DialectEWS), typed}, Writes: []Path{ff(DialectEWS), typed}}
	graph := Capabilities{Backend: "graph", Reads: []Path{ff(DialectGraph), typed}, Writes: []Path{ff(DialectGraph), typed}}
	graphTakesEWS := graph
	graphTakesEWS.Writes = append([]Path{ff(DialectEWS)}, graph.Writes...)
	graphSends := graph
	graphSends.Writes = append([]Path{sends}, graph.Writes...)
	tests := []struct {
		name     string
		src, dst Capabilities
		want     Format
	}{
		{"ews to ews", ews, ews, FormatFullFidelity},
		{"graph to graph", graph, graph, FormatFullFidelity},
		{"ews to graph, not accepted", ews, graph, FormatTyped},
		{"ews to graph, accepted", ews, graphTakesEWS, FormatFullFidelity},
		{"graph to ews", graph, ews, FormatTyped},
		{"accepted but would send", ews, graphSends, FormatTyped},
	}
	for _, tt := range tests {
		route, gap := PlanRoute(tt.src, tt.dst, ScopePrimary, ScopePrimary, KindCalendar)
		if gap != nil || route.Format != tt.want {
			t.Errorf("%s: route %+v gap %v, want %s", tt.name, route, gap, tt.want)
		}
	}
}
