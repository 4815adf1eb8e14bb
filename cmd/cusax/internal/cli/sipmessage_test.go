package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cusax/cusax/cmd/cusax/internal/cmd/status"
	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil/cmdtest"
	"github.com/cusax/cusax/internal/testbed"
)

// setFeature adds `key = value` to the [account.features] table of the
// only account in home's config (RFC 7081 §2 switches), creating it.
func setFeature(t *testing.T, home, line string) {
	t.Helper()
	path := home + "/cusax/config.toml"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if i := strings.Index(s, "[account.features]\n"); i >= 0 {
		i += len("[account.features]\n")
		s = s[:i] + line + "\n" + s[i:]
	} else {
		s += "\n[account.features]\n" + line + "\n"
	}
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

// sipMessagePluginDir builds cusax-plugin-impp-sipmessage into a private
// plugin directory (its parent is private too: safepath.CheckDir).
func sipMessagePluginDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "plugins")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", dir+string(filepath.Separator), "github.com/cusax/cusax/plugins/sipmessage/cmd/cusax-plugin-impp-sipmessage")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the sipmessage plugin: %v\n%s", err, out)
	}
	return dir
}

// statusOf runs status --json in home and returns its one account.
func statusOf(t *testing.T, home string) status.AccountJSON {
	t.Helper()
	r := runCLI(t, home, "", "status", "--json")
	if r.code != 0 {
		t.Fatalf("status --json: exit %d: %s", r.code, r.stderr)
	}
	var rows []status.AccountJSON
	if err := cmdtest.UnmarshalList(r.stdout, "accounts", &rows); err != nil || len(rows) != 1 {
		t.Fatalf("status --json: %v\n%s", err, r.stdout)
	}
	return rows[0]
}

