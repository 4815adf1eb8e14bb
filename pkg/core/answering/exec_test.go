package answering

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The test binary doubles as the handler (no shell): with
// ANSWERING_HELPER set it acts as the mode says and exits.
func TestMain(m *testing.M) {
	switch os.Getenv("ANSWERING_HELPER") {
	case "":
		os.Exit(m.Run())
	case "env":
		// Writes the CUSAX_ variables to the file named by its argument.
		var lines []string
		for _, kv := range os.Environ() {
			if strings.HasPrefix(kv, "CUSAX_") {
				lines = append(lines, kv)
			}
		}
		_ = os.WriteFile(os.Args[len(os.Args)-1], []byte(strings.Join(lines, "\n")), 0o600)
		os.Exit(0)
	case "exit3":
		os.Exit(3)
	case "hang":
		// Starts a grandchild in the same process group, writes its pid,
		// and waits forever; so does the grandchild.
		self, _ := os.Executable()
		var attr os.ProcAttr
		attr.Env = append(os.Environ(), "ANSWERING_HELPER=sleep")
		p, err := os.StartProcess(self, []string{self}, &attr)
		if err != nil {
			os.Exit(9)
		}
		_ = os.WriteFile(os.Args[len(os.Args)-1], []byte(strconv.Itoa(p.Pid)), 0o600)
		select {}
	case "sleep":
		select {}
	}
	os.Exit(8)
}

func helper(t *testing.T, mode string, timeout time.Duration, out string) Command {
	t.Helper()
	t.Setenv("ANSWERING_HELPER", mode)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return Command{Argv: []string{self, "-test.run=^$", out}, Timeout: timeout, Output: os.Stderr, On: ExecOnEnd}
}

// TestCommandEnv: the handler gets the call in its environment, as argv
// and env only; exit 0 is reported.
func TestCommandEnv(t *testing.T) {
	out := filepath.Join(t.TempDir(), "env")
	c := helper(t, "env", 10*time.Second, out)
	res := c.Run(context.Background(), []string{"CUSAX_CALLER=sip:bob@example.com", "CUSAX_DIGITS=1234#; rm -rf /"})
	if res.ExitStatus == nil || *res.ExitStatus != 0 || res.Failed() {
		t.Fatalf("result %+v", res)
	}
	b, _ := os.ReadFile(out)
	if !strings.Contains(string(b), "CUSAX_CALLER=sip:bob@example.com") || !strings.Contains(string(b), "CUSAX_DIGITS=1234#; rm -rf /") {
		t.Errorf("env %q", b)
	}
}

// TestCommandExitStatus: a handler that exits 3 is reported with its status.
func TestCommandExitStatus(t *testing.T) {
	res := helper(t, "exit3", 10*time.Second, "x").Run(context.Background(), nil)
	if res.ExitStatus == nil || *res.ExitStatus != 3 || !res.Failed() || res.Error != "exited 3" {
		t.Errorf("result %+v", res)
	}
}

// TestCommandTimeoutKillsGroup: a handler that hangs past the timeout is
// killed with everything it started in its process group (a grandchild
// that would otherwise keep running), and Run returns.
func TestCommandTimeoutKillsGroup(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	c := helper(t, "hang", 300*time.Millisecond, pidFile)
	done := make(chan ExecResult, 1)
	go func() { done <- c.Run(context.Background(), nil) }()
	var res ExecResult
	select {
	case res = <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return after the timeout")
	}
	if !res.TimedOut || res.ExitStatus != nil || !strings.Contains(res.Error, "--exec-timeout") {
		t.Errorf("result %+v", res)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("the handler did not start its grandchild: %v", err)
	}
	pid, _ := strconv.Atoi(string(b))
	deadline := time.Now().Add(10 * time.Second)
	for {
		// The grandchild is not our child: once killed it is reaped by
		// init, and signal 0 fails.
		if err := syscall.Kill(pid, 0); err != nil {
			break
		}
		if zombie(pid) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("grandchild %d still alive after the handler's group was killed", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// zombie reports a process that is dead but not yet reaped.
func zombie(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && len(s) > i+2 && s[i+2] == 'Z'
}
