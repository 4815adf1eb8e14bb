package testbed

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// SippUASOptions describe a sipp callee started by StartSippUAS.
type SippUASOptions struct {
	// User is the bed user the callee registers as: a SIP user of Domain (alice, bob, carol,
	// or one added by AddUsers on Domain). Give each callee its own user: Kamailio forks a
	// call to every contact of a user.
	User string
	// Answer is what the callee does after sending 180 Ringing: 200 answers (with SDP offering
	// PCMA and telephone-event); another code (486, 603, …) rejects the call with it and waits
	// for the ACK; 0 rings until the caller cancels, then answers the CANCEL with 200 and the
	// INVITE with 487 and waits for the ACK (RFC 3261 §9.2).
	Answer int
	// Headers are checked on the INVITE as it reaches the callee (after Kamailio); a failed
	// check fails the call, and Wait returns an error naming it.
	Headers []HeaderCheck
	// Media is "" (sipp's media port is open and silent), "echo" (sipp -rtp_echo: every RTP
	// packet is sent back to its source, and RTPReceived counts them) or "pcap" (after the
	// ACK the callee plays /usr/share/sip-tester/g711a.pcap, PCMA, to the caller's SDP address).
	Media string
	// HoldTimeout is how long an answered callee waits for the caller's BYE after the ACK
	// before it fails the call. Zero means 10 s.
	HoldTimeout time.Duration
	// Calls is how many calls the callee takes, one after another, before it exits; zero
	// means one. Every call gets the same treatment and checks.
	Calls int
}

// HeaderCheck is one assertion on a header of the INVITE. Exactly one of Exact and Absent
// must be set.
type HeaderCheck struct {
	Name string // header name as a token, e.g. "Call-Info"; matched case-insensitively
	// Exact: the header appears once and its value (after the colon and the whitespace that
	// follows it) equals this byte for byte.
	Exact string
	// Absent: no header of that name is present.
	Absent bool
}

// SippUAS is a running sipp callee (RFC 3261 UAS) registered through the bed's Kamailio.
type SippUAS struct {
	User      string // the bed user it answers for
	URI       string // "sip:USER@example.test", what a caller dials
	Contact   string // the registered contact, "sip:USER@127.0.0.1:PORT"
	MediaPort int    // the port in its answer's SDP (echo mode echoes RTP sent there)
	Dir       string // sipp's working directory: scenario, logs, screens

	calls int
	*sipCallee
}

// SippResult is what sipp reported when it exited.
type SippResult struct {
	Successful, Failed int // calls, from sipp's final statistics
	// RTPReceived is the number of RTP packets the callee received (and echoed) on its media
	// port: sipp's own "Total echo RTP pckts 1st stream" counter, in echo mode only.
	RTPReceived int64
	Log         string // sipp's error log (-trace_err) and final screens
}

// sippHoldDefault is HoldTimeout's default.
const sippHoldDefault = 10 * time.Second

// requireTool skips the test when bin is missing, or fails it in CI, like requireInstalled.
func requireTool(tb testing.TB, bin, pkg string) string {
	tb.Helper()
	requireInstalled(tb)
	p, err := exec.LookPath(bin)
	if err == nil {
		return p
	}
	msg := fmt.Sprintf("testbed: %s not installed (Debian package %s; %s)", bin, pkg, InstallHint)
	if inCI() {
		tb.Fatalf("%s; CI=true, so this is a failure, not a skip", msg)
	}
	tb.Skip(msg)
	return ""
}

// StartSippUAS registers opts.User's contact through Kamailio and starts sipp as the callee
// on that contact's port. It returns once sipp listens; the call is then the caller's to
// make. sipp is stopped, and the contact unregistered, when the test ends; Wait collects the
// outcome. Errors fail the test.
func (b *Bed) StartSippUAS(t testing.TB, opts SippUASOptions) *SippUAS {
	t.Helper()
	sipp := requireTool(t, "sipp", "sip-tester")
	u, err := b.startSippUAS(t, sipp, opts)
	if err != nil {
		t.Fatalf("testbed: sipp UAS: %v", err)
	}
	return u
}

