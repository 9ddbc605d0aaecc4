package wavestatus

import (
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/engine"
)

func TestLeaseLive(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Skip(err)
	}
	// A process that has ended: its pid names nobody (until reused, which
	// a test run does not wait for).
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Skip("no `true` to run:", err)
	}
	deadPID := gone.ProcessState.Pid()
	now := time.Now()
	later := now.Add(time.Minute)
	tests := []struct {
		name string
		l    *engine.Lease
		want bool
	}{
		{"no lease", nil, false},
		{"expired", &engine.Lease{Owner: engine.Owner{Host: host, PID: os.Getpid()}, Expires: now.Add(-time.Second)}, false},
		{"this process", &engine.Lease{Owner: engine.Owner{Host: host, PID: os.Getpid()}, Expires: later}, true},
		{"another host", &engine.Lease{Owner: engine.Owner{Host: host + "-other", PID: deadPID}, Expires: later}, true},
		{"a process of this host that is gone", &engine.Lease{Owner: engine.Owner{Host: host, PID: deadPID}, Expires: later}, false},
	}
	for _, tt := range tests {
		if got := leaseLive(tt.l, now); got != tt.want {
			t.Errorf("%s: leaseLive = %v, want %v", tt.name, got, tt.want)
		}
	}
}
