// Package backend builds the protocol clients a config describes and adapts
// them to the dispatcher's Side interface. The commands and the end-to-end
// tests share it, so both run the same wiring.
package backend

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"

	"github.com/exmigrate/exmigrate/dispatch"
	"github.com/exmigrate/exmigrate/ews"
	"github.com/exmigrate/exmigrate/graphmail"
	"github.com/exmigrate/exmigrate/internal/config"
	"github.com/exmigrate/exmigrate/mailbox"
)

// Sides holds the configured protocol clients, one per endpoint, adapted
// to dispatch.Side.
type Sides struct {
	EWS   *ews.Client       // the endpoint named onprem; nil when it is not configured
	Graph *graphmail.Client // the endpoint named cloud; nil when it is not configured
	// Endpoints are every configured endpoint with its client, in the
	// config's order (onprem and cloud included).
	Endpoints []*Endpoint
	cfg       *config.Config
}

// Endpoint is one configured endpoint and its client.
type Endpoint struct {
	Config *config.Endpoint
	EWS    *ews.Client       // for an ews endpoint
	Graph  *graphmail.Client // for a graph endpoint
}

// Name is the endpoint's name in the config.
func (e *Endpoint) Name() string { return e.Config.Name }

// Side adapts the endpoint's client to the dispatcher.
func (e *Endpoint) Side() dispatch.Side {
	if e.EWS != nil {
		return EWSSide{e.EWS}
	}
	return GraphSide{e.Graph}
}

// Describe says where the endpoint is and as whom exmigrate signs in, for
// check's output.
func (e *Endpoint) Describe() string {
	if o := e.Config.EWS; o != nil {
		return fmt.Sprintf("EWS at %s as %s", o.EWSURL, o.EWSUser())
	}
	c := e.Config.Graph
	return fmt.Sprintf("Microsoft Graph (%s cloud), tenant %s, auth %s", c.Cloud, c.TenantID, c.Auth)
}

// Check reaches the endpoint and authenticates.
func (e *Endpoint) Check(ctx context.Context) error {
	if e.EWS != nil {
		return e.EWS.Check(ctx)
	}
	return e.Graph.Check(ctx)
}

// Operator names the principal that writes to the endpoint, for the audit
// log: the EWS service account, or the app registration.
func (e *Endpoint) Operator() string {
	if o := e.Config.EWS; o != nil {
		return o.EWSUser()
	}
	if c := e.Config.Graph; c.ClientID != "" {
		return "app " + c.ClientID
	}
	return e.Config.Graph.Auth + " identity"
}

// ConfigError marks a problem with the configuration or the secrets it
// names (exit code 2 in the commands).
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

func configErrorf(format string, args ...any) error { return &ConfigError{fmt.Errorf(format, args...)} }

// Connect builds a client for each endpoint the config describes, each
// with its own credentials. It reads the secrets from where the config
// says they are, and does no network I/O.
func Connect(ctx context.Context, cfg *config.Config, log *slog.Logger, opts ...Option) (*Sides, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var o options
	for _, f := range opts {
		f(&o)
	}
	s := &Sides{cfg: cfg}
	for _, ep := range cfg.Endpoints() {
		e, err := connect(ctx, cfg, ep, log.With("side", ep.Name), o)
		if err != nil {
			s.Close()
			return nil, err
		}
		s.Endpoints = append(s.Endpoints, e)
		switch ep.Name {
		case config.OnPremName:
			s.EWS = e.EWS
		case config.CloudName:
			s.Graph = e.Graph
		}
	}
	return s, nil
}

// Option changes what Connect's clients do.
type Option func(*options)

type options struct {
	readRecoverable bool
}

// ReadRecoverableItems makes the Graph clients read Recoverable Items
// (Deletions, through the mail API): for a copy asked to carry them. An
// assessment leaves it off and reports them unseen.
func ReadRecoverableItems() Option { return func(o *options) { o.readRecoverable = true } }

func connect(ctx context.Context, cfg *config.Config, ep *config.Endpoint, log *slog.Logger, opt options) (*Endpoint, error) {
	e := &Endpoint{Config: ep}
	if o := ep.EWS; o != nil {
		pw, err := cfg.Password(ep)
		if err != nil {
			return nil, &ConfigError{err}
		}
		var ca []byte
		if o.CABundle != "" {
			if ca, err = os.ReadFile(cfg.Path(o.CABundle)); err != nil {
				return nil, configErrorf("%s.ca_bundle: %w", ep.Key, err)
			}
		}
		e.EWS, err = ews.NewClient(ews.Config{
			URL: o.EWSURL, Username: o.EWSUser(), Password: pw.Reveal(), CABundlePEM: ca,
			Impersonation: o.Impersonation, ServerVersion: o.ServerVersion,
			PublicFolderMailbox: o.PublicFolderMailbox, Logger: log, FullFidelity: o.FullFidelity,
			MaxConcurrency: cfg.Concurrency.EWS * cfg.Concurrency.Mailboxes,
		})
		if err != nil {
			return nil, configErrorf("%s: %w", ep.Key, err)
		}
		return e, nil
	}
	c := ep.Graph
	secret, err := cfg.ClientSecret(ep)
	if err != nil {
		return nil, &ConfigError{err}
	}
	certPW, err := cfg.CertificatePasswordOf(ep)
	if err != nil {
		return nil, &ConfigError{err}
	}
	var hc *http.Client
	if c.CABundle != "" {
		if hc, err = httpClientWithCA(cfg.Path(c.CABundle)); err != nil {
			return nil, configErrorf("%s.ca_bundle: %w", ep.Key, err)
		}
	}
	e.Graph, err = graphmail.NewClient(ctx, graphmail.Config{
		TenantID: c.TenantID, ClientID: c.ClientID, Auth: c.Auth,
		CertificatePath: cfg.Path(c.CertificatePath), CertificatePassword: certPW.Reveal(),
		ClientSecret: secret.Reveal(), Cloud: c.Cloud, BaseURL: c.GraphBaseURL,
		AuthorityHost: c.AuthorityHost, HTTPClient: hc, Logger: log,
		Limits: graphmail.DefaultLimits(), FullFidelity: c.FullFidelity, AcceptEWSStreams: c.AcceptEWSStreams,
		ArchivePreview: c.ArchivePreview(), ReadRecoverableItems: opt.readRecoverable,
	})
	if err != nil {
		return nil, configErrorf("%s: %w", ep.Key, err)
	}
	return e, nil
}

