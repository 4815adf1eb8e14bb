package cli

import (
	"context"
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

func median(d []time.Duration) float64 {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return float64(s[len(s)/2].Microseconds()) / 1000
}

// benchHome logs user in with the built binary and returns the env to run it.
func benchHome(b *testing.B, bin string, bed *testbed.Bed, user, password string) []string {
	b.Helper()
	home := b.TempDir()
	env := append(os.Environ(), "CUSAX_CONFIG="+home+"/config.toml", "CUSAX_SECRETS=file", "XDG_CACHE_HOME="+home+"/cache", "XDG_DATA_HOME="+home+"/data")
	login := exec.Command(bin, "login", "--name", "b", "--jid", user+"@"+bed.Domain, "--xmpp-server", bed.XMPPAddr, "--ca-file", bed.CAFile, "--password-stdin")
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
