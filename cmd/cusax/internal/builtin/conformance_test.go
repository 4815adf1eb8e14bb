package builtin

import (
	"context"
	"os"
	"os/exec"
	"testing"

	"github.com/cusax/cusax/internal/testbed"
	"github.com/cusax/cusax/pkg/core/pluginhost"
	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/pkg/protocol/protocoltest"
	"github.com/cusax/cusax/plugins/policy"
	sipbackend "github.com/cusax/cusax/plugins/sip"
	xmppbackend "github.com/cusax/cusax/plugins/xmpp"
	"github.com/hashicorp/go-hclog"
)

// TestMain makes the test binary serve built-in plugins when re-executed,
// exactly as the cusax binary does.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == pluginhost.ServeArg {
		os.Exit(Serve(os.Args[2:]))
	}
	code := m.Run()
	testbed.StopShared()
	os.Exit(code)
}

// overGRPC launches a built-in through go-plugin (a real child process,
// AutoMTLS, checksum) and returns the running instance.
func overGRPC(t *testing.T, kind protocol.Kind, name string) *pluginhost.Instance {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cands, _, err := pluginhost.Discover(self, Plugins, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := pluginhost.Find(cands, kind, name)
	if err != nil {
		t.Fatal(err)
	}
	l := pluginhost.Launcher{Command: func(c pluginhost.Candidate) *exec.Cmd {
		return exec.Command(self, pluginhost.ServeArg, string(c.Kind), c.Name)
	}}
	inst, err := l.Launch(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(inst.Close)
	return inst
}

func xmppEnv(bed *testbed.Bed) protocoltest.Env {
	return protocoltest.Env{
		Good:          protocol.ConnectRequest{Address: "alice@" + bed.Domain, Password: bed.Users["alice"].Password, Server: bed.XMPPAddr, CAPEM: mustRead(bed.CAFile)},
		WrongPassword: "wrong-" + bed.Users["alice"].Password,
		BadAddress:    "@" + bed.Domain,
	}
}

func sipEnv(bed *testbed.Bed) protocoltest.Env {
	return protocoltest.Env{
		Good:          protocol.ConnectRequest{Address: "sip:bob@" + bed.Domain, Password: bed.Users["bob"].Password, Server: "sip:" + bed.SIPTLSAddr + ";transport=tls", CAPEM: mustRead(bed.CAFile)},
		WrongPassword: "wrong-" + bed.Users["bob"].Password,
		BadAddress:    "mailto:bob@" + bed.Domain,
	}
}

func mustRead(p string) []byte {
	b, err := os.ReadFile(p)
	if err != nil {
		panic(err)
	}
	return b
}

func TestConformanceXMPP(t *testing.T) {
	bed := testbed.Shared(t)
	t.Run("in-process", func(t *testing.T) {
		protocoltest.RunIMPP(t, xmppbackend.New(hclog.NewNullLogger()), xmppEnv(bed))
	})
	t.Run("grpc", func(t *testing.T) {
		b, err := overGRPC(t, protocol.KindIMPP, "xmpp").IMPP()
		if err != nil {
			t.Fatal(err)
		}
		protocoltest.RunIMPP(t, b, xmppEnv(bed))
	})
}

func TestConformanceSIP(t *testing.T) {
	bed := testbed.Shared(t)
	t.Run("in-process", func(t *testing.T) {
		protocoltest.RunTelephony(t, sipbackend.New(hclog.NewNullLogger()), sipEnv(bed))
	})
	t.Run("grpc", func(t *testing.T) {
		b, err := overGRPC(t, protocol.KindTelephony, "sip").Telephony()
		if err != nil {
			t.Fatal(err)
		}
		protocoltest.RunTelephony(t, b, sipEnv(bed))
	})
}

func TestConformanceDefaultPolicy(t *testing.T) {
	t.Run("in-process", func(t *testing.T) { protocoltest.RunPolicy(t, policy.New()) })
	t.Run("grpc", func(t *testing.T) {
		p, err := overGRPC(t, protocol.KindPolicy, policy.Name).Policy()
		if err != nil {
			t.Fatal(err)
		}
		protocoltest.RunPolicy(t, p)
	})
}
