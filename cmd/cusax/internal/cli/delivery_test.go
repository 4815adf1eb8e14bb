package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cusax/cusax/internal/testbed"
)

// Delivery guarantees of chat --listen against the real Prosody of the test
// bed (issue 13): what cusax received but never printed is delivered to
// the next listener (XEP-0198 acknowledgements driven by what was printed),
// a slow reader loses nothing, --count N takes exactly N, a dropped
// connection exits 7.

// deliveryUser creates a bed user with a cusax login and returns its home.
// With server set, the account connects there instead of to Prosody (a
// proxy in front of it).
func deliveryUser(t *testing.T, bed *testbed.Bed, name, server string) (home, jid string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// A new user each time: the shared bed outlives one run (-count).
	name = fmt.Sprintf("%s%d", name, deliveryUsers.Add(1))
	users, err := bed.AddUsers(ctx, bed.Domain, name)
	if err != nil {
		t.Fatal(err)
	}
	if server == "" {
		server = bed.XMPPAddr
	}
	home = t.TempDir()
	r := runCLI(t, home, users[name].Password+"\n", "login", "--name", "d", "--jid", name+"@"+bed.Domain, "--xmpp-server", server, "--ca-file", bed.CAFile, "--password-stdin")
	if r.code != 0 {
		t.Fatalf("login %s: %d", name, r.code)
	}
	return home, name + "@" + bed.Domain
}

var deliveryUsers atomic.Int64

// sendChat sends each body as a message from the user of home to jid with
// `cusax chat --lines` (in process): it returns once the server accepted
// them all.
func sendChat(t *testing.T, home, jid string, bodies ...string) {
	t.Helper()
	r := runCLI(t, home, strings.Join(bodies, "\n")+"\n", "chat", jid, "--lines")
	if r.code != 0 {
		t.Fatalf("send to %s: exit %d: %s", jid, r.code, r.stderr)
	}
}

// cusaxProc is the real cusax binary running `chat --listen …` as its own
// process (with its plugin as a child), as a user would run it.
type cusaxProc struct {
	cmd      *exec.Cmd
	stdout   *os.File // read end of its stdout
	stderr   lockedBuffer
	exited   chan struct{} // closed when it exited
	code     int           // exit code; -signal when killed
	readOnce sync.Once
	readDone chan struct{} // closed when its stdout was read to the end

	mu    sync.Mutex
	lines []string
}

func cusaxEnv(home string) []string {
	return append(os.Environ(), "CUSAX_SECRETS=file", "XDG_CONFIG_HOME="+home, "XDG_DATA_HOME="+home+"/data", "CUSAX_PLUGIN_PATH=", "CUSAX_CONFIG=")
}

// startCusax starts the binary; unless manual, its stdout is read line by
// line as fast as it comes (manual: only once read is called).
func startCusax(t *testing.T, home string, manual bool, args ...string) *cusaxProc {
	t.Helper()
	bin := cusaxBinary(t)
	p := &cusaxProc{exited: make(chan struct{}), readDone: make(chan struct{})}
	p.cmd = exec.Command(bin, append([]string{"--config", home + "/cusax/config.toml"}, args...)...)
	p.cmd.Env = cusaxEnv(home)
	p.cmd.Stderr = &p.stderr
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	p.stdout, p.cmd.Stdout = r, w
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	go func() {
		_ = p.cmd.Wait()
		p.code = p.cmd.ProcessState.ExitCode()
		if ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			p.code = -int(ws.Signal())
		}
		close(p.exited)
	}()
	if !manual {
		p.read()
	}
	t.Cleanup(func() {
		p.killTree()
		select {
		case <-p.exited:
		case <-time.After(10 * time.Second):
		}
		r.Close()
		if t.Failed() {
			t.Logf("cusax %s: stderr:\n%s", strings.Join(args, " "), p.stderr.String())
		}
	})
	return p
}

// read starts reading stdout.
func (p *cusaxProc) read() {
	p.readOnce.Do(func() {
		go func() {
			defer close(p.readDone)
			p.readLines(p.stdout)
		}()
	})
}

func (p *cusaxProc) readLines(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		p.mu.Lock()
		p.lines = append(p.lines, sc.Text())
		p.mu.Unlock()
	}
}

