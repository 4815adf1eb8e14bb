package testbed

// DemoSeed is the data `make demo` shows: alice's roster with a contact for
// each RFC 7081 calling cue: bob (a SIP URI with TYPE=video, mutual
// presence, a XEP-0152 reach address), carol (a phone number only, stored
// as vcard-temp) and dave on another domain (a mobile number).
func DemoSeed(b *Bed) Seed {
	return Seed{
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
}
