// Package plugins implements `cusax plugins`: every plugin cusax can use,
// built-in or external, as each one describes itself.
package plugins

import (
	"context"
	"strings"
	"sync"
	"time"

	"fmt"
	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/pkg/core/pluginhost"
	"github.com/cusax/cusax/pkg/protocol"
	"github.com/spf13/cobra"
)

// Options are the parsed flags.
type Options struct {
	F    *cmdutil.Factory
	JSON bool
	// Header: --header, column names first when piped.
	Header bool
}

// NewCmdPlugins builds the command.
func NewCmdPlugins(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{F: f}
	cmd := &cobra.Command{
		Use:   "plugins",
		Short: "List the protocol backends and policy plugins",
		Long: `List every plugin: the built-in ones served by cusax itself, and external
cusax-plugin-KIND-NAME executables found in --plugin-dir, [plugins] dirs,
$CUSAX_PLUGIN_PATH, $XDG_DATA_HOME/cusax/plugins, then where a release puts
them: plugins/ beside the cusax executable (the archive) and
../lib/cusax/plugins from it (the packages: /usr/lib/cusax/plugins). The
first of a name wins; an external plugin with the name of a built-in
replaces it. Each plugin is started once to ask what it is.

An external plugin that another user owns, or that others can write (the
file or any directory above it), is listed as refused with the reason and
never run; a built-in of the same name stays in use.`,
		Example: `  $ cusax plugins
  $ cusax plugins --plugin-dir ./build --json`,
		Args: cobra.NoArgs,
		RunE: func(_ *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(opts)
			}
			return run(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON")
	cmdutil.HeaderFlag(cmd, &opts.Header)
	return cmd
}

// Row is one plugin in the output.
type Row struct {
	Kind         protocol.Kind `json:"kind"`
	Name         string        `json:"name"`
	Version      string        `json:"version"`
	APIVersion   int           `json:"api_version"`
	Capabilities []string      `json:"capabilities"`
	Source       string        `json:"source"`
	Overrides    bool          `json:"overrides_built_in"`
	Path         string        `json:"path"`
	SHA256       string        `json:"sha256"`
	LaunchMS     int64         `json:"launch_ms"`
	Error        string        `json:"error,omitempty"`
	// Refused says why an external plugin is never run ("" if usable).
	Refused string `json:"refused,omitempty"`
}

func run(o *Options) error {
	f := o.F
	host, err := f.Plugins()
	if err != nil {
		return err
	}
	cands, warnings, err := host.Candidates()
	if err != nil {
		return err
	}
	refused := map[string]bool{}
	for _, c := range cands {
		if c.Refused != "" {
			refused[c.Path] = true
		}
	}
	for _, w := range warnings {
		// Refusals were shown when the plugins were discovered.
		if path, _, ok := strings.Cut(strings.TrimPrefix(w, "plugin "), " refused: "); ok && refused[path] {
			continue
		}
		fmt.Fprintln(f.IO.ErrOut, "cusax: warning:", w)
	}
	// Built-ins are all this executable: hash it once for display.
	for _, c := range cands {
		if c.SHA256 == "" && c.Refused == "" {
			if sum, err := pluginhost.HashFile(c.Path); err == nil {
				for j := range cands {
					if cands[j].Path == c.Path && cands[j].SHA256 == "" {
						cands[j].SHA256 = sum
					}
				}
			}
		}
	}
	rows := make([]Row, len(cands))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for i, c := range cands {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			rows[i] = describe(f.Context, &host.Launcher, c)
		}()
	}
	wg.Wait()
	if o.JSON {
		return cmdutil.WriteJSON(f.IO.Out, cmdutil.Schema("plugins"), struct {
			Plugins []Row `json:"plugins"`
		}{rows})
	}
	t := cmdutil.NewTable(f.IO.Out, f.IO.IsStdoutTTY(), "KIND", "NAME", "VERSION", "API", "SOURCE", "CAPABILITIES", "SHA256", "PATH")
	if o.Header {
		t.TSVHeader("kind", "name", "version", "api", "source", "capabilities", "sha256", "path")
	}
	for _, r := range rows {
		caps := strings.Join(r.Capabilities, ",")
		if r.Error != "" {
			caps = "error: " + r.Error
		}
		src := r.Source
		if r.Overrides {
			src += " (overrides built-in)"
		}
		if r.Refused != "" {
			src += " (refused)"
			caps = "refused: " + r.Refused
		}
		sum := r.SHA256
		if f.IO.IsStdoutTTY() && len(sum) > 12 {
			sum = sum[:12]
		}
		t.Row(string(r.Kind), r.Name, r.Version, fmt.Sprint(r.APIVersion), src, caps, sum, r.Path)
	}
	return t.Flush()
}

func describe(ctx context.Context, l *pluginhost.Launcher, c pluginhost.Candidate) Row {
	r := Row{Kind: c.Kind, Name: c.Name, Source: c.Source(), Overrides: c.Overrides, Path: c.Path, SHA256: c.SHA256, Capabilities: []string{}}
	if c.Refused != "" {
		// Never started: whoever could write it would run as this user.
		r.Refused = c.Refused
		return r
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	inst, err := l.Launch(ctx, c)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	defer inst.Close()
	r.Version, r.APIVersion, r.LaunchMS = inst.Info.Version, inst.Info.APIVersion, inst.LaunchTime.Milliseconds()
	for _, cp := range inst.Info.Capabilities {
		r.Capabilities = append(r.Capabilities, string(cp))
	}
	return r
}
