package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExamplesAreValid(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("..", "..", "testdata", "config", "*.yaml"))
	if err != nil || len(paths) < 5 {
		t.Fatalf("want at least 5 example configs, got %d (%v)", len(paths), err)
	}
	for _, p := range paths {
		if _, err := Load(p); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
}

func TestDefaults(t *testing.T) {
	cfg, err := Parse([]byte(`
onprem:
  ews_url: https://mail.contoso.com/EWS/Exchange.asmx
  domain: CONTOSO
  username: svc
  password_env: PW
`))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.OnPrem.ServerVersion != "Exchange2016" || cfg.State.Path != "exmigrate-state.db" ||
		cfg.AuditLog != "exmigrate-audit.jsonl" || cfg.Concurrency.Mailboxes != 4 || cfg.Assessment.TenantMessageLimit != 35*MB {
		t.Errorf("defaults not applied: %+v", cfg)
	}
	if got := cfg.OnPrem.EWSUser(); got != `CONTOSO\svc` {
		t.Errorf("EWSUser = %q", got)
	}
}

const goodOnPrem = `onprem:
  ews_url: https://mail.contoso.com/EWS/Exchange.asmx
  username: svc@contoso.com
  password_env: PW
`

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want string
	}{
		{"empty", ``, "onprem: neither onprem nor cloud is configured; configure at least one side (onprem:, cloud:, or named ones under endpoints:)"},
		{"not yaml", "onprem: [", "not valid YAML: yaml: line 1: did not find expected node content"},
		{"unknown key", goodOnPrem + "  ews_uri: x\n", "yaml: unmarshal errors:\n  line 5: field ews_uri not found in type config.OnPrem (see the example configurations in the README)"},
		{"password in file", "onprem:\n  ews_url: https://a.b/EWS/Exchange.asmx\n  username: svc\n  password: hunter2\n",
			"onprem.password: secrets are never read from the config file (line 4); remove it and set onprem.password_env or onprem.password_file"},
		{"client secret in file", "cloud:\n  client_secret: abc\n",
			"cloud.client_secret: secrets are never read from the config file (line 2); remove it and set cloud.client_secret_env"},
		{"http url", strings.Replace(goodOnPrem, "https://mail.contoso.com", "http://mail.contoso.com", 1),
			"onprem.ews_url: must be https:// (http:// is allowed only for loopback addresses): http://mail.contoso.com/EWS/Exchange.asmx"},
		{"missing url", "onprem:\n  username: svc\n  password_env: PW\n",
			"onprem.ews_url: is required: the full EWS URL, e.g. https://mail.contoso.com/EWS/Exchange.asmx (exmigrate never uses Autodiscover)"},
		{"url with credentials", strings.Replace(goodOnPrem, "https://mail", "https://svc:pw@mail", 1),
			"onprem.ews_url: must not carry a user name or password; use onprem.username and onprem.password_env"},
		{"ftp url", strings.Replace(goodOnPrem, "https://", "ftp://", 1), "onprem.ews_url: must be https://, not ftp://"},
		{"no password source", "onprem:\n  ews_url: https://a.b/EWS/Exchange.asmx\n  username: svc\n",
			"onprem.password_env: or onprem.password_file is required: name the environment variable or file that holds the service account's password"},
		{"password value as env name", strings.Replace(goodOnPrem, "password_env: PW", "password_env: 'P@ss w0rd!'", 1),
			`onprem.password_env: "P@ss w0rd!" is not an environment variable name (letters, digits and _; it names the variable, it is not the password)`},
		{"two password sources", goodOnPrem + "  password_file: pw.txt\n", "onprem.password_env: and onprem.password_file are both set; keep one"},
		{"server version", goodOnPrem + "  server_version: Exchange2019\n",
			`onprem.server_version: "Exchange2019" is not an EWS schema version; use one of Exchange2013, Exchange2013_SP1, Exchange2015, Exchange2016 (Exchange 2019 and SE speak Exchange2016)`},
		{"domain twice", "onprem:\n  ews_url: https://a.b/EWS/Exchange.asmx\n  domain: CONTOSO\n  username: CONTOSO\\svc\n  password_env: PW\n",
			`onprem.username: names a domain (CONTOSO\svc) and onprem.domain is set too; write the domain in one place`},
		{"cloud missing tenant", "cloud:\n  client_id: x\n  auth: client-secret\n  client_secret_env: S\n",
			"cloud.tenant_id: is required: the directory (tenant) id GUID or the tenant's domain, e.g. contoso.onmicrosoft.com"},
		{"cloud bad auth", "cloud:\n  tenant_id: contoso.onmicrosoft.com\n  client_id: x\n  auth: password\n",
			`cloud.auth: "password" is not supported; use one of certificate, client-secret, device-code, environment, managed-identity, workload-identity`},
		{"cloud cert without path", "cloud:\n  tenant_id: contoso.onmicrosoft.com\n  client_id: x\n",
			"cloud.certificate_path: is required with auth certificate: a PEM or PFX file with the certificate and its private key"},
		{"cloud secret without env", "cloud:\n  tenant_id: contoso.onmicrosoft.com\n  client_id: x\n  auth: client-secret\n",
			"cloud.client_secret_env: is required with auth client-secret: name the environment variable that holds the secret"},
		{"cloud unknown", "cloud:\n  tenant_id: contoso.onmicrosoft.com\n  client_id: x\n  auth: device-code\n  cloud: germany\n",
			`cloud.cloud: "germany" is not a Microsoft cloud; use one of global, usgov, usgovdod, china`},
		{"cloud http base url", "cloud:\n  tenant_id: contoso.onmicrosoft.com\n  client_id: x\n  auth: device-code\n  graph_base_url: http://graph.example/v1.0\n",
			`cloud.graph_base_url: "http://graph.example/v1.0" must be an https:// URL`},
		{"concurrency", goodOnPrem + "concurrency:\n  ews: 40\n",
			"concurrency.ews: 40 is out of range; use 1 to 27 (Exchange's default EWSMaxConcurrency is 27 per account)"},
		{"bad regexp", goodOnPrem + "filters:\n  include_folders: ['Inbox(']\n",
			"filters.include_folders[0]: \"Inbox(\" is not a regular expression: error parsing regexp: missing closing ): `Inbox(`"},
		{"bad mapping", goodOnPrem + "filters:\n  folder_mappings: ['Old to New']\n",
			`filters.folder_mappings[0]: "Old to New" must read "Old/Path -> New/Path"`},
		{"bad date", goodOnPrem + "filters:\n  received_since: 31/01/2024\n",
			`filters.received_since: "31/01/2024" is not a date; write 2024-01-31 or 2024-01-31T08:00:00Z`},
		{"dates reversed", goodOnPrem + "filters:\n  received_since: 2024-01-01\n  received_until: 2023-01-01\n",
			"filters.received_until: 2023-01-01 is not after filters.received_since 2024-01-01"},
		{"bad size", goodOnPrem + "filters:\n  max_item_size: lots\n",
			"line 6: \"lots\" is not a size: write e.g. 35MB, 150 MB or 1GB (see the example configurations in the README)"},
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

func TestAllProblemsReportedAtOnce(t *testing.T) {
	_, err := Parse([]byte("onprem:\n  ews_url: http://mail.contoso.com/EWS\n  username: svc\ncloud:\n  auth: nope\n"))
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("err = %v, want config.Errors", err)
	}
	if len(errs) < 4 {
		t.Errorf("want at least 4 problems in one report, got %d: %v", len(errs), err)
	}
}

