package cli

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/cmd/cusax/internal/jsoncheck"
	"github.com/cusax/cusax/internal/testbed"
	"github.com/cusax/cusax/pkg/media"
)

// caller is a fresh bed user with a seeded roster, logged in with cusax
// (account "lab": XMPP and SIP over UDP, related).
type caller struct {
	name, home string
	password   string
}

// newCaller makes user name with contacts covering the RFC 7081 §3.3–§5
// cases: bob (SIP address + a number, TYPE=video on the SIP one), carol
// (one number), dave on another domain (a number), multi (two numbers, no
// SIP address), and callee (sip: on the bed, for real calls).
func newCaller(t *testing.T, bed *testbed.Bed, name string, callee string) caller {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	users, err := bed.AddUsers(ctx, bed.Domain, name, name+"multi", name+"berlin")
	if err != nil {
		t.Fatal(err)
	}
	roster := []testbed.Contact{
		{JID: "bob@" + bed.Domain, Name: "Bob Builder", Mutual: true},
		{JID: "carol@" + bed.Domain, Name: "Carol"},
		{JID: "dave@" + bed.Domain2, Name: "Dave"},
		{JID: name + "multi@" + bed.Domain, Name: "Multi"},
		{JID: name + "berlin@" + bed.Domain, Name: "Berlin"},
	}
	vc4 := map[string]string{
		"bob": `<vcard xmlns='urn:ietf:params:xml:ns:vcard-4.0'><fn><text>Bob Builder</text></fn>` +
			`<tel><parameters><type><text>voice</text><text>video</text></type></parameters><uri>sip:bob@example.test</uri></tel>` +
			`<tel><parameters><type><text>cell</text></type></parameters><uri>tel:+1-555-0101</uri></tel></vcard>`,
		"dave": `<vcard xmlns='urn:ietf:params:xml:ns:vcard-4.0'><fn><text>Dave</text></fn>` +
			`<tel><parameters><type><text>cell</text></type></parameters><uri>tel:+44 20 7946 0000</uri></tel></vcard>`,
		name + "multi": `<vcard xmlns='urn:ietf:params:xml:ns:vcard-4.0'><fn><text>Multi</text></fn>` +
			`<tel><parameters><type><text>cell</text></type></parameters><uri>tel:+1-555-0102</uri></tel>` +
			`<tel><parameters><type><text>work</text></type></parameters><uri>tel:+1-555-0103</uri></tel></vcard>`,
		// A national number, as people write them (whois-caller --region DE).
		name + "berlin": `<vcard xmlns='urn:ietf:params:xml:ns:vcard-4.0'><fn><text>Berlin</text></fn>` +
			`<tel><parameters><type><text>work</text></type></parameters><text>030 1234567</text></tel></vcard>`,
	}
	if callee != "" {
		roster = append(roster, testbed.Contact{JID: callee + "@" + bed.Domain, Name: "Callee"})
		vc4[callee] = `<vcard xmlns='urn:ietf:params:xml:ns:vcard-4.0'><fn><text>Callee</text></fn>` +
			`<tel><parameters><type><text>voice</text></type></parameters><uri>sip:` + callee + `@example.test</uri></tel></vcard>`
	}
	err = bed.Seed(ctx, testbed.Seed{
		Rosters:   map[string][]testbed.Contact{name: roster},
		VCard4:    vc4,
		VCardTemp: map[string]string{"carol": `<vCard xmlns='vcard-temp'><FN>Carol</FN><TEL><VOICE/><WORK/><NUMBER>+1 555 0100</NUMBER></TEL></vCard>`},
	})
	if err != nil {
		t.Fatalf("seed: %v\n%s", err, bed.Logs())
	}
	c := caller{name: name, home: t.TempDir(), password: users[name].Password}
	r := runCLI(t, c.home, c.password+"\n", loginArgs(bed, name, "sip:"+bed.SIPUDPAddr+";transport=udp")...)
	if r.code != 0 {
		t.Fatalf("login %s: %d\n%s", name, r.code, r.stderr)
	}
	return c
}

