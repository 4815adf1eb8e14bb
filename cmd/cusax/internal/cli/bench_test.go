package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cusax/cusax/internal/testbed"
)

// Whole-process benchmarks against the real test bed: the cusax binary is
// built and executed as a user would run it, plugins included.
//
//	go test -run '^$' -bench 'Chat|Roster' -benchtime 10x ./cmd/cusax/internal/cli
//	go test -run '^$' -bench CallSetupVsSipp -benchtime 20x ./cmd/cusax/internal/cli
//	go test -run '^$' -bench WhoisCaller1000 -benchtime 10x ./cmd/cusax/internal/cli

func median(d []time.Duration) float64 {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return float64(s[len(s)/2].Microseconds()) / 1000
}

// benchHome logs user in with the built binary and returns the env to run it.
// extra are more login flags (e.g. --aor and --sip-proxy for a SIP aspect).
func benchHome(b *testing.B, bin string, bed *testbed.Bed, user, password string, extra ...string) []string {
	b.Helper()
	home := b.TempDir()
	env := append(os.Environ(), "CUSAX_CONFIG="+home+"/config.toml", "CUSAX_SECRETS=file", "XDG_CACHE_HOME="+home+"/cache", "XDG_DATA_HOME="+home+"/data")
	login := exec.Command(bin, "login", "--name", "b", "--jid", user+"@"+bed.Domain, "--xmpp-server", bed.XMPPAddr, "--ca-file", bed.CAFile, "--password-stdin")
	login.Args = append(login.Args, extra...)
	login.Env, login.Stdin = env, strings.NewReader(password+"\n")
	if out, err := login.CombinedOutput(); err != nil {
		b.Fatalf("login: %v\n%s", err, out)
	}
	return env
}

func timeRun(b *testing.B, cmd *exec.Cmd) time.Duration {
	b.Helper()
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("%s: %v\n%s", cmd.Path, err, out)
	}
	return time.Since(start)
}

