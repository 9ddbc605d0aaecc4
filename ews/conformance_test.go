package ews_test

import (
	"encoding/base64"
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
