package secrets

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestRunCommand(t *testing.T) {
	long := strings.Repeat("e", 500)
	tests := []struct {
		name     string
		command  string
		want     string
		wantErr  error
		contains []string // in the error
		absent   []string // never in the error
	}{
		{name: "echo", command: "echo " + testPassword, want: testPassword},
		{name: "first line only", command: "printf '%s\\nuser: alice\\nurl: x\\n' " + testPassword, want: testPassword},
		{name: "CRLF trimmed", command: "printf 'pw\\r\\n'", want: "pw"},
		{name: "no newline", command: "printf pw", want: "pw"},
		{name: "inner spaces kept", command: "printf ' p w \\n'", want: " p w "},
		{name: "stderr ignored on success", command: "echo warn >&2; echo pw", want: "pw"},
		{name: "exit status", command: "echo " + testPassword + "; echo 'gpg: decryption failed' >&2; exit 3",
			wantErr: ErrPasswordCommand, contains: []string{"exit status 3", "gpg: decryption failed"},
			absent: []string{testPassword}},
		{name: "stderr echoes the password", command: "echo " + testPassword + "; echo got " + testPassword + " >&2; exit 1",
			wantErr: ErrPasswordCommand, contains: []string{"got [redacted]"}, absent: []string{testPassword}},
		{name: "stderr truncated", command: "echo " + long + " >&2; exit 1",
			wantErr: ErrPasswordCommand, contains: []string{strings.Repeat("e", 200) + "…"}, absent: []string{strings.Repeat("e", 201)}},
		{name: "stderr control chars", command: "printf 'bad\\033[2Jthing\\n' >&2; exit 1",
			wantErr: ErrPasswordCommand, contains: []string{"bad?[2Jthing"}, absent: []string{"\033"}},
		{name: "empty output", command: "true", wantErr: ErrEmptyPassword},
		{name: "empty first line", command: "printf '\\npw\\n'", wantErr: ErrEmptyPassword},
		{name: "stdin is /dev/null", command: "read x; echo \"[$x]\"", want: "[]"},
		{name: "command not in error", command: "echo " + testPassword + " >/dev/null; exit 2",
			wantErr: ErrPasswordCommand, absent: []string{testPassword, "echo"}},
		{name: "not found", command: "cusax-no-such-command-xyz", wantErr: ErrPasswordCommand,
			contains: []string{"exit status 127"}},
		{name: "empty command", command: "  ", wantErr: ErrPasswordCommand},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := RunCommand(context.Background(), tt.command)
			if tt.wantErr == nil {
				if err != nil || got != tt.want {
					t.Fatalf("RunCommand = %q, %v; want %q", got, err, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("RunCommand = %q, want error", got)
			}
			if !errors.Is(err, tt.wantErr) || !errors.Is(err, ErrPasswordCommand) {
				t.Errorf("error %v does not wrap %v and ErrPasswordCommand", err, tt.wantErr)
			}
			for _, s := range tt.contains {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q lacks %q", err, s)
				}
			}
			for _, s := range tt.absent {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error %q contains %q", err, s)
				}
			}
		})
	}
}

func TestRunCommandTimeout(t *testing.T) {
	swapVar(t, &commandTimeout, 200*time.Millisecond)
	start := time.Now()
	_, err := RunCommand(context.Background(), "sleep 5")
	if !errors.Is(err, ErrPasswordCommand) || !strings.Contains(err.Error(), "timed out after 200ms") {
		t.Errorf("RunCommand(sleep) = %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("timeout took %v", d)
	}
}

func TestRunCommandHonoursContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err := RunCommand(ctx, "sleep 5")
	if !errors.Is(err, context.Canceled) || !errors.Is(err, ErrPasswordCommand) {
		t.Errorf("RunCommand with cancelled ctx = %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("cancel took %v", d)
	}
}

// A command that leaves a background child holding stdout still returns
// what it printed, without waiting for the child.
func TestRunCommandBackgroundChild(t *testing.T) {
	start := time.Now()
	got, err := RunCommand(context.Background(), "sleep 3 & echo pw")
	if err != nil || got != "pw" {
		t.Errorf("RunCommand = %q, %v", got, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v: waited for the background child", d)
	}
}
