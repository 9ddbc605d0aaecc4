// Package ews is a hand-written EWS SOAP client for on-premises Exchange
// (2016, 2019, SE) with a pinned URL, NTLM authentication, the paging and
// throttling rules Exchange applies, and an adapter that makes a mailbox a
// mailbox.Source and mailbox.Target.
//
// Transport: the URL is configured, never discovered (no Autodiscover), and
// redirects are refused. Each request borrows a session (an http.Transport
// limited to one HTTP/1.1 connection, wrapped in a go-ntlmssp Negotiator)
// from a pool of MaxConcurrency sessions, so an NTLM-authenticated
// connection is used by one request at a time. Basic auth is never sent.
//
// Requests are built with etree and are valid against the EWS schemas (the
// tests check each with xmllint). Responses are decoded by namespace with
// encoding/xml after characters illegal in XML 1.0 are dropped; MIME is
// decoded from base64 as it arrives and never held whole.
//
// Errors: ResponseClass Error/Warning and SOAP faults become *ResponseError,
// which matches the mailbox sentinels with errors.Is; refused credentials
// are *AuthError (mailbox.ErrAuthentication), other HTTP outcomes *HTTPError.
// ErrorServerBusy waits BackOffMilliseconds, HTTP 503 and dropped
// connections back off with jitter; ErrorServerBusy,
// ErrorExceededConnectionCount and HTTP 503 also halve the requests the
// client keeps in flight, which climbs back by one after runs of successes;
// writes whose outcome is unknown are not resent. Every wait honours ctx.
//
// A MIME stream from OpenMIME holds its session until closed: close it
// before starting another request on a client whose MaxConcurrency is 1.
//
// Typed items: contacts and contact groups (contact.go, group.go),
// calendar items (calendar.go) and tasks (task.go) are read with GetItem
// of their properties and written with CreateItem from them; UpdateItem
// rewrites them in place (update.go). Calendar writes always carry
// SendMeetingInvitations, SendMeetingInvitationsOrCancellations or
// SendMeetingCancellations at SendToNone: nothing is ever sent. What EWS
// cannot set (another organizer, attendees' responses, a task's owner and
// complete date) is reported with mailbox.ReportLoss.
//
// Full fidelity (fullfidelity.go): ExportItems reads any item as Exchange's
// opaque stream, decoded from base64 as it arrives, and UploadItems writes
// it back (CreateNew, or Update in place) before an UpdateItem stamps it;
// every property travels and nothing is sent. The planner prefers it
// between two EWS mailboxes; the same stream (and the same session rule
// as OpenMIME) applies to OpenItem in that format. Another service's
// streams (Graph's exportItems data) are sent only within the fidelity
// probe (mailbox.WithProbe) or after AcceptDialect.
//
// Batches (issue 16): ReadBatch reads up to MaxReadBatch items with one
// GetItem (MIME), one ExportItems (full fidelity) or two GetItem (typed:
// the elements, then each type's properties), streaming each item to the
// caller in order with its own error; CreateBatch writes up to
// MaxCreateBatch MIME items with one CreateItem, each stamped, with
// per-item results. A batch Exchange stops midway
// (ErrorBatchProcessingStopped) is read on from where it stopped.
package ews

import (
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/exmigrate/exmigrate/internal/netcheck"
)

// Config describes how to reach one Exchange server with one service account.
type Config struct {
	URL           string // pinned https URL of /EWS/Exchange.asmx; http only for loopback
	Username      string // DOMAIN\user or UPN
	Password      string
	CABundlePEM   []byte // extra roots; the system roots are used when empty
	Impersonation bool   // send ExchangeImpersonation for every mailbox-scoped request
	ServerVersion string // RequestServerVersion, default Exchange2016
	// FullFidelity declares the full-fidelity write path (UploadItems).
	// The kill window between an upload and the UpdateItem that stamps it
	// is closed by staging (staging.go): an item is uploaded and stamped
	// in a folder under "root" and only then moved into its target folder,
	// and a Mailbox's first write deletes what a killed write left there.
	// That rests on one job writing into a target mailbox at a time (the
	// engine's lease is per job, not per target mailbox), and it is
	// unverified on a real server that CreateFolder under "root" is
	// allowed and that MoveItem keeps an uploaded item's stamp. It stays
	// off by default until then. Reads (ExportItems) are always declared.
	FullFidelity bool
	// PublicFolderMailbox is the hierarchy mailbox sent as X-AnchorMailbox and
	// X-PublicFolderMailbox on public folder requests (Autodiscover is never used).
	// Content requests name the folder's content mailbox as its GUID at
	// this address's domain (publicfolders.go).
	PublicFolderMailbox string
	Logger              *slog.Logger
	// HTTPTimeout bounds the wait for response headers once a request is
	// sent (DefaultHTTPTimeout when 0), so that a server that accepts and
	// never answers fails the request instead of holding it for ever;
	// bodies (MIME streams) are bounded by the caller's context instead.
	HTTPTimeout time.Duration
	// MaxConcurrency is the most requests in flight for the account
	// (Exchange's EWSMaxConcurrency budget, 27 by default). The client
	// halves its limit when the server answers ErrorServerBusy,
	// ErrorExceededConnectionCount or HTTP 503, and raises it again by
	// one after each run of successes, up to this (Client.Concurrency).
	MaxConcurrency int
	// Retry tuning; zero values take the defaults (5 retries, 1 s base,
	// server back-offs up to 5 minutes are honoured).
	MaxRetries int
	RetryBase  time.Duration
	MaxBackOff time.Duration
}

