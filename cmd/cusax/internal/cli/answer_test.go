//go:build linux

package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cusax/cusax/cmd/cusax/internal/jsoncheck"
	"github.com/cusax/cusax/internal/testbed"
	"github.com/cusax/cusax/pkg/media"
)

// The "Must show" list of issue 15 against the real servers: the real
// cusax binary runs `cusax answer` registered at the bed's Kamailio, and
// real callers (sipp, baresip) call it through Kamailio.

// answerReport is one `cusax answer --json` line (docs/answer.md).
type answerReport struct {
	CallID          string     `json:"call_id"`
	Caller          string     `json:"caller"`
	Contact         string     `json:"contact"`
	Verdict         string     `json:"verdict"`
	Action          string     `json:"action"`
	Status          int        `json:"status_code"`
	AnsweredAt      *time.Time `json:"answered_at"`
	DurationMS      int64      `json:"duration_ms"`
	HungUpBy        string     `json:"hung_up_by"`
	Digits          string     `json:"digits"`
	Recorded        string     `json:"recorded"`
	RecordedSamples int64      `json:"recorded_samples"`
	RTPSent         int64      `json:"rtp_sent"`
	RTPReceived     int64      `json:"rtp_received"`
	Codec           string     `json:"codec"`
	Error           string     `json:"error"`
	Decision        struct {
		Verdict string      `json:"verdict"`
		Policy  string      `json:"policy"`
		Reason  string      `json:"reason"`
		Chain   []chainStep `json:"chain"`
	} `json:"decision"`
	Exec *struct {
		On         string `json:"on"`
		ExitStatus *int   `json:"exit_status"`
		TimedOut   bool   `json:"timed_out"`
		Error      string `json:"error"`
	} `json:"exec"`
}

// startAnswer runs the real binary as `cusax [global] answer --json ARGS`
// and waits until it has registered.
func startAnswer(t *testing.T, home string, global []string, args ...string) *cusaxProc {
	t.Helper()
	p := startCusax(t, home, false, append(append(global, "answer", "--json"), args...)...)
	waitFor(t, "cusax answer to register", 20*time.Second, func() bool {
		select {
		case <-p.exited:
			t.Fatalf("cusax answer exited %d before answering: %s", p.code, p.stderr.String())
		default:
		}
		return strings.Contains(p.stderr.String(), "answering calls to")
	})
	return p
}

// report waits for the n-th (from 1) JSON line and decodes it.
func (p *cusaxProc) report(t *testing.T, n int, d time.Duration) answerReport {
	t.Helper()
	waitFor(t, "call report "+strconv.Itoa(n), d, func() bool { return len(p.output()) >= n })
	line := p.output()[n-1]
	jsoncheck.Validate(t, line)
	var r answerReport
	if err := json.Unmarshal([]byte(line), &r); err != nil {
		t.Fatalf("report %d is not JSON: %v: %s", n, err, line)
	}
	t.Logf("report %d: %s", n, line)
	return r
}

// reportFor waits for the report on call id (calls handled at once may
// end in any order).
func (p *cusaxProc) reportFor(t *testing.T, id string, d time.Duration) answerReport {
	t.Helper()
	var r answerReport
	waitFor(t, "the report on "+id, d, func() bool {
		for _, l := range p.output() {
			var one answerReport
			if json.Unmarshal([]byte(l), &one) == nil && one.CallID == id {
				r = one
				return true
			}
		}
		return false
	})
	return r
}

func callID(prefix string) string {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b) + "@sipp"
}

