package tlsprobe

import (
	"context"
	"crypto/tls"
	"fmt"
	"slices"
)

type suiteInfo struct {
	ID       uint16
	Name     string
	Insecure bool
}

// suiteList is every TLS ≤ 1.2 suite crypto/tls implements, the insecure
// ones included (RFC 9325 §4.1: they are what the audit looks for).
func suiteList() []suiteInfo {
	var out []suiteInfo
	add := func(list []*tls.CipherSuite, insecure bool) {
		for _, s := range list {
			if slices.ContainsFunc(s.SupportedVersions, func(v uint16) bool { return v <= tls.VersionTLS12 }) {
				out = append(out, suiteInfo{s.ID, s.Name, insecure})
			}
		}
	}
	add(tls.CipherSuites(), false)
	add(tls.InsecureCipherSuites(), true)
	return out
}

func allSuites12() []uint16 {
	list := suiteList()
	out := make([]uint16, len(list))
	for i, s := range list {
		out[i] = s.ID
	}
	return out
}

// preference offers the suites accepted at the highest TLS ≤ 1.2 version in
// Go's order, then the same ClientHello with the list reversed on the wire
// (crypto/tls ignores the order of Config.CipherSuites, so the rewrite is
// the only way to vary it). A server that picks the same suite both times
// applies its own order.
func (p *prober) preference(ctx context.Context, versions []VersionProbe, scan *SuiteScan) *Preference {
	v := maxAccepted12(versions)
	if v == 0 {
		return nil
	}
	var ids []uint16
	for _, s := range scan.Probes {
		if s.Accepted && s.Version == tls.VersionName(v) {
			ids = append(ids, s.ID)
		}
	}
	pref := &Preference{Order: "n/a", Version: tls.VersionName(v)}
	if len(ids) < 2 {
		pref.Evidence = fmt.Sprintf("%d suite(s) accepted at %s: no order to test", len(ids), pref.Version)
		return pref
	}
	var fwd, rev outcome
	p.parallel(ctx, 2, func(i int) {
		o := p.handshake(ctx, probeConfig{min: v, max: v, suites: ids, reverse: i == 1})
		if i == 0 {
			fwd = o
		} else {
			rev = o
		}
	})
	pref.Offered, pref.OfferedReversed = names(fwd.offered), names(rev.offered)
	if fwd.hello == nil || rev.hello == nil || len(fwd.offered) < 2 || len(rev.offered) < 2 {
		pref.Order = "unknown"
		pref.Evidence = fmt.Sprintf("no ServerHello read: %s / %s", fwd.evidence(), rev.evidence())
		return pref
	}
	a, b := fwd.hello.suite, rev.hello.suite
	pref.Preferred, pref.ChosenReversed = tls.CipherSuiteName(a), tls.CipherSuiteName(b)
	switch {
	case a == b:
		pref.Order = "server"
	case a == fwd.offered[0] && b == rev.offered[0]:
		pref.Order = "client"
	default:
		pref.Order = "unknown"
	}
	pref.Evidence = fmt.Sprintf("offered %s first: server chose %s; offered %s first: server chose %s",
		pref.Offered[0], pref.Preferred, pref.OfferedReversed[0], pref.ChosenReversed)
	return pref
}

func names(ids []uint16) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = tls.CipherSuiteName(id)
	}
	return out
}
