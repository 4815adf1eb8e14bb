package soak

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cusax/cusax/internal/testbed"
)

// run is one soak run: the bed, the cusax binary, a config home per bed
// user, the tally and what each scenario saw.
type run struct {
	t      *testing.T
	bed    *testbed.Bed
	bin    string
	homes  map[string]string
	logDir string
	tally  *tally
	rng    *rand.Rand

	messages int // per flood
	end      time.Time

	mu      sync.Mutex
	procs   []*proc
	logN    int
	rows    map[string]*row
	order   []string
	hostile []hostileRow
}

// row is one line of the table: a scenario over all its rounds.
type row struct {
	scenario string
	rounds   int
	leftover int
	exits    map[string]int // "listener 130" → times seen
	notes    []string
	calls    *callCount // the kamailio rows: calls, not messages
}

type hostileRow struct {
	round        int
	dir          string
	executed     int
	exit         string
	firstLine    string
	wantExecuted bool
}

func (r *run) nextLog() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.logN++
	return r.logN
}

func (r *run) row(name string) *row {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.rows[name] == nil {
		r.rows[name] = &row{scenario: name, exits: map[string]int{}}
		r.order = append(r.order, name)
	}
	return r.rows[name]
}

func (w *row) exit(who string, p *proc) {
	w.exits[who+" "+exitText(p.code)]++
}

func (w *row) note(format string, a ...any) {
	w.notes = append(w.notes, fmt.Sprintf(format, a...))
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// TestSoak is `make soak`. Knobs: SOAK_ROUNDS (default 2), SOAK_SECONDS
// (default 240: no round starts after that), SOAK_MESSAGES per flood
// (default 200), SOAK_UDP_WAIT (seconds kamailio-udp waits for the
// listener to register again; default 0: no wait), SOAK_LOGDIR (stderr of every cusax run), SOAK_TABLE (a
// copy of the table), CUSAX_BIN (default: built here), SOAK_STRICT=1 (fail
// on any loss, duplicate, leftover or hostile plugin run).
func TestSoak(t *testing.T) {
	if os.Getenv("CUSAX_SOAK") != "1" {
		t.Skip("the soak runs with `make soak` (CUSAX_SOAK=1), not in `make test`")
	}
	if testing.Short() {
		t.Skip("the soak starts servers")
	}
	start := time.Now()
	r := &run{t: t, tally: newTally(), homes: map[string]string{}, rows: map[string]*row{},
		messages: envInt("SOAK_MESSAGES", 200),
		end:      start.Add(time.Duration(envInt("SOAK_SECONDS", 240)) * time.Second),
		rng:      rand.New(rand.NewPCG(uint64(start.UnixNano()), 7)),
	}
	rounds := envInt("SOAK_ROUNDS", 2)
	r.logDir = os.Getenv("SOAK_LOGDIR")
	if r.logDir == "" {
		r.logDir = t.TempDir()
	}
	if err := os.MkdirAll(r.logDir, 0o755); err != nil {
		t.Fatal(err)
	}
	r.bin = os.Getenv("CUSAX_BIN")
	if r.bin == "" {
		r.bin = filepath.Join(t.TempDir(), "cusax")
		build := exec.Command("go", "build", "-o", r.bin, "github.com/cusax/cusax/cmd/cusax")
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("build cusax: %v\n%s", err, out)
		}
	}
	if abs, err := filepath.Abs(r.bin); err == nil {
		r.bin = abs
	}
	r.bed = testbed.Start(t, testbed.Options{})
	t.Cleanup(func() {
		// Whatever a failed scenario left running: our hosts, then their plugins.
		for _, p := range r.procs {
			if !p.exited() {
				_ = p.cmd.Process.Kill()
				p.wait(5 * time.Second)
			}
		}
		leftovers(r.bin, 0)
	})
	// alice sends and calls; bob listens (chat and whois-caller). Both are
	// fixed users of the bed, so a Kamailio restart keeps them. "bob-tcp"
	// is bob's account again, its SIP over TCP: the kamailio scenario.
	udp := "sip:" + r.bed.SIPUDPAddr + ";transport=udp"
	r.login("alice", "alice", udp)
	r.login("bob", "bob", udp)
	r.login("bob-tcp", "bob", "sip:"+r.bed.SIPTCPAddr+";transport=tcp")
	udpWait := time.Duration(envInt("SOAK_UDP_WAIT", 0)) * time.Second
	for round := 1; round <= rounds; round++ {
		if round > 1 && time.Now().After(r.end) {
			t.Logf("SOAK_SECONDS reached: %d of %d rounds run", round-1, rounds)
			break
		}
		r.slowReader(round)
		r.killListener(round)
		r.prosodyRestart(round)
		r.kamailioRestart(round, "kamailio", "bob-tcp", 30*time.Second)
		r.kamailioRestart(round, "kamailio-udp", "bob", udpWait)
		r.hostilePlugins(round)
	}
	r.drain()
	table := r.table(time.Since(start))
	fmt.Print(table)
	if p := os.Getenv("SOAK_TABLE"); p != "" {
		if err := os.WriteFile(p, []byte(table), 0o644); err != nil {
			t.Error(err)
		}
	}
	if os.Getenv("SOAK_STRICT") == "1" {
		for _, name := range r.order {
			if c := r.rows[name].calls; c != nil {
				if c.lost+c.other > 0 || r.rows[name].leftover > 0 || c.placed == 0 {
					t.Errorf("%s: %d calls, %d lost, %d neither received nor refused by the registrar, %d plugin processes left over", name, c.placed, c.lost, c.other, r.rows[name].leftover)
				}
				continue
			}
			if sent, _, lost, dup := r.tally.count("soak-" + name + "-"); lost+dup > 0 || r.rows[name].leftover > 0 || sent == 0 {
				t.Errorf("%s: %d sent, %d lost, %d duplicated, %d plugin processes left over", name, sent, lost, dup, r.rows[name].leftover)
			}
		}
		for _, h := range r.hostile {
			if h.executed > 0 && !h.wantExecuted {
				t.Errorf("round %d: plugin in %s was executed", h.round, h.dir)
			}
		}
	}
}

