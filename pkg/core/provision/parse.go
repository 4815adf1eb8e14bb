package provision

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Bounds on a document's shape, far above what a real one needs: a
// version 1 document is three levels deep, a JID is at most 3071 bytes
// (RFC 7622 §3.1) but a real one is short, and lists hold a handful.
const (
	maxDepth     = 8
	maxStringLen = 2048
	maxListLen   = 100
)

// Parse checks data strictly and returns the document it describes. It
// refuses, each with a *DocumentError naming the JSON path: more than
// MaxDocumentSize bytes (before parsing anything), invalid UTF-8, malformed
// JSON (with line and column), anything after the one JSON value, a key
// given twice in one object (a hostile document must not let a lax parser
// and cusax see different values), an unknown key, a value of the wrong
// type, null, a version other than 1, and every field the checks in
// docs/provisioning.md reject. All problems are reported at once, except
// that a newer version is reported alone (its fields may be new, not bad).
func Parse(data []byte) (*Document, error) {
	if len(data) > MaxDocumentSize {
		return nil, docError("document is %s bytes; the limit is %s", commas(len(data)), commas(MaxDocumentSize))
	}
	if !utf8.Valid(data) {
		i := invalidUTF8At(data)
		return nil, docError("not valid UTF-8 (byte %d); a document is UTF-8 JSON (RFC 8259 §8.1)", i)
	}
	w := walker{dec: json.NewDecoder(bytes.NewReader(data)), data: data}
	w.dec.UseNumber()
	if err := w.document(); err != nil {
		return nil, err
	}
	if w.version > Version {
		return nil, docError("version %d is newer than this cusax understands (%d); update cusax", w.version, Version)
	}
	// Decode leniently, then check the fields: a document with an unknown
	// key and a bad proxy gets both reported. Wrong types were reported by
	// the walk and are left zero here; of a duplicated key json keeps the
	// last, but the walk already marked that path bad.
	var d Document
	if err := json.Unmarshal(data, &d); err != nil {
		var te *json.UnmarshalTypeError
		if !errors.As(err, &te) {
			return nil, docError("%v", err)
		}
	}
	checkInto(&w.errs, &d)
	if err := w.errs.err(); err != nil {
		return nil, err
	}
	return &d, nil
}

// kind is the JSON type a schema node expects.
type kind int

const (
	kindObject kind = iota
	kindArray
	kindString
	kindBool
	kindInt
)

func (k kind) String() string {
	switch k {
	case kindNumber:
		return "a number"
	case kindNull:
		return "null"
	}
	return [...]string{"an object", "an array", "a string", "true or false", "an integer"}[k]
}

// node is the expected shape of one value, derived from Document's json
// tags so that the schema and the struct cannot drift apart.
type node struct {
	kind   kind
	fields map[string]*node // kindObject
	order  []string         // kindObject, for "did you mean"
	elem   *node            // kindArray
}

var schema = schemaOf(reflect.TypeFor[Document]())

func schemaOf(t reflect.Type) *node {
	switch t.Kind() {
	case reflect.Pointer:
		return schemaOf(t.Elem())
	case reflect.Struct:
		n := &node{kind: kindObject, fields: map[string]*node{}}
		for i := range t.NumField() {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
			n.fields[name] = schemaOf(t.Field(i).Type)
			n.order = append(n.order, name)
		}
		return n
	case reflect.Slice:
		return &node{kind: kindArray, elem: schemaOf(t.Elem())}
	case reflect.String:
		return &node{kind: kindString}
	case reflect.Bool:
		return &node{kind: kindBool}
	case reflect.Int:
		return &node{kind: kindInt}
	}
	panic("provision: no schema for " + t.String())
}

// walker reads the document token by token, checking it against schema.
// encoding/json alone would keep the last of two equal keys, stop at the
// first unknown field, and not say where a wrong type is.
type walker struct {
	dec     *json.Decoder
	data    []byte
	errs    fieldErrors
	version int
}

