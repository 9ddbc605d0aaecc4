//go:build unix

package wavestatus

import (
	"errors"
	"syscall"
)

// processAlive asks the kernel with signal 0: only "no such process"
// counts as gone (EPERM means it exists under another user).
func processAlive(pid int) bool {
	return !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}
