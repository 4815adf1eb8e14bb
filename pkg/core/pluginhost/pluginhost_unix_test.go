//go:build !windows

// Plugins here are shell scripts and rely on POSIX permission bits.

package pluginhost

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cusax/cusax/pkg/protocol"
)

func TestParseName(t *testing.T) {
	tests := []struct {
		file, kind, name string
		ok               bool
	}{
		{"cusax-plugin-policy-example", "policy", "example", true},
		{"cusax-plugin-impp-matrix-bridge", "impp", "matrix-bridge", true},
		{"cusax-plugin-telephony-sip.exe", "telephony", "sip", true},
		{"cusax-plugin-video-x", "", "", false},   // unknown kind
		{"cusax-plugin-policy-", "", "", false},   // no name
		{"cusax-plugin-policy-Ex", "", "", false}, // upper case
		{"cusax-plugin-policy", "", "", false},
		{"other-plugin-policy-x", "", "", false},
	}
	for _, tt := range tests {
		kind, name, ok := ParseName(tt.file)
		if ok != tt.ok || string(kind) != tt.kind || name != tt.name {
			t.Errorf("ParseName(%q) = %q, %q, %v", tt.file, kind, name, ok)
		}
	}
}

func writeExe(t *testing.T, dir, name string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\nexit 1\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDiscover(t *testing.T) {
	self := writeExe(t, t.TempDir(), "cusax", 0o755)
	first, second := t.TempDir(), t.TempDir()
	writeExe(t, first, "cusax-plugin-impp-xmpp", 0o755)     // overrides the built-in
	writeExe(t, second, "cusax-plugin-impp-xmpp", 0o755)    // shadowed by the first dir
	writeExe(t, second, "cusax-plugin-policy-extra", 0o755) // new
	writeExe(t, first, "cusax-plugin-policy-noexec", 0o644) // skipped: not executable
	writeExe(t, first, "cusax-plugin-policy-open", 0o757)   // skipped: others can write
	writeExe(t, first, "README", 0o755)                     // ignored
	builtIns := []BuiltIn{{protocol.KindIMPP, "xmpp"}, {protocol.KindTelephony, "sip"}, {protocol.KindPolicy, "default"}}
	cands, warnings, err := Discover(self, builtIns, []string{first, filepath.Join(first, "missing"), second})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range cands {
		got = append(got, c.ID()+"@"+c.Source())
	}
	want := "impp/xmpp@external telephony/sip@built-in policy/default@built-in policy/extra@external policy/open@external" // open: listed as refused
	if strings.Join(got, " ") != want {
		t.Errorf("discovered %v\nwant %s", got, want)
	}
	x, _ := Find(cands, protocol.KindIMPP, "xmpp")
	if !x.Overrides || filepath.Dir(x.Path) != first || len(x.SHA256) != 64 {
		t.Errorf("override: %+v", x)
	}
	if len(warnings) != 2 || !strings.Contains(strings.Join(warnings, "\n"), "not executable") || !strings.Contains(strings.Join(warnings, "\n"), "writable by others") {
		t.Errorf("warnings %q", warnings)
	}
	if _, err := Find(cands, protocol.KindTelephony, "nope"); !errors.Is(err, ErrPluginNotFound) || !strings.Contains(err.Error(), "available: sip") {
		t.Errorf("Find missing: %v", err)
	}
}

// A plugin swapped after discovery is refused: go-plugin checks the
// SHA-256 again before it runs the file.
func TestLaunchRefusesSwappedBinary(t *testing.T) {
	dir := t.TempDir()
	p := writeExe(t, dir, "cusax-plugin-policy-swap", 0o755)
	cands, _, err := Discover("", nil, []string{dir})
	if err != nil || len(cands) != 1 {
		t.Fatalf("%v %v", cands, err)
	}
	if err := os.WriteFile(p, []byte("#!/bin/sh\necho evil\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err = (&Launcher{}).Launch(context.Background(), cands[0])
	if !errors.Is(err, ErrIncompatible) || !strings.Contains(err.Error(), "checksum") {
		t.Fatalf("swapped plugin: %v", err)
	}
}

// Something that is not a cusax plugin fails fast with a clear error.
func TestLaunchNotAPlugin(t *testing.T) {
	dir := t.TempDir()
	writeExe(t, dir, "cusax-plugin-policy-liar", 0o755)
	cands, _, _ := Discover("", nil, []string{dir})
	_, err := (&Launcher{}).Launch(context.Background(), cands[0])
	if !errors.Is(err, ErrIncompatible) {
		t.Fatalf("not a plugin: %v", err)
	}
}
