package graphmail_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/graphmail"
	"github.com/exmigrate/exmigrate/graphmail/graphtest"
	"github.com/exmigrate/exmigrate/mailbox"
)

// selfSigned makes an app certificate and writes cert and key as one PEM file.
func selfSigned(t *testing.T, dir, name string) (certPEM []byte, path string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kd, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	all := append(append([]byte{}, certPEM...), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd})...)
	path = filepath.Join(dir, name+".pem")
	if err := os.WriteFile(path, all, 0o600); err != nil {
		t.Fatal(err)
	}
	return certPEM, path
}

func TestCertificateAuth(t *testing.T) {
	l := newLab(t)
	l.srv.AddMailbox(alice, mailbox.TypeUser)
	dir := t.TempDir()
	const certApp = "cccccccc-0000-0000-0000-000000000001"
	registered, goodPath := selfSigned(t, dir, "registered")
	_, otherPath := selfSigned(t, dir, "unregistered")
	if err := l.srv.AddAppCertificate(tenantID, certApp, registered, allRoles...); err != nil {
		t.Fatal(err)
	}
	cfg := func(path string) func(*graphmail.Config) {
		return func(c *graphmail.Config) {
			c.ClientID, c.Auth, c.ClientSecret, c.CertificatePath = certApp, graphmail.AuthCertificate, "", path
		}
	}
	good := l.client(t, cfg(goodPath))
	if err := good.Check(ctxT(t)); err != nil {
		t.Fatalf("Check with the registered certificate: %v", err)
	}
	if _, err := good.Mailbox(alice).Folders(ctxT(t), mailbox.ScopePrimary); err != nil {
		t.Fatalf("Folders with certificate auth: %v", err)
	}
	bad := l.client(t, cfg(otherPath))
	err := bad.Check(ctxT(t))
	if !errors.Is(err, mailbox.ErrAuthentication) {
		t.Fatalf("Check with an unregistered certificate: %v, want ErrAuthentication", err)
	}
	if !strings.Contains(err.Error(), "CertificatePath") {
		t.Errorf("error does not name the config to fix: %v", err)
	}
	if _, err := graphmail.NewClient(ctxT(t), func() graphmail.Config {
		c := l.config()
		cfg(filepath.Join(dir, "missing.pem"))(&c)
		return c
	}()); err == nil || !strings.Contains(err.Error(), "CertificatePath") {
		t.Errorf("missing certificate file: %v", err)
	}
}

func TestSecretAuthFailures(t *testing.T) {
	l := newLab(t)
	l.srv.AddMailbox(alice, mailbox.TypeUser)
	const wrong = "wrong-secret-must-not-leak"
	c := l.client(t, func(cfg *graphmail.Config) { cfg.ClientSecret = wrong })
	err := c.Check(ctxT(t))
	if !errors.Is(err, mailbox.ErrAuthentication) {
		t.Fatalf("Check with a wrong secret: %v", err)
	}
	if strings.Contains(err.Error(), wrong) || strings.Contains(err.Error(), secret) {
		t.Fatalf("error leaks a secret: %v", err)
	}
	if !strings.Contains(err.Error(), "AADSTS7000215") || !strings.Contains(err.Error(), "ClientSecret") {
		t.Errorf("error should carry Entra's reason and the fields to fix: %v", err)
	}
	// The same through an SDK call.
	_, err = c.Mailbox(alice).Folders(ctxT(t), mailbox.ScopePrimary)
	if !errors.Is(err, mailbox.ErrAuthentication) || strings.Contains(err.Error(), wrong) {
		t.Errorf("Folders with a wrong secret: %v", err)
	}
	if _, err := graphmail.NewClient(ctxT(t), graphmail.Config{TenantID: tenantID, ClientID: clientID, Auth: graphmail.AuthClientSecret}); err == nil || !strings.Contains(err.Error(), "ClientSecret") {
		t.Errorf("missing secret: %v", err)
	}
}

