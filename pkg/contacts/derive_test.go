package contacts

import (
	"reflect"
	"strings"
	"testing"

	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/pkg/vcardxml"
	"github.com/emersion/go-vcard"
)

func TestDerive(t *testing.T) {
	tests := []struct {
		name          string
		tels          []*vcard.Field
		jid, account  string
		callable      bool
		video         bool
		interDomain   bool
		pstn          bool
		preferredURI  string // "" when nothing is callable
		wantTelsCount int
	}{
		{name: "no vcard", jid: "bob@example.test", account: "example.test"},
		{name: "nothing dialable", tels: []*vcard.Field{tel("ask reception", "TYPE=video")}, jid: "bob@example.test", account: "example.test", wantTelsCount: 1},
		{
			name: "sip uri on the same domain",
			tels: []*vcard.Field{tel("sip:bob@example.test", "TYPE=voice")}, jid: "bob@example.test", account: "example.test",
			callable: true, preferredURI: "sip:bob@example.test", wantTelsCount: 1,
		},
		{
			name: "video on a sip uri",
			tels: []*vcard.Field{tel("sip:bob@example.test", "TYPE=voice|video")}, jid: "bob@example.test", account: "example.test",
			callable: true, video: true, preferredURI: "sip:bob@example.test", wantTelsCount: 1,
		},
		{
			name: "video only on an undialable tel",
			tels: []*vcard.Field{tel("sip:bob@example.test"), tel("video desk", "TYPE=video")}, jid: "bob@example.test", account: "example.test",
			callable: true, preferredURI: "sip:bob@example.test", wantTelsCount: 2,
		},
		{
			name: "sip preferred over a preferred phone number",
			tels: []*vcard.Field{tel("+1 555 0100", "PREF=1"), tel("sip:bob@example.test")}, jid: "bob@example.test", account: "example.test",
			callable: true, preferredURI: "sip:bob@example.test", wantTelsCount: 2,
		},
		{
			// RFC 7081 §5: Bob at biloxi has only his mobile number.
			name: "rfc 7081 §5: phone number of a contact on another domain",
			tels: []*vcard.Field{tel("tel:+1-555-555-0199", "TYPE=cell|voice")}, jid: "bob@biloxi.example.com", account: "atlanta.example.com",
			callable: true, interDomain: true, pstn: true, preferredURI: "tel:+15555550199", wantTelsCount: 1,
		},
		{
			name: "phone number on the same domain",
			tels: []*vcard.Field{tel("+1 555 0100")}, jid: "bob@example.test", account: "example.test",
			callable: true, pstn: true, preferredURI: "tel:+15550100", wantTelsCount: 1,
		},
		{
			name: "sip uri with user=phone is pstn",
			tels: []*vcard.Field{tel("sip:+15550100@example.test;user=phone")}, jid: "bob@example.test", account: "example.test",
			callable: true, pstn: true, preferredURI: "sip:+15550100@example.test;user=phone", wantTelsCount: 1,
		},
		{
			name: "same jid domain, sip uri on another domain",
			tels: []*vcard.Field{tel("sip:bob@biloxi.example.com")}, jid: "bob@atlanta.example.com", account: "atlanta.example.com",
			callable: true, interDomain: true, preferredURI: "sip:bob@biloxi.example.com", wantTelsCount: 1,
		},
		{
			name: "sip host a subdomain of the account domain",
			tels: []*vcard.Field{tel("sip:bob@sip.example.test")}, jid: "bob@example.test", account: "example.test",
			callable: true, preferredURI: "sip:bob@sip.example.test", wantTelsCount: 1,
		},
		{
			name: "look-alike domain is another domain",
			tels: []*vcard.Field{tel("sip:bob@evilexample.test")}, jid: "bob@example.test", account: "example.test",
			callable: true, interDomain: true, preferredURI: "sip:bob@evilexample.test", wantTelsCount: 1,
		},
		{
			name: "account given as a jid, domains differ only in case",
			tels: []*vcard.Field{tel("sip:bob@EXAMPLE.test")}, jid: "Bob@Example.Test", account: "alice@example.TEST/laptop",
			callable: true, preferredURI: "sip:bob@example.test", wantTelsCount: 1,
		},
		{
			name: "no account domain: inter-domain unknown",
			tels: []*vcard.Field{tel("sip:bob@biloxi.example.com")}, jid: "bob@biloxi.example.com",
			callable: true, preferredURI: "sip:bob@biloxi.example.com", wantTelsCount: 1,
		},
		{
			// Issue 14: the rule was one-way; call.go's was symmetric.
			name: "account on a subdomain, contact on the parent domain",
			jid:  "bob@example.test", account: "alice@sip.example.test",
		},
		{
			name: "jid and account differ only in idn form",
			tels: []*vcard.Field{tel("sip:bob@XN--BCHER-KVA.example")}, jid: "bob@bücher.example", account: "alice@BÜCHER.example.",
			callable: true, preferredURI: "sip:bob@xn--bcher-kva.example", wantTelsCount: 1,
		},
		{
			name: "jid on another domain, no tel",
			jid:  "bob@biloxi.example.com", account: "atlanta.example.com", interDomain: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c vcard.Card
			if tt.tels != nil {
				c = vcard.Card{vcard.FieldTelephone: tt.tels}
			}
			got := Derive(c, tt.jid, tt.account)
			if got.Callable != tt.callable || got.Video != tt.video || got.InterDomain != tt.interDomain || got.PSTN != tt.pstn {
				t.Errorf("Derive = callable %v video %v inter-domain %v pstn %v; want %v %v %v %v",
					got.Callable, got.Video, got.InterDomain, got.PSTN, tt.callable, tt.video, tt.interDomain, tt.pstn)
			}
			if len(got.Tels) != tt.wantTelsCount {
				t.Errorf("%d tels, want %d", len(got.Tels), tt.wantTelsCount)
			}
			p, ok := Preferred(got.Tels)
			if ok != (tt.preferredURI != "") || p.URI != tt.preferredURI {
				t.Errorf("Preferred = %q, %v; want %q", p.URI, ok, tt.preferredURI)
			}
		})
	}
}

