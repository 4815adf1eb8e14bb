//go:build linux

package cli

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cusax/cusax/internal/testbed"
)

// A plugin must not outlive its host (issue 13): whatever ends the host —
// kill -9 of its pid alone, SIGHUP, or a reader that closed its stdout —
// every plugin process it started is gone within a bound, and the account
// is logged out on the real servers: no XMPP session left in Prosody to
// swallow messages, no SIP contact left in Kamailio.
func TestPluginsDoNotOutliveHost(t *testing.T) {
	bed := testbed.Shared(t)
	tests := []struct {
		name string
		// args after --config; sip says the command also registers.
		args []string
		sip  bool
		// end ends the host; it returns the exit code to expect, or -1
		// for a host killed by a signal.
		end func(t *testing.T, h *hostProc) int
	}{
		{"chat --listen, kill -9", []string{"chat", "--listen"}, false, killHost},
		{"whois-caller --listen, kill -9", []string{"whois-caller", "--listen"}, true, killHost},
		{"chat --listen, SIGHUP", []string{"chat", "--listen"}, false, func(t *testing.T, h *hostProc) int {
			_ = h.cmd.Process.Signal(syscall.SIGHUP)
			return 130
		}},
		{"whois-caller --listen, SIGHUP", []string{"whois-caller", "--listen"}, true, func(t *testing.T, h *hostProc) int {
			_ = h.cmd.Process.Signal(syscall.SIGHUP)
			return 130 // interrupted, as chat --listen
		}},
		{"chat --listen | head -1", []string{"chat", "--listen"}, false, func(t *testing.T, h *hostProc) int {
			// Two messages: the first is read (head -1 prints it and
			// exits), the second meets the closed pipe.
			for i, text := range []string{"first", "second"} {
				if i == 1 {
					select {
					case <-h.headDone:
					case <-time.After(20 * time.Second):
						t.Fatalf("the host printed no line; stderr:\n%s", h.stderr.String())
					}
				}
				send := sendxmpp(t, h.ctx, bed, "bob", h.jid)
				send.Stdin = strings.NewReader(text)
				if out, err := send.CombinedOutput(); err != nil {
					t.Fatalf("go-sendxmpp: %v\n%s", err, out)
				}
			}
			return 141
		}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			name := "orphan" + strconv.Itoa(i)
			var home string
			if tt.sip {
				home = newCaller(t, bed, name, "").home
			} else {
				home = seededUser(t, bed, name)
			}
			h := startHost(t, ctx, home, "", true, tt.args...)
			h.jid = name + "@" + bed.Domain
			if !tt.sip {
				waitFor(t, "the host to log in", 20*time.Second, func() bool {
					n, err := bed.XMPPSessions(ctx, name, bed.Domain)
					return err == nil && n > 0
				})
			} else {
				// whois-caller logs in to XMPP only to judge a call.
				waitFor(t, "the host to listen", 20*time.Second, func() bool { return strings.Contains(h.stderr.String(), "listening for calls") })

			}
			plugins := testbed.Children(h.cmd.Process.Pid)
			if len(plugins) == 0 {
				t.Fatal("no plugin processes found")
			}
			want := tt.end(t, h)
			code := h.wait(t, 20*time.Second)
			if code != want {
				t.Errorf("host exit %d, want %d; stderr:\n%s", code, want, h.stderr.String())
			}
			if want == 141 && h.stderr.String() != "" {
				t.Errorf("a closed stdout is not an error worth a message: %q", h.stderr.String())
			}
			start := time.Now()
			for _, pid := range plugins {
				waitGone(t, "plugin", pid, 15*time.Second)
			}
			t.Logf("plugins %v gone %s after the host", plugins, time.Since(start).Round(time.Millisecond))
			waitFor(t, "the XMPP session to end in Prosody", 15*time.Second, func() bool {
				n, err := bed.XMPPSessions(ctx, name, bed.Domain)
				return err == nil && n == 0
			})
			if tt.sip {
				// A known user without a registered contact gets 480 from
				// Kamailio's lookup("location") failing, and the INVITE is
				// not relayed to anyone: the plugin unregistered (RFC 3261
				// §10.2.2, Expires 0).
				waitFor(t, "Kamailio to find no registration", 20*time.Second, func() bool {
					ictx, icancel := context.WithTimeout(ctx, 5*time.Second)
					defer icancel()
					res, err := bed.SippInvite(ictx, testbed.SippInviteOptions{From: "bob", To: "sip:" + name + "@" + bed.Domain, ExpectStatus: 480})
					if err != nil {
						t.Logf("INVITE: %d %v", res.Status, err)
					}
					return err == nil
				})
				relayed := "cusax-testbed: INVITE sip:" + name + "@"
				for _, f := range bed.LogFiles() {
					if b, _ := os.ReadFile(f); strings.Contains(string(b), relayed) {
						t.Errorf("an INVITE to %s was relayed to a registration (%s)", name, f)
					}
				}
			}
			if want != -1 {
				return
			}
			// kill -9 left the socket directory behind; the next start of
			// cusax (anything that starts a plugin) removes it.
			stale, _ := filepath.Glob(filepath.Join(h.tmp, "cusax-*", strconv.Itoa(h.cmd.Process.Pid)+"-*"))
			if len(stale) == 0 {
				t.Fatal("kill -9 left no socket directory: test set-up is wrong")
			}
			next := startHost(t, ctx, home, h.tmp, false, "roster")
			if code := next.wait(t, 60*time.Second); code != 0 {
				t.Fatalf("roster: exit %d\n%s", code, next.stderr.String())
			}
			for _, d := range stale {
				if _, err := os.Stat(d); !os.IsNotExist(err) {
					t.Errorf("stale socket directory %s kept: %v", d, err)
				}
			}
		})
	}
}

