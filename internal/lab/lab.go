// Package lab runs a hybrid Exchange organisation on loopback: the fake EWS
// server (ews/ewstest) and the fake Microsoft Graph (graphmail/graphtest)
// over HTTPS with a generated CA, seeded from a scenario, plus the config
// file and mailbox lists that point exmigrate at them.
package lab

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/exmigrate/exmigrate/ews/ewstest"
	"github.com/exmigrate/exmigrate/graphmail/graphtest"
)

// Fixed identities of the lab. The password and the certificate are
// generated per lab and written to files only the owner can read.
// seededAt is when the lab's seeded items were made, for the stores'
// creation times.
var seededAt = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

const (
	ServiceDomain = "CONTOSO"
	ServiceUser   = "svc-migrate"
	TenantID      = "7d0b9a4e-3c1f-4f6a-9d2e-5b8c1a0e6f31"
	ClientID      = "2f6c8e1a-9b4d-4c7e-8a1f-0d3e5b7c9a24"
)

// Options configure a lab.
type Options struct {
	Dir      string    // where the CA, config and lists are written
	Scenario *Scenario // nil: the default scenario
	// Latency is added to every request of both fakes.
	Latency time.Duration
	// FaultRate is the share of requests (0..1) answered with a transient
	// fault: ErrorServerBusy or 503 on EWS, 429 or 503 on Graph.
	FaultRate float64
	// GraphLimits overrides Graph's limits (zero: the real ones).
	GraphLimits *graphtest.Limits
	Logger      *slog.Logger
	// Ephemeral labs neither restore nor save the organisation (tests
	// that seed the fakes themselves); the folder's copy state is still
	// removed, as for any new organisation.
	Ephemeral bool
	// FullFidelity writes full_fidelity: true for the on-prem endpoint in
	// the lab's config (UploadItems between Exchange servers).
	FullFidelity bool
	// GraphFullFidelity writes full_fidelity: true for the cloud endpoint
	// (Graph's mailbox import/export API).
	GraphFullFidelity bool
	// GraphTakesEWSStreams is the lab's switch for what the probe learns
	// about a real tenant: whether the Graph fake's import takes EWS
	// ExportItems data. With GraphFullFidelity it also writes
	// accept_ews_streams: true, as an engineer would after the probe.
	GraphTakesEWSStreams bool
	// GraphArchivePreview writes archive: preview for the cloud endpoint
	// (the archive through Graph's beta import/export API; needs
	// GraphFullFidelity) and gives the cloud target of each on-prem
	// mailbox with an archive an archive of its own.
	GraphArchivePreview bool
}

// Lab is a running lab.
type Lab struct {
	Dir          string
	ConfigPath   string // exmigrate config pointing at the lab
	MailboxesCSV string // every mailbox of the scenario, for assess
	CopyCSV      string // the on-prem mailboxes with their cloud targets, for copy
	EWSURL       string
	GraphURL     string
	EWS          *ewstest.Server
	Graph        *graphtest.Server
	Scenario     *Scenario
	// Restored is true when the lab continues the organisation its folder
	// saved last time; FreshReason says why it did not when it is false.
	Restored    bool
	FreshReason string
	// SnapshotBytes is the size of the snapshots Close wrote.
	SnapshotBytes int64

	servers  []*http.Server
	wg       sync.WaitGroup
	logger   *slog.Logger
	state    labState
	persist  bool // Start completed: Close saves the organisation
	closed   bool
	changeMu sync.Mutex // one Apply at a time
	changes  int        // Apply calls, to vary the generated mail
	// writesAtStart are the fakes' write counts when Start returned
	// (seeding and restoring count none, but say so explicitly).
	writesAtStart Writes
	fullFidelity  bool // Options.FullFidelity
	graphFF       bool // Options.GraphFullFidelity
	acceptEWS     bool // Options.GraphTakesEWSStreams
	archivePrev   bool // Options.GraphArchivePreview
}

func (l *Lab) log() *slog.Logger {
	if l.logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l.logger
}

