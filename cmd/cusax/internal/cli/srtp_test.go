//go:build linux

package cli

import (
	"context"
	"encoding/json"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/internal/testbed"
	"github.com/cusax/cusax/pkg/media"
	"github.com/cusax/cusax/plugins/sip/callmedia"
)

// The "Must show" list of issue 16 at the level a user sees it: the real
// cusax binary, SIP through the bed's Kamailio, against real peers
// (baresip 1.0 with its srtp module, sipp, cusax itself). SDES-SRTP:
// RFC 4568 (a=crypto, keys only over TLS, §8.3), RFC 3711 (SRTP).

// srtpSuites are the suite names cusax may report for an SDES call.
var srtpSuites = []string{callmedia.SuiteAEADAES128GCM, callmedia.SuiteAESCM128SHA1_80, callmedia.SuiteAESCM128SHA1_32}

// srtpOutcome is `cusax call --json`'s outcome with its media fields.
type srtpOutcome struct {
	outcomeJSON
	CallID           string `json:"call_id"`
	Codec            string `json:"codec"`
	MediaPeer        string `json:"media_peer"`
	MediaProtection  string `json:"media_protection"`
	MediaKeying      string `json:"media_keying"`
	SRTPAuthFailures int64  `json:"srtp_auth_failures"`
}

func decodeSRTPOutcome(t *testing.T, r cliResult) srtpOutcome {
	t.Helper()
	var o srtpOutcome
	if err := json.Unmarshal([]byte(r.stdout), &o); err != nil {
		t.Fatalf("outcome JSON: %v\nstdout: %s\nstderr: %s", err, r.stdout, r.stderr)
	}
	if o.ExitCode != r.code {
		t.Errorf("exit_code %d in JSON, process exit %d", o.ExitCode, r.code)
	}
	return o
}

// runBin runs the real cusax binary (not in process) with home's config,
// extra environment and a bound on its run time.
func runBin(t *testing.T, home string, env []string, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, cusaxBinary(t), append([]string{"--config", home + "/cusax/config.toml"}, args...)...)
	cmd.Env = append(cusaxEnv(home), env...)
	// The plugins are its children: a run past the bound kills them too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var stdout, stderr lockedBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	_ = cmd.Run()
	r := cliResult{stdout: stdout.String(), stderr: stderr.String(), code: cmd.ProcessState.ExitCode()}
	t.Logf("cusax %s → exit %d in %s\nstderr: %s", strings.Join(args, " "), r.code, time.Since(start).Round(time.Millisecond), r.stderr)
	return r
}

// tlsAccount adds user to bed and logs it in with cusax as account "lab",
// both aspects over TLS (SIP to Kamailio's TLS listener); it returns home.
func tlsAccount(t *testing.T, bed *testbed.Bed, user string) string {
	t.Helper()
	return bedAccount(t, bed, user, tlsProxy(bed))
}

func bedAccount(t *testing.T, bed *testbed.Bed, user, proxy string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	users, err := bed.AddUsers(ctx, bed.Domain, user)
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	if r := runCLI(t, home, users[user].Password+"\n", loginArgs(bed, user, proxy)...); r.code != 0 {
		t.Fatalf("login %s over %s: exit %d: %s", user, proxy, r.code, r.stderr)
	}
	return home
}

// addUser adds a user to bed (for a callee of its own).
func addUser(t *testing.T, bed *testbed.Bed, user string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := bed.AddUsers(ctx, bed.Domain, user); err != nil {
		t.Fatal(err)
	}
	return user
}

