package config

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/exmigrate/exmigrate/internal/secret"
)

// DefaultStatePath is the SQLite state file when the config names neither
// a file nor a database.
const DefaultStatePath = "exmigrate-state.db"

// DefaultAuditLog is the audit file when the config names none. With a
// PostgreSQL state and audit_log left at it, the commands audit to the
// state database's table instead (cmd/exmigrate/audit.go).
const DefaultAuditLog = "exmigrate-audit.jsonl"

// DefaultStatePasswordEnv holds the state database's password when the
// config names neither state.password_env nor state.password_file.
const DefaultStatePasswordEnv = "EXMIGRATE_STATE_PASSWORD"

// stateSecrets is the secretKeys entry of the state: block.
const stateSecrets = "state"

// sslModes are libpq's, weakest first.
var sslModes = []string{"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}

// validateState checks the state: block. A URL is checked here as far as
// it can be without the server: the database itself is checked by the
// store when it connects.
func validateState(st *State, bad func(key, format string, args ...any)) {
	if st.URL == "" {
		if st.PasswordEnv != "" || st.PasswordFile != "" {
			bad("state.password_env", "and state.password_file are for a PostgreSQL state (state.url); a state file needs no password")
		}
		return
	}
	if st.Path != "" {
		bad("state.path", "and state.url are both set; keep one: path for a SQLite file on this machine, url for a PostgreSQL database shared by workers")
	}
	const example = "postgres://exmigrate@db.contoso.com:5432/exmigrate"
	u, err := url.Parse(st.URL)
	switch {
	case err != nil:
		// url's error quotes the URL, which may hold a password.
		bad("state.url", "is not a URL: write it as %s", example)
		return
	case u.Scheme != "postgres" && u.Scheme != "postgresql":
		bad("state.url", "must be a postgres:// URL (for a state file on this machine use state.path): write it as %s", example)
		return
	}
	q := u.Query()
	if _, has := u.User.Password(); has || q.Has("password") {
		bad("state.url", "must not carry a password: remove it from the URL and export %s with it, or name a variable in state.password_env or a file in state.password_file",
			DefaultStatePasswordEnv)
	}
	if u.Host == "" && q.Get("host") == "" {
		bad("state.url", "names no server: write it as %s (or ?host=/run/postgresql for a local socket)", example)
	}
	if strings.Trim(u.Path, "/") == "" && q.Get("dbname") == "" {
		bad("state.url", "names no database: add it as the path, e.g. %s", example)
	}
	if m := q.Get("sslmode"); m != "" && !contains(sslModes, m) {
		bad("state.url", "sslmode=%s is not a TLS mode; use verify-full (the default: the server's certificate is checked), verify-ca, require, or disable on a trusted network only", m)
	}
	switch {
	case st.PasswordEnv != "" && st.PasswordFile != "":
		bad("state.password_env", "and state.password_file are both set; keep one")
	case st.PasswordEnv != "" && !validEnvName(st.PasswordEnv):
		bad("state.password_env", "%q is not an environment variable name (letters, digits and _; it names the variable, it is not the password)", st.PasswordEnv)
	}
}

// StatePassword reads the state database's password: from the variable
// state.password_env names, the file state.password_file names (relative
// to the config file), or else EXMIGRATE_STATE_PASSWORD when it is set.
// With none of them it is empty: the server may not ask for one (a local
// socket, a client certificate) or libpq's password file may hold it.
func (c *Config) StatePassword() (secret.Secret, error) {
	st := c.State
	switch {
	case st.PasswordEnv != "":
		s, err := secret.FromEnv(st.PasswordEnv)
		if err != nil {
			return s, fmt.Errorf("state.password_env: %w: export %s with the state database user's password", err, st.PasswordEnv)
		}
		return s, nil
	case st.PasswordFile != "":
		s, err := secret.FromFile(c.Path(st.PasswordFile))
		if err != nil {
			return s, fmt.Errorf("state.password_file: %w", err)
		}
		return s, nil
	}
	s, err := secret.FromEnv(DefaultStatePasswordEnv)
	if err != nil {
		return secret.Secret{}, nil // not set: no password, or libpq's own sources
	}
	return s, nil
}
