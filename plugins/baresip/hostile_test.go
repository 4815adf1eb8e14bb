package baresip

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cusax/cusax/internal/testbed"
	"github.com/cusax/cusax/pkg/protocol"
)

// needBaresip skips without baresip, and fails under CI=true.
func needBaresip(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("baresip"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("baresip missing (apt-get install %s)", Package)
		}
		t.Skipf("baresip missing (apt-get install %s)", Package)
	}
	if testing.Short() {
		t.Skip("starts baresip")
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

// A TLS account is refused before any process starts: baresip 1.0 does
// not check the server's certificate (RFC 5922 §7), so the password would
// go to whoever answers.
func TestTLSAccountRefused(t *testing.T) {
	for _, req := range []protocol.ConnectRequest{
		{Address: "sip:bob@example.test", Password: "pw", Server: "sip:127.0.0.1:5061;transport=tls"},
		{Address: "sips:bob@example.test", Password: "pw"},
		{Address: "sip:bob@example.test", Password: "pw", Server: "sips:127.0.0.1:5061"},
	} {
		_, err := New(nil).Connect(ctx(t), req)
		if !errors.Is(err, protocol.ErrInsecure) || !strings.Contains(err.Error(), "certificate") {
			t.Errorf("%s: got %v, want ErrInsecure saying why", req, err)
		}
	}
}

// Without baresip on PATH the error is one line naming the package.
func TestMissingBaresipNamesPackage(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	t.Setenv("CUSAX_BARESIP", "")
	_, err := New(nil).Connect(ctx(t), protocol.ConnectRequest{Address: "sip:bob@127.0.0.1", Password: "pw", Server: "sip:127.0.0.1:5060;transport=udp"})
	if err == nil || !strings.Contains(err.Error(), Package) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("got %v, want one line naming %s", err, Package)
	}
}

// A password baresip's account syntax would split is refused, not cut.
func TestAccountSyntaxRefused(t *testing.T) {
	for _, pw := range []string{"a;regint=0", "a>b", `a"b`, "a b"} {
		_, err := New(nil).Connect(ctx(t), protocol.ConnectRequest{Address: "sip:bob@127.0.0.1", Password: pw, Server: "sip:127.0.0.1:5060;transport=udp"})
		if !errors.Is(err, protocol.ErrInvalid) || strings.Contains(err.Error(), pw) {
			t.Errorf("password %q: got %v, want ErrInvalid without the password", pw, err)
		}
	}
}

// connectLocal starts a session against an address nobody answers on.
func connectLocal(t *testing.T, pw string) *session {
	t.Helper()
	s, err := New(nil).Connect(ctx(t), protocol.ConnectRequest{Address: "sip:bob@127.0.0.1", Password: pw, Server: "sip:127.0.0.1:9;transport=udp"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s.(*session)
}

// The password is in no argv and no file: the private directory is 0700,
// holds no file with the password, baresip's command line does not have it,
// and Close removes the directory and stops baresip.
func TestPasswordNotInArgvOrFiles(t *testing.T) {
	needBaresip(t)
	const pw = "pw-d41d8cd98f00b204"
	home := t.TempDir()
	t.Setenv("HOME", home)
	s := connectLocal(t, pw)
	if _, err := os.Lstat(filepath.Join(home, ".baresip")); !os.IsNotExist(err) {
		t.Errorf("baresip touched the user's ~/.baresip: %v", err)
	}
	fi, err := os.Stat(s.p.dir)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("private dir %s: %v %v, want 0700", s.p.dir, fi.Mode(), err)
	}
	pid := s.p.cmd.Process.Pid
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || strings.Contains(string(cmdline), pw) {
		t.Errorf("baresip argv %q (%v) holds the password", cmdline, err)
	}
	environ, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if strings.Contains(string(environ), pw) {
		t.Error("baresip's environment holds the password")
	}
	_ = filepath.WalkDir(s.p.dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			data, _ := os.ReadFile(p)
			if strings.Contains(string(data), pw) {
				t.Errorf("%s holds the password", p)
			}
			if info, _ := d.Info(); info != nil && info.Mode().Perm()&0o077 != 0 {
				t.Errorf("%s is %v: readable by others", p, info.Mode())
			}
		}
		return nil
	})
	if strings.Contains(s.p.lastLines(), pw) {
		t.Error("baresip's log holds the password")
	}
	_ = s.Close(context.Background())
	if _, err := os.Stat(s.p.dir); !os.IsNotExist(err) {
		t.Errorf("private dir still there after Close: %v", err)
	}
	if err := syscall.Kill(pid, 0); err == nil {
		t.Errorf("baresip %d still runs after Close", pid)
	}
}

