package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	agentcmd "github.com/cusax/cusax/cmd/cusax/internal/cmd/agent"
	"github.com/cusax/cusax/internal/testbed"
)

// BenchmarkAgentRSS (issue 17): the resident memory of an agent keeping
// three accounts (SIP over TLS + XMPP each) connected: the agent process
// (the built-in backends run in it) and any plugin process below it,
// summed from /proc VmRSS once all six aspects are up. One measurement per run; b.N is unused.
func BenchmarkAgentRSS(b *testing.B) {
	bed := testbed.Shared(b)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	names := []string{"rss1", "rss2", "rss3"}
	users, err := bed.AddUsers(ctx, bed.Domain, names...)
	if err != nil {
		b.Fatal(err)
	}
	bin := cusaxBinary(b)
	home := b.TempDir()
	rt, err := os.MkdirTemp("", "rt-")
	if err != nil {
		b.Fatal(err)
	}
	defer os.RemoveAll(rt)
	env := append(os.Environ(), "CUSAX_CONFIG="+home+"/config.toml", "CUSAX_SECRETS=file", "XDG_CACHE_HOME="+home+"/cache",
		"XDG_DATA_HOME="+home+"/data", "XDG_RUNTIME_DIR="+rt, "CUSAX_PLUGIN_PATH=")
	for _, n := range names {
		login := exec.Command(bin, "login", "--name", n, "--jid", n+"@"+bed.Domain, "--xmpp-server", bed.XMPPAddr,
			"--aor", "sip:"+n+"@"+bed.Domain, "--sip-proxy", tlsProxy(bed), "--ca-file", bed.CAFile, "--password-stdin")
		login.Env, login.Stdin = env, strings.NewReader(users[n].Password+"\n")
		if out, err := login.CombinedOutput(); err != nil {
			b.Fatalf("login %s: %v\n%s", n, err, out)
		}
	}
	agent := exec.Command(bin, "agent", "run")
	agent.Env = env
	var stderr lockedBuffer
	agent.Stderr = &stderr
	if err := agent.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		_ = agent.Process.Signal(os.Interrupt)
		_ = agent.Wait()
	}()
	deadline := time.Now().Add(60 * time.Second)
	for {
		st := exec.Command(bin, "agent", "status", "--json")
		st.Env = env
		out, err := st.Output()
		var v agentcmd.StatusJSON
		up := 0
		if err == nil && json.Unmarshal(out, &v) == nil {
			for _, a := range v.Accounts {
				if a.Chat != nil && a.Chat.State == "connected" && a.Telephony != nil && a.Telephony.State == "connected" {
					up++
				}
			}
		}
		if up == len(names) {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("not all accounts up after 60 s: %s\n%s", out, stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Second) // let start-up garbage settle; RSS is what stays
	self := rssKiB(agent.Process.Pid)
	kids := descendants(agent.Process.Pid)
	var plugins int
	for _, pid := range kids {
		plugins += rssKiB(pid)
	}
	for b.Loop() {
	}
	b.ReportMetric(float64(self), "agent-KiB")
	b.ReportMetric(float64(plugins), "plugins-KiB")
	b.ReportMetric(float64(self+plugins), "total-KiB")
	fmt.Printf("agent RSS with %d accounts: agent %d KiB + %d plugin processes %d KiB = %.1f MiB\n",
		len(names), self, len(kids), plugins, float64(self+plugins)/1024)
}

// rssKiB is a process's VmRSS from /proc (0 when gone).
func rssKiB(pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return n
		}
	}
	return 0
}

// descendants lists every process below pid (its plugins).
func descendants(pid int) []int {
	parent := map[int][]int{}
	dirs, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, d := range dirs {
		b, err := os.ReadFile(d)
		if err != nil {
			continue
		}
		_, rest, ok := strings.Cut(string(b), ") ")
		f := strings.Fields(rest)
		if !ok || len(f) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		me, _ := strconv.Atoi(strings.Split(strings.TrimPrefix(d, "/proc/"), "/")[0])
		parent[ppid] = append(parent[ppid], me)
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range parent[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}
