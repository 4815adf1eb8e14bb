package cli

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cusax/cusax/internal/testbed"
	"github.com/cusax/cusax/pkg/core/agent/agentapi"
)

// Issue 17 item 2: one-liners use the agent's live sessions. These tests
// run the built binary against the real bed and count, in Prosody's and
// Kamailio's logs, the logins and REGISTERs each run caused.

// serverCounts are the bed's counters for one user: XMPP logins
// (Prosody's "Authenticated as") and REGISTERs Kamailio accepted
// (refreshes and unregisters too).
type serverCounts struct{ logins, registers int }

func countsFor(t *testing.T, bed *testbed.Bed, user string) serverCounts {
	t.Helper()
	read := func(path string) string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("bed log: %v", err)
		}
		return string(b)
	}
	return serverCounts{
		logins:    strings.Count(read(filepath.Join(bed.Dir, "prosody", "prosody.log")), "Authenticated as "+user+"@"+bed.Domain+"\n"),
		registers: strings.Count(read(filepath.Join(bed.Dir, "kamailio", "kamailio.log")), "cusax-testbed: REGISTER sip:"+user+"@"+bed.Domain+" "),
	}
}

// agentUser is a fresh bed user with bob in its roster ("Bob"), logged
// in as account "lab" (SIP over TLS, XMPP) in its own home.
func agentUser(t *testing.T, bed *testbed.Bed, name string) agentHome {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	users, err := bed.AddUsers(ctx, bed.Domain, name)
	if err != nil {
		t.Fatal(err)
	}
	if err := bed.Seed(ctx, testbed.Seed{Rosters: map[string][]testbed.Contact{name: {{JID: "bob@" + bed.Domain, Name: "Bob"}}}}); err != nil {
		t.Fatalf("seed: %v", err)
	}
	return newAgentHome(t, bed, name, users[name].Password)
}

// startAgent runs `cusax agent run` and waits until both aspects are
// connected.
func startAgent(t *testing.T, h agentHome) *agentProc {
	t.Helper()
	p := h.run(t)
	p.waitLog(t, "listening on", 20*time.Second)
	waitFor(t, "the agent connected", 30*time.Second, func() bool {
		st := h.status(t)
		if len(st.Accounts) == 0 {
			return false
		}
		b, _ := json.Marshal(st.Accounts)
		return strings.Count(string(b), `"connected"`) >= 2 && !strings.Contains(string(b), `"connecting"`)
	})
	return p
}

// volatile are the JSON values that differ between two runs of the same
// command: durations, times, ids; and, inside values, local ports and the
// XMPP resource (the agent's session is bound as …/cusax-agent, a fresh
// login gets a random one: RFC 6120 §7.6).
var (
	volatile = regexp.MustCompile(`"([a-z_]*(_ms|_at|time|since|elapsed|started|finished|call_id)[a-z_]*)":\s*("[^"]*"|[0-9.eE+-]+)`)
	port     = regexp.MustCompile(`127\.0\.0\.1:[0-9]+`)
	resource = regexp.MustCompile(`(@[a-z0-9.-]+)/[^"\s]+`)
)

func normalized(s string) string {
	s = volatile.ReplaceAllString(s, `"$1":"…"`)
	s = port.ReplaceAllString(s, "127.0.0.1:…")
	return strings.TrimSpace(resource.ReplaceAllString(s, "$1/…"))
}

