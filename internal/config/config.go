// Package config loads and validates the exmigrate configuration file.
//
// The file says where each side is and how to authenticate, but never holds
// a secret itself: it names the environment variable or the file that does.
// Every validation error names the key and the fix.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/exmigrate/exmigrate/ews"
	"github.com/exmigrate/exmigrate/internal/netcheck"
	"github.com/exmigrate/exmigrate/internal/secret"
)

// Config is the whole file.
type Config struct {
	// OnPrem and Cloud are the endpoints named onprem and cloud, written as
	// the onprem: and cloud: blocks or under endpoints:.
	OnPrem *OnPrem `yaml:"onprem"`
	Cloud  *Cloud  `yaml:"cloud"`
	// RawEndpoints is the endpoints: map as written; use Endpoints.
	RawEndpoints rawEndpoints `yaml:"endpoints"`
	State        State        `yaml:"state"`
	AuditLog     string       `yaml:"audit_log"`
	Concurrency  Concurrency  `yaml:"concurrency"`
	Filters      Filters      `yaml:"filters"`
	Assessment   Assessment   `yaml:"assessment"`

	// dir is the folder of the config file: relative paths in it are
	// relative to the file, not to where the command runs.
	dir string
	// endpoints are the onprem and cloud blocks and the endpoints: map.
	endpoints []*Endpoint
}

// OnPrem is the Exchange Server side, reached through EWS.
type OnPrem struct {
	EWSURL              string `yaml:"ews_url"`
	Domain              string `yaml:"domain"`
	Username            string `yaml:"username"`
	PasswordEnv         string `yaml:"password_env"`
	PasswordFile        string `yaml:"password_file"`
	CABundle            string `yaml:"ca_bundle"`
	Impersonation       bool   `yaml:"impersonation"`
	ServerVersion       string `yaml:"server_version"`
	PublicFolderMailbox string `yaml:"public_folder_mailbox"`
	// FullFidelity writes every kind with UploadItems (ExportItems data
	// from another Exchange server): off by default until a copy killed
	// between an upload and its stamp can no longer duplicate the item.
	FullFidelity bool `yaml:"full_fidelity"`
}

// Cloud is the Exchange Online side, reached through Microsoft Graph.
type Cloud struct {
	TenantID               string `yaml:"tenant_id"`
	ClientID               string `yaml:"client_id"`
	Auth                   string `yaml:"auth"`
	CertificatePath        string `yaml:"certificate_path"`
	CertificatePasswordEnv string `yaml:"certificate_password_env"`
	ClientSecretEnv        string `yaml:"client_secret_env"`
	Cloud                  string `yaml:"cloud"`
	GraphBaseURL           string `yaml:"graph_base_url"`
	AuthorityHost          string `yaml:"authority_host"`
	CABundle               string `yaml:"ca_bundle"`
	// FullFidelity turns on Graph's mailbox import/export API (v1.0,
	// global cloud only, new in 2026): every kind then moves in full
	// fidelity between two such endpoints. Imported items carry no stamp
	// (none is documented), so only the state store keeps them from being
	// imported twice after a crash between an import and its record.
	FullFidelity bool `yaml:"full_fidelity"`
	// AcceptEWSStreams: the fidelity probe found this tenant's import
	// takes EWS ExportItems data; on-prem items then move into it in full
	// fidelity. Needs full_fidelity.
	AcceptEWSStreams bool `yaml:"accept_ews_streams"`
	// Archive is how the online archive is reached: empty or "off" (not
	// at all: Graph v1.0 cannot), or "preview": through Graph's BETA
	// mailbox import/export API, a preview Microsoft may change and does
	// not support in production, global cloud only. Needs full_fidelity.
	Archive string `yaml:"archive"`
}

// Values of a graph endpoint's archive setting.
const (
	ArchiveOff     = "off"
	ArchivePreview = "preview"
)

// ArchivePreview reports whether the endpoint reaches the archive through
// the beta import/export API (archive: preview).
func (c *Cloud) ArchivePreview() bool { return c != nil && c.Archive == ArchivePreview }

