package recording

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/cusax/cusax/pkg/atomicfile"
)

// Perm is the mode of a recording, whatever the umask.
const Perm fs.FileMode = 0o600

// ErrNotRegular is wrapped by the errors of Check, Create and Commit for a
// path that holds something other than a regular file.
var ErrNotRegular = errors.New("not a regular file")

// Check reports whether path may receive a recording: it must not exist
// (in an existing directory), or be a regular file, which is then
// replaced. A symbolic link is refused, not followed, whatever it points
// to; so are directories, devices, FIFOs and sockets. It does not create
// anything.
func Check(path string) error {
	if path == "" {
		return errors.New("empty path")
	}
	dir := filepath.Dir(path)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return fmt.Errorf("directory %s does not exist", dir)
	}
	st, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return kind(st.Mode())
}

func kind(m fs.FileMode) error {
	switch {
	case m.IsRegular():
		return nil
	case m&fs.ModeSymlink != 0:
		return fmt.Errorf("is a symbolic link (not followed): %w", ErrNotRegular)
	case m.IsDir():
		return fmt.Errorf("is a directory: %w", ErrNotRegular)
	case m&fs.ModeNamedPipe != 0:
		return fmt.Errorf("is a FIFO: %w", ErrNotRegular)
	case m&fs.ModeSocket != 0:
		return fmt.Errorf("is a socket: %w", ErrNotRegular)
	case m&fs.ModeDevice != 0:
		return fmt.Errorf("is a device: %w", ErrNotRegular)
	}
	return ErrNotRegular
}

// Create checks path and opens the temporary file the recording is
// written to, beside it, mode Perm, locked by this process while open
// (atomicfile.Create). The caller writes it, then calls Commit, or Discard
// if the recording is abandoned. The temporary files of earlier recordings
// to path whose process died (kill -9) are removed first; a live call's
// is never touched.
func Create(path string) (*atomicfile.File, error) {
	if err := Check(path); err != nil {
		return nil, err
	}
	return atomicfile.Create(path, Perm)
}

// Commit syncs and closes f (from Create) and renames it to path, after
// checking path again: something put there during the call that is not a
// regular file is left alone and the recording is discarded. rename(2)
// replaces the final component itself and never writes through it, so a
// link or device swapped in after the check is replaced, not written to.
func Commit(f *atomicfile.File, path string) error {
	if st, err := os.Lstat(path); err == nil {
		if err := kind(st.Mode()); err != nil {
			f.Discard()
			return err
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		f.Discard()
		return err
	}
	return f.Commit()
}

// Discard closes and removes a temporary file from Create.
func Discard(f *atomicfile.File) { f.Discard() }

// CreateNew is Create for a path that must not exist at all (cusax
// answer: a recording never replaces a file). CommitNew puts it in place.
func CreateNew(path string) (*atomicfile.File, error) {
	if _, err := os.Lstat(path); err == nil {
		return nil, fmt.Errorf("%s exists (a recording never replaces a file): %w", path, fs.ErrExist)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	return atomicfile.Create(path, Perm)
}

// CommitNew syncs and closes f (from CreateNew) and links it to path,
// which fails if anything appeared there during the call; the recording
// is then discarded and what is at path left alone.
func CommitNew(f *atomicfile.File, path string) error {
	return f.CommitNew()
}