func (c caller) call(t *testing.T, args ...string) cliResult {
	t.Helper()
	return runCLI(t, c.home, "", append([]string{"call"}, args...)...)
}

type planJSON struct {
	Target      string `json:"target"`
	Kind        string `json:"kind"`
	Contact     string `json:"contact"`
	Via         string `json:"via"`
	URI         string `json:"uri"`
	From        string `json:"from"`
	Headers     []struct{ Name, Value string }
	NoCallInfo  string                                           `json:"no_call_info"`
	Anonymous   bool                                             `json:"anonymous"`
	PSTN        bool                                             `json:"pstn"`
	InterDomain bool                                             `json:"inter_domain"`
	AccountWhy  struct{ Verdict, Choice, Reason, Policy string } `json:"account_decision"`
	Cost        struct{ Verdict, Reason, Policy string }         `json:"cost_decision"`
}

func decodePlan(t *testing.T, r cliResult) planJSON {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("dry-run exit %d: %s", r.code, r.stderr)
	}
	var p planJSON
	if err := json.Unmarshal([]byte(r.stdout), &p); err != nil {
		t.Fatalf("plan JSON: %v\n%s", err, r.stdout)
	}
	return p
}

// TestCallPlan shows the account-choice, number-choice, header and cost
// rules with --dry-run against the real roster and vCards (nothing is
// dialled).
func TestCallPlan(t *testing.T) {
	bed := testbed.Shared(t)
	c := newCaller(t, bed, "planner", "")
	jid := "planner@" + bed.Domain

	t.Run("contact prefers SIP address, single account, Call-Info", func(t *testing.T) {
		p := decodePlan(t, c.call(t, "bob", "--dry-run", "--json"))
		if p.URI != "sip:bob@example.test" || p.Via != "lab" || p.Contact != "bob@example.test" || p.Kind != "contact" {
			t.Errorf("plan %+v", p)
		}
		if len(p.Headers) != 1 || p.Headers[0].Name != "Call-Info" || p.Headers[0].Value != "<xmpp:"+jid+">;purpose=impp" {
			t.Errorf("headers %+v", p.Headers)
		}
		if p.AccountWhy.Verdict != "allow" || p.Cost.Verdict != "allow" || p.PSTN || p.InterDomain {
			t.Errorf("decisions %+v / %+v", p.AccountWhy, p.Cost)
		}
	})
	t.Run("--number picks the phone number: PSTN needs --yes", func(t *testing.T) {
		p := decodePlan(t, c.call(t, "bob", "--number", "2", "--dry-run", "--json"))
		if !p.PSTN || p.URI != "sip:+15550101@example.test;user=phone" || p.Cost.Verdict != "deny" {
			t.Errorf("plan %+v", p)
		}
		r := c.call(t, "bob", "--number", "2")
		if r.code != cmdutil.ExitDenied || !strings.Contains(r.stderr, "--yes") {
			t.Errorf("PSTN without --yes: exit %d, %s", r.code, r.stderr)
		}
		p = decodePlan(t, c.call(t, "bob", "--number", "tel:+15550101", "--dry-run", "--json", "--yes"))
		if p.Cost.Verdict != "allow" || !strings.Contains(p.Cost.Reason, "--yes") {
			t.Errorf("--yes: %+v", p.Cost)
		}
	})
	t.Run("phone number typed", func(t *testing.T) {
		r := c.call(t, "+1 555 0199", "--ring-timeout", "1s")
		if r.code != cmdutil.ExitDenied {
			t.Errorf("number without --yes: exit %d", r.code)
		}
	})
	t.Run("foreign-domain contact's number is inter-domain", func(t *testing.T) {
		p := decodePlan(t, c.call(t, "Dave", "--dry-run", "--json"))
		if !p.InterDomain || !p.PSTN || p.Cost.Verdict != "deny" || p.URI != "sip:+442079460000@example.test;user=phone" {
			t.Errorf("plan %+v", p)
		}
		if r := c.call(t, "Dave"); r.code != cmdutil.ExitDenied {
			t.Errorf("exit %d", r.code)
		}
	})
	t.Run("several numbers, no terminal: error lists them", func(t *testing.T) {
		r := c.call(t, "Multi", "--dry-run")
		if r.code != cmdutil.ExitUsage || !strings.Contains(r.stderr, "1) tel:+15550102") || !strings.Contains(r.stderr, "2) tel:+15550103") {
			t.Errorf("exit %d: %s", r.code, r.stderr)
		}
	})
	t.Run("--video only to a TYPE=video number", func(t *testing.T) {
		decodePlan(t, c.call(t, "bob", "--video", "--dry-run", "--json"))
		r := c.call(t, "carol", "--video", "--dry-run")
		if r.code != cmdutil.ExitUsage || !strings.Contains(r.stderr, "TYPE=video") {
			t.Errorf("exit %d: %s", r.code, r.stderr)
		}
	})
	t.Run("--no-impp and --anonymous", func(t *testing.T) {
		p := decodePlan(t, c.call(t, "bob", "--no-impp", "--dry-run", "--json"))
		if len(p.Headers) != 0 || p.NoCallInfo != "--no-impp" {
			t.Errorf("--no-impp: %+v", p)
		}
		p = decodePlan(t, c.call(t, "bob", "--anonymous", "--dry-run", "--json"))
		if len(p.Headers) != 0 || !p.Anonymous || p.From != "sip:anonymous@anonymous.invalid" {
			t.Errorf("--anonymous: %+v", p)
		}
	})
	t.Run("allow-list in config", func(t *testing.T) {
		cfgPath := filepath.Join(c.home, "cusax", "config.toml")
		old, err := os.ReadFile(cfgPath)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.WriteFile(cfgPath, old, 0o600) })
		withList := strings.Replace(string(old), "[[account]]", "[calls]\ncost_allow = [\"sip:+44*@example.test*\"]\n\n[[account]]", 1)
		if err := os.WriteFile(cfgPath, []byte(withList), 0o600); err != nil {
			t.Fatal(err)
		}
		p := decodePlan(t, c.call(t, "Dave", "--dry-run", "--json"))
		if p.Cost.Verdict != "allow" || !strings.Contains(p.Cost.Reason, "+44") {
			t.Errorf("allow-listed: %+v\n%s", p.Cost, withList)
		}
	})
	t.Run("two accounts", func(t *testing.T) {
		// A second SIP-capable account: bob's, unrelated to the roster.
		r := runCLI(t, c.home, bed.Users["bob"].Password+"\n", "login", "--name", "second",
			"--aor", "sip:bob@"+bed.Domain, "--sip-proxy", "sip:"+bed.SIPUDPAddr+";transport=udp", "--password-stdin")
		if r.code != 0 {
			t.Fatalf("second login: %d", r.code)
		}
		// The contact comes from lab's roster, and lab is related: lab.
		p := decodePlan(t, c.call(t, "bob", "--dry-run", "--json"))
		if p.Via != "lab" || !strings.Contains(p.AccountWhy.Reason, "relationship") {
			t.Errorf("related: %+v", p.AccountWhy)
		}
		// A bare URI has no relationship: --via is required off a terminal.
		r = c.call(t, "sip:carol@"+bed.Domain, "--dry-run")
		if r.code != cmdutil.ExitUsage || !strings.Contains(r.stderr, "--via") || !strings.Contains(r.stderr, "second") {
			t.Errorf("no relationship: exit %d: %s", r.code, r.stderr)
		}
		p = decodePlan(t, c.call(t, "sip:carol@"+bed.Domain, "--via", "second", "--dry-run", "--json"))
		if p.Via != "second" || len(p.Headers) != 0 {
			t.Errorf("--via second: %+v", p)
		}
		if r := c.call(t, "sip:carol@"+bed.Domain, "--via", "nosuch", "--dry-run"); r.code != cmdutil.ExitUsage {
			t.Errorf("--via nosuch: exit %d", r.code)
		}
	})
}

