//go:build unix

package secrets

import (
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// isolate puts a password command in its own process group, so that on a
// timeout (or Ctrl-C of cusax) the whole group is killed: the shell and
// whatever it started (`sleep 300 & …`), not the shell alone. When cusax
// runs in the foreground of a terminal, that group is made the terminal's
// foreground group while the command runs, so a command that prompts on
// /dev/tty (bw, op, keepassxc-cli when locked) still can; the returned
// function gives the terminal back to cusax.
func isolate(cmd *exec.Cmd) (restore func()) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		// The group's id is the shell's pid (Setpgid with Pgid 0).
		if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != syscall.ESRCH {
			return err
		}
		return os.ErrProcessDone
	}
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return func() {} // no terminal: nothing can prompt anyway
	}
	fd := int(tty.Fd())
	if fg, err := unix.IoctlGetInt(fd, unix.TIOCGPGRP); err != nil || fg != unix.Getpgrp() {
		tty.Close() // not in the foreground: leave the terminal alone
		return func() {}
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Foreground: true, Ctty: fd}
	return func() {
		// Taking the terminal back from a background group raises SIGTTOU,
		// which would stop cusax, unless ignored for the call.
		signal.Ignore(syscall.SIGTTOU)
		_ = unix.IoctlSetPointerInt(fd, unix.TIOCSPGRP, unix.Getpgrp())
		signal.Reset(syscall.SIGTTOU)
		tty.Close()
	}
}
