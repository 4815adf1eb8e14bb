package cmdutil

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/spf13/cobra"
)

// EnableJQ gives every command under root that has --json a --jq EXPR flag,
// as gh does: EXPR (gojq, https://github.com/itchyny/gojq, run by NewJQ) is applied to
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
		expr := fl.Value.String()
		jq, err := NewJQ(expr, f.IO.IsStdoutTTY(), f.IO.Out)
		if err != nil {
			var bad *JQExprError
			if errors.As(err, &bad) {
				return WithExit(ExitUsage, Usagef("--jq %q: %s", expr, bad.Msg))
			}
			return err
		}
		f.jq = jq
		// audit-tls --format json|ndjson already prints JSON; any other
		// command is switched to --json.
		if ff := cmd.Flags().Lookup("format"); ff == nil || (ff.Value.String() != "json" && ff.Value.String() != "ndjson") {
			if err := cmd.Flags().Set("json", "true"); err != nil {
				return err
			}
		}
		f.IO.Out = &jqWriter{jq: jq}
		return nil
	}
}

// jqWriter stands in for stdout under --jq. WriteJSON hands it whole
// documents; anything written to it directly (an encoder of its own, as
// the audit report has) is read as a stream of JSON values.
type jqWriter struct {
	mu  sync.Mutex
	jq  JQ
	buf []byte
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

// apply hands one document to the filter.
func (j *jqWriter) apply(doc []byte) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.jq.Apply(doc)
}

// FinishJQ ends the --jq filter of this run, if any (cli.Run calls it once
// the command returned): what it still held is written, and an
// expression that failed on a document is the run's error (exit 1).
func (f *Factory) FinishJQ() error {
	if f.jq == nil {
		return nil
	}
	err := f.jq.Close()
	f.jq = nil
	return err
}
