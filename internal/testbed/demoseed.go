package testbed

import "strings"

// DemoSeed is the data `make demo` shows: alice's roster with a contact for
// each RFC 7081 calling cue: bob (a SIP URI with TYPE=video, mutual
// presence, a XEP-0152 reach address), carol (a phone number only, stored
// as vcard-temp) and dave on another domain (a mobile number).
//
// A non-empty callee (a SIP user of Domain, such as the one cusax-testbed
// up --callee answers for with baresip) is added too, as DemoCalleeName(callee)
// in group Team with a vCard TEL sip:CALLEE@Domain, so that
// `cusax call <name>` reaches it.
func DemoSeed(b *Bed, callee string) Seed {
	s := Seed{
		Rosters: map[string][]Contact{"alice": {
			{JID: "bob@" + b.Domain, Name: "Bob", Groups: []string{"Team"}, Mutual: true},
			{JID: "carol@" + b.Domain, Name: "Carol", Groups: []string{"Team"}},
			{JID: "dave@" + b.Domain2, Name: "Dave (Biloxi)"},
		}},
		VCard4: map[string]string{
			"bob": `<vcard xmlns='urn:ietf:params:xml:ns:vcard-4.0'><fn><text>Bob</text></fn>` +
				`<tel><parameters><type><text>voice</text><text>video</text></type></parameters><uri>sip:bob@` + b.Domain + `</uri></tel></vcard>`,
			"dave": `<vcard xmlns='urn:ietf:params:xml:ns:vcard-4.0'><fn><text>Dave</text></fn>` +
				`<tel><parameters><type><text>cell</text></type></parameters><uri>tel:+1-228-555-0142</uri></tel></vcard>`,
		},
		VCardTemp: map[string]string{
			"carol": `<vCard xmlns='vcard-temp'><FN>Carol</FN><TEL><WORK/><NUMBER>+1 555 0100</NUMBER></TEL></vCard>`,
		},
		Reach: map[string][]string{"bob": {"sip:bob@" + b.Domain}},
	}
	if callee != "" {
		name := DemoCalleeName(callee)
		s.Rosters["alice"] = append(s.Rosters["alice"], Contact{JID: callee + "@" + b.Domain, Name: name, Groups: []string{"Team"}})
		s.VCard4[callee] = `<vcard xmlns='urn:ietf:params:xml:ns:vcard-4.0'><fn><text>` + name + `</text></fn>` +
			`<tel><parameters><type><text>voice</text></type></parameters><uri>sip:` + callee + `@` + b.Domain + `</uri></tel></vcard>`
	}
	return s
}

// DemoCalleeName is the roster name DemoSeed gives a callee user: its name with
// the first letter in upper case ("frank" → "Frank"). User names are ASCII.
func DemoCalleeName(user string) string {
	if user == "" {
		return ""
	}
	return strings.ToUpper(user[:1]) + user[1:]
}
