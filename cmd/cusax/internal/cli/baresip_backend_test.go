package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cusax/cusax/cmd/cusax/internal/builtin"
	"github.com/cusax/cusax/cmd/cusax/internal/cmd/plugins"
	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil/cmdtest"
	"github.com/cusax/cusax/internal/testbed"
	"github.com/cusax/cusax/pkg/core/pluginhost"
	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/pkg/protocol/protocoltest"
)

// The baresip telephony backend (plugins/baresip, issue 18) as a third
// party ships it: its own executable in a plugin directory, launched by
// the real cusax through go-plugin, driving a real baresip 1.0.

var (
	baresipOnce sync.Once
	baresipDir  string
	baresipErr  error
)

// baresipPluginDir builds cusax-plugin-telephony-baresip once per test
// binary into a private plugin directory.
func baresipPluginDir(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("baresip"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("baresip missing (apt-get install baresip-core)")
		}
		t.Skip("baresip missing (apt-get install baresip-core)")
	}
	baresipOnce.Do(func() {
		if baresipDir, baresipErr = os.MkdirTemp("", "cusax-baresip-plugin-"); baresipErr != nil {
			return
		}
		dir := filepath.Join(baresipDir, "plugins")
		if baresipErr = os.Mkdir(dir, 0o700); baresipErr != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", "build", "-o", dir+string(filepath.Separator),
			"github.com/cusax/cusax/plugins/baresip/cmd/cusax-plugin-telephony-baresip")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			baresipErr = fmt.Errorf("build the baresip plugin: %v\n%s", err, out)
		}
	})
	if baresipErr != nil {
		t.Fatal(baresipErr)
	}
	return filepath.Join(baresipDir, "plugins")
}

// setSIPBackend switches the account's telephony backend: one line in
// [account.sip] (backend = "…"; none means the built-in sip).
func setSIPBackend(t *testing.T, home, backend string) {
	t.Helper()
	path := filepath.Join(home, "cusax", "config.toml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "backend") && len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) == "[account.sip]" {
			continue // the line this function wrote before
		}
		lines = append(lines, l)
		if strings.TrimSpace(l) == "[account.sip]" && backend != "sip" {
			lines = append(lines, fmt.Sprintf("backend = %q", backend))
		}
	}
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
}