func (p *cusaxProc) output() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.lines...)
}

// bodies returns the bodies of the --json lines printed so far.
func (p *cusaxProc) bodies(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, l := range p.output() {
		var m struct{ Body string }
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("not a JSON line: %q", l)
		}
		out = append(out, m.Body)
	}
	return out
}

// wait waits for the process to exit and its stdout to be read, and
// returns its exit code.
func (p *cusaxProc) wait(t *testing.T, d time.Duration) int {
	t.Helper()
	timeout := time.After(d)
	select {
	case <-p.exited:
	case <-timeout:
		t.Fatalf("cusax did not exit within %v; stderr:\n%s", d, p.stderr.String())
	}
	p.read()
	select {
	case <-p.readDone:
	case <-timeout:
		t.Fatalf("cusax's stdout did not end within %v", d)
	}
	return p.code
}

// killTree kills the plugin children, then the host, with SIGKILL: no
// cleanup runs anywhere (the worst case: what the plugin read from TCP is
// gone with it).
func (p *cusaxProc) killTree() {
	if p.cmd.Process == nil {
		return
	}
	for _, c := range testbed.Children(p.cmd.Process.Pid) {
		_ = syscall.Kill(c, syscall.SIGKILL)
	}
	_ = syscall.Kill(p.cmd.Process.Pid, syscall.SIGKILL)
}

