package audit

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

func goodTLS() *TLSFacts {
	return &TLSFacts{
		Versions:          map[uint16]bool{VersionSSL30: false, VersionTLS10: false, VersionTLS11: false, VersionTLS12: true, VersionTLS13: true},
		NegotiatedVersion: VersionTLS13, NegotiatedSuite: "TLS_AES_128_GCM_SHA256",
		Suites:       []Suite{{Name: "TLS_AES_128_GCM_SHA256"}, {Name: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"}},
		SuitesProbed: true, ExtendedMasterSecret: Yes, RenegotiationInfo: Yes, Compression: No,
		TicketIssued: Yes, TicketLifetimeHint: 2 * time.Hour,
	}
}

func goodCert(sha string) *CertFacts {
	return &CertFacts{
		LeafSHA256: sha, SPKISHA256: "spki-" + sha, Subject: "CN=example.com", Issuer: "CN=Test CA",
		NotBefore: now.AddDate(0, 0, -30), NotAfter: now.AddDate(0, 0, 60),
		KeyAlgorithm: "RSA", KeyBits: 2048, SignatureAlgorithms: []string{"SHA256-RSA"},
		Trusted: Yes, AuthenticatedBy: "PKIX", IdentityMatched: Yes, IdentityBy: "DNS-ID",
		ChainComplete: Yes, ChainOrdered: Yes,
	}
}

// good is an account on which every check passes.
func good() AccountFacts {
	return AccountFacts{
		Account: "alice", ObservedAt: now,
		Chat: AspectFacts{
			Domain:    "example.com",
			Discovery: Discovery{Method: "srv", Records: []string{"_xmpp-client._tcp.example.com. SRV 5 0 5222 xmpp.example.com."}, TLSPublished: Yes},
			Endpoints: []EndpointFacts{
				{ID: "xmpp-starttls:xmpp.example.com:5222", Transport: StartTLS, Host: "xmpp.example.com", Port: 5222,
					TLS: goodTLS(), Cert: goodCert("c1"),
					Stream: &StreamFacts{StartTLSOffered: true, StartTLSRequired: true, StartTLSAccepted: Yes,
						PostTLSMechanisms: []string{"SCRAM-SHA-256", "SCRAM-SHA-1"}}},
				{ID: "xmpp-direct:xmpp.example.com:5223", Transport: DirectTLS, Host: "xmpp.example.com", Port: 5223,
					TLS: goodTLS(), Cert: goodCert("c1")},
			},
		},
		Telephony: AspectFacts{
			Domain:    "example.com",
			Discovery: Discovery{Method: "srv", Records: []string{"_sips._tcp.example.com. SRV 0 0 5061 sip.example.com."}, TLSPublished: Yes},
			Endpoints: []EndpointFacts{
				{ID: "sip-tls:sip.example.com:5061", Transport: DirectTLS, Host: "sip.example.com", Port: 5061,
					TLS: goodTLS(), Cert: goodCert("s1"),
					SIP: &SIPFacts{Answers: Yes, Response: "SIP/2.0 401 Unauthorized", Challenges: []Challenge{
						{Scheme: "Digest", Algorithm: "SHA-256", QOP: []string{"auth"}},
						{Scheme: "Digest", Algorithm: "MD5", QOP: []string{"auth"}},
					}}},
			},
		},
		Media: &MediaFacts{SIPTransport: "tls", Backend: "sip", BackendSRTP: Yes},
	}
}

func bcp195(t *testing.T) Profile {
	t.Helper()
	p, err := BuiltinProfile(DefaultProfile)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func ids(fs []Finding, st Status) []string {
	set := map[string]bool{}
	for _, f := range fs {
		if f.Status == st {
			set[f.ID] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}

func TestEvaluateClean(t *testing.T) {
	fs := Evaluate(good(), bcp195(t))
	if got := ids(fs, Fail); len(got) > 0 {
		t.Errorf("failed on a clean account: %v", got)
	}
	if got := ids(fs, Error); len(got) > 0 {
		t.Errorf("errored on a clean account: %v", got)
	}
	if got := ids(fs, Skipped); len(got) > 0 {
		t.Errorf("skipped on a fully probed account: %v", got)
	}
	seen := map[string]bool{}
	for _, f := range fs {
		seen[f.ID] = true
		if f.Account != "alice" || f.Title == "" || f.Ref == "" || !f.Severity.Valid() || f.Fix != "" {
			t.Errorf("malformed finding %+v", f)
		}
	}
	for _, c := range Checks() {
		// disc.resolve is reported only for a target that does not resolve.
		if !seen[c.ID] && c.ID != CheckCertChanged && c.ID != CheckResolve {
			t.Errorf("check %s never evaluated", c.ID)
		}
	}
	if got, want := ExitCode(fs, Medium, High), ExitOK; got != want {
		t.Errorf("exit code %d, want %d", got, want)
	}
}

func chatStartTLS(f *AccountFacts) *EndpointFacts { return &f.Chat.Endpoints[0] }
func chatDirect(f *AccountFacts) *EndpointFacts   { return &f.Chat.Endpoints[1] }
func sipEP(f *AccountFacts) *EndpointFacts        { return &f.Telephony.Endpoints[0] }

// TestEvaluateRules changes one fact at a time from a clean account and
// checks that exactly the expected checks fail.
func TestEvaluateRules(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(f *AccountFacts)
		want   []string
	}{
		// Discovery.
		{"xmpp srv missing", func(f *AccountFacts) { f.Chat.Discovery.Method = "fallback" }, []string{CheckDiscXMPP}},
		{"no xmpps record", func(f *AccountFacts) { f.Chat.Discovery.TLSPublished = No }, []string{CheckDiscXMPPTLS}},
		{"sip srv missing", func(f *AccountFacts) { f.Telephony.Discovery.Method = "fallback" }, []string{CheckDiscSIP}},

		// XMPP stream.
		{"starttls not advertised but accepted", func(f *AccountFacts) {
			s := chatStartTLS(f).Stream
			s.StartTLSOffered, s.StartTLSRequired = false, false
		}, []string{CheckCUSAXPlain, CheckXMPPRequired, CheckXMPPOffered}},
		{"starttls refused, no direct tls", func(f *AccountFacts) {
			ep := chatStartTLS(f)
			ep.Stream = &StreamFacts{StartTLSAccepted: No, PreTLSMechanisms: nil}
			ep.TLS, ep.Cert, ep.NoTLS = nil, nil, "<failure/>"
			f.Chat.Endpoints = f.Chat.Endpoints[:1]
		}, []string{CheckCUSAXEnc, CheckXMPPStartTLS, CheckXMPPRequired, CheckXMPPOffered}},
		{"starttls not required", func(f *AccountFacts) { chatStartTLS(f).Stream.StartTLSRequired = false },
			[]string{CheckCUSAXPlain, CheckXMPPRequired}},
		{"PLAIN before TLS", func(f *AccountFacts) {
			s := chatStartTLS(f).Stream
			s.StartTLSRequired, s.PreTLSMechanisms = false, []string{"SCRAM-SHA-1", "PLAIN"}
		}, []string{CheckCUSAXPlain, CheckXMPPPlainPre, CheckXMPPSASLPre, CheckXMPPRequired}},
		{"SCRAM before TLS", func(f *AccountFacts) {
			s := chatStartTLS(f).Stream
			s.StartTLSRequired, s.PreTLSMechanisms = false, []string{"SCRAM-SHA-1"}
		}, []string{CheckCUSAXPlain, CheckXMPPSASLPre, CheckXMPPRequired}},
		{"DIGEST-MD5 after TLS", func(f *AccountFacts) {
			chatStartTLS(f).Stream.PostTLSMechanisms = []string{"SCRAM-SHA-256", "DIGEST-MD5"}
		}, []string{CheckXMPPMechs}},
		{"PLAIN only after TLS", func(f *AccountFacts) {
			chatStartTLS(f).Stream.PostTLSMechanisms = []string{"PLAIN"}
		}, []string{CheckXMPPMechs}},
		{"-PLUS on TLS 1.2 without EMS", func(f *AccountFacts) {
			ep := chatStartTLS(f)
			ep.Stream.PostTLSMechanisms = []string{"SCRAM-SHA-1-PLUS", "SCRAM-SHA-1"}
			ep.Stream.ChannelBindingTypes = []string{"tls-exporter"}
			ep.TLS.Versions[VersionTLS13] = false
			ep.TLS.NegotiatedVersion, ep.TLS.NegotiatedSuite = VersionTLS12, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
			ep.TLS.ExtendedMasterSecret = No
		}, []string{CheckCUSAXCliAuth, CheckEMS, CheckTLS13, CheckXMPPCB}}, // chat still reaches TLS 1.3 on direct TLS
		{"-PLUS with tls-server-end-point", func(f *AccountFacts) {
			s := chatStartTLS(f).Stream
			s.PostTLSMechanisms = []string{"SCRAM-SHA-1-PLUS", "SCRAM-SHA-1"}
			s.ChannelBindingTypes = []string{"tls-server-end-point"}
		}, []string{CheckCUSAXCliAuth}},
		{"direct tls broken", func(f *AccountFacts) {
			ep := chatDirect(f)
			ep.TLS, ep.Cert, ep.NoTLS = nil, nil, "handshake failure"
		}, []string{CheckXMPPDirect}},

		// SIP.
		{"sip on udp only", func(f *AccountFacts) {
			ep := sipEP(f)
			ep.TLS, ep.Cert, ep.SIP, ep.NoTLS = nil, nil, nil, "connection refused"
			f.Telephony.PlaintextTransports = []string{"udp"}
			f.Telephony.Discovery.TLSPublished = No
		}, []string{CheckCUSAXEnc, CheckDiscSIPTLS, CheckSIPTLS}},
		{"sip also on udp and tcp", func(f *AccountFacts) { f.Telephony.PlaintextTransports = []string{"udp", "tcp"} },
			[]string{CheckCUSAXPlain}},
		{"tls but no sip answer", func(f *AccountFacts) { sipEP(f).SIP.Answers = No }, []string{CheckSIPAnswers}},
		{"digest md5 only", func(f *AccountFacts) {
			sipEP(f).SIP.Challenges = []Challenge{{Scheme: "Digest", Algorithm: "MD5", QOP: []string{"auth"}}}
		}, []string{CheckCUSAXCliAuth, CheckSIPDigestAlg}},
		{"digest without algorithm means md5", func(f *AccountFacts) {
			sipEP(f).SIP.Challenges = []Challenge{{Scheme: "Digest", QOP: []string{"auth"}}}
		}, []string{CheckCUSAXCliAuth, CheckSIPDigestAlg}},
		{"digest without qop", func(f *AccountFacts) {
			sipEP(f).SIP.Challenges = []Challenge{{Scheme: "Digest", Algorithm: "SHA-256"}}
		}, []string{CheckSIPDigestQOP}},

		// TLS.
		{"ssl3 accepted", func(f *AccountFacts) { sipEP(f).TLS.Versions[VersionSSL30] = true }, []string{CheckTLSSSL}},
		{"tls1.0 accepted on sip", func(f *AccountFacts) { sipEP(f).TLS.Versions[VersionTLS10] = true },
			[]string{CheckCUSAXVersions, CheckTLS10}},
		{"tls1.1 accepted on xmpp", func(f *AccountFacts) { chatStartTLS(f).TLS.Versions[VersionTLS11] = true },
			[]string{CheckCUSAXVersions, CheckTLS11}},
		{"tls1.3 missing on sip", func(f *AccountFacts) {
			tf := sipEP(f).TLS
			tf.Versions[VersionTLS13] = false
			tf.NegotiatedVersion, tf.NegotiatedSuite = VersionTLS12, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
			tf.Suites = tf.Suites[1:]
		}, []string{CheckCUSAXVersions, CheckTLS13}},
		{"tls1.3 not preferred", func(f *AccountFacts) {
			tf := sipEP(f).TLS
			tf.NegotiatedVersion, tf.NegotiatedSuite = VersionTLS12, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
		}, []string{CheckTLS13Pref}},
		{"NULL suite", func(f *AccountFacts) { addSuite(chatDirect(f), "TLS_RSA_WITH_NULL_SHA") },
			[]string{CheckCUSAXSuites, CheckSuitesBroken}},
		{"anon suite", func(f *AccountFacts) { addSuite(chatDirect(f), "TLS_DH_anon_WITH_AES_128_CBC_SHA") },
			[]string{CheckCUSAXSuites, CheckSuitesBroken}},
		{"RC4 suite", func(f *AccountFacts) { addSuite(chatDirect(f), "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA") },
			[]string{CheckCUSAXSuites, CheckSuitesRC4}},
		{"3DES suite", func(f *AccountFacts) { addSuite(sipEP(f), "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA") },
			[]string{CheckCUSAXSuites, CheckSuites3DES}},
		{"static RSA suite", func(f *AccountFacts) { addSuite(sipEP(f), "TLS_RSA_WITH_AES_128_GCM_SHA256") },
			[]string{CheckCUSAXSuites, CheckSuitesNoFS}},
		{"CBC suite", func(f *AccountFacts) { addSuite(sipEP(f), "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA") },
			[]string{CheckCUSAXSuites, CheckSuitesCBC}},
		{"CBC suite with encrypt_then_mac", func(f *AccountFacts) {
			addSuite(sipEP(f), "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA")
			sipEP(f).TLS.EncryptThenMAC = Yes
		}, []string{CheckCUSAXSuites}},
		{"class given by prober wins", func(f *AccountFacts) {
			tf := sipEP(f).TLS
			tf.Suites = append(tf.Suites, Suite{Name: "0x00ff", Class: SuiteRC4})
		}, []string{CheckCUSAXSuites, CheckSuitesRC4}},
		{"server prefers static RSA", func(f *AccountFacts) {
			tf := sipEP(f).TLS
			addSuite(sipEP(f), "TLS_RSA_WITH_AES_128_GCM_SHA256")
			tf.NegotiatedVersion, tf.NegotiatedSuite = VersionTLS12, "TLS_RSA_WITH_AES_128_GCM_SHA256"
		}, []string{CheckCUSAXSuites, CheckSuitesNoFS, CheckFS, CheckTLS13Pref}},
		{"no EMS", func(f *AccountFacts) { sipEP(f).TLS.ExtendedMasterSecret = No }, []string{CheckEMS}},
		{"no EMS judged only with TLS 1.2", func(f *AccountFacts) {
			tf := sipEP(f).TLS
			tf.Versions[VersionTLS12] = false
			tf.ExtendedMasterSecret, tf.RenegotiationInfo = No, No
			tf.Suites = tf.Suites[:1]
		}, []string{CheckCUSAXVersions}},
		{"no renegotiation_info", func(f *AccountFacts) { sipEP(f).TLS.RenegotiationInfo = No }, []string{CheckRenegInfo}},
		{"compression", func(f *AccountFacts) { chatDirect(f).TLS.Compression = Yes }, []string{CheckCompression}},
		{"ticket lifetime 30 days", func(f *AccountFacts) { sipEP(f).TLS.TicketLifetimeHint = 30 * 24 * time.Hour },
			[]string{CheckTicket}},
		{"ticket lifetime 7 days", func(f *AccountFacts) { sipEP(f).TLS.TicketLifetimeHint = 7 * 24 * time.Hour }, nil},

		// Certificates.
		{"self-signed sip", func(f *AccountFacts) {
			c := sipEP(f).Cert
			c.Trusted, c.TrustError, c.AuthenticatedBy = No, "x509: certificate signed by unknown authority (self-signed)", ""
		}, []string{CheckCertTrust, CheckCUSAXSrvAuth}},
		{"DANE-authenticated self-signed passes", func(f *AccountFacts) { sipEP(f).Cert.AuthenticatedBy = "DANE-EE" }, nil},
		{"wrong name xmpp", func(f *AccountFacts) {
			c := chatStartTLS(f).Cert
			c.IdentityMatched, c.IdentityError = No, "certificate names other.example only"
		}, []string{CheckCertIDXMPP, CheckCUSAXSrvAuth}},
		{"SRV-ID only is valid for xmpp", func(f *AccountFacts) { chatStartTLS(f).Cert.IdentityBy = "SRV-ID" }, nil},
		{"wrong name sip", func(f *AccountFacts) { sipEP(f).Cert.IdentityMatched = No }, []string{CheckCertIDSIP, CheckCUSAXSrvAuth}},
		{"expired", func(f *AccountFacts) { sipEP(f).Cert.NotAfter = now.AddDate(0, 0, -1) }, []string{CheckCertValidity}},
		{"not yet valid", func(f *AccountFacts) { sipEP(f).Cert.NotBefore = now.AddDate(0, 0, 1) }, []string{CheckCertValidity}},
		{"expires in 10 days", func(f *AccountFacts) { sipEP(f).Cert.NotAfter = now.AddDate(0, 0, 10) }, []string{CheckCertSoon}},
		{"expires in 20 days", func(f *AccountFacts) { sipEP(f).Cert.NotAfter = now.AddDate(0, 0, 20) }, []string{CheckCertWarn}},
		{"825-day certificate", func(f *AccountFacts) { sipEP(f).Cert.NotBefore = now.AddDate(0, 0, -765) }, []string{CheckCertLifetime}},
		{"RSA 1024", func(f *AccountFacts) { sipEP(f).Cert.KeyBits = 1024 }, []string{CheckCertKey}},
		{"RSA 512", func(f *AccountFacts) { sipEP(f).Cert.KeyBits = 512 }, []string{CheckCertKeyBroken}},
		{"EC 160", func(f *AccountFacts) { c := sipEP(f).Cert; c.KeyAlgorithm, c.KeyBits = "ECDSA", 160 }, []string{CheckCertKey}},
		{"EC 256", func(f *AccountFacts) { c := sipEP(f).Cert; c.KeyAlgorithm, c.KeyBits = "ECDSA", 256 }, nil},
		{"SHA-1 intermediate", func(f *AccountFacts) { sipEP(f).Cert.SignatureAlgorithms = []string{"SHA256-RSA", "SHA1-RSA"} },
			[]string{CheckCertSig}},
		{"MD5 leaf", func(f *AccountFacts) { sipEP(f).Cert.SignatureAlgorithms = []string{"MD5-RSA"} }, []string{CheckCertSigMD5}},
		{"chain out of order", func(f *AccountFacts) { sipEP(f).Cert.ChainOrdered = No }, []string{CheckCertChain}},
		{"chain incomplete", func(f *AccountFacts) { sipEP(f).Cert.ChainComplete = No }, []string{CheckCertChain}},
	}
	p := bcp195(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := good()
			tt.mutate(&f)
			fs := Evaluate(f, p)
			got := ids(fs, Fail)
			want := slices.Sorted(slices.Values(tt.want))
			if !slices.Equal(got, want) {
				t.Errorf("failed checks = %v, want %v", got, want)
			}
			if e := ids(fs, Error); len(e) > 0 {
				t.Errorf("errored checks %v", e)
			}
			for _, x := range fs {
				if x.Status == Fail && (x.Fix == "" || x.Evidence == "") {
					t.Errorf("%s failed without fix or evidence: %+v", x.ID, x)
				}
			}
		})
	}
}

func addSuite(ep *EndpointFacts, name string) {
	ep.TLS.Suites = append(ep.TLS.Suites, Suite{Name: name})
}

func find(fs []Finding, id, endpoint string) (Finding, bool) {
	for _, f := range fs {
		if f.ID == id && f.Endpoint == endpoint {
			return f, true
		}
	}
	return Finding{}, false
}

// An endpoint that could not be probed is one error (its first check),
// not one per check: the others are skipped, pointing at it.
func TestEvaluateProbeError(t *testing.T) {
	f := good()
	sipEP(&f).Error = "i/o timeout"
	fs := Evaluate(f, bcp195(t))
	for _, x := range fs {
		switch {
		case x.Endpoint == sipEP(&f).ID && x.ID == CheckSIPTLS:
			if x.Status != Error || !strings.Contains(x.Evidence, "i/o timeout") {
				t.Errorf("%s on %q: status %s (%s), want error", x.ID, x.Endpoint, x.Status, x.Evidence)
			}
		case x.Aspect == CUSAX && x.ID != CheckCUSAXMedia:
			// Cross checks need both aspects: not run, naming the
			// endpoint. (The media check judges the account's settings.)
			if x.Status != Skipped || !strings.Contains(x.Evidence, "i/o timeout") {
				t.Errorf("%s: status %s (%s), want skipped", x.ID, x.Status, x.Evidence)
			}
		case x.Endpoint == sipEP(&f).ID:
			if x.Status != Skipped || !strings.Contains(x.Evidence, "see "+CheckSIPTLS) {
				t.Errorf("%s on %q: status %s (%s), want skipped pointing at %s", x.ID, x.Endpoint, x.Status, x.Evidence, CheckSIPTLS)
			}
		case x.Status != Pass:
			t.Errorf("%s on %q: status %s, want pass", x.ID, x.Endpoint, x.Status)
		}
	}
	if got := ExitCode(fs, Medium, High); got != ExitUnknown {
		t.Errorf("exit code %d, want %d", got, ExitUnknown)
	}
	if got := ids(fs, Error); len(got) != 1 {
		t.Errorf("errors %v, want one", got)
	}
}

func TestEvaluateDiscoveryError(t *testing.T) {
	f := good()
	f.Chat.Discovery.Error = "SERVFAIL"
	fs := Evaluate(f, bcp195(t))
	if got, want := ids(fs, Error), []string{CheckDiscXMPP, CheckDiscXMPPTLS}; !slices.Equal(got, want) {
		t.Errorf("errored %v, want %v", got, want)
	}
}

func TestEvaluateUnobservedIsSkipped(t *testing.T) {
	f := good()
	f.Chat.Endpoints[0].TLS = &TLSFacts{NegotiatedVersion: VersionTLS13, NegotiatedSuite: "TLS_AES_128_GCM_SHA256"}
	fs := Evaluate(f, bcp195(t))
	ep := f.Chat.Endpoints[0].ID
	for _, id := range []string{CheckTLSSSL, CheckTLS10, CheckTLS11, CheckSuitesRC4, CheckEMS, CheckCompression, CheckTicket} {
		x, ok := find(fs, id, ep)
		if !ok || x.Status != Skipped {
			t.Errorf("%s: %+v, want skipped", id, x)
		}
	}
	if got := ids(fs, Fail); len(got) > 0 {
		t.Errorf("failed %v", got)
	}
}

func TestEvaluateDisabledCheck(t *testing.T) {
	p, err := bcp195(t).Override(map[string]string{CheckTLS10: "off", CheckCUSAXVersions: "low"})
	if err != nil {
		t.Fatal(err)
	}
	f := good()
	sipEP(&f).TLS.Versions[VersionTLS10] = true
	fs := Evaluate(f, p)
	x, _ := find(fs, CheckTLS10, sipEP(&f).ID)
	if x.Status != Skipped || !strings.Contains(x.Evidence, "disabled") {
		t.Errorf("tls.tls10 = %+v, want skipped by profile", x)
	}
	x, _ = find(fs, CheckCUSAXVersions, "")
	if x.Status != Fail || x.Severity != Low {
		t.Errorf("cusax.tls-versions = %+v, want a low failure", x)
	}
	if got := ExitCode(fs, Medium, High); got != ExitOK {
		t.Errorf("exit code %d, want 0", got)
	}
}

func TestClassifySuite(t *testing.T) {
	for name, want := range map[string]SuiteClass{
		"TLS_AES_256_GCM_SHA384":                        SuiteAEAD,
		"TLS_CHACHA20_POLY1305_SHA256":                  SuiteAEAD,
		"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": SuiteAEAD,
		"TLS_DHE_RSA_WITH_AES_256_GCM_SHA384":           SuiteAEAD,
		"TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384":         SuiteCBC,
		"TLS_RSA_WITH_AES_256_CBC_SHA":                  SuiteNoFS,
		"TLS_ECDH_RSA_WITH_AES_128_GCM_SHA256":          SuiteNoFS,
		"TLS_RSA_WITH_3DES_EDE_CBC_SHA":                 Suite3DES,
		"TLS_RSA_WITH_RC4_128_MD5":                      SuiteRC4,
		"TLS_RSA_EXPORT_WITH_RC4_40_MD5":                SuiteBroken,
		"TLS_ECDHE_RSA_WITH_NULL_SHA":                   SuiteBroken,
		"TLS_ECDH_anon_WITH_AES_128_CBC_SHA":            SuiteBroken,
		"TLS_RSA_WITH_DES_CBC_SHA":                      SuiteBroken,
		"TLS_NULL_WITH_NULL_NULL":                       SuiteBroken,
		"0x00ff":                                        "",
		"TLS_FALLBACK_SCSV":                             "",
	} {
		if got := ClassifySuite(name); got != want {
			t.Errorf("ClassifySuite(%s) = %q, want %q", name, got, want)
		}
	}
}

// A target none of whose names resolve is one finding (disc.resolve, an
// error: exit 3), whatever else the facts hold.
func TestEvaluateUnresolvedIsOneFinding(t *testing.T) {
	for _, tc := range []struct {
		name   string
		edit   func(*AccountFacts)
		aspect Aspect
	}{
		{"both aspects", func(*AccountFacts) {}, CUSAX},
		{"chat only", func(f *AccountFacts) { f.Telephony = AspectFacts{} }, Chat},
		{"telephony only", func(f *AccountFacts) { f.Chat = AspectFacts{} }, Telephony},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := good()
			tc.edit(&f)
			f.Unresolved = &Unresolved{Hosts: []string{"nosuch.invalid"}, Error: "no such host"}
			fs := Evaluate(f, bcp195(t))
			if len(fs) != 1 {
				t.Fatalf("%d findings, want 1: %+v", len(fs), fs)
			}
			x := fs[0]
			if x.ID != CheckResolve || x.Status != Error || x.Aspect != tc.aspect || x.Endpoint != "dns:nosuch.invalid" ||
				x.Evidence != "nosuch.invalid: no such host" || x.Account != f.Account {
				t.Errorf("finding %+v", x)
			}
			if got := ExitCode(fs, Medium, High); got != ExitUnknown {
				t.Errorf("exit %d, want %d", got, ExitUnknown)
			}
		})
	}
}

