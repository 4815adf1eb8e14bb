package pluginhost

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cusax/cusax/pkg/protocol"
	cusaxv1 "github.com/cusax/cusax/pkg/protocol/proto/cusax/v1"
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
)

// ServeArg is the hidden first argument that makes the cusax binary serve a
// built-in plugin instead of running the CLI.
const ServeArg = "__plugin"

// Launcher starts plugins.
type Launcher struct {
	// Logger receives the plugins' logs; pass a null logger unless --debug.
	Logger hclog.Logger
	// LogLevel is passed to plugins (CUSAX_PLUGIN_LOG_LEVEL).
	LogLevel string
	// StartTimeout bounds start + handshake (default 10 s).
	StartTimeout time.Duration
	// Env is extra environment for plugin processes. The host environment
	// is NOT passed on (it may hold tokens), except what is listed here.
	Env []string
	// Command overrides how a built-in is started (tests use the test
	// binary); nil means `self __plugin KIND NAME`.
	Command func(c Candidate) *exec.Cmd
	// AutoMTLS adds go-plugin's mutual TLS on the plugin connection. Off
	// by default: the socket is created in a fresh directory that the host
	// makes 0700 and checks (newSocketDir), so only the same user can
	// connect, and that user can read the config and the 0600 secrets file
	// anyway; AutoMTLS would add ≈20 ms to every launch
	// (BenchmarkPluginLaunch) for no protection. CUSAX_PLUGIN_MTLS=1 turns
	// it on.
	AutoMTLS bool
	// CallTimeout bounds each unary call to a plugin whose caller set no
	// deadline (default DefaultCallTimeout): a plugin that never answers
	// fails the command (ErrFailed, exit 6) instead of hanging it. Streams
	// are not bounded: they last as long as their command means them to.
	CallTimeout time.Duration
}

// DefaultCallTimeout is Launcher.CallTimeout when it is not set: far above
// any answer that needs only the network (a SIP transaction gives up after
// 32 s, RFC 3261 §17.1.1.2), well below "forever".
const DefaultCallTimeout = 2 * time.Minute

// Instance is one running plugin.
type Instance struct {
	Candidate Candidate
	Info      protocol.Info
	// LaunchTime is start + handshake + Info, for benchmarks and --debug.
	LaunchTime time.Duration
	raw        interface{}
	client     *plugin.Client
	cmd        *exec.Cmd
	sockDir    string
	closeOnce  sync.Once
	// releaseThread frees the OS thread that started the plugin.
	releaseThread func()
}

// Launch starts c, checks its API version and kind, and returns it running.
func (l *Launcher) Launch(ctx context.Context, c Candidate) (*Instance, error) {
	return l.LaunchEnv(ctx, c, nil)
}

