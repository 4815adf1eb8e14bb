//go:build windows

package atomicfile

import (
	"os"

	"golang.org/x/sys/windows"
)

// Lock the first byte; LockFileEx without LOCKFILE_FAIL_IMMEDIATELY blocks.
func lockFile(f *os.File) error {
	ol := new(windows.Overlapped)
	return windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK, 0, 1, 0, ol)
}

func unlockFile(f *os.File) error {
	ol := new(windows.Overlapped)
	return windows.UnlockFileEx(windows.Handle(f.Fd()), 0, 1, 0, ol)
}

// locksWork is false: a second handle on the temporary file would make the
// rename fail (Go opens files without FILE_SHARE_DELETE), so a writer
// cannot hold a lock across it and RemoveStale removes nothing here.
const locksWork = false

func tryLockFile(*os.File) (bool, error) { return false, nil }

func openNoFollow(p string) (*os.File, error) { return os.Open(p) }

// ownedBySelf: no owner to check here (RemoveStale removes nothing
// without working locks anyway).
func ownedBySelf(os.FileInfo) bool { return true }
