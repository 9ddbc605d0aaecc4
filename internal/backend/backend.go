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

// Sides holds the configured protocol clients, adapted to dispatch.Side.
type Sides struct {
	EWS   *ews.Client       // nil when onprem is not configured
	Graph *graphmail.Client // nil when cloud is not configured
	cfg   *config.Config
}

// ConfigError marks a problem with the configuration or the secrets it
// names (exit code 2 in the commands).
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

func configErrorf(format string, args ...any) error { return &ConfigError{fmt.Errorf(format, args...)} }

// Connect builds the clients the config describes. It reads the secrets
// from where the config says they are, and does no network I/O.
func Connect(ctx context.Context, cfg *config.Config, log *slog.Logger) (*Sides, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Sides{cfg: cfg}
	if o := cfg.OnPrem; o != nil {
		pw, err := cfg.EWSPassword()
		if err != nil {
			return nil, &ConfigError{err}
		}
		var ca []byte
		if o.CABundle != "" {
			if ca, err = os.ReadFile(cfg.Path(o.CABundle)); err != nil {
				return nil, configErrorf("onprem.ca_bundle: %w", err)
			}
		}
		s.EWS, err = ews.NewClient(ews.Config{
			URL: o.EWSURL, Username: o.EWSUser(), Password: pw.Reveal(), CABundlePEM: ca,
			Impersonation: o.Impersonation, ServerVersion: o.ServerVersion,
			PublicFolderMailbox: o.PublicFolderMailbox, Logger: log.With("side", "onprem"),
			MaxConcurrency: cfg.Concurrency.EWS * cfg.Concurrency.Mailboxes,
		})
		if err != nil {
			return nil, configErrorf("onprem: %w", err)
		}
	}
	if c := cfg.Cloud; c != nil {
		secret, err := cfg.GraphClientSecret()
		if err != nil {
			return nil, &ConfigError{err}
		}
		certPW, err := cfg.CertificatePassword()
		if err != nil {
			return nil, &ConfigError{err}
		}
		var hc *http.Client
		if c.CABundle != "" {
			if hc, err = httpClientWithCA(cfg.Path(c.CABundle)); err != nil {
				return nil, configErrorf("cloud.ca_bundle: %w", err)
			}
		}
		s.Graph, err = graphmail.NewClient(ctx, graphmail.Config{
			TenantID: c.TenantID, ClientID: c.ClientID, Auth: c.Auth,
			CertificatePath: cfg.Path(c.CertificatePath), CertificatePassword: certPW.Reveal(),
			ClientSecret: secret.Reveal(), Cloud: c.Cloud, BaseURL: c.GraphBaseURL,
			AuthorityHost: c.AuthorityHost, HTTPClient: hc, Logger: log.With("side", "cloud"),
			Limits: graphmail.DefaultLimits(),
		})
		if err != nil {
			return nil, configErrorf("cloud: %w", err)
		}
	}
	return s, nil
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
	return &http.Client{Transport: tr, Timeout: 0}, nil
}

// Close releases idle connections.
func (s *Sides) Close() {
	if s.EWS != nil {
		s.EWS.Close()
	}
}

// Dispatcher adapts the clients to the dispatcher's Side interface.
func (s *Sides) Dispatcher(log *slog.Logger) *dispatch.Dispatcher {
	d := &dispatch.Dispatcher{Log: log}
	if s.EWS != nil {
		d.OnPrem = EWSSide{s.EWS}
	}
	if s.Graph != nil {
		d.Cloud = GraphSide{s.Graph}
	}
	return d
}

// Operator names the principal that writes to a side, for the audit log:
// the EWS service account on-prem, the app registration in the cloud.
func (s *Sides) Operator(location string) string {
	switch {
	case location == string(mailbox.LocationOnPrem) && s.cfg.OnPrem != nil:
		return s.cfg.OnPrem.EWSUser()
	case location == string(mailbox.LocationCloud) && s.cfg.Cloud != nil:
		if s.cfg.Cloud.ClientID != "" {
			return "app " + s.cfg.Cloud.ClientID
		}
		return s.cfg.Cloud.Auth + " identity"
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