type outcomeJSON struct {
	Target     string `json:"target"`
	Via        string `json:"via"`
	URI        string `json:"uri"`
	StatusCode int    `json:"status_code"`
	Reason     string `json:"reason"`
	Result     string `json:"result"`
	Answered   bool   `json:"answered"`
	SetupMS    int64  `json:"setup_ms"`
	DurationMS int64  `json:"duration_ms"`
	RTPSent    int64  `json:"rtp_sent"`
	RTPRecv    int64  `json:"rtp_received"`
	DTMFSent   string `json:"dtmf_sent"`
	Recorded   string `json:"recorded"`
	ExitCode   int    `json:"exit_code"`
	Note       string `json:"note"`
}

func decodeOutcome(t *testing.T, r cliResult) outcomeJSON {
	t.Helper()
	jsoncheck.Validate(t, r.stdout)
	var o outcomeJSON
	if err := json.Unmarshal([]byte(r.stdout), &o); err != nil {
		t.Fatalf("outcome JSON: %v\nstdout: %s\nstderr: %s", err, r.stdout, r.stderr)
	}
	if o.ExitCode != r.code {
		t.Errorf("exit_code %d in JSON, process exit %d", o.ExitCode, r.code)
	}
	return o
}

// TestCallNotFound: Kamailio answers 404 for a user it does not know.
func TestCallNotFound(t *testing.T) {
	bed := testbed.Shared(t)
	c := newCaller(t, bed, "nf", "")
	o := decodeOutcome(t, c.call(t, "sip:nosuchuser@"+bed.Domain, "--json"))
	if o.StatusCode != 404 || o.Result != "not-found" || o.ExitCode != cmdutil.ExitNotFound || o.Answered {
		t.Errorf("outcome %+v", o)
	}
}

