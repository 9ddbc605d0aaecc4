package retryafter

import (
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"2", 2 * time.Second, true},
		{"2.128", 2128 * time.Millisecond, true},
		{"0.6", 600 * time.Millisecond, true},
		{" 10 ", 10 * time.Second, true},
		{"0", 0, true},
		{".5", 500 * time.Millisecond, true},
		{"86400", Max, true},
		{"1e9", Max, true},
		{"Fri, 02 Jan 2026 03:04:15 GMT", 10 * time.Second, true},
		{"Friday, 02-Jan-26 03:04:15 GMT", 10 * time.Second, true},
		{"Fri Jan  2 03:04:15 2026", 10 * time.Second, true},
		{"Fri, 02 Jan 2026 03:00:00 GMT", 0, true}, // in the past
		{"Fri, 01 Jan 7000 00:00:00 GMT", Max, true},
		{"", 0, false},
		{"-1", 0, false},
		{"soon", 0, false},
		{"NaN", 0, false},
		{"Infinity", 0, false},
		{"1e400", 0, false},
		{"0x10", 0, false},
		{"1.2.3", 0, false},
		{"٣", 0, false},
	}
	for _, tc := range tests {
		got, ok := Parse(tc.in, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Parse(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// FuzzParse checks that no value gives a wait out of [0, Max], that a
// refused value gives no wait, and that a later now never waits longer.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"2", "2.128", "Fri, 02 Jan 2026 03:04:15 GMT", "", "-1", "1e400", "0x10", "Infinity", "٣"} {
		f.Add(s)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := Parse(s, now)
		if d < 0 || d > Max {
			t.Fatalf("Parse(%q) = %v out of range", s, d)
		}
		if !ok && d != 0 {
			t.Fatalf("Parse(%q) = %v with ok=false", s, d)
		}
		later, ok2 := Parse(s, now.Add(time.Second))
		if ok2 != ok || later > d {
			t.Fatalf("Parse(%q) = %v, %v at now but %v, %v a second later", s, d, ok, later, ok2)
		}
	})
}
