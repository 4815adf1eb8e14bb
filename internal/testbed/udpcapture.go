package testbed

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"
)

// UDPCapture records the UDP datagrams on the loopback interface whose ports match a filter,
// with a packet socket (AF_PACKET, as tcpdump does; it needs root or CAP_NET_RAW). It sees
// media between any two local endpoints without being in their path, so a test can check what
// actually went on the wire: e.g. that a call's audio was not plain RTP (no datagram carries
// the G.711 frames that were played).
type UDPCapture struct {
	fd    int
	match func(src, dst int) bool
	done  chan struct{} // closed when the reader returned
	stop  chan struct{} // closed by Stop
	once  sync.Once

	mu    sync.Mutex
	grams []Datagram
	err   error
}

// Datagram is one captured UDP datagram.
type Datagram struct {
	Src, Dst netip.AddrPort
	Payload  []byte // the UDP payload: for RTP and SRTP, the 12-byte header and what follows
}

// StartUDPCapture starts recording the loopback UDP datagrams for which match(srcPort,
// dstPort) holds; it is stopped when the test ends. Without the privilege to open a packet
// socket it skips the test (fails it when CI=true).
func StartUDPCapture(t testing.TB, match func(src, dst int) bool) *UDPCapture {
	t.Helper()
	c, err := startUDPCapture(match)
	if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) {
		msg := fmt.Sprintf("testbed: UDP capture needs root or CAP_NET_RAW: %v", err)
		if inCI() {
			t.Fatalf("%s; CI=true, so this is a failure, not a skip", msg)
		}
		t.Skip(msg)
	}
	if err != nil {
		t.Fatalf("testbed: UDP capture: %v", err)
	}
	t.Cleanup(c.Stop)
	return c
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

func startUDPCapture(match func(src, dst int) bool) (*UDPCapture, error) {
	lo, err := loopbackInterface()
	if err != nil {
		return nil, err
	}
	// SOCK_DGRAM: the kernel strips the link-layer header, so each packet starts at its IP
	// header.
	fd, err := syscall.Socket(syscall.AF_PACKET, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, int(htons(syscall.ETH_P_IP)))
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrLinklayer{Protocol: htons(syscall.ETH_P_IP), Ifindex: lo.Index}); err != nil {
		syscall.Close(fd)
		return nil, os.NewSyscallError("bind", err)
	}
	// A receive timeout lets the reader notice Stop.
	tv := syscall.NsecToTimeval((100 * time.Millisecond).Nanoseconds())
	if err := syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv); err != nil {
		syscall.Close(fd)
		return nil, os.NewSyscallError("setsockopt", err)
	}
	_ = syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4<<20)
	c := &UDPCapture{fd: fd, match: match, done: make(chan struct{}), stop: make(chan struct{})}
	go c.read()
	return c, nil
}

func loopbackInterface() (*net.Interface, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	for i := range ifs {
		if ifs[i].Flags&net.FlagLoopback != 0 {
			return &ifs[i], nil
		}
	}
	return nil, fmt.Errorf("no loopback interface")
}

const packetOutgoing = 4 // PACKET_OUTGOING: on lo every packet is seen once sent, once received

func (c *UDPCapture) read() {
	defer close(c.done)
	buf := make([]byte, 65536)
	for {
		select {
		case <-c.stop:
			return
		default:
		}
		n, from, err := syscall.Recvfrom(c.fd, buf, 0)
		if err != nil {
			if errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EINTR) {
				continue
			}
			if !errors.Is(err, syscall.EBADF) {
				c.mu.Lock()
				c.err = err
				c.mu.Unlock()
			}
			return
		}
		if ll, ok := from.(*syscall.SockaddrLinklayer); ok && ll.Pkttype == packetOutgoing {
			continue
		}
		if d, ok := parseUDP4(buf[:n]); ok && c.match(int(d.Src.Port()), int(d.Dst.Port())) {
			c.mu.Lock()
			c.grams = append(c.grams, d)
			c.mu.Unlock()
		}
	}
}

// parseUDP4 decodes an IPv4 packet carrying an unfragmented UDP datagram.
func parseUDP4(p []byte) (Datagram, bool) {
	if len(p) < 20 || p[0]>>4 != 4 || p[9] != syscall.IPPROTO_UDP {
		return Datagram{}, false
	}
	ihl := int(p[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(p[2:4]))
	if ihl < 20 || total > len(p) || total < ihl+8 {
		return Datagram{}, false
	}
	u := p[ihl:total]
	ulen := int(binary.BigEndian.Uint16(u[4:6]))
	if ulen < 8 || ulen > len(u) {
		return Datagram{}, false
	}
	src := netip.AddrFrom4([4]byte(p[12:16]))
	dst := netip.AddrFrom4([4]byte(p[16:20]))
	return Datagram{
		Src:     netip.AddrPortFrom(src, binary.BigEndian.Uint16(u[0:2])),
		Dst:     netip.AddrPortFrom(dst, binary.BigEndian.Uint16(u[2:4])),
		Payload: bytes.Clone(u[8:ulen]),
	}, true
}

// Stop ends the capture (idempotent); the datagrams stay readable.
func (c *UDPCapture) Stop() {
	c.once.Do(func() {
		close(c.stop)
		<-c.done
		syscall.Close(c.fd)
	})
}

// Datagrams returns what was captured so far, and the error that ended the capture, if any.
func (c *UDPCapture) Datagrams() ([]Datagram, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Datagram(nil), c.grams...), c.err
}

// RTPPayload returns the payload of an RTP (or SRTP: its header is in clear, RFC 3711 §3.1)
// packet: after the fixed header, CSRCs and header extension (RFC 3550 §5.1, §5.3.1), and
// without padding; ok is false when p is not RTP version 2.
func RTPPayload(p []byte) (pt byte, payload []byte, ok bool) {
	if len(p) < 12 || p[0]>>6 != 2 {
		return 0, nil, false
	}
	n := 12 + 4*int(p[0]&0x0f)
	if p[0]&0x10 != 0 {
		if len(p) < n+4 {
			return 0, nil, false
		}
		n += 4 + 4*int(binary.BigEndian.Uint16(p[n+2:n+4]))
	}
	if n > len(p) {
		return 0, nil, false
	}
	return p[1] & 0x7f, p[n:], true
}

// PlainAudio counts the datagrams whose bytes contain one of frames (each at least 16
// bytes: e.g. the PCMU payloads a sender played, or windows of them). Plain RTP carrying
// those frames counts; SRTP, whose payload is encrypted, does not.
func PlainAudio(grams []Datagram, frames [][]byte) int {
	n := 0
	for _, d := range grams {
		for _, f := range frames {
			if len(f) >= 16 && bytes.Contains(d.Payload, f) {
				n++
				break
			}
		}
	}
	return n
}
