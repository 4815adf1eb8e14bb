package parity

import (
	"fmt"
	"strings"

	"github.com/cusax/cusax/pkg/protocol"
)

// MediaID is the parity finding of call media protected less than the SIP
// signalling that sets the call up.
const MediaID = "parity.media-encryption"

// Media is what decides how an account's call media is protected.
type Media struct {
	// Account names the account, for the fix text.
	Account string
	// Setting is the account's [account.sip] media_encryption ("" is the
	// default: SRTP over TLS, protocol.MediaEncryptionDefault).
	Setting string
	// SignallingTLS: the SIP flow runs over TLS (the registration report
	// says so).
	SignallingTLS bool
	// Backend names the telephony plugin.
	Backend string
	// BackendSRTP: the backend declares protocol.CapSRTP; nil when its
	// capabilities are not known (then only the setting is judged).
	BackendSRTP *bool
}

// MediaGap is one way in which call media is protected less than its
// signalling.
type MediaGap struct {
	// Severity is Critical when the media surely goes in clear (or
	// cannot be protected at all) and Warning when it may fall back to
	// clear, or when every call will be refused instead.
	Severity string
	// Problem says what happens to the media, in one line.
	Problem string
	// Fix names the setting that closes the gap, in one line.
	Fix string
}

// CheckMedia judges call media against its signalling. RFC 7081 §7: both
// aspects are to be protected alike, and a user who sees SIP over TLS
// takes the call to be protected; so SIP over TLS with media that is, or
// may be, sent as plain RTP is a gap — also when the user chose it
// (media_encryption = "none"), which the user silences by choosing
// otherwise. SIP without TLS is no gap of its own here: the signalling is
// already in clear (Compare reports that), and no SDES key may be sent
// over it anyway (RFC 4568 §8.3).
//
// The decision table (setting × signalling × backend):
//
//	signalling not TLS                         → no gap
//	"none"                                     → critical (media in clear)
//	backend without CapSRTP, "" or "optional"  → critical (cannot protect)
//	backend without CapSRTP, "srtp"            → warning (every call refused)
//	"optional"                                 → warning (may fall back)
//	"" or "srtp", CapSRTP or not known         → no gap
func CheckMedia(m Media) (MediaGap, bool) {
	if !m.SignallingTLS {
		return MediaGap{}, false
	}
	noSRTP := m.BackendSRTP != nil && !*m.BackendSRTP
	line := fmt.Sprintf(`set media_encryption = %q in the [account.sip] table of account %s (or remove the line: over TLS the default is SRTP)`,
		protocol.MediaEncryptionSRTP, quoteName(m.Account))
	backendFix := fmt.Sprintf("use a telephony backend that declares %q (cusax plugins lists them): set backend = \"NAME\" in the [account.sip] table of account %s",
		protocol.CapSRTP, quoteName(m.Account))
	noCap := fmt.Sprintf("telephony backend %s does not declare SRTP (capability %q)", quoteName(m.Backend), protocol.CapSRTP)
	switch {
	case m.Setting == protocol.MediaEncryptionNone:
		g := MediaGap{Severity: Critical,
			Problem: `SIP runs over TLS but calls' audio goes as plain RTP (media_encryption = "none"): anyone on the path can listen`,
			Fix:     line}
		if noSRTP {
			g.Fix += "; and " + backendFix
		}
		return g, true
	case noSRTP && m.Setting == protocol.MediaEncryptionSRTP:
		return MediaGap{Severity: Warning,
			Problem: noCap + `: with media_encryption = "srtp" every call is refused`,
			Fix:     backendFix}, true
	case noSRTP:
		return MediaGap{Severity: Critical,
			Problem: "SIP runs over TLS but " + noCap + ": calls' audio cannot be protected",
			Fix:     backendFix}, true
	case m.Setting == protocol.MediaEncryptionOptional:
		return MediaGap{Severity: Warning,
			Problem: `SIP runs over TLS but calls' audio may go as plain RTP (media_encryption = "optional" falls back when the peer does not do SRTP)`,
			Fix:     line}, true
	}
	return MediaGap{}, false
}

// CompareMedia is CheckMedia as a parity finding (ID MediaID).
func CompareMedia(m Media) (protocol.ParityFinding, bool) {
	g, ok := CheckMedia(m)
	if !ok {
		return protocol.ParityFinding{}, false
	}
	return protocol.ParityFinding{ID: MediaID, Severity: g.Severity, Message: g.Problem, Fix: g.Fix}, true
}

// quoteName quotes a name for a one-line message. Account and plugin
// names are validated (config.ValidateName: A-Z a-z 0-9 . _ -), but the
// fix text is printed as a hint the user copies, so it is quoted whatever
// it holds: a name never ends the line, adds a table or a second setting.
func quoteName(s string) string {
	if s == "" {
		return `""`
	}
	return fmt.Sprintf("%q", strings.ToValidUTF8(s, "\uFFFD"))
}
