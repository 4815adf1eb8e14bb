// Package cmdtest runs a command the way cli/cli's tests do: construct it
// with a Factory, run it with arguments, and look at stdout, stderr, the
// error and the exit code. The Factory's backends are in-memory fakes
// (pkg/protocol/fake through sessiontest), its config and secrets live in a
// temp dir, so no server, no plugin process and no terminal is involved.
// Protocol behaviour is the real-server tests' job (cmd/cusax/internal/cli).
package cmdtest

import (
	"bytes"
	"context"
	"github.com/cusax/cusax/internal/jqfilter"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/cmd/cusax/internal/iostreams"
	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/core/pluginhost"
	"github.com/cusax/cusax/pkg/core/secrets"
	"github.com/cusax/cusax/pkg/core/session"
	"github.com/cusax/cusax/pkg/core/session/sessiontest"
	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/pkg/protocol/fake"
	"github.com/hashicorp/go-hclog"
	"github.com/spf13/cobra"
)

// The standard fixture: one related account "home" for alice on
// example.com with both aspects, and bob, her contact, with both too.
const (
	AliceJID      = "alice@example.com"
	AliceAOR      = "sip:alice@example.com"
	AlicePassword = "alice-secret"
	AliceSIPPass  = "alice-sip-secret"
	BobJID        = "bob@example.com"
	BobAOR        = "sip:bob@example.com"
	BobPassword   = "bob-secret"
)

// BobVCard is bob's vCard in the standard fixture: a SIP URI and a number.
const BobVCard = "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Bob Example\r\nIMPP:xmpp:bob@example.com\r\n" +
	"TEL;TYPE=work,voice;VALUE=uri:sip:bob@example.com\r\nTEL;TYPE=cell,voice;VALUE=uri:tel:+15550100\r\nEND:VCARD\r\n"

// Env is one test's world: the fake service, the source the Factory hands
// out, the Factory and its streams.
type Env struct {
	T          testing.TB
	Service    *fake.Service
	Source     *sessiontest.Source
	Factory    *cmdutil.Factory
	IO         *iostreams.IOStreams
	In         *bytes.Buffer
	Out        *bytes.Buffer
	ErrOut     *bytes.Buffer
	Dir        string // the config dir (0700)
	ConfigPath string
	Store      secrets.Store
}

// Standard returns the standard fixture's config: account "home".
func Standard() *config.Config {
	return &config.Config{Accounts: []config.Account{{
		Name: "home", Related: true,
		XMPP: &config.XMPPAspect{JID: AliceJID},
		SIP:  &config.SIPAspect{AOR: AliceAOR},
	}}}
}

// StandardService returns the standard fixture's service: alice and bob in
// both aspects, each in the other's roster, bob with BobVCard.
func StandardService() *fake.Service {
	return fake.NewService(
		fake.Account{Address: AliceJID, Password: AlicePassword,
			Roster: []protocol.RosterItem{{JID: BobJID, Name: "Bob", Subscription: "both"}}},
		fake.Account{Address: BobJID, Password: BobPassword, VCard: BobVCard,
			Roster: []protocol.RosterItem{{JID: AliceJID, Name: "Alice", Subscription: "both"}}},
		fake.Account{Address: AliceAOR, Password: AliceSIPPass},
		fake.Account{Address: BobAOR, Password: BobPassword},
	)
}

