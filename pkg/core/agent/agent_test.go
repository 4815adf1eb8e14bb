package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/cusax/cusax/pkg/core/agent/agentapi"
	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/core/secrets"
	"github.com/cusax/cusax/pkg/core/session/sessiontest"
	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/pkg/protocol/fake"
	cusaxv1 "github.com/cusax/cusax/pkg/protocol/proto/cusax/v1"
)

// The helper process: a client that connects to the socket in
// AGENT_TEST_PEER without any check and asks for Status, printing
// "answered" or "refused: …" (run as another user by TestForeignUIDRefused).
func TestMain(m *testing.M) {
	if sock := os.Getenv("AGENT_TEST_PEER"); sock != "" {
		cc, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, err = agentapi.NewAgentClient(cc).Status(ctx, &agentapi.StatusRequest{})
			cancel()
		}
		if err != nil {
			fmt.Println("refused:", err)
			os.Exit(1)
		}
		fmt.Println("answered")
		os.Exit(0)
	}
	os.Exit(m.Run())
}

type memStore struct{ m map[string]string }

func (s memStore) Get(_ context.Context, r secrets.Ref) (string, error) {
	if p, ok := s.m[r.Key()]; ok {
		return p, nil
	}
	return "", secrets.ErrNotFound
}
func (s memStore) Set(_ context.Context, r secrets.Ref, p string) error { s.m[r.Key()] = p; return nil }
func (s memStore) Delete(context.Context, secrets.Ref) error            { return nil }
func (s memStore) Name() string                                         { return "memory" }

const (
	jidAlice = "alice@example.test"
	aorAlice = "sip:alice@example.test"
)

type logBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuf) add(s string) { l.mu.Lock(); l.b.WriteString(s + "\n"); l.mu.Unlock() }
func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type fixture struct {
	svc       *fake.Service
	impp      *droppable
	a         *Agent
	log       *logBuf
	dir, sock string
	done      chan error
}

func start(t *testing.T, dir string) *fixture { t.Helper(); return startWith(t, dir, nil) }

// startWith is start with a chance to change the backends first.
func startWith(t *testing.T, dir string, change func(*sessiontest.Source)) *fixture {
	t.Helper()
	svc := fake.NewService(fake.Account{Address: jidAlice, Password: "pw"}, fake.Account{Address: aorAlice, Password: "pw"})
	store := memStore{m: map[string]string{}}
	acct := config.Account{Name: "work", XMPP: &config.XMPPAspect{JID: jidAlice}, SIP: &config.SIPAspect{AOR: aorAlice}}
	_ = store.Set(context.Background(), secrets.Ref{Account: "work", Aspect: config.AspectXMPP}, "pw")
	_ = store.Set(context.Background(), secrets.Ref{Account: "work", Aspect: config.AspectSIP}, "pw")
	f := &fixture{svc: svc, log: &logBuf{}, dir: dir, sock: filepath.Join(dir, agentapi.SocketName), done: make(chan error, 1)}
	src := sessiontest.New(svc)
	f.impp = &droppable{IMPP: src.IMPP["xmpp"]}
	src.IMPP["xmpp"] = f.impp
	if change != nil {
		change(src)
	}
	a, err := New(Options{Source: src, Store: store, Accounts: []config.Account{acct}, Version: "test",
		Log: f.log.add, ProbeEvery: 100 * time.Millisecond, Dir: f.dir, Sock: f.sock})
	if err != nil {
		t.Fatal(err)
	}
	f.a = a
	ctx, cancel := context.WithCancel(context.Background())
	go func() { f.done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-f.done:
		case <-time.After(15 * time.Second):
			t.Error("agent did not stop")
		}
	})
	waitFor(t, "both aspects up", func() bool {
		s := f.log.String()
		return strings.Contains(s, "chat: connected as") && strings.Contains(s, "telephony: registered")
	})
	return f
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func privateDir(t *testing.T) string {
	d := filepath.Join(t.TempDir(), "cusax-agent")
	if err := agentapi.EnsureDir(d); err != nil {
		t.Fatal(err)
	}
	return d
}

