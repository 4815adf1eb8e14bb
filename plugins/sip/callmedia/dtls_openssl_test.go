package callmedia

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// opensslPeer is a running `openssl s_server` or `s_client` whose
// output lines arrive on lines.
type opensslPeer struct {
	cmd   *exec.Cmd
	lines chan string
	stdin io.WriteCloser
}

func startOpenSSL(t *testing.T, bin string, args ...string) *opensslPeer {
	t.Helper()
	cmd := exec.Command(bin, args...)
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	stdin, err := cmd.StdinPipe() // held open: EOF would end the session early
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &opensslPeer{cmd: cmd, lines: make(chan string, 256), stdin: stdin}
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			select {
			case p.lines <- sc.Text():
			default:
			}
		}
		close(p.lines)
	}()
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); pw.Close(); close(exited) }()
	t.Cleanup(func() {
		stdin.Close()
		_ = cmd.Process.Kill() // our own child, by its pid
		<-exited
	})
	return p
}

// waitLine returns the first output line containing substr, or fails
// after d.
func (p *opensslPeer) waitLine(t *testing.T, substr string, d time.Duration) string {
	t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				t.Fatalf("openssl exited before printing %q", substr)
			}
			if strings.Contains(l, substr) {
				return l
			}
		case <-timer.C:
			t.Fatalf("openssl did not print %q within %v", substr, d)
		}
	}
}

func freeUDPPort(t *testing.T) int {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// TestDTLSOpenSSLPeer: interop with OpenSSL (the DTLS stack of baresip
// and most SIP phones) in both roles and with both profiles: OpenSSL's
// certificate passes our fingerprint check with the fingerprint as
// `openssl x509 -fingerprint` prints it, the DTLS 1.2-only peer is
// accepted by our 1.2/1.3 client, and our SRTP keys are the RFC 5764
// §4.2 slices of the keying material OpenSSL exports.
func TestDTLSOpenSSLPeer(t *testing.T) {
	if testing.Short() {
		t.Skip("runs openssl (skipped with -short)")
	}
	bin, err := exec.LookPath("openssl")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("openssl is missing")
		}
		t.Skip("openssl is missing")
	}
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	if out, err := exec.Command(bin, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
		"-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=peer").CombinedOutput(); err != nil {
		t.Fatalf("openssl req: %v: %s", err, out)
	}
	out, err := exec.Command(bin, "x509", "-in", cert, "-noout", "-fingerprint", "-sha256").Output()
	if err != nil {
		t.Fatal(err)
	}
	_, hexfp, _ := strings.Cut(strings.TrimSpace(string(out)), "=")
	peerFP, err := ParseFingerprint("sha-256 " + hexfp)
	if err != nil {
		t.Fatalf("openssl fingerprint %q: %v", out, err)
	}

	for _, tc := range []struct {
		setup   Setup // ours
		profile string
		suite   string
		n       int // exporter length
	}{
		{SetupActive, "SRTP_AEAD_AES_128_GCM", SuiteAEADAES128GCM, 56},
		{SetupActive, "SRTP_AES128_CM_SHA1_80", SuiteAESCM128SHA1_80, 60},
		{SetupPassive, "SRTP_AEAD_AES_128_GCM", SuiteAEADAES128GCM, 56},
		{SetupPassive, "SRTP_AES128_CM_SHA1_80", SuiteAESCM128SHA1_80, 60},
		{SetupActive, "SRTP_AES128_CM_SHA1_80", "", 60},  // SDP fingerprint is not OpenSSL's: refused
		{SetupPassive, "SRTP_AES128_CM_SHA1_80", "", 60}, // likewise as the DTLS server
	} {
		name := string(tc.setup) + "-" + tc.profile
		if tc.suite == "" {
			name = string(tc.setup) + "-wrong-fingerprint"
		}
		t.Run(name, func(t *testing.T) {
			ours := listenUDP(t, "127.0.0.1")
			port := freeUDPPort(t)
			remote := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port))
			common := []string{"-dtls1_2", "-cert", cert, "-key", key, "-use_srtp", tc.profile,
				"-keymatexport", exporterLabel, "-keymatexportlen", strconv.Itoa(tc.n)}
			cfg := DTLSConfig{Conn: ours, Remote: remote, Setup: tc.setup, Certificate: mustCert(t),
				PeerFingerprints: []Fingerprint{peerFP}, Timeout: 15 * time.Second}
			if tc.suite == "" {
				cfg.PeerFingerprints = []Fingerprint{mustCert(t).Fingerprint()}
			}
			var peer *opensslPeer
			var res <-chan hsResult
			if tc.setup == SetupActive {
				// -Verify 1: OpenSSL demands our certificate, as RFC
				// 5763 §5 has both ends present one.
				peer = startOpenSSL(t, bin, append([]string{"s_server", "-accept", remote.String(), "-Verify", "1", "-naccept", "1"}, common...)...)
				peer.waitLine(t, "ACCEPT", 10*time.Second)
				res = handshakeAsync(t, cfg)
			} else {
				res = handshakeAsync(t, cfg)
				peer = startOpenSSL(t, bin, append([]string{"s_client", "-connect", addrOf(ours).String(), "-bind", remote.String()}, common...)...)
			}
			r := wait(t, res)
			if tc.suite == "" {
				if !errors.Is(r.err, ErrFingerprintMismatch) {
					t.Fatalf("got %v, want ErrFingerprintMismatch", r.err)
				}
				return
			}
			if r.err != nil {
				t.Fatalf("handshake with openssl: %v", r.err)
			}
			peer.waitLine(t, "SRTP Extension negotiated, profile="+tc.profile, 10*time.Second)
			line := peer.waitLine(t, "Keying material:", 10*time.Second)
			m, err := hex.DecodeString(strings.TrimSpace(line[strings.Index(line, ":")+1:]))
			if err != nil || len(m) != tc.n {
				t.Fatalf("openssl keying material %q: %v", line, err)
			}
			k := r.s.Keys()
			if k.Suite != tc.suite {
				t.Fatalf("suite %s, want %s", k.Suite, tc.suite)
			}
			kl, sl := 16, (tc.n-32)/2
			client := append(append([]byte{}, m[:kl]...), m[2*kl:2*kl+sl]...)
			server := append(append([]byte{}, m[kl:2*kl]...), m[2*kl+sl:]...)
			wantLocal, wantRemote := client, server
			if tc.setup == SetupPassive {
				wantLocal, wantRemote = server, client
			}
			if !bytes.Equal(k.LocalKey, wantLocal) || !bytes.Equal(k.RemoteKey, wantRemote) {
				t.Fatal("our SRTP keys are not OpenSSL's exported keys for our role (RFC 5764 §4.2)")
			}
		})
	}
}