func (b *Bed) startSippUAS(t testing.TB, sipp string, opts SippUASOptions) (*SippUAS, error) {
	s := sippUASScenario{User: opts.User, Answer: opts.Answer, Media: opts.Media, Pcap: sippPCMA}
	switch opts.Answer {
	case 0, 200:
	case 486:
		s.Reason = "Busy Here"
	case 603:
		s.Reason = "Decline"
	default:
		if opts.Answer < 300 || opts.Answer > 699 {
			return nil, fmt.Errorf("Answer %d: want 0, 200 or a final error code 300-699", opts.Answer)
		}
		s.Reason = "Rejected"
	}
	switch opts.Media {
	case "", "echo", "pcap":
	default:
		return nil, fmt.Errorf("Media %q: want \"\", \"echo\" or \"pcap\"", opts.Media)
	}
	hold := opts.HoldTimeout
	if hold <= 0 {
		hold = sippHoldDefault
	}
	s.HoldMS = hold.Milliseconds()
	var err error
	if s.Checks, err = sippChecks(opts.Headers); err != nil {
		return nil, err
	}
	text, err := s.render()
	if err != nil {
		return nil, err
	}
	dir := t.TempDir()
	scenario := filepath.Join(dir, "uas.xml")
	if err := os.WriteFile(scenario, []byte(text), 0o644); err != nil {
		return nil, err
	}
	media, err := freeUDPPortPair()
	if err != nil {
		return nil, err
	}
	ctrl, err := freeUDPPort()
	if err != nil {
		return nil, err
	}
	c, err := b.registerCallee(t, "sipp UAS", opts.User, 0)
	if err != nil {
		return nil, err
	}
	u := &SippUAS{
		User: opts.User, URI: "sip:" + opts.User + "@" + b.Domain, Contact: c.reg.contact,
		MediaPort: media, Dir: dir, calls: max(opts.Calls, 1), sipCallee: c,
	}
	args := []string{
		"-sf", scenario, "-i", "127.0.0.1", "-p", strconv.Itoa(c.reg.port()), "-mp", strconv.Itoa(media),
		"-ci", "127.0.0.1", "-cp", strconv.Itoa(ctrl),
		"-m", strconv.Itoa(u.calls), "-nostdin", "-trace_err", "-trace_msg", "-trace_screen",
		// No periodic screen refresh: a refresh in the same millisecond as our SIGUSR2 dump
		// would hide the echo counter (screen.cpp prints it only if time has passed).
		"-f", "3600",
		// A backstop: Wait and the test's cleanup stop sipp long before this.
		"-timeout", "600",
	}
	if opts.Media == "echo" {
		args = append(args, "-rtp_echo")
	}
	cmd := exec.Command(sipp, args...)
	cmd.Dir = dir
	if err := c.start(cmd, filepath.Join(dir, "stdout.log"), nil, u.logs); err != nil {
		return nil, err
	}
	return u, nil
}

// Wait waits for sipp to finish its calls and exit, at most timeout (then it is stopped),
// and returns what it reported. The error is non-nil when sipp failed, a call failed (a
// header check, a timeout, an unexpected message) or fewer calls than expected completed;
// it carries sipp's error log.
func (u *SippUAS) Wait(timeout time.Duration) (SippResult, error) {
	select {
	case <-u.proc.done:
	case <-time.After(timeout):
		_ = u.proc.stop()
		r := u.result()
		return r, fmt.Errorf("testbed: sipp UAS %s: not done after %s (%d calls ok, %d failed)\n%s", u.User, timeout, r.Successful, r.Failed, r.Log)
	}
	r := u.result()
	var problems []string
	if err := u.proc.err; err != nil {
		problems = append(problems, "sipp: "+err.Error())
	}
	if r.Failed > 0 {
		problems = append(problems, fmt.Sprintf("%d calls failed", r.Failed))
	}
	if r.Successful < u.calls {
		problems = append(problems, fmt.Sprintf("%d of %d calls succeeded", r.Successful, u.calls))
	}
	if len(problems) > 0 {
		return r, fmt.Errorf("testbed: sipp UAS %s: %s\n%s", u.User, strings.Join(problems, "; "), r.Log)
	}
	return r, nil
}

