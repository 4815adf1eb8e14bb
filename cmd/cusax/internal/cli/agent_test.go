package cli

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cusax/cusax/cmd/cusax/internal/jsoncheck"
	"github.com/hashicorp/go-hclog"

	agentcmd "github.com/cusax/cusax/cmd/cusax/internal/cmd/agent"
	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/internal/testbed"
	"github.com/cusax/cusax/pkg/core/agent/agentapi"
	"github.com/cusax/cusax/pkg/protocol"
	cusaxv1 "github.com/cusax/cusax/pkg/protocol/proto/cusax/v1"
	"github.com/cusax/cusax/plugins/xmpp"
)

// agentHome is one user's world for the agent tests: a logged-in
// account "lab", a private runtime dir (the socket) and a state dir (the
// log of agent start).
type agentHome struct {
	home, rt string
	env      []string
}

// bedAgentHome adds user to the bed and logs it in (newAgentHome).
func bedAgentHome(t testing.TB, ctx context.Context, bed *testbed.Bed, user string) agentHome {
	t.Helper()
	users, err := bed.AddUsers(ctx, bed.Domain, user)
	if err != nil {
		t.Fatal(err)
	}
	return newAgentHome(t, bed, user, users[user].Password)
}

func newAgentHome(t testing.TB, bed *testbed.Bed, user, password string, login ...string) agentHome {
	t.Helper()
	home := t.TempDir()
	if r := runCLI(t, home, password+"\n", loginArgs(bed, user, tlsProxy(bed), login...)...); r.code != 0 {
		t.Fatalf("login: %d\n%s", r.code, r.stderr)
	}
	// A short path: sun_path holds 107 bytes.
	rt, err := os.MkdirTemp("", "rt-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(rt) })
	h := agentHome{home: home, rt: rt}
	h.env = append(os.Environ(), "CUSAX_SECRETS=file", "XDG_CONFIG_HOME="+home, "XDG_DATA_HOME="+home+"/data",
		"XDG_CACHE_HOME="+home+"/cache", "XDG_STATE_HOME="+home+"/state", "XDG_RUNTIME_DIR="+rt, "CUSAX_PLUGIN_PATH=")
	return h
}

func (h agentHome) sock() string { return filepath.Join(h.rt, "cusax-agent", "agent.sock") }

// cusax runs the binary as this user and waits.
func (h agentHome) cusax(t *testing.T, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, cusaxBinary(t), append([]string{"--config", h.home + "/cusax/config.toml"}, args...)...)
	cmd.Env = h.env
	var out, errOut lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	r := cliResult{stdout: out.String(), stderr: errOut.String(), code: code}
	t.Logf("cusax %s → exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, r.stdout, r.stderr)
	return r
}

// agentProc is a `cusax agent run` in the foreground.
type agentProc struct {
	cmd    *exec.Cmd
	stderr *lockedBuffer
	done   chan struct{}
}

func (h agentHome) run(t testing.TB, args ...string) *agentProc {
	t.Helper()
	cmd := exec.Command(cusaxBinary(t), append([]string{"--config", h.home + "/cusax/config.toml", "agent", "run"}, args...)...)
	cmd.Env = h.env
	p := &agentProc{cmd: cmd, stderr: &lockedBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = io.Discard, p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.done:
			case <-time.After(15 * time.Second):
				_ = cmd.Process.Kill()
				<-p.done
			}
		}
		t.Logf("agent stderr:\n%s", p.stderr.String())
	})
	return p
}

func (p *agentProc) waitLog(t testing.TB, what string, d time.Duration) time.Time {
	t.Helper()
	deadline := time.Now().Add(d)
	for !strings.Contains(p.stderr.String(), what) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q on the agent's stderr within %s:\n%s", what, d, p.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Now()
}

