package baresip

// baresip -s prints every SIP message it sends or receives; the plugin
// reads from it what ctrl_tcp events do not carry: incoming INVITEs (with
// their source), digest challenges and the lifetime a registrar granted.

import (
	"bufio"
	"bytes"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// readTrace reads one traced SIP message: "PROTO SRC -> DST", the start
// line and headers up to the blank line, then Content-Length bytes.
func (p *proc) readTrace(r *bufio.Reader) {
	addr, err := r.ReadString('\n')
	if err != nil {
		return
	}
	m := traceAddr.FindStringSubmatch(strings.TrimRight(addr, "\r\n"))
	var msg bytes.Buffer
	clen := 0
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		msg.WriteString(line)
		t := strings.TrimRight(line, "\r\n")
		if t == "" {
			break
		}
		if k, v, ok := strings.Cut(t, ":"); ok && (strings.EqualFold(k, "Content-Length") || k == "l") {
			clen, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	if clen > 0 && clen < 1<<16 {
		body := make([]byte, clen)
		if _, err := io.ReadFull(r, body); err != nil {
			return
		}
		msg.Write(body)
	}
	raw := msg.Bytes()
	if m != nil && m[2] != p.sip && (bytes.HasPrefix(raw, []byte("SIP/2.0 401 ")) || bytes.HasPrefix(raw, []byte("SIP/2.0 407 "))) {
		p.noteChallenge(raw)
		return
	}
	if m != nil && m[2] != p.sip && bytes.HasPrefix(raw, []byte("SIP/2.0 2")) && strings.HasSuffix(headerValue(raw, "CSeq", ""), "REGISTER") {
		p.mu.Lock()
		p.regOK = raw
		p.mu.Unlock()
		return
	}
	if m == nil || m[2] == p.sip || !bytes.HasPrefix(raw, []byte("INVITE ")) {
		return // sent by baresip, or not an INVITE
	}
	id := headerValue(raw, "Call-ID", "i")
	if id == "" {
		return
	}
	p.mu.Lock()
	if len(p.invites) > 256 { // bounded: forget the oldest calls' INVITEs
		clear(p.invites)
	}
	p.invites[id] = traced{raw: raw, src: m[2]}
	ws := p.waiters
	p.waiters = nil
	p.mu.Unlock()
	for _, w := range ws {
		w()
	}
}

// traced is a SIP message from the trace and the address it came from.
type traced struct {
	raw []byte
	src string // host:port
}

// invite returns the INVITE of call id, waiting at most d for the trace
// (it comes on another pipe than the event).
func (p *proc) invite(id string, d time.Duration) traced {
	deadline := time.Now().Add(d)
	for {
		p.mu.Lock()
		raw, ok := p.invites[id]
		if ok {
			delete(p.invites, id)
		}
		p.mu.Unlock()
		if ok || time.Now().After(deadline) {
			return raw
		}
		time.Sleep(10 * time.Millisecond) // polled: bounded by d
	}
}

// headerValue returns the first value of a SIP header (full or compact
// name) in raw.
func headerValue(raw []byte, name, compact string) string {
	for _, line := range strings.Split(string(raw), "\r\n") {
		if line == "" {
			break
		}
		k, v, ok := strings.Cut(line, ":")
		if ok && (strings.EqualFold(strings.TrimSpace(k), name) || strings.TrimSpace(k) == compact) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

var algParam = regexp.MustCompile(`(?i)algorithm\s*=\s*"?([A-Za-z0-9-]+)`)

// noteChallenge records the digest algorithms a 401/407 offered (RFC 8760
// §2.4: one challenge per algorithm), strongest first as sent.
func (p *proc) noteChallenge(raw []byte) {
	var algs []string
	for _, line := range strings.Split(string(raw), "\r\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || !(strings.EqualFold(k, "WWW-Authenticate") || strings.EqualFold(k, "Proxy-Authenticate")) {
			continue
		}
		alg := "MD5" // RFC 3261 §22.4: the default
		if m := algParam.FindStringSubmatch(v); m != nil {
			alg = strings.ToUpper(m[1])
		}
		algs = append(algs, alg)
	}
	p.mu.Lock()
	p.challenge = algs
	p.mu.Unlock()
}

// offered returns the algorithms of the last challenge seen.
func (p *proc) offered() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.challenge...)
}

var expiresParam = regexp.MustCompile(`(?i);\s*expires\s*=\s*(\d+)`)

// granted is the lifetime the registrar granted baresip's contact in the
// last 2xx to a REGISTER (RFC 3261 §10.2.4: the contact's expires
// parameter, else the Expires header); 0 when unknown.
func (p *proc) granted() time.Duration {
	p.mu.Lock()
	raw := p.regOK
	p.mu.Unlock()
	for _, line := range strings.Split(string(raw), "\r\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || !(strings.EqualFold(strings.TrimSpace(k), "Contact") || strings.TrimSpace(k) == "m") || !strings.Contains(v, "@"+p.sip) {
			continue
		}
		if m := expiresParam.FindStringSubmatch(v); m != nil {
			n, _ := strconv.Atoi(m[1])
			return time.Duration(n) * time.Second
		}
	}
	if v := headerValue(raw, "Expires", ""); v != "" {
		n, _ := strconv.Atoi(v)
		return time.Duration(n) * time.Second
	}
	return 0
}
