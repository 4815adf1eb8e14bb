package audit

import (
	"fmt"
	"strings"
	"time"
)

// result is a rule's verdict before the profile weighs it.
type result struct {
	status   Status
	evidence string
	// fix replaces the catalogue's fix for a failure that knows the exact
	// setting (cusax.media-encryption names the account).
	fix string
}

func pass(format string, a ...any) result    { return result{Pass, fmt.Sprintf(format, a...), ""} }
func fail(format string, a ...any) result    { return result{Fail, fmt.Sprintf(format, a...), ""} }
func skip(format string, a ...any) result    { return result{Skipped, fmt.Sprintf(format, a...), ""} }
func errored(format string, a ...any) result { return result{Error, fmt.Sprintf(format, a...), ""} }

// target is what an endpoint rule looks at.
type target struct {
	aspect Aspect
	domain string
	ep     EndpointFacts
	params Params
	now    time.Time
}

type rule func(t target) result

// Evaluate applies the profile's checks to one account's facts and returns
// one finding per applicable check, in catalogue order: the discovery and
// endpoint checks of chat, then of telephony, then the cross-aspect checks.
// Checks the profile disables are reported as Skipped. It is a pure
// function: no IO, no clock (certificate windows are judged at
// facts.ObservedAt). The certificate-change check needs history and is
// State.Compare's job.
func Evaluate(facts AccountFacts, p Profile) []Finding {
	var out []Finding
	emit := func(id string, aspect Aspect, endpoint string, r result) {
		c, ok := LookupCheck(id)
		if !ok {
			panic("audit: rule for unknown check " + id) // a programming error, caught by tests
		}
		sev, enabled := p.Severity(id)
		if !enabled {
			r = skip("disabled by profile %s", p.Name)
			if !sev.Valid() {
				sev = Info
			}
		}
		f := Finding{ID: id, Account: facts.Account, Aspect: aspect, Endpoint: endpoint, Severity: sev,
			Status: r.status, Title: c.Title, Evidence: r.evidence, Ref: c.Ref}
		if r.status == Fail {
			f.Fix = c.Fix
			if r.fix != "" {
				f.Fix = r.fix
			}
		}
		f.retitle()
		out = append(out, f)
	}
	if u := facts.Unresolved; u != nil {
		// Nothing was probed: one finding says so, rather than every
		// check repeating "no such host".
		emit(CheckResolve, unresolvedAspect(facts), "dns:"+strings.Join(u.Hosts, ","),
			errored("%s: %s", strings.Join(u.Hosts, ", "), u.Error))
		return out
	}
	for _, a := range []struct {
		aspect Aspect
		facts  AspectFacts
	}{{Chat, facts.Chat}, {Telephony, facts.Telephony}} {
		for _, id := range discoveryChecks[a.aspect] {
			emit(id, a.aspect, "dns:"+a.facts.Domain, discoveryRules[id](a.facts.Discovery))
		}
		for _, ep := range a.facts.Endpoints {
			t := target{aspect: a.aspect, domain: a.facts.Domain, ep: ep, params: p.Params, now: facts.ObservedAt}
			ids := endpointChecks(a.aspect, ep.Transport)
			for i, id := range ids {
				var r result
				switch {
				case ep.Error != "" && i == 0:
					r = errored("probe failed: %s", ep.Error)
				case ep.Error != "":
					// One error per endpoint that could not be probed;
					// the checks that needed it did not run.
					r = skip("not run: the probe of this endpoint failed (see %s)", ids[0])
				default:
					r = endpointRules[id](t)
				}
				emit(id, a.aspect, ep.ID, r)
			}
		}
	}
	for _, id := range crossChecks {
		emit(id, CUSAX, "", crossRules[id](facts))
	}
	emit(CheckCUSAXMedia, CUSAX, "", cusaxMedia(facts))
	return out
}

// unresolvedAspect is the aspect an unresolved target's one finding is
// filed under: the target's only aspect, else cusax (the whole target).
func unresolvedAspect(facts AccountFacts) Aspect {
	switch {
	case facts.Telephony.Domain == "":
		return Chat
	case facts.Chat.Domain == "":
		return Telephony
	}
	return CUSAX
}

// --- discovery ---

var discoveryChecks = map[Aspect][]string{
	Chat:      {CheckDiscXMPP, CheckDiscXMPPTLS},
	Telephony: {CheckDiscSIP, CheckDiscSIPTLS},
}

var discoveryRules = map[string]func(Discovery) result{
	CheckDiscXMPP:    discService,
	CheckDiscSIP:     discService,
	CheckDiscXMPPTLS: discTLS,
	CheckDiscSIPTLS:  discTLS,
}

func discService(d Discovery) result {
	switch {
	case d.Error != "":
		return errored("DNS: %s", d.Error)
	case d.Method == "configured":
		return skip("server configured in the account; DNS not used")
	case d.Method == "endpoint":
		return skip("endpoint named on the command line; DNS not used")
	case d.Method == "srv":
		return pass("%s", strings.Join(d.Records, "; "))
	case d.Method == "fallback":
		return fail("no service records; clients fall back to the domain's address")
	}
	return skip("discovery not run")
}

