package graphmail_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/graphmail"
	"github.com/exmigrate/exmigrate/graphmail/graphtest"
	"github.com/exmigrate/exmigrate/mailbox"
)

const (
	tenantID = "11111111-2222-3333-4444-555555555555"
	clientID = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
	secret   = "lab-secret-value-not-real"
	alice    = "alice@contoso.example"
)

var allRoles = []string{"Mail.ReadWrite", "MailboxSettings.ReadWrite", "Mail.Send", "Contacts.ReadWrite", "Calendars.ReadWrite", "Tasks.ReadWrite.All"}

// lab is one fake Graph over HTTPS and a client of it that authenticates
// with a client secret through azidentity.
type lab struct {
	srv *graphtest.Server
	ep  *graphtest.Endpoint
	c   *graphmail.Client
}

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("GRAPHMAIL_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return nil
}

func newLab(t testing.TB, opts ...graphtest.Option) *lab {
	t.Helper()
	srv := graphtest.NewServer(opts...)
	srv.AddApp(tenantID, clientID, secret, allRoles...)
	ep := srv.StartTLS(t)
	l := &lab{srv: srv, ep: ep}
	l.c = l.client(t, nil)
	return l
}

func (l *lab) config() graphmail.Config {
	return graphmail.Config{
		TenantID: tenantID, ClientID: clientID, Auth: graphmail.AuthClientSecret, ClientSecret: secret,
		BaseURL: l.ep.BaseURL, AuthorityHost: l.ep.AuthorityHost, HTTPClient: l.ep.Client,
	}
}

func (l *lab) client(t testing.TB, edit func(*graphmail.Config)) *graphmail.Client {
	t.Helper()
	cfg := l.config()
	cfg.Logger = testLogger(t)
	if edit != nil {
		edit(&cfg)
	}
	c, err := graphmail.NewClient(context.Background(), cfg)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return c
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// mimeMessage builds a small RFC 5322 message; extra parts are appended to
// a multipart/mixed body.
func mimeMessage(subject, msgID string, date time.Time, extra ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "From: Bob Sender <bob@fabrikam.example>\r\nTo: Alice <alice@contoso.example>\r\nCc: carol@contoso.example\r\n")
	fmt.Fprintf(&b, "Subject: %s\r\nMessage-ID: %s\r\nDate: %s\r\nX-Exm-Trace: t-1\r\nMIME-Version: 1.0\r\n", subject, msgID, date.Format(time.RFC1123Z))
	if len(extra) == 0 {
		b.WriteString("Content-Type: text/html; charset=utf-8\r\n\r\n<p>Hello <b>Alice</b></p>\r\n")
		return b.String()
	}
	b.WriteString("Content-Type: multipart/mixed; boundary=\"BOUNDARY\"\r\n\r\n")
	b.WriteString("--BOUNDARY\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello Alice\r\n")
	for _, p := range extra {
		b.WriteString("--BOUNDARY\r\n")
		b.WriteString(p)
		b.WriteString("\r\n")
	}
	b.WriteString("--BOUNDARY--\r\n")
	return b.String()
}

func neutral(subject string, read bool, received time.Time) mailbox.Item {
	return mailbox.Item{
		Subject: subject, IsRead: read, Received: received, Sent: received.Add(-time.Minute),
		Importance: mailbox.ImportanceHigh, Categories: []string{"Blue"}, Flag: mailbox.Flagged,
	}
}
