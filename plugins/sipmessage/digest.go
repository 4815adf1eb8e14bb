package sipmessage

import (
	"fmt"
	"slices"
	"strings"

	gosip "github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"

	"github.com/cusax/cusax/pkg/protocol"
)

// strength orders the digest algorithms this backend answers, weakest
// first. RFC 8760 §2.4: a server may send one challenge per algorithm and
// the client answers the strongest it supports. The -sess variants are not
// offered by SIP registrars in practice and icholy/digest lacks them.
var strength = []string{"MD5", "SHA-256", "SHA-512-256"}

// offer is one usable digest challenge of a 401 or 407.
type offer struct {
	ch        *digest.Challenge
	algorithm string // normalised; "MD5" when the challenge names none (RFC 2617 §3.2.1)
	proxy     bool   // from Proxy-Authenticate (407): answered in Proxy-Authorization
	count     int    // nonce-count of the last answer (RFC 7616 §3.4: nc goes up per use of a nonce)
}

// strongestOffer reads every WWW-Authenticate and Proxy-Authenticate of res
// and returns the strongest challenge it can answer, with the algorithms
// offered (for the connection report). The error wraps ErrProtocol when
// none is usable.
func strongestOffer(res *gosip.Response) (*offer, []string, error) {
	var best *offer
	var offered, why []string
	for _, name := range []string{"WWW-Authenticate", "Proxy-Authenticate"} {
		for _, h := range res.GetHeaders(name) {
			v := strings.TrimSpace(h.Value())
			if !digest.IsDigest(v) {
				why = append(why, "non-digest scheme")
				continue
			}
			ch, err := digest.ParseChallenge(v)
			if err != nil {
				why = append(why, "unparsable challenge")
				continue
			}
			alg := strings.ToUpper(strings.Trim(strings.TrimSpace(ch.Algorithm), `"`))
			if alg == "" {
				alg = "MD5"
			}
			if !slices.Contains(offered, alg) {
				offered = append(offered, alg)
			}
			rank := slices.Index(strength, alg)
			if rank < 0 || ch.Realm == "" || ch.Nonce == "" {
				why = append(why, "unusable challenge ("+alg+")")
				continue
			}
			qopOK := len(ch.QOP) == 0
			for i := range ch.QOP {
				ch.QOP[i] = strings.ToLower(strings.TrimSpace(ch.QOP[i]))
				qopOK = qopOK || ch.QOP[i] == "auth"
			}
			if !qopOK {
				why = append(why, "qop without auth")
				continue
			}
			ch.Algorithm = alg
			if best == nil || rank > slices.Index(strength, best.algorithm) {
				best = &offer{ch: ch, algorithm: alg, proxy: name == "Proxy-Authenticate"}
			}
		}
	}
	if best == nil {
		if len(why) == 0 {
			why = []string{"no challenge"}
		}
		return nil, offered, fmt.Errorf("%d %s: no usable digest challenge (%s): %w", res.StatusCode, res.Reason, strings.Join(why, "; "), protocol.ErrProtocol)
	}
	return best, offered, nil
}

// answer computes the credentials for req (RFC 3261 §22.2, §22.3; qop=auth
// per RFC 7616) and the header they go in.
func (o *offer) answer(req *gosip.Request, user, password string) (header, value string, err error) {
	o.count++
	opts := digest.Options{Method: string(req.Method), URI: req.Recipient.String(), Username: user, Password: password, Count: o.count}
	cred, err := digest.Digest(o.ch, opts)
	if err != nil {
		// icholy/digest's errors never contain the password.
		return "", "", fmt.Errorf("digest %s: %v: %w", o.algorithm, err, protocol.ErrProtocol)
	}
	header = "Authorization"
	if o.proxy {
		header = "Proxy-Authorization"
	}
	return header, cred.String(), nil
}
