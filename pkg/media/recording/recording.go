package recording

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
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
// written to, .NAME.*.tmp beside it, mode Perm, locked while open. The
// caller writes it, then calls Commit, or Discard if the recording is
// abandoned. The temporary files of earlier recordings to path whose
// process died (kill -9) are removed first.
func Create(path string) (*os.File, error) {
	if err := Check(path); err != nil {
		return nil, err
	}
	removeAbandoned(path)
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return nil, err
	}
	if err := lock(f); err != nil {
		Discard(f)
		return nil, err
	}
	// CreateTemp asks for 0600 but the umask may take more away; say it
	// outright so the result does not depend on the umask.
	if err := f.Chmod(Perm); err != nil {
		Discard(f)
		return nil, err
	}
	return f, nil
}

// Commit syncs and closes f (from Create) and renames it to path, after
// checking path again: something put there during the call that is not a
// regular file is left alone and the recording is discarded. rename(2)
// replaces the final component itself and never writes through it, so a
// link or device swapped in after the check is replaced, not written to.
func Commit(f *os.File, path string) error {
	err := f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		if st, lerr := os.Lstat(path); lerr == nil {
			err = kind(st.Mode())
		} else if !errors.Is(lerr, fs.ErrNotExist) {
			err = lerr
		}
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return err
	}
	return nil
}

// Discard closes and removes a temporary file from Create.
func Discard(f *os.File) {
	_ = f.Close()
	_ = os.Remove(f.Name())
}

// staleAge is how old an unlocked temporary file must be to be removed:
// a new one is unlocked for the moment between its creation and lock.
const staleAge = time.Minute

// removeAbandoned removes the .NAME.*.tmp files beside path that a killed
// recording left: regular files of this user, older than staleAge, that no
// process holds locked (a live call's is locked however old it is).
func removeAbandoned(path string) {
	dir, prefix := filepath.Dir(path), "."+filepath.Base(path)+"."
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		name := e.Name()
		if !strings.HasPrefix(name, prefix) || !strings.HasSuffix(name, ".tmp") || !e.Type().IsRegular() {
			continue
		}
		p := filepath.Join(dir, name)
		st, err := os.Lstat(p)
		if err != nil || !st.Mode().IsRegular() || time.Since(st.ModTime()) < staleAge || !abandoned(p, st) {
			continue
		}
		_ = os.Remove(p)
	}
}
