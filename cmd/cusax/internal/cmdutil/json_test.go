package cmdutil

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/cusax/cusax/internal/jqfilter"

	"github.com/cusax/cusax/cmd/cusax/internal/iostreams"
	"github.com/spf13/cobra"
)

func TestDocumentPutsSchemaFirst(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want string
	}{
		{struct {
			A int `json:"a"`
		}{1}, `{"schema":"cusax.x/v1","a":1}`},
		{struct{}{}, `{"schema":"cusax.x/v1"}`},
		{map[string]string{"u": "<sip:a@b>"}, `{"schema":"cusax.x/v1","u":"<sip:a@b>"}`},
	} {
		got, err := Document(Schema("x"), tc.v)
		if err != nil || string(got) != tc.want {
			t.Errorf("%+v: %s, %v; want %s", tc.v, got, err, tc.want)
		}
	}
	// A document that cannot name its schema is refused, not printed.
	for _, v := range []any{[]int{1}, "s", 1, nil} {
		if _, err := Document(Schema("x"), v); err == nil {
			t.Errorf("%v: no error", v)
		}
	}
}

// jqCmd is a command with --json that prints what print does, under a
// root with EnableJQ, as in the binary.
func jqRun(t *testing.T, tty bool, print func(*Factory) error, args ...string) (string, error) {
	t.Helper()
	io, _, out, _ := iostreams.Test()
	io.SetTTY(false, tty, false)
	f := &Factory{IO: io}
	var asJSON bool
	cmd := &cobra.Command{Use: "x", RunE: func(*cobra.Command, []string) error {
		if !asJSON {
			t.Error("--jq did not imply --json")
		}
		return print(f)
	}}
	cmd.Flags().BoolVar(&asJSON, "json", false, "")
	root := &cobra.Command{Use: "cusax", SilenceErrors: true, SilenceUsage: true}
	root.AddCommand(cmd)
	EnableJQ(root, f)
	root.SetArgs(append([]string{"x"}, args...))
	err := root.Execute()
	if jerr := f.FinishJQ(); err == nil {
		err = jerr
	}
	return out.String(), err
}

// The cusax-jq helper is not built for unit tests: gojq in process.
func init() {
	NewJQ = func(expr string, indent bool, out io.Writer) (JQ, error) {
		f, err := jqfilter.New(expr, indent, out)
		if err != nil {
			return nil, &JQExprError{Msg: err.Error()}
		}
		return f, nil
	}
}

func TestJQStreamAndRaw(t *testing.T) {
	lines := func(f *Factory) error {
		for _, b := range []string{"a", "b"} {
			if err := WriteJSONLine(f.IO.Out, Schema("m"), map[string]any{"body": b, "n": 1}); err != nil {
				return err
			}
		}
		return nil
	}
	out, err := jqRun(t, false, lines, "--jq", ".body")
	if err != nil || out != "a\nb\n" {
		t.Errorf("strings raw, a line each: %q %v", out, err)
	}
	out, err = jqRun(t, false, lines, "--jq", "{n, s: .schema}")
	if err != nil || out != "{\"n\":1,\"s\":\"cusax.m/v1\"}\n{\"n\":1,\"s\":\"cusax.m/v1\"}\n" {
		t.Errorf("objects compact when piped: %q %v", out, err)
	}
	out, err = jqRun(t, true, lines, "--jq", "select(.body == \"b\") | {n}")
	if err != nil || out != "{\n  \"n\": 1\n}\n" {
		t.Errorf("indented on a terminal, select: %q %v", out, err)
	}
	out, err = jqRun(t, false, lines, "--jq", "empty")
	if err != nil || out != "" {
		t.Errorf("empty: %q %v", out, err)
	}
}

// A command that encodes JSON itself (the audit report) is filtered too,
// even when its writes split a document.
func TestJQOnRawWrites(t *testing.T) {
	raw := func(f *Factory) error {
		for _, part := range []string{`{"schema":"cusax.a/v1","findings":[{"id":`, `"x"},{"id":"y"}]}` + "\n", `{"schema":"cusax.a/v1","findings":[]}`} {
			if _, err := f.IO.Out.Write([]byte(part)); err != nil {
				return err
			}
		}
		return nil
	}
	out, err := jqRun(t, false, raw, "--jq", ".findings[].id")
	if err != nil || out != "x\ny\n" {
		t.Errorf("%q %v", out, err)
	}
	notJSON := func(f *Factory) error { _, err := f.IO.Out.Write([]byte("text\n")); return err }
	if _, err := jqRun(t, false, notJSON, "--jq", "."); err == nil || !strings.Contains(err.Error(), "not JSON") {
		t.Errorf("text under --jq: %v", err)
	}
}

func TestJQBadExpressionIsUsage(t *testing.T) {
	ran := false
	_, err := jqRun(t, false, func(*Factory) error { ran = true; return nil }, "--jq", "{")
	if err == nil || !IsUsage(err) || strings.Contains(err.Error(), "\n") || ran {
		t.Errorf("err %v (usage %v), ran %v", err, IsUsage(err), ran)
	}
	_, err = jqRun(t, false, func(f *Factory) error { return WriteJSON(f.IO.Out, Schema("x"), map[string]int{"a": 1}) }, "--jq", ".a | error")
	if err == nil || IsUsage(err) {
		t.Errorf("runtime error: %v", err)
	}
	var buf bytes.Buffer
	if err := WriteJSON(&buf, Schema("x"), map[string]int{"a": 1}); err != nil || buf.String() != "{\n  \"schema\": \"cusax.x/v1\",\n  \"a\": 1\n}\n" {
		t.Errorf("without --jq: %q %v", buf.String(), err)
	}
}
