// Package parity compares the protection of the two aspects of a CUSAX
// account. RFC 7081 §7: "if both protocols are not safeguarded by similar
// levels of cryptographic protection, the user must be informed of that
// fact and given the opportunity to bring both up to the same level." Each
// finding therefore names the exact flag or setting that closes the gap.
package parity

import (
	"fmt"
	"net"
	"strings"

	"github.com/cusax/cusax/pkg/protocol"
)

// Severities, weakest first.
const (
	Info     = "info"
	Warning  = "warning"
	Critical = "critical"
)

// Rank orders severities; unknown ones rank as warnings.
func Rank(sev string) int {
	switch sev {
	case Info:
		return 0
	case Critical:
		return 2
	}
	return 1
}

// Fixes tells Compare how to phrase fixes for this account.
type Fixes struct {
	Account string
	// SIPProxy is the proxy URI the account uses now ("" = DNS).
	SIPProxy string
	// SIPDomain is the AOR's domain.
	SIPDomain string
}

// Compare returns the differences between the aspects' protection. Both
// reports must come from successful logins.
func Compare(chat, tel protocol.ConnectionReport, fx Fixes) []protocol.ParityFinding {
	var out []protocol.ParityFinding
	switch {
	case chat.Encrypted && !tel.Encrypted:
		out = append(out, protocol.ParityFinding{
			ID: "parity.encryption", Severity: Warning,
			Message: fmt.Sprintf("Chat is encrypted (%s) but Telephony is not (SIP over %s): calls' signalling, including who you call, travels in the clear", tlsVersion(chat), strings.ToUpper(tel.Transport)),
			Fix:     fmt.Sprintf("cusax login --name %s --sip-proxy '%s'", fx.Account, tlsProxy(fx)),
		})
	case tel.Encrypted && !chat.Encrypted:
		out = append(out, protocol.ParityFinding{
			ID: "parity.encryption", Severity: Critical,
			Message: fmt.Sprintf("Telephony is encrypted (%s) but Chat is not: messages and the roster travel in the clear", tlsVersion(tel)),
			Fix:     fmt.Sprintf("cusax login --name %s without --allow-plaintext (STARTTLS), or with --xmpp-direct-tls", fx.Account),
		})
	}
	if chat.Encrypted && tel.Encrypted {
		cv, tv := tlsVersion(chat), tlsVersion(tel)
		if cv != tv {
			out = append(out, protocol.ParityFinding{
				ID: "parity.tls-version", Severity: Warning,
				Message: fmt.Sprintf("Chat uses %s but Telephony uses %s", cv, tv),
				Fix:     fmt.Sprintf("cusax login --name %s --min-tls 1.3 (refuses anything older on both aspects)", fx.Account),
			})
		}
		if cc, tc := suiteClass(chat.TLS.CipherSuite), suiteClass(tel.TLS.CipherSuite); cc != tc {
			out = append(out, protocol.ParityFinding{
				ID: "parity.cipher-class", Severity: Info,
				Message: fmt.Sprintf("Chat's cipher suite %s is %s; Telephony's %s is %s", chat.TLS.CipherSuite, cc, tel.TLS.CipherSuite, tc),
				Fix:     fmt.Sprintf("cusax login --name %s --min-tls 1.3 (TLS 1.3 suites are all AEAD with forward secrecy)", fx.Account),
			})
		}
		if chat.TLS.Verified != tel.TLS.Verified {
			out = append(out, protocol.ParityFinding{
				ID: "parity.server-auth", Severity: Critical,
				Message: fmt.Sprintf("one aspect's server certificate was not verified (Chat: %s; Telephony: %s)", authOf(chat), authOf(tel)),
				Fix:     fmt.Sprintf("cusax login --name %s --ca-file PATH (trust the provider's CA for both aspects)", fx.Account),
			})
		}
	}
	if f, ok := authGap(authStrength(chat), authStrength(tel), chat.AuthMechanism, tel.AuthMechanism); ok {
		out = append(out, f)
	}
	return out
}

func tlsVersion(r protocol.ConnectionReport) string {
	if r.TLS == nil {
		return "no TLS"
	}
	return r.TLS.Version
}