// Start serves the fakes on loopback and writes the lab files. When the
// folder holds the organisation a lab of the same scenario saved on Close,
// the fakes continue it (same ids, same sync states, same ports when they
// are free); otherwise they are seeded afresh from the scenario and the
// folder's copy state of the old organisation (state.db) is removed.
func Start(ctx context.Context, opts Options) (*Lab, error) {
	if opts.Dir == "" {
		return nil, errors.New("lab: no folder given")
	}
	sc := opts.Scenario
	if sc == nil {
		var err error
		if sc, err = DefaultScenario(); err != nil {
			return nil, fmt.Errorf("lab: default scenario: %w", err)
		}
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	hash, err := scenarioHash(sc)
	if err != nil {
		return nil, fmt.Errorf("lab: scenario: %w", err)
	}
	prev, prevErr := readState(dir)
	ca, err := newCA()
	if err != nil {
		return nil, fmt.Errorf("lab: certificate authority: %w", err)
	}
	serverCert, err := ca.serverCert()
	if err != nil {
		return nil, fmt.Errorf("lab: server certificate: %w", err)
	}

	ewsOpts := []ewstest.Option{}
	if opts.Latency > 0 {
		ewsOpts = append(ewsOpts, ewstest.WithLatency(opts.Latency))
	}
	graphOpts := []graphtest.Option{}
	if opts.Latency > 0 {
		graphOpts = append(graphOpts, graphtest.WithLatency(opts.Latency))
	}
	if opts.GraphLimits != nil {
		graphOpts = append(graphOpts, graphtest.WithLimits(*opts.GraphLimits))
	}
	l := &Lab{Dir: dir, Scenario: sc, EWS: ewstest.NewServer(ewsOpts...), Graph: graphtest.NewServer(graphOpts...), logger: opts.Logger,
		fullFidelity: opts.FullFidelity, graphFF: opts.GraphFullFidelity, acceptEWS: opts.GraphTakesEWSStreams,
		archivePrev: opts.GraphArchivePreview}
	l.Graph.AcceptEWSStreams(opts.GraphTakesEWSStreams)
	var appBundle []byte
	var password string
	l.FreshReason = whyFresh(dir, prev, prevErr, hash)
	if opts.Ephemeral {
		l.FreshReason = "the lab is ephemeral"
	}
	if l.FreshReason == "" {
		// The service account and the app certificate live in the
		// snapshots; the files beside them hold the client's halves.
		appBundle, err = os.ReadFile(filepath.Join(dir, "app.pem"))
		if err == nil {
			password, err = readSecret(filepath.Join(dir, "ews-password"))
		}
		if err == nil {
			err = l.restore(sc)
		}
		if err != nil {
			l.FreshReason = "the saved organisation cannot be restored: " + err.Error()
			l.EWS, l.Graph = ewstest.NewServer(ewsOpts...), graphtest.NewServer(graphOpts...)
		}
	}
	if l.FreshReason == "" {
		l.Restored = true
		l.log().Info("lab: continuing the organisation saved in this folder", "folder", dir, "saved", prev.Saved)
	} else {
		if prevErr == nil && !opts.Ephemeral {
			l.log().Info("lab: starting a new organisation", "folder", dir, "why", l.FreshReason)
		}
		var appCert []byte
		if appBundle, appCert, err = appCertificate(); err != nil {
			return nil, fmt.Errorf("lab: app certificate: %w", err)
		}
		password = fmt.Sprintf("Lab-%x!", rand.Uint64())
		l.EWS.AddAccount(ServiceDomain, ServiceUser, password, true)
		l.EWS.GrantDiscovery(ServiceDomain, ServiceUser)
		if err := l.Graph.AddAppCertificate(TenantID, ClientID, appCert,
			"Mail.ReadWrite", "MailboxSettings.ReadWrite", "User.Read.All", "Mail.Send", "Contacts.ReadWrite",
			"Calendars.ReadWrite", "Tasks.ReadWrite.All",
			"MailboxFolder.ReadWrite.All", "MailboxItem.Read.All", "MailboxItem.ImportExport.All"); err != nil {
			return nil, fmt.Errorf("lab: %w", err)
		}
		// The seeded items were made before the lab started, at one fixed
		// time, so that a scenario gives the same organisation every run;
		// what the copies write later carries the wall clock.
		l.EWS.SetClock(func() time.Time { return seededAt })
		err = seed(l, sc)
		l.EWS.SetClock(nil)
		if err != nil {
			return nil, fmt.Errorf("lab: seeding the scenario: %w", err)
		}
		// The saved organisation goes with its copy state: forget it first,
		// so that no later lab restores it without that state.
		if err := os.Remove(filepath.Join(dir, stateFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("lab: %w", err)
		}
		removed, err := forgetCopyState(dir)
		if err != nil {
			return nil, fmt.Errorf("lab: removing the copy state of the old organisation: %w", err)
		}
		if removed {
			l.log().Info("lab: removed the copy state (state.db) of the organisation this folder served before", "folder", dir)
		}
	}
	seedRoomLists(l.EWS, sc)
	var ewsAddr, graphAddr string
	if prev != nil && prevErr == nil && l.Restored {
		ewsAddr, graphAddr = prev.EWSAddr, prev.GraphAddr
	}

	tlsCfg := &tls.Config{Certificates: []tls.Certificate{serverCert}, MinVersion: tls.VersionTLS12,
		// NTLM authenticates a connection; HTTP/2 would multiplex it away.
		NextProtos: []string{"http/1.1"}}
	ewsURL, err := l.serve(ctx, ewsAddr, withFaults(l.EWS, opts.FaultRate, ewsFault(l.EWS)), l.EWS.ConnState, tlsCfg)
	if err != nil {
		return nil, err
	}
	graphURL, err := l.serve(ctx, graphAddr, withFaults(l.Graph, opts.FaultRate, graphFault(l.Graph)), nil, tlsCfg)
	if err != nil {
		l.Close()
		return nil, err
	}
	l.EWSURL = ewsURL + "/EWS/Exchange.asmx"
	l.GraphURL = graphURL + "/v1.0"

	files := map[string][]byte{
		"ca.pem":       ca.certPE,
		"app.pem":      appBundle,
		"ews-password": []byte(password + "\n"),
		"config.yaml":  []byte(l.config(graphURL)),
	}
	files["mailboxes.csv"], files["wave1.csv"] = l.lists()
	for name, data := range files {
		mode := os.FileMode(0o644)
		if name == "app.pem" || name == "ews-password" {
			mode = 0o600
		}
		if err := writeFileAtomic(filepath.Join(dir, name), data, mode); err != nil {
			l.Close()
			return nil, fmt.Errorf("lab: %w", err)
		}
	}
	if err := l.serveAdmin(ctx, tlsCfg); err != nil {
		l.Close()
		return nil, fmt.Errorf("lab: admin endpoint: %w", err)
	}
	l.writesAtStart = Writes{EWS: l.EWS.Writes(), Graph: l.Graph.Writes()}
	l.ConfigPath = filepath.Join(dir, "config.yaml")
	l.MailboxesCSV = filepath.Join(dir, "mailboxes.csv")
	l.CopyCSV = filepath.Join(dir, "wave1.csv")
	// Until Close saves, the folder's snapshots (if any) are older than
	// what this lab serves.
	l.state = labState{Version: stateVersion, Scenario: hash, EWSAddr: hostPort(ewsURL), GraphAddr: hostPort(graphURL)}
	if err := writeState(dir, l.state); err != nil {
		l.Close()
		return nil, fmt.Errorf("lab: %w", err)
	}
	l.persist = !opts.Ephemeral
	return l, nil
}

func hostPort(u string) string { return strings.TrimPrefix(u, "https://") }

// serve listens on addr when it is free (the port of the last run, so that
// URLs kept in the copy state stay valid), else on a new loopback port.
func (l *Lab) serve(ctx context.Context, addr string, h http.Handler, connState func(net.Conn, http.ConnState), tlsCfg *tls.Config) (string, error) {
	var ln net.Listener
	var err error
	if addr != "" {
		if ln, err = net.Listen("tcp", addr); err != nil {
			l.log().Info("lab: the port of the last run is taken; using a new one", "addr", addr, "err", err)
		}
	}
	if ln == nil {
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			return "", fmt.Errorf("lab: listen on loopback: %w", err)
		}
	}
	srv := &http.Server{Handler: h, ConnState: connState, TLSConfig: tlsCfg.Clone(),
		ReadHeaderTimeout: 30 * time.Second, BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		ErrorLog: nil}
	l.servers = append(l.servers, srv)
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		_ = srv.ServeTLS(ln, "", "")
	}()
	return "https://" + ln.Addr().String(), nil
}

