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
// Errors say who retries (mailbox.ShouldRetry): throttling the scheduler
// gave up on matches mailbox.ErrThrottled and is not retried above it; a
// 4xx that names no mailbox condition (a 400, say) and an answer that is
// not the JSON expected (an HTML page) are mailbox.Permanent; a POST the
// scheduler does not resend (after a 504 or a dropped connection: it may
// have been carried out) is mailbox.Retryable, for the copy engine, which
// looks the item's stamp up before it writes again.
//
// Messages are created as JSON from their MIME (parsed as a stream with
// go-message) with PR_MESSAGE_FLAGS, the delivery and submit times and the
// exmigrate source stamp in the create body, so they are received messages,
// not drafts. Attachments under 3 MB travel inline while a request stays
// under 4 MB; larger ones are spooled to a temporary file and sent through
// an upload session.
//
// Contacts travel in the typed format (mailbox.Contact) through
// /contactFolders and /contacts, stamped as messages are, with their
// photos; contact groups are not reachable there and are refused with a
// permanent mailbox.ErrUnsupported. Calendar items (mailbox.Event) travel
// through /calendars and /events and are never written with attendees,
// which would make Graph mail them: a meeting becomes an appointment whose
// body names its organizer, attendees and responses, reported as
// mailbox.LossMeetingAsAppointment; a series' exceptions and cancelled
// occurrences are applied to its instances, and its stamp is set last
// (calendar.go). To Do tasks (mailbox.Task) travel through /todo/lists,
// stamped with an open extension. Each typed kind is declared only when the
// app's token has its role (Contacts.ReadWrite, Calendars.ReadWrite,
// Tasks.ReadWrite.All). Typed items are updated in place (mailbox.Updater).
//
// Full fidelity (Config.FullFidelity, off by default; global cloud only)
// goes through Graph's mailbox import/export API: an item is read with
// exportItems as an opaque stream (20 ids a request at most) and written by
// POSTing the stream to the pre-authenticated importUrl of an import
// session, cached per mailbox and renewed before it expires or when the
// URL is refused; the URL gets no token and is quoted only redacted.
// Imported items carry no exmigrate stamp (stamping them is not
// documented): the Mailbox declares UnstampedImports and is a
// mailbox.Fingerprinter, so the engine finds an import again by the MAPI
// search key the copy keeps (fingerprint.go). The online archive goes
// through the beta import/export API with Config.ArchivePreview
// (archive.go); Recoverable Items\Deletions is read through the mail API
// with Config.ReadRecoverableItems (recoverable.go).
// The package graphtest is a fake Graph to test against.
package graphmail
