package audit

// failTitles names what failed, per check: a failed finding is titled by
// its failure ("TLS 1.0 accepted"), not by the requirement it broke ("TLS
// 1.0 not accepted"), so that a line reading "MEDIUM <title>" never states
// the opposite of what was seen. Passes, errors and skips keep the
// requirement (Check.Title). Every check in the catalogue has one
// (TestEveryCheckHasAFailureTitle).
var failTitles = map[string]string{
	CheckDiscXMPP:      "No _xmpp-client._tcp SRV records: clients fall back to the domain's address",
	CheckDiscXMPPTLS:   "Direct TLS not published (no _xmpps-client._tcp SRV)",
	CheckDiscSIP:       "No NAPTR/SRV records for the SIP service",
	CheckDiscSIPTLS:    "SIP over TLS not published (no SIPS+D2T NAPTR or _sips._tcp SRV)",
	CheckResolve:       "Target host names do not resolve",
	CheckXMPPOffered:   "STARTTLS not offered in the stream features",
	CheckXMPPStartTLS:  "STARTTLS refused or failed",
	CheckXMPPRequired:  "STARTTLS not required: the stream can continue in plaintext",
	CheckXMPPSASLPre:   "SASL mechanisms offered before TLS",
	CheckXMPPPlainPre:  "PLAIN or LOGIN offered before TLS",
	CheckXMPPMechs:     "No SCRAM after TLS, or DIGEST-MD5/CRAM-MD5 offered",
	CheckXMPPCB:        "-PLUS mechanisms offered without a usable channel binding",
	CheckXMPPDirect:    "Direct TLS handshake fails on the published xmpps endpoint",
	CheckSIPTLS:        "SIP over TLS not reachable",
	CheckSIPAnswers:    "SIP does not answer over TLS",
	CheckSIPDigestAlg:  "Digest challenge offers neither SHA-256 nor SHA-512-256 (MD5 only)",
	CheckSIPDigestQOP:  "Digest challenge without qop",
	CheckTLSSSL:        "SSL 2.0 or 3.0 accepted",
	CheckTLS10:         "TLS 1.0 accepted",
	CheckTLS11:         "TLS 1.1 accepted",
	CheckTLS13:         "TLS 1.3 not supported",
	CheckTLS13Pref:     "TLS 1.3 not negotiated although the client offers it",
	CheckSuitesBroken:  "NULL, anonymous, EXPORT or DES suites accepted",
	CheckSuitesRC4:     "RC4 suites accepted",
	CheckSuites3DES:    "3DES suites accepted",
	CheckSuitesNoFS:    "Suites without forward secrecy accepted (static RSA/DH)",
	CheckSuitesCBC:     "CBC suites accepted without encrypt_then_mac",
	CheckFS:            "Suite without forward secrecy negotiated",
	CheckEMS:           "TLS 1.2 without extended master secret",
	CheckRenegInfo:     "TLS 1.2 without renegotiation_info (secure renegotiation)",
	CheckCompression:   "TLS compression negotiated",
	CheckTicket:        "Session ticket lifetime too long",
	CheckCertTrust:     "Certificate chain not trusted",
	CheckCertIDXMPP:    "Certificate does not name the XMPP domain",
	CheckCertIDSIP:     "Certificate does not name the SIP domain",
	CheckCertValidity:  "Certificate expired or not yet valid",
	CheckCertSoon:      "Certificate expires within the urgent window",
	CheckCertWarn:      "Certificate expires within the warning window",
	CheckCertLifetime:  "Certificate lifetime over 398 days",
	CheckCertKey:       "Key weaker than 2048-bit RSA or 224-bit EC",
	CheckCertKeyBroken: "RSA key under 1024 bits",
	CheckCertSig:       "SHA-1 signature in the chain",
	CheckCertSigMD5:    "MD5 signature in the chain",
	CheckCertChain:     "Chain incomplete or out of order",
	CheckCertChanged:   "Certificate changed since the last audit",
	CheckCUSAXEnc:      "One aspect encrypted, the other not",
	CheckCUSAXPlain:    "One aspect allows plaintext, the other requires TLS",
	CheckCUSAXVersions: "The aspects accept different TLS versions",
	CheckCUSAXSuites:   "The aspects accept different cipher suite classes",
	CheckCUSAXSrvAuth:  "The aspects authenticate the server differently",
	CheckCUSAXCliAuth:  "Client authentication weaker on one aspect",
	CheckCUSAXMedia:    "Call media less protected than its signalling",
}

// TitleFor is the title of a finding of check c with status s: the
// failure's wording for Fail, the requirement (c.Title) otherwise. A check
// without a failure title (a check added without one) fails as "Not met:
// <requirement>".
func TitleFor(c Check, s Status) string {
	if s != Fail {
		return c.Title
	}
	if t, ok := failTitles[c.ID]; ok {
		return t
	}
	return "Not met: " + c.Title
}

// retitle sets f's Title and Requirement from the catalogue for its
// current status; findings of checks not in the catalogue keep theirs.
func (f *Finding) retitle() {
	c, ok := LookupCheck(f.ID)
	if !ok {
		return
	}
	f.Title, f.Requirement = TitleFor(c, f.Status), c.Title
}