// New makes an Env with cfg saved as the config file (nil: no config
// file), passwords stored for every account of cfg whose names are in
// passwords ("home/xmpp" → secret), and backends from svc (nil:
// StandardService). New(t, Standard(), StandardPasswords(), nil) is the
// usual start.
func New(t testing.TB, cfg *config.Config, passwords map[string]string, svc *fake.Service) *Env {
	t.Helper()
	if svc == nil {
		svc = StandardService()
	}
	// Caches and state (vCards, audit state) go to this test's dirs.
	home := t.TempDir()
	for _, v := range []string{"XDG_CACHE_HOME", "XDG_STATE_HOME", "XDG_CONFIG_HOME"} {
		t.Setenv(v, filepath.Join(home, strings.ToLower(strings.TrimPrefix(v, "XDG_"))))
	}
	t.Setenv("NO_COLOR", "1")
	dir := filepath.Join(home, "cusax")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "config.toml")
	if cfg != nil {
		if err := config.Save(path, cfg); err != nil {
			t.Fatal(err)
		}
	}
	store := secrets.File(filepath.Join(dir, secrets.FileName))
	ctx := context.Background()
	for k, pw := range passwords {
		acct, aspect, _ := strings.Cut(k, "/")
		if err := store.Set(ctx, secrets.Ref{Account: acct, Aspect: aspect}, pw); err != nil {
			t.Fatal(err)
		}
	}
	io, in, out, errOut := iostreams.Test()
	// As cli.Run does: background work (the on-call presence tracker)
	// writes notes while the command writes its own.
	io.SerializeErrOut()
	src := sessiontest.New(svc)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	f := &cmdutil.Factory{
		IO: io, Version: "0.0.0-test", Context: ctx,
		ConfigPath: func() (string, error) { return path, nil },
		Secrets:    func() (secrets.Store, string, error) { return store, "", nil },
		Logger:     func() hclog.Logger { return hclog.NewNullLogger() },
		Plugins: func() (*pluginhost.Host, error) {
			return &pluginhost.Host{Dirs: []string{filepath.Join(dir, "no-plugins")}}, nil
		},
		Backends: func() (session.Source, error) { return src, nil },
	}
	e := &Env{T: t, Service: svc, Source: src, Factory: f, IO: io, In: in, Out: out, ErrOut: errOut,
		Dir: dir, ConfigPath: path, Store: store}
	t.Cleanup(func() {
		if n := src.Running(); n != 0 {
			t.Errorf("the command left %d plugin(s) running", n)
		}
	})
	return e
}

// StandardPasswords are the secrets of the standard fixture's account.
func StandardPasswords() map[string]string {
	return map[string]string{"home/xmpp": AlicePassword, "home/sip": AliceSIPPass}
}

// Result is what a command did.
type Result struct {
	Err    error
	Code   int // the exit code cusax would return for Err
	Stdout string
	Stderr string
}

// Run constructs the command with newCmd(e.Factory), runs it with args and
// returns what it did. Stdout and stderr are those of this run only.
func (e *Env) Run(newCmd func(*cmdutil.Factory) *cobra.Command, args ...string) Result {
	e.T.Helper()
	e.Out.Reset()
	e.ErrOut.Reset()
	cmd := newCmd(e.Factory)
	// Under a root as in the binary: the root's flag-error rule (exit 2)
	// applies unless the command has its own (audit-tls: 3).
	root := &cobra.Command{Use: "cusax", SilenceUsage: true, SilenceErrors: true}
	root.SetFlagErrorFunc(cmdutil.FlagError)
	root.AddCommand(cmd)
	// --jq as in the binary; it wraps stdout for this run only.
	cmdutil.EnableJQ(root, e.Factory)
	defer func(out io.Writer) { e.IO.Out = out }(e.IO.Out)
	root.SetArgs(append([]string{cmd.Name()}, args...))
	root.SetIn(e.IO.In)
	root.SetOut(e.IO.Out)
	root.SetErr(e.IO.ErrOut)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := root.ExecuteContext(e.Factory.Context)
	if jerr := e.Factory.FinishJQ(); err == nil {
		err = jerr
	}
	return Result{Err: err, Code: cmdutil.ExitCode(err), Stdout: e.Out.String(), Stderr: e.ErrOut.String()}
}

// LoadConfig reads the config file back (to check what a command saved).
func (e *Env) LoadConfig() *config.Config {
	e.T.Helper()
	c, err := config.Load(e.ConfigPath)
	if err != nil {
		e.T.Fatal(err)
	}
	return c
}

// InProcessJQ is cmdutil.NewJQ with gojq in this process: commands run in
// process by tests have no cusax-jq helper beside them. Importing cmdtest
// sets it.
func InProcessJQ(expr string, indent bool, out io.Writer) (cmdutil.JQ, error) {
	f, err := jqfilter.New(expr, indent, out)
	if err != nil {
		return nil, &cmdutil.JQExprError{Msg: err.Error()}
	}
	return f, nil
}

func init() { cmdutil.NewJQ = InProcessJQ }