// Endpoint returns the endpoint with that name, or nil.
func (s *Sides) Endpoint(name string) *Endpoint {
	for _, e := range s.Endpoints {
		if e.Name() == name {
			return e
		}
	}
	return nil
}

// httpClientWithCA trusts the system roots plus a PEM bundle.
func httpClientWithCA(path string) (*http.Client, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no PEM certificate", path)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	graphmail.ConfigureTransport(tr)
	return &http.Client{Transport: tr, Timeout: 0}, nil
}

// Close releases idle connections.
func (s *Sides) Close() {
	closed := map[*ews.Client]bool{}
	for _, c := range append([]*ews.Client{s.EWS}, ewsClients(s.Endpoints)...) {
		if c != nil && !closed[c] {
			closed[c] = true
			c.Close()
		}
	}
}

func ewsClients(eps []*Endpoint) []*ews.Client {
	var out []*ews.Client
	for _, e := range eps {
		out = append(out, e.EWS)
	}
	return out
}

// Dispatcher adapts the clients to the dispatcher's Side interface: the
// endpoints named onprem and cloud as its two sides, the others by name.
func (s *Sides) Dispatcher(log *slog.Logger) *dispatch.Dispatcher {
	d := &dispatch.Dispatcher{Log: log}
	if s.EWS != nil {
		d.OnPrem = EWSSide{s.EWS}
	}
	if s.Graph != nil {
		d.Cloud = GraphSide{s.Graph}
	}
	for _, e := range s.Endpoints {
		if e.Name() == config.OnPremName || e.Name() == config.CloudName {
			continue
		}
		if d.Endpoints == nil {
			d.Endpoints = map[string]dispatch.Side{}
		}
		d.Endpoints[e.Name()] = e.Side()
	}
	return d
}

// Operator names the principal that writes to an endpoint (a job's
// TargetLocation), for the audit log: the EWS service account, or the app
// registration.
func (s *Sides) Operator(location string) string {
	if e := s.Endpoint(location); e != nil {
		return e.Operator()
	}
	return "unknown"
}

// EWSSide is the on-prem side.
type EWSSide struct{ c *ews.Client }

func (s EWSSide) Location() mailbox.Location { return mailbox.LocationOnPrem }

func (s EWSSide) Open(address string) dispatch.Mailbox { return s.c.Mailbox(address) }

// Detect asks ResolveNames. Only a resolution of type Mailbox with the same
// address counts: in a hybrid organisation a cloud mailbox also resolves
// on-prem, as a mail user (a remote mailbox) or a contact.
func (s EWSSide) Detect(ctx context.Context, address string) (dispatch.Presence, error) {
	res, err := s.c.ResolveNames(ctx, address)
	if errors.Is(err, mailbox.ErrNotFound) || errors.Is(err, mailbox.ErrMailboxNotFound) {
		return dispatch.Presence{Detail: "ResolveNames found no such recipient"}, nil
	}
	if err != nil {
		return dispatch.Presence{}, err
	}
	var seen []string
	for _, r := range res {
		if !strings.EqualFold(r.SMTPAddress, address) {
			continue
		}
		if r.MailboxType == "Mailbox" {
			return dispatch.Presence{Found: true, Detail: "on-prem mailbox (" + r.DisplayName + ")"}, nil
		}
		seen = append(seen, r.MailboxType)
	}
	if len(seen) > 0 {
		return dispatch.Presence{Detail: "recipient of type " + strings.Join(seen, ", ") + ", not a mailbox"}, nil
	}
	return dispatch.Presence{Detail: "ResolveNames found no such recipient"}, nil
}

// GraphSide is the cloud side.
type GraphSide struct{ c *graphmail.Client }

func (s GraphSide) Location() mailbox.Location { return mailbox.LocationCloud }

func (s GraphSide) Open(address string) dispatch.Mailbox { return s.c.Mailbox(address) }

func (s GraphSide) Detect(ctx context.Context, address string) (dispatch.Presence, error) {
	p, err := s.c.Probe(ctx, address)
	if err != nil {
		return dispatch.Presence{}, err
	}
	switch p.Outcome {
	case graphmail.InCloud:
		kind := string(p.Type)
		if kind == "" {
			kind = "user"
		}
		return dispatch.Presence{Found: true, Type: p.Type, Detail: "Exchange Online " + kind + " mailbox"}, nil
	case graphmail.NotInCloud:
		return dispatch.Presence{Detail: "user exists, mailbox not in Exchange Online"}, nil
	}
	return dispatch.Presence{Detail: "no such user in Entra ID"}, nil
}
