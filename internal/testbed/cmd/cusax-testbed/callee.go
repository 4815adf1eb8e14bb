package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/cusax/cusax/internal/testbed"
)

// startCallee starts the --callee: baresip answering every call to user automatically, with
// its config and log in BED/callee. Stop it before the bed.
func startCallee(b *testbed.Bed, user string, stderr io.Writer) (*testbed.Baresip, func(), error) {
	logf := func(format string, args ...any) { fmt.Fprintf(stderr, "testbed: "+format+"\n", args...) }
	p, stop, err := b.StartBaresipIn(filepath.Join(b.Dir, "callee"), testbed.BaresipOptions{User: user}, logf)
	if err != nil {
		return nil, nil, fmt.Errorf("callee %s: %w", user, err)
	}
	return p, stop, nil
}

// calleeReport prints what the --callee of the bed running in dir has done so far, one
// tab-separated key and value a line: user, uri, contact, calls (answered), dtmf (the RFC 4733
// digits received, in order, over all calls) and log (baresip's output).
func calleeReport(dir string, stdout io.Writer) error {
	data, err := os.ReadFile(filepath.Join(dir, "bed.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("no bed runs in %s (no bed.json); start one with: cusax-testbed up --dir %s --callee NAME", dir, dir)
	}
	if err != nil {
		return err
	}
	var info struct{ Callee *testbed.Baresip }
	if err := json.Unmarshal(data, &info); err != nil {
		return fmt.Errorf("%s: %w", filepath.Join(dir, "bed.json"), err)
	}
	p := info.Callee
	if p == nil || p.Dir == "" {
		return fmt.Errorf("the bed in %s has no callee; start it with: cusax-testbed up --dir %s --callee NAME", dir, dir)
	}
	_, err = fmt.Fprintf(stdout, "user\t%s\nuri\t%s\ncontact\t%s\ncalls\t%d\ndtmf\t%s\nlog\t%s\n",
		p.User, p.URI, p.Contact, p.Calls(), p.DTMF(), filepath.Join(p.Dir, "baresip.log"))
	return err
}
