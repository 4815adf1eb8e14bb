//go:build unix

package vcardcache

import (
	"io/fs"
	"os"
	"syscall"
)

// openFlags: a link at an entry's path is not followed, and a FIFO put
// there does not block the open (shell completion reads the roster
// cache: it must never hang).
const openFlags = syscall.O_NOFOLLOW | syscall.O_NONBLOCK

// mine reports whether this user owns fi (another user's file in the
// cache is not read).
func mine(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Geteuid()
}
