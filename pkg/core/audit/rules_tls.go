package audit

import (
	"fmt"
	"strings"
)

// TLS rules, per endpoint.

func tlsSSL(t target) result {
	tf := t.ep.TLS
	switch {
	case tf == nil && t.ep.SSLOnly != "":
		return fail("accepted: %s; no TLS handshake", t.ep.SSLOnly)
	case tf == nil:
		return skip("%s", noTLS(t.ep))
	}
	// SSL 3.0 first: it is the one a server may still accept.
	var accepted, refused, unprobed []string
	for _, v := range []uint16{VersionSSL30, VersionSSL20} {
		ok, probed := tf.Versions[v]
		what := VersionName(v)
		if ev := tf.LegacyEvidence[v]; ev != "" {
			what += " (" + ev + ")"
		}
		switch {
		case !probed:
			unprobed = append(unprobed, VersionName(v))
		case ok:
			accepted = append(accepted, what)
		default:
			refused = append(refused, what)
		}
	}
	switch {
	case len(accepted) > 0:
		return fail("accepted: %s", strings.Join(accepted, "; "))
	case len(refused) == 0:
		return skip("SSL 2.0/3.0 not probed")
	}
	ev := "refused: " + strings.Join(refused, "; ")
	if len(unprobed) > 0 {
		ev += "; not probed: " + strings.Join(unprobed, ", ")
	}
	return pass("%s", ev)
}

func versionRefused(v uint16) rule {
	return func(t target) result {
		tf := t.ep.TLS
		if tf == nil {
			return skip("%s", noTLS(t.ep))
		}
		ok, probed := tf.Versions[v]
		switch {
		case !probed:
			return skip("%s not probed", VersionName(v))
		case ok:
			return fail("%s accepted", VersionName(v))
		}
		return pass("%s refused", VersionName(v))
	}
}

func tls13(t target) result {
	tf := t.ep.TLS
	if tf == nil {
		return skip("%s", noTLS(t.ep))
	}
	ok, probed := tf.Versions[VersionTLS13]
	switch {
	case ok || tf.NegotiatedVersion == VersionTLS13:
		return pass("TLS 1.3 accepted")
	case probed:
		return fail("TLS 1.3 refused")
	}
	return skip("TLS 1.3 not probed")
}

func tls13Preferred(t target) result {
	tf := t.ep.TLS
	switch {
	case tf == nil:
		return skip("%s", noTLS(t.ep))
	case tf.NegotiatedVersion == VersionTLS13:
		return pass("TLS 1.3 negotiated")
	case !tf.Versions[VersionTLS13]:
		return skip("TLS 1.3 not accepted (see %s)", CheckTLS13)
	case tf.NegotiatedVersion == 0:
		return skip("no handshake offering all versions")
	}
	return fail("%s negotiated although TLS 1.3 is accepted", VersionName(tf.NegotiatedVersion))
}

func suitesOf(tf *TLSFacts, class SuiteClass) []string {
	var names []string
	for _, s := range tf.Suites {
		if s.class() == class {
			names = append(names, s.Name)
		}
	}
	return names
}

func suitesWithout(class SuiteClass) rule {
	return func(t target) result {
		tf := t.ep.TLS
		switch {
		case tf == nil:
			return skip("%s", noTLS(t.ep))
		case !tf.SuitesProbed:
			return skip("cipher suites not enumerated")
		}
		if bad := suitesOf(tf, class); len(bad) > 0 {
			return fail("accepted: %s", strings.Join(bad, ", "))
		}
		return pass("none accepted")
	}
}

// suitesCBC: RFC 9325 §4.2 allows CBC when encrypt_then_mac is negotiated.
func suitesCBC(t target) result {
	r := suitesWithout(SuiteCBC)(t)
	if r.status == Fail && t.ep.TLS.EncryptThenMAC == Yes {
		return pass("%s, with encrypt_then_mac", r.evidence)
	}
	return r
}

