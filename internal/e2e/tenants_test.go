package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/dispatch"
	"github.com/exmigrate/exmigrate/engine"
	"github.com/exmigrate/exmigrate/graphmail/graphtest"
	"github.com/exmigrate/exmigrate/internal/audit"
	"github.com/exmigrate/exmigrate/internal/backend"
	"github.com/exmigrate/exmigrate/internal/config"
	"github.com/exmigrate/exmigrate/internal/csvinput"
	"github.com/exmigrate/exmigrate/internal/lab"
	"github.com/exmigrate/exmigrate/internal/state"
	"github.com/exmigrate/exmigrate/mailbox"
)

// fakeTenant is one Exchange Online tenant: a graphtest fake of its own
// (Graph and the Entra token endpoint) with one app registration, served
// over HTTPS on loopback. It records who asked its token endpoint for a
// token and which tokens came to its Graph.
type fakeTenant struct {
	name, tenantID, clientID string
	secret                   string // client-secret auth; empty for a certificate
	srv                      *graphtest.Server
	url                      string // https://127.0.0.1:port

	mu     sync.Mutex
	tokens []tokenRequest
	bearer map[string]int // "tid appid" of the bearer tokens Graph saw
}

type tokenRequest struct {
	tenant, clientID, secret string
	assertion                bool
}

func (ft *fakeTenant) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasSuffix(r.URL.Path, "/oauth2/v2.0/token") {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		f, _ := url.ParseQuery(string(body))
		tenant, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		ft.mu.Lock()
		ft.tokens = append(ft.tokens, tokenRequest{tenant: tenant, clientID: f.Get("client_id"),
			secret: f.Get("client_secret"), assertion: f.Get("client_assertion") != ""})
		ft.mu.Unlock()
	}
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		var claims struct {
			Tid   string `json:"tid"`
			AppID string `json:"appid"`
		}
		if parts := strings.Split(tok, "."); len(parts) == 3 {
			if p, err := base64.RawURLEncoding.DecodeString(parts[1]); err == nil {
				_ = json.Unmarshal(p, &claims)
			}
		}
		ft.mu.Lock()
		ft.bearer[claims.Tid+" "+claims.AppID]++
		ft.mu.Unlock()
	}
	ft.srv.ServeHTTP(w, r)
}

// startTenant serves a tenant and writes what its endpoint in the config
// needs into dir: the server's certificate (ca_bundle) and, for a
// certificate app, the app's key and certificate. It returns the endpoint's
// YAML.
func startTenant(t *testing.T, dir string, ft *fakeTenant) string {
	t.Helper()
	ft.srv = graphtest.NewServer()
	ft.bearer = map[string]int{}
	hs := httptest.NewTLSServer(ft)
	t.Cleanup(hs.Close)
	ft.url = hs.URL
	ca := filepath.Join(dir, ft.name+"-ca.pem")
	writeFile(t, ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: hs.Certificate().Raw}))
	roles := []string{"Mail.ReadWrite", "MailboxSettings.ReadWrite", "User.Read.All"}
	auth := ""
	if ft.secret != "" {
		ft.srv.AddApp(ft.tenantID, ft.clientID, ft.secret, roles...)
		env := "EXM_E2E_" + strings.ToUpper(ft.name) + "_SECRET"
		t.Setenv(env, ft.secret)
		auth = "    auth: client-secret\n    client_secret_env: " + env + "\n"
	} else {
		bundle, cert := appCertificate(t)
		if err := ft.srv.AddAppCertificate(ft.tenantID, ft.clientID, cert, roles...); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, ft.name+"-app.pem"), bundle)
		auth = "    auth: certificate\n    certificate_path: " + ft.name + "-app.pem\n"
	}
	return fmt.Sprintf("  %s:\n    type: graph\n    tenant_id: %s\n    client_id: %s\n%s    graph_base_url: %s/v1.0\n    authority_host: %s/\n    ca_bundle: %s\n",
		ft.name, ft.tenantID, ft.clientID, auth, ft.url, ft.url, filepath.Base(ca))
}