// State is where copy jobs keep their progress: a SQLite file (path, the
// default) or, for workers on several machines, a PostgreSQL database
// (url). See state.go.
type State struct {
	Path string `yaml:"path"`
	// URL is postgres://user@host:5432/database with libpq's parameters;
	// never a password: that comes from PasswordEnv, PasswordFile or
	// EXMIGRATE_STATE_PASSWORD.
	URL          string `yaml:"url"`
	PasswordEnv  string `yaml:"password_env"`
	PasswordFile string `yaml:"password_file"`
}

// Concurrency bounds the work in flight.
type Concurrency struct {
	Mailboxes int `yaml:"mailboxes"` // mailboxes copied at once
	EWS       int `yaml:"ews"`       // EWS requests in flight per mailbox
}

// Filters select what a copy carries.
type Filters struct {
	IncludeFolders []string `yaml:"include_folders"` // regular expressions on the folder path
	ExcludeFolders []string `yaml:"exclude_folders"`
	FolderMappings []string `yaml:"folder_mappings"` // "Old/Path -> New/Path"
	ReceivedSince  string   `yaml:"received_since"`  // YYYY-MM-DD or RFC 3339
	ReceivedUntil  string   `yaml:"received_until"`
	MaxItemSize    Size     `yaml:"max_item_size"` // e.g. 150MB
}

// Assessment tunes what an assessment flags.
type Assessment struct {
	TenantMessageLimit Size `yaml:"tenant_message_limit"` // default 35MB
}

// Auth methods for the cloud side.
const (
	AuthCertificate      = "certificate"
	AuthClientSecret     = "client-secret"
	AuthDeviceCode       = "device-code"
	AuthEnvironment      = "environment"
	AuthManagedIdentity  = "managed-identity"
	AuthWorkloadIdentity = "workload-identity"
)

var (
	authMethods = []string{AuthCertificate, AuthClientSecret, AuthDeviceCode, AuthEnvironment, AuthManagedIdentity, AuthWorkloadIdentity}
	clouds      = []string{"global", "usgov", "usgovdod", "china"}
	// Keys that would put a secret into the file, by endpoint type. They
	// are refused by name so the engineer learns where the secret goes
	// instead; {p} stands for the endpoint's key (onprem, cloud or
	// endpoints.<name>).
	secretKeys = map[string]map[string]string{
		TypeEWS: {
			"password":       "{p}.password_env or {p}.password_file",
			"password_value": "{p}.password_env or {p}.password_file",
		},
		TypeGraph: {
			"client_secret":          "{p}.client_secret_env",
			"secret":                 "{p}.client_secret_env",
			"certificate_password":   "{p}.certificate_password_env",
			"password":               "{p}.client_secret_env",
			"client_secret_value":    "{p}.client_secret_env",
			"teams_workflow_url":     "an environment variable named on the command line",
			"certificate_passphrase": "{p}.certificate_password_env",
		},
		stateSecrets: {
			"password": "{p}.password_env or {p}.password_file (or export " + DefaultStatePasswordEnv + ")",
		},
	}
)

// Error is a validation problem with one key.
type Error struct {
	Key     string
	Problem string
}

func (e *Error) Error() string { return e.Key + ": " + e.Problem }

// Errors is every problem found in one file, so the engineer fixes them in
// one go.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Load reads and validates a config file.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config file: %w", err)
	}
	cfg, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("config file %s:\n%w", path, err)
	}
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("config file %s: %w", path, err)
	}
	cfg.dir = dir
	return cfg, nil
}

// Parse decodes and validates a config document. Unknown keys are errors:
// a misspelt key silently ignored is a migration run with the wrong setting.
func Parse(data []byte) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("not valid YAML: %w", err)
	}
	if errs := refuseSecrets(&root); len(errs) > 0 {
		return nil, errs
	}
	var cfg Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w (see the example configurations in the README)", err)
	}
	errs := cfg.buildEndpoints()
	cfg.applyDefaults()
	if errs = append(errs, cfg.validate()...); len(errs) > 0 {
		return nil, errs
	}
	return &cfg, nil
}