func forwardSecrecy(t target) result {
	tf := t.ep.TLS
	switch {
	case tf == nil:
		return skip("%s", noTLS(t.ep))
	case tf.NegotiatedSuite == "":
		return skip("negotiated suite unknown")
	}
	switch c := ClassifySuite(tf.NegotiatedSuite); {
	case c == "":
		return skip("cannot classify %s", tf.NegotiatedSuite)
	case c == SuiteAEAD || c == SuiteCBC:
		return pass("%s", negotiated(tf))
	default:
		return fail("the server chose %s (%s) over the forward-secret suites offered", tf.NegotiatedSuite, c)
	}
}

// tls12Ext judges a TLS 1.2 ServerHello extension; a server without TLS 1.2
// has nothing to judge.
func tls12Ext(get func(*TLSFacts) Tri, name string) rule {
	return func(t target) result {
		tf := t.ep.TLS
		if tf == nil {
			return skip("%s", noTLS(t.ep))
		}
		if ok, probed := tf.Versions[VersionTLS12]; probed && !ok {
			return skip("TLS 1.2 not accepted")
		}
		switch get(tf) {
		case Yes:
			return pass("%s negotiated", name)
		case No:
			return fail("TLS 1.2 handshake without %s", name)
		}
		return skip("%s not observed (needs a TLS 1.2 handshake)", name)
	}
}

func compression(t target) result {
	tf := t.ep.TLS
	if tf == nil {
		return skip("%s", noTLS(t.ep))
	}
	switch tf.Compression {
	case Yes:
		return fail("the server selected DEFLATE compression%s", quoted(tf.CompressionEvidence))
	case No:
		return pass("DEFLATE offered and not selected%s", quoted(tf.CompressionEvidence))
	}
	return skip("compression not probed")
}

func ticketLifetime(t target) result {
	tf := t.ep.TLS
	if tf == nil {
		return skip("%s", noTLS(t.ep))
	}
	switch {
	case tf.TicketIssued == Unknown:
		return skip("session tickets not probed")
	case tf.TicketIssued == No:
		return pass("no session ticket issued")
	case tf.TicketLifetimeHint == 0:
		return pass("ticket issued without a lifetime hint")
	case tf.TicketLifetimeHint > t.params.MaxTicketLifetime:
		return fail("ticket lifetime hint %s exceeds %s", tf.TicketLifetimeHint, t.params.MaxTicketLifetime)
	}
	return pass("ticket lifetime hint %s", tf.TicketLifetimeHint)
}

// --- certificates ---

func certTrust(t target) result {
	c := t.ep.Cert
	if c == nil {
		return skip("no certificate")
	}
	switch c.Trusted {
	case Yes:
		by := c.AuthenticatedBy
		if by == "" {
			by = "PKIX"
		}
		return pass("authenticated by %s; issuer %s", by, c.Issuer)
	case No:
		return fail("not trusted: %s", orDash(c.TrustError))
	}
	return skip("chain not validated")
}

func certIdentity(t target) result {
	c := t.ep.Cert
	if c == nil {
		return skip("no certificate")
	}
	switch c.IdentityMatched {
	case Yes:
		return pass("names %s (%s)", t.domain, orDash(c.IdentityBy))
	case No:
		return fail("does not name %s: %s", t.domain, orDash(c.IdentityError))
	}
	return skip("identity not checked")
}

const day = 24 * 60 * 60 // seconds

func certValidity(t target) result {
	c := t.ep.Cert
	switch {
	case c == nil:
		return skip("no certificate")
	case c.NotAfter.IsZero() || t.now.IsZero():
		return skip("validity unknown")
	case t.now.Before(c.NotBefore):
		return fail("not valid before %s", c.NotBefore.UTC().Format("2006-01-02 15:04 MST"))
	case t.now.After(c.NotAfter):
		return fail("expired on %s", c.NotAfter.UTC().Format("2006-01-02 15:04 MST"))
	}
	return pass("valid until %s", c.NotAfter.UTC().Format("2006-01-02"))
}

// daysLeft returns the whole days until expiry and whether the expiry
// checks apply (a certificate outside its validity is cert.validity's).
func daysLeft(t target) (int, result, bool) {
	c := t.ep.Cert
	switch {
	case c == nil:
		return 0, skip("no certificate"), false
	case c.NotAfter.IsZero() || t.now.IsZero():
		return 0, skip("validity unknown"), false
	case t.now.Before(c.NotBefore) || t.now.After(c.NotAfter):
		return 0, skip("outside its validity (see %s)", CheckCertValidity), false
	}
	return int(c.NotAfter.Sub(t.now).Seconds()) / day, result{}, true
}

