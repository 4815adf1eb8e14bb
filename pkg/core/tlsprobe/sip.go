package tlsprobe

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"

	"github.com/cusax/cusax/pkg/protocol"
)

// SIPDialog is what a SIP server answered to one REGISTER sent without
// credentials. It shows that the endpoint speaks SIP (RFC 3261 §26.2.1 for
// TLS) and which client authentication it asks for: the digest algorithms
// and qop of its challenges (RFC 8760 §2.4, RFC 3261 §22.4).
type SIPDialog struct {
	// Transport is "tls", "tcp" or "udp".
	Transport string `json:"transport"`
	// Answered: a SIP response came back.
	Answered bool `json:"answered"`
	// StatusLine is the final response's first line ("SIP/2.0 401
	// Unauthorized"); StatusCode its code.
	StatusLine string `json:"status_line,omitempty"`
	StatusCode int    `json:"status_code,omitempty"`
	// Challenges are the WWW-Authenticate (401) or Proxy-Authenticate
	// (407) values, in the server's order.
	Challenges []SIPChallenge `json:"challenges,omitempty"`
	// Evidence is the response as read (capped at 2 KiB), or the error
	// that ended the dialog.
	Evidence string `json:"evidence"`
}

// SIPChallenge is one authentication challenge.
type SIPChallenge struct {
	// Header is "WWW-Authenticate" or "Proxy-Authenticate".
	Header string `json:"header"`
	// Scheme is "Digest", "Bearer" (RFC 8898) or whatever was sent.
	Scheme string `json:"scheme"`
	// Algorithm is as sent; "" means MD5 (RFC 2617 §3.2.1).
	Algorithm string   `json:"algorithm,omitempty"`
	QOP       []string `json:"qop,omitempty"`
	Realm     string   `json:"realm,omitempty"`
	// Error is set when a Digest challenge could not be parsed.
	Error string `json:"error,omitempty"`
}

// maxSIPResponse bounds what is read of one response: the header block
// and a body (a 401 normally has none).
const maxSIPResponse = 64 << 10