// refuseSecrets finds the keys that would hold a secret in the onprem: and
// cloud: blocks and in each endpoint of the endpoints: map.
func refuseSecrets(doc *yaml.Node) Errors {
	var errs Errors
	block := func(n *yaml.Node, prefix string, types ...string) {
		if n = resolve(n); n == nil || n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			for _, typ := range types {
				if where, ok := secretKeys[typ][k.Value]; ok {
					errs = append(errs, &Error{Key: prefix + "." + k.Value, Problem: fmt.Sprintf(
						"secrets are never read from the config file (line %d); remove it and set %s", k.Line, strings.ReplaceAll(where, "{p}", prefix))})
					break
				}
			}
		}
	}
	for _, root := range doc.Content {
		if root.Kind != yaml.MappingNode {
			continue
		}
		for i := 0; i+1 < len(root.Content); i += 2 {
			v := root.Content[i+1]
			switch root.Content[i].Value {
			case OnPremName:
				block(v, OnPremName, TypeEWS)
			case CloudName:
				block(v, CloudName, TypeGraph)
			case "state":
				block(v, "state", stateSecrets)
			case "endpoints":
				if v = resolve(v); v == nil || v.Kind != yaml.MappingNode {
					continue
				}
				for j := 0; j+1 < len(v.Content); j += 2 {
					ep := resolve(v.Content[j+1])
					types := []string{TypeEWS, TypeGraph} // no type yet: refuse what either would hold
					if ep != nil && ep.Kind == yaml.MappingNode {
						for _, kv := range mappingKeys(ep) {
							if kv[0].Value == "type" && (kv[1].Value == TypeEWS || kv[1].Value == TypeGraph) {
								types = []string{kv[1].Value}
							}
						}
					}
					block(ep, "endpoints."+v.Content[j].Value, types...)
				}
			}
		}
	}
	return errs
}

func (c *Config) applyDefaults() {
	for _, e := range c.endpoints {
		if o := e.EWS; o != nil && o.ServerVersion == "" {
			o.ServerVersion = "Exchange2016"
		}
		if cl := e.Graph; cl != nil {
			if cl.Cloud == "" {
				cl.Cloud = "global"
			}
			if cl.Auth == "" {
				cl.Auth = AuthCertificate
			}
		}
	}
	// With a database named, no file is: a default path would be a second
	// state that workers on other machines never see.
	if c.State.Path == "" && c.State.URL == "" {
		c.State.Path = DefaultStatePath
	}
	if c.AuditLog == "" {
		c.AuditLog = DefaultAuditLog
	}
	if c.Concurrency.Mailboxes == 0 {
		c.Concurrency.Mailboxes = 4
	}
	if c.Concurrency.EWS == 0 {
		c.Concurrency.EWS = 4
	}
	if c.Assessment.TenantMessageLimit == 0 {
		c.Assessment.TenantMessageLimit = 35 * MB
	}
}

