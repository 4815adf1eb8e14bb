package agent

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"google.golang.org/grpc"

	"github.com/cusax/cusax/pkg/core/agent/agentapi"
	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/core/secrets"
	"github.com/cusax/cusax/pkg/core/session"
	cusaxv1 "github.com/cusax/cusax/pkg/protocol/proto/cusax/v1"
)

// ErrRunning: another agent already runs for this user (its socket
// answers, or it holds the lock while starting).
var ErrRunning = errors.New("an agent is already running")

func errorsIs(err, target error) bool { return errors.Is(err, target) }

// Options configure an Agent.
type Options struct {
	// Source starts the backends (the plugin host in the binary).
	Source session.Source
	// Store holds the passwords (session.Passwords resolves them).
	Store secrets.Store
	// Accounts are the accounts to keep connected.
	Accounts []config.Account
	// Version is reported by Status.
	Version string
	// Log receives one line per state change, without a trailing newline
	// and without the "cusax agent: " prefix, one call at a time. Never a
	// secret.
	Log func(line string)
	// ProbeEvery is the XMPP liveness probe interval; 0 means 30 s.
	ProbeEvery time.Duration
	// Timeout bounds one login attempt of an aspect; 0 means 15 s.
	Timeout time.Duration
	// StopGrace bounds the clean stop (unregister, presence unavailable,
	// log out); 0 means 8 s.
	StopGrace time.Duration
	// Dir and Sock override agentapi.Paths (tests).
	Dir, Sock string
}

// Agent is one running agent.
type Agent struct {
	opts     Options
	started  time.Time
	accounts []*account
	stop     chan struct{}
	stopOnce sync.Once
	logMu    sync.Mutex
	conns    conns
}

// New checks the options; Run does the work.
func New(opts Options) (*Agent, error) {
	if opts.Source == nil {
		return nil, errors.New("agent: no plugin source")
	}
	if len(opts.Accounts) == 0 {
		return nil, errors.New("agent: no account to keep connected")
	}
	if opts.Log == nil {
		opts.Log = func(string) {}
	}
	if opts.ProbeEvery <= 0 {
		opts.ProbeEvery = 30 * time.Second
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 15 * time.Second
	}
	if opts.StopGrace <= 0 {
		opts.StopGrace = 8 * time.Second
	}
	if opts.Dir == "" || opts.Sock == "" {
		dir, sock, err := agentapi.Paths()
		if err != nil {
			return nil, err
		}
		opts.Dir, opts.Sock = dir, sock
	}
	a := &Agent{opts: opts, stop: make(chan struct{})}
	a.opts.Source = newSharedSource(opts.Source, a.logf)
	for _, acc := range opts.Accounts {
		a.accounts = append(a.accounts, newAccount(a, acc))
	}
	return a, nil
}

// logf hands one line to Options.Log; calls are serialised (the aspects
// log from their own goroutines).
func (a *Agent) logf(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	a.logMu.Lock()
	defer a.logMu.Unlock()
	a.opts.Log(line)
}

// Stop asks Run to stop cleanly, as when its ctx ends.
func (a *Agent) Stop() { a.stopOnce.Do(func() { close(a.stop) }) }

// Run claims the socket, starts every account and serves until ctx ends
// or Stop is called; then it stops cleanly (SIP unregistered, XMPP
// presence unavailable and logged out, plugins stopped, socket removed),
// bounded by StopGrace. Errors before serving: ErrRunning, an error
// wrapping agentapi.ErrRefused (the socket's directory or socket is not
// private), or the listen error.
func (a *Agent) Run(ctx context.Context) error {
	ln, release, err := a.claim(ctx)
	if err != nil {
		return err
	}
	defer release()
	a.started = time.Now()

	srv := grpc.NewServer(grpc.StatsHandler(&a.conns),
		grpc.ChainUnaryInterceptor(a.recoverUnary), grpc.ChainStreamInterceptor(a.recoverStream))
	agentapi.RegisterAgentServer(srv, &control{a: a})
	_ = (&cusaxv1.IMPPPlugin{Impl: &leaseIMPP{a: a}}).GRPCServer(nil, srv)
	_ = (&cusaxv1.TelephonyPlugin{Impl: &leaseTelephony{a: a}}).GRPCServer(nil, srv)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(&peerListener{UnixListener: ln, log: a.logf}) }()
	a.logf("listening on %s (pid %d)", a.opts.Sock, os.Getpid())

	runCtx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, acc := range a.accounts {
		wg.Add(1)
		go func() { defer wg.Done(); acc.run(runCtx) }()
	}

	select {
	case <-ctx.Done():
	case <-a.stop:
	case err := <-served:
		a.logf("socket server ended: %v", err)
	}
	a.logf("stopping")
	// Leases end first (their streams are cancelled), then the accounts
	// log out, each bounded.
	stopped := make(chan struct{})
	go func() { srv.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(time.Second):
		srv.Stop()
	}
	cancel()
	wg.Wait()
	sctx, scancel := context.WithTimeout(context.Background(), a.opts.StopGrace)
	defer scancel()
	var swg sync.WaitGroup
	for _, acc := range a.accounts {
		swg.Add(1)
		go func() { defer swg.Done(); acc.shutdown(sctx) }()
	}
	swg.Wait()
	a.logf("stopped")
	return nil
}