func appCertificate(t *testing.T) (bundle, certPEM []byte) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "exmigrate e2e app"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return append(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), certPEM...), certPEM
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// view reads a folder of the tenant's fake, as graphView reads the lab's.
func (ft *fakeTenant) view(t *testing.T, address, path string) *folderView {
	t.Helper()
	return (&env{lab: &lab.Lab{Graph: ft.srv}}).graphView(t, address, path)
}

// requireNamedJobKeys checks that the state store takes a job keyed by
// endpoint names other than onprem and cloud.
func requireNamedJobKeys(t *testing.T, store *state.SQLite, key engine.JobKey) {
	t.Helper()
	if _, err := store.Job(context.Background(), key); err != nil {
		t.Fatalf("the state store refuses a job between named endpoints: %v", err)
	}
}

var tenantFolders = map[string]int{"Inbox": 12, "Inbox/Projects": 8, "Inbox/Projects/2024": 6, "Sent Items": 5, "Customers/Europe/Germany": 7}

// TestTenantToTenant copies a mailbox between two Exchange Online tenants
// named in the config (two Graph endpoints, each with its own app
// registration and credentials: a certificate in contoso, a client secret in
// fabrikam) with the real graphmail client on both sides, the real engine
// and a SQLite state. Every item arrives once, stamped for its source, with
// its read state; a second pass copies nothing; and each tenant's token
// endpoint saw only its own app.
func TestTenantToTenant(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	contoso := &fakeTenant{name: "contoso", tenantID: "contoso.onmicrosoft.com", clientID: "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"}
	fabrikam := &fakeTenant{name: "fabrikam", tenantID: "3c9d8e7f-6a5b-4c3d-9e8f-7a6b5c4d3e2f", clientID: "5f4e3d2c-1b0a-4f9e-8d7c-6b5a4f3e2d1c",
		secret: "fabrikam-app-secret"}
	doc := "endpoints:\n" + startTenant(t, dir, contoso) + startTenant(t, dir, fabrikam) +
		"state:\n  path: state.db\naudit_log: audit.jsonl\n"
	cfgPath := filepath.Join(dir, "tenants.yaml")
	writeFile(t, cfgPath, []byte(doc))

	const src, dst = "ann@contoso.com", "ann.smith@fabrikam.com"
	fx := contoso.srv.AddMailbox(src, mailbox.TypeUser)
	fabrikam.srv.AddMailbox(dst, mailbox.TypeUser)
	g := newMailGen(11, "contoso.com")
	total := 0
	for path, n := range tenantFolders {
		for i := range n {
			attach := 0
			if i%4 == 1 {
				attach = 2000 + 300*i
			}
			fx.AddMessage(path, g.next(src, attach).graphMessage(src))
			total++
		}
	}

	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	log := testLogger(t)
	sides, err := backend.Connect(ctx, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	defer sides.Close()
	store, err := state.Open(ctx, cfg.Path(cfg.State.Path))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	al, err := audit.Open(cfg.Path(cfg.AuditLog), sides.Operator(""))
	if err != nil {
		t.Fatal(err)
	}
	defer al.Close()
	d := sides.Dispatcher(log)
	way := dispatch.Way{From: "contoso", To: "fabrikam"}
	route, err := d.LocateFor(ctx, csvinput.Entry{Address: src, Target: dst, Location: mailbox.LocationAuto}, way)
	if err != nil {
		t.Fatal(err)
	}
	srcMB, dstMB, key, err := d.OpenWay(route, way)
	if err != nil {
		t.Fatal(err)
	}
	if want := (engine.JobKey{SourceAddress: src, SourceLocation: "contoso", TargetAddress: dst, TargetLocation: "fabrikam"}); key != want {
		t.Fatalf("job key = %+v, want %+v", key, want)
	}
	requireNamedJobKeys(t, store, key)
	copier := &engine.Copier{Store: store, Log: log, Options: testOptions(), Audit: engine.FileAuditor{Log: al, Operator: sides.Operator}}

	res := copier.Copy(ctx, key, srcMB, dstMB)
	if res.Err != nil || res.ItemsCopied != int64(total) || res.Skipped != 0 {
		t.Fatalf("first pass: copied %d of %d, skipped %d (%v), err %v", res.ItemsCopied, total, res.Skipped, res.SkipReasons, res.Err)
	}
	// Every item once, stamped with the stamp of its source item.
	want := map[string]bool{}
	for path := range tenantFolders {
		for _, m := range fx.Messages(path) {
			want[engine.SourceID(key, m.ID)] = true
		}
	}
	check := func(t *testing.T) {
		t.Helper()
		got := map[string]bool{}
		for _, path := range []string{"Inbox", "Inbox/Projects", "Inbox/Projects/2024", "Sent Items", "Customers", "Customers/Europe", "Customers/Europe/Germany"} {
			s, d := contoso.view(t, src, path), fabrikam.view(t, dst, path)
			if s.n != tenantFolders[path] {
				t.Errorf("%s: the source holds %d items, want %d", path, s.n, tenantFolders[path])
			}
			compareFolder(t, path, s, d)
			for stamp := range d.stamps {
				if !want[stamp] || got[stamp] {
					t.Errorf("%s: stamp %s is not one of a source item, or is on two folders", path, stamp)
				}
				got[stamp] = true
			}
		}
		if len(got) != len(want) {
			t.Errorf("%d stamps on the target, want %d", len(got), len(want))
		}
	}
	check(t)
	read := 0
	for path := range tenantFolders {
		for _, m := range fabrikam.srv.Mailbox(dst).Messages(path) {
			if m.IsRead {
				read++
			}
		}
	}
	if read == 0 || read == total {
		t.Errorf("%d of %d copied items are read; the generated mail mixes both", read, total)
	}

	// A second pass writes nothing.
	writes := fabrikam.srv.Writes()
	res = copier.Copy(ctx, key, srcMB, dstMB)
	if res.Err != nil || res.ItemsCopied != 0 || res.ReadUpdates != 0 {
		t.Fatalf("second pass: copied %d, read updates %d, err %v", res.ItemsCopied, res.ReadUpdates, res.Err)
	}
	if n := fabrikam.srv.Writes() - writes; n != 0 {
		t.Errorf("second pass: %d writes to the target tenant", n)
	}
	if contoso.srv.Writes() != 0 {
		t.Errorf("%d writes to the source tenant", contoso.srv.Writes())
	}
	if a, b := contoso.srv.MeetingMessagesSent(), fabrikam.srv.MeetingMessagesSent(); a+b != 0 {
		t.Errorf("the tenants sent meeting messages: %d and %d", a, b)
	}
	check(t)

	// Each side authenticated to its own tenant, with its own credentials.
	for _, ft := range []*fakeTenant{contoso, fabrikam} {
		ft.mu.Lock()
		if len(ft.tokens) == 0 {
			t.Errorf("%s: no token request", ft.name)
		}
		for _, r := range ft.tokens {
			if r.tenant != ft.tenantID || r.clientID != ft.clientID || r.secret != ft.secret || r.assertion != (ft.secret == "") {
				t.Errorf("%s's token endpoint saw %+v; want only tenant %s, app %s with its own credential", ft.name, r, ft.tenantID, ft.clientID)
			}
		}
		for who := range ft.bearer {
			if who != ft.tenantID+" "+ft.clientID {
				t.Errorf("%s's Graph saw a token of %q", ft.name, who)
			}
		}
		ft.mu.Unlock()
	}

	// The state keys the job by the endpoints' names.
	jobs, err := store.Jobs(ctx)
	if err != nil || len(jobs) != 1 || jobs[0].Key != key || jobs[0].Status != engine.JobDone || jobs[0].Passes != 2 {
		t.Errorf("jobs = %+v, %v", jobs, err)
	}
	// Every write is audited as fabrikam's app.
	f, err := os.Open(cfg.Path(cfg.AuditLog))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	creates := 0
	for sc := bufio.NewScanner(f); sc.Scan(); {
		var e audit.Entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		if e.Operator != "app "+fabrikam.clientID || e.Mailbox != dst {
			t.Errorf("audit entry by %q on %s", e.Operator, e.Mailbox)
		}
		if e.Action == "item.create" && e.Outcome == "ok" {
			creates++
		}
	}
	if creates != total {
		t.Errorf("audit log has %d item.create lines, want %d", creates, total)
	}
}
