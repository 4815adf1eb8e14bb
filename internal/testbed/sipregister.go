package testbed

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net"
	"strconv"
	"strings"
	"time"
)

// The bed's Kamailio challenges with SHA-256 digests (RFC 8760) unless told otherwise, and
// neither sipp 3.6.1 ("createAuthHeader: authentication must use MD5 or AKAv1-MD5") nor
// baresip 1.0.0 on libre 1.1.0 ("Register: Function not implemented") can answer those. So
// the package registers the contacts of its sipp and baresip callees itself, with a few lines
// of digest code (RFC 7616 §3.4.1) over a UDP socket bound to the callee's SIP port: Kamailio
// stores that contact and source address exactly as if the callee had registered, and the
// callee is started on the same port as soon as the socket is closed.

// digestChallenge is a parsed WWW-Authenticate or Proxy-Authenticate header (RFC 7616 §3.3).
type digestChallenge struct {
	Realm, Nonce, Opaque, Algorithm, QOP string
}

// parseDigestChallenge parses `Digest realm="…", nonce="…", …`.
func parseDigestChallenge(h string) (digestChallenge, error) {
	var c digestChallenge
	scheme, rest, _ := strings.Cut(strings.TrimSpace(h), " ")
	if !strings.EqualFold(scheme, "Digest") {
		return c, fmt.Errorf("not a digest challenge: %q", h)
	}
	for rest = strings.TrimSpace(rest); rest != ""; {
		name, after, ok := strings.Cut(rest, "=")
		if !ok {
			break
		}
		name = strings.ToLower(strings.TrimSpace(name))
		after = strings.TrimSpace(after)
		var val string
		if strings.HasPrefix(after, `"`) {
			end := strings.IndexByte(after[1:], '"')
			if end < 0 {
				return c, fmt.Errorf("unterminated quoted string in %q", h)
			}
			val, rest = after[1:1+end], after[2+end:]
		} else {
			val, rest, _ = strings.Cut(after, ",")
			rest = "," + rest
		}
		rest = strings.TrimLeft(strings.TrimSpace(rest), ",")
		rest = strings.TrimSpace(rest)
		switch name {
		case "realm":
			c.Realm = val
		case "nonce":
			c.Nonce = val
		case "opaque":
			c.Opaque = val
		case "algorithm":
			c.Algorithm = strings.TrimSpace(val)
		case "qop":
			c.QOP = val
		}
	}
	if c.Nonce == "" {
		return c, fmt.Errorf("digest challenge without nonce: %q", h)
	}
	return c, nil
}

// digestAuthorization computes the credentials for one request (RFC 7616 §3.4.1 with the
// SIP method and Request-URI, RFC 3261 §22.4). nc is fixed at 1: Kamailio does not track
// nonce counts unless its nonce_count parameter is on, and the bed leaves it off.
func digestAuthorization(c digestChallenge, user, password, method, uri string) (string, error) {
	var newHash func() hash.Hash
	alg := c.Algorithm
	switch strings.ToUpper(alg) {
	case "", "MD5":
		newHash = md5.New
	case "SHA-256":
		newHash = sha256.New
	default:
		return "", fmt.Errorf("digest algorithm %q not supported", alg)
	}
	h := func(s string) string {
		d := newHash()
		d.Write([]byte(s))
		return hex.EncodeToString(d.Sum(nil))
	}
	ha1 := h(user + ":" + c.Realm + ":" + password)
	ha2 := h(method + ":" + uri)
	var b strings.Builder
	fmt.Fprintf(&b, `Digest username="%s", realm="%s", nonce="%s", uri="%s"`, user, c.Realm, c.Nonce, uri)
	qopAuth := false
	for _, q := range strings.Split(c.QOP, ",") {
		qopAuth = qopAuth || strings.TrimSpace(q) == "auth"
	}
	if qopAuth {
		cnonce, nc := randomHex(8), "00000001"
		fmt.Fprintf(&b, `, response="%s", cnonce="%s", nc=%s, qop=auth`, h(ha1+":"+c.Nonce+":"+nc+":"+cnonce+":auth:"+ha2), cnonce, nc)
	} else {
		fmt.Fprintf(&b, `, response="%s"`, h(ha1+":"+c.Nonce+":"+ha2))
	}
	if alg != "" {
		fmt.Fprintf(&b, ", algorithm=%s", alg)
	}
	if c.Opaque != "" {
		fmt.Fprintf(&b, `, opaque="%s"`, c.Opaque)
	}
	return b.String(), nil
}

// sipRegistration is one contact of a bed user, registered by registerContact.
type sipRegistration struct {
	b            *Bed
	user         account
	contact      string // "sip:user@127.0.0.1:port"
	callID, ftag string
	cseq         int
}

