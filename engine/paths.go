package engine

import (
	"fmt"
	"strings"

	"github.com/exmigrate/exmigrate/mailbox"
)

// PathNotCarried is the path of a store and kind no route carries.
const PathNotCarried = "not carried"

// FormatPaths plans every kind of the given stores from the two sides'
// declarations and says how each moves, in the order of mailbox.Stores
// and mailbox.Kinds: "primary/mail=mime; primary/calendar=typed; ...".
// A store neither side has is left out; a kind no route carries reads
// "not carried". into maps a source store to the target store it is copied
// into (nil: the same store).
func FormatPaths(src, dst mailbox.Capabilities, stores []mailbox.Scope, into func(mailbox.Scope) mailbox.Scope) string {
	var parts []string
	for _, store := range stores {
		if !src.HasStore(store) {
			continue
		}
		for _, k := range mailbox.Kinds() {
			if len(src.Reader(store, k)) == 0 {
				continue // the source has none of this kind here
			}
			path := PathNotCarried
			target := store
			if into != nil {
				target = into(store)
			}
			if route, gap := mailbox.PlanRoute(src, dst, store, target, k); gap == nil {
				path = string(route.Format)
			}
			parts = append(parts, fmt.Sprintf("%s/%s=%s", store, k, path))
		}
	}
	return strings.Join(parts, "; ")
}

// ParsePaths reads what FormatPaths wrote, as store/kind -> path.
func ParsePaths(s string) map[string]string {
	out := map[string]string{}
	for _, p := range strings.Split(s, "; ") {
		if k, v, ok := strings.Cut(p, "="); ok {
			out[k] = v
		}
	}
	return out
}
