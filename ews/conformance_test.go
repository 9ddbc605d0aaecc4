package ews_test

import (
	"encoding/base64"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/ews"
	"github.com/exmigrate/exmigrate/ews/ewstest"
	"github.com/exmigrate/exmigrate/mailbox/mailboxtest"
)

// TestConformance runs the mailbox contract's suite against the EWS client
// and the fake Exchange over HTTPS with NTLM. Each mailbox gets a server of
// its own so that injected faults touch nothing else.
func TestConformance(t *testing.T) {
	envs := map[mailboxtest.Mailbox]*env{}
	open := func(t *testing.T) (*env, *ews.Mailbox) {
		e := newEnv(t)
		mb := e.c.Mailbox(testMailbox)
		envs[mb] = e
		return e, mb
	}
	f := mailboxtest.Fixture{
		NewMailbox: func(t *testing.T) mailboxtest.Mailbox { _, mb := open(t); return mb },
		MissingMailbox: func(t *testing.T) mailboxtest.Mailbox {
			e, _ := open(t)
			return e.c.Mailbox("nobody@contoso.com")
		},
		DeniedMailbox: func(t *testing.T) mailboxtest.Mailbox {
			// An account without impersonation or full access to the mailbox.
			e, _ := open(t)
			e.srv.AddAccount(testDomain, "helpdesk", testPassword, false)
			c := e.client(t, func(c *ews.Config) { c.Username = testDomain + `\helpdesk`; c.Impersonation = false })
			return c.Mailbox(testMailbox)
		},
		ExpireSyncStates: func(t *testing.T, mb mailboxtest.Mailbox) { envs[mb].mb.InvalidateSyncStates() },
		LoseNextCreateAnswer: func(t *testing.T, mb mailboxtest.Mailbox) {
			envs[mb].srv.Inject(ewstest.Fault{Op: "CreateItem", Kind: ewstest.FaultDropAfter})
		},
		ThrottleNext: func(t *testing.T, mb mailboxtest.Mailbox) {
			envs[mb].srv.Inject(ewstest.Fault{Op: "SyncFolderItems", Kind: ewstest.FaultServerBusy, BackOff: time.Millisecond, Times: -1})
		},
		Unreachable: func(t *testing.T, mb mailboxtest.Mailbox) {
			envs[mb].srv.Inject(ewstest.Fault{Op: "SyncFolderItems", Kind: ewstest.FaultDrop, Times: -1})
		},
		MissingItemID: func(t *testing.T, mb mailboxtest.Mailbox) string {
			return base64.StdEncoding.EncodeToString([]byte("AAMkADitem|" + testMailbox + "|99999999|" + strings.Repeat("A", 24)))
		},
		SyncPageSize: ews.MaxSyncChanges,
		// Under the fake's 35 MB message limit; the fake keeps bodies in
		// this process, so the heap is not measured here (TestHugeItemHeap
		// measures the client's streaming with the fake in a child process).
		LargeItemBytes: 20 << 20,
	}
	mailboxtest.RunSource(t, f)
	mailboxtest.RunTarget(t, f)
}

// TestConformanceLive runs the suite against a real Exchange server when
// the environment names one, inside a fresh folder of a test mailbox (see
// mailboxtest.Sandbox): the check an engineer runs before a migration to
// see that their server keeps the contract. It writes a few dozen small
// items and one of 10 MB there.
//
//	EXMIGRATE_TEST_EWS_URL        https://mail.contoso.com/EWS/Exchange.asmx
//	EXMIGRATE_TEST_EWS_USERNAME   CONTOSO\svc-migrate
//	EXMIGRATE_TEST_EWS_PASSWORD   the account's password
//	EXMIGRATE_TEST_EWS_MAILBOX    a test mailbox the account may impersonate
//	EXMIGRATE_TEST_EWS_CA_FILE    optional PEM bundle for a private CA
//	EXMIGRATE_TEST_EWS_IMPERSONATION  "false" for full access instead
func TestConformanceLive(t *testing.T) {
	url := os.Getenv("EXMIGRATE_TEST_EWS_URL")
	if url == "" {
		t.Skip("set EXMIGRATE_TEST_EWS_URL, _USERNAME, _PASSWORD and _MAILBOX to run the suite against a real Exchange server")
	}
	cfg := ews.Config{URL: url, Username: os.Getenv("EXMIGRATE_TEST_EWS_USERNAME"), Password: os.Getenv("EXMIGRATE_TEST_EWS_PASSWORD"),
		Impersonation: os.Getenv("EXMIGRATE_TEST_EWS_IMPERSONATION") != "false"}
	if ca := os.Getenv("EXMIGRATE_TEST_EWS_CA_FILE"); ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			t.Fatalf("EXMIGRATE_TEST_EWS_CA_FILE: %v", err)
		}
		cfg.CABundlePEM = pem
	}
	address := os.Getenv("EXMIGRATE_TEST_EWS_MAILBOX")
	if address == "" || cfg.Username == "" || cfg.Password == "" {
		t.Fatal("EXMIGRATE_TEST_EWS_USERNAME, EXMIGRATE_TEST_EWS_PASSWORD and EXMIGRATE_TEST_EWS_MAILBOX are needed with EXMIGRATE_TEST_EWS_URL")
	}
	c, err := ews.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	domain := address[strings.LastIndex(address, "@")+1:]
	f := mailboxtest.Fixture{
		NewMailbox:     func(t *testing.T) mailboxtest.Mailbox { return mailboxtest.Sandbox(t, c.Mailbox(address)) },
		MissingMailbox: func(t *testing.T) mailboxtest.Mailbox { return c.Mailbox("exmigrate-no-such-mailbox@" + domain) },
		LargeItemBytes: 10 << 20,
	}
	mailboxtest.RunSource(t, f)
	mailboxtest.RunTarget(t, f)
}