// writeGreeting writes d of a 440 Hz tone (about -12 dBFS), 16-bit 8 kHz.
func writeGreeting(t *testing.T, path string, d time.Duration) {
	t.Helper()
	s := make([]int16, int(d.Seconds()*media.TelephonyRate))
	for i := range s {
		s[i] = int16(8000 * math.Sin(2*math.Pi*440*float64(i)/media.TelephonyRate))
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := media.WriteWAV(f, media.TelephonyRate, s); err != nil {
		t.Fatal(err)
	}
}

func rms(s []int16) float64 {
	if len(s) == 0 {
		return 0
	}
	var sum float64
	for _, v := range s {
		sum += float64(v) * float64(v)
	}
	return math.Sqrt(sum / float64(len(s)))
}

// sippCall places one sipp call in the background.
func sippCall(ctx context.Context, bed *testbed.Bed, opts testbed.SippCallOptions) <-chan sippOutcome {
	ch := make(chan sippOutcome, 1)
	go func() {
		res, err := bed.SippCall(ctx, opts)
		ch <- sippOutcome{res, err}
	}()
	return ch
}

type sippOutcome struct {
	res testbed.SippCallResult
	err error
}

func (o sippOutcome) must(t *testing.T) testbed.SippCallResult {
	t.Helper()
	if o.err != nil {
		t.Fatalf("sipp: %v", o.err)
	}
	return o.res
}

// TestAnswerSippGreetingAndRecording: a sipp caller through Kamailio is
// answered with an SDP answer sipp can use: the 1 s greeting reaches it
// (its RTP echo count), and in a second call its audio, sent to the
// address our SDP answer gives, is recorded (sample count and RMS). sipp's
// BYE ends each call ("hung_up_by": "caller"), --max-calls 1 exits 0, and
// a recording never replaces, nor writes through, a symlink at its name.
func TestAnswerSippGreetingAndRecording(t *testing.T) {
	bed := testbed.Shared(t)
	c := newCaller(t, bed, "ansgreet", "")
	me := "sip:" + c.name + "@" + bed.Domain
	dir := t.TempDir()
	greeting := filepath.Join(dir, "greeting.wav")
	writeGreeting(t, greeting, time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	// --duration keeps the call up after the greeting: the caller ends it.
	common := []string{"--max-calls", "1", "--duration", "30s", "--record", filepath.Join(dir, "{call_id}.wav")}

	t.Run("greeting reaches sipp", func(t *testing.T) {
		p := startAnswer(t, c.home, nil, append(common, "--play", greeting)...)
		id := callID("grt")
		res := (<-sippCall(ctx, bed, testbed.SippCallOptions{From: "bob", To: me, CallID: id, Echo: true, Hold: 2 * time.Second})).must(t)
		r := p.report(t, 1, 10*time.Second)
		if code := p.wait(t, 10*time.Second); code != 0 {
			t.Errorf("exit %d after --max-calls 1, want 0: %s", code, p.stderr.String())
		}
		if r.CallID != id || r.Action != "answered" || r.Status != 200 || r.HungUpBy != "caller" || r.AnsweredAt == nil ||
			r.Verdict != "verified-by-scan" || (r.Codec != "PCMA" && r.Codec != "PCMU") {
			t.Errorf("report %+v: want call %s answered 200, hung up by the caller", r, id)
		}
		// 1 s of greeting is 50 packets of 20 ms; all sipp got came from us.
		if res.RTPEchoed < 50 || r.RTPSent < res.RTPEchoed {
			t.Errorf("sipp received %d RTP packets of the %d sent: want at least the greeting's 50", res.RTPEchoed, r.RTPSent)
		}
		t.Logf("sipp INVITE→200 %s; RTP sent %d, sipp echoed %d, received %d", res.Setup, r.RTPSent, res.RTPEchoed, r.RTPReceived)
	})

	t.Run("sipp's audio recorded", func(t *testing.T) {
		id := callID("rec")
		// Already taken, by a symlink to another file: the recording
		// goes beside it, never through it.
		taken, victim := filepath.Join(dir, id+".wav"), filepath.Join(t.TempDir(), "victim")
		if err := os.WriteFile(victim, []byte("keep"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(victim, taken); err != nil {
			t.Fatal(err)
		}
		p := startAnswer(t, c.home, nil, common...)
		(<-sippCall(ctx, bed, testbed.SippCallOptions{From: "bob", To: me, CallID: id, Audio: true, Hold: 3 * time.Second})).must(t)
		r := p.report(t, 1, 10*time.Second)
		if code := p.wait(t, 10*time.Second); code != 0 {
			t.Errorf("exit %d after --max-calls 1, want 0", code)
		}
		if r.Action != "answered" || r.HungUpBy != "caller" || r.RTPReceived == 0 {
			t.Errorf("report %+v: want answered, RTP received, hung up by the caller", r)
		}
		if b, _ := os.ReadFile(victim); string(b) != "keep" {
			t.Errorf("the recording was written through the symlink at %s", taken)
		}
		if fi, err := os.Lstat(taken); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Errorf("the symlink at %s was replaced: %v", taken, err)
		}
		if want := filepath.Join(dir, id+"-2.wav"); r.Recorded != want {
			t.Fatalf("recorded to %q, want %q", r.Recorded, want)
		}
		f, err := os.Open(r.Recorded)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		pcm, err := media.ReadWAV(f)
		if err != nil {
			t.Fatal(err)
		}
		s := pcm.Mono8k()
		level := rms(s)
		// sipp plays its recording for the 3 s before its BYE: at least
		// 2 s of it, no more than the call lasted, louder than silence.
		most := r.DurationMS*media.TelephonyRate/1000 + media.TelephonyRate/5
		if int64(len(s)) != r.RecordedSamples || r.RecordedSamples < 2*media.TelephonyRate || r.RecordedSamples > most || level < 300 {
			t.Errorf("recorded %d samples (report: %d; the call allows %d), RMS %.0f: want sipp's audio", len(s), r.RecordedSamples, most, level)
		}
		t.Logf("recorded %d samples (%.2f s) of a %d ms call, RMS %.0f", len(s), float64(len(s))/media.TelephonyRate, r.DurationMS, level)
	})
}

// TestAnswerBaresipDigits: baresip (a real softphone; an MD5 bed, as
// baresip 1.0 computes no SHA-256 digest) calls through Kamailio and
// presses 1234#: `--digits 4 --until '#'` reports 1234 and hangs up.
func TestAnswerBaresipDigits(t *testing.T) {
	bed := testbed.Start(t, testbed.Options{SIPDigestAlgorithm: "MD5"})
	c := newCaller(t, bed, "ansdtmf", "")
	p := startAnswer(t, c.home, nil, "--max-calls", "1", "--digits", "4", "--until", "#", "--duration", "30s")
	phone := bed.StartBaresipCaller(t, "bob")
	if err := phone.Command("dial", "sip:"+c.name+"@"+bed.Domain); err != nil {
		t.Fatal(err)
	}
	if err := phone.WaitEstablished(15 * time.Second); err != nil {
		t.Fatalf("baresip: %v\n%s\ncusax: %s", err, phone.Output(), p.stderr.String())
	}
	// Key presses as a person makes them, one after another; the 4th digit
	// may end the call before '#' is sent.
	for _, d := range "1234#" {
		_ = phone.Command("sndcode", string(d))
		time.Sleep(300 * time.Millisecond)
	}
	r := p.report(t, 1, 15*time.Second)
	if code := p.wait(t, 10*time.Second); code != 0 {
		t.Errorf("exit %d, want 0", code)
	}
	if r.Digits != "1234" || r.Action != "answered" || r.HungUpBy != "us" || r.RTPReceived == 0 {
		t.Errorf("report %+v: want digits 1234, hung up by us\n%s", r, phone.Output())
	}
}

// TestAnswerVerdictRouting: a caller the roster proves (Call-Info
// confirmed by the vCard) is answered; a caller whose Call-Info names
// someone else (a spoof) gets 603 and no media; an anonymous caller,
// whom --accept would take, is refused by a third-party policy plugin,
// named in the JSON decision chain; --reject-with busy and unavailable
// reach the caller as 486 and 480.
func TestAnswerVerdictRouting(t *testing.T) {
	bed := testbed.Shared(t)
	c := newCaller(t, bed, "ansroute", "")
	me := "sip:" + c.name + "@" + bed.Domain
	plugins := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(plugins, "cusax-plugin-policy-noanon"), "github.com/cusax/cusax/internal/testplugins/noanon")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build noanon: %v\n%s", err, b)
	}
	setPolicies(t, c.home, []string{"noanon"}, nil, "")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	p := startAnswer(t, c.home, []string{"--plugin-dir", plugins}, "--max-calls", "3", "--accept", "verified,anonymous")
	hint := "Call-Info: <xmpp:bob@" + bed.Domain + ">;purpose=impp"

	id := callID("ver")
	res := (<-sippCall(ctx, bed, testbed.SippCallOptions{From: "bob", To: me, CallID: id, Headers: []string{hint}, Echo: true, Hold: time.Second})).must(t)
	r := p.report(t, 1, 10*time.Second)
	if r.CallID != id || r.Verdict != "verified" || r.Action != "answered" || r.Status != 200 || r.Decision.Verdict != "allow" || res.RTPEchoed == 0 {
		t.Errorf("verified caller: %+v, sipp echoed %d RTP packets: want answered with media", r, res.RTPEchoed)
	}

	id = callID("spf")
	if _, err := bed.SippInvite(ctx, testbed.SippInviteOptions{From: "alice", To: me, CallID: id, Headers: []string{hint}, ExpectStatus: 603}); err != nil {
		t.Errorf("spoofed caller: %v", err)
	}
	r = p.report(t, 2, 10*time.Second)
	if r.CallID != id || r.Verdict != "mismatch" || r.Action != "rejected" || r.Status != 603 || r.Decision.Verdict != "deny" ||
		r.AnsweredAt != nil || r.RTPSent != 0 || r.RTPReceived != 0 {
		t.Errorf("spoofed caller: %+v: want rejected 603, no media", r)
	}

	id = callID("anon")
	if _, err := bed.SippInvite(ctx, testbed.SippInviteOptions{From: "bob", To: me, CallID: id,
		FromHeader: `"Anonymous" <sip:anonymous@anonymous.invalid>`, Headers: []string{"Privacy: id"}, ExpectStatus: 603}); err != nil {
		t.Errorf("anonymous caller: %v", err)
	}
	r = p.report(t, 3, 10*time.Second)
	if r.CallID != id || r.Verdict != "anonymous" || r.Action != "rejected" || r.Status != 603 ||
		r.Decision.Verdict != "deny" || r.Decision.Policy != "noanon" || !strings.Contains(trail(r.Decision.Chain), "noanon deny") || r.RTPSent != 0 {
		t.Errorf("anonymous caller: %+v (chain %s): want refused by noanon, in the chain", r, trail(r.Decision.Chain))
	}
	if code := p.wait(t, 10*time.Second); code != 0 {
		t.Errorf("exit %d after 3 calls, want 0", code)
	}

	// A caller outside the roster, refused as --reject-with says.
	for flag, status := range map[string]int{"busy": 486, "unavailable": 480} {
		p := startAnswer(t, c.home, []string{"--plugin-dir", plugins}, "--max-calls", "1", "--reject-with", flag)
		id := callID("rej")
		if _, err := bed.SippInvite(ctx, testbed.SippInviteOptions{From: "alice", To: me, CallID: id, ExpectStatus: status}); err != nil {
			t.Errorf("--reject-with %s: %v", flag, err)
		}
		if r := p.report(t, 1, 10*time.Second); r.Verdict != "unknown" || r.Action != "rejected" || r.Status != status || r.Decision.Policy != "--accept" {
			t.Errorf("--reject-with %s: %+v", flag, r)
		}
		if code := p.wait(t, 10*time.Second); code != 0 {
			t.Errorf("exit %d, want 0", code)
		}
	}
}

// handlerOutEnv names the directory where TestAnswerHandlerProcess, run
// as cusax answer's --exec handler, writes what it saw.
const handlerOutEnv = "CUSAX_TEST_ANSWER_HANDLER_OUT"

// TestAnswerHandlerProcess is not a test: it is the --exec handler of
// TestAnswerExec (the test binary re-executed), and does nothing
// otherwise. By the Call-ID's prefix it writes its environment and
// arguments and exits 0 (env…), exits 3 (exit3…), or hangs with a child
// in its process group (hang…).
func TestAnswerHandlerProcess(t *testing.T) {
	out := os.Getenv(handlerOutEnv)
	id := os.Getenv("CUSAX_CALL_ID")
	if out == "" || id == "" {
		return
	}
	var b strings.Builder
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "CUSAX_") && !strings.HasPrefix(kv, handlerOutEnv) {
			b.WriteString(kv + "\n")
		}
	}
	b.WriteString("ARGS=" + strings.Join(flag.Args(), "|") + "\n")
	switch {
	case strings.HasPrefix(id, "hang"):
		child := exec.Command("sleep", "300")
		if err := child.Start(); err != nil {
			os.Exit(1)
		}
		b.WriteString("PIDS=" + strconv.Itoa(os.Getpid()) + " " + strconv.Itoa(child.Process.Pid) + "\n")
		_ = os.WriteFile(filepath.Join(out, id+".env"), []byte(b.String()), 0o644)
		select {}
	case strings.HasPrefix(id, "exit3"):
		_ = os.WriteFile(filepath.Join(out, id+".env"), []byte(b.String()), 0o644)
		os.Exit(3)
	}
	_ = os.WriteFile(filepath.Join(out, id+".env"), []byte(b.String()), 0o644)
	os.Exit(0)
}

