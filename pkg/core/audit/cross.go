package audit

import (
	"fmt"
	"strings"
)

// Cross-aspect checks. RFC 7081 §7: "if both protocols are not safeguarded
// by similar levels of cryptographic protection, the user must be informed
// of that fact"; §3.2 names different TLS ciphersuites as the typical
// difference. Each aspect is reduced to a protection summary and the two
// are compared. Where both aspects are equally bad, the cross check passes:
// the per-aspect checks already report it, and RFC 7081 §7 is about the
// user believing one aspect's protection covers both.

var crossChecks = []string{CheckCUSAXEnc, CheckCUSAXPlain, CheckCUSAXVersions, CheckCUSAXSuites, CheckCUSAXSrvAuth, CheckCUSAXCliAuth}

var crossRules = map[string]func(AccountFacts) result{
	CheckCUSAXEnc:      crossRule(cusaxEncryption),
	CheckCUSAXPlain:    crossRule(cusaxPlaintext),
	CheckCUSAXVersions: crossRule(cusaxVersions),
	CheckCUSAXSuites:   crossRule(cusaxSuites),
	CheckCUSAXSrvAuth:  crossRule(cusaxServerAuth),
	CheckCUSAXCliAuth:  crossRule(cusaxClientAuth),
}

// protection summarises one aspect.
type protection struct {
	name      string // "Chat", "Telephony"
	encrypted bool
	// plaintext: a client can use the aspect without TLS.
	plaintext bool
	why       string // why plaintext (or why not encrypted)
	// minV, maxV: lowest and highest accepted TLS version over endpoints.
	minV, maxV uint16
	// weakest: the weakest suite class accepted (or negotiated, when the
	// suites were not enumerated); best: the weakest class among the
	// negotiated suites, i.e. what a correct client gets.
	weakest, best SuiteClass
	// auth: Yes if every TLS endpoint's certificate was trusted and named
	// the domain, No if any was not, Unknown otherwise.
	auth   Tri
	authBy string
	// clientRank and clientDesc: the strongest client authentication on
	// offer (0 unknown).
	clientRank int
	clientDesc string
}

// mode is none, opportunistic or required.
func (p protection) mode() string {
	switch {
	case !p.encrypted:
		return "none"
	case p.plaintext:
		return "opportunistic"
	}
	return "required"
}

func crossRule(f func(c, t protection) result) func(AccountFacts) result {
	return func(facts AccountFacts) result {
		// A target with one aspect (an endpoint) has nothing to compare,
		// even when its probe failed.
		if len(facts.Chat.Endpoints) == 0 || len(facts.Telephony.Endpoints) == 0 {
			return skip("both aspects are needed")
		}
		c, cerr := summarise("Chat", facts.Chat)
		t, terr := summarise("Telephony", facts.Telephony)
		for _, e := range []string{cerr, terr} {
			if e != "" {
				// That endpoint's own error already makes the audit
				// incomplete; one error per unprobed endpoint is enough.
				return skip("not run: %s", e)
			}
		}
		return f(c, t)
	}
}

func summarise(name string, a AspectFacts) (protection, string) {
	p := protection{name: name, auth: Unknown}
	authSeen, authFail := 0, false
	var reasons []string
	for _, ep := range a.Endpoints {
		if ep.Error != "" {
			return p, fmt.Sprintf("%s endpoint %s could not be probed: %s", name, ep.ID, ep.Error)
		}
		if s := ep.Stream; s != nil {
			if !s.StartTLSRequired || s.StartTLSAccepted == No {
				p.plaintext = true
				reasons = append(reasons, "STARTTLS not required on "+ep.ID)
			}
			if r, d := xmppClientRank(s.PostTLSMechanisms); r > p.clientRank {
				p.clientRank, p.clientDesc = r, d
			}
		}
		if ep.SIP != nil {
			if r, d := sipClientRank(ep.SIP.Challenges); r > p.clientRank {
				p.clientRank, p.clientDesc = r, d
			}
		}
		tf := ep.TLS
		if tf == nil {
			continue
		}
		p.encrypted = true
		for v, ok := range tf.Versions {
			if ok && v >= VersionTLS10 {
				p.addVersion(v)
			}
		}
		p.addVersion(tf.NegotiatedVersion)
		if c := ClassifySuite(tf.NegotiatedSuite); c != "" {
			p.best = weaker(p.best, c)
			p.weakest = weaker(p.weakest, c)
		}
		if tf.SuitesProbed {
			for _, s := range tf.Suites {
				if c := s.class(); c != "" {
					p.weakest = weaker(p.weakest, c)
				}
			}
		}
		if c := ep.Cert; c != nil {
			switch {
			case c.Trusted == No || c.IdentityMatched == No:
				authFail = true
				p.authBy = "failed on " + ep.ID
			case c.Trusted == Yes && c.IdentityMatched == Yes:
				authSeen++
				if p.authBy == "" {
					p.authBy = c.AuthenticatedBy
					if p.authBy == "" {
						p.authBy = "PKIX"
					}
				}
			}
		}
	}
	switch {
	case authFail:
		p.auth = No
	case authSeen > 0:
		p.auth = Yes
	}
	if len(a.PlaintextTransports) > 0 {
		p.plaintext = true
		reasons = append(reasons, "answers without TLS on "+strings.Join(a.PlaintextTransports, ", "))
	}
	if !p.encrypted {
		reasons = append(reasons, "no TLS endpoint")
	}
	p.why = strings.Join(reasons, "; ")
	return p, ""
}

func (p *protection) addVersion(v uint16) {
	if v == 0 {
		return
	}
	if p.minV == 0 || v < p.minV {
		p.minV = v
	}
	if v > p.maxV {
		p.maxV = v
	}
}

