package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDiscoverOrder(t *testing.T) {
	// files are created relative to a scratch root: cwd/ is the current
	// folder, user/ the user config folder, other/ anywhere else.
	tests := []struct {
		name     string
		files    []string
		flag     string // relative to the root
		env      string // relative to the root
		noUser   bool   // os.UserConfigDir fails
		want     string // relative to the root
		wantFrom string
		wantErr  string
	}{
		{name: "flag wins over everything", files: []string{"other/a.yaml", "other/b.yaml", "cwd/exmigrate.yaml", "user/exmigrate/config.yaml"},
			flag: "other/a.yaml", env: "other/b.yaml", want: "other/a.yaml", wantFrom: "--config"},
		{name: "environment over the folders", files: []string{"other/b.yaml", "cwd/exmigrate.yaml", "cwd/config.yaml"},
			env: "other/b.yaml", want: "other/b.yaml", wantFrom: "$EXMIGRATE_CONFIG"},
		{name: "exmigrate.yaml before config.yaml", files: []string{"cwd/exmigrate.yaml", "cwd/config.yaml", "user/exmigrate/config.yaml"},
			want: "cwd/exmigrate.yaml", wantFrom: "the current folder"},
		{name: "config.yaml in the current folder", files: []string{"cwd/config.yaml", "user/exmigrate/config.yaml"},
			want: "cwd/config.yaml", wantFrom: "the current folder"},
		{name: "the user config folder last", files: []string{"user/exmigrate/config.yaml"},
			want: "user/exmigrate/config.yaml", wantFrom: "the user config folder"},
		{name: "nothing anywhere", wantErr: "no configuration file: give --config FILE or set $EXMIGRATE_CONFIG, or put one at ./exmigrate.yaml, ./config.yaml, "},
		{name: "no user config folder", noUser: true, wantErr: "put one at ./exmigrate.yaml, ./config.yaml (looked for"},
		{name: "named by the flag but missing", files: []string{"cwd/exmigrate.yaml"}, flag: "other/gone.yaml",
			wantErr: "gone.yaml (from --config) does not exist: check the path"},
		{name: "named by the environment but missing", files: []string{"cwd/exmigrate.yaml"}, env: "other/gone.yaml",
			wantErr: "gone.yaml (from $EXMIGRATE_CONFIG) does not exist"},
		{name: "named a folder", files: []string{"other/x/a.yaml"}, flag: "other/x", wantErr: "(from --config) is a folder: name the YAML file in it"},
		{name: "exmigrate.yaml is a folder", files: []string{"cwd/exmigrate.yaml/x", "cwd/config.yaml"}, wantErr: "exmigrate.yaml is a folder, not a YAML file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			for _, f := range append(tt.files, "cwd/.keep", "user/.keep") {
				p := filepath.Join(root, f)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte("{}\n"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			abs := func(p string) string {
				if p == "" {
					return ""
				}
				return filepath.Join(root, p)
			}
			l := Lookup{
				Flag:   abs(tt.flag),
				Getenv: func(k string) string { return map[string]string{EnvConfig: abs(tt.env)}[k] },
				Dir:    filepath.Join(root, "cwd"),
				UserConfigDir: func() (string, error) {
					if tt.noUser {
						return "", errors.New("neither $XDG_CONFIG_HOME nor $HOME are defined")
					}
					return filepath.Join(root, "user"), nil
				},
			}
			got, err := Discover(l)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Discover = %+v, %v; want an error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Path != abs(tt.want) || got.From != tt.wantFrom {
				t.Errorf("Discover = %+v, want %s from %s", got, abs(tt.want), tt.wantFrom)
			}
		})
	}
}

func TestDiscoverNotFoundListsEveryPlace(t *testing.T) {
	_, err := Discover(Lookup{Getenv: func(string) string { return "" }, Dir: t.TempDir(),
		UserConfigDir: func() (string, error) { return "/home/ann/.config", nil }})
	var nf *NotFoundError
	if !errors.As(err, &nf) {
		t.Fatalf("err = %v, want a *NotFoundError", err)
	}
	want := []string{"./exmigrate.yaml", "./config.yaml", filepath.Join("/home/ann/.config", "exmigrate", "config.yaml")}
	if strings.Join(nf.Tried, "|") != strings.Join(want, "|") {
		t.Errorf("tried %q, want %q", nf.Tried, want)
	}
}
