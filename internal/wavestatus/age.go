package wavestatus

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseAge reads an age like 30d, 2w, 12h or 90m (prune --older-than):
// days and weeks, which time.ParseDuration lacks, are what a retention
// rule is said in. It must be positive and at most ten years.
func ParseAge(s string) (time.Duration, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	bad := fmt.Errorf("--older-than %q: give an age like 30d, 2w or 12h (d days, w weeks, h hours, m minutes)", s)
	if len(t) < 2 {
		return 0, bad
	}
	unit := map[byte]time.Duration{'m': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour, 'w': 7 * 24 * time.Hour}[t[len(t)-1]]
	if unit == 0 {
		return 0, bad
	}
	n, err := strconv.ParseInt(t[:len(t)-1], 10, 64)
	if err != nil || t[0] == '+' || t[0] == '-' {
		return 0, bad
	}
	const most = 10 * 365 * 24 * time.Hour
	if n <= 0 || n > int64(most/unit) {
		return 0, fmt.Errorf("--older-than %q: out of range: use more than 0 and at most ten years", s)
	}
	return time.Duration(n) * unit, nil
}
