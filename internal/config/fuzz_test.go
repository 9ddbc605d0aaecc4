package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse: no input panics, every error names something, and an accepted
// config has its defaults and no secret value in it.
func FuzzParse(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "config", "*.yaml"))
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(string(b))
		}
	}
	f.Add("onprem:\n  password: x\n")
	f.Add("endpoints:\n  contoso: {type: graph, tenant_id: contoso.onmicrosoft.com, auth: managed-identity}\n  x: {type: ews}\n")
	f.Add("filters:\n  max_item_size: 1.5GB\n")
	f.Fuzz(func(t *testing.T, doc string) {
		cfg, err := Parse([]byte(doc))
		if err != nil {
			if strings.TrimSpace(err.Error()) == "" {
				t.Fatal("empty error")
			}
			return
		}
		if len(cfg.Endpoints()) == 0 {
			t.Fatal("accepted a config without an endpoint")
		}
		if cfg.State.Path == "" || cfg.AuditLog == "" || cfg.Concurrency.Mailboxes < 1 {
			t.Fatalf("defaults missing: %+v", cfg)
		}
		names := map[string]bool{}
		for _, e := range cfg.Endpoints() {
			if names[e.Name] || !ValidEndpointName(e.Name) {
				t.Fatalf("accepted endpoint name %q (twice, or not a name)", e.Name)
			}
			names[e.Name] = true
			if (e.EWS == nil) == (e.Graph == nil) || e.EWS != nil && e.Type != TypeEWS || e.Graph != nil && e.Type != TypeGraph {
				t.Fatalf("endpoint %s: type %s with ews %v, graph %v", e.Name, e.Type, e.EWS != nil, e.Graph != nil)
			}
			if e.EWS != nil && e.EWS.PasswordEnv == "" && e.EWS.PasswordFile == "" {
				t.Fatalf("accepted the ews endpoint %s without a password source", e.Name)
			}
		}
		if o := cfg.Endpoint(OnPremName); o != nil && (o.EWS == nil || o.EWS != cfg.OnPrem) {
			t.Fatal("the endpoint named onprem is not the on-prem side")
		}
		if c := cfg.Endpoint(CloudName); c != nil && (c.Graph == nil || c.Graph != cfg.Cloud) {
			t.Fatal("the endpoint named cloud is not the cloud side")
		}
	})
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"35MB", "150 MB", "1.5GB", "1048576", "-1", "MB", "9e99GB"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseSize(s)
		if err == nil && (n < 0 || n > 1<<50) {
			t.Fatalf("ParseSize(%q) = %d", s, n)
		}
	})
}
