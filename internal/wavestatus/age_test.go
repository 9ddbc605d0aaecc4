package wavestatus

import (
	"strings"
	"testing"
	"time"
)

func TestParseAge(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr string
	}{
		{"30d", 30 * 24 * time.Hour, ""},
		{" 2W ", 14 * 24 * time.Hour, ""},
		{"12h", 12 * time.Hour, ""},
		{"90m", 90 * time.Minute, ""},
		{"3650d", 3650 * 24 * time.Hour, ""},
		{"3651d", 0, "out of range"},
		{"0d", 0, "out of range"},
		{"-1d", 0, "give an age like"},
		{"+1d", 0, "give an age like"},
		{"30", 0, "give an age like"},
		{"30s", 0, "give an age like"},
		{"d", 0, "give an age like"},
		{"", 0, "give an age like"},
		{"1.5d", 0, "give an age like"},
		{"99999999999999999999d", 0, "give an age like"},
	}
	for _, tt := range tests {
		got, err := ParseAge(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "--older-than") {
				t.Errorf("ParseAge(%q) = %v, %v; want an error with %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseAge(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func FuzzParseAge(f *testing.F) {
	for _, s := range []string{"30d", "2w", "12h", "90m", "0d", "-1d", "", "1e3d", "9223372036854775807m"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseAge(s)
		if err != nil {
			return
		}
		if d <= 0 || d > 10*365*24*time.Hour {
			t.Fatalf("ParseAge(%q) = %v: outside the range it promises", s, d)
		}
	})
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]Format{"": FormatTable, "table": FormatTable, "JSON": FormatJSON, " csv ": FormatCSV} {
		if got, err := ParseFormat(in); err != nil || got != want {
			t.Errorf("ParseFormat(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseFormat("yaml"); err == nil || !strings.Contains(err.Error(), "use table, json or csv") {
		t.Errorf("ParseFormat(yaml) error = %v", err)
	}
}

func FuzzParseFormat(f *testing.F) {
	for _, s := range []string{"table", "JSON", " csv ", "", "yaml", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseFormat(s)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "-o ") {
				t.Fatalf("error %q does not name -o", err)
			}
			return
		}
		if got != FormatTable && got != FormatJSON && got != FormatCSV {
			t.Fatalf("ParseFormat(%q) = %q", s, got)
		}
	})
}
