package callmedia

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/pion/srtp/v3"
)

// SDES suites (RFC 4568 §6.2, RFC 7714 §12), as spelled in a=crypto.
const (
	SuiteAESCM128SHA1_80 = "AES_CM_128_HMAC_SHA1_80"
	SuiteAESCM128SHA1_32 = "AES_CM_128_HMAC_SHA1_32"
	SuiteAEADAES128GCM   = "AEAD_AES_128_GCM"
)

// suitePreference is the order in which an answerer picks among offered
// suites: authenticated encryption first, then the 80-bit tag.
var suitePreference = []string{SuiteAEADAES128GCM, SuiteAESCM128SHA1_80, SuiteAESCM128SHA1_32}

// minLifetime is the smallest key lifetime (in packets) cusax accepts.
// cusax cannot re-key inside a call (SDES needs a new offer/answer,
// RFC 4568 §7.1.4), so it can only honour a lifetime that a call never
// reaches: 2^31 packets is 497 days at 50 packets/s.
const minLifetime = 1 << 31

// ErrNoCommonSuite: none of the offer's a=crypto lines is one cusax can
// accept; the offer must be refused (RFC 4568 §7.1.2: 488).
var ErrNoCommonSuite = errors.New("no acceptable a=crypto line (want AEAD_AES_128_GCM, AES_CM_128_HMAC_SHA1_80 or _32, one inline key, no MKI)")

// Crypto is one a=crypto attribute (RFC 4568 §9.1) that cusax can use:
// one inline master key and salt, no MKI, no session parameters that
// change the transform.
type Crypto struct {
	Tag   uint32 // 1*9DIGIT (§9.1)
	Suite string
	// Key is the master key followed by the master salt (§6.1).
	Key []byte
}

// String is redacted: a Crypto's key must never reach a log.
func (c Crypto) String() string {
	return fmt.Sprintf("crypto tag %d %s (key redacted)", c.Tag, c.Suite)
}

// Attribute is the value of the a=crypto attribute (without "crypto:").
func (c Crypto) Attribute() string {
	return strconv.FormatUint(uint64(c.Tag), 10) + " " + c.Suite + " inline:" + base64.StdEncoding.EncodeToString(c.Key)
}

// Profile is the pion/srtp protection profile of the suite.
func (c Crypto) Profile() (srtp.ProtectionProfile, error) { return suiteProfile(c.Suite) }

func suiteProfile(suite string) (srtp.ProtectionProfile, error) {
	switch suite {
	case SuiteAESCM128SHA1_80:
		return srtp.ProtectionProfileAes128CmHmacSha1_80, nil
	case SuiteAESCM128SHA1_32:
		return srtp.ProtectionProfileAes128CmHmacSha1_32, nil
	case SuiteAEADAES128GCM:
		return srtp.ProtectionProfileAeadAes128Gcm, nil
	}
	return 0, fmt.Errorf("a=crypto: unsupported crypto-suite %q", suite)
}

// keyLen is the master key + salt length of a suite: 16+14 for AES_CM
// (RFC 4568 §6.2.1), 16+12 for AES-GCM (RFC 7714 §12).
func keyLen(suite string) (int, error) {
	p, err := suiteProfile(suite)
	if err != nil {
		return 0, err
	}
	k, err := p.KeyLen()
	if err != nil {
		return 0, err
	}
	s, err := p.SaltLen()
	if err != nil {
		return 0, err
	}
	return k + s, nil
}

// NewCrypto makes a line with a fresh random key for suite.
func NewCrypto(tag uint32, suite string) (Crypto, error) {
	n, err := keyLen(suite)
	if err != nil {
		return Crypto{}, err
	}
	if tag > 999999999 {
		return Crypto{}, fmt.Errorf("a=crypto: tag %d out of range 0..999999999", tag)
	}
	key := make([]byte, n)
	if _, err := rand.Read(key); err != nil {
		return Crypto{}, fmt.Errorf("a=crypto: key generation: %w", err)
	}
	return Crypto{Tag: tag, Suite: suite, Key: key}, nil
}

