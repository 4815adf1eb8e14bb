package testbed

import (
	"regexp"
	"strconv"
	"strings"
)

// sippTraceReceived heads each received message in sipp's -trace_msg log:
// "UDP message received [N] bytes :" followed by a blank line and the N bytes.
var sippTraceReceived = regexp.MustCompile(`(?m)^\w+ message received \[(\d+)\] bytes :\r?\n\r?\n`)

// Invites returns every INVITE the callee received so far (from sipp's -trace_msg log), as
// it arrived after Kamailio: request line, headers and body (the SDP offer), byte for byte
// as sipp logged it. A test of what a caller put in its offer (no a=crypto over UDP or
// TCP signalling, RFC 4568 §8.3) reads the body from here.
func (u *SippUAS) Invites() []string {
	var out []string
	for _, f := range globAll(u.Dir, "*_messages.log") {
		out = append(out, receivedRequests(readOr(f), "INVITE")...)
	}
	return out
}

// receivedRequests extracts the received requests of the given method from a sipp
// -trace_msg log.
func receivedRequests(log, method string) []string {
	var out []string
	for _, m := range sippTraceReceived.FindAllStringSubmatchIndex(log, -1) {
		n, _ := strconv.Atoi(log[m[2]:m[3]])
		msg := log[m[1]:]
		if n <= len(msg) {
			msg = msg[:n]
		} else if i := strings.Index(msg, "\n-----------------------------------------------"); i >= 0 {
			msg = msg[:i]
		}
		if strings.HasPrefix(msg, method+" ") {
			out = append(out, msg)
		}
	}
	return out
}

// SDPBody returns the body of a SIP message (after the first empty line), "" if none.
func SDPBody(msg string) string {
	if i := strings.Index(msg, "\r\n\r\n"); i >= 0 {
		return msg[i+4:]
	}
	if i := strings.Index(msg, "\n\n"); i >= 0 {
		return msg[i+2:]
	}
	return ""
}