// waitUnacked polls Prosody until ok accepts the XEP-0198 unacknowledged
// counts of jid's sessions (resource → count).
func waitUnacked(t *testing.T, bed *testbed.Bed, jid, what string, ok func(map[string]int) bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var last map[string]int
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		m, err := bed.SMUnacked(ctx, jid)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if ok(m) {
			return
		}
		if allEqual(m, -1) && len(m) > 0 {
			// No stream management on the session (cusax before XEP-0198
			// support): nothing to observe; the outcome will tell.
			t.Logf("%s: the session has no stream management", what)
			return
		}
		last = m
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s (Prosody's unacknowledged stanzas: %v)", what, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func waitLines(t *testing.T, p *cusaxProc, n int) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d lines from chat --listen", n), 30*time.Second, func() bool { return len(p.output()) >= n })
}

// A listener killed with kill -9, its plugin too, loses nothing: what it
// never printed (received by its plugin or still on the way) and what was
// sent once it was gone reach the next listener, each once, with the
// server's delay stamp. (Before: Prosody counted a message delivered once
// written to the TCP connection; the plugin's read was lost with it.)
func TestChatListenKill9(t *testing.T) {
	bed := testbed.Shared(t)
	recv, jid := deliveryUser(t, bed, "k9recv", "")
	sender, _ := deliveryUser(t, bed, "k9send", "")

	first := startCusax(t, recv, false, "chat", "--listen", "--json")
	sendChat(t, sender, jid, "m1")
	waitLines(t, first, 1)
	// The server has m1's acknowledgement: the plugin sent it after the
	// host printed m1.
	waitUnacked(t, bed, jid, "m1 acknowledged", func(m map[string]int) bool {
		return len(m) == 1 && allEqual(m, 0)
	})
	// From now on the host takes nothing: it is stopped, its plugin is not
	// and goes on reading from the server.
	if err := syscall.Kill(first.cmd.Process.Pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	sendChat(t, sender, jid, "m2", "m3", "m4")
	waitUnacked(t, bed, jid, "m2–m4 sent to the listener, unacknowledged", func(m map[string]int) bool {
		return len(m) == 1 && allAtLeast(m, 3)
	})
	first.killTree()
	if code := first.wait(t, 10*time.Second); code != -int(syscall.SIGKILL) {
		t.Fatalf("first listener: exit %d, want killed", code)
	}
	waitUnacked(t, bed, jid, "the server to drop the dead session", func(m map[string]int) bool { return len(m) == 0 })
	sendChat(t, sender, jid, "m5")

	second := startCusax(t, recv, false, "chat", "--listen", "--json", "--include-delayed", "--count", "4", "--listen-for", "30s")
	if code := second.wait(t, 40*time.Second); code != 0 {
		t.Fatalf("second listener: exit %d", code)
	}
	got := second.bodies(t)
	if strings.Join(got, ",") != "m2,m3,m4,m5" {
		t.Errorf("next listener got %q, want m2,m3,m4,m5", got)
	}
	for _, l := range second.output() {
		t.Logf("second listener: %s", l)
		var m struct {
			Time  time.Time  `json:"received_at"`
			Delay *time.Time `json:"delayed_at"`
		}
		if err := json.Unmarshal([]byte(l), &m); err != nil || m.Delay == nil || m.Delay.After(m.Time) {
			t.Errorf("want a delay stamp before the receive time: %s", l)
		}
	}
	if len(first.output()) != 1 {
		t.Errorf("first listener printed %q", first.output())
	}
}

// kill -9 of the host alone (its plugin is left to notice): a message sent
// afterwards must reach the next listener. This needs the plugin to end
// with its host (the fix-lifecycle branch: Pdeathsig and the plugin
// watching its parent); on this branch alone an orphaned plugin keeps the
// session, and the message waits, unacknowledged, in it.
func TestChatListenHostKill9(t *testing.T) {
	bed := testbed.Shared(t)
	recv, jid := deliveryUser(t, bed, "hk9recv", "")
	sender, _ := deliveryUser(t, bed, "hk9send", "")

	first := startCusax(t, recv, false, "chat", "--listen", "--json")
	sendChat(t, sender, jid, "before")
	waitLines(t, first, 1)
	plugins := testbed.Children(first.cmd.Process.Pid)
	t.Cleanup(func() {
		for _, c := range plugins {
			_ = syscall.Kill(c, syscall.SIGKILL)
		}
	})
	if err := syscall.Kill(first.cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	first.wait(t, 10*time.Second)
	sendChat(t, sender, jid, "after")
	// The plugin must end with its host, and its session with it. While an
	// orphan holds the session, "after" waits there unacknowledged; Prosody
	// stores such messages offline only when the session ending is the
	// user's last one (mod_smacks delivery/failure), so the next listener
	// must not log in before it is gone.
	waitUnacked(t, bed, jid, "the orphaned plugin's session to end", func(m map[string]int) bool { return len(m) == 0 })
	second := startCusax(t, recv, false, "chat", "--listen", "--json", "--include-delayed", "--count", "1", "--listen-for", "20s")
	if code := second.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("second listener: exit %d", code)
	}
	if got := second.bodies(t); strings.Join(got, ",") != "after" {
		t.Errorf("next listener got %q, want after", got)
	}
}

// --count N stops taking messages once N are printed: of N+5 waiting, the
// next listener gets exactly the 5 others, once. (Before: the rest arrived
// with the first N and was lost.)
func TestChatListenCountLeavesRest(t *testing.T) {
	bed := testbed.Shared(t)
	recv, jid := deliveryUser(t, bed, "cntrecv", "")
	sender, _ := deliveryUser(t, bed, "cntsend", "")
	const n = 3
	var all []string
	for i := 1; i <= n+5; i++ {
		all = append(all, "c"+strconv.Itoa(i))
	}
	// Offline now: all N+5 reach the listener together when it announces
	// its presence.
	sendChat(t, sender, jid, all...)

	first := startCusax(t, recv, false, "chat", "--listen", "--json", "--include-delayed", "--count", strconv.Itoa(n), "--listen-for", "30s")
	if code := first.wait(t, 40*time.Second); code != 0 {
		t.Fatalf("first listener: exit %d", code)
	}
	if got := first.bodies(t); strings.Join(got, ",") != strings.Join(all[:n], ",") {
		t.Fatalf("first listener got %q, want %q", got, all[:n])
	}
	waitUnacked(t, bed, jid, "the first listener's session to end", func(m map[string]int) bool { return len(m) == 0 })
	second := startCusax(t, recv, false, "chat", "--listen", "--json", "--count", "6", "--listen-for", "30s")
	waitLines(t, second, 5)
	// A marker after the 5: a duplicate would come before it.
	sendChat(t, sender, jid, "end")
	if code := second.wait(t, 40*time.Second); code != 0 {
		t.Fatalf("second listener: exit %d", code)
	}
	want := append(append([]string(nil), all[n:]...), "end")
	if got := second.bodies(t); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("next listener got %q, want %q", got, want)
	}
}

// A reader that does not read: 5,000 messages flood `chat --listen`
// while its stdout is not read at all; then it is read. Every message is
// printed exactly once. 5,000 is more than the plugin's stream holds
// (streamBuffer, 4,096), so the plugin stops reading from the server and
// TCP holds the rest. (Before: the plugin kept 256 and dropped the rest.)
func TestChatListenSlowReader(t *testing.T) {
	if testing.Short() {
		t.Skip("floods 5,000 messages")
	}
	bed := testbed.Shared(t)
	recv, jid := deliveryUser(t, bed, "slowrecv", "")
	sender, _ := deliveryUser(t, bed, "slowsend", "")
	const total = 5000

	p := startCusax(t, recv, true, "chat", "--listen", "--json", "--count", strconv.Itoa(total+1), "--listen-for", "5m")
	// Ready: a first message reaches it (offline storage or directly).
	sendChat(t, sender, jid, "ready")
	bodies := make([]string, total)
	for i := range bodies {
		bodies[i] = fmt.Sprintf("flood %04d %s", i, strings.Repeat("x", 100))
	}
	sendChat(t, sender, jid, bodies...) // nobody reads cusax's stdout meanwhile
	p.read()
	if code := p.wait(t, 5*time.Minute); code != 0 {
		t.Fatalf("listener: exit %d", code)
	}
	got := p.bodies(t)
	seen := map[string]int{}
	for _, b := range got {
		seen[b]++
	}
	if seen["ready"] != 1 {
		t.Errorf("ready printed %d times", seen["ready"])
	}
	missing, dup := 0, 0
	for _, b := range bodies {
		switch seen[b] {
		case 0:
			missing++
		case 1:
		default:
			dup++
		}
	}
	t.Logf("printed %d lines: %d of %d flood messages missing, %d duplicated", len(got), missing, total, dup)
	if missing != 0 || dup != 0 || len(got) != total+1 {
		t.Errorf("printed %d lines, want %d: %d missing, %d duplicated", len(got), total+1, missing, dup)
	}
}

// tcpCutter is a TCP relay to Prosody whose connections the test can cut,
// as a network failure or a server restart would; while paused it closes
// every new connection at once (the server is down).
type tcpCutter struct {
	ln     net.Listener
	paused atomic.Bool
	mu     sync.Mutex
	conns  []net.Conn
}

func newTCPCutter(t *testing.T, target string) *tcpCutter {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &tcpCutter{ln: ln}
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			if c.paused.Load() {
				in.Close()
				continue
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			c.mu.Lock()
			c.conns = append(c.conns, in, out)
			c.mu.Unlock()
			go func() { _, _ = io.Copy(out, in); out.Close() }()
			go func() { _, _ = io.Copy(in, out); in.Close() }()
		}
	}()
	t.Cleanup(func() { ln.Close(); c.cut() })
	return c
}

