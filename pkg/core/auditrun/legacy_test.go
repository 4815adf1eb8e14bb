package auditrun

import (
	"testing"

	"github.com/cusax/cusax/pkg/core/audit"
	"github.com/cusax/cusax/pkg/core/tlsprobe"
)

// A legacy probe that got an answer (ServerHello, alert, closed) becomes
// a fact; one that learnt nothing (dial failed, timeout) stays unknown, so
// its check is skipped rather than passed.
func TestLegacyFacts(t *testing.T) {
	answered := func(accepted bool, ev string) tlsprobe.LegacyProbe {
		return tlsprobe.LegacyProbe{Answer: tlsprobe.AnswerAlert, Accepted: accepted, Evidence: ev}
	}
	nothing := tlsprobe.LegacyProbe{Evidence: "read answer: no answer within 5s"}

	var tf audit.TLSFacts
	legacyFacts(&tf, &tlsprobe.Legacy{SSL3: answered(true, "ServerHello SSL 3.0"), SSL2: nothing, Compression: nothing})
	if ok, probed := tf.Versions[audit.VersionSSL30]; !ok || !probed || tf.LegacyEvidence[audit.VersionSSL30] != "ServerHello SSL 3.0" {
		t.Errorf("SSL 3.0: %v %v %v", ok, probed, tf.LegacyEvidence)
	}
	if _, probed := tf.Versions[audit.VersionSSL20]; probed {
		t.Error("SSL 2.0 without an answer counted as probed")
	}
	if tf.Compression != audit.Unknown {
		t.Errorf("compression without an answer: %v", tf.Compression)
	}

	tf = audit.TLSFacts{}
	legacyFacts(&tf, &tlsprobe.Legacy{SSL3: answered(false, "a"), SSL2: answered(false, "b"), Compression: answered(false, "c")})
	if len(tf.Versions) != 2 || tf.Versions[audit.VersionSSL30] || tf.Versions[audit.VersionSSL20] || tf.Compression != audit.No {
		t.Errorf("refused: %+v", tf)
	}

	tf = audit.TLSFacts{}
	legacyFacts(&tf, nil) // Quick mode: nothing probed
	if tf.Versions != nil || tf.Compression != audit.Unknown {
		t.Errorf("quick: %+v", tf)
	}
}
