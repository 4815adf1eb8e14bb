package session_test

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cusax/cusax/pkg/core/agent"
	"github.com/cusax/cusax/pkg/core/agent/agentapi"
	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/core/pluginhost"
	"github.com/cusax/cusax/pkg/core/secrets"
	"github.com/cusax/cusax/pkg/core/session"
	"github.com/cusax/cusax/pkg/core/session/sessiontest"
	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/pkg/protocol/fake"
	cusaxv1 "github.com/cusax/cusax/pkg/protocol/proto/cusax/v1"
	"google.golang.org/grpc"
)

// These tests decide, without servers, when a one-liner uses the agent
// and when it logs in itself. The agent is the real one (pkg/core/agent)
// over fake backends; real servers are in cmd/cusax/internal/cli
// (agentclient_test.go).

const (
	aliceJID = "alice@example.com"
	alicePW  = "alice-secret"
	bobJID   = "bob@example.com"
	bobPW    = "bob-secret"
)

// countingStore is a secret store that counts lookups.
type countingStore struct {
	mu   sync.Mutex
	gets int
	pw   map[string]string
}

func (s *countingStore) Get(_ context.Context, ref secrets.Ref) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gets++
	if pw, ok := s.pw[ref.Account]; ok {
		return pw, nil
	}
	return "", secrets.ErrNotFound
}
func (s *countingStore) Set(context.Context, secrets.Ref, string) error { return nil }
func (s *countingStore) Delete(context.Context, secrets.Ref) error      { return nil }
func (s *countingStore) Name() string                                   { return "test" }

func (s *countingStore) lookups() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gets
}

func account(name, jid string) config.Account {
	return config.Account{Name: name, XMPP: &config.XMPPAspect{JID: jid}}
}

type ignored struct {
	mu   sync.Mutex
	errs []error
}

func (i *ignored) note(_ string, err error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.errs = append(i.errs, err)
}

func (i *ignored) all() []error {
	i.mu.Lock()
	defer i.mu.Unlock()
	return append([]error(nil), i.errs...)
}

// agentSource is the CLI's Source for the agent at dir/sock, with the
// fake service's backends as plugins for what the agent does not serve.
func agentSource(dir, sock string, plugins *sessiontest.Source, ig *ignored) *session.AgentSource {
	return &session.AgentSource{
		Inner:   func() (session.Source, error) { return plugins, nil },
		Dial:    func(ctx context.Context) (*grpc.ClientConn, error) { return agentapi.DialPath(ctx, dir, sock) },
		Socket:  sock,
		Ignored: ig.note,
		Self:    func() int { return -1 }, // the agent runs in this process
	}
}

func service() *fake.Service {
	return fake.NewService(
		fake.Account{Address: aliceJID, Password: alicePW, Roster: []protocol.RosterItem{{JID: bobJID, Name: "Bob"}}},
		fake.Account{Address: bobJID, Password: bobPW},
	)
}

