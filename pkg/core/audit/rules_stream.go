package audit

import (
	"slices"
	"strings"
)

// XMPP stream rules (STARTTLS endpoints) and SIP rules.

func xmppOffered(t target) result {
	s := t.ep.Stream
	if s == nil {
		return skip("stream not probed")
	}
	if s.StartTLSOffered {
		return pass("<starttls/> advertised")
	}
	if s.StartTLSAccepted == Yes {
		return fail("<starttls/> not advertised, yet accepted when sent anyway (stripped, or misconfigured)")
	}
	return fail("<starttls/> not advertised")
}

func xmppStartTLS(t target) result {
	s := t.ep.Stream
	if s == nil {
		return skip("stream not probed")
	}
	switch s.StartTLSAccepted {
	case Yes:
		if t.ep.TLS != nil {
			return pass("negotiated %s", negotiated(t.ep.TLS))
		}
		return pass("negotiated")
	case No:
		return fail("%s", noTLS(t.ep))
	}
	return skip("STARTTLS not attempted")
}

func xmppRequired(t target) result {
	s := t.ep.Stream
	switch {
	case s == nil:
		return skip("stream not probed")
	case s.StartTLSRequired:
		return pass("<required/> (TLS is mandatory-to-negotiate)")
	case !s.StartTLSOffered:
		return fail("STARTTLS not advertised, so not required: clients may stay in plaintext")
	}
	return fail("<starttls/> without <required/>: clients may stay in plaintext")
}

func xmppSASLPre(t target) result {
	s := t.ep.Stream
	switch {
	case s == nil:
		return skip("stream not probed")
	case len(s.PreTLSMechanisms) > 0:
		return fail("offered before TLS: %s", strings.Join(s.PreTLSMechanisms, " "))
	}
	return pass("no SASL before TLS")
}

func xmppPlainPre(t target) result {
	s := t.ep.Stream
	if s == nil {
		return skip("stream not probed")
	}
	var bad []string
	for _, m := range s.PreTLSMechanisms {
		if u := strings.ToUpper(m); u == "PLAIN" || u == "LOGIN" {
			bad = append(bad, u)
		}
	}
	if len(bad) > 0 {
		return fail("%s offered before TLS: the password would cross the network in the clear", strings.Join(bad, " and "))
	}
	return pass("no PLAIN or LOGIN before TLS")
}

func xmppMechs(t target) result {
	s := t.ep.Stream
	if s == nil || s.PostTLSMechanisms == nil {
		return skip("no mechanisms after TLS")
	}
	list := strings.Join(s.PostTLSMechanisms, " ")
	strong, legacy := false, []string{}
	for _, m := range s.PostTLSMechanisms {
		u := strings.ToUpper(m)
		switch {
		case strings.HasPrefix(u, "SCRAM-"), u == "EXTERNAL":
			strong = true
		case u == "DIGEST-MD5", u == "CRAM-MD5":
			legacy = append(legacy, u)
		}
	}
	switch {
	case len(legacy) > 0:
		return fail("%s offered (historic: the server stores passwords recoverably); offered: %s", strings.Join(legacy, ", "), list)
	case !strong:
		return fail("no SCRAM or EXTERNAL; offered: %s", list)
	}
	return pass("offered: %s", list)
}

// xmppChannelBinding: a -PLUS mechanism is only as good as a channel
// binding type that works on the negotiated session. RFC 9266: tls-unique
// is undefined for TLS 1.3, and tls-exporter needs TLS 1.3 or extended
// master secret (RFC 7627), as does tls-unique (triple handshake).
func xmppChannelBinding(t target) result {
	s := t.ep.Stream
	if s == nil || s.PostTLSMechanisms == nil || t.ep.TLS == nil {
		return skip("no mechanisms after TLS")
	}
	var plus []string
	for _, m := range s.PostTLSMechanisms {
		if strings.HasSuffix(strings.ToUpper(m), "-PLUS") {
			plus = append(plus, m)
		}
	}
	if len(plus) == 0 {
		return pass("no -PLUS mechanism offered; channel binding not in use")
	}
	v := t.ep.TLS.NegotiatedVersion
	if v == 0 {
		return skip("negotiated version unknown")
	}
	ems := t.ep.TLS.ExtendedMasterSecret == Yes
	types, advertised := s.ChannelBindingTypes, true
	if types == nil {
		// Without XEP-0440, clients try the RFC 5929/RFC 9266 defaults.
		types, advertised = []string{"tls-exporter", "tls-unique"}, false
	}
	var usable []string
	for _, ty := range types {
		switch strings.ToLower(ty) {
		case "tls-server-end-point":
			usable = append(usable, ty)
		case "tls-exporter":
			if v >= VersionTLS13 || ems {
				usable = append(usable, ty)
			}
		case "tls-unique":
			if v <= VersionTLS12 && ems {
				usable = append(usable, ty)
			}
		}
	}
	how := "advertised"
	if !advertised {
		how = "not advertised (XEP-0440); assumed"
	}
	if len(usable) == 0 {
		return fail("%s offered, but no channel binding works on %s without extended master secret (types %s: %s)",
			strings.Join(plus, " "), VersionName(v), how, strings.Join(types, " "))
	}
	return pass("%s with %s", strings.Join(plus, " "), strings.Join(usable, " "))
}

func sipAnswers(t target) result {
	s := t.ep.SIP
	switch {
	case t.ep.TLS == nil:
		return skip("%s", noTLS(t.ep))
	case s == nil || s.Answers == Unknown:
		return skip("SIP not probed")
	case s.Answers == No:
		return fail("TLS works but no SIP response came back")
	}
	return pass("%s", s.Response)
}

func digestChallenges(s *SIPFacts) []Challenge {
	if s == nil {
		return nil
	}
	var out []Challenge
	for _, c := range s.Challenges {
		if strings.EqualFold(c.Scheme, "Digest") {
			out = append(out, c)
		}
	}
	return out
}

func digestAlgorithm(c Challenge) string {
	if c.Algorithm == "" {
		return "MD5" // RFC 2617 §3.2.1: absent means MD5
	}
	return strings.ToUpper(c.Algorithm)
}

func sipDigestAlg(t target) result {
	s := t.ep.SIP
	switch {
	case s == nil || s.Challenges == nil && s.Response == "":
		return skip("no challenge obtained")
	case s.Challenges == nil:
		return skip("no challenge obtained: %s", s.Response)
	case len(s.Challenges) == 0:
		return fail("REGISTER without credentials was not challenged: %s", s.Response)
	}
	var algs []string
	strong := false
	for _, c := range s.Challenges {
		if strings.EqualFold(c.Scheme, "Bearer") {
			algs = append(algs, "Bearer")
			strong = true
			continue
		}
		a := digestAlgorithm(c)
		algs = append(algs, "Digest "+a)
		if strings.HasPrefix(a, "SHA-256") || strings.HasPrefix(a, "SHA-512-256") {
			strong = true
		}
	}
	if !strong {
		return fail("challenge offers only %s", strings.Join(algs, ", "))
	}
	return pass("challenge offers %s", strings.Join(algs, ", "))
}

func sipDigestQOP(t target) result {
	ds := digestChallenges(t.ep.SIP)
	if len(ds) == 0 {
		return skip("no digest challenge obtained")
	}
	for _, c := range ds {
		if !slices.ContainsFunc(c.QOP, func(q string) bool { return strings.HasPrefix(strings.ToLower(q), "auth") }) {
			return fail("Digest %s challenge without qop", digestAlgorithm(c))
		}
	}
	return pass("qop set")
}
