package xmpp

import (
	"crypto/tls"
	"fmt"
	"slices"
	"strings"

	"mellium.im/sasl"

	"github.com/cusax/cusax/pkg/protocol"
)

// defaultMechanisms is the client's preference, strongest first: SCRAM
// with channel binding, SCRAM, then PLAIN (which is only ever sent inside
// TLS, or with AllowPlaintext).
var defaultMechanisms = []string{
	"SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN",
}

// knownMechanisms maps the names of mellium.im/sasl to its mechanisms.
// ANONYMOUS is deliberately absent: it would not log in as the account.
var knownMechanisms = map[string]sasl.Mechanism{
	"SCRAM-SHA-256-PLUS": sasl.ScramSha256Plus,
	"SCRAM-SHA-1-PLUS":   sasl.ScramSha1Plus,
	"SCRAM-SHA-256":      sasl.ScramSha256,
	"SCRAM-SHA-1":        sasl.ScramSha1,
	"PLAIN":              sasl.Plain,
}

// mechanismPreference validates a requested list (ConnectRequest.Mechanisms)
// and returns it upper-cased and deduplicated, or the default list when
// none was requested.
func mechanismPreference(requested []string) ([]string, error) {
	if len(requested) == 0 {
		return slices.Clone(defaultMechanisms), nil
	}
	out := make([]string, 0, len(requested))
	for _, m := range requested {
		name := strings.ToUpper(strings.TrimSpace(m))
		if _, ok := knownMechanisms[name]; !ok {
			return nil, fmt.Errorf("mechanisms: unknown SASL mechanism %q (known: %s): %w",
				m, strings.Join(defaultMechanisms, ", "), protocol.ErrInvalid)
		}
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out, nil
}

// channelBinding is what the connection allows for SCRAM -PLUS.
type channelBinding struct {
	// tlsVersion is the negotiated TLS version (0 without TLS).
	tlsVersion uint16
	// tlsUnique is true when the connection has tls-unique data (TLS 1.2
	// with extended master secret or a full handshake).
	tlsUnique bool
	// advertised is the XEP-0440 list of channel-binding types the server
	// sent; nil when the server sent no <sasl-channel-binding/>.
	advertised []string
}

// plusUsable reports whether a SCRAM -PLUS mechanism can be expected to
// work on this connection, and why not.
//
// mellium.im/sasl picks the binding type from the TLS version alone:
// tls-exporter (RFC 9266) on TLS 1.3, tls-unique (RFC 5929) below. It does
// not read XEP-0440. Servers that predate RFC 9266 offer -PLUS on TLS 1.3
// although they can only do tls-unique, which does not exist in TLS 1.3:
// Prosody 0.11 did that, and the login fails with malformed-request or
// not-authorized. Prosody 0.12 (the test bed) offers -PLUS only on TLS 1.2.
// So on TLS 1.3 -PLUS is used only when the server advertises tls-exporter
// via XEP-0440; on TLS 1.2 only when tls-unique data exist and the server
// does not advertise a list without tls-unique.
func (cb channelBinding) plusUsable() (bool, string) {
	switch {
	case cb.tlsVersion == 0:
		return false, "no TLS"
	case cb.tlsVersion >= tls.VersionTLS13:
		if slices.Contains(cb.advertised, "tls-exporter") {
			return true, ""
		}
		return false, "TLS 1.3 and the server does not advertise tls-exporter (XEP-0440)"
	case !cb.tlsUnique:
		return false, "no tls-unique data on this TLS 1.2 connection"
	case cb.advertised != nil && !slices.Contains(cb.advertised, "tls-unique"):
		return false, "the server does not advertise tls-unique (XEP-0440)"
	}
	return true, ""
}

// orderMechanisms returns pref with the -PLUS mechanisms moved behind the
// other SCRAM mechanisms when channel binding cannot be expected to work
// (see plusUsable), and PLAIN removed when the connection is not
// encrypted and plaintext was not allowed. Moving rather than removing
// keeps an explicit "-PLUS only" request possible.
func orderMechanisms(pref []string, cb channelBinding, allowPlain bool) (mechs []string, note string) {
	out := make([]string, 0, len(pref))
	var demoted []string
	plusOK, why := cb.plusUsable()
	for _, m := range pref {
		switch {
		case m == "PLAIN" && cb.tlsVersion == 0 && !allowPlain:
			// RFC 6120 §13.9.4: PLAIN only over a protected stream.
			continue
		case strings.HasSuffix(m, "-PLUS") && !plusOK:
			demoted = append(demoted, m)
			continue
		}
		out = append(out, m)
	}
	if len(demoted) == 0 {
		return out, ""
	}
	// Insert the demoted ones before PLAIN (or at the end).
	i := slices.Index(out, "PLAIN")
	if i < 0 {
		i = len(out)
	}
	out = slices.Insert(out, i, demoted...)
	return out, "channel binding not preferred: " + why
}

// selectMechanism returns the first of the client's mechanisms the server
// offered (the client's order decides, as in mellium), or "".
func selectMechanism(client, offered []string) string {
	for _, m := range client {
		for _, o := range offered {
			if strings.EqualFold(o, m) {
				return m
			}
		}
	}
	return ""
}