// ctrl_tcp serves one client and a new one replaces the old: another
// local user (nobody) connecting to the control port ends the session at
// once (ErrNotConnected) and baresip is stopped, so it cannot be driven.
func TestControlTakeoverStopsBaresip(t *testing.T) {
	needBaresip(t)
	if os.Getuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("needs root to connect as another user (CI runs as root)")
		}
		t.Skip("needs root to connect as another user")
	}
	s := connectLocal(t, "pw")
	st, err := s.IncomingCalls(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	host, port, _ := strings.Cut(s.p.ctrl, ":")
	cmd := exec.Command("/usr/bin/bash", "-c", fmt.Sprintf("exec 3<>/dev/tcp/%s/%s && sleep 2", host, port))
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	got := make(chan error, 1)
	go func() { _, err := st.Recv(); got <- err }()
	select {
	case err := <-got:
		if !errors.Is(err, protocol.ErrNotConnected) {
			t.Errorf("stream ended with %v, want ErrNotConnected", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the session did not notice the takeover within 10 s")
	}
	select {
	case <-s.p.done:
	case <-time.After(5 * time.Second):
		t.Fatal("baresip still runs after the takeover")
	}
	if _, err := s.Dial(ctx(t), protocol.DialRequest{Target: "sip:x@127.0.0.1"}); !errors.Is(err, protocol.ErrNotConnected) {
		t.Errorf("Dial after the takeover: %v, want ErrNotConnected", err)
	}
}

// helperEnv makes the test binary a plugin stand-in that starts a
// session, prints baresip's pid and waits to be killed.
const helperEnv = "CUSAX_BARESIP_TEST_HELPER"

func TestHelperSession(t *testing.T) {
	if os.Getenv(helperEnv) == "" {
		t.Skip("helper")
	}
	s := connectLocal(t, "pw")
	fmt.Printf("pid %d\n", s.p.cmd.Process.Pid)
	time.Sleep(time.Minute) // killed by the test
}

// A plugin killed with SIGKILL (no Close) takes baresip with it
// (Pdeathsig), so no orphan keeps the account's registration or sound.
func TestKill9TakesBaresip(t *testing.T) {
	needBaresip(t)
	cmd := exec.Command(os.Args[0], "-test.run", "^TestHelperSession$", "-test.v")
	cmd.Env = append(os.Environ(), helperEnv+"=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	pidc := make(chan int, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "pid "); ok {
				n, _ := strconv.Atoi(v)
				pidc <- n
			}
		}
	}()
	var pid int
	select {
	case pid = <-pidc:
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("helper did not start baresip")
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for alive(pid) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond) // polled, bounded
	}
	if alive(pid) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
		t.Fatalf("baresip %d outlived the plugin killed with -9", pid)
	}
}

// alive: the process exists and is not a zombie.
func alive(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	f := strings.Fields(string(data))
	return len(f) > 2 && f[2] != "Z"
}