// ProbeSIP sends one REGISTER without credentials to a SIP endpoint
// without TLS ("udp" or "tcp") and returns what came back. It is the SIP
// half of a probe for accounts configured with a plaintext transport: the
// audit then knows whether the service answers there and how it would
// authenticate the client. The REGISTER carries no Contact, so even a
// server that did not challenge would only list bindings (RFC 3261
// §10.2.3), never change them.
//
// Error contract: an invalid transport, address or AOR gives an error
// wrapping protocol.ErrInvalid; a connection that cannot be made gives
// that error. A server that does not answer is a fact (Answered false,
// Evidence) with a nil error.
func ProbeSIP(ctx context.Context, transport, addr, aor string, opts Options) (*SIPDialog, error) {
	if transport != "udp" && transport != "tcp" {
		return nil, fmt.Errorf("sip probe: transport %q: %w", transport, protocol.ErrInvalid)
	}
	if _, err := registerURI(aor); err != nil {
		return nil, err
	}
	p := newProber(Endpoint{Addr: addr}, opts)
	ctx, cancel := context.WithTimeout(ctx, p.opts.DialTimeout)
	defer cancel()
	conn, err := p.opts.DialContext(ctx, transport, addr)
	if err != nil {
		return nil, fmt.Errorf("sip probe %s: %w", addr, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	return sipRegister(conn, transport, aor), nil
}

// registerURI is the Request-URI of a REGISTER for aor: its domain (RFC
// 3261 §10.2). The AOR is checked here so that nothing odd reaches the
// wire.
func registerURI(aor string) (string, error) {
	var u sip.Uri
	if err := sip.ParseUri(aor, &u); err != nil || u.Host == "" || u.User == "" ||
		strings.ContainsAny(aor, "\r\n<>\"") {
		return "", fmt.Errorf("sip probe: address of record %q: %w", aor, protocol.ErrInvalid)
	}
	host := u.Host
	if strings.Contains(host, ":") && !strings.HasPrefix(host, "[") {
		host = "[" + host + "]"
	}
	return "sip:" + host, nil
}

// sipRegister runs the dialog on conn: REGISTER out, provisional responses
// skipped, the first final response recorded. Over UDP the request is
// retransmitted with RFC 3261 §17.1.1.2 timer A (500 ms, doubling) until
// the connection's deadline.
func sipRegister(conn net.Conn, transport, aor string) *SIPDialog {
	d := &SIPDialog{Transport: transport}
	ruri, err := registerURI(aor)
	if err != nil {
		d.Evidence = err.Error()
		return d
	}
	req := registerRequest(ruri, aor, transport, conn.LocalAddr())
	if _, err := io.WriteString(conn, req); err != nil {
		d.Evidence = "sending REGISTER: " + err.Error()
		return d
	}
	var read func() ([]byte, error)
	if transport == "udp" {
		read = udpReader(conn, req)
	} else {
		br := bufio.NewReaderSize(conn, 4096)
		read = func() ([]byte, error) { return readStreamMessage(br) }
	}
	for range 8 { // a few provisional responses at most
		raw, err := read()
		if err != nil {
			if d.Evidence == "" {
				d.Evidence = "no SIP response: " + err.Error()
			}
			return d
		}
		d.Evidence = capEvidence(string(raw))
		msg, err := sip.ParseMessage(raw)
		if err != nil {
			d.Evidence = "not a SIP response: " + capEvidence(string(raw))
			return d
		}
		res, ok := msg.(*sip.Response)
		if !ok {
			d.Evidence = "a request came back instead of a response: " + capEvidence(string(raw))
			return d
		}
		d.Answered = true
		d.StatusCode = int(res.StatusCode)
		d.StatusLine = fmt.Sprintf("SIP/2.0 %d %s", res.StatusCode, res.Reason)
		if res.StatusCode >= 200 {
			d.Challenges = challenges(res)
			return d
		}
	}
	return d
}

func registerRequest(ruri, aor, transport string, local net.Addr) string {
	sent := "127.0.0.1:9" // discard; only used when the address is unknown
	if local != nil {
		sent = local.String()
	}
	return "REGISTER " + ruri + " SIP/2.0\r\n" +
		"Via: SIP/2.0/" + strings.ToUpper(transport) + " " + sent + ";branch=z9hG4bK" + token() + ";rport\r\n" +
		"Max-Forwards: 70\r\n" +
		"From: <" + aor + ">;tag=" + token() + "\r\n" +
		"To: <" + aor + ">\r\n" +
		"Call-ID: " + token() + "@cusax-audit\r\n" +
		"CSeq: 1 REGISTER\r\n" +
		"User-Agent: cusax-audit-tls\r\n" +
		"Content-Length: 0\r\n\r\n"
}

func token() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// udpReader returns datagrams from conn, resending req on timer A.
func udpReader(conn net.Conn, req string) func() ([]byte, error) {
	buf := make([]byte, maxSIPResponse)
	interval := 500 * time.Millisecond
	return func() ([]byte, error) {
		for {
			_ = conn.SetReadDeadline(time.Now().Add(interval))
			n, err := conn.Read(buf)
			if err == nil {
				return append([]byte(nil), buf[:n]...), nil
			}
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				return nil, err
			}
			// Our own timer fired, or the connection's deadline passed:
			// the write fails once the latter is gone.
			interval = min(2*interval, 4*time.Second)
			if _, werr := io.WriteString(conn, req); werr != nil {
				return nil, err
			}
		}
	}
}

// readStreamMessage reads one SIP message from a stream transport: the
// header block up to the blank line, then Content-Length bytes of body
// (RFC 3261 §18.3), within maxSIPResponse.
func readStreamMessage(br *bufio.Reader) ([]byte, error) {
	var msg []byte
	length := 0
	for {
		line, err := br.ReadSlice('\n')
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			if len(msg)+len(line) > 0 {
				return nil, fmt.Errorf("%w after %q", err, capEvidence(string(append(msg, line...))))
			}
			return nil, err
		}
		msg = append(msg, line...)
		if len(msg) > maxSIPResponse {
			return nil, fmt.Errorf("response header over %d bytes", maxSIPResponse)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		trimmed := strings.TrimRight(string(line), "\r\n")
		if trimmed == "" {
			if len(msg) <= 2 {
				msg = msg[:0] // keep-alive CRLF between messages (RFC 5626 §3.5.1)
				continue
			}
			break
		}
		name, value, ok := strings.Cut(trimmed, ":")
		if ok {
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "content-length", "l":
				n, err := strconv.Atoi(strings.TrimSpace(value))
				if err != nil || n < 0 || n > maxSIPResponse {
					return nil, fmt.Errorf("bad Content-Length %q", strings.TrimSpace(value))
				}
				length = n
			}
		}
	}
	body := make([]byte, length)
	if _, err := io.ReadFull(br, body); err != nil {
		return nil, fmt.Errorf("reading %d-byte body: %w", length, err)
	}
	return append(msg, body...), nil
}

// challenges reads the challenges of a 401 or 407 (RFC 3261 §22.2,
// §22.3), one per header value, as RFC 8760 §2.4 has servers send them.
func challenges(res *sip.Response) []SIPChallenge {
	var out []SIPChallenge
	for _, name := range []string{"WWW-Authenticate", "Proxy-Authenticate"} {
		for _, h := range res.GetHeaders(name) {
			v := strings.TrimSpace(h.Value())
			scheme, _, _ := strings.Cut(v, " ")
			c := SIPChallenge{Header: name, Scheme: scheme}
			if strings.EqualFold(scheme, "Digest") {
				c.Scheme = "Digest"
				if dc, err := digest.ParseChallenge(v); err != nil {
					c.Error = err.Error()
				} else {
					c.Algorithm, c.Realm = dc.Algorithm, dc.Realm
					for _, q := range dc.QOP {
						if q = strings.TrimSpace(q); q != "" {
							c.QOP = append(c.QOP, q)
						}
					}
				}
			}
			out = append(out, c)
		}
	}
	return out
}

func capEvidence(s string) string {
	if len(s) > maxEvident {
		return s[:maxEvident] + "…"
	}
	return s
}
