package cli

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cusax/cusax/cmd/cusax/internal/iostreams"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// TestCompletionFromCacheOnly runs the real binary's `cusax __complete`
// (what the shell scripts of `cusax completion` call on Tab): account
// names come from the config, contacts from the roster cache, enum flags
// from their values, and nothing opens a network connection. Both
// accounts point at a listener that counts connections: one would be a
// login while completing.
func TestCompletionFromCacheOnly(t *testing.T) {
	bin := cusaxBinary(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var dialled atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			dialled.Add(1)
			c.Close()
		}
	}()
	addr := ln.Addr().String()

	home := t.TempDir()
	// The password command leaves this behind: completion must not run it.
	marker := filepath.Join(home, "password-command-ran")
	cfgDir := filepath.Join(home, "config", "cusax")
	cacheDir := filepath.Join(home, "cache")
	if err := os.MkdirAll(cfgDir, 0o700); err != nil {
		t.Fatal(err)
	}
	cfg := `version = 1
default_account = "home"

[[account]]
name = "home"
related = true
[account.xmpp]
jid = "alice@example.test"
server = "` + addr + `"
password_command = "touch ` + marker + `; echo pw"
[account.sip]
aor = "sip:alice@example.test"
proxy = "sip:` + addr + `;transport=tcp"
password_command = "touch ` + marker + `; echo pw"

[[account]]
name = "work"
related = true
[account.xmpp]
jid = "alice@work.test"
server = "` + addr + `"
`
	if err := os.WriteFile(filepath.Join(cfgDir, "config.toml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	// What `cusax roster` (or call, chat, roster show) left in the cache.
	rosterDir := filepath.Join(cacheDir, "cusax", "vcards", "home")
	if err := os.MkdirAll(rosterDir, 0o700); err != nil {
		t.Fatal(err)
	}
	roster := `[{"jid":"bob@example.test","name":"Bob"},{"jid":"carol@example.test"}]`
	if err := os.WriteFile(filepath.Join(rosterDir, "roster.json"), []byte(roster), 0o600); err != nil {
		t.Fatal(err)
	}

	complete := func(args ...string) ([]string, string) {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"__complete"}, args...)...)
		cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+filepath.Join(home, "config"), "XDG_CACHE_HOME="+cacheDir,
			"XDG_STATE_HOME="+filepath.Join(home, "state"), "XDG_DATA_HOME="+filepath.Join(home, "data"),
			"CUSAX_CONFIG=", "CUSAX_SECRETS=file", "CUSAX_PLUGIN_PATH=")
		start := time.Now()
		out, err := cmd.Output()
		took := time.Since(start)
		if err != nil {
			t.Fatalf("cusax __complete %s: %v", strings.Join(args, " "), err)
		}
		if took > 2*time.Second {
			t.Errorf("cusax __complete %s took %v", strings.Join(args, " "), took)
		}
		t.Logf("cusax __complete %s: %v", strings.Join(args, " "), took)
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		directive := lines[len(lines)-1]
		return lines[:len(lines)-1], directive
	}
	const noFiles = ":4"
	for _, tc := range []struct {
		args []string
		want []string
		dir  string
	}{
		{[]string{"call", ""}, []string{"Bob\tbob@example.test", "carol@example.test"}, noFiles},
		{[]string{"chat", ""}, []string{"Bob\tbob@example.test", "carol@example.test"}, noFiles},
		{[]string{"roster", "show", ""}, []string{"Bob\tbob@example.test", "carol@example.test"}, noFiles},
		{[]string{"call", "car"}, []string{"carol@example.test"}, noFiles},
		// work has no roster cache yet: nothing, and no login to get one.
		{[]string{"call", "--account", "work", ""}, nil, noFiles},
		{[]string{"chat", "bob", ""}, nil, noFiles},
		{[]string{"status", ""}, []string{"home", "work"}, noFiles},
		{[]string{"status", "home", ""}, []string{"work"}, noFiles},
		{[]string{"audit-tls", ""}, []string{"home", "work"}, noFiles},
		{[]string{"call", "--via", ""}, []string{"home", "work"}, noFiles},
		{[]string{"chat", "--account", ""}, []string{"home", "work"}, noFiles},
		{[]string{"roster", "--account", ""}, []string{"home", "work"}, noFiles},
		{[]string{"agent", "run", "--account", ""}, []string{"home", "work"}, noFiles},
		{[]string{"audit-tls", "--format", ""}, []string{"text", "json", "ndjson", "openmetrics", "html"}, noFiles},
		{[]string{"audit-tls", "--fail-on", ""}, []string{"info", "low", "medium", "high", "critical"}, noFiles},
		{[]string{"whois-caller", "--on-call", ""}, []string{"ignore", "busy", "decline"}, noFiles},
		{[]string{"login", "--min-tls", ""}, []string{"1.2", "1.3"}, noFiles},
		{[]string{"login", "--auth", ""}, []string{"basic", "bearer", "none"}, noFiles},
		{[]string{"call", "--media-encryption", ""}, []string{"srtp", "optional", "none"}, noFiles},
		{[]string{"answer", "--reject-with", ""}, []string{"busy", "decline", "unavailable"}, noFiles},
		// Files only where a file is meant.
		{[]string{"call", "--timeout", ""}, nil, noFiles},
		{[]string{"version", ""}, nil, noFiles},
		{[]string{"call", "--play", ""}, []string{"wav"}, ":8"},
		{[]string{"login", "--ca-file", ""}, nil, ":0"},
	} {
		got, dir := complete(tc.args...)
		if strings.Join(got, "\n") != strings.Join(tc.want, "\n") || dir != tc.dir {
			t.Errorf("__complete %q = %q %s, want %q %s", tc.args, got, dir, tc.want, tc.dir)
		}
	}
	time.Sleep(100 * time.Millisecond) // let a late connection be counted
	if n := dialled.Load(); n != 0 {
		t.Errorf("completion opened %d network connection(s) to the accounts' servers", n)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("completion ran an account's password_command")
	}
	// Control: a command that does log in reaches the listener, so the
	// zero above means something.
	check := exec.Command(bin, "status", "--check", "home")
	check.Env = append(os.Environ(), "XDG_CONFIG_HOME="+filepath.Join(home, "config"), "XDG_CACHE_HOME="+cacheDir,
		"XDG_STATE_HOME="+filepath.Join(home, "state"), "XDG_DATA_HOME="+filepath.Join(home, "data"),
		"CUSAX_CONFIG=", "CUSAX_SECRETS=file", "CUSAX_PLUGIN_PATH=", "CUSAX_NO_AGENT=1")
	_ = check.Run()
	if _, err := os.Stat(marker); dialled.Load() == 0 || err != nil {
		t.Errorf("control: status --check made %d connection(s), ran password_command: %v", dialled.Load(), err == nil)
	}
}

