package sip

import (
	"bytes"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	gosip "github.com/emiago/sipgo/sip"
)

// maxFrame bounds what one connection's framer buffers; a longer message
// is not recorded (Raw falls back to sipgo's serialisation).
const maxFrame = 256 << 10

// streamFramers recover the bytes of each message received over TCP and
// TLS, where sipgo keeps none: sipgo hands every read to readFilter before
// parsing it, and the framer cuts the stream into messages as RFC 3261
// §18.3 says (headers up to the empty line, then Content-Length bytes),
// recording INVITEs like the UDP socket does. It only observes: the data
// goes on to sipgo unchanged, so a framing mistake costs Raw fidelity,
// never a message.
type streamFramers struct {
	mu    sync.Mutex
	m     map[string]*framer   // by flowKey
	heard map[string]time.Time // by flowKey: when data last arrived (heardNow)
}

type framer struct {
	buf  []byte
	skip bool // lost sync (oversized message): wait for the connection to end
}

// readFilter is the sipgo TransportReadFilter of the session's user agent.
func (in *incoming) readFilter(p gosip.TransportReadProps, data []byte) ([]byte, error) {
	if strings.EqualFold(p.Transport, "udp") || p.LocalAddr == nil || p.RemoteAddr == nil {
		return data, nil // UDP datagrams are recorded by connectedUDP
	}
	key := flowKey(p.LocalAddr, p.RemoteAddr)
	in.heardNow(key)
	in.framers.mu.Lock()
	if in.framers.m == nil {
		in.framers.m = map[string]*framer{}
	}
	f := in.framers.m[key]
	if f == nil {
		f = &framer{}
		in.framers.m[key] = f
	}
	in.framers.mu.Unlock()
	// One reader per connection: f is only touched from here.
	for _, msg := range f.feed(data) {
		in.recordRaw(msg)
	}
	return data, nil
}

// flowKey names a TCP or TLS connection by its two addresses.
func flowKey(local, remote net.Addr) string { return local.String() + "|" + remote.String() }

// heardNow records that something (a message, a keep-alive pong) arrived
// on the flow key, for the keeper's keep-alive check (keep.go).
func (in *incoming) heardNow(key string) {
	in.framers.mu.Lock()
	defer in.framers.mu.Unlock()
	if in.framers.heard == nil {
		in.framers.heard = map[string]time.Time{}
	}
	in.framers.heard[key] = time.Now()
}

// heardSince reports whether anything arrived on key at or after t.
func (in *incoming) heardSince(key string, t time.Time) bool {
	in.framers.mu.Lock()
	defer in.framers.mu.Unlock()
	h, ok := in.framers.heard[key]
	return ok && !h.Before(t)
}

func (in *incoming) forgetHeard(key string) {
	in.framers.mu.Lock()
	defer in.framers.mu.Unlock()
	delete(in.framers.heard, key)
}

// feed appends data and returns the complete messages it now holds.
func (f *framer) feed(data []byte) [][]byte {
	if f.skip {
		return nil
	}
	f.buf = append(f.buf, data...)
	var out [][]byte
	for {
		// RFC 5626 §3.5.1 keep-alives (CRLF) between messages.
		f.buf = bytes.TrimLeft(f.buf, "\r\n")
		end := bytes.Index(f.buf, []byte("\r\n\r\n"))
		if end < 0 {
			break
		}
		n, ok := contentLength(f.buf[:end+2])
		if !ok {
			// RFC 3261 §18.3: required over a stream; without it there is
			// no boundary to trust.
			f.skip, f.buf = true, nil
			return out
		}
		total := end + 4 + n
		if len(f.buf) < total {
			break
		}
		out = append(out, bytes.Clone(f.buf[:total]))
		f.buf = f.buf[total:]
	}
	if len(f.buf) > maxFrame {
		f.skip, f.buf = true, nil
	}
	if len(f.buf) == 0 {
		f.buf = nil // let the backing array go between messages
	}
	return out
}

// contentLength reads Content-Length (or its compact form l, RFC 3261
// §7.3.3) from a header block.
func contentLength(hdr []byte) (int, bool) {
	for _, line := range bytes.Split(hdr, []byte("\r\n"))[1:] {
		name, val, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		name = bytes.TrimSpace(name)
		if !bytes.EqualFold(name, []byte("Content-Length")) && !bytes.EqualFold(name, []byte("l")) {
			continue
		}
		n, err := strconv.Atoi(string(bytes.TrimSpace(val)))
		if err != nil || n < 0 || n > maxFrame {
			return 0, false
		}
		return n, true
	}
	return 0, false
}
