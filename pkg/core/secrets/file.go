package secrets

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/pelletier/go-toml/v2"

	"github.com/cusax/cusax/pkg/atomicfile"
	"github.com/cusax/cusax/pkg/core/safepath"
)

// FileName is the name of the file store beside config.toml.
const FileName = "secrets.toml"

// FilePerm is the only mode the file store writes and the widest it reads.
const FilePerm fs.FileMode = 0o600

// maxFileSize bounds what the file store reads.
const maxFileSize = 1 << 20

const fileHeader = "# cusax passwords. Keep this file private (chmod 600); cusax refuses to read it otherwise.\n"

// fileData is the content of secrets.toml:
//
//	version = 1
//	[passwords]
//	"work/xmpp" = "…"
//
// It holds passwords, so every way of printing it redacts them.
type fileData struct {
	Version   int               `toml:"version"`
	Passwords map[string]string `toml:"passwords"`
}

// String, GoString and Format redact: a fileData printed by mistake, with
// any verb, shows only how many passwords it holds.
func (d fileData) String() string {
	return fmt.Sprintf("secrets{%d passwords, redacted}", len(d.Passwords))
}

func (d fileData) GoString() string { return d.String() }

func (d fileData) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, d.String()) }

// MarshalJSON omits the passwords.
func (d fileData) MarshalJSON() ([]byte, error) {
	return fmt.Appendf(nil, `{"version":%d,"count":%d}`, d.Version, len(d.Passwords)), nil
}

type fileStore struct{ path string }

// File returns a Store that keeps passwords in the TOML file at path,
// normally secrets.toml in the config directory. The file is created with
// mode 0600 (and its directory with 0700) on the first Set, replaced
// atomically on every change under an advisory lock on path+".lock", and
// never read when group or others have any permission on it, it is owned
// by another user, or a directory above it is owned by another user or
// writable by others: such reads fail with an error wrapping
// ErrInsecureFile that says what to chmod. A missing file holds no passwords.
func File(path string) Store { return &fileStore{path: path} }

func (s *fileStore) Name() string { return "file" }

// String names the store and its path; it holds no password.
func (s *fileStore) String() string { return "file store " + s.path }

func (s *fileStore) Get(ctx context.Context, ref Ref) (string, error) {
	if err := ref.Validate(); err != nil {
		return "", err
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	d, err := s.read()
	if err != nil {
		return "", err
	}
	pw, ok := d.Passwords[ref.user()]
	if !ok || pw == "" {
		return "", fmt.Errorf("%w: %s in %s", ErrNotFound, ref, s.path)
	}
	return pw, nil
}

func (s *fileStore) Set(ctx context.Context, ref Ref, password string) error {
	if err := checkSet(ref, password); err != nil {
		return err
	}
	return s.update(ctx, func(d *fileData) error {
		d.Passwords[ref.user()] = password
		return nil
	})
}

func (s *fileStore) Delete(ctx context.Context, ref Ref) error {
	if err := ref.Validate(); err != nil {
		return err
	}
	if _, err := os.Lstat(s.path); errors.Is(err, fs.ErrNotExist) {
		// Nothing to delete: do not create the directory or the lock file
		// for it (`cusax account remove` touches nothing it need not).
		return fmt.Errorf("%w: %s in %s", ErrNotFound, ref, s.path)
	}
	return s.update(ctx, func(d *fileData) error {
		if _, ok := d.Passwords[ref.user()]; !ok {
			return fmt.Errorf("%w: %s in %s", ErrNotFound, ref, s.path)
		}
		delete(d.Passwords, ref.user())
		return nil
	})
}

// update is a locked read-modify-write of the file.
func (s *fileStore) update(ctx context.Context, fn func(*fileData) error) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	unlock, err := atomicfile.Lock(s.path + ".lock")
	if err != nil {
		return fmt.Errorf("secrets file: %w", err)
	}
	defer func() {
		if uerr := unlock(); uerr != nil && err == nil {
			err = fmt.Errorf("secrets file: %w", uerr)
		}
	}()
	if _, serr := os.Lstat(s.path); errors.Is(serr, fs.ErrNotExist) {
		// About to create it: not in a directory others control.
		if err := safepath.CheckDir(filepath.Dir(s.path)); err != nil && errors.Is(err, safepath.ErrUnsafe) {
			return fmt.Errorf("%w: %w", ErrInsecureFile, err)
		}
	}
	d, err := s.read()
	if err != nil {
		return err
	}
	if err := fn(d); err != nil {
		return err
	}
	var buf bytes.Buffer
	buf.WriteString(fileHeader)
	if err := toml.NewEncoder(&buf).Encode(d); err != nil {
		// The encoder's errors describe types, never values.
		return fmt.Errorf("encode secrets file: %w", err)
	}
	if err := atomicfile.Write(s.path, buf.Bytes(), FilePerm); err != nil {
		return fmt.Errorf("secrets file: %w", err)
	}
	return nil
}

// read loads the file after checking, on the open descriptor, that it is a
// private regular file. A missing file is empty.
func (s *fileStore) read() (*fileData, error) {
	d := &fileData{Version: 1, Passwords: map[string]string{}}
	f, err := os.Open(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return d, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read secrets file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read secrets file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("read secrets file %s: not a regular file", s.path)
	}
	if err := checkPrivate(s.path, fi); err != nil {
		return nil, err
	}
	// The directories up to / too (and a symlink's target's): whoever can
	// write one of them can swap the file for their own.
	if err := safepath.Check(s.path); err != nil && errors.Is(err, safepath.ErrUnsafe) {
		return nil, fmt.Errorf("%w: %w", ErrInsecureFile, err)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read secrets file: %w", err)
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("read secrets file %s: larger than %d bytes", s.path, maxFileSize)
	}
	if err := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields().Decode(d); err != nil {
		return nil, malformed(s.path, err)
	}
	if d.Version != 1 {
		return nil, fmt.Errorf("read secrets file %s: version %d is not supported", s.path, d.Version)
	}
	if d.Passwords == nil {
		d.Passwords = map[string]string{}
	}
	return d, nil
}

// malformed reports where the file is broken but not what go-toml says:
// its messages and context may quote the line, which may hold a password.
func malformed(path string, err error) error {
	var de *toml.DecodeError
	var strict *toml.StrictMissingError
	line := 0
	switch {
	case errors.As(err, &strict) && len(strict.Errors) > 0:
		line, _ = strict.Errors[0].Position()
		return fmt.Errorf("read secrets file %s: line %d: unknown key (content not shown): %w", path, line, ErrMalformed)
	case errors.As(err, &de):
		line, _ = de.Position()
		return fmt.Errorf("read secrets file %s: line %d: %w (content not shown)", path, line, ErrMalformed)
	}
	return fmt.Errorf("read secrets file %s: %w (content not shown)", path, ErrMalformed)
}
