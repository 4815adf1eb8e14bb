package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// DirPerm is the mode of directories created by Write and Lock.
const DirPerm fs.FileMode = 0o700

// Seams for tests that inject a failure at each step of Write. Production
// code never changes them.
var (
	writeTemp = func(f *os.File, data []byte) error { _, err := f.Write(data); return err }
	syncFile  = (*os.File).Sync
	closeFile = (*os.File).Close
	rename    = os.Rename
)

// Write replaces the file at path with data, atomically: it writes a
// temporary file in the same directory (created with mode perm, never wider
// than the umask allows), flushes it to disk, and renames it over path. The
// parent directory is created with mode 0700 if missing.
//
// If path is a symbolic link, the link is kept and its target is replaced,
// so a config file managed as a symlink (dotfile repositories) stays one.
//
// On any failure the temporary file is removed and the previous content of
// path, if any, is untouched. Errors name the path and the failed step; they
// never include data.
func Write(path string, data []byte, perm fs.FileMode) (err error) {
	target, err := resolve(path)
	if err != nil {
		return err
	}
	dir := filepath.Dir(target)
	if err := os.MkdirAll(dir, DirPerm); err != nil {
		return fmt.Errorf("create directory %s: %w", dir, err)
	}
	// Leftovers of writers that died mid-write may hold a copy of the
	// secrets; best effort, the next Write or load tries again.
	_, _ = RemoveStale(target)
	f, tmp, release, err := createTemp(dir, target)
	if err != nil {
		return err
	}
	defer release()
	closed := false
	defer func() {
		if err != nil {
			if !closed {
				_ = f.Close()
			}
			_ = os.Remove(tmp)
		}
	}()
	// CreateTemp uses 0600; set the requested mode explicitly so the result
	// does not depend on CreateTemp's choice.
	if err := f.Chmod(perm); err != nil {
		return fmt.Errorf("write %s: set mode: %w", target, err)
	}
	if err := writeTemp(f, data); err != nil {
		return fmt.Errorf("write %s: %w", target, err)
	}
	if err := syncFile(f); err != nil {
		return fmt.Errorf("write %s: flush to disk: %w", target, err)
	}
	closed = true
	if err := closeFile(f); err != nil {
		return fmt.Errorf("write %s: close: %w", target, err)
	}
	if err := rename(tmp, target); err != nil {
		return fmt.Errorf("write %s: replace: %w", target, err)
	}
	// Make the rename itself durable. Not every platform can fsync a
	// directory; the file is already replaced, so this is best effort.
	syncDir(dir)
	return nil
}

// createTemp creates Write's temporary file for target and holds its
// writer's lock (see RemoveStale) until release. Where locks work, the
// file is created as ".NAME.new-N", locked, and only then renamed to the
// ".NAME.tmp-N" that RemoveStale considers: it can never take a file in
// the instant between its creation and its lock. A kill in that instant
// leaves an empty ".new-" file, which holds nothing.
func createTemp(dir, target string) (f *os.File, name string, release func(), err error) {
	if !locksWork {
		f, err = os.CreateTemp(dir, tempPattern(target))
		if err != nil {
			return nil, "", nil, fmt.Errorf("write %s: create temporary file: %w", target, err)
		}
		return f, f.Name(), func() {}, nil
	}
	f, err = os.CreateTemp(dir, "."+filepath.Base(target)+newInfix+"*")
	if err != nil {
		return nil, "", nil, fmt.Errorf("write %s: create temporary file: %w", target, err)
	}
	fail := func(err error) (*os.File, string, func(), error) {
		_ = f.Close()
		_ = os.Remove(f.Name())
		return nil, "", nil, fmt.Errorf("write %s: lock temporary file: %w", target, err)
	}
	release, ok, err := holdTemp(f, f.Name())
	if err != nil {
		return fail(err)
	}
	if !ok {
		return fail(errors.New("lost to another process"))
	}
	name = filepath.Join(dir, strings.Replace(filepath.Base(f.Name()), newInfix, ".tmp-", 1))
	if err := os.Rename(f.Name(), name); err != nil {
		release()
		return fail(err)
	}
	return f, name, release, nil
}

// newInfix marks a temporary file not yet locked.
const newInfix = ".new-"

// resolve follows a symbolic link at path so that Write replaces the target
// rather than the link. A missing path is returned unchanged.
func resolve(path string) (string, error) {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return path, nil
	}
	if err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	if fi.Mode()&fs.ModeSymlink == 0 {
		if fi.IsDir() {
			return "", fmt.Errorf("write %s: is a directory", path)
		}
		return path, nil
	}
	target, err := filepath.EvalSymlinks(path)
	if errors.Is(err, fs.ErrNotExist) {
		// A dangling link: write where it points.
		dest, rerr := os.Readlink(path)
		if rerr != nil {
			return "", fmt.Errorf("write %s: %w", path, rerr)
		}
		if !filepath.IsAbs(dest) {
			dest = filepath.Join(filepath.Dir(path), dest)
		}
		return dest, nil
	}
	if err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	return target, nil
}

func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	_ = d.Close()
}
