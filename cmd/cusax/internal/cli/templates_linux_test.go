//go:build linux

package cli

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cusax/cusax/internal/testbed"
)

// A template inherits "a plugin never outlives its host" from plugin.Serve:
// when its host is killed with kill -9 (its pid alone, not its group), the
// template's process logs out of the real Prosody and exits.
func TestTemplateLogsOutWhenHostKilled(t *testing.T) {
	dir := templatePluginDir(t)
	bed := testbed.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	users, err := bed.AddUsers(ctx, bed.Domain, "tmplorphan")
	if err != nil {
		t.Fatal(err)
	}
	plugin := filepath.Join(dir, templateBins["impp"])
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	host := exec.Command(self, "__template_host", plugin, bed.JID("tmplorphan"), bed.XMPPAddr, bed.CAFile)
	host.Stdin = strings.NewReader(users["tmplorphan"].Password)
	host.Stderr = os.Stderr
	// Should the test binary die, the host must not stay behind.
	host.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	out, err := host.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := host.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = host.Process.Kill(); _ = host.Wait() }()
	ready := make(chan bool, 1)
	go func() { line, _ := bufio.NewReader(out).ReadString('\n'); ready <- line == "ready\n" }()
	select {
	case ok := <-ready:
		if !ok {
			t.Fatal("the host did not log in through the template")
		}
	case <-ctx.Done():
		t.Fatal("the host did not log in through the template in time")
	}
	sessions := func() int {
		n, err := bed.XMPPSessions(ctx, "tmplorphan", bed.Domain)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := sessions(); n != 1 {
		t.Fatalf("%d sessions in Prosody after login, want 1", n)
	}
	if procsRunning(plugin) == 0 {
		t.Fatal("no template process found while the host runs")
	}
	if err := syscall.Kill(host.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = host.Wait()
	waitFor(t, "the template to log out of Prosody", 20*time.Second, func() bool { return sessions() == 0 })
	waitFor(t, "the template process to exit", 20*time.Second, func() bool { return procsRunning(plugin) == 0 })
}

// procsRunning counts processes running the executable at path.
func procsRunning(path string) int {
	n := 0
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe")); err == nil && exe == path {
			n++
		}
	}
	return n
}