// String redacts the password so a Config printed by mistake leaks nothing.
func (c Config) String() string {
	return fmt.Sprintf("ews.Config{URL:%q Username:%q Password:%s Impersonation:%t}", c.URL, c.Username, redact(c.Password), c.Impersonation)
}

// LogValue redacts the password in structured logs.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("url", c.URL),
		slog.String("username", c.Username),
		slog.String("password", redact(c.Password)),
		slog.Bool("impersonation", c.Impersonation),
	)
}

// GoString keeps %#v from printing the password too.
func (c Config) GoString() string { return c.String() }

func redact(s string) string {
	if s == "" {
		return "(empty)"
	}
	return "(redacted)"
}

// serverVersions are the RequestServerVersion values (ExchangeVersionType)
// exmigrate's EWS client accepts, in schema order (which is also sorted):
// the client calls Exchange 2013 operations (GetHoldOnMailboxes,
// GetSearchableMailboxes), and Exchange 2016, 2019 and SE all speak
// Exchange2016. "Exchange2019" is deliberately absent: it is not a schema
// value.
var serverVersions = []string{"Exchange2013", "Exchange2013_SP1", "Exchange2015", "Exchange2016"}

// ServerVersions returns the values Config.ServerVersion accepts, sorted;
// the caller may modify the slice.
func ServerVersions() []string { return slices.Clone(serverVersions) }

// ValidServerVersion reports whether v is one of ServerVersions.
func ValidServerVersion(v string) bool { return slices.Contains(serverVersions, v) }

func (c *Config) normalize() error {
	if c.URL == "" {
		return errors.New("ews: onprem.url is empty: set it to https://<server>/EWS/Exchange.asmx")
	}
	u, err := url.Parse(c.URL)
	if err != nil {
		return fmt.Errorf("ews: onprem.url %q is not a URL: %w", c.URL, err)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !netcheck.IsLoopback(u.Hostname()) {
			return fmt.Errorf("ews: onprem.url %q uses http: use https (http is accepted only for loopback test servers)", c.URL)
		}
	default:
		return fmt.Errorf("ews: onprem.url %q must start with https://", c.URL)
	}
	if u.Host == "" {
		return fmt.Errorf("ews: onprem.url %q has no host", c.URL)
	}
	if u.User != nil {
		return fmt.Errorf("ews: onprem.url must not carry credentials; use onprem.username and a password source")
	}
	if c.Username == "" {
		return errors.New("ews: onprem.username is empty: use DOMAIN\\user or user@domain")
	}
	if c.Password == "" {
		return fmt.Errorf("ews: no password for %s: check the password source", c.Username)
	}
	if len(c.CABundlePEM) > 0 {
		if !x509.NewCertPool().AppendCertsFromPEM(c.CABundlePEM) {
			return errors.New("ews: the CA bundle holds no PEM certificate")
		}
	}
	if pf := c.PublicFolderMailbox; pf != "" {
		// Its domain names the content mailboxes (publicfolders.go), and
		// public folder ids carry addresses up to a ':'.
		local, domain, ok := strings.Cut(pf, "@")
		if !ok || local == "" || domain == "" || strings.ContainsAny(pf, ": \t<>") {
			return fmt.Errorf("ews: onprem.public_folder_mailbox %q is not an SMTP address: use the public folder hierarchy mailbox's primary address (Get-Mailbox -PublicFolder)", pf)
		}
	}
	if c.ServerVersion == "" {
		c.ServerVersion = "Exchange2016"
	}
	if !ValidServerVersion(c.ServerVersion) {
		return fmt.Errorf("ews: server version %q is not an EWS RequestServerVersion value: use Exchange2016 for Exchange 2016, 2019 and SE", c.ServerVersion)
	}
	if c.HTTPTimeout <= 0 {
		c.HTTPTimeout = DefaultHTTPTimeout
	}
	if c.MaxConcurrency <= 0 {
		c.MaxConcurrency = 27
	}
	if c.MaxRetries <= 0 {
		c.MaxRetries = 5
	}
	if c.RetryBase <= 0 {
		c.RetryBase = time.Second
	}
	if c.MaxBackOff <= 0 {
		c.MaxBackOff = 5 * time.Minute
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// DefaultHTTPTimeout is how long the client waits for an answer's headers
// after sending a request: long enough for Exchange to take in a 35 MB
// CreateItem, short enough that a hung server fails the mailbox (after the
// client's retries) within minutes.
const DefaultHTTPTimeout = 3 * time.Minute
