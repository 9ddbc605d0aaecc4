package graphmail

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/exmigrate/exmigrate/mailbox"
)

// A real upload session's uploadUrl (Outlook REST v2.0), token shortened.
const (
	outlookToken  = "eyJhbGciOiJSUzI1NiIsImtpZCI6IktRMnRBY3JFN2xCYVZWR0JtYzVGb2JnZEpvNCJ9.eyJhdWQiOiJodHRwczovL291dGxvb2sub2ZmaWNlLmNvbS9hcGkvIn0.c2lnbmF0dXJl"
	outlookUpload = "https://outlook.office.com/api/v2.0/Users('a8e8e219-4931-95c1-b73d-62626fd79c32@72aa88bf-76f0-494f-91ab-2d7cd730db47')/Messages('AAMkADI5MAAIT3drCAAA=')/AttachmentSessions('AAMkADI5MAAIT3k0tAAA=')?authtoken=" + outlookToken
)

func TestRedactURL(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"Outlook upload session", outlookUpload,
			"https://outlook.office.com/api/v2.0/Users('a8e8e219-4931-95c1-b73d-62626fd79c32@72aa88bf-76f0-494f-91ab-2d7cd730db47')/Messages('AAMkADI5MAAIT3drCAAA=')/AttachmentSessions('AAMkADI5MAAIT3k0tAAA=')?REDACTED"},
		{"the fake's upload session", "https://127.0.0.1:8443/upload/US000012ab?authtoken=VDAwMDAxMg",
			"https://127.0.0.1:8443/upload/US000012ab?REDACTED"},
		{"import session (importUrl)", "https://outlook.office365.com/api/gbeta/Mailboxes('MBX:e0643f21@a7809c93')/importItem?authtoken=eyJ0eXAi&x=1",
			"https://outlook.office365.com/api/gbeta/Mailboxes('MBX:e0643f21@a7809c93')/importItem?REDACTED"},
		{"escaped path kept as sent", "https://h.example/a%2Fb/c%20d?t=secret", "https://h.example/a%2Fb/c%20d?REDACTED"},
		{"fragment", "https://h.example/upload/1#authtoken=secret", "https://h.example/upload/1?REDACTED"},
		{"empty query", "https://h.example/upload/1?", "https://h.example/upload/1?REDACTED"},
		{"user information dropped", "https://user:pass@h.example/upload/1?t=x", "https://h.example/upload/1?REDACTED"},
		{"no query: nothing to hide", "https://graph.microsoft.com/v1.0/users/a%40b/messages", "https://graph.microsoft.com/v1.0/users/a%40b/messages"},
		{"relative", "/upload/US1?authtoken=x", "/upload/US1?REDACTED"},
		{"does not parse", "https://h.example/upload/%zz?authtoken=secret", "https://h.example/upload/%zz?REDACTED"},
		{"does not parse, with user information", "https://user:pw@h.example/%zz#frag", "https://h.example/%zz?REDACTED"},
		{"empty", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := redactURL(tc.in); got != tc.want {
				t.Errorf("redactURL(%q)\n got %q\nwant %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestPreauthScrub(t *testing.T) {
	p := newPreauthURL(outlookUpload)
	safe := redactURL(outlookUpload)
	for _, tc := range []struct{ name, in, want string }{
		{"whole URL", "502: " + outlookUpload + " could not be reached", "502: " + safe + " could not be reached"},
		{"URL quoted by net/http", fmt.Sprintf("Put %q: EOF", outlookUpload), fmt.Sprintf("Put %q: EOF", safe)},
		{"query alone", "bad query authtoken=" + outlookToken + "&x", "bad query REDACTED&x"},
		{"token alone", "token " + outlookToken + " expired", "token REDACTED expired"},
		{"nothing secret", "The upload session was not found.", "The upload session was not found."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := p.scrub(tc.in); got != tc.want {
				t.Errorf("scrub(%q)\n got %q\nwant %q", tc.in, got, tc.want)
			}
		})
	}
	// A short query value is not a secret and stays.
	if got := newPreauthURL("https://h.example/u?v=2&authtoken=0123456789").scrub("v=2 and 0123456789"); got != "v=2 and REDACTED" {
		t.Errorf("short value: %q", got)
	}
	// An escaped form of a token with characters to escape is found too.
	q := newPreauthURL("https://h.example/u?authtoken=" + url.QueryEscape("a/b+c=d e12"))
	if got := q.scrub("x " + url.QueryEscape("a/b+c=d e12") + " y a/b+c=d e12"); strings.Contains(got, "a/b") || strings.Contains(got, "a%2Fb") {
		t.Errorf("escaped token left: %q", got)
	}
}

// TestPreauthRedactErr: the errors of a request to an upload URL lose the
// token but keep what classifies them.
func TestPreauthRedactErr(t *testing.T) {
	p := newPreauthURL(outlookUpload)
	for _, tc := range []struct {
		name      string
		err       error
		permanent bool
		is        error
		retryable bool
	}{
		{name: "net/http's *url.Error", err: &url.Error{Op: "Put", URL: outlookUpload, Err: errors.New("EOF")}},
		{name: "Graph answer echoing the URL", err: &Error{Op: "upload", Status: http.StatusConflict, Message: "Another upload to " + outlookUpload}},
		{name: "permanent answer echoing the URL", err: (&Error{Op: "upload", Status: http.StatusBadRequest, Message: "Bad range for " + outlookUpload}).verdict(), permanent: true},
		{name: "page not Graph's JSON", err: mailbox.Permanent(&MalformedError{ContentType: "text/html", Body: "<p>" + outlookUpload + "</p>", Err: errors.New("bad")}), permanent: true},
		{name: "text frozen by fmt.Errorf", err: fmt.Errorf("graph: PUT: no answer: %w: EOF from %s", mailbox.ErrUnavailable, outlookUpload), is: mailbox.ErrUnavailable},
		{name: "frozen and permanent", err: mailbox.Permanent(fmt.Errorf("refused %s", outlookUpload)), permanent: true},
		{name: "frozen and retryable", err: mailbox.Retryable(fmt.Errorf("lost answer from %s", outlookUpload), 0), retryable: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := p.redactErr(tc.err)
			walkErr(err, func(e error) {
				for _, text := range []string{e.Error(), fmt.Sprintf("%#v", e)} {
					if strings.Contains(text, outlookToken) {
						t.Errorf("the token is left in %T: %s", e, text)
					}
				}
			})
			if !strings.Contains(err.Error(), "AttachmentSessions('AAMkADI5MAAIT3k0tAAA=')") {
				t.Errorf("the redacted error no longer names the session: %v", err)
			}
			if got := mailbox.IsPermanent(err); got != tc.permanent {
				t.Errorf("IsPermanent = %v, want %v: %v", got, tc.permanent, err)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("no longer matches %v: %v", tc.is, err)
			}
			var re *mailbox.RetryableError
			if got := errors.As(err, &re); got != tc.retryable {
				t.Errorf("RetryableError = %v, want %v", got, tc.retryable)
			} else if got && strings.Contains(re.Error(), outlookToken) {
				t.Errorf("the RetryableError holds the token: %v", re)
			}
			var pe *mailbox.PermanentError
			if errors.As(err, &pe) && strings.Contains(pe.Error(), outlookToken) {
				t.Errorf("the PermanentError holds the token: %v", pe)
			}
			var ge *Error
			if errors.As(err, &ge) && strings.Contains(ge.Error(), outlookToken) {
				t.Errorf("the *Error holds the token: %v", ge)
			}
		})
	}
	if p.redactErr(nil) != nil {
		t.Error("redactErr(nil) is not nil")
	}
}
