package telephonytemplate

import (
	"context"
	"errors"
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