// document walks the one top-level value; its error is fatal (syntax).
func (w *walker) document() error {
	if err := w.value("", schema, 0); err != nil {
		return err
	}
	end := w.dec.InputOffset()
	if _, err := w.dec.Token(); err == io.EOF {
		return nil
	}
	// Whatever follows, valid JSON or not, point at its first byte.
	rest := w.data[end:]
	end += int64(len(rest) - len(bytes.TrimLeft(rest, " \t\r\n")))
	return docError("trailing data after the JSON document at %s; a document is exactly one JSON object", w.position(end))
}

// value walks one value at path; n is nil for a value that is not checked
// (under an unknown key or a wrong type). The error is fatal.
func (w *walker) value(path string, n *node, depth int) error {
	if depth > maxDepth {
		return docError("%s: nested more than %d levels deep", orRoot(path), maxDepth)
	}
	tok, err := w.dec.Token()
	if err != nil {
		return w.syntax(err)
	}
	got := tokenKind(tok)
	if depth == 0 && got != kindObject {
		return docError("must be a JSON object, not %s", got)
	}
	if tok == nil && n != nil {
		w.errs.add(path, "must not be null (leave the field out instead)")
		n = nil
	} else if n != nil && got != n.kind && !(n.kind == kindInt && got == kindNumber) {
		// A number where an integer is wanted is checked below.
		w.errs.add(path, "must be %s, not %s", n.kind, got)
		n = nil
	}
	switch t := tok.(type) {
	case json.Delim:
		if t == '{' {
			return w.object(path, n, depth)
		}
		return w.array(path, n, depth)
	case json.Number:
		if n != nil && n.kind == kindInt {
			v, err := strconv.Atoi(t.String())
			if err != nil {
				w.errs.add(path, "must be an integer, not %s", t)
				return nil
			}
			if path == "version" {
				w.version = v
			}
		}
	case string:
		if n != nil {
			if msg := badText(t); msg != "" {
				w.errs.add(path, "%s", msg)
			} else if len(t) > maxStringLen {
				w.errs.add(path, "is %s bytes long; the limit is %s", commas(len(t)), commas(maxStringLen))
			}
		}
	}
	return nil
}

func (w *walker) object(path string, n *node, depth int) error {
	seen := map[string]bool{}
	for w.dec.More() {
		tok, err := w.dec.Token()
		if err != nil {
			return w.syntax(err)
		}
		key := tok.(string) // the decoder only returns string keys here
		child := join(path, key)
		var cn *node
		switch {
		case seen[key]:
			w.errs.add(child, "appears twice in one object; a document must give each key once")
		case n != nil:
			cn = n.fields[key]
			if cn == nil {
				w.errs.add(child, "%s", unknownField(key, n))
			}
		}
		seen[key] = true
		if err := w.value(child, cn, depth+1); err != nil {
			return err
		}
	}
	if path == "" && n != nil && !seen["version"] {
		w.errs.add("version", "required; this cusax reads version %d", Version)
	}
	_, err := w.dec.Token() // '}'
	if err != nil {
		return w.syntax(err)
	}
	return nil
}

func (w *walker) array(path string, n *node, depth int) error {
	var elem *node
	if n != nil {
		elem = n.elem
	}
	for i := 0; w.dec.More(); i++ {
		if i == maxListLen && n != nil {
			w.errs.add(path, "has more than %d entries", maxListLen)
			elem = nil
		}
		if err := w.value(fmt.Sprintf("%s[%d]", path, i), elem, depth+1); err != nil {
			return err
		}
	}
	_, err := w.dec.Token() // ']'
	if err != nil {
		return w.syntax(err)
	}
	return nil
}

// syntax turns a decoder error into a whole-document error with a
// position a user can find in an editor.
func (w *walker) syntax(err error) error {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return docError("malformed JSON at %s: %s", w.position(se.Offset), strings.TrimPrefix(se.Error(), "json: "))
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		if len(bytes.TrimSpace(w.data)) == 0 {
			return docError("empty; want a JSON object")
		}
		return docError("malformed JSON: the document ends in the middle of a value (truncated?)")
	}
	return docError("malformed JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
}

