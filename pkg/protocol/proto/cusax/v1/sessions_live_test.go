package cusaxv1

import (
	"context"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

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