func weaker(a, b SuiteClass) SuiteClass {
	if a == "" || b.Rank() < a.Rank() {
		return b
	}
	return a
}

func (p protection) describe() string {
	if p.why == "" {
		return fmt.Sprintf("%s: %s", p.name, p.mode())
	}
	return fmt.Sprintf("%s: %s (%s)", p.name, p.mode(), p.why)
}

func cusaxEncryption(c, t protection) result {
	if c.encrypted != t.encrypted {
		return fail("%s; %s: one aspect is protected, the other is not", c.describe(), t.describe())
	}
	if !c.encrypted {
		return pass("neither aspect is encrypted (see xmpp.starttls and sip.tls)")
	}
	return pass("both encrypted")
}

func cusaxPlaintext(c, t protection) result {
	cm, tm := c.mode(), t.mode()
	if (cm == "required" && tm == "opportunistic") || (tm == "required" && cm == "opportunistic") {
		return fail("%s; %s", c.describe(), t.describe())
	}
	return pass("%s; %s", c.describe(), t.describe())
}

func cusaxVersions(c, t protection) result {
	if !c.encrypted || !t.encrypted {
		return skip("both aspects must be encrypted (see %s)", CheckCUSAXEnc)
	}
	if c.maxV == 0 || t.maxV == 0 {
		return skip("versions unknown")
	}
	ev := fmt.Sprintf("Chat %s; Telephony %s", versionRange(c), versionRange(t))
	if c.minV != t.minV || c.maxV != t.maxV {
		return fail("%s", ev)
	}
	return pass("%s", ev)
}

func versionRange(p protection) string {
	if p.minV == p.maxV {
		return VersionName(p.maxV)
	}
	return VersionName(p.minV) + "–" + VersionName(p.maxV)
}

func cusaxSuites(c, t protection) result {
	if !c.encrypted || !t.encrypted {
		return skip("both aspects must be encrypted (see %s)", CheckCUSAXEnc)
	}
	if c.weakest == "" || t.weakest == "" {
		return skip("suite classes unknown")
	}
	ev := fmt.Sprintf("Chat negotiates %s, accepts down to %s; Telephony negotiates %s, accepts down to %s",
		orDash(string(c.best)), c.weakest, orDash(string(t.best)), t.weakest)
	if c.weakest != t.weakest || c.best != t.best {
		return fail("%s", ev)
	}
	return pass("%s", ev)
}

func cusaxServerAuth(c, t protection) result {
	if !c.encrypted || !t.encrypted {
		return skip("both aspects must be encrypted (see %s)", CheckCUSAXEnc)
	}
	if c.auth == Unknown || t.auth == Unknown {
		return skip("server authentication not checked on both aspects")
	}
	ev := fmt.Sprintf("Chat: %s; Telephony: %s", authDesc(c), authDesc(t))
	if c.auth != t.auth {
		return fail("%s", ev)
	}
	return pass("%s", ev)
}

func authDesc(p protection) string {
	if p.auth == Yes {
		return "authenticated by " + p.authBy
	}
	return "not authenticated (" + p.authBy + ")"
}

// Client-authentication ranks, from the research report §4.6: 1 password
// exposed to the server or MD5-based; 2 SCRAM-SHA-1 or SIP digest SHA-2
// (RFC 8760); 3 SCRAM-SHA-256 or bearer tokens; 4 SCRAM with channel
// binding; 5 certificates (SASL EXTERNAL). A gap of two ranks or more is a
// finding (e.g. SCRAM-SHA-256 against digest MD5, the example of RFC 7081
// §7); a gap of one is "similar".
func xmppClientRank(mechs []string) (int, string) {
	best, desc := 0, ""
	for _, m := range mechs {
		u := strings.ToUpper(m)
		r := 0
		switch {
		case u == "EXTERNAL":
			r = 5
		case strings.HasPrefix(u, "SCRAM-") && strings.HasSuffix(u, "-PLUS"):
			r = 4
		case u == "SCRAM-SHA-256", u == "SCRAM-SHA-512", u == "OAUTHBEARER":
			r = 3
		case u == "SCRAM-SHA-1":
			r = 2
		case u == "PLAIN", u == "LOGIN", u == "DIGEST-MD5", u == "CRAM-MD5":
			r = 1
		}
		if r > best {
			best, desc = r, u
		}
	}
	return best, desc
}

func sipClientRank(chs []Challenge) (int, string) {
	best, desc := 0, ""
	for _, c := range chs {
		r, d := 0, ""
		if strings.EqualFold(c.Scheme, "Bearer") {
			r, d = 3, "Bearer"
		} else if strings.EqualFold(c.Scheme, "Digest") {
			a := digestAlgorithm(c)
			d = "Digest " + a
			switch {
			case strings.HasPrefix(a, "SHA-256"), strings.HasPrefix(a, "SHA-512-256"):
				r = 2
			case strings.HasPrefix(a, "MD5"):
				r = 1
			}
		}
		if r > best {
			best, desc = r, d
		}
	}
	return best, desc
}

func cusaxClientAuth(c, t protection) result {
	if c.clientRank == 0 || t.clientRank == 0 {
		return skip("client authentication not observed on both aspects")
	}
	ev := fmt.Sprintf("Chat: %s (rank %d); Telephony: %s (rank %d)", c.clientDesc, c.clientRank, t.clientDesc, t.clientRank)
	if d := c.clientRank - t.clientRank; d >= 2 || d <= -2 {
		return fail("%s", ev)
	}
	return pass("%s", ev)
}