// LaunchEnv is Launch with extra environment for this one instance (a
// policy's settings, CUSAX_POLICY_SETTINGS), on top of l.Env.
func (l *Launcher) LaunchEnv(ctx context.Context, c Candidate, env []string) (*Instance, error) {
	start := time.Now()
	cmd := l.command(c)
	cmd.Env = append(cmd.Env, l.Env...)
	cmd.Env = append(cmd.Env, env...)
	cmd.Env = append(cmd.Env, protocol.LogLevelEnv+"="+l.logLevel())
	// The plugin watches this pid and logs out when it is gone.
	cmd.Env = append(cmd.Env, protocol.HostPIDEnv+"="+strconv.Itoa(os.Getpid()))
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = sysProcAttr()
	}
	var secure *plugin.SecureConfig
	if !c.BuiltIn {
		sum, err := hex.DecodeString(c.SHA256)
		if err != nil || len(sum) != sha256.Size {
			return nil, fmt.Errorf("plugin %s: no valid checksum: %w", c.ID(), ErrIncompatible)
		}
		secure = &plugin.SecureConfig{Checksum: sum, Hash: sha256.New()}
	}
	logger := l.Logger
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	timeout := l.StartTimeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	sockDir, err := newSocketDir()
	if err != nil {
		return nil, err
	}
	if sockDir != "" {
		cmd.Env = append(cmd.Env, plugin.EnvUnixSocketDir+"="+sockDir)
	}
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  cusaxv1.Handshake,
		VersionedPlugins: cusaxv1.ClientPlugins(),
		Cmd:              cmd,
		SecureConfig:     secure,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         l.AutoMTLS || os.Getenv("CUSAX_PLUGIN_MTLS") == "1",
		SkipHostEnv:      true,
		Logger:           logger.Named(c.Name),
		StartTimeout:     timeout,
		Stderr:           io.Discard,
		GRPCDialOptions:  []grpc.DialOption{grpc.WithUnaryInterceptor(boundUnary(c.ID(), l.callTimeout()))},
	})
	inst := &Instance{Candidate: c, client: client, cmd: cmd, sockDir: sockDir}
	var rpc plugin.ClientProtocol
	inst.releaseThread = onOwnThread(func() { rpc, err = client.Client() })
	if err != nil {
		inst.abort()
		return nil, classifyStartError(c, err)
	}
	raw, err := rpc.Dispense(string(c.Kind))
	if err != nil {
		inst.abort()
		return nil, fmt.Errorf("plugin %s (%s) does not serve a %s plugin: %v: %w", c.ID(), c.Path, c.Kind, err, ErrIncompatible)
	}
	inst.raw = raw
	d, ok := raw.(protocol.Describer)
	if !ok {
		inst.abort()
		return nil, fmt.Errorf("plugin %s: %w", c.ID(), ErrIncompatible)
	}
	ictx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	info, err := d.Info(ictx)
	if err != nil {
		inst.abort()
		return nil, &startError{msg: fmt.Sprintf("plugin %s did not start: %v", c.ID(), err), err: err}
	}
	if info.APIVersion != protocol.APIVersion || info.Kind != c.Kind {
		inst.abort()
		return nil, fmt.Errorf("plugin %s (%s) reports API version %d kind %q; this cusax speaks API version %d: %w",
			c.ID(), c.Path, info.APIVersion, info.Kind, protocol.APIVersion, ErrIncompatible)
	}
	inst.Info = info
	inst.LaunchTime = time.Since(start)
	return inst, nil
}

func (l *Launcher) callTimeout() time.Duration {
	if l.CallTimeout > 0 {
		return l.CallTimeout
	}
	return DefaultCallTimeout
}

// boundUnary gives every unary call to plugin id a deadline d when its
// caller set none (issue 13: every wait on a plugin is bounded). When that
// deadline, not the caller's, ends the call, the error says the plugin did
// not answer and wraps ErrFailed: a hung plugin is a plugin failure.
func boundUnary(id string, d time.Duration) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoke grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if _, ok := ctx.Deadline(); ok {
			return invoke(ctx, method, req, reply, cc, opts...)
		}
		cctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		err := invoke(cctx, method, req, reply, cc, opts...)
		if err != nil && ctx.Err() == nil {
			// gRPC sends the deadline along, so the plugin's side may end
			// the call a moment before our timer: that close, it is ours.
			if dl, _ := cctx.Deadline(); time.Until(dl) < 250*time.Millisecond {
				<-cctx.Done()
			}
		}
		if err != nil && ctx.Err() == nil && errors.Is(cctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("plugin %s did not answer %s within %s: %w", id, path.Base(method), d, ErrFailed)
		}
		return err
	}
}

func (l *Launcher) logLevel() string {
	if l.LogLevel == "" {
		return "info"
	}
	return l.LogLevel
}

func (l *Launcher) command(c Candidate) *exec.Cmd {
	if c.BuiltIn && l.Command != nil {
		return l.Command(c)
	}
	if c.BuiltIn {
		return exec.Command(c.Path, ServeArg, string(c.Kind), c.Name)
	}
	return exec.Command(c.Path)
}

// startError is a plugin whose Info failed (a policy rejecting its
// settings): it wraps the plugin's error and ErrFailed without adding the
// sentinel's text to the one-line message.
type startError struct {
	msg string
	err error
}

func (e *startError) Error() string   { return e.msg }
func (e *startError) Unwrap() []error { return []error{e.err, ErrFailed} }

