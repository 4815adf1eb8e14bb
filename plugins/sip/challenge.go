package sip

import (
	"fmt"
	"strings"

	"github.com/icholy/digest"

	"github.com/cusax/cusax/pkg/protocol"
)

// algorithmRank orders the digest algorithms we answer, strongest highest
// (RFC 8760 §2.3: the client uses the strongest it supports). RFC 3261
// digest without an algorithm parameter is MD5. SHA-512 (not registered for
// SIP) and the -sess variants (not supported by icholy/digest) are ignored.
var algorithmRank = map[string]int{
	"SHA-512-256": 3,
	"SHA-256":     2,
	"MD5":         1,
}

// challenge is one digest challenge chosen for an answer.
type challenge struct {
	*digest.Challenge
	// Header is the header the challenge came in: "WWW-Authenticate"
	// (401) or "Proxy-Authenticate" (407).
	Header string
	// Algorithm is the normalised algorithm, "MD5" when absent.
	Algorithm string
}

// AuthorizationHeader is the header the answer goes into (RFC 3261 §22.2,
// §22.3).
func (c challenge) AuthorizationHeader() string {
	if c.Header == "Proxy-Authenticate" {
		return "Proxy-Authorization"
	}
	return "Authorization"
}

// normAlgorithm upper-cases an algorithm name and maps "" to MD5 (RFC 3261
// §22.4 via RFC 2617 §3.2.1).
func normAlgorithm(a string) string {
	a = strings.ToUpper(strings.Trim(strings.TrimSpace(a), `"`))
	if a == "" {
		return "MD5"
	}
	return a
}

// pickChallenge chooses the strongest usable challenge among all values of
// header (RFC 8760 §2.4: a server may send one challenge per algorithm, in
// its order of preference; the client picks the strongest it supports).
// sipgo's own helper reads only the first header, so an RFC 8760 server
// listing MD5 first would get MD5 even when SHA-256 was on offer.
//
// offered lists the algorithm of every Digest challenge in the order the
// server sent them, usable or not, for the connection report. The error
// wraps protocol.ErrProtocol when nothing usable was offered.
func pickChallenge(header string, values []string) (best *challenge, offered []string, err error) {
	var skipped []string
	for _, v := range values {
		if !digest.IsDigest(strings.TrimSpace(v)) {
			skipped = append(skipped, "non-digest scheme")
			continue
		}
		c, perr := digest.ParseChallenge(strings.TrimSpace(v))
		if perr != nil {
			skipped = append(skipped, "malformed challenge")
			continue
		}
		alg := normAlgorithm(c.Algorithm)
		offered = appendUnique(offered, alg)
		// icholy/digest splits qop on "," without trimming.
		for i, q := range c.QOP {
			c.QOP[i] = strings.ToLower(strings.TrimSpace(q))
		}
		rank, ok := algorithmRank[alg]
		switch {
		case !ok:
			skipped = append(skipped, "algorithm "+alg)
			continue
		case c.Realm == "" || c.Nonce == "":
			skipped = append(skipped, "challenge without realm or nonce")
			continue
		case len(c.QOP) > 0 && !c.SupportsQOP("auth") && !c.SupportsQOP("auth-int"):
			skipped = append(skipped, "qop "+strings.Join(c.QOP, ","))
			continue
		}
		c.Algorithm = alg
		if best == nil || rank > algorithmRank[best.Algorithm] {
			best = &challenge{Challenge: c, Header: header, Algorithm: alg}
		}
	}
	if best == nil {
		why := "none sent"
		if len(skipped) > 0 {
			why = strings.Join(skipped, "; ")
		}
		return nil, offered, fmt.Errorf("no usable digest challenge in %s (%s): %w", header, why, protocol.ErrProtocol)
	}
	return best, offered, nil
}

func appendUnique(list []string, s string) []string {
	for _, v := range list {
		if v == s {
			return list
		}
	}
	return append(list, s)
}
