package graphmail

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/mailbox"
)

// FuzzEventFromGraph feeds the reader of Graph's event JSON: an answer
// it cannot read fails with an error, never a panic; one it reads either
// encodes as a typed body or fails validation with ErrBadTyped.
func FuzzEventFromGraph(f *testing.F) {
	for _, s := range []string{
		`{"id":"a","type":"seriesMaster","subject":"S","body":{"contentType":"html","content":"<p>x</p>"},"start":{"dateTime":"2026-11-02T08:00:00.0000000","timeZone":"UTC"},"end":{"dateTime":"2026-11-02T08:30:00.0000000","timeZone":"UTC"},"originalStartTimeZone":"W. Europe Standard Time","showAs":"oof","sensitivity":"private","importance":"high","recurrence":{"pattern":{"type":"weekly","interval":1,"daysOfWeek":["monday"],"firstDayOfWeek":"monday","index":"first"},"range":{"type":"endDate","startDate":"2026-11-02","endDate":"2027-03-29","numberOfOccurrences":0}}}`,
		`{"isAllDay":true,"start":{"dateTime":"2026-12-24T00:00:00.0000000","timeZone":"UTC"},"end":{"dateTime":"2026-12-25T00:00:00.0000000","timeZone":"UTC"},"originalStartTimeZone":"tzone://Microsoft/Custom"}`,
		`{"attendees":[{"type":"resource","status":{"response":"accepted"},"emailAddress":{"address":"r@x"}}],"organizer":{"emailAddress":{"address":"o@x"}},"responseStatus":{"response":"organizer"},"start":{"dateTime":"2026-01-01T00:00:00","timeZone":"UTC"},"end":{"dateTime":"2026-01-01T01:00:00","timeZone":"UTC"}}`,
		`{"start":{"dateTime":"2026-01-01T00:00:00","timeZone":"Pacific Standard Time"},"end":null}`, `{}`, `[]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var g graphEvent
		if json.Unmarshal(data, &g) != nil {
			return
		}
		e, err := eventFromGraph(g)
		if err != nil {
			return
		}
		if _, err := mailbox.EncodeEvent(e); err != nil && !strings.Contains(err.Error(), mailbox.ErrBadTyped.Error()) {
			t.Fatalf("an event read from Graph fails to encode with %v", err)
		}
		if e.Recurrence != nil {
			if starts, err := mailbox.Expand(*e.Recurrence, e.Start, e.TimeZone, e.Start.AddDate(1, 0, 0), 50); err == nil {
				if _, _, err := exceptionsOf(e, []graphEvent{g}, starts); err != nil && !strings.Contains(err.Error(), mailbox.ErrBadTyped.Error()) {
					t.Fatal(err)
				}
			}
		}
	})
}

// FuzzTaskFromGraph feeds the reader of To Do's task JSON.
func FuzzTaskFromGraph(f *testing.F) {
	for _, s := range []string{
		`{"id":"t","@odata.etag":"W/\"1\"","title":"T","status":"inProgress","importance":"high","dueDateTime":{"dateTime":"2026-12-04T00:00:00.0000000","timeZone":"UTC"},"reminderDateTime":{"dateTime":"2026-12-03T08:00:00.0000000","timeZone":"UTC"},"extensions":[{"extensionName":"com.exmigrate.source","sourceId":"s"}]}`,
		`{"dueDateTime":{"dateTime":"2026","timeZone":"UTC"}}`, `{"completedDateTime":{"dateTime":"","timeZone":""}}`,
		`{"recurrence":{"pattern":{"type":"relativeYearly","daysOfWeek":["friday"],"index":"last","month":2},"range":{"type":"noEnd","startDate":"2026-02-27"}}}`, `{}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var g todoTaskJSON
		if json.Unmarshal(data, &g) != nil {
			return
		}
		_ = g.stamp()
		_ = g.version()
		tk, err := taskFromGraph(g)
		if err != nil {
			return
		}
		for _, d := range []string{tk.DueDate, tk.StartDate, tk.CompleteDate} {
			if _, err := time.Parse(time.DateOnly, d); d != "" && err != nil {
				t.Fatalf("a task date %q read from Graph is not a date", d)
			}
		}
		_, _ = mailbox.EncodeTask(tk)
	})
}

// eventToGraph never writes attendees, and a meeting's body names its
// people in the body's own type.
func TestEventToGraphNeverWritesAttendees(t *testing.T) {
	e := mailbox.Event{Subject: "M", Body: "<html><body><p>Agenda</p></body></html>", BodyHTML: true, IsMeeting: true, MyResponse: "Accept",
		Start: time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC), End: time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC),
		Organizer: &mailbox.Attendee{Name: "O & Co", Address: "o@x"}, Attendees: []mailbox.Attendee{{Name: "A", Address: "a@x", Type: "Optional", Response: "Decline"}}}
	var losses []mailbox.Loss
	ctx := mailbox.WithLosses(context.Background(), func(l mailbox.Loss) { losses = append(losses, l) })
	g, err := eventToGraph(ctx, e, "s", true)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(g)
	if strings.Contains(string(b), `"attendees"`) || strings.Contains(string(b), `"organizer"`) {
		t.Errorf("the write names attendees or an organizer: %s", b)
	}
	body := g["body"].(graphBody)
	if body.ContentType != "html" || !strings.Contains(body.Content, "O &amp; Co &lt;o@x&gt;") || !strings.Contains(body.Content, "A &lt;a@x&gt; (Optional): Decline") ||
		!strings.Contains(body.Content, "Response of this mailbox: Accept") || !strings.HasSuffix(body.Content, "</body></html>") || !strings.Contains(body.Content, "<p>Agenda</p>") {
		t.Errorf("HTML body %q", body.Content)
	}
	if len(losses) != 1 || losses[0].Code != mailbox.LossMeetingAsAppointment {
		t.Errorf("losses %+v", losses)
	}
}