// End to end with what a real Prosody 0.12 hands out: the XEP-0292 view of
// a vCard stored through vcard-temp has lost its TEL types and carries the
// SIP URI as tel:sip:…; the vcard-temp view keeps the types.
func TestDeriveFromProsody(t *testing.T) {
	x, err := vcardxml.ParseXCard(strings.NewReader(`<vcard xmlns="urn:ietf:params:xml:ns:vcard-4.0"><fn><text>Bob</text></fn><tel><uri>tel:sip:bob@example.test</uri></tel></vcard>`))
	if err != nil {
		t.Fatal(err)
	}
	got := Derive(x, "bob@example.test", "example.test")
	want := Calling{Tels: []Tel{{URI: "sip:bob@example.test", Types: []string{}, Kind: KindSIP}}, Callable: true}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("xep-0292: %+v, want %+v", got, want)
	}
	v, err := vcardxml.ParseVCardTemp(strings.NewReader(`<vCard xmlns="vcard-temp"><TEL><VOICE/><VIDEO/><NUMBER>sip:bob@example.test</NUMBER></TEL></vCard>`))
	if err != nil {
		t.Fatal(err)
	}
	if got := Derive(v, "bob@example.test", "example.test"); !got.Callable || !got.Video {
		t.Errorf("vcard-temp: %+v, want callable with video", got)
	}
	// And through the text protocol.VCard carries.
	text, err := vcardxml.Text(v)
	if err != nil {
		t.Fatal(err)
	}
	back, err := vcardxml.ParseText(text)
	if err != nil {
		t.Fatal(err)
	}
	if got := Derive(back, "bob@example.test", "example.test"); !got.Callable || !got.Video {
		t.Errorf("via text: %+v, want callable with video", got)
	}
}

func TestJudgeReach(t *testing.T) {
	c := vcard.Card{vcard.FieldTelephone: {
		tel("sip:bob@Example.TEST", "VALUE=uri"),
		tel("+1 (555) 555-0100"),
		tel("not a number"),
	}}
	addrs := []protocol.ReachAddress{
		{URI: "sip:bob@example.test", Desc: "desk phone", Source: "pep"},
		{URI: "tel:+1-555-555-0100", Source: "presence"},
		{URI: "sip:bob@attacker.test", Desc: "trust me", Source: "presence"},
		{URI: "sip:Bob@example.test", Source: "pep"}, // the user part is case-sensitive (RFC 3261 §19.1.4)
		{URI: "not a number", Source: "pep"},
		{URI: "xmpp:bob@example.test", Source: "pep"},
		{URI: "sip:bob@example.test\r\nX: y", Source: "pep"},
	}
	want := []Reach{
		{URI: "sip:bob@example.test", Desc: "desk phone", Source: "pep", Verified: true, Why: "confirmed: the contact's vCard lists sip:bob@example.test as a TEL"},
		{URI: "tel:+15555550100", Source: "presence", Verified: true, Why: "confirmed: the contact's vCard lists tel:+15555550100 as a TEL"},
		{URI: "sip:bob@attacker.test", Desc: "trust me", Source: "presence", Why: WhyUnverified},
		{URI: "sip:Bob@example.test", Source: "pep", Why: WhyUnverified},
		{URI: "not a number", Source: "pep", Why: WhyUnverified},
		{URI: "xmpp:bob@example.test", Source: "pep", Why: WhyUnverified},
		{URI: "sip:bob@example.test\r\nX: y", Source: "pep", Why: WhyUnverified},
	}
	if got := JudgeReach(addrs, c); !reflect.DeepEqual(got, want) {
		t.Errorf("JudgeReach:\ngot  %+v\nwant %+v", got, want)
	}
	for _, r := range JudgeReach(addrs, nil) {
		if r.Verified || r.Why != WhyUnverified {
			t.Errorf("without a vCard: %+v", r)
		}
	}
	if got := JudgeReach(nil, c); got == nil || len(got) != 0 {
		t.Errorf("JudgeReach(nil) = %#v, want empty", got)
	}
}
