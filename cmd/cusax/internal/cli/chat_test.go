package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil/cmdtest"
	"github.com/cusax/cusax/cmd/cusax/internal/iostreams"
	"github.com/cusax/cusax/internal/testbed"
)

// sendxmpp runs go-sendxmpp, a client no one here wrote, as user; the
// password goes in a 0600 config file, never in argv, and the test CA is
// trusted through SSL_CERT_FILE (no --no-tls-verify).
func sendxmpp(t *testing.T, ctx context.Context, bed *testbed.Bed, user string, args ...string) *exec.Cmd {
	t.Helper()
	u, ok := bed.User(user)
	if !ok {
		t.Fatalf("no user %s", user)
	}
	rc := filepath.Join(t.TempDir(), "sendxmpprc")
	if err := os.WriteFile(rc, []byte("username: "+user+"@"+bed.Domain+"\npassword: "+u.Password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, "go-sendxmpp", append([]string{"-f", rc, "-j", bed.XMPPAddr}, args...)...)
	cmd.Env = append(os.Environ(), "SSL_CERT_FILE="+bed.CAFile)
	return cmd
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Interop with go-sendxmpp both ways.
func TestChatInteropWithGoSendxmpp(t *testing.T) {
	bed := testbed.Shared(t)
	home := seededUser(t, bed, "chatty")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	// cusax → go-sendxmpp --listen (as bob).
	var got lockedBuffer
	listener := sendxmpp(t, ctx, bed, "bob", "--listen")
	listener.Stdout, listener.Stderr = &got, &got
	if err := listener.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = listener.Process.Kill(); _ = listener.Wait() }()
	time.Sleep(time.Second) // let go-sendxmpp log in and send its presence
	r := runCLI(t, home, "", "chat", "Bob", "hello from cusax")
	if r.code != 0 {
		t.Fatalf("chat: exit %d", r.code)
	}
	waitFor(t, "go-sendxmpp to print the message", 15*time.Second, func() bool { return strings.Contains(got.String(), "hello from cusax") })

	// go-sendxmpp → cusax chat --listen.
	io, _, out, errOut := iostreams.Test()
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, io, []string{"--config", home + "/cusax/config.toml", "chat", "--listen", "--json", "--count", "1", "--listen-for", "30s"})
	}()
	time.Sleep(1500 * time.Millisecond) // cusax logs in and announces presence
	send := sendxmpp(t, ctx, bed, "bob", "chatty@"+bed.Domain)
	send.Stdin = strings.NewReader("hello from go-sendxmpp\n")
	if b, err := send.CombinedOutput(); err != nil {
		t.Fatalf("go-sendxmpp send: %v %s", err, b)
	}
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("chat --listen: exit %d: %s", code, errOut.String())
		}
	case <-ctx.Done():
		t.Fatal("chat --listen did not return")
	}
	var m struct{ From, Type, Body string }
	if err := json.Unmarshal(out.Bytes(), &m); err != nil {
		t.Fatalf("listen output %q: %v", out.String(), err)
	}
	if !strings.HasPrefix(m.From, "bob@"+bed.Domain) || m.Body != "hello from go-sendxmpp" || m.Type != "chat" {
		t.Errorf("received %+v", m)
	}
}

// MUC on Prosody's component: join, send, receive.
func TestChatRoom(t *testing.T) {
	bed := testbed.Shared(t)
	rosa := seededUser(t, bed, "mucrosa")
	other := seededUser(t, bed, "mucbob")
	room := "cusax-room@" + bed.MUCDomain
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	t.Setenv("CUSAX_SECRETS", "file")
	io, _, out, errOut := iostreams.Test()
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, io, []string{"--config", rosa + "/cusax/config.toml", "chat", "--room", room, "--listen", "--json", "--count", "1", "--listen-for", "30s"})
	}()
	// The room exists once rosa has joined (Prosody creates it then and
	// destroys a temporary room when its last occupant leaves): poll its
	// disco#info rather than guess how long the join takes.
	var info cliResult
	deadline := time.Now().Add(20 * time.Second)
	for {
		info = runCLI(t, other, "", "chat", "--room", room, "--info", "--json")
		if info.code == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if info.code != 0 || !strings.Contains(info.stdout, "http://jabber.org/protocol/muc") {
		t.Fatalf("room --info: %d %s", info.code, info.stdout)
	}
	r := runCLI(t, other, "", "chat", "--room", room, "--nick", "bobby", "hello room")
	if r.code != 0 {
		t.Fatalf("room send: exit %d", r.code)
	}
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("room listen: exit %d: %s", code, errOut.String())
		}
	case <-ctx.Done():
		t.Fatal("room listen did not return")
	}
	var m struct{ From, Type, Body string }
	if err := json.Unmarshal(out.Bytes(), &m); err != nil || m.Body != "hello room" || m.Type != "groupchat" || m.From != room+"/bobby" {
		t.Errorf("room message %q (%v)", out.String(), err)
	}
}

