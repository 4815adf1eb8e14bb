package pluginhost

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"github.com/cusax/cusax/pkg/core/safepath"
	"github.com/cusax/cusax/pkg/protocol"
)

// Prefix starts the file name of every external plugin.
const Prefix = "cusax-plugin-"

// Errors.
var (
	// ErrPluginNotFound: no plugin of that kind and name.
	ErrPluginNotFound = errors.New("plugin not found")
	// ErrIncompatible: the plugin speaks another API major version, or is
	// not a cusax plugin of the expected kind.
	ErrIncompatible = errors.New("plugin incompatible")
	// ErrFailed: a plugin started but failed: its Info answered an error
	// (a policy rejecting its settings), or it crashed or hung in a call.
	ErrFailed = errors.New("plugin failed")
	// ErrRefused: the plugin, or a directory above it, is owned by another
	// user or writable by others (see safepath), so it is never run.
	ErrRefused = errors.New("plugin refused")
)

// BuiltIn names a plugin served by the cusax binary itself.
type BuiltIn struct {
	Kind protocol.Kind
	Name string
}

// Candidate is one plugin that can be launched.
type Candidate struct {
	Kind    protocol.Kind `json:"kind"`
	Name    string        `json:"name"`
	Path    string        `json:"path"`
	BuiltIn bool          `json:"built_in"`
	// SHA256 is the executable's hash: computed at discovery for external
	// plugins (and checked again by go-plugin before they run); empty for
	// built-ins until HashFile is asked.
	SHA256 string `json:"sha256"`
	// Overrides is set on an external plugin that replaces a built-in.
	Overrides bool `json:"overrides_built_in,omitempty"`
	// Refused says why an external plugin is never run (another user owns
	// it or can write it or a directory above it); "" for usable ones. A
	// refused plugin is listed so that `cusax plugins` can show it, but it
	// overrides nothing and Find never returns it.
	Refused string `json:"refused,omitempty"`

	refusedErr error
}

// Source is "built-in" or "external".
func (c Candidate) Source() string {
	if c.BuiltIn {
		return "built-in"
	}
	return "external"
}

// ID is "kind/name".
func (c Candidate) ID() string { return string(c.Kind) + "/" + c.Name }

// DefaultDirs returns the plugin directories in search order: the explicit
// ones (--plugin-dir, then CUSAX_PLUGIN_PATH entries), then
// $XDG_DATA_HOME/cusax/plugins, then the directories a release puts beside
// the running executable (InstallDirs). An earlier directory wins over a
// later one, so a user's own plugin replaces a packaged one.
func DefaultDirs(explicit []string) []string {
	dirs := append([]string(nil), explicit...)
	if p := os.Getenv("CUSAX_PLUGIN_PATH"); p != "" {
		dirs = append(dirs, filepath.SplitList(p)...)
	}
	data := os.Getenv("XDG_DATA_HOME")
	if data == "" {
		if home, err := os.UserHomeDir(); err == nil {
			data = filepath.Join(home, ".local", "share")
		}
	}
	if data != "" {
		dirs = append(dirs, filepath.Join(data, "cusax", "plugins"))
	}
	if exe, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			exe = real
		}
		dirs = append(dirs, InstallDirs(exe)...)
	}
	return dirs
}

// InstallDirs are where the release puts the standalone plugins, relative
// to the cusax executable exe: plugins/ beside it (the tar archive) and
// ../lib/cusax/plugins (the deb and rpm: /usr/bin/cusax finds
// /usr/lib/cusax/plugins). They get no trust of their own: Discover checks
// them as it checks every directory, so a group- or other-writable one is
// refused.
func InstallDirs(exe string) []string {
	bin := filepath.Dir(exe)
	return []string{
		filepath.Join(bin, "plugins"),
		filepath.Join(filepath.Dir(bin), "lib", "cusax", "plugins"),
	}
}

// ParseName splits "cusax-plugin-KIND-NAME[.exe]" into kind and name.
func ParseName(file string) (protocol.Kind, string, bool) {
	base := strings.TrimSuffix(file, ".exe")
	if !strings.HasPrefix(base, Prefix) {
		return "", "", false
	}
	rest := base[len(Prefix):]
	i := strings.IndexByte(rest, '-')
	if i <= 0 || i == len(rest)-1 {
		return "", "", false
	}
	kind, name := protocol.Kind(rest[:i]), rest[i+1:]
	if !kind.Valid() || !validName(name) {
		return "", "", false
	}
	return kind, name, true
}

func validName(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return s != ""
}

