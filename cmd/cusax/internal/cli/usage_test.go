package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
)

// Bad input gets a one-line error and a documented exit code.
func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		has  string
	}{
		{"unknown command", []string{"frobnicate"}, cmdutil.ExitUsage, "unknown command"},
		{"unknown flag", []string{"status", "--frob"}, cmdutil.ExitUsage, "unknown flag"},
		{"bad duration", []string{"login", "--timeout", "soon"}, cmdutil.ExitUsage, "invalid argument"},
		{"login nothing", []string{"login", "--name", "x", "--password-stdin"}, cmdutil.ExitUsage, "--jid"},
		{"bad jid", []string{"login", "--name", "x", "--jid", "no-local-part", "--password-stdin"}, cmdutil.ExitUsage, "xmpp.jid"},
		{"header injection in aor", []string{"login", "--name", "x", "--aor", "sip:a@b\r\nX: y", "--password-stdin"}, cmdutil.ExitUsage, "sip.aor"},
		{"bad min-tls", []string{"login", "--name", "x", "--jid", "a@b.test", "--min-tls", "1.1", "--password-stdin"}, cmdutil.ExitUsage, "--min-tls"},
		{"no password without tty", []string{"login", "--name", "x", "--jid", "a@b.test"}, cmdutil.ExitUsage, "no password"},
		{"status unknown account", []string{"status", "nope"}, cmdutil.ExitUsage, "nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, t.TempDir(), "pw\n", tt.args...)
			if r.code != tt.code {
				t.Errorf("exit %d, want %d", r.code, tt.code)
			}
			first := strings.SplitN(r.stderr, "\n", 2)[0]
			if !strings.HasPrefix(first, "cusax: error: ") || !strings.Contains(first, tt.has) {
				t.Errorf("first stderr line %q, want a one-line error containing %q", first, tt.has)
			}
		})
	}
}

func TestHelpExitCodes(t *testing.T) {
	r := runCLI(t, t.TempDir(), "", "help", "exit-codes")
	if r.code != 0 || !strings.Contains(r.stdout, "130  interrupted") {
		t.Errorf("help exit-codes: %d %q", r.code, r.stdout)
	}
}

func TestVersionJSON(t *testing.T) {
	r := runCLI(t, t.TempDir(), "", "version", "--json")
	if r.code != 0 || !strings.Contains(r.stdout, `"plugin_api_version": 1`) {
		t.Errorf("version --json: %d %q", r.code, r.stdout)
	}
}

func TestStatusEmpty(t *testing.T) {
	r := runCLI(t, t.TempDir(), "", "status", "--json")
	var doc struct {
		Schema   string            `json:"schema"`
		Accounts []json.RawMessage `json:"accounts"`
	}
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &doc) != nil || doc.Schema != "cusax.status/v1" || doc.Accounts == nil || len(doc.Accounts) != 0 {
		t.Errorf("status on no config: %d %q", r.code, r.stdout)
	}
}
