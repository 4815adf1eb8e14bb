package sip

import (
	"context"
	"fmt"
	"strings"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/cusax/cusax/pkg/protocol"
)

var _ protocol.OptionsAsker = (*session)(nil)

// Options implements protocol.OptionsAsker: one OPTIONS (RFC 3261 §11)
// to target over the account's flow to its proxy, digest challenges
// answered as for an INVITE (the proxy authenticates its own users before
// relaying, RFC 3261 §22.3), bounded by the session's timeout. It never
// sends an INVITE.
func (s *session) Options(ctx context.Context, target string) (protocol.OptionsResult, error) {
	if err := checkText("target", target); err != nil {
		return protocol.OptionsResult{}, fmt.Errorf("sip options: %w", err)
	}
	u, err := parseSIPURI("target", target)
	if err != nil {
		return protocol.OptionsResult{}, fmt.Errorf("sip options: %w", err)
	}
	if u.Host == "" {
		return protocol.OptionsResult{}, fmt.Errorf("sip options: target %q has no host: %w", target, protocol.ErrInvalid)
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return protocol.OptionsResult{}, fmt.Errorf("sip options: session closed: %w", protocol.ErrNotConnected)
	}
	t := s.targets[0]
	if s.bound != nil {
		t = s.bound.target
	}
	if u.IsEncrypted() && t.Transport != "tls" {
		s.mu.Unlock()
		// RFC 3261 §26.2.2: a SIPS URI is reached over TLS on every hop.
		return protocol.OptionsResult{}, fmt.Errorf("sip options %s: a sips: target needs a TLS connection to the proxy: %w", u.String(), protocol.ErrInsecure)
	}
	c := s.newCall(t, &dialPlan{target: u})
	fl, err := s.openFlow(ctx, t, c.probeRequest(t))
	s.mu.Unlock()
	if err != nil {
		return protocol.OptionsResult{}, fmt.Errorf("sip options %s: %w", u.String(), err)
	}
	c.flow = fl
	defer fl.release()
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	creds, answered := map[string]string{}, map[string]bool{}
	for range maxSends {
		req := c.newRequest(gosip.OPTIONS, u, nil, nil)
		req.AppendHeader(gosip.NewHeader("Accept", "application/sdp"))
		for _, name := range []string{"Proxy-Authorization", "Authorization"} {
			if v, ok := creds[name]; ok {
				req.AppendHeader(gosip.NewHeader(name, v))
			}
		}
		res, err := s.roundTrip(ctx, t, req)
		if err != nil {
			return protocol.OptionsResult{}, fmt.Errorf("sip options %s: %w", u.String(), s.transportError(t, "", err))
		}
		if res.StatusCode == gosip.StatusUnauthorized || res.StatusCode == gosip.StatusProxyAuthRequired {
			if err := c.answerChallenge(res, req, creds, answered); err != nil {
				return protocol.OptionsResult{}, fmt.Errorf("sip options %s: %w", u.String(), err)
			}
			continue
		}
		return optionsResult(res), nil
	}
	return protocol.OptionsResult{}, fmt.Errorf("sip options %s: no final answer after %d requests: %w", u.String(), maxSends, protocol.ErrProtocol)
}

// optionsResult reads the final response: status, Allow, and the media
// types of an SDP body (RFC 3261 §11.2).
func optionsResult(res *gosip.Response) protocol.OptionsResult {
	out := protocol.OptionsResult{StatusCode: res.StatusCode, Reason: res.Reason}
	for _, v := range headerValues(res, "Allow") {
		for m := range strings.SplitSeq(v, ",") {
			if m = strings.TrimSpace(m); m != "" {
				out.Allow = append(out.Allow, m)
			}
		}
	}
	if ct := res.ContentType(); res.IsSuccess() && ct != nil && strings.HasPrefix(strings.ToLower(ct.Value()), "application/sdp") {
		out.Media = sdpMedia(res.Body())
	}
	return out
}

// sdpMedia lists the media types of an SDP's m= lines (RFC 8866 §5.14),
// each once; a port of 0 (a rejected stream) does not count.
func sdpMedia(body []byte) []string {
	media := []string{}
	for line := range strings.SplitSeq(string(body), "\n") {
		rest, ok := strings.CutPrefix(strings.TrimRight(line, "\r"), "m=")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 2 || f[1] == "0" {
			continue
		}
		typ := strings.ToLower(f[0])
		if !strings.Contains(strings.Join(media, " ")+" ", typ+" ") {
			media = append(media, typ)
		}
	}
	return media
}