// position is "line L, column C" of byte offset off (1-based, columns
// in bytes).
func (w *walker) position(off int64) string {
	if off > int64(len(w.data)) {
		off = int64(len(w.data))
	}
	before := w.data[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	col := int(off) - bytes.LastIndexByte(before, '\n')
	return fmt.Sprintf("line %d, column %d", line, col)
}

// Kinds a token can have but no schema node expects.
const (
	kindNumber kind = -1 // not known to be an integer yet
	kindNull   kind = -2
)

func tokenKind(tok json.Token) kind {
	switch t := tok.(type) {
	case json.Delim:
		if t == '{' {
			return kindObject
		}
		return kindArray
	case string:
		return kindString
	case bool:
		return kindBool
	case json.Number:
		return kindNumber
	}
	return kindNull
}

// secretWords mark keys that look like credentials.
var secretWords = []string{"password", "passwd", "secret", "token", "credential", "apikey", "api_key"}

// unknownField explains why key is refused, with a hint where one helps.
func unknownField(key string, n *node) string {
	low := strings.ToLower(key)
	switch {
	case low == "allow_plaintext" || low == "plaintext" || low == "insecure":
		return "unknown field: a provisioning document cannot allow plaintext authentication (RFC 7081 §7); only the user can, with cusax login --allow-plaintext"
	case trustKey(low):
		return "unknown field: a provisioning document cannot add trust anchors or certificates; the user gives them with --ca-file"
	case low == "backend" || low == "password_command" || low == "policy" || low == "plugins":
		return "unknown field: " + safeKey(key) + " is the user's own setting; a provisioning document cannot set it"
	}
	for _, w := range secretWords {
		if strings.Contains(low, w) {
			return "unknown field: a provisioning document must not carry passwords or tokens (documents are cached and logged on the way); use \"password\": \"same\" or \"prompt\" in xmpp or sip"
		}
	}
	norm := strings.ReplaceAll(low, "-", "_")
	for _, k := range n.order {
		if k == norm {
			return fmt.Sprintf("unknown field (did you mean %q?)", k)
		}
	}
	return fmt.Sprintf("unknown field (known here: %s)", strings.Join(n.order, ", "))
}

func trustKey(low string) bool {
	switch low {
	case "ca", "cas", "ca_file", "cafile", "ca_pem", "cacert", "ca_cert", "ca_certs", "pin", "pins":
		return true
	}
	return strings.Contains(low, "trust") || strings.Contains(low, "certificate") || strings.Contains(low, "root")
}

func join(path, key string) string {
	key = safeKey(key)
	if path == "" {
		return key
	}
	return path + "." + key
}

func orRoot(path string) string {
	if path == "" {
		return "document"
	}
	return path
}

// safeKey returns key as is when it is a plain identifier, else quoted
// and shortened: keys end up on the user's terminal.
func safeKey(key string) string {
	plain := key != ""
	for _, r := range key {
		if !(r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			plain = false
			break
		}
	}
	if plain && len(key) <= 40 {
		return key
	}
	return quote(key)
}

// quote renders a value for an error message: Go-quoted (so control
// characters and escapes cannot reach the terminal) and cut at 80 bytes.
func quote(s string) string {
	if len(s) > 80 {
		cut := 80
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		return strconv.Quote(s[:cut]) + "…"
	}
	return strconv.Quote(s)
}

// badText refuses control characters (they would inject SIP headers,
// XMPP stanzas or terminal escapes) and bidirectional overrides (they make
// a provider or address display as something else).
func badText(s string) string {
	for _, r := range s {
		switch {
		case r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0:
			return "must not contain control characters"
		case r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069:
			return "must not contain bidirectional override characters"
		}
	}
	return ""
}

func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return len(b)
}

// commas formats n with thousands separators: 65,536.
func commas(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
