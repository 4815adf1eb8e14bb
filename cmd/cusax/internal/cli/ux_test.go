package cli

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/internal/testbed"
	"github.com/cusax/cusax/pkg/core/config"
)

// TestUnknownCommandSuggests: a mistyped command gets cobra's "did you
// mean" as a hint (it was dropped), still exit 2.
func TestUnknownCommandSuggests(t *testing.T) {
	for _, tc := range []struct {
		args []string
		hint string
	}{
		{[]string{"stauts"}, "cusax: hint: did you mean 'cusax status'?"},
		{[]string{"rooster"}, "cusax: hint: did you mean 'cusax roster'?"},
		{[]string{"roster", "shwo"}, "cusax: hint: did you mean 'cusax roster show'?"},
		{[]string{"agent", "stauts"}, "cusax: hint: did you mean 'cusax agent status'?"},
		{[]string{"frobnicate"}, ""},
	} {
		r := runCLI(t, t.TempDir(), "", tc.args...)
		if r.code != cmdutil.ExitUsage || !strings.HasPrefix(r.stderr, "cusax: error: unknown command") {
			t.Errorf("%q: exit %d, stderr %q", tc.args, r.code, r.stderr)
		}
		if tc.hint != "" && !strings.Contains(r.stderr, tc.hint+"\n") {
			t.Errorf("%q: stderr %q, want %q", tc.args, r.stderr, tc.hint)
		}
		if tc.hint == "" && strings.Contains(r.stderr, "did you mean") {
			t.Errorf("%q: stderr %q suggests something", tc.args, r.stderr)
		}
	}
}

// TestConfigErrorsExitUsageEverywhere: commands that used to let a broken
// config pass (plugins: exit 0, its [plugins] dirs silently dropped) or
// exit 1 (a secrets.toml that is not TOML) exit 2, as the exit-code table
// says of a bad config value; the secret's line is never shown.
func TestConfigErrorsExitUsageEverywhere(t *testing.T) {
	write := func(t *testing.T, home, name, text string) {
		t.Helper()
		path := filepath.Join(home, "cusax", name)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("broken config, plugins", func(t *testing.T) {
		home := t.TempDir()
		write(t, home, "config.toml", "version = 1\n[[account]\n")
		for _, args := range [][]string{{"plugins"}, {"plugins", "--json"}} {
			r := runCLI(t, home, "", args...)
			if r.code != cmdutil.ExitUsage || !strings.Contains(r.stderr, "line 2") {
				t.Errorf("%q: exit %d, stderr %q", args, r.code, r.stderr)
			}
		}
	})
	t.Run("broken secrets file", func(t *testing.T) {
		home := t.TempDir()
		write(t, home, "config.toml", "version = 1\n\n[[account]]\nname = \"a\"\n[account.xmpp]\njid = \"a@example.test\"\nserver = \"127.0.0.1:1\"\n")
		write(t, home, "secrets.toml", "[passwords]\n\"a/xmpp\" = \"hunter2\n")
		r := runCLI(t, home, "", "roster")
		if r.code != cmdutil.ExitUsage || !strings.Contains(r.stderr, "secrets") || strings.Contains(r.stderr, "hunter2") {
			t.Errorf("exit %d, stderr %q", r.code, r.stderr)
		}
	})
}

// TestChatListenCountSkipsDelayed: two messages wait in offline storage
// (Prosody mod_offline); `chat --listen --count 1` prints both marked
// delayed (XEP-0203) but does not stop until one new message came; with
// --include-delayed the first stored one counts. (Before: --count 2 was
// used up by two old messages with nothing marking them old.)
func TestChatListenCountSkipsDelayed(t *testing.T) {
	bed := testbed.Shared(t)
	recv, jid := deliveryUser(t, bed, "dlyrecv", "")
	sender, _ := deliveryUser(t, bed, "dlysend", "")
	sendChat(t, sender, jid, "old1", "old2")

	p := startCusax(t, recv, false, "chat", "--listen", "--json", "--count", "1", "--listen-for", "30s")
	waitLines(t, p, 2)
	time.Sleep(300 * time.Millisecond) // it must still be listening
	select {
	case <-p.exited:
		t.Fatalf("the listener stopped at the stored messages (exit %d)", p.code)
	default:
	}
	sendChat(t, sender, jid, "new")
	if code := p.wait(t, 40*time.Second); code != 0 {
		t.Fatalf("listener: exit %d", code)
	}
	var got []string
	for _, l := range listenLines(t, p) {
		got = append(got, fmt.Sprintf("%s:%v", l.Body, l.Delayed && l.Delay != nil))
	}
	if strings.Join(got, ",") != "old1:true,old2:true,new:false" {
		t.Errorf("printed %q, want old1 and old2 delayed, then new", got)
	}

	sendChat(t, sender, jid, "old3", "old4")
	q := startCusax(t, recv, false, "chat", "--listen", "--json", "--count", "1", "--include-delayed", "--listen-for", "30s")
	if code := q.wait(t, 40*time.Second); code != 0 {
		t.Fatalf("--include-delayed listener: exit %d", code)
	}
	if got := q.bodies(t); strings.Join(got, ",") != "old3" {
		t.Errorf("--include-delayed printed %q, want old3 only", got)
	}
}

// TestRosterCacheFeedsCompletion against Prosody: `cusax roster` fills the
// roster cache, and then `cusax __complete call ""` (the real binary, the
// XMPP server address now pointing nowhere) lists the roster's names at
// once; roster show finds contacts by part of a name, by a domain and by
// a number in a vCard.
func TestRosterCacheFeedsCompletion(t *testing.T) {
	bed := testbed.Shared(t)
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	home := seededUser(t, bed, "compl")
	if r := runCLI(t, home, "", "roster"); r.code != 0 {
		t.Fatalf("roster: exit %d", r.code)
	}
	for _, tc := range []struct {
		query, want string
	}{
		{"uilder", "bob@" + bed.Domain},
		{bed.Domain2, "dave@" + bed.Domain2},
		{"555 0100", "carol@" + bed.Domain},
	} {
		r := runCLI(t, home, "", "roster", "show", tc.query, "--json")
		if r.code != 0 || !strings.Contains(r.stdout, `"jid": "`+tc.want+`"`) {
			t.Errorf("roster show %q: exit %d, %s", tc.query, r.code, r.stdout)
		}
	}
	if r := runCLI(t, home, "", "roster", "show", bed.Domain); r.code != cmdutil.ExitUsage || !strings.Contains(r.stderr, "Bob Builder <bob@") {
		t.Errorf("roster show %s: exit %d, stderr %q, want the matches listed", bed.Domain, r.code, r.stderr)
	}

	// The server is gone for completion: it must not be asked.
	setConfig(t, home, func(c *config.Config) { c.Accounts[0].XMPP.Server = "127.0.0.1:1" })
	cmd := exec.Command(cusaxBinary(t), "__complete", "call", "")
	cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+home, "XDG_CACHE_HOME="+cache, "CUSAX_CONFIG=", "CUSAX_SECRETS=file")
	start := time.Now()
	out, err := cmd.Output()
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	// The roster's order is the server's: compare sorted.
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	directive := lines[len(lines)-1]
	names := lines[:len(lines)-1]
	sort.Strings(names)
	want := []string{"Bob Builder\tbob@" + bed.Domain, "Carol\tcarol@" + bed.Domain, "Dave\tdave@" + bed.Domain2, "Frank\tfrank@" + bed.Domain}
	if strings.Join(names, "\n") != strings.Join(want, "\n") || directive != ":4" {
		t.Errorf("__complete call: %q, want %q and :4", out, want)
	}
	t.Logf("__complete call took %v", took)
}

