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
	if cs, ts := authStrength(chat), authStrength(tel); cs.rank != ts.rank {
		sev := Info
		if abs(cs.rank-ts.rank) >= 2 {
			sev = Warning
		}
		out = append(out, protocol.ParityFinding{
			ID: "parity.client-auth", Severity: sev,
			Message: fmt.Sprintf("client authentication differs: Chat uses %s (%s), Telephony uses %s (%s)", orNone(chat.AuthMechanism), cs.desc, orNone(tel.AuthMechanism), ts.desc),
			Fix:     "no client-side flag can raise this: ask the provider to offer " + strongerAuth(cs, ts),
		})
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
	if strings.Contains(host, ":") {
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

// authStrength ranks client authentication: SCRAM with channel binding >
// SCRAM-SHA-256 ≈ digest SHA-256/SHA-512-256 > SCRAM-SHA-1 > digest MD5 >
// PLAIN (the password itself crosses the wire, inside TLS).
func authStrength(r protocol.ConnectionReport) strength {
	m := strings.ToUpper(r.AuthMechanism)
	switch {
	case strings.HasSuffix(m, "-PLUS"):
		return strength{5, "challenge-response with channel binding"}
	case strings.Contains(m, "SCRAM-SHA-256"), strings.Contains(m, "SCRAM-SHA-512"), strings.Contains(m, "SHA-512-256"), strings.HasSuffix(m, "SHA-256"):
		return strength{4, "challenge-response, SHA-256 family"}
	case strings.Contains(m, "SCRAM-SHA-1"):
		return strength{3, "challenge-response, SHA-1"}
	case strings.Contains(m, "MD5"), m == "DIGEST":
		return strength{2, "challenge-response, MD5"}
	case strings.Contains(m, "PLAIN"):
		return strength{1, "password sent to the server"}
	case m == "":
		return strength{0, "none"}
	}
	return strength{3, "other"}
}

func strongerAuth(a, b strength) string {
	if a.rank < b.rank {
		a, b = b, a
	}
	_ = a
	switch b.rank {
	case 2:
		return "SIP digest with SHA-256 (RFC 8760) instead of MD5"
	case 1:
		return "SCRAM instead of PLAIN"
	}
	return "the same mechanism strength on both aspects"
}

func orNone(s string) string {
	if s == "" {
		return "nothing"
	}
	return s
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
