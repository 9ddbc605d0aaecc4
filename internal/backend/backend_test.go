package backend

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/exmigrate/exmigrate/internal/config"
	"github.com/exmigrate/exmigrate/mailbox"
)

// Connect builds one client per endpoint, each with its own credentials;
// the dispatcher sees onprem as its on-prem side and the tenants by name.
func TestConnectNamedEndpoints(t *testing.T) {
	dir := t.TempDir()
	doc := `endpoints:
  onprem:
    type: ews
    ews_url: https://mail.contoso.com/EWS/Exchange.asmx
    domain: CONTOSO
    username: svc-migrate
    password_file: pw.txt
  contoso:
    type: graph
    tenant_id: contoso.onmicrosoft.com
    client_id: 0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d
    auth: client-secret
    client_secret_env: EXM_TEST_CONTOSO_SECRET
  fabrikam:
    type: graph
    tenant_id: fabrikam.onmicrosoft.com
    client_id: 5f4e3d2c-1b0a-4f9e-8d7c-6b5a4f3e2d1c
    auth: client-secret
    client_secret_env: EXM_TEST_FABRIKAM_SECRET
`
	for name, data := range map[string]string{"exmigrate.yaml": doc, "pw.txt": "pw\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := config.Load(filepath.Join(dir, "exmigrate.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("EXM_TEST_CONTOSO_SECRET", "contoso-secret")
	// A missing secret names the endpoint's key.
	if _, err := Connect(context.Background(), cfg, nil); err == nil ||
		err.Error() != "endpoints.fabrikam.client_secret_env: environment variable EXM_TEST_FABRIKAM_SECRET: secret is empty or not set: export EXM_TEST_FABRIKAM_SECRET with the app registration's client secret" {
		t.Fatalf("Connect without fabrikam's secret: %v", err)
	}
	t.Setenv("EXM_TEST_FABRIKAM_SECRET", "fabrikam-secret")
	s, err := Connect(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var names []string
	for _, e := range s.Endpoints {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"onprem", "contoso", "fabrikam"}) {
		t.Errorf("endpoints = %v", names)
	}
	if s.EWS == nil || s.EWS != s.Endpoint("onprem").EWS || s.Graph != nil {
		t.Error("the onprem endpoint is not the EWS side, or a cloud side appeared")
	}
	c, f := s.Endpoint("contoso"), s.Endpoint("fabrikam")
	if c.Graph == nil || f.Graph == nil || c.Graph == f.Graph {
		t.Error("each graph endpoint needs a client of its own")
	}
	d := s.Dispatcher(nil)
	if got := d.Names(); !slices.Equal(got, []string{"onprem", "contoso", "fabrikam"}) {
		t.Errorf("dispatcher endpoints = %v", got)
	}
	if d.Endpoint("fabrikam").Location() != mailbox.LocationCloud || d.OnPrem.Location() != mailbox.LocationOnPrem || d.Cloud != nil {
		t.Error("dispatcher sides")
	}
	for loc, want := range map[string]string{"onprem": `CONTOSO\svc-migrate`, "fabrikam": "app 5f4e3d2c-1b0a-4f9e-8d7c-6b5a4f3e2d1c", "cloud": "unknown"} {
		if got := s.Operator(loc); got != want {
			t.Errorf("Operator(%s) = %q, want %q", loc, got, want)
		}
	}
	if got := f.Describe(); got != "Microsoft Graph (global cloud), tenant fabrikam.onmicrosoft.com, auth client-secret" {
		t.Errorf("Describe = %q", got)
	}
}