func certExpiresSoon(t target) result {
	d, r, ok := daysLeft(t)
	if !ok {
		return r
	}
	if d < t.params.ExpiryUrgentDays {
		return fail("expires in %d days (%s)", d, t.ep.Cert.NotAfter.UTC().Format("2006-01-02"))
	}
	return pass("expires in %d days", d)
}

func certExpiryWarning(t target) result {
	d, r, ok := daysLeft(t)
	switch {
	case !ok:
		return r
	case d < t.params.ExpiryUrgentDays:
		return skip("within the urgent window (see %s)", CheckCertSoon)
	case d < t.params.ExpiryWarningDays:
		return fail("expires in %d days (%s)", d, t.ep.Cert.NotAfter.UTC().Format("2006-01-02"))
	}
	return pass("expires in %d days", d)
}

func certLifetime(t target) result {
	c := t.ep.Cert
	switch {
	case c == nil:
		return skip("no certificate")
	case c.NotAfter.IsZero() || c.NotBefore.IsZero():
		return skip("validity unknown")
	}
	days := int(c.NotAfter.Sub(c.NotBefore).Seconds()) / day
	if days > t.params.MaxCertificateLifetimeDays {
		return fail("valid for %d days (more than %d)", days, t.params.MaxCertificateLifetimeDays)
	}
	return pass("valid for %d days", days)
}

func keyDesc(c *CertFacts) string { return fmt.Sprintf("%s %d bits", c.KeyAlgorithm, c.KeyBits) }

func certKey(t target) result {
	c := t.ep.Cert
	switch {
	case c == nil:
		return skip("no certificate")
	case c.KeyAlgorithm == "":
		return skip("key unknown")
	}
	switch strings.ToUpper(c.KeyAlgorithm) {
	case "RSA":
		switch {
		case c.KeyBits < 1024:
			return skip("%s (see %s)", keyDesc(c), CheckCertKeyBroken)
		case c.KeyBits < 2048:
			return fail("%s: RFC 9325 §4.5 requires at least 2048", keyDesc(c))
		}
	case "ECDSA":
		if c.KeyBits < 224 {
			return fail("%s: curves under 224 bits MUST NOT be used", keyDesc(c))
		}
	}
	return pass("%s", keyDesc(c))
}

func certKeyBroken(t target) result {
	c := t.ep.Cert
	switch {
	case c == nil:
		return skip("no certificate")
	case c.KeyAlgorithm == "":
		return skip("key unknown")
	case strings.EqualFold(c.KeyAlgorithm, "RSA") && c.KeyBits < 1024:
		return fail("%s: factorable", keyDesc(c))
	}
	return pass("%s", keyDesc(c))
}

func certSig(hash string) rule {
	return func(t target) result {
		c := t.ep.Cert
		switch {
		case c == nil:
			return skip("no certificate")
		case len(c.SignatureAlgorithms) == 0:
			return skip("signature algorithms unknown")
		}
		for i, a := range c.SignatureAlgorithms {
			if strings.Contains(strings.ToUpper(a), hash) {
				what := "leaf"
				if i > 0 {
					what = fmt.Sprintf("chain certificate %d", i+1)
				}
				return fail("%s signed with %s", what, a)
			}
		}
		return pass("%s", strings.Join(c.SignatureAlgorithms, ", "))
	}
}

func certChain(t target) result {
	c := t.ep.Cert
	switch {
	case c == nil:
		return skip("no certificate")
	case c.ChainComplete == No && c.ChainOrdered == No:
		return fail("incomplete and out of order")
	case c.ChainComplete == No:
		return fail("incomplete: an intermediate is missing")
	case c.ChainOrdered == No:
		return fail("out of order")
	case c.ChainComplete == Unknown && c.ChainOrdered == Unknown:
		return skip("chain not analysed")
	}
	return pass("complete and in order")
}

// quoted is ": s", or nothing for an empty s.
func quoted(s string) string {
	if s == "" {
		return ""
	}
	return ": " + s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