// playedFrames are the G.711 payloads (pt) cusax sends when it plays
// path: 20 ms frames from the first sample, as the sip backend reads the
// file (8 kHz mono); the first five are left out (steady state).
func playedFrames(t *testing.T, path string, pt uint8) [][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pcm, err := media.ReadWAV(f)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, fr := range callmedia.Frames(pcm.Mono8k()) {
		b, err := callmedia.Encode(pt, fr)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out[5:]
}

// rtpShaped counts the datagrams that look like RTP (SRTP keeps the RTP
// header in clear, RFC 3711 §3.1).
func rtpShaped(grams []testbed.Datagram) int {
	n := 0
	for _, d := range grams {
		if _, _, ok := testbed.RTPPayload(d.Payload); ok {
			n++
		}
	}
	return n
}

// inRange is a capture filter for the ports lo..hi (either end).
func inRange(lo, hi int) func(src, dst int) bool {
	return func(src, dst int) bool { return src >= lo && src <= hi || dst >= lo && dst <= hi }
}

// md5Bed is a bed of the test's own: baresip 1.0 computes MD5 digests only.
func md5Bed(t *testing.T) *testbed.Bed {
	t.Helper()
	if testing.Short() {
		t.Skip("needs the test bed")
	}
	return testbed.Start(t, testbed.Options{SIPDigestAlgorithm: "MD5"})
}

// TestCallSRTPToBaresip: `cusax call` on an account whose SIP goes over
// TLS calls a baresip that takes SRTP only (mediaenc srtp-mand) through
// Kamailio over TLS, with the default media_encryption ("" over TLS is
// srtp). The outcome names the suite and SDES keying, stderr says it and
// warns of nothing, audio goes both ways, baresip's own log names the
// same suite, and no datagram on the wire carries a frame we played in
// clear. The text output says the protection too.
func TestCallSRTPToBaresip(t *testing.T) {
	start := time.Now()
	bed := md5Bed(t)
	home := tlsAccount(t, bed, "srtpcli")
	bs := bed.StartBaresipSRTP(t, testbed.BaresipSRTPOptions{User: addUser(t, bed, "srtpbs"), MediaEnc: "srtp-mand"})
	dir := t.TempDir()
	tone, rec := filepath.Join(dir, "tone.wav"), filepath.Join(dir, "heard.wav")
	writeTone(t, tone, 1000, 2*time.Second)

	capt := testbed.StartUDPCapture(t, inRange(bs.RTPPorts[0], bs.RTPPorts[1]))
	// --duration 3s: the 2 s tone, then silence; baresip's sine all along.
	r := runBin(t, home, nil, "call", bs.URI, "--play", tone, "--record", rec, "--duration", "3s", "--json")
	o := decodeSRTPOutcome(t, r)
	if err := bs.WaitClosed(1, 10*time.Second); err != nil {
		t.Fatalf("baresip: %v\n%s", err, bs.Output())
	}
	capt.Stop()
	t.Logf("outcome: %s by %s, %d sent, %d received, %d auth failures, set-up %d ms", o.MediaProtection, o.MediaKeying, o.RTPSent, o.RTPRecv, o.SRTPAuthFailures, o.SetupMS)
	if r.code != 0 || !o.Answered || !slices.Contains(srtpSuites, o.MediaProtection) || o.MediaKeying != "sdes" {
		t.Fatalf("exit %d, outcome %+v: want answered with an SRTP suite keyed by sdes", r.code, o)
	}
	if want := "cusax: media: SRTP " + o.MediaProtection + " (SDES)\n"; !strings.Contains(r.stderr, want) {
		t.Errorf("stderr lacks %q: %q", want, r.stderr)
	}
	if strings.Contains(r.stderr, "warning") || strings.Contains(r.stderr, "in clear") {
		t.Errorf("stderr warns of clear media on an SRTP call: %q", r.stderr)
	}
	// Audio both ways, decrypted at each end.
	if o.RTPSent < 100 || o.RTPRecv < 100 || o.SRTPAuthFailures != 0 {
		t.Errorf("rtp sent %d, received %d, auth failures %d", o.RTPSent, o.RTPRecv, o.SRTPAuthFailures)
	}
	if n, level := wavRMS(t, rec); n < 8000 || level < 1000 {
		t.Errorf("our recording of baresip's sine: %d samples, RMS %.0f", n, level)
	}
	secs, speaker := bs.Speaker()
	if secs < 1 || speaker < 0.1 {
		t.Errorf("baresip played %.1f s of our tone at RMS %.3f: it did not come through SRTP", secs, speaker)
	}
	m := bs.Media()
	if len(m.Suites) != 1 || m.Suites[0] != o.MediaProtection || len(m.Failures) > 0 {
		t.Errorf("baresip's suites %q (failures %q), ours %q", m.Suites, m.Failures, o.MediaProtection)
	}
	// The wire: both directions are there, none of our frames in clear.
	grams, _ := capt.Datagrams()
	plain := testbed.PlainAudio(grams, playedFrames(t, tone, callmedia.PayloadTypePCMU))
	t.Logf("baresip: %q, played %.1f s at RMS %.3f; wire: %d RTP-shaped datagrams, %d with a plain frame of ours", m.Secure, secs, speaker, rtpShaped(grams), plain)
	if rtpShaped(grams) < 200 {
		t.Errorf("captured %d RTP-shaped datagrams, want both directions of a 3 s call", rtpShaped(grams))
	}
	if plain != 0 {
		t.Errorf("%d datagrams carry a PCMU frame of our tone in clear", plain)
	}

	t.Run("text output", func(t *testing.T) {
		// --debug: the most a user can ask cusax to log (plugin logs
		// too). No SDES key in any of it (RFC 4568 §8.3); the backend's
		// own test checks its trace level, where the SDP is logged.
		r := runBin(t, home, nil, "--debug", "call", bs.URI, "--duration", "1s")
		if out := r.stdout + r.stderr; strings.Contains(out, "inline:") || strings.Contains(out, "a=crypto") {
			t.Errorf("the output with --debug holds an a=crypto line")
		}
		if err := bs.WaitClosed(2, 10*time.Second); err != nil {
			t.Fatalf("baresip: %v\n%s", err, bs.Output())
		}
		suites := bs.Media().Suites
		if r.code != 0 || len(suites) != 2 {
			t.Fatalf("exit %d, baresip's suites %q", r.code, suites)
		}
		if want := "media\tSRTP " + suites[1] + " (SDES)\n"; !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
		if !strings.Contains(r.stderr, "cusax: media: SRTP "+suites[1]+" (SDES)") {
			t.Errorf("stderr: %q", r.stderr)
		}
	})
	t.Logf("wall time %s", time.Since(start).Round(time.Millisecond))
}

// answerMedia is the media part of a `cusax answer --json` report.
type answerMedia struct {
	MediaProtection  string `json:"media_protection"`
	MediaKeying      string `json:"media_keying"`
	SRTPAuthFailures int64  `json:"srtp_auth_failures"`
}

func (p *cusaxProc) mediaOf(t *testing.T, n int) answerMedia {
	t.Helper()
	var m answerMedia
	if err := json.Unmarshal([]byte(p.output()[n-1]), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestAnswerSRTPFromBaresip: `cusax answer` on an account over TLS takes
// a call from a baresip that offers SRTP only (srtp-mand) through
// Kamailio over TLS: the report names the suite baresip names, keyed by
// sdes; our greeting reaches baresip's speaker and its sine our
// recording; none of the greeting's frames crosses the wire in clear.
func TestAnswerSRTPFromBaresip(t *testing.T) {
	start := time.Now()
	bed := md5Bed(t)
	home := tlsAccount(t, bed, "srtpans")
	dir := t.TempDir()
	greeting, rec := filepath.Join(dir, "greeting.wav"), filepath.Join(dir, "rec.wav")
	writeTone(t, greeting, 1000, 3*time.Second)
	// The baresip caller is no contact of ours: accept it all the same.
	p := startAnswer(t, home, nil, "--max-calls", "1", "--accept", "unknown,not-in-roster", "--play", greeting, "--record", rec, "--duration", "30s")
	bs := bed.StartBaresipSRTP(t, testbed.BaresipSRTPOptions{User: addUser(t, bed, "srtpbsc"), MediaEnc: "srtp-mand"})
	in := func(port int) bool { return port >= bs.RTPPorts[0] && port <= bs.RTPPorts[1] }
	capt := testbed.StartUDPCapture(t, inRange(bs.RTPPorts[0], bs.RTPPorts[1]))
	if err := bs.Dial("sip:srtpans@" + bed.Domain); err != nil {
		t.Fatal(err)
	}
	// baresip hangs up once it has played our 3 s greeting (our BYE
	// could not reach it: baresip 1.0's TLS listener fails Kamailio's
	// handshake, see plugins/sip/answer_srtp_bed_test.go).
	if err := pollUntil(30*time.Second, func() bool { s, _ := bs.Speaker(); return s >= 3.2 }); err != nil {
		t.Fatalf("baresip did not play 3 s of our greeting: %v\n%s\ncusax: %s", err, bs.Output(), p.stderr.String())
	}
	if err := bs.Hangup(); err != nil {
		t.Fatal(err)
	}
	r := p.report(t, 1, 20*time.Second)
	md := p.mediaOf(t, 1)
	if code := p.wait(t, 10*time.Second); code != 0 {
		t.Errorf("exit %d after --max-calls 1, want 0: %s", code, p.stderr.String())
	}
	if err := bs.WaitClosed(1, 10*time.Second); err != nil {
		t.Fatalf("baresip: %v\n%s", err, bs.Output())
	}
	capt.Stop()
	m := bs.Media()
	secs, speaker := bs.Speaker()
	if r.Action != "answered" || r.HungUpBy != "caller" || !slices.Contains(srtpSuites, md.MediaProtection) || md.MediaKeying != "sdes" {
		t.Errorf("report %+v, media %+v: want answered with SDES-SRTP, hung up by baresip", r, md)
	}
	if len(m.Suites) != 1 || m.Suites[0] != md.MediaProtection || len(m.Failures) > 0 {
		t.Errorf("baresip's suites %q (failures %q), ours %q", m.Suites, m.Failures, md.MediaProtection)
	}
	if r.RTPSent < 100 || r.RTPReceived < 100 || md.SRTPAuthFailures != 0 {
		t.Errorf("rtp sent %d, received %d, auth failures %d", r.RTPSent, r.RTPReceived, md.SRTPAuthFailures)
	}
	if speaker < 0.1 {
		t.Errorf("baresip played our greeting at RMS %.3f: it did not come through SRTP", speaker)
	}
	if n, level := wavRMS(t, rec); n < 8000 || level < 300 {
		t.Errorf("our recording: %d samples, RMS %.0f: want baresip's sine", n, level)
	}
	if strings.Contains(p.stderr.String(), "in clear") {
		t.Errorf("stderr warns of clear media: %s", p.stderr.String())
	}
	grams, _ := capt.Datagrams()
	var fromUs []testbed.Datagram
	for _, d := range grams {
		if in(int(d.Dst.Port())) && !in(int(d.Src.Port())) && rtpShaped([]testbed.Datagram{d}) == 1 {
			fromUs = append(fromUs, d)
		}
	}
	plain := testbed.PlainAudio(fromUs, playedFrames(t, greeting, callmedia.PayloadTypePCMU))
	t.Logf("report %s by %s, rtp %d/%d; baresip %q, played %.1f s at RMS %.3f; wire: %d of our packets, %d with a plain greeting frame",
		md.MediaProtection, md.MediaKeying, r.RTPSent, r.RTPReceived, m.Secure, secs, speaker, len(fromUs), plain)
	if len(fromUs) < 100 {
		t.Errorf("captured %d of our packets to baresip, want >= 100", len(fromUs))
	}
	if plain != 0 {
		t.Errorf("%d of our packets carry a plain PCMU frame of the greeting", plain)
	}
	t.Logf("wall time %s", time.Since(start).Round(time.Millisecond))
}

// pollUntil polls ok every 50 ms until it holds or d has passed.
func pollUntil(d time.Duration, ok func() bool) error {
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			return context.DeadlineExceeded
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}

// jsonError is the error object `--json` puts on stderr's last line.
type jsonError struct {
	Error    string   `json:"error"`
	ExitCode int      `json:"exit_code"`
	Hints    []string `json:"hints"`
}

func lastJSONError(t *testing.T, stderr string) jsonError {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	var e jsonError
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &e); err != nil {
		t.Fatalf("stderr's last line is not the JSON error: %v\n%s", err, stderr)
	}
	return e
}

// errorLines are stderr's "cusax: error:" and "cusax: hint:" lines.
func errorLines(stderr string) (errs, hints []string) {
	for _, l := range strings.Split(stderr, "\n") {
		switch {
		case strings.HasPrefix(l, "cusax: error: "):
			errs = append(errs, l)
		case strings.HasPrefix(l, "cusax: hint: "):
			hints = append(hints, l)
		}
	}
	return errs, hints
}

// TestCallSRTPPlainCallee: over TLS, a callee that answers plain RTP
// (sipp) to our SRTP offer. With media_encryption = "srtp" in the config,
// and with the default ("" over TLS), the call is refused: exit 14, one
// error line and the hint that fixes it (the JSON error object with
// --json), sipp got our ACK and BYE and no RTP. With --media-encryption
// optional the call goes on in clear: exit 0, media_protection "none",
// a warning on stderr, uncoloured when NO_COLOR is set; the tap sees our
// frames in clear (the control of the wire checks of the SRTP tests).
func TestCallSRTPPlainCallee(t *testing.T) {
	start := time.Now()
	bed := testbed.Shared(t)
	home := tlsAccount(t, bed, "srtpplain")
	uri := func(u *testbed.SippUAS) string { return u.URI }

	t.Run("refused", func(t *testing.T) {
		uas := bed.StartSippUAS(t, testbed.SippUASOptions{User: addUser(t, bed, "plainref"), Answer: 200, Media: "echo", Calls: 3})
		for _, tc := range []struct {
			name, setting string
			json          bool
		}{{"srtp", "srtp", false}, {"srtp --json", "srtp", true}, {"default over TLS", "", false}} {
			setMediaAccount(t, home, tlsProxy(bed), tc.setting)
			args := []string{"call", uri(uas), "--duration", "1s"}
			if tc.json {
				args = append(args, "--json")
			}
			r := runBin(t, home, nil, args...)
			if r.code != cmdutil.ExitMediaInsecure || r.stdout != "" {
				t.Errorf("%s: exit %d, stdout %q: want 14 and nothing on stdout", tc.name, r.code, r.stdout)
				continue
			}
			if tc.json {
				e := lastJSONError(t, r.stderr)
				if e.ExitCode != 14 || !strings.Contains(e.Error, "RTP/AVP") || len(e.Hints) != 1 || !strings.Contains(e.Hints[0], `media_encryption = "optional"`) {
					t.Errorf("%s: JSON error %+v", tc.name, e)
				}
				continue
			}
			errs, hints := errorLines(r.stderr)
			if len(errs) != 1 || !strings.Contains(errs[0], "call "+uri(uas)) || !strings.Contains(errs[0], "RTP/AVP") {
				t.Errorf("%s: error lines %q: want one naming the call and the plain answer", tc.name, errs)
			}
			if len(hints) != 1 || !strings.Contains(hints[0], `set media_encryption = "optional" in the [account.sip] table of account "lab", or --media-encryption optional`) {
				t.Errorf("%s: hint lines %q", tc.name, hints)
			}
		}
		// sipp's scenario passes only with our ACK and then our BYE.
		res, err := uas.Wait(15 * time.Second)
		if err != nil {
			t.Fatalf("sipp did not see ACK and BYE for each call: %v", err)
		}
		if res.RTPReceived != 0 {
			t.Errorf("sipp received %d RTP packets from refused calls", res.RTPReceived)
		}
		inv := uas.Invites()
		if len(inv) != 3 {
			t.Errorf("%d INVITEs, want 3", len(inv))
		}
		for i, m := range inv {
			if b := testbed.SDPBody(m); !strings.Contains(b, "RTP/SAVP") || !strings.Contains(b, "a=crypto:") {
				t.Errorf("INVITE %d is not an SRTP offer:\n%s", i, b)
			}
		}
	})

	t.Run("optional", func(t *testing.T) {
		setMediaAccount(t, home, tlsProxy(bed), "")
		uas := bed.StartSippUAS(t, testbed.SippUASOptions{User: addUser(t, bed, "plainopt"), Answer: 200, Media: "echo", Calls: 3})
		tone := filepath.Join(t.TempDir(), "tone.wav")
		writeTone(t, tone, 1000, time.Second)
		capt := testbed.StartUDPCapture(t, func(_, dst int) bool { return dst == uas.MediaPort })
		r := runBin(t, home, nil, "call", uri(uas), "--media-encryption", "optional", "--play", tone, "--json")
		capt.Stop()
		o := decodeSRTPOutcome(t, r)
		if r.code != 0 || !o.Answered || o.MediaProtection != "none" || o.MediaKeying != "" {
			t.Errorf("exit %d, outcome %+v: want answered with media_protection none", r.code, o)
		}
		if !strings.Contains(r.stderr, "cusax: warning: media in clear (plain RTP): ") || strings.Contains(r.stderr, "\x1b[") {
			t.Errorf("stderr: %q: want the warning, uncoloured off a terminal", r.stderr)
		}
		pt := callmedia.PayloadTypePCMU
		if o.Codec == "PCMA" {
			pt = callmedia.PayloadTypePCMA
		}
		grams, _ := capt.Datagrams()
		plain := testbed.PlainAudio(grams, playedFrames(t, tone, pt))
		t.Logf("%s call in clear: %d datagrams to sipp, %d with a plain frame of our tone", o.Codec, len(grams), plain)
		if plain < 30 {
			t.Errorf("only %d datagrams to sipp carry our frames in clear: the tap should see them", plain)
		}

		// CLICOLOR_FORCE colours the warning (the control); NO_COLOR
		// wins over it (no-color.org).
		for _, tc := range []struct {
			env  []string
			want bool
		}{{[]string{"CLICOLOR_FORCE=1"}, true}, {[]string{"CLICOLOR_FORCE=1", "NO_COLOR=1"}, false}} {
			r := runBin(t, home, tc.env, "call", uri(uas), "--media-encryption", "optional", "--duration", "300ms")
			warn := ""
			for _, l := range strings.Split(r.stderr, "\n") {
				if strings.Contains(l, "media in clear") {
					warn = l
				}
			}
			if r.code != 0 || warn == "" || strings.Contains(warn, "\x1b[") != tc.want {
				t.Errorf("%v: exit %d, warning %q: escape codes %v wanted", tc.env, r.code, warn, tc.want)
			}
			if !tc.want && strings.Contains(r.stderr+r.stdout, "\x1b[") {
				t.Errorf("%v: escape codes in the output:\n%q\n%q", tc.env, r.stdout, r.stderr)
			}
		}
		if _, err := uas.Wait(15 * time.Second); err != nil {
			t.Errorf("sipp: %v", err)
		}
	})
	t.Logf("wall time %s", time.Since(start).Round(time.Millisecond))
}

// TestCallNoKeysOverUDP: an account whose SIP goes over UDP, or TCP,
// never sends an SDES key (RFC 4568 §8.3: whoever reads the signalling
// reads the key). "srtp" (in the config or as the flag) is refused before
// any INVITE (exit 14, the hint names TLS); "optional", "none" and the
// default call with a plain offer: no a=crypto, no RTP/SAVP, no inline:.
func TestCallNoKeysOverUDP(t *testing.T) {
	start := time.Now()
	bed := testbed.Shared(t)
	for tr, proxy := range map[string]string{
		"udp": "sip:" + bed.SIPUDPAddr + ";transport=udp",
		"tcp": "sip:" + bed.SIPTCPAddr + ";transport=tcp",
	} {
		t.Run(tr, func(t *testing.T) {
			home := bedAccount(t, bed, "nokeys"+tr, proxy)
			uas := bed.StartSippUAS(t, testbed.SippUASOptions{User: addUser(t, bed, "nokeyscallee"+tr), Answer: 200, Media: "echo", Calls: 3})
			for _, how := range [][]string{{"config"}, {"flag", "--media-encryption", "srtp"}} {
				setting := ""
				if how[0] == "config" {
					setting = "srtp"
				}
				setMediaAccount(t, home, proxy, setting)
				r := runBin(t, home, nil, append([]string{"call", uas.URI, "--duration", "300ms"}, how[1:]...)...)
				errs, hints := errorLines(r.stderr)
				if r.code != cmdutil.ExitMediaInsecure || len(errs) != 1 || !strings.Contains(errs[0], "needs SIP over TLS") ||
					len(hints) == 0 || !strings.Contains(hints[0], ";transport=tls") {
					t.Errorf("srtp by %s over %s: exit %d, errors %q, hints %q", how[0], tr, r.code, errs, hints)
				}
			}
			setMediaAccount(t, home, proxy, "")
			for _, flag := range [][]string{{"--media-encryption", "optional"}, {"--media-encryption", "none"}, nil} {
				r := runBin(t, home, nil, append([]string{"call", uas.URI, "--duration", "300ms", "--json"}, flag...)...)
				o := decodeSRTPOutcome(t, r)
				if r.code != 0 || !o.Answered || o.MediaProtection != "none" {
					t.Errorf("%v over %s: exit %d, outcome %+v", flag, tr, r.code, o)
				}
				if !strings.Contains(r.stderr, "media in clear") {
					t.Errorf("%v over %s: no warning: %q", flag, tr, r.stderr)
				}
			}
			if _, err := uas.Wait(15 * time.Second); err != nil {
				t.Errorf("sipp: %v", err)
			}
			// The two "srtp" attempts sent nothing: three calls arrived.
			inv := uas.Invites()
			if len(inv) != 3 {
				t.Fatalf("%d INVITEs reached the callee, want 3", len(inv))
			}
			for i, m := range inv {
				b := testbed.SDPBody(m)
				if !strings.Contains(b, "m=audio") || !strings.Contains(b, "RTP/AVP") {
					t.Errorf("INVITE %d has no plain audio offer:\n%s", i, m)
				}
				if strings.Contains(strings.ToLower(m), "a=crypto") || strings.Contains(m, "RTP/SAVP") || strings.Contains(m, "inline:") {
					t.Errorf("INVITE %d over %s carries SRTP keying:\n%s", i, tr, m)
				}
			}
		})
	}
	t.Logf("wall time %s", time.Since(start).Round(time.Millisecond))
}

// TestCallSRTPCusaxToCusax: `cusax call` to `cusax answer`, both over
// TLS with the default setting: both ends report the same suite keyed by
// sdes, each hears the other, and neither's frames cross the wire in
// clear.
func TestCallSRTPCusaxToCusax(t *testing.T) {
	start := time.Now()
	bed := testbed.Shared(t)
	callee, callerHome := tlsAccount(t, bed, "srtpc2c"), tlsAccount(t, bed, "srtpc2ccaller")
	dir := t.TempDir()
	greeting, message := filepath.Join(dir, "greeting.wav"), filepath.Join(dir, "message.wav")
	writeTone(t, greeting, 1000, 2*time.Second)
	writeTone(t, message, 500, 2*time.Second)
	p := startAnswer(t, callee, nil, "--max-calls", "1", "--accept", "unknown,not-in-roster", "--play", greeting,
		"--record", filepath.Join(dir, "vm.wav"), "--duration", "10s")
	// Every loopback datagram: the media ports are known only afterwards.
	capt := testbed.StartUDPCapture(t, func(int, int) bool { return true })
	heard := filepath.Join(dir, "heard.wav")
	r := runBin(t, callerHome, nil, "call", "sip:srtpc2c@"+bed.Domain, "--play", message, "--record", heard, "--duration", "3s", "--json")
	capt.Stop()
	o := decodeSRTPOutcome(t, r)
	rep := p.report(t, 1, 15*time.Second)
	md := p.mediaOf(t, 1)
	if code := p.wait(t, 10*time.Second); code != 0 {
		t.Errorf("answer: exit %d", code)
	}
	if r.code != 0 || !o.Answered || !slices.Contains(srtpSuites, o.MediaProtection) || o.MediaKeying != "sdes" {
		t.Fatalf("call: exit %d, outcome %+v", r.code, o)
	}
	if rep.Action != "answered" || md.MediaProtection != o.MediaProtection || md.MediaKeying != "sdes" || md.SRTPAuthFailures != 0 || o.SRTPAuthFailures != 0 {
		t.Errorf("answer's report %+v, media %+v; the caller's %s by %s", rep, md, o.MediaProtection, o.MediaKeying)
	}
	if n, level := wavRMS(t, heard); n < 8000 || level < 1000 {
		t.Errorf("the caller heard %d samples at RMS %.0f", n, level)
	}
	if n, level := wavRMS(t, filepath.Join(dir, "vm.wav")); n < 8000 || level < 1000 {
		t.Errorf("the answerer recorded %d samples at RMS %.0f", n, level)
	}
	peer, err := netip.ParseAddrPort(o.MediaPeer)
	if err != nil {
		t.Fatalf("media_peer %q: %v", o.MediaPeer, err)
	}
	grams, _ := capt.Datagrams()
	var media []testbed.Datagram
	for _, d := range grams {
		if d.Src == peer || d.Dst == peer {
			media = append(media, d)
		}
	}
	pt := callmedia.PayloadTypePCMU
	if o.Codec == "PCMA" {
		pt = callmedia.PayloadTypePCMA
	}
	frames := append(playedFrames(t, message, pt), playedFrames(t, greeting, pt)...)
	plain := testbed.PlainAudio(media, frames)
	t.Logf("both ends: %s by %s; wire: %d datagrams to or from %s, %d RTP-shaped, %d with a plain frame", o.MediaProtection, md.MediaKeying, len(media), peer, rtpShaped(media), plain)
	if rtpShaped(media) < 200 {
		t.Errorf("captured %d RTP-shaped datagrams of the call, want both directions", rtpShaped(media))
	}
	if plain != 0 {
		t.Errorf("%d datagrams carry a frame of either tone in clear", plain)
	}
	t.Logf("wall time %s", time.Since(start).Round(time.Millisecond))
}
