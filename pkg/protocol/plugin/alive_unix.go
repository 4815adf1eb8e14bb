//go:build unix

package plugin

import "syscall"

// processAlive says whether pid still runs (signal 0 checks, sends nothing).
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || err == syscall.EPERM
}
