package cli

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cusax/cusax/internal/testbed"
)

// BenchmarkChatViaAgent is issue 17's must-show (make bench-agent): whole-
// process wall time of `cusax chat bob hi` with the agent running, side by
// side with `cusax --no-agent chat bob hi` and go-sendxmpp sending the same
// message, alternating run by run, b.N runs each (at least 15); then the
// agent's RSS (the agent and its plugin processes) with three accounts
// logged in. cusax is the release build (as make build: -trimpath -s -w).
//
//	go test -run '^$' -bench ChatViaAgent -benchtime 31x ./cmd/cusax/internal/cli
func BenchmarkChatViaAgent(b *testing.B) {
	bed := testbed.Start(b, testbed.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir := b.TempDir()
	bin := filepath.Join(dir, "cusax")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, "github.com/cusax/cusax/cmd/cusax")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("build: %v\n%s", err, out)
	}
	names := []string{"benchagent1", "benchagent2", "benchagent3"}
	users, err := bed.AddUsers(ctx, bed.Domain, names...)
	if err != nil {
		b.Fatal(err)
	}
	// "bob" is a roster name: the one-liner resolves it through the roster.
	if err := bed.Seed(ctx, testbed.Seed{Rosters: map[string][]testbed.Contact{names[0]: {{JID: "bob@" + bed.Domain, Name: "Bob"}}}}); err != nil {
		b.Fatal(err)
	}
	rt, err := os.MkdirTemp("", "rt-") // short: sun_path holds 107 bytes
	if err != nil {
		b.Fatal(err)
	}
	defer os.RemoveAll(rt)
	env := append(os.Environ(), "CUSAX_SECRETS=file", "CUSAX_CONFIG="+dir+"/config.toml", "XDG_DATA_HOME="+dir+"/data",
		"XDG_CACHE_HOME="+dir+"/cache", "XDG_STATE_HOME="+dir+"/state", "XDG_RUNTIME_DIR="+rt, "CUSAX_PLUGIN_PATH=")
	for _, n := range names { // the first becomes the default account
		login := exec.Command(bin, append(loginArgs(bed, n, tlsProxy(bed)), "--name", n)...)
		login.Env, login.Stdin = env, strings.NewReader(users[n].Password+"\n")
		if out, err := login.CombinedOutput(); err != nil {
			b.Fatalf("login %s: %v\n%s", n, err, out)
		}
	}
	agent := exec.Command(bin, "agent", "run")
	agent.Env = env
	agentErr := &lockedBuffer{}
	agent.Stderr = agentErr
	if err := agent.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		_ = agent.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = agent.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = agent.Process.Kill()
			<-done
		}
	}()
	deadline := time.Now().Add(60 * time.Second)
	for strings.Count(agentErr.String(), "chat: connected") < len(names) || strings.Count(agentErr.String(), "telephony: registered") < len(names) {
		if time.Now().After(deadline) {
			b.Fatalf("the agent did not connect the three accounts within 60 s:\n%s", agentErr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	rc := filepath.Join(dir, "sendxmpprc")
	if err := os.WriteFile(rc, []byte("username: "+names[0]+"@"+bed.Domain+"\npassword: "+users[names[0]].Password+"\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	// go test runs a benchmark once with b.N = 1 before the b.N asked
	// for: that pass only checks that everything works, quietly.
	n := b.N
	var viaAgent, noAgent, sendxmpp, version []time.Duration
	b.ResetTimer()
	for range n {
		c := exec.Command(bin, "chat", "bob", "hi")
		c.Env = env
		viaAgent = append(viaAgent, timeRun(b, c))
		c = exec.Command(bin, "--no-agent", "chat", "bob", "hi")
		c.Env = env
		noAgent = append(noAgent, timeRun(b, c))
		g := exec.Command("go-sendxmpp", "-f", rc, "-j", bed.XMPPAddr, "bob@"+bed.Domain)
		g.Env, g.Stdin = append(os.Environ(), "SSL_CERT_FILE="+bed.CAFile), strings.NewReader("hi\n")
		sendxmpp = append(sendxmpp, timeRun(b, g))
		// The floor: a process of this binary that does nothing.
		c = exec.Command(bin, "version")
		c.Env = env
		version = append(version, timeRun(b, c))
	}
	// The same two commands back to back, n runs each (not interleaved
	// with the --no-agent and go-sendxmpp runs, whose processes evict
	// cusax's pages and caches): a one-liner in a loop, not the figure
	// above, which stays the must-show's.
	var warmAgent, warmVersion []time.Duration
	for range n {
		c := exec.Command(bin, "chat", "bob", "hi")
		c.Env = env
		warmAgent = append(warmAgent, timeRun(b, c))
	}
	for range n {
		c := exec.Command(bin, "version")
		c.Env = env
		warmVersion = append(warmVersion, timeRun(b, c))
	}
	b.StopTimer()
	if strings.Count(agentErr.String(), "lost") > 0 {
		b.Logf("the agent lost a connection during the run:\n%s", agentErr.String())
	}
	rss, procs := treeRSS(agent.Process.Pid)
	if n < 15 {
		return
	}
	fmt.Printf("== one message, whole-process wall time, %d runs each, alternating (ms)\n", n)
	fmt.Printf("%-34s %8s %8s %8s %8s\n", "", "median", "p90", "min", "max")
	for _, row := range []struct {
		name string
		d    []time.Duration
	}{{"cusax chat bob hi (agent)", viaAgent}, {"cusax --no-agent chat bob hi", noAgent}, {"go-sendxmpp", sendxmpp}, {"cusax version (start-up floor)", version}} {
		s := summarize(row.d)
		fmt.Printf("%-34s %8.1f %8.1f %8.1f %8.1f\n", row.name, s[0], s[1], s[2], s[3])
	}
	fmt.Printf("== back to back, %d runs each (ms)\n", n)
	for _, row := range []struct {
		name string
		d    []time.Duration
	}{{"cusax chat bob hi (agent)", warmAgent}, {"cusax version (start-up floor)", warmVersion}} {
		s := summarize(row.d)
		fmt.Printf("%-34s %8.1f %8.1f %8.1f %8.1f\n", row.name, s[0], s[1], s[2], s[3])
	}
	if l, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Printf("== load average during the run: %s\n", strings.Join(strings.Fields(string(l))[:3], " "))
	}
	fmt.Printf("== agent RSS with %d accounts logged in: %.1f MiB in %d processes (the agent and its plugins)\n", len(names), float64(rss)/1024, procs)
	b.ReportMetric(median(viaAgent), "agent-median-ms")
	b.ReportMetric(median(noAgent), "no-agent-median-ms")
	b.ReportMetric(median(sendxmpp), "go-sendxmpp-median-ms")
	b.ReportMetric(float64(rss)/1024, "agent-rss-MiB")
}

// summarize returns median, p90 (nearest rank), min and max in ms.
func summarize(d []time.Duration) [4]float64 {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	ms := func(x time.Duration) float64 { return float64(x.Microseconds()) / 1000 }
	p90 := s[(len(s)*9+9)/10-1]
	return [4]float64{ms(s[len(s)/2]), ms(p90), ms(s[0]), ms(s[len(s)-1])}
}

// treeRSS sums VmRSS (KiB) of pid and all its descendants.
func treeRSS(pid int) (kib, procs int) {
	children := map[int][]int{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		_, rest, _ := strings.Cut(string(b), ") ")
		f := strings.Fields(rest)
		if len(f) > 1 {
			pp, _ := strconv.Atoi(f[1])
			children[pp] = append(children[pp], p)
		}
	}
	var walk func(int)
	walk = func(p int) {
		f, err := os.Open("/proc/" + strconv.Itoa(p) + "/status")
		if err != nil {
			return
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
				k, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
				kib += k
				procs++
			}
		}
		f.Close()
		for _, c := range children[p] {
			walk(c)
		}
	}
	walk(pid)
	return kib, procs
}
