package auditrun

import (
	"context"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cusax/cusax/pkg/core/audit"
	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/core/pluginhost"
	"github.com/cusax/cusax/pkg/core/session/sessiontest"
	"github.com/cusax/cusax/pkg/core/tlsprobe"
	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/pkg/protocol/fake"
)

// The media facts of cusax.media-encryption: the account's setting, its
// SIP transport as configured, and what its telephony backend declares,
// read from the plugin's Info once per backend (accounts sharing one share
// the start), and only where SIP runs over TLS. A backend that cannot be
// started is a fact (BackendError), not a failed run. Nothing here needs
// a server: the TLS endpoint is a closed port.
func TestRunnerMediaFacts(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	svc := fake.NewService()
	src := sessiontest.New(svc)
	src.Telephony["srtp"] = svc.Telephony(append(slices.Clone(fake.TelephonyCapabilities), protocol.CapSRTP)...)
	src.Telephony["plain"] = svc.Telephony(protocol.CapRegister, protocol.CapDial, protocol.CapMedia)
	src.StartErr = map[string]error{"telephony/broken": pluginhost.ErrPluginNotFound}

	acct := func(name, backend, setting, proxy string) config.Account {
		return config.Account{Name: name, SIP: &config.SIPAspect{AOR: "sip:alice@example.test", Proxy: proxy, Backend: backend, MediaEncryption: setting}}
	}
	tls := "sip:" + closed + ";transport=tls"
	accounts := []config.Account{
		acct("a", "srtp", "", tls),
		acct("b", "srtp", "none", tls),
		acct("c", "plain", "optional", tls),
		acct("d", "plain", "none", "sip:"+closed+";transport=tcp"),
		acct("e", "broken", "", tls),
	}
	var targets []Target
	for i := range accounts {
		targets = append(targets, Target{Name: accounts[i].Name, Account: &accounts[i]})
	}
	r := &Runner{Options: Options{Probe: tlsprobe.Options{DialTimeout: 300 * time.Millisecond}}, Backends: src}
	all, err := r.Run(context.Background(), targets)
	if err != nil {
		t.Fatal(err)
	}
	want := []audit.MediaFacts{
		{Setting: "", SIPTransport: "tls", Backend: "srtp", BackendSRTP: audit.Yes},
		{Setting: "none", SIPTransport: "tls", Backend: "srtp", BackendSRTP: audit.Yes},
		{Setting: "optional", SIPTransport: "tls", Backend: "plain", BackendSRTP: audit.No},
		{Setting: "none", SIPTransport: "tcp", Backend: "plain"},
		{SIPTransport: "tls", Backend: "broken", BackendError: "plugin not found"},
	}
	for i, f := range all {
		m := f.Media
		if m == nil {
			t.Fatalf("%s: no media facts", f.Account)
		}
		w := want[i]
		if w.BackendError != "" {
			if m.BackendSRTP != audit.Unknown || !strings.Contains(m.BackendError, "not found") {
				t.Errorf("%s: %+v, want an error and Unknown", f.Account, *m)
			}
			continue
		}
		if *m != w {
			t.Errorf("%s: %+v, want %+v", f.Account, *m, w)
		}
	}
	// Each backend started once, none for the TCP account's sake alone.
	var tel []string
	for _, s := range src.Started() {
		if s == "telephony/srtp" || s == "telephony/plain" || s == "telephony/broken" {
			tel = append(tel, s)
		}
	}
	slices.Sort(tel)
	if !slices.Equal(tel, []string{"telephony/plain", "telephony/srtp"}) {
		t.Errorf("telephony plugins started %v, want plain and srtp once each", src.Started())
	}
	if n := src.Running(); n != 0 {
		t.Errorf("%d plugins left running", n)
	}

	// Without Backends nothing is started and the capability is Unknown.
	facts, _, err := Account(context.Background(), accounts[0], Options{Probe: tlsprobe.Options{DialTimeout: 300 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	if facts.Media == nil || facts.Media.BackendSRTP != audit.Unknown || facts.Media.BackendError != "" {
		t.Errorf("without Backends: %+v", facts.Media)
	}
	// A chat-only account has no media facts.
	facts, _, _ = Account(context.Background(), config.Account{Name: "x", XMPP: &config.XMPPAspect{JID: "a@example.test", Server: closed}}, Options{Probe: tlsprobe.Options{DialTimeout: 300 * time.Millisecond}})
	if facts.Media != nil {
		t.Errorf("chat-only account: media facts %+v", facts.Media)
	}
}
