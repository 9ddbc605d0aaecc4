package ews_test

import (
	"encoding/pem"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/ews"
	"github.com/exmigrate/exmigrate/ews/ewstest"
)

const (
	testDomain   = "CONTOSO"
	testUser     = "svc"
	testPassword = "Pa55w.rd-not-real"
	testMailbox  = "alice@contoso.com"
)

// env is a fake Exchange with one impersonating service account and one
// mailbox, and a client pointed at it over HTTPS with NTLM.
type env struct {
	srv *ewstest.Server
	c   *ews.Client
	mb  *ewstest.MailboxFixture
	url string
	ca  []byte
}

func newEnv(t testing.TB, opts ...ewstest.Option) *env {
	t.Helper()
	srv := ewstest.NewServer(opts...)
	srv.AddAccount(testDomain, testUser, testPassword, true)
	mb := srv.AddMailbox(testMailbox)
	url, ca := srv.StartTLS(t)
	e := &env{srv: srv, mb: mb, url: url, ca: ca}
	e.c = e.client(t, nil)
	return e
}

func (e *env) client(t testing.TB, edit func(*ews.Config)) *ews.Client {
	t.Helper()
	cfg := ews.Config{
		URL: e.url, Username: testDomain + `\` + testUser, Password: testPassword, CABundlePEM: e.ca,
		Impersonation: true, MaxConcurrency: 4, RetryBase: 5 * time.Millisecond, PublicFolderMailbox: "pfmbx@contoso.com",
		FullFidelity: true,
	}
	if edit != nil {
		edit(&cfg)
	}
	c, err := ews.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// mime builds a small RFC 5322 message.
func mime(subject string, bodyLen int) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "From: Bob <bob@contoso.com>\r\nTo: Alice <alice@contoso.com>\r\nSubject: %s\r\n", subject)
	fmt.Fprintf(&b, "Message-ID: <%s@contoso.com>\r\nDate: Tue, 02 Jan 2024 03:04:05 +0000\r\nMIME-Version: 1.0\r\n", strings.ReplaceAll(subject, " ", "."))
	b.WriteString("Content-Type: text/plain; charset=utf-8\r\n\r\n")
	for b.Len() < bodyLen {
		b.WriteString("The quick brown fox jumps over the lazy dog.\r\n")
	}
	return []byte(b.String())
}

func pemOf(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
