package testbed

import (
	"bytes"
	"errors"
	"net"
	"regexp"
	"sync"
	"testing"
)

// ProxyOptions choose what the Proxy does to the traffic.
type ProxyOptions struct {
	// StripStartTLS removes the <starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'> element
	// (self-closing or with children such as <required/>) from the first <stream:features>
	// the server sends on each connection, as an RFC 7457 §2.1 STARTTLS-stripping attacker
	// would. Everything after that is piped unchanged.
	StripStartTLS bool
}

// Proxy is a TCP man in the middle on loopback in front of a real server. It records every byte
// each side sent, over all connections, so a test can assert what a client let out in the clear.
type Proxy struct {
	Addr string // 127.0.0.1:port to point the client at

	target string
	opts   ProxyOptions
	ln     net.Listener

	mu     sync.Mutex
	client bytes.Buffer
	server bytes.Buffer
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// NewProxy listens on a free loopback port and forwards each connection to target. It stops
// when the test ends.
func NewProxy(tb testing.TB, target string, opts ProxyOptions) *Proxy {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("testbed: proxy listen: %v", err)
	}
	p := &Proxy{Addr: ln.Addr().String(), target: target, opts: opts, ln: ln, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.serve()
	tb.Cleanup(p.close)
	return p
}

// ClientBytes returns a copy of everything clients sent through the proxy.
func (p *Proxy) ClientBytes() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return bytes.Clone(p.client.Bytes())
}

// ServerBytes returns a copy of everything the server sent, before any stripping.
func (p *Proxy) ServerBytes() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return bytes.Clone(p.server.Bytes())
}

func (p *Proxy) close() {
	p.ln.Close()
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// track registers a connection for close; false if the proxy is already closing.
func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		c.Close()
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if !p.track(c) {
			return
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.handle(c)
		}()
	}
}

func (p *Proxy) handle(client net.Conn) {
	defer client.Close()
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	if !p.track(server) {
		return
	}
	defer server.Close()

	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		p.pipe(server, client, &p.client, nil)
		closeWrite(server)
	}()
	go func() {
		defer wg.Done()
		var rewrite func([]byte) ([]byte, bool)
		if p.opts.StripStartTLS {
			rewrite = stripFirstStartTLS()
		}
		p.pipe(client, server, &p.server, rewrite)
		closeWrite(client)
	}()
	wg.Wait()
}

// pipe copies src to dst, recording what src sent. rewrite, if set, sees the bytes read so far
// (accumulated) and returns what to forward once it is done with them (true); until then it
// holds them back.
func (p *Proxy) pipe(dst, src net.Conn, record *bytes.Buffer, rewrite func([]byte) ([]byte, bool)) {
	buf := make([]byte, 32*1024)
	var held []byte
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			record.Write(buf[:n])
			p.mu.Unlock()
			out := buf[:n]
			if rewrite != nil {
				held = append(held, out...)
				var done bool
				if out, done = rewrite(held); done {
					rewrite, held = nil, nil
				} else {
					out = nil
				}
			}
			if len(out) > 0 {
				if _, werr := dst.Write(out); werr != nil {
					return
				}
			}
		}
		if err != nil {
			if len(held) > 0 && !errors.Is(err, net.ErrClosed) {
				_, _ = dst.Write(held) // the stream ended before any features: pass it on as is
			}
			return
		}
	}
}

func closeWrite(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
		return
	}
	_ = c.Close()
}

var (
	featuresEndRE = regexp.MustCompile(`</stream:features\s*>|<stream:features(\s[^>]*)?/>`)
	// The element may carry a namespace prefix and use either quote style.
	startTLSRE = regexp.MustCompile(`(?s)<((?:[A-Za-z_][\w.-]*:)?starttls)\s[^>]*urn:ietf:params:xml:ns:xmpp-tls['"][^>]*?(?:/>|>.*?</(?:[A-Za-z_][\w.-]*:)?starttls\s*>)`)
)

// stripFirstStartTLS returns a rewrite function that waits for the end of the first
// <stream:features> and removes the STARTTLS offer from it.
func stripFirstStartTLS() func([]byte) ([]byte, bool) {
	return func(b []byte) ([]byte, bool) {
		loc := featuresEndRE.FindIndex(b)
		if loc == nil {
			return nil, false
		}
		head := startTLSRE.ReplaceAll(b[:loc[1]], nil)
		return append(head, b[loc[1]:]...), true
	}
}