func TestRoles(t *testing.T) {
	srv := graphtest.NewServer()
	srv.AddApp(tenantID, clientID, secret, "Mail.Read")
	fx := srv.AddMailbox(alice, mailbox.TypeShared)
	fx.AddMessage("Inbox", graphtest.Message{Subject: "x"})
	ep := srv.StartTLS(t)
	l := &lab{srv: srv, ep: ep}
	c := l.client(t, nil)

	err := c.Check(ctxT(t))
	var pe *graphmail.PermissionError
	if !errors.As(err, &pe) || !errors.Is(err, mailbox.ErrAccessDenied) {
		t.Fatalf("Check without Mail.ReadWrite: %v", err)
	}
	if strings.Join(pe.Missing, ",") != "Mail.ReadWrite,MailboxSettings.Read" {
		t.Errorf("missing = %v", pe.Missing)
	}
	mb := c.Mailbox(alice)
	if _, err := mb.Folders(ctxT(t), mailbox.ScopePrimary); err != nil {
		t.Fatalf("reading with Mail.Read: %v", err)
	}
	raw := mimeMessage("x", "<x@x>", time.Now())
	_, err = mb.CreateMessage(ctxT(t), fx.FolderID("Inbox"), mailbox.Message{SourceID: "s", MIME: strings.NewReader(raw), Size: -1})
	if !errors.Is(err, mailbox.ErrAccessDenied) {
		t.Errorf("create without Mail.ReadWrite: %v, want ErrAccessDenied", err)
	}
	if _, err := mb.CreateFolder(ctxT(t), "", "New", ""); !errors.Is(err, mailbox.ErrAccessDenied) {
		t.Errorf("create folder without Mail.ReadWrite: %v", err)
	}
	// Without MailboxSettings.Read the probe still finds the mailbox, of unknown type.
	got, err := c.Probe(ctxT(t), alice)
	if err != nil || got.Outcome != graphmail.InCloud || got.Type != mailbox.TypeUnknown {
		t.Errorf("probe without MailboxSettings.Read: %+v %v", got, err)
	}
}

func TestConfigValidation(t *testing.T) {
	tests := []struct {
		name string
		cfg  graphmail.Config
		want string
	}{
		{"unknown cloud", graphmail.Config{Auth: graphmail.AuthClientSecret, TenantID: "t", ClientID: "c", ClientSecret: "s", Cloud: "mars"}, "usgov"},
		{"unknown auth", graphmail.Config{Auth: "password", TenantID: "t", ClientID: "c"}, "certificate, client-secret"},
		{"http base URL", graphmail.Config{Auth: graphmail.AuthClientSecret, TenantID: "t", ClientID: "c", ClientSecret: "s", BaseURL: "http://graph.example/v1.0"}, "https"},
		{"http authority", graphmail.Config{Auth: graphmail.AuthClientSecret, TenantID: "t", ClientID: "c", ClientSecret: "s", AuthorityHost: "http://login.example"}, "https"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := graphmail.NewClient(ctxT(t), tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want mention of %q", err, tc.want)
			}
		})
	}
	for _, cloud := range []string{"", "global", "usgov", "usgovdod", "china"} {
		if _, err := graphmail.NewClient(ctxT(t), graphmail.Config{Auth: graphmail.AuthClientSecret, TenantID: "t", ClientID: "c", ClientSecret: "s", Cloud: cloud}); err != nil {
			t.Errorf("cloud %q: %v", cloud, err)
		}
	}
}

func TestConfigNeverPrintsSecrets(t *testing.T) {
	cfg := graphmail.Config{TenantID: "t", ClientID: "c", ClientSecret: "very-secret", CertificatePassword: "pfx-pass"}
	var logged strings.Builder
	log := slog.New(slog.NewJSONHandler(&logged, nil))
	log.Info("config", "cfg", cfg)
	for _, out := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), logged.String()} {
		if strings.Contains(out, "very-secret") || strings.Contains(out, "pfx-pass") {
			t.Errorf("secret printed: %s", out)
		}
	}
}
