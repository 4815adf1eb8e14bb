package protocoltest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cusax/cusax/pkg/protocol"
)

// These tests check the suite itself, without servers: with in-memory
// backends that keep or break their word.

const helperEnv = "CUSAX_PROTOCOLTEST_HELPER"

// fakeIMPP logs in when the password is right; its sessions declare caps
// and implement only Roster (returning roster) beyond login.
type fakeIMPP struct {
	caps   []protocol.Capability
	roster []protocol.RosterItem
}

func (f fakeIMPP) Info(context.Context) (protocol.Info, error) {
	return protocol.Info{Kind: protocol.KindIMPP, Name: "fake", Version: "1", APIVersion: protocol.APIVersion, Capabilities: f.caps}, nil
}

func (f fakeIMPP) Connect(_ context.Context, req protocol.ConnectRequest) (protocol.IMPPSession, error) {
	if !strings.Contains(req.Address, "@") || strings.HasPrefix(req.Address, "@") {
		return nil, fmt.Errorf("address: %w", protocol.ErrInvalid)
	}
	if req.Password != "right" {
		return nil, protocol.ErrAuth
	}
	return &fakeIMPPSession{f: f, addr: req.Address}, nil
}

type fakeIMPPSession struct {
	protocol.UnsupportedIMPPSession
	f    fakeIMPP
	addr string
}

func fakeReport(a protocol.Aspect, state, addr string) protocol.ConnectionReport {
	return protocol.ConnectionReport{Aspect: a, Backend: "fake", State: state, Address: addr, Server: "127.0.0.1:1",
		Transport: "tcp", AuthMechanism: "PLAIN", Elapsed: time.Millisecond, Expires: time.Hour}
}

func (s *fakeIMPPSession) Report() protocol.ConnectionReport {
	return fakeReport(protocol.AspectChat, "connected", s.addr+"/r")
}

func (s *fakeIMPPSession) Roster(context.Context) ([]protocol.RosterItem, error) {
	if !slicesHas(s.f.caps, protocol.CapRoster) {
		return nil, protocol.ErrUnsupported
	}
	return s.f.roster, nil
}

func (s *fakeIMPPSession) VCard(_ context.Context, jid string) (protocol.VCard, error) {
	if !slicesHas(s.f.caps, protocol.CapVCard) {
		return protocol.VCard{}, protocol.ErrUnsupported
	}
	return protocol.VCard{}, protocol.ErrNotFound
}

func (s *fakeIMPPSession) Close(context.Context) error { return nil }

// fakeTelephony registers when the password is right; its sessions declare
// caps and, with dial, place calls that "answer" without media.
type fakeTelephony struct{ caps []protocol.Capability }

func (f fakeTelephony) Info(context.Context) (protocol.Info, error) {
	return protocol.Info{Kind: protocol.KindTelephony, Name: "fake", Version: "1", APIVersion: protocol.APIVersion, Capabilities: f.caps}, nil
}

func (f fakeTelephony) Connect(_ context.Context, req protocol.ConnectRequest) (protocol.TelephonySession, error) {
	if !strings.HasPrefix(req.Address, "sip:") || strings.ContainsAny(req.Address, "\r\n") {
		return nil, fmt.Errorf("address: %w", protocol.ErrInvalid)
	}
	return &fakeTelSession{f: f, req: req}, nil
}

type fakeTelSession struct {
	protocol.UnsupportedTelephonySession
	f   fakeTelephony
	req protocol.ConnectRequest
}

func (s *fakeTelSession) Register(context.Context, protocol.RegisterRequest) (protocol.ConnectionReport, error) {
	if s.req.Password != "right" {
		return protocol.ConnectionReport{}, protocol.ErrAuth
	}
	return fakeReport(protocol.AspectTelephony, "registered", s.req.Address), nil
}

func (s *fakeTelSession) Unregister(context.Context) error { return nil }
func (s *fakeTelSession) Close(context.Context) error      { return nil }