func dial(t *testing.T, f *fixture) *grpc.ClientConn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cc, err := agentapi.DialPath(ctx, f.dir, f.sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

// A lease over the socket: Status, Connect by address (ErrNotFound for
// another), a message sent through the live session, Close that leaves
// the live session up, the negative priority without a listener and a
// non-negative one with.
func TestLeaseOverSocket(t *testing.T) {
	f := start(t, privateDir(t))
	cc := dial(t, f)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	st, err := agentapi.NewAgentClient(cc).Status(ctx, &agentapi.StatusRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Accounts) != 1 || st.Accounts[0].Chat.GetState() != StateConnected || st.Accounts[0].Telephony.GetState() != StateConnected || int(st.Pid) != os.Getpid() {
		t.Fatalf("status = %v", st)
	}

	impp := cusaxv1.NewIMPPHost(cc)
	if _, err := impp.Connect(ctx, protocol.ConnectRequest{Address: "mallory@example.test"}); !errors.Is(err, protocol.ErrNotFound) {
		t.Fatalf("Connect(other) = %v, want ErrNotFound", err)
	}
	// The agent's own presence: negative priority (RFC 6121 §4.7.2.3).
	if ps := f.svc.Presences(); len(ps) == 0 || ps[len(ps)-1].Priority >= 0 {
		t.Fatalf("agent presence = %+v, want a negative priority", ps)
	}
	lease, err := impp.Connect(ctx, protocol.ConnectRequest{Address: jidAlice})
	if err != nil {
		t.Fatal(err)
	}
	if err := lease.Send(ctx, protocol.Message{To: "bob@example.test", Body: "hi"}); err != nil {
		t.Fatal(err)
	}
	if sent := f.svc.Sent(); len(sent) != 1 || sent[0].Body != "hi" || !sent[0].Delay.IsZero() {
		t.Fatalf("sent = %+v", sent)
	}
	msgs, err := lease.Messages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "priority 0 while a lease listens", func() bool {
		ps := f.svc.Presences()
		return ps[len(ps)-1].Priority == 0
	})
	if n := f.svc.Deliver(protocol.Message{To: jidAlice, From: "bob@example.test", Body: "to you"}); n != 1 {
		t.Fatalf("delivered to %d streams, want 1", n)
	}
	if m, err := msgs.Recv(); err != nil || m.Body != "to you" {
		t.Fatalf("lease got %+v, %v", m, err)
	}
	open := f.svc.Open()
	if err := lease.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := msgs.Recv(); err == nil {
		t.Fatal("the lease's stream went on after Close")
	}
	waitFor(t, "negative priority again", func() bool {
		ps := f.svc.Presences()
		return ps[len(ps)-1].Priority < 0
	})
	if f.svc.Open() != open {
		t.Fatalf("lease Close changed the open sessions: %d → %d", open, f.svc.Open())
	}

	tel := cusaxv1.NewTelephonyHost(cc)
	tl, err := tel.Connect(ctx, protocol.ConnectRequest{Address: aorAlice})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := tl.Register(ctx, protocol.RegisterRequest{}); err != nil || r.State != "registered" {
		t.Fatalf("lease Register = %+v, %v", r, err)
	}
	// OPTIONS through the lease reaches the agent's user agent (audit-contacts
	// while the agent runs): alice is registered by the agent itself.
	if res, err := tl.(protocol.OptionsAsker).Options(ctx, aorAlice); err != nil || res.StatusCode != 200 {
		t.Fatalf("lease Options = %+v, %v", res, err)
	}
	if err := tl.Unregister(ctx); err != nil {
		t.Fatal(err)
	}
	_ = tl.Close(ctx)

	// Stop answers, then the agent logs out and removes the socket.
	if _, err := agentapi.NewAgentClient(cc).Stop(ctx, &agentapi.StopRequest{}); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-f.done:
		if err != nil {
			t.Fatal(err)
		}
		f.done <- nil
	case <-time.After(15 * time.Second):
		t.Fatal("Stop did not stop the agent")
	}
	if _, err := os.Lstat(f.sock); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("socket left behind: %v", err)
	}
	if ps := f.svc.Presences(); ps[len(ps)-1].Type != "unavailable" {
		t.Fatalf("last presence %+v, want unavailable", ps[len(ps)-1])
	}
	if n := f.svc.Open(); n != 0 {
		t.Fatalf("%d sessions open after stop", n)
	}
}

