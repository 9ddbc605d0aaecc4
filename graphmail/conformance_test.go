package graphmail_test

import (
	"testing"

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
		ThrottleNext: func(t *testing.T, mb mailboxtest.Mailbox) {
			labs[mb].srv.Inject(graphtest.Fault{Kind: graphtest.FaultThrottle, Count: 1000, RetryAfter: "0.01", Path: "/delta"})
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
