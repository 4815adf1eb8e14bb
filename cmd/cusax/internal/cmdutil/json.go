package cmdutil

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
)

// Schema names the JSON document a command prints, in the form the audit
// report set ("cusax.audit-tls/v1"): Schema("status") is
// "cusax.status/v1". The major version changes only when a key is
// removed or changes meaning (docs/json.md).
func Schema(name string) string { return "cusax." + name + "/v1" }

// WriteJSON writes v as one indented JSON document followed by a newline,
// with "schema" as its first key. v must marshal to a JSON object. Under
// --jq the document goes through the expression instead (see EnableJQ).
func WriteJSON(w io.Writer, schema string, v any) error {
	doc, err := Document(schema, v)
	if err != nil {
		return err
	}
	if jw, ok := w.(*jqWriter); ok {
		return jw.apply(doc)
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, doc, "", "  "); err != nil {
		return err
	}
	buf.WriteByte('\n')
	_, err = w.Write(buf.Bytes())
	return err
}

// WriteJSONLine writes v as one line of JSON (for streams: one document per
// line, as `--listen --json` prints), with "schema" as its first key.
func WriteJSONLine(w io.Writer, schema string, v any) error {
	doc, err := Document(schema, v)
	if err != nil {
		return err
	}
	if jw, ok := w.(*jqWriter); ok {
		return jw.apply(doc)
	}
	_, err = w.Write(append(doc, '\n'))
	return err
}

// Document is v as compact JSON with "schema" inserted as the first key.
// A v that is not a JSON object is a programming error, reported as one:
// a bare array or string cannot name its schema.
func Document(schema string, v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	body := bytes.TrimSpace(buf.Bytes())
	if len(body) < 2 || body[0] != '{' {
		return nil, fmt.Errorf("internal error: the %s document is not a JSON object", schema)
	}
	name, _ := json.Marshal(schema)
	out := make([]byte, 0, len(body)+len(name)+12)
	out = append(out, `{"schema":`...)
	out = append(out, name...)
	if rest := bytes.TrimSpace(body[1:]); len(rest) > 0 && rest[0] != '}' {
		out = append(out, ',')
	}
	return append(out, body[1:]...), nil
}

// MarshalNoEscape is json.Marshal without HTML escaping (for MarshalJSON
// methods: addresses such as <sip:…> print as they are).
func MarshalNoEscape(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}
