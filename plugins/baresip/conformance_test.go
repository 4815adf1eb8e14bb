package baresip

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/cusax/cusax/internal/testbed"
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
// bed over UDP (testbed's UDPTelephonyEnv).
func Env(t *testing.T, bed *testbed.Bed) protocoltest.Env {
	return bed.UDPTelephonyEnv(t, "bs")
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
