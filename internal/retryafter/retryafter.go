package wire

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ParseRetryAfter reads a Retry-After header: delta seconds (Graph sends
// fractional ones such as "2.128") or an HTTP date. A date in the past means
// no wait. ok is false for an empty or malformed value.
func ParseRetryAfter(v string, now time.Time) (d time.Duration, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if c := v[0]; c >= '0' && c <= '9' || c == '.' {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
			return 0, false
		}
		// Beyond a day is nonsense; clamp rather than overflow.
		if f > 86400 {
			f = 86400
		}
		return time.Duration(f * float64(time.Second)), true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	// Far-future dates would overflow a Duration; a day is the most we wait.
	if t.After(now.Add(24 * time.Hour)) {
		return 24 * time.Hour, true
	}
	return max(t.Sub(now), 0), true
}
