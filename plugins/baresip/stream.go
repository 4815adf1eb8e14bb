package baresip

import (
	"io"
	"sync"
	"time"

	"github.com/cusax/cusax/pkg/protocol"
)

// callStream is one IncomingCalls stream. It never drops a call silently:
// when its reader is behind and the buffer full, it counts the calls and
// reports them (Missed) as soon as there is room.
type callStream struct {
	ch     chan protocol.IncomingCall
	done   chan struct{}
	unlink func()
	mu     sync.Mutex
	err    error
	missed []string
	nmiss  uint64
	once   sync.Once
}

func (st *callStream) send(ic protocol.IncomingCall) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.err != nil {
		return
	}
	if st.nmiss > 0 {
		rep := protocol.IncomingCall{Time: time.Now(), Missed: st.nmiss, MissedCallIDs: st.missed}
		select {
		case st.ch <- rep:
			st.nmiss, st.missed = 0, nil
		default:
		}
	}
	if st.nmiss == 0 {
		select {
		case st.ch <- ic:
			return
		default:
		}
	}
	st.nmiss++
	if ic.CallID != "" && len(st.missed) < 16 {
		st.missed = append(st.missed, ic.CallID)
	}
}

// flushMissed queues the report on calls missed, once there is room.
func (st *callStream) flushMissed() {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.nmiss == 0 || st.err != nil {
		return
	}
	select {
	case st.ch <- protocol.IncomingCall{Time: time.Now(), Missed: st.nmiss, MissedCallIDs: st.missed}:
		st.nmiss, st.missed = 0, nil
	default:
	}
}

func (st *callStream) Recv() (protocol.IncomingCall, error) {
	select {
	case ic := <-st.ch:
		st.flushMissed()
		return ic, nil
	case <-st.done:
		select {
		case ic := <-st.ch:
			return ic, nil
		default:
		}
		st.mu.Lock()
		defer st.mu.Unlock()
		return protocol.IncomingCall{}, st.err
	}
}

func (st *callStream) end(err error) {
	st.once.Do(func() {
		st.mu.Lock()
		st.err = err
		st.mu.Unlock()
		close(st.done)
		st.unlink()
	})
}

func (st *callStream) Close() error {
	st.end(io.EOF)
	return nil
}
