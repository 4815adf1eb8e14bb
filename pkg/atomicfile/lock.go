package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
)

// Lock takes an exclusive advisory lock on the file lockPath (creating it
// with mode 0600, and its directory with 0700, if needed) and returns the
// function that releases it. It blocks until the lock is free.
//
// The lock is advisory: it orders cusax processes (and goroutines, since each
// call opens its own descriptor) that use Lock on the same path, nothing
// else. The lock file is left in place after release; removing it would let
// two processes hold "the" lock on two different files.
func Lock(lockPath string) (unlock func() error, err error) {
	if err := os.MkdirAll(filepath.Dir(lockPath), DirPerm); err != nil {
		return nil, fmt.Errorf("lock %s: create directory: %w", lockPath, err)
	}
	f, err := os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", lockPath, err)
	}
	if err := lockFile(f); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("lock %s: %w", lockPath, err)
	}
	return func() error {
		uerr := unlockFile(f)
		cerr := f.Close()
		if uerr != nil {
			return fmt.Errorf("unlock %s: %w", lockPath, uerr)
		}
		if cerr != nil {
			return fmt.Errorf("unlock %s: %w", lockPath, cerr)
		}
		return nil
	}, nil
}
