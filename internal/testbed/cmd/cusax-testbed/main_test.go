package main

import (
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cusax/cusax/internal/testbed"
	"github.com/cusax/cusax/pkg/media"
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
	script := envLines(b, nil, nil) + `printf '%s|%s|%s|%s' "$CUSAX_BED_CA" "$CUSAX_BED_XMPP_ADDR" "$CUSAX_BED_ALICE_JID" "$CUSAX_BED_ALICE_PASSWORD"`
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
		if code := run(args, io.Discard, io.Discard); code != 2 {
			t.Errorf("run(%q) = %d, want 2", strings.Join(args, " "), code)
		}
	}
}

func TestWriteTone(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tone.wav")
	if err := writeTone(path, 440, time.Second); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pcm, err := media.ReadWAV(f)
	if err != nil {
		t.Fatal(err)
	}
	if pcm.Rate != toneRate || len(pcm.Samples) != toneRate {
		t.Errorf("rate %d, %d samples; want %d, %d", pcm.Rate, len(pcm.Samples), toneRate, toneRate)
	}
	for _, bad := range []struct {
		freq float64
		d    time.Duration
	}{{0, time.Second}, {4000, time.Second}, {440, 0}, {440, 2 * time.Hour}} {
		if err := writeTone(path, bad.freq, bad.d); err == nil {
			t.Errorf("writeTone(%g Hz, %v) succeeded", bad.freq, bad.d)
		}
	}
}

// TestCalleeReport reads the callee from bed.json and counts from a baresip log.
func TestCalleeReport(t *testing.T) {
	dir := t.TempDir()
	callee := filepath.Join(dir, "callee")
	if err := os.MkdirAll(callee, 0o755); err != nil {
		t.Fatal(err)
	}
	log := "frank@example.test: Call established: sip:alice@example.test\n" +
		"received event: '4' (end=0)\nreceived event: '4' (end=1)\nreceived event: '2' (end=0)\n"
	if err := os.WriteFile(filepath.Join(callee, "baresip.log"), []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	info := `{"Callee": {"User": "frank", "URI": "sip:frank@example.test", "Contact": "sip:frank@127.0.0.1:5", "Dir": "` + callee + `"}}`
	if err := os.WriteFile(filepath.Join(dir, "bed.json"), []byte(info), 0o644); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := calleeReport(dir, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"user\tfrank\n", "calls\t1\n", "dtmf\t42\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	if err := calleeReport(t.TempDir(), io.Discard); err == nil {
		t.Error("calleeReport without a bed succeeded")
	}
}

// TestWAVStats measures tones written by writeTone: the demo tells bob's
// message from alice's greeting by these figures.
func TestWAVStats(t *testing.T) {
	dir := t.TempDir()
	for _, freq := range []float64{330, 660} {
		path := filepath.Join(dir, "tone.wav")
		if err := writeTone(path, freq, 2*time.Second); err != nil {
			t.Fatal(err)
		}
		st, err := readWAVStats(path)
		if err != nil {
			t.Fatal(err)
		}
		// A sine at a quarter of full scale: RMS 0.25/√2.
		if st.Samples != 2*toneRate || st.Loud < toneRate || math.Abs(st.RMS-0.25/math.Sqrt2) > 0.01 || math.Abs(st.Hz-freq) > freq/20 {
			t.Errorf("%g Hz tone: %+v", freq, st)
		}
	}
	if _, err := readWAVStats(filepath.Join(dir, "missing.wav")); err == nil {
		t.Error("a missing file measured")
	}
	var out strings.Builder
	if code := run([]string{"wav", filepath.Join(dir, "tone.wav")}, &out, io.Discard); code != 0 || !strings.Contains(out.String(), "samples=16000\t") {
		t.Errorf("wav: exit %d, %q", code, out.String())
	}
	if code := run([]string{"wav"}, io.Discard, io.Discard); code != 2 {
		t.Errorf("wav without files: exit %d, want 2", code)
	}
}