func readEnvFile(t *testing.T, path string) map[string]string {
	t.Helper()
	var b []byte
	waitFor(t, "the handler's output "+filepath.Base(path), 10*time.Second, func() bool {
		var err error
		b, err = os.ReadFile(path)
		return err == nil && strings.HasSuffix(string(b), "\n")
	})
	m := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		k, v, _ := strings.Cut(l, "=")
		m[k] = v
	}
	return m
}

// gone reports whether pid no longer runs (it may remain a zombie until
// reaped).
func gone(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	return strings.HasPrefix(rest, "Z")
}

// TestAnswerExec: the --exec handler (argv only, no shell) sees the
// documented variables of a recorded call with digits; a handler that
// exits 3 and one that hangs past --exec-timeout are reported on stderr
// and in the JSON, the hung one killed with its whole process group; the
// next call is still answered.
func TestAnswerExec(t *testing.T) {
	bed := testbed.Shared(t)
	c := newCaller(t, bed, "ansexec", "")
	me := "sip:" + c.name + "@" + bed.Domain
	dir, out := t.TempDir(), t.TempDir()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(handlerOutEnv, out) // inherited by cusax, then by its handler
	// An argument a shell would act on: it must arrive as one word.
	const odd = "x y;$(touch pwned)"
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	p := startAnswer(t, c.home, nil, "--max-calls", "4", "--record", filepath.Join(dir, "{caller}-{call_id}.wav"),
		"--exec-timeout", "2s", "--exec", self, "--", "-test.run=^TestAnswerHandlerProcess$", odd)

	t.Run("variables", func(t *testing.T) {
		id := callID("env")
		(<-sippCall(ctx, bed, testbed.SippCallOptions{From: "bob", To: me, CallID: id, Audio: true, InfoDTMF: "12", Hold: 1500 * time.Millisecond})).must(t)
		r := p.report(t, 1, 15*time.Second)
		env := readEnvFile(t, filepath.Join(out, id+".env"))
		want := map[string]string{
			"CUSAX_EVENT": "end", "CUSAX_ACCOUNT": "lab", "CUSAX_CALL_ID": id, "CUSAX_CALLER": "sip:bob@" + bed.Domain,
			"CUSAX_CONTACT": "bob@" + bed.Domain, "CUSAX_CONTACT_NAME": "Bob Builder", "CUSAX_VERDICT": "verified-by-scan",
			"CUSAX_DECISION": "allow", "CUSAX_ACTION": "answered", "CUSAX_ANSWERED": "1", "CUSAX_STATUS": "200",
			"CUSAX_RECORDING": r.Recorded, "CUSAX_DIGITS": "12", "CUSAX_DURATION_MS": strconv.FormatInt(r.DurationMS, 10),
			"CUSAX_HUNG_UP_BY": "caller", "ARGS": odd,
		}
		for k, v := range want {
			if env[k] != v {
				t.Errorf("%s=%q, want %q", k, env[k], v)
			}
		}
		if r.Recorded == "" || !strings.HasPrefix(filepath.Base(r.Recorded), "bob-"+id) {
			t.Errorf("recorded %q, want %s/bob-%s.wav", r.Recorded, dir, id)
		}
		if r.Exec == nil || r.Exec.ExitStatus == nil || *r.Exec.ExitStatus != 0 {
			t.Errorf("exec %+v, want exit 0", r.Exec)
		}
		if _, err := os.Stat("pwned"); err == nil {
			t.Error("a shell ran the handler's argument")
		}
	})

	t.Run("exits 3", func(t *testing.T) {
		id := callID("exit3")
		(<-sippCall(ctx, bed, testbed.SippCallOptions{From: "bob", To: me, CallID: id, Hold: 500 * time.Millisecond})).must(t)
		r := p.report(t, 2, 15*time.Second)
		if r.Exec == nil || r.Exec.ExitStatus == nil || *r.Exec.ExitStatus != 3 {
			t.Errorf("exec %+v, want exit status 3", r.Exec)
		}
		if !strings.Contains(p.stderr.String(), "call "+id+": --exec exited 3") {
			t.Errorf("exit 3 not reported on stderr:\n%s", p.stderr.String())
		}
	})

	t.Run("hangs past --exec-timeout, the next call answered meanwhile", func(t *testing.T) {
		id := callID("hang")
		(<-sippCall(ctx, bed, testbed.SippCallOptions{From: "bob", To: me, CallID: id, Hold: 500 * time.Millisecond})).must(t)
		env := readEnvFile(t, filepath.Join(out, id+".env"))
		// The hung handler runs now: the next caller is still taken
		// (--concurrency 1 counts calls, not handlers).
		next := callID("next")
		if o := <-sippCall(ctx, bed, testbed.SippCallOptions{From: "bob", To: me, CallID: next, Hold: 500 * time.Millisecond}); o.err != nil {
			t.Errorf("the call after the hung handler's: %v", o.err)
		}
		r := p.reportFor(t, id, 15*time.Second)
		if r.Exec == nil || !r.Exec.TimedOut || r.Exec.ExitStatus != nil {
			t.Errorf("exec %+v, want timed out and killed", r.Exec)
		}
		if !strings.Contains(p.stderr.String(), "call "+id+": --exec still running after --exec-timeout 2s: killed") {
			t.Errorf("the hung handler is not reported on stderr:\n%s", p.stderr.String())
		}
		// The handler and the child it started (its process group) are gone.
		if len(strings.Fields(env["PIDS"])) != 2 {
			t.Errorf("handler pids %q", env["PIDS"])
		}
		for _, f := range strings.Fields(env["PIDS"]) {
			pid, _ := strconv.Atoi(f)
			waitFor(t, "process "+f+" killed", 5*time.Second, func() bool { return gone(pid) })
		}
		r = p.reportFor(t, next, 15*time.Second)
		if r.Action != "answered" || r.Status != 200 || r.Exec == nil || r.Exec.ExitStatus == nil || *r.Exec.ExitStatus != 0 {
			t.Errorf("next call: %+v, want answered and its handler run", r)
		}
		if code := p.wait(t, 10*time.Second); code != 0 {
			t.Errorf("exit %d after 4 calls, want 0", code)
		}
	})
}

