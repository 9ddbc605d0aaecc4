// Package secret holds credentials so that they cannot leak by accident:
// a Secret prints, logs and marshals as REDACTED, and only Reveal gives the
// value, at the one place that hands it to a protocol.
package secret

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
)

// Redacted is what a Secret shows instead of its value.
const Redacted = "REDACTED"

// Secret is a credential. The zero value is the empty secret.
type Secret struct {
	value string
}

// New wraps a value.
func New(value string) Secret { return Secret{value: value} }

// Reveal returns the value. Call it only where the value goes on the wire.
func (s Secret) Reveal() string { return s.value }

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s.value == "" }

// String implements fmt.Stringer.
func (s Secret) String() string { return Redacted }

// GoString implements fmt.GoStringer, for %#v.
func (s Secret) GoString() string { return Redacted }

// Format makes every verb (%v %s %q %x %d ...) print REDACTED.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(Redacted)) }

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(Redacted) }

// MarshalJSON keeps the value out of JSON documents.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + Redacted + `"`), nil }

// MarshalText keeps the value out of text encodings (YAML, XML attributes).
func (s Secret) MarshalText() ([]byte, error) { return []byte(Redacted), nil }

// ErrMissing means the named source holds no secret.
var ErrMissing = errors.New("secret is empty or not set")

// FromEnv reads a secret from an environment variable.
func FromEnv(name string) (Secret, error) {
	v, ok := os.LookupEnv(name)
	if !ok || v == "" {
		return Secret{}, fmt.Errorf("environment variable %s: %w", name, ErrMissing)
	}
	return New(v), nil
}

// FromFile reads a secret from a file, without a trailing newline. The
// error names the file, never its content.
func FromFile(path string) (Secret, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Secret{}, fmt.Errorf("secret file: %w", err)
	}
	v := strings.TrimRight(string(b), "\r\n")
	if v == "" {
		return Secret{}, fmt.Errorf("secret file %s: %w", path, ErrMissing)
	}
	return New(v), nil
}