// ParseCrypto parses an a=crypto value ("1 AES_CM_128_HMAC_SHA1_80
// inline:..."; a leading "a=crypto:" or "crypto:" is allowed). It refuses
// rather than guesses whatever cusax cannot honour, each with its own
// one-line error:
//   - an unknown crypto-suite (§6.2; the answerer picks another line);
//   - a key method other than "inline" (§6.1, the only one defined);
//   - several keys (";"-separated key-params, §6.1): they only make sense
//     with MKIs, see next;
//   - an MKI (§6.1): it puts an MKI field in every packet and is meant for
//     re-keying, which cusax does not do;
//   - a lifetime below 2^31 packets (§6.1): cusax cannot re-key, see
//     minLifetime; above the suite maximum of 2^48 (§6.2.1) it is invalid;
//   - any session parameter except WSH (§6.3): KDR asks for key
//     re-derivation, UNENCRYPTED_*/UNAUTHENTICATED_SRTP weaken the
//     transform, FEC_* ask for FEC we do not do, and §6.3 requires an
//     unknown parameter to fail the line. WSH (§6.3.7, a replay window
//     hint) is accepted and ignored: our replay window is the library's.
func ParseCrypto(v string) (Crypto, error) {
	v = strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(v), "a="), "crypto:")
	f := strings.Fields(v)
	if len(f) < 3 {
		return Crypto{}, errors.New("a=crypto: want \"tag crypto-suite key-params\"")
	}
	if len(f[0]) > 9 || strings.Trim(f[0], "0123456789") != "" {
		return Crypto{}, fmt.Errorf("a=crypto: tag %q is not 1-9 digits", trunc(f[0]))
	}
	tag, _ := strconv.ParseUint(f[0], 10, 32)
	c := Crypto{Tag: uint32(tag), Suite: f[1]}
	n, err := keyLen(c.Suite)
	if err != nil {
		return Crypto{}, fmt.Errorf("a=crypto: unsupported crypto-suite %q", trunc(c.Suite))
	}
	if strings.Contains(f[2], ";") {
		return Crypto{}, errors.New("a=crypto: several keys are not supported (RFC 4568 §6.1; they need MKIs)")
	}
	method, info, ok := strings.Cut(f[2], ":")
	if !ok || method != "inline" {
		return Crypto{}, fmt.Errorf("a=crypto: key method %q is not supported (want inline)", trunc(method))
	}
	parts := strings.Split(info, "|")
	if len(parts) > 3 {
		return Crypto{}, errors.New("a=crypto: malformed key-info (too many '|')")
	}
	key, err := decodeKey(parts[0])
	if err != nil {
		return Crypto{}, err
	}
	if len(key) != n {
		return Crypto{}, fmt.Errorf("a=crypto: %s needs a %d-byte key and salt, got %d", c.Suite, n, len(key))
	}
	c.Key = key
	for _, p := range parts[1:] {
		if strings.Contains(p, ":") {
			return Crypto{}, errors.New("a=crypto: MKI is not supported (RFC 4568 §6.1; cusax does not re-key)")
		}
	}
	for _, p := range parts[1:] {
		if err := checkLifetime(p); err != nil {
			return Crypto{}, err
		}
	}
	if len(parts) == 3 { // two lifetimes, or lifetime after MKI was caught
		return Crypto{}, errors.New("a=crypto: malformed key-info (two lifetimes)")
	}
	for _, sp := range f[3:] {
		name, _, _ := strings.Cut(sp, "=")
		if name != "WSH" {
			return Crypto{}, fmt.Errorf("a=crypto: session parameter %q is not supported (RFC 4568 §6.3)", trunc(name))
		}
	}
	return c, nil
}

// decodeKey accepts padded or unpadded base64 (RFC 4568 §6.1 uses RFC
// 3548 base64; some peers drop the padding).
func decodeKey(s string) ([]byte, error) {
	if len(s) > 128 {
		return nil, errors.New("a=crypto: key too long")
	}
	if b, err := base64.StdEncoding.Strict().DecodeString(s); err == nil {
		return b, nil
	}
	b, err := base64.RawStdEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, errors.New("a=crypto: key is not valid base64")
	}
	return b, nil
}

// checkLifetime accepts "2^n" or a decimal count (§9.1) of at least
// minLifetime and at most 2^48 (§6.2.1).
func checkLifetime(s string) error {
	var lt uint64
	if e, ok := strings.CutPrefix(s, "2^"); ok {
		n, err := strconv.ParseUint(e, 10, 8)
		if err != nil || e == "" || strings.Trim(e, "0123456789") != "" {
			return fmt.Errorf("a=crypto: malformed lifetime %q", trunc(s))
		}
		if n > 48 {
			return fmt.Errorf("a=crypto: lifetime %s exceeds the maximum 2^48 (RFC 4568 §6.2.1)", trunc(s))
		}
		lt = 1 << n
	} else {
		if s == "" || strings.Trim(s, "0123456789") != "" {
			return fmt.Errorf("a=crypto: malformed lifetime %q", trunc(s))
		}
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil || n > 1<<48 {
			return fmt.Errorf("a=crypto: lifetime %s exceeds the maximum 2^48 (RFC 4568 §6.2.1)", trunc(s))
		}
		lt = n
	}
	if lt < minLifetime {
		return fmt.Errorf("a=crypto: key lifetime %s packets is too short: cusax cannot re-key (want at least 2^31)", trunc(s))
	}
	return nil
}

// trunc bounds peer-supplied text quoted in an error.
func trunc(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// ChooseCrypto picks, from an offer's a=crypto values, the line to accept
// in our preference order (suitePreference; among lines of one suite,
// the first), and makes the answer's line: same tag and suite (RFC 4568
// §7.1.2), a fresh key of ours. Lines cusax cannot use are skipped; with
// none left it returns ErrNoCommonSuite.
func ChooseCrypto(offered []string) (remote, local Crypto, err error) {
	var ok []Crypto
	for _, v := range offered {
		if c, err := ParseCrypto(v); err == nil {
			ok = append(ok, c)
		}
	}
	for _, s := range suitePreference {
		for _, c := range ok {
			if c.Suite != s {
				continue
			}
			local, err := NewCrypto(c.Tag, c.Suite)
			if err != nil {
				return Crypto{}, Crypto{}, err
			}
			return c, local, nil
		}
	}
	return Crypto{}, Crypto{}, ErrNoCommonSuite
}