// calleeUser adds a SIP user to the bed for one sipp callee.
func calleeUser(t *testing.T, bed *testbed.Bed, name string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := bed.AddUsers(ctx, bed.Domain, name); err != nil {
		t.Fatal(err)
	}
	return name
}

// toneWAV writes a 1 kHz tone of d at 16 kHz (cusax converts it to 8 kHz).
func toneWAV(t *testing.T, d time.Duration) string {
	t.Helper()
	n := int(d.Seconds() * 16000)
	s := make([]int16, n)
	for i := range s {
		s[i] = int16(8000 * math.Sin(2*math.Pi*1000*float64(i)/16000))
	}
	path := filepath.Join(t.TempDir(), "tone.wav")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := media.WriteWAV(f, 16000, s); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestCallAnswered: a roster contact is called through Kamailio; the sipp
// callee checks Call-Info byte for byte (RFC 6993) and counts the RTP that
// reaches it; --play's tone is sent and echoed back.
func TestCallAnswered(t *testing.T) {
	bed := testbed.Shared(t)
	callee := calleeUser(t, bed, "calleeanswer")
	c := newCaller(t, bed, "answerer", callee)
	uas := bed.StartSippUAS(t, testbed.SippUASOptions{
		User: callee, Answer: 200, Media: "echo",
		Headers: []testbed.HeaderCheck{{Name: "Call-Info", Exact: "<xmpp:answerer@" + bed.Domain + ">;purpose=impp"}, {Name: "Privacy", Absent: true}},
	})
	r := c.call(t, "Callee", "--play", toneWAV(t, time.Second), "--json")
	o := decodeOutcome(t, r)
	res, err := uas.Wait(15 * time.Second)
	if err != nil {
		t.Fatalf("callee: %v", err)
	}
	if r.code != 0 || !o.Answered || o.StatusCode != 200 || o.Result != "answered" || o.Via != "lab" || o.URI != uas.URI {
		t.Fatalf("outcome %+v", o)
	}
	// 1 s of 20 ms frames = 50 packets.
	if o.RTPSent < 48 || o.RTPSent > 52 {
		t.Errorf("rtp_sent %d, want ~50", o.RTPSent)
	}
	if res.RTPReceived < o.RTPSent-2 || res.RTPReceived > o.RTPSent {
		t.Errorf("callee counted %d RTP packets, cusax sent %d", res.RTPReceived, o.RTPSent)
	}
	if o.RTPRecv == 0 {
		t.Errorf("no echoed RTP received")
	}
	if o.SetupMS <= 0 || o.DurationMS < 900 || res.Successful != 1 {
		t.Errorf("setup %d ms, duration %d ms, callee successful %d", o.SetupMS, o.DurationMS, res.Successful)
	}
	t.Logf("setup %d ms, rtp %d sent / %d callee-counted / %d echoed", o.SetupMS, o.RTPSent, res.RTPReceived, o.RTPRecv)
}

// TestCallRecord: the callee plays a PCMA recording; --record writes what
// arrived as a valid 8 kHz WAV that is not silence, mode 0600.
func TestCallRecord(t *testing.T) {
	bed := testbed.Shared(t)
	callee := calleeUser(t, bed, "calleepcap")
	c := newCaller(t, bed, "recorder", "")
	uas := bed.StartSippUAS(t, testbed.SippUASOptions{User: callee, Answer: 200, Media: "pcap"})
	out := filepath.Join(t.TempDir(), "heard.wav")
	// An earlier, world-readable recording is replaced by a private one.
	if err := os.WriteFile(out, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := c.call(t, "sip:"+callee+"@"+bed.Domain, "--record", out, "--duration", "2s", "--json")
	o := decodeOutcome(t, r)
	if _, err := uas.Wait(15 * time.Second); err != nil {
		t.Fatalf("callee: %v", err)
	}
	if r.code != 0 || !o.Answered || o.Recorded != out || o.RTPRecv < 50 {
		t.Fatalf("outcome %+v", o)
	}
	if st, err := os.Lstat(out); err != nil || !st.Mode().IsRegular() || st.Mode().Perm() != 0o600 {
		t.Errorf("recording is %v, want a regular file with mode 0600 (it holds voices): %v", st.Mode(), err)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pcm, err := media.ReadWAV(f)
	if err != nil {
		t.Fatalf("recorded WAV: %v", err)
	}
	s := pcm.Mono8k()
	var energy float64
	for _, v := range s {
		energy += float64(v) * float64(v)
	}
	rms := math.Sqrt(energy / float64(max(len(s), 1)))
	if pcm.Rate != 8000 || len(s) < 8000 || rms < 100 {
		t.Errorf("recording: rate %d, %d samples, rms %.0f", pcm.Rate, len(s), rms)
	}
	t.Logf("recorded %d samples (%.1f s), rms %.0f, %d packets", len(s), float64(len(s))/8000, rms, o.RTPRecv)
}

// TestCallRejected: busy, declined and unanswered calls each end with
// their own exit code; the unanswered one is CANCELled (sipp checks it).
func TestCallRejected(t *testing.T) {
	bed := testbed.Shared(t)
	c := newCaller(t, bed, "rejected", "")
	for _, tc := range []struct {
		answer int
		exit   int
		result string
		args   []string
	}{
		{486, cmdutil.ExitBusy, "busy", nil},
		{603, cmdutil.ExitDeclined, "declined", nil},
		{0, cmdutil.ExitNoAnswer, "no-answer", []string{"--ring-timeout", "1s"}},
	} {
		t.Run(tc.result, func(t *testing.T) {
			callee := calleeUser(t, bed, "callee"+strings.ReplaceAll(tc.result, "-", ""))
			uas := bed.StartSippUAS(t, testbed.SippUASOptions{User: callee, Answer: tc.answer})
			r := c.call(t, append([]string{"sip:" + callee + "@" + bed.Domain, "--json"}, tc.args...)...)
			o := decodeOutcome(t, r)
			if _, err := uas.Wait(15 * time.Second); err != nil {
				t.Errorf("callee: %v", err)
			}
			if r.code != tc.exit || o.Result != tc.result || o.Answered {
				t.Errorf("exit %d, outcome %+v", r.code, o)
			}
		})
	}
}

// TestCallPrivacy: --anonymous sends Privacy: id and no Call-Info; --no-impp
// drops Call-Info only. The callee checks the INVITE as it arrives.
func TestCallPrivacy(t *testing.T) {
	bed := testbed.Shared(t)
	c := newCaller(t, bed, "private", "")
	for _, tc := range []struct {
		flag   string
		checks []testbed.HeaderCheck
	}{
		{"--anonymous", []testbed.HeaderCheck{{Name: "Call-Info", Absent: true}, {Name: "Privacy", Exact: "id"}}},
		{"--no-impp", []testbed.HeaderCheck{{Name: "Call-Info", Absent: true}, {Name: "Privacy", Absent: true}}},
	} {
		t.Run(tc.flag, func(t *testing.T) {
			callee := calleeUser(t, bed, "callee"+strings.TrimPrefix(strings.ReplaceAll(tc.flag, "-", ""), ""))
			uas := bed.StartSippUAS(t, testbed.SippUASOptions{User: callee, Answer: 200, Headers: tc.checks})
			r := c.call(t, "sip:"+callee+"@"+bed.Domain, tc.flag, "--duration", "300ms", "--json")
			o := decodeOutcome(t, r)
			if _, err := uas.Wait(15 * time.Second); err != nil {
				t.Errorf("callee: %v", err)
			}
			if r.code != 0 || !o.Answered {
				t.Errorf("exit %d, outcome %+v", r.code, o)
			}
		})
	}
}

// TestCallBaresip: a second real callee, baresip, auto-answers; it reports
// the RFC 4733 digits it received, and its tone is recorded.
func TestCallBaresip(t *testing.T) {
	bed := testbed.Shared(t)
	callee := calleeUser(t, bed, "calleebaresip")
	c := newCaller(t, bed, "dtmfer", "")
	bs := bed.StartBaresip(t, testbed.BaresipOptions{User: callee})
	out := filepath.Join(t.TempDir(), "baresip.wav")
	r := c.call(t, bs.URI, "--dtmf", "123#", "--record", out, "--duration", "2s", "--json")
	o := decodeOutcome(t, r)
	if r.code != 0 || !o.Answered || o.DTMFSent != "123#" || o.RTPRecv < 50 || o.Recorded != out {
		t.Fatalf("outcome %+v", o)
	}
	waitFor(t, "baresip to report the digits", 5*time.Second, func() bool { return bs.DTMF() == "123#" })
	if bs.Calls() != 1 {
		t.Errorf("baresip answered %d calls", bs.Calls())
	}
	t.Logf("baresip received DTMF %q; cusax received %d RTP packets", bs.DTMF(), o.RTPRecv)
}

// interruptCall runs the real binary, waits for want on stderr, sends
// SIGINT and returns the exit code and outcome.
func interruptCall(t *testing.T, c caller, want string, args ...string) (int, outcomeJSON) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, cusaxBinary(t), append([]string{"--config", c.home + "/cusax/config.toml", "call", "--json"}, args...)...)
	cmd.Env = append(os.Environ(), "CUSAX_SECRETS=file", "XDG_CONFIG_HOME="+c.home, "XDG_DATA_HOME="+c.home+"/data", "CUSAX_PLUGIN_PATH=")
	var stdout, stderr lockedBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, want, 10*time.Second, func() bool { return strings.Contains(stderr.String(), want) })
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	code := cmd.ProcessState.ExitCode()
	t.Logf("stderr: %s", stderr.String())
	o := decodeOutcome(t, cliResult{stdout: stdout.String(), stderr: stderr.String(), code: code})
	return code, o
}

