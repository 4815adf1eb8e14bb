package cusaxv1

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// A plugin whose host died before it looked, or whose host is not its
// parent (a wrapper script), notices the host is gone by polling, with no
// signal at all (not Linux, or golang/go#27505).
func TestWatchHostSeesDeadHost(t *testing.T) {
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	t.Setenv(HostPIDEnv, strconv.Itoa(dead.Process.Pid))
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
	t.Setenv(HostPIDEnv, strconv.Itoa(os.Getpid())) // alive, not our parent
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

type closeProbe struct {
	closed chan struct{}
	hang   bool
}

func (f *closeProbe) Close(ctx context.Context) error {
	close(f.closed)
	if f.hang {
		<-ctx.Done() // a server that never answers the logout
		return ctx.Err()
	}
	return nil
}

// Every open session is closed when the host goes, a hung one within the
// grace period.
func TestCloseAllBounded(t *testing.T) {
	var l liveSessions
	ok, hung := &closeProbe{closed: make(chan struct{})}, &closeProbe{closed: make(chan struct{}), hang: true}
	l.add("a", ok)
	l.add("b", hung)
	l.add("c", struct{}{}) // not a session: ignored
	l.add("d", &closeProbe{closed: make(chan struct{})})
	l.remove("d") // closed by the host already
	done := make(chan struct{})
	go func() { l.closeAll(hclog.NewNullLogger()); close(done) }()
	select {
	case <-done:
	case <-time.After(shutdownGrace + 10*time.Second):
		t.Fatal("closeAll did not return")
	}
	for name, s := range map[string]*closeProbe{"ok": ok, "hung": hung} {
		select {
		case <-s.closed:
		default:
			t.Errorf("session %s not closed", name)
		}
	}
	if len(l.m) != 0 {
		t.Errorf("sessions left: %v", l.m)
	}
}
