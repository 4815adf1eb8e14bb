package callmedia

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/transport/v5/deadline"
)

// dtlsPacketConn is the net.PacketConn pion/dtls runs on. A pump
// goroutine reads the RTP socket during the handshake and passes on
// DTLS records from the peer's IP (RFC 7983 §7: first byte 20–63);
// after it, HandlePacket feeds it. Closing it never closes the socket.
type dtlsPacketConn struct {
	conn   *net.UDPConn
	remote netip.AddrPort
	ip     netip.Addr // remote's, unmapped, without zone
	in     chan []byte
	closed chan struct{}
	dead   chan struct{} // closed when the socket failed during the handshake
	once   sync.Once
	rd     *deadline.Deadline

	stopping atomic.Bool
	pumpDone chan struct{}
}

// dtlsQueue is how many datagrams wait for pion/dtls; a handshake
// flight is a handful, so more means a flood and is dropped.
const dtlsQueue = 64

func newDTLSPacketConn(conn *net.UDPConn, remote netip.AddrPort) *dtlsPacketConn {
	c := &dtlsPacketConn{
		conn: conn, remote: remote, ip: remote.Addr().Unmap().WithZone(""),
		in: make(chan []byte, dtlsQueue), closed: make(chan struct{}), dead: make(chan struct{}),
		rd: deadline.New(), pumpDone: make(chan struct{}),
	}
	_ = conn.SetReadDeadline(time.Time{})
	go c.pump()
	return c
}

func (c *dtlsPacketConn) pump() {
	defer close(c.pumpDone)
	buf := make([]byte, 1<<16)
	for {
		n, from, err := c.conn.ReadFromUDPAddrPort(buf)
		if c.stopping.Load() {
			return
		}
		if err != nil {
			if transient(err) {
				continue
			}
			// The socket is gone (the caller closed it): fail the
			// handshake now rather than at its timeout.
			close(c.dead)
			return
		}
		if from.Addr().Unmap().WithZone("") == c.ip {
			c.deliver(buf[:n])
		}
	}
}

// stopPump stops the pump and waits for it; the socket is left without
// a read deadline for Run.
func (c *dtlsPacketConn) stopPump() {
	if c.stopping.Swap(true) {
		return
	}
	_ = c.conn.SetReadDeadline(time.Unix(1, 0))
	<-c.pumpDone
	_ = c.conn.SetReadDeadline(time.Time{})
}

// deliver queues a copy of a DTLS datagram; anything else, and
// datagrams beyond the queue, are dropped.
func (c *dtlsPacketConn) deliver(b []byte) {
	if len(b) == 0 || b[0] < 20 || b[0] > 63 {
		return
	}
	select {
	case <-c.closed:
	case c.in <- append([]byte(nil), b...):
	default:
	}
}

func (c *dtlsPacketConn) ReadFrom(p []byte) (int, net.Addr, error) {
	select {
	case b := <-c.in:
		// Records are accepted from the peer's IP on any port, but
		// they belong to the one association with Remote.
		return copy(p, b), net.UDPAddrFromAddrPort(c.remote), nil
	case <-c.closed:
		return 0, nil, net.ErrClosed
	case <-c.dead:
		return 0, nil, net.ErrClosed
	case <-c.rd.Done():
		return 0, nil, timeoutError{}
	}
}

func (c *dtlsPacketConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	select {
	case <-c.closed:
		return 0, net.ErrClosed
	default:
	}
	return c.conn.WriteTo(p, addr)
}

// Close closes the DTLS side only; the socket belongs to the caller.
func (c *dtlsPacketConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return nil
}

func (c *dtlsPacketConn) LocalAddr() net.Addr { return c.conn.LocalAddr() }

func (c *dtlsPacketConn) SetDeadline(t time.Time) error { return c.SetReadDeadline(t) }

func (c *dtlsPacketConn) SetReadDeadline(t time.Time) error { c.rd.Set(t); return nil }

// SetWriteDeadline is a no-op: a UDP send does not block, and a
// deadline on the shared socket would reach Run's sends.
func (c *dtlsPacketConn) SetWriteDeadline(time.Time) error { return nil }

type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }
