package baresip

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/cusax/cusax/internal/testbed"
	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/pkg/protocol/protocoltest"
)

// bedMD5 is a bed of the test's own that challenges with MD5: baresip 1.0
// computes no other digest (no RFC 8760 SHA-256).
func bedMD5(t *testing.T) *testbed.Bed {
	t.Helper()
	return testbed.Start(t, testbed.Options{SIPDigestAlgorithm: "MD5"})
}

// freshUsers adds SIP users new to the bed, so that runs never share
// registrations.
func freshUsers(t *testing.T, bed *testbed.Bed, prefix string, n int) ([]string, map[string]testbed.User) {
	t.Helper()
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	var names []string
	for i := range n {
		names = append(names, fmt.Sprintf("%s%d%s", prefix, i, hex.EncodeToString(b[:])))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	users, err := bed.AddUsers(ctx, bed.Domain, names...)
	if err != nil {
		t.Fatal(err)
	}
	return names, users
}

// Env is the conformance environment for the baresip backend on an MD5
// bed over UDP: the callee a sipp UAS echoing RTP (it counts what it got),
// the DTMF callee a baresip of the bed, calls to Good placed by sipp.
func Env(t *testing.T, bed *testbed.Bed) protocoltest.Env {
	names, users := freshUsers(t, bed, "bs", 2)
	good, peer := names[0], names[1]
	server := "sip:" + bed.SIPUDPAddr + ";transport=udp"
	goodAOR := "sip:" + good + "@" + bed.Domain
	var n atomic.Int32
	callee := func(t testing.TB) string {
		user := fmt.Sprintf("%scallee%d", good, n.Add(1))
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := bed.AddUsers(ctx, bed.Domain, user); err != nil {
			t.Fatal(err)
		}
		return user
	}
	return protocoltest.Env{
		Good:          protocol.ConnectRequest{Address: goodAOR, Password: users[good].Password, Server: server},
		WrongPassword: "wrong-" + users[good].Password,
		BadAddress:    "mailto:" + good + "@" + bed.Domain,
		Peer:          protocol.ConnectRequest{Address: "sip:" + peer + "@" + bed.Domain, Password: users[peer].Password, Server: server},
		Callee: func(t testing.TB) protocoltest.Callee {
			uas := bed.StartSippUAS(t, testbed.SippUASOptions{User: callee(t), Answer: 200, Media: "echo"})
			return protocoltest.Callee{URI: uas.URI, Wait: func(d time.Duration) (int64, error) {
				res, err := uas.Wait(d)
				return int64(res.RTPReceived), err
			}}
		},
		DTMFCallee: func(t testing.TB) protocoltest.Callee {
			bs := bed.StartBaresip(t, testbed.BaresipOptions{User: callee(t)})
			return protocoltest.Callee{URI: bs.URI, DTMF: bs.DTMF}
		},
		CallGood: func(ctx context.Context, callID string, want int) error {
			_, err := bed.SippInvite(ctx, testbed.SippInviteOptions{From: peer, To: goodAOR, ExpectStatus: want, CallID: callID})
			return err
		},
		CallGoodWithMedia: func(ctx context.Context, call protocoltest.MediaCall) (protocoltest.MediaCallResult, error) {
			return bed.SuiteMediaCall(ctx, peer, goodAOR, call)
		},
	}
}

func TestMain(m *testing.M) {
	// CI has no sound card: baresip's file modules only.
	os.Setenv(AudioEnv, "none")
	code := m.Run()
	testbed.StopShared()
	os.Exit(code)
}

// The backend passes the conformance suite in process against the real
// Kamailio, for every capability it declares.
func TestConformanceBaresip(t *testing.T) {
	log := hclog.NewNullLogger()
	if os.Getenv("CUSAX_TEST_DEBUG") != "" {
		log = hclog.New(&hclog.LoggerOptions{Level: hclog.Debug})
	}
	protocoltest.RunTelephony(t, New(log), Env(t, bedMD5(t)))
}
