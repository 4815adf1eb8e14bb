package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"github.com/pelletier/go-toml/v2"

	"github.com/cusax/cusax/pkg/atomicfile"
	"github.com/cusax/cusax/pkg/core/safepath"
)

// FilePerm is the mode of the config file.
const FilePerm fs.FileMode = 0o600

// MaxSize bounds the config file Load reads; an accounts file is a few KiB.
const MaxSize = 1 << 20

// ErrMalformed is wrapped by every *ParseError.
var ErrMalformed = errors.New("malformed config")

// ParseError reports a config file that is not valid TOML, has a value of
// the wrong type, has an unknown key, or an unsupported version.
type ParseError struct {
	// Path of the file.
	Path string
	// Line and Column are 1-based; 0 when the problem has no position.
	Line, Column int
	// Msg says what is wrong.
	Msg string
}

func (e *ParseError) Error() string {
	switch {
	case e.Line > 0 && e.Column > 0:
		return fmt.Sprintf("parse %s: line %d, column %d: %s", e.Path, e.Line, e.Column, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("parse %s: line %d: %s", e.Path, e.Line, e.Msg)
	}
	return fmt.Sprintf("parse %s: %s", e.Path, e.Msg)
}

// Is reports whether target is ErrMalformed.
func (e *ParseError) Is(target error) bool { return target == ErrMalformed }

// Load reads the config file at path. A missing file is an empty config
// (Version CurrentVersion, no accounts), not an error. A malformed file,
// an unknown key (typos are caught, not ignored), a wrong value type or a
// version newer than CurrentVersion give a *ParseError with the line number.
// Load does not validate accounts (see Config.Validate and Account.Validate),
// so that a config with one broken account can still be repaired.
//
// A config that another user owns or that others can write (the file, or
// any directory above it: see safepath) is refused before it is read, with
// an error wrapping safepath.ErrUnsafe: its password_command would run as
// this user, and its plugin directories and servers would be believed.
func Load(path string) (*Config, error) {
	if err := safepath.Check(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			_, _ = atomicfile.RemoveStale(path)
			return &Config{Version: CurrentVersion}, nil
		}
		if errors.Is(err, safepath.ErrUnsafe) {
			return nil, fmt.Errorf("config %s refused: %w", path, err)
		}
	}
	// A writer killed mid-Save (kill -9) leaves its temporary file; clear
	// such leftovers at the next start. Best effort: live writers' files
	// are kept, and a failure here must not stop a read.
	_, _ = atomicfile.RemoveStale(path)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &Config{Version: CurrentVersion}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		return nil, fmt.Errorf("read config %s: is a directory", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	if len(data) > MaxSize {
		return nil, &ParseError{Path: path, Msg: fmt.Sprintf("larger than %d bytes", MaxSize)}
	}
	return parse(path, data)
}

func parse(path string, data []byte) (*Config, error) {
	var c Config
	dec := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, tomlError(path, err)
	}
	switch {
	case c.Version == 0:
		c.Version = CurrentVersion
	case c.Version < 0 || c.Version > CurrentVersion:
		return nil, &ParseError{Path: path, Line: versionLine(data),
			Msg: fmt.Sprintf("version %d is not supported (this cusax reads version %d; upgrade cusax)", c.Version, CurrentVersion)}
	}
	return &c, nil
}

// tomlError turns go-toml errors into a *ParseError. It uses the message
// and position only: go-toml's human-readable form quotes the surrounding
// lines, which may hold a password_command.
func tomlError(path string, err error) error {
	var strict *toml.StrictMissingError
	if errors.As(err, &strict) && len(strict.Errors) > 0 {
		first := &strict.Errors[0]
		line, col := first.Position()
		keys := make([]string, 0, len(strict.Errors))
		for i := range strict.Errors {
			keys = append(keys, strings.Join(strict.Errors[i].Key(), "."))
		}
		msg := fmt.Sprintf("unknown key %q", keys[0])
		if len(keys) > 1 {
			msg = fmt.Sprintf("unknown keys %s", quoteList(keys))
		}
		return &ParseError{Path: path, Line: line, Column: col, Msg: msg}
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		line, col := de.Position()
		msg := strings.TrimPrefix(de.Error(), "toml: ")
		if m := typeMismatchRE().FindStringSubmatch(msg); m != nil {
			msg = fmt.Sprintf("want %s, got %s", goTypeName(m[2]), m[1])
		}
		if k := de.Key(); len(k) > 0 {
			msg = strings.Join(k, ".") + ": " + msg
		}
		return &ParseError{Path: path, Line: line, Column: col, Msg: msg}
	}
	return &ParseError{Path: path, Msg: strings.TrimPrefix(err.Error(), "toml: ")}
}

