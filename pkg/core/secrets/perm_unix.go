//go:build unix

package secrets

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// checkPrivate refuses a file that group or others can access in any way,
// or that the current user does not own: either means someone else may
// have read or planted the passwords.
func checkPrivate(path string, fi fs.FileInfo) error {
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("%w: %s has mode %04o, readable or writable by others; run: chmod 600 %s",
			ErrInsecureFile, path, perm, path)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		if uid := os.Geteuid(); int(st.Uid) != uid {
			return fmt.Errorf("%w: %s is owned by uid %d, not by the current user (uid %d)",
				ErrInsecureFile, path, st.Uid, uid)
		}
	}
	return nil
}
