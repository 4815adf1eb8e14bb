package plugins

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestPluginsHeader: piped, --header names the columns first; without it
// the first line is a plugin.
func TestPluginsHeader(t *testing.T) {
	e := newEnv(t, filepath.Join(t.TempDir(), "none"))
	r := e.Run(newCmd, "--header")
	if r.Err != nil || !strings.HasPrefix(r.Stdout, "kind\tname\tversion\tapi\tsource\tcapabilities\tsha256\tpath\n") {
		t.Errorf("%v\n%s", r.Err, r.Stdout)
	}
	r = e.Run(newCmd)
	if r.Err != nil || strings.HasPrefix(r.Stdout, "kind\t") {
		t.Errorf("%v\n%s", r.Err, r.Stdout)
	}
}