var (
	sippSuccessful = regexp.MustCompile(`Successful call\s+\|\s+\d+\s+\|\s+(\d+)`)
	sippFailed     = regexp.MustCompile(`Failed call\s+\|\s+\d+\s+\|\s+(\d+)`)
	sippEcho       = regexp.MustCompile(`(\d+) Total echo RTP pckts 1st stream`)
)

// result reads sipp's files after it exited.
func (u *SippUAS) result() SippResult {
	stdout := readOr(filepath.Join(u.Dir, "stdout.log"))
	r := SippResult{
		Successful: lastInt(sippSuccessful, stdout),
		Failed:     lastInt(sippFailed, stdout),
		Log:        u.logs(),
	}
	for _, f := range globAll(u.Dir, "*_screen.log") {
		for _, m := range sippEcho.FindAllStringSubmatch(readOr(f), -1) {
			n, _ := strconv.ParseInt(m[1], 10, 64)
			r.RTPReceived = max(r.RTPReceived, n)
		}
	}
	return r
}

// logs is the error log and the tail of stdout (the final screens), for error messages.
func (u *SippUAS) logs() string {
	var b strings.Builder
	for _, f := range globAll(u.Dir, "*_errors.log") {
		fmt.Fprintf(&b, "--- %s\n%s", f, tailFile(f, 60))
	}
	f := filepath.Join(u.Dir, "stdout.log")
	fmt.Fprintf(&b, "--- %s\n%s", f, tailFile(f, 40))
	if m := globAll(u.Dir, "*_messages.log"); len(m) > 0 {
		fmt.Fprintf(&b, "(SIP messages: %s)\n", m[0])
	}
	return b.String()
}

func readOr(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

func globAll(dir, pattern string) []string {
	m, _ := filepath.Glob(filepath.Join(dir, pattern))
	return m
}

func lastInt(re *regexp.Regexp, s string) int {
	all := re.FindAllStringSubmatch(s, -1)
	if len(all) == 0 {
		return 0
	}
	n, _ := strconv.Atoi(all[len(all)-1][1])
	return n
}

// freeUDPPortPair returns an even port P with P and P+2 free: sipp binds both (audio and
// video) for -mp P, and with an explicit -mp it does not look for another pair.
func freeUDPPortPair() (int, error) {
	for range 50 {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		p := c.LocalAddr().(*net.UDPAddr).Port
		if p%2 == 0 && p < 65534 {
			if c2, err := net.ListenPacket("udp", loopback(p+2)); err == nil {
				c2.Close()
				c.Close()
				return p, nil
			}
		}
		c.Close()
	}
	return 0, errors.New("no free UDP port pair for RTP")
}

// waitUDPBound waits until a socket is bound to 127.0.0.1:port over UDP, as the kernel lists
// them in /proc/net/udp (probing with a bind of our own could steal the port from sipp), or
// until the process exits.
func waitUDPBound(p *process, port int, within time.Duration) error {
	want := fmt.Sprintf(" 0100007F:%04X ", port)
	return waitStarted(p, fmt.Sprintf("listening on udp %d", port), within, func() (bool, error) {
		tab, err := os.ReadFile("/proc/net/udp")
		return err == nil && strings.Contains(string(tab), want), err
	})
}

// waitStarted polls ok every 10 ms until it holds or fails; it fails too when p exits first
// or within has passed, saying p is not yet what.
func waitStarted(p *process, what string, within time.Duration, ok func() (bool, error)) error {
	deadline := time.Now().Add(within)
	for {
		if exited, err := p.exited(); exited {
			return fmt.Errorf("%s exited during start-up: %v", p.name, err)
		}
		if done, err := ok(); done || err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not %s after %s", p.name, what, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