func (c *Config) validate() Errors {
	var errs Errors
	bad := func(key, format string, args ...any) {
		errs = append(errs, &Error{Key: key, Problem: fmt.Sprintf(format, args...)})
	}
	if len(c.endpoints) == 0 && !c.RawEndpoints.declared() {
		bad("onprem", "neither onprem nor cloud is configured; configure at least one side (onprem:, cloud:, or named ones under endpoints:)")
	}
	for _, e := range c.endpoints {
		if e.EWS != nil {
			validateEWS(e.Key, e.EWS, bad)
		}
		if e.Graph != nil {
			validateGraph(e.Key, e.Graph, bad)
		}
	}
	validateState(&c.State, bad)
	if c.Concurrency.Mailboxes < 1 || c.Concurrency.Mailboxes > 64 {
		bad("concurrency.mailboxes", "%d is out of range; use 1 to 64", c.Concurrency.Mailboxes)
	}
	if c.Concurrency.EWS < 1 || c.Concurrency.EWS > 27 {
		bad("concurrency.ews", "%d is out of range; use 1 to 27 (Exchange's default EWSMaxConcurrency is 27 per account)", c.Concurrency.EWS)
	}
	for i, expr := range c.Filters.IncludeFolders {
		if _, err := regexp.Compile(expr); err != nil {
			bad(fmt.Sprintf("filters.include_folders[%d]", i), "%q is not a regular expression: %v", expr, err)
		}
	}
	for i, expr := range c.Filters.ExcludeFolders {
		if _, err := regexp.Compile(expr); err != nil {
			bad(fmt.Sprintf("filters.exclude_folders[%d]", i), "%q is not a regular expression: %v", expr, err)
		}
	}
	for i, m := range c.Filters.FolderMappings {
		if from, to, ok := strings.Cut(m, "->"); !ok || strings.TrimSpace(from) == "" || strings.TrimSpace(to) == "" {
			bad(fmt.Sprintf("filters.folder_mappings[%d]", i), "%q must read \"Old/Path -> New/Path\"", m)
		}
	}
	parseDate := func(key, raw string) time.Time {
		if raw == "" {
			return time.Time{}
		}
		t, err := ParseDate(raw)
		if err != nil {
			bad(key, "%q is not a date; write 2024-01-31 or 2024-01-31T08:00:00Z", raw)
		}
		return t
	}
	since := parseDate("filters.received_since", c.Filters.ReceivedSince)
	until := parseDate("filters.received_until", c.Filters.ReceivedUntil)
	if !since.IsZero() && !until.IsZero() && !since.Before(until) {
		bad("filters.received_until", "%s is not after filters.received_since %s", c.Filters.ReceivedUntil, c.Filters.ReceivedSince)
	}
	return errs
}

