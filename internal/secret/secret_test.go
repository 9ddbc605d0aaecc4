package secret

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const value = "hunter2-Pa$$w0rd"

func TestSecretNeverPrints(t *testing.T) {
	s := New(value)
	type holder struct {
		User string
		Pass Secret
	}
	h := holder{User: "svc", Pass: s}
	outputs := map[string]string{
		"%v":      fmt.Sprintf("%v", s),
		"%s":      fmt.Sprintf("%s", s),
		"%q":      fmt.Sprintf("%q", s),
		"%x":      fmt.Sprintf("%x", s),
		"%#v":     fmt.Sprintf("%#v", s),
		"%+v":     fmt.Sprintf("%+v", h),
		"struct":  fmt.Sprintf("%#v", h),
		"error":   fmt.Errorf("login with %v failed", s).Error(),
		"Sprint":  fmt.Sprint(s),
		"Println": fmt.Sprintln(h),
	}
	j, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	outputs["json"] = string(j)
	for _, format := range []string{"text", "json"} {
		var buf bytes.Buffer
		var handler slog.Handler = slog.NewTextHandler(&buf, nil)
		if format == "json" {
			handler = slog.NewJSONHandler(&buf, nil)
		}
		slog.New(handler).Info("connecting", "password", s, "holder", h)
		outputs["slog-"+format] = buf.String()
	}
	for name, out := range outputs {
		if strings.Contains(out, value) || strings.Contains(out, fmt.Sprintf("%x", value)) {
			t.Errorf("%s leaks the secret: %s", name, out)
		}
		if !strings.Contains(out, Redacted) {
			t.Errorf("%s does not say %s: %s", name, Redacted, out)
		}
	}
	if s.Reveal() != value {
		t.Errorf("Reveal() = %q, want the value", s.Reveal())
	}
}

func TestFromEnvAndFile(t *testing.T) {
	t.Setenv("EXM_TEST_SECRET", value)
	s, err := FromEnv("EXM_TEST_SECRET")
	if err != nil || s.Reveal() != value {
		t.Fatalf("FromEnv = %v, %v", s.Reveal(), err)
	}
	if _, err := FromEnv("EXM_TEST_SECRET_UNSET"); !errors.Is(err, ErrMissing) || !strings.Contains(err.Error(), "EXM_TEST_SECRET_UNSET") {
		t.Errorf("unset variable: err = %v, want ErrMissing naming the variable", err)
	}

	dir := t.TempDir()
	path := filepath.Join(dir, "pw")
	if err := os.WriteFile(path, []byte(value+"\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err = FromFile(path)
	if err != nil || s.Reveal() != value {
		t.Fatalf("FromFile = %q, %v", s.Reveal(), err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := FromFile(empty); !errors.Is(err, ErrMissing) {
		t.Errorf("empty file: err = %v, want ErrMissing", err)
	}
	if _, err := FromFile(filepath.Join(dir, "nope")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: err = %v, want ErrNotExist", err)
	}
}
