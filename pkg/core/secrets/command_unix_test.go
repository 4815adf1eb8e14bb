//go:build linux

package secrets

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cusax/cusax/internal/testbed"
)

// Issue 13: a password command that times out is killed with everything it
// started; before, only the shell was, and `sleep 300` lived on.
func TestRunCommandTimeoutKillsChildren(t *testing.T) {
	swapVar(t, &commandTimeout, 300*time.Millisecond)
	pids := filepath.Join(t.TempDir(), "pids")
	// The shape of the issue's `sh -c 'sleep 300 & sleep 300'`, with the
	// pids written down.
	_, err := RunCommand(context.Background(), "sleep 300 & echo $! > "+pids+"; sleep 300 & echo $! >> "+pids+"; wait")
	if !errors.Is(err, ErrPasswordCommand) || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("RunCommand = %v", err)
	}
	b, err := os.ReadFile(pids)
	if err != nil {
		t.Fatal(err)
	}
	fields := strings.Fields(string(b))
	if len(fields) != 2 {
		t.Fatalf("pids %q", b)
	}
	for _, f := range fields {
		pid, _ := strconv.Atoi(f)
		deadline := time.Now().Add(10 * time.Second)
		for !testbed.ProcessGone(pid) {
			if time.Now().After(deadline) {
				_ = syscall.Kill(pid, syscall.SIGKILL)
				t.Fatalf("sleep %d outlived the timed-out password command", pid)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}