func discTLS(d Discovery) result {
	switch {
	case d.Error != "":
		return errored("DNS: %s", d.Error)
	case d.Method == "configured":
		return skip("server configured in the account; DNS not used")
	case d.Method == "endpoint":
		return skip("endpoint named on the command line; DNS not used")
	}
	switch d.TLSPublished {
	case Yes:
		return pass("published")
	case No:
		return fail("no TLS-only service record")
	}
	return skip("not looked up")
}

// --- endpoints ---

var (
	streamChecks = []string{CheckXMPPOffered, CheckXMPPStartTLS, CheckXMPPRequired, CheckXMPPSASLPre,
		CheckXMPPPlainPre, CheckXMPPMechs, CheckXMPPCB}
	sipChecks = []string{CheckSIPTLS, CheckSIPAnswers, CheckSIPDigestAlg, CheckSIPDigestQOP}
	tlsChecks = []string{CheckTLSSSL, CheckTLS10, CheckTLS11, CheckTLS13, CheckTLS13Pref, CheckSuitesBroken,
		CheckSuitesRC4, CheckSuites3DES, CheckSuitesNoFS, CheckSuitesCBC, CheckFS, CheckEMS, CheckRenegInfo,
		CheckCompression, CheckTicket}
	certChecks = []string{CheckCertTrust, "", CheckCertValidity, CheckCertSoon, CheckCertWarn, CheckCertLifetime,
		CheckCertKey, CheckCertKeyBroken, CheckCertSig, CheckCertSigMD5, CheckCertChain}
)

// endpointChecks lists the checks for one kind of endpoint, in order.
func endpointChecks(a Aspect, tr Transport) []string {
	var ids []string
	identity := CheckCertIDXMPP
	switch {
	case a == Telephony:
		ids = append(ids, sipChecks...)
		identity = CheckCertIDSIP
	case tr == StartTLS:
		ids = append(ids, streamChecks...)
	default:
		ids = append(ids, CheckXMPPDirect)
	}
	ids = append(ids, tlsChecks...)
	for _, id := range certChecks {
		if id == "" {
			id = identity
		}
		ids = append(ids, id)
	}
	return ids
}

var endpointRules = map[string]rule{
	CheckXMPPOffered:   xmppOffered,
	CheckXMPPStartTLS:  xmppStartTLS,
	CheckXMPPRequired:  xmppRequired,
	CheckXMPPSASLPre:   xmppSASLPre,
	CheckXMPPPlainPre:  xmppPlainPre,
	CheckXMPPMechs:     xmppMechs,
	CheckXMPPCB:        xmppChannelBinding,
	CheckXMPPDirect:    tlsEstablished,
	CheckSIPTLS:        tlsEstablished,
	CheckSIPAnswers:    sipAnswers,
	CheckSIPDigestAlg:  sipDigestAlg,
	CheckSIPDigestQOP:  sipDigestQOP,
	CheckTLSSSL:        tlsSSL,
	CheckTLS10:         versionRefused(VersionTLS10),
	CheckTLS11:         versionRefused(VersionTLS11),
	CheckTLS13:         tls13,
	CheckTLS13Pref:     tls13Preferred,
	CheckSuitesBroken:  suitesWithout(SuiteBroken),
	CheckSuitesRC4:     suitesWithout(SuiteRC4),
	CheckSuites3DES:    suitesWithout(Suite3DES),
	CheckSuitesNoFS:    suitesWithout(SuiteNoFS),
	CheckSuitesCBC:     suitesCBC,
	CheckFS:            forwardSecrecy,
	CheckEMS:           tls12Ext(func(t *TLSFacts) Tri { return t.ExtendedMasterSecret }, "extended_master_secret"),
	CheckRenegInfo:     tls12Ext(func(t *TLSFacts) Tri { return t.RenegotiationInfo }, "renegotiation_info"),
	CheckCompression:   compression,
	CheckTicket:        ticketLifetime,
	CheckCertTrust:     certTrust,
	CheckCertIDXMPP:    certIdentity,
	CheckCertIDSIP:     certIdentity,
	CheckCertValidity:  certValidity,
	CheckCertSoon:      certExpiresSoon,
	CheckCertWarn:      certExpiryWarning,
	CheckCertLifetime:  certLifetime,
	CheckCertKey:       certKey,
	CheckCertKeyBroken: certKeyBroken,
	CheckCertSig:       certSig("SHA1"),
	CheckCertSigMD5:    certSig("MD5"),
	CheckCertChain:     certChain,
}

func negotiated(t *TLSFacts) string {
	if t.NegotiatedSuite == "" {
		return VersionName(t.NegotiatedVersion)
	}
	return VersionName(t.NegotiatedVersion) + " " + t.NegotiatedSuite
}

func noTLS(ep EndpointFacts) string {
	if ep.NoTLS != "" {
		return "no TLS: " + ep.NoTLS
	}
	return "no TLS session"
}

// tlsEstablished: direct TLS (XEP-0368) or SIP over TLS gave a session.
func tlsEstablished(t target) result {
	if t.ep.TLS == nil {
		return fail("%s", noTLS(t.ep))
	}
	return pass("%s", negotiated(t.ep.TLS))
}