// TestFilesCompleteOnlyWhereMeant walks the whole command tree: every flag
// that takes a value completes to something of its own or to nothing,
// except the flags that name a file or a directory, which are exactly
// these; every command's arguments complete to nothing or to its own
// candidates, except answer's (the --exec program's arguments).
func TestFilesCompleteOnlyWhereMeant(t *testing.T) {
	// The completions called below read only these.
	t.Setenv("CUSAX_CONFIG", "")
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	io, _, _, _ := iostreams.Test()
	root := NewRootCmdForDocs(context.Background(), io)
	wantFiles := map[string]bool{
		"cusax --config": true, "cusax --plugin-dir": true,
		"cusax audit-tls --profile": true, "cusax audit-tls --targets": true, "cusax audit-tls --state": true, "cusax audit-tls --ca-file": true, "cusax audit-tls --output": true, "cusax audit-contacts --targets": true,
		"cusax login --ca-file": true, "cusax whois-caller --message": true,
		"cusax call --play": true, "cusax call --record": true,
		"cusax answer --play": true, "cusax answer --record": true, "cusax answer --exec": true,
	}
	gotFiles := map[string]bool{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.ValidArgsFunction == nil && len(c.ValidArgs) == 0 {
			t.Errorf("%s: arguments complete to file names", c.CommandPath())
		} else if c.ValidArgsFunction != nil {
			if _, d := c.ValidArgsFunction(c, nil, ""); d&cobra.ShellCompDirectiveNoFileComp == 0 && c.CommandPath() != "cusax answer" {
				t.Errorf("%s: arguments complete to file names (directive %d)", c.CommandPath(), d)
			}
		}
		visit := func(fl *pflag.Flag) {
			if fl.Value.Type() == "bool" {
				return
			}
			key := c.CommandPath() + " --" + fl.Name
			_, file := fl.Annotations[cobra.BashCompFilenameExt]
			_, dir := fl.Annotations[cobra.BashCompSubdirsInDir]
			if file || dir {
				gotFiles[key] = true
				return
			}
			if _, ok := c.GetFlagCompletionFunc(fl.Name); !ok {
				t.Errorf("%s: no completion (the shell would offer file names)", key)
			}
		}
		c.LocalNonPersistentFlags().VisitAll(visit)
		c.PersistentFlags().VisitAll(visit)
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	for k := range wantFiles {
		if !gotFiles[k] {
			t.Errorf("%s: should complete file names", k)
		}
	}
	for k := range gotFiles {
		if !wantFiles[k] {
			t.Errorf("%s: completes file names; add it to the list if a file is meant", k)
		}
	}
}
