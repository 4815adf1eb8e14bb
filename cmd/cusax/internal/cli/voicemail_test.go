package cli

import (
	"context"
	"encoding/json"
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

// TestVoicemail is the voicemail step of `make demo` (scripts/demo.sh step
// 15) against the real servers: the owner's `cusax answer` takes a call
// from a contact whose vCard lists his SIP address (verified), plays a
// greeting, records him until he hangs up, and notifies the owner's own
// JID by chat (RFC 7081 §3.5), which another session of the owner
// (`cusax chat --listen`) receives. The caller is cusax too (`cusax call
// --play --record`), so both ends of the media path are ours.
func TestVoicemail(t *testing.T) {
	bed := testbed.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	users, err := bed.AddUsers(ctx, bed.Domain, "vmowner", "vmcaller")
	if err != nil {
		t.Fatal(err)
	}
	err = bed.Seed(ctx, testbed.Seed{
		Rosters: map[string][]testbed.Contact{"vmowner": {{JID: "vmcaller@" + bed.Domain, Name: "Vic"}}},
		VCard4: map[string]string{"vmcaller": `<vcard xmlns='urn:ietf:params:xml:ns:vcard-4.0'><fn><text>Vic</text></fn>` +
			`<tel><parameters><type><text>voice</text></type></parameters><uri>sip:vmcaller@` + bed.Domain + `</uri></tel></vcard>`},
	})
	if err != nil {
		t.Fatalf("seed: %v\n%s", err, bed.Logs())
	}
	owner, callerHome := t.TempDir(), t.TempDir()
	for home, user := range map[string]string{owner: "vmowner", callerHome: "vmcaller"} {
		if r := runCLI(t, home, users[user].Password+"\n", loginArgs(bed, user, tlsProxy(bed))...); r.code != 0 {
			t.Fatalf("login %s: exit %d", user, r.code)
		}
	}
	// The owner's commands run as processes of their own, at the same time.
	start := func(args ...string) (*exec.Cmd, *lockedBuffer, *lockedBuffer) {
		cmd := exec.CommandContext(ctx, cusaxBinary(t), append([]string{"--config", owner + "/cusax/config.toml"}, args...)...)
		cmd.Env = append(os.Environ(), "CUSAX_SECRETS=file", "XDG_CONFIG_HOME="+owner, "XDG_DATA_HOME="+owner+"/data",
			"XDG_CACHE_HOME="+owner+"/cache", "CUSAX_PLUGIN_PATH=")
		var stdout, stderr lockedBuffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		return cmd, &stdout, &stderr
	}
	phone, phoneOut, phoneErr := start("chat", "--listen", "--count", "1", "--listen-for", "60s")
	waitFor(t, "the owner's chat listener to log in", 15*time.Second, func() bool {
		n, err := bed.XMPPSessions(ctx, "vmowner", bed.Domain)
		return err == nil && n == 1
	})
	dir := t.TempDir()
	greeting, message := toneWAV(t, time.Second), filepath.Join(dir, "message.wav")
	writeTone(t, message, 330, 3*time.Second)
	vm := filepath.Join(dir, "vm")
	if err := os.Mkdir(vm, 0o700); err != nil {
		t.Fatal(err)
	}
	ans, ansOut, ansErr := start("answer", "--max-calls", "1", "--play", greeting, "--duration", "8s",
		"--record", vm+"/{caller}.wav", "--notify", "vmowner@"+bed.Domain, "--json")
	waitFor(t, "answer to register", 15*time.Second, func() bool { return strings.Contains(ansErr.String(), "answering calls") })

	heard := filepath.Join(dir, "heard.wav")
	r := runCLI(t, callerHome, "", "call", "sip:vmowner@"+bed.Domain, "--play", message, "--record", heard, "--ring-timeout", "20s", "--json")
	if r.code != 0 {
		t.Fatalf("call: exit %d: %s", r.code, r.stderr)
	}
	if err := waitExit(ans, 20*time.Second); err != nil {
		t.Fatalf("answer: %v\nstderr: %s", err, ansErr.String())
	}
	var rep struct {
		Verdict, Action, Recorded string
		HungUp                    string `json:"hung_up_by"`
		Samples                   int64  `json:"recorded_samples"`
		Notified                  bool
	}
	if err := json.Unmarshal([]byte(ansOut.String()), &rep); err != nil {
		t.Fatalf("answer --json: %v: %q", err, ansOut.String())
	}
	want := filepath.Join(vm, "vmcaller.wav")
	// 3 s of message at 8 kHz; a few packets may be cut at either end.
	if rep.Verdict != "verified" || rep.Action != "answered" || rep.HungUp != "caller" || rep.Recorded != want || rep.Samples < 2*8000 || !rep.Notified {
		t.Errorf("report %s", ansOut.String())
	}
	for path, minSamples := range map[string]int{want: 2 * 8000, heard: 8000 / 2} {
		n, rms := wavRMS(t, path)
		if n < minSamples || rms < 500 {
			t.Errorf("%s: %d samples, rms %.0f: not the tone sent", filepath.Base(path), n, rms)
		}
		t.Logf("%s: %d samples, rms %.0f", filepath.Base(path), n, rms)
	}
	if err := waitExit(phone, 20*time.Second); err != nil {
		t.Fatalf("chat --listen: %v\nstderr: %s", err, phoneErr.String())
	}
	if got := phoneOut.String(); !strings.Contains(got, "voicemail from Vic <vmcaller@"+bed.Domain+"> (verified)") || !strings.Contains(got, want) {
		t.Errorf("the owner's phone got %q", got)
	}
}

// waitExit waits for cmd to exit 0, at most d.
func waitExit(cmd *exec.Cmd, d time.Duration) error {
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		_ = cmd.Process.Kill()
		return <-done
	}
}

// writeTone writes freq Hz for d at 8 kHz, a quarter of full scale.
func writeTone(t *testing.T, path string, freq float64, d time.Duration) {
	t.Helper()
	s := make([]int16, int(d.Seconds()*8000))
	for i := range s {
		s[i] = int16(8000 * math.Sin(2*math.Pi*freq*float64(i)/8000))
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := media.WriteWAV(f, 8000, s); err != nil {
		t.Fatal(err)
	}
}

// wavRMS reads a recording: its 8 kHz mono sample count and RMS.
func wavRMS(t *testing.T, path string) (int, float64) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pcm, err := media.ReadWAV(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	s := pcm.Mono8k()
	var e float64
	for _, v := range s {
		e += float64(v) * float64(v)
	}
	return len(s), math.Sqrt(e / float64(max(len(s), 1)))
}
