package plugins

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cusax/cusax/cmd/cusax/internal/builtin"
	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil/cmdtest"
	"github.com/cusax/cusax/cmd/cusax/internal/jsoncheck"
	"github.com/cusax/cusax/pkg/core/pluginhost"
	"github.com/cusax/cusax/pkg/protocol"
	"github.com/hashicorp/go-hclog"
	"github.com/spf13/cobra"
)

// TestMain lets the test binary serve the built-in plugins when the host
// re-executes it (`cusax __plugin KIND NAME`), as the cusax binary does:
// `cusax plugins` starts each plugin to ask what it is.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == pluginhost.ServeArg {
		os.Exit(builtin.Serve(os.Args[2:]))
	}
	os.Exit(m.Run())
}

func newCmd(f *cmdutil.Factory) *cobra.Command {
	c := NewCmdPlugins(f, nil)
	c.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return cmdutil.Usagef("%v", err) })
	return c
}

// pluginDir is a plugin directory (0700, ours) holding:
//   - cusax-plugin-impp-xmpp: a script serving the built-in xmpp (an
//     external plugin that overrides the built-in);
//   - cusax-plugin-policy-ww: world-writable → refused;
//   - cusax-plugin-policy-gw: group-writable → refused;
//   - cusax-plugin-policy-other: owned by nobody (65534) → refused (root only);
//   - cusax-plugin-impp-noexec: not executable → skipped with a warning;
//   - README: not a plugin name → ignored.
//
// The refused ones would touch ran-NAME if they were ever run.
type pluginDir struct {
	dir     string
	markers string
	chowned bool
}

func newPluginDir(t *testing.T) pluginDir {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	d := pluginDir{dir: filepath.Join(t.TempDir(), "plugins"), markers: t.TempDir()}
	if err := os.Mkdir(d.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	write := func(name, body string, mode os.FileMode) string {
		p := filepath.Join(d.dir, name)
		if err := os.WriteFile(p, []byte(body), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // past the umask
			t.Fatal(err)
		}
		return p
	}
	write("cusax-plugin-impp-xmpp", "#!/bin/sh\nexec '"+self+"' "+pluginhost.ServeArg+" impp xmpp\n", 0o700)
	for _, c := range []struct {
		name string
		mode os.FileMode
	}{{"ww", 0o777}, {"gw", 0o770}, {"other", 0o700}} {
		p := write("cusax-plugin-policy-"+c.name, "#!/bin/sh\ntouch '"+filepath.Join(d.markers, "ran-"+c.name)+"'\n", c.mode)
		if c.name == "other" {
			if os.Geteuid() == 0 {
				if err := os.Chown(p, 65534, 65534); err != nil {
					t.Fatal(err)
				}
				d.chowned = true
			} else {
				_ = os.Remove(p)
			}
		}
	}
	write("cusax-plugin-impp-noexec", "#!/bin/sh\n", 0o600)
	write("README", "not a plugin\n", 0o700)
	return d
}

// ranAny reports refused plugins that were run anyway.
func (d pluginDir) ranAny(t *testing.T) {
	t.Helper()
	entries, _ := os.ReadDir(d.markers)
	for _, e := range entries {
		t.Errorf("a refused plugin was run: %s", e.Name())
	}
}

func newEnv(t *testing.T, dirs ...string) *cmdtest.Env {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	e := cmdtest.New(t, nil, nil, nil)
	e.Factory.Plugins = cmdutil.Lazy(func() (*pluginhost.Host, error) {
		return &pluginhost.Host{Self: self, BuiltIns: builtin.Plugins, Dirs: dirs,
			Launcher: pluginhost.Launcher{Logger: hclog.NewNullLogger()}}, nil
	})
	return e
}

func TestPluginsBuiltInsJSON(t *testing.T) {
	e := newEnv(t, filepath.Join(t.TempDir(), "none"))
	r := e.Run(newCmd, "--json")
	jsoncheck.Validate(t, r.Stdout)
	if r.Err != nil {
		t.Fatalf("%v\n%s", r.Err, r.Stderr)
	}
	var rows []Row
	if err := cmdtest.UnmarshalList(r.Stdout, "plugins", &rows); err != nil {
		t.Fatalf("%v: %s", err, r.Stdout)
	}
	var ids []string
	for _, row := range rows {
		ids = append(ids, string(row.Kind)+"/"+row.Name)
		if row.Source != "built-in" || row.Error != "" || row.Refused != "" || row.APIVersion != protocol.APIVersion ||
			len(row.Capabilities) == 0 || len(row.SHA256) != 64 || row.Version == "" {
			t.Errorf("row %+v", row)
		}
	}
	if got := strings.Join(ids, " "); got != "impp/sipmessage impp/xmpp telephony/sip policy/default" {
		t.Errorf("plugins %q", got)
	}
	if r.Stderr != "" {
		t.Errorf("stderr %q", r.Stderr)
	}
}

func TestPluginsDirJSON(t *testing.T) {
	d := newPluginDir(t)
	e := newEnv(t, d.dir)
	r := e.Run(newCmd, "--json")
	if r.Err != nil {
		t.Fatalf("%v\n%s", r.Err, r.Stderr)
	}
	var rows []Row
	if err := cmdtest.UnmarshalList(r.Stdout, "plugins", &rows); err != nil {
		t.Fatalf("%v: %s", err, r.Stdout)
	}
	byID := map[string]Row{}
	for _, row := range rows {
		byID[string(row.Kind)+"/"+row.Name] = row
	}
	x := byID["impp/xmpp"]
	if x.Source != "external" || !x.Overrides || x.Path != filepath.Join(d.dir, "cusax-plugin-impp-xmpp") ||
		x.Error != "" || x.APIVersion != protocol.APIVersion || len(x.SHA256) != 64 {
		t.Errorf("the overriding xmpp: %+v", x)
	}
	refused := []string{"ww", "gw"}
	if d.chowned {
		refused = append(refused, "other")
	}
	for _, name := range refused {
		row, ok := byID["policy/"+name]
		if !ok || row.Refused == "" || row.Error != "" || row.Version != "" || row.SHA256 != "" || row.Capabilities == nil {
			// Never started: no launch error either.
			t.Errorf("policy/%s not listed as refused (never started): %+v", name, row)
		}
	}
	if !strings.Contains(byID["policy/ww"].Refused, "writable") || d.chowned && !strings.Contains(byID["policy/other"].Refused, "owned by") {
		t.Errorf("reasons: ww %q, other %q", byID["policy/ww"].Refused, byID["policy/other"].Refused)
	}
	// The built-in default policy is still there, usable.
	if p := byID["policy/default"]; p.Source != "built-in" || p.Error != "" || p.Refused != "" {
		t.Errorf("policy/default %+v", p)
	}
	if _, ok := byID["impp/noexec"]; ok {
		t.Errorf("a file that is not executable is listed")
	}
	if !strings.Contains(r.Stderr, "cusax: warning: plugin "+filepath.Join(d.dir, "cusax-plugin-impp-noexec")+" skipped: not executable") {
		t.Errorf("stderr %q", r.Stderr)
	}
	// Refusals are in the rows, not repeated as warnings.
	if strings.Contains(r.Stderr, "refused") {
		t.Errorf("stderr repeats refusals: %q", r.Stderr)
	}
	d.ranAny(t)
}

func TestPluginsPiped(t *testing.T) {
	d := newPluginDir(t)
	e := newEnv(t, d.dir)
	r := e.Run(newCmd)
	if r.Err != nil {
		t.Fatalf("%v\n%s", r.Err, r.Stderr)
	}
	lines := strings.Split(strings.TrimSuffix(r.Stdout, "\n"), "\n")
	// The built-ins (xmpp overridden by the external one) and 3 refused.
	want := len(builtin.Plugins) + 2
	if d.chowned {
		want++
	}
	if len(lines) != want {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), want, r.Stdout)
	}
	for _, l := range lines {
		f := strings.Split(l, "\t")
		if len(f) != 8 {
			t.Fatalf("%d columns in %q, want 8", len(f), l)
		}
		switch f[0] + "/" + f[1] {
		case "impp/xmpp":
			if f[4] != "external (overrides built-in)" || len(f[6]) != 64 || !strings.Contains(f[5], "login") {
				t.Errorf("xmpp %q", f)
			}
		case "policy/ww", "policy/gw", "policy/other":
			if f[4] != "external (refused)" || !strings.HasPrefix(f[5], "refused: ") {
				t.Errorf("refused %q", f)
			}
		}
	}
	d.ranAny(t)
}

