package callerid

import (
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/emiago/sipgo/sip"
	"mellium.im/xmpp/jid"
)

// Where Call.Caller comes from.
const (
	SourcePAI  = "p-asserted-identity"
	SourceFrom = "from"
)

// MaxHints bounds Call.Hints: each hint may cost a vCard fetch, and a
// genuine caller sends one (RFC 7081 §3.5).
const MaxHints = 8

// Call is what Parse reads from a SIP request to identify its caller.
type Call struct {
	// Method is the request method, upper-case (normally INVITE).
	Method string `json:"method"`
	// CallID is the Call-ID header value.
	CallID string `json:"call_id"`
	// Caller is the address to judge, a URI without <…>: the first
	// P-Asserted-Identity when the request came through the account's own
	// proxy, else the From URI.
	Caller string `json:"caller"`
	// CallerSource is SourcePAI or SourceFrom.
	CallerSource string `json:"caller_source"`
	// Asserted lists every P-Asserted-Identity URI (one, or a SIP and a tel
	// URI, RFC 3325 §9.1) when CallerSource is SourcePAI; Caller is the
	// first. Any of them identifies the caller.
	Asserted []string `json:"asserted,omitempty"`
	// Unasserted lists the P-Asserted-Identity URIs of a request whose
	// assertions are not trusted: the caller's claim, shown but never
	// judged (RFC 3325 §9.1 trust needs a trust domain).
	Unasserted []string `json:"untrusted_asserted_identity,omitempty"`
	// From is the From URI, whatever CallerSource is.
	From string `json:"from"`
	// DisplayName is the display name of the header Caller came from: the
	// caller's own words, never proof of anything.
	DisplayName string `json:"display_name,omitempty"`
	// Hints are the bare JIDs of the Call-Info values with purpose=impp
	// and an xmpp: URI (RFC 6993), in order, without repeats, at most
	// MaxHints. A hint is a cue, never an identity (RFC 7081 §3.5, RFC
	// 6993 §4: purpose can be spoofed).
	Hints []string `json:"hints,omitempty"`
	// Privacy lists the Privacy header values (RFC 3323 §4.2), lower-case.
	Privacy []string `json:"privacy,omitempty"`
	// Anonymous is set when the caller asked not to be identified: Privacy
	// "id" (RFC 3325 §9.3) or "header" (RFC 3323 §4.2), or an anonymous
	// caller address (RFC 3323 §4.1.1.3: user "anonymous" or host
	// "anonymous.invalid").
	Anonymous bool `json:"anonymous"`
}

// IsInvite reports whether the request is an INVITE.
func (c Call) IsInvite() bool { return c.Method == "INVITE" }

// Parse reads a SIP request (normally an INVITE; other methods are parsed
// and reported in Call.Method) with sipgo's parser and returns what
// identifies its caller. raw must be a well-formed message: pass captures
// through Normalize first.
//
// trusted says P-Asserted-Identity is to be believed: the message came
// from the account's own proxy and the account trusts that proxy's
// assertions (RFC 3325 §9.1: a UA trusts the header only from an entity
// of its trust domain, whose edge removes it from untrusted sources; most
// proxies do not). Only then is it used as the caller; otherwise its URIs
// go to Call.Unasserted and From is the caller. Without a
// P-Asserted-Identity, From is the caller either way.
//
// Errors wrap protocol.ErrInvalid and are one line: a message sipgo
// cannot parse, a response, a missing or repeated From, a missing
// Call-ID, a malformed From or (when trusted) P-Asserted-Identity. Broken
// Call-Info values are skipped, not errors: they are only cues.
func Parse(raw []byte, trusted bool) (Call, error) {
	var c Call
	if len(raw) > MaxMessage {
		return c, invalid("%d bytes, over the limit of %d", len(raw), MaxMessage)
	}
	msg, err := parseSIP(raw)
	if err != nil {
		return c, invalid("%s", oneLine(err.Error()))
	}
	req, ok := msg.(*sip.Request)
	if !ok {
		return c, invalid("a response, not a request")
	}
	c.Method = string(req.Method)
	if id := req.CallID(); id != nil && id.Value() != "" {
		c.CallID = id.Value()
	} else {
		return c, invalid("no Call-ID")
	}

	var froms, pais, infos, privs []string
	for _, f := range scanHeaders(raw) {
		switch f.name {
		case "from":
			froms = append(froms, f.value)
		case "p-asserted-identity":
			pais = append(pais, f.value)
		case "call-info":
			infos = append(infos, f.value)
		case "privacy":
			privs = append(privs, f.value)
		}
	}
	if len(froms) != 1 {
		return c, invalid("%d From headers, want one", len(froms))
	}
	display, from, _, ok := nameAddr(froms[0])
	if !ok || !validURI(from) {
		return c, invalid("malformed From %q", clip(froms[0]))
	}
	c.From, c.Caller, c.CallerSource, c.DisplayName = from, from, SourceFrom, display

	switch {
	case trusted && len(pais) > 0:
		ids, name, err := assertedIdentities(pais)
		if err != nil {
			return c, err
		}
		c.Asserted, c.Caller, c.CallerSource, c.DisplayName = ids, ids[0], SourcePAI, name
	case len(pais) > 0:
		for _, h := range pais {
			for _, v := range splitList(h) {
				if _, uri, _, ok := nameAddr(v); ok && validURI(uri) && len(c.Unasserted) < 2 {
					c.Unasserted = append(c.Unasserted, uri)
				}
			}
		}
	}

	for _, p := range privs {
		for v := range strings.FieldsFuncSeq(p, func(r rune) bool { return r == ';' || r == ',' }) {
			if v = strings.ToLower(strings.TrimSpace(v)); v != "" && !slices.Contains(c.Privacy, v) {
				c.Privacy = append(c.Privacy, v)
			}
		}
	}
	c.Anonymous = slices.Contains(c.Privacy, "id") || slices.Contains(c.Privacy, "header") || anonymousURI(c.Caller)
	c.Hints = hints(infos)
	return c, nil
}