// typeMismatchRE matches go-toml's wording, which names Go types, so the
// message can speak of TOML types instead. Compiled on first use (only a
// malformed config needs it), not at every start.
var typeMismatchRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^cannot decode TOML (\w+) into .* of type (\S+)$`)
})

func goTypeName(t string) string {
	switch strings.TrimPrefix(t, "*") {
	case "string":
		return "string"
	case "int":
		return "integer"
	case "bool":
		return "boolean"
	case "[]string":
		return "array of strings"
	case "[]config.Account":
		return "array of tables"
	}
	return "table"
}

// versionLine finds the line of the top-level version key, for the error.
func versionLine(data []byte) int {
	for i, l := range strings.Split(string(data), "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "[") {
			return 0
		}
		if k, _, ok := strings.Cut(l, "="); ok && strings.TrimSpace(k) == "version" {
			return i + 1
		}
	}
	return 0
}

// Marshal returns c as TOML, the form Save writes.
// A zero Version is written as CurrentVersion.
func Marshal(c *Config) ([]byte, error) {
	if c == nil {
		return nil, errors.New("encode config: nil config")
	}
	out := *c
	if out.Version == 0 {
		out.Version = CurrentVersion
	}
	var buf bytes.Buffer
	enc := toml.NewEncoder(&buf).SetIndentTables(true)
	if err := enc.Encode(&out); err != nil {
		return nil, fmt.Errorf("encode config: %w", err)
	}
	return buf.Bytes(), nil
}

// Save writes c to path atomically with mode 0600, creating the directory
// with mode 0700: the file holds either the old or the new config, never a
// mix, and the old one survives any failure. Save does not validate and does not lock; for
// read-modify-write use Update. Comments in an existing file are not kept.
func Save(path string, c *Config) error {
	data, err := Marshal(c)
	if err != nil {
		return fmt.Errorf("save config: %w", err)
	}
	if err := atomicfile.Write(path, data, FilePerm); err != nil {
		return fmt.Errorf("save config: %w", err)
	}
	return nil
}

// LockPath is the advisory lock file Update holds for path.
func LockPath(path string) string { return path + ".lock" }

// Update runs a locked read-modify-write cycle: it takes an exclusive
// advisory lock on path+".lock", loads path (a missing file is an empty
// config), calls fn, and saves the result if fn returns nil. An error from
// fn is returned wrapped and nothing is written. Concurrent Update calls, in
// this process or another, are serialised. Update does not validate; fn
// may call Validate on what it changed.
func Update(path string, fn func(*Config) error) (err error) {
	unlock, err := atomicfile.Lock(LockPath(path))
	if err != nil {
		return fmt.Errorf("update config: %w", err)
	}
	defer func() {
		if uerr := unlock(); uerr != nil && err == nil {
			err = fmt.Errorf("update config: %w", uerr)
		}
	}()
	// Not yet written: the directory it will be written to must be one
	// only this user controls, or the next Load would refuse it.
	if _, serr := os.Lstat(path); errors.Is(serr, fs.ErrNotExist) {
		if err := safepath.CheckDir(filepath.Dir(path)); err != nil && errors.Is(err, safepath.ErrUnsafe) {
			return fmt.Errorf("update config %s: %w", path, err)
		}
	}
	c, err := Load(path)
	if err != nil {
		return err
	}
	if err := fn(c); err != nil {
		return fmt.Errorf("update config: %w", err)
	}
	return Save(path, c)
}
