//go:build unix

package pluginhost

import (
	"os/exec"
	"syscall"
)

// killGroup sends SIGKILL to the process group of a plugin started with
// sysProcAttr: the plugin and whatever it left behind (a child holding its
// stdout keeps go-plugin waiting forever).
func killGroup(cmd *exec.Cmd) {
	if cmd == nil || cmd.Process == nil || cmd.SysProcAttr == nil || !cmd.SysProcAttr.Setpgid {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
}