func (s *fakeTelSession) Dial(_ context.Context, req protocol.DialRequest) (protocol.Stream[protocol.CallEvent], error) {
	if !slicesHas(s.f.caps, protocol.CapDial) {
		return nil, protocol.ErrUnsupported
	}
	if strings.ContainsAny(req.Target, "\r\n") {
		return nil, protocol.ErrInvalid
	}
	for _, h := range req.Headers {
		if strings.ContainsAny(h.Name+h.Value, "\r\n") {
			return nil, protocol.ErrInvalid
		}
	}
	// The lie: answered, but no RTP either way.
	return &sliceStream[protocol.CallEvent]{vs: []protocol.CallEvent{
		{CallID: "c1", StatusCode: 200, Answered: true},
		{CallID: "c1", StatusCode: 200, Answered: true, Final: true},
	}}, nil
}

type sliceStream[T any] struct {
	mu sync.Mutex
	vs []T
}

func (s *sliceStream[T]) Recv() (T, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var zero T
	if len(s.vs) == 0 {
		return zero, io.EOF
	}
	v := s.vs[0]
	s.vs = s.vs[1:]
	return v, nil
}

func (s *sliceStream[T]) Close() error { return nil }

func slicesHas(cs []protocol.Capability, c protocol.Capability) bool {
	return protocol.Info{Capabilities: cs}.Has(c)
}

func baseEnv(addr string) Env {
	return Env{Good: protocol.ConnectRequest{Address: addr, Password: "right"}, WrongPassword: "wrong", BadAddress: "@bad"}
}

// TestTemplateBackendsPass: a backend that declares only what every backend
// must (login, register) passes with only Good, WrongPassword and
// BadAddress filled, CI or not: nothing else is asked of it.
func TestTemplateBackendsPass(t *testing.T) {
	t.Setenv("CI", "true")
	t.Run("impp", func(t *testing.T) {
		RunIMPP(t, fakeIMPP{caps: []protocol.Capability{protocol.CapLogin}}, baseEnv("a@example.test"))
	})
	t.Run("telephony", func(t *testing.T) {
		RunTelephony(t, fakeTelephony{caps: []protocol.Capability{protocol.CapRegister}}, baseEnv("sip:a@example.test"))
	})
}

// TestHelperRun is not a test of its own: the tests below run it in a
// child process, where it runs the suite against a backend that breaks a
// declared capability.
func TestHelperRun(t *testing.T) {
	switch os.Getenv(helperEnv) {
	case "impp":
		env := baseEnv("a@example.test")
		env.RosterJIDs = []string{"bob@example.test"} // the fake's roster is empty
		// vcard declared, Env.VCardJID left empty.
		RunIMPP(t, fakeIMPP{caps: []protocol.Capability{protocol.CapLogin, protocol.CapRoster, protocol.CapVCard}}, env)
	case "telephony":
		env := baseEnv("sip:a@example.test")
		env.Callee = func(testing.TB) Callee { return Callee{URI: "sip:echo@example.test"} }
		// incoming-calls is not declared; dial is, and carries no RTP.
		RunTelephony(t, fakeTelephony{caps: []protocol.Capability{protocol.CapRegister, protocol.CapDial}}, env)
	case "answer":
		// answer is declared, the sessions are no Answerer and have no
		// incoming calls, and Env.CallGoodWithMedia is empty.
		RunTelephony(t, fakeTelephony{caps: []protocol.Capability{protocol.CapRegister, protocol.CapAnswer}}, baseEnv("sip:a@example.test"))
	case "srtp":
		// srtp is declared over UDP/TCP signalling (GoodOverTLS unset),
		// and Dial ignores Encryption: "srtp" is not refused.
		env := baseEnv("sip:a@example.test")
		env.Callee = func(testing.TB) Callee { return Callee{URI: "sip:echo@example.test"} }
		RunTelephony(t, fakeTelephony{caps: []protocol.Capability{protocol.CapRegister, protocol.CapDial, protocol.CapSRTP}}, env)
	case "srtp-tls":
		// Over TLS, with Env.SRTPCallee left empty; Dial "answers" a
		// plain callee whatever Encryption says.
		env := baseEnv("sip:a@example.test")
		env.GoodOverTLS = true
		env.Callee = func(testing.TB) Callee { return Callee{URI: "sip:echo@example.test"} }
		RunTelephony(t, fakeTelephony{caps: []protocol.Capability{protocol.CapRegister, protocol.CapDial, protocol.CapSRTP}}, env)
	case "video":
		// video is declared; the suite has no test that could prove it.
		RunTelephony(t, fakeTelephony{caps: []protocol.Capability{protocol.CapRegister, protocol.CapVideo}}, baseEnv("sip:a@example.test"))
	default:
		t.Skip("helper for TestSuiteFailsBrokenCapability")
	}
}

