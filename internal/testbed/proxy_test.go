package testbed

import (
	"bytes"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// fakeServer accepts one connection, waits for the client's stream header (like a real server,
// and so that the proxy has recorded it), writes chunks one by one (with a pause, so that they
// arrive as separate reads), then closes.
func fakeServer(t *testing.T, chunks []string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadFull(c, make([]byte, len(clientHeader))); err != nil {
			return
		}
		for _, ch := range chunks {
			if _, err := io.WriteString(c, ch); err != nil {
				return
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()
	return ln.Addr().String()
}

const clientHeader = "<stream:stream>"

func TestStripStartTLS(t *testing.T) {
	const head = "<?xml version='1.0'?><stream:stream from='example.test' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"
	const mechs = "<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms>"
	tests := []struct {
		name   string
		chunks []string
		want   string
	}{
		{
			name:   "required",
			chunks: []string{head + "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features>"},
			want:   head + "<stream:features></stream:features>",
		},
		{
			name:   "self-closing, double quotes, with mechanisms",
			chunks: []string{head + `<stream:features><starttls xmlns="urn:ietf:params:xml:ns:xmpp-tls"/>` + mechs + "</stream:features>"},
			want:   head + "<stream:features>" + mechs + "</stream:features>",
		},
		{
			name:   "prefixed element",
			chunks: []string{head + "<stream:features><tls:starttls xmlns:tls='urn:ietf:params:xml:ns:xmpp-tls'><tls:required/></tls:starttls></stream:features>"},
			want:   head + "<stream:features></stream:features>",
		},
		{
			name:   "split into tiny reads",
			chunks: strings.SplitAfter(head+"<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features>", "'"),
			want:   head + "<stream:features></stream:features>",
		},
		{
			name: "only the first features",
			chunks: []string{
				head + "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:features>",
				"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/><stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:features>",
			},
			want: head + "<stream:features></stream:features><proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/><stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:features>",
		},
		{
			name:   "empty features",
			chunks: []string{head + "<stream:features/>", "<iq/>"},
			want:   head + "<stream:features/><iq/>",
		},
		{
			name:   "stream ends before features",
			chunks: []string{head + "<stream:error/>"},
			want:   head + "<stream:error/>",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewProxy(t, fakeServer(t, tt.chunks), ProxyOptions{StripStartTLS: true})
			c, err := net.Dial("tcp", p.Addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.WriteString(c, clientHeader); err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(c)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("client got\n%s\nwant\n%s", got, tt.want)
			}
			if sent := strings.Join(tt.chunks, ""); string(p.ServerBytes()) != sent {
				t.Errorf("ServerBytes = %q, want what the server sent %q", p.ServerBytes(), sent)
			}
			if string(p.ClientBytes()) != clientHeader {
				t.Errorf("ClientBytes = %q", p.ClientBytes())
			}
		})
	}
}

func TestProxyStripsRealProsody(t *testing.T) {
	b := Shared(t)
	p := NewProxy(t, b.XMPPAddr, ProxyOptions{StripStartTLS: true})
	x := dialXMPP(t, p.Addr)
	f := x.openStream(b.Domain)
	if strings.Contains(f, "starttls") {
		t.Errorf("proxy let STARTTLS through: %s", f)
	}
	if !bytes.Contains(p.ServerBytes(), []byte("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'>")) {
		t.Errorf("server did not offer STARTTLS: %s", p.ServerBytes())
	}
	// Prosody offers nothing else before TLS: a client that proceeds anyway has nothing to
	// authenticate with. That the client did not send <auth> is what downgrade tests assert.
	if bytes.Contains(p.ClientBytes(), []byte("<auth")) {
		t.Errorf("client sent auth in the clear: %s", p.ClientBytes())
	}
}

func TestProxyPassesTLSThrough(t *testing.T) {
	b := Shared(t)
	p := NewProxy(t, b.XMPPAddr, ProxyOptions{})
	x := dialXMPP(t, p.Addr)
	if f := x.openStream(b.Domain); !strings.Contains(f, "<required/>") {
		t.Fatalf("features through a plain proxy: %s", f)
	}
	x.startTLS(b.Domain, clientTLS(b.CAPool, b.Domain))
	alice := b.Users["alice"]
	if !x.authPlain("alice", alice.Password) {
		t.Fatalf("login through proxy failed\n%s", b.Logs())
	}
	// After STARTTLS the proxy sees only ciphertext.
	if bytes.Contains(p.ClientBytes(), []byte("<auth")) {
		t.Errorf("auth visible to the proxy: STARTTLS did not protect it")
	}
}