// TestAgentOneLinersSameAsFreshLogin: with the agent running, chat, roster,
// status --check and call give the same stdout (modulo times and ids) and
// exit codes as with --no-agent, and the servers see no new login or
// REGISTER for the agent runs (they do for the --no-agent ones).
func TestAgentOneLinersSameAsFreshLogin(t *testing.T) {
	bed := testbed.Shared(t)
	h := agentUser(t, bed, "agentcli")
	callee := calleeUser(t, bed, "agentclicallee")
	startAgent(t, h)

	type oneLiner struct {
		name string
		args []string
		code int
		uas  bool // a sipp callee answers this one
		// quiet: the command neither logs in nor registers even without
		// the agent (a call only sends an INVITE); what the agent spares
		// it is the plugin start.
		quiet bool
		// sameStderr: stderr too is the same (notes, the error line and
		// its hints), not only stdout and the exit code.
		sameStderr bool
	}
	cases := []oneLiner{
		{name: "chat to a roster name", args: []string{"chat", "--json", "bob", "hi from a one-liner"}, sameStderr: true},
		{name: "chat to a JID", args: []string{"chat", "--json", "bob@" + bed.Domain, "hi"}, sameStderr: true},
		{name: "chat to nobody", args: []string{"chat", "--json", "nosuchuser@" + bed.Domain, "hi"}, code: -1, sameStderr: true},
		{name: "chat to nobody, text", args: []string{"chat", "nosuchuser@" + bed.Domain, "hi"}, code: -1, sameStderr: true},
		{name: "chat to a name nobody has", args: []string{"chat", "nosuchname", "hi"}, code: 2, sameStderr: true, quiet: true},
		{name: "roster", args: []string{"roster", "--json"}},
		{name: "status --check", args: []string{"status", "--check", "--json"}},
		// sipp's callee answers plain RTP: the account's SIP over TLS
		// would require SRTP (exit 14) without --media-encryption optional.
		{name: "call", args: []string{"call", "--json", "--duration", "0", "--media-encryption", "optional", "sip:" + callee + "@" + bed.Domain}, uas: true, quiet: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			run := func(args ...string) (cliResult, serverCounts) {
				if c.uas {
					uas := bed.StartSippUAS(t, testbed.SippUASOptions{User: callee, Answer: 200})
					defer func() {
						if _, err := uas.Wait(15 * time.Second); err != nil {
							t.Errorf("callee: %v", err)
						}
					}()
				}
				before := countsFor(t, bed, "agentcli")
				r := h.cusax(t, args...)
				after := countsFor(t, bed, "agentcli")
				return r, serverCounts{after.logins - before.logins, after.registers - before.registers}
			}
			viaAgent, agentUse := run(c.args...)
			fresh, freshUse := run(append([]string{"--no-agent"}, c.args...)...)
			if viaAgent.code != fresh.code || (c.code >= 0 && viaAgent.code != c.code) {
				t.Errorf("exit %d via the agent, %d with --no-agent (want %d)", viaAgent.code, fresh.code, c.code)
			}
			if c.code < 0 && viaAgent.code == 0 {
				t.Errorf("exit 0; want the failure a fresh login reports")
			}
			if a, f := normalized(viaAgent.stdout), normalized(fresh.stdout); a != f {
				t.Errorf("stdout differs\nvia the agent: %s\n--no-agent:    %s", a, f)
			}
			if a, f := normalized(viaAgent.stderr), normalized(fresh.stderr); c.sameStderr && a != f {
				t.Errorf("stderr differs\nvia the agent: %s\n--no-agent:    %s", a, f)
			}
			if agentUse != (serverCounts{}) {
				t.Errorf("the run via the agent caused %d XMPP logins and %d REGISTERs; want none", agentUse.logins, agentUse.registers)
			}
			// The counters work: a fresh login shows in them.
			if freshUse == (serverCounts{}) && !c.quiet {
				t.Errorf("the --no-agent run left no login or REGISTER in the servers' logs")
			}
			if strings.Contains(viaAgent.stderr, "note: ignoring the agent") {
				t.Errorf("a working agent was ignored: %s", viaAgent.stderr)
			}
		})
	}
}

// TestAgentDebugAndOptOut: --debug says whether the agent was used;
// --no-agent and CUSAX_NO_AGENT=1 log in afresh beside a running agent.
func TestAgentDebugAndOptOut(t *testing.T) {
	bed := testbed.Shared(t)
	h := agentUser(t, bed, "agentclidebug")
	startAgent(t, h)
	r := h.cusax(t, "--debug", "chat", "bob", "hi")
	if r.code != 0 || !strings.Contains(r.stderr, "using the agent's live session") {
		t.Errorf("--debug through the agent: exit %d; want a line saying the agent's session was used", r.code)
	}
	r = h.cusax(t, "--debug", "--no-agent", "chat", "bob", "hi")
	if r.code != 0 || !strings.Contains(r.stderr, "agent not asked") {
		t.Errorf("--debug --no-agent: exit %d; want a line saying the agent was not asked", r.code)
	}
	before := countsFor(t, bed, "agentclidebug")
	env := h.env
	h.env = append(append([]string(nil), env...), "CUSAX_NO_AGENT=1")
	r = h.cusax(t, "chat", "bob", "hi")
	h.env = env
	if after := countsFor(t, bed, "agentclidebug"); r.code != 0 || after.logins != before.logins+1 {
		t.Errorf("CUSAX_NO_AGENT=1: exit %d, %d logins; want a fresh login", r.code, after.logins-before.logins)
	}
}

var agentNote = regexp.MustCompile(`(?m)^cusax: note: ignoring the agent socket at [^\n]*: [^\n]*; logging in directly$`)