// TestCallRecordNothingWarns against Kamailio and sipp: a callee that
// answers and sends no audio, and one that is busy. --record says on
// stderr that nothing was recorded (with --json too, whose "recorded" is
// then absent) and what is at the path; a file the backend left is kept.
func TestCallRecordNothingWarns(t *testing.T) {
	bed := testbed.Shared(t)
	c := newCaller(t, bed, "recnone", "")
	for _, tc := range []struct {
		name   string
		answer int
		code   int
		why    string
	}{
		{"silent callee", 200, 0, "no audio came from the callee"},
		{"busy callee", 486, cmdutil.ExitBusy, "the call was not answered"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			callee := calleeUser(t, bed, "recnone"+strconv.Itoa(tc.answer))
			uas := bed.StartSippUAS(t, testbed.SippUASOptions{User: callee, Answer: tc.answer})
			out := filepath.Join(t.TempDir(), "heard.wav")
			r := c.call(t, "sip:"+callee+"@"+bed.Domain, "--record", out, "--duration", "1s", "--json")
			if _, err := uas.Wait(15 * time.Second); err != nil {
				t.Errorf("callee: %v", err)
			}
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d\n%s", r.code, tc.code, r.stderr)
			}
			if !strings.Contains(r.stderr, "cusax: warning: --record: nothing was recorded, "+tc.why+": ") {
				t.Errorf("stderr %q", r.stderr)
			}
			if strings.Contains(r.stdout, `"recorded"`) {
				t.Errorf("stdout names a recording: %s", r.stdout)
			}
			st, err := os.Stat(out)
			switch {
			case err == nil && !strings.Contains(r.stderr, fmt.Sprintf("(%d bytes: a WAV header only); it is kept", st.Size())):
				t.Errorf("a %d-byte file is left and stderr does not say so: %q", st.Size(), r.stderr)
			case err != nil && !strings.Contains(r.stderr, "no file was written"):
				t.Errorf("no file and stderr does not say so: %q", r.stderr)
			}
			t.Logf("%s: file %v (%v); stderr %q", tc.name, st != nil, err, r.stderr)
		})
	}
}