// An error stanza is a clear error and a non-zero exit.
func TestChatErrorStanza(t *testing.T) {
	bed := testbed.Shared(t)
	home := seededUser(t, bed, "errsender")
	r := runCLI(t, home, "", "chat", "nobody@"+bed.Domain, "anyone?")
	if r.code == 0 || !strings.Contains(r.stderr, "service-unavailable") || !strings.Contains(r.stderr, "not in your roster") {
		t.Errorf("exit %d stderr %q", r.code, r.stderr)
	}
}

// --lines sends each stdin line as its own message; a cusax listener on the
// other side counts them.
func TestChatLines(t *testing.T) {
	bed := testbed.Shared(t)
	sender := seededUser(t, bed, "linesender")
	receiver := seededUser(t, bed, "linereceiver")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	io, _, out, errOut := iostreams.Test()
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, io, []string{"--config", receiver + "/cusax/config.toml", "chat", "--listen", "--json", "--count", "3", "--listen-for", "30s"})
	}()
	time.Sleep(1500 * time.Millisecond)
	r := runCLI(t, sender, "one\n\ntwo\nthree\n", "chat", "linereceiver@"+bed.Domain, "--lines")
	if r.code != 0 {
		t.Fatalf("--lines: exit %d", r.code)
	}
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("listen: exit %d %s", code, errOut.String())
		}
	case <-ctx.Done():
		t.Fatal("listener did not get 3 messages")
	}
	var bodies []string
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var m struct{ Body string }
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		bodies = append(bodies, m.Body)
	}
	if strings.Join(bodies, ",") != "one,two,three" {
		t.Errorf("received %v (blank lines are not sent)", bodies)
	}
}

// login --publish-reach publishes the SIP AOR (XEP-0152); a contact with a
// presence subscription sees it in its roster as a hint, unverified because
// the publisher's vCard does not list it (RFC 7081 §3.3).
func TestLoginPublishReach(t *testing.T) {
	bed := testbed.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	users, err := bed.AddUsers(ctx, bed.Domain, "publisher", "watcher")
	if err != nil {
		t.Fatal(err)
	}
	if err := bed.Seed(ctx, testbed.Seed{Rosters: map[string][]testbed.Contact{
		"watcher": {{JID: "publisher@" + bed.Domain, Name: "Pub", Mutual: true}},
	}}); err != nil {
		t.Fatal(err)
	}
	pub := t.TempDir()
	r := runCLI(t, pub, users["publisher"].Password+"\n", loginArgs(bed, "publisher", tlsProxy(bed), "--publish-reach")...)
	if r.code != 0 || !strings.Contains(r.stdout, `"reach_published"`) {
		t.Fatalf("login --publish-reach: exit %d %s", r.code, r.stdout)
	}
	watcher := t.TempDir()
	if r := runCLI(t, watcher, users["watcher"].Password+"\n", "login", "--name", "w", "--jid", "watcher@"+bed.Domain, "--xmpp-server", bed.XMPPAddr, "--ca-file", bed.CAFile, "--password-stdin"); r.code != 0 {
		t.Fatalf("watcher login: %d", r.code)
	}
	ro := runCLI(t, watcher, "", "roster", "--json")
	var list []struct {
		JID   string
		Reach []struct {
			URI      string
			Verified bool
		}
	}
	if err := cmdtest.UnmarshalList(ro.stdout, "contacts", &list); err != nil || len(list) != 1 {
		t.Fatalf("%v %s", err, ro.stdout)
	}
	if rs := list[0].Reach; len(rs) != 1 || rs[0].URI != "sip:publisher@"+bed.Domain || rs[0].Verified {
		t.Errorf("reach seen by the watcher: %+v", rs)
	}
}
