package graphmail_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/graphmail"
	"github.com/exmigrate/exmigrate/graphmail/graphtest"
	"github.com/exmigrate/exmigrate/mailbox"
	"github.com/exmigrate/exmigrate/mailbox/mailboxtest"
)

// TestConformance runs the mailbox contract's suite against graphmail, the
// real msgraph-sdk-go and azidentity, and the fake Graph over HTTPS. Each
// mailbox gets a fake of its own so that injected faults touch nothing else.
func TestConformance(t *testing.T) {
	labs := map[mailboxtest.Mailbox]*lab{}
	open := func(t *testing.T) (*lab, *graphmail.Mailbox) {
		l := newLab(t)
		l.srv.AddMailbox(alice, mailbox.TypeUser)
		// Short back-off, so the contracts that exhaust the retries run fast.
		l.c = l.client(t, func(c *graphmail.Config) { c.Limits.MaxBackoff = 20 * time.Millisecond })
		mb := l.c.Mailbox(alice)
		labs[mb] = l
		return l, mb
	}
	f := mailboxtest.Fixture{
		NewMailbox: func(t *testing.T) mailboxtest.Mailbox { _, mb := open(t); return mb },
		MissingMailbox: func(t *testing.T) mailboxtest.Mailbox {
			l, _ := open(t)
			return l.c.Mailbox("nobody@contoso.example")
		},
		DeniedMailbox: func(t *testing.T) mailboxtest.Mailbox {
			// An app registration without Mail.ReadWrite.
			l, _ := open(t)
			const other = "99999999-bbbb-cccc-dddd-eeeeeeeeeeee"
			l.srv.AddApp(tenantID, other, secret, "MailboxSettings.ReadWrite")
			return l.client(t, func(c *graphmail.Config) { c.ClientID = other }).Mailbox(alice)
		},
		ExpireSyncStates: func(t *testing.T, mb mailboxtest.Mailbox) { labs[mb].srv.ExpireDeltaTokens() },
		LoseNextCreateAnswer: func(t *testing.T, mb mailboxtest.Mailbox) {
			labs[mb].srv.Inject(graphtest.Fault{Kind: graphtest.FaultDropAfter, Count: 1, Method: "POST", Path: "/messages"})
		},
		InterruptNextCreate: func(t *testing.T, mb mailboxtest.Mailbox) func() {
			// The upload session is never opened and the clean-up DELETE
			// never lands: what a crash between the requests leaves.
			srv := labs[mb].srv
			srv.Inject(graphtest.Fault{Kind: graphtest.FaultDrop, Count: 1, Method: "POST", Path: "/createUploadSession"})
			srv.Inject(graphtest.Fault{Kind: graphtest.FaultDrop, Count: 1000, Method: "DELETE", Path: "/messages/"})
			return srv.ClearFaults
		},
		ThrottleNext: func(t *testing.T, mb mailboxtest.Mailbox) {
			labs[mb].srv.Inject(graphtest.Fault{Kind: graphtest.FaultThrottle, Count: 1000, RetryAfter: "0.01", Path: "/delta"})
		},
		Unreachable: func(t *testing.T, mb mailboxtest.Mailbox) {
			labs[mb].srv.Inject(graphtest.Fault{Kind: graphtest.FaultDrop, Count: 1000})
		},
		MissingItemID: func(t *testing.T, mb mailboxtest.Mailbox) string { return "AAMkAGI2TG93AAA-missing=" },
		SyncPageSize:  graphmail.SyncPageSize,
		// The fake keeps bodies in this process, so the heap is not measured
		// here (the attachment tests measure the upload's heap).
		LargeItemBytes: 20 << 20,
	}
	mailboxtest.RunSource(t, f)
	mailboxtest.RunTarget(t, f)
}

// TestConformanceLive runs the suite against a real tenant when the
// environment names one, inside a fresh folder of a test mailbox (see
// mailboxtest.Sandbox). The app registration needs Mail.ReadWrite.
//
//	EXMIGRATE_TEST_GRAPH_TENANT_ID
//	EXMIGRATE_TEST_GRAPH_CLIENT_ID
//	EXMIGRATE_TEST_GRAPH_CLIENT_SECRET  or EXMIGRATE_TEST_GRAPH_CERTIFICATE (a PEM or PKCS#12 path)
//	EXMIGRATE_TEST_GRAPH_MAILBOX        a test mailbox
//	EXMIGRATE_TEST_GRAPH_CLOUD          optional: usgov, usgovdod, china
func TestConformanceLive(t *testing.T) {
	tenant := os.Getenv("EXMIGRATE_TEST_GRAPH_TENANT_ID")
	if tenant == "" {
		t.Skip("set EXMIGRATE_TEST_GRAPH_TENANT_ID, _CLIENT_ID, _CLIENT_SECRET (or _CERTIFICATE) and _MAILBOX to run the suite against a real tenant")
	}
	cfg := graphmail.Config{TenantID: tenant, ClientID: os.Getenv("EXMIGRATE_TEST_GRAPH_CLIENT_ID"), Cloud: os.Getenv("EXMIGRATE_TEST_GRAPH_CLOUD"),
		Auth: graphmail.AuthCertificate, CertificatePath: os.Getenv("EXMIGRATE_TEST_GRAPH_CERTIFICATE")}
	if s := os.Getenv("EXMIGRATE_TEST_GRAPH_CLIENT_SECRET"); s != "" {
		cfg.Auth, cfg.ClientSecret = graphmail.AuthClientSecret, s
	}
	address := os.Getenv("EXMIGRATE_TEST_GRAPH_MAILBOX")
	if address == "" || cfg.ClientID == "" || (cfg.ClientSecret == "" && cfg.CertificatePath == "") {
		t.Fatal("EXMIGRATE_TEST_GRAPH_CLIENT_ID, a secret or certificate, and EXMIGRATE_TEST_GRAPH_MAILBOX are needed with EXMIGRATE_TEST_GRAPH_TENANT_ID")
	}
	c, err := graphmail.NewClient(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	domain := address[strings.LastIndex(address, "@")+1:]
	f := mailboxtest.Fixture{
		NewMailbox:     func(t *testing.T) mailboxtest.Mailbox { return mailboxtest.Sandbox(t, c.Mailbox(address)) },
		MissingMailbox: func(t *testing.T) mailboxtest.Mailbox { return c.Mailbox("exmigrate-no-such-mailbox@" + domain) },
		LargeItemBytes: 10 << 20,
	}
	mailboxtest.RunSource(t, f)
	mailboxtest.RunTarget(t, f)
}
