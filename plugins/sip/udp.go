package sip

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"syscall"
)

// connectedUDP is a UDP socket connect(2)ed to the one server this session
// talks to, handed to sipgo as a listener (TransportLayer.ServeUDP). sipgo
// sends from an unconnected socket, on which Linux drops ICMP errors, so a
// REGISTER to a port with nothing listening would wait for the timeout; on
// a connected socket the ICMP port unreachable comes back as ECONNREFUSED
// (RFC 1122 §4.1.3.3) and Register fails at once with ErrUnreachable.
//
// The price: datagrams from any other address are dropped by the kernel.
// That suits a UA that sends everything through one outbound proxy, which
// is the only peer that sends it anything back.
type connectedUDP struct {
	*net.UDPConn
	raddr netip.AddrPort

	readyOnce sync.Once
	ready     chan struct{} // closed when sipgo starts reading
	refused   chan struct{} // signalled (non-blocking) on ECONNREFUSED
	// record, when set, sees every datagram before sipgo parses it
	// (incoming.go keeps INVITEs as received).
	record func([]byte)
}

func dialUDP(raddr netip.AddrPort) (*connectedUDP, error) {
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(raddr))
	if err != nil {
		return nil, err
	}
	return &connectedUDP{UDPConn: c, raddr: raddr, ready: make(chan struct{}), refused: make(chan struct{}, 1)}, nil
}

// LocalAddrPort is the socket's own address, for Via and Contact.
func (c *connectedUDP) LocalAddrPort() netip.AddrPort {
	return c.UDPConn.LocalAddr().(*net.UDPAddr).AddrPort()
}

// ReadFrom reads the next datagram. sipgo ends its read loop on any error
// but net.ErrClosed, so ECONNREFUSED is reported on the refused channel and
// the read continues.
func (c *connectedUDP) ReadFrom(b []byte) (int, net.Addr, error) {
	c.readyOnce.Do(func() { close(c.ready) })
	for {
		n, err := c.UDPConn.Read(b)
		if err == nil {
			if c.record != nil {
				c.record(b[:n])
			}
			return n, net.UDPAddrFromAddrPort(c.raddr), nil
		}
		if errors.Is(err, syscall.ECONNREFUSED) {
			c.signalRefused()
			continue
		}
		return n, nil, err
	}
}

// WriteTo sends to the connected peer; a connected socket cannot send
// anywhere else.
func (c *connectedUDP) WriteTo(b []byte, addr net.Addr) (int, error) {
	if ua, ok := addr.(*net.UDPAddr); ok {
		if ap := ua.AddrPort(); ap.Addr().Unmap() != c.raddr.Addr().Unmap() || ap.Port() != c.raddr.Port() {
			return 0, fmt.Errorf("udp socket connected to %s cannot send to %s", c.raddr, ap)
		}
	}
	n, err := c.UDPConn.Write(b)
	if errors.Is(err, syscall.ECONNREFUSED) {
		c.signalRefused()
		err = fmt.Errorf("%w: %w", errRefused, err)
	}
	return n, err
}

func (c *connectedUDP) signalRefused() {
	select {
	case c.refused <- struct{}{}:
	default:
	}
}

// drainRefused forgets an ICMP error left over from an earlier request.
func (c *connectedUDP) drainRefused() {
	select {
	case <-c.refused:
	default:
	}
}
