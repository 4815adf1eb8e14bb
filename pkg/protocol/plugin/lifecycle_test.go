package plugin

import (
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/cusax/cusax/pkg/protocol"
)

// A plugin whose host died before it looked, or whose host is not its
// parent (a wrapper script), notices the host is gone by polling, with no
// signal at all (not Linux, or golang/go#27505).
func TestWatchHostSeesDeadHost(t *testing.T) {
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	t.Setenv(protocol.HostPIDEnv, strconv.Itoa(dead.Process.Pid))
	done := make(chan string, 1)
	go func() { done <- watchHost(nil) }()
	select {
	case why := <-done:
		if why != "host process gone" {
			t.Fatalf("watchHost = %q", why)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("watchHost did not see that the host is gone")
	}
}

// A live host that is not the parent (a wrapper script in between) is not
// taken for gone.
func TestWatchHostBehindWrapper(t *testing.T) {
	t.Setenv(protocol.HostPIDEnv, strconv.Itoa(os.Getpid())) // alive, not our parent
	stop := make(chan struct{})
	done := make(chan string, 1)
	go func() { done <- watchHost(stop) }()
	select {
	case why := <-done:
		t.Fatalf("watchHost = %q with the host alive", why)
	case <-time.After(4 * parentPoll):
	}
	close(stop)
	if why := <-done; why != "" {
		t.Fatalf("watchHost after stop = %q", why)
	}
}
