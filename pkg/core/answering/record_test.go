package answering

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestTemplatePath fills the placeholders with file-name-safe values: a
// caller's INVITE can never name another directory.
func TestTemplatePath(t *testing.T) {
	dir := t.TempDir()
	tm, err := ParseTemplate(filepath.Join(dir, "vm-{time}-{caller}-{verdict}-{call_id}.wav"))
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 7, 10, 15, 0, 0, time.FixedZone("CET", 3600))
	for _, tc := range []struct{ caller, callID, want string }{
		{"sip:bob@example.com", "abc@host", "vm-20261207T091500Z-bob-verified-abc@host.wav"},
		{"tel:+15550100", "x", "vm-20261207T091500Z-+15550100-verified-x.wav"},
		{"sip:../../etc/passwd@evil.example", "../../x/y", "vm-20261207T091500Z-_.._etc_passwd-verified-_.._x_y.wav"},
		{"", "", "vm-20261207T091500Z-unknown-verified-unknown.wav"},
	} {
		p, err := tm.Path(Fields{Time: at, Caller: tc.caller, Verdict: "verified", CallID: tc.callID})
		if err != nil {
			t.Fatal(err)
		}
		if filepath.Dir(p) != dir || filepath.Base(p) != tc.want {
			t.Errorf("caller %q: %s, want %s in %s", tc.caller, p, tc.want, dir)
		}
	}
}

// TestTemplateNeverOverwrites: a file, a symlink (to a file the user
// owns) or a dangling symlink at the name is never replaced: the next
// free name is used, and what was there is untouched.
func TestTemplateNeverOverwrites(t *testing.T) {
	dir := t.TempDir()
	tm, err := ParseTemplate(filepath.Join(dir, "{caller}.wav"))
	if err != nil {
		t.Fatal(err)
	}
	victim := filepath.Join(t.TempDir(), "precious")
	if err := os.WriteFile(victim, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(dir, "bob.wav"), []byte("old"), 0o600))
	must(os.Symlink(victim, filepath.Join(dir, "bob-2.wav")))
	must(os.Symlink(filepath.Join(dir, "nowhere"), filepath.Join(dir, "bob-3.wav")))
	p, err := tm.Path(Fields{Caller: "sip:bob@example.com"})
	if err != nil || p != filepath.Join(dir, "bob-4.wav") {
		t.Fatalf("path %s, %v", p, err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep" {
		t.Error("the symlink's target changed")
	}
}

// TestParseTemplate refuses what cannot work before any call is taken.
func TestParseTemplate(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ in, want string }{
		{filepath.Join(dir, "missing", "x.wav"), "no such file"},
		{filepath.Join(dir, "{caller}", "x.wav"), "placeholders go in the file name"},
		{filepath.Join(file, "x.wav"), "not a directory"},
		{dir + "/", "names no file"},
	} {
		if _, err := ParseTemplate(tc.in); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.in, err, tc.want)
		}
	}
	if tm, err := ParseTemplate(""); err != nil || !tm.Empty() {
		t.Errorf("empty: %v", err)
	}
}
