package graphmail

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

// drainCheck is a body that remembers whether it was read to its end.
type drainCheck struct {
	r   io.Reader
	eof bool
}

func (d *drainCheck) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	if err == io.EOF {
		d.eof = true
	}
	return n, err
}
func (d *drainCheck) Close() error { return nil }

func TestDecodeID(t *testing.T) {
	long := strings.Repeat("x", 100_000)
	tests := []struct {
		name, body string
		want       string
		malformed  bool
		readErr    bool
	}{
		{name: "graph's created message", body: `{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#users('a')/messages/$entity","@odata.etag":"W/\"CQAAABYAAAC\"","id":"AAMkAGI2=","createdDateTime":"2026-11-30T01:00:00Z","body":{"contentType":"html","content":"` + long + `"}}`, want: "AAMkAGI2="},
		{name: "id last", body: `{"subject":"a","toRecipients":[{"emailAddress":{"address":"b@c"}}],"id":"X"}`, want: "X"},
		{name: "no id", body: `{"subject":"a"}`, want: ""},
		{name: "nested id only", body: `{"parent":{"id":"nested"}}`, want: ""},
		{name: "html page", body: `<html><body>Service unavailable</body></html>`, malformed: true},
		{name: "array", body: `[{"id":"X"}]`, malformed: true},
		{name: "empty", body: ``, malformed: true},
		{name: "id not a string", body: `{"id":42}`, malformed: true},
		{name: "cut off", body: `{"@odata.etag":"W/\"C`, readErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := &drainCheck{r: strings.NewReader(tc.body)}
			resp := &http.Response{Body: body, Header: http.Header{"Content-Type": {"application/json"}}}
			id, err := decodeID(resp, 8<<20)
			var me *MalformedError
			switch {
			case tc.malformed:
				if !errors.As(err, &me) {
					t.Fatalf("err = %v, want a MalformedError", err)
				}
			case tc.readErr:
				if err == nil || errors.As(err, &me) {
					t.Fatalf("err = %v, want a read error (retryable), not malformed content", err)
				}
			default:
				if err != nil || id != tc.want {
					t.Fatalf("id %q err %v, want %q", id, err, tc.want)
				}
				if !body.eof {
					t.Error("the rest of the answer was not read: the connection would not be reused")
				}
			}
		})
	}
}

func FuzzDecodeID(f *testing.F) {
	for _, s := range []string{`{"id":"X","a":[1,2]}`, `{"a":{"id":1},"id":"Y"}`, `[]`, `{"id":`, ``, `{"id":"\u00e9"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		resp := &http.Response{Body: io.NopCloser(strings.NewReader(s)), Header: http.Header{}}
		id, err := decodeID(resp, 1<<20)
		if err != nil && id != "" {
			t.Fatalf("id %q with error %v", id, err)
		}
	})
}