// TestAnswerInterruptedWithExecOnAnswer: `--exec-on answer` runs the
// handler while the call is up (CUSAX_EVENT=answer); Ctrl-C then hangs the
// call up with our BYE (sipp waits for it), reports it first
// ("hung_up_by": "host") and exits 130.
func TestAnswerInterruptedWithExecOnAnswer(t *testing.T) {
	bed := testbed.Shared(t)
	c := newCaller(t, bed, "ansint", "")
	out := t.TempDir()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(handlerOutEnv, out)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p := startAnswer(t, c.home, nil, "--duration", "30s", "--exec-on", "answer", "--exec-timeout", "5s",
		"--exec", self, "--", "-test.run=^TestAnswerHandlerProcess$")
	id := callID("int")
	done := sippCall(ctx, bed, testbed.SippCallOptions{From: "bob", To: "sip:" + c.name + "@" + bed.Domain, CallID: id, AwaitBye: true})
	env := readEnvFile(t, filepath.Join(out, id+".env"))
	if env["CUSAX_EVENT"] != "answer" || env["CUSAX_ANSWERED"] != "1" || env["CUSAX_CALL_ID"] != id || env["CUSAX_HUNG_UP_BY"] != "" {
		t.Errorf("the handler saw %v while the call was up", env)
	}
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	(<-done).must(t) // sipp got our BYE
	if code := p.wait(t, 15*time.Second); code != 130 {
		t.Errorf("exit %d after Ctrl-C, want 130", code)
	}
	r := p.reportFor(t, id, time.Second)
	if r.Action != "answered" || r.HungUpBy != "host" || r.Status != 200 || r.DurationMS <= 0 || r.Error != "" || r.Exec == nil || r.Exec.On != "answer" || r.Exec.ExitStatus == nil || *r.Exec.ExitStatus != 0 {
		t.Errorf("report %+v, want answered, hung up by the host, its handler run on answer", r)
	}
}