func (c *tcpCutter) addr() string { return c.ln.Addr().String() }
func (c *tcpCutter) pause()       { c.paused.Store(true) }
func (c *tcpCutter) resume()      { c.paused.Store(false) }

func (c *tcpCutter) cut() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, cn := range c.conns {
		cn.Close()
	}
	c.conns = nil
}

// The connection dropping under `chat --listen` is survived (issue 17,
// listen_survive_test.go) until --give-up-after: when the server stays
// away that long, exit 7 (network) with one error line that says so.
// (Before issue 17: exit 7 at once.)
func TestChatListenConnectionDropped(t *testing.T) {
	bed := testbed.Shared(t)
	relay := newTCPCutter(t, bed.XMPPAddr)
	recv, jid := deliveryUser(t, bed, "droprecv", relay.ln.Addr().String())
	sender, _ := deliveryUser(t, bed, "dropsend", "")

	p := startCusax(t, recv, false, "chat", "--listen", "--listen-for", "60s", "--give-up-after", "2s")
	sendChat(t, sender, jid, "hello")
	waitLines(t, p, 1)
	relay.pause()
	relay.cut()
	code := p.wait(t, 20*time.Second)
	stderr := strings.TrimSpace(p.stderr.String())
	if code != 7 {
		t.Errorf("exit %d, want 7 (network); stderr %q", code, stderr)
	}
	lines := strings.Split(stderr, "\n")
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "cusax: error: listen: connection lost ") || !strings.Contains(last, "giving up (--give-up-after 2s)") {
		t.Errorf("stderr %q, want it to end with one error line naming --give-up-after", stderr)
	}
	if strings.Count(stderr, "cusax: error:") != 1 {
		t.Errorf("stderr %q, want one error line", stderr)
	}
}

