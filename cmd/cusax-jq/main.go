// Command cusax-jq applies cusax's --jq expression to the JSON documents
// cusax prints (gojq, as gh does). cusax runs it from beside itself when a
// command is given --jq, so that gojq's package init is paid only then
// (internal/jqfilter says why).
//
//	cusax-jq [--indent] [--status-fd N] EXPR < documents
//
// It compiles EXPR first: a bad one is reported on stderr (exit 2). With
// --status-fd, "ok" or the compile error is written to that descriptor
// first, so that cusax can refuse the expression before the command runs.
// Then each JSON value read from stdin goes through EXPR and its results
// are written, flushed after each document (streams such as chat --listen
// stay live). An expression that fails on a document exits 5.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"syscall"

	"github.com/cusax/cusax/internal/jqfilter"
)

// exitStdoutClosed is what a shell shows for a command killed by SIGPIPE;
// cusax reads it as "nobody reads any more" and exits the same, quietly.
const exitStdoutClosed = 141

func main() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

func run(args []string, in io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("cusax-jq", flag.ContinueOnError)
	fs.SetOutput(stderr)
	indent := fs.Bool("indent", false, "indent JSON results")
	statusFD := fs.Int("status-fd", 0, "descriptor to report the compile result on")
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: cusax-jq [--indent] [--status-fd N] EXPR < documents")
		return 2
	}
	out := bufio.NewWriter(stdout)
	f, err := jqfilter.New(fs.Arg(0), *indent, out)
	if *statusFD > 0 {
		st := os.NewFile(uintptr(*statusFD), "status")
		if err != nil {
			fmt.Fprintln(st, err)
		} else {
			fmt.Fprintln(st, "ok")
		}
		st.Close()
	}
	if err != nil {
		fmt.Fprintf(stderr, "cusax-jq: %q: %v\n", fs.Arg(0), err)
		return 2
	}
	dec := json.NewDecoder(bufio.NewReader(in))
	for {
		var doc json.RawMessage
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return 0
		}
		if err != nil {
			fmt.Fprintf(stderr, "--jq: the output is not JSON: %v\n", err)
			return 5
		}
		if err := f.Apply(doc); err != nil {
			if errors.Is(err, syscall.EPIPE) {
				return exitStdoutClosed
			}
			_ = out.Flush()
			fmt.Fprintln(stderr, err)
			return 5
		}
		if err := out.Flush(); err != nil {
			return exitStdoutClosed // nobody reads any more: cusax exits quietly
		}
	}
}