// On the bed's default registrar (RFC 8760 SHA-256 digest), Register says
// plainly that baresip 1.0 computes MD5 only, rather than "wrong password".
func TestSHA256RegistrarUnsupported(t *testing.T) {
	needBaresip(t)
	bed := testbed.Shared(t)
	if bed.SIPDigestAlgorithm != "SHA-256" {
		t.Fatalf("the shared bed challenges with %s; this test needs its default, SHA-256", bed.SIPDigestAlgorithm)
	}
	names, users := freshUsers(t, bed, "bsha", 1)
	s, err := New(nil).Connect(ctx(t), protocol.ConnectRequest{Address: "sip:" + names[0] + "@" + bed.Domain,
		Password: users[names[0]].Password, Server: "sip:" + bed.SIPUDPAddr + ";transport=udp"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	rep, err := s.Register(ctx(t), protocol.RegisterRequest{})
	if !errors.Is(err, protocol.ErrUnsupported) || !strings.Contains(err.Error(), "MD5") {
		t.Fatalf("got %v, want ErrUnsupported naming MD5", err)
	}
	if len(rep.AuthOffered) == 0 || rep.AuthOffered[0] != "SHA-256" {
		t.Errorf("report offered %v, want SHA-256", rep.AuthOffered)
	}
}

// A registrar that is not there: Register ends within its timeout with
// ErrUnreachable (ICMP port unreachable) or ErrTimeout, never hangs, and
// the session stays usable for Close.
func TestRegisterNobodyThere(t *testing.T) {
	needBaresip(t)
	s, err := New(nil).Connect(ctx(t), protocol.ConnectRequest{Address: "sip:bob@127.0.0.1", Password: "pw",
		Server: "sip:127.0.0.1:9;transport=udp", Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	done := make(chan error, 1)
	go func() { _, err := s.Register(context.Background(), protocol.RegisterRequest{}); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, protocol.ErrUnreachable) && !errors.Is(err, protocol.ErrTimeout) {
			t.Errorf("got %v, want ErrUnreachable or ErrTimeout", err)
		}
		t.Logf("Register: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("Register still hangs after 30 s with a 2 s timeout")
	}
}

// Kamailio stops and comes back (a server restart): baresip's own refresh
// of the binding (at the lifetime Kamailio granted, 10 s here) fails, the
// open incoming-call stream says "lost", and once Kamailio is back and a
// refresh succeeds it says "registered" with how long it was down.
func TestRegistrationLostAndRestored(t *testing.T) {
	needBaresip(t)
	bed := testbed.Start(t, testbed.Options{SIPDigestAlgorithm: "MD5", SIPMaxExpires: 10})
	names, users := freshUsers(t, bed, "brest", 1)
	s, err := New(nil).Connect(ctx(t), protocol.ConnectRequest{Address: "sip:" + names[0] + "@" + bed.Domain,
		Password: users[names[0]].Password, Server: "sip:" + bed.SIPUDPAddr + ";transport=udp"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	if _, err := s.Register(ctx(t), protocol.RegisterRequest{Expires: 10 * time.Second}); err != nil {
		t.Fatal(err)
	}
	st, err := s.IncomingCalls(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := bed.StopKamailio(); err != nil {
		t.Fatal(err)
	}
	next := func(what string, d time.Duration) protocol.RegistrationEvent {
		t.Helper()
		got := make(chan protocol.IncomingCall, 1)
		go func() {
			for {
				ic, err := st.Recv()
				if err != nil {
					return
				}
				if ic.Registration != nil && ic.Registration.State != protocol.RegistrationRetrying {
					got <- ic
					return
				}
			}
		}()
		select {
		case ic := <-got:
			return *ic.Registration
		case <-time.After(d):
			t.Fatalf("no %s report within %s", what, d)
		}
		return protocol.RegistrationEvent{}
	}
	lost := next("lost", 60*time.Second)
	if lost.State != protocol.RegistrationLost {
		t.Fatalf("first report %+v, want lost", lost)
	}
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := bed.StartKamailio(c); err != nil {
		t.Fatal(err)
	}
	back := next("restored", 90*time.Second)
	if back.State != protocol.RegistrationRestored || back.Down <= 0 {
		t.Fatalf("report %+v, want registered with the time down", back)
	}
	t.Logf("lost: %q; restored after %s", lost.Reason, back.Down)
}

// A private directory left by a plugin killed with -9 (call audio dumps
// in it) is removed by the next session; one of another user, and one
// whose plugin still runs, are left alone.
func TestStaleDirectorySwept(t *testing.T) {
	needBaresip(t)
	if os.Getuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("needs root to make another user's directory (CI runs as root)")
		}
		t.Skip("needs root to make another user's directory")
	}
	parent := t.TempDir()
	t.Setenv("XDG_RUNTIME_DIR", parent)
	dead := exec.Command("/bin/true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	mk := func(name, pid string, uid int) string {
		d := filepath.Join(parent, name)
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		for f, data := range map[string]string{"owner.pid": pid, "dump-x-dec.wav": "RIFF audio"} {
			if err := os.WriteFile(filepath.Join(d, f), []byte(data), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Chown(d, uid, uid); err != nil {
			t.Fatal(err)
		}
		return d
	}
	stale := mk("cusax-baresip-stale", strconv.Itoa(dead.Process.Pid), 0)
	other := mk("cusax-baresip-other", strconv.Itoa(dead.Process.Pid), 65534)
	live := mk("cusax-baresip-live", strconv.Itoa(os.Getpid()), 0)
	s := connectLocal(t, "pw")
	if !strings.HasPrefix(s.p.dir, parent) {
		t.Fatalf("private dir %s not under XDG_RUNTIME_DIR %s", s.p.dir, parent)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale dir of a dead plugin still there: %v", err)
	}
	for _, d := range []string{other, live} {
		if _, err := os.Stat(filepath.Join(d, "dump-x-dec.wav")); err != nil {
			t.Errorf("%s was touched: %v", d, err)
		}
	}
}

// The report's lifetime is what the registrar granted (Kamailio caps it
// at 10 s here), not what was asked.
func TestRegisterReportsGrantedExpiry(t *testing.T) {
	needBaresip(t)
	bed := testbed.Start(t, testbed.Options{SIPDigestAlgorithm: "MD5", SIPMaxExpires: 10})
	names, users := freshUsers(t, bed, "bexp", 1)
	s, err := New(nil).Connect(ctx(t), protocol.ConnectRequest{Address: "sip:" + names[0] + "@" + bed.Domain,
		Password: users[names[0]].Password, Server: "sip:" + bed.SIPUDPAddr + ";transport=udp"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	rep, err := s.Register(ctx(t), protocol.RegisterRequest{Expires: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Expires != 10*time.Second || rep.AuthMechanism != "digest MD5" || len(rep.AuthOffered) == 0 || rep.AuthOffered[0] != "MD5" {
		t.Errorf("report %+v: want 10 s granted, digest MD5", rep)
	}
}

// A listener of another process on the control port: ownsListener says
// it is not baresip's, so the password is never sent to it (Connect
// checks before uanew). Our own listener is recognised.
func TestControlPortImpostorRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	if ok, err := ownsListener(os.Getpid(), port); !ok || err != nil {
		t.Fatalf("our own listener not recognised: %v %v", ok, err)
	}
	child := exec.Command("/bin/sleep", "5")
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = child.Process.Kill(); _ = child.Wait() }()
	if ok, _ := ownsListener(child.Process.Pid, port); ok {
		t.Fatal("another process's listener taken for the child's")
	}
}

// An INVITE sent straight to baresip's port by someone else, with a
// P-Asserted-Identity it made up, is not "via the proxy" (RFC 3325 §9.1:
// the identity is trusted from the proxy only); its source is the sender.
func TestDirectInviteNotViaProxy(t *testing.T) {
	needBaresip(t)
	s := connectLocal(t, "pw")
	st, err := s.IncomingCalls(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c, err := net.Dial("udp", s.p.sip)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	local := c.LocalAddr().String()
	sdp := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
	inv := "INVITE sip:bob@" + s.p.sip + " SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP " + local + ";branch=z9hG4bK-direct1;rport\r\n" +
		"Max-Forwards: 70\r\nFrom: <sip:mallory@evil.test>;tag=m1\r\nTo: <sip:bob@127.0.0.1>\r\n" +
		"Call-ID: direct-1@evil.test\r\nCSeq: 1 INVITE\r\nContact: <sip:mallory@" + local + ">\r\n" +
		"P-Asserted-Identity: <sip:boss@example.test>\r\nContent-Type: application/sdp\r\n" +
		"Content-Length: " + strconv.Itoa(len(sdp)) + "\r\n\r\n" + sdp
	if _, err := c.Write([]byte(inv)); err != nil {
		t.Fatal(err)
	}
	got := make(chan protocol.IncomingCall, 1)
	go func() {
		for {
			ic, err := st.Recv()
			if err != nil {
				return
			}
			if ic.CallID == "direct-1@evil.test" {
				got <- ic
				return
			}
		}
	}()
	select {
	case ic := <-got:
		if ic.ViaProxy || ic.Source != local || !strings.Contains(string(ic.Raw), "P-Asserted-Identity") {
			t.Errorf("direct INVITE: via proxy %v, source %q (want %s), raw %d bytes", ic.ViaProxy, ic.Source, local, len(ic.Raw))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the direct INVITE was not reported")
	}
}

// SIP over TCP: the account registers through the bed's Kamailio on TCP,
// and the report says so.
func TestRegisterOverTCP(t *testing.T) {
	needBaresip(t)
	bed := testbed.Start(t, testbed.Options{SIPDigestAlgorithm: "MD5"})
	names, users := freshUsers(t, bed, "btcp", 1)
	s, err := New(nil).Connect(ctx(t), protocol.ConnectRequest{Address: "sip:" + names[0] + "@" + bed.Domain,
		Password: users[names[0]].Password, Server: "sip:" + bed.SIPTCPAddr + ";transport=tcp"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	rep, err := s.Register(ctx(t), protocol.RegisterRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Transport != "tcp" || rep.State != "registered" || rep.Encrypted {
		t.Errorf("report %+v", rep)
	}
	if err := s.Unregister(ctx(t)); err != nil {
		t.Errorf("Unregister: %v", err)
	}
}
