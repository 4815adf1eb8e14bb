package jsoncheck_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/cusax/cusax/cmd/cusax/internal/cli"
	"github.com/cusax/cusax/cmd/cusax/internal/iostreams"
	"github.com/cusax/cusax/cmd/cusax/internal/jsoncheck"
	"github.com/spf13/cobra"
	// In-process commands use gojq in process (no cusax-jq helper here).
	_ "github.com/cusax/cusax/cmd/cusax/internal/cmdutil/cmdtest"
)

// covered says, for every command that has --json, the schemas its output
// may name and the tests that run it with --json and validate what it
// printed (jsoncheck.Validate): "package:TestName" under
// cmd/cusax/internal/cmd, or "cli:TestName" for a real-binary test.
var covered = map[string]struct {
	schemas []string
	tests   []string
}{
	"cusax version":          {[]string{"version"}, []string{"version:TestVersionJSON"}},
	"cusax plugins":          {[]string{"plugins"}, []string{"plugins:TestPluginsBuiltInsJSON"}},
	"cusax status":           {[]string{"status"}, []string{"status:TestStatusJSON", "status:TestStatusCheck"}},
	"cusax login":            {[]string{"login"}, []string{"login:TestLoginJSON", "login:TestLoginProvisionAndRefresh"}},
	"cusax roster":           {[]string{"roster"}, []string{"roster:TestRosterJSON", "roster:TestRosterPresence"}},
	"cusax roster show":      {[]string{"roster-show"}, []string{"roster:TestRosterShow"}},
	"cusax roster subscribe": {[]string{"roster-subscription"}, []string{"roster:TestRosterSubscribeApprove"}},
	"cusax roster approve":   {[]string{"roster-subscription"}, []string{"roster:TestRosterSubscribeApprove"}},
	"cusax presence":         {[]string{"presence"}, []string{"presence:TestSetAndShow"}},
	"cusax chat":             {[]string{"chat", "chat-message", "chat-room-info"}, []string{"chat:TestChatSendJSON", "chat:TestChatListenJSONFiltered", "chat:TestChatRoomInfo"}},
	"cusax call":             {[]string{"call", "call-plan"}, []string{"call:TestCallAnsweredJSON", "call:TestCallPromptsNumber"}},
	"cusax whois-caller":     {[]string{"whois-caller"}, []string{"whoiscaller:TestWhoisCallerJudge", "whoiscaller:TestWhoisCallerListen"}},
	"cusax answer":           {[]string{"answer"}, []string{"answer:TestAnswerVerified"}},
	"cusax audit-tls":        {[]string{"audit-tls"}, []string{"audittls:TestAuditTLSJSONLocalListener"}},
	"cusax audit-contacts":   {[]string{"audit-contacts"}, []string{"cli:TestAuditContactsBed"}},
	"cusax agent status":     {[]string{"agent-status"}, []string{"agent:TestRunStatusSecondRun"}},
	"cusax agent start":      {[]string{"agent-start"}, []string{"agent:TestRunStatusSecondRun"}},
	"cusax account list":     {[]string{"account-list"}, []string{"account:TestList"}},
	"cusax account show":     {[]string{"account-show"}, []string{"account:TestShow"}},
	"cusax account remove":   {[]string{"account-remove"}, []string{"account:TestRemoveLeavesNoSecretBehind", "account:TestRemoveSaysTheNewImplicitDefault"}},
	"cusax logout":           {[]string{"account-remove"}, []string{"account:TestLogoutCommand"}},
	"cusax account rename":   {[]string{"account-rename"}, []string{"account:TestRename"}},
	"cusax account default":  {[]string{"account-default"}, []string{"account:TestDefault"}},
}

// extraSchemas are documents no single command owns.
var extraSchemas = []string{"error", "common"}

