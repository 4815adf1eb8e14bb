package atomicfile

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// File is a replacement for a file being written: a temporary file beside
// its target, locked by its writer (see RemoveStale), that becomes the
// target only on Commit. For content written over time (a call's
// recording) where Write, which takes the bytes at once, does not fit.
type File struct {
	*os.File
	target, tmp string
	release     func()
	done        bool
}

// Create opens a replacement for path with mode perm (whatever the umask).
// The path rules are Write's: a symbolic link at path has its target
// replaced, a directory is refused; callers that must refuse links check
// first. Leftovers of writers to path that were killed are removed first.
func Create(path string, perm fs.FileMode) (*File, error) {
	target, err := resolve(path)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(target)
	_, _ = RemoveStale(target)
	f, tmp, release, err := createTemp(dir, target)
	if err != nil {
		return nil, err
	}
	if err := f.Chmod(perm); err != nil {
		release()
		_ = f.Close()
		_ = os.Remove(tmp)
		return nil, fmt.Errorf("write %s: set mode: %w", target, err)
	}
	return &File{File: f, target: target, tmp: tmp, release: release}, nil
}

// Target is the path Commit replaces.
func (f *File) Target() string { return f.target }

// Commit flushes the file to disk and renames it over its target. On
// failure the temporary file is removed and the target left as it was.
func (f *File) Commit() error {
	if f.done {
		return fmt.Errorf("write %s: already committed or discarded", f.target)
	}
	f.done = true
	defer f.release()
	err := syncFile(f.File)
	if cerr := closeFile(f.File); err == nil {
		err = cerr
	}
	if err == nil {
		err = rename(f.tmp, f.target)
	}
	if err != nil {
		_ = os.Remove(f.tmp)
		return fmt.Errorf("write %s: %w", f.target, err)
	}
	syncDir(filepath.Dir(f.target))
	return nil
}

// Discard closes and removes the temporary file; the target is untouched.
// It does nothing after Commit.
func (f *File) Discard() {
	if f.done {
		return
	}
	f.done = true
	_ = f.File.Close()
	_ = os.Remove(f.tmp)
	f.release()
}

// Name is the temporary file's path (os.File.Name would give the name it
// was created under, before it was locked and renamed).
func (f *File) Name() string { return f.tmp }

// CommitNew is Commit for a target that must not exist: the file is
// linked into place with link(2), which fails with EEXIST when anything
// (a file, a symbolic link, a device) got there meanwhile, so nothing is
// ever replaced; then the temporary name is removed. On failure the
// temporary file is removed and the target left as it was.
func (f *File) CommitNew() error {
	if f.done {
		return fmt.Errorf("write %s: already committed or discarded", f.target)
	}
	f.done = true
	defer f.release()
	err := syncFile(f.File)
	if cerr := closeFile(f.File); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Link(f.tmp, f.target)
	}
	_ = os.Remove(f.tmp)
	if err != nil {
		return fmt.Errorf("write %s: %w", f.target, err)
	}
	syncDir(filepath.Dir(f.target))
	return nil
}