func TestPluginsTerminal(t *testing.T) {
	e := newEnv(t)
	e.IO.SetTTY(false, true, true)
	r := e.Run(newCmd)
	if r.Err != nil {
		t.Fatalf("%v\n%s", r.Err, r.Stderr)
	}
	lines := strings.Split(strings.TrimSuffix(r.Stdout, "\n"), "\n")
	if len(lines) != 1+len(builtin.Plugins) || strings.Join(strings.Fields(lines[0]), " ") != "KIND NAME VERSION API SOURCE CAPABILITIES SHA256 PATH" {
		t.Fatalf("table\n%s", r.Stdout)
	}
	// On a terminal the hash is shortened to 12 hex digits.
	if f := strings.Fields(lines[1]); len(f) != 8 || len(f[6]) != 12 {
		t.Errorf("row %q", lines[1])
	}
}

// A directory others can write: nothing in it is trusted, not even a
// plugin file that is itself fine.
func TestPluginsWritableDir(t *testing.T) {
	d := newPluginDir(t)
	if err := os.Chmod(d.dir, 0o777); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, d.dir)
	r := e.Run(newCmd, "--json")
	if r.Err != nil {
		t.Fatalf("%v\n%s", r.Err, r.Stderr)
	}
	var rows []Row
	if err := cmdtest.UnmarshalList(r.Stdout, "plugins", &rows); err != nil {
		t.Fatal(err)
	}
	builtIn := 0
	for _, row := range rows {
		switch {
		case row.Source == "built-in":
			builtIn++
		case row.Refused == "":
			t.Errorf("usable plugin from a world-writable dir: %+v", row)
		}
	}
	if builtIn != len(builtin.Plugins) {
		t.Errorf("%d built-ins in use, want %d (xmpp not overridden)", builtIn, len(builtin.Plugins))
	}
	d.ranAny(t)
}

func TestPluginsBadFlags(t *testing.T) {
	e := newEnv(t)
	for _, args := range [][]string{{"--bogus"}, {"--json=maybe"}} {
		r := e.Run(newCmd, args...)
		if r.Code != cmdutil.ExitUsage || r.Stdout != "" {
			t.Errorf("%q: exit %d (%v) stdout %q", args, r.Code, r.Err, r.Stdout)
		}
	}
}
