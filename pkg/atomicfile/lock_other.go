//go:build !unix && !windows

package atomicfile

import "os"

// Platforms without file locks (js, wasip1, plan9) run a single cusax at a
// time in practice; the atomic rename still protects the file itself.
func lockFile(*os.File) error   { return nil }
func unlockFile(*os.File) error { return nil }

// locksWork is false: RemoveStale cannot tell a live writer from a dead
// one, so it removes nothing.
const locksWork = false

func tryLockFile(*os.File) (bool, error) { return false, nil }

func openNoFollow(p string) (*os.File, error) { return os.Open(p) }

// ownedBySelf: no owner to check here (RemoveStale removes nothing
// without working locks anyway).
func ownedBySelf(os.FileInfo) bool { return true }