// claim makes sure no other agent runs, takes the lock, removes a stale
// socket and listens (socket mode 0600 in a 0700 directory).
func (a *Agent) claim(ctx context.Context) (*net.UnixListener, func(), error) {
	dir, sock := a.opts.Dir, a.opts.Sock
	if err := agentapi.EnsureDir(dir); err != nil {
		return nil, nil, fmt.Errorf("agent socket directory: %w", err)
	}
	if pid, ok := a.answering(ctx); ok {
		return nil, nil, fmt.Errorf("%w (pid %d, %s)", ErrRunning, pid, sock)
	}
	// The lock makes two agents starting at once safe: the second sees it
	// held. It is released by the kernel when the process dies (kill -9).
	lf, err := os.OpenFile(filepath.Join(dir, "agent.lock"), os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("agent lock: %w", err)
	}
	if err := syscall.Flock(int(lf.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lf.Close()
		return nil, nil, fmt.Errorf("%w (it holds %s)", ErrRunning, lf.Name())
	}
	if err := agentapi.CheckSocket(sock); err == nil {
		// Nothing answered and we hold the lock: a killed agent's socket.
		a.logf("removing the stale socket %s", sock)
		_ = os.Remove(sock)
	} else if !errors.Is(err, fs.ErrNotExist) {
		lf.Close()
		return nil, nil, fmt.Errorf("agent socket: %w", err)
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		lf.Close()
		return nil, nil, fmt.Errorf("agent socket: %w", err)
	}
	// The directory already keeps others out; the mode says so again.
	if err := os.Chmod(sock, 0o600); err != nil {
		ln.Close()
		lf.Close()
		return nil, nil, fmt.Errorf("agent socket: %w", err)
	}
	return ln, func() {
		ln.Close() // removes the socket file
		_ = os.Remove(sock)
		lf.Close()
	}, nil
}

// answering reports whether an agent answers Status on the socket.
func (a *Agent) answering(ctx context.Context) (int, bool) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	cc, err := agentapi.DialPath(ctx, a.opts.Dir, a.opts.Sock)
	if err != nil {
		return 0, false
	}
	defer cc.Close()
	st, err := agentapi.NewAgentClient(cc).Status(ctx, &agentapi.StatusRequest{})
	if err != nil {
		return 0, false
	}
	return int(st.GetPid()), true
}

// peerListener accepts only connections from processes of this uid
// (SO_PEERCRED); others are closed at once and logged.
type peerListener struct {
	*net.UnixListener
	log func(string, ...any)
}

func (l *peerListener) Accept() (net.Conn, error) {
	for {
		c, err := l.UnixListener.Accept()
		if err != nil {
			return nil, err
		}
		uid, err := agentapi.PeerUID(c)
		if err == nil && uid == os.Geteuid() {
			return c, nil
		}
		if err != nil {
			l.log("refused a connection: %v", err)
		} else {
			l.log("refused a connection from uid %d (the agent serves uid %d only)", uid, os.Geteuid())
		}
		_ = c.Close()
	}
}

// control serves cusax.agent.v1.Agent.
type control struct {
	agentapi.UnimplementedAgentServer
	a *Agent
}

func (c *control) Status(context.Context, *agentapi.StatusRequest) (*agentapi.StatusResponse, error) {
	r := &agentapi.StatusResponse{Pid: int32(os.Getpid()), Uid: int32(os.Geteuid()), Version: c.a.opts.Version,
		StartedAtNs: c.a.started.UnixNano(), OpenLeases: int32(c.a.conns.open.Load())}
	for _, acc := range c.a.accounts {
		r.Accounts = append(r.Accounts, acc.status())
	}
	return r, nil
}

func (c *control) Stop(context.Context, *agentapi.StopRequest) (*agentapi.StopResponse, error) {
	// Answer first: the stop ends the server this reply goes through.
	time.AfterFunc(50*time.Millisecond, c.a.Stop)
	return &agentapi.StopResponse{}, nil
}