// classifyStartError turns go-plugin's start errors into one-line errors.
func classifyStartError(c Candidate, err error) error {
	msg := err.Error()
	lower := strings.ToLower(msg)
	switch {
	case strings.Contains(lower, "incompatible api version"):
		return fmt.Errorf("plugin %s (%s) speaks another API version (%s); this cusax speaks API version %d: %w",
			c.ID(), c.Path, strings.TrimSpace(msg), protocol.APIVersion, ErrIncompatible)
	case errors.Is(err, plugin.ErrChecksumsDoNotMatch):
		return fmt.Errorf("plugin %s (%s) changed since it was discovered (checksum mismatch): refusing to run it: %w", c.ID(), c.Path, ErrIncompatible)
	case strings.Contains(lower, "unrecognized remote plugin message"), strings.Contains(lower, "timeout while waiting for plugin"):
		return fmt.Errorf("plugin %s (%s) is not a cusax plugin or did not start: %v: %w", c.ID(), c.Path, firstLine(msg), ErrIncompatible)
	}
	return fmt.Errorf("start plugin %s (%s): %v: %w", c.ID(), c.Path, firstLine(msg), ErrIncompatible)
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// IMPP returns the plugin as an IMPP backend.
func (i *Instance) IMPP() (protocol.IMPP, error) {
	v, ok := i.raw.(protocol.IMPP)
	if !ok {
		return nil, fmt.Errorf("plugin %s is not an IMPP backend: %w", i.Candidate.ID(), ErrIncompatible)
	}
	return v, nil
}

// Telephony returns the plugin as a telephony backend.
func (i *Instance) Telephony() (protocol.Telephony, error) {
	v, ok := i.raw.(protocol.Telephony)
	if !ok {
		return nil, fmt.Errorf("plugin %s is not a telephony backend: %w", i.Candidate.ID(), ErrIncompatible)
	}
	return v, nil
}

// Policy returns the plugin as a policy.
func (i *Instance) Policy() (protocol.Policy, error) {
	v, ok := i.raw.(protocol.Policy)
	if !ok {
		return nil, fmt.Errorf("plugin %s is not a policy: %w", i.Candidate.ID(), ErrIncompatible)
	}
	return v, nil
}

// Exited says why the plugin process is gone ("plugin process exited:
// exit status 2"), or "" while it runs. A policy chain asks after a failed
// call, to tell a crash from an error the plugin returned.
func (i *Instance) Exited() string {
	if i == nil || i.client == nil || !i.client.Exited() {
		return ""
	}
	// go-plugin sets Exited under its lock after cmd.Wait returned, so
	// ProcessState is complete here.
	if i.cmd != nil && i.cmd.ProcessState != nil {
		return "plugin process exited: " + i.cmd.ProcessState.String()
	}
	return "plugin process exited"
}

// Close stops the plugin process: go-plugin asks it to exit (it logs out
// of what is still open) and waits up to 2 s before it kills it. go-plugin
// then waits for the plugin's stdout and stderr to close, which a child the
// plugin left behind can hold open forever; so Close gives it closeGrace,
// then kills the plugin's whole process group and stops waiting. It removes
// the socket directory. Safe to call more than once.
func (i *Instance) Close() { i.stop(true) }

// abort stops a plugin that failed to start: there is nothing to log out
// of, so its process group is killed first.
func (i *Instance) abort() { i.stop(false) }

func (i *Instance) stop(graceful bool) {
	if i == nil || i.client == nil {
		return
	}
	i.closeOnce.Do(func() {
		if !graceful {
			killGroup(i.cmd)
		}
		done := make(chan struct{})
		go func() {
			i.client.Kill()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(closeGrace):
		}
		// Also after a clean exit: a child the plugin started and left
		// (same group) must not outlive it.
		killGroup(i.cmd)
		select {
		case <-done:
		case <-time.After(closeGrace):
			// A grandchild that left the group (setsid) still holds a pipe:
			// the goroutine above stays behind, the host does not.
		}
		if i.sockDir != "" {
			_ = os.RemoveAll(i.sockDir)
		}
		if i.releaseThread != nil {
			i.releaseThread()
		}
	})
}

// onOwnThread runs start (which forks the plugin) on an OS thread that
// stays reserved until release is called, when the plugin is stopped. The
// Linux parent-death signal fires when the thread that forked the plugin
// ends, not the process (golang/go#27505), and the Go runtime ends a
// thread when a goroutine exits locked to it; so without this a plugin
// could get SIGTERM while its host runs on.
func onOwnThread(start func()) (release func()) {
	started, done := make(chan struct{}), make(chan struct{})
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		start()
		close(started)
		<-done
	}()
	<-started
	var once sync.Once
	return func() { once.Do(func() { close(done) }) }
}

// closeGrace bounds each wait of Close: go-plugin's own 2 s for a graceful
// exit plus a margin.
const closeGrace = 3 * time.Second

// Self returns the path of the running executable, for built-ins.
func Self() (string, error) {
	p, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find own executable: %w", err)
	}
	return p, nil
}
