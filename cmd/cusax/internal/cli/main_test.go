package cli

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/cusax/cusax/cmd/cusax/internal/builtin"
	"github.com/cusax/cusax/cmd/cusax/internal/iostreams"
	"github.com/cusax/cusax/internal/testbed"
	"github.com/cusax/cusax/pkg/core/pluginhost"
)

// TestMain lets the test binary double as the cusax binary in plugin mode,
// so the CLI under test re-executes it to serve its built-in plugins, just
// as the real binary does.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case pluginhost.ServeArg:
			os.Exit(builtin.Serve(os.Args[2:]))
		case "__future_plugin":
			os.Exit(serveFuturePlugin())
		case "__srtpclaim_plugin":
			os.Exit(serveSRTPClaimPlugin())
		case "__template_host":
			os.Exit(templateHost(os.Args[2:]))
		case "__lease_holder":
			os.Exit(leaseHolder(os.Args[2:]))
		}
	}
	code := m.Run()
	testbed.StopShared()
	if builtDir != "" {
		os.RemoveAll(builtDir)
	}
	if templatesDir != "" {
		os.RemoveAll(templatesDir)
	}
	if baresipDir != "" {
		os.RemoveAll(baresipDir)
	}
	os.Exit(code)
}

var (
	buildOnce sync.Once
	builtDir  string
	builtBin  string
	buildErr  error
)

// cusaxBinary builds the real cusax binary once per test run, for tests and
// benchmarks that must run it as a separate process (a terminal, timing).
func cusaxBinary(tb testing.TB) string {
	tb.Helper()
	buildOnce.Do(func() {
		if builtDir, buildErr = os.MkdirTemp("", "cusax-bin-"); buildErr != nil {
			return
		}
		builtBin = filepath.Join(builtDir, "cusax")
		// cusax-jq beside cusax, as in a release (--jq runs it).
		cmd := exec.Command("go", "build", "-o", builtDir+"/", "github.com/cusax/cusax/cmd/cusax", "github.com/cusax/cusax/cmd/cusax-jq")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("build cusax: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		tb.Fatal(buildErr)
	}
	return builtBin
}

type cliResult struct {
	stdout, stderr string
	code           int
}

// runCLI runs cusax in process with a private config dir.
func runCLI(t testing.TB, home, stdin string, args ...string) cliResult {
	t.Helper()
	io, in, out, errOut := iostreams.Test()
	in.WriteString(stdin)
	t.Setenv("CUSAX_SECRETS", "file")
	t.Setenv("XDG_CONFIG_HOME", home)
	t.Setenv("XDG_DATA_HOME", home+"/data")
	t.Setenv("CUSAX_PLUGIN_PATH", "")
	code := Run(context.Background(), io, append([]string{"--config", home + "/cusax/config.toml"}, args...))
	r := cliResult{stdout: out.String(), stderr: errOut.String(), code: code}
	t.Logf("cusax %s → exit %d\nstderr: %s", strings.Join(args, " "), code, r.stderr)
	return r
}

// onTerminal starts cmdline under script(1), which gives it a pseudo-
// terminal, and returns what the terminal shows and a way to type.
func onTerminal(t *testing.T, ctx context.Context, cmdline string, env ...string) (*exec.Cmd, *lockedBuffer, func(string)) {
	t.Helper()
	if _, err := exec.LookPath("script"); err != nil {
		t.Fatalf("script(1) (util-linux) is needed to give cusax a terminal: %v", err)
	}
	cmd := exec.CommandContext(ctx, "script", "-qec", cmdline, "/dev/null")
	cmd.Env = append(append(os.Environ(), "TERM=dumb", "NO_COLOR=1"), env...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	tty := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = tty, tty
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stdin.Close() })
	typeText := func(text string) { _, _ = stdin.Write([]byte(text)) }
	return cmd, tty, typeText
}
