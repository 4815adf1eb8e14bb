//go:build !unix && !windows

package atomicfile

import "os"

// Platforms without file locks (js, wasip1, plan9) run a single cusax at a
// time in practice; the atomic rename still protects the file itself.
func lockFile(*os.File) error   { return nil }
func unlockFile(*os.File) error { return nil }