// login saves the account of the bed's user (both aspects, SIP through
// proxy) in a fresh home, which r.start then knows as key.
func (r *run) login(key, user, proxy string) {
	home := filepath.Join(r.t.TempDir(), key)
	r.homes[key] = home
	b := r.bed
	p, err := r.start("login-"+key, key, "login", "--name", "lab", "--json",
		"--jid", user+"@"+b.Domain, "--xmpp-server", b.XMPPAddr,
		"--aor", "sip:"+user+"@"+b.Domain, "--sip-proxy", proxy,
		"--ca-file", b.CAFile, "--password-stdin")
	if err != nil {
		r.t.Fatal(err)
	}
	_, _ = p.in.Write([]byte(b.Users[user].Password + "\n"))
	_ = p.in.Close()
	if !p.wait(60*time.Second) || p.code != 0 {
		p.stop(time.Second)
		r.t.Fatalf("login %s: exit %s (stderr in %s)", key, exitText(p.code), r.logDir)
	}
}

// ids returns n fresh ids of scenario in round.
func ids(scenario string, round, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("soak-%s-r%d-%d", scenario, round, i)
	}
	return out
}

// listen starts bob's `chat --listen --json` and waits until it is online:
// a probe message from alice comes out of it (offline storage would hold
// it until then). The probe is not counted.
func (r *run) listen(name string) (*proc, error) {
	l, err := r.start(name, "bob", "chat", "--listen", "--json")
	if err != nil {
		return nil, err
	}
	probe := fmt.Sprintf("probe-%d", r.rng.Int64())
	s, err := r.start(name+"-probe", "alice", "chat", "bob@"+r.bed.Domain, probe)
	if err != nil {
		l.stop(5 * time.Second)
		return nil, err
	}
	s.finish(30 * time.Second)
	if !l.waitLine(probe, 30*time.Second) {
		return l, fmt.Errorf("%s: the probe message did not arrive in 30 s (exit %v)", name, l.exited())
	}
	return l, nil
}

// sender is alice's `chat bob --lines`: one message per line of stdin.
func (r *run) sender(name string) (*proc, error) {
	return r.start(name, "alice", "chat", "bob@"+r.bed.Domain, "--lines")
}

