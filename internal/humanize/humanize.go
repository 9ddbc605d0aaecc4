// Package humanize formats quantities for people: the one byte-size format
// and the one digit grouping shared by the assessment findings, the reports
// and the command line.
package humanize

import (
	"fmt"
	"strconv"
	"strings"
)

// Bytes prints a size the way Exchange administrators read it: 1024-based,
// one decimal below 100 of a unit and none from 100 up ("1.5 KB", "150 MB",
// "3.0 GB"), bytes below 1 KB ("1023 B"), PB at most. A negative size,
// which a real assessment never has, is printed as a plain number of bytes.
func Bytes(n int64) string {
	const unit = 1024
	if n < 0 {
		// Show the number rather than guess (and avoid -MinInt64 overflowing).
		return fmt.Sprintf("%d B", n)
	}
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v := float64(n)
	for _, u := range []string{"KB", "MB", "GB", "TB", "PB"} {
		v /= unit
		if v < unit || u == "PB" {
			if v >= 100 {
				return fmt.Sprintf("%.0f %s", v, u)
			}
			return fmt.Sprintf("%.1f %s", v, u)
		}
	}
	return ""
}

// Count writes n with its digits grouped by thousands: 20,000.
func Count(n int64) string {
	if n < 0 {
		return "-" + groupDigits(strconv.FormatUint(uint64(-(n+1))+1, 10)) // also right for MinInt64
	}
	return groupDigits(strconv.FormatInt(n, 10))
}

func groupDigits(s string) string {
	if len(s) <= 3 {
		return s
	}
	var b strings.Builder
	pre := len(s) % 3
	if pre > 0 {
		b.WriteString(s[:pre])
	}
	for i := pre; i < len(s); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(s[i : i+3])
	}
	return b.String()
}
