package cli

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/internal/testbed"
)

// listener is a running `cusax whois-caller --listen` (the built binary).
type listener struct {
	cmd            *exec.Cmd
	stdout, stderr *lockedBuffer
	done           chan struct{} // closed when it exited
}

func startListener(t *testing.T, ctx context.Context, home string, args ...string) *listener {
	t.Helper()
	cmd := exec.CommandContext(ctx, cusaxBinary(t), append([]string{"--config", home + "/cusax/config.toml", "whois-caller", "--listen", "--json"}, args...)...)
	cmd.Env = append(os.Environ(), "CUSAX_SECRETS=file", "XDG_CONFIG_HOME="+home, "XDG_DATA_HOME="+home+"/data", "XDG_CACHE_HOME="+home+"/cache", "CUSAX_PLUGIN_PATH=")
	l := &listener{cmd: cmd, stdout: &lockedBuffer{}, stderr: &lockedBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = l.stdout, l.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = cmd.Wait(); close(l.done) }()
	t.Cleanup(func() {
		l.stop(t)
		t.Logf("listener stderr:\n%s", l.stderr.String())
	})
	waitFor(t, "listening", 20*time.Second, func() bool { return strings.Contains(l.stderr.String(), "listening for calls") })
	return l
}

// stop interrupts the listener (it unregisters) and waits for it, killing
// it after 10 s.
func (l *listener) stop(t *testing.T) {
	t.Helper()
	_ = l.cmd.Process.Signal(os.Interrupt)
	select {
	case <-l.done:
	case <-time.After(10 * time.Second):
		_ = l.cmd.Process.Kill()
		<-l.done
		t.Errorf("listener ignored Ctrl-C for 10 s")
	}
}

// judged waits for the n-th (from 1) JSON line and decodes it.
func (l *listener) judged(t *testing.T, n int) map[string]any {
	t.Helper()
	waitFor(t, "call judged", 15*time.Second, func() bool { return strings.Count(l.stdout.String(), "\n") >= n })
	line := strings.Split(strings.TrimSpace(l.stdout.String()), "\n")[n-1]
	var v map[string]any
	if err := json.Unmarshal([]byte(line), &v); err != nil {
		t.Fatalf("%v: %s", err, line)
	}
	return v
}

// TestWhoisCallerListenSurvives (issue 13 item 5): a listener registered
// over TCP with the bed's Kamailio, which grants 10 s at most,
//   - is still reachable after twice that (it refreshed, RFC 3261
//     §10.2.4; before, the binding expired and callers got 480);
//   - notices Kamailio restart (empty: usrloc keeps bindings in memory),
//     says so on stderr, registers again, and the next call reaches it;
//   - exits 7 within --give-up-after once Kamailio stays down.
func TestWhoisCallerListenSurvives(t *testing.T) {
	bed := testbed.Start(t, testbed.Options{SIPMaxExpires: 10})
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	users, err := bed.AddUsers(ctx, bed.Domain, "survivor")
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	if r := runCLI(t, home, users["survivor"].Password+"\n", loginArgs(bed, "survivor", "sip:"+bed.SIPTCPAddr+";transport=tcp")...); r.code != 0 {
		t.Fatalf("login: %d\n%s", r.code, r.stderr)
	}
	const giveUp = 6 * time.Second
	l := startListener(t, ctx, home, "--on-call", "busy", "--give-up-after", giveUp.String())
	me := "sip:survivor@" + bed.Domain
	call := func(n int, what string) {
		t.Helper()
		res, err := bed.SippInvite(ctx, testbed.SippInviteOptions{From: "bob", To: me, ExpectStatus: 486})
		if err != nil {
			t.Fatalf("%s: sipp: %v\nlistener stderr: %s", what, err, l.stderr.String())
		}
		if v := l.judged(t, n); v["call_id"] != res.CallID || v["answered_with"] != "486 Busy Here" {
			t.Fatalf("%s: judged %v, want call %s answered 486", what, v, res.CallID)
		}
	}

	// Over two granted lifetimes: without refreshes the binding is gone.
	// Waiting is the point here; nothing can be polled instead.
	time.Sleep(2*10*time.Second + 3*time.Second)
	call(1, "after 2x the granted expiry")

	restarted := time.Now()
	if err := bed.RestartKamailio(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the listener to notice", 10*time.Second, func() bool {
		return strings.Contains(l.stderr.String(), "lost (connection closed); registering again")
	})
	waitFor(t, "the listener to register again", 20*time.Second, func() bool {
		return strings.Contains(l.stderr.String(), "registered "+me+" again")
	})
	t.Logf("registered again %.1f s after the restart began", time.Since(restarted).Seconds())
	call(2, "after the restart")

	if err := bed.StopKamailio(); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	select {
	case <-l.done:
	case <-time.After(giveUp + 15*time.Second):
		t.Fatalf("still running %s after Kamailio stopped (--give-up-after %s)\n%s", time.Since(stopped), giveUp, l.stderr.String())
	}
	if code := l.cmd.ProcessState.ExitCode(); code != cmdutil.ExitNetwork {
		t.Errorf("exit %d, want %d (network)\n%s", code, cmdutil.ExitNetwork, l.stderr.String())
	}
	t.Logf("exited %.1f s after Kamailio stopped", time.Since(stopped).Seconds())
	if !strings.Contains(l.stderr.String(), "giving up") {
		t.Errorf("no reason on stderr:\n%s", l.stderr.String())
	}
	// It must not be a timed-out hang dressed up: it waited the bound.
	if el := time.Since(stopped); el < giveUp {
		t.Errorf("gave up after %s, before --give-up-after %s", el, giveUp)
	}
}