func authOf(r protocol.ConnectionReport) string {
	if r.TLS == nil || !r.TLS.Verified {
		return "unverified"
	}
	return r.TLS.ServerAuth
}

// tlsProxy suggests the TLS form of the account's SIP proxy (RFC 3261 §26.2;
// 5061 is the default SIP-over-TLS port).
func tlsProxy(fx Fixes) string {
	host := fx.SIPDomain
	if p := fx.SIPProxy; p != "" {
		rest := p
		if i := strings.IndexByte(rest, ':'); i >= 0 {
			rest = rest[i+1:]
		}
		if i := strings.IndexAny(rest, ";?"); i >= 0 {
			rest = rest[:i]
		}
		if h, _, err := net.SplitHostPort(rest); err == nil {
			rest = h
		}
		if rest != "" {
			host = rest
		}
	}
	if strings.Contains(host, ":") && !strings.HasPrefix(host, "[") { // pkg/address brackets an IPv6 domain already
		host = "[" + host + "]"
	}
	return fmt.Sprintf("sip:%s:5061;transport=tls", host)
}

// suiteClass puts a suite in a coarse class: TLS 1.3 and ECDHE+AEAD suites
// are "forward-secret AEAD"; anything else is weaker.
func suiteClass(name string) string {
	switch {
	case strings.HasPrefix(name, "TLS_AES_"), strings.HasPrefix(name, "TLS_CHACHA20_"):
		return "forward-secret AEAD"
	case strings.Contains(name, "ECDHE") && (strings.Contains(name, "GCM") || strings.Contains(name, "CHACHA20")):
		return "forward-secret AEAD"
	case strings.Contains(name, "ECDHE"):
		return "forward-secret CBC"
	}
	return "not forward-secret"
}

type strength struct {
	rank int
	desc string
}

// authStrength ranks client authentication. SCRAM (salted, iterated,
// mutual) is at least as strong as digest with SHA-256 (RFC 8760); MD5
// digest is weak (RFC 8760 §1 deprecates it) and PLAIN hands the password
// itself to the server.
func authStrength(r protocol.ConnectionReport) strength {
	m := strings.ToUpper(r.AuthMechanism)
	switch {
	case strings.HasPrefix(m, "SCRAM-") && strings.HasSuffix(m, "-PLUS"):
		return strength{5, "SCRAM with channel binding"}
	case strings.HasPrefix(m, "SCRAM-"):
		return strength{4, "SCRAM"}
	case strings.Contains(m, "SHA-512-256"), strings.Contains(m, "SHA-256"), strings.Contains(m, "SHA-512"):
		return strength{3, "digest, SHA-2"}
	case strings.Contains(m, "MD5"), m == "DIGEST":
		return strength{2, "digest, MD5"}
	case strings.Contains(m, "PLAIN"):
		return strength{1, "password sent to the server"}
	case m == "":
		return strength{0, "none"}
	}
	return strength{3, "other"}
}

// authGap reports a gap only where one aspect is weak (MD5 digest, PLAIN)
// and the other is not: similar mechanisms are "similar levels" (RFC 7081
// §7), and flagging every difference would teach users to ignore it.
func authGap(cs, ts strength, cm, tm string) (protocol.ParityFinding, bool) {
	weak, strong := cs, ts
	weakName, strongName, weakAspect := cm, tm, "Chat"
	if ts.rank < cs.rank {
		weak, strong, weakName, strongName, weakAspect = ts, cs, tm, cm, "Telephony"
	}
	if weak.rank > 2 || strong.rank <= 2 {
		return protocol.ParityFinding{}, false
	}
	sev := Info
	if strong.rank >= 4 {
		sev = Warning
	}
	fix := "SCRAM instead of PLAIN"
	if weak.rank == 2 {
		fix = "SIP digest with SHA-256 (RFC 8760) instead of MD5"
	}
	return protocol.ParityFinding{
		ID: "parity.client-auth", Severity: sev,
		Message: fmt.Sprintf("%s authenticates with %s (%s) while the other aspect uses %s (%s)", weakAspect, orNone(weakName), weak.desc, orNone(strongName), strong.desc),
		Fix:     "no client-side flag can raise this: ask the provider to offer " + fix,
	}, true
}

func orNone(s string) string {
	if s == "" {
		return "nothing"
	}
	return s
}