// Close stops both servers and saves the organisation into the lab's
// folder, for the next lab of the same scenario to continue.
func (l *Lab) Close() error {
	if l.closed {
		return nil
	}
	l.closed = true
	began := time.Now()
	var errs []error
	for _, s := range l.servers {
		// A client's spare connection that never sends a request holds
		// Shutdown for 5 s; a second is plenty for requests in flight.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		if err := s.Shutdown(ctx); err != nil {
			errs = append(errs, s.Close())
		}
		cancel()
	}
	l.wg.Wait()
	l.log().Debug("lab: servers stopped", "took", time.Since(began))
	// The admin endpoint is gone with the servers: no file points at it.
	for _, name := range []string{adminURLFile, adminTokenFile} {
		if err := os.Remove(filepath.Join(l.Dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if l.persist {
		if err := l.save(); err != nil {
			l.log().Error("lab: saving the organisation failed; the next lab starts a new one", "folder", l.Dir, "err", err)
			errs = append(errs, fmt.Errorf("lab: save: %w", err))
		}
	}
	return errors.Join(errs...)
}

func (l *Lab) config(graphRoot string) string {
	pfMailbox := ""
	if len(l.Scenario.PublicFolders) > 0 {
		pfMailbox = "  public_folder_mailbox: pf-hierarchy@" + l.Scenario.Domain + "\n"
	}
	if l.fullFidelity {
		pfMailbox += "  full_fidelity: true\n"
	}
	cloudFF := ""
	if l.graphFF {
		cloudFF = "  full_fidelity: true\n"
		if l.acceptEWS {
			cloudFF += "  accept_ews_streams: true\n"
		}
		if l.archivePrev {
			cloudFF += "  archive: preview\n"
		}
	}
	return fmt.Sprintf(`# exmigrate configuration for the lab in this folder (written by exmigrate lab).
# Point it at your own servers by changing the URLs, accounts and credentials.
onprem:
  ews_url: %s
  domain: %s
  username: %s
  password_file: ews-password
  ca_bundle: ca.pem
  impersonation: true
%scloud:
  tenant_id: %s
  client_id: %s
  auth: certificate
  certificate_path: app.pem
  graph_base_url: %s
  authority_host: %s/
  ca_bundle: ca.pem
%sstate:
  path: state.db
audit_log: audit.jsonl
concurrency:
  mailboxes: 4
  ews: 4
`, l.EWSURL, ServiceDomain, ServiceUser, pfMailbox, TenantID, ClientID, l.GraphURL, graphRoot, cloudFF)
}

// lists writes the assessment list (every mailbox, locations detected) and
// the copy list (on-prem mailboxes to their cloud targets).
func (l *Lab) lists() (all, wave []byte) {
	var a, w strings.Builder
	a.WriteString("EmailAddress,TargetAddress,Location,Batch\n")
	w.WriteString("EmailAddress,TargetAddress,Location,Batch\n")
	for _, m := range l.Scenario.expand() {
		batch := "Wave 1"
		if m.Location == "cloud" {
			batch = "Already in the cloud"
		}
		fmt.Fprintf(&a, "%s,,auto,%s\n", m.Address, batch)
		if m.Location == "onprem" && m.Target != "none" {
			fmt.Fprintf(&w, "%s,%s,onprem,%s\n", m.Address, m.Target, batch)
		}
	}
	return []byte(a.String()), []byte(w.String())
}

func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// withFaults answers a share of requests with a transient fault, by
// queueing a one-shot fault in the fake just before it sees the request.
func withFaults(h http.Handler, rate float64, inject func(r *http.Request)) http.Handler {
	if rate <= 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rand.Float64() < rate {
			inject(r)
		}
		h.ServeHTTP(w, r)
	})
}

func ewsFault(s *ewstest.Server) func(*http.Request) {
	return func(*http.Request) {
		if rand.IntN(2) == 0 {
			s.Inject(ewstest.Fault{Kind: ewstest.FaultServerBusy, BackOff: 200 * time.Millisecond})
		} else {
			s.Inject(ewstest.Fault{Kind: ewstest.FaultHTTP503})
		}
	}
}

func graphFault(s *graphtest.Server) func(*http.Request) {
	return func(r *http.Request) {
		if strings.Contains(r.URL.Path, "/oauth2/") {
			return
		}
		if rand.IntN(2) == 0 {
			s.Inject(graphtest.Fault{Kind: graphtest.FaultThrottle, Count: 1, RetryAfter: "1"})
		} else {
			s.Inject(graphtest.Fault{Kind: graphtest.FaultUnavailable, Count: 1})
		}
	}
}
