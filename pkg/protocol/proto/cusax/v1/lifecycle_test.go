package cusaxv1

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// A plugin whose parent is no longer the host that started it (the host
// died and the plugin was re-parented, with no parent-death signal: not
// Linux, or golang/go#27505) notices by polling.
func TestWatchHostSeesReparenting(t *testing.T) {
	// Our real parent is not pid 1 (or whatever this is): claim another host.
	t.Setenv(HostPIDEnv, strconv.Itoa(os.Getppid()+1))
	done := make(chan string, 1)
	go func() { done <- watchHost() }()
	select {
	case why := <-done:
		if why != "host process gone" {
			t.Fatalf("watchHost = %q", why)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("watchHost did not see that the host is gone")
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
