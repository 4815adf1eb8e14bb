// Package auditrun probes the two aspects of one configured account and
// turns what package tlsprobe observed into the facts package audit judges
// (audit.AccountFacts). It is the adapter between the two: it finds the
// account's endpoints (the configured server or proxy, else DNS SRV), probes
// them concurrently, and maps each tlsprobe.Result field by field. A fact
// the probe did not observe stays Unknown or nil, so the depending check is
// skipped, never guessed.
//
// Not done yet: the SIP dialog over TLS (an unauthenticated REGISTER and its
// 401/407 digest challenge). EndpointFacts.SIP is left nil, so sip.answers,
// sip.digest-algorithm, sip.digest-qop and cusax.client-auth are skipped.
package auditrun