// runHelper runs TestHelperRun for kind in a child process with CI set to
// ci and returns its verbose output and whether it passed.
func runHelper(t *testing.T, kind, ci string) (string, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run", "^TestHelperRun$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+kind, "CI="+ci)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	return string(out), err == nil
}

// TestSuiteFailsBrokenCapability: a backend that declares a capability and
// does not keep it fails the suite, in the subtest named after that
// capability; a declared capability whose Env field is missing skips,
// naming the field, and fails under CI=true.
func TestSuiteFailsBrokenCapability(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the test binary again")
	}
	t.Run("video/CI=true", func(t *testing.T) {
		out, ok := runHelper(t, "video", "true")
		if ok || !strings.Contains(out, "cap=video is declared but the suite has no positive test") {
			t.Errorf("a declared capability without a test passed under CI (ok=%v):\n%s", ok, out)
		}
	})
	t.Run("video/CI=", func(t *testing.T) {
		if out, ok := runHelper(t, "video", ""); !ok {
			t.Errorf("outside CI an unprovable capability is only logged:\n%s", out)
		}
	})
	for _, c := range []struct {
		kind, ci string
		fail     []string // subtests that must fail
		skip     []string // subtests that must skip, with the text
		pass     []string
	}{
		{kind: "impp", ci: "", fail: []string{"cap=roster/ListsSeededContacts"}, skip: []string{"cap=vcard/ReadsSeededVCard", "Env.VCardJID"},
			pass: []string{"cap=vcard/MissingIsNotFound", "cap=login/ConnectAndClose"}},
		{kind: "impp", ci: "true", fail: []string{"cap=roster/ListsSeededContacts", "cap=vcard/ReadsSeededVCard"}},
		{kind: "telephony", ci: "true", fail: []string{"cap=dial/AnsweredRTPBothWays"}, pass: []string{"cap=register/RegisterUnregisterClose"}},
		{kind: "srtp", ci: "", fail: []string{"cap=srtp/DialSRTP", "cap=srtp/PlainCalleeRefused", "cap=srtp/PlainCalleeOptional"}},
		{kind: "srtp-tls", ci: "", fail: []string{"cap=srtp/PlainCalleeRefused", "cap=srtp/PlainCalleeOptional"}, skip: []string{"cap=srtp/DialSRTP", "Env.SRTPCallee"}},
		{kind: "answer", ci: "", fail: []string{"cap=answer/UnknownCallNotFound"}, skip: []string{"cap=answer/AnswerPlaysAndRecords", "Env.CallGoodWithMedia"}},
		{kind: "answer", ci: "true", fail: []string{"cap=answer/AnswerPlaysAndRecords", "cap=answer/AnswerReadsDigits", "cap=answer/AnswerCallerHangsUp", "cap=answer/UnknownCallNotFound"}},
	} {
		t.Run(c.kind+"/CI="+c.ci, func(t *testing.T) {
			out, ok := runHelper(t, c.kind, c.ci)
			if ok {
				t.Fatalf("the suite passed a backend that breaks a declared capability:\n%s", out)
			}
			want := func(verdict, name string) {
				t.Helper()
				if !regexp.MustCompile(`--- ` + verdict + `: TestHelperRun/` + regexp.QuoteMeta(name) + ` `).MatchString(out) {
					t.Errorf("want %s of %s in:\n%s", verdict, name, out)
				}
			}
			for _, n := range c.fail {
				want("FAIL", n)
			}
			for _, n := range c.pass {
				want("PASS", n)
			}
			if len(c.skip) == 2 {
				want("SKIP", c.skip[0])
				if !strings.Contains(out, c.skip[1]+" is empty") {
					t.Errorf("the skip does not name %s:\n%s", c.skip[1], out)
				}
			}
		})
	}
}
