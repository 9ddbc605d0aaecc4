package graphtest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/mailbox"
)

// FuzzParseEvent feeds the event body parser: it refuses with a code and
// a message, or accepts a patch that applies and checks without panic.
func FuzzParseEvent(f *testing.F) {
	for _, s := range []string{weekly,
		`{"subject":"x","start":{"dateTime":"2026-01-01T10:00:00","timeZone":"UTC"},"end":{"dateTime":"2026-01-01T11:00:00","timeZone":"UTC"},"attendees":[{"type":"optional","emailAddress":{"address":"a@b"}}],"transactionId":"t"}`,
		`{"isAllDay":true,"showAs":"oof","sensitivity":"private","importance":"high","categories":["a"],"isReminderOn":false,"reminderMinutesBeforeStart":0}`,
		`{"recurrence":null,"body":{"contentType":"html","content":"<p>x</p>"},"location":{"displayName":"R"}}`,
		`{"singleValueExtendedProperties":[{"id":"String {x} Name y","value":"v"}]}`, `{"recurrence":{"pattern":{"type":"weekly"}}}`,
		`[]`, `null`, ``, `{"start":{"dateTime":"x","timeZone":"UTC"}}`,
	} {
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, body []byte, create bool) {
		p, code, msg := parseEvent(body, create)
		if code != "" {
			if p != nil || msg == "" {
				t.Fatalf("refused with %q %q but returned a patch", code, msg)
			}
			return
		}
		if !create && p.set["transactionId"] {
			t.Fatal("an update took a transactionId")
		}
		var e mailbox.Event
		p.apply(&e)
		checkEvent(e)
		if e.Recurrence != nil {
			if err := e.Recurrence.Validate(); err != nil {
				t.Fatalf("accepted an invalid recurrence: %v", err)
			}
		}
		if len(e.Attendees) > maxEventAttendees {
			t.Fatalf("accepted %d attendees", len(e.Attendees))
		}
	})
}

// FuzzParseTask feeds the todoTask body parser.
func FuzzParseTask(f *testing.F) {
	for _, s := range []string{
		`{"title":"Plan","status":"inProgress","importance":"high","dueDateTime":{"dateTime":"2026-12-04T00:00:00","timeZone":"UTC"}}`,
		`{"extensions":[{"@odata.type":"microsoft.graph.openTypeExtension","extensionName":"a","k":1}]}`,
		`{"recurrence":{"pattern":{"type":"daily","interval":1},"range":{"type":"noEnd","startDate":"2026-01-01"}}}`,
		`{"reminderDateTime":{"dateTime":"2026-12-03T08:00:00","timeZone":"W. Europe Standard Time"},"isReminderOn":true}`,
		`{"body":{"contentType":"rtf","content":""}}`, `[]`, `null`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		p, code, msg := parseTask(body)
		if code != "" {
			if p != nil || msg == "" {
				t.Fatalf("refused with %q %q but returned a patch", code, msg)
			}
			return
		}
		var tk mailbox.Task
		p.apply(&tk)
		checkTask(tk)
		for name := range p.ext {
			if name == "" {
				t.Fatal("accepted an extension without a name")
			}
		}
		if _, err := json.Marshal(tk); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzInstanceID: an instance id the fake makes reads back; anything
// else is refused or names some master and instant, never panics.
func FuzzInstanceID(f *testing.F) {
	f.Add("AAMkE=", int64(1700000000))
	f.Add("", int64(0))
	f.Fuzz(func(t *testing.T, master string, sec int64) {
		os := time.Unix(sec, 0).UTC()
		id := instanceID(master, os)
		m, at, ok := parseInstanceID(id)
		if ok && (m != master || !at.Equal(os)) {
			if !containsBar(master) {
				t.Fatalf("instanceID(%q, %v) reads back as %q %v", master, os, m, at)
			}
		}
		parseInstanceID(master)
	})
}

func containsBar(s string) bool {
	for _, r := range s {
		if r == '|' {
			return true
		}
	}
	return false
}

// FuzzWindow feeds the startDateTime/endDateTime reader: a window it
// accepts is not empty; a refusal is a 400 ErrorInvalidParameter.
func FuzzWindow(f *testing.F) {
	f.Add("2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z")
	f.Add("2026-01-01", "2025-01-01")
	f.Add("", "x")
	f.Fuzz(func(t *testing.T, a, b string) {
		rec := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodGet, "/x?"+url.Values{"startDateTime": {a}, "endDateTime": {b}}.Encode(), nil)
		start, end, ok := window(&req{w: rec, r: r})
		if ok {
			if !end.After(start) || rec.Code != http.StatusOK {
				t.Fatalf("accepted %q..%q as %v..%v", a, b, start, end)
			}
			return
		}
		var e struct {
			Error struct{ Code string }
		}
		if rec.Code != 400 || json.Unmarshal(rec.Body.Bytes(), &e) != nil || e.Error.Code != "ErrorInvalidParameter" {
			t.Fatalf("refused %q..%q with %d %s", a, b, rec.Code, rec.Body)
		}
	})
}
