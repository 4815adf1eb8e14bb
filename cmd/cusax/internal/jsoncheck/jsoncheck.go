package jsoncheck

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Prefix and Suffix frame a schema name: "cusax." + name + "/v1".
const (
	Prefix = "cusax."
	Suffix = "/v1"
)

// Dir is docs/schema of this checkout, found from the working directory
// (tests run in their package's directory).
func Dir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "docs", "schema"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// File is the schema file of a schema name ("cusax.status/v1" →
// docs/schema/status.json).
func File(dir, schema string) (string, error) {
	name, ok := strings.CutPrefix(schema, Prefix)
	if ok {
		name, ok = strings.CutSuffix(name, Suffix)
	}
	if !ok || name == "" || strings.ContainsAny(name, `/\.`) {
		return "", fmt.Errorf("schema %q is not of the form %sNAME%s", schema, Prefix, Suffix)
	}
	return filepath.Join(dir, name+".json"), nil
}

var (
	mu       sync.Mutex
	compiled = map[string]*jsonschema.Schema{}
)

// Compile loads and compiles one schema file (cached). The files of its
// directory are loaded first under their $id, so that a $ref to
// common.json resolves to the file beside it, never to the network.
func Compile(path string) (*jsonschema.Schema, error) {
	mu.Lock()
	defer mu.Unlock()
	if s, ok := compiled[path]; ok {
		return s, nil
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	files, err := filepath.Glob(filepath.Join(filepath.Dir(path), "*.json"))
	if err != nil {
		return nil, err
	}
	target := ""
	for _, file := range files {
		doc, id, err := load(file)
		if err != nil {
			return nil, err
		}
		if err := c.AddResource(id, doc); err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		if file == path {
			target = id
		}
	}
	if target == "" {
		return nil, fmt.Errorf("%s: no such schema file", path)
	}
	s, err := c.Compile(target)
	if err != nil {
		return nil, err
	}
	compiled[path] = s
	return s, nil
}

// load reads a schema file and its $id.
func load(file string) (any, string, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", file, err)
	}
	m, _ := doc.(map[string]any)
	id, _ := m["$id"].(string)
	if id == "" {
		return nil, "", fmt.Errorf("%s: no $id", file)
	}
	return doc, id, nil
}

// Check validates every JSON document in out (one indented document, or
// one per line) and returns the schema names it saw, in order. No
// document at all is an error: the caller asked for JSON.
func Check(out string) ([]string, error) {
	dir, err := Dir()
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(strings.NewReader(out))
	dec.UseNumber()
	var names []string
	for i := 1; ; i++ {
		var raw json.RawMessage
		if err := dec.Decode(&raw); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return names, fmt.Errorf("document %d is not JSON: %w", i, err)
		}
		name, err := checkOne(dir, raw)
		if err != nil {
			return names, fmt.Errorf("document %d (%s): %w", i, name, err)
		}
		names = append(names, name)
	}
	if len(names) == 0 {
		return nil, errors.New("no JSON document")
	}
	return names, nil
}

// decode reads one JSON value, numbers as json.Number.
func decode(s string) (any, error) { return jsonschema.UnmarshalJSON(strings.NewReader(s)) }

func checkOne(dir string, raw []byte) (string, error) {
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return "", err
	}
	obj, ok := inst.(map[string]any)
	if !ok {
		return "", errors.New("not a JSON object (a document names its schema)")
	}
	name, _ := obj["schema"].(string)
	if name == "" {
		return "", errors.New(`no "schema" field`)
	}
	path, err := File(dir, name)
	if err != nil {
		return name, err
	}
	if _, err := os.Stat(path); err != nil {
		return name, fmt.Errorf("no schema file: %w", err)
	}
	s, err := Compile(path)
	if err != nil {
		return name, err
	}
	if err := s.Validate(inst); err != nil {
		return name, fmt.Errorf("does not match %s: %v", filepath.Base(path), err)
	}
	return name, Vocabulary(obj)
}

// Validate is Check for tests: it fails t on an error and returns the
// schema names seen.
func Validate(t testing.TB, out string) []string {
	t.Helper()
	names, err := Check(out)
	if err != nil {
		t.Errorf("JSON output does not keep its contract (docs/json.md): %v\n%s", err, out)
	}
	return names
}

var (
	snake   = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)
	stamp   = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}`)
	badUnit = regexp.MustCompile(`_(ns|us|s|sec|secs|seconds|millis|minutes|duration)$`)
)

// dataMaps are keys whose object value is data keyed by the data's own
// names (a data form's fields, the audit summary's counts by status or
// severity), not vocabulary.
var dataMaps = map[string]bool{"fields": true, "status": true, "failed": true}

// certTimes are X.509's own names for a certificate's validity (RFC 5280
// §4.1.2.5), kept as they are known.
var certTimes = map[string]bool{"not_before": true, "not_after": true}

// Vocabulary checks the rules of docs/json.md on a decoded document
// (numbers as json.Number): snake_case keys; no duration in another unit
// than _ms, and _ms an integer; a time only under a *_at key (or X.509's
// not_before/not_after) and every *_at an RFC 3339 time; no "xmpp" or "sip"
// object (the aspects are "chat" and "telephony").
func Vocabulary(doc any) error {
	var errs []error
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				p := path + "." + k
				if !snake.MatchString(k) {
					errs = append(errs, fmt.Errorf("%s: key is not snake_case", p))
				}
				if badUnit.MatchString(k) {
					errs = append(errs, fmt.Errorf("%s: a duration is an integer *_ms", p))
				}
				if _, isObj := x.(map[string]any); isObj && (k == "xmpp" || k == "sip") {
					errs = append(errs, fmt.Errorf("%s: the aspects are chat and telephony", p))
				}
				if strings.HasSuffix(k, "_ms") && x != nil {
					n, ok := x.(json.Number)
					if _, err := n.Int64(); !ok || err != nil {
						errs = append(errs, fmt.Errorf("%s: %v is not an integer number of milliseconds", p, x))
					}
				}
				if s, ok := x.(string); ok {
					isTime := stamp.MatchString(s)
					switch {
					case strings.HasSuffix(k, "_at") || certTimes[k]:
						if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
							errs = append(errs, fmt.Errorf("%s: %q is not an RFC 3339 time", p, s))
						}
					case isTime:
						errs = append(errs, fmt.Errorf("%s: a time is named *_at", p))
					}
				}
				if obj, ok := x.(map[string]any); ok && dataMaps[k] {
					for dk, dv := range obj {
						walk(p+"."+dk, dv)
					}
					continue
				}
				walk(p, x)
			}
		case []any:
			for i, x := range v {
				walk(fmt.Sprintf("%s[%d]", path, i), x)
			}
		}
	}
	walk("", doc)
	return errors.Join(errs...)
}
