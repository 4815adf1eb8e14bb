// Package cli is the cusax command tree: the root command, the Factory, the
// mapping from errors to exit codes, and how errors are shown.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	"github.com/cusax/cusax/cmd/cusax/internal/builtin"
	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/cmd/cusax/internal/iostreams"
	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/core/pluginhost"
	"github.com/cusax/cusax/pkg/core/policychain"
	"github.com/cusax/cusax/pkg/core/safepath"
	"github.com/cusax/cusax/pkg/core/secrets"
	"github.com/cusax/cusax/pkg/core/session"
	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/pkg/protocol/plugin"
	"github.com/hashicorp/go-hclog"
	"github.com/spf13/cobra"
)

// Version is set at build time (-ldflags -X); Main fills it in from the
// Go build info when it was not (plugin.BuildVersion).
var Version = "dev"

// Main runs cusax with args (without the program name) and returns the
// exit code.
func Main(args []string) int {
	// Before plugin mode: built-ins served by this binary (re-executed or
	// in the agent) report the same version as `cusax version`.
	Version = plugin.BuildVersion(Version)
	builtin.SetVersion(Version)
	// Plugin mode first: cobra must not see (or print) anything.
	if len(args) > 0 && args[0] == pluginhost.ServeArg {
		return builtin.Serve(args[1:])
	}
	// SIGHUP (the terminal went away) ends a command as Ctrl-C does, so
	// that its plugins log out instead of outliving it.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	// With SIGPIPE notified, a write to a closed stdout (`cusax chat
	// --listen | head -1`) returns EPIPE instead of the runtime killing
	// cusax on the spot, which left its plugins logged in. The EPIPE
	// cancels the command, which then closes its plugins.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	io := iostreams.System()
	io.Out = &stdoutWatch{w: io.Out, broken: func() { cancel(errStdoutClosed) }}
	return Run(ctx, io, args)
}

// errStdoutClosed is the cause of a command cancelled because the reader
// of its stdout went away.
var errStdoutClosed = errors.New("stdout closed by its reader")

// stdoutWatch reports the first EPIPE on stdout.
type stdoutWatch struct {
	w      io.Writer
	once   sync.Once
	broken func()
}

func (s *stdoutWatch) Write(p []byte) (int, error) {
	n, err := s.w.Write(p)
	if errors.Is(err, syscall.EPIPE) {
		s.once.Do(s.broken)
	}
	return n, err
}

// Run executes the command tree on the given streams.
func Run(ctx context.Context, io *iostreams.IOStreams, args []string) int {
	io.SerializeErrOut()
	f, g := newFactory(ctx, io)
	root := NewRootCmd(f, g)
	root.SetArgs(args)
	root.SetIn(io.In)
	root.SetOut(io.Out)
	root.SetErr(io.ErrOut)
	cmd, err := root.ExecuteC()
	if jerr := f.FinishJQ(); errors.Is(jerr, cmdutil.ErrJQStdoutClosed) {
		return cmdutil.ExitBrokenPipe
	} else if jerr != nil && err == nil {
		err = jerr
	}
	if g.agent != nil {
		// A lease asked for but never used is closed, not left in the agent.
		_ = g.agent.Close()
	}
	if errors.Is(context.Cause(ctx), errStdoutClosed) {
		// Nobody reads any more: no message, and the status a shell shows
		// for a command killed by SIGPIPE.
		return cmdutil.ExitBrokenPipe
	}
	if err != nil && ctx.Err() != nil {
		err = cmdutil.WithExit(cmdutil.ExitInterrupted, fmt.Errorf("%w: %v", cmdutil.ErrInterrupted, err))
	}
	if err == nil {
		return cmdutil.ExitOK
	}
	if isUnknownCommand(err) && !cmdutil.IsUsage(err) {
		// Rewrapping a usage error would drop its hints (the "did you mean").
		err = cmdutil.Usagef("%v", err)
	}
	code := cmdutil.ExitCode(err)
	printError(io, cmd, err, code)
	return code
}

// globals are the persistent flags.
type globals struct {
	configPath     string
	pluginDirs     []string
	debug          bool
	allowPlaintext bool
	noAgent        bool
	// agent is the agent-aware Source once a command asked for backends.
	agent *session.AgentSource
}

