package testbed

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// SippCallOptions describe the one call SippCall places to a callee that answers it
// (cusax answer).
type SippCallOptions struct {
	// From is the bed user placing the call, To the Request-URI (sip:alice@example.test).
	From, To string
	// CallID is the INVITE's Call-ID; empty: a random one.
	CallID string
	// Headers are extra header lines for the INVITE, "Name: value" each (a Call-Info
	// naming the caller's JID, RFC 7081 §3.5), as in SippInviteOptions.
	Headers []string
	// Echo runs sipp with -rtp_echo: it sends every RTP packet it gets back to its source
	// and counts them (RTPEchoed). Not with AwaitBye.
	Echo bool
	// Audio plays sipp's 7 s PCMA recording (g711a.pcap) to the callee after the ACK.
	Audio bool
	// DTMF is sent after the ACK as RFC 4733 events (sipp's dtmf_2833_*.pcap captures,
	// payload type 101), 300 ms apart: digits 0-9, * and #.
	DTMF string
	// Hold is the pause before sipp's BYE, after the audio and digits started.
	Hold time.Duration
	// ReInvite sends a re-INVITE with the same offer after the ACK (it must get 200).
	ReInvite bool
	// InfoDTMF sends each digit in an INFO with application/dtmf-relay ("Signal=5"), 200 ms
	// apart, after the RFC 4733 ones; each must get 200.
	InfoDTMF string
	// AwaitBye: after Hold, sipp waits for the callee's BYE (and answers it) instead of
	// sending its own.
	AwaitBye bool
	// NoAck: sipp never acknowledges the 200; it waits for the callee's BYE and answers it.
	NoAck bool
	// SDP replaces the offer (the body, with CRLF or LF line ends): e.g. one with a codec the
	// callee does not take. Then ExpectStatus says the refusal expected (488).
	SDP          string
	ExpectStatus int
}

// SippCallResult is what SippCall saw.
type SippCallResult struct {
	CallID string
	// Setup is sipp's first INVITE to the 200 (including Kamailio's 407 round trip).
	Setup time.Duration
	// RTPEchoed counts the RTP packets sipp received from the callee (it runs with
	// Echo): "Total echo RTP pckts 1st stream", read just before sipp's BYE.
	RTPEchoed int64
	Elapsed   time.Duration
}

// SippCall has sipp place one call through the bed's Kamailio over UDP (authenticated as in
// SippUAC) that the callee answers, or refuses with ExpectStatus. sipp echoes the RTP it
// gets (Echo, so its count is known) and plays audio and digits as asked, then hangs up with BYE
// after Hold; with NoAck it waits for the callee's BYE instead. It returns when sipp exits or
// ctx ends; the error carries sipp's logs.
func (b *Bed) SippCall(ctx context.Context, opts SippCallOptions) (SippCallResult, error) {
	res := SippCallResult{CallID: opts.CallID}
	if res.CallID == "" {
		res.CallID = randomHex(10) + "@sipp.testbed"
	}
	a, s, err := b.sippCaller(opts.From, opts.To, opts.Headers)
	if err != nil {
		return res, fmt.Errorf("testbed: SippCall: %w", err)
	}
	s.Tag = randomHex(6)
	s.Call, s.Expect, s.NoAck, s.AwaitBye, s.HoldMS = s.Tag, 200, opts.NoAck, opts.AwaitBye, opts.Hold.Milliseconds()
	if opts.ExpectStatus != 0 {
		s.Expect = opts.ExpectStatus
	}
	if opts.Echo && opts.AwaitBye {
		// Our BYE could come while sipp dumps its screen.
		return res, fmt.Errorf("testbed: SippCall: Echo and AwaitBye do not go together")
	}
	s.Echo = opts.Echo
	if opts.Audio {
		s.Pcap = sippPCMA
	}
	for _, d := range opts.DTMF {
		name := string(d)
		switch d {
		case '*':
			name = "star"
		case '#':
			name = "pound"
		}
		f := "/usr/share/sip-tester/dtmf_2833_" + name + ".pcap"
		if _, err := os.Stat(f); err != nil {
			return res, fmt.Errorf("testbed: SippCall: digit %q: %w", d, err)
		}
		s.DTMFPcaps = append(s.DTMFPcaps, f)
	}
	s.ReInvite = opts.ReInvite
	for i, d := range opts.InfoDTMF {
		if !strings.ContainsRune("0123456789*#ABCD", d) {
			return res, fmt.Errorf("testbed: SippCall: InfoDTMF digit %q", d)
		}
		s.Infos = append(s.Infos, sippInfo{CSeq: 10 + i, Signal: string(d)})
	}
	for i := range s.Infos {
		s.Infos[i].sippUACScenario = s
	}
	if opts.SDP != "" {
		if !sippSafe(strings.ReplaceAll(strings.ReplaceAll(opts.SDP, "\r\n", ""), "\n", "")) {
			return res, fmt.Errorf("testbed: SippCall: SDP must not hold '[' or ']]>'")
		}
		s.SDP = strings.TrimRight(strings.ReplaceAll(opts.SDP, "\r\n", "\n"), "\n")
	}
	if s.Auth, err = b.proxyAuthorization(ctx, a, opts.To); err != nil {
		return res, fmt.Errorf("testbed: SippCall: %w", err)
	}
	dir, err := os.MkdirTemp("", "cusax-sipp-call-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	start := time.Now()
	args := []string{"-m", "1", "-l", "1",
		"-cid_str", strings.ReplaceAll(res.CallID, "%", "%%"),
		"-trace_screen", "-trace_rtt", "-rtt_freq", "1",
		// No periodic screen refresh: one in the same millisecond as the SIGUSR2 dump would
		// hide the echo counter (see sipp.go).
		"-f", "3600"}
	if opts.Echo {
		args = append(args, "-rtp_echo")
	}
	proc, err := b.startSippCaller(ctx, "CALL", dir, s, 120*time.Second, args...)
	if err != nil {
		return res, fmt.Errorf("testbed: SippCall: %w", err)
	}
	err = waitOrStop(ctx, proc)
	res.Elapsed = time.Since(start)
	for _, f := range globAll(dir, "*_screen.log") {
		for _, m := range sippEcho.FindAllStringSubmatch(readOr(f), -1) {
			n, _ := strconv.ParseInt(m[1], 10, 64)
			res.RTPEchoed = max(res.RTPEchoed, n)
		}
	}
	if rtt, rerr := readSippRTT(dir); rerr == nil && len(rtt) > 0 {
		res.Setup = rtt[0]
	}
	if err != nil {
		return res, fmt.Errorf("testbed: SippCall: %v\n%s\n%s", err, sippLogs(dir), tailFile(filepath.Join(dir, "stdout.log"), 5))
	}
	return res, nil
}
