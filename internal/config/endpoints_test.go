package config

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The legacy blocks are the endpoints named onprem and cloud, with the same
// keys in messages as before named endpoints.
func TestLegacyBlocksAreEndpoints(t *testing.T) {
	cfg, err := Load(filepath.Join("..", "..", "testdata", "config", "hybrid-certificate.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	eps := cfg.Endpoints()
	if len(eps) != 2 {
		t.Fatalf("endpoints = %d, want 2", len(eps))
	}
	if e := eps[0]; e.Name != "onprem" || e.Type != TypeEWS || e.Key != "onprem" || e.EWS != cfg.OnPrem || e.Graph != nil {
		t.Errorf("first endpoint = %+v", e)
	}
	if e := eps[1]; e.Name != "cloud" || e.Type != TypeGraph || e.Key != "cloud" || e.Graph != cfg.Cloud || e.EWS != nil {
		t.Errorf("second endpoint = %+v", e)
	}
	if cfg.Endpoint("cloud") != eps[1] || cfg.Endpoint("contoso") != nil {
		t.Error("Endpoint by name")
	}
	// Only one side: only one endpoint.
	cfg, err = Parse([]byte(goodOnPrem))
	if err != nil || !slices.Equal(cfg.EndpointNames(), []string{"onprem"}) {
		t.Errorf("onprem only: %v, %v", cfg.EndpointNames(), err)
	}
}

// The two new examples load with the endpoints they describe.
func TestNamedEndpointExamples(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "config")
	cfg, err := Load(filepath.Join(dir, "tenant-to-tenant.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.EndpointNames(); !slices.Equal(got, []string{"contoso", "fabrikam"}) {
		t.Errorf("tenant-to-tenant endpoints = %v", got)
	}
	c, f := cfg.Endpoint("contoso"), cfg.Endpoint("fabrikam")
	if c.Type != TypeGraph || c.Graph.TenantID != "contoso.onmicrosoft.com" || c.Graph.Auth != AuthCertificate || c.Graph.Cloud != "global" || c.Key != "endpoints.contoso" {
		t.Errorf("contoso = %+v %+v", c, c.Graph)
	}
	if f.Type != TypeGraph || f.Graph.Auth != AuthClientSecret || f.Graph.ClientSecretEnv != "EXM_FABRIKAM_CLIENT_SECRET" {
		t.Errorf("fabrikam = %+v %+v", f, f.Graph)
	}
	if cfg.OnPrem != nil || cfg.Cloud != nil {
		t.Error("no endpoint is named onprem or cloud, yet a legacy side is set")
	}
	if got := cfg.Path(c.Graph.CertificatePath); !filepath.IsAbs(got) {
		t.Errorf("certificate path %q is not resolved against the file", got)
	}

	cfg, err = Load(filepath.Join(dir, "named-endpoints.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.EndpointNames(); !slices.Equal(got, []string{"onprem", "cloud", "fabrikam"}) {
		t.Errorf("named-endpoints endpoints = %v", got)
	}
	o := cfg.Endpoint("onprem")
	if o.Type != TypeEWS || o.EWS.ServerVersion != "Exchange2016" || !o.EWS.Impersonation || o.EWS.EWSUser() != `CONTOSO\svc-migrate` {
		t.Errorf("onprem = %+v", o.EWS)
	}
	// The endpoints named onprem and cloud are the two sides, however written.
	if cfg.OnPrem != o.EWS || cfg.Cloud != cfg.Endpoint("cloud").Graph || cfg.Cloud.Auth != AuthCertificate {
		t.Error("endpoints.onprem/cloud are not the legacy sides")
	}
}

func TestEndpointErrors(t *testing.T) {
	const graph = "    type: graph\n    tenant_id: fabrikam.onmicrosoft.com\n    client_id: x\n    auth: device-code\n"
	tests := []struct {
		name string
		yaml string
		want string
	}{
		{"missing type", "endpoints:\n  contoso:\n    tenant_id: contoso.onmicrosoft.com\n",
			"endpoints.contoso.type: is required: ews (Exchange Server through EWS) or graph (Exchange Online through Microsoft Graph)"},
		{"unknown type", "endpoints:\n  contoso:\n    type: exo\n",
			`endpoints.contoso.type: "exo" is not an endpoint type; use ews (Exchange Server through EWS) or graph (Exchange Online through Microsoft Graph)`},
		{"unknown key with a hint", "endpoints:\n  onprem:\n    type: ews\n    url: https://mail.contoso.com/EWS/Exchange.asmx\n    username: svc\n    password_env: PW\n",
			"endpoints.onprem.url: is not a setting of a ews endpoint (line 4); did you mean ews_url?"},
		{"key of the other type", "endpoints:\n  fabrikam:\n" + graph + "    impersonation: true\n",
			"endpoints.fabrikam.impersonation: is not a setting of a graph endpoint (line 7); remove it, or check the endpoint's type"},
		{"unknown key", "endpoints:\n  fabrikam:\n" + graph + "    colour: blue\n",
			"endpoints.fabrikam.colour: is not a setting of a graph endpoint (line 7); use tenant_id, client_id, auth, certificate_path, certificate_password_env, client_secret_env, cloud, graph_base_url, authority_host, ca_bundle, full_fidelity, accept_ews_streams, archive"},
		{"bad name", "endpoints:\n  Fabrikam_EU:\n" + graph,
			`endpoints.Fabrikam_EU: "Fabrikam_EU" is not an endpoint name; use lower-case letters, digits and - (e.g. contoso or fabrikam-eu), not auto`},
		{"auto is not a name", "endpoints:\n  auto:\n" + graph,
			`endpoints.auto: "auto" is not an endpoint name; use lower-case letters, digits and - (e.g. contoso or fabrikam-eu), not auto`},
		{"empty name", "endpoints:\n  '':\n" + graph, "endpoints: line 2: an endpoint has an empty name; name it, e.g. contoso"},
		{"duplicate", "endpoints:\n  fabrikam:\n" + graph + "  fabrikam:\n" + graph,
			"endpoints.fabrikam: is defined twice (lines 2 and 7); keep one, or rename one"},
		{"legacy and named", goodOnPrem + "endpoints:\n  onprem:\n    type: ews\n    ews_url: https://b.contoso.com/EWS/Exchange.asmx\n    username: svc\n    password_env: PW\n",
			"endpoints.onprem: the onprem: block defines the endpoint onprem already; move its settings under endpoints.onprem, or give this one another name"},
		{"cloud must be graph", "endpoints:\n  cloud:\n    type: ews\n    ews_url: https://b.contoso.com/EWS/Exchange.asmx\n    username: svc\n    password_env: PW\n",
			"endpoints.cloud.type: the endpoint named cloud is the Exchange Online side of --direction and must be type graph; give this one another name"},
		{"no settings", "endpoints:\n  fabrikam:\n", "endpoints.fabrikam: has no settings; give it type: ews or type: graph and the settings of that side"},
		{"not a map", "endpoints: [contoso]\n", "endpoints: line 1: must be a map of names to endpoints, e.g. contoso: {type: graph, tenant_id: ..., client_id: ...}"},
		{"bad value", "endpoints:\n  onprem:\n    type: ews\n    ews_url: https://b.contoso.com/EWS/Exchange.asmx\n    username: svc\n    password_env: PW\n    impersonation: maybe\n",
			"endpoints.onprem: line 7: cannot unmarshal !!str `maybe` into bool"},
		{"settings checked with the endpoint's key", "endpoints:\n  fabrikam:\n    type: graph\n    tenant_id: fabrikam.onmicrosoft.com\n    client_id: x\n    auth: client-secret\n",
			"endpoints.fabrikam.client_secret_env: is required with auth client-secret: name the environment variable that holds the secret"},
		{"ews settings with the endpoint's key", "endpoints:\n  legacy-ex:\n    type: ews\n    ews_url: https://svc:pw@mail.contoso.com/EWS/Exchange.asmx\n    username: svc\n    password_env: PW\n",
			"endpoints.legacy-ex.ews_url: must not carry a user name or password; use endpoints.legacy-ex.username and endpoints.legacy-ex.password_env"},
		{"secret in a graph endpoint", "endpoints:\n  fabrikam:\n" + graph + "    client_secret: abc\n",
			"endpoints.fabrikam.client_secret: secrets are never read from the config file (line 7); remove it and set endpoints.fabrikam.client_secret_env"},
		{"secret in an ews endpoint", "endpoints:\n  onprem:\n    password: hunter2\n    type: ews\n",
			"endpoints.onprem.password: secrets are never read from the config file (line 3); remove it and set endpoints.onprem.password_env or endpoints.onprem.password_file"},
		{"secret in an endpoint without a type", "endpoints:\n  x:\n    certificate_password: abc\n",
			"endpoints.x.certificate_password: secrets are never read from the config file (line 3); remove it and set endpoints.x.certificate_password_env"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml))
			if err == nil {
				t.Fatalf("Parse succeeded, want error %q", tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("error\n got: %s\nwant: %s", err, tt.want)
			}
		})
	}
}

// Every problem of the endpoints: map comes in one report with the rest.
func TestEndpointProblemsReportedAtOnce(t *testing.T) {
	doc := `endpoints:
  contoso:
    tenant_id: contoso.onmicrosoft.com
  Fabrikam:
    type: graph
    tenant_id: fabrikam.onmicrosoft.com
    client_id: x
    auth: device-code
  northwind:
    type: exchange
  tailspin:
    type: graph
    tenant: tailspin.onmicrosoft.com
  woodgrove:
    type: ews
    ews_url: http://mail.woodgrove.com/EWS/Exchange.asmx
    username: svc
    password_env: PW
concurrency:
  mailboxes: 100
`
	_, err := Parse([]byte(doc))
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("err = %v, want config.Errors", err)
	}
	var keys []string
	for _, e := range errs {
		keys = append(keys, e.Key)
	}
	want := []string{"endpoints.contoso.type", "endpoints.Fabrikam", "endpoints.northwind.type", "endpoints.tailspin.tenant",
		"endpoints.woodgrove.ews_url", "concurrency.mailboxes"}
	if !slices.Equal(keys, want) {
		t.Errorf("keys = %v\nwant %v\n%v", keys, want, err)
	}
}

