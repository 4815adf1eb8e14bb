package provision

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cusax/cusax/pkg/protocol"
)

// ErrBadDocument is wrapped by every *DocumentError.
var ErrBadDocument = errors.New("bad provisioning document")

// FieldError is one problem with a document, named by its JSON path
// ("sip.proxy", "xmpp.mechanisms[1]"); Path is "" for the document as a
// whole (size, syntax, version).
type FieldError struct {
	Path string
	Msg  string
}

func (e FieldError) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

// DocumentError lists every problem found in one document, so that the
// user (or the provider) sees them all at once. It wraps ErrBadDocument
// and protocol.ErrProtocol: a bad document is the provider's fault.
type DocumentError struct {
	// Source is the document's URL, or "" when parsed from bytes.
	Source string
	// Fields are the problems in the order found.
	Fields []FieldError
}

// maxShownFields bounds the one-line message; Fields has them all.
const maxShownFields = 10

// Error is one line: `provisioning document URL: 3 bad fields: a: …; b: …`.
func (e *DocumentError) Error() string {
	var b strings.Builder
	b.WriteString("provisioning document")
	if e.Source != "" {
		b.WriteString(" " + e.Source)
	}
	b.WriteString(": ")
	if n := len(e.Fields); n > 1 {
		fmt.Fprintf(&b, "%d bad fields: ", n)
	}
	for i, f := range e.Fields {
		if i == maxShownFields {
			fmt.Fprintf(&b, "; and %d more", len(e.Fields)-i)
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(f.Error())
	}
	return b.String()
}

// Is reports whether target is ErrBadDocument or protocol.ErrProtocol.
func (e *DocumentError) Is(target error) bool {
	return target == ErrBadDocument || target == protocol.ErrProtocol
}

// docError returns a *DocumentError for one whole-document problem.
func docError(format string, args ...any) *DocumentError {
	return &DocumentError{Fields: []FieldError{{Msg: fmt.Sprintf(format, args...)}}}
}

// fieldErrors collects FieldErrors; it skips a path that already has one,
// so that a field broken at the syntax level is not reported twice.
type fieldErrors struct {
	list []FieldError
	seen map[string]bool
}

func (f *fieldErrors) add(path, format string, args ...any) {
	if f.seen == nil {
		f.seen = map[string]bool{}
	}
	if f.seen[path] && path != "" {
		return
	}
	f.seen[path] = true
	f.list = append(f.list, FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (f *fieldErrors) err() error {
	if len(f.list) == 0 {
		return nil
	}
	return &DocumentError{Fields: f.list}
}
