package audit

import (
	"fmt"
	"strings"

	"github.com/cusax/cusax/pkg/core/parity"
)

// cusaxMedia judges how the account protects call media against the
// transport of its SIP flow, with the decision table of login's parity
// finding (parity.CheckMedia), so that both name the same gap and the same
// fix. RFC 7081 §7: a user who sees SIP over TLS takes the call to be
// protected; RFC 4568 §8.3: SDES keys are only sent over TLS, so over UDP
// or TCP the signalling check (sip.tls, cusax.encryption) is the finding.
func cusaxMedia(facts AccountFacts) result {
	m := facts.Media
	if m == nil {
		return skip("not an account with a SIP aspect: media protection is a client setting")
	}
	ev := mediaEvidence(m)
	if m.SIPTransport != "tls" {
		return skip("%s: the signalling is not protected (see %s, %s), and no SRTP key may be sent over it (RFC 4568 §8.3)", ev, CheckSIPTLS, CheckCUSAXEnc)
	}
	pm := parity.Media{Account: facts.Account, Setting: m.Setting, SignallingTLS: true, Backend: m.Backend}
	if m.BackendSRTP != Unknown {
		has := m.BackendSRTP == Yes
		pm.BackendSRTP = &has
	}
	if g, ok := parity.CheckMedia(pm); ok {
		r := fail("%s: %s", ev, g.Problem)
		r.fix = g.Fix
		return r
	}
	// No gap from the setting alone; it passes only if the backend was
	// seen to declare SRTP (nothing unobserved passes).
	switch {
	case m.BackendSRTP == Yes:
		return pass("%s", ev)
	case m.BackendError != "":
		return errored("%s: telephony backend %q could not be asked for its capabilities: %s", ev, m.Backend, m.BackendError)
	}
	return skip("%s: the telephony backend's capabilities were not asked", ev)
}

func mediaEvidence(m *MediaFacts) string {
	setting := fmt.Sprintf("media_encryption %q", m.Setting)
	if m.Setting == "" {
		setting = "media_encryption not set (SRTP over TLS)"
	}
	caps := "capabilities not known"
	switch m.BackendSRTP {
	case Yes:
		caps = "declares srtp"
	case No:
		caps = "does not declare srtp"
	}
	return fmt.Sprintf("%s; SIP over %s; telephony backend %q %s", setting, strings.ToUpper(orDash(m.SIPTransport)), m.Backend, caps)
}