func allEqual(m map[string]int, n int) bool {
	for _, v := range m {
		if v != n {
			return false
		}
	}
	return true
}

func allAtLeast(m map[string]int, n int) bool {
	for _, v := range m {
		if v < n {
			return false
		}
	}
	return true
}

// --lines sends a long line whole (100 KiB, over the old 64 KiB cut),
// refuses a line over the server's stanza limit or with invalid UTF-8 with
// one clear line and exit 2 before any of it is sent, and says what was
// sent before it. The receiver gets exactly the lines sent, whole.
// (Before: long lines were cut at 64 KiB and sent in part; invalid UTF-8
// ended in a gRPC marshalling error.)
func TestChatLinesLongAndInvalid(t *testing.T) {
	bed := testbed.Shared(t)
	recv, jid := deliveryUser(t, bed, "longrecv", "")
	sender, _ := deliveryUser(t, bed, "longsend", "")
	long := strings.Repeat("0123456789abcdef", 100<<10/16) // 100 KiB

	if r := runCLI(t, sender, "short\n"+long+"\n", "chat", jid, "--lines"); r.code != 0 {
		t.Fatalf("100 KiB line: exit %d", r.code)
	}
	huge := strings.Repeat("y", 300<<10)
	r := runCLI(t, sender, "first\n\n"+huge+"\nthird\n", "chat", jid, "--lines")
	stderr := strings.TrimSpace(strings.ReplaceAll(r.stderr, "cusax: note: "+jid+" is not in your roster\n", ""))
	if r.code != 2 || strings.Contains(stderr, "\n") || !strings.Contains(stderr, "line 3 is 300.0 KiB, over the 252.0 KiB") || !strings.Contains(stderr, "not sent (1 message before it was sent)") {
		t.Errorf("300 KiB line: exit %d, stderr %q", r.code, stderr)
	}
	r = runCLI(t, sender, "ok\nbad \xff\xfe\n", "chat", jid, "--lines")
	stderr = strings.TrimSpace(strings.ReplaceAll(r.stderr, "cusax: note: "+jid+" is not in your roster\n", ""))
	if r.code != 2 || strings.Contains(stderr, "\n") || !strings.Contains(stderr, "line 2 is not valid UTF-8 (byte 5 is 0xff)") ||
		strings.Contains(strings.ToLower(stderr), "grpc") || strings.Contains(stderr, "marshal") {
		t.Errorf("invalid UTF-8: exit %d, stderr %q", r.code, stderr)
	}
	r = runCLI(t, sender, huge, "chat", jid)
	if r.code != 2 || !strings.Contains(r.stderr, "nothing was sent") {
		t.Errorf("300 KiB message on stdin: exit %d, stderr %q", r.code, r.stderr)
	}
	r = runCLI(t, sender, "", "chat", jid, "bad \xff")
	if r.code != 2 || !strings.Contains(r.stderr, "the message is not valid UTF-8 (byte 5 is 0xff)") {
		t.Errorf("invalid UTF-8 argument: exit %d, stderr %q", r.code, r.stderr)
	}

	l := startCusax(t, recv, false, "chat", "--listen", "--json", "--include-delayed", "--count", "5", "--listen-for", "30s")
	waitLines(t, l, 4)
	sendChat(t, sender, jid, "marker") // anything partial would come before it
	if code := l.wait(t, 40*time.Second); code != 0 {
		t.Fatalf("listener: exit %d", code)
	}
	got := l.bodies(t)
	want := []string{"short", long, "first", "ok", "marker"}
	if len(got) != len(want) {
		t.Fatalf("received %d messages, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("message %d: %d bytes %.20q…, want %d bytes %.20q…", i, len(got[i]), got[i], len(want[i]), want[i])
		}
	}
}
