package session

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"time"

	"github.com/cusax/cusax/pkg/core/agent/agentapi"
	"github.com/cusax/cusax/pkg/protocol"
	cusaxv1 "github.com/cusax/cusax/pkg/protocol/proto/cusax/v1"
	"github.com/hashicorp/go-hclog"
	"google.golang.org/grpc"
)

// agentAsk bounds the agent's answer to Status and Info: it is a local
// process, and a wedged one must not stall a one-liner (it logs in itself
// instead).
const agentAsk = 2 * time.Second

// AgentSource is the Source of the cusax binary when an agent may run: it
// lends the live sessions `cusax agent` keeps for the account (Lender), and
// starts plugins through Inner for everything else. Only an agent proven
// to be the user's own is used (agentapi.Dial: a private directory, a
// socket of the user's, a listener running as the user, SO_PEERCRED); one
// that cannot be used is reported to Ignored, never trusted.
type AgentSource struct {
	// Inner starts plugins; called on first need, so a one-liner served by
	// the agent never scans plugin directories.
	Inner func() (Source, error)
	// Dial connects to the agent (agentapi.Dial; tests use DialPath).
	Dial func(ctx context.Context) (*grpc.ClientConn, error)
	// Socket is the socket path Dial uses (for Ignored and --debug).
	Socket string
	// Ignored hears why an agent socket that is there was not used (a
	// dead agent's leftover, a socket or directory others can reach, a
	// listener of another user, an agent that does not answer). It is not
	// called when there is no agent socket at all, nor when the agent
	// does not serve the account. nil: nothing is said.
	Ignored func(socket string, err error)
	// Log hears whether the agent was used (--debug).
	Log hclog.Logger
	// Self is this process's pid (nil: os.Getpid): an agent with this pid
	// is this process, which must not lease from itself. Tests that run
	// the agent in process set another.
	Self func() int
	// Recheck is how old the agent's last answer may be before a Lend asks
	// again (0: one second). A long-running command that logs in again
	// after a drop thus notices an agent that went away, and logs in
	// itself, instead of asking a dead socket forever.
	Recheck time.Duration

	once   sync.Once
	conn   *grpc.ClientConn
	served map[protocol.Kind]map[string]string // address → backend name
	infos  map[protocol.Kind]*infoCall
	spec   *speculation
	asked  time.Time // when Status last answered
	noted  sync.Once
	mu     sync.Mutex // infos
	lmu    sync.Mutex // conn, served, asked after connect
}

var _ Lender = (*AgentSource)(nil)

// Start starts a plugin through Inner.
func (s *AgentSource) Start(ctx context.Context, kind protocol.Kind, name string) (*Started, error) {
	in, err := s.Inner()
	if err != nil {
		return nil, err
	}
	return in.Start(ctx, kind, name)
}

// Lookup asks Inner.
func (s *AgentSource) Lookup(kind protocol.Kind, name string) error {
	in, err := s.Inner()
	if err != nil {
		return err
	}
	return in.Lookup(kind, name)
}

// DecisionTimeout is Inner's (0 when Inner cannot be had: Policies then
// fails on Start with Inner's error).
func (s *AgentSource) DecisionTimeout() time.Duration {
	in, err := s.Inner()
	if err != nil {
		return 0
	}
	return in.DecisionTimeout()
}

// Lend implements Lender: on first use it dials the agent and asks which
// accounts it keeps (one Status call); an aspect it lists is lent, in
// whatever state (a lease waits for a reconnecting aspect up to the
// caller's deadline). A one-liner's whole budget is a few milliseconds, so
// the first Lend asks Status, the backend's Info and Connect for address
// at once (one round trip instead of three): the Connect is only a
// speculation, dropped (and its lease closed) when Status says the
// address is not served or the caller never asks for it.
func (s *AgentSource) Lend(ctx context.Context, kind protocol.Kind, address string) *Started {
	first := false
	s.once.Do(func() { first = true; s.connect(ctx, kind, address) })
	s.lmu.Lock()
	if !first && s.conn != nil && time.Since(s.asked) > cmp.Or(s.Recheck, time.Second) {
		s.recheck(ctx)
	}
	conn, spec := s.conn, s.spec
	backend, ok := s.served[kind][address]
	s.lmu.Unlock()
	if conn == nil {
		return nil
	}
	if !ok {
		s.log().Debug("agent does not serve this address; logging in directly", "kind", kind, "address", address)
		return nil
	}
	var plugin any
	switch kind {
	case protocol.KindIMPP:
		plugin = &lentIMPP{IMPP: cusaxv1.NewIMPPHost(conn), spec: spec}
	case protocol.KindTelephony:
		plugin = &lentTelephony{Telephony: cusaxv1.NewTelephonyHost(conn), spec: spec}
	default:
		return nil
	}
	info, err := s.info(ctx, conn, kind).wait(ctx)
	if err != nil {
		s.ignore(fmt.Errorf("info: %w", err))
		return nil
	}
	s.log().Debug("using the agent's live session", "kind", kind, "address", address, "socket", s.Socket)
	return &Started{Kind: kind, Name: backend, Info: info, Plugin: plugin, Lease: true}
}

// infoCall is one Info call to the agent, asked once per kind.
type infoCall struct {
	done chan struct{}
	info protocol.Info
	err  error
}

