package main

import (
	"io"
	"os/exec"
	"strings"
	"testing"

	"github.com/cusax/cusax/internal/testbed"
)

func TestShellQuote(t *testing.T) {
	tests := []struct{ in, want string }{
		{"127.0.0.1:5060", "127.0.0.1:5060"},
		{"/tmp/x y/ca.pem", "'/tmp/x y/ca.pem'"},
		{"it's", `'it'\''s'`},
		{"", ""},
	}
	for _, tt := range tests {
		if got := shellQuote(tt.in); got != tt.want {
			t.Errorf("shellQuote(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestEnvLinesSource checks that a shell really reads back what envLines writes.
func TestEnvLinesSource(t *testing.T) {
	b := &testbed.Bed{
		Dir: "/tmp/a dir", Domain: "example.test", Domain2: "biloxi.test", NoTLSDomain: "notls.test",
		CAFile: "/tmp/a dir/ca.pem", XMPPAddr: "127.0.0.1:1234", SIPTLSAddr: "127.0.0.1:5061",
		Users: map[string]testbed.User{"alice": {Name: "alice", Password: "p-w_x"}},
	}
	script := envLines(b) + `printf '%s|%s|%s|%s' "$CUSAX_BED_CA" "$CUSAX_BED_XMPP_ADDR" "$CUSAX_BED_ALICE_JID" "$CUSAX_BED_ALICE_PASSWORD"`
	out, err := exec.Command("sh", "-c", script).Output()
	if err != nil {
		t.Fatal(err)
	}
	if want := "/tmp/a dir/ca.pem|127.0.0.1:1234|alice@example.test|p-w_x"; string(out) != want {
		t.Errorf("sourced %q, want %q", out, want)
	}
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"up"}, {"sideways", "--dir", "x"}, {"down", "--dir", "x", "extra"}} {
		if code := run(args, io.Discard); code != 2 {
			t.Errorf("run(%q) = %d, want 2", strings.Join(args, " "), code)
		}
	}
}
