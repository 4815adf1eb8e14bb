// Package jqfilter applies a --jq expression (gojq, as gh does) to JSON
// documents. It is linked into cusax-jq and into tests, not into cusax:
// gojq builds its builtin definitions at package init (≈0.7 ms and 219 KB
// in every process that links it), which every cusax command would pay
// for a flag most never use.
package jqfilter

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/itchyny/gojq"
)

// Filter is a compiled expression writing its results to out: strings
// raw, other values as JSON, one result per line.
type Filter struct {
	code   *gojq.Code
	indent bool
	out    io.Writer
}

// New compiles expr. Its error is the expression's problem on one line.
func New(expr string, indent bool, out io.Writer) (*Filter, error) {
	q, err := gojq.Parse(expr)
	if err != nil {
		return nil, errors.New(oneLine(err.Error()))
	}
	code, err := gojq.Compile(q)
	if err != nil {
		return nil, errors.New(oneLine(err.Error()))
	}
	return &Filter{code: code, indent: indent, out: out}, nil
}

// Apply runs the expression on one JSON document and writes its results.
func (f *Filter) Apply(doc []byte) error {
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		return fmt.Errorf("--jq: the output is not JSON: %w", err)
	}
	var out bytes.Buffer
	iter := f.code.Run(v)
	for {
		r, ok := iter.Next()
		if !ok {
			break
		}
		if err, ok := r.(error); ok {
			var halt *gojq.HaltError
			if errors.As(err, &halt) && halt.Value() == nil {
				break
			}
			return fmt.Errorf("--jq: %s", oneLine(err.Error()))
		}
		if s, ok := r.(string); ok {
			out.WriteString(s)
			out.WriteByte('\n')
			continue
		}
		enc := json.NewEncoder(&out)
		enc.SetEscapeHTML(false)
		if f.indent {
			enc.SetIndent("", "  ")
		}
		if err := enc.Encode(r); err != nil {
			return fmt.Errorf("--jq: %w", err)
		}
	}
	_, err := f.out.Write(out.Bytes())
	return err
}

// Close has nothing to flush (Apply writes whole results).
func (f *Filter) Close() error { return nil }

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