// parseSIP runs sipgo's parser, turning a panic in it (hostile input
// reaching a path its fuzzing missed) into an error.
func parseSIP(raw []byte) (msg sip.Message, err error) {
	defer func() {
		if r := recover(); r != nil {
			msg, err = nil, errParserPanic
		}
	}()
	return sip.ParseMessage(raw)
}

type parserPanic struct{}

func (parserPanic) Error() string { return "unparseable (parser failure)" }

var errParserPanic error = parserPanic{}

// assertedIdentities reads P-Asserted-Identity values: RFC 3325 §9.1
// allows one URI (sip, sips or tel) or two (a sip or sips and a tel).
func assertedIdentities(headers []string) (ids []string, display string, err error) {
	var values []string
	for _, h := range headers {
		values = append(values, splitList(h)...)
		if len(values) > 2 {
			return nil, "", invalid("more than two P-Asserted-Identity values")
		}
	}
	if len(values) == 0 {
		return nil, "", invalid("empty P-Asserted-Identity")
	}
	schemes := map[string]bool{}
	for _, v := range values {
		name, uri, _, ok := nameAddr(v)
		scheme, _, _ := strings.Cut(uri, ":")
		scheme = strings.ToLower(scheme)
		if scheme == "sips" {
			scheme = "sip"
		}
		if !ok || !validURI(uri) || (scheme != "sip" && scheme != "tel") || schemes[scheme] {
			return nil, "", invalid("malformed P-Asserted-Identity %q", clip(v))
		}
		schemes[scheme] = true
		if display == "" {
			display = name
		}
		ids = append(ids, uri)
	}
	return ids, display, nil
}

// validURI checks a caller address: a SIP or SIPS URI this package can
// compare, a tel: URI, or any other absolute URI (RFC 3261 §25.1 allows
// them in From; they are judged unknown).
func validURI(s string) bool {
	scheme, rest, ok := strings.Cut(s, ":")
	if !ok || scheme == "" || rest == "" || len(s) > maxURI {
		return false
	}
	for i := 0; i < len(scheme); i++ {
		c := scheme[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	if strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return false
	}
	switch strings.ToLower(scheme) {
	case "sip", "sips":
		_, ok := parseSIPURI(s)
		return ok
	}
	return true
}

// anonymousURI reports an RFC 3323 §4.1.1.3 anonymous address: user
// "anonymous" or host "anonymous.invalid" (either is enough: both say the
// caller withholds who they are).
func anonymousURI(s string) bool {
	u, ok := parseSIPURI(s)
	if !ok {
		return false
	}
	return strings.EqualFold(u.user, "anonymous") || u.host == "anonymous.invalid"
}

// hints collects the JIDs of Call-Info values with purpose=impp and an
// xmpp: URI (RFC 6993 §3; parameter names and the purpose token are
// case-insensitive, RFC 3261 §7.3.1). Values that do not fit are skipped.
func hints(headers []string) []string {
	var out []string
	for _, h := range headers {
		for _, v := range splitList(h) {
			if len(out) >= MaxHints {
				return out
			}
			_, uri, params, ok := nameAddr(v)
			if !ok || !strings.HasPrefix(strings.TrimSpace(v), "<") {
				continue // Call-Info is always "<" absoluteURI ">" (RFC 3261 §20.9)
			}
			impp := false
			for _, p := range headerParams(params) {
				if p.k == "purpose" {
					impp = strings.EqualFold(p.v, "impp")
				}
			}
			if !impp {
				continue
			}
			if j, ok := xmppJID(uri); ok && !slices.Contains(out, j) {
				out = append(out, j)
			}
		}
	}
	return out
}

// xmppJID reads the JID an xmpp: URI names (RFC 5122 §2): the path,
// percent-decoded, without "//authority/", "?query" or "#fragment",
// validated and in bare canonical form.
func xmppJID(uri string) (string, bool) {
	scheme, rest, ok := strings.Cut(uri, ":")
	if !ok || !strings.EqualFold(scheme, "xmpp") {
		return "", false
	}
	rest, _, _ = strings.Cut(rest, "#")
	rest, _, _ = strings.Cut(rest, "?")
	if strings.HasPrefix(rest, "//") {
		// RFC 5122 §2.3: xmpp://auth@host/target names the account to
		// act as, then the target.
		_, target, found := strings.Cut(rest[2:], "/")
		if !found {
			return "", false
		}
		rest = target
	}
	s, err := url.PathUnescape(rest)
	if err != nil || s == "" {
		return "", false
	}
	j, err := jid.Parse(s)
	if err != nil {
		return "", false
	}
	// The canonical form must read back as itself ("a..", say, does
	// not: mellium drops one trailing dot per parse), or two spellings of
	// one hint could reach lookup as different JIDs.
	bare := j.Bare().String()
	if again, err := jid.Parse(bare); err != nil || again.String() != bare {
		return "", false
	}
	return bare, true
}

// oneLine makes text from a parser error safe for a one-line message:
// control characters escaped, at most 200 bytes.
func oneLine(s string) string {
	q := strconv.Quote(s)
	q = q[1 : len(q)-1]
	if len(q) > 200 {
		q = q[:200] + "…"
	}
	return q
}

// clip shortens a header value quoted in an error.
func clip(s string) string {
	if len(s) > 100 {
		return s[:100] + "…"
	}
	return s
}
