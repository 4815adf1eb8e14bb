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
