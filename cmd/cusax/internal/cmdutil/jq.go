package cmdutil

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/itchyny/gojq"
	"github.com/spf13/cobra"
)

// EnableJQ gives every command under root that has --json a --jq EXPR flag,
// as gh does: EXPR (gojq, https://github.com/itchyny/gojq) is applied to
// each JSON document the command prints (each line of a stream); strings
// come out raw, other values as JSON, one result per line. --jq implies
// --json. A bad expression is a usage error (exit 2) before the command
// runs; an expression that fails on a document is an error (exit 1).
//
// It runs in root's PersistentPreRunE (after one already set there), so a
// subcommand with a PersistentPreRunE of its own must call it.
func EnableJQ(root *cobra.Command, f *Factory) {
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Flags().Lookup("json") != nil && c.Flags().Lookup("jq") == nil {
			c.Flags().String("jq", "", "filter the JSON output with a jq `expression` (implies --json)")
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	before := root.PersistentPreRunE
	root.PersistentPreRunE = func(cmd *cobra.Command, args []string) error {
		if before != nil {
			if err := before(cmd, args); err != nil {
				return err
			}
		}
		fl := cmd.Flags().Lookup("jq")
		if fl == nil || !fl.Changed {
			return nil
		}
		code, err := CompileJQ(fl.Value.String())
		if err != nil {
			return err
		}
		// audit-tls --format json|ndjson already prints JSON; any other
		// command is switched to --json.
		if ff := cmd.Flags().Lookup("format"); ff == nil || (ff.Value.String() != "json" && ff.Value.String() != "ndjson") {
			if err := cmd.Flags().Set("json", "true"); err != nil {
				return err
			}
		}
		f.IO.Out = &jqWriter{out: f.IO.Out, code: code, indent: f.IO.IsStdoutTTY()}
		return nil
	}
}

// CompileJQ parses and compiles a --jq expression. Its error is a usage
// error (exit 2) shown on one line: the expression and what is wrong with
// it say more than a pointer to --help would.
func CompileJQ(expr string) (*gojq.Code, error) {
	bad := func(err error) error {
		return WithExit(ExitUsage, Usagef("--jq %q: %s", expr, strings.Join(strings.Fields(err.Error()), " ")))
	}
	q, err := gojq.Parse(expr)
	if err != nil {
		return nil, bad(err)
	}
	code, err := gojq.Compile(q)
	if err != nil {
		return nil, bad(err)
	}
	return code, nil
}

// jqWriter stands in for stdout under --jq. WriteJSON hands it whole
// documents; anything written to it directly (an encoder of its own, as
// the audit report has) is read as a stream of JSON values.
type jqWriter struct {
	mu     sync.Mutex
	out    io.Writer
	code   *gojq.Code
	indent bool
	buf    []byte
}

// Write takes JSON values, possibly split across calls.
func (j *jqWriter) Write(p []byte) (int, error) {
	j.mu.Lock()
	j.buf = append(j.buf, p...)
	var docs [][]byte
	for {
		dec := json.NewDecoder(bytes.NewReader(j.buf))
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			j.buf = nil
			j.mu.Unlock()
			return 0, fmt.Errorf("--jq: the output is not JSON: %w", err)
		}
		docs = append(docs, raw)
		j.buf = j.buf[dec.InputOffset():]
	}
	j.mu.Unlock()
	for _, d := range docs {
		if err := j.apply(d); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// apply runs the expression on one document and prints its results.
func (j *jqWriter) apply(doc []byte) error {
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		return err
	}
	var out bytes.Buffer
	iter := j.code.Run(v)
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
			return fmt.Errorf("--jq: %s", strings.Join(strings.Fields(err.Error()), " "))
		}
		if s, ok := r.(string); ok {
			out.WriteString(s)
			out.WriteByte('\n')
			continue
		}
		enc := json.NewEncoder(&out)
		enc.SetEscapeHTML(false)
		if j.indent {
			enc.SetIndent("", "  ")
		}
		if err := enc.Encode(r); err != nil {
			return fmt.Errorf("--jq: %w", err)
		}
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	_, err := j.out.Write(out.Bytes())
	return err
}
