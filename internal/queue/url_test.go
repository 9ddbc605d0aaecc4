package queue

import (
	"net/url"
	"strings"
	"testing"
)

// poolConfig reads the state URL; its errors never repeat the URL, which
// may hold a password, and a URL without sslmode gets verify-full.
func FuzzPoolConfigKeepsPasswordOut(f *testing.F) {
	for _, s := range []string{
		"postgres://u:SECRETPW@db:5432/exm",
		"postgres://u:SECRETPW@db:notaport/exm",
		"postgresql://u:SECRETPW@/exm?host=/tmp&sslmode=disable",
		"mysql://u:SECRETPW@db/exm",
		"postgres://u:SECRETPW@db/exm?connect_timeout=x",
		"%zz SECRETPW",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		cfg, err := poolConfig(raw)
		if err != nil {
			if strings.Contains(err.Error(), "SECRETPW") {
				t.Fatalf("the error repeats the password: %v", err)
			}
			if u, perr := url.Parse(raw); perr == nil && u.User != nil {
				if pw, ok := u.User.Password(); ok && len(pw) >= 4 && strings.Contains(err.Error(), pw) {
					t.Fatalf("the error repeats the password %q: %v", pw, err)
				}
			}
			return
		}
		if cfg.ConnConfig.ConnectTimeout == 0 || cfg.MaxConns < 1 {
			t.Fatalf("%q: connect timeout %s, max conns %d", raw, cfg.ConnConfig.ConnectTimeout, cfg.MaxConns)
		}
	})
}

func TestPoolConfig(t *testing.T) {
	tests := []struct {
		url      string
		ok       bool
		tls      bool // sslmode verify-full added
		maxConns int32
	}{
		{"postgres://u@db:5432/exm", true, true, 8},
		{"postgres://u@db:5432/exm?sslmode=disable", true, false, 8},
		{"postgres://u@db:5432/exm?sslmode=disable&pool_max_conns=3", true, false, 3},
		{"mysql://u@db/exm", false, false, 0},
		{"postgres://u@db:5432/exm?sslmode=nonsense", false, false, 0},
	}
	for _, tt := range tests {
		cfg, err := poolConfig(tt.url)
		if (err == nil) != tt.ok {
			t.Errorf("%s: %v, want ok=%v", tt.url, err, tt.ok)
			continue
		}
		if err != nil {
			continue
		}
		if got := cfg.ConnConfig.TLSConfig != nil; got != tt.tls {
			t.Errorf("%s: TLS %v, want %v", tt.url, got, tt.tls)
		}
		if cfg.MaxConns != tt.maxConns {
			t.Errorf("%s: %d connections, want %d", tt.url, cfg.MaxConns, tt.maxConns)
		}
	}
}