// The must-show of issue 18 for IM over SIP: a SIP-only account sends a
// message that Kamailio relays (RFC 3428) to an account whose chat goes
// over SIP because of im_over_sip = true (RFC 7081 §2), and that account's
// `chat --listen --json` prints it. Then what the sipmessage backend cannot
// do is refused by name: roster (exit 17), and calls_over_xmpp = true,
// which no backend can honour, in status and call.
func TestSIPMessageBetweenAccounts(t *testing.T) {
	bed := testbed.Shared(t)
	var b [4]byte
	_, _ = rand.Read(b[:])
	tok := hex.EncodeToString(b[:])
	snd, rcv := "smsnd"+tok, "smrcv"+tok
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	users, err := bed.AddUsers(ctx, bed.Domain, snd, rcv)
	if err != nil {
		t.Fatal(err)
	}

	// The sender: SIP only.
	sndHome := t.TempDir()
	r := runCLI(t, sndHome, users[snd].Password+"\n", "login", "--name", "sipper", "--json",
		"--aor", "sip:"+snd+"@"+bed.Domain, "--sip-proxy", tlsProxy(bed), "--ca-file", bed.CAFile, "--password-stdin")
	if r.code != 0 {
		t.Fatalf("login (SIP only): exit %d: %s", r.code, r.stderr)
	}
	// The receiver: both aspects, IM over SIP switched on.
	rcvHome := t.TempDir()
	r = runCLI(t, rcvHome, users[rcv].Password+"\n"+users[rcv].Password+"\n", loginArgs(bed, rcv, tlsProxy(bed))...)
	if r.code != 0 {
		t.Fatalf("login (both aspects): exit %d: %s", r.code, r.stderr)
	}
	setFeature(t, rcvHome, "im_over_sip = true")

	// status --json names the backend of each aspect and the switches.
	if st := statusOf(t, sndHome); st.Backends.Chat != "sipmessage" || !st.Backends.ChatOverSIP || st.Backends.Telephony != "sip" ||
		st.Backends.Roster != "" || !st.Features.IMOverSIP || st.Features.CallsOverXMPP {
		t.Errorf("SIP-only account: status %+v %+v, want chat sipmessage over SIP, telephony sip, no roster, im_over_sip", st.Backends, st.Features)
	}
	// status --check logs the SIP-only account's chat in over SIP MESSAGE.
	r = runCLI(t, sndHome, "", "status", "--check", "--json")
	var checked []status.AccountJSON
	if err := cmdtest.UnmarshalList(r.stdout, "accounts", &checked); r.code != 0 || err != nil || len(checked) != 1 {
		t.Fatalf("status --check --json: exit %d, %v\n%s", r.code, err, r.stdout)
	}
	if c := checked[0].Chat; c == nil || c.State != "connected" || c.Report == nil || c.Report.Backend != "sipmessage" || c.Report.TLS == nil || !c.Report.TLS.Verified {
		t.Errorf("status --check Chat row: %+v", c)
	}
	if st := statusOf(t, rcvHome); st.Backends.Chat != "sipmessage" || !st.Backends.ChatOverSIP || st.Backends.Roster != "xmpp" ||
		st.Backends.Telephony != "sip" || !st.Features.IMOverSIP {
		t.Errorf("im_over_sip account: status %+v %+v, want chat sipmessage, roster xmpp, telephony sip", st.Backends, st.Features)
	}

	plugDir := sipMessagePluginDir(t)
	listener := startCusax(t, rcvHome, false, "chat", "--listen", "--json", "--count", "2", "--listen-for", "45s")
	// Until the listener has registered, Kamailio answers 480 (exit 7:
	// nothing was delivered, so sending again cannot duplicate).
	body := "hello over SIP MESSAGE " + tok + " ✓"
	to := "sip:" + rcv + "@" + bed.Domain
	deadline := time.Now().Add(30 * time.Second)
	for {
		r = runCLI(t, sndHome, "", "chat", to, body)
		if r.code == 0 {
			break
		}
		if r.code != cmdutil.ExitNetwork || time.Now().After(deadline) {
			t.Fatalf("chat from the SIP-only account: exit %d: %s", r.code, r.stderr)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// The same through the standalone plugin binary, which overrides the
	// built-in when found in a plugin directory.
	r = runCLI(t, sndHome, "", "--plugin-dir", plugDir, "plugins", "--json")
	if !strings.Contains(r.stdout, `"overrides_built_in": true`) || !strings.Contains(r.stdout, "cusax-plugin-impp-sipmessage") {
		t.Errorf("plugins --json does not list the standalone sipmessage plugin:\n%s", r.stdout)
	}
	body2 := "through the standalone plugin " + tok
	if r = runCLI(t, sndHome, "", "--plugin-dir", plugDir, "chat", to, body2); r.code != 0 {
		t.Fatalf("chat through the standalone plugin: exit %d: %s", r.code, r.stderr)
	}
	if code := listener.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("chat --listen: exit %d: %s", code, listener.stderr.String())
	}
	lines := listener.output()
	if len(lines) != 2 {
		t.Fatalf("chat --listen printed %d lines, want 2: %q", len(lines), lines)
	}
	for i, want := range []string{body, body2} {
		var m struct{ From, Type, Body string }
		if err := json.Unmarshal([]byte(lines[i]), &m); err != nil {
			t.Fatalf("listen output %q: %v", lines[i], err)
		}
		if m.From != "sip:"+snd+"@"+bed.Domain || m.Body != want || m.Type != "chat" {
			t.Errorf("received %+v, want %q from sip:%s@%s", m, want, snd, bed.Domain)
		}
	}

	// RFC 3428 §7: a MESSAGE over 1300 bytes is refused before sending,
	// as input to fix (exit 2).
	r = runCLI(t, sndHome, "", "chat", to, strings.Repeat("long ", 300))
	if r.code != cmdutil.ExitUsage || !strings.Contains(r.stderr, "RFC 3428 §7") || !strings.Contains(r.stderr, "nothing was sent") {
		t.Errorf("oversized message: exit %d, stderr %q", r.code, r.stderr)
	}

	// The roster does not exist over SIP MESSAGE: a documented exit code
	// and one line that says so.
	r = runCLI(t, sndHome, "", "roster")
	if r.code != cmdutil.ExitUnsupported || !strings.Contains(r.stderr, "not supported by this account's IM backend (sipmessage)") {
		t.Errorf("roster on the SIP-only account: exit %d, stderr %q; want %d and the IM backend named", r.code, r.stderr, cmdutil.ExitUnsupported)
	}

	// calls_over_xmpp = true: nothing can call over XMPP; status and call
	// say so instead of calling over SIP in silence.
	setFeature(t, sndHome, "calls_over_xmpp = true")
	for _, args := range [][]string{{"status"}, {"call", "--timeout", "5s", to}} {
		r = runCLI(t, sndHome, "", args...)
		if r.code != cmdutil.ExitUnsupported || !strings.Contains(r.stderr, "calls_over_xmpp = true, but no installed backend can place calls over XMPP") {
			t.Errorf("%s with calls_over_xmpp = true: exit %d, stderr %q", args[0], r.code, r.stderr)
		}
	}
}

// A server restart under `chat --listen` on a SIP-only account (its own
// bed): the sipmessage plugin notices the closed flow and the listener
// says so on stderr; if it ends there, it exits 7 (network), never 0 and
// never silently.
func TestSIPMessageListenerNoticesKamailioRestart(t *testing.T) {
	bed := testbed.Start(t, testbed.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	users, err := bed.AddUsers(ctx, bed.Domain, "smrestart")
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	r := runCLI(t, home, users["smrestart"].Password+"\n", "login", "--name", "sipper", "--json",
		"--aor", "sip:smrestart@"+bed.Domain, "--sip-proxy", tlsProxy(bed), "--ca-file", bed.CAFile, "--password-stdin")
	if r.code != 0 {
		t.Fatalf("login: exit %d: %s", r.code, r.stderr)
	}
	registers := func() int {
		b, _ := os.ReadFile(filepath.Join(bed.Dir, "kamailio", "kamailio.log"))
		return strings.Count(string(b), "cusax-testbed: REGISTER sip:smrestart@"+bed.Domain)
	}
	before := registers() // login's REGISTER and its removal
	listener := startCusax(t, home, false, "chat", "--listen", "--json", "--listen-for", "60s", "--give-up-after", "5s")
	// Registered once Kamailio logged one more REGISTER of the user.
	waitFor(t, "the listener's REGISTER", 20*time.Second, func() bool { return registers() > before })
	if err := bed.RestartKamailio(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the listener to say the flow was closed", 20*time.Second, func() bool {
		return strings.Contains(listener.stderr.String(), "closed by the server")
	})
	// It either gives up (--give-up-after 5s, exit 7) or logs in again
	// and says so (chat --listen survives outages, issue 17).
	waitFor(t, "the listener to give up or listen again", 30*time.Second, func() bool {
		select {
		case <-listener.exited:
			return true
		default:
			return strings.Contains(listener.stderr.String(), "listening again")
		}
	})
	select {
	case <-listener.exited:
		if listener.code != cmdutil.ExitNetwork {
			t.Errorf("listener exit %d, want %d; stderr %s", listener.code, cmdutil.ExitNetwork, listener.stderr.String())
		}
		t.Logf("listener exit %d; stderr: %s", listener.code, listener.stderr.String())
	default:
		t.Logf("listener listening again; stderr: %s", listener.stderr.String())
	}
}
