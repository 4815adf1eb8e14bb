package impptemplate

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/cusax/cusax/internal/testbed"
	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/pkg/protocol/protocoltest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testbed.StopShared()
	os.Exit(code)
}

// env is alice on the bed's Prosody, by STARTTLS or direct TLS.
func env(t *testing.T, directTLS bool) protocoltest.Env {
	bed := testbed.Shared(t)
	ca, err := os.ReadFile(bed.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	server := bed.XMPPAddr
	if directTLS {
		server = bed.XMPPDirectTLSAddr
	}
	pw := bed.Users["alice"].Password
	return protocoltest.Env{
		Good:          protocol.ConnectRequest{Address: bed.JID("alice"), Password: pw, Server: server, DirectTLS: directTLS, CAPEM: ca},
		WrongPassword: "wrong-" + pw,
		BadAddress:    "@" + bed.Domain,
	}
}

// The template passes the conformance suite in process against the real
// Prosody, declaring login only.
func TestTemplateConformanceIMPP(t *testing.T) {
	t.Run("starttls", func(t *testing.T) { protocoltest.RunIMPP(t, New(hclog.NewNullLogger()), env(t, false)) })
	t.Run("direct-tls", func(t *testing.T) { protocoltest.RunIMPP(t, New(hclog.NewNullLogger()), env(t, true)) })
}

func connectVia(t *testing.T, req protocol.ConnectRequest) (protocol.IMPPSession, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := New(hclog.NewNullLogger()).Connect(ctx, req)
	if err == nil {
		t.Cleanup(func() { _ = s.Close(context.Background()) })
	}
	return s, err
}

// RFC 7590 §3.1 against an RFC 7457 §2.1 attacker that strips the
// STARTTLS offer: the template attempts STARTTLS anyway and logs in over
// verified TLS.
func TestTemplateStrippedStartTLS(t *testing.T) {
	e := env(t, false)
	p := testbed.NewProxy(t, e.Good.Server, testbed.ProxyOptions{StripStartTLS: true})
	req := e.Good
	req.Server = p.Addr
	s, err := connectVia(t, req)
	if err != nil {
		t.Fatalf("Connect through a STARTTLS-stripping proxy: %v", err)
	}
	r := s.Report()
	if r.StartTLSAdvertised || !r.StartTLSAttempted || r.TLS == nil || !r.TLS.Verified {
		t.Errorf("report: advertised=%v attempted=%v tls=%+v; want false, true, verified", r.StartTLSAdvertised, r.StartTLSAttempted, r.TLS)
	}
}

// A server without TLS never gets the password, even with AllowPlaintext:
// the template does not log in in the clear at all.
func TestTemplateNeverAuthenticatesInClear(t *testing.T) {
	bed := testbed.Shared(t)
	e := env(t, false)
	p := testbed.NewProxy(t, bed.XMPPAddr, testbed.ProxyOptions{})
	for _, allow := range []bool{false, true} {
		req := e.Good
		req.Address, req.Password = bed.JID("eve"), bed.Users["eve"].Password
		req.Server, req.AllowPlaintext = p.Addr, allow
		_, err := connectVia(t, req)
		if !errors.Is(err, protocol.ErrInsecure) {
			t.Errorf("AllowPlaintext=%v: got %v, want ErrInsecure", allow, err)
		}
		sent := p.ClientBytes()
		if bytes.Contains(sent, []byte("<auth")) || bytes.Contains(sent, []byte(req.Password)) {
			t.Errorf("credentials went out in the clear: %s", sent)
		}
		if !bytes.Contains(sent, []byte("<starttls")) {
			t.Errorf("STARTTLS was not attempted: %s", sent)
		}
	}
}

// A certificate from a CA the account does not trust aborts the handshake:
// ErrCertificate, and the credentials are never sent.
func TestTemplateUnknownCA(t *testing.T) {
	bed := testbed.Shared(t)
	other, err := os.ReadFile(bed.OtherCAFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, direct := range []bool{false, true} {
		req := env(t, direct).Good
		req.CAPEM = other
		if _, err := connectVia(t, req); !errors.Is(err, protocol.ErrCertificate) {
			t.Errorf("direct TLS %v: got %v, want ErrCertificate", direct, err)
		}
	}
}

// docs/plugin-protocol.md points authors here: it names this directory, the
// executable, and the one capability the template declares.
func TestTemplateDocNamesIt(t *testing.T) {
	doc, err := os.ReadFile("../../docs/plugin-protocol.md")
	if err != nil {
		t.Fatal(err)
	}
	info, _ := New(nil).Info(context.Background())
	if len(info.Capabilities) != 1 || info.Capabilities[0] != protocol.CapLogin {
		t.Errorf("capabilities %v; the guide says login only", info.Capabilities)
	}
	for _, s := range []string{"`plugins/impptemplate`", "cusax-plugin-impp-" + Name, "It declares `login` only."} {
		if !bytes.Contains(doc, []byte(s)) {
			t.Errorf("docs/plugin-protocol.md does not say %q", s)
		}
	}
}

// silentServer accepts TCP connections and never says a word.
func silentServer(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	return ln.Addr().String()
}

// A server that accepts TCP and then says nothing does not hang Connect:
// it ends with ErrTimeout once the request's timeout has passed.
func TestTemplateSilentServer(t *testing.T) {
	addr := silentServer(t)
	for _, direct := range []bool{false, true} {
		req := protocol.ConnectRequest{Address: "alice@example.test", Password: "pw", Server: addr, DirectTLS: direct, Timeout: 500 * time.Millisecond}
		done := make(chan error, 1)
		go func() { _, err := New(nil).Connect(context.Background(), req); done <- err }()
		select {
		case err := <-done:
			if !errors.Is(err, protocol.ErrTimeout) {
				t.Errorf("direct TLS %v: got %v, want ErrTimeout", direct, err)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("direct TLS %v: Connect still hangs after 30 s with a 500 ms timeout", direct)
		}
	}
}
