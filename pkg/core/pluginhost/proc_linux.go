package pluginhost

import "syscall"

// sysProcAttr puts a plugin in its own process group, so that the host can
// kill it together with any child it started, and asks the kernel to send
// it SIGTERM when the host dies. Pdeathsig fires when the forking OS thread
// ends rather than the process (golang/go#27505), so plugins also watch
// their parent themselves (plugin.Serve); this is the fast path.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