func TestEndpointMergeKeys(t *testing.T) {
	cfg, err := Parse([]byte(`endpoints:
  contoso: &tenant
    type: graph
    tenant_id: contoso.onmicrosoft.com
    client_id: a
    auth: device-code
  fabrikam:
    <<: *tenant
    tenant_id: fabrikam.onmicrosoft.com
`))
	if err != nil {
		t.Fatal(err)
	}
	if f := cfg.Endpoint("fabrikam"); f == nil || f.Graph.TenantID != "fabrikam.onmicrosoft.com" || f.Graph.Auth != AuthDeviceCode {
		t.Errorf("fabrikam = %+v", f)
	}
}

func TestEndpointSecrets(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pw.txt"), []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	doc := `endpoints:
  legacy-ex:
    type: ews
    ews_url: https://a.b/EWS/Exchange.asmx
    username: svc
    password_file: pw.txt
  fabrikam:
    type: graph
    tenant_id: fabrikam.onmicrosoft.com
    client_id: x
    auth: client-secret
    client_secret_env: EXM_TEST_FABRIKAM_SECRET
`
	cfgPath := filepath.Join(dir, "exmigrate.yaml")
	if err := os.WriteFile(cfgPath, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if pw, err := cfg.Password(cfg.Endpoint("legacy-ex")); err != nil || pw.Reveal() != "s3cret" {
		t.Errorf("password = %q, %v", pw.Reveal(), err)
	}
	if _, err := cfg.EWSPassword(); err == nil || err.Error() != "onprem is not configured" {
		t.Errorf("EWSPassword without an onprem endpoint: %v", err)
	}
	f := cfg.Endpoint("fabrikam")
	_, err = cfg.ClientSecret(f)
	if err == nil || !strings.HasPrefix(err.Error(), "endpoints.fabrikam.client_secret_env: environment variable EXM_TEST_FABRIKAM_SECRET") {
		t.Errorf("unset secret: %v", err)
	}
	t.Setenv("EXM_TEST_FABRIKAM_SECRET", "abc")
	if s, err := cfg.ClientSecret(f); err != nil || s.Reveal() != "abc" {
		t.Errorf("ClientSecret = %q, %v", s.Reveal(), err)
	}
}
