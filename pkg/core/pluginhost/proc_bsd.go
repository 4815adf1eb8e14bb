//go:build unix && !linux

package pluginhost

import "syscall"

// sysProcAttr puts a plugin in its own process group, so that the host can
// kill it together with any child it started. There is no parent-death
// signal here: plugins watch their parent themselves (plugin.Serve).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