func killHost(t *testing.T, h *hostProc) int {
	// The pid alone, not its group (timeout -s KILL would kill the group
	// and hide the bug).
	if err := syscall.Kill(h.cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	return -1
}

type hostProc struct {
	ctx    context.Context
	cmd    *exec.Cmd
	stderr *lockedBuffer
	tmp    string
	jid    string
	done   chan struct{}
	// headDone is closed once the first line was read and the pipe closed.
	headDone chan struct{}
}

// startHost runs the real cusax binary with home's config, TMPDIR tmp (a
// new short one if "": socket paths are limited) and no XDG_RUNTIME_DIR.
// Its stdout is a pipe; with head only its first line is read, as
// `| head -1` does.
func startHost(t *testing.T, ctx context.Context, home, tmp string, head bool, args ...string) *hostProc {
	t.Helper()
	if tmp == "" {
		var err error
		if tmp, err = os.MkdirTemp("", "cx"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(tmp) })
	}
	cmd := exec.Command(cusaxBinary(t), append([]string{"--config", home + "/cusax/config.toml"}, args...)...)
	cmd.Env = append(os.Environ(), "CUSAX_SECRETS=file", "XDG_CONFIG_HOME="+home, "XDG_DATA_HOME="+home+"/data",
		"XDG_CACHE_HOME="+home+"/cache", "CUSAX_PLUGIN_PATH=", "TMPDIR="+tmp, "XDG_RUNTIME_DIR=")
	// Should the test binary itself die, the host (and so its plugins)
	// must not stay behind.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	h := &hostProc{ctx: ctx, cmd: cmd, stderr: &lockedBuffer{}, tmp: tmp, done: make(chan struct{}), headDone: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = w, h.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	go func() {
		br := bufio.NewReader(r)
		line, _ := br.ReadString('\n')
		if line != "" {
			t.Logf("head -1: %q", line)
		}
		if !head {
			_, _ = io.Copy(io.Discard, br)
		}
		r.Close()
		close(h.headDone)
	}()
	go func() { _ = cmd.Wait(); close(h.done) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-h.done })
	return h
}

// wait returns the exit code, or -1 when a signal ended the host.
func (h *hostProc) wait(t *testing.T, d time.Duration) int {
	t.Helper()
	select {
	case <-h.done:
	case <-time.After(d):
		t.Fatalf("host did not end within %s; stderr:\n%s", d, h.stderr.String())
	}
	return h.cmd.ProcessState.ExitCode()
}

// waitGone waits until pid no longer runs.
func waitGone(t *testing.T, what string, pid int, d time.Duration) {
	t.Helper()
	waitFor(t, what+" "+strconv.Itoa(pid)+" to end", d, func() bool { return testbed.ProcessGone(pid) })
}