// TestWhoisCallerPAITrust (issue 13 item 11): bob, an authenticated user
// of the bed, calls with a P-Asserted-Identity and a Call-Info hint both
// claiming carol. Kamailio relays the header (it is no RFC 3325 trust
// domain), so by default the verdict rests on From (bob) and is a
// mismatch, never "verified carol"; with trust_asserted_identity on, the
// verdict is carol and says it rests on P-Asserted-Identity.
func TestWhoisCallerPAITrust(t *testing.T) {
	bed := testbed.Shared(t)
	c := newCaller(t, bed, "paitrust", "")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	me := "sip:paitrust@" + bed.Domain
	claim := []string{
		"P-Asserted-Identity: <sip:+15550100@" + bed.Domain + ";user=phone>",
		"Call-Info: <xmpp:carol@" + bed.Domain + ">;purpose=impp",
	}
	for _, trust := range []bool{false, true} {
		name := map[bool]string{false: "default", true: "trusted"}[trust]
		t.Run(name, func(t *testing.T) {
			if trust {
				setTrustPAI(t, c.home)
			}
			l := startListener(t, ctx, c.home, "--on-call", "busy")
			res, err := bed.SippInvite(ctx, testbed.SippInviteOptions{From: "bob", To: me, Headers: claim, ExpectStatus: 486})
			if err != nil {
				t.Fatalf("sipp: %v\n%s", err, l.stderr.String())
			}
			v := l.judged(t, 1)
			if v["call_id"] != res.CallID {
				t.Fatalf("judged %v, want call %s", v, res.CallID)
			}
			t.Logf("%s: %v", name, v)
			switch {
			case !trust && (v["verdict"] != "mismatch" || v["caller"] != "sip:bob@"+bed.Domain || v["caller_source"] != "from"):
				t.Errorf("default: got %v, want a mismatch resting on From (bob)", v)
			case !trust && !strings.Contains(strings.Join(anyStrings(v["untrusted_asserted_identity"]), " "), "+15550100"):
				t.Errorf("default: the untrusted claim is not shown: %v", v)
			case trust && (v["verdict"] != "verified" || v["jid"] != "carol@"+bed.Domain || v["caller_source"] != "p-asserted-identity"):
				t.Errorf("trusted: got %v, want verified carol resting on p-asserted-identity", v)
			}
		})
	}
}

// setTrustPAI sets trust_asserted_identity = true in the account's
// [account.sip] table.
func setTrustPAI(t *testing.T, home string) {
	t.Helper()
	path := home + "/cusax/config.toml"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if !strings.Contains(s, "[account.sip]\n") {
		t.Fatalf("no [account.sip] in\n%s", s)
	}
	s = strings.Replace(s, "[account.sip]\n", "[account.sip]\ntrust_asserted_identity = true\n", 1)
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

func anyStrings(v any) []string {
	var out []string
	if vs, ok := v.([]any); ok {
		for _, x := range vs {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

// TestWhoisCallerViaProxyNeedsTrust: for a captured message, --via-proxy
// (it came through the account's proxy) is not enough to believe its
// P-Asserted-Identity: the account must trust that proxy too (RFC 3325
// §9.1). Without the setting the claim is shown, noted on stderr, and the
// verdict rests on From; with it, on P-Asserted-Identity, and says so.
func TestWhoisCallerViaProxyNeedsTrust(t *testing.T) {
	bed := testbed.Shared(t)
	c := newCaller(t, bed, "viaproxy", "")
	path := t.TempDir() + "/pai.sip"
	msg := invite("<sip:mallory@example.test>", "P-Asserted-Identity: <sip:+15550100@example.test;user=phone>",
		"Call-Info: <xmpp:carol@example.test>;purpose=impp")
	if err := os.WriteFile(path, []byte(msg), 0o644); err != nil {
		t.Fatal(err)
	}
	judge := func(args ...string) (map[string]any, cliResult) {
		r := runCLI(t, c.home, "", append([]string{"whois-caller", "--via-proxy", "--message", path}, args...)...)
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		var v map[string]any
		if len(args) > 0 {
			if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
				t.Fatalf("%v: %s", err, r.stdout)
			}
		}
		return v, r
	}
	v, r := judge("--json")
	if v["verdict"] != "mismatch" || v["caller_source"] != "from" || !strings.Contains(r.stderr, "P-Asserted-Identity ignored") {
		t.Errorf("default: %v\nstderr %q", v, r.stderr)
	}
	if _, r = judge(); !strings.Contains(r.stdout, "claimed\tsip:+15550100@example.test;user=phone") {
		t.Errorf("default: the untrusted claim is not shown:\n%s", r.stdout)
	}
	setTrustPAI(t, c.home)
	v, _ = judge("--json")
	if v["verdict"] != "verified" || v["jid"] != "carol@example.test" || v["caller_source"] != "p-asserted-identity" {
		t.Errorf("trusted: %v", v)
	}
	if _, r = judge(); !strings.Contains(r.stdout, "identity\tP-Asserted-Identity") {
		t.Errorf("trusted: the verdict does not say it rests on P-Asserted-Identity:\n%s", r.stdout)
	}
}

// A negative --give-up-after is a usage error, said in one line.
func TestWhoisCallerGiveUpAfterUsage(t *testing.T) {
	r := runCLI(t, t.TempDir(), "", "whois-caller", "--listen", "--give-up-after", "-1s")
	if r.code != cmdutil.ExitUsage || strings.Count(strings.TrimSpace(r.stderr), "\n") > 1 || !strings.Contains(r.stderr, "--give-up-after") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
}
