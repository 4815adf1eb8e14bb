//go:build !unix

package plugin

import "os"

// processAlive says whether pid still runs: on Windows FindProcess opens
// the process, which fails once it is gone.
func processAlive(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	_ = p.Release()
	return true
}
