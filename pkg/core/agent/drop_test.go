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
}

func (d *droppable) Connect(ctx context.Context, req protocol.ConnectRequest) (protocol.IMPPSession, error) {
	s, err := d.IMPP.Connect(ctx, req)
	if err != nil {
		return nil, err
	}
	ds := &dropSession{IMPPSession: s}
	d.last.Store(ds)
	return ds, nil
}

// drop cuts the latest session.
func (d *droppable) drop() { d.last.Load().dropped.Store(true) }

type dropSession struct {
	protocol.IMPPSession
	dropped atomic.Bool
}

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
