package builtin

import (
	"context"
	"os"
	"os/exec"
	"sort"
	"testing"
	"time"

	"github.com/cusax/cusax/pkg/core/pluginhost"
	"github.com/cusax/cusax/pkg/protocol"
)

// BenchmarkPluginLaunch measures what every cusax command pays per plugin:
// start the process, go-plugin handshake with AutoMTLS, checksum, and the
// first call (Info). It reports the median in ms.
//
//	go test -run '^$' -bench PluginLaunch -benchtime 30x ./cmd/cusax/internal/builtin
func BenchmarkPluginLaunch(b *testing.B) {
	self, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	cands, _, err := pluginhost.Discover(self, Plugins, nil)
	if err != nil {
		b.Fatal(err)
	}
	for _, kind := range []protocol.Kind{protocol.KindPolicy, protocol.KindIMPP, protocol.KindTelephony} {
		var c pluginhost.Candidate
		for _, cand := range cands {
			if cand.Kind == kind {
				c = cand
			}
		}
		b.Run(string(kind), func(b *testing.B) {
			l := pluginhost.Launcher{Command: func(c pluginhost.Candidate) *exec.Cmd {
				return exec.Command(self, pluginhost.ServeArg, string(c.Kind), c.Name)
			}}
			var samples []time.Duration
			for i := 0; i < b.N; i++ {
				start := time.Now()
				inst, err := l.Launch(context.Background(), c)
				if err != nil {
					b.Fatal(err)
				}
				samples = append(samples, time.Since(start))
				inst.Close()
			}
			sort.Slice(samples, func(i, j int) bool { return samples[i] < samples[j] })
			b.ReportMetric(float64(samples[len(samples)/2].Microseconds())/1000, "median-ms")
		})
	}
}