func jsonKeys(t *testing.T, s string) []string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("not JSON: %v: %s", err, s)
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// TestBaresipBackendParity is issue 18's first must-show. The same
// account calls through the built-in sip backend and then, after one
// config line (backend = "baresip"), through baresip:
//   - a sipp callee that echoes and counts the RTP it got; we hang up
//     after --duration;
//   - a bed baresip that reports the RFC 4733 digits it received;
//   - a cusax `answer` listener (built-in backend, another account) that
//     hangs up itself (the callee's BYE);
//
// and `cusax call --json` prints the same fields from both. `cusax
// plugins` lists both backends.
func TestBaresipBackendParity(t *testing.T) {
	dir := baresipPluginDir(t)
	t.Setenv("CUSAX_AUDIO", "none") // CI: file modules only
	// baresip 1.0 computes MD5 digests only (RFC 8760 SHA-256 is not in it).
	bed := testbed.Start(t, testbed.Options{SIPDigestAlgorithm: "MD5"})
	var b [3]byte
	_, _ = rand.Read(b[:])
	tok := hex.EncodeToString(b[:])
	c := newCaller(t, bed, "bpar"+tok, "")
	// The plugin directory, as a user names it: [plugins] dirs.
	cfg := filepath.Join(c.home, "cusax", "config.toml")
	f, err := os.OpenFile(cfg, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = fmt.Fprintf(f, "\n[plugins]\ndirs = [%q]\n", dir)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	// The answer listener: another account, the built-in backend.
	lis := newCaller(t, bed, "bplis"+tok, "")

	r := runCLI(t, c.home, "", "plugins", "--json")
	var rows []plugins.Row
	if err := cmdtest.UnmarshalList(r.stdout, "plugins", &rows); err != nil {
		t.Fatalf("plugins --json: %v\n%s", err, r.stdout)
	}
	listed := map[string]plugins.Row{}
	for _, row := range rows {
		if row.Kind == "telephony" {
			listed[row.Name] = row
		}
	}
	if _, ok := listed["sip"]; !ok {
		t.Errorf("cusax plugins does not list sip: %s", r.stdout)
	}
	if row, ok := listed["baresip"]; !ok || row.Source != "external" || row.Error != "" || !slices.Contains(row.Capabilities, "dtmf") {
		t.Errorf("cusax plugins, baresip: %+v (%s)", row, r.stdout)
	}

	keys, answerKeys := map[string][]string{}, map[string][]string{}
	for _, backend := range []string{"sip", "baresip"} {
		setSIPBackend(t, c.home, backend)
		t.Run(backend, func(t *testing.T) {
			// 1. A sipp callee: answered, RTP counted by sipp, our BYE.
			// Without --no-impp: switching the backend is the config line
			// alone. baresip 1.0 cannot add Call-Info, so the call goes
			// without it and stderr says so (not dropped silently).
			callee := calleeUser(t, bed, "bpsipp"+backend+tok)
			uas := bed.StartSippUAS(t, testbed.SippUASOptions{User: callee, Answer: 200, Media: "echo"})
			r := c.call(t, uas.URI, "--duration", "2s", "--json")
			if note := "cannot send Call-Info"; (backend == "baresip") != strings.Contains(r.stderr, note) {
				t.Errorf("%s: stderr %q: the note %q only for baresip", backend, r.stderr, note)
			}
			o := decodeOutcome(t, r)
			res, err := uas.Wait(15 * time.Second)
			if err != nil {
				t.Errorf("sipp callee: %v", err)
			}
			if r.code != 0 || !o.Answered || o.StatusCode != 200 || o.RTPSent == 0 || o.RTPRecv == 0 || res.RTPReceived == 0 {
				t.Errorf("%s → sipp: outcome %+v, sipp counted %d RTP packets", backend, o, res.RTPReceived)
			}
			keys[backend] = jsonKeys(t, r.stdout)
			t.Logf("%s → sipp: setup %d ms, rtp sent %d (sipp counted %d), received %d", backend, o.SetupMS, o.RTPSent, res.RTPReceived, o.RTPRecv)

			// 2. DTMF received by the bed's baresip.
			bs := bed.StartBaresip(t, testbed.BaresipOptions{User: calleeUser(t, bed, "bpdtmf"+backend+tok)})
			r = c.call(t, bs.URI, "--dtmf", "123#", "--duration", "2s", "--no-impp", "--json")
			o = decodeOutcome(t, r)
			if r.code != 0 || !o.Answered || o.DTMFSent != "123#" {
				t.Errorf("%s → baresip: outcome %+v", backend, o)
			}
			waitFor(t, "the bed's baresip to report the digits", 10*time.Second, func() bool { return bs.DTMF() == "123#" })

			// 3. A cusax answer listener that hangs up after 1 s (its BYE).
			p := startAnswer(t, lis.home, nil, "--max-calls", "1", "--duration", "1s", "--accept", "not-in-roster,unknown,anonymous")
			r = c.call(t, "sip:"+lis.name+"@"+bed.Domain, "--no-impp", "--json")
			o = decodeOutcome(t, r)
			rep := p.report(t, 1, 20*time.Second)
			if r.code != 0 || !o.Answered || o.DurationMS < 500 {
				t.Errorf("%s → cusax answer: outcome %+v", backend, o)
			}
			if rep.Action != "answered" || rep.HungUpBy != "us" || rep.RTPReceived == 0 {
				t.Errorf("%s → cusax answer: the listener reports %+v", backend, rep)
			}
			_ = p.wait(t, 10*time.Second)

			// 4. An incoming call to this account, answered by `cusax
			// answer` through this backend; the listener account calls.
			p = startAnswer(t, c.home, nil, "--max-calls", "1", "--duration", "1s", "--accept", "not-in-roster,unknown,anonymous")
			r = lis.call(t, "sip:"+c.name+"@"+bed.Domain, "--no-impp", "--duration", "5s", "--json")
			o = decodeOutcome(t, r)
			rep = p.report(t, 1, 20*time.Second)
			if r.code != 0 || !o.Answered || o.RTPRecv == 0 {
				t.Errorf("→ %s answer: the caller's outcome %+v", backend, o)
			}
			if rep.Action != "answered" || rep.HungUpBy != "us" || rep.RTPReceived == 0 || rep.RTPSent == 0 || rep.Codec == "" {
				t.Errorf("→ %s answer: report %+v", backend, rep)
			}
			answerKeys[backend] = jsonKeys(t, p.output()[0])
			_ = p.wait(t, 10*time.Second)

			// 5. A caller `cusax answer` does not take: the built-in
			// backend declines (603); baresip 1.0 can send 486 only
			// (no respond-any), and the report says so.
			want := 603
			if backend == "baresip" {
				want = 486
			}
			p = startAnswer(t, c.home, nil, "--max-calls", "1")
			r = lis.call(t, "sip:"+c.name+"@"+bed.Domain, "--no-impp", "--json")
			o = decodeOutcome(t, r)
			rep = p.report(t, 1, 20*time.Second)
			if o.StatusCode != want || o.Answered || rep.Action != "rejected" || rep.Status != want {
				t.Errorf("→ %s answer, rejected: the caller got %d (want %d), report %+v", backend, o.StatusCode, want, rep)
			}
			if backend == "baresip" && !strings.Contains(p.output()[0], "cannot send 603") {
				t.Errorf("the report does not say 603 could not be sent: %s", p.output()[0])
			}
			_ = p.wait(t, 10*time.Second)
		})
	}
	if !slices.Equal(keys["sip"], keys["baresip"]) {
		t.Errorf("cusax call --json fields differ:\nsip:     %v\nbaresip: %v", keys["sip"], keys["baresip"])
	}
	if !slices.Equal(answerKeys["sip"], answerKeys["baresip"]) {
		t.Errorf("cusax answer --json fields differ:\nsip:     %v\nbaresip: %v", answerKeys["sip"], answerKeys["baresip"])
	}
}

// TestBaresipLoginMD5Parity (issue 18 item 5): an account whose registrar
// offers MD5 only logs in through baresip (`--sip-backend baresip`), the
// telephony report says "digest MD5", and the parity check reports the
// gap to the chat side's SCRAM (parity.client-auth, RFC 8760 named in the
// fix). On the default bed (SHA-256) baresip's Register fails with a
// clear "MD5 only" error instead of "wrong password".
func TestBaresipLoginMD5Parity(t *testing.T) {
	dir := baresipPluginDir(t)
	t.Setenv("CUSAX_AUDIO", "none")
	bed := testbed.Start(t, testbed.Options{SIPDigestAlgorithm: "MD5"})
	var b [3]byte
	_, _ = rand.Read(b[:])
	name := "bmd5" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	users, err := bed.AddUsers(ctx, bed.Domain, name)
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	r := runCLI(t, home, users[name].Password+"\n", loginArgs(bed, name, "sip:"+bed.SIPUDPAddr+";transport=udp",
		"--plugin-dir", dir, "--sip-backend", "baresip")...)
	if r.code != 0 {
		t.Fatalf("login through baresip: exit %d\n%s", r.code, r.stderr)
	}
	res := decodeLogin(t, r)
	tel := res.Telephony.Report
	if tel == nil || tel.Backend != "baresip" || tel.State != "registered" || tel.AuthMechanism != "digest MD5" || tel.Encrypted {
		t.Fatalf("telephony report: %+v", tel)
	}
	found := false
	for _, f := range res.Parity {
		if f.ID == "parity.client-auth" && strings.Contains(f.Fix, "RFC 8760") {
			found = true
		}
	}
	if !found {
		t.Errorf("no parity.client-auth finding naming RFC 8760: %+v", res.Parity)
	}
}

// TestBaresipConformanceOverGoPlugin: the same conformance suite as in
// process (plugins/baresip TestConformanceBaresip), against the plugin as
// shipped: discovered in a plugin directory, launched as its own process
// through go-plugin, against the real Kamailio (MD5 bed, UDP).
func TestBaresipConformanceOverGoPlugin(t *testing.T) {
	dir := baresipPluginDir(t)
	bed := testbed.Start(t, testbed.Options{SIPDigestAlgorithm: "MD5"})
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cands, warnings, err := pluginhost.Discover(self, builtin.Plugins, []string{dir})
	if err != nil || len(warnings) > 0 {
		t.Fatalf("Discover: %v %v", err, warnings)
	}
	c, err := pluginhost.Find(cands, protocol.KindTelephony, "baresip")
	if err != nil || c.BuiltIn {
		t.Fatalf("find baresip: %+v %v", c, err)
	}
	// CI has no sound card: the plugin gets CUSAX_AUDIO=none as the CLI
	// passes it on.
	l := pluginhost.Launcher{Env: []string{"PATH=" + os.Getenv("PATH"), "CUSAX_AUDIO=none"}}
	inst, err := l.Launch(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(inst.Close)
	b, err := inst.Telephony()
	if err != nil {
		t.Fatal(err)
	}
	protocoltest.RunTelephony(t, b, bed.UDPTelephonyEnv(t, "bg"))
}
