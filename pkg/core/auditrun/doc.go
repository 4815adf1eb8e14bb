// Package auditrun probes the targets of an audit — configured accounts
// (both aspects), service domains found through DNS, and single endpoints
// named as HOST:PORT (EndpointTarget) — and turns what package tlsprobe
// observed into the facts package audit judges (audit.AccountFacts). It
// finds each target's endpoints (the configured server or proxy, DNS SRV
// and NAPTR, or the one endpoint given), resolves every host name once,
// probes each distinct endpoint once, concurrently, and maps each
// tlsprobe.Result field by field. A fact the probe did not observe stays
// Unknown or nil, so the depending check is skipped, never guessed; a
// target none of whose names resolve is the one fact
// AccountFacts.Unresolved, and nothing of it is dialled.
package auditrun