// fallbackChat runs `cusax chat bob hi` and checks that it was sent by a
// fresh login, with exactly one note about the agent socket that says
// why (want).
func fallbackChat(t *testing.T, bed *testbed.Bed, h agentHome, user, want string) {
	t.Helper()
	before := countsFor(t, bed, user)
	r := h.cusax(t, "chat", "--json", "bob", "hi")
	after := countsFor(t, bed, user)
	if r.code != 0 || !strings.Contains(r.stdout, `"sent": 1`) {
		t.Fatalf("chat: exit %d, stdout %q; want the message sent", r.code, r.stdout)
	}
	if after.logins != before.logins+1 {
		t.Errorf("%d XMPP logins; want 1 (a fresh one)", after.logins-before.logins)
	}
	notes := agentNote.FindAllString(r.stderr, -1)
	if len(notes) != 1 || !strings.Contains(notes[0], want) {
		t.Errorf("stderr %q; want one note about the agent socket saying %q", r.stderr, want)
	}
}

// TestAgentKilledOneLinerLogsInAfresh: after kill -9 of the agent, its
// socket is left behind; the next one-liner says so in one line and logs
// in itself.
func TestAgentKilledOneLinerLogsInAfresh(t *testing.T) {
	bed := testbed.Shared(t)
	h := agentUser(t, bed, "agentclikill")
	p := startAgent(t, h)
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the agent gone", 10*time.Second, func() bool {
		select {
		case <-p.done:
			return true
		default:
			return false
		}
	})
	if _, err := os.Lstat(h.sock()); err != nil {
		t.Fatalf("kill -9 should leave the socket behind: %v", err)
	}
	fallbackChat(t, bed, h, "agentclikill", "nothing listens")
}

// TestAgentSocketDirOthersMayEnter: a socket (really listening, as this
// user) in a directory of mode 0777 is never used: anyone could have put
// it there.
func TestAgentSocketDirOthersMayEnter(t *testing.T) {
	bed := testbed.Shared(t)
	h := agentUser(t, bed, "agentcli777")
	dir := filepath.Dir(h.sock())
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("unix", h.sock())
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan struct{}, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			accepted <- struct{}{}
			c.Close()
		}
	}()
	fallbackChat(t, bed, h, "agentcli777", "mode 0777")
	select {
	case <-accepted:
		t.Error("cusax connected to a socket in a directory others may write")
	default:
	}
}

// envNobodyListen makes the test binary a bare listener on the unix
// socket it names (TestAgentForeignListenerNotTrusted runs it as nobody).
const envNobodyListen = "CUSAX_TEST_LISTEN_AS_IS"

func init() {
	sock := os.Getenv(envNobodyListen)
	if sock == "" {
		return
	}
	ln, err := net.Listen("unix", sock)
	if err != nil {
		println(err.Error())
		os.Exit(1)
	}
	println("ready")
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		c, err := ln.Accept()
		if err != nil {
			os.Exit(1)
		}
		c.Close()
	}
	os.Exit(0)
}