// TestAnswerRingCancelAndPlayed: with --ring the caller hears 180 and may
// give up (CANCEL, RFC 3261 §9): the call is reported missed, never taken;
// with --play and no other end rule the call ends when the greeting has
// played, with our BYE (sipp waits for it).
func TestAnswerRingCancelAndPlayed(t *testing.T) {
	bed := testbed.Shared(t)
	c := newCaller(t, bed, "ansring", "")
	me := "sip:" + c.name + "@" + bed.Domain
	greeting := filepath.Join(t.TempDir(), "greeting.wav")
	writeGreeting(t, greeting, time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	p := startAnswer(t, c.home, nil, "--max-calls", "1", "--ring", "10s", "--play", greeting)
	id := callID("cnl")
	if _, err := bed.SippInvite(ctx, testbed.SippInviteOptions{From: "bob", To: me, CallID: id, Cancel: true}); err != nil {
		t.Errorf("caller's CANCEL while ringing: %v", err)
	}
	r := p.report(t, 1, 10*time.Second)
	if r.CallID != id || r.Action != "missed" || r.AnsweredAt != nil || r.RTPSent != 0 || r.Error != "" {
		t.Errorf("cancelled call: %+v, want missed, never answered", r)
	}
	if code := p.wait(t, 10*time.Second); code != 0 {
		t.Errorf("exit %d, want 0", code)
	}

	p = startAnswer(t, c.home, nil, "--max-calls", "1", "--play", greeting)
	id = callID("ply")
	(<-sippCall(ctx, bed, testbed.SippCallOptions{From: "bob", To: me, CallID: id, AwaitBye: true})).must(t)
	r = p.report(t, 1, 10*time.Second)
	if r.Action != "answered" || r.HungUpBy != "us" || r.DurationMS < 1000 || r.RTPSent < 50 {
		t.Errorf("played call: %+v, want the 1 s greeting (50 packets) sent, then our BYE", r)
	}
	if code := p.wait(t, 10*time.Second); code != 0 {
		t.Errorf("exit %d, want 0", code)
	}
}

// TestAnswerSilenceAndDigitTimeout: a caller that sends nothing is hung
// up by --silence-hangup, and one that presses no key by --digit-timeout,
// each with our BYE (sipp waits for it); a caller who talks (sipp's
// recording) is not hung up for silence.
func TestAnswerSilenceAndDigitTimeout(t *testing.T) {
	bed := testbed.Shared(t)
	c := newCaller(t, bed, "anssil", "")
	me := "sip:" + c.name + "@" + bed.Domain
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, flags := range [][]string{{"--silence-hangup", "1s"}, {"--digits", "2", "--digit-timeout", "1s"}} {
		t.Run(flags[len(flags)-2], func(t *testing.T) {
			p := startAnswer(t, c.home, nil, append([]string{"--max-calls", "1", "--duration", "20s"}, flags...)...)
			id := callID("sil")
			(<-sippCall(ctx, bed, testbed.SippCallOptions{From: "bob", To: me, CallID: id, AwaitBye: true})).must(t)
			r := p.report(t, 1, 10*time.Second)
			if r.Action != "answered" || r.HungUpBy != "us" || r.DurationMS < 1000 || r.DurationMS > 15000 {
				t.Errorf("%+v: want our BYE after about 1 s", r)
			}
			if code := p.wait(t, 10*time.Second); code != 0 {
				t.Errorf("exit %d, want 0", code)
			}
		})
	}
	t.Run("a talking caller is not silence", func(t *testing.T) {
		p := startAnswer(t, c.home, nil, "--max-calls", "1", "--duration", "20s", "--silence-hangup", "1s")
		(<-sippCall(ctx, bed, testbed.SippCallOptions{From: "bob", To: me, CallID: callID("tlk"), Audio: true, Hold: 3 * time.Second})).must(t)
		r := p.report(t, 1, 10*time.Second)
		if r.Action != "answered" || r.HungUpBy != "caller" || r.RTPReceived < 100 {
			t.Errorf("%+v: want the caller's BYE after 3 s of audio", r)
		}
		if code := p.wait(t, 10*time.Second); code != 0 {
			t.Errorf("exit %d, want 0", code)
		}
	})
}

// TestAnswerHostKilledMidCall: kill -9 of the host alone (not its process
// group) while a call is up: the SIP plugin it started does not outlive
// it, and the caller is not left in a dead call: it gets a BYE.
func TestAnswerHostKilledMidCall(t *testing.T) {
	bed := testbed.Shared(t)
	c := newCaller(t, bed, "anskill", "")
	out := t.TempDir()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(handlerOutEnv, out)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p := startAnswer(t, c.home, nil, "--duration", "60s", "--exec-on", "answer", "--exec-timeout", "5s",
		"--exec", self, "--", "-test.run=^TestAnswerHandlerProcess$")
	id := callID("kil")
	// sipp gives up after 30 s: a BYE must come well before.
	sctx, scancel := context.WithTimeout(ctx, 30*time.Second)
	defer scancel()
	done := sippCall(sctx, bed, testbed.SippCallOptions{From: "bob", To: "sip:" + c.name + "@" + bed.Domain, CallID: id, AwaitBye: true})
	readEnvFile(t, filepath.Join(out, id+".env")) // the call is up
	plugins := testbed.Children(p.cmd.Process.Pid)
	if len(plugins) == 0 {
		t.Fatal("no plugin processes found")
	}
	if err := syscall.Kill(p.cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for _, pid := range plugins {
		waitGone(t, "plugin", pid, 15*time.Second)
	}
	if o := <-done; o.err != nil {
		t.Errorf("the caller got no BYE after the host was killed: %v", o.err)
	}
	t.Logf("plugins gone and the caller released %s after kill -9", time.Since(start).Round(time.Millisecond))
}
