package call

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil/cmdtest"
	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/core/oncall"
	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/plugins/policy"
)

// presenceHeldDial holds the final event of a call until the on-the-phone
// presence was set (bounded), as a real call is up for longer than the
// Chat aspect takes to open.
type presenceHeldDial struct {
	digestDial
	svc interface{ Presences() []protocol.Presence }
}

func (b presenceHeldDial) Connect(ctx context.Context, req protocol.ConnectRequest) (protocol.TelephonySession, error) {
	s, err := b.digestDial.Connect(ctx, req)
	if err != nil {
		return nil, err
	}
	return presenceHeldSession{s, b.svc}, nil
}

type presenceHeldSession struct {
	protocol.TelephonySession
	svc interface{ Presences() []protocol.Presence }
}

func (s presenceHeldSession) Dial(ctx context.Context, req protocol.DialRequest) (protocol.Stream[protocol.CallEvent], error) {
	st, err := s.TelephonySession.Dial(ctx, req)
	if err != nil {
		return nil, err
	}
	return presenceHeldStream{st, s.svc}, nil
}

type presenceHeldStream struct {
	protocol.Stream[protocol.CallEvent]
	svc interface{ Presences() []protocol.Presence }
}

func (h presenceHeldStream) Recv() (protocol.CallEvent, error) {
	ev, err := h.Stream.Recv()
	if err == nil && ev.Final && ev.Answered {
		deadline := time.Now().Add(5 * time.Second)
		for len(h.svc.Presences()) == 0 && time.Now().Before(deadline) {
			time.Sleep(2 * time.Millisecond)
		}
	}
	return ev, err
}

// RFC 7081 §3: while the call is up, contacts see dnd "on the phone" and
// the XEP-0108 activity; afterwards the activity is retracted. The call's
// own Chat session has priority -1 (no offline messages swallowed) and
// logs out after the call.
func TestCallSetsOnThePhone(t *testing.T) {
	e := newEnv(t, nil)
	e.Source.Telephony["sip"] = presenceHeldDial{digestDial{e.Service.Telephony()}, e.Service}
	e.Service.OnDial(cmdtest.BobAOR, ringing, answered, ended)
	r := e.Run(newCmd, "bob", "--json")
	if r.Code != cmdutil.ExitOK {
		t.Fatalf("exit %d: %v\nstderr %s", r.Code, r.Err, r.Stderr)
	}
	ps := e.Service.Presences()
	if len(ps) != 1 || ps[0].Show != "dnd" || ps[0].Status != oncall.Status || ps[0].Priority != -1 {
		t.Errorf("presences %+v", ps)
	}
	acts := e.Service.Activities()
	if len(acts) != 2 || acts[0].Activity != oncall.OnThePhone || acts[1].Activity != (protocol.Activity{}) {
		t.Errorf("activities %+v", acts)
	}
	if n := e.Service.Open(); n != 0 {
		t.Errorf("%d sessions left open", n)
	}
}

func TestCallPresenceOff(t *testing.T) {
	off := false
	cases := []struct {
		name string
		cfg  func(*config.Config)
		args []string
	}{
		{"--no-presence", nil, []string{"--no-presence"}},
		{"presence_on_call = false", func(c *config.Config) { c.Accounts[0].Features.PresenceOnCall = &off }, nil},
		{"not a CUSAX account", func(c *config.Config) { c.Accounts[0].Related = false }, nil},
		{"unanswered", nil, []string{"--ring-timeout", "1s"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := cmdtest.Standard()
			if c.cfg != nil {
				c.cfg(cfg)
			}
			e := cmdtest.New(t, cfg, cmdtest.StandardPasswords(), nil)
			e.Source.Policies["default"] = policy.New()
			e.Source.Telephony["sip"] = digestDial{e.Service.Telephony()}
			if c.name == "unanswered" {
				e.Service.OnDial(cmdtest.BobAOR, ringing, final(486, "Busy Here"))
			} else {
				e.Service.OnDial(cmdtest.BobAOR, ringing, answered, ended)
			}
			r := e.Run(newCmd, append([]string{cmdtest.BobAOR, "--via", "home"}, c.args...)...)
			if r.Err != nil && c.name != "unanswered" {
				t.Fatalf("exit %d: %v\nstderr %s", r.Code, r.Err, r.Stderr)
			}
			if ps, as := e.Service.Presences(), e.Service.Activities(); len(ps) != 0 || len(as) != 0 {
				t.Errorf("presences %+v activities %+v", ps, as)
			}
		})
	}
}

// The Chat aspect failing (a wrong XMPP password) is a note: the call
// itself goes on and succeeds.
func TestCallPresenceChatFailsIsANote(t *testing.T) {
	pw := cmdtest.StandardPasswords()
	pw["home/xmpp"] = "wrong"
	e := newEnv(t, pw)
	e.Service.OnDial(cmdtest.BobAOR, ringing, answered, ended)
	r := e.Run(newCmd, cmdtest.BobAOR, "--via", "home")
	if r.Code != cmdutil.ExitOK {
		t.Fatalf("exit %d: %v\nstderr %s", r.Code, r.Err, r.Stderr)
	}
	if !strings.Contains(r.Stderr, "cusax: note: presence: the chat aspect did not open") {
		t.Errorf("stderr %q", r.Stderr)
	}
	if strings.Contains(r.Stderr, "wrong") {
		t.Errorf("the password is on stderr: %q", r.Stderr)
	}
}