func (c *infoCall) wait(ctx context.Context) (protocol.Info, error) {
	select {
	case <-c.done:
		return c.info, c.err
	case <-ctx.Done():
		return protocol.Info{}, ctx.Err()
	}
}

// info starts (once per kind) the Info call for kind's backend.
func (s *AgentSource) info(ctx context.Context, conn *grpc.ClientConn, kind protocol.Kind) *infoCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.infos[kind]; ok {
		return c
	}
	if s.infos == nil {
		s.infos = map[protocol.Kind]*infoCall{}
	}
	c := &infoCall{done: make(chan struct{})}
	s.infos[kind] = c
	var ask func(context.Context) (protocol.Info, error)
	switch kind {
	case protocol.KindIMPP:
		ask = cusaxv1.NewIMPPHost(conn).Info
	default:
		ask = cusaxv1.NewTelephonyHost(conn).Info
	}
	go func() {
		defer close(c.done)
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), agentAsk)
		defer cancel()
		c.info, c.err = ask(ctx)
	}()
	return c
}

// connect dials the agent and reads what it serves; on any failure conn
// stays nil and the one-liner logs in itself. With Status go, at once,
// Info and a speculative Connect for the first address asked.
func (s *AgentSource) connect(ctx context.Context, kind protocol.Kind, address string) {
	ctx, cancel := context.WithTimeout(ctx, agentAsk)
	defer cancel()
	conn, err := s.Dial(ctx)
	if err != nil {
		if IgnoredAgent(err, s.Socket) {
			s.ignore(err)
		} else {
			s.log().Debug("no agent; logging in directly", "socket", s.Socket)
		}
		return
	}
	s.conn = conn
	s.info(ctx, conn, kind)
	s.spec = speculate(conn, kind, address)
	st, err := agentapi.NewAgentClient(conn).Status(ctx, &agentapi.StatusRequest{})
	if err != nil {
		s.spec.drop(false)
		s.conn = nil
		_ = conn.Close()
		s.ignore(fmt.Errorf("status: %w", err))
		return
	}
	if self := s.Self; (self == nil && int(st.GetPid()) == os.Getpid()) || (self != nil && int(st.GetPid()) == self()) {
		// The agent's own sessions are opened through this Source too:
		// it must log in, never lease from itself.
		s.spec.drop(false)
		s.conn = nil
		_ = conn.Close()
		s.log().Debug("this process is the agent; logging in directly", "socket", s.Socket)
		return
	}
	s.setServed(st)
	if _, ok := s.served[kind][address]; !ok {
		s.spec.drop(false)
	}
	s.log().Debug("agent found", "socket", s.Socket, "pid", st.GetPid(), "version", st.GetVersion(), "accounts", len(st.GetAccounts()))
}

// recheck asks Status again; an agent that does not answer any more (it
// was stopped or killed while this command ran) is given up for the rest
// of the process, with the note.
func (s *AgentSource) recheck(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, agentAsk)
	defer cancel()
	st, err := agentapi.NewAgentClient(s.conn).Status(ctx, &agentapi.StatusRequest{})
	if err != nil {
		_ = s.conn.Close()
		s.conn = nil
		s.ignore(fmt.Errorf("the agent stopped answering: %w", err))
		return
	}
	s.setServed(st)
}

// setServed records which addresses the agent keeps, and when it said so.
func (s *AgentSource) setServed(st *agentapi.StatusResponse) {
	s.asked = time.Now()
	s.served = map[protocol.Kind]map[string]string{protocol.KindIMPP: {}, protocol.KindTelephony: {}}
	for _, a := range st.GetAccounts() {
		if c := a.GetChat(); c != nil && c.GetAddress() != "" {
			s.served[protocol.KindIMPP][c.GetAddress()] = c.GetBackend()
		}
		if t := a.GetTelephony(); t != nil && t.GetAddress() != "" {
			s.served[protocol.KindTelephony][t.GetAddress()] = t.GetBackend()
		}
	}
}

// IgnoredAgent reports whether err, from dialling the agent at socket,
// deserves the note that an agent socket was ignored: anything but "there
// is no agent socket at all" (no agent was ever started: nothing to say).
// A dead agent's leftover socket (connection refused) and a refused one
// (ErrRefused: not private, another user's) are noted.
func IgnoredAgent(err error, socket string) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, agentapi.ErrNoAgent) {
		// No socket at all is silence; a socket nobody listens on is a
		// dead agent's leftover.
		if _, serr := os.Lstat(socket); errors.Is(serr, fs.ErrNotExist) {
			return false
		}
	}
	return true
}

// ignore reports, once per process, why the agent is not used.
func (s *AgentSource) ignore(err error) {
	s.log().Debug("agent not used", "socket", s.Socket, "error", err)
	s.noted.Do(func() {
		if s.Ignored != nil {
			s.Ignored(s.Socket, err)
		}
	})
}

func (s *AgentSource) log() hclog.Logger {
	if s.Log == nil {
		return hclog.NewNullLogger()
	}
	return s.Log
}

// Close closes a speculative lease nobody took and the connection to the
// agent (the leases' streams end; the agent's sessions stay). The CLI
// calls it before exiting.
func (s *AgentSource) Close() error {
	s.lmu.Lock()
	defer s.lmu.Unlock()
	s.spec.drop(true)
	if s.conn != nil {
		return s.conn.Close()
	}
	return nil
}
