// Package retryafter reads the Retry-After header of an HTTP answer. It is
// the one parser both protocol adapters use: Graph sends it with 429, 503
// and 504 (delta seconds, often fractional such as "2.128"), Exchange's
// IIS with 503 when it queues EWS requests.
package retryafter

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Max is the longest wait Parse returns: beyond a day a value is nonsense,
// and clamping keeps a huge one from overflowing a time.Duration.
const Max = 24 * time.Hour

// Parse reads a Retry-After value: delta seconds, possibly fractional, or
// an HTTP date, relative to now. A date in the past means no wait; a wait
// over Max is clamped to Max. ok is false for an empty or malformed value,
// and d is then 0. d is never negative.
func Parse(v string, now time.Time) (d time.Duration, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if c := v[0]; c >= '0' && c <= '9' || c == '.' {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
			return 0, false
		}
		if f > Max.Seconds() {
			return Max, true
		}
		return time.Duration(f * float64(time.Second)), true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	if t.After(now.Add(Max)) {
		return Max, true
	}
	return max(t.Sub(now), 0), true
}