// An endpoint named on the command line skips the discovery checks, as a
// configured server does, and says why.
func TestEvaluateEndpointDiscoverySkipped(t *testing.T) {
	f := good()
	f.Chat.Discovery = Discovery{Method: "endpoint"}
	for _, x := range Evaluate(f, bcp195(t)) {
		if x.Aspect == Chat && (x.ID == CheckDiscXMPP || x.ID == CheckDiscXMPPTLS) &&
			(x.Status != Skipped || !strings.Contains(x.Evidence, "command line")) {
			t.Errorf("%s: %s (%s)", x.ID, x.Status, x.Evidence)
		}
	}
}

// A one-aspect target has no cross-aspect comparison, even when its one
// endpoint could not be probed: skipped, not errored.
func TestEvaluateOneAspectCrossSkipped(t *testing.T) {
	f := good()
	f.Telephony = AspectFacts{}
	f.Chat.Endpoints[0].Error = "connection refused"
	errs := 0
	for _, x := range Evaluate(f, bcp195(t)) {
		if x.Aspect == CUSAX && x.ID != CheckCUSAXMedia && x.Status != Skipped {
			t.Errorf("%s: %s (%s), want skipped", x.ID, x.Status, x.Evidence)
		}
		if x.Status == Error {
			errs++
		}
	}
	if errs != 1 {
		t.Errorf("%d errors for one unreachable endpoint, want 1", errs)
	}
}