// BenchmarkChatVsGoSendxmpp sends the same one-line message with `cusax chat`
// and with go-sendxmpp, alternating, and reports both medians and the ratio
// (issue 3 target: cusax ≤ 0.5× go-sendxmpp).
func BenchmarkChatVsGoSendxmpp(b *testing.B) {
	bed := testbed.Start(b, testbed.Options{})
	bin := cusaxBinary(b)
	alice, _ := bed.User("alice")
	env := benchHome(b, bin, bed, "alice", alice.Password)
	rc := filepath.Join(b.TempDir(), "sendxmpprc")
	if err := os.WriteFile(rc, []byte("username: alice@"+bed.Domain+"\npassword: "+alice.Password+"\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	var ours, theirs []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c := exec.Command(bin, "chat", "bob@"+bed.Domain, "hi")
		c.Env = env
		ours = append(ours, timeRun(b, c))
		g := exec.CommandContext(context.Background(), "go-sendxmpp", "-f", rc, "-j", bed.XMPPAddr, "bob@"+bed.Domain)
		g.Env, g.Stdin = append(os.Environ(), "SSL_CERT_FILE="+bed.CAFile), strings.NewReader("hi\n")
		theirs = append(theirs, timeRun(b, g))
	}
	b.StopTimer()
	b.ReportMetric(median(ours), "cusax-median-ms")
	b.ReportMetric(median(theirs), "go-sendxmpp-median-ms")
	b.ReportMetric(median(ours)/median(theirs), "ratio")
}

// BenchmarkRoster1000 runs `cusax roster --json` on a 1,000-contact roster
// whose contacts all have vCards, with a cold cache (--refresh) and a warm
// one.
func BenchmarkRoster1000(b *testing.B) {
	bed := testbed.Start(b, testbed.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	users, err := bed.AddUsers(ctx, bed.Domain, "big")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := bed.SeedLargeRoster(ctx, "big", 1000); err != nil {
		b.Fatal(err)
	}
	bin := cusaxBinary(b)
	env := benchHome(b, bin, bed, "big", users["big"].Password)
	for _, mode := range []string{"cold", "warm"} {
		b.Run(mode, func(b *testing.B) {
			args := []string{"roster", "--json"}
			if mode == "cold" {
				args = append(args, "--refresh")
			} else {
				c := exec.Command(bin, args...) // fill the cache
				c.Env = env
				timeRun(b, c)
			}
			var runs []time.Duration
			for i := 0; i < b.N; i++ {
				c := exec.Command(bin, args...)
				c.Env = env
				runs = append(runs, timeRun(b, c))
			}
			b.ReportMetric(median(runs), "median-ms")
		})
	}
}

// BenchmarkCallSetupVsSipp places b.N calls with `cusax call --duration 0
// --json` (the real binary) and b.N with sipp's own UAC, alternating, from
// the same bed user through the same Kamailio over UDP to the same sipp UAS,
// one call at a time (the UAS takes all 2×b.N calls and is checked to have
// answered every one). Set-up time is first INVITE sent to 200 received,
// the 407 round trip included, on both sides: sipp's -trace_rtt, and cusax's
// setup_ms, which the SIP plugin measures the same way. It reports the
// medians (ms), their ratio (issue target: cusax ≤ 1.2× sipp plus the fixed
// plugin start-up), and the wall time of the whole cusax command (process
// start to exit: config, policy plugin, SIP plugin, call, BYE, shutdown).
//
// sipp-wall-ms is SippUAC's whole run for one call: a 407 fetched with
// OPTIONS to precompute the SHA-256 digest sipp cannot do, sipp's start,
// the call, the BYE and sipp's exit.
//
// Both set-up figures are whole milliseconds (setup_ms is truncated, sipp rounds
// its response times), which is coarse for loopback set-ups of a few ms;
// the means are reported as well.
func BenchmarkCallSetupVsSipp(b *testing.B) {
	bed := testbed.Start(b, testbed.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	users, err := bed.AddUsers(ctx, bed.Domain, "setupcaller", "setupcallee")
	if err != nil {
		b.Fatal(err)
	}
	bin := cusaxBinary(b)
	env := benchHome(b, bin, bed, "setupcaller", users["setupcaller"].Password,
		"--aor", "sip:setupcaller@"+bed.Domain, "--sip-proxy", "sip:"+bed.SIPUDPAddr+";transport=udp")
	// Plus debugCalls --debug calls at the end (callPhases). Both callers
	// send the BYE right after the ACK, and Kamailio's two UDP workers
	// sometimes forward the BYE first: sipp's UAS then fails that call and
	// may count the late ACK as one more call, so it is given headroom and
	// stopped at the end; answeredCallIDs checks what it answered.
	calls := 2*b.N + debugCalls
	uas := bed.StartSippUAS(b, testbed.SippUASOptions{User: "setupcallee", Answer: 200, Calls: calls + calls/2 + 2})
	var ourIDs []string

	var sippSetup, sippWall, ourSetup, ourWall []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		d, err := bed.SippUAC(ctx, "setupcaller", uas.URI, 1)
		sippWall = append(sippWall, time.Since(start))
		if err != nil {
			b.Fatal(err)
		}
		sippSetup = append(sippSetup, d...)

		c := exec.Command(bin, "call", uas.URI, "--duration", "0", "--json")
		c.Env = env
		var stderr strings.Builder
		c.Stderr = &stderr
		start = time.Now()
		out, err := c.Output()
		ourWall = append(ourWall, time.Since(start))
		if err != nil {
			b.Fatalf("cusax call: %v\n%s\n%s", err, out, stderr.String())
		}
		var o struct {
			outcomeJSON
			CallID string `json:"call_id"`
		}
		if err := json.Unmarshal(out, &o); err != nil || !o.Answered || o.URI != uas.URI || o.CallID == "" {
			b.Fatalf("cusax call outcome %+v (%v)\n%s", o, err, out)
		}
		ourIDs = append(ourIDs, o.CallID)
		ourSetup = append(ourSetup, time.Duration(o.SetupMS)*time.Millisecond)
	}
	b.StopTimer()

	// Where the time goes: a few --debug calls, each stderr line stamped
	// as it arrives (finer than hclog's millisecond timestamps).
	var phases [][]time.Duration
	for range debugCalls {
		phases = append(phases, callPhases(b, bin, env, uas.URI))
	}
	logPhases(b, phases)
	// It waits for the headroom calls that never come; stopped, it writes
	// its logs.
	res, _ := uas.Wait(2 * time.Second)
	answered := answeredCallIDs(b, uas.Dir)
	for _, id := range ourIDs {
		if !answered[id] {
			b.Errorf("the UAS did not answer cusax's call %s", id)
		}
	}
	if len(answered) != calls {
		b.Fatalf("the UAS answered %d calls, want %d (cusax %d, sipp %d, --debug %d)\n%s", len(answered), calls, b.N, b.N, debugCalls, res.Log)
	}
	if res.Failed > 0 {
		var why []string
		for _, line := range strings.Split(res.Log, "\n") {
			if strings.Contains(line, "unexpected message") {
				why = append(why, strings.TrimSpace(line))
			}
		}
		b.Logf("the UAS counted %d of %d answered calls as failed:\n%s", res.Failed, calls, strings.Join(why, "\n"))
	}

	b.Logf("in order, ms:\n  sipp setup  %v\n  cusax setup %v\n  cusax wall  %v", ms(sippSetup), ms(ourSetup), ms(ourWall))
	b.ReportMetric(median(sippSetup), "sipp-setup-ms")
	b.ReportMetric(mean(sippSetup), "sipp-setup-mean-ms")
	b.ReportMetric(median(ourSetup), "cusax-setup-ms")
	b.ReportMetric(mean(ourSetup), "cusax-setup-mean-ms")
	b.ReportMetric(median(ourWall), "cusax-wall-ms")
	b.ReportMetric(median(sippWall), "sipp-wall-ms")
	b.ReportMetric(median(ourSetup)/median(sippSetup), "setup-ratio")
}

func mean(d []time.Duration) float64 {
	var sum time.Duration
	for _, v := range d {
		sum += v
	}
	return float64(sum.Microseconds()) / 1000 / float64(len(d))
}

// debugCalls is how many `cusax --debug call` runs BenchmarkCallSetupVsSipp
// breaks down into phases.
const debugCalls = 5

// callPhaseNames name the spans between the stderr lines callPhases looks
// for; the last one ends when the process has exited.
var callPhaseNames = []string{
	"exec+config+plan", "policy plugin launch", "policy decisions+stop",
	"SIP plugin launch", "Connect to resolve", "UA, Dial, INVITE…200",
	"BYE+plugin stop+exit",
}

// callPhaseMarks are the stderr lines that end each phase but the last.
var callPhaseMarks = []string{
	"cusax.default: starting plugin", "cusax.default: using plugin", "cusax.sip: starting plugin",
	"cusax.sip: using plugin", "targets resolved", "cusax: answered",
}

// callPhases runs `cusax --debug call URI --duration 0 --json` and returns
// the phase durations, then the total, then setup_ms.
func callPhases(b *testing.B, bin string, env []string, uri string) []time.Duration {
	b.Helper()
	c := exec.Command(bin, "--debug", "call", uri, "--duration", "0", "--json")
	c.Env = env
	var stdout strings.Builder
	c.Stdout = &stdout
	errPipe, err := c.StderrPipe()
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	if err := c.Start(); err != nil {
		b.Fatal(err)
	}
	marks := make([]time.Duration, len(callPhaseMarks))
	var log strings.Builder
	sc := bufio.NewScanner(errPipe)
	for sc.Scan() {
		at := time.Since(start)
		log.WriteString(sc.Text() + "\n")
		for i, m := range callPhaseMarks {
			if marks[i] == 0 && strings.Contains(sc.Text(), m) {
				marks[i] = at
			}
		}
	}
	err = c.Wait()
	total := time.Since(start)
	var o outcomeJSON
	if err != nil || json.Unmarshal([]byte(stdout.String()), &o) != nil || !o.Answered {
		b.Fatalf("cusax --debug call: %v\n%s\n%s", err, stdout.String(), log.String())
	}
	var out []time.Duration
	prev := time.Duration(0)
	for i, m := range append(marks, total) {
		if m == 0 {
			b.Fatalf("no %q line in:\n%s", callPhaseMarks[i], log.String())
		}
		out = append(out, m-prev)
		prev = m
	}
	return append(out, total, time.Duration(o.SetupMS)*time.Millisecond)
}

// logPhases logs each --debug call's phases and their medians.
func logPhases(b *testing.B, runs [][]time.Duration) {
	b.Helper()
	var w strings.Builder
	w.WriteString("cusax --debug call phases, ms (stderr arrival times):\n")
	for i, name := range append(append([]string(nil), callPhaseNames...), "total wall", "setup_ms") {
		col := make([]time.Duration, len(runs))
		fmt.Fprintf(&w, "  %-24s", name)
		for j, r := range runs {
			col[j] = r[i]
			fmt.Fprintf(&w, " %7.1f", float64(r[i].Microseconds())/1000)
		}
		fmt.Fprintf(&w, "   median %7.1f\n", median(col))
	}
	b.Log(w.String())
}

// answeredCallIDs reads the sipp UAS's message log (-trace_msg) in dir and
// returns the Call-IDs of the INVITEs it answered with 200.
func answeredCallIDs(b *testing.B, dir string) map[string]bool {
	b.Helper()
	logs, _ := filepath.Glob(filepath.Join(dir, "*_messages.log"))
	if len(logs) != 1 {
		b.Fatalf("sipp UAS message log in %s: found %d", dir, len(logs))
	}
	text, err := os.ReadFile(logs[0])
	if err != nil {
		b.Fatal(err)
	}
	ids := map[string]bool{}
	// Each message follows a "----…---- date" line, then "UDP message
	// sent (N bytes):" or "… received …", an empty line and the message.
	for _, msg := range strings.Split(string(text), "\n-----") {
		if !strings.Contains(msg, "message sent") || !strings.Contains(msg, "\nSIP/2.0 200 ") {
			continue
		}
		var callID, cseq string
		for _, line := range strings.Split(msg, "\n") {
			name, value, _ := strings.Cut(line, ":")
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "call-id", "i":
				callID = strings.TrimSpace(value)
			case "cseq":
				cseq = strings.TrimSpace(value)
			}
		}
		if strings.HasSuffix(cseq, " INVITE") && callID != "" {
			ids[callID] = true
		}
	}
	return ids
}

func ms(d []time.Duration) []float64 {
	out := make([]float64, len(d))
	for i, v := range d {
		out[i] = float64(v.Microseconds()/100) / 10
	}
	return out
}

// BenchmarkWhoisCaller1000 runs `cusax whois-caller --message FILE --json`
// (the real binary) against a 1,000-contact roster whose contacts all have
// vCards, for one INVITE from contact c0500's SIP URI, in four cases: with
// a Call-Info hint naming that contact (verified) and without (verified-by-
// scan), each with a cold vCard cache (emptied before every run) and a warm
// one (filled by a run before timing). It reports the medians of the whole
// command's wall time and of its elapsed_ms (the judgement: XMPP login,
// roster, vCard fetches, matching), and, for cold runs, how many contacts
// the run left in the cache (each is one vCard fetched). RFC 7081 §3.5: a
// hint is there so that the callee need not walk the roster.
func BenchmarkWhoisCaller1000(b *testing.B) {
	bed := testbed.Start(b, testbed.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	users, err := bed.AddUsers(ctx, bed.Domain, "big")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := bed.SeedLargeRoster(ctx, "big", 1000); err != nil {
		b.Fatal(err)
	}
	bin := cusaxBinary(b)
	env := benchHome(b, bin, bed, "big", users["big"].Password)
	var cache string
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "XDG_CACHE_HOME="); ok {
			cache = filepath.Join(v, "cusax", "vcards")
		}
	}
	name, _, sipURI, _ := bed.LargeRosterContact(500)
	jid := name + "@" + bed.Domain
	dir := b.TempDir()
	for _, path := range []string{"hint", "scan"} {
		var extra []string
		want := "verified-by-scan"
		if path == "hint" {
			extra, want = []string{"Call-Info: <xmpp:" + jid + ">;purpose=impp"}, "verified"
		}
		msg := filepath.Join(dir, path+".sip")
		if err := os.WriteFile(msg, []byte(invite("<"+sipURI+">", extra...)), 0o644); err != nil {
			b.Fatal(err)
		}
		judge := func(b *testing.B) (wall, elapsed time.Duration) {
			b.Helper()
			c := exec.Command(bin, "whois-caller", "--message", msg, "--json")
			c.Env = env
			var stderr strings.Builder
			c.Stderr = &stderr
			start := time.Now()
			out, err := c.Output()
			wall = time.Since(start)
			var v verdictJSON
			if err != nil || json.Unmarshal(out, &v) != nil || v.Verdict != want || v.JID != jid {
				b.Fatalf("whois-caller %s: %v, want %s %s\n%s\n%s", path, err, want, jid, out, stderr.String())
			}
			if stderr.Len() > 0 {
				b.Fatalf("whois-caller %s: stderr %s", path, stderr.String())
			}
			return wall, time.Duration(v.ElapsedMS * float64(time.Millisecond))
		}
		for _, mode := range []string{"cold", "warm"} {
			b.Run(path+"/"+mode, func(b *testing.B) {
				if err := os.RemoveAll(cache); err != nil {
					b.Fatal(err)
				}
				if mode == "warm" {
					judge(b) // fill the cache
				}
				var walls, elapsed []time.Duration
				var fetched []int
				for i := 0; i < b.N; i++ {
					if mode == "cold" {
						if err := os.RemoveAll(cache); err != nil {
							b.Fatal(err)
						}
					}
					w, e := judge(b)
					walls, elapsed = append(walls, w), append(elapsed, e)
					if mode == "cold" {
						fetched = append(fetched, countFiles(b, cache))
					}
				}
				b.Logf("in order, ms:\n  wall       %v\n  elapsed_ms %v", ms(walls), ms(elapsed))
				b.ReportMetric(median(walls), "wall-median-ms")
				b.ReportMetric(median(elapsed), "elapsed-median-ms")
				if mode == "cold" {
					sort.Ints(fetched)
					b.ReportMetric(float64(fetched[len(fetched)/2]), "vcards-fetched")
				}
			})
		}
	}
}

// countFiles counts the regular files under dir (0 if it does not exist).
func countFiles(b *testing.B, dir string) int {
	b.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			n++
		}
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		b.Fatal(err)
	}
	return n
}
