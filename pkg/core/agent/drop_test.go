package agent

import (
	"context"
	"sync/atomic"

	"github.com/cusax/cusax/pkg/protocol"
)

// droppable wraps an IMPP backend so that a test can cut its sessions as
// a server restart would: every call then returns ErrNotConnected.
type droppable struct {
	protocol.IMPP
	last atomic.Pointer[dropSession]
	// panicky makes the next Roster panic, as a backend bug would.
	panicky atomic.Bool
	// rosterCalls counts the Roster calls that reached the backend.
	rosterCalls atomic.Int64
}

func (d *droppable) Connect(ctx context.Context, req protocol.ConnectRequest) (protocol.IMPPSession, error) {
	s, err := d.IMPP.Connect(ctx, req)
	if err != nil {
		return nil, err
	}
	ds := &dropSession{IMPPSession: s, d: d}
	d.last.Store(ds)
	return ds, nil
}

// drop cuts the latest session.
func (d *droppable) drop() { d.last.Load().dropped.Store(true) }

type dropSession struct {
	protocol.IMPPSession
	d       *droppable
	dropped atomic.Bool
	pushes  atomic.Uint64
}

func (s *dropSession) Roster(ctx context.Context) ([]protocol.RosterItem, error) {
	s.d.rosterCalls.Add(1)
	if s.d.panicky.CompareAndSwap(true, false) {
		panic("test: roster handler bug")
	}
	return s.IMPPSession.Roster(ctx)
}

// RosterChanges: the test pushes by hand (push).
func (s *dropSession) RosterChanges() (uint64, bool) { return s.pushes.Load(), true }

func (s *dropSession) gone() error {
	if s.dropped.Load() {
		return protocol.ErrNotConnected
	}
	return nil
}

func (s *dropSession) Send(ctx context.Context, m protocol.Message) error {
	if err := s.gone(); err != nil {
		return err
	}
	return s.IMPPSession.Send(ctx, m)
}

func (s *dropSession) DiscoInfo(ctx context.Context, jid, node string) (protocol.DiscoInfo, error) {
	if err := s.gone(); err != nil {
		return protocol.DiscoInfo{}, err
	}
	return s.IMPPSession.DiscoInfo(ctx, jid, node)
}

func (s *dropSession) SetPresence(ctx context.Context, p protocol.Presence) error {
	if err := s.gone(); err != nil {
		return err
	}
	return s.IMPPSession.SetPresence(ctx, p)
}
