package logging

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
)

func TestNew(t *testing.T) {
	tests := []struct {
		level, format string
		wantJSON      bool
		wantDebug     bool
	}{
		{"info", "text", false, false},
		{"debug", "json", true, true},
		{"WARN", "JSON", true, false},
	}
	for _, tt := range tests {
		level, err := ParseLevel(tt.level)
		if err != nil {
			t.Fatal(err)
		}
		format, err := ParseFormat(tt.format)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		log := New(&buf, level, format)
		log.Debug("dbg")
		log.Warn("careful", "mailbox", "a@contoso.com")
		out := buf.String()
		if got := strings.Contains(out, "dbg"); got != tt.wantDebug {
			t.Errorf("%s/%s: debug line present = %v, want %v", tt.level, tt.format, got, tt.wantDebug)
		}
		firstLine := strings.SplitN(strings.TrimSpace(out), "\n", 2)[0]
		isJSON := json.Valid([]byte(firstLine))
		if isJSON != tt.wantJSON {
			t.Errorf("%s/%s: JSON = %v, want %v: %q", tt.level, tt.format, isJSON, tt.wantJSON, out)
		}
		if !strings.Contains(out, "a@contoso.com") {
			t.Errorf("attribute missing: %q", out)
		}
	}
}

func TestParseErrors(t *testing.T) {
	if _, err := ParseLevel("loud"); err == nil || err.Error() != `--log-level "loud": use debug, info, warn or error` {
		t.Errorf("ParseLevel(loud) = %v", err)
	}
	if _, err := ParseFormat("xml"); err == nil || err.Error() != `--log-format "xml": use text or json` {
		t.Errorf("ParseFormat(xml) = %v", err)
	}
	if l, _ := ParseLevel("error"); l != slog.LevelError {
		t.Errorf("ParseLevel(error) = %v", l)
	}
}
