package graphtest

import (
	"net/http/httptest"
	"testing"
)

// TestAnswersInGraphsOrder: an entity's annotations come first, then its
// id, as Graph writes them; the rest follows, each key once.
func TestAnswersInGraphsOrder(t *testing.T) {
	rec := httptest.NewRecorder()
	writeJSON(rec, 201, map[string]any{
		"body": map[string]any{"contentType": "html", "content": "<p>x</p>"}, "id": "AAMk=", "@odata.etag": `W/"CQ"`,
		"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#messages/$entity", "subject": "s",
	})
	want := `{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#messages/$entity","@odata.etag":"W/\"CQ\"","id":"AAMk=",` +
		`"body":{"content":"\u003cp\u003ex\u003c/p\u003e","contentType":"html"},"subject":"s"}` + "\n"
	if got := rec.Body.String(); got != want || rec.Code != 201 {
		t.Errorf("answer %d\n got %s\nwant %s", rec.Code, got, want)
	}
	// A value the fake cannot write is a 500 naming the fake, not a
	// half-written answer.
	rec = httptest.NewRecorder()
	writeJSON(rec, 200, map[string]any{"bad": func() {}})
	if rec.Code != 500 {
		t.Errorf("an unwritable answer: %d %s", rec.Code, rec.Body.String())
	}
}
