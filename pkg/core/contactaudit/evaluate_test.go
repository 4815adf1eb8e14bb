package contactaudit

import (
	"strings"
	"testing"

	"github.com/cusax/cusax/pkg/contacts"
	"github.com/cusax/cusax/pkg/core/audit"
	"github.com/cusax/cusax/pkg/protocol"
)

func sipTel(uri string, types ...string) contacts.Tel {
	if types == nil {
		types = []string{}
	}
	return contacts.Tel{URI: uri, Kind: contacts.KindSIP, Types: types}
}

func answered(uri string, code int, media ...string) Probe {
	r := &protocol.OptionsResult{StatusCode: code, Reason: "R"}
	if media != nil {
		r.Media = media
	}
	return Probe{URI: uri, Result: r}
}

func find(t *testing.T, fs []audit.Finding, id, subject string) audit.Finding {
	t.Helper()
	for _, f := range fs {
		if f.ID == id && f.Endpoint == subject {
			return f
		}
	}
	t.Fatalf("no finding %s for %q in %+v", id, subject, fs)
	return audit.Finding{}
}

func TestEvaluateContact(t *testing.T) {
	bob := "sip:bob@example.test"
	for _, tc := range []struct {
		name    string
		c       ContactFacts
		telErr  string
		id      string
		want    audit.Status
		evWants string
	}{
		{"vcard missing", ContactFacts{JID: "c@x"}, "", CheckVCard, audit.Fail, "no vCard"},
		{"vcard error", ContactFacts{JID: "c@x", VCard: VCardFacts{Error: "timeout"}}, "", CheckVCard, audit.Error, "timeout"},
		{"no sip uri", ContactFacts{JID: "c@x", VCard: VCardFacts{Present: true, Tels: []contacts.Tel{{URI: "tel:+123", Kind: contacts.KindPhone}}}}, "", CheckSIPURI, audit.Fail, "tel:+123"},
		{"sip uri", ContactFacts{JID: "c@x", VCard: VCardFacts{Present: true, Tels: []contacts.Tel{sipTel(bob)}}}, "", CheckSIPURI, audit.Pass, bob},
		{"404 unknown", ContactFacts{JID: "c@x", VCard: VCardFacts{Present: true, Tels: []contacts.Tel{sipTel(bob)}}, Probes: []Probe{answered(bob, 404)}}, "", CheckSIPKnown, audit.Fail, "unknown user"},
		{"604 unknown", ContactFacts{JID: "c@x", VCard: VCardFacts{Present: true, Tels: []contacts.Tel{sipTel(bob)}}, Probes: []Probe{answered(bob, 604)}}, "", CheckSIPKnown, audit.Fail, "unknown user"},
		{"480 known not registered", ContactFacts{JID: "c@x", VCard: VCardFacts{Present: true, Tels: []contacts.Tel{sipTel(bob)}}, Probes: []Probe{answered(bob, 480)}}, "", CheckSIPKnown, audit.Pass, "known, not registered"},
		{"200 reachable", ContactFacts{JID: "c@x", VCard: VCardFacts{Present: true, Tels: []contacts.Tel{sipTel(bob)}}, Probes: []Probe{answered(bob, 200)}}, "", CheckSIPKnown, audit.Pass, "reachable"},
		{"403 other final reachable", ContactFacts{JID: "c@x", VCard: VCardFacts{Present: true, Tels: []contacts.Tel{sipTel(bob)}}, Probes: []Probe{answered(bob, 403)}}, "", CheckSIPKnown, audit.Pass, "reachable"},
		{"probe error", ContactFacts{JID: "c@x", VCard: VCardFacts{Present: true, Tels: []contacts.Tel{sipTel(bob)}}, Probes: []Probe{{URI: bob, Error: "timeout"}}}, "", CheckSIPKnown, audit.Error, "timeout"},
		{"no telephony", ContactFacts{JID: "c@x", VCard: VCardFacts{Present: true, Tels: []contacts.Tel{sipTel(bob)}}}, "no SIP aspect", CheckSIPKnown, audit.Error, "no SIP aspect"},
		{"video on voice-only line", ContactFacts{JID: "c@x", VCard: VCardFacts{Present: true, Tels: []contacts.Tel{sipTel(bob, "video")}}, Probes: []Probe{answered(bob, 200, "audio")}}, "", CheckVideo, audit.Fail, "offers audio only"},
		{"video confirmed", ContactFacts{JID: "c@x", VCard: VCardFacts{Present: true, Tels: []contacts.Tel{sipTel(bob, "video")}}, Probes: []Probe{answered(bob, 200, "audio", "video")}}, "", CheckVideo, audit.Pass, "offers video"},
		{"video unknown without sdp", ContactFacts{JID: "c@x", VCard: VCardFacts{Present: true, Tels: []contacts.Tel{sipTel(bob, "video")}}, Probes: []Probe{answered(bob, 480)}}, "", CheckVideo, audit.Skipped, "unknown"},
		{"video works unadvertised", ContactFacts{JID: "c@x", VCard: VCardFacts{Present: true, Source: "xep-0292", Tels: []contacts.Tel{sipTel(bob)}}, Probes: []Probe{answered(bob, 200, "audio", "video")}}, "", CheckVideo, audit.Fail, "no TYPE=video"},
		{"voice only no claim", ContactFacts{JID: "c@x", VCard: VCardFacts{Present: true, Tels: []contacts.Tel{sipTel(bob)}}, Probes: []Probe{answered(bob, 200, "audio")}}, "", CheckVideo, audit.Pass, "no TYPE=video"},
		{"reach unverified", ContactFacts{JID: "c@x", VCard: VCardFacts{Present: true}, Reach: []contacts.Reach{{URI: bob, Why: contacts.WhyUnverified}}}, "", CheckReach, audit.Fail, bob},
		{"reach verified", ContactFacts{JID: "c@x", VCard: VCardFacts{Present: true}, Reach: []contacts.Reach{{URI: bob, Verified: true}}}, "", CheckReach, audit.Pass, bob},
		{"reach none", ContactFacts{JID: "c@x", VCard: VCardFacts{Present: true}}, "", CheckReach, audit.Skipped, "no XEP-0152"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := Evaluate(Facts{Account: "a", AOR: "sip:a@example.test", Own: VCardFacts{Present: true}, Contacts: []ContactFacts{tc.c}, TelephonyError: tc.telErr})
			f := find(t, fs, tc.id, "c@x")
			if f.Status != tc.want || !strings.Contains(f.Evidence, tc.evWants) {
				t.Errorf("%s: %s %q, want %s containing %q", tc.id, f.Status, f.Evidence, tc.want, tc.evWants)
			}
			if f.Account != "a" || f.Ref == "" || !f.Severity.Valid() {
				t.Errorf("incomplete finding %+v", f)
			}
			if (f.Status == audit.Fail) != (f.Fix != "") {
				t.Errorf("fix %q with status %s: a fix goes with a failure only", f.Fix, f.Status)
			}
		})
	}
}

