package answering

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Placeholders a recording template may use (in its file name only).
var placeholders = []string{"{time}", "{caller}", "{verdict}", "{call_id}"}

// Template names recordings: a path whose file name may hold {time} (UTC,
// 20261207T101500Z), {caller} (the caller's user part or address),
// {verdict} and {call_id}. Values come from the caller's INVITE, so they
// are reduced to [A-Za-z0-9._+@-] and can never name another directory.
type Template struct {
	dir, base string
}

// Fields fill a template.
type Fields struct {
	Time    time.Time
	Caller  string
	Verdict string
	CallID  string
}

// ParseTemplate checks a --record template: placeholders only in the file
// name, and the directory must exist (it is not created: a typo must not
// scatter recordings).
func ParseTemplate(s string) (Template, error) {
	if s == "" {
		return Template{}, nil
	}
	dir, base := filepath.Split(s)
	if base == "" || base == "." || base == ".." {
		return Template{}, fmt.Errorf("%q names no file", s)
	}
	for _, p := range placeholders {
		if strings.Contains(dir, p) {
			return Template{}, fmt.Errorf("%q: placeholders go in the file name, not the directory", s)
		}
	}
	if dir == "" {
		dir = "."
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return Template{}, fmt.Errorf("directory of %q: %w", s, err)
	}
	if !fi.IsDir() {
		return Template{}, fmt.Errorf("%s is not a directory", dir)
	}
	return Template{dir: filepath.Clean(dir), base: base}, nil
}

// Empty reports a template that records nothing.
func (t Template) Empty() bool { return t.base == "" }

// maxTries bounds the search for a free name.
const maxTries = 1000

// Path fills the template and returns a name nothing exists at (not a
// file, not a symlink, not a dangling one): a recording never replaces a
// file. When the name is taken, "-2", "-3" … go before the extension. The
// backend creates the file exclusively (protocol.AnswerRequest), so a file
// made in between makes the recording fail rather than overwrite.
func (t Template) Path(f Fields) (string, error) {
	r := strings.NewReplacer(
		"{time}", f.Time.UTC().Format("20060102T150405Z"),
		"{caller}", safe(callerName(f.Caller)),
		"{verdict}", safe(f.Verdict),
		"{call_id}", safe(f.CallID),
	)
	name := r.Replace(t.base)
	ext := filepath.Ext(name)
	stem := strings.TrimSuffix(name, ext)
	for i := 1; i <= maxTries; i++ {
		n := name
		if i > 1 {
			n = fmt.Sprintf("%s-%d%s", stem, i, ext)
		}
		p := filepath.Join(t.dir, n)
		if _, err := os.Lstat(p); errors.Is(err, fs.ErrNotExist) {
			return p, nil
		} else if err != nil {
			return "", err
		}
	}
	return "", fmt.Errorf("%d recordings named like %s exist already", maxTries, filepath.Join(t.dir, name))
}

// callerName is the caller's user part (sip:bob@example.com → bob), or
// the number of a tel: URI.
func callerName(uri string) string {
	s := uri
	if i := strings.IndexByte(s, ':'); i >= 0 {
		s = s[i+1:]
	}
	if i := strings.IndexAny(s, ";?"); i >= 0 {
		s = s[:i]
	}
	if i := strings.IndexByte(s, '@'); i > 0 {
		s = s[:i]
	}
	return s
}

// safe keeps a value a file name can hold: letters, digits and ._+@-,
// the rest as _, at most 64 bytes, never a leading dot; "" is "unknown".
func safe(s string) string {
	var b strings.Builder
	for _, c := range s {
		if b.Len() >= 64 {
			break
		}
		switch {
		case c < 0x80 && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("._+@-", c)):
			b.WriteRune(c)
		default:
			b.WriteByte('_')
		}
	}
	out := strings.TrimLeft(b.String(), ".")
	if out == "" {
		return "unknown"
	}
	return out
}
