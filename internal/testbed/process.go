package testbed

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// stopGrace is how long a server gets to exit after SIGTERM before it is killed.
const stopGrace = 5 * time.Second

// process is one server started in its own process group, so that stopping it also stops the
// children it forked (Kamailio forks a dozen workers).
type process struct {
	name    string
	cmd     *exec.Cmd
	logFile string // where its stdout and stderr go
	done    chan struct{}
	err     error // set before done is closed
}

// startProcess runs cmd with stdout and stderr appended to logFile.
func startProcess(name string, cmd *exec.Cmd, logFile string) (*process, error) {
	f, err := os.OpenFile(logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd.Stdout = f
	cmd.Stderr = f
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	// If the test binary dies without cleanup, do not leave servers behind.
	cmd.SysProcAttr.Pdeathsig = syscall.SIGTERM
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, logFile: logFile, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	return p, nil
}

// exited reports whether the process has already ended, and how.
func (p *process) exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// stop sends SIGTERM to the leader, waits up to stopGrace, then SIGKILLs the whole process
// group, and waits until no process of the group is left. Only the leader gets SIGTERM:
// Kamailio's main process stops its workers itself, and a SIGTERM to every worker at once
// sometimes left it hanging in its shutdown (seen under load). A second call is harmless.
func (p *process) stop() error {
	if p == nil {
		return nil
	}
	pgid := p.cmd.Process.Pid
	var err error
	if ok, _ := p.exited(); !ok {
		_ = syscall.Kill(pgid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(stopGrace):
			err = fmt.Errorf("%s (pid %d) ignored SIGTERM for %s and was killed", p.name, pgid, stopGrace)
		}
	}
	// Whatever is left of the group (workers of a dead leader) must not outlive the bed.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(stopGrace):
		return fmt.Errorf("%s (pid %d) did not exit after SIGKILL", p.name, pgid)
	}
	for deadline := time.Now().Add(stopGrace); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if syscall.Kill(-pgid, 0) == syscall.ESRCH {
			return err
		}
	}
	return errors.Join(err, fmt.Errorf("%s: processes of group %d still alive after SIGKILL", p.name, pgid))
}

// freeTCPPort asks the kernel for a free loopback TCP port. The port is released before the
// server binds it, so another process could take it in between: callers retry once on a bind
// failure (see isBindError).
func freeTCPPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// freeUDPPort is freeTCPPort for UDP; UDP and TCP port spaces are separate.
func freeUDPPort() (int, error) {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port, nil
}

// freeTCPPorts returns n distinct free TCP ports (held open together so they differ).
func freeTCPPorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func loopback(port int) string { return fmt.Sprintf("127.0.0.1:%d", port) }

// errBind marks a start that failed because a port was taken in the meantime.
var errBind = errors.New("port already in use")

// isBindError looks for the messages Prosody and Kamailio log when a port is taken.
func isBindError(log string) bool {
	for _, s := range []string{"Address already in use", "address already in use", "Failed to open server port"} {
		if strings.Contains(log, s) {
			return true
		}
	}
	return false
}

// tailFile returns the last n lines of a file, or a note saying why it cannot.
func tailFile(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(%v)\n", err)
	}
	data = bytes.TrimRight(data, "\n")
	lines := bytes.Split(data, []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n"))) + "\n"
}
