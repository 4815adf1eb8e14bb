//go:build unix

package cli

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// Issue 13 item 14: temporary copies of config.toml and secrets.toml left
// by a cusax killed mid-write (kill -9 leaves them as made here: written,
// unlocked) are removed at the next start; one that a live writer holds
// locked is kept.
func TestStaleTempFilesRemovedAtStart(t *testing.T) {
	home := mkdirMode(t, filepath.Join(t.TempDir(), "home"), 0o700)
	dir := mkdirMode(t, filepath.Join(home, "cusax"), 0o700)
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("config.toml", "version = 1\n")
	staleCfg := write(".config.toml.tmp-1234567", "version = 1\n[[account]]\nname = \"half")
	staleSecrets := write(".secrets.toml.tmp-7654321", "version = 1\n[passwords]\n\"work/xmpp\" = \"hunter2")
	live := write(".config.toml.tmp-42", "being written")
	f, err := os.Open(live)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}

	r := runCLI(t, home, "", "status")
	if r.code != 0 {
		t.Fatalf("status: exit %d", r.code)
	}
	for _, p := range []string{staleCfg, staleSecrets} {
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			t.Errorf("%s left behind: %v", filepath.Base(p), err)
		}
	}
	if _, err := os.Stat(live); err != nil {
		t.Errorf("a live writer's temporary file was removed: %v", err)
	}
}
