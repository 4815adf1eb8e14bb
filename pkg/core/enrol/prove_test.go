package enrol_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/core/enrol"
	"github.com/cusax/cusax/pkg/core/pluginhost"
	"github.com/cusax/cusax/pkg/core/secrets"
	"github.com/cusax/cusax/pkg/core/session/sessiontest"
	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/pkg/protocol/fake"
)

const (
	jid  = "alice@example.com"
	aor  = "sip:alice@example.com"
	xpw  = "chat-secret"
	spw  = "sip-secret"
	name = "home"
)

// journal records the order in which the backends were used.
type journal struct {
	mu  sync.Mutex
	ops []string
}

func (j *journal) add(op string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.ops = append(j.ops, op)
}

func (j *journal) list() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.ops)
}

type recIMPP struct {
	protocol.IMPP
	j *journal
}

func (r recIMPP) Connect(ctx context.Context, req protocol.ConnectRequest) (protocol.IMPPSession, error) {
	r.j.add("chat.connect")
	return r.IMPP.Connect(ctx, req)
}

type recTel struct {
	protocol.Telephony
	j *journal
}

func (r recTel) Connect(ctx context.Context, req protocol.ConnectRequest) (protocol.TelephonySession, error) {
	s, err := r.Telephony.Connect(ctx, req)
	if err != nil {
		return nil, err
	}
	return recTelSession{s, r.j}, nil
}

type recTelSession struct {
	protocol.TelephonySession
	j *journal
}

func (s recTelSession) Register(ctx context.Context, req protocol.RegisterRequest) (protocol.ConnectionReport, error) {
	rep, err := s.TelephonySession.Register(ctx, req)
	if err == nil {
		s.j.add("telephony.registered")
	} else {
		s.j.add("telephony.failed")
	}
	return rep, err
}

func (s recTelSession) Unregister(ctx context.Context) error {
	s.j.add("telephony.unregister")
	return s.TelephonySession.Unregister(ctx)
}

// world is one test's fake service, source, store and config.
type world struct {
	svc     *fake.Service
	src     *sessiontest.Source
	imp     *fake.IMPPBackend
	tel     *fake.TelephonyBackend
	j       *journal
	env     enrol.Env
	dir     string
	cfgPath string
	secPath string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	svc := fake.NewService(fake.Account{Address: jid, Password: xpw}, fake.Account{Address: aor, Password: spw})
	w := &world{svc: svc, src: sessiontest.New(svc), imp: svc.IMPP(), tel: svc.Telephony(), j: &journal{}, dir: t.TempDir()}
	w.src.IMPP["xmpp"] = recIMPP{w.imp, w.j}
	// A backend that protects call media (protocol.CapSRTP): over TLS with
	// the default media_encryption it is no parity gap, so the tests of
	// other findings see only theirs.
	if !slices.Contains(w.tel.Capabilities, protocol.CapSRTP) {
		w.tel.Capabilities = append(slices.Clone(w.tel.Capabilities), protocol.CapSRTP)
	}
	w.src.Telephony["sip"] = recTel{w.tel, w.j}
	w.cfgPath = filepath.Join(w.dir, "config.toml")
	w.secPath = filepath.Join(w.dir, secrets.FileName)
	w.env = enrol.Env{Source: w.src, Store: secrets.File(w.secPath), ConfigPath: w.cfgPath}
	t.Cleanup(func() {
		if n := w.src.Running(); n != 0 {
			t.Errorf("%d plugins left running", n)
		}
	})
	return w
}

func account() config.Account {
	return config.Account{Name: name, Related: true, XMPP: &config.XMPPAspect{JID: jid}, SIP: &config.SIPAspect{AOR: aor}}
}

func job() enrol.Job { return enrol.Job{Account: account(), XMPPPassword: xpw, SIPPassword: spw} }

func cleartextTelephony(r *protocol.ConnectionReport) {
	r.Encrypted, r.TLS, r.Transport = false, nil, "udp"
}

