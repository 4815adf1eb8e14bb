package builtin

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"sync/atomic"
	"testing"
	"time"

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

// freshPair adds two accounts new to the bed on its main domain (XMPP and
// SIP), so that reruns and the in-process and go-plugin runs never share
// state: roster, offline messages, registrations.
func freshPair(t *testing.T, bed *testbed.Bed, prefix string) (good, peer string, users map[string]testbed.User) {
	t.Helper()
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	tok := hex.EncodeToString(b[:])
	good, peer = prefix+"good"+tok, prefix+"peer"+tok
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	users, err := bed.AddUsers(ctx, bed.Domain, good, peer)
	if err != nil {
		t.Fatal(err)
	}
	return good, peer, users
}

// xmppEnv is two fresh accounts with a mutual presence subscription; Good's
// roster also holds bob (seeded), Peer has a vCard4 (XEP-0292) and a
// XEP-0152 address (seeded).
func xmppEnv(t *testing.T, bed *testbed.Bed) protocoltest.Env {
	good, peer, users := freshPair(t, bed, "xc")
	goodJID, peerJID := good+"@"+bed.Domain, peer+"@"+bed.Domain
	fn := "Conformance Peer " + peer
	reach := "sip:" + peer + "@" + bed.Domain
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := bed.Seed(ctx, testbed.Seed{
		Rosters: map[string][]testbed.Contact{good: {
			{JID: peerJID, Name: "Peer", Mutual: true},
			{JID: "bob@" + bed.Domain, Name: "Bob"},
		}},
		VCard4: map[string]string{peer: `<vcard xmlns='urn:ietf:params:xml:ns:vcard-4.0'><fn><text>` + fn + `</text></fn></vcard>`},
		Reach:  map[string][]string{peer: {reach}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ca := mustRead(bed.CAFile)
	return protocoltest.Env{
		Good:          protocol.ConnectRequest{Address: goodJID, Password: users[good].Password, Server: bed.XMPPAddr, CAPEM: ca},
		WrongPassword: "wrong-" + users[good].Password,
		BadAddress:    "@" + bed.Domain,
		Peer:          protocol.ConnectRequest{Address: peerJID, Password: users[peer].Password, Server: bed.XMPPAddr, CAPEM: ca},
		RosterJIDs:    []string{peerJID, "bob@" + bed.Domain},
		VCardJID:      peerJID,
		VCardText:     fn,
		MUCService:    bed.MUCDomain,
		ReachJID:      peerJID,
		ReachURI:      reach,
	}
}

// sipEnv is two fresh SIP accounts over TLS; the callee is a sipp UAS that
// answers and echoes RTP, the DTMF callee a baresip, and calls to Good are
// placed by sipp as Peer.
func sipEnv(t *testing.T, bed *testbed.Bed) protocoltest.Env {
	good, peer, users := freshPair(t, bed, "sc")
	ca := mustRead(bed.CAFile)
	server := "sip:" + bed.SIPTLSAddr + ";transport=tls"
	goodAOR := "sip:" + good + "@" + bed.Domain
	var n atomic.Int32
	return protocoltest.Env{
		Good:          protocol.ConnectRequest{Address: goodAOR, Password: users[good].Password, Server: server, CAPEM: ca},
		WrongPassword: "wrong-" + users[good].Password,
		BadAddress:    "mailto:" + good + "@" + bed.Domain,
		Peer:          protocol.ConnectRequest{Address: "sip:" + peer + "@" + bed.Domain, Password: users[peer].Password, Server: server, CAPEM: ca},
		Callee: func(t testing.TB) protocoltest.Callee {
			// One user per callee: Kamailio forks a call to every contact of a user.
			user := fmt.Sprintf("%scallee%d", good, n.Add(1))
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if _, err := bed.AddUsers(ctx, bed.Domain, user); err != nil {
				t.Fatal(err)
			}
			uas := bed.StartSippUAS(t, testbed.SippUASOptions{User: user, Answer: 200, Media: "echo"})
			return protocoltest.Callee{URI: uas.URI, Wait: func(d time.Duration) (int64, error) {
				res, err := uas.Wait(d)
				return int64(res.RTPReceived), err
			}}
		},
		GoodOverTLS: true,
		SRTPCallee: func(t testing.TB) protocoltest.Callee {
			// baresip with mediaenc srtp-mand: SDES over TLS or no call.
			user := fmt.Sprintf("%scallee%d", good, n.Add(1))
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if _, err := bed.AddUsers(ctx, bed.Domain, user); err != nil {
				t.Fatal(err)
			}
			bs := bed.StartBaresipSRTP(t, testbed.BaresipSRTPOptions{User: user, MediaEnc: "srtp-mand"})
			return protocoltest.Callee{URI: bs.URI, Wait: func(d time.Duration) (int64, error) {
				// What it decrypted and played, in 20 ms packets.
				if err := bs.WaitClosed(1, d); err != nil {
					return 0, err
				}
				secs, _ := bs.Speaker()
				return int64(secs * 50), nil
			}}
		},
		DTMFCallee: func(t testing.TB) protocoltest.Callee {
			// baresip reports the RFC 4733 digits it decodes, and sends a
			// tone of its own.
			user := fmt.Sprintf("%scallee%d", good, n.Add(1))
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if _, err := bed.AddUsers(ctx, bed.Domain, user); err != nil {
				t.Fatal(err)
			}
			bs := bed.StartBaresip(t, testbed.BaresipOptions{User: user})
			return protocoltest.Callee{URI: bs.URI, DTMF: bs.DTMF}
		},
		CallGood: func(ctx context.Context, callID string, want int) error {
			_, err := bed.SippInvite(ctx, testbed.SippInviteOptions{From: peer, To: goodAOR, ExpectStatus: want, CallID: callID})
			return err
		},
		CallGoodWithMedia: func(ctx context.Context, call protocoltest.MediaCall) (protocoltest.MediaCallResult, error) {
			return bed.SuiteMediaCall(ctx, peer, goodAOR, call)
		},
		CallGoodWithSRTP: func(ctx context.Context, call protocoltest.MediaCall) (protocoltest.MediaCallResult, error) {
			return sippSRTPCall(ctx, bed, peer, goodAOR, call)
		},
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
		protocoltest.RunIMPP(t, xmppbackend.New(hclog.NewNullLogger()), xmppEnv(t, bed))
	})
	t.Run("grpc", func(t *testing.T) {
		b, err := overGRPC(t, protocol.KindIMPP, "xmpp").IMPP()
		if err != nil {
			t.Fatal(err)
		}
		protocoltest.RunIMPP(t, b, xmppEnv(t, bed))
	})
}

func TestConformanceSIP(t *testing.T) {
	// A bed of its own that challenges with MD5: the SRTP callee is
	// baresip 1.0, which computes no other digest.
	bed := testbed.Start(t, testbed.Options{SIPDigestAlgorithm: "MD5"})
	t.Run("in-process", func(t *testing.T) {
		protocoltest.RunTelephony(t, sipbackend.New(hclog.NewNullLogger()), sipEnv(t, bed))
	})
	t.Run("grpc", func(t *testing.T) {
		b, err := overGRPC(t, protocol.KindTelephony, "sip").Telephony()
		if err != nil {
			t.Fatal(err)
		}
		protocoltest.RunTelephony(t, b, sipEnv(t, bed))
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
