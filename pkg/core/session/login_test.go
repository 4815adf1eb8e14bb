package session

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/protocol"
)

// Fakes record the order of operations; protocol behaviour itself is
// shown against real servers in cmd/cusax/internal/cli and cmd/cusax/internal/builtin.
type journal struct {
	mu  sync.Mutex
	ops []string
}

func (j *journal) add(op string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.ops = append(j.ops, op)
}

type fakeTel struct {
	j       *journal
	regErr  error
	regWait time.Duration
}

func (f *fakeTel) Info(context.Context) (protocol.Info, error) { return protocol.Info{}, nil }
func (f *fakeTel) Connect(context.Context, protocol.ConnectRequest) (protocol.TelephonySession, error) {
	f.j.add("sip.connect")
	return &fakeTelSess{f: f}, nil
}

type fakeTelSess struct {
	protocol.UnsupportedTelephonySession
	f *fakeTel
}

func (s *fakeTelSess) Register(ctx context.Context, _ protocol.RegisterRequest) (protocol.ConnectionReport, error) {
	time.Sleep(s.f.regWait)
	s.f.j.add("sip.register")
	if s.f.regErr != nil {
		return protocol.ConnectionReport{}, s.f.regErr
	}
	return protocol.ConnectionReport{Aspect: protocol.AspectTelephony, State: "registered", Transport: "udp", AuthMechanism: "digest SHA-256"}, nil
}
func (s *fakeTelSess) Unregister(context.Context) error { s.f.j.add("sip.unregister"); return nil }
func (s *fakeTelSess) Close(context.Context) error      { s.f.j.add("sip.close"); return nil }

type fakeIMPP struct{ j *journal }

func (f *fakeIMPP) Info(context.Context) (protocol.Info, error) { return protocol.Info{}, nil }
func (f *fakeIMPP) Connect(context.Context, protocol.ConnectRequest) (protocol.IMPPSession, error) {
	f.j.add("xmpp.connect")
	return &fakeIMPPSess{j: f.j}, nil
}

type fakeIMPPSess struct {
	protocol.UnsupportedIMPPSession
	j *journal
}

func (s *fakeIMPPSess) Report() protocol.ConnectionReport {
	return protocol.ConnectionReport{Aspect: protocol.AspectChat, State: "connected", Transport: "tcp+starttls", Encrypted: true,
		TLS: &protocol.TLSInfo{Version: "TLS 1.3", CipherSuite: "TLS_AES_128_GCM_SHA256", Verified: true}, AuthMechanism: "SCRAM-SHA-1"}
}
func (s *fakeIMPPSess) Close(context.Context) error { s.j.add("xmpp.close"); return nil }

func account() config.Account {
	return config.Account{Name: "w", Related: true,
		XMPP: &config.XMPPAspect{JID: "a@example.test"}, SIP: &config.SIPAspect{AOR: "sip:a@example.test", Proxy: "sip:10.0.0.1;transport=udp"}}
}

func TestProveOrder(t *testing.T) {
	j := &journal{}
	res := Prove(context.Background(), Backends{IMPP: &fakeIMPP{j}, Telephony: &fakeTel{j: j}}, Request{Account: account()})
	want := "sip.connect sip.register sip.unregister sip.close xmpp.connect xmpp.close"
	if got := strings.Join(j.ops, " "); got != want {
		t.Errorf("order %q\nwant %q (RFC 7081 §2: XMPP after SIP registered)", got, want)
	}
	if !res.OK() || len(res.Findings) == 0 || res.Findings[0].ID != "parity.encryption" {
		t.Errorf("result %+v", res)
	}
	if res.Findings[0].Fix != "cusax login --name w --sip-proxy 'sip:10.0.0.1:5061;transport=tls'" {
		t.Errorf("fix %q", res.Findings[0].Fix)
	}
}

func TestProveSkipsChatWhenTelephonyFails(t *testing.T) {
	j := &journal{}
	res := Prove(context.Background(), Backends{IMPP: &fakeIMPP{j}, Telephony: &fakeTel{j: j, regErr: protocol.ErrAuth}}, Request{Account: account()})
	if strings.Join(j.ops, " ") != "sip.connect sip.register sip.close" {
		t.Errorf("ops %v", j.ops)
	}
	if res.OK() || !errors.Is(res.Err(), protocol.ErrAuth) || res.Chat.Skipped == "" {
		t.Errorf("result %+v", res)
	}
	var ae *AspectError
	if !errors.As(res.Err(), &ae) || ae.Aspect != protocol.AspectTelephony {
		t.Errorf("error does not name the aspect: %v", res.Err())
	}
}

func TestProveParallel(t *testing.T) {
	j := &journal{}
	res := Prove(context.Background(), Backends{IMPP: &fakeIMPP{j}, Telephony: &fakeTel{j: j, regWait: 50 * time.Millisecond}}, Request{Account: account(), Parallel: true})
	if !res.OK() {
		t.Fatal(res)
	}
	// With --parallel, XMPP does not wait for the registration.
	if !res.Chat.Finished.Before(res.Telephony.Finished) {
		t.Errorf("chat finished %v, telephony %v: not parallel", res.Chat.Finished, res.Telephony.Finished)
	}
}

func TestProveSingleAspect(t *testing.T) {
	j := &journal{}
	a := account()
	a.SIP, a.Related = nil, false
	res := Prove(context.Background(), Backends{IMPP: &fakeIMPP{j}}, Request{Account: a})
	if !res.OK() || res.Telephony.Configured || len(res.Findings) != 0 || strings.Join(j.ops, " ") != "xmpp.connect xmpp.close" {
		t.Errorf("xmpp-only: %+v %v", res, j.ops)
	}
}
