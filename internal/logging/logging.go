// Package logging builds the slog.Logger the commands hand down: text for a
// person at a terminal, JSON for log collectors.
package logging

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// Format is the log line format.
type Format string

// Formats.
const (
	Text Format = "text"
	JSON Format = "json"
)

// ParseLevel accepts debug, info, warn and error.
func ParseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.TrimSpace(s))); err != nil {
		return 0, fmt.Errorf("--log-level %q: use debug, info, warn or error", s)
	}
	return l, nil
}

// ParseFormat accepts text and json.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(strings.TrimSpace(s))); f {
	case Text, JSON:
		return f, nil
	}
	return "", fmt.Errorf("--log-format %q: use text or json", s)
}

// New returns a logger writing to w.
func New(w io.Writer, level slog.Level, format Format) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == JSON {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// Discard is a logger that writes nothing, for callers that pass none.
func Discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
