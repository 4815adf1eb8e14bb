package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/pkg/core/agent/agentapi"
)

// LogPath is where `agent start` sends the agent's stderr:
// $XDG_STATE_HOME/cusax/agent.log (XDG: absolute values only), else
// ~/.local/state/cusax/agent.log.
func LogPath() (string, error) {
	if x := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(x) {
		return filepath.Join(x, "cusax", "agent.log"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("agent log: %w", err)
	}
	return filepath.Join(home, ".local", "state", "cusax", "agent.log"), nil
}

// startJSON is `agent start --json`.
type startJSON struct {
	PID     int    `json:"pid"`
	Already bool   `json:"already_running"`
	Socket  string `json:"socket"`
	Log     string `json:"log,omitempty"`
}

// startAgent is `cusax agent start`.
func startAgent(o *Options) error {
	f := o.F
	ctx := f.Context
	_, sock, _ := agentapi.Paths()
	if pid, err := running(ctx); err == nil {
		fmt.Fprintf(f.IO.ErrOut, "cusax: note: an agent is already running (pid %d)\n", pid)
		return printStart(o, startJSON{PID: pid, Already: true, Socket: sock})
	} else if !errors.Is(err, agentapi.ErrNoAgent) {
		return agentErr(err)
	}
	// Fail here, not in the background, on what run would refuse at once.
	cfg, path, err := f.Config()
	if err != nil {
		return err
	}
	if _, err := pick(cfg, o.Accounts); err != nil {
		return err
	}
	logPath, err := LogPath()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(logPath), 0o700); err != nil {
		return fmt.Errorf("agent log: %w", err)
	}
	logf, err := openLog(logPath)
	if err != nil {
		return err
	}
	defer logf.Close()
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return err
	}
	defer devnull.Close()
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("agent start: %w", err)
	}
	args := append(append([]string(nil), o.Globals...), "agent", "run")
	for _, a := range o.Accounts {
		args = append(args, "--account", a)
	}
	if o.ProbeEvery != 30*time.Second {
		args = append(args, "--probe-every", o.ProbeEvery.String())
	}
	cmd := exec.Command(exe, args...)
	// The same config file as this command's, whatever flag chose it.
	cmd.Env = append(os.Environ(), "CUSAX_CONFIG="+path)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, logf, logf
	// Its own session: no terminal, and the shell's signals (Ctrl-C,
	// hang-up) are not its.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	fmt.Fprintf(logf, "--- cusax agent start %s\n", time.Now().UTC().Format(time.RFC3339))
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("agent start: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(o.Wait)
	for {
		if pid, err := running(ctx); err == nil {
			return printStart(o, startJSON{PID: pid, Socket: sock, Log: logPath})
		}
		select {
		case err := <-exited:
			code := 1
			var ee *exec.ExitError
			if errors.As(err, &ee) && ee.ExitCode() > 0 {
				code = ee.ExitCode()
			}
			return cmdutil.WithExit(code, cmdutil.WithHint(
				fmt.Errorf("the agent ended at once (%v): %s", err, lastLine(logPath)),
				"see its log: "+logPath))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return cmdutil.WithExit(cmdutil.ExitFailure, cmdutil.WithHint(
				fmt.Errorf("the agent (pid %d) did not answer on %s within %s", cmd.Process.Pid, sock, o.Wait),
				"see its log: "+logPath))
		}
	}
}

func printStart(o *Options, v startJSON) error {
	if o.JSON {
		return cmdutil.WriteJSON(o.F.IO.Out, cmdutil.Schema("agent-start"), v)
	}
	_, err := fmt.Fprintln(o.F.IO.Out, v.PID)
	return err
}

// lastLine is the log's last line (why the agent ended), for the error.
func lastLine(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return cmdutil.TermSafe(lines[len(lines)-1])
}

// running returns the pid of the agent answering on the socket.
func running(ctx context.Context) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	c, done, err := dial(ctx)
	if err != nil {
		return 0, err
	}
	defer done()
	st, err := c.Status(ctx, &agentapi.StatusRequest{})
	if err != nil {
		return 0, fmt.Errorf("%w (it does not answer: %v)", agentapi.ErrNoAgent, err)
	}
	return int(st.GetPid()), nil
}

// stopAgent is `cusax agent stop`.
func stopAgent(o *Options) error {
	f := o.F
	ctx := f.Context
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	c, done, err := dial(cctx)
	if errors.Is(err, agentapi.ErrNoAgent) {
		fmt.Fprintln(f.IO.ErrOut, "cusax: note: no agent is running")
		return nil
	}
	if err != nil {
		return agentErr(err)
	}
	defer done()
	st, err := c.Status(cctx, &agentapi.StatusRequest{})
	if err != nil {
		fmt.Fprintf(f.IO.ErrOut, "cusax: note: no agent is running (%v)\n", err)
		return nil
	}
	pid := int(st.GetPid())
	if _, err := c.Stop(cctx, &agentapi.StopRequest{}); err != nil {
		return fmt.Errorf("agent stop: %w", err)
	}
	deadline := time.Now().Add(o.Wait)
	for {
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) || reaped(pid) {
			fmt.Fprintf(f.IO.ErrOut, "cusax agent: stopped (pid %d)\n", pid)
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("agent (pid %d) still running %s after Stop", pid, o.Wait)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// reaped reports a zombie: the agent ended but its parent (a test, a
// shell) did not wait for it yet.
func reaped(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && i+2 < len(s) && s[i+2] == 'Z'
}

// openLog opens the agent's log for appending, 0600. The agent writes what
// happened to the accounts there, so it must be the user's own regular
// file: not a link (O_NOFOLLOW), not a FIFO or device put there (opened
// non-blocking, so a FIFO cannot hang start, then refused), not another
// user's file.
func openLog(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0o600)
	if err != nil {
		return nil, fmt.Errorf("agent log: %w", err)
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fmt.Errorf("%s is a %s, not a regular file", path, fi.Mode().Type())
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); err == nil && ok && int(st.Uid) != os.Geteuid() {
		err = fmt.Errorf("%s belongs to uid %d, not to you", path, st.Uid)
	}
	if err == nil {
		err = f.Chmod(0o600) // an older log of another umask
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("agent log: %w", err)
	}
	return f, nil
}