// TestCallCtrlC: Ctrl-C while ringing sends CANCEL (the callee checks it
// and answers 487); Ctrl-C in an answered call sends BYE (the callee
// waits for it). Neither leaves a call up.
func TestCallCtrlC(t *testing.T) {
	bed := testbed.Shared(t)
	c := newCaller(t, bed, "interrupter", "")
	t.Run("ringing", func(t *testing.T) {
		callee := calleeUser(t, bed, "calleeringing")
		uas := bed.StartSippUAS(t, testbed.SippUASOptions{User: callee, Answer: 0})
		code, o := interruptCall(t, c, "ringing", "sip:"+callee+"@"+bed.Domain)
		if _, err := uas.Wait(15 * time.Second); err != nil {
			t.Errorf("callee did not see the CANCEL: %v", err)
		}
		if code != cmdutil.ExitInterrupted || o.Result != "interrupted" || o.StatusCode != 487 {
			t.Errorf("exit %d, outcome %+v", code, o)
		}
	})
	t.Run("answered", func(t *testing.T) {
		callee := calleeUser(t, bed, "calleeup")
		uas := bed.StartSippUAS(t, testbed.SippUASOptions{User: callee, Answer: 200, Media: "echo", HoldTimeout: 20 * time.Second})
		code, o := interruptCall(t, c, "answered", "sip:"+callee+"@"+bed.Domain)
		if _, err := uas.Wait(15 * time.Second); err != nil {
			t.Errorf("callee did not get the BYE: %v", err)
		}
		if code != 0 || !o.Answered {
			t.Errorf("exit %d, outcome %+v", code, o)
		}
	})
}