// A second agent refuses while the first answers.
func TestSecondAgentRefused(t *testing.T) {
	f := start(t, privateDir(t))
	a2, err := New(Options{Source: sessiontest.New(f.svc), Store: memStore{m: map[string]string{}},
		Accounts: []config.Account{{Name: "x", XMPP: &config.XMPPAspect{JID: jidAlice}}}, Dir: f.dir, Sock: f.sock})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a2.Run(ctx); !errors.Is(err, ErrRunning) {
		t.Fatalf("second Run = %v, want ErrRunning", err)
	}
	if _, err := os.Lstat(f.sock); err != nil {
		t.Fatalf("the first agent's socket: %v", err)
	}
}

// A chat session that dies is noticed by the probe and replaced; a
// message sent through a lease meanwhile waits and goes out once, stamped
// as delayed (XEP-0203) because it waited more than a second.
func TestChatReconnectAndDelayedSend(t *testing.T) {
	f := start(t, privateDir(t))
	cc := dial(t, f)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	lease, err := cusaxv1.NewIMPPHost(cc).Connect(ctx, protocol.ConnectRequest{Address: jidAlice})
	if err != nil {
		t.Fatal(err)
	}
	// The server goes away: the live session is closed under the agent,
	// and logging in fails until it is back.
	f.svc.FailConnect(jidAlice, fmt.Errorf("refused: %w", protocol.ErrUnreachable))
	f.impp.drop()
	waitFor(t, "the loss noticed", func() bool { return strings.Contains(f.log.String(), "chat: connection lost") })
	sent := make(chan error, 1)
	handed := time.Now()
	go func() { sent <- lease.Send(ctx, protocol.Message{To: "bob@example.test", Body: "during the outage"}) }()
	time.Sleep(1500 * time.Millisecond) // the outage must outlast the 1 s threshold
	f.svc.FailConnect(jidAlice, nil)
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	waitFor(t, "connected again", func() bool { return strings.Contains(f.log.String(), "chat: connected again after") })
	var got []protocol.Message
	for _, m := range f.svc.Sent() {
		if m.Body == "during the outage" {
			got = append(got, m)
		}
	}
	if len(got) != 1 || got[0].Delay.IsZero() || got[0].Delay.Sub(handed).Abs() > 500*time.Millisecond {
		t.Fatalf("sent %+v, want once with Delay ≈ %v", got, handed)
	}
}

// Another local user may not use the socket: the agent closes its
// connection (SO_PEERCRED) and logs it, even when the directory lets it
// through (here opened on purpose after the agent started).
func TestForeignUIDRefused(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("needs root to run a client as nobody; CI runs tests as root")
		}
		t.Skip("needs root to run a client as nobody")
	}
	base, err := os.MkdirTemp("", "agent-peer-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	must(t, os.Chmod(base, 0o711))
	dir := filepath.Join(base, "cusax-agent")
	must(t, agentapi.EnsureDir(dir))
	f := start(t, dir)
	// Let nobody reach the socket: only the kernel's peer check is left.
	must(t, os.Chmod(dir, 0o711))
	must(t, os.Chmod(f.sock, 0o666))
	// The test binary, where nobody may run it.
	self, err := os.Executable()
	must(t, err)
	bin := filepath.Join(base, "peer.test")
	b, err := os.ReadFile(self)
	must(t, err)
	must(t, os.WriteFile(bin, b, 0o755))
	cmd := exec.Command(bin)
	cmd.Env = []string{"AGENT_TEST_PEER=" + f.sock}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	t.Logf("client as nobody: %v\n%s", err, out)
	if err == nil || !strings.Contains(string(out), "refused") {
		t.Fatalf("the client running as nobody was answered: %s", out)
	}
	waitFor(t, "the refusal logged", func() bool {
		return strings.Contains(f.log.String(), "refused a connection from uid 65534")
	})
	// Our own uid still gets answers.
	must(t, os.Chmod(dir, 0o700))
	cc := dial(t, f)
	if _, err := agentapi.NewAgentClient(cc).Status(context.Background(), &agentapi.StatusRequest{}); err != nil {
		t.Fatal(err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
