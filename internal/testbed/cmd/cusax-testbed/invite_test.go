package main

import (
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cusax/cusax/internal/testbed"
)

func TestInviteUsage(t *testing.T) {
	for _, args := range [][]string{
		{"invite", "--dir", "x", "--to", "sip:alice@example.test"},
		{"invite", "--dir", "x", "--from", "bob"},
		{"invite", "--from", "bob", "--to", "sip:alice@example.test"},
		{"invite", "--dir", "x", "--from", "bob", "--to", "sip:alice@example.test", "--header", "no colon"},
	} {
		if code := run(args, io.Discard, io.Discard); code != 2 {
			t.Errorf("run(%q) = %d, want 2", strings.Join(args, " "), code)
		}
	}
}

// TestInvite places real calls through a bed described only by the bed.json that `up` writes,
// as a script does: a call to a user Kamailio does not know ends in 404, which is a success
// with --expect 404 and an error otherwise.
func TestInvite(t *testing.T) {
	b := testbed.Start(t, testbed.Options{})
	dir := t.TempDir()
	if err := writeInfo(b, nil, nil, filepath.Join(dir, "bed.json"), filepath.Join(dir, "bed.env")); err != nil {
		t.Fatal(err)
	}
	nobody := "sip:nobody@" + b.Domain
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"expected status", []string{"--from", "bob", "--to", nobody, "--expect", "404", "--header", "Call-Info: <xmpp:bob@" + b.Domain + ">;purpose=impp"}, 0, "status\t404\n", ""},
		{"other status", []string{"--from", "bob", "--to", nobody}, 1, "", "final response 404, want 486"},
		{"unknown caller", []string{"--from", "mallory", "--to", nobody, "--expect", "404"}, 1, "", `caller "mallory" is not a SIP user of the bed`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr strings.Builder
			code := run(append([]string{"invite", "--dir", dir}, tt.args...), &stdout, &stderr)
			if code != tt.code || !strings.Contains(stdout.String(), tt.stdout) || !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, stdout.String(), stderr.String())
			}
		})
	}
}
