//go:build unix

package audit

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cusax/cusax/pkg/core/safepath"
)

// Issue 13 item 8: a state file others can write could make an
// intercepting certificate look known; it is refused, not read.
func TestLoadStateRefusesFileOthersCanWrite(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cusax")
	p := filepath.Join(dir, "audit-state.json")
	s := &State{}
	if err := s.Save(p); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadState(p); err != nil {
		t.Fatalf("private state refused: %v", err)
	}
	for _, tc := range []struct{ path, bad string }{{p, p}, {dir, dir}} {
		if err := os.Chmod(tc.path, 0o777); err != nil {
			t.Fatal(err)
		}
		_, err := LoadState(p)
		if !errors.Is(err, safepath.ErrUnsafe) || !strings.Contains(err.Error(), tc.bad+": writable by group and others") {
			t.Errorf("%s mode 0777: LoadState = %v", tc.bad, err)
		}
		mode := os.FileMode(0o600)
		if tc.path == dir {
			mode = 0o700
		}
		if err := os.Chmod(tc.path, mode); err != nil {
			t.Fatal(err)
		}
	}
}