func TestEvaluateOwnAOR(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    Facts
		want audit.Status
	}{
		{"listed", Facts{AOR: "sip:alice@Example.test", Own: VCardFacts{Present: true, Tels: []contacts.Tel{sipTel("sip:alice@example.test")}}}, audit.Pass},
		{"listed as sips", Facts{AOR: "sip:alice@example.test", Own: VCardFacts{Present: true, Tels: []contacts.Tel{sipTel("sips:alice@example.test")}}}, audit.Pass},
		{"another AOR", Facts{AOR: "sip:alice@example.test", Own: VCardFacts{Present: true, Tels: []contacts.Tel{sipTel("sip:alice2@example.test")}}}, audit.Fail},
		{"no vcard", Facts{AOR: "sip:alice@example.test"}, audit.Fail},
		{"vcard error", Facts{AOR: "sip:alice@example.test", Own: VCardFacts{Error: "x"}}, audit.Error},
		{"no sip aspect", Facts{Own: VCardFacts{Present: true}}, audit.Skipped},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := find(t, Evaluate(tc.f), CheckOwnAOR, "")
			if f.Status != tc.want {
				t.Errorf("status %s (%s), want %s", f.Status, f.Evidence, tc.want)
			}
		})
	}
}

// A Chat aspect that cannot be opened makes every check an error: an
// audit that saw nothing never reports a pass.
func TestEvaluateChatErrorNeverPasses(t *testing.T) {
	fs := Evaluate(Facts{Account: "a", ChatError: "auth failed"})
	if len(fs) != len(Checks()) {
		t.Fatalf("%d findings, want one per check", len(fs))
	}
	for _, f := range fs {
		if f.Status != audit.Error {
			t.Errorf("%s: %s, want error", f.ID, f.Status)
		}
	}
	if audit.ExitCode(fs, audit.Medium, audit.High) != audit.ExitUnknown {
		t.Error("an unopened account must exit UNKNOWN")
	}
}