// Discover lists the built-ins and the external plugins in dirs. An
// external plugin replaces a built-in of the same kind and name; between
// external ones the earlier directory wins. Missing directories are fine;
// unreadable ones are reported in the returned warnings.
//
// An external plugin that another user owns or could have written (the
// file or any directory above it, as OpenSSH's StrictModes judges its
// files: see safepath) is refused: it is listed with Refused set and a
// warning, never hashed or run, and it replaces nothing, so a built-in of
// that name stays in use.
func Discover(self string, builtIns []BuiltIn, dirs []string) ([]Candidate, []string, error) {
	byID := map[string]Candidate{}
	var order []string
	for _, b := range builtIns {
		// Built-ins are this very executable: checking its hash before
		// re-executing it proves nothing (whoever can swap it controls this
		// process already) and hashing ~30 MB costs ~50 ms per command.
		// HashFile fills it in where it is shown (cusax plugins).
		c := Candidate{Kind: b.Kind, Name: b.Name, Path: self, BuiltIn: true}
		byID[c.ID()] = c
		order = append(order, c.ID())
	}
	var warnings []string
	var refused []Candidate
	seenExternal := map[string]bool{}
	for _, dir := range dirs {
		entries, err := os.ReadDir(dir)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			warnings = append(warnings, fmt.Sprintf("plugin dir %s: %v", dir, err))
			continue
		}
		// Anyone who can write the directory (or one above it) can add a
		// plugin or swap one: nothing in it is trusted.
		dirErr := safepath.CheckDir(dir)
		for _, e := range entries {
			kind, name, ok := ParseName(e.Name())
			if !ok {
				continue
			}
			path := filepath.Join(dir, e.Name())
			id := string(kind) + "/" + name
			if seenExternal[id] {
				continue
			}
			trustErr := dirErr
			if trustErr == nil {
				if reason := notExecutable(path); reason != "" {
					warnings = append(warnings, fmt.Sprintf("plugin %s skipped: %s", path, reason))
					continue
				}
				trustErr = safepath.Check(path)
			}
			if trustErr != nil {
				reason := trustErr.Error()
				warnings = append(warnings, fmt.Sprintf("plugin %s refused: %s", path, reason))
				refused = append(refused, Candidate{Kind: kind, Name: name, Path: path, Refused: reason, refusedErr: trustErr})
				continue
			}
			sum, err := hashFile(path)
			if err != nil {
				warnings = append(warnings, fmt.Sprintf("plugin %s skipped: %v", path, err))
				continue
			}
			seenExternal[id] = true
			prev, existed := byID[id]
			c := Candidate{Kind: kind, Name: name, Path: path, SHA256: sum, Overrides: existed && prev.BuiltIn}
			if !existed {
				order = append(order, id)
			}
			byID[id] = c
		}
	}
	out := make([]Candidate, 0, len(order)+len(refused))
	for _, id := range order {
		out = append(out, byID[id])
	}
	out = append(out, refused...)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return kindRank(out[i].Kind) < kindRank(out[j].Kind)
		}
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		// The usable one first, then the refused ones.
		return out[i].Refused == "" && out[j].Refused != ""
	})
	return out, warnings, nil
}

func kindRank(k protocol.Kind) int {
	for i, v := range protocol.Kinds {
		if v == k {
			return i
		}
	}
	return len(protocol.Kinds)
}

// Find returns the usable candidate of kind and name. When the only
// plugins of that name were refused (Candidate.Refused), the error wraps
// ErrRefused and says why; it also carries the safepath error's hint.
func Find(cands []Candidate, kind protocol.Kind, name string) (Candidate, error) {
	var names []string
	var refused *Candidate
	for i, c := range cands {
		if c.Kind == kind {
			if c.Name == name {
				if c.Refused == "" {
					return c, nil
				}
				if refused == nil {
					refused = &cands[i]
				}
				continue
			}
			if c.Refused == "" {
				names = append(names, c.Name)
			}
		}
	}
	if refused != nil {
		cause := refused.refusedErr
		if cause == nil {
			cause = errors.New(refused.Refused)
		}
		return Candidate{}, fmt.Errorf("%s plugin %q: %w: %s is not run: %w", kind, name, ErrRefused, refused.Path, cause)
	}
	return Candidate{}, fmt.Errorf("%s plugin %q: %w (available: %s)", kind, name, ErrPluginNotFound, strings.Join(names, ", "))
}

func notExecutable(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return err.Error()
	}
	if !fi.Mode().IsRegular() {
		return "not a regular file"
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o111 == 0 {
		return "not executable"
	}
	return ""
}

// HashFile returns the hex SHA-256 of a file.
func HashFile(path string) (string, error) { return hashFile(path) }

func hashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