func (h agentHome) status(t *testing.T) agentcmd.StatusJSON {
	t.Helper()
	r := h.cusax(t, "agent", "status", "--json")
	if r.code != 0 {
		t.Fatalf("agent status: exit %d\n%s", r.code, r.stderr)
	}
	jsoncheck.Validate(t, r.stdout)
	var st agentcmd.StatusJSON
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatal(err)
	}
	return st
}

func bindings(t *testing.T, bed *testbed.Bed, user string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	b, err := bed.Bindings(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestAgentSurvivesRestarts (issue 17 item 1): an agent keeping one
// account (SIP over TLS + XMPP)
//   - shows both aspects connected; Kamailio's location table has the
//     binding;
//   - Prosody restarted: says lost, then connected again, within 10 s of
//     Prosody being back;
//   - Kamailio restarted (it forgets every binding): same for SIP, and a
//     call to the AOR reaches the agent's binding (no lease listens, so
//     the agent answers 480 and logs the caller; Kamailio would say 480
//     too without a binding, so the agent's log line is the proof);
//   - SIGTERM: exit 0, no binding left, the socket gone.
func TestAgentSurvivesRestarts(t *testing.T) {
	bed := testbed.Start(t, testbed.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	h := bedAgentHome(t, ctx, bed, "agentalice")
	// The default probe (every 30 s): the agent notices Prosody's restart
	// from the end of the XMPP stream, not from a probe.
	p := h.run(t)
	p.waitLog(t, "lab: telephony: registered sip:agentalice@"+bed.Domain+" over tls", 30*time.Second)
	p.waitLog(t, "lab: chat: connected as", 30*time.Second)
	// SIP first (RFC 7081 §2).
	if s := p.stderr.String(); strings.Index(s, "telephony: registered") > strings.Index(s, "chat: connected as") {
		t.Errorf("XMPP came up before SIP:\n%s", s)
	}
	st := h.status(t)
	if len(st.Accounts) != 1 || st.Accounts[0].Chat.State != "connected" || st.Accounts[0].Telephony.State != "connected" {
		t.Fatalf("status %+v", st)
	}
	if b := bindings(t, bed, "agentalice"); len(b) != 1 {
		t.Fatalf("Kamailio's bindings for agentalice: %v, want 1", b)
	}

	if err := bed.RestartProsody(); err != nil {
		t.Fatal(err)
	}
	back := time.Now()
	p.waitLog(t, "lab: chat: connection lost", 15*time.Second)
	again := p.waitLog(t, "lab: chat: connected again after", 10*time.Second)
	t.Logf("chat: connected again %.1f s after Prosody was back", again.Sub(back).Seconds())

	if err := bed.RestartKamailio(ctx); err != nil {
		t.Fatal(err)
	}
	back = time.Now()
	p.waitLog(t, "lab: telephony: registration lost", 15*time.Second)
	again = p.waitLog(t, "lab: telephony: registered again after", 10*time.Second)
	t.Logf("telephony: registered again %.1f s after Kamailio was back", again.Sub(back).Seconds())
	if b := bindings(t, bed, "agentalice"); len(b) != 1 {
		t.Fatalf("after the restart, Kamailio's bindings for agentalice: %v, want 1", b)
	}
	res, err := bed.SippInvite(ctx, testbed.SippInviteOptions{From: "bob", To: "sip:agentalice@" + bed.Domain, ExpectStatus: 480})
	if err != nil {
		t.Fatalf("sipp: %v", err)
	}
	t.Logf("sipp: the call got %d", res.Status)
	p.waitLog(t, "lab: telephony: incoming call from sip:bob@"+bed.Domain+": nobody is answering", 10*time.Second)

	// SIGTERM: a clean stop.
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		t.Fatal("the agent ignored SIGTERM for 20 s")
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit %d after SIGTERM, want 0", code)
	}
	for _, want := range []string{"lab: telephony: unregistered", "lab: chat: logged out", "cusax agent: stopped"} {
		if !strings.Contains(p.stderr.String(), want) {
			t.Errorf("no %q on stderr", want)
		}
	}
	if b := bindings(t, bed, "agentalice"); len(b) != 0 {
		t.Errorf("Kamailio still has %v after the agent stopped", b)
	}
	if _, err := os.Lstat(h.sock()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket after SIGTERM: %v, want gone", err)
	}
}

// TestAgentKill9 (issue 17 item 1): start prints the pid and never makes a
// second agent; after kill -9 the socket stays behind, Dial says
// ErrNoAgent and status exits 15; a new start replaces the stale socket;
// stop waits until the process is gone.
func TestAgentKill9(t *testing.T) {
	bed := testbed.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	h := bedAgentHome(t, ctx, bed, "agentkill")
	var pids []int
	t.Cleanup(func() {
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	startOne := func() int {
		t.Helper()
		r := h.cusax(t, "agent", "start")
		pid, err := strconv.Atoi(strings.TrimSpace(r.stdout))
		if r.code != 0 || err != nil {
			t.Fatalf("agent start: exit %d, stdout %q", r.code, r.stdout)
		}
		pids = append(pids, pid)
		return pid
	}
	pid := startOne()
	if fi, err := os.Stat(filepath.Join(h.home, "state", "cusax", "agent.log")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("agent.log: %v %v, want mode 0600", fi, err)
	}
	if again := startOne(); again != pid {
		t.Fatalf("a second start made pid %d beside %d", again, pid)
	}
	if r := h.cusax(t, "agent", "run"); r.code != cmdutil.ExitAgentRunning || strings.Count(strings.TrimSpace(r.stderr), "\n") > 1 {
		t.Errorf("agent run beside a running one: exit %d, want %d with one line (and a hint)", r.code, cmdutil.ExitAgentRunning)
	}

	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// The leader shows as a zombie while its other threads still exit
	// (and hold the socket): wait for them all.
	waitFor(t, "the agent gone", 10*time.Second, func() bool {
		tasks, _ := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/task")
		return gone(pid) && len(tasks) <= 1
	})
	if _, err := os.Lstat(h.sock()); err != nil {
		t.Fatalf("after kill -9 the socket should be left behind: %v", err)
	}
	t.Setenv("XDG_RUNTIME_DIR", h.rt)
	if _, err := agentapi.Dial(ctx); !errors.Is(err, agentapi.ErrNoAgent) {
		t.Fatalf("Dial with a stale socket: %v, want ErrNoAgent", err)
	}
	if r := h.cusax(t, "agent", "status"); r.code != cmdutil.ExitNoAgent {
		t.Errorf("status with a stale socket: exit %d, want %d", r.code, cmdutil.ExitNoAgent)
	}
	pid2 := startOne()
	if pid2 == pid {
		t.Fatal("same pid")
	}
	if st := h.status(t); st.PID != pid2 {
		t.Errorf("status pid %d, want %d", st.PID, pid2)
	}
	if r := h.cusax(t, "agent", "stop"); r.code != 0 || !gone(pid2) {
		t.Fatalf("stop: exit %d; gone %v", r.code, gone(pid2))
	}
	if _, err := os.Lstat(h.sock()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket after stop: %v", err)
	}
	if r := h.cusax(t, "agent", "stop"); r.code != 0 || !strings.Contains(r.stderr, "no agent is running") {
		t.Errorf("stop with none running: exit %d %q", r.code, r.stderr)
	}
}

// TestAgentDelayedChat (issue 17 item 1, XEP-0203): a message sent through
// a lease while Prosody is down (deadline 20 s) goes out once after the
// agent is back, stamped with the time it was handed over; the receiver,
// offline meanwhile, gets it once from offline storage with that stamp.
func TestAgentDelayedChat(t *testing.T) {
	bed := testbed.Start(t, testbed.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	users, err := bed.AddUsers(ctx, bed.Domain, "agentsender", "agentreader")
	if err != nil {
		t.Fatal(err)
	}
	h := newAgentHome(t, bed, "agentsender", users["agentsender"].Password)
	p := h.run(t, "--probe-every", "1s")
	p.waitLog(t, "lab: chat: connected as", 30*time.Second)
	t.Setenv("XDG_RUNTIME_DIR", h.rt)
	cc, err := agentapi.Dial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	lease, err := cusaxv1.NewIMPPHost(cc).Connect(ctx, protocol.ConnectRequest{Address: "agentsender@" + bed.Domain})
	if err != nil {
		t.Fatal(err)
	}

	outage := make(chan error, 1)
	go func() { outage <- bed.RestartProsodyAfter(4 * time.Second) }()
	p.waitLog(t, "lab: chat: connection lost", 15*time.Second)
	sctx, scancel := context.WithTimeout(ctx, 20*time.Second)
	defer scancel()
	handed := time.Now()
	to := "agentreader@" + bed.Domain
	if err := lease.Send(sctx, protocol.Message{ID: "during-outage", To: to, Body: "sent while the server was away"}); err != nil {
		t.Fatalf("send during the outage: %v\n%s", err, p.stderr.String())
	}
	t.Logf("Send returned %.1f s after it was called", time.Since(handed).Seconds())
	if err := <-outage; err != nil {
		t.Fatal(err)
	}

	got := offlineMessages(t, ctx, bed, to, users["agentreader"].Password, func(m protocol.Message) bool {
		return m.Body == "sent while the server was away"
	})
	if len(got) != 1 {
		t.Fatalf("received %d copies, want exactly 1: %+v", len(got), got)
	}
	if d := got[0].Delay.Sub(handed).Abs(); got[0].Delay.IsZero() || d > time.Second {
		t.Errorf("delay stamp %v, want the hand-over time %v (XEP-0203)", got[0].Delay, handed)
	}
}

// TestAgentNegativePriority (RFC 6121 §4.7.2.3): with the agent the only
// online resource of the account and no lease listening, a message to the
// bare JID is not handed to the agent (which would show it to nobody):
// Prosody stores it offline and the user's next client gets it, once.
// With a lease listening, a message reaches the lease.
func TestAgentNegativePriority(t *testing.T) {
	bed := testbed.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	users, err := bed.AddUsers(ctx, bed.Domain, "agentprio", "agentprio2")
	if err != nil {
		t.Fatal(err)
	}
	h := newAgentHome(t, bed, "agentprio", users["agentprio"].Password)
	p := h.run(t)
	p.waitLog(t, "lab: chat: connected as", 30*time.Second)
	ca, err := os.ReadFile(bed.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	login := func(user string) protocol.IMPPSession {
		t.Helper()
		s, err := xmpp.New(hclog.NewNullLogger()).Connect(ctx, protocol.ConnectRequest{
			Address: user + "@" + bed.Domain, Password: users[user].Password, Server: bed.XMPPAddr, CAPEM: ca, Timeout: 10 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close(context.Background()) })
		return s
	}
	me := "agentprio@" + bed.Domain
	sender := login("agentprio2")
	if err := sender.Send(ctx, protocol.Message{ID: "to-bare-1", To: me, Body: "while only the agent is online"}); err != nil {
		t.Fatal(err)
	}

	// A lease listening: the agent's priority turns non-negative, and a
	// message to the bare JID reaches it.
	t.Setenv("XDG_RUNTIME_DIR", h.rt)
	cc, err := agentapi.Dial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	lease, err := cusaxv1.NewIMPPHost(cc).Connect(ctx, protocol.ConnectRequest{Address: me})
	if err != nil {
		t.Fatal(err)
	}
	lctx, lcancel := context.WithCancel(ctx)
	msgs, err := lease.Messages(lctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := sender.Send(ctx, protocol.Message{ID: "to-bare-2", To: me, Body: "while a lease listens"}); err != nil {
		t.Fatal(err)
	}
	m, err := msgs.Recv()
	if err != nil || m.ID != "to-bare-2" {
		t.Fatalf("lease got %+v, %v; want to-bare-2 (and never to-bare-1)", m, err)
	}
	lcancel()
	_ = lease.Close(ctx)

	// The user's own client comes online: the first message waits in
	// offline storage for it, once.
	reader := login("agentprio")
	rm, err := reader.Messages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := reader.SetPresence(ctx, protocol.Presence{}); err != nil {
		t.Fatal(err)
	}
	got := 0
	recv := make(chan protocol.Message, 8)
	go func() {
		for {
			m, err := rm.Recv()
			if err != nil {
				return
			}
			recv <- m
		}
	}()
	timeout := time.After(4 * time.Second)
	for done := false; !done; {
		select {
		case m := <-recv:
			if m.ID == "to-bare-1" {
				got++
				if m.Delay.IsZero() {
					t.Errorf("offline message without a delay stamp: %+v", m)
				}
			}
		case <-timeout:
			done = true
		}
	}
	if got != 1 {
		t.Fatalf("the message sent while only the agent was online arrived %d times at the user's client, want 1", got)
	}
}

// TestAgentPluginCrash: the built-in xmpp and sip backends run in the
// agent's own process, but plugins in a plugin directory (here the
// standalone builds of the same backends, replacing the built-ins) run as
// go-plugin processes. kill -9 of the agent's XMPP and then its SIP plugin
// process: the agent says so, starts the plugin again and both aspects
// come back (Kamailio holds the binding again).
func TestAgentPluginCrash(t *testing.T) {
	bed := testbed.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	users, err := bed.AddUsers(ctx, bed.Domain, "agentcrash")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, pkg := range map[string]string{
		"cusax-plugin-impp-xmpp":     "github.com/cusax/cusax/plugins/xmpp/cmd/cusax-plugin-impp-xmpp",
		"cusax-plugin-telephony-sip": "github.com/cusax/cusax/plugins/sip/cmd/cusax-plugin-telephony-sip",
	} {
		build := exec.Command("go", "build", "-o", filepath.Join(dir, name), pkg)
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := build.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", name, err, b)
		}
	}
	h := newAgentHome(t, bed, "agentcrash", users["agentcrash"].Password)
	p := h.run(t, "--plugin-dir", dir, "--probe-every", "1s")
	p.waitLog(t, "lab: chat: connected as", 30*time.Second)
	plugin := func(kind string) int {
		t.Helper()
		for _, pid := range descendants(p.cmd.Process.Pid) {
			b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
			if strings.Contains(string(b), "cusax-plugin-"+kind+"-") {
				return pid
			}
		}
		t.Fatalf("no %s plugin below the agent", kind)
		return 0
	}
	if err := syscall.Kill(plugin("impp"), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.waitLog(t, "lab: chat: connection lost", 15*time.Second)
	p.waitLog(t, "lab: chat: connected again after", 20*time.Second)
	if err := syscall.Kill(plugin("telephony"), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.waitLog(t, "lab: telephony: registration lost", 15*time.Second)
	p.waitLog(t, "lab: telephony: registered again after", 20*time.Second)
	if b := bindings(t, bed, "agentcrash"); len(b) == 0 {
		t.Fatal("no binding after the SIP plugin was started again")
	}
	st := h.status(t)
	if st.Accounts[0].Chat.State != "connected" || st.Accounts[0].Telephony.State != "connected" {
		t.Fatalf("status %+v", st)
	}
}

// TestAgentLeaseIncomingCall: a Telephony lease on the agent's binding.
// Register answers with the live registration (no second binding at
// Kamailio); a call to the AOR reaches the lease's IncomingCalls stream and
// gets the lease's answer (486); after the lease closed, the agent answers
// the next call 480 itself and logs it.
func TestAgentLeaseIncomingCall(t *testing.T) {
	bed := testbed.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	h := bedAgentHome(t, ctx, bed, "agentcallee")
	p := h.run(t)
	aor := "sip:agentcallee@" + bed.Domain
	p.waitLog(t, "lab: telephony: registered "+aor, 30*time.Second)
	t.Setenv("XDG_RUNTIME_DIR", h.rt)
	cc, err := agentapi.Dial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	lease, err := cusaxv1.NewTelephonyHost(cc).Connect(ctx, protocol.ConnectRequest{Address: aor})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := lease.Register(ctx, protocol.RegisterRequest{})
	if err != nil || rep.Transport != "tls" {
		t.Fatalf("lease Register: %+v %v", rep, err)
	}
	if b := bindings(t, bed, "agentcallee"); len(b) != 1 {
		t.Fatalf("bindings after a lease's Register: %v, want the agent's one", b)
	}
	lctx, lcancel := context.WithCancel(ctx)
	calls, err := lease.IncomingCalls(lctx)
	if err != nil {
		t.Fatal(err)
	}
	answered := make(chan error, 1)
	go func() {
		for {
			ic, err := calls.Recv()
			if err != nil {
				answered <- err
				return
			}
			if ic.CallID != "" {
				answered <- lease.Respond(ctx, ic.CallID, 486, "")
				return
			}
		}
	}()
	if _, err := bed.SippInvite(ctx, testbed.SippInviteOptions{From: "bob", To: aor, ExpectStatus: 486}); err != nil {
		t.Fatalf("call while a lease listens: %v\n%s", err, p.stderr.String())
	}
	if err := <-answered; err != nil {
		t.Fatal(err)
	}
	if strings.Contains(p.stderr.String(), "nobody is answering") {
		t.Error("the agent answered a call a lease was listening for")
	}
	lcancel()
	if err := lease.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if b := bindings(t, bed, "agentcallee"); len(b) != 1 {
		t.Fatalf("bindings after the lease closed: %v, want the agent's one", b)
	}
	if _, err := bed.SippInvite(ctx, testbed.SippInviteOptions{From: "bob", To: aor, ExpectStatus: 480}); err != nil {
		t.Fatalf("call after the lease closed: %v", err)
	}
	p.waitLog(t, "lab: telephony: incoming call from sip:bob@"+bed.Domain+": nobody is answering (480)", 10*time.Second)
}

// TestAgentLeaseDial: a call placed through a Telephony lease goes out on
// the agent's registered user agent and is answered by a sipp callee.
func TestAgentLeaseDial(t *testing.T) {
	bed := testbed.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	users, err := bed.AddUsers(ctx, bed.Domain, "agentdialer")
	if err != nil {
		t.Fatal(err)
	}
	callee := calleeUser(t, bed, "agentdialee")
	h := newAgentHome(t, bed, "agentdialer", users["agentdialer"].Password)
	p := h.run(t)
	aor := "sip:agentdialer@" + bed.Domain
	p.waitLog(t, "lab: telephony: registered "+aor, 30*time.Second)
	uas := bed.StartSippUAS(t, testbed.SippUASOptions{User: callee, Answer: 200})
	t.Setenv("XDG_RUNTIME_DIR", h.rt)
	cc, err := agentapi.Dial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	lease, err := cusaxv1.NewTelephonyHost(cc).Connect(ctx, protocol.ConnectRequest{Address: aor})
	if err != nil {
		t.Fatal(err)
	}
	defer lease.Close(context.Background())
	if _, err := lease.Register(ctx, protocol.RegisterRequest{}); err != nil {
		t.Fatal(err)
	}
	st, err := lease.Dial(ctx, protocol.DialRequest{Target: uas.URI,
		Media: protocol.MediaOptions{Duration: 500 * time.Millisecond, Encryption: protocol.MediaEncryptionNone}})
	if err != nil {
		t.Fatal(err)
	}
	var last protocol.CallEvent
	for !last.Final {
		if last, err = st.Recv(); err != nil {
			t.Fatalf("call through the lease: %v", err)
		}
	}
	if !last.Answered || last.StatusCode != 200 {
		t.Fatalf("final event %+v, want answered 200", last)
	}
	if res, err := uas.Wait(15 * time.Second); err != nil || res.Successful != 1 {
		t.Fatalf("callee: %+v %v", res, err)
	}
}