// fileBytes is a file's content, nil when it does not exist.
func fileBytes(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// RFC 7081 §2: SIP registers before XMPP logs in, and a failed
// registration means XMPP is not tried at all (the user never appears
// online while calls to them would fail).
func TestProveOrder(t *testing.T) {
	ctx := context.Background()
	t.Run("sip first", func(t *testing.T) {
		w := newWorld(t)
		out, err := enrol.Prove(ctx, w.env, job())
		if err != nil {
			t.Fatal(err)
		}
		if !out.OK() || !out.Saved {
			t.Fatalf("outcome: ok %v saved %v err %v", out.OK(), out.Saved, out.Result.Err())
		}
		// The SIP proof (register, unregister) ends before Chat starts.
		if got, want := w.j.list(), []string{"telephony.registered", "telephony.unregister", "chat.connect"}; !slices.Equal(got, want) {
			t.Errorf("order %q, want %q", got, want)
		}
	})
	t.Run("sip fails, chat not tried, nothing saved", func(t *testing.T) {
		w := newWorld(t)
		j := job()
		j.SIPPassword = "wrong"
		out, err := enrol.Prove(ctx, w.env, j)
		if err != nil {
			t.Fatal(err)
		}
		if out.OK() || out.Saved || !errors.Is(out.Result.Err(), protocol.ErrAuth) {
			t.Fatalf("outcome: ok %v saved %v err %v", out.OK(), out.Saved, out.Result.Err())
		}
		if out.Result.Chat.Skipped == "" {
			t.Error("chat was not skipped")
		}
		if slices.Contains(w.j.list(), "chat.connect") {
			t.Errorf("chat logged in after a failed registration: %q", w.j.list())
		}
		if fileBytes(t, w.cfgPath) != nil || fileBytes(t, w.secPath) != nil {
			t.Error("a failed login wrote the config or the secrets")
		}
	})
	t.Run("save anyway", func(t *testing.T) {
		w := newWorld(t)
		j := job()
		j.SIPPassword, j.SaveAnyway = "wrong", true
		out, err := enrol.Prove(ctx, w.env, j)
		if err != nil {
			t.Fatal(err)
		}
		if out.OK() || !out.Saved {
			t.Fatalf("outcome: ok %v saved %v", out.OK(), out.Saved)
		}
	})
	t.Run("parallel tries both", func(t *testing.T) {
		w := newWorld(t)
		j := job()
		j.SIPPassword, j.Parallel = "wrong", true
		out, err := enrol.Prove(ctx, w.env, j)
		if err != nil {
			t.Fatal(err)
		}
		if out.Result.Chat.Report == nil || out.Result.Chat.Skipped != "" {
			t.Errorf("parallel: chat not tried: %+v", out.Result.Chat)
		}
	})
}

// What is saved: the account (the default when it is the only one), both
// passwords in the store, plaintext never.
func TestProveSaves(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	j := job()
	j.Account.XMPP.AllowPlaintext = true // this invocation only (issue 13 item 9)
	if _, err := enrol.Prove(ctx, w.env, j); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(w.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	a, err := cfg.Account(name)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Default != name || a.XMPP.JID != jid || a.SIP.AOR != aor || a.XMPP.AllowPlaintext {
		t.Errorf("saved %+v (default %q)", a, cfg.Default)
	}
	for aspect, want := range map[string]string{config.AspectXMPP: xpw, config.AspectSIP: spw} {
		if got, err := w.env.Store.Get(ctx, secrets.Ref{Account: name, Aspect: aspect}); err != nil || got != want {
			t.Errorf("stored %s password: %v", aspect, err)
		}
	}
	// The passwords are in the store, never in the config.
	if c := fileBytes(t, w.cfgPath); bytes.Contains(c, []byte(xpw)) || bytes.Contains(c, []byte(spw)) {
		t.Error("config holds a password")
	}
}

// RFC 7081 §7: the aspects' protection is compared and judged by the
// policy chain; --require-parity and a policy's deny both keep the
// account from being saved, and a policy can adjust the findings.
func TestProveParity(t *testing.T) {
	ctx := context.Background()
	warnToInfo := func(r protocol.ParityRequest) protocol.ParityDecision {
		fs := slices.Clone(r.Findings)
		for i := range fs {
			fs[i].Severity = "info"
		}
		return protocol.ParityDecision{Decision: protocol.Decision{Verdict: protocol.Allow, Reason: "lab"}, Findings: fs}
	}
	deny := func(r protocol.ParityRequest) protocol.ParityDecision {
		return protocol.ParityDecision{Decision: protocol.Decision{Verdict: protocol.Deny, Reason: "no cleartext calls"}, Findings: r.Findings}
	}
	for _, tc := range []struct {
		name          string
		cleartext     bool
		require       bool
		policy        func(protocol.ParityRequest) protocol.ParityDecision
		saved, failed bool
		denied        bool
		asked         bool
		findings      bool
	}{
		{name: "alike: nothing to judge", saved: true},
		{name: "cleartext telephony: warned, saved", cleartext: true, saved: true, asked: true, findings: true},
		{name: "cleartext telephony, require parity", cleartext: true, require: true, failed: true, asked: true, findings: true},
		{name: "policy downgrades, require parity holds", cleartext: true, require: true, policy: warnToInfo, saved: true, asked: true, findings: true},
		{name: "policy denies", cleartext: true, policy: deny, denied: true, asked: true, findings: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			if tc.cleartext {
				w.tel.Report = cleartextTelephony
			}
			pol := &fake.Policy{Name: "default", OnParity: tc.policy}
			w.src.Policies["default"] = pol
			j := job()
			j.RequireParity = tc.require
			out, err := enrol.Prove(ctx, w.env, j)
			if err != nil {
				t.Fatal(err)
			}
			if out.Saved != tc.saved || out.ParityFailed != tc.failed || out.PolicyDenied != tc.denied {
				t.Errorf("saved %v parity failed %v denied %v, want %v %v %v", out.Saved, out.ParityFailed, out.PolicyDenied, tc.saved, tc.failed, tc.denied)
			}
			if asked := slices.Contains(pol.Asked(), "JudgeSecurityParity"); asked != tc.asked {
				t.Errorf("policy asked %v, want %v", pol.Asked(), tc.asked)
			}
			if got := len(out.Decision.Findings) > 0; got != tc.findings {
				t.Errorf("findings %+v", out.Decision.Findings)
			}
			if !tc.saved && fileBytes(t, w.cfgPath) != nil {
				t.Error("config written although the account was refused")
			}
		})
	}
}

// --policy: "default" alone clears the list; a policy that is not
// installed fails before any plugin starts (exit 6 in the CLI).
func TestProvePolicies(t *testing.T) {
	ctx := context.Background()
	if got := enrol.PolicyList([]string{"default"}); got != nil {
		t.Errorf("PolicyList(default) = %q", got)
	}
	if got := enrol.PolicyList([]string{"strict", "default"}); !slices.Equal(got, []string{"strict", "default"}) {
		t.Errorf("PolicyList = %q", got)
	}
	w := newWorld(t)
	j := job()
	j.Policies, j.SetPolicies = []string{"missing"}, true
	_, err := enrol.Prove(ctx, w.env, j)
	if !errors.Is(err, pluginhost.ErrPluginNotFound) {
		t.Fatalf("missing policy: %v", err)
	}
	if len(w.src.Started()) != 0 {
		t.Errorf("started %q before refusing", w.src.Started())
	}
	var e *enrol.Error
	if !errors.As(err, &e) || len(e.Hints()) == 0 {
		t.Errorf("no hint: %v", err)
	}

	w = newWorld(t)
	w.src.Policies["strict"] = &fake.Policy{Name: "strict"}
	j.Policies = []string{"strict"}
	out, err := enrol.Prove(ctx, w.env, j)
	if err != nil || !out.Saved {
		t.Fatalf("installed policy: %v", err)
	}
	cfg, err := config.Load(w.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if a, _ := cfg.Account(name); !slices.Equal(a.Policy, []string{"strict"}) {
		t.Errorf("saved policy list %q", a.Policy)
	}
}

// Bad input is a usage error before anything starts.
func TestProveBadInput(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	j := job()
	j.Account.CAFile = filepath.Join(w.dir, "no-such-ca.pem")
	if _, err := enrol.Prove(ctx, w.env, j); !enrol.IsUsage(err) {
		t.Errorf("missing CA file: %v", err)
	}
	j = job()
	j.Account.SIP, j.PublishReach = nil, true
	if _, err := enrol.Prove(ctx, w.env, j); !enrol.IsUsage(err) {
		t.Errorf("--publish-reach without SIP: %v", err)
	}
	if len(w.src.Started()) != 0 {
		t.Errorf("started %q on bad input", w.src.Started())
	}
}