// registerContact binds 127.0.0.1:port over UDP (port 0: any free port), registers
// sip:USER@127.0.0.1:port for the user through the bed's Kamailio with digest
// authentication, closes the socket and returns the registration. Kamailio keeps the
// binding for an hour, or until unregister.
func (b *Bed) registerContact(ctx context.Context, name string, port int) (*sipRegistration, error) {
	a, ok := b.account(name)
	if !ok || a.Domain != b.Domain {
		return nil, fmt.Errorf("register %s: not a SIP user of the bed (SIP users are on %s: alice, bob, carol or one added by AddUsers)", name, b.Domain)
	}
	conn, err := net.ListenPacket("udp", loopback(port))
	if err != nil {
		return nil, fmt.Errorf("register %s: %w", name, err)
	}
	defer conn.Close()
	lport := conn.LocalAddr().(*net.UDPAddr).Port
	r := &sipRegistration{
		b: b, user: a, contact: fmt.Sprintf("sip:%s@127.0.0.1:%d", a.Name, lport),
		callID: randomHex(8) + "@testbed", ftag: randomHex(4),
	}
	if err := r.send(ctx, conn, 3600); err != nil {
		return nil, fmt.Errorf("register %s: %w", name, err)
	}
	return r, nil
}

// port is the local SIP port of the registered contact.
func (r *sipRegistration) port() int {
	_, p, _ := strings.Cut(strings.TrimPrefix(r.contact, "sip:"+r.user.Name+"@"), ":")
	n, _ := strconv.Atoi(p)
	return n
}

// unregister removes the contact (Expires 0) from a fresh socket, so that calls to the
// user no longer go to a port nobody listens on.
func (r *sipRegistration) unregister(ctx context.Context) error {
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer conn.Close()
	return r.send(ctx, conn, 0)
}

// send does one REGISTER transaction, answering a 401 once.
func (r *sipRegistration) send(ctx context.Context, conn net.PacketConn, expires int) error {
	kam, err := net.ResolveUDPAddr("udp", r.b.SIPUDPAddr)
	if err != nil {
		return err
	}
	dl, ok := ctx.Deadline()
	if !ok {
		dl = time.Now().Add(5 * time.Second)
	}
	uri := "sip:" + r.b.Domain
	auth := ""
	for attempt := 0; attempt < 2; attempt++ {
		r.cseq++
		lines := []string{
			"REGISTER " + uri + " SIP/2.0",
			"Via: SIP/2.0/UDP " + conn.LocalAddr().String() + ";branch=z9hG4bK" + randomHex(8) + ";rport",
			"Max-Forwards: 70",
			"From: <sip:" + r.user.Name + "@" + r.b.Domain + ">;tag=" + r.ftag,
			"To: <sip:" + r.user.Name + "@" + r.b.Domain + ">",
			"Call-ID: " + r.callID,
			fmt.Sprintf("CSeq: %d REGISTER", r.cseq),
			"Contact: <" + r.contact + ">",
			fmt.Sprintf("Expires: %d", expires),
		}
		if auth != "" {
			lines = append(lines, auth)
		}
		lines = append(lines, "User-Agent: cusax-testbed", "Content-Length: 0", "", "")
		status, hdrs, err := sipTransaction(conn, kam, strings.Join(lines, "\r\n"), dl)
		if err != nil {
			return err
		}
		switch {
		case status == 200:
			return nil
		case status == 401 && auth == "":
			c, err := parseDigestChallenge(hdrs["www-authenticate"])
			if err != nil {
				return err
			}
			cred, err := digestAuthorization(c, r.user.Name, r.user.Password, "REGISTER", uri)
			if err != nil {
				return err
			}
			auth = "Authorization: " + cred
		default:
			return fmt.Errorf("REGISTER answered %d", status)
		}
	}
	return errors.New("REGISTER: credentials refused")
}

// sipTransaction sends a request over UDP (retransmitting as RFC 3261 §17.1.2.1's Timer E
// would, from 500 ms) and returns the status and headers (lower-case names, first value) of
// the first final response, or an error once the deadline has passed.
func sipTransaction(conn net.PacketConn, to net.Addr, msg string, deadline time.Time) (int, map[string]string, error) {
	buf := make([]byte, 65535)
	interval := 500 * time.Millisecond
	for {
		if time.Now().After(deadline) {
			return 0, nil, fmt.Errorf("no final response from %s before the deadline", to)
		}
		if _, err := conn.WriteTo([]byte(msg), to); err != nil {
			return 0, nil, err
		}
		resend := time.Now().Add(interval)
		if resend.After(deadline) {
			resend = deadline
		}
		interval = min(2*interval, 4*time.Second)
		for time.Now().Before(resend) {
			_ = conn.SetReadDeadline(resend)
			n, _, err := conn.ReadFrom(buf)
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				break
			}
			if err != nil {
				return 0, nil, err
			}
			status, hdrs, ok := parseSIPResponse(string(buf[:n]))
			if !ok || status < 200 {
				continue
			}
			return status, hdrs, nil
		}
	}
}

// parseSIPResponse returns the status code and headers of a SIP response.
func parseSIPResponse(s string) (int, map[string]string, bool) {
	head, _, _ := strings.Cut(s, "\r\n\r\n")
	lines := strings.Split(head, "\r\n")
	f := strings.Fields(lines[0])
	if len(f) < 2 || f[0] != "SIP/2.0" {
		return 0, nil, false
	}
	code, err := strconv.Atoi(f[1])
	if err != nil {
		return 0, nil, false
	}
	hdrs := map[string]string{}
	for _, l := range lines[1:] {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		k = strings.ToLower(strings.TrimSpace(k))
		if _, seen := hdrs[k]; !seen {
			hdrs[k] = strings.TrimSpace(v)
		}
	}
	return code, hdrs, true
}
