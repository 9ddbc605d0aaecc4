//go:build unix

package engine

import (
	"errors"
	"syscall"
)

// processAlive asks the kernel with signal 0: only "no such process"
// counts as gone (EPERM means it exists under another user).
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return !errors.Is(err, syscall.ESRCH)
}
