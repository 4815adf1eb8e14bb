package sessiontest_test

import (
	"context"
	"errors"
	"testing"

	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/core/pluginhost"
	"github.com/cusax/cusax/pkg/core/session"
	"github.com/cusax/cusax/pkg/core/session/sessiontest"
	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/pkg/protocol/fake"
)

func account() config.Account {
	return config.Account{Name: "a",
		XMPP: &config.XMPPAspect{JID: "alice@example.com"},
		SIP:  &config.SIPAspect{AOR: "sip:alice@example.com"}}
}

// Open starts only what the options ask for, and Close stops it all.
func TestOpenOptions(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		opts []session.Option
		want []string
	}{
		{"all", nil, []string{"impp/xmpp", "telephony/sip"}},
		{"telephony", []session.Option{session.Only(protocol.KindTelephony)}, []string{"telephony/sip"}},
		{"impp", []session.Option{session.Only(protocol.KindIMPP)}, []string{"impp/xmpp"}},
		{"policies only", []session.Option{session.PoliciesOnly()}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := sessiontest.New(fake.NewService())
			p, err := session.Open(ctx, src, account(), tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			got := src.Started() // started concurrently: compared as a set
			for _, w := range tc.want {
				found := false
				for _, g := range got {
					found = found || g == w
				}
				if !found {
					t.Errorf("started %v, want %v", got, tc.want)
				}
			}
			if len(got) != len(tc.want) {
				t.Errorf("started %v, want %v", got, tc.want)
			}
			if _, err := p.Policies(ctx); err != nil {
				t.Fatal(err)
			}
			p.Close()
			if n := src.Running(); n != 0 {
				t.Errorf("%d plugins still running after Close", n)
			}
		})
	}
}

// A backend that cannot start stops the one that did.
func TestOpenFailureStopsTheOthers(t *testing.T) {
	src := sessiontest.New(fake.NewService())
	src.StartErr = map[string]error{"telephony/sip": pluginhost.ErrFailed}
	if _, err := session.Open(context.Background(), src, account()); !errors.Is(err, pluginhost.ErrFailed) {
		t.Fatalf("Open: %v", err)
	}
	if n := src.Running(); n != 0 {
		t.Errorf("%d plugins left running", n)
	}
}