// Failures are titled by what failed; the other statuses by the
// requirement, which every finding also carries.
func TestFailureTitles(t *testing.T) {
	for _, c := range Checks() {
		ft, ok := failTitles[c.ID]
		if !ok || ft == "" || ft == c.Title {
			t.Errorf("%s: failure title %q (requirement %q)", c.ID, ft, c.Title)
		}
		if got := TitleFor(c, Fail); got != ft {
			t.Errorf("%s: TitleFor(fail) %q", c.ID, got)
		}
		for _, s := range []Status{Pass, Error, Skipped} {
			if got := TitleFor(c, s); got != c.Title {
				t.Errorf("%s: TitleFor(%s) %q, want %q", c.ID, s, got, c.Title)
			}
		}
	}
	for id := range failTitles {
		if _, ok := LookupCheck(id); !ok {
			t.Errorf("failure title for unknown check %s", id)
		}
	}
	if got := TitleFor(Check{ID: "x.new", Title: "Y holds"}, Fail); got != "Not met: Y holds" {
		t.Errorf("fallback %q", got)
	}
	// In findings: the MD5-only digest challenge of issue 20.
	f := good()
	sipEP(&f).SIP.Challenges = []Challenge{{Scheme: "Digest", Algorithm: "MD5", QOP: []string{"auth"}}}
	x, ok := find(Evaluate(f, bcp195(t)), CheckSIPDigestAlg, sipEP(&f).ID)
	if !ok || x.Status != Fail || x.Title != failTitles[CheckSIPDigestAlg] || !strings.HasPrefix(x.Requirement, "Digest challenge offers SHA-256") {
		t.Errorf("MD5-only challenge: %+v", x)
	}
	g := good()
	if y, _ := find(Evaluate(g, bcp195(t)), CheckSIPDigestAlg, sipEP(&g).ID); y.Status != Pass || y.Title != y.Requirement {
		t.Errorf("pass: %+v", y)
	}
}

