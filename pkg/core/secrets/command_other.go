//go:build !unix

package secrets

import "os/exec"

// isolate: no process groups here; on a timeout only the shell is killed.
func isolate(*exec.Cmd) (restore func()) { return func() {} }
