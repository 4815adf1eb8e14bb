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