func TestSecretsFromEnvAndFile(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "exmigrate.yaml")
	if err := os.WriteFile(filepath.Join(dir, "pw.txt"), []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	doc := "onprem:\n  ews_url: https://a.b/EWS/Exchange.asmx\n  username: svc\n  password_file: pw.txt\n" +
		"cloud:\n  tenant_id: contoso.onmicrosoft.com\n  client_id: x\n  auth: client-secret\n  client_secret_env: EXM_TEST_GRAPH_SECRET\n"
	if err := os.WriteFile(cfgPath, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	pw, err := cfg.EWSPassword()
	if err != nil || pw.Reveal() != "s3cret" {
		t.Fatalf("password from file relative to the config: %q, %v", pw.Reveal(), err)
	}
	_, err = cfg.GraphClientSecret()
	if err == nil || err.Error() != "cloud.client_secret_env: environment variable EXM_TEST_GRAPH_SECRET: secret is empty or not set: export EXM_TEST_GRAPH_SECRET with the app registration's client secret" {
		t.Errorf("unset secret: %v", err)
	}
	t.Setenv("EXM_TEST_GRAPH_SECRET", "abc")
	if s, err := cfg.GraphClientSecret(); err != nil || s.Reveal() != "abc" {
		t.Errorf("GraphClientSecret = %q, %v", s.Reveal(), err)
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want Size
		ok   bool
	}{
		{"35MB", 35 * MB, true}, {"150 MB", 150 * MB, true}, {"1.5GB", GB + GB/2, true}, {"1048576", MB, true},
		{"12kb", 12 * KB, true}, {"10B", 10, true}, {"-1MB", 0, false}, {"MB", 0, false}, {"", 0, false}, {"9999999GB", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestGraphArchiveSetting(t *testing.T) {
	const graph = "endpoints:\n  contoso:\n    type: graph\n    tenant_id: contoso.onmicrosoft.com\n    client_id: 11111111-2222-3333-4444-555555555555\n    auth: client-secret\n    client_secret_env: SECRET\n"
	tests := []struct {
		name    string
		extra   string
		preview bool
		wantErr string
	}{
		{"unset", "", false, ""},
		{"off", "    archive: off\n", false, ""},
		{"preview with full fidelity", "    full_fidelity: true\n    archive: preview\n", true, ""},
		{"preview without full fidelity", "    archive: preview\n", false, "endpoints.contoso.archive: preview needs endpoints.contoso.full_fidelity: true"},
		{"preview outside the global cloud", "    full_fidelity: true\n    cloud: usgov\n    archive: preview\n", false, "endpoints.contoso.archive: preview is served in the global cloud only, not in usgov"},
		{"another value", "    archive: beta\n", false, `endpoints.contoso.archive: "beta" is not an archive setting; use off (the default: Graph v1.0 cannot reach the archive) or preview`},
		{"yaml true", "    archive: on\n", false, `"on" is not an archive setting`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse([]byte(graph + tt.extra))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.Endpoint("contoso").Graph.ArchivePreview(); got != tt.preview {
				t.Errorf("ArchivePreview() = %v, want %v", got, tt.preview)
			}
		})
	}
	var none *Cloud
	if none.ArchivePreview() {
		t.Error("a nil Cloud reaches the archive")
	}
}