func newFactory(ctx context.Context, io *iostreams.IOStreams) (*cmdutil.Factory, *globals) {
	g := &globals{}
	f := &cmdutil.Factory{IO: io, Version: Version, Context: ctx}
	f.AllowPlaintext = func() bool { return g.allowPlaintext }
	f.ConfigPath = func() (string, error) {
		if g.configPath != "" {
			return g.configPath, nil
		}
		return config.DefaultPath()
	}
	f.Logger = func() hclog.Logger {
		if !g.debug {
			return hclog.NewNullLogger()
		}
		return hclog.New(&hclog.LoggerOptions{Name: "cusax", Level: hclog.Debug, Output: io.ErrOut, Color: hclog.ColorOff})
	}
	f.Secrets = func() (secrets.Store, string, error) {
		path, err := f.ConfigPath()
		if err != nil {
			return nil, "", err
		}
		return secrets.Open(dirOf(path))
	}
	f.Plugins = cmdutil.Lazy(func() (*pluginhost.Host, error) {
		self, err := pluginhost.Self()
		if err != nil {
			return nil, err
		}
		dirs := append([]string(nil), g.pluginDirs...)
		var settings map[string]map[string]string
		timeout := policychain.DefaultTimeout
		callTimeout := pluginhost.DefaultCallTimeout
		cfg, _, err := f.Config()
		if err != nil {
			// A broken config would drop its [plugins] dirs and policy
			// settings without a word (`cusax plugins` exited 0).
			return nil, err
		}
		dirs = append(dirs, cfg.Plugins.Dirs...)
		settings = cfg.Policies
		timeout = cfg.Plugins.DecisionTimeoutOr(timeout)
		callTimeout = cfg.Plugins.CallTimeoutOr(callTimeout)
		level := "info"
		if g.debug {
			level = "debug"
		}
		host := &pluginhost.Host{
			Self: self, BuiltIns: builtin.Plugins, Dirs: pluginhost.DefaultDirs(dirs),
			Launcher:        pluginhost.Launcher{Logger: f.Logger(), LogLevel: level, Env: pluginEnv(), CallTimeout: callTimeout},
			InstanceEnv:     policySettingsEnv(settings),
			DecisionTimeout: timeout,
		}
		warnRefused(io, host)
		return host, nil
	})
	fromHost := cmdutil.Lazy(func() (session.Source, error) {
		host, err := f.Plugins()
		if err != nil {
			return nil, err
		}
		return session.FromHost(host), nil
	})
	f.Backends = cmdutil.Lazy(func() (session.Source, error) {
		if g.noAgent || noAgentEnv() {
			f.Logger().Debug("agent not asked (--no-agent or CUSAX_NO_AGENT)")
			return fromHost()
		}
		g.agent = agentSource(io, f.Logger(), fromHost)
		return g.agent, nil
	})
	return f, g
}

// warnRefused names, on every command that uses plugins, the plugins that
// were refused as untrusted: one the user meant to use must not be
// replaced by the built-in without a word. `cusax plugins` lists them.
func warnRefused(io *iostreams.IOStreams, host *pluginhost.Host) {
	cands, _, err := host.Candidates()
	if err != nil {
		return
	}
	for _, c := range cands {
		if c.Refused != "" {
			fmt.Fprintf(io.ErrOut, "cusax: warning: plugin %s refused: %s\n", c.Path, c.Refused)
		}
	}
}

// pluginEnv is the little of the environment plugins get: the host's may
// hold tokens (go-plugin SkipHostEnv), but they need a temp dir and HOME.
func pluginEnv() []string {
	var env []string
	// XDG_RUNTIME_DIR: a telephony plugin's sound server (PulseAudio,
	// PipeWire) and private runtime files; CUSAX_AUDIO=none: no sound
	// device (docs/baresip-backend.md).
	for _, k := range []string{"HOME", "TMPDIR", "PATH", "SSL_CERT_FILE", "SSL_CERT_DIR", "GODEBUG", "XDG_RUNTIME_DIR", "CUSAX_AUDIO"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// policySettingsEnv gives each policy plugin its own settings table; other
// plugins, and policies without a table, get nothing.
func policySettingsEnv(settings map[string]map[string]string) func(protocol.Kind, string) ([]string, error) {
	return func(kind protocol.Kind, name string) ([]string, error) {
		table, ok := settings[name]
		if kind != protocol.KindPolicy || !ok {
			return nil, nil
		}
		b, err := json.Marshal(table)
		if err != nil {
			return nil, fmt.Errorf("policies.%s: %w", name, err)
		}
		return []string{protocol.PolicySettingsEnv + "=" + string(b)}, nil
	}
}

func dirOf(path string) string {
	if i := strings.LastIndexAny(path, `/\`); i >= 0 {
		return path[:i]
	}
	return "."
}

// printError shows err once, as `cusax: error: …` plus hint lines; with
// --json also as one JSON object on stderr (the restic convention).
func printError(io *iostreams.IOStreams, cmd *cobra.Command, err error, code int) {
	hints := append([]string{}, cmdutil.Hints(err)...)
	// An explicit exit code 2 is a verdict (audit-tls CRITICAL), not a usage
	// error; a config error names its file and line, where --help cannot help.
	var explicit *cmdutil.ExitError
	if code == cmdutil.ExitUsage && cmd != nil && !errors.As(err, &explicit) && !cmdutil.IsConfigError(err) &&
		!errors.Is(err, safepath.ErrUnsafe) && !errors.Is(err, secrets.ErrInsecureFile) {
		hints = append(hints, fmt.Sprintf("run '%s --help' for usage", cmd.CommandPath()))
	}
	if cmd != nil && jsonRequested(cmd) {
		_ = cmdutil.WriteJSONLine(io.ErrOut, cmdutil.Schema("error"), map[string]any{"error": err.Error(), "exit_code": code, "hints": hints})
		return
	}
	fmt.Fprintf(io.ErrOut, "cusax: %s %s\n", io.Red("error:"), oneLine(err.Error()))
	for _, h := range hints {
		fmt.Fprintf(io.ErrOut, "cusax: %s %s\n", io.Yellow("hint:"), h)
	}
}

func jsonRequested(cmd *cobra.Command) bool {
	fl := cmd.Flags().Lookup("json")
	return fl != nil && fl.Value.String() == "true"
}

// oneLine keeps an error on one line (plugins may return multi-line text).
func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\r", " ")
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}
