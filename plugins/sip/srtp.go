package sip

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/plugins/sip/callmedia"
)

// SDES-SRTP policy shared by the calls placed (invite.go) and, if it
// wants them, the calls answered: which setting applies on a flow, which
// suites we offer, and how keys are kept out of logs.

// flowIsTLS tells whether requests on t travel over TLS: only then may an
// SDES key be put in SDP (RFC 4568 §8.3: the key is in clear in the SDP,
// so the signalling must be confidential on every hop we control).
func flowIsTLS(t Target) bool { return t.Transport == "tls" }

// effectiveEncryption resolves MediaOptions.Encryption for a flow: the
// default is "srtp" over TLS and "none" otherwise (protocol.
// MediaEncryptionDefault). An unknown value is ErrInvalid.
func effectiveEncryption(setting string, tls bool) (string, error) {
	switch setting {
	case protocol.MediaEncryptionDefault:
		if tls {
			return protocol.MediaEncryptionSRTP, nil
		}
		return protocol.MediaEncryptionNone, nil
	case protocol.MediaEncryptionSRTP, protocol.MediaEncryptionOptional, protocol.MediaEncryptionNone:
		return setting, nil
	}
	return "", fmt.Errorf("media encryption %q: want %s: %w", trunc(setting, 32), strings.Join(protocol.MediaEncryptions, ", "), protocol.ErrInvalid)
}

// offerSuites is the order of our a=crypto lines (RFC 4568 §5.1: the
// offerer lists them in its preference; the answerer picks one, and
// baresip 1.0 and most others take the first they support):
//   - AEAD_AES_128_GCM (RFC 7714 §12): authenticated encryption with a
//     16-byte tag, the strongest of the three, and what baresip 1.0
//     (libre with OpenSSL) picks when offered first;
//   - AES_CM_128_HMAC_SHA1_80 (RFC 4568 §6.2.1): the one every SDES peer
//     has (RFC 3711 §5 mandatory-to-implement transform);
//   - AES_CM_128_HMAC_SHA1_32 (§6.2.2): a 32-bit tag, weaker, last, for
//     peers that have nothing else.
var offerSuites = []string{callmedia.SuiteAEADAES128GCM, callmedia.SuiteAESCM128SHA1_80, callmedia.SuiteAESCM128SHA1_32}

// suitesKey is a context key that replaces offerSuites for one Dial; the
// backend's own tests use it to make a callee pick each suite in turn.
type suitesKey struct{}

func suitesFrom(ctx context.Context) []string {
	if s, ok := ctx.Value(suitesKey{}).([]string); ok && len(s) > 0 {
		return s
	}
	return offerSuites
}

// keysKey is a context key for a func(offered []callmedia.Crypto, used
// *callmedia.SRTPKeys) that Dial calls once the answer is read: the
// backend's own tests use it to check that no log line holds a key.
type keysKey struct{}

func keysHookFrom(ctx context.Context) func([]callmedia.Crypto, *callmedia.SRTPKeys) {
	f, _ := ctx.Value(keysKey{}).(func([]callmedia.Crypto, *callmedia.SRTPKeys))
	return f
}

// newOfferCryptos makes one a=crypto line per suite, tags 1..n, each with
// its own fresh key (RFC 4568 §6.1: a key is never reused across lines,
// since the answerer's choice decides which one protects our stream).
func newOfferCryptos(suites []string) ([]callmedia.Crypto, error) {
	out := make([]callmedia.Crypto, 0, len(suites))
	for i, s := range suites {
		c, err := callmedia.NewCrypto(uint32(i+1), s)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// inlineKey matches the key-info of an SDES key-param (RFC 4568 §9.1:
// "inline:" key||salt ["|" lifetime] ["|" MKI ":" length]), wherever it
// appears: an a=crypto line of SDP in a traced message, a sipgo parse
// error quoting a datagram, an error naming a line.
var inlineKey = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?i)(inline:)[^\s|;"']*`) })

// redactKeys removes SDES keys from text that may be logged. The
// lifetime and MKI stay: they are not secret and help debugging.
func redactKeys(s string) string {
	return inlineKey().ReplaceAllString(s, "${1}<redacted>")
}
