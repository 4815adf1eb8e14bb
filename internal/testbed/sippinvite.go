package testbed

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// SippInviteOptions describe the one call SippInvite places.
type SippInviteOptions struct {
	// From is the bed user (on Domain) who places the call and answers Kamailio's digest
	// challenge.
	From string
	// To is the Request-URI, a plain sip: URI such as "sip:bob@example.test".
	To string
	// Headers are extra header lines for the INVITE, "Name: value" each, in this order;
	// a name may repeat (several Call-Info lines).
	Headers []string
	// FromHeader replaces the From header's value (a name-addr with <>, without the tag),
	// e.g. `"Anonymous" <sip:anonymous@anonymous.invalid>` with a "Privacy: id" header
	// (RFC 3323 §4.1.1.3). The bed's Kamailio still authenticates an anonymous.invalid
	// From as From's user, in the realm of the Request-URI's domain; a From of another
	// foreign domain is relayed without authentication. Empty: <sip:From@Domain>.
	FromHeader string
	// ExpectStatus is the final response expected from the callee (300-699, such as 486,
	// 603 or 480). With Cancel it is 487, whatever is set.
	ExpectStatus int
	// Cancel sends CANCEL once the callee's 180 arrives; 200 (CANCEL) and 487 must follow.
	Cancel bool
	// CallID is the INVITE's Call-ID; empty: a random one. Set it to know the call on the
	// callee's side before SippInvite returns.
	CallID string
}

// SippInviteResult is what SippInvite saw.
type SippInviteResult struct {
	// CallID is the Call-ID of the INVITE.
	CallID string
	// Status is the final response to the (authenticated) INVITE: ExpectStatus on success,
	// the unexpected one in the error case, 0 when none arrived.
	Status int
	// Elapsed is the whole run: sipp's start to its exit.
	Elapsed time.Duration
}

// SippInvite has sipp place ONE call through the bed's Kamailio over UDP as a real client
// does (INVITE, 407, ACK, INVITE with Proxy-Authorization) and waits for the callee's final
// response, which it acknowledges. It is for callees that refuse or leave a call ringing
// (no media is exchanged). With a SHA-256 bed the digest is computed before sipp starts
// (see runSippUAC). The error, if any, carries sipp's logs; Status then says what the
// callee answered instead of ExpectStatus. It returns when sipp exits or ctx ends.
func (b *Bed) SippInvite(ctx context.Context, opts SippInviteOptions) (SippInviteResult, error) {
	res, err := b.sippInvite(ctx, opts)
	if err != nil {
		return res, fmt.Errorf("testbed: SippInvite: %w", err)
	}
	return res, nil
}

func (b *Bed) sippInvite(ctx context.Context, opts SippInviteOptions) (SippInviteResult, error) {
	res := SippInviteResult{CallID: opts.CallID}
	if res.CallID == "" {
		res.CallID = randomHex(10) + "@sipp.testbed"
	} else if !sippSafe(res.CallID) || strings.ContainsAny(res.CallID, " \t<>\"") {
		return res, fmt.Errorf("CallID %q: want a word (RFC 3261 §25.1 callid)", opts.CallID)
	}
	a, s, err := b.sippCaller(opts.From, opts.To, opts.Headers)
	if err != nil {
		return res, err
	}
	s.Tag = randomHex(6)
	s.Call, s.Expect, s.Cancel = s.Tag, opts.ExpectStatus, opts.Cancel
	if s.Cancel {
		s.Expect = 487
	} else if s.Expect < 300 || s.Expect > 699 {
		return res, fmt.Errorf("ExpectStatus %d: want a final error status 300-699 (or Cancel)", opts.ExpectStatus)
	}
	if opts.FromHeader != "" {
		if !strings.Contains(opts.FromHeader, "<") || !sippSafe(opts.FromHeader) {
			return res, fmt.Errorf("FromHeader %q: want one name-addr with <>, no '[' or line break", opts.FromHeader)
		}
		s.From = opts.FromHeader
	}
	// Computed here, MD5 bed or not: sipp's [authentication] would need the 407 of this
	// very call, which the From override may make Kamailio issue in another realm.
	if s.Auth, err = b.proxyAuthorization(ctx, a, opts.To); err != nil {
		return res, err
	}
	dir, err := os.MkdirTemp("", "cusax-sipp-invite-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	start := time.Now()
	proc, err := b.startSippCaller(ctx, "INVITE", dir, s, 120*time.Second, "-m", "1", "-l", "1",
		// sipp maps messages to its call by Call-ID: it must generate the one we chose.
		"-cid_str", strings.ReplaceAll(res.CallID, "%", "%%"))
	if err != nil {
		return res, err
	}
	err = waitOrStop(ctx, proc)
	res.Elapsed = time.Since(start)
	res.Status = finalInviteStatus(dir)
	switch {
	case err == nil:
		return res, nil
	case err == ctx.Err():
		return res, fmt.Errorf("%w\n%s", err, sippLogs(dir))
	default:
		return res, fmt.Errorf("final response %d, want %d: %v\n%s", res.Status, s.Expect, err, sippLogs(dir))
	}
}

// sippSafe reports whether s can go into a sipp CDATA message line as is: no line break,
// no "[" (sipp keyword), no "]]>" (end of CDATA).
func sippSafe(s string) bool {
	return !strings.ContainsAny(s, "\r\n\x00[") && !strings.Contains(s, "]]>")
}

// sippReceived matches one received response in sipp's -trace_msg log, with its CSeq.
var sippReceived = regexp.MustCompile(`(?s)message received \[\d+\] bytes :\s*SIP/2\.0 (\d{3}) .*?\nCSeq:\s*(\d+) (\w+)`)

// finalInviteStatus is the last final response to the second (authenticated) INVITE in
// sipp's message log, 0 if none.
func finalInviteStatus(dir string) int {
	status := 0
	for _, f := range globAll(dir, "*_messages.log") {
		for _, m := range sippReceived.FindAllStringSubmatch(readOr(f), -1) {
			code, _ := strconv.Atoi(m[1])
			if code >= 200 && m[2] == "2" && m[3] == "INVITE" {
				status = code
			}
		}
	}
	return status
}
