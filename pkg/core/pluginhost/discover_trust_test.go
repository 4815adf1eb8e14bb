//go:build unix

package pluginhost

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cusax/cusax/pkg/core/safepath"
	"github.com/cusax/cusax/pkg/protocol"
)

// A refused plugin that has no built-in to fall back on fails Find with
// ErrRefused, the path, the reason and a hint; one with a built-in leaves
// the built-in in place.
func TestDiscoverRefusesSharedDir(t *testing.T) {
	self := writeExe(t, t.TempDir(), "cusax", 0o755)
	shared := filepath.Join(t.TempDir(), "shared")
	if err := os.Mkdir(shared, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(shared, fs.ModeSticky|0o777); err != nil {
		t.Fatal(err)
	}
	writeExe(t, shared, "cusax-plugin-policy-extra", 0o755)
	writeExe(t, shared, "cusax-plugin-impp-xmpp", 0o755)
	cands, warnings, err := Discover(self, []BuiltIn{{protocol.KindIMPP, "xmpp"}}, []string{shared})
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 2 || !strings.Contains(warnings[0], "refused: "+shared+": a shared directory") {
		t.Errorf("warnings %q", warnings)
	}
	x, err := Find(cands, protocol.KindIMPP, "xmpp")
	if err != nil || !x.BuiltIn || x.Overrides {
		t.Errorf("impp/xmpp = %+v, %v; want the built-in", x, err)
	}
	_, err = Find(cands, protocol.KindPolicy, "extra")
	var unsafe *safepath.Error
	if !errors.Is(err, ErrRefused) || !errors.As(err, &unsafe) || unsafe.Path != shared || !strings.Contains(err.Error(), "cusax-plugin-policy-extra is not run") {
		t.Fatalf("Find refused plugin: %v", err)
	}
	if len(unsafe.Hints()) == 0 {
		t.Error("no hint")
	}
}

// The release layouts: plugins/ beside the executable (tar archive) and
// ../lib/cusax/plugins (deb, rpm) are searched after the user's own
// directories, so a user's plugin wins over a packaged one.
func TestDefaultDirsEndWithInstallDirs(t *testing.T) {
	t.Setenv("CUSAX_PLUGIN_PATH", "/p1")
	t.Setenv("XDG_DATA_HOME", "/data")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if real, err := filepath.EvalSymlinks(exe); err == nil {
		exe = real
	}
	bin := filepath.Dir(exe)
	want := []string{"/flag", "/p1", "/data/cusax/plugins", filepath.Join(bin, "plugins"), filepath.Join(filepath.Dir(bin), "lib", "cusax", "plugins")}
	got := DefaultDirs([]string{"/flag"})
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("DefaultDirs = %q, want %q", got, want)
	}
	if d := InstallDirs("/usr/bin/cusax"); d[0] != "/usr/bin/plugins" || d[1] != "/usr/lib/cusax/plugins" {
		t.Errorf("InstallDirs(/usr/bin/cusax) = %q", d)
	}
}

// A plugin directory beside the executable gets no trust of its own: one
// that the group or others can write is refused like any other, and its
// plugins are listed as refused, never run.
func TestInstallDirsWritableByOthersRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		dir  func(prefix string) string
		mode fs.FileMode
	}{
		{"archive plugins/ group-writable", func(p string) string { return filepath.Join(p, "bin", "plugins") }, 0o775},
		{"archive plugins/ other-writable", func(p string) string { return filepath.Join(p, "bin", "plugins") }, 0o757},
		{"lib/cusax/plugins group-writable", func(p string) string { return filepath.Join(p, "lib", "cusax", "plugins") }, 0o770},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prefix := t.TempDir()
			if err := os.MkdirAll(filepath.Join(prefix, "bin"), 0o755); err != nil {
				t.Fatal(err)
			}
			self := writeExe(t, filepath.Join(prefix, "bin"), "cusax", 0o755)
			dir := tc.dir(prefix)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			writeExe(t, dir, "cusax-plugin-policy-planted", 0o755)
			if err := os.Chmod(dir, tc.mode); err != nil {
				t.Fatal(err)
			}
			cands, warnings, err := Discover(self, nil, InstallDirs(self))
			if err != nil {
				t.Fatal(err)
			}
			if len(cands) != 1 || cands[0].Refused == "" || len(warnings) != 1 || !strings.Contains(warnings[0], "refused") {
				t.Fatalf("candidates %+v warnings %q: want the plugin refused", cands, warnings)
			}
			if _, err := Find(cands, protocol.KindPolicy, "planted"); !errors.Is(err, ErrRefused) {
				t.Errorf("Find = %v, want ErrRefused", err)
			}
		})
	}
}

// The same layouts, owned by the user and not writable by others, are
// used: plugins/ beside the executable before ../lib/cusax/plugins.
func TestInstallDirsUsed(t *testing.T) {
	prefix := t.TempDir()
	archive := filepath.Join(prefix, "bin", "plugins")
	lib := filepath.Join(prefix, "lib", "cusax", "plugins")
	for _, d := range []string{archive, lib} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	self := writeExe(t, filepath.Join(prefix, "bin"), "cusax", 0o755)
	a := writeExe(t, archive, "cusax-plugin-policy-both", 0o755)
	writeExe(t, lib, "cusax-plugin-policy-both", 0o755)
	l := writeExe(t, lib, "cusax-plugin-policy-libonly", 0o755)
	cands, warnings, err := Discover(self, nil, InstallDirs(self))
	if err != nil || len(warnings) != 0 {
		t.Fatalf("%v %q", err, warnings)
	}
	if c, err := Find(cands, protocol.KindPolicy, "both"); err != nil || c.Path != a {
		t.Errorf("both = %+v %v, want %s", c, err, a)
	}
	if c, err := Find(cands, protocol.KindPolicy, "libonly"); err != nil || c.Path != l {
		t.Errorf("libonly = %+v %v, want %s", c, err, l)
	}
}
