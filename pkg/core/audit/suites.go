package audit

import (
	"fmt"
	"strings"
)

// SuiteClass sorts cipher suites by what RFC 9325 §4.1–4.2 says of them.
// The classes are ordered: a lower Rank is weaker.
type SuiteClass string

// Suite classes, weakest first.
const (
	// SuiteBroken: NULL encryption, anonymous (no authentication), EXPORT,
	// single DES or other < 112-bit ciphers: MUST NOT (RFC 9325 §4.1).
	SuiteBroken SuiteClass = "broken"
	// SuiteRC4: MUST NOT (RFC 9325 §4.1, RFC 7465).
	SuiteRC4 SuiteClass = "rc4"
	// Suite3DES: 112-bit, SHOULD NOT (RFC 9325 §4.1; SWEET32).
	Suite3DES SuiteClass = "3des"
	// SuiteNoFS: static RSA or static (EC)DH key exchange with an
	// otherwise acceptable cipher: SHOULD NOT (RFC 9325 §4.1).
	SuiteNoFS SuiteClass = "no-fs"
	// SuiteCBC: forward secret but CBC: SHOULD NOT unless encrypt_then_mac
	// (RFC 9325 §4.2).
	SuiteCBC SuiteClass = "cbc-fs"
	// SuiteAEAD: forward secret and AEAD (all TLS 1.3 suites; ECDHE/DHE
	// with GCM, CCM or ChaCha20-Poly1305): what RFC 9325 §4.2 recommends.
	SuiteAEAD SuiteClass = "aead-fs"
)

var suiteRank = map[SuiteClass]int{SuiteBroken: 0, SuiteRC4: 1, Suite3DES: 2, SuiteNoFS: 3, SuiteCBC: 4, SuiteAEAD: 5}

// Rank orders classes, weakest 0; an unknown class ranks -1.
func (c SuiteClass) Rank() int {
	if r, ok := suiteRank[c]; ok {
		return r
	}
	return -1
}

// ClassifySuite classifies a suite by its IANA name. TLS 1.3 names
// ("TLS_AES_128_GCM_SHA256") are AEAD with forward secrecy. Names it does
// not understand ("0x00ff") classify as "" (unknown), never as a class that
// would pass or fail a check by accident.
func ClassifySuite(name string) SuiteClass {
	n := strings.ToUpper(name)
	if !strings.HasPrefix(n, "TLS_") && !strings.HasPrefix(n, "SSL_") {
		return ""
	}
	if !strings.Contains(n, "_WITH_") {
		// TLS 1.3: TLS_AES_128_GCM_SHA256, TLS_CHACHA20_POLY1305_SHA256, …
		if strings.HasPrefix(n, "TLS_AES_") || strings.HasPrefix(n, "TLS_CHACHA20_") {
			return SuiteAEAD
		}
		return ""
	}
	kx, cipher, _ := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(n, "TLS_"), "SSL_"), "_WITH_")
	switch {
	case strings.HasPrefix(cipher, "NULL"), strings.Contains(kx, "ANON"), strings.Contains(kx, "EXPORT"),
		strings.Contains(cipher, "EXPORT"), strings.HasPrefix(cipher, "DES_"), strings.HasPrefix(cipher, "DES40"),
		strings.HasPrefix(cipher, "RC2"), kx == "NULL":
		return SuiteBroken
	case strings.HasPrefix(cipher, "RC4"):
		return SuiteRC4
	case strings.HasPrefix(cipher, "3DES"):
		return Suite3DES
	}
	fs := strings.HasPrefix(kx, "ECDHE") || strings.HasPrefix(kx, "DHE")
	if !fs {
		return SuiteNoFS
	}
	if strings.Contains(cipher, "GCM") || strings.Contains(cipher, "CCM") || strings.Contains(cipher, "CHACHA20") {
		return SuiteAEAD
	}
	return SuiteCBC
}

func (s Suite) class() SuiteClass {
	if s.Class != "" {
		return s.Class
	}
	return ClassifySuite(s.Name)
}

// VersionName returns "TLS 1.2" for 0x0303 etc., or "0x…" for others.
func VersionName(v uint16) string {
	switch v {
	case VersionSSL20:
		return "SSL 2.0"
	case VersionSSL30:
		return "SSL 3.0"
	case VersionTLS10:
		return "TLS 1.0"
	case VersionTLS11:
		return "TLS 1.1"
	case VersionTLS12:
		return "TLS 1.2"
	case VersionTLS13:
		return "TLS 1.3"
	case 0:
		return "none"
	}
	return fmt.Sprintf("0x%04x", v)
}