// TestCallRejectsInjection: a CR, LF or NUL in the target or any flag that
// reaches a header is a usage error, before any config or network access.
func TestCallRejectsInjection(t *testing.T) {
	home := t.TempDir()
	for _, args := range [][]string{
		{"sip:bob@example.test\r\nVia: SIP/2.0/UDP evil"},
		{"sip:bob@example.test\nX: y"},
		{"tel:+1555\x000100"},
		{"bob\r\n"},
		{"sip:bob@example.test?Subject=x"},
		{"sip:bob:secret@example.test"},
		{"sip:bob@example.test", "--via", "a\r\nb"},
		{"sip:bob@example.test", "--dtmf", "12\n"},
		{"sip:bob@example.test", "--dtmf", "1x"},
		{"sip:bob@example.test", "--duration", "-1s"},
	} {
		r := runCLI(t, home, "", append([]string{"call"}, args...)...)
		if r.code != cmdutil.ExitUsage || strings.Count(strings.TrimSpace(r.stderr), "\n") > 1 {
			t.Errorf("%q: exit %d, stderr %q", args, r.code, r.stderr)
		}
	}
}

// TestCallPromptsOnTTY: on a terminal cusax asks instead of failing —
// which number (RFC 7081 §3.3), whether a call that may cost money goes
// ahead (§5), and which account (§3.4, strategy 7).
func TestCallPromptsOnTTY(t *testing.T) {
	bed := testbed.Shared(t)
	c := newCaller(t, bed, "ttycaller", "")
	bin := cusaxBinary(t)
	env := []string{"CUSAX_SECRETS=file", "XDG_CONFIG_HOME=" + c.home, "XDG_DATA_HOME=" + c.home + "/data", "CUSAX_PLUGIN_PATH="}
	run := func(t *testing.T, args string, answers ...[2]string) (int, string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd, tty, typeText := onTerminal(t, ctx, bin+" --config "+c.home+"/cusax/config.toml call "+args, env...)
		for _, a := range answers {
			waitFor(t, "the prompt "+a[0], 15*time.Second, func() bool { return strings.Contains(tty.String(), a[0]) })
			typeText(a[1] + "\r")
		}
		_ = cmd.Wait()
		t.Logf("terminal: %s", tty.String())
		return cmd.ProcessState.ExitCode(), tty.String()
	}
	t.Run("number then cost", func(t *testing.T) {
		// Two numbers: pick the second; it may cost money: yes. Kamailio
		// knows no such user, so the call itself ends in 404.
		code, screen := run(t, "Multi", [2]string{"Call which number?", "2"}, [2]string{"[y/N]", "y"})
		if code != cmdutil.ExitNotFound || !strings.Contains(screen, "sip:+15550103@example.test;user=phone") {
			t.Errorf("exit %d", code)
		}
	})
	t.Run("cost declined", func(t *testing.T) {
		if code, _ := run(t, "Dave", [2]string{"[y/N]", "n"}); code != cmdutil.ExitDenied {
			t.Errorf("exit %d", code)
		}
	})
	t.Run("account", func(t *testing.T) {
		r := runCLI(t, c.home, bed.Users["carol"].Password+"\n", "login", "--name", "second",
			"--aor", "sip:carol@"+bed.Domain, "--sip-proxy", "sip:"+bed.SIPUDPAddr+";transport=udp", "--password-stdin")
		if r.code != 0 {
			t.Fatalf("second login: %d", r.code)
		}
		code, screen := run(t, "sip:nobody@"+bed.Domain+" --json", [2]string{"Call through which account?", "2"})
		if code != cmdutil.ExitNotFound || !strings.Contains(screen, `"via": "second"`) {
			t.Errorf("exit %d", code)
		}
	})
}

