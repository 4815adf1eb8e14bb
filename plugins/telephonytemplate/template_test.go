package telephonytemplate

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
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

// env is bob on the bed's Kamailio over TLS.
func env(t *testing.T) protocoltest.Env {
	bed := testbed.Shared(t)
	ca, err := os.ReadFile(bed.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pw := bed.Users["bob"].Password
	return protocoltest.Env{
		Good:          protocol.ConnectRequest{Address: "sip:bob@" + bed.Domain, Password: pw, Server: "sip:" + bed.SIPTLSAddr + ";transport=tls", CAPEM: ca},
		WrongPassword: "wrong-" + pw,
		BadAddress:    "mailto:bob@" + bed.Domain,
	}
}

// The template passes the conformance suite in process against the real
// Kamailio, declaring register only.
func TestTemplateConformanceTelephony(t *testing.T) {
	protocoltest.RunTelephony(t, New(hclog.NewNullLogger()), env(t))
}

// A certificate from a CA the account does not trust aborts the handshake:
// ErrCertificate, and no REGISTER (let alone a digest answer) is sent.
func TestTemplateUnknownCA(t *testing.T) {
	bed := testbed.Shared(t)
	other, err := os.ReadFile(bed.OtherCAFile)
	if err != nil {
		t.Fatal(err)
	}
	req := env(t).Good
	req.CAPEM = other
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := New(hclog.NewNullLogger()).Connect(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	rep, err := s.Register(ctx, protocol.RegisterRequest{})
	if !errors.Is(err, protocol.ErrCertificate) {
		t.Fatalf("got %v, want ErrCertificate", err)
	}
	if rep.State != "failed" || rep.AuthMechanism != "" {
		t.Errorf("report after a refused certificate: %+v", rep)
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
	if len(info.Capabilities) != 1 || info.Capabilities[0] != protocol.CapRegister {
		t.Errorf("capabilities %v; the guide says register only", info.Capabilities)
	}
	for _, s := range []string{"`plugins/telephonytemplate`", "cusax-plugin-telephony-" + Name, "It declares `register` only."} {
		if !strings.Contains(string(doc), s) {
			t.Errorf("docs/plugin-protocol.md does not say %q", s)
		}
	}
}

// A registrar that accepts TCP and never completes the TLS handshake does
// not hang Register: it ends with ErrTimeout once the timeout has passed.
func TestTemplateSilentServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	req := protocol.ConnectRequest{Address: "sip:bob@example.test", Password: "pw",
		Server: "sip:" + ln.Addr().String() + ";transport=tls", Timeout: 500 * time.Millisecond}
	s, err := New(nil).Connect(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	done := make(chan error, 1)
	go func() { _, err := s.Register(context.Background(), protocol.RegisterRequest{}); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, protocol.ErrTimeout) {
			t.Errorf("got %v, want ErrTimeout", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Register still hangs after 30 s with a 500 ms timeout")
	}
}
