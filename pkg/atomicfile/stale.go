package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// tempPattern is the os.CreateTemp pattern of Write's temporary file for
// target: hidden, beside it, so that the rename is atomic.
func tempPattern(target string) string { return "." + filepath.Base(target) + ".tmp-*" }

// isTempOf reports whether name is one of Write's temporary files for
// target: the pattern's prefix followed by CreateTemp's random digits.
func isTempOf(name, target string) bool {
	prefix := strings.TrimSuffix(tempPattern(target), "*")
	rest, ok := strings.CutPrefix(name, prefix)
	if !ok || rest == "" {
		return false
	}
	for _, r := range rest {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// RemoveStale removes the temporary files that a Write for path left
// behind when its process died mid-write (kill -9, a crash, power loss):
// they may hold a copy of a config or of passwords. A temporary file
// whose writer is still running is kept: every Write holds an advisory
// lock on its temporary file until the rename, and RemoveStale removes
// only files whose lock it can take at once (so a lock released by the
// death of its holder). Only regular files of this user named like Write's (and
// Create's) temporary files for path are considered; symbolic links are
// never followed.
//
// It returns how many files it removed. Errors name the file; the caller
// may ignore them (the next call tries again). On platforms without
// file locks it removes nothing.
func RemoveStale(path string) (int, error) {
	if !locksWork {
		return 0, nil
	}
	target, err := resolve(path)
	if err != nil {
		return 0, err
	}
	dir := filepath.Dir(target)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("remove stale temporary files of %s: %w", target, err)
	}
	n := 0
	var errs []error
	for _, e := range entries {
		if !isTempOf(e.Name(), target) || !e.Type().IsRegular() {
			continue
		}
		removed, err := removeIfAbandoned(filepath.Join(dir, e.Name()))
		if err != nil {
			errs = append(errs, err)
		}
		if removed {
			n++
		}
	}
	return n, errors.Join(errs...)
}

// removeIfAbandoned removes p if no live writer holds its lock, checking
// under that lock that p still names the file it locked.
func removeIfAbandoned(p string) (bool, error) {
	f, err := openNoFollow(p)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil // its writer renamed it meanwhile
	}
	if err != nil {
		return false, fmt.Errorf("remove stale %s: %w", p, err)
	}
	defer f.Close()
	locked, err := tryLockFile(f)
	if err != nil || !locked {
		return false, err // a live writer (or no locks here): keep it
	}
	defer func() { _ = unlockFile(f) }()
	fi, err := f.Stat()
	if err != nil {
		return false, fmt.Errorf("remove stale %s: %w", p, err)
	}
	now, err := os.Lstat(p)
	if err != nil || !os.SameFile(fi, now) || !fi.Mode().IsRegular() {
		return false, nil // renamed or replaced since we opened it
	}
	if !ownedBySelf(fi) {
		return false, nil // another user's, in a shared directory: theirs
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("remove stale %s: %w", p, err)
	}
	return true, nil
}

// holdTemp takes the writer's lock on the temporary file f (named p) on a
// second descriptor, so that the lock outlives f.Close and lasts until the
// rename; release drops it. It reports false when p no longer names f (a
// RemoveStale got in between the create and the lock): the caller starts
// over with a new temporary file.
func holdTemp(f *os.File, p string) (release func(), ok bool, err error) {
	if !locksWork {
		return func() {}, true, nil
	}
	g, err := openNoFollow(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	locked, err := tryLockFile(g)
	if err != nil {
		_ = g.Close()
		return nil, false, err
	}
	a, aerr := f.Stat()
	b, berr := g.Stat()
	if aerr != nil || berr != nil || !os.SameFile(a, b) || !locked {
		_ = g.Close()
		return nil, false, nil
	}
	return func() { _ = unlockFile(g); _ = g.Close() }, true, nil
}