// TestEveryJSONCommandHasASchema walks the command tree: a command with
// --json that has no schema, a schema without its file, a file nobody
// names, or a covering test that does not validate, fails.
func TestEveryJSONCommandHasASchema(t *testing.T) {
	dir, err := jsoncheck.Dir()
	if err != nil {
		t.Fatal(err)
	}
	io, _, _, _ := iostreams.Test()
	root := cli.NewRootCmdForDocs(context.Background(), io)
	withJSON := jsonCommands(root)
	for _, path := range withJSON {
		if c, _, _ := root.Find(strings.Fields(path)[1:]); c.Flags().Lookup("jq") == nil {
			t.Errorf("%s has --json but no --jq", path)
		}
	}
	if len(withJSON) < 10 {
		t.Fatalf("only %d commands with --json: %v", len(withJSON), withJSON)
	}
	named := map[string]bool{}
	for _, path := range withJSON {
		cov, ok := covered[path]
		if !ok {
			t.Errorf("%s has --json but no schema (add docs/schema/NAME.json, docs/json.md and an entry here)", path)
			continue
		}
		for _, s := range cov.schemas {
			named[s] = true
			file, _ := jsoncheck.File(dir, jsoncheck.Prefix+s+jsoncheck.Suffix)
			if _, err := jsoncheck.Compile(file); err != nil {
				t.Errorf("%s: schema %s: %v", path, s, err)
			}
		}
		for _, test := range cov.tests {
			if err := validates(test); err != nil {
				t.Errorf("%s: %v", path, err)
			}
		}
	}
	for path := range covered {
		if !slices.Contains(withJSON, path) {
			t.Errorf("%s is listed but has no --json (or no longer exists)", path)
		}
	}
	for _, s := range extraSchemas {
		named[s] = true
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	for _, f := range files {
		if name := strings.TrimSuffix(filepath.Base(f), ".json"); !named[name] {
			t.Errorf("docs/schema/%s.json: no command names it", name)
		}
	}
	// docs/json.md lists every schema.
	doc, err := os.ReadFile(filepath.Join(dir, "..", "json.md"))
	if err != nil {
		t.Fatal(err)
	}
	for s := range named {
		if !strings.Contains(string(doc), "schema/"+s+".json") {
			t.Errorf("docs/json.md does not mention schema/%s.json", s)
		}
	}
}

// jsonCommands lists the commands under root that have --json.
func jsonCommands(root *cobra.Command) []string {
	var paths []string
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Flags().Lookup("json") != nil {
			paths = append(paths, c.CommandPath())
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	return paths
}

// A new command with --json is found, subcommands included, and has no
// entry: the walk above would fail for it.
func TestNewJSONCommandIsFound(t *testing.T) {
	io, _, _, _ := iostreams.Test()
	root := cli.NewRootCmdForDocs(context.Background(), io)
	parent := &cobra.Command{Use: "bogus"}
	child := &cobra.Command{Use: "deeper", Run: func(*cobra.Command, []string) {}}
	child.Flags().Bool("json", false, "")
	parent.AddCommand(child)
	root.AddCommand(parent)
	var missing []string
	for _, p := range jsonCommands(root) {
		if _, ok := covered[p]; !ok {
			missing = append(missing, p)
		}
	}
	if !slices.Equal(missing, []string{"cusax bogus deeper"}) {
		t.Errorf("uncovered: %v", missing)
	}
	if err := validates("version:TestNoSuchTest"); err == nil {
		t.Error("a missing test passes")
	}
	if err := validates("version:TestVersionBadFlag"); err == nil || !strings.Contains(err.Error(), "does not call") {
		t.Errorf("a test that does not validate: %v", err)
	}
}

// validates checks that test exists and calls jsoncheck.Validate.
func validates(test string) error {
	pkg, name, _ := strings.Cut(test, ":")
	dir := filepath.Join("..", "cmd", pkg)
	if pkg == "cli" {
		dir = filepath.Join("..", "cli")
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*_test.go"))
	start := regexp.MustCompile(`(?m)^func ` + regexp.QuoteMeta(name) + `\(`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		src := string(b)
		loc := start.FindStringIndex(src)
		if loc == nil {
			continue
		}
		body := src[loc[1]:]
		if end := strings.Index(body, "\n}\n"); end >= 0 {
			body = body[:end]
		}
		if !strings.Contains(body, "jsoncheck.Validate(") {
			return fmt.Errorf("%s does not call jsoncheck.Validate", test)
		}
		return nil
	}
	return fmt.Errorf("%s: no such test", test)
}

// run is cusax in process (cli.Run), as the binary runs, with no config.
func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	home := t.TempDir()
	for _, v := range []string{"XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME", "XDG_RUNTIME_DIR"} {
		t.Setenv(v, filepath.Join(home, v))
	}
	t.Setenv("CUSAX_CONFIG", "")
	t.Setenv("CUSAX_NO_AGENT", "1")
	io, _, out, errOut := iostreams.Test()
	code = cli.Run(context.Background(), io, args)
	return code, out.String(), errOut.String()
}

// The binary's own tree, in process: status and version validate; an error
// under --json is a document on stderr with its own schema.
func TestInProcessJSON(t *testing.T) {
	for _, args := range [][]string{{"version", "--json"}, {"status", "--json"}} {
		code, out, errOut := run(t, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errOut)
		}
		jsoncheck.Validate(t, out)
	}
	code, out, errOut := run(t, "status", "--json", "--no-such-flag")
	if code != 2 || out != "" {
		t.Fatalf("bad flag: exit %d, stdout %q", code, out)
	}
	if names := jsoncheck.Validate(t, errOut); !slices.Equal(names, []string{"cusax.error/v1"}) {
		t.Errorf("error document: %v", names)
	}
}

// --jq: strings raw, other values as JSON, one result a line; it implies
// --json; a bad expression is a usage error on one line, before anything
// runs; a runtime error is exit 1.
func TestJQ(t *testing.T) {
	code, out, errOut := run(t, "version", "--jq", ".schema")
	if code != 0 || out != "cusax.version/v1\n" {
		t.Errorf("--jq .schema: exit %d, %q %s", code, out, errOut)
	}
	code, out, _ = run(t, "version", "--jq", "{v: .plugin_api_version, s: [.schema]}")
	var v struct {
		V int      `json:"v"`
		S []string `json:"s"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &v) != nil || v.V < 1 || len(v.S) != 1 || strings.Count(out, "\n") != 1 {
		t.Errorf("--jq object: exit %d, %q", code, out)
	}
	code, out, _ = run(t, "status", "--jq", ".accounts | length")
	if code != 0 || out != "0\n" {
		t.Errorf("status --jq: exit %d, %q", code, out)
	}
	code, out, errOut = run(t, "version", "--jq", ".[")
	if code != 2 || out != "" || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, "--jq") {
		t.Errorf("bad expression: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, errOut = run(t, "version", "--jq", `error("boom")`)
	if code != 1 || out != "" || !strings.Contains(errOut, "boom") {
		t.Errorf("runtime error: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	// Not on commands without --json.
	if code, _, _ := run(t, "help", "--jq", "."); code == 0 {
		t.Error("--jq accepted by a command without --json")
	}
}
