package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStateSettings(t *testing.T) {
	tests := []struct {
		name  string
		state string // the state: block's lines
		want  string // the error; "" for a valid config
	}{
		{"default file", "", ""},
		{"a file", "  path: /var/lib/exmigrate/state.db\n", ""},
		{"a database", "  url: postgres://exm@db.contoso.com:5432/exmigrate\n", ""},
		{"a local socket", "  url: postgres://exm@/exmigrate?host=/run/postgresql\n", ""},
		{"a database and its password file", "  url: postgresql://exm@db/exm?sslmode=verify-ca\n  password_file: pg.txt\n", ""},
		{"a database and its password variable", "  url: postgres://exm@db/exm\n  password_env: PG_PW\n", ""},
		{"password in the file", "  url: postgres://exm@db/exm\n  password: hunter2\n",
			"state.password: secrets are never read from the config file (line 7); remove it and set state.password_env or state.password_file (or export EXMIGRATE_STATE_PASSWORD)"},
		{"password in the URL", "  url: postgres://exm:hunter2@db/exm\n",
			"state.url: must not carry a password: remove it from the URL and export EXMIGRATE_STATE_PASSWORD with it, or name a variable in state.password_env or a file in state.password_file"},
		{"password as a URL parameter", "  url: postgres://exm@db/exm?password=hunter2\n",
			"state.url: must not carry a password: remove it from the URL and export EXMIGRATE_STATE_PASSWORD with it, or name a variable in state.password_env or a file in state.password_file"},
		{"no database", "  url: postgres://exm@db.contoso.com:5432\n",
			"state.url: names no database: add it as the path, e.g. postgres://exmigrate@db.contoso.com:5432/exmigrate"},
		{"no server", "  url: postgres:///exm\n",
			"state.url: names no server: write it as postgres://exmigrate@db.contoso.com:5432/exmigrate (or ?host=/run/postgresql for a local socket)"},
		{"another scheme", "  url: mysql://exm@db/exm\n",
			"state.url: must be a postgres:// URL (for a state file on this machine use state.path): write it as postgres://exmigrate@db.contoso.com:5432/exmigrate"},
		{"a path as url", "  url: /var/lib/state.db\n",
			"state.url: must be a postgres:// URL (for a state file on this machine use state.path): write it as postgres://exmigrate@db.contoso.com:5432/exmigrate"},
		{"bad sslmode", "  url: postgres://exm@db/exm?sslmode=on\n",
			"state.url: sslmode=on is not a TLS mode; use verify-full (the default: the server's certificate is checked), verify-ca, require, or disable on a trusted network only"},
		{"file and database", "  path: state.db\n  url: postgres://exm@db/exm\n",
			"state.path: and state.url are both set; keep one: path for a SQLite file on this machine, url for a PostgreSQL database shared by workers"},
		{"two password sources", "  url: postgres://exm@db/exm\n  password_env: PG_PW\n  password_file: pg.txt\n",
			"state.password_env: and state.password_file are both set; keep one"},
		{"password value as env name", "  url: postgres://exm@db/exm\n  password_env: 'P@ss w0rd!'\n",
			`state.password_env: "P@ss w0rd!" is not an environment variable name (letters, digits and _; it names the variable, it is not the password)`},
		{"password for a file", "  path: state.db\n  password_env: PG_PW\n",
			"state.password_env: and state.password_file are for a PostgreSQL state (state.url); a state file needs no password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := goodOnPrem
			if tt.state != "" {
				doc += "state:\n" + tt.state
			}
			cfg, err := Parse([]byte(doc))
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if (cfg.State.URL == "") == (cfg.State.Path == "") {
					t.Errorf("state = %+v, want exactly one of path and url", cfg.State)
				}
				return
			}
			if err == nil || err.Error() != tt.want {
				t.Fatalf("error\n got: %v\nwant: %s", err, tt.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("the error shows the password: %v", err)
			}
		})
	}
}

func TestStatePassword(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pg.txt"), []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	load := func(t *testing.T, state string) *Config {
		t.Helper()
		p := filepath.Join(dir, "exmigrate.yaml")
		if err := os.WriteFile(p, []byte(goodOnPrem+"state:\n  url: postgres://exm@db/exm\n"+state), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := Load(p)
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	tests := []struct {
		name, state string
		env         map[string]string
		want        string
		wantErr     string
	}{
		{"none anywhere", "", nil, "", ""},
		{"the default variable", "", map[string]string{DefaultStatePasswordEnv: "from-default"}, "from-default", ""},
		{"a named variable", "  password_env: EXM_TEST_PG_PW\n",
			map[string]string{"EXM_TEST_PG_PW": "from-named", DefaultStatePasswordEnv: "not-this"}, "from-named", ""},
		{"a named variable not set", "  password_env: EXM_TEST_PG_PW\n", nil, "",
			"state.password_env: environment variable EXM_TEST_PG_PW: secret is empty or not set: export EXM_TEST_PG_PW with the state database user's password"},
		{"a file beside the config", "  password_file: pg.txt\n", map[string]string{DefaultStatePasswordEnv: "not-this"}, "from-file", ""},
		{"a missing file", "  password_file: nope.txt\n", nil, "", "state.password_file: secret file: open " + filepath.Join(dir, "nope.txt") + ": no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(DefaultStatePasswordEnv, "")
			os.Unsetenv(DefaultStatePasswordEnv)
			t.Setenv("EXM_TEST_PG_PW", "")
			os.Unsetenv("EXM_TEST_PG_PW")
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			pw, err := load(t, tt.state).StatePassword()
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err = %v, want %s", err, tt.wantErr)
				}
				return
			}
			if err != nil || pw.Reveal() != tt.want {
				t.Errorf("StatePassword = %q, %v; want %q", pw.Reveal(), err, tt.want)
			}
		})
	}
}
