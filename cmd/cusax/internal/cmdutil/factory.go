package cmdutil

import (
	"context"
	"path/filepath"
	"sync"

	"github.com/cusax/cusax/cmd/cusax/internal/iostreams"
	"github.com/cusax/cusax/pkg/atomicfile"
	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/core/pluginhost"
	"github.com/cusax/cusax/pkg/core/secrets"
	"github.com/cusax/cusax/pkg/core/session"
	"github.com/hashicorp/go-hclog"
)

// Factory hands commands their dependencies, lazily: a command that never
// touches plugins never discovers them.
type Factory struct {
	IO      *iostreams.IOStreams
	Version string

	// ConfigPath returns the config file path (--config, CUSAX_CONFIG, XDG).
	ConfigPath func() (string, error)
	// Secrets opens the secret store; the note says where secrets live when
	// no OS keyring is available.
	Secrets func() (secrets.Store, string, error)
	// Plugins returns the plugin host: what is installed, for `cusax
	// plugins`. Commands that use backends take them from Backends.
	Plugins func() (*pluginhost.Host, error)
	// Backends starts an account's backends and policies: the plugin host
	// in the binary, in-memory fakes (sessiontest) in command tests.
	Backends func() (session.Source, error)
	// Logger is the host logger (plugin logs reach it only with --debug).
	Logger func() hclog.Logger
	// Context is cancelled on Ctrl-C.
	Context context.Context
	// AllowPlaintext reports --allow-plaintext on this invocation; nil is
	// false. Config applies it to every account (see applyPlaintext).
	AllowPlaintext func() bool

	plaintextWarned sync.Once

	// jq is this run's --jq filter (EnableJQ), ended by FinishJQ.
	jq JQ
}

// Config loads the config file.
func (f *Factory) Config() (*config.Config, string, error) {
	path, err := f.ConfigPath()
	if err != nil {
		return nil, "", err
	}
	cfg, err := config.Load(path)
	if err == nil {
		f.applyPlaintext(cfg, path)
		// Load cleared the config's own leftovers of a killed write; the
		// secrets file beside it may have left a copy of passwords too.
		_, _ = atomicfile.RemoveStale(filepath.Join(filepath.Dir(path), secrets.FileName))
	}
	return cfg, path, err
}

// Lazy wraps fn so that it runs once.
func Lazy[T any](fn func() (T, error)) func() (T, error) {
	var once sync.Once
	var v T
	var err error
	return func() (T, error) {
		once.Do(func() { v, err = fn() })
		return v, err
	}
}