// send writes one message to s and marks it sent if s took it.
func (r *run) send(s *proc, id, pad string) bool {
	if s.exited() {
		return false
	}
	if _, err := s.in.Write([]byte(id + " " + pad + "\n")); err != nil {
		return false
	}
	r.tally.markSent(id)
	return true
}

// warm sends the first message of a flood and waits until it arrives, so
// that the fault hits a sender and a listener that are both online.
func (r *run) warm(w *row, s, l *proc, id string) {
	if r.send(s, id, "") && l.waitLine(id, 15*time.Second) {
		return
	}
	w.note("the first message did not arrive within 15 s")
}

// finishSender closes the sender's stdin and waits for it to send the rest.
func (w *row) finishSender(s *proc) {
	if s.finish(60 * time.Second) {
		w.note("a sender had not ended 60 s after its stdin closed")
	}
	w.exit("sender", s)
}

// collect waits until all of want arrived or nothing came for quiet
// (bounded by max).
func (r *run) collect(l *proc, want []string, quiet, max time.Duration) {
	deadline := time.Now().Add(max)
	for time.Now().Before(deadline) && !l.exited() {
		if r.tally.seen(want) == len(want) || l.quietFor() > quiet {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stopListener ends a listener as Ctrl-C does and records its exit.
func (w *row) stopListener(l *proc, who string) {
	if l.stop(10 * time.Second) {
		w.note("%s did not stop on SIGINT", who)
	}
	w.exit(who, l)
}

// (a) a flood into a listener whose stdout is not read for a while, then
// read slowly: a full pipe must slow cusax down, not lose messages.
func (r *run) slowReader(round int) {
	w := r.row("slowreader")
	w.rounds++
	l, err := r.listen("slowreader-listener")
	if err != nil {
		w.note("round %d: %v", round, err)
		if l != nil {
			w.stopListener(l, "listener")
		}
		return
	}
	want := ids("slowreader", round, r.messages)
	pad := strings.Repeat("x", 400) // 200 messages ≈ 90 KB: more than a pipe holds
	l.gate.Lock()
	s, err := r.sender("slowreader-sender")
	if err != nil {
		l.gate.Unlock()
		w.note("round %d: %v", round, err)
		w.stopListener(l, "listener")
		return
	}
	for _, id := range want {
		if !r.send(s, id, pad) {
			break
		}
	}
	w.finishSender(s)
	time.Sleep(3 * time.Second) // the reader stays away with the pipe full
	l.delay.Store(int64(2 * time.Millisecond))
	l.gate.Unlock()
	r.collect(l, want, 5*time.Second, 60*time.Second)
	w.stopListener(l, "listener")
	w.leftover += leftovers(r.bin, 5*time.Second)
}

// (b) kill -9 of the listening host at a random point of a flood; a new
// listener then collects what the server kept.
func (r *run) killListener(round int) {
	w := r.row("kill9")
	w.rounds++
	l, err := r.listen("kill9-listener")
	if err != nil {
		w.note("round %d: %v", round, err)
		if l != nil {
			w.stopListener(l, "listener")
		}
		return
	}
	want := ids("kill9", round, r.messages)
	at := len(want)/4 + r.rng.IntN(len(want)/2+1)
	s, err := r.sender("kill9-sender")
	if err != nil {
		w.note("round %d: %v", round, err)
		w.stopListener(l, "listener")
		return
	}
	r.warm(w, s, l, want[0])
	for i, id := range want[1:] {
		if i+1 == at {
			l.kill9()
			w.exit("listener", l)
		}
		if !r.send(s, id, "") {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	w.finishSender(s)
	w.leftover += leftovers(r.bin, 5*time.Second)
	l2, err := r.listen("kill9-listener2")
	if err != nil {
		w.note("round %d: second listener: %v", round, err)
	}
	if l2 != nil {
		r.collect(l2, want, 5*time.Second, 60*time.Second)
		w.stopListener(l2, "listener2")
	}
	w.leftover += leftovers(r.bin, 5*time.Second)
}

// (c) Prosody restarts during a flood. The listener may exit 7 (network);
// then a new one collects. A sender that fails is replaced.
func (r *run) prosodyRestart(round int) {
	w := r.row("prosody")
	w.rounds++
	l, err := r.listen("prosody-listener")
	if err != nil {
		w.note("round %d: %v", round, err)
		if l != nil {
			w.stopListener(l, "listener")
		}
		return
	}
	want := ids("prosody", round, r.messages)
	at := len(want)/4 + r.rng.IntN(len(want)/2+1)
	s, err := r.sender("prosody-sender")
	if err != nil {
		w.note("round %d: %v", round, err)
		w.stopListener(l, "listener")
		return
	}
	restarted := make(chan error, 1)
	senders := 1
	r.warm(w, s, l, want[0])
	for i := 1; i < len(want); i++ {
		if i == at {
			go func() { restarted <- r.bed.RestartProsody() }()
		}
		if r.send(s, want[i], "") {
			time.Sleep(5 * time.Millisecond)
			continue
		}
		// The sender is gone (the restart cut it off): replace it, once
		// the server is back, and send this message again.
		w.finishSender(s)
		if senders > 5 {
			w.note("round %d: gave up after %d senders", round, senders)
			break
		}
		time.Sleep(time.Second)
		if s, err = r.sender("prosody-sender"); err != nil {
			w.note("round %d: %v", round, err)
			s = nil
			break
		}
		senders++
		i--
	}
	if s != nil {
		w.finishSender(s)
	}
	select {
	case err := <-restarted:
		if err != nil {
			w.note("round %d: %v", round, err)
			w.stopListener(l, "listener")
			return
		}
	case <-time.After(60 * time.Second):
		w.note("round %d: prosody restart did not finish in 60 s", round)
	}
	collector := l
	if !l.wait(2 * time.Second) {
		r.collect(l, want, 5*time.Second, 60*time.Second)
		w.stopListener(l, "listener")
	} else {
		w.exit("listener", l)
		if collector, err = r.listen("prosody-listener2"); err != nil {
			w.note("round %d: second listener: %v", round, err)
		}
		if collector != nil {
			r.collect(collector, want, 5*time.Second, 60*time.Second)
			w.stopListener(collector, "listener2")
		}
	}
	w.leftover += leftovers(r.bin, 5*time.Second)
}

// (e) plugin directories another user could write: the plugin must be
// refused and never run. The plugin replaces the built-in XMPP backend,
// so `cusax roster` would start it; it only leaves a mark and exits. The
// last case is a safe directory, to show the mark works.
func (r *run) hostilePlugins(round int) {
	w := r.row("hostile-plugins")
	w.rounds++
	base := r.t.TempDir()
	cases := []struct {
		name            string
		dirMode, exMode os.FileMode
		dirUID, exUID   int
		safe            bool
	}{
		{"dir 0777", 0o777, 0o755, 0, 0, false},
		{"dir 0775 (group-writable)", 0o775, 0o755, 0, 0, false},
		{"dir owned by nobody", 0o755, 0o755, 65534, 0, false},
		{"plugin owned by nobody", 0o755, 0o755, 0, 65534, false},
		{"plugin 0777", 0o755, 0o777, 0, 0, false},
		{"safe dir (control)", 0o755, 0o755, 0, 0, true},
	}
	for i, c := range cases {
		dir := filepath.Join(base, strconv.Itoa(i))
		mark := filepath.Join(base, strconv.Itoa(i)+".ran")
		exe := filepath.Join(dir, "cusax-plugin-impp-xmpp")
		err := os.Mkdir(dir, 0o755)
		if err == nil {
			err = os.WriteFile(exe, []byte("#!/bin/sh\necho ran >> '"+mark+"'\nexit 3\n"), 0o755)
		}
		if err == nil {
			err = os.Chmod(exe, c.exMode)
		}
		if err == nil {
			err = os.Chmod(dir, c.dirMode)
		}
		if err == nil && (c.dirUID != 0 || c.exUID != 0) {
			if os.Geteuid() != 0 {
				w.note("%s: not root, case not run", c.name)
				continue
			}
			if c.exUID != 0 {
				err = os.Lchown(exe, c.exUID, c.exUID)
			}
			if err == nil && c.dirUID != 0 {
				err = os.Lchown(dir, c.dirUID, c.dirUID)
			}
		}
		if err != nil {
			w.note("%s: %v", c.name, err)
			continue
		}
		p, err := r.start("hostile-plugin", "bob", "--plugin-dir", dir, "roster", "--json")
		if err != nil {
			w.note("%s: %v", c.name, err)
			continue
		}
		if p.finish(30 * time.Second) {
			w.note("%s: cusax had not ended after 30 s", c.name)
		}
		w.exit("roster", p)
		b, _ := os.ReadFile(mark)
		first := ""
		if logs, _ := filepath.Glob(filepath.Join(r.logDir, "*-hostile-plugin.stderr")); len(logs) > 0 {
			sort.Strings(logs)
			eb, _ := os.ReadFile(logs[len(logs)-1])
			first, _, _ = strings.Cut(strings.TrimSpace(string(eb)), "\n")
			var j struct{ Error string }
			if json.Unmarshal([]byte(first), &j) == nil && j.Error != "" {
				first = j.Error
			}
			first = strings.ReplaceAll(first, dir, "DIR")
			if len(first) > 120 {
				first = first[:120] + "…"
			}
		}
		ran := strings.Count(string(b), "ran")
		if c.safe && ran == 0 {
			w.note("round %d: the control plugin did not run either: the mark is broken, the other cases prove nothing", round)
		}
		r.hostile = append(r.hostile, hostileRow{round: round, dir: c.name, executed: ran,
			exit: exitText(p.code), firstLine: first, wantExecuted: c.safe})
	}
	w.leftover += leftovers(r.bin, 5*time.Second)
}

// drain runs one last listener for bob, to count messages that arrive
// only now (held by the server): late, not lost.
func (r *run) drain() {
	l, err := r.start("drain", "bob", "chat", "--listen", "--json", "--timeout", "8s")
	if err != nil {
		return
	}
	if !l.wait(20 * time.Second) {
		l.stop(time.Second)
	}
	leftovers(r.bin, 5*time.Second)
}

// table is the result, in Markdown.
func (r *run) table(took time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n## cusax soak: %s, %d messages per flood, %s\n\n", time.Now().UTC().Format(time.RFC3339), r.messages, took.Round(time.Second))
	b.WriteString("| scenario | rounds | sent | received | lost | duplicated | plugin processes left over | exit codes seen | notes |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|\n")
	for _, name := range r.order {
		w := r.rows[name]
		var exits []string
		for k, n := range w.exits {
			exits = append(exits, fmt.Sprintf("%s ×%d", k, n))
		}
		sort.Strings(exits)
		if name == "hostile-plugins" {
			ran, refused := 0, 0
			for _, h := range r.hostile {
				if h.wantExecuted {
					continue
				}
				if h.executed > 0 {
					ran++
				} else {
					refused++
				}
			}
			fmt.Fprintf(&b, "| %s | %d | %d dirs | %d refused | %d executed | – | %d | %s | %s |\n",
				name, w.rounds, ran+refused, refused, ran, w.leftover, strings.Join(exits, ", "), strings.Join(w.notes, "; "))
			continue
		}
		if c := w.calls; c != nil {
			fmt.Fprintf(&b, "| %s | %d | %d calls | %d | %d | – | %d | %s | %s |\n",
				name, w.rounds, c.placed, c.received, c.lost, w.leftover, strings.Join(exits, ", "), strings.Join(append(c.summary(), w.notes...), "; "))
			continue
		}
		sent, got, lost, dup := r.tally.count("soak-" + name + "-")
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %d | %d | %s | %s |\n",
			name, w.rounds, sent, got, lost, dup, w.leftover, strings.Join(exits, ", "), strings.Join(w.notes, "; "))
	}
	if len(r.hostile) > 0 {
		b.WriteString("\n| round | hostile plugin dir | executed | exit | first stderr line |\n|---|---|---|---|---|\n")
		for _, h := range r.hostile {
			fmt.Fprintf(&b, "| %d | %s | %d | %s | %s |\n", h.round, h.dir, h.executed, h.exit, strings.ReplaceAll(h.firstLine, "|", "\\|"))
		}
	}
	fmt.Fprintf(&b, "\nstderr of every cusax run: %s\n", r.logDir)
	return b.String()
}
