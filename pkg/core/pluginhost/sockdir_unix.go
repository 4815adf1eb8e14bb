//go:build unix

package pluginhost

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// go-plugin makes a private 0700 directory for the socket only when the
// host uses a RunnerFunc; with the default command runner the plugin calls
// os.CreateTemp(PLUGIN_UNIX_SOCKET_DIR, …) and listens there with a mode
// that depends on the umask (0777 under umask 0) — in $TMPDIR, where any
// local user could connect and drive the plugin. So the host makes the
// directory itself and hands it to the plugin in PLUGIN_UNIX_SOCKET_DIR.

// socketBase returns the per-user directory that holds one socket
// directory per plugin instance: $XDG_RUNTIME_DIR/cusax when that runtime
// dir is ours and private (XDG Base Directory spec), else
// $TMPDIR/cusax-UID.
func socketBase() string {
	if x := os.Getenv("XDG_RUNTIME_DIR"); filepath.IsAbs(x) && checkPrivate(x) == nil {
		return filepath.Join(x, "cusax")
	}
	return filepath.Join(os.TempDir(), "cusax-"+strconv.Itoa(os.Geteuid()))
}

// checkPrivate says why path may not hold our sockets: it must be a real
// directory (not a symlink), owned by this user, with no group or other
// permission bits, whatever the umask was when it was made.
func checkPrivate(path string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		return errors.New("is a symbolic link")
	case !fi.IsDir():
		return errors.New("is not a directory")
	case !ok:
		return errors.New("owner unknown")
	case int(st.Uid) != os.Geteuid():
		return fmt.Errorf("is owned by uid %d, not %d", st.Uid, os.Geteuid())
	case fi.Mode().Perm()&0o077 != 0:
		return fmt.Errorf("has mode %04o: other users may enter it (want 0700)", fi.Mode().Perm())
	}
	return nil
}

// privateBase creates (if needed) and checks the per-user base directory,
// then removes what hosts that died without cleaning up (kill -9) left.
func privateBase(base string) error {
	if err := os.Mkdir(base, 0o700); err == nil {
		// Mkdir applies the umask: set the mode we mean.
		if err := os.Chmod(base, 0o700); err != nil {
			return fmt.Errorf("plugin socket directory %s: %w", base, err)
		}
	} else if !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("plugin socket directory: %w", err)
	}
	if err := checkPrivate(base); err != nil {
		return fmt.Errorf("plugin socket directory %s %v: refusing to use it", base, err)
	}
	removeStale(base)
	return nil
}

// newSocketDir makes a fresh private directory for one plugin's socket. Its
// name starts with the host's pid, so that a later host can tell (by that
// pid being gone) that it is stale.
func newSocketDir() (string, error) {
	base := socketBase()
	if err := privateBase(base); err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp(base, strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		return "", fmt.Errorf("plugin socket directory: %w", err)
	}
	return dir, nil
}

// removeStale removes socket directories whose host process is gone. A
// pid that was reused keeps its directory until that process ends too:
// harmless, and never removes a live host's socket.
func removeStale(base string) {
	ents, err := os.ReadDir(base)
	if err != nil {
		return
	}
	for _, e := range ents {
		head, _, ok := strings.Cut(e.Name(), "-")
		pid, err := strconv.Atoi(head)
		if !ok || err != nil || pid <= 0 || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			_ = os.RemoveAll(filepath.Join(base, e.Name()))
		}
	}
}
