package wavestatus

import (
	"os"
	"time"

	"github.com/exmigrate/exmigrate/engine"
)

// leaseLive says whether a job's lease means a process is copying it now:
// not expired, and its holder not a process of this machine that is gone
// (killed without releasing it; the next copy takes such a lease over at
// once, as the engine does, so the job is interrupted, not running).
// Anything uncertain (another host, a platform that cannot tell) counts
// as alive until the lease expires.
func leaseLive(l *engine.Lease, now time.Time) bool {
	if l == nil || !l.Expires.After(now) {
		return false
	}
	host, err := os.Hostname()
	if err != nil || l.Owner.Host == "" || l.Owner.Host != host || l.Owner.PID <= 0 || l.Owner.PID == os.Getpid() {
		return true
	}
	return processAlive(l.Owner.PID)
}