// validateEWS checks the settings of an ews endpoint; p is its key.
func validateEWS(p string, o *OnPrem, bad func(key, format string, args ...any)) {
	switch u, err := url.Parse(o.EWSURL); {
	case o.EWSURL == "":
		bad(p+".ews_url", "is required: the full EWS URL, e.g. https://mail.contoso.com/EWS/Exchange.asmx (exmigrate never uses Autodiscover)")
	case err != nil || u.Host == "":
		bad(p+".ews_url", "%q is not a URL: write it as https://mail.contoso.com/EWS/Exchange.asmx", o.EWSURL)
	case u.Scheme == "http" && !netcheck.IsLoopback(u.Hostname()):
		bad(p+".ews_url", "must be https:// (http:// is allowed only for loopback addresses): %s", o.EWSURL)
	case u.Scheme != "https" && u.Scheme != "http":
		bad(p+".ews_url", "must be https://, not %s://", u.Scheme)
	case u.User != nil:
		bad(p+".ews_url", "must not carry a user name or password; use %[1]s.username and %[1]s.password_env", p)
	}
	if o.Username == "" {
		bad(p+".username", "is required: the service account, e.g. svc-migrate (with %s.domain) or svc-migrate@contoso.com", p)
	} else if strings.Contains(o.Username, `\`) && o.Domain != "" {
		bad(p+".username", `names a domain (%s) and %s.domain is set too; write the domain in one place`, o.Username, p)
	}
	switch {
	case o.PasswordEnv == "" && o.PasswordFile == "":
		bad(p+".password_env", "or %s.password_file is required: name the environment variable or file that holds the service account's password", p)
	case o.PasswordEnv != "" && o.PasswordFile != "":
		bad(p+".password_env", "and %s.password_file are both set; keep one", p)
	case o.PasswordEnv != "" && !validEnvName(o.PasswordEnv):
		bad(p+".password_env", "%q is not an environment variable name (letters, digits and _; it names the variable, it is not the password)", o.PasswordEnv)
	}
	if !ews.ValidServerVersion(o.ServerVersion) {
		bad(p+".server_version", "%q is not an EWS schema version; use one of %s (Exchange 2019 and SE speak Exchange2016)", o.ServerVersion, strings.Join(ews.ServerVersions(), ", "))
	}
	if o.PublicFolderMailbox != "" && !strings.Contains(o.PublicFolderMailbox, "@") {
		bad(p+".public_folder_mailbox", "%q is not an SMTP address", o.PublicFolderMailbox)
	}
}

// validateGraph checks the settings of a graph endpoint; p is its key.
func validateGraph(p string, cl *Cloud, bad func(key, format string, args ...any)) {
	if !isGUIDOrDomain(cl.TenantID) {
		bad(p+".tenant_id", "is required: the directory (tenant) id GUID or the tenant's domain, e.g. contoso.onmicrosoft.com")
	}
	if cl.ClientID == "" && cl.Auth != AuthManagedIdentity && cl.Auth != AuthEnvironment {
		bad(p+".client_id", "is required for auth %s: the application (client) id of the app registration", cl.Auth)
	}
	if !contains(authMethods, cl.Auth) {
		bad(p+".auth", "%q is not supported; use one of %s", cl.Auth, strings.Join(authMethods, ", "))
	}
	if cl.Auth == AuthCertificate && cl.CertificatePath == "" {
		bad(p+".certificate_path", "is required with auth certificate: a PEM or PFX file with the certificate and its private key")
	}
	if cl.Auth == AuthClientSecret && cl.ClientSecretEnv == "" {
		bad(p+".client_secret_env", "is required with auth client-secret: name the environment variable that holds the secret")
	}
	for _, kv := range [][2]string{{p + ".client_secret_env", cl.ClientSecretEnv}, {p + ".certificate_password_env", cl.CertificatePasswordEnv}} {
		if kv[1] != "" && !validEnvName(kv[1]) {
			bad(kv[0], "%q is not an environment variable name (it names the variable, it is not the secret)", kv[1])
		}
	}
	if !contains(clouds, cl.Cloud) {
		bad(p+".cloud", "%q is not a Microsoft cloud; use one of %s", cl.Cloud, strings.Join(clouds, ", "))
	}
	switch cl.Archive {
	case "", ArchiveOff:
	case ArchivePreview:
		if !cl.FullFidelity {
			bad(p+".archive", "preview needs %s.full_fidelity: true (the archive is copied through the import/export API only)", p)
		}
		if cl.Cloud != "" && cl.Cloud != "global" {
			bad(p+".archive", "preview is served in the global cloud only, not in %s", cl.Cloud)
		}
	default:
		bad(p+".archive", "%q is not an archive setting; use off (the default: Graph v1.0 cannot reach the archive) or preview (Graph's beta import/export API, subject to change)", cl.Archive)
	}
	for _, kv := range [][2]string{{p + ".graph_base_url", cl.GraphBaseURL}, {p + ".authority_host", cl.AuthorityHost}} {
		if kv[1] == "" {
			continue
		}
		if u, err := url.Parse(kv[1]); err != nil || u.Scheme != "https" || u.Host == "" {
			bad(kv[0], "%q must be an https:// URL", kv[1])
		}
	}
}

// ParseDate accepts a calendar date (midnight UTC) or an RFC 3339 time.
func ParseDate(s string) (time.Time, error) {
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	return time.Parse(time.RFC3339, s)
}

// Path resolves a path from the config file relative to the file's folder.
func (c *Config) Path(p string) string {
	if p == "" || filepath.IsAbs(p) || c.dir == "" {
		return p
	}
	return filepath.Join(c.dir, p)
}

// EWSPassword reads the password of the endpoint named onprem.
func (c *Config) EWSPassword() (secret.Secret, error) {
	e := c.Endpoint(OnPremName)
	if e == nil {
		return secret.Secret{}, errors.New("onprem is not configured")
	}
	return c.Password(e)
}

// GraphClientSecret reads the client secret of the endpoint named cloud.
func (c *Config) GraphClientSecret() (secret.Secret, error) {
	e := c.Endpoint(CloudName)
	if e == nil {
		return secret.Secret{}, nil
	}
	return c.ClientSecret(e)
}

// CertificatePassword reads the certificate password of the endpoint named
// cloud, if one is named.
func (c *Config) CertificatePassword() (secret.Secret, error) {
	e := c.Endpoint(CloudName)
	if e == nil {
		return secret.Secret{}, nil
	}
	return c.CertificatePasswordOf(e)
}

// Password reads an ews endpoint's password from where the config says it is.
func (c *Config) Password(e *Endpoint) (secret.Secret, error) {
	o := e.EWS
	if o == nil {
		return secret.Secret{}, fmt.Errorf("%s: is a %s endpoint, not ews", e.Key, e.Type)
	}
	if o.PasswordEnv != "" {
		s, err := secret.FromEnv(o.PasswordEnv)
		if err != nil {
			return s, fmt.Errorf("%s.password_env: %w: export %s with the service account's password", e.Key, err, o.PasswordEnv)
		}
		return s, nil
	}
	s, err := secret.FromFile(c.Path(o.PasswordFile))
	if err != nil {
		return s, fmt.Errorf("%s.password_file: %w", e.Key, err)
	}
	return s, nil
}

// ClientSecret reads a graph endpoint's client secret (auth client-secret);
// empty when none is named.
func (c *Config) ClientSecret(e *Endpoint) (secret.Secret, error) {
	if e.Graph == nil || e.Graph.ClientSecretEnv == "" {
		return secret.Secret{}, nil
	}
	s, err := secret.FromEnv(e.Graph.ClientSecretEnv)
	if err != nil {
		return s, fmt.Errorf("%s.client_secret_env: %w: export %s with the app registration's client secret", e.Key, err, e.Graph.ClientSecretEnv)
	}
	return s, nil
}

// CertificatePasswordOf reads a graph endpoint's certificate password, if
// one is named.
func (c *Config) CertificatePasswordOf(e *Endpoint) (secret.Secret, error) {
	if e.Graph == nil || e.Graph.CertificatePasswordEnv == "" {
		return secret.Secret{}, nil
	}
	s, err := secret.FromEnv(e.Graph.CertificatePasswordEnv)
	if err != nil {
		return s, fmt.Errorf("%s.certificate_password_env: %w", e.Key, err)
	}
	return s, nil
}

// EWSUser is the account as NTLM wants it: DOMAIN\user, or a UPN.
func (o *OnPrem) EWSUser() string {
	if o.Domain != "" && !strings.Contains(o.Username, "@") {
		return o.Domain + `\` + o.Username
	}
	return o.Username
}

var (
	envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	guidRE    = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	domainRE  = regexp.MustCompile(`^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$`)
)

func validEnvName(s string) bool { return envNameRE.MatchString(s) }

func isGUIDOrDomain(s string) bool { return guidRE.MatchString(s) || domainRE.MatchString(s) }

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Size is a byte count written with an optional unit: 35MB, 150 MB, 1.5GB,
// 1048576. Units are binary (1 MB = 1024 KB), as Exchange counts them.
type Size int64

// Size units.
const (
	KB Size = 1 << 10
	MB Size = 1 << 20
	GB Size = 1 << 30
)

// ParseSize reads a Size.
func ParseSize(s string) (Size, error) {
	t := strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(s), " ", ""))
	mult := Size(1)
	for _, u := range []struct {
		suffix string
		mult   Size
	}{{"GB", GB}, {"MB", MB}, {"KB", KB}, {"B", 1}} {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSuffix(t, u.suffix), u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f < 0 || f*float64(mult) > 1<<50 {
		return 0, fmt.Errorf("%q is not a size: write e.g. 35MB, 150 MB or 1GB", s)
	}
	return Size(f * float64(mult)), nil
}

// UnmarshalYAML reads sizes written as numbers or with units.
func (s *Size) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseSize(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*s = v
	return nil
}

// Bytes is the size as an int64.
func (s Size) Bytes() int64 { return int64(s) }
