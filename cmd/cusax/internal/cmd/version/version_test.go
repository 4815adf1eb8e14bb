package version

import (
	"encoding/json"
	"fmt"
	"runtime"
	"testing"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil/cmdtest"
	"github.com/cusax/cusax/cmd/cusax/internal/jsoncheck"
	"github.com/cusax/cusax/pkg/protocol"
	"github.com/spf13/cobra"
)

func newCmd(f *cmdutil.Factory) *cobra.Command {
	c := NewCmdVersion(f, nil)
	c.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return cmdutil.Usagef("%v", err) })
	return c
}

// version needs no config, no secrets and no plugin: nil config.
func TestVersion(t *testing.T) {
	e := cmdtest.New(t, nil, nil, nil)
	r := e.Run(newCmd)
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	want := fmt.Sprintf("cusax 0.0.0-test (plugin API v%d, %s, %s/%s)\n", protocol.APIVersion, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if r.Stdout != want || r.Stderr != "" {
		t.Errorf("stdout %q stderr %q, want %q", r.Stdout, r.Stderr, want)
	}
	if n := len(e.Source.Started()); n != 0 {
		t.Errorf("version started %d plugins", n)
	}
}

func TestVersionJSON(t *testing.T) {
	e := cmdtest.New(t, nil, nil, nil)
	r := e.Run(newCmd, "--json")
	jsoncheck.Validate(t, r.Stdout)
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(r.Stdout), &got); err != nil {
		t.Fatalf("%v: %s", err, r.Stdout)
	}
	want := map[string]any{"schema": "cusax.version/v1", "version": "0.0.0-test", "plugin_api_version": float64(protocol.APIVersion),
		"go": runtime.Version(), "platform": runtime.GOOS + "/" + runtime.GOARCH}
	if len(got) != len(want) {
		t.Errorf("keys %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
}

func TestVersionBadFlag(t *testing.T) {
	e := cmdtest.New(t, nil, nil, nil)
	r := e.Run(newCmd, "--jsn")
	if r.Code != cmdutil.ExitUsage || r.Stdout != "" {
		t.Errorf("exit %d (%v) stdout %q, want %d", r.Code, r.Err, r.Stdout, cmdutil.ExitUsage)
	}
}

// runF receives the parsed --json, as cli/cli's tests capture options.
func TestVersionRunF(t *testing.T) {
	e := cmdtest.New(t, nil, nil, nil)
	var got []bool
	r := e.Run(func(f *cmdutil.Factory) *cobra.Command {
		return NewCmdVersion(f, func(j bool) error { got = append(got, j); return nil })
	}, "--json")
	if r.Err != nil || len(got) != 1 || !got[0] || r.Stdout != "" {
		t.Errorf("%v %v %q", r.Err, got, r.Stdout)
	}
}
