package callerid

import (
	"slices"
	"strconv"
	"strings"

	"github.com/cusax/cusax/pkg/contacts"
)

// Kinds of key CallerKey returns.
const (
	KindSIP   = "sip"   // a SIP or SIPS URI that is not a phone number
	KindPhone = "phone" // a tel: URI, or a SIP URI with user=phone
)

// maxE164Digits is E.164's limit (ITU-T E.164 §6: 15 digits at most).
const maxE164Digits = 15

// NumberNormalizer turns a phone number into E.164 form ("+" and digits).
// E164 gets the number as written, visual separators included, and
// reports false when it cannot tell which international number is meant
// (a national number without a known region, or not a number at all).
// Implementations must be safe for concurrent use.
//
// GlobalOnly is the built-in one; package callerid/e164 wraps a full
// phone-number library, kept out of this package because its
// initialisation costs every cusax process (and so every plugin) time.
type NumberNormalizer interface {
	E164(number string) (string, bool)
}

// GlobalOnly normalises numbers already written in international form: a
// leading '+' and 3 to 15 digits, with the visual separators of RFC 3966
// §5.1.1 (- . ( ) and, as vCards write them, spaces) removed. National
// numbers report false: without a region they are ambiguous.
var GlobalOnly NumberNormalizer = globalOnly{}

type globalOnly struct{}

func (globalOnly) E164(number string) (string, bool) {
	n, ok := stripSeparators(strings.TrimSpace(number))
	if !ok || !strings.HasPrefix(n, "+") || len(n) < 4 || len(n) > 1+maxE164Digits {
		return "", false
	}
	return n, true
}

// stripSeparators is contacts.PhoneDigits: the same reading of a number
// for the vCard side and the caller side.
func stripSeparators(s string) (string, bool) { return contacts.PhoneDigits(s) }

// CallerKey returns the form in which addr is compared with a vCard TEL:
// two addresses are the same caller exactly when their keys are equal.
// Nothing is compared by substring or suffix.
//
//   - A tel: URI, or a SIP URI with user=phone (RFC 3261 §19.1.6: its user
//     part is a telephone-subscriber), is a phone number: the key is
//     "tel:" and the E.164 form from numbers, with ";ext=" kept (another
//     extension is another phone). A local number with a global
//     phone-context (RFC 3966 §5.1.5, "5550100;phone-context=+1") is
//     made global first. A number numbers cannot make E.164 keeps its
//     digits and any phone-context, so it only equals the same local
//     number written the same way.
//   - Any other SIP or SIPS URI is KindSIP: lower-case scheme and host,
//     user as written (escapes of unreserved characters decoded), the
//     port if present, and only the parameters RFC 3261 §19.1.4 never
//     ignores (maddr, method, transport, ttl, user), sorted, lower-case.
//     Password and URI headers are dropped: neither identifies a caller.
//
// Anything else (or a nil numbers with a phone number) gives "", "".
func CallerKey(addr string, numbers NumberNormalizer) (key, kind string) {
	addr = strings.TrimSpace(addr)
	scheme, rest, ok := strings.Cut(addr, ":")
	if !ok || len(addr) > maxURI {
		return "", ""
	}
	switch strings.ToLower(scheme) {
	case "tel":
		if k, ok := phoneKey(rest, numbers); ok {
			return k, KindPhone
		}
		return "", ""
	case "sip", "sips":
	default:
		return "", ""
	}
	u, ok := parseSIPURI(addr)
	if !ok {
		return "", ""
	}
	if v, _ := lookupKV(u.params, "user"); strings.EqualFold(v, "phone") && u.user != "" {
		if k, ok := phoneKey(u.user, numbers); ok {
			return k, KindPhone
		}
	}
	var b strings.Builder
	b.WriteString(u.scheme)
	b.WriteByte(':')
	if u.user != "" {
		b.WriteString(u.user)
		b.WriteByte('@')
	}
	b.WriteString(u.host)
	if u.port >= 0 {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(u.port))
	}
	var params []kv
	for _, p := range u.params {
		if slices.Contains(significantParams, p.k) {
			params = append(params, kv{p.k, strings.ToLower(p.v)})
		}
	}
	slices.SortFunc(params, func(x, y kv) int { return strings.Compare(x.k, y.k) })
	for _, p := range params {
		b.WriteByte(';')
		b.WriteString(p.k)
		if p.v != "" {
			b.WriteByte('=')
			b.WriteString(p.v)
		}
	}
	return b.String(), KindSIP
}

// phoneKey reads an RFC 3966 telephone-subscriber (number, then
// ;parameters) and returns its key.
func phoneKey(s string, numbers NumberNormalizer) (string, bool) {
	if numbers == nil {
		return "", false
	}
	num, params, _ := strings.Cut(s, ";")
	digits, ok := stripSeparators(num)
	if !ok {
		return "", false
	}
	var ext, ctx string
	if params != "" {
		for p := range strings.SplitSeq(params, ";") {
			k, v, _ := strings.Cut(p, "=")
			switch strings.ToLower(k) {
			case "ext":
				if ext, ok = stripSeparators(v); !ok || strings.HasPrefix(ext, "+") {
					return "", false
				}
			case "phone-context":
				ctx = strings.ToLower(v)
				if ctx == "" || strings.ContainsAny(ctx, ",;?&=") {
					return "", false
				}
			}
		}
	}
	key := ""
	switch {
	case strings.HasPrefix(digits, "+"):
		key, ok = numbers.E164(digits)
	case strings.HasPrefix(ctx, "+"):
		c, cok := stripSeparators(ctx)
		if cok {
			key, ok = numbers.E164(c + digits)
		} else {
			ok = false
		}
	default:
		key, ok = numbers.E164(num)
		if !ok {
			// RFC 3966 §5.1.5: a local number is only meaningful in its
			// context, so the context is part of the key.
			key, ok = digits, true
			if ctx != "" {
				key += ";phone-context=" + ctx
			}
		}
	}
	if !ok || key == "" {
		return "", false
	}
	if ext != "" {
		key += ";ext=" + ext
	}
	return "tel:" + key, true
}
