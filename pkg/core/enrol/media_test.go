package enrol_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/cusax/cusax/pkg/core/enrol"
	"github.com/cusax/cusax/pkg/core/parity"
	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/pkg/protocol/fake"
)

// RFC 7081 §7 for call media: SIP over TLS with media that is, or may be,
// plain RTP is a parity finding of login, with the config line that fixes
// it, judged by the policies like the others; --require-parity refuses it
// (nothing saved). The setting and the backend's declared capability come
// from the account and the running plugin's Info.
func TestProveMediaParity(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		setting   string
		noSRTP    bool // the backend does not declare protocol.CapSRTP
		cleartext bool // SIP over UDP
		require   bool
		sev       string // "" = no media finding
		fix       string
		saved     bool
	}{
		{name: "default over TLS, SRTP backend", saved: true},
		{name: "srtp over TLS", setting: "srtp", saved: true},
		{name: "none over TLS", setting: "none", sev: parity.Critical, fix: `set media_encryption = "srtp" in the [account.sip] table of account "home"`, saved: true},
		{name: "none over TLS, require parity", setting: "none", require: true, sev: parity.Critical, fix: `media_encryption = "srtp"`},
		{name: "optional over TLS", setting: "optional", sev: parity.Warning, fix: `media_encryption = "srtp"`, saved: true},
		{name: "optional over TLS, require parity", setting: "optional", require: true, sev: parity.Warning, fix: `media_encryption = "srtp"`},
		{name: "default over TLS, backend without SRTP", noSRTP: true, sev: parity.Critical, fix: `backend = "NAME"`, saved: true},
		{name: "none over UDP: parity.encryption alone", setting: "none", cleartext: true, saved: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			if tc.noSRTP {
				w.tel.Capabilities = slices.DeleteFunc(slices.Clone(w.tel.Capabilities), func(c protocol.Capability) bool { return c == protocol.CapSRTP })
			}
			if tc.cleartext {
				w.tel.Report = cleartextTelephony
			}
			pol := &fake.Policy{Name: "default"}
			w.src.Policies["default"] = pol
			j := job()
			j.Account.SIP.MediaEncryption = tc.setting
			j.RequireParity = tc.require
			out, err := enrol.Prove(ctx, w.env, j)
			if err != nil {
				t.Fatal(err)
			}
			var media []protocol.ParityFinding
			for _, f := range out.Decision.Findings {
				if f.ID == parity.MediaID {
					media = append(media, f)
				}
			}
			if tc.sev == "" {
				if len(media) != 0 {
					t.Fatalf("media findings %+v, want none", media)
				}
			} else {
				if len(media) != 1 || media[0].Severity != tc.sev || !strings.Contains(media[0].Fix, tc.fix) {
					t.Fatalf("media findings %+v, want one %s with fix ~ %q", media, tc.sev, tc.fix)
				}
				if !slices.Contains(pol.Asked(), "JudgeSecurityParity") {
					t.Errorf("the policy was not asked: %v", pol.Asked())
				}
			}
			if tc.cleartext && (len(out.Decision.Findings) != 1 || out.Decision.Findings[0].ID != "parity.encryption") {
				t.Errorf("SIP over UDP: findings %+v, want parity.encryption alone", out.Decision.Findings)
			}
			if out.Saved != tc.saved || out.ParityFailed != (tc.require && tc.sev != "") {
				t.Errorf("saved %v parity failed %v, want %v %v", out.Saved, out.ParityFailed, tc.saved, tc.require && tc.sev != "")
			}
		})
	}
}
