//go:build !unix

package pluginhost

import (
	"os/exec"
	"syscall"
)

func sysProcAttr() *syscall.SysProcAttr { return nil }

// killGroup: no process groups here; go-plugin kills the plugin itself.
func killGroup(*exec.Cmd) {}