// runAgent runs the real agent for alice over svc's backends, its socket
// in a private temp dir, until the test ends; it returns once alice's
// chat is connected.
func runAgent(t *testing.T, svc *fake.Service) (dir, sock string) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "agent")
	sock = filepath.Join(dir, agentapi.SocketName)
	a, err := agent.New(agent.Options{
		Source: sessiontest.New(svc), Store: &countingStore{pw: map[string]string{"alice": alicePW}},
		Accounts: []config.Account{account("alice", aliceJID)}, Dir: dir, Sock: sock, Log: func(string) {},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Error("the agent did not stop within 15 s")
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		if connected(dir, sock) {
			return dir, sock
		}
		if time.Now().After(deadline) {
			t.Fatal("the agent's chat did not connect within 10 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func connected(dir, sock string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	cc, err := agentapi.DialPath(ctx, dir, sock)
	if err != nil {
		return false
	}
	defer cc.Close()
	st, err := agentapi.NewAgentClient(cc).Status(ctx, &agentapi.StatusRequest{})
	if err != nil || len(st.GetAccounts()) == 0 {
		return false
	}
	return st.GetAccounts()[0].GetChat().GetState() == "connected"
}

func TestAgentLendsTheLiveSessionWithoutPasswordOrPlugin(t *testing.T) {
	svc := service()
	dir, sock := runAgent(t, svc)
	plugins := sessiontest.New(svc)
	ig := &ignored{}
	src := agentSource(dir, sock, plugins, ig)
	store := &countingStore{} // no password at all: a lookup would fail
	ctx := context.Background()

	sess, err := session.OpenChat(ctx, src, store, account("alice", aliceJID), 5*time.Second, nil)
	if err != nil {
		t.Fatalf("OpenChat through the agent: %v", err)
	}
	if !sess.Plugins.Lent(protocol.KindIMPP) {
		t.Error("the session is not the agent's lease")
	}
	if n := store.lookups(); n != 0 {
		t.Errorf("%d password lookups; want none when the agent serves the account", n)
	}
	if got := plugins.Started(); len(got) != 0 {
		t.Errorf("plugins started %v; want none", got)
	}
	items, err := sess.Roster(ctx)
	if err != nil || len(items) != 1 || items[0].JID != bobJID {
		t.Errorf("Roster through the lease = %v, %v", items, err)
	}
	if err := sess.Send(ctx, protocol.Message{To: bobJID, Type: "chat", Body: "hi"}); err != nil {
		t.Errorf("Send through the lease: %v", err)
	}
	sess.Shutdown()
	if !connected(dir, sock) {
		t.Error("closing the lease logged the agent's session out")
	}
	// A second one-liner gets a lease again.
	again, err := session.OpenChat(ctx, agentSource(dir, sock, plugins, ig), store, account("alice", aliceJID), 5*time.Second, nil)
	if err != nil {
		t.Fatalf("second OpenChat: %v", err)
	}
	again.Shutdown()
	if errs := ig.all(); len(errs) != 0 {
		t.Errorf("notes %v; want none for a working agent", errs)
	}
}

// The agent opens its own sessions through the same Source: it must log
// in, not lease from itself.
func TestAgentNeverLeasesFromItself(t *testing.T) {
	svc := service()
	dir, sock := runAgent(t, svc)
	plugins := sessiontest.New(svc)
	ig := &ignored{}
	src := agentSource(dir, sock, plugins, ig)
	src.Self = os.Getpid // as in the agent's process: the agent is this process
	store := &countingStore{pw: map[string]string{"alice": alicePW}}
	sess, err := session.OpenChat(context.Background(), src, store, account("alice", aliceJID), 5*time.Second, nil)
	if err != nil {
		t.Fatalf("OpenChat in the agent's own process: %v", err)
	}
	defer sess.Shutdown()
	if sess.Plugins.Lent(protocol.KindIMPP) || len(plugins.Started()) != 1 || len(ig.all()) != 0 {
		t.Errorf("lent %v, started %v, notes %v; want a login of its own, silently", sess.Plugins.Lent(protocol.KindIMPP), plugins.Started(), ig.all())
	}
}

func TestAgentNotServingTheAccountIsIgnoredSilently(t *testing.T) {
	svc := service()
	dir, sock := runAgent(t, svc)
	plugins := sessiontest.New(svc)
	ig := &ignored{}
	store := &countingStore{pw: map[string]string{"bob": bobPW}}
	sess, err := session.OpenChat(context.Background(), agentSource(dir, sock, plugins, ig), store, account("bob", bobJID), 5*time.Second, nil)
	if err != nil {
		t.Fatalf("OpenChat for an account the agent does not serve: %v", err)
	}
	defer sess.Shutdown()
	if sess.Plugins.Lent(protocol.KindIMPP) {
		t.Error("bob's session was lent by alice's agent")
	}
	if store.lookups() != 1 || len(plugins.Started()) != 1 {
		t.Errorf("lookups %d, started %v; want a fresh login (1 lookup, 1 plugin)", store.lookups(), plugins.Started())
	}
	if errs := ig.all(); len(errs) != 0 {
		t.Errorf("notes %v; an agent that does not serve the account is ignored silently", errs)
	}
}

// TestAgentFallback: every agent socket that cannot be used leads to a
// fresh login; the note is said for all but "there is no agent".
func TestAgentFallback(t *testing.T) {
	cases := []struct {
		name    string
		setup   func(t *testing.T, dir, sock string)
		noted   bool
		wantErr error
	}{
		{name: "no directory", setup: func(*testing.T, string, string) {}},
		{name: "no socket", setup: func(t *testing.T, dir, _ string) { mkdir(t, dir, 0o700) }},
		{name: "dead agent's socket", noted: true, wantErr: agentapi.ErrNoAgent, setup: func(t *testing.T, dir, sock string) {
			mkdir(t, dir, 0o700)
			staleSocket(t, sock)
		}},
		{name: "directory others may enter", noted: true, wantErr: agentapi.ErrRefused, setup: func(t *testing.T, dir, sock string) {
			mkdir(t, dir, 0o777)
			listen(t, sock)
		}},
		{name: "directory with group bits", noted: true, wantErr: agentapi.ErrRefused, setup: func(t *testing.T, dir, sock string) {
			mkdir(t, dir, 0o750)
			listen(t, sock)
		}},
		{name: "symlinked directory", noted: true, wantErr: agentapi.ErrRefused, setup: func(t *testing.T, dir, sock string) {
			real := dir + ".real"
			mkdir(t, real, 0o700)
			listen(t, filepath.Join(real, agentapi.SocketName))
			if err := os.Symlink(real, dir); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "socket owned by nobody", noted: true, wantErr: agentapi.ErrRefused, setup: func(t *testing.T, dir, sock string) {
			if testing.Short() {
				t.Skip("needs root (-short)")
			}
			if os.Geteuid() != 0 {
				if os.Getenv("CI") == "true" {
					t.Fatal("needs root to give the socket to nobody; CI runs tests as root")
				}
				t.Skip("needs root to give the socket to nobody")
			}
			mkdir(t, dir, 0o700)
			listen(t, sock)
			if err := os.Lchown(sock, 65534, 65534); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "regular file as socket", noted: true, wantErr: agentapi.ErrRefused, setup: func(t *testing.T, dir, sock string) {
			mkdir(t, dir, 0o700)
			if err := os.WriteFile(sock, nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "listener that is no agent", noted: true, setup: func(t *testing.T, dir, sock string) {
			mkdir(t, dir, 0o700)
			ln := listen(t, sock)
			go func() { // accepts and says nothing a gRPC client understands
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					_, _ = c.Write([]byte("not http/2\r\n\r\n"))
					_ = c.Close()
				}
			}()
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "agent")
			sock := filepath.Join(dir, agentapi.SocketName)
			c.setup(t, dir, sock)
			svc := service()
			plugins := sessiontest.New(svc)
			ig := &ignored{}
			store := &countingStore{pw: map[string]string{"alice": alicePW}}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			sess, err := session.OpenChat(ctx, agentSource(dir, sock, plugins, ig), store, account("alice", aliceJID), 5*time.Second, nil)
			if err != nil {
				t.Fatalf("OpenChat: %v; want a fresh login", err)
			}
			defer sess.Shutdown()
			if sess.Plugins.Lent(protocol.KindIMPP) || store.lookups() != 1 || len(plugins.Started()) != 1 {
				t.Errorf("lent %v, lookups %d, started %v; want a fresh login", sess.Plugins.Lent(protocol.KindIMPP), store.lookups(), plugins.Started())
			}
			errs := ig.all()
			if !c.noted {
				if len(errs) != 0 {
					t.Errorf("notes %v; want none", errs)
				}
				return
			}
			if len(errs) != 1 {
				t.Fatalf("notes %v; want exactly one", errs)
			}
			if c.wantErr != nil && !errors.Is(errs[0], c.wantErr) {
				t.Errorf("note %v; want it to wrap %v", errs[0], c.wantErr)
			}
		})
	}
}

func TestIgnoredAgent(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.sock")
	stale := filepath.Join(dir, "stale.sock")
	staleSocket(t, stale)
	cases := []struct {
		name   string
		err    error
		socket string
		want   bool
	}{
		{"no error", nil, stale, false},
		{"no socket", agentapi.ErrNoAgent, missing, false},
		{"stale socket", agentapi.ErrNoAgent, stale, true},
		{"refused", agentapi.ErrRefused, stale, true},
		{"refused, socket gone since", agentapi.ErrRefused, missing, true},
		{"timeout", context.DeadlineExceeded, stale, true},
	}
	for _, c := range cases {
		if got := session.IgnoredAgent(c.err, c.socket); got != c.want {
			t.Errorf("%s: IgnoredAgent = %v, want %v", c.name, got, c.want)
		}
	}
}

func mkdir(t *testing.T, dir string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, mode); err != nil {
		t.Fatal(err)
	}
}

func listen(t *testing.T, sock string) *net.UnixListener {
	t.Helper()
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// staleSocket leaves a socket file nobody listens on, as a killed agent
// does.
func staleSocket(t *testing.T, sock string) {
	t.Helper()
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
}

// stubAgent serves Status (alice's chat) and the IMPP service of a fake
// service on a private socket, as the agent does, so that the leases the
// client opens and closes can be counted (svc.Open).
type stubAgent struct {
	agentapi.UnimplementedAgentServer
}

func (stubAgent) Status(context.Context, *agentapi.StatusRequest) (*agentapi.StatusResponse, error) {
	return &agentapi.StatusResponse{Pid: 1, Accounts: []*agentapi.AccountStatus{{
		Name: "alice", Chat: &agentapi.AspectStatus{Address: aliceJID, Backend: "xmpp", State: "connected"},
	}}}, nil
}

// leaseIMPP logs into the fake service without the password, as a lease
// needs none.
type leaseIMPP struct{ protocol.IMPP }

func (l leaseIMPP) Connect(ctx context.Context, req protocol.ConnectRequest) (protocol.IMPPSession, error) {
	req.Password = alicePW
	return l.IMPP.Connect(ctx, req)
}

func runStubAgent(t *testing.T, svc *fake.Service) (dir, sock string) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "agent")
	sock = filepath.Join(dir, agentapi.SocketName)
	if err := agentapi.EnsureDir(dir); err != nil {
		t.Fatal(err)
	}
	ln := listen(t, sock)
	srv := grpc.NewServer()
	agentapi.RegisterAgentServer(srv, stubAgent{})
	_ = (&cusaxv1.IMPPPlugin{Impl: leaseIMPP{svc.IMPP()}}).GRPCServer(nil, srv)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	return dir, sock
}

// TestAgentLeasesAreClosed: the Connect sent ahead (with Status) is taken
// by the command's Connect and closed by its Shutdown; one nobody took is
// closed by the Source's Close, which the CLI calls before exiting.
func TestAgentLeasesAreClosed(t *testing.T) {
	svc := service()
	dir, sock := runStubAgent(t, svc)
	ctx := context.Background()
	openLeases := func() int { return svc.Open() }

	src := agentSource(dir, sock, sessiontest.New(svc), &ignored{})
	sess, err := session.OpenChat(ctx, src, &countingStore{}, account("alice", aliceJID), 5*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := openLeases(); n != 1 {
		t.Errorf("%d leases open during the command; want 1 (the speculative Connect, taken)", n)
	}
	sess.Shutdown()
	if err := src.Close(); err != nil {
		t.Error(err)
	}
	if n := openLeases(); n != 0 {
		t.Errorf("%d leases open after Shutdown; want 0", n)
	}

	// Lent but never connected (the command failed before Connect).
	src = agentSource(dir, sock, sessiontest.New(svc), &ignored{})
	if !session.Lends(ctx, src, protocol.KindIMPP, aliceJID) {
		t.Fatal("the stub agent's account is not lent")
	}
	waitLeases := time.Now().Add(5 * time.Second)
	for openLeases() != 1 && time.Now().Before(waitLeases) {
		time.Sleep(10 * time.Millisecond)
	}
	if err := src.Close(); err != nil {
		t.Error(err)
	}
	if n := openLeases(); n != 0 {
		t.Errorf("%d leases open after Close of a Source whose lease nobody took; want 0", n)
	}
}

// TestAgentGoneMidCommand: a long-running command that logs in again
// (chat --lines after a drop) while the agent was stopped under it gets a
// fresh login with the note, not the dead socket forever.
func TestAgentGoneMidCommand(t *testing.T) {
	svc := service()
	dir := filepath.Join(t.TempDir(), "agent")
	sock := filepath.Join(dir, agentapi.SocketName)
	if err := agentapi.EnsureDir(dir); err != nil {
		t.Fatal(err)
	}
	ln := listen(t, sock)
	srv := grpc.NewServer()
	agentapi.RegisterAgentServer(srv, stubAgent{})
	_ = (&cusaxv1.IMPPPlugin{Impl: leaseIMPP{svc.IMPP()}}).GRPCServer(nil, srv)
	go func() { _ = srv.Serve(ln) }()
	defer srv.Stop()

	ig := &ignored{}
	plugins := sessiontest.New(svc)
	src := agentSource(dir, sock, plugins, ig)
	src.Recheck = time.Nanosecond
	ctx := context.Background()
	store := &countingStore{pw: map[string]string{"alice": alicePW}}
	first, err := session.OpenChat(ctx, src, store, account("alice", aliceJID), 5*time.Second, nil)
	if err != nil || !first.Plugins.Lent(protocol.KindIMPP) {
		t.Fatalf("first OpenChat: lent %v, %v", err == nil && first.Plugins.Lent(protocol.KindIMPP), err)
	}
	first.Shutdown()
	srv.Stop() // the agent goes away under the running command
	again, err := session.OpenChat(ctx, src, store, account("alice", aliceJID), 5*time.Second, nil)
	if err != nil {
		t.Fatalf("OpenChat after the agent went away: %v; want a fresh login", err)
	}
	defer again.Shutdown()
	if again.Plugins.Lent(protocol.KindIMPP) || len(plugins.Started()) != 1 || store.lookups() != 1 {
		t.Errorf("lent %v, started %v, lookups %d; want a fresh login", again.Plugins.Lent(protocol.KindIMPP), plugins.Started(), store.lookups())
	}
	if errs := ig.all(); len(errs) != 1 {
		t.Errorf("notes %v; want one", errs)
	}
	_ = src.Close()
}

// stallIMPP is a lease server whose Connect waits for a session that does
// not come back (the agent reconnecting through an outage).
type stallIMPP struct{ protocol.IMPP }

func (stallIMPP) Connect(ctx context.Context, _ protocol.ConnectRequest) (protocol.IMPPSession, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// TestAgentLeaseTimeoutIsNetwork: a lease that waits past the command's
// deadline for the agent's session to come back fails as a fresh login
// that times out does (ErrTimeout), not as a hung plugin.
func TestAgentLeaseTimeoutIsNetwork(t *testing.T) {
	svc := service()
	dir := filepath.Join(t.TempDir(), "agent")
	sock := filepath.Join(dir, agentapi.SocketName)
	if err := agentapi.EnsureDir(dir); err != nil {
		t.Fatal(err)
	}
	ln := listen(t, sock)
	srv := grpc.NewServer()
	agentapi.RegisterAgentServer(srv, stubAgent{})
	_ = (&cusaxv1.IMPPPlugin{Impl: stallIMPP{svc.IMPP()}}).GRPCServer(nil, srv)
	go func() { _ = srv.Serve(ln) }()
	defer srv.Stop()
	src := agentSource(dir, sock, sessiontest.New(svc), &ignored{})
	_, err := session.OpenChat(context.Background(), src, &countingStore{}, account("alice", aliceJID), 100*time.Millisecond, nil)
	if !errors.Is(err, protocol.ErrTimeout) || errors.Is(err, pluginhost.ErrFailed) {
		t.Fatalf("OpenChat through a stalled lease: %v; want ErrTimeout, not a plugin failure", err)
	}
	_ = src.Close()
}
