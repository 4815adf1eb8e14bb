package answering

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// ExecResult is how the user's handler ended.
type ExecResult struct {
	// On is ExecOnEnd or ExecOnAnswer.
	On string `json:"on"`
	// ExitStatus is the handler's exit status; nil when it did not exit
	// by itself (not started, killed).
	ExitStatus *int `json:"exit_status"`
	// TimedOut: it ran past --exec-timeout and its process group was
	// killed.
	TimedOut   bool   `json:"timed_out,omitempty"`
	Error      string `json:"error,omitempty"`
	DurationMS int64  `json:"duration_ms"`
}

// Failed reports a handler that did not exit 0.
func (e ExecResult) Failed() bool { return e.ExitStatus == nil || *e.ExitStatus != 0 }

// env is the handler's view of the call: argv and environment only, never
// a shell string, so nothing the caller sent is ever interpreted.
func (h *Handler) env(r Report, on string) []string {
	answered := "0"
	if r.Action == ActionAnswered {
		answered = "1"
	}
	return []string{
		"CUSAX_EVENT=" + on,
		"CUSAX_ACCOUNT=" + h.Account,
		"CUSAX_CALL_ID=" + r.CallID,
		"CUSAX_CALLER=" + r.Caller,
		"CUSAX_CONTACT=" + r.Contact,
		"CUSAX_CONTACT_NAME=" + r.Name,
		"CUSAX_VERDICT=" + r.Verdict,
		"CUSAX_DECISION=" + string(r.Decision.Verdict),
		"CUSAX_ACTION=" + r.Action,
		"CUSAX_ANSWERED=" + answered,
		"CUSAX_STATUS=" + strconv.Itoa(r.Status),
		"CUSAX_RECORDING=" + r.Recorded,
		"CUSAX_DIGITS=" + r.Digits,
		"CUSAX_DURATION_MS=" + strconv.FormatInt(r.DurationMS, 10),
		"CUSAX_HUNG_UP_BY=" + r.HungUpBy,
	}
}

// Command runs a program (Argv[0], with Argv[1:] as its arguments) in its
// own process group, with the caller's details in its environment, for at
// most Timeout; its stdout and stderr go to Output (stderr: stdout is
// cusax's data).
type Command struct {
	Argv    []string
	Timeout time.Duration
	Output  io.Writer
	// On is copied into results (ExecOnEnd or ExecOnAnswer).
	On string
}

// killWait bounds the wait for the handler's output pipes after it was
// killed or exited (a grandchild that left its process group may hold
// them).
const killWait = 2 * time.Second

// Run implements Runner. Whatever the handler does, Run returns within
// Timeout + killWait: a hung handler's whole process group is killed.
func (c Command) Run(ctx context.Context, env []string) ExecResult {
	start := time.Now()
	res := ExecResult{On: c.On}
	defer func() { res.DurationMS = time.Since(start).Milliseconds() }()
	cmd := exec.Command(c.Argv[0], c.Argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = c.Output, c.Output
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = killWait
	if err := cmd.Start(); err != nil {
		res.Error = "start: " + err.Error()
		return res
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	timer := time.NewTimer(c.Timeout)
	defer timer.Stop()
	var err error
	select {
	case err = <-done:
	case <-timer.C:
		res.TimedOut = true
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // the whole group
		err = <-done
		res.Error = fmt.Sprintf("still running after --exec-timeout %s: killed", c.Timeout)
		return res
	case <-ctx.Done():
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		err = <-done
		res.Error = "stopped: " + ctx.Err().Error()
		return res
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
		zero := 0
		res.ExitStatus = &zero
	case errors.As(err, &ee) && ee.Exited():
		code := ee.ExitCode()
		res.ExitStatus = &code
		res.Error = fmt.Sprintf("exited %d", code)
	case errors.Is(err, exec.ErrWaitDelay):
		zero := 0
		res.ExitStatus = &zero
		res.Error = "exited 0, but a process it started still held its output open"
	default:
		res.Error = err.Error()
	}
	return res
}