// TestCallBadMediaFiles: a --play file that is not 16-bit PCM WAV, or a
// --record path that cannot be written, fails before anything is dialled.
func TestCallBadMediaFiles(t *testing.T) {
	bed := testbed.Shared(t)
	c := newCaller(t, bed, "badmedia", "")
	dir := t.TempDir()
	notWAV := filepath.Join(dir, "notes.wav")
	if err := os.WriteFile(notWAV, []byte("RIFF\x00\x00\x00\x00WAVEjunk"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"--play", notWAV},
		{"--play", filepath.Join(dir, "missing.wav")},
		{"--record", filepath.Join(dir, "no", "such", "dir", "out.wav")},
	} {
		r := c.call(t, append([]string{"sip:nobody@" + bed.Domain}, args...)...)
		if r.code != cmdutil.ExitUsage || strings.Count(strings.TrimSpace(r.stderr), "\n") > 1 || r.stdout != "" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", args, r.code, r.stdout, r.stderr)
		}
	}
}

// TestCallRoom: a MUC room that advertises an audio-video-uri in its
// disco#info (RFC 7081 §4) is called at that URI. The bed's MUC gives
// rooms named conf* the URI sip:NAME@example.test.
func TestCallRoom(t *testing.T) {
	bed := testbed.Shared(t)
	c := newCaller(t, bed, "roomcaller", "")
	room := calleeUser(t, bed, "confroom")
	roomJID := room + "@" + bed.MUCDomain
	if r := runCLI(t, c.home, "", "chat", "--room", roomJID, "opening the room"); r.code != 0 {
		t.Fatalf("creating the room: exit %d", r.code)
	}
	uas := bed.StartSippUAS(t, testbed.SippUASOptions{User: room, Answer: 200,
		Headers: []testbed.HeaderCheck{{Name: "Call-Info", Exact: "<xmpp:roomcaller@" + bed.Domain + ">;purpose=impp"}}})
	r := c.call(t, roomJID, "--duration", "300ms", "--json")
	o := decodeOutcome(t, r)
	if _, err := uas.Wait(15 * time.Second); err != nil {
		t.Errorf("callee: %v", err)
	}
	if r.code != 0 || !o.Answered || o.URI != "sip:"+room+"@"+bed.Domain {
		t.Errorf("exit %d, outcome %+v", r.code, o)
	}
	p := decodePlan(t, c.call(t, roomJID, "--dry-run", "--json"))
	if p.Kind != "room" || p.Contact != roomJID {
		t.Errorf("plan %+v", p)
	}
}

// TestCallUnreachableProxy: a proxy that refuses the connection or never
// answers ends the call attempt with exit 7 within --timeout.
func TestCallUnreachableProxy(t *testing.T) {
	bed := testbed.Shared(t)
	c := newCaller(t, bed, "unreach", "")
	cfgPath := filepath.Join(c.home, "cusax", "config.toml")
	orig, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	for name, proxy := range map[string]string{
		"closed": "sip:" + closedPort(t) + ";transport=tcp",
		"silent": "sip:" + silentServer(t) + ";transport=tcp",
	} {
		cfg := strings.Replace(string(orig), "sip:"+bed.SIPUDPAddr+";transport=udp", proxy, 1)
		if cfg == string(orig) {
			t.Fatalf("proxy not found in config:\n%s", orig)
		}
		if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		r := c.call(t, "sip:bob@"+bed.Domain, "--timeout", "2s")
		if r.code != cmdutil.ExitNetwork || strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
			t.Errorf("%s proxy: exit %d, stderr %q", name, r.code, r.stderr)
		}
	}
}