// tls.ssl and tls.compression quote the server's answers to the legacy
// ClientHellos, and a version that was not probed is said so, never
// counted as refused.
func TestEvaluateLegacyEvidence(t *testing.T) {
	tests := []struct {
		name     string
		tf       TLSFacts
		id       string
		status   Status
		evidence string
	}{
		{"ssl3 accepted", TLSFacts{Versions: map[uint16]bool{VersionSSL30: true, VersionSSL20: false},
			LegacyEvidence: map[uint16]string{VersionSSL30: "ServerHello SSL 3.0 X", VersionSSL20: "closed"}},
			CheckTLSSSL, Fail, "accepted: SSL 3.0 (ServerHello SSL 3.0 X)"},
		{"both refused", TLSFacts{Versions: map[uint16]bool{VersionSSL30: false, VersionSSL20: false},
			LegacyEvidence: map[uint16]string{VersionSSL30: "alert A", VersionSSL20: "alert B"}},
			CheckTLSSSL, Pass, "refused: SSL 3.0 (alert A); SSL 2.0 (alert B)"},
		{"ssl2 not probed", TLSFacts{Versions: map[uint16]bool{VersionSSL30: false}},
			CheckTLSSSL, Pass, "refused: SSL 3.0; not probed: SSL 2.0"},
		{"deflate chosen", TLSFacts{Compression: Yes, CompressionEvidence: "ServerHello compression=1"},
			CheckCompression, Fail, "the server selected DEFLATE compression: ServerHello compression=1"},
		{"deflate not chosen", TLSFacts{Compression: No, CompressionEvidence: "alert C"},
			CheckCompression, Pass, "DEFLATE offered and not selected: alert C"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := good()
			tf := *f.Chat.Endpoints[0].TLS
			tf.Versions = maps.Clone(tf.Versions)
			delete(tf.Versions, VersionSSL30)
			for v, ok := range tt.tf.Versions {
				tf.Versions[v] = ok
			}
			tf.LegacyEvidence, tf.Compression, tf.CompressionEvidence = tt.tf.LegacyEvidence, tt.tf.Compression, tt.tf.CompressionEvidence
			f.Chat.Endpoints[0].TLS = &tf
			x, ok := find(Evaluate(f, bcp195(t)), tt.id, f.Chat.Endpoints[0].ID)
			if !ok || x.Status != tt.status || x.Evidence != tt.evidence {
				t.Errorf("got %s %q, want %s %q", x.Status, x.Evidence, tt.status, tt.evidence)
			}
		})
	}
}
