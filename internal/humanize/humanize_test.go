package humanize

import (
	"math"
	"testing"
)

func TestBytes(t *testing.T) {
	tests := []struct {
		n    int64
		want string
	}{
		{0, "0 B"},
		{1, "1 B"},
		{1023, "1023 B"},
		{1024, "1.0 KB"},
		{1536, "1.5 KB"},
		{100 << 10, "100 KB"},
		{35 << 20, "35.0 MB"},
		{150 << 20, "150 MB"},
		{162 << 20, "162 MB"},
		{3 << 30, "3.0 GB"},
		{100 << 30, "100 GB"},
		{5 << 40, "5.0 TB"},
		{1 << 50, "1.0 PB"},
		{math.MaxInt64, "8192 PB"},
		{-1, "-1 B"},
		{math.MinInt64, "-9223372036854775808 B"},
	}
	for _, tt := range tests {
		if got := Bytes(tt.n); got != tt.want {
			t.Errorf("Bytes(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

func TestCount(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 20000: "20,000", 1234567: "1,234,567",
		-1000: "-1,000", math.MinInt64: "-9,223,372,036,854,775,808"} {
		if got := Count(n); got != want {
			t.Errorf("Count(%d) = %q, want %q", n, got, want)
		}
	}
}
