package protocoltest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cusax/cusax/pkg/protocol"
)

// Env names a real account for the suite to use.
type Env struct {
	// Good logs in.
	Good protocol.ConnectRequest
	// WrongPassword is a password the server rejects for Good.Address.
	WrongPassword string
	// BadAddress is an address the backend must refuse as invalid.
	BadAddress string
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// CheckInfo checks a plugin's self-description.
func CheckInfo(t *testing.T, d protocol.Describer, kind protocol.Kind) protocol.Info {
	t.Helper()
	info, err := d.Info(ctxT(t))
	if err != nil {
		t.Fatalf("Info: %v", err)
	}
	if info.Kind != kind {
		t.Errorf("Info.Kind = %q, want %q", info.Kind, kind)
	}
	if info.Name == "" || info.Version == "" {
		t.Errorf("Info name/version empty: %+v", info)
	}
	if info.APIVersion != protocol.APIVersion {
		t.Errorf("Info.APIVersion = %d, want %d", info.APIVersion, protocol.APIVersion)
	}
	seen := map[protocol.Capability]bool{}
	for _, c := range info.Capabilities {
		if seen[c] {
			t.Errorf("capability %q listed twice", c)
		}
		seen[c] = true
	}
	return info
}

// checkReport checks the invariants every connection report keeps.
func checkReport(t *testing.T, r protocol.ConnectionReport, aspect protocol.Aspect, state string) {
	t.Helper()
	if r.Aspect != aspect || r.State != state {
		t.Errorf("report aspect/state = %q/%q, want %q/%q", r.Aspect, r.State, aspect, state)
	}
	if r.Backend == "" || r.Transport == "" || r.Address == "" || r.Server == "" {
		t.Errorf("report lacks backend/transport/address/server: %+v", r)
	}
	if r.AuthMechanism == "" {
		t.Errorf("report lacks the auth mechanism")
	}
	if r.Elapsed <= 0 {
		t.Errorf("report elapsed = %v", r.Elapsed)
	}
	if r.Encrypted != (r.TLS != nil) {
		t.Errorf("report encrypted=%v but TLS=%v", r.Encrypted, r.TLS)
	}
	if r.TLS != nil {
		if r.TLS.Version == "" || r.TLS.CipherSuite == "" || len(r.TLS.Chain) == 0 {
			t.Errorf("TLS details incomplete: %+v", r.TLS)
		}
		if !r.TLS.Verified || r.TLS.ServerAuth == "" {
			t.Errorf("TLS connection not verified: %+v", r.TLS)
		}
		if leaf := r.TLS.Leaf(); len(leaf.SHA256) != 64 || leaf.NotAfter.IsZero() {
			t.Errorf("certificate summary incomplete: %+v", leaf)
		}
	}
}

func noSecret(t *testing.T, err error, secrets ...string) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(err.Error(), s) {
			t.Errorf("error text contains a secret: %q", err)
		}
	}
}

func wantIs(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: got %v, want an error wrapping %q", what, err, target)
	}
}