// TestAgentForeignListenerNotTrusted: a private directory, a socket file
// owned by this user, but the process listening on it runs as nobody
// (uid 65534): SO_PEERCRED shows it, and it is not trusted.
func TestAgentForeignListenerNotTrusted(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("needs root (to run a listener as nobody); CI runs tests as root")
		}
		t.Skip("needs root to run a listener as nobody")
	}
	bed := testbed.Shared(t)
	h := agentUser(t, bed, "agentclinobody")
	dir := filepath.Dir(h.sock())
	if err := agentapi.EnsureDir(dir); err != nil {
		t.Fatal(err)
	}
	// nobody binds in a directory it may write, then the socket moves
	// into the private one and is given to this user: only the
	// listener's uid is foreign.
	open, err := os.MkdirTemp("", "nobody-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(open)
	if err := os.Chmod(open, 0o777); err != nil {
		t.Fatal(err)
	}
	// The test binary itself listens (see init), copied where nobody may
	// run it.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(open, "listener")
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(exe, b, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	tmpSock := filepath.Join(open, "agent.sock")
	cmd := exec.CommandContext(ctx, exe)
	cmd.Env = []string{envNobodyListen + "=" + tmpSock}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("listener as nobody: %v", err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	waitFor(t, "nobody's listener", 10*time.Second, func() bool { return strings.Contains(out.String(), "ready") })
	if err := os.Rename(tmpSock, h.sock()); err != nil {
		t.Fatal(err)
	}
	if err := os.Lchown(h.sock(), os.Geteuid(), os.Getegid()); err != nil {
		t.Fatal(err)
	}
	if err := agentapi.CheckSocket(h.sock()); err != nil {
		t.Fatalf("the socket should pass the file checks, so that only the peer check refuses it: %v", err)
	}
	fallbackChat(t, bed, h, "agentclinobody", "runs as uid 65534")
}

// TestAgentListenersSameAsFreshLogin: `whois-caller --listen` and
// `answer` through the agent judge a sipp caller (a user of its own in the roster, with
// no proof) and decline the call (603) exactly as a listener that
// registered itself does, with no REGISTER of their own. The agent is
// stopped before each --no-agent run: Kamailio would fork the call to
// both bindings.
func TestAgentListenersSameAsFreshLogin(t *testing.T) {
	bed := testbed.Shared(t)
	for _, c := range []struct {
		name, user, ready string
		args              []string
	}{
		{"whois-caller", "agentcliwho", "listening for calls", []string{"whois-caller", "--listen", "--json", "--on-call", "decline"}},
		{"answer", "agentclians", "answering calls", []string{"answer", "--json", "--max-calls", "1"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := agentUser(t, bed, c.user)
			me := "sip:" + c.user + "@" + bed.Domain
			// A caller of this test's own, in the roster with no vCard: the
			// shared bed's bob may have one (other tests seed it), which
			// proves him and makes answer take the call instead.
			caller := c.user + "bob"
			sctx, scancel := context.WithTimeout(context.Background(), 60*time.Second)
			if _, err := bed.AddUsers(sctx, bed.Domain, caller); err != nil {
				t.Fatal(err)
			}
			if err := bed.Seed(sctx, testbed.Seed{Rosters: map[string][]testbed.Contact{c.user: {{JID: caller + "@" + bed.Domain, Name: "Bob"}}}}); err != nil {
				t.Fatalf("seed: %v", err)
			}
			scancel()
			judge := func(global ...string) (map[string]any, serverCounts) {
				t.Helper()
				ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
				defer cancel()
				before := countsFor(t, bed, c.user)
				cmd := exec.CommandContext(ctx, cusaxBinary(t), append(append([]string{"--config", h.home + "/cusax/config.toml"}, global...), c.args...)...)
				cmd.Env = h.env
				out, errOut := &lockedBuffer{}, &lockedBuffer{}
				cmd.Stdout, cmd.Stderr = out, errOut
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				done := make(chan struct{})
				go func() { _ = cmd.Wait(); close(done) }()
				defer func() {
					_ = cmd.Process.Signal(os.Interrupt)
					select {
					case <-done:
					case <-time.After(10 * time.Second):
						_ = cmd.Process.Kill()
						<-done
						t.Errorf("%s ignored Ctrl-C for 10 s", c.name)
					}
					t.Logf("%s %v stderr:\n%s", c.name, global, errOut.String())
				}()
				waitFor(t, c.ready, 20*time.Second, func() bool { return strings.Contains(errOut.String(), c.ready) })
				res, err := bed.SippInvite(ctx, testbed.SippInviteOptions{From: caller, To: me, ExpectStatus: 603})
				if err != nil {
					t.Fatalf("sipp caller: %v (status %d)", err, res.Status)
				}
				waitFor(t, "the call judged", 15*time.Second, func() bool { return strings.Contains(out.String(), "\n") })
				var v map[string]any
				line, _, _ := strings.Cut(out.String(), "\n")
				if err := json.Unmarshal([]byte(line), &v); err != nil {
					t.Fatalf("%v: %s", err, line)
				}
				after := countsFor(t, bed, c.user)
				return v, serverCounts{after.logins - before.logins, after.registers - before.registers}
			}
			p := startAgent(t, h)
			viaAgent, agentUse := judge()
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.done:
			case <-time.After(15 * time.Second):
				t.Fatal("the agent did not stop on SIGTERM within 15 s")
			}
			fresh, freshUse := judge("--no-agent")
			a, _ := json.Marshal(viaAgent)
			f, _ := json.Marshal(fresh)
			if normalized(string(a)) != normalized(string(f)) {
				t.Errorf("judged differently\nvia the agent: %s\n--no-agent:    %s", a, f)
			}
			if agentUse.registers != 0 {
				t.Errorf("%s through the agent caused %d REGISTERs; want none", c.name, agentUse.registers)
			}
			if freshUse.registers == 0 {
				t.Errorf("%s with --no-agent left no REGISTER in Kamailio's log", c.name)
			}
		})
	}
}
