package provision

import (
	"strings"

	"github.com/emiago/sipgo/sip"
)

// Warnings lists what the document sets up that the user should know
// about although it is allowed: a SIP proxy that does not require TLS
// (RFC 7081 §7: the two aspects should be protected alike, and the user
// must be told when they are not) and features that have no effect
// because their aspect is missing. The CLI shows them before saving.
func (d *Document) Warnings() []string {
	var w []string
	if s := d.SIP; s != nil && s.Proxy != "" {
		if t := plaintextTransport(s.Proxy); t != "" {
			other := ""
			if d.XMPP != nil {
				other = " while XMPP uses TLS"
			}
			w = append(w, "sip.proxy: "+t+": SIP signalling and digest authentication are not encrypted"+other+
				" (RFC 7081 §7: both aspects should be protected alike); ask the provider for a sips: or transport=tls proxy")
		}
	}
	if f := d.Features; f != nil {
		if f.CallsOverXMPP != nil && d.XMPP == nil {
			w = append(w, "features.calls_over_xmpp: has no effect without an xmpp aspect")
		}
		if f.IMOverSIP != nil && d.SIP == nil {
			w = append(w, "features.im_over_sip: has no effect without a sip aspect")
		}
		if f.CallInfo != nil && *f.CallInfo && (d.XMPP == nil || d.SIP == nil) {
			w = append(w, "features.call_info: has no effect without both aspects (the Call-Info header carries the XMPP address, RFC 6993)")
		}
	}
	return w
}

// plaintextTransport describes how a sip: proxy URI goes unencrypted,
// or returns "" when it requires TLS (sips:, or transport=tls).
func plaintextTransport(proxy string) string {
	var u sip.Uri
	if sip.ParseUri(proxy, &u) != nil || u.Scheme == "sips" {
		return ""
	}
	t, ok := u.UriParams.Get("transport")
	switch t = strings.ToLower(t); {
	case !ok || t == "":
		return "sip: without transport=tls (RFC 3263 may pick UDP)"
	case t == "tls":
		return ""
	default:
		return "transport=" + t
	}
}
