package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	agentcmd "github.com/cusax/cusax/cmd/cusax/internal/cmd/agent"
	"github.com/cusax/cusax/internal/testbed"
	"github.com/cusax/cusax/pkg/core/agent/agentapi"
	"github.com/cusax/cusax/pkg/protocol"
	cusaxv1 "github.com/cusax/cusax/pkg/protocol/proto/cusax/v1"
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

// BenchmarkAgentLeaseChat: what `cusax chat JID hi` asks of the agent,
// without the process start: dial the socket, Status, Connect a lease,
// Roster, Send (which waits for the server's answer), Close. Reports the
// median in ms, with the built-in backends in the agent's process and,
// for comparison, with the same backends as go-plugin processes (the
// standalone builds in a plugin directory, as before issue 17's second
// round).
//
//	CI=true go test -run '^$' -bench BenchmarkAgentLeaseChat -benchtime 40x ./cmd/cusax/internal/cli/
func BenchmarkAgentLeaseChat(b *testing.B) {
	bed := testbed.Shared(b)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	users, err := bed.AddUsers(ctx, bed.Domain, "leasebench", "leasebenchpeer")
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "cusax-plugin-impp-xmpp"), "github.com/cusax/cusax/plugins/xmpp/cmd/cusax-plugin-impp-xmpp")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("build: %v\n%s", err, out)
	}
	for _, mode := range []struct {
		name string
		args []string
	}{{"in-process", nil}, {"plugin-process", []string{"--plugin-dir", dir}}} {
		b.Run(mode.name, func(b *testing.B) {
			h := newAgentHome(b, bed, "leasebench", users["leasebench"].Password)
			p := h.run(b, mode.args...)
			p.waitLog(b, "lab: chat: connected as", 30*time.Second)
			b.Setenv("XDG_RUNTIME_DIR", h.rt)
			jid, peer := bed.JID("leasebench"), bed.JID("leasebenchpeer")
			var samples []time.Duration
			for b.Loop() {
				start := time.Now()
				cc, err := agentapi.Dial(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := agentapi.NewAgentClient(cc).Status(ctx, &agentapi.StatusRequest{}); err != nil {
					b.Fatal(err)
				}
				lease, err := cusaxv1.NewIMPPHost(cc).Connect(ctx, protocol.ConnectRequest{Address: jid})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := lease.Roster(ctx); err != nil {
					b.Fatal(err)
				}
				if err := lease.Send(ctx, protocol.Message{To: peer, Body: "hi"}); err != nil {
					b.Fatal(err)
				}
				_ = lease.Close(ctx)
				cc.Close()
				samples = append(samples, time.Since(start))
			}
			slices.Sort(samples)
			med := samples[len(samples)/2]
			b.ReportMetric(float64(med.Microseconds())/1000, "median-ms")
			fmt.Printf("%s: lease chat round (dial, Status, Connect, Roster, Send, Close): median %.2f ms over %d\n",
				mode.name, float64(med.Microseconds())/1000, len(samples))
		})
	}
}
