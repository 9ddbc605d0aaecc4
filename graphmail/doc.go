// Package graphmail reaches Exchange Online mailboxes through Microsoft Graph
// v1.0 (msgraph-sdk-go and azidentity) and adapts them to the mailbox
// package's Source and Target interfaces, within Graph's per-mailbox limits.
//
// A Client is one app registration in one cloud:
//
//	c, err := graphmail.NewClient(ctx, graphmail.Config{
//		TenantID: tenant, ClientID: app, Auth: graphmail.AuthCertificate,
//		CertificatePath: "app.pem", Cloud: graphmail.CloudGlobal,
//	})
//	if err := c.Check(ctx); err != nil { ... }    // credentials and roles
//	res, err := c.Probe(ctx, "alice@contoso.com")   // InCloud / NotInCloud / NoSuchUser
//	mb := c.Mailbox("alice@contoso.com")            // mailbox.Source and mailbox.Target
//
// Every request for a mailbox goes through that mailbox's scheduler: at most
// Limits.MaxInFlight requests in flight, a request budget and an upload
// budget per window, and retries of 429, 503 and 504 after Retry-After or a
// bounded jittered back-off, with a 429 pausing the whole mailbox. The
// SDK's own retry handler is off so that retries never stack.
//
// Messages are created as JSON from their MIME (parsed as a stream with
// go-message) with PR_MESSAGE_FLAGS, the delivery and submit times and the
// exmigrate source stamp in the create body, so they are received messages,
// not drafts. Attachments under 3 MB travel inline while a request stays
// under 4 MB; larger ones are spooled to a temporary file and sent through
// an upload session. The package graphtest is a fake Graph to test against.
package graphmail
