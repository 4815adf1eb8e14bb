package audittls

import (
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/pkg/core/auditrun"
)

// endpointFlags are the flags that describe HOST:PORT targets.
type endpointFlags struct {
	starttls   string // "xmpp", "none" or "" (by port)
	sip        bool
	sni        string
	expectName string
}

func (e endpointFlags) set() bool {
	return e.starttls != "" || e.sip || e.sni != "" || e.expectName != ""
}

// isEndpointArg: an account name never contains ':' or '[' (config
// ValidateName), so an argument with one is meant as HOST:PORT.
func isEndpointArg(s string) bool { return strings.ContainsAny(s, ":[") }

// wellKnown are the ports whose service needs no flag: the IANA ports of
// XMPP c2s (5222, STARTTLS), SIP over TLS (5061), and the conventional
// port of XMPP direct TLS (5223, XEP-0368). testssl.sh maps 5222 to
// STARTTLS XMPP the same way; every other port needs --starttls or --sip.
var wellKnown = map[int]string{
	5222: auditrun.ServiceXMPPStartTLS,
	5223: auditrun.ServiceXMPPTLS,
	5061: auditrun.ServiceSIPTLS,
}

// parseEndpoint turns "HOST:PORT" or "[V6]:PORT" and the endpoint flags
// into a target. Every error says what to type instead.
func parseEndpoint(arg string, f endpointFlags) (auditrun.Target, error) {
	host, ps, err := net.SplitHostPort(arg)
	if err != nil || host == "" {
		return auditrun.Target{}, cmdutil.WithHint(cmdutil.Usagef("%q is neither an account nor HOST:PORT", arg),
			"an endpoint is HOST:PORT or [IPV6]:PORT, e.g. 'cusax audit-tls 127.0.0.1:5222 --starttls xmpp --sni example.com'")
	}
	port, err := strconv.Atoi(ps)
	if err != nil || port < 1 || port > 65535 {
		return auditrun.Target{}, cmdutil.Usagef("%s: port %q is not a number from 1 to 65535", arg, ps)
	}
	ip, ipErr := netip.ParseAddr(host)
	isIP := ipErr == nil
	if isIP {
		host = ip.String() // the zone and case normalised: one job per address
	} else if !isHostName(host) {
		return auditrun.Target{}, cmdutil.Usagef("%s: %q is neither an IP address nor a host name", arg, host)
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	e := auditrun.EndpointTarget{Host: host, Port: port, SNI: strings.ToLower(f.sni), Identity: strings.ToLower(f.expectName)}

	switch {
	case f.sip && f.starttls == "xmpp":
		return auditrun.Target{}, cmdutil.Usagef("--sip and --starttls xmpp exclude each other (SIP over TLS has no STARTTLS)")
	case f.sip:
		e.Service = auditrun.ServiceSIPTLS
	case f.starttls == "xmpp":
		e.Service = auditrun.ServiceXMPPStartTLS
	case f.starttls == "none":
		e.Service = auditrun.ServiceXMPPTLS
	case f.starttls != "":
		return auditrun.Target{}, cmdutil.Usagef("--starttls must be xmpp or none, not %q", f.starttls)
	default:
		svc, ok := wellKnown[port]
		if !ok {
			return auditrun.Target{}, cmdutil.WithHint(cmdutil.Usagef("%s: say what the endpoint serves", arg),
				"cusax audit-tls "+arg+" --starttls xmpp   # XMPP client-to-server with STARTTLS",
				"cusax audit-tls "+arg+" --starttls none   # XMPP direct TLS (XEP-0368)",
				"cusax audit-tls "+arg+" --sip             # SIP over TLS")
		}
		e.Service = svc
	}

	// The expected identity: --expect-name, else --sni, else the host name.
	if e.Identity == "" {
		e.Identity = e.SNI
	}
	if e.Identity == "" && !isIP {
		e.Identity = host
	}
	if e.Identity == "" {
		flag := "--starttls xmpp"
		switch e.Service {
		case auditrun.ServiceXMPPTLS:
			flag = "--starttls none"
		case auditrun.ServiceSIPTLS:
			flag = "--sip"
		}
		return auditrun.Target{}, cmdutil.WithHint(
			cmdutil.Usagef("%s: an IP address names no service: give the domain the certificate must name", arg),
			"cusax audit-tls "+arg+" "+flag+" --sni DOMAIN   # DOMAIN is sent as SNI and expected in the certificate")
	}
	for _, n := range []struct{ flag, v string }{{"--sni", e.SNI}, {"--expect-name", e.Identity}} {
		if n.v != "" && !isHostName(n.v) {
			return auditrun.Target{}, cmdutil.Usagef("%s %q is not a host name", n.flag, n.v)
		}
	}
	return auditrun.Target{Name: e.Addr(), Endpoint: &e}, nil
}

// isHostName: dot-separated labels of letters, digits, '-' and '_', no
// label empty or over 63 bytes; one label ("localhost") is allowed, unlike
// isDomain, since nothing is looked up in DNS for it but an address.
func isHostName(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	if _, err := netip.ParseAddr(s); err == nil {
		return false
	}
	return isDomain(s + ".x") // isDomain wants a dot; the labels are what matter
}
