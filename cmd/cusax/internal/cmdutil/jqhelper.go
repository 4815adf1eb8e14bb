package cmdutil

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// JQ is a --jq expression applied to the documents of one run.
type JQ interface {
	// Apply filters one JSON document; its results go to the run's stdout.
	Apply(doc []byte) error
	// Close writes what is left and reports an expression that failed.
	Close() error
}

// ErrJQStdoutClosed: nobody reads the --jq results any more (| head -1);
// the run ends quietly with ExitBrokenPipe, as when cusax writes itself.
var ErrJQStdoutClosed = errors.New("stdout closed")

// JQExprError: the expression itself is wrong (a usage error).
type JQExprError struct{ Msg string }

func (e *JQExprError) Error() string { return e.Msg }

// NewJQ compiles expr for a run whose results go to out. It runs cusax-jq
// beside the cusax executable (else from PATH): gojq's package init costs
// about 0.7 ms, paid by every process that links it, so cusax does not
// (internal/jqfilter). Tests that run commands in process set an
// in-process engine.
var NewJQ = helperJQ

// JQProgram is the helper NewJQ runs.
const JQProgram = "cusax-jq"

// findJQ locates cusax-jq: beside the running executable, else in PATH.
func findJQ() (string, error) {
	if exe, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			exe = real
		}
		p := filepath.Join(filepath.Dir(exe), JQProgram)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	if p, err := exec.LookPath(JQProgram); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("--jq needs %s beside cusax or in PATH (it ships with cusax; with go install: go install github.com/cusax/cusax/cmd/cusax-jq@latest)", JQProgram)
}

// helperJQ starts cusax-jq and waits for its verdict on the expression.
func helperJQ(expr string, indent bool, out io.Writer) (JQ, error) {
	prog, err := findJQ()
	if err != nil {
		return nil, err
	}
	statusR, statusW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer statusR.Close()
	args := []string{"--status-fd", "3"}
	if indent {
		args = append(args, "--indent")
	}
	cmd := exec.Command(prog, append(args, "--", expr)...)
	cmd.Stdout = out
	h := &jqHelper{cmd: cmd}
	cmd.Stderr = &h.stderr
	cmd.ExtraFiles = []*os.File{statusW}
	if h.in, err = cmd.StdinPipe(); err != nil {
		statusW.Close()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		statusW.Close()
		return nil, fmt.Errorf("--jq: %w", err)
	}
	statusW.Close()
	line, _ := bufio.NewReader(statusR).ReadString('\n')
	if line = strings.TrimSpace(line); line != "ok" {
		_ = h.in.Close()
		_ = cmd.Wait()
		if line == "" {
			return nil, fmt.Errorf("--jq: %s did not start: %s", prog, strings.TrimSpace(h.stderr.String()))
		}
		return nil, &JQExprError{Msg: line}
	}
	return h, nil
}

type jqHelper struct {
	cmd    *exec.Cmd
	in     io.WriteCloser
	stderr lockedBuf
	once   sync.Once
	err    error
}

func (h *jqHelper) Apply(doc []byte) error {
	if _, err := h.in.Write(append(doc, '\n')); err != nil {
		// The helper ended: its own error says why.
		return h.Close()
	}
	return nil
}

func (h *jqHelper) Close() error {
	h.once.Do(func() {
		_ = h.in.Close()
		if err := h.cmd.Wait(); err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) && ee.ExitCode() == ExitBrokenPipe {
				h.err = ErrJQStdoutClosed
				return
			}
			msg := strings.TrimSpace(h.stderr.String())
			if msg == "" {
				msg = "--jq: " + err.Error()
			}
			h.err = errors.New(msg)
		}
	})
	return h.err
}

// lockedBuf is a bytes.Buffer safe for the copier goroutine and Close.
type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
